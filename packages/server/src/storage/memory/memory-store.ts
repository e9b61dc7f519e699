/**
 * The reference storage backend: every span in plain maps, every query a scan.
 * It is written to be obviously correct rather than fast, so that it can stand
 * as the executable reading of `types.ts` next to the conformance suite, and
 * serve API tests that need a store without a database.
 */

import { type AnyValue, getAttribute, type KeyValue, type Span, type SpanBatch, serviceNameOf } from '@traceloom/model';
import { attributeText } from '../internal/attr-text.ts';
import { type CursorPosition, decodeCursor, encodeCursor, isAfterCursor } from '../internal/cursor.ts';
import {
  type AttributeCondition,
  type AttributeListOptions,
  addEdgeMetricPoints,
  addSpanMetricPoints,
  compareEdgeMetricPoints,
  compareSpanMetricPoints,
  type EdgeMetricPoint,
  type EdgeMetricsQuery,
  edgeMetricKey,
  type GetTraceOptions,
  type MetricsBatch,
  mergeByService,
  metricBucketStart,
  type Operation,
  QueryInputError,
  type RetentionResult,
  type SearchQuery,
  type SearchResult,
  type ServiceSpanCount,
  type SpanMetricPoint,
  type SpanMetricsQuery,
  type StoreStats,
  spanMetricKey,
  type TimeRange,
  type TraceStore,
  type TraceSummary,
} from '../types.ts';

const STATUS_ERROR = 2;
const MAX_LIMIT = 10_000;
const DEFAULT_LIST_LIMIT = 100;

interface MemoryState {
  /** trace id -> span id -> span (first delivery wins). */
  readonly traces: Map<string, Map<string, Span>>;
  committed: bigint;
  /** Resolution -> bucket and key -> point. */
  readonly spanMetrics: Map<number, Map<string, SpanMetricPoint>>;
  readonly edgeMetrics: Map<number, Map<string, EdgeMetricPoint>>;
  metricsCommitted: bigint;
}

const RESOLUTIONS = [60, 3600] as const;

type SpanPredicate = (span: Span) => boolean;

/**
 * An in-memory {@link TraceStore}. Nothing survives the process; `close()`
 * followed by {@link MemoryStore.reopen} stands in for a restart in tests.
 * Spans are deduplicated by trace id and span id for as long as they are kept.
 * The time hint of `getTrace` is ignored (the whole trace is always found).
 *
 * @example
 * const store = new MemoryStore();
 * await store.write(SpanBatch.from(spans));
 * const trace = await store.getTrace(spans[0].traceId);
 */
