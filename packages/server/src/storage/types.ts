/**
 * The backend-neutral storage interface. The embedded DuckDB backend and the
 * ClickHouse backend implement it, and `conformance.ts` defines what correct
 * means for both. Nothing backend-specific appears here: ids are hex strings,
 * times are `bigint` nanoseconds since the Unix epoch, spans are model spans.
 */

import type { Span, SpanBatch } from '@traceloom/model';
import { type HistogramData, mergeHistograms } from '../pipeline/histogram.ts';

/** A closed time interval in Unix nanoseconds. */
export interface TimeRange {
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
}

/** Which attributes a condition looks at. `any` matches span or resource attributes. */
export type AttributeScope = 'span' | 'resource' | 'any';

/**
 * How an attribute is compared. `=` and `!=` compare the value's text form
 * (an int64 `200` equals `'200'`, a boolean equals `'true'`); `!=` requires the
 * attribute to be present (as in TraceQL). `<`, `<=`, `>`, `>=` compare numbers
 * and only match int and double attributes. `=~` and `!~` are RE2 regular
 * expressions that must match the whole text form.
 */
export type AttributeOperator = '=' | '!=' | 'exists' | '!exists' | '=~' | '!~' | '<' | '<=' | '>' | '>=';

/** One attribute filter of a search. */
export interface AttributeCondition {
  readonly scope: AttributeScope;
  readonly key: string;
  readonly op: AttributeOperator;
  /** The value to compare with; absent for `exists` / `!exists`; a finite number for the numeric operators. */
  readonly value?: string | number;
}

/** What a search returns first. */
export type SearchSort = 'recent' | 'longest';

/**
 * A trace search.
 *
 * With `match: 'span'` (the default, Jaeger's semantics) one span must satisfy
 * every span-level condition at once: service, operation, span kind, each
 * attribute, the duration bounds and `errorsOnly`. With `match: 'trace'` each
 * condition may be met by a different span of the trace (TraceQL's
 * `{a} && {b}`). In both modes, matching spans must start inside `range`.
 */
export interface SearchQuery {
  readonly range: TimeRange;
  readonly service?: string;
  readonly operation?: string;
  /** OTLP span kind number. */
  readonly spanKind?: number;
  readonly attributes?: readonly AttributeCondition[];
  /** Minimum span duration (inclusive). */
  readonly minDurationNano?: bigint;
  /** Maximum span duration (inclusive). */
  readonly maxDurationNano?: bigint;
  /** Only spans with status ERROR. */
  readonly errorsOnly?: boolean;
  /** @default 'span' */
  readonly match?: 'span' | 'trace';
  /** `recent`: newest trace start first; `longest`: longest trace first. @default 'recent' */
  readonly sort?: SearchSort;
  /** Page size, 1 to 10,000. */
  readonly limit: number;
  /** The `nextCursor` of the previous page, to continue after it. */
  readonly cursor?: string;
}

/** Per-service figures of one trace (the UI's service badges). */
export interface ServiceSpanCount {
  readonly service: string;
  readonly spanCount: number;
  readonly errorCount: number;
}

/** What is known about a trace without reading all of its spans. */
export interface TraceSummary {
  readonly traceId: string;
  /** Service and name of the root span; '' while the root has not arrived. */
  readonly rootServiceName: string;
  readonly rootName: string;
  /** Earliest span start. */
  readonly startUnixNano: bigint;
  /** Latest span end minus earliest span start. */
  readonly durationNano: bigint;
  readonly spanCount: number;
  readonly errorCount: number;
  /** Sorted by service name. */
  readonly services: readonly ServiceSpanCount[];
}

