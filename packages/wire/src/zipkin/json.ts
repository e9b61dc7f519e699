import type { Span } from '@traceloom/model';

/** Decodes a Zipkin v2 JSON array of spans into model spans. Throws {@link WireDecodeError} on bad input. */
export function decodeZipkinJson(_text: string): Span[] {
  throw new Error('not implemented');
}

/** Encodes model spans as a Zipkin v2 JSON array. */
export function encodeZipkinJson(_spans: readonly Span[]): string {
  throw new Error('not implemented');
}
