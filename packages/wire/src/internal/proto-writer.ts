import { hexToBytesInto } from '@traceloom/model';
import { utf8Length, writeUtf8 } from './utf8.ts';

/**
 * A growable protobuf writer. Length-delimited sub-messages are written in
 * place: {@link ProtoWriter.fork} reserves one byte for the length, and
 * {@link ProtoWriter.join} patches it, moving the body right only when the
 * length needs more than one varint byte. This avoids a sizing pass.
 *
 * One writer can be reused: {@link ProtoWriter.finish} copies the bytes out
 * and {@link ProtoWriter.reset} starts over on the same scratch buffer.
 */
const EMPTY = new Uint8Array(0);

/** Node's `Buffer`, where there is one (the package also runs in browsers). */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): Uint8Array } }).Buffer;

/**
 * `n` bytes whose contents are undefined: with Node's `Buffer.allocUnsafeSlow`
 * (a plain `Uint8Array` over its own memory), as zeroing a message buffer of
 * a few hundred KiB costs about as much as writing a tenth of the message;
 * elsewhere a zeroed array.
 */
function uninitializedBytes(n: number): Uint8Array {
  if (NodeBuffer === undefined) return new Uint8Array(n);
  const b = NodeBuffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

export class ProtoWriter {
  buf: Uint8Array;
  view: DataView;
  pos: number;

  constructor(initialSize = 64 * 1024) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** A varint of a non-negative integer below 2^53. */
  uint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A tag: field number and wire type. */
  tag(field: number, wireType: number): void {
    this.uint((field << 3) | wireType);
  }

  /** An int64 (or uint64) varint from a `bigint`; negative values take 10 bytes, as protobuf requires. */
  int64(v: bigint): void {
    // Comparisons and Number() allocate nothing; BigInt.asUintN would, for every value.
    if (v >= 0n && v < 0x20000000000000n) {
      this.uint(Number(v));
      return;
    }
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u > 0x7fn) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  /** A signed 32-bit int varint (negative values sign-extended to 10 bytes). */
  int32(v: number): void {
    if (v >= 0) this.uint(v);
    else this.int64(BigInt(v));
  }

  fixed64(v: bigint): void {
    this.ensure(8);
    // setBigUint64 takes the value modulo 2^64, so negative (sfixed64) values come out as two's complement.
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A length-delimited string field (tag included). Empty strings are written too; callers skip defaults. */
  stringField(field: number, s: string): void {
    this.tag(field, 2);
    const n = s.length;
    // A string of n UTF-16 units takes at most 3n bytes.
    if (n < 43) {
      // Length fits one varint byte whatever the content (3 * 42 = 126).
      this.ensure(1 + 3 * n);
      const start = this.pos + 1;
      const end = writeUtf8(s, this.buf, start);
      this.buf[this.pos] = end - start;
      this.pos = end;
      return;
    }
    if (n < 0x4000) {
      // Optimistically ASCII, where the byte length is n and known before
      // writing: one pass instead of utf8Length then writeUtf8.
      const head = n < 0x80 ? 1 : 2;
      this.ensure(head + n);
      const buf = this.buf;
      const start = this.pos + head;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        if (head === 1) buf[this.pos] = n;
        else {
          buf[this.pos] = (n & 0x7f) | 0x80;
          buf[this.pos + 1] = n >>> 7;
        }
        this.pos = start + n;
        return;
      }
    }
    const len = utf8Length(s);
    this.uint(len);
    this.ensure(len);
    this.pos = writeUtf8(s, this.buf, this.pos);
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A bytes field from a hex id (the caller guarantees even length and hex digits). */
  hexField(field: number, hex: string): void {
    this.tag(field, 2);
    const n = hex.length >>> 1;
    this.uint(n);
    this.ensure(n);
    hexToBytesInto(hex, this.buf, this.pos);
    this.pos += n;
  }

  /** Starts a length-delimited sub-message (tag written); returns the mark to pass to {@link join}. */
  fork(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the sub-message started at `mark`, writing its length. */
  join(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    let v = len;
    let p = mark;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += extra;
  }

  /**
   * Like {@link fork}, but reserves `reserve` bytes (1 to 5) for the length:
   * for messages that are usually at least 128 bytes (spans) or 16 KiB
   * (a resource's spans), whose body {@link join} would otherwise move right.
   * End it with {@link joinReserved} and the same `reserve`.
   */
  forkReserved(field: number, reserve: number): number {
    this.tag(field, 2);
    this.ensure(reserve);
    const mark = this.pos;
    this.pos += reserve;
    return mark;
  }

  /** Ends a sub-message started with {@link forkReserved}, writing its length in canonical (shortest) form. */
  joinReserved(mark: number, reserve: number): void {
    const bodyStart = mark + reserve;
    const len = this.pos - bodyStart;
    let need = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) need++;
    if (need !== reserve) {
      // Shift the body so the length varint stays minimal.
      this.ensure(Math.max(0, need - reserve));
      this.buf.copyWithin(mark + need, bodyStart, this.pos);
      this.pos += need - reserve;
    }
    let v = len;
    let p = mark;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /**
   * Starts over on a new buffer of `capacity` bytes, for a message that
   * {@link take} hands over without copying. The buffer is not zeroed: only
   * bytes written are read, and {@link take} zeroes the rest.
   */
  restart(capacity: number): void {
    const buf = uninitializedBytes(capacity);
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
  }

  /**
   * The bytes written so far as a view of the writer's own buffer, which the
   * writer lets go of (call {@link restart} before writing again). When the
   * bytes fill less than `minFill` of the buffer they are copied out instead,
   * so that the caller does not hold much unused memory.
   */
  take(minFill: number): Uint8Array {
    const buf = this.buf;
    let out: Uint8Array;
    if (this.pos >= buf.length * minFill) {
      // The bytes past the message stay reachable through `out.buffer`: no stale memory there.
      buf.fill(0, this.pos);
      out = buf.subarray(0, this.pos);
    } else out = buf.slice(0, this.pos);
    this.buf = EMPTY;
    this.view = new DataView(EMPTY.buffer);
    this.pos = 0;
    return out;
  }
}
