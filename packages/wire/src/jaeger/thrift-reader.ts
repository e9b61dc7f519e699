import { bytesToHex } from '@traceloom/model';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { readUtf8 } from '../internal/utf8.ts';

/**
 * Thrift type ids as the binary protocol writes them (Apache Thrift
 * `TType`). Ids 1 (VOID), 5, 7, 9 and the legacy 16/17 (UTF8/UTF16) never
 * appear in a field or container of a valid payload.
 */
export const ThriftType = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
} as const;

/** Nesting deeper than this (structs, lists, sets, maps inside each other) is rejected with `TOO_DEEP`. */
export const MAX_THRIFT_DEPTH = 32;

/**
 * The fewest bytes one value of each type can take on the wire, indexed by
 * type id; 0 marks an id that is not a valid value type. A container that
 * declares N elements needs at least N times this, which is what lets a
 * declared count be rejected before anything is allocated or looped over.
 * (STRUCT: a lone STOP byte; STRING: its 4-byte length; MAP: key type, value
 * type and size; SET/LIST: element type and size.)
 */
const MIN_SIZE = new Uint8Array([0, 0, 1, 1, 8, 0, 2, 0, 4, 0, 8, 4, 1, 6, 5, 5]);

const TYPE_NAMES = [
  'STOP',
  'VOID',
  'BOOL',
  'BYTE',
  'DOUBLE',
  '5',
  'I16',
  '7',
  'I32',
  '9',
  'I64',
  'STRING',
  'STRUCT',
  'MAP',
  'SET',
  'LIST',
];

/** A readable name of a type id, for error messages. */
export function thriftTypeName(type: number): string {
  return TYPE_NAMES[type] ?? String(type);
}

/**
 * A bounds-checked reader of the Thrift binary protocol (big-endian,
 * non-strict struct encoding: no message envelope, as `TSerializer` and
 * thriftrw's `toBuffer` write a bare struct). Every read is checked against
 * the end of the buffer, and every declared length or element count against
 * the bytes that remain, before anything is allocated for it. All failures
 * throw {@link WireDecodeError} with the byte offset.
 */
