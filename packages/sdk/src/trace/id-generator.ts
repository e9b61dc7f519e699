/**
 * Makes trace and span ids. Same shape as the OpenTelemetry SDK's
 * `IdGenerator`, so one written for it can be passed to our provider.
 */
export interface IdGenerator {
  /** 32 lowercase hex digits, not all zero. */
  generateTraceId(): string;
  /** 16 lowercase hex digits, not all zero. */
  generateSpanId(): string;
}

/**
 * Random bytes are drawn 64 KiB at a time (the most one
 * `crypto.getRandomValues` call gives; per id the call would dominate) and
 * turned into hex by one native `toString('hex')` of the whole block. An id
 * is then a `slice` of that hex string: V8 makes a slice of 13 or more
 * characters a small "sliced string" pointing into the block, with no
 * copying and no per-character work. The price is that a block's hex string
 * (128 KiB) lives as long as any id cut from it. Ids are cut 8-byte aligned
 * so their all-zero check is two or four 32-bit reads of the bytes.
 */
const POOL_BYTES = 65536;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
const words = new Uint32Array(pool.buffer, pool.byteOffset, POOL_BYTES >>> 2);
let hex = '';
let offset = POOL_BYTES;

function refill(): void {
  crypto.getRandomValues(pool);
  hex = pool.toString('hex');
  offset = 0;
}

/** A random trace id (W3C: 16 random bytes, never all zero). */
export function randomTraceId(): string {
  for (;;) {
    if (offset + 16 > POOL_BYTES) refill();
    const at = offset;
    offset += 16;
    const w = at >>> 2;
    if (((words[w] as number) | (words[w + 1] as number) | (words[w + 2] as number) | (words[w + 3] as number)) !== 0) {
      return hex.slice(at * 2, at * 2 + 32);
    }
  }
}

/** A random span id (8 random bytes, never all zero). */
export function randomSpanId(): string {
  for (;;) {
    if (offset + 8 > POOL_BYTES) refill();
    const at = offset;
    offset += 8;
    const w = at >>> 2;
    if (((words[w] as number) | (words[w + 1] as number)) !== 0) return hex.slice(at * 2, at * 2 + 16);
  }
}

/**
 * Ids as numbers, for the tracer's own spans (see `TraceIdWords` in
 * `@traceloom/model`): random 32-bit words drawn 64 KiB at a time into a pool
 * of their own, with no hex made at all. {@link ID_WORDS} holds them; a draw
 * returns where its words start, valid until the next draw.
 */
const WORD_POOL = 16384;
export const ID_WORDS = new Int32Array(WORD_POOL);
let wordAt = WORD_POOL;

/** Where `n` (2 or 4) fresh random words start in {@link ID_WORDS}, never all zero. */
export function drawIdWords(n: number): number {
  for (;;) {
    if (wordAt + n > WORD_POOL) {
      crypto.getRandomValues(ID_WORDS);
      wordAt = 0;
    }
    const at = wordAt;
    wordAt += n;
    let or = (ID_WORDS[at] as number) | (ID_WORDS[at + 1] as number);
    if (n > 2) or |= (ID_WORDS[at + 2] as number) | (ID_WORDS[at + 3] as number);
    if (or !== 0) return at;
  }
}

/** The default {@link IdGenerator}: cryptographically random ids from a pooled buffer. */
export class RandomIdGenerator implements IdGenerator {
  generateTraceId(): string {
    return randomTraceId();
  }

  generateSpanId(): string {
    return randomSpanId();
  }
}
