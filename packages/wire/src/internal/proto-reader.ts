import { bytesToHex } from '@traceloom/model';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { readUtf8, type Utf8Cache } from './utf8.ts';

/** Protobuf wire types (encoding spec, "Message Structure"). */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const TWO_32 = 4294967296;

/**
 * A bounds-checked protobuf reader over one buffer. Every length is checked
 * against the bytes that remain before anything is allocated for it, so a
 * declared size can never drive an allocation larger than the input. All
 * failures throw {@link WireDecodeError} with the byte offset.
 *
 * Sub-messages are read by saving `end`, narrowing it to `lengthEnd()`, and
 * restoring it afterwards, so no sub-reader objects are created.
 */
export class ProtoReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  /** A varint as an unsigned 32-bit number (higher bits dropped, as protobuf does for uint32). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos >= end) this.truncated('varint');
    let b = buf[pos++] as number;
    let v = b & 0x7f;
    if (b < 0x80) {
      this.pos = pos;
      return v;
    }
    let shift = 7;
    for (let i = 1; i < 10; i++) {
      if (pos >= end) this.truncated('varint');
      b = buf[pos++] as number;
      if (shift < 32) v |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        this.pos = pos;
        return v >>> 0;
      }
    }
    throw new WireDecodeError(WireErrorCode.BAD_VARINT, `varint longer than 10 bytes at byte ${this.pos}`, this.pos);
  }

  /** A varint as a 64-bit value split into low and high 32-bit halves, written to `out`. */
  private varint64(out: Uint32Array): void {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.truncated('varint');
      const b = buf[pos++] as number;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (i * 7 - 32);
      if (b < 0x80) {
        this.pos = pos;
        out[0] = lo;
        out[1] = hi;
        return;
      }
    }
    throw new WireDecodeError(WireErrorCode.BAD_VARINT, `varint longer than 10 bytes at byte ${this.pos}`, this.pos);
  }

  /** An int64 varint as a `bigint` (two's complement, full range). */
  int64(): bigint {
    this.varint64(scratch);
    const lo = scratch[0] as number;
    const hi = scratch[1] as number;
    if (hi === 0) return BigInt(lo);
    if (hi < 0x200000) return BigInt(hi * TWO_32 + lo); // below 2^53: exact as a double
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** A uint64 varint as a `bigint`. */
  uint64(): bigint {
    this.varint64(scratch);
    const lo = scratch[0] as number;
    const hi = scratch[1] as number;
    if (hi < 0x200000) return BigInt(hi * TWO_32 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A varint as a JS number, exact below 2^53 (for counts and enums that are int32/uint32 on the wire). */
  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** A fixed64 as an unsigned `bigint`. */
  fixed64(): bigint {
    const pos = this.pos;
    if (pos + 8 > this.end) this.truncated('fixed64');
    this.pos = pos + 8;
    // One call and one allocation; measured faster than assembling two
    // 32-bit halves, which takes several BigInt operations for nanosecond
    // timestamps (all above 2^53).
    return this.view.getBigUint64(pos, true);
  }

  /** A sfixed64 as a signed `bigint`. */
  sfixed64(): bigint {
    return BigInt.asIntN(64, this.fixed64());
  }

  fixed32(): number {
    const pos = this.pos;
    if (pos + 4 > this.end) this.truncated('fixed32');
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.end) this.truncated('double');
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /** Reads a length prefix and checks that that many bytes remain; returns the end offset of the field. */
  lengthEnd(): number {
    // Most lengths fit in one byte.
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos] as number;
      if (b < 0x80 && b < this.end - pos) {
        this.pos = pos + 1;
        return pos + 1 + b;
      }
    }
    const at = this.pos;
    const len = this.uint32();
    const end = this.pos + len;
    if (len > this.end - this.pos) {
      throw new WireDecodeError(
        WireErrorCode.TRUNCATED,
        `length ${len} at byte ${at} runs past the end of its message (${this.end - this.pos} bytes left)`,
        at,
      );
    }
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = readUtf8(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  /** A string through a {@link Utf8Cache}, for values that repeat (attribute keys, names). */
  cachedString(cache: Utf8Cache): string {
    const end = this.lengthEnd();
    const s = cache.read(this.buf, this.view, this.pos, end);
    this.pos = end;
    return s;
  }

  /** A length-delimited field copied into a new array. */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const out = this.buf.slice(this.pos, end);
    this.pos = end;
    return out;
  }

  /** A length-delimited field as lowercase hex (ids). */
  hex(): string {
    const end = this.lengthEnd();
    const s = bytesToHex(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  /** Reads a tag; returns `fieldNumber << 3 | wireType`. Field number 0 is an error. */
  tag(): number {
    // Most tags fit in one byte (field numbers 1 to 15).
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos] as number;
      if (b < 0x80 && b >= 8) {
        this.pos = pos + 1;
        return b;
      }
    }
    const at = this.pos;
    const t = this.uint32();
    if (t >>> 3 === 0) {
      throw new WireDecodeError(WireErrorCode.BAD_FIELD_NUMBER, `field number 0 at byte ${at}`, at);
    }
    return t;
  }

  /** Skips one field of the given wire type. Groups are rejected: OTLP, Zipkin and Jaeger never use them. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT: {
        const at = this.pos;
        for (let i = 0; i < 10; i++) {
          if (this.pos >= this.end) this.truncated('varint');
          if ((this.buf[this.pos++] as number) < 0x80) return;
        }
        throw new WireDecodeError(WireErrorCode.BAD_VARINT, `varint longer than 10 bytes at byte ${at}`, at);
      }
      case WireType.I64:
        if (this.pos + 8 > this.end) this.truncated('fixed64');
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.lengthEnd();
        return;
      case WireType.I32:
        if (this.pos + 4 > this.end) this.truncated('fixed32');
        this.pos += 4;
        return;
      default:
        throw new WireDecodeError(
          WireErrorCode.BAD_WIRE_TYPE,
          `unsupported wire type ${wireType} at byte ${this.pos}`,
          this.pos,
        );
    }
  }

  /** Throws a wire-type error for a known field read with the wrong wire type. */
  wrongType(field: string, tag: number, expected: number): never {
    throw new WireDecodeError(
      WireErrorCode.BAD_WIRE_TYPE,
      `${field}: wire type ${tag & 7}, expected ${expected}, before byte ${this.pos}`,
      this.pos,
    );
  }

  truncated(what: string): never {
    throw new WireDecodeError(
      WireErrorCode.TRUNCATED,
      `${what} truncated at byte ${this.pos} (message ends at byte ${this.end})`,
      this.pos,
    );
  }
}

const scratch = new Uint32Array(2);
