import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { context, diag } from '@opentelemetry/api';
import { suppressTracing } from '../context/suppress.ts';
import { GuaranteedThroughputSampler, type MillisClock, RateLimitingSampler } from './rate-limiting.ts';
import { TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler, SamplingResult } from './types.ts';

/**
 * A sampling strategy as a Jaeger-compatible sampling endpoint describes it,
 * normalised (see {@link parseSamplingStrategy}).
 */
export type SamplingStrategy =
  | { readonly type: 'probabilistic'; readonly samplingRate: number }
  | { readonly type: 'rateLimiting'; readonly maxTracesPerSecond: number }
  | {
      readonly type: 'perOperation';
      readonly defaultSamplingProbability: number;
      readonly defaultLowerBoundTracesPerSecond: number;
      readonly operations: ReadonlyArray<{ readonly operation: string; readonly samplingRate: number }>;
    };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// proto3 JSON leaves out fields equal to their zero value, so a missing number is 0.
function numberField(obj: Record<string, unknown>, key: string, where: string): number {
  const value = obj[key];
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where}.${key} is not a number`);
  return value;
}

function rateField(obj: unknown, where: string): number {
  if (obj === undefined || obj === null) return 0;
  if (!isObject(obj)) throw new Error(`${where} is not an object`);
  const rate = numberField(obj, 'samplingRate', where);
  if (rate < 0 || rate > 1) throw new Error(`${where}.samplingRate ${rate} is outside [0, 1]`);
  return rate;
}

function nonNegative(value: number, where: string): number {
  if (value < 0) throw new Error(`${where} ${value} is negative`);
  return value;
}

/**
 * Reads the JSON answer of a Jaeger sampling endpoint (`GET /sampling?service=`
 * on the agent, `/api/sampling?service=` on the collector; the JSON form of
 * jaeger-idl's `SamplingStrategyResponse`). `strategyType` may be the enum name
 * or its number (0 probabilistic, 1 rate limiting) as older agents send it;
 * `operationSampling`, when present, wins as in Jaeger's clients.
 * @throws Error naming the field that is wrong.
 */
export function parseSamplingStrategy(body: unknown): SamplingStrategy {
  if (!isObject(body)) throw new Error('the answer is not a JSON object');
  const ops = body.operationSampling;
  if (ops !== undefined && ops !== null) {
    if (!isObject(ops)) throw new Error('operationSampling is not an object');
    const defaultSamplingProbability = numberField(ops, 'defaultSamplingProbability', 'operationSampling');
    if (defaultSamplingProbability < 0 || defaultSamplingProbability > 1) {
      throw new Error(`operationSampling.defaultSamplingProbability ${defaultSamplingProbability} is outside [0, 1]`);
    }
    const defaultLowerBoundTracesPerSecond = nonNegative(
      numberField(ops, 'defaultLowerBoundTracesPerSecond', 'operationSampling'),
      'operationSampling.defaultLowerBoundTracesPerSecond',
    );
    const list = ops.perOperationStrategies ?? [];
    if (!Array.isArray(list)) throw new Error('operationSampling.perOperationStrategies is not an array');
    const operations: { operation: string; samplingRate: number }[] = [];
    for (let i = 0; i < list.length; i++) {
      const where = `operationSampling.perOperationStrategies[${i}]`;
      const entry: unknown = list[i];
      if (!isObject(entry) || typeof entry.operation !== 'string')
        throw new Error(`${where}.operation is not a string`);
      operations.push({
        operation: entry.operation,
        samplingRate: rateField(entry.probabilisticSampling, `${where}.probabilisticSampling`),
      });
    }
    return { type: 'perOperation', defaultSamplingProbability, defaultLowerBoundTracesPerSecond, operations };
  }

  let type = body.strategyType;
  if (type === undefined || type === null) {
    // The zero value PROBABILISTIC is left out of proto3 JSON; infer it from the payload.
    type = body.rateLimitingSampling != null && body.probabilisticSampling == null ? 'RATE_LIMITING' : 'PROBABILISTIC';
  }
  if (type === 'PROBABILISTIC' || type === 0) {
    return { type: 'probabilistic', samplingRate: rateField(body.probabilisticSampling, 'probabilisticSampling') };
  }
  if (type === 'RATE_LIMITING' || type === 1) {
    const rl = body.rateLimitingSampling;
    if (rl !== undefined && rl !== null && !isObject(rl)) throw new Error('rateLimitingSampling is not an object');
    const max = rl == null ? 0 : numberField(rl, 'maxTracesPerSecond', 'rateLimitingSampling');
    return { type: 'rateLimiting', maxTracesPerSecond: nonNegative(max, 'rateLimitingSampling.maxTracesPerSecond') };
  }
  throw new Error(`unknown strategyType ${JSON.stringify(type)}`);
}

/**
 * Jaeger's per-operation sampler: a guaranteed-throughput sampler (ratio plus
 * lower-bound rate) per span name. Names the strategy does not list get the
 * default probability and lower bound, each with its own bucket, until
 * `maxOperations` names are known; past that, the default ratio alone.
 */
export class PerOperationSampler implements Sampler {
  readonly #byName = new Map<string, Sampler>();
  readonly #fallback: TraceIdRatioBasedSampler;
  readonly #defaultRate: number;
  readonly #lowerBound: number;
  readonly #maxOperations: number;
  readonly #now: MillisClock | undefined;

  constructor(strategy: Extract<SamplingStrategy, { type: 'perOperation' }>, maxOperations = 2000, now?: MillisClock) {
    this.#defaultRate = strategy.defaultSamplingProbability;
    this.#lowerBound = strategy.defaultLowerBoundTracesPerSecond;
    this.#maxOperations = maxOperations;
    this.#now = now;
    this.#fallback = new TraceIdRatioBasedSampler(this.#defaultRate);
    for (const op of strategy.operations) {
      this.#byName.set(op.operation, new GuaranteedThroughputSampler(op.samplingRate, this.#lowerBound, now));
    }
  }

  shouldSample(
    ctx: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    let sampler = this.#byName.get(spanName);
    if (sampler === undefined) {
      if (this.#byName.size < this.#maxOperations) {
        sampler = new GuaranteedThroughputSampler(this.#defaultRate, this.#lowerBound, this.#now);
        this.#byName.set(spanName, sampler);
      } else {
        sampler = this.#fallback;
      }
    }
    return sampler.shouldSample(ctx, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `PerOperationSampler{default=${this.#defaultRate}, lowerBound=${this.#lowerBound}, operations=${this.#byName.size}}`;
  }
}

