/**
 * Span metrics (RED): per service, operation, span kind and status code, in
 * 1-minute buckets of span start time, the call count, the error count
 * (status ERROR), the duration sum and a latency histogram.
 *
 * Cardinality is bounded per service: after `maxOperationsPerService`
 * distinct span names, spans of new names are counted under
 * {@link OVERFLOW_OPERATION}, and the number of such spans is reported.
 */

import type { SpanBatch } from '@traceloom/model';
import type { SpanMetricPoint } from '../storage/types.ts';
import { Histogram } from './histogram.ts';

/** The operation that spans of a service past its operation cap are counted under. */
export const OVERFLOW_OPERATION = '__overflow__';

const MINUTE_NS = 60_000_000_000;
const MINUTE_NS_BIG = 60_000_000_000n;
const STATUS_ERROR = 2;

class Series {
  calls = 0;
  errors = 0;
  sum = 0;
  readonly hist = new Histogram();
  readonly minute: number;
  readonly kind: number;
  readonly status: number;
  constructor(minute: number, kind: number, status: number) {
    this.minute = minute;
    this.kind = kind;
    this.status = status;
  }
}

class Operation {
  /** minute * 32 + kind * 4 + status -> series of the current flush period. */
  readonly series = new Map<number, Series>();
}

class ServiceState {
  readonly ops = new Map<string, Operation>();
  overflowSpans = 0;
}

/** Options of {@link SpanMetricsAggregator}. */
export interface SpanMetricsOptions {
  /** Distinct operations kept per service; more go to `__overflow__`. @default 1000 */
  readonly maxOperationsPerService?: number;
}

/** The minute of a start time, exactly, mostly without bigint division. */
export function minuteOf(start: bigint): number {
  const f = Number(start);
  const m = Math.floor(f / MINUTE_NS);
  const rem = f - m * MINUTE_NS;
  // Number() rounds by up to 128 ns at today's epoch; near a minute boundary ask bigint.
  if (rem < 1e4 || rem > MINUTE_NS - 1e4) return Number(start / MINUTE_NS_BIG);
  return m;
}

/**
 * Per span of a batch: the minute of its start and its duration in
 * nanoseconds as numbers. Reading a `BigInt64Array` element allocates a
 * bigint, so the analytics stage converts once for both of its stages.
 */
export interface BatchTimes {
  readonly minute: Float64Array;
  readonly durationNano: Float64Array;
}

/** {@link BatchTimes} of `batch`. */
export function batchTimes(batch: SpanBatch): BatchTimes {
  const n = batch.length;
  const minute = new Float64Array(n);
  const durationNano = new Float64Array(n);
  const start = batch.startUnixNano;
  const dur = batch.durationNano;
  for (let i = 0; i < n; i++) {
    minute[i] = minuteOf(start[i] as bigint);
    durationNano[i] = Number(dur[i] as bigint);
  }
  return { minute, durationNano };
}

/**
 * Accumulates span metrics between two {@link drain}s. Not thread-shared;
 * `add` is synchronous and allocates only for a new series.
 */
export class SpanMetricsAggregator {
  readonly #maxOps: number;
  readonly #services = new Map<string, ServiceState>();
  #spans = 0;

  constructor(options: SpanMetricsOptions = {}) {
    this.#maxOps = options.maxOperationsPerService ?? 1000;
  }

  /** Spans counted since start. */
  get spans(): number {
    return this.#spans;
  }

  /** Per service, spans counted under `__overflow__` since start (only services with any). */
  overflow(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, s] of this.#services) if (s.overflowSpans > 0) out.set(name, s.overflowSpans);
    return out;
  }

  /** Distinct operations per service kept since start (the figure the cap bounds). */
  operationCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, s] of this.#services) out.set(name, s.ops.size);
    return out;
  }

  add(batch: SpanBatch, times: BatchTimes = batchTimes(batch)): void {
    const n = batch.length;
    const minutes = times.minute;
    const durations = times.durationNano;
    this.#spans += n;
    let lastResource = -1;
    let svc: ServiceState | undefined;
    for (let i = 0; i < n; i++) {
      const r = batch.resourceIndex[i] as number;
      if (r !== lastResource || svc === undefined) {
        const name = batch.serviceName[r] as string;
        svc = this.#services.get(name);
        if (svc === undefined) {
          svc = new ServiceState();
          this.#services.set(name, svc);
        }
        lastResource = r;
      }
      let opName = batch.name[i] as string;
      let op = svc.ops.get(opName);
      if (op === undefined) {
        if (svc.ops.size >= this.#maxOps) {
          svc.overflowSpans++;
          opName = OVERFLOW_OPERATION;
          op = svc.ops.get(opName);
        }
        if (op === undefined) {
          op = new Operation();
          svc.ops.set(opName, op);
        }
      }
      const minute = minutes[i] as number;
      const kind = batch.kind[i] as number;
      const status = batch.statusCode[i] as number;
      const key = minute * 32 + (kind & 7) * 4 + (status & 3);
      let s = op.series.get(key);
      if (s === undefined) {
        s = new Series(minute, kind, status);
        op.series.set(key, s);
      }
      const d = durations[i] as number;
      s.calls++;
      if (status === STATUS_ERROR) s.errors++;
      if (d > 0) s.sum += d;
      s.hist.record(d);
    }
  }

  /** The points accumulated since the last drain (1-minute buckets), and a fresh start. */
  drain(): SpanMetricPoint[] {
    const out: SpanMetricPoint[] = [];
    for (const [service, svc] of this.#services) {
      for (const [operation, op] of svc.ops) {
        for (const s of op.series.values()) {
          out.push({
            bucketStartUnixNano: BigInt(s.minute) * MINUTE_NS_BIG,
            service,
            operation,
            spanKind: s.kind,
            statusCode: s.status,
            calls: s.calls,
            errors: s.errors,
            durationSumNano: s.sum,
            latency: s.hist.toData(),
          });
        }
        op.series.clear();
      }
    }
    return out;
  }
}
