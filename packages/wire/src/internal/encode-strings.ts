/**
 * Encoded bytes of repeated strings, for the protobuf encoders.
 *
 * Telemetry repeats its strings: attribute keys nearly always, and many
 * values (methods, routes, host names, database statements, user agents) and
 * span and event names. Writing a string means a `charCodeAt` and a store per
 * character; copying its bytes from here is a lookup (a memo in front of a
 * `Map`) and one load and store per eight bytes.
 *
 * What a table keeps is a string as a protobuf field: a one-byte tag, the
 * length as a varint, then the UTF-8 bytes. The tag is the table's (the
 * caller may overwrite it after copying, to use the string in another
 * field). Every entry starts on an 8-byte boundary of the arena and is
 * followed by zeros up to the next one, so that an entry is copied 8 bytes at
 * a time as a float64 (the widest plain load and store JS has; 1.6 times
 * faster than 4-byte words, measured).
 *
 * A float64 copy keeps the bits unless they make a NaN, which an engine may
 * canonicalize when it boxes the number. A NaN needs exponent bits 52 to 62
 * set: the last byte of the 8 is 0x7f or 0xff and the one before it 0xf0 or
 * more. UTF-8 never has that pair (0xff does not occur, and a byte of 0xf0 or
 * more leads a 4-byte sequence, so a continuation byte follows it, not
 * 0x7f); the tag and length bytes sit at the start of an entry, never at the
 * end of an 8-byte group; padding is zeros. So entries are strings only, and
 * {@link EncodedStrings.addBytes} takes byte runs of the same kind. A copy may
 * write up to seven bytes past its end, which the writer's next bytes
 * overwrite (callers make room for them).
 *
 * Memory is bounded: a table that would pass its entry or byte limit is
 * emptied and refilled from the strings seen next, so an unbounded stream of
 * distinct strings costs a refill now and then, never memory.
 */

const encoder = new TextEncoder();

/** Bits of a packed entry holding its encoded length; the rest is the arena offset in 8-byte units. */
const LEN_BITS = 12;
/** The place of an entry in its table (its offset in 8-byte units): unique among the strings held. */
export function entrySlot(entry: number): number {
  return entry >>> LEN_BITS;
}

/** Bytes that {@link EncodedStrings.copy} may write past the end of an encoding. */
export const COPY_SPILL = 7;
/** Mask of the length bits of a packed entry. */
export const ENCODED_LENGTH_MASK = (1 << LEN_BITS) - 1;

/**
 * A table of encoded strings. An entry is one small integer (no allocation
 * per lookup): `(offset / 8) << 12 | encodedLength`, read with
 * {@link ENCODED_LENGTH_MASK} and {@link EncodedStrings.copy}.
 */
export class EncodedStrings {
  readonly arena: Uint8Array;
  readonly view: DataView;
  readonly #map: Map<string, number>;
  /**
   * A direct-mapped memo in front of the map, slot chosen from the length and
   * two characters: a hit costs two `charCodeAt` and a string comparison
   * (a pointer comparison for the same instance), against a `Map` lookup
   * measured at about 15 ns. An entry of -1 marks an empty slot.
   */
  readonly #memoStrings: string[];
  readonly #memoEntries: Int32Array;
  readonly #memoMask: number;
  readonly #maxEntries: number;
  /** Strings longer than this many UTF-16 units are not kept (their encoding could pass the length bits). */
  readonly maxChars: number;
  /** Next free byte of the arena, a multiple of 8. */
  #top: number;
  /** Counts the times the table was emptied: entries taken before a change are void. */
  generation: number;
  readonly #tag: number;
  /** Entries held, strings and byte runs ({@link addBytes}). */
  #count: number;

  /**
   * `arenaBytes` up to 2^21 (offsets must fit 18 bits of 8-byte units); `maxChars`
   * up to 1000, so that an encoding (3 bytes a unit at most, plus the tag and
   * a 2-byte length) fits the length bits. `memoSlots` is a power of two. `tag` is
   * the byte written before each string.
   */
  constructor(tag: number, arenaBytes: number, maxEntries: number, maxChars: number, memoSlots: number) {
    this.#tag = tag;
    this.arena = new Uint8Array(arenaBytes);
    this.view = new DataView(this.arena.buffer);
    this.#map = new Map();
    this.#memoStrings = new Array<string>(memoSlots).fill('');
    this.#memoEntries = new Int32Array(memoSlots).fill(-1);
    this.#memoMask = memoSlots - 1;
    this.#maxEntries = maxEntries;
    this.maxChars = maxChars;
    this.#top = 0;
    this.generation = 0;
    this.#count = 0;
  }