/** Builds the sampler a strategy describes. */
export function samplerForStrategy(strategy: SamplingStrategy, now?: MillisClock, maxOperations?: number): Sampler {
  switch (strategy.type) {
    case 'probabilistic':
      return new TraceIdRatioBasedSampler(strategy.samplingRate);
    case 'rateLimiting':
      return new RateLimitingSampler(strategy.maxTracesPerSecond, { now });
    case 'perOperation':
      return new PerOperationSampler(strategy, maxOperations, now);
  }
}

/** Options of a {@link JaegerRemoteSampler}. */
export interface JaegerRemoteSamplerOptions {
  /**
   * URL of the sampling endpoint; `?service=NAME` is added. The Jaeger agent
   * serves it at `http://HOST:5778/sampling`, the collector at `http://HOST:14268/api/sampling`.
   */
  endpoint: string;
  /** Service whose strategy is asked for. */
  serviceName: string;
  /** @default 60000 */
  pollingIntervalMs?: number;
  /** Decides until the first good answer. @default TraceIdRatioBasedSampler(0.001), the OTel spec's default */
  initialSampler?: Sampler;
  /** Gives up on a poll after this long. @default 10000, or the polling interval if shorter */
  requestTimeoutMs?: number;
  /** Most span names tracked by a per-operation strategy. @default 2000 */
  maxOperations?: number;
  /** Clock for rate-limiting strategies, in milliseconds. @default performance.now */
  now?: MillisClock;
}

const MAX_TIMER_MS = 2_147_483_647;

/** Defaults of {@link JaegerRemoteSamplerOptions}. */
const REMOTE_DEFAULTS = { pollingIntervalMs: 60_000, requestTimeoutMs: 10_000, initialSamplingRate: 0.001 } as const;

