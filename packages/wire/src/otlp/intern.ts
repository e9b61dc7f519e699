import { sameBytes } from '../internal/decode-compare.ts';

/**
 * A direct-mapped cache from a short run of encoded bytes to the immutable
 * object decoded from them, so that an attribute seen before (same key, same
 * value: `http.request.method=GET`, `server.port=8080`) costs one hash and one
 * comparison instead of two string decodes, maybe a `bigint`, and an object.
 *
 * Objects handed out are shared between spans and between calls, like the
 * resource of a `ResourceSpans`; the model's types are `readonly`, and only
 * values without mutable parts (strings, numbers, booleans, bigints; no byte
 * arrays, arrays or key-value lists) may be stored.
 */
export class InternTable<T> {
  private readonly mask: number;
  private readonly maxBytes: number;
  /** Bytes per slot: a 4-byte length, then the key bytes. */
  private readonly stride: number;
  private readonly arena: Uint8Array;
  /** Read a word at a time; a DataView, so that byte order cannot matter. */
  private readonly words: DataView;
  private readonly values: (T | undefined)[];
  /**
   * Per slot, the hash of the last key that missed there and was not
   * stored. A key is stored on its second miss in a row at its slot: values
   * seen once (ids, addresses, sizes; most misses) then cost no copy and do
   * not evict an entry that is in use.
   */
  private readonly candidates: Int32Array;

  /** `slots` must be a power of two; `maxBytes` + 4 is best a multiple of 64 (a cache line). */
  constructor(slots: number, maxBytes: number) {
    this.mask = slots - 1;
    this.maxBytes = maxBytes;
    this.stride = (maxBytes + 4 + 3) & ~3;
    this.arena = new Uint8Array(slots * this.stride);
    this.words = new DataView(this.arena.buffer);
    for (let i = 0; i < slots; i++) this.words.setInt32(i * this.stride, -1, true);
    this.values = new Array<T | undefined>(slots).fill(undefined);
    this.candidates = new Int32Array(slots);
  }

  /**
   * Looks up the bytes `[start, end)` of `view`. Returns the slot index
   * (>= 0) on a hit, for {@link get}; on a miss `-slot - 1`, for
   * {@link put}; and -1 - `slots` when the key is too long or shorter than 4
   * bytes to be cached.
   */
  find(view: DataView, start: number, end: number): number {
    const n = end - start;
    if (n > this.maxBytes || n < 4) return -1 - (this.mask + 1);
    let h = Math.imul(view.getInt32(start, true) ^ n, 0x9e3779b1);
    h = Math.imul(h ^ view.getInt32(start + ((n - 4) >> 1), true), 0x85ebca6b);
    h = Math.imul(h ^ view.getInt32(end - 4, true), 0xc2b2ae35);
    const slot = (h ^ (h >>> 15)) & this.mask;
    const words = this.words;
    const base = slot * this.stride;
    if (words.getInt32(base, true) !== n || !sameBytes(words, base + 4, view, start, n)) return -slot - 1;
    return slot;
  }

  /** The object in slot `slot` (a value {@link find} returned). */
  get(slot: number): T {
    return this.values[slot] as T;
  }

  /**
   * Offers `value` for `buf[start, end)` (`view` a DataView over exactly
   * `buf`) to the slot a missing {@link find} named (`-result - 1`). The slot
   * takes it when the same key (by a fingerprint of the bytes the hash
   * reads) was offered there last, so a key is stored on its second miss;
   * does nothing for a key too long or short to cache.
   */
  put(slot: number, buf: Uint8Array, view: DataView, start: number, end: number, value: T): void {
    if (slot > this.mask) return;
    const n = end - start;
    const h =
      view.getInt32(start, true) ^ view.getInt32(start + ((n - 4) >> 1), true) ^ view.getInt32(end - 4, true) ^ n;
    if (this.candidates[slot] !== h) {
      this.candidates[slot] = h;
      return;
    }
    const words = this.words;
    const base = slot * this.stride;
    words.setInt32(base, n, true);
    const bytes = base + 4;
    const whole = n & ~3;
    let i = 0;
    for (; i < whole; i += 4) words.setInt32(bytes + i, view.getInt32(start + i, true), true);
    const arena = this.arena;
    for (; i < n; i++) arena[bytes + i] = buf[start + i] as number;
    this.values[slot] = value;
  }
}

/**
 * Immutable objects decoded from long runs of bytes (resources, scopes) by
 * those bytes, in a `Map` keyed by a hash of every byte: such keys share most
 * of their bytes (the same attribute keys, often the same values), so the
 * three words {@link InternTable} hashes would put them in a few slots, and a
 * slot shared by two keys in use would serve neither. A key is kept from its
 * first sighting (these repeat: a service sends the same resource every
 * time); at `maxEntries` the table is emptied. Same sharing rules as
 * {@link InternTable}: only values without mutable parts.
 */
export class WholeKeyInternTable<T> {
  readonly #entries = new Map<number, { readonly key: DataView; readonly value: T }>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** The hash of the bytes `[start, end)` of `view`, for {@link get} and {@link set}; -1 for a key not to cache. */
  hash(view: DataView, start: number, end: number): number {
    const n = end - start;
    if (n < 4 || n > this.#maxBytes) return -1;
    let h = Math.imul(n, 0x9e3779b1);
    let p = start;
    for (; p + 4 <= end; p += 4) {
      h = Math.imul(h ^ view.getInt32(p, true), 0x85ebca6b);
      h ^= h >>> 13;
    }
    // The last word again, overlapping, covers a tail of 1 to 3 bytes.
    if (p < end) h = Math.imul(h ^ view.getInt32(end - 4, true), 0xc2b2ae35);
    return h >>> 1;
  }

  /** The object kept for the bytes `[start, end)` of `view` whose {@link hash} is `h`, or undefined. */
  get(h: number, view: DataView, start: number, end: number): T | undefined {
    if (h < 0) return undefined;
    const e = this.#entries.get(h);
    const n = end - start;
    if (e === undefined || e.key.byteLength !== n || !sameBytes(e.key, 0, view, start, n)) return undefined;
    return e.value;
  }

  /** Keeps `value` for the bytes `[start, end)` of `buf`, whose {@link hash} is `h` (-1: does nothing). */
  set(h: number, buf: Uint8Array, start: number, end: number, value: T): void {
    if (h < 0) return;
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    this.#entries.set(h, { key: new DataView(buf.slice(start, end).buffer), value });
  }
}
