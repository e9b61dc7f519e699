/**
 * The backend-neutral query engine: every API family (native, Jaeger, Zipkin,
 * Tempo) is a thin translation over it. It validates what the store must not
 * see malformed (ids, ranges, limits), asks the store, assembles traces into
 * trees and computes their critical paths. It also holds the parsers for the
 * parameter syntaxes the APIs share (trace ids, Go-style durations, times), so
 * that every API reads `150ms` or `now-1h` the same way.
 *
 * Input errors are thrown as {@link QueryInputError} naming the parameter;
 * the APIs answer them with 400.
 */

import {
  type AssembledTrace,
  assembleTrace,
  type CriticalPathSegment,
  criticalPath,
  type Span,
} from '@traceloom/model';
import { EMPTY_HISTOGRAM, Histogram, type HistogramData, histogramQuantiles } from '../pipeline/histogram.ts';
import {
  type AttributeListOptions,
  type EdgeConnectionType,
  type GetTraceOptions,
  type MetricsResolution,
  type Operation,
  QueryInputError,
  type SearchQuery,
  type SearchResult,
  type SpanMetricPoint,
  type TimeRange,
  type TraceStore,
  type TraceSummary,
} from '../storage/types.ts';

/** Largest page a search may ask for (the store interface's bound). */
export const MAX_SEARCH_LIMIT = 10_000;

/** Largest number of entries an attribute key / value list may ask for. */
export const MAX_LIST_LIMIT = 10_000;

/** Largest number of trace ids one summaries request may name. */
export const MAX_SUMMARY_IDS = 1000;

/** The earliest and latest representable instants, for open-ended ranges. */
const MIN_NANO = 0n;
const MAX_NANO = (1n << 63n) - 1n;

/** A trace found by id: the assembled tree and its critical path. */
export interface TraceResult {
  readonly trace: AssembledTrace;
  readonly criticalPath: readonly CriticalPathSegment[];
}

/** Options of a {@link QueryEngine}. */
export interface QueryEngineOptions {
  /**
   * Shift spans of other hosts so that they fit inside their parents (see
   * `assembleTrace`). Turned off, the UI shows the times as received.
   * @default true
   */
  readonly adjustClockSkew?: boolean;
}

/**
 * Runs queries against one {@link TraceStore}.
 *
 * @example
 * const engine = new QueryEngine(store);
 * const found = await engine.trace('4bf92f3577b34da6a3ce929d0e0e4736');
 * if (found) console.log(found.trace.rootName, found.criticalPath.length);
 */
export class QueryEngine {
  readonly store: TraceStore;
  readonly #adjustClockSkew: boolean;

  constructor(store: TraceStore, options: QueryEngineOptions = {}) {
    this.store = store;
    this.#adjustClockSkew = options.adjustClockSkew ?? true;
  }

  /**
   * The trace with id `traceId` (any form {@link normalizeTraceId} accepts),
   * assembled, with its critical path; `undefined` when no span of it is
   * stored. A `hint` that turns out not to contain the trace is not trusted:
   * the trace is then looked up over all time. `options.details: false` lets the store leave
   * attributes, events and links out (see {@link GetTraceOptions}).
   */
  async trace(
    traceId: string,
    hint?: TimeRange,
    parameter = 'traceId',
    options: GetTraceOptions = {},
  ): Promise<TraceResult | undefined> {
    const id = normalizeTraceId(traceId, parameter);
    if (hint !== undefined) checkRange(hint, 'start');
    let spans = await this.store.getTrace(id, hint, options);
    if ((spans === undefined || spans.length === 0) && hint !== undefined) {
      spans = await this.store.getTrace(id, undefined, options);
    }
    if (spans === undefined || spans.length === 0) return undefined;
    return this.assemble(spans);
  }

