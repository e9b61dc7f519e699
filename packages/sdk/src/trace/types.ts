import type { Context } from '@opentelemetry/api';
import type { Span } from '@traceloom/model';

/**
 * A finished span as processors and exporters see it: the model's `Span`
 * (OTLP-shaped: hex ids, `bigint` nanoseconds, typed attribute values), so
 * the OTLP encoder of `@traceloom/wire` takes it as it is.
 */
export type FinishedSpan = Span;

/** The outcome of one export call. `retryable` failures may be tried again later. */
export type ExportResult =
  | { readonly code: 'success' }
  | { readonly code: 'failure'; readonly error: Error }
  | { readonly code: 'retryable'; readonly error: Error; readonly retryAfterMs?: number };

/** Sends finished spans somewhere. Never throws: failures are results. */
export interface SpanExporter {
  export(spans: readonly FinishedSpan[]): Promise<ExportResult>;
  forceFlush?(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Sees every sampled span start and end. `onStart` gets the live span
 * (an OpenTelemetry API span) and the parent context; `onEnd` the finished,
 * immutable span.
 */
export interface SpanProcessor {
  onStart(span: import('@opentelemetry/api').Span, parentContext: Context): void;
  onEnd(span: FinishedSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}