export class MemoryStore implements TraceStore {
  #state: MemoryState = {
    traces: new Map(),
    committed: 0n,
    spanMetrics: new Map(RESOLUTIONS.map((r) => [r, new Map()])),
    edgeMetrics: new Map(RESOLUTIONS.map((r) => [r, new Map()])),
    metricsCommitted: 0n,
  };
  #closed = false;

  /**
   * A new open store over this closed store's data, as a restarted process
   * would find its data folder. For tests of restart behaviour.
   */
  reopen(): MemoryStore {
    if (!this.#closed) throw new Error('MemoryStore.reopen: close the store first');
    const next = new MemoryStore();
    next.#state = this.#state;
    return next;
  }

  async write(batch: SpanBatch, position?: bigint): Promise<void> {
    this.#checkOpen();
    const state = this.#state;
    if (position !== undefined && position <= state.committed) return;
    for (const span of batch.spans) {
      let spans = state.traces.get(span.traceId);
      if (spans === undefined) {
        spans = new Map();
        state.traces.set(span.traceId, spans);
      }
      if (!spans.has(span.spanId)) spans.set(span.spanId, span);
    }
    if (position !== undefined) state.committed = position;
  }

  async committedPosition(): Promise<bigint> {
    this.#checkOpen();
    return this.#state.committed;
  }

  async flush(): Promise<void> {
    this.#checkOpen();
  }

  /** Always returns the details (`options.details: false` is only an allowance). */
  async getTrace(traceId: string, _hint?: TimeRange, _options?: GetTraceOptions): Promise<Span[] | undefined> {
    this.#checkOpen();
    const spans = this.#state.traces.get(traceId);
    return spans === undefined ? undefined : [...spans.values()];
  }

  async search(query: SearchQuery): Promise<SearchResult> {
    this.#checkOpen();
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new QueryInputError('limit', `limit must be an integer from 1 to ${MAX_LIMIT}, got ${limit}`);
    }
    const predicates = compileQuery(query);
    const after: CursorPosition | undefined = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const { startUnixNano: from, endUnixNano: to } = query.range;
    const matchAll = query.match !== 'trace';

    const matched: TraceSummary[] = [];
    for (const [traceId, spanMap] of this.#state.traces) {
      const inRange = [...spanMap.values()].filter((s) => s.startTimeUnixNano >= from && s.startTimeUnixNano <= to);
      if (inRange.length === 0) continue;
      const ok = matchAll
        ? inRange.some((s) => predicates.every((p) => p(s)))
        : predicates.every((p) => inRange.some((s) => p(s)));
      if (ok) matched.push(summarize(traceId, [...spanMap.values()]));
    }

    const keyOf = query.sort === 'longest' ? (t: TraceSummary) => t.durationNano : (t: TraceSummary) => t.startUnixNano;
    matched.sort((a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      if (ka !== kb) return ka > kb ? -1 : 1;
      return a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
    });
    const rest = after === undefined ? matched : matched.filter((t) => isAfterCursor(keyOf(t), t.traceId, after));
    const page = rest.slice(0, limit);
    const last = page[page.length - 1];
    const result: SearchResult = { traces: page, total: matched.length };
    if (rest.length > limit && last !== undefined) {
      return { ...result, nextCursor: encodeCursor({ sortKey: keyOf(last), traceId: last.traceId }) };
    }
    return result;
  }

  async traceSummaries(traceIds: readonly string[]): Promise<TraceSummary[]> {
    this.#checkOpen();
    const out: TraceSummary[] = [];
    for (const id of traceIds) {
      const spans = this.#state.traces.get(id);
      if (spans !== undefined) out.push(summarize(id, [...spans.values()]));
    }
    return out;
  }

  async services(): Promise<string[]> {
    this.#checkOpen();
    const names = new Set<string>();
    for (const span of this.#allSpans()) names.add(serviceNameOf(span.resource));
    return [...names].sort(compareText);
  }

  async operations(service: string): Promise<Operation[]> {
    this.#checkOpen();
    const seen = new Map<string, Operation>();
    for (const span of this.#allSpans()) {
      if (serviceNameOf(span.resource) !== service) continue;
      seen.set(JSON.stringify([span.name, span.kind]), { name: span.name, spanKind: span.kind });
    }
    return [...seen.values()].sort((a, b) => compareText(a.name, b.name) || a.spanKind - b.spanKind);
  }

  async attributeKeys(scope: 'span' | 'resource', options: AttributeListOptions = {}): Promise<string[]> {
    this.#checkOpen();
    const keys = new Set<string>();
    for (const kv of this.#attributes(scope, options.service)) keys.add(kv.key);
    return listPage(keys, options);
  }

  async attributeValues(
    scope: 'span' | 'resource',
    key: string,
    options: AttributeListOptions = {},
  ): Promise<string[]> {
    this.#checkOpen();
    const values = new Set<string>();
    for (const kv of this.#attributes(scope, options.service)) if (kv.key === key) values.add(attributeText(kv.value));
    return listPage(values, options);
  }

  async deleteBefore(cutoffUnixNano: bigint): Promise<RetentionResult> {
    this.#checkOpen();
    let deletedSpans = 0;
    for (const [traceId, spans] of this.#state.traces) {
      for (const [spanId, span] of spans) {
        if (span.startTimeUnixNano < cutoffUnixNano) {
          spans.delete(spanId);
          deletedSpans++;
        }
      }
      if (spans.size === 0) this.#state.traces.delete(traceId);
    }
    for (const points of [...this.#state.spanMetrics.values(), ...this.#state.edgeMetrics.values()]) {
      for (const [key, p] of points) if (p.bucketStartUnixNano < cutoffUnixNano) points.delete(key);
    }
    return { deletedSpans, freedBytes: 0 };
  }

  async stats(): Promise<StoreStats> {
    this.#checkOpen();
    let spans = 0;
    for (const t of this.#state.traces.values()) spans += t.size;
    return { spans, bytesOnDisk: 0 };
  }

  async writeMetrics(batch: MetricsBatch, position?: bigint): Promise<void> {
    this.#checkOpen();
    const state = this.#state;
    if (position !== undefined && position <= state.metricsCommitted) return;
    for (const res of RESOLUTIONS) {
      const spans = state.spanMetrics.get(res) as Map<string, SpanMetricPoint>;
      for (const p of batch.spans) {
        const bucket = metricBucketStart(p.bucketStartUnixNano, res);
        const key = `${bucket}\u0000${spanMetricKey(p)}`;
        const at = { ...p, bucketStartUnixNano: bucket };
        const cur = spans.get(key);
        spans.set(key, cur === undefined ? at : addSpanMetricPoints(cur, at));
      }
      const edges = state.edgeMetrics.get(res) as Map<string, EdgeMetricPoint>;
      for (const p of batch.edges) {
        const bucket = metricBucketStart(p.bucketStartUnixNano, res);
        const key = `${bucket}\u0000${edgeMetricKey(p)}`;
        const at = { ...p, bucketStartUnixNano: bucket };
        const cur = edges.get(key);
        edges.set(key, cur === undefined ? at : addEdgeMetricPoints(cur, at));
      }
    }
    if (position !== undefined) state.metricsCommitted = position;
  }

  async metricsPosition(): Promise<bigint> {
    this.#checkOpen();
    return this.#state.metricsCommitted;
  }

  async spanMetrics(q: SpanMetricsQuery): Promise<SpanMetricPoint[]> {
    this.#checkOpen();
    const out: SpanMetricPoint[] = [];
    for (const p of this.#state.spanMetrics.get(q.resolutionSeconds)?.values() ?? []) {
      if (p.bucketStartUnixNano < q.range.startUnixNano || p.bucketStartUnixNano > q.range.endUnixNano) continue;
      if (q.service !== undefined && p.service !== q.service) continue;
      if (q.operation !== undefined && p.operation !== q.operation) continue;
      if (q.spanKinds !== undefined && !q.spanKinds.includes(p.spanKind)) continue;
      out.push(p);
    }
    return q.byService === true ? mergeByService(out) : out.sort(compareSpanMetricPoints);
  }

  async edgeMetrics(q: EdgeMetricsQuery): Promise<EdgeMetricPoint[]> {
    this.#checkOpen();
    const out: EdgeMetricPoint[] = [];
    for (const p of this.#state.edgeMetrics.get(q.resolutionSeconds)?.values() ?? []) {
      if (p.bucketStartUnixNano < q.range.startUnixNano || p.bucketStartUnixNano > q.range.endUnixNano) continue;
      out.push(p);
    }
    return out.sort(compareEdgeMetricPoints);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('MemoryStore is closed');
  }

  *#allSpans(): Iterable<Span> {
    for (const spans of this.#state.traces.values()) yield* spans.values();
  }

  *#attributes(scope: 'span' | 'resource', service: string | undefined): Iterable<KeyValue> {
    for (const span of this.#allSpans()) {
      if (service !== undefined && serviceNameOf(span.resource) !== service) continue;
      yield* scope === 'span' ? span.attributes : span.resource.attributes;
    }
  }
}

// Plain code-unit order; the conformance data is ASCII, where this equals the
// byte order databases use.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function listPage(entries: Set<string>, options: AttributeListOptions): string[] {
  const prefix = options.prefix ?? '';
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  return [...entries]
    .filter((e) => e.startsWith(prefix))
    .sort(compareText)
    .slice(0, limit);
}

/** The summary of a trace from all of its stored spans. */
function summarize(traceId: string, spans: readonly Span[]): TraceSummary {
  let start: bigint | undefined;
  let end: bigint | undefined;
  let root: Span | undefined;
  let errorCount = 0;
  const perService = new Map<string, { spanCount: number; errorCount: number }>();
  for (const s of spans) {
    if (start === undefined || s.startTimeUnixNano < start) start = s.startTimeUnixNano;
    if (end === undefined || s.endTimeUnixNano > end) end = s.endTimeUnixNano;
    // Several roots are possible (broken instrumentation); the earliest is the root.
    if (
      s.parentSpanId === '' &&
      (root === undefined ||
        s.startTimeUnixNano < root.startTimeUnixNano ||
        (s.startTimeUnixNano === root.startTimeUnixNano && s.spanId < root.spanId))
    ) {
      root = s;
    }
    const isError = s.status.code === STATUS_ERROR;
    if (isError) errorCount++;
    const service = serviceNameOf(s.resource);
    const counts = perService.get(service) ?? { spanCount: 0, errorCount: 0 };
    counts.spanCount++;
    if (isError) counts.errorCount++;
    perService.set(service, counts);
  }
  const services: ServiceSpanCount[] = [...perService]
    .map(([service, c]) => ({ service, spanCount: c.spanCount, errorCount: c.errorCount }))
    .sort((a, b) => compareText(a.service, b.service));
  const startUnixNano = start ?? 0n;
  return {
    traceId,
    rootServiceName: root === undefined ? '' : serviceNameOf(root.resource),
    rootName: root === undefined ? '' : root.name,
    startUnixNano,
    durationNano: (end ?? 0n) - startUnixNano,
    spanCount: spans.length,
    errorCount,
    services,
  };
}

/** One predicate per span-level condition of the query. */
function compileQuery(query: SearchQuery): SpanPredicate[] {
  const out: SpanPredicate[] = [];
  const { service, operation, spanKind, minDurationNano, maxDurationNano } = query;
  if (service !== undefined) out.push((s) => serviceNameOf(s.resource) === service);
  if (operation !== undefined) out.push((s) => s.name === operation);
  if (spanKind !== undefined) out.push((s) => s.kind === spanKind);
  for (const c of query.attributes ?? []) out.push(compileCondition(c));
  if (minDurationNano !== undefined) out.push((s) => s.endTimeUnixNano - s.startTimeUnixNano >= minDurationNano);
  if (maxDurationNano !== undefined) out.push((s) => s.endTimeUnixNano - s.startTimeUnixNano <= maxDurationNano);
  if (query.errorsOnly === true) out.push((s) => s.status.code === STATUS_ERROR);
  return out;
}

function compileCondition(c: AttributeCondition): SpanPredicate {
  // A repeated key reads as its first occurrence, as getAttribute does.
  const lookup = (s: Span, scope: 'span' | 'resource'): AnyValue | undefined =>
    getAttribute(scope === 'span' ? s.attributes : s.resource.attributes, c.key);
  const test = compileValueTest(c);
  if (c.op === '!exists') {
    if (c.scope === 'any') return (s) => lookup(s, 'span') === undefined && lookup(s, 'resource') === undefined;
    const scope = c.scope;
    return (s) => lookup(s, scope) === undefined;
  }
  const holds = (v: AnyValue | undefined): boolean => v !== undefined && test(v);
  if (c.scope === 'any') return (s) => holds(lookup(s, 'span')) || holds(lookup(s, 'resource'));
  const scope = c.scope;
  return (s) => holds(lookup(s, scope));
}

/** The test a present value must pass. */
function compileValueTest(c: AttributeCondition): (v: AnyValue) => boolean {
  const fail = (why: string): never => {
    throw new QueryInputError('attributes', `attribute condition on "${c.key}" (${c.op}): ${why}`);
  };
  switch (c.op) {
    case 'exists':
    case '!exists':
      return () => true;
    case '=':
    case '!=': {
      if (c.value === undefined) fail('a value is required');
      const want = typeof c.value === 'number' ? attributeText(c.value) : (c.value as string);
      return c.op === '=' ? (v) => attributeText(v) === want : (v) => attributeText(v) !== want;
    }
    case '=~':
    case '!~': {
      if (c.value === undefined) fail('a regular expression is required');
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${String(c.value)})$`);
      } catch (e) {
        return fail(`invalid regular expression: ${(e as Error).message}`);
      }
      return c.op === '=~' ? (v) => re.test(attributeText(v)) : (v) => !re.test(attributeText(v));
    }
    default: {
      const n = typeof c.value === 'number' ? c.value : Number(c.value);
      if (c.value === undefined || c.value === '' || !Number.isFinite(n)) fail('a finite number is required');
      const cmp = numericCompare(c.op);
      return (v) => (typeof v === 'bigint' || typeof v === 'number') && cmp(v, n);
    }
  }
}

function numericCompare(op: '<' | '<=' | '>' | '>='): (v: bigint | number, n: number) => boolean {
  // bigint and number compare exactly in JS, so int64 values beyond 2^53 are not rounded.
  switch (op) {
    case '<':
      return (v, n) => v < n;
    case '<=':
      return (v, n) => v <= n;
    case '>':
      return (v, n) => v > n;
    case '>=':
      return (v, n) => v >= n;
  }
}