export class ThriftReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly end: number;
  /** Field id of the last header read by {@link fieldHeader}. */
  fieldId: number;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    this.end = buf.length;
    this.fieldId = 0;
  }

  /**
   * Reads a field header: returns its type and sets {@link fieldId}, or
   * returns {@link ThriftType.STOP} at the end of a struct. The type is
   * checked to be a valid value type.
   */
  fieldHeader(): number {
    const at = this.pos;
    if (at >= this.end) this.truncated('field header', at);
    const type = this.buf[at] as number;
    if (type === ThriftType.STOP) {
      this.pos = at + 1;
      return type;
    }
    if (at + 3 > this.end) this.truncated('field header', at);
    this.checkType(type, at);
    this.fieldId = this.view.getInt16(at + 1);
    this.pos = at + 3;
    return type;
  }

  bool(): boolean {
    const at = this.pos;
    if (at + 1 > this.end) this.truncated('bool', at);
    this.pos = at + 1;
    // Thrift writes 1 for true; every reader in the ecosystem treats any non-zero byte as true.
    return this.buf[at] !== 0;
  }

  i32(): number {
    const at = this.pos;
    if (at + 4 > this.end) this.truncated('i32', at);
    this.pos = at + 4;
    return this.view.getInt32(at);
  }

  double(): number {
    const at = this.pos;
    if (at + 8 > this.end) this.truncated('double', at);
    this.pos = at + 8;
    return this.view.getFloat64(at);
  }

  /**
   * Skips an i64 and returns where it starts, so callers can read it later in
   * the form they need ({@link i64At}, {@link hexAt}, {@link isZeroAt}).
   */
  i64Pos(): number {
    const at = this.pos;
    if (at + 8 > this.end) this.truncated('i64', at);
    this.pos = at + 8;
    return at;
  }

  /** The signed i64 at byte `at` (which {@link i64Pos} has bounds-checked). */
  i64At(at: number): bigint {
    const hi = this.view.getInt32(at);
    const lo = this.view.getUint32(at + 4);
    // Below 2^53 the double is exact, and BigInt(number) is much cheaper than shifting bigints.
    if (hi >= 0 && hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** The i64 at byte `at` as 16 lowercase hex digits, i.e. read as unsigned big-endian. */
  hexAt(at: number): string {
    return bytesToHex(this.buf, at, at + 8);
  }

  /** True when the i64 at byte `at` is 0. */
  isZeroAt(at: number): boolean {
    const v = this.view;
    return v.getUint32(at) === 0 && v.getUint32(at + 4) === 0;
  }

  /**
   * Reads the length prefix of a string or binary, checks it against the
   * bytes left, and returns where its bytes start; {@link pos} is left after
   * them.
   */
  stringPos(): number {
    const at = this.pos;
    const len = this.i32();
    if (len < 0 || len > this.end - this.pos) {
      throw new WireDecodeError(
        WireErrorCode.BAD_LENGTH,
        `string length ${len} at byte ${at} does not fit in the ${this.end - this.pos} bytes left`,
        at,
      );
    }
    const start = this.pos;
    this.pos = start + len;
    return start;
  }

  /** A string (UTF-8; invalid sequences become U+FFFD). */
  string(): string {
    const start = this.stringPos();
    return readUtf8(this.buf, start, this.pos);
  }

  /**
   * Reads a list or set header and returns its element count. The element
   * type must be `elemType` unless the list is empty (an empty list's
   * element type carries nothing, and some writers leave it arbitrary).
   */
  listHeader(elemType: number, what: string): number {
    const at = this.pos;
    if (at + 5 > this.end) this.truncated('list header', at);
    const type = this.buf[at] as number;
    this.checkType(type, at);
    const size = this.view.getInt32(at + 1);
    this.pos = at + 5;
    this.checkCount(size, MIN_SIZE[type] as number, at);
    if (type !== elemType && size > 0) {
      throw new WireDecodeError(
        WireErrorCode.BAD_THRIFT_TYPE,
        `${what}: list of ${thriftTypeName(type)} at byte ${at}, expected a list of ${thriftTypeName(elemType)}`,
        at,
      );
    }
    return size;
  }

  /**
   * Skips one value of `type`, however deeply nested, as Thrift readers do
   * for field ids they do not know. `depth` is the nesting level of the
   * value being skipped.
   */
  skip(type: number, depth: number): void {
    const at = this.pos;
    switch (type) {
      case ThriftType.BOOL:
      case ThriftType.BYTE:
      case ThriftType.DOUBLE:
      case ThriftType.I16:
      case ThriftType.I32:
      case ThriftType.I64: {
        const n = MIN_SIZE[type] as number;
        if (at + n > this.end) this.truncated(thriftTypeName(type), at);
        this.pos = at + n;
        return;
      }
      case ThriftType.STRING:
        this.stringPos();
        return;
      case ThriftType.STRUCT: {
        this.checkDepth(depth, at);
        for (let t = this.fieldHeader(); t !== ThriftType.STOP; t = this.fieldHeader()) this.skip(t, depth + 1);
        return;
      }
      case ThriftType.MAP: {
        this.checkDepth(depth, at);
        if (at + 6 > this.end) this.truncated('map header', at);
        const kt = this.buf[at] as number;
        const vt = this.buf[at + 1] as number;
        this.checkType(kt, at);
        this.checkType(vt, at + 1);
        const size = this.view.getInt32(at + 2);
        this.pos = at + 6;
        this.checkCount(size, (MIN_SIZE[kt] as number) + (MIN_SIZE[vt] as number), at);
        for (let i = 0; i < size; i++) {
          this.skip(kt, depth + 1);
          this.skip(vt, depth + 1);
        }
        return;
      }
      case ThriftType.SET:
      case ThriftType.LIST: {
        this.checkDepth(depth, at);
        if (at + 5 > this.end) this.truncated('list header', at);
        const et = this.buf[at] as number;
        this.checkType(et, at);
        const size = this.view.getInt32(at + 1);
        this.pos = at + 5;
        this.checkCount(size, MIN_SIZE[et] as number, at);
        for (let i = 0; i < size; i++) this.skip(et, depth + 1);
        return;
      }
      default:
        this.checkType(type, at);
    }
  }

  /** Throws the error for a known field that arrived with the wrong type. */
  wrongType(what: string, type: number, expected: number): never {
    // The header was 3 bytes: point at its type byte.
    const at = this.pos - 3;
    throw new WireDecodeError(
      WireErrorCode.BAD_THRIFT_TYPE,
      `${what}: type ${thriftTypeName(type)} at byte ${at}, expected ${thriftTypeName(expected)}`,
      at,
    );
  }

  truncated(what: string, at: number): never {
    throw new WireDecodeError(
      WireErrorCode.TRUNCATED,
      `${what} at byte ${at} runs past the end of the message (${this.end} bytes)`,
      at,
    );
  }

  private checkType(type: number, at: number): void {
    if (type >= MIN_SIZE.length || MIN_SIZE[type] === 0) {
      throw new WireDecodeError(WireErrorCode.BAD_THRIFT_TYPE, `unknown Thrift type id ${type} at byte ${at}`, at);
    }
  }

  private checkCount(size: number, minElemSize: number, at: number): void {
    // size < 2^31 and minElemSize <= 16, so the product is exact in a double.
    if (size < 0 || size * minElemSize > this.end - this.pos) {
      throw new WireDecodeError(
        WireErrorCode.BAD_LENGTH,
        `container at byte ${at} declares ${size} elements, more than the ${this.end - this.pos} bytes left can hold`,
        at,
      );
    }
  }

  private checkDepth(depth: number, at: number): void {
    if (depth > MAX_THRIFT_DEPTH) {
      throw new WireDecodeError(
        WireErrorCode.TOO_DEEP,
        `structures nested deeper than ${MAX_THRIFT_DEPTH} levels at byte ${at}`,
        at,
      );
    }
  }
}
