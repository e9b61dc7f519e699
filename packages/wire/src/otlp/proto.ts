import type { Span } from '@traceloom/model';

/**
 * Decodes an OTLP `ExportTraceServiceRequest` (same layout as `TracesData`)
 * from protobuf into spans. Throws {@link WireDecodeError} on bad input.
 */
export function decodeOtlpTraces(_buf: Uint8Array): Span[] {
  throw new Error('not implemented');
}

/** Encodes spans as an OTLP `ExportTraceServiceRequest`, grouped by resource and scope identity. */
export function encodeOtlpTraces(_spans: readonly Span[]): Uint8Array {
  throw new Error('not implemented');
}