/** One page of search results. */
export interface SearchResult {
  readonly traces: readonly TraceSummary[];
  /** Number of traces matching the query (all pages). */
  readonly total: number;
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** An operation (span name) of a service, with the span kind it was seen with. */
export interface Operation {
  readonly name: string;
  readonly spanKind: number;
}

/** Options for the attribute key and value lists (autocomplete). */
export interface AttributeListOptions {
  /** Only keys seen on spans of this service (or resources of it). */
  readonly service?: string;
  /** Only entries starting with this text. */
  readonly prefix?: string;
  /** @default 100 */
  readonly limit?: number;
}

/** What a retention pass removed. */
export interface RetentionResult {
  readonly deletedSpans: number;
  /** Bytes of disk given back to the file system. */
  readonly freedBytes: number;
}

/** Size figures of a store. */
export interface StoreStats {
  readonly spans: number;
  readonly bytesOnDisk: number;
}

/**
 * Span metrics of one series (service, operation, span kind, status code) in
 * one time bucket, as the pipeline computes them before any sampling.
 */
export interface SpanMetricPoint {
  /** Start of the bucket, a multiple of its resolution. */
  readonly bucketStartUnixNano: bigint;
  readonly service: string;
  /** Span name; `__overflow__` once a service passed its cap on distinct operations. */
  readonly operation: string;
  /** OTLP span kind number. */
  readonly spanKind: number;
  /** OTLP status code number (2 is ERROR). */
  readonly statusCode: number;
  readonly calls: number;
  readonly errors: number;
  /** Sum of the durations, in nanoseconds. */
  readonly durationSumNano: number;
  /** Durations (see `pipeline/histogram.ts`). */
  readonly latency: HistogramData;
  /**
   * p50, p95 and p99 of `latency` (nanoseconds), when the backend kept them
   * with the point: a query whose points are single buckets reads them
   * without decoding histograms.
   */
  readonly quantiles?: LatencyQuantiles;
}

/** Precomputed quantiles of one stored histogram, in nanoseconds; null when it is empty. */
export interface LatencyQuantiles {
  readonly p50Nano: number | null;
  readonly p95Nano: number | null;
  readonly p99Nano: number | null;
}

/**
 * How two nodes of the service graph are connected: `''` a direct call
 * (client and server spans paired), `messaging_system` a producer/consumer
 * pair, `database` / `virtual_node` a client span without a server side,
 * named after its `db.system` / `peer.service` (or `server.address`).
 */
export type EdgeConnectionType = '' | 'messaging_system' | 'database' | 'virtual_node';

/** Requests along one edge of the service graph in one time bucket. */
export interface EdgeMetricPoint {
  readonly bucketStartUnixNano: bigint;
  /** Calling service; `user` for requests into a root server span. */
  readonly client: string;
  /** Called service, or the virtual node (database system, peer service). */
  readonly server: string;
  readonly connectionType: EdgeConnectionType;
  readonly requests: number;
  /** Requests where the client or the server span ended in ERROR. */
  readonly failed: number;
  readonly clientDurationSumNano: number;
  readonly serverDurationSumNano: number;
  /** Client-side durations (empty for `user` edges). */
  readonly clientLatency: HistogramData;
  /** Server-side durations (empty for virtual nodes). */
  readonly serverLatency: HistogramData;
}

/** What the pipeline hands storage at each flush: additions to the 1-minute buckets. */
export interface MetricsBatch {
  readonly spans: readonly SpanMetricPoint[];
  readonly edges: readonly EdgeMetricPoint[];
}

/** Resolutions metrics are kept at: 1-minute buckets and their 1-hour roll-ups. */
export type MetricsResolution = 60 | 3600;

/** A read of span metrics. */
export interface SpanMetricsQuery {
  /** Buckets whose start lies in this range. */
  readonly range: TimeRange;
  readonly resolutionSeconds: MetricsResolution;
  readonly service?: string;
  readonly operation?: string;
  readonly spanKinds?: readonly number[];
  /**
   * One point per service, span kind and bucket, with every operation and
   * status code merged into it (`operation` '' and `statusCode` 0; `errors`
   * still counts the errors). Backends may keep these roll-ups precomputed.
   * Not combined with `operation`.
   */
  readonly byService?: boolean;
}

/** A read of service-graph edges. */
export interface EdgeMetricsQuery {
  readonly range: TimeRange;
  readonly resolutionSeconds: MetricsResolution;
}

/** Options of {@link TraceStore.getTrace}. */
export interface GetTraceOptions {
  /**
   * `false`: only the tree and timing are needed (ids, parent, name, kind, times, status,
   * flags, trace state, resource, scope), so a backend may leave attributes, events and links
   * out (empty) to answer sooner; returning them anyway is also correct. @default true
   */
  readonly details?: boolean;
}

/**
 * A trace store. All methods may be called concurrently; `write` calls are
 * applied in call order.
 */
export interface TraceStore {
  /**
   * Stores a batch. Resolves once the spans are committed (they survive a
   * crash from then on). A store tries its own transient failures again and
   * keeps what it was given meanwhile, so the caller need not keep the batch;
   * it rejects only when closed first (the write-ahead log then replays the
   * spans at the next start). Spans already stored (same trace id and span id)
   * in the recent past are skipped, so a client's retry does not store them
   * twice. `position` is the write-ahead-log sequence number of the batch:
   * a store remembers the highest position it committed, and skips a batch
   * whose position it has already committed (replay after a crash).
   */
  write(batch: SpanBatch, position?: bigint): Promise<void>;
  /** The highest write-ahead-log position committed, 0n when none. */
  committedPosition(): Promise<bigint>;
  /** Commits everything written so far. */
  flush(): Promise<void>;
  /**
   * Every stored span of a trace, in no particular order, or `undefined` when
   * none is stored. `hint` narrows the search to a time range known to
   * contain the trace's spans (from a search result, say).
   */
  getTrace(traceId: string, hint?: TimeRange, options?: GetTraceOptions): Promise<Span[] | undefined>;
  search(query: SearchQuery): Promise<SearchResult>;
  /** Summaries of the given traces that are stored, in the given order. */
  traceSummaries(traceIds: readonly string[]): Promise<TraceSummary[]>;
  /** Service names, sorted. */
  services(): Promise<string[]>;
  /** Operations of a service, sorted by name then kind. */
  operations(service: string): Promise<Operation[]>;
  /** Attribute keys seen in a scope, sorted. */
  attributeKeys(scope: 'span' | 'resource', options?: AttributeListOptions): Promise<string[]>;
  /** Values seen for one attribute key (their text form), sorted. */
  attributeValues(scope: 'span' | 'resource', key: string, options?: AttributeListOptions): Promise<string[]>;
  /** Deletes every span that started before `cutoffUnixNano` (and metric buckets that start before it), and frees the disk it used. */
  deleteBefore(cutoffUnixNano: bigint): Promise<RetentionResult>;
  stats(): Promise<StoreStats>;
  /**
   * Adds the pipeline's metrics to the stored 1-minute buckets and their
   * 1-hour roll-ups (a point whose key and bucket exist is added to it: counts
   * summed, histograms merged). `position` is the highest write-ahead-log
   * position whose spans these metrics include, committed in the same
   * transaction; a batch at or below the committed metrics position is
   * skipped (replay). Resolves once durable.
   */
  writeMetrics(batch: MetricsBatch, position?: bigint): Promise<void>;
  /** The highest write-ahead-log position {@link writeMetrics} committed, 0n when none. */
  metricsPosition(): Promise<bigint>;
  /** Span metric points, one per key and bucket, sorted by bucket, service, operation, kind, status. */
  spanMetrics(query: SpanMetricsQuery): Promise<SpanMetricPoint[]>;
  /** Service-graph points, one per edge and bucket, sorted by bucket, client, server. */
  edgeMetrics(query: EdgeMetricsQuery): Promise<EdgeMetricPoint[]>;
  /** Commits what is pending and releases every resource. */
  close(): Promise<void>;
}

/**
 * A search the store cannot run as asked (an invalid regular expression, say).
 * The API answers it with 400.
 */
export class QueryInputError extends Error {
  override readonly name = 'QueryInputError';
  /** The query parameter at fault. */
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(message);
    this.parameter = parameter;
  }
}

