import type { Span } from '@traceloom/model';

/** Decodes OTLP/JSON (`ExportTraceServiceRequest`) text into spans. Throws {@link WireDecodeError} on bad input. */
export function decodeOtlpTracesJson(_text: string): Span[] {
  throw new Error('not implemented');
}

/** Encodes spans as OTLP/JSON text. */
export function encodeOtlpTracesJson(_spans: readonly Span[]): string {
  throw new Error('not implemented');
}
