/**
 * Stable error codes of the codecs. A code is never reused for another
 * meaning. Every decoder throws only {@link WireDecodeError} for bad input.
 */
export const WireErrorCode = {
  /** A field or length runs past the end of the buffer. */
  TRUNCATED: 'TL_ERR_DECODE_TRUNCATED',
  /** A protobuf varint longer than 10 bytes. */
  BAD_VARINT: 'TL_ERR_DECODE_BAD_VARINT',
  /** A protobuf wire type that is not 0, 1, 2 or 5 (groups are not accepted), or the wrong one for a known field. */
  BAD_WIRE_TYPE: 'TL_ERR_DECODE_BAD_WIRE_TYPE',
  /** Field number 0. */
  BAD_FIELD_NUMBER: 'TL_ERR_DECODE_BAD_FIELD_NUMBER',
  /** Nested values (attribute arrays / key-value lists) deeper than the limit. */
  TOO_DEEP: 'TL_ERR_DECODE_TOO_DEEP',
  /** The body is not valid JSON. */
  BAD_JSON: 'TL_ERR_DECODE_BAD_JSON',
  /** A field whose value does not fit the format: a wrong JSON type, a bad hex id, an id of the wrong length, a bad integer, a missing required field, a timestamp out of range. */
  BAD_FIELD: 'TL_ERR_DECODE_BAD_FIELD',
  /** A Thrift type id that does not exist, or the wrong one for a known field. */
  BAD_THRIFT_TYPE: 'TL_ERR_DECODE_BAD_THRIFT_TYPE',
  /** A length or element count that is negative or larger than the bytes left could hold. */
  BAD_LENGTH: 'TL_ERR_DECODE_BAD_LENGTH',
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

/**
 * Thrown by every decoder for input it cannot decode. `message` names the
 * problem and where it is (byte offset for binary formats, JSON path for JSON).
 */
export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError';
  readonly code: WireErrorCode;
  /** Byte offset in the input where the problem was found, -1 when not applicable. */
  readonly offset: number;

  constructor(code: WireErrorCode, message: string, offset = -1) {
    super(message);
    this.code = code;
    this.offset = offset;
  }
}

/** True for a {@link WireDecodeError}. */
export function isWireDecodeError(e: unknown): e is WireDecodeError {
  return e instanceof WireDecodeError;
}