/** A metric point's key without its bucket, for merging. */
export function spanMetricKey(p: SpanMetricPoint): string {
  return `${p.service}\u0000${p.operation}\u0000${p.spanKind}\u0000${p.statusCode}`;
}

/** An edge point's key without its bucket, for merging. */
export function edgeMetricKey(p: EdgeMetricPoint): string {
  return `${p.client}\u0000${p.server}\u0000${p.connectionType}`;
}

/** Orders span metric points as {@link TraceStore.spanMetrics} returns them. */
export function compareSpanMetricPoints(a: SpanMetricPoint, b: SpanMetricPoint): number {
  if (a.bucketStartUnixNano !== b.bucketStartUnixNano) return a.bucketStartUnixNano < b.bucketStartUnixNano ? -1 : 1;
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  if (a.operation !== b.operation) return a.operation < b.operation ? -1 : 1;
  if (a.spanKind !== b.spanKind) return a.spanKind - b.spanKind;
  return a.statusCode - b.statusCode;
}

/** Orders edge points as {@link TraceStore.edgeMetrics} returns them. */
export function compareEdgeMetricPoints(a: EdgeMetricPoint, b: EdgeMetricPoint): number {
  if (a.bucketStartUnixNano !== b.bucketStartUnixNano) return a.bucketStartUnixNano < b.bucketStartUnixNano ? -1 : 1;
  if (a.client !== b.client) return a.client < b.client ? -1 : 1;
  if (a.server !== b.server) return a.server < b.server ? -1 : 1;
  return a.connectionType < b.connectionType ? -1 : a.connectionType > b.connectionType ? 1 : 0;
}

