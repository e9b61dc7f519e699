import type {
  BaggageEntry,
  BaggageEntryMetadata,
  Context,
  TextMapGetter,
  TextMapPropagator,
  TextMapSetter,
} from '@opentelemetry/api';
import { baggageEntryMetadataFromString, propagation } from '@opentelemetry/api';
import { hexDigit, indexIn, isOws, isTracingSuppressed } from './internal/common.ts';

/** Header name of W3C Baggage. */
export const BAGGAGE_HEADER = 'baggage';

/**
 * Limits. The 2021 Baggage draft set 180 members, 4096 bytes a member and
 * 8192 bytes in all; the current one asks that at least 64 members and 8192
 * bytes be propagated. 180/4096/8192 satisfies both and is what the official
 * propagator enforces.
 */
export const BAGGAGE_MAX_MEMBERS = 180;
export const BAGGAGE_MAX_MEMBER_BYTES = 4096;
export const BAGGAGE_MAX_TOTAL_BYTES = 8192;

const FIELDS: readonly string[] = [BAGGAGE_HEADER];
// ignoreBOM: a value may start with U+FEFF (%EF%BB%BF); the default would drop it.
const UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const UTF8_ENC = new TextEncoder();

// A raw key is a token (RFC 7230 tchar); '(' and ')' are let through too because
// encodeURIComponent, which the official propagator encodes keys with, leaves them.
function isKeyChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x2c && c !== 0x3b && c !== 0x3d && c !== 0x22 && c !== 0x5c;
}

/**
 * Percent-decodes a key or value. Per the Baggage spec, byte sequences that
 * are not valid UTF-8 become U+FFFD rather than failing the member; a `%` not
 * followed by two hex digits is kept as it is.
 */
export function percentDecode(s: string): string {
  if (s.indexOf('%') === -1) return s;
  const bytes: number[] = [];
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length) {
      const h = hexDigit(s.charCodeAt(i + 1), true);
      const l = hexDigit(s.charCodeAt(i + 2), true);
      if (h >= 0 && l >= 0) {
        const b = h * 16 + l;
        if (b >= 0x80) ascii = false;
        bytes.push(b);
        i += 2;
        continue;
      }
    }
    if (c >= 0x80) {
      // Not a baggage-octet, but a lenient reader keeps it: encode it as UTF-8.
      ascii = false;
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of UTF8_ENC.encode(String.fromCodePoint(cp))) bytes.push(b);
      continue;
    }
    bytes.push(c);
  }
  return ascii ? String.fromCharCode(...bytes) : UTF8.decode(Uint8Array.from(bytes));
}

// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, minus '%' which must be encoded.
function isPlainValueChar(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x2c && c !== 0x3b && c !== 0x5c && c !== 0x25;
}
function isPlainKeyChar(c: number): boolean {
  return isKeyChar(c) && c !== 0x25 && c !== 0x28 && c !== 0x29;
}

/** Percent-encodes what the grammar requires; undefined for strings with lone surrogates. */
function encode(s: string, key: boolean): string | undefined {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(key ? isPlainKeyChar(c) : isPlainValueChar(c))) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  try {
    // encodeURIComponent's output is all baggage-octets; keys also need ( ) encoded to stay tokens.
    const out = encodeURIComponent(s);
    return key ? out.replace(/\(/g, '%28').replace(/\)/g, '%29') : out;
  } catch {
    return undefined;
  }
}

// Metadata is written as given (it is opaque), so it must not end the member
// (`,`) nor hold characters a header value cannot carry.
function isSafeMetadata(meta: string): boolean {
  for (let i = 0; i < meta.length; i++) {
    const c = meta.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x2c) return false;
  }
  return true;
}

/**
 * Parses one `baggage` header value into `out`, honouring the limits across
 * several headers through `state` ([members, bytes]). Invalid members are
 * skipped one by one.
 */