/**
 * Samples by the strategy a Jaeger-compatible sampling endpoint gives for the
 * service, polled every `pollingIntervalMs` (first poll at construction).
 * Until the first good answer it asks `initialSampler`; when a poll fails
 * (HTTP error, bad JSON, unreachable) it keeps the last good strategy. Polls
 * run with tracing suppressed, so instrumented `fetch` records nothing, and the
 * timer is unref'd, so it never keeps the process alive.
 */
export class JaegerRemoteSampler implements Sampler {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #maxOperations: number;
  readonly #now: MillisClock | undefined;
  readonly #abort = new AbortController();
  readonly #timer: ReturnType<typeof setInterval>;
  #current: Sampler;
  #currentKey: string | undefined;
  #inFlight: Promise<boolean> | undefined;
  #failing = false;
  #closed = false;

  constructor(options: JaegerRemoteSamplerOptions) {
    const url = new URL(options.endpoint);
    url.searchParams.set('service', options.serviceName);
    this.#url = url.href;
    const asked = options.pollingIntervalMs;
    // setInterval turns delays past 2^31-1 ms into 1 ms: clamp rather than poll in a loop.
    const interval =
      asked !== undefined && Number.isFinite(asked) && asked > 0
        ? Math.min(asked, MAX_TIMER_MS)
        : REMOTE_DEFAULTS.pollingIntervalMs;
    this.#timeoutMs = Math.min(options.requestTimeoutMs ?? REMOTE_DEFAULTS.requestTimeoutMs, interval);
    this.#maxOperations = options.maxOperations ?? 2000;
    this.#now = options.now;
    this.#current = options.initialSampler ?? new TraceIdRatioBasedSampler(REMOTE_DEFAULTS.initialSamplingRate);
    this.#currentKey = undefined;
    this.#inFlight = undefined;
    this.#timer = setInterval(() => {
      void this.poll();
    }, interval);
    this.#timer.unref();
    void this.poll();
  }

  shouldSample(
    ctx: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    return this.#current.shouldSample(ctx, traceId, spanName, spanKind, attributes, links);
  }

  /** The sampler now deciding: the initial one until a strategy arrives. */
  get currentSampler(): Sampler {
    return this.#current;
  }

  /**
   * Fetches and applies the strategy now (joining a poll already under way).
   * Resolves true when a strategy was applied, false when the poll failed or
   * the sampler is shut down; never rejects.
   */
  poll(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#inFlight ??= this.#pollOnce().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Stops polling and aborts a poll under way; the last strategy keeps deciding. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#abort.abort();
    await this.#inFlight;
  }

  toString(): string {
    return `JaegerRemoteSampler{${this.#current}}`;
  }

  async #pollOnce(): Promise<boolean> {
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]);
      const body = await context.with(suppressTracing(context.active()), async () => {
        const response = await fetch(this.#url, { signal, headers: { accept: 'application/json' } });
        if (!response.ok) {
          await response.body?.cancel();
          throw new Error(`HTTP ${response.status}`);
        }
        return (await response.json()) as unknown;
      });
      if (this.#closed) return false;
      const strategy = parseSamplingStrategy(body);
      const key = JSON.stringify(strategy);
      // An unchanged strategy keeps its sampler, so rate-limit buckets are not refilled by every poll.
      if (key !== this.#currentKey) {
        this.#current = samplerForStrategy(strategy, this.#now, this.#maxOperations);
        this.#currentKey = key;
        diag.debug(`JaegerRemoteSampler: applied ${key}`);
      }
      if (this.#failing) diag.info(`JaegerRemoteSampler: sampling endpoint ${this.#url} answers again`);
      this.#failing = false;
      return true;
    } catch (err) {
      if (this.#closed) return false;
      const message = `JaegerRemoteSampler: polling ${this.#url} failed, keeping ${this.#current}: ${err instanceof Error ? err.message : String(err)}`;
      // Warn once per outage, not once per poll.
      if (this.#failing) diag.debug(message);
      else diag.warn(message);
      this.#failing = true;
      return false;
    }
  }
}