/** `a` and `b` (same key) added together, in `a`'s bucket. */
export function addSpanMetricPoints(a: SpanMetricPoint, b: SpanMetricPoint): SpanMetricPoint {
  return {
    bucketStartUnixNano: a.bucketStartUnixNano,
    service: a.service,
    operation: a.operation,
    spanKind: a.spanKind,
    statusCode: a.statusCode,
    calls: a.calls + b.calls,
    errors: a.errors + b.errors,
    durationSumNano: a.durationSumNano + b.durationSumNano,
    latency: mergeHistograms(a.latency, b.latency),
  };
}

/** `a` and `b` (same edge) added together, in `a`'s bucket. */
export function addEdgeMetricPoints(a: EdgeMetricPoint, b: EdgeMetricPoint): EdgeMetricPoint {
  return {
    ...a,
    requests: a.requests + b.requests,
    failed: a.failed + b.failed,
    clientDurationSumNano: a.clientDurationSumNano + b.clientDurationSumNano,
    serverDurationSumNano: a.serverDurationSumNano + b.serverDurationSumNano,
    clientLatency: mergeHistograms(a.clientLatency, b.clientLatency),
    serverLatency: mergeHistograms(a.serverLatency, b.serverLatency),
  };
}

/** The start of the bucket of `resolutionSeconds` that `t` falls in. */
export function metricBucketStart(t: bigint, resolutionSeconds: number): bigint {
  const r = BigInt(resolutionSeconds) * 1_000_000_000n;
  return t - (((t % r) + r) % r);
}

/** `points` merged per service, span kind and bucket ({@link SpanMetricsQuery.byService}), in query order. */
export function mergeByService(points: readonly SpanMetricPoint[]): SpanMetricPoint[] {
  const merged = new Map<string, SpanMetricPoint>();
  for (const p of points) {
    const key = `${p.bucketStartUnixNano}\u0000${p.service}\u0000${p.spanKind}`;
    const at: SpanMetricPoint =
      p.operation === '' && p.statusCode === 0
        ? p
        : {
            bucketStartUnixNano: p.bucketStartUnixNano,
            service: p.service,
            operation: '',
            spanKind: p.spanKind,
            statusCode: 0,
            calls: p.calls,
            errors: p.errors,
            durationSumNano: p.durationSumNano,
            latency: p.latency,
          };
    const cur = merged.get(key);
    merged.set(key, cur === undefined ? at : addSpanMetricPoints(cur, at));
  }
  return [...merged.values()].sort(compareSpanMetricPoints);
}
