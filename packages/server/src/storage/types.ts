/**
 * The backend-neutral storage interface. The embedded DuckDB backend and the
 * ClickHouse backend implement it, and `conformance.ts` defines what correct
 * means for both. Nothing backend-specific appears here: ids are hex strings,
 * times are `bigint` nanoseconds since the Unix epoch, spans are model spans.
 */

import type { Span, SpanBatch } from '@traceloom/model';

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
  getTrace(traceId: string, hint?: TimeRange): Promise<Span[] | undefined>;
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
  /** Deletes every span that started before `cutoffUnixNano`, and frees the disk it used. */
  deleteBefore(cutoffUnixNano: bigint): Promise<RetentionResult>;
  stats(): Promise<StoreStats>;
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
