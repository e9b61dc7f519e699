import type { Attributes, Context, Link, SpanKind, TraceState } from '@opentelemetry/api';

/** What a sampler decides, numbered as the OpenTelemetry SDKs number it. */
export const SamplingDecision = {
  /** Not recorded, not sampled: the tracer returns a non-recording span. */
  NOT_RECORD: 0,
  /** Recorded (processors see it) but not sampled (not exported, sampled flag off). */
  RECORD: 1,
  /** Recorded and sampled. */
  RECORD_AND_SAMPLED: 2,
} as const;
export type SamplingDecision = (typeof SamplingDecision)[keyof typeof SamplingDecision];

/** A sampler's answer: the decision, attributes to add to the span, and the trace state to give it. */
export interface SamplingResult {
  readonly decision: SamplingDecision;
  readonly attributes?: Attributes;
  readonly traceState?: TraceState;
}

/**
 * Decides at span start whether a span is recorded and sampled. Same shape as
 * the OpenTelemetry SDK's `Sampler`, so its samplers can be used here too.
 * `traceId` is 32 lowercase hex digits.
 */
export interface Sampler {
  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult;
  toString(): string;
}
