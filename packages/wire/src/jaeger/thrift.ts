import type { Span } from '@traceloom/model';

/** Decodes a Jaeger Thrift (binary protocol) `Batch` into model spans. Throws {@link WireDecodeError} on bad input. */
export function decodeJaegerThriftBatch(_buf: Uint8Array): Span[] {
  throw new Error('not implemented');
}