  /** Assembles spans of one trace and computes its critical path. */
  assemble(spans: readonly Span[]): TraceResult {
    const trace = assembleTrace(spans, { adjustClockSkew: this.#adjustClockSkew });
    return { trace, criticalPath: criticalPath(trace) };
  }

  /** Runs a search after checking its range and limit. */
  search(query: SearchQuery): Promise<SearchResult> {
    checkRange(query.range, 'start');
    checkLimit(query.limit, MAX_SEARCH_LIMIT, 'limit');
    if (
      query.minDurationNano !== undefined &&
      query.maxDurationNano !== undefined &&
      query.minDurationNano > query.maxDurationNano
    ) {
      throw new QueryInputError('maxDuration', 'maxDuration is smaller than minDuration');
    }
    return this.store.search(query);
  }

  /**
   * Summaries of the given traces that are stored, in the given order, ids
   * normalised; duplicates are asked for once.
   */
  summaries(traceIds: readonly string[], parameter = 'traceIds'): Promise<TraceSummary[]> {
    if (traceIds.length > MAX_SUMMARY_IDS) {
      throw new QueryInputError(parameter, `at most ${MAX_SUMMARY_IDS} trace ids per request, got ${traceIds.length}`);
    }
    const ids = [...new Set(traceIds.map((t) => normalizeTraceId(t, parameter)))];
    if (ids.length === 0) return Promise.resolve([]);
    return this.store.traceSummaries(ids);
  }

  /** Service names, sorted. */
  services(): Promise<string[]> {
    return this.store.services();
  }

  /** Operations of a service, sorted by name then kind; empty for an unknown service. */
  operations(service: string): Promise<Operation[]> {
    if (service === '') throw new QueryInputError('service', 'the service name is empty');
    return this.store.operations(service);
  }

  /** Attribute keys seen in a scope, sorted (autocomplete). */
  attributeKeys(scope: 'span' | 'resource', options: AttributeListOptions = {}): Promise<string[]> {
    if (options.limit !== undefined) checkLimit(options.limit, MAX_LIST_LIMIT, 'limit');
    return this.store.attributeKeys(scope, options);
  }

  /**
   * RED series of a service: calls, errors, rate, error ratio and latency
   * percentiles per step (zero-filled), from the span metrics the pipeline
   * computed before sampling. Steps of whole hours read the hourly roll-ups.
   */
  red(query: RedQuery): Promise<RedSeries[]> {
    return redSeries(this.store, query);
  }

  /** The operations of a service over a range with rate, error ratio and p50/p95/p99, busiest first. */
  async operationStats(service: string, range: TimeRange, spanKinds?: readonly number[]): Promise<OperationStats[]> {
    if (service === '') throw new QueryInputError('service', 'the service name is empty');
    checkRange(range, 'start');
    const resolution = tableResolution(range);
    const points = await this.store.spanMetrics({
      range: bucketRange(range, resolution),
      resolutionSeconds: resolution,
      service,
      ...(spanKinds === undefined ? {} : { spanKinds }),
    });
    const accs = new Map<string, { op: string; kind: number; acc: Acc }>();
    for (const p of points) {
      const key = `${p.operation}\u0000${p.spanKind}`;
      let a = accs.get(key);
      if (a === undefined) {
        a = { op: p.operation, kind: p.spanKind, acc: new Acc() };
        accs.set(key, a);
      }
      a.acc.add(p);
    }
    const seconds = rangeSeconds(range);
    return [...accs.values()]
      .map(({ op, kind, acc }) => {
        const [p50, p95, p99] = acc.quantiles();
        return {
          operation: op,
          spanKind: kind,
          calls: acc.calls,
          errors: acc.errors,
          rate: acc.calls / seconds,
          errorRatio: acc.calls === 0 ? 0 : acc.errors / acc.calls,
          p50Nano: p50,
          p95Nano: p95,
          p99Nano: p99,
        };
      })
      .sort(
        (a, b) =>
          b.calls - a.calls ||
          (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : a.spanKind - b.spanKind),
      );
  }

  /**
   * Every service with span metrics in the range: calls, errors, rate, error
   * ratio, p95 and calls per step. Counts entry spans (SERVER and CONSUMER)
   * unless `spanKinds` says otherwise.
   */
  async servicesOverview(
    range: TimeRange,
    stepSeconds: number,
    spanKinds: readonly number[] = [2, 5],
  ): Promise<ServiceOverview[]> {
    checkRange(range, 'start');
    checkStep(stepSeconds, 'step');
    const stepNs = BigInt(stepSeconds) * SEC_NS;
    const first = range.startUnixNano - (range.startUnixNano % stepNs);
    const count = Number((range.endUnixNano - first) / stepNs) + 1;
    if (count > MAX_RED_POINTS)
      throw new QueryInputError('step', `${count} points asked for; at most ${MAX_RED_POINTS}`);
    const points = await this.store.spanMetrics({
      range: { startUnixNano: first, endUnixNano: range.endUnixNano },
      resolutionSeconds: resolutionFor(stepSeconds),
      spanKinds,
      byService: true,
    });
    const by = new Map<string, { acc: Acc; steps: number[] }>();
    for (const p of points) {
      let s = by.get(p.service);
      if (s === undefined) {
        s = { acc: new Acc(), steps: new Array<number>(count).fill(0) };
        by.set(p.service, s);
      }
      s.acc.add(p);
      const i = Number((p.bucketStartUnixNano - first) / stepNs);
      if (i >= 0 && i < count) s.steps[i] = (s.steps[i] as number) + p.calls;
    }
    const seconds = Math.max(1, Number(range.endUnixNano - first) / 1e9);
    return [...by]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([service, { acc, steps }]) => ({
        service,
        calls: acc.calls,
        errors: acc.errors,
        rate: acc.calls / seconds,
        errorRatio: acc.calls === 0 ? 0 : acc.errors / acc.calls,
        p95Nano: acc.quantiles()[1],
        callsPerStep: steps,
      }));
  }

  /** The service graph over a range: nodes and per-edge requests, failures, rate and latency percentiles. */
  async serviceGraph(range: TimeRange): Promise<ServiceGraph> {
    checkRange(range, 'start');
    const resolution = tableResolution(range);
    const points = await this.store.edgeMetrics({
      range: bucketRange(range, resolution),
      resolutionSeconds: resolution,
    });
    const edges = new Map<
      string,
      { first: (typeof points)[number]; req: number; failed: number; c: Histogram; s: Histogram }
    >();
    for (const p of points) {
      const key = `${p.client}\u0000${p.server}\u0000${p.connectionType}`;
      let e = edges.get(key);
      if (e === undefined) {
        e = { first: p, req: 0, failed: 0, c: new Histogram(), s: new Histogram() };
        edges.set(key, e);
      }
      e.req += p.requests;
      e.failed += p.failed;
      e.c.merge(p.clientLatency);
      e.s.merge(p.serverLatency);
    }
    const nodes = new Map<string, GraphNode['type']>();
    const seconds = rangeSeconds(range);
    const out: GraphEdge[] = [];
    for (const { first: p, req, failed, c, s } of edges.values()) {
      if (p.client === 'user' && !nodes.has('user')) nodes.set('user', 'user');
      else if (nodes.get(p.client) !== 'service') nodes.set(p.client, 'service');
      const serverType =
        p.connectionType === 'database' ? 'database' : p.connectionType === 'virtual_node' ? 'virtual' : 'service';
      if (!nodes.has(p.server) || serverType === 'service') nodes.set(p.server, serverType);
      const [c50, c95, c99] = q3(c.toData());
      const [s50, s95, s99] = q3(s.toData());
      out.push({
        client: p.client,
        server: p.server,
        connectionType: p.connectionType,
        requests: req,
        failed,
        rate: req / seconds,
        errorRatio: req === 0 ? 0 : failed / req,
        clientP50Nano: c50,
        clientP95Nano: c95,
        clientP99Nano: c99,
        serverP50Nano: s50,
        serverP95Nano: s95,
        serverP99Nano: s99,
      });
    }
    out.sort((a, b) =>
      a.client < b.client ? -1 : a.client > b.client ? 1 : a.server < b.server ? -1 : a.server > b.server ? 1 : 0,
    );
    return {
      nodes: [...nodes]
        .map(([name, type]) => ({ name, type }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      edges: out,
    };
  }

  /** Values seen for one attribute key, as text, sorted (autocomplete). */
  attributeValues(scope: 'span' | 'resource', key: string, options: AttributeListOptions = {}): Promise<string[]> {
    if (key === '') throw new QueryInputError('key', 'the attribute key is empty');
    if (options.limit !== undefined) checkLimit(options.limit, MAX_LIST_LIMIT, 'limit');
    return this.store.attributeValues(scope, key, options);
  }
}

// ---------------------------------------------------------------------------
// Analytics: RED series, operations, the service graph

/** Longest series a RED query may ask for. */
export const MAX_RED_POINTS = 11_000;

const SEC_NS = 1_000_000_000n;

/** A RED query: the span metrics of one service over a range, in steps. */
export interface RedQuery {
  readonly service: string;
  /** Points start at `range.start` rounded down to a multiple of the step. */
  readonly range: TimeRange;
  /** A multiple of 60 seconds. */
  readonly stepSeconds: number;
  readonly operation?: string;
  /** Only spans of these kinds; all kinds when absent. */
  readonly spanKinds?: readonly number[];
  /** One series per operation instead of one for the service. */
  readonly groupByOperation?: boolean;
  /**
   * Each point covers the `windowSeconds` before its time, `(t - window, t]` as
   * Prometheus' `rate(x[window])` does (Jaeger's `ratePer`), instead of the
   * step that starts at its time. A multiple of 60.
   */
  readonly windowSeconds?: number;
}

/** One point of a RED series. Durations in nanoseconds; `null` where no span was seen. */
export interface RedPoint {
  readonly timeUnixNano: bigint;
  readonly calls: number;
  readonly errors: number;
  /** Calls per second over the point's interval. */
  readonly rate: number;
  /** errors / calls. */
  readonly errorRatio: number | null;
  readonly p50Nano: number | null;
  readonly p95Nano: number | null;
  readonly p99Nano: number | null;
  /** The merged latency histogram, for other quantiles. */
  readonly latency: HistogramData;
}

/** A RED series: of the service, or of one operation. */
export interface RedSeries {
  readonly service: string;
  /** Present when grouped by operation. */
  readonly operation?: string;
  readonly points: readonly RedPoint[];
}

/** One row of the operations table of a service. */
export interface OperationStats {
  readonly operation: string;
  readonly spanKind: number;
  readonly calls: number;
  readonly errors: number;
  readonly rate: number;
  readonly errorRatio: number;
  readonly p50Nano: number | null;
  readonly p95Nano: number | null;
  readonly p99Nano: number | null;
}

/** One service of the services overview. */
export interface ServiceOverview {
  readonly service: string;
  readonly calls: number;
  readonly errors: number;
  readonly rate: number;
  readonly errorRatio: number;
  readonly p95Nano: number | null;
  /** Calls per step over the range (sparkline). */
  readonly callsPerStep: readonly number[];
}

/** A node of the service graph. */
export interface GraphNode {
  readonly name: string;
  /** `service` sends spans; `user`, `database` and `virtual` are inferred. */
  readonly type: 'service' | 'user' | 'database' | 'virtual';
}

/** An edge of the service graph over a range. */
export interface GraphEdge {
  readonly client: string;
  readonly server: string;
  readonly connectionType: EdgeConnectionType;
  readonly requests: number;
  readonly failed: number;
  readonly rate: number;
  readonly errorRatio: number;
  readonly clientP50Nano: number | null;
  readonly clientP95Nano: number | null;
  readonly clientP99Nano: number | null;
  readonly serverP50Nano: number | null;
  readonly serverP95Nano: number | null;
  readonly serverP99Nano: number | null;
}

/** The service graph over a range. */
export interface ServiceGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/**
 * The resolution to read for buckets aligned to `stepSeconds` over `range`:
 * hourly roll-ups when the step is whole hours, or when the range is long and
 * exactness at its edges matters less than speed; else minutes.
 */
function resolutionFor(stepSeconds: number): MetricsResolution {
  return stepSeconds % 3600 === 0 ? 3600 : 60;
}

function checkStep(seconds: number, parameter: string): void {
  if (!Number.isInteger(seconds) || seconds < 60 || seconds % 60 !== 0) {
    throw new QueryInputError(
      parameter,
      `${parameter} must be a whole number of minutes (60s, 5m, 1h), got ${seconds}s`,
    );
  }
}

const Q3 = [0.5, 0.95, 0.99] as const;

function q3(h: HistogramData): [number | null, number | null, number | null] {
  const [a, b, c] = histogramQuantiles(h, Q3);
  return [a ?? null, b ?? null, c ?? null];
}

function rangeSeconds(range: TimeRange): number {
  return Math.max(1, Number(range.endUnixNano - range.startUnixNano) / 1e9);
}

/**
 * Sums points; merges histograms only once a second one arrives, so a step of
 * one stored bucket copies nothing, and reads its precomputed quantiles when
 * the backend kept them (no histogram decoded at all).
 */
class Acc {
  calls = 0;
  errors = 0;
  #first: SpanMetricPoint | undefined = undefined;
  #merged: Histogram | undefined = undefined;
  add(p: SpanMetricPoint): void {
    this.calls += p.calls;
    this.errors += p.errors;
    if (this.#first === undefined) this.#first = p;
    else {
      this.#merged ??= Histogram.from(this.#first.latency);
      this.#merged.merge(p.latency);
    }
  }
  get latency(): HistogramData {
    return this.#merged?.toData() ?? this.#first?.latency ?? EMPTY_HISTOGRAM;
  }
  /** p50, p95, p99 in nanoseconds. */
  quantiles(): [number | null, number | null, number | null] {
    const q = this.#merged === undefined ? this.#first?.quantiles : undefined;
    if (q !== undefined) return [q.p50Nano, q.p95Nano, q.p99Nano];
    return q3(this.latency);
  }
}

/** RED series of a service (see {@link QueryEngine.red}). */
async function redSeries(store: TraceStore, q: RedQuery): Promise<RedSeries[]> {
  if (q.service === '') throw new QueryInputError('service', 'the service name is empty');
  checkRange(q.range, 'start');
  checkStep(q.stepSeconds, 'step');
  const window = q.windowSeconds ?? q.stepSeconds;
  checkStep(window, 'ratePer');
  const stepNs = BigInt(q.stepSeconds) * SEC_NS;
  const first = q.range.startUnixNano - (q.range.startUnixNano % stepNs);
  const count = Number((q.range.endUnixNano - first) / stepNs) + 1;
  if (count > MAX_RED_POINTS) {
    throw new QueryInputError('step', `${count} points asked for; at most ${MAX_RED_POINTS}: use a larger step`);
  }
  const windowed = q.windowSeconds !== undefined;
  const windowNs = BigInt(window) * SEC_NS;
  // A point at t covers [t, t + step), or (t - window, t] when windowed.
  const readFrom = windowed ? first - windowNs : first;
  const readTo = windowed ? first + BigInt(count - 1) * stepNs : first + BigInt(count) * stepNs - 1n;
  const resolution = windowed ? resolutionFor(gcd(q.stepSeconds, window)) : resolutionFor(q.stepSeconds);
  const points = await store.spanMetrics({
    range: { startUnixNano: readFrom < 0n ? 0n : readFrom, endUnixNano: readTo },
    resolutionSeconds: resolution,
    service: q.service,
    ...(q.operation === undefined ? {} : { operation: q.operation }),
    ...(q.spanKinds === undefined ? {} : { spanKinds: q.spanKinds }),
    byService: q.operation === undefined && q.groupByOperation !== true,
  });
  const groups = new Map<string, Acc[]>();
  const accsOf = (key: string): Acc[] => {
    let a = groups.get(key);
    if (a === undefined) {
      a = Array.from({ length: count }, () => new Acc());
      groups.set(key, a);
    }
    return a;
  };
  if (!q.groupByOperation) accsOf('');
  for (const p of points) {
    const accs = accsOf(q.groupByOperation ? p.operation : '');
    if (!windowed) {
      const i = Number((p.bucketStartUnixNano - first) / stepNs);
      if (i >= 0 && i < count) (accs[i] as Acc).add(p);
      continue;
    }
    // A bucket starting at b counts for every point t with t - window <= b < t: t in (b, b + window].
    const b = p.bucketStartUnixNano - first;
    const from = b < 0n ? 0 : Number(b / stepNs) + 1;
    const to = Math.min(count - 1, Number((b + windowNs) / stepNs));
    for (let i = Math.max(0, from); i <= to; i++) (accs[i] as Acc).add(p);
  }
  const seconds = windowed ? window : q.stepSeconds;
  const out: RedSeries[] = [];
  for (const [key, accs] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    out.push({
      service: q.service,
      ...(q.groupByOperation ? { operation: key } : {}),
      points: accs.map((a, i) => {
        const [p50, p95, p99] = a.quantiles();
        return {
          timeUnixNano: first + BigInt(i) * stepNs,
          calls: a.calls,
          errors: a.errors,
          rate: a.calls / seconds,
          errorRatio: a.calls === 0 ? null : a.errors / a.calls,
          p50Nano: p50,
          p95Nano: p95,
          p99Nano: p99,
          // Decoded only when asked for (Jaeger's other quantiles).
          get latency() {
            return a.latency;
          },
        };
      }),
    });
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Long ranges read hourly roll-ups (their edges rounded to the hour), short ones minutes. */
function tableResolution(range: TimeRange): MetricsResolution {
  return range.endUnixNano - range.startUnixNano >= 6n * 3600n * SEC_NS ? 3600 : 60;
}

/** Widens a range to whole buckets of `resolution`. */
function bucketRange(range: TimeRange, resolution: number): TimeRange {
  const r = BigInt(resolution) * SEC_NS;
  return { startUnixNano: range.startUnixNano - (range.startUnixNano % r), endUnixNano: range.endUnixNano };
}

function checkRange(range: TimeRange, parameter: string): void {
  if (range.startUnixNano > range.endUnixNano) {
    throw new QueryInputError(
      parameter,
      `the time range starts (${range.startUnixNano}) after it ends (${range.endUnixNano})`,
    );
  }
}

function checkLimit(limit: number, max: number, parameter: string): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new QueryInputError(parameter, `${parameter} must be an integer from 1 to ${max}, got ${limit}`);
  }
}

// ---------------------------------------------------------------------------
// Parameter syntaxes shared by the APIs

const HEX_RE = /^[0-9a-fA-F]+$/;

/**
 * A trace id as stored: 32 lowercase hex digits. Accepts either case and,
 * as Jaeger does, shorter ids (64-bit ids of Zipkin and old Jaeger clients,
 * or ids printed without leading zeros), left-padded with zeros. Throws a
 * {@link QueryInputError} naming `parameter` for anything else, including the
 * all-zero id, which no valid span carries.
 */
export function normalizeTraceId(text: string, parameter = 'traceId'): string {
  const t = text.trim();
  if (t.length === 0 || t.length > 32 || !HEX_RE.test(t)) {
    throw new QueryInputError(
      parameter,
      `'${clip(text)}' is not a trace id: expected 32 hex digits (or 16, as 64-bit Jaeger and Zipkin ids)`,
    );
  }
  const id = t.toLowerCase().padStart(32, '0');
  if (/^0+$/.test(id)) throw new QueryInputError(parameter, 'the all-zero trace id is invalid');
  return id;
}

const DURATION_UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const DURATION_PART_RE = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * A duration in nanoseconds from Go's `time.ParseDuration` syntax (`150ms`,
 * `1.5s`, `1h30m`, `250us`) or a plain integer of nanoseconds. Negative
 * durations are refused. Throws a {@link QueryInputError} naming `parameter`.
 */
export function parseDurationNano(text: string, parameter: string): bigint {
  const t = text.trim();
  if (/^\d+$/.test(t)) return BigInt(t);
  const bad = () =>
    new QueryInputError(
      parameter,
      `'${clip(text)}' is not a duration: use a Go-style duration such as 150ms, 1.5s, 2m or 1h30m (units ns, us, ms, s, m, h), or an integer of nanoseconds`,
    );
  if (t === '' || t.startsWith('-')) throw bad();
  let total = 0n;
  let pos = t.startsWith('+') ? 1 : 0;
  if (pos === t.length) throw bad();
  while (pos < t.length) {
    DURATION_PART_RE.lastIndex = pos;
    const m = DURATION_PART_RE.exec(t);
    if (m === null) throw bad();
    total += scaleDecimal(m[1]!, DURATION_UNITS[m[2]!]!);
    pos = DURATION_PART_RE.lastIndex;
  }
  return total;
}

/** `decimal * unit`, exact to the nanosecond (fractions of a nanosecond are dropped). */
function scaleDecimal(decimal: string, unit: bigint): bigint {
  const dot = decimal.indexOf('.');
  if (dot < 0) return BigInt(decimal) * unit;
  const whole = decimal.slice(0, dot) || '0';
  const frac = decimal.slice(dot + 1);
  if (frac === '') return BigInt(whole) * unit;
  const scale = 10n ** BigInt(frac.length);
  return BigInt(whole) * unit + (BigInt(frac) * unit) / scale;
}

const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;
const RELATIVE_RE = /^now(?:\s*([+-])\s*(.+))?$/i;

/**
 * An instant in Unix nanoseconds from: an integer of nanoseconds; RFC 3339
 * (`2024-05-01T12:00:00.123456789Z`, `2024-05-01T14:00:00+02:00`); or a time
 * relative to `nowUnixNano`: `now`, `now-1h`, `now-15m`, `now+5m`. Throws a
 * {@link QueryInputError} naming `parameter`.
 */
export function parseTimeNano(text: string, parameter: string, nowUnixNano: bigint): bigint {
  const t = text.trim();
  if (/^\d+$/.test(t)) return BigInt(t);
  const rel = RELATIVE_RE.exec(t);
  if (rel !== null) {
    if (rel[1] === undefined) return nowUnixNano;
    const d = parseDurationNano(rel[2]!, parameter);
    const v = rel[1] === '-' ? nowUnixNano - d : nowUnixNano + d;
    return v < 0n ? 0n : v;
  }
  const m = RFC3339_RE.exec(t);
  if (m !== null) {
    const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    const check = new Date(ms);
    // Date.UTC rolls 2024-02-31 over into March; a date that does not exist is an error.
    if (
      Number.isFinite(ms) &&
      check.getUTCDate() === Number(d) &&
      check.getUTCMonth() === Number(mo) - 1 &&
      Number(h) < 24 &&
      Number(mi) < 60 &&
      Number(s) < 61
    ) {
      let ns = BigInt(ms) * 1_000_000n + (frac === undefined ? 0n : BigInt(frac.padEnd(9, '0')));
      if (sign !== undefined) {
        const offset = (BigInt(oh!) * 60n + BigInt(om!)) * 60_000_000_000n;
        ns = sign === '+' ? ns - offset : ns + offset;
      }
      if (ns >= 0n) return ns;
    }
  }
  throw new QueryInputError(
    parameter,
    `'${clip(text)}' is not a time: use RFC 3339 (2024-05-01T12:00:00Z), an integer of Unix nanoseconds, or now / now-1h`,
  );
}

/**
 * An open-ended time hint from optional `start` / `end` texts (see
 * {@link parseTimeNano}); `undefined` when both are absent.
 */
export function parseTimeHint(
  start: string | undefined,
  end: string | undefined,
  nowUnixNano: bigint,
): TimeRange | undefined {
  if (start === undefined && end === undefined) return undefined;
  const range: TimeRange = {
    startUnixNano: start === undefined ? MIN_NANO : parseTimeNano(start, 'start', nowUnixNano),
    endUnixNano: end === undefined ? MAX_NANO : parseTimeNano(end, 'end', nowUnixNano),
  };
  if (range.startUnixNano > range.endUnixNano) throw new QueryInputError('end', 'end is before start');
  return range;
}

/** The current time in Unix nanoseconds (millisecond resolution). */
export function nowUnixNano(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Span kind names accepted in queries, lower case, with their OTLP numbers. */
export const SPAN_KIND_NAMES: Readonly<Record<string, number>> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};

/** The lower-case name of an OTLP span kind number ('unspecified' for unknown numbers). */
export function spanKindName(kind: number): string {
  switch (kind) {
    case 1:
      return 'internal';
    case 2:
      return 'server';
    case 3:
      return 'client';
    case 4:
      return 'producer';
    case 5:
      return 'consumer';
    default:
      return 'unspecified';
  }
}

/**
 * An OTLP span kind number from a name (`server`, `SPAN_KIND_SERVER`, any
 * case) or a number 0 to 5. Throws a {@link QueryInputError} naming `parameter`.
 */
export function parseSpanKind(text: string, parameter = 'spanKind'): number {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^span_kind_/, '');
  if (/^[0-5]$/.test(t)) return Number(t);
  const n = SPAN_KIND_NAMES[t];
  if (n === undefined) {
    throw new QueryInputError(
      parameter,
      `'${clip(text)}' is not a span kind: use server, client, producer, consumer, internal or unspecified`,
    );
  }
  return n;
}

/** Keeps error messages short when a client sends a huge parameter. */
function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
