import type { TextMapGetter } from '@opentelemetry/api';

export { isTracingSuppressed } from '../../context/suppress.ts';

/** The first value of a header that a getter may return as a string or a list. */
export function firstValue<C>(getter: TextMapGetter<C>, carrier: C, key: string): string | undefined {
  const v = getter.get(carrier, key);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const first: unknown = v[0];
    return typeof first === 'string' ? first : undefined;
  }
  return undefined;
}

// 0..15 for hex digits, -1 otherwise; -2 marks upper-case A-F so strict
// (lower-case only) callers can reject them without a second table.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[97 + i] = 10 + i;
  HEX_VALUE[65 + i] = -2;
}

/** Hex digit value of a char code, or -1 (upper case counts only when `upper` is set). */
export function hexDigit(code: number, upper: boolean): number {
  if (code >= 128) return -1;
  const v = HEX_VALUE[code]!;
  if (v !== -2) return v;
  return upper ? code - 55 : -1;
}

/**
 * Checks `s[start, end)` is hex and not all zeros. Returns 1 for valid
 * lower-case, 2 for valid with upper case (only when `upper`), 0 for invalid.
 */
export function checkHexId(s: string, start: number, end: number, upper: boolean): 0 | 1 | 2 {
  if (end > s.length || start >= end) return 0;
  let nonZero = false;
  let hasUpper = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) return 0;
    const v = HEX_VALUE[c]!;
    if (v === -1) return 0;
    if (v === -2) {
      if (!upper) return 0;
      hasUpper = true;
      nonZero = true;
    } else if (v !== 0) nonZero = true;
  }
  if (!nonZero) return 0;
  return hasUpper ? 2 : 1;
}

const ZEROS = '00000000000000000000000000000000';

/**
 * Takes a hex id of 1..`width` digits from `s[start, end)`, left-pads it with
 * zeros to `width` and lower-cases it; undefined when it is not hex, too long
 * or all zeros. Used by formats that allow short or upper-case ids (Jaeger,
 * B3 multi, X-Ray).
 */
export function paddedHexId(s: string, start: number, end: number, width: number): string | undefined {
  const len = end - start;
  if (len <= 0 || len > width) return undefined;
  const kind = checkHexId(s, start, end, true);
  if (kind === 0) return undefined;
  let id = start === 0 && end === s.length ? s : s.slice(start, end);
  if (kind === 2) id = id.toLowerCase();
  return len === width ? id : ZEROS.slice(0, width - len) + id;
}

/** True for a 32-digit lower-case, non-zero trace id (the only form OTel span contexts carry). */
export function isLowerTraceId(id: string): boolean {
  return id.length === 32 && checkHexId(id, 0, 32, false) === 1;
}

/** True for a 16-digit lower-case, non-zero span id. */
export function isLowerSpanId(id: string): boolean {
  return id.length === 16 && checkHexId(id, 0, 16, false) === 1;
}

/** Two lower-case hex digits for each byte value; `toString(16)` plus padding per call costs more. */
export const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));

/** Whether a char code is optional whitespace (OWS: space or horizontal tab). */
export function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * `s.indexOf(char)` limited to `[from, to)`, -1 when absent. Parsers use it
 * inside one list member so that a long header of many malformed members
 * costs linear, not quadratic, time.
 */
export function indexIn(s: string, code: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === code) return i;
  return -1;
}

/** True when `s` is an HTTP token (RFC 9110 tchar), i.e. usable in a header name. */
export function isHttpToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    // ! # $ % & ' * + - . ^ _ ` | ~
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(s[i]!) === -1) return false;
  }
  return true;
}
