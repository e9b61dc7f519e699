/**
 * UTF-8 for the codecs, without `Buffer` so the package runs in browsers too.
 * Short ASCII strings (attribute keys, names, most values) are decoded by a
 * JS loop, which beats a `TextDecoder` call for them; everything else goes to
 * `TextDecoder`, which replaces invalid sequences with U+FFFD.
 */

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Strings up to this many bytes are tried on the ASCII fast path. */
const ASCII_FAST_MAX = 64;

/** Decodes `buf[start, end)` as UTF-8. */
export function readUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len <= ASCII_FAST_MAX) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i] as number;
      if (c >= 0x80) return decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(buf.subarray(start, end));
}

/** Exact UTF-8 byte length of `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Writes `s` as UTF-8 into `buf` at `pos` (which must have room for
 * `utf8Length(s)` bytes) and returns the new position.
 */
export function writeUtf8(s: string, buf: Uint8Array, pos: number): number {
  const n = s.length;
  if (n <= ASCII_FAST_MAX) {
    let p = pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return pos + encoder.encodeInto(s, buf.subarray(pos)).written;
      buf[p++] = c;
    }
    return p;
  }
  return pos + encoder.encodeInto(s, buf.subarray(pos)).written;
}

/** Encodes a whole string to a new array. */
export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}
