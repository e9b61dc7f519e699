import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import type { Sampler, SamplingResult } from './types.ts';
import { SamplingDecision } from './types.ts';

/**
 * Shared answers. Samplers hand these out instead of allocating a result per
 * span; they are frozen so a consumer cannot change the decision for everyone.
 */
export const SAMPLED_RESULT: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
/** Shared "drop" answer (not recorded, not sampled). */
export const NOT_RECORD_RESULT: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/** Samples every span. */
export class AlwaysOnSampler implements Sampler {
  shouldSample(
    _context: Context,
    _traceId: string,
    _spanName: string,
    _spanKind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    return SAMPLED_RESULT;
  }

  toString(): string {
    return 'AlwaysOnSampler';
  }
}

/** Samples no span: the tracer hands out non-recording spans. */
export class AlwaysOffSampler implements Sampler {
  shouldSample(
    _context: Context,
    _traceId: string,
    _spanName: string,
    _spanKind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    return NOT_RECORD_RESULT;
  }

  toString(): string {
    return 'AlwaysOffSampler';
  }
}
