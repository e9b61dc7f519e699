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
import {
  type AttributeListOptions,
  type Operation,
  QueryInputError,
  type SearchQuery,
  type SearchResult,
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
   * the trace is then looked up over all time.
   */
  async trace(traceId: string, hint?: TimeRange, parameter = 'traceId'): Promise<TraceResult | undefined> {
    const id = normalizeTraceId(traceId, parameter);
    if (hint !== undefined) checkRange(hint, 'start');
    let spans = await this.store.getTrace(id, hint);
    if ((spans === undefined || spans.length === 0) && hint !== undefined) spans = await this.store.getTrace(id);
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

  /** Values seen for one attribute key, as text, sorted (autocomplete). */
  attributeValues(scope: 'span' | 'resource', key: string, options: AttributeListOptions = {}): Promise<string[]> {
    if (key === '') throw new QueryInputError('key', 'the attribute key is empty');
    if (options.limit !== undefined) checkLimit(options.limit, MAX_LIST_LIMIT, 'limit');
    return this.store.attributeValues(scope, key, options);
  }
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
