import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { NOT_RECORD_RESULT, SAMPLED_RESULT } from './basic.ts';
import { TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler, SamplingResult } from './types.ts';

/** A monotonic clock in milliseconds; injectable so tests need no real waiting. */
export type MillisClock = () => number;

const defaultClock: MillisClock = () => performance.now();

/**
 * Token bucket: earns `creditsPerSecond` credits per second up to `maxBalance`
 * and spends one per allowed item. Starts full, as Jaeger's rate limiter does,
 * so a burst of up to `maxBalance` passes at once.
 */
export class RateLimiter {
  readonly #creditsPerMs: number;
  readonly #maxBalance: number;
  #balance: number;
  #last: number;
  readonly #now: MillisClock;

  constructor(creditsPerSecond: number, maxBalance: number, now: MillisClock = defaultClock) {
    this.#now = now;
    this.#creditsPerMs = Math.max(0, creditsPerSecond) / 1000;
    this.#maxBalance = Math.max(0, maxBalance);
    this.#balance = this.#maxBalance;
    this.#last = now();
  }

  /** Spends `cost` credits if the balance allows it. */
  trySpend(cost = 1): boolean {
    const now = this.#now();
    const elapsed = now - this.#last;
    // A clock that goes backwards earns nothing rather than draining the bucket.
    if (elapsed > 0) {
      this.#last = now;
      const balance = this.#balance + elapsed * this.#creditsPerMs;
      this.#balance = Math.min(balance, this.#maxBalance);
    }
    if (this.#balance < cost) return false;
    this.#balance -= cost;
    return true;
  }
}

/** Jaeger's bucket size for a rate: at least one credit, so rates below 1/s still let a trace through. */
function bucketSize(perSecond: number): number {
  return perSecond > 0 ? Math.max(perSecond, 1) : 0;
}

/** Options of a {@link RateLimitingSampler}. */
export interface RateLimitingSamplerOptions {
  /** Clock in milliseconds. @default performance.now */
  now?: MillisClock;
}

/**
 * Samples at most `maxTracesPerSecond` traces per second (Jaeger's rate
 * limiting sampler): a token bucket earning that many credits per second,
 * holding at most max(rate, 1). Rate 0 samples nothing.
 */
export class RateLimitingSampler implements Sampler {
  readonly maxTracesPerSecond: number;
  readonly #limiter: RateLimiter;

  constructor(maxTracesPerSecond: number, options: RateLimitingSamplerOptions = {}) {
    this.maxTracesPerSecond = Number.isFinite(maxTracesPerSecond) && maxTracesPerSecond > 0 ? maxTracesPerSecond : 0;
    this.#limiter = new RateLimiter(this.maxTracesPerSecond, bucketSize(this.maxTracesPerSecond), options.now);
  }

  shouldSample(
    _context: Context,
    _traceId: string,
    _spanName: string,
    _spanKind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    return this.#limiter.trySpend(1) ? SAMPLED_RESULT : NOT_RECORD_RESULT;
  }

  toString(): string {
    return `RateLimitingSampler{${this.maxTracesPerSecond}}`;
  }
}

/**
 * Jaeger's "guaranteed throughput" sampler: trace-id ratio sampling, plus a
 * lower-bound rate so that a rarely called operation still gets
 * `lowerBoundPerSecond` traces per second. A trace sampled by ratio also
 * spends a lower-bound credit, so the bound is a floor and not an addition.
 */
export class GuaranteedThroughputSampler implements Sampler {
  readonly samplingRate: number;
  readonly lowerBoundPerSecond: number;
  readonly #ratio: TraceIdRatioBasedSampler;
  readonly #lowerBound: RateLimiter;

  constructor(samplingRate: number, lowerBoundPerSecond: number, now?: MillisClock) {
    this.#ratio = new TraceIdRatioBasedSampler(samplingRate);
    this.samplingRate = this.#ratio.ratio;
    this.lowerBoundPerSecond =
      Number.isFinite(lowerBoundPerSecond) && lowerBoundPerSecond > 0 ? lowerBoundPerSecond : 0;
    this.#lowerBound = new RateLimiter(this.lowerBoundPerSecond, bucketSize(this.lowerBoundPerSecond), now);
  }

  shouldSample(
    _context: Context,
    traceId: string,
    _spanName: string,
    _spanKind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    if (this.#ratio.sampleTraceId(traceId)) {
      this.#lowerBound.trySpend(1);
      return SAMPLED_RESULT;
    }
    return this.#lowerBound.trySpend(1) ? SAMPLED_RESULT : NOT_RECORD_RESULT;
  }

  toString(): string {
    return `GuaranteedThroughputSampler{rate=${this.samplingRate}, lowerBound=${this.lowerBoundPerSecond}}`;
  }
}