function parseBaggageInto(header: string, out: Record<string, BaggageEntry>, state: [number, number]): void {
  const n = header.length;
  let pos = 0;
  while (pos < n && state[0] < BAGGAGE_MAX_MEMBERS) {
    let end = header.indexOf(',', pos);
    if (end === -1) end = n;
    const start = pos;
    pos = end + 1;
    let s = start;
    let e = end;
    while (s < e && isOws(header.charCodeAt(s))) s++;
    while (e > s && isOws(header.charCodeAt(e - 1))) e--;
    if (s === e) continue;
    const memberLen = e - s;
    if (memberLen > BAGGAGE_MAX_MEMBER_BYTES) continue;
    const size = memberLen + (state[0] === 0 ? 0 : 1);
    if (state[1] + size > BAGGAGE_MAX_TOTAL_BYTES) return;
    let semi = indexIn(header, 0x3b, s, e);
    if (semi === -1) semi = e;
    const eq = indexIn(header, 0x3d, s, semi);
    if (eq === -1) continue;
    let ke = eq;
    while (ke > s && isOws(header.charCodeAt(ke - 1))) ke--;
    if (ke === s) continue;
    let keyOk = true;
    for (let i = s; i < ke; i++) {
      if (!isKeyChar(header.charCodeAt(i))) {
        keyOk = false;
        break;
      }
    }
    if (!keyOk) continue;
    let vs = eq + 1;
    let ve = semi;
    while (vs < ve && isOws(header.charCodeAt(vs))) vs++;
    while (ve > vs && isOws(header.charCodeAt(ve - 1))) ve--;
    let valueOk = true;
    for (let i = vs; i < ve; i++) {
      const c = header.charCodeAt(i);
      if (c <= 0x20 || c === 0x22 || c === 0x2c || c === 0x3b || c === 0x5c || c === 0x7f) {
        valueOk = false;
        break;
      }
    }
    if (!valueOk) continue;
    const key = percentDecode(header.slice(s, ke));
    const value = percentDecode(header.slice(vs, ve));
    let metadata: BaggageEntryMetadata | undefined;
    if (semi < e - 1) metadata = baggageEntryMetadataFromString(header.slice(semi + 1, e));
    out[key] = metadata === undefined ? { value } : { value, metadata };
    state[0]++;
    state[1] += size;
  }
}

/**
 * W3C Baggage propagator (`baggage` header), reading and writing the
 * context's baggage through `propagation.getBaggage/setBaggage`.
 *
 * Extract combines several headers, percent-decodes keys and values
 * (invalid UTF-8 becomes U+FFFD), keeps properties after `;` as the entry's
 * metadata, skips malformed members and stops at the limits. An extracted
 * baggage replaces the context's (as the official propagator does).
 * Inject percent-encodes, drops members over 4096 bytes and stops adding
 * when the header would pass 8192 bytes or 180 members.
 */
export class W3CBaggagePropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const baggage = propagation.getBaggage(context);
    if (baggage === undefined || isTracingSuppressed(context)) return;
    let header = '';
    let count = 0;
    for (const [k, entry] of baggage.getAllEntries()) {
      if (count === BAGGAGE_MAX_MEMBERS) break;
      const key = encode(k, true);
      const value = encode(entry.value, false);
      if (key === undefined || value === undefined || key.length === 0) continue;
      let member = `${key}=${value}`;
      if (entry.metadata !== undefined) {
        const meta = entry.metadata.toString();
        if (meta.length > 0 && isSafeMetadata(meta)) member += `;${meta}`;
      }
      if (member.length > BAGGAGE_MAX_MEMBER_BYTES) continue;
      const next = count === 0 ? member : `${header},${member}`;
      if (next.length > BAGGAGE_MAX_TOTAL_BYTES) continue;
      header = next;
      count++;
    }
    if (count > 0) setter.set(carrier, BAGGAGE_HEADER, header);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, BAGGAGE_HEADER);
    if (raw === undefined || raw.length === 0) return context;
    // No prototype: a member named `__proto__` must be an entry, not a prototype change.
    const entries = Object.create(null) as Record<string, BaggageEntry>;
    const state: [number, number] = [0, 0];
    if (typeof raw === 'string') parseBaggageInto(raw, entries, state);
    else {
      for (const h of raw) if (typeof h === 'string') parseBaggageInto(h, entries, state);
    }
    if (state[0] === 0) return context;
    return propagation.setBaggage(context, propagation.createBaggage(entries));
  }

  fields(): string[] {
    return FIELDS.slice();
  }
}