  /** The entry of `s`, or -1. */
  get(s: string): number {
    const n = s.length;
    // charCodeAt past the end is NaN, which `| 0` makes 0: '' and one-character strings need no branch.
    const slot = (Math.imul(n, 0x9e3779b1) ^ (s.charCodeAt(n - 1) << 7) ^ (s.charCodeAt(n >>> 1) | 0)) & this.#memoMask;
    const m = this.#memoEntries[slot] as number;
    if (m >= 0 && this.#memoStrings[slot] === s) return m;
    const e = this.#map.get(s);
    if (e === undefined) return -1;
    this.#memoStrings[slot] = s;
    this.#memoEntries[slot] = e;
    return e;
  }

  /** Number of strings held. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * Encodes `s`, keeps it and returns its entry; -1 when `s` is longer than
   * {@link maxChars}. The caller has looked it up first and not found it.
   */
  add(s: string): number {
    const n = s.length;
    if (n > this.maxChars) return -1;
    // Room for the worst case: the tag, a 2-byte length and 3 bytes a unit.
    const worst = 3 + 3 * n;
    if (this.#top + worst > this.arena.length || this.#count >= this.#maxEntries) this.clear();
    const arena = this.arena;
    const start = this.#top;
    arena[start] = this.#tag;
    // ASCII first, with the length written as if it were; one pass when it is.
    const head = n < 0x80 ? 2 : 3;
    let p = start + head;
    let or = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      or |= c;
      arena[p + i] = c;
    }
    let len = n;
    if (or >= 0x80) {
      len = encoder.encodeInto(s, arena.subarray(start + 3, start + 3 + 3 * n)).written;
      p = start + (len < 0x80 ? 2 : 3);
      // The bytes were written three bytes in; a 1-byte length moves them back by one.
      if (p !== start + 3) arena.copyWithin(p, start + 3, start + 3 + len);
    }
    if (len < 0x80) arena[start + 1] = len;
    else {
      arena[start + 1] = (len & 0x7f) | 0x80;
      arena[start + 2] = len >>> 7;
    }
    const total = p - start + len;
    // Zero the rest of the last 8 bytes, so that copies carry no stale bytes.
    const end = (start + total + 7) & ~7;
    for (let i = start + total; i < end; i++) arena[i] = 0;
    this.#top = end;
    const entry = ((start >>> 3) << LEN_BITS) | total;
    this.#map.set(s, entry);
    this.#count++;
    return entry;
  }

  /**
   * Keeps the bytes `src[start, end)` (at most {@link ENCODED_LENGTH_MASK}
   * of them) and returns their entry, which only the caller knows how to find
   * again: it is not in the map. The bytes must be safe to copy as float64s
   * (see above): bytes below 0x80 and whole UTF-8 sequences, nothing else.
   */
  addBytes(src: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (this.#top + n + 8 > this.arena.length || this.#count >= this.#maxEntries) this.clear();
    const arena = this.arena;
    const at = this.#top;
    for (let i = 0; i < n; i++) arena[at + i] = src[start + i] as number;
    const stop = (at + n + 7) & ~7;
    for (let i = at + n; i < stop; i++) arena[i] = 0;
    this.#top = stop;
    this.#count++;
    return ((at >>> 3) << LEN_BITS) | n;
  }

  /** Forgets every string. */
  clear(): void {
    this.#map.clear();
    this.#count = 0;
    this.#memoEntries.fill(-1);
    // Let go of the strings, too.
    this.#memoStrings.fill('');
    this.generation++;
    this.#top = 0;
  }

  /**
   * Copies the encoding of `entry` to `out` at `pos`, 8 bytes at a time:
   * `out` must have {@link COPY_SPILL} spare bytes past the encoding, which
   * may receive padding. Returns the position after the encoding.
   */
  copy(entry: number, out: DataView, pos: number): number {
    const len = entry & ENCODED_LENGTH_MASK;
    let src = (entry >>> LEN_BITS) << 3;
    const view = this.view;
    const end = pos + len;
    for (let p = pos; p < end; p += 8, src += 8) out.setFloat64(p, view.getFloat64(src, true), true);
    return end;
  }
}
