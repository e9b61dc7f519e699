import type { Span } from '@traceloom/model';

/** Decodes a Zipkin proto3 `ListOfSpans` into model spans. Throws {@link WireDecodeError} on bad input. */
export function decodeZipkinProto(_buf: Uint8Array): Span[] {
  throw new Error('not implemented');
}

/** Encodes model spans as a Zipkin proto3 `ListOfSpans`. */
export function encodeZipkinProto(_spans: readonly Span[]): Uint8Array {
  throw new Error('not implemented');
}
