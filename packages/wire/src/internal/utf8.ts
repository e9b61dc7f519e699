/**
 * UTF-8 for the codecs, without `Buffer` so the package runs in browsers too.
 * ASCII strings up to 128 bytes (attribute keys, names, most values) are
 * built in JS, which beats a `TextDecoder` call for them; everything else goes
 * to `TextDecoder`, which replaces invalid sequences with U+FFFD. Repeated
 * strings can go through a {@link Utf8Cache}.
 */

import { sameBytes } from './decode-compare.ts';

// ignoreBOM: a U+FEFF at the start of a string is part of it (the default would drop it).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Strings up to this many bytes are tried on the ASCII fast path. Past it,
 * one `TextDecoder` call beats the chunked `String.fromCharCode` calls.
 */
const ASCII_FAST_MAX = 128;

/** Strings up to this many UTF-16 units are tried on the ASCII write loop before `encodeInto`. */
const ASCII_WRITE_MAX = 64;

const fromCharCode = String.fromCharCode;

/**
 * The ASCII bytes `buf[s, s + n)`, 1 <= n <= 16, as a string. One
 * `String.fromCharCode` call with a fixed number of arguments makes a flat
 * string directly; appending char by char makes a rope node per character
 * past 13, which measured several times slower and fed the garbage collector.
 */
function ascii16(b: Uint8Array, s: number, n: number): string {
  switch (n) {
    case 1:
      return fromCharCode(b[s] as number);
    case 2:
      return fromCharCode(b[s] as number, b[s + 1] as number);
    case 3:
      return fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number);
    case 4:
      return fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number);
    case 5:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
      );
    case 6:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
      );
    case 7:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
      );
    case 8:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
      );
    case 9:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
      );
    case 10:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
      );
    case 11:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
      );
    case 12:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
      );
    case 13:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
      );
    case 14:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
        b[s + 13] as number,
      );
    case 15:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
        b[s + 13] as number,
        b[s + 14] as number,
      );
    default:
      return fromCharCode(
        b[s] as number,
        b[s + 1] as number,
        b[s + 2] as number,
        b[s + 3] as number,
        b[s + 4] as number,
        b[s + 5] as number,
        b[s + 6] as number,
        b[s + 7] as number,
        b[s + 8] as number,
        b[s + 9] as number,
        b[s + 10] as number,
        b[s + 11] as number,
        b[s + 12] as number,
        b[s + 13] as number,
        b[s + 14] as number,
        b[s + 15] as number,
      );
  }
}

/** One reusable plain array per length, 0..ASCII_FAST_MAX, for {@link readUtf8}. */
const SCRATCH: number[][] = [];
// Array.from makes packed arrays; `new Array(n)` would be holey, a slower kind for apply.
for (let n = 0; n <= ASCII_FAST_MAX; n++) SCRATCH.push(Array.from({ length: n }, () => 0));

/**
 * Decodes `buf[start, end)` as UTF-8.
 *
 * ASCII up to 16 bytes becomes one `String.fromCharCode` call with that many
 * arguments; longer ASCII, `String.fromCharCode.apply` over a reused array
 * of the exact length, filled while checking the bytes in the same pass.
 * Both make flat strings: joining 16-byte pieces would make a rope, which
 * every later reader (an encoder's charCodeAt loop, a Map lookup) first has
 * to flatten; reading a rope measured about 2.5x slower than a flat string.
 */
export function readUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len <= 16) {
    let or = 0;
    for (let i = start; i < end; i++) or |= buf[i] as number;
    if (or < 0x80) return ascii16(buf, start, len);
  } else if (len <= ASCII_FAST_MAX) {
    const a = SCRATCH[len] as number[];
    let or = 0;
    for (let i = 0; i < len; i++) {
      const c = buf[start + i] as number;
      or |= c;
      a[i] = c;
    }
    if (or < 0x80) return fromCharCode.apply(null, a);
  }
  return decoder.decode(buf.subarray(start, end));
}

/**
 * A small direct-mapped cache from UTF-8 bytes to the string they decode to.
 * Telemetry repeats itself: attribute keys nearly always, and many values
 * (methods, routes, host and service names, span and event names). A hit
 * costs a hash of three words and one byte comparison, with no allocation;
 * a miss decodes with {@link readUtf8} and takes the slot. Strings longer
 * than `maxBytes` bypass the cache.
 *
 * The returned strings are exactly what {@link readUtf8} returns for the same
 * bytes, so caching is invisible to callers.
 */
export class Utf8Cache {
  private readonly mask: number;
  private readonly maxBytes: number;
  /** Bytes per slot: a 4-byte length, then the string's bytes, so a lookup touches one place. */
  private readonly stride: number;
  private readonly arena: Uint8Array;
  /** Read a word at a time; a DataView, not an Int32Array, so that byte order cannot matter. */
  private readonly arenaView: DataView;
  private readonly strings: string[];

  /** `slots` must be a power of two; `maxBytes` + 4 is best a multiple of 64 (a cache line). */
  constructor(slots = 1024, maxBytes = 60) {
    this.mask = slots - 1;
    this.maxBytes = maxBytes;
    this.stride = (maxBytes + 4 + 3) & ~3;
    this.arena = new Uint8Array(slots * this.stride);
    this.arenaView = new DataView(this.arena.buffer);
    for (let i = 0; i < slots; i++) this.arenaView.setInt32(i * this.stride, -1, true);
    this.strings = new Array<string>(slots).fill('');
  }

  /** Decodes `buf[start, end)` as UTF-8, through the cache; `view` is a DataView over exactly `buf`. */
  read(buf: Uint8Array, view: DataView, start: number, end: number): string {
    const n = end - start;
    if (n > this.maxBytes || n === 0) return n === 0 ? '' : readUtf8(buf, start, end);
    let h: number;
    if (n >= 4) {
      // First, middle and last four bytes plus the length: keys sharing a prefix
      // (`http.request.*`) differ at the end, paths with ids differ in the middle.
      h = Math.imul(view.getInt32(start, true) ^ n, 0x9e3779b1);
      h = Math.imul(h ^ view.getInt32(start + ((n - 4) >> 1), true), 0x85ebca6b);
      h = Math.imul(h ^ view.getInt32(end - 4, true), 0xc2b2ae35);
    } else {
      h = n;
      for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & this.mask;
    const words = this.arenaView;
    const base = slot * this.stride;
    if (words.getInt32(base, true) === n) {
      if (n < 4) {
        const arena = this.arena;
        let i = 0;
        while (i < n && arena[base + 4 + i] === buf[start + i]) i++;
        if (i === n) return this.strings[slot] as string;
      } else if (sameBytes(words, base + 4, view, start, n)) return this.strings[slot] as string;
    }
    const s = readUtf8(buf, start, end);
    words.setInt32(base, n, true);
    // A word-wise copy: `arena.set(buf.subarray(...))` allocates a view per
    // miss, which cost more than the copy for strings this short.
    const bytes = base + 4;
    const whole = n & ~3;
    let i = 0;
    for (; i < whole; i += 4) words.setInt32(bytes + i, view.getInt32(start + i, true), true);
    const arena = this.arena;
    for (; i < n; i++) arena[bytes + i] = buf[start + i] as number;
    this.strings[slot] = s;
    return s;
  }
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
  if (n <= ASCII_WRITE_MAX) {
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
