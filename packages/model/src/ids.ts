/**
 * Id helpers: hex <-> bytes through lookup tables (no `toString(16)` on hot
 * paths), and the validity rules shared by every codec and receiver.
 */

const HEX_PAIRS: string[] = [];
for (let i = 0; i < 256; i++) HEX_PAIRS.push(i.toString(16).padStart(2, '0'));

/** -1 for a character that is not a hex digit; accepts both cases. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}

/** Lowercase hex of `bytes[start, end)`. */
export function bytesToHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX_PAIRS[bytes[i] as number];
  return s;
}

/**
 * Decodes an even-length hex string (either case) into `out` at `offset`.
 * Returns false, leaving `out` partly written, when `hex` has a non-hex character.
 */
export function hexToBytesInto(hex: string, out: Uint8Array, offset = 0): boolean {
  if ((hex.length & 1) !== 0) return false;
  for (let i = 0, j = offset; i < hex.length; i += 2, j++) {
    const hi = hex.charCodeAt(i);
    const lo = hex.charCodeAt(i + 1);
    const h = hi < 128 ? (HEX_VALUE[hi] as number) : -1;
    const l = lo < 128 ? (HEX_VALUE[lo] as number) : -1;
    if (h < 0 || l < 0) return false;
    out[j] = (h << 4) | l;
  }
  return true;
}

/** Decodes a hex string into bytes, or `undefined` when it is not hex of even length. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  const out = new Uint8Array(hex.length >>> 1);
  return hexToBytesInto(hex, out) ? out : undefined;
}

/** True for a string of exactly `length` hex digits (either case). */
export function isHex(s: string, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (HEX_VALUE[c] as number) < 0) return false;
  }
  return true;
}

/** True for a string made only of '0' characters (an all-zero id). */
export function isZeroHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

/** A valid trace id: 32 lowercase hex digits, not all zero (W3C Trace Context 3.2.2.3). */
export function isValidTraceId(id: string): boolean {
  return id.length === 32 && isLowerHex(id) && !isZeroHex(id);
}

/** A valid span id: 16 lowercase hex digits, not all zero (W3C Trace Context 3.2.2.4). */
export function isValidSpanId(id: string): boolean {
  return id.length === 16 && isLowerHex(id) && !isZeroHex(id);
}

function isLowerHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The all-zero trace id. */
export const ZERO_TRACE_ID = '0'.repeat(32);
/** The all-zero span id. */
export const ZERO_SPAN_ID = '0'.repeat(16);
