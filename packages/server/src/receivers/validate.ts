/**
 * The id checks every receiver applies before a span enters the pipeline.
 * A span whose ids cannot identify it (bad or all-zero trace/span id, a parent
 * id that is not a span id) can never be stored or linked, so it is dropped
 * here and counted, and the rest of the request goes on.
 */

import { isValidSpanId, isValidTraceId, isZeroHex, type Span } from '@traceloom/model';

/** Why a span was dropped. */
export const RejectReason = {
  TRACE_ID: 'invalid trace id (must be 16 non-zero bytes)',
  SPAN_ID: 'invalid span id (must be 8 non-zero bytes)',
  PARENT_SPAN_ID: 'invalid parent span id (must be empty or 8 bytes)',
} as const;
/** A value of {@link RejectReason}. */
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** The result of {@link partitionSpans}. */
export interface SpanPartition {
  /** The spans that may go on, in request order. */
  readonly accepted: readonly Span[];
  /** How many were dropped. */
  readonly rejected: number;
  /**
   * '' when none was dropped; otherwise how many, why, and where the first of
   * each reason is, e.g. `2 spans rejected: 2 with invalid trace id (must be 16
   * non-zero bytes), first at resourceSpans[0].scopeSpans[0].spans[3] ("GET /")`.
   */
  readonly message: string;
}

/** Names the place of span `index` of the decoded list in the request. */
export type SpanLocator = (spans: readonly Span[], index: number) => string;

function reasonOf(s: Span): RejectReason | undefined {
  if (!isValidTraceId(s.traceId)) return RejectReason.TRACE_ID;
  if (!isValidSpanId(s.spanId)) return RejectReason.SPAN_ID;
  const p = s.parentSpanId;
  if (p !== '' && !isValidSpanId(p) && !(p.length === 16 && isZeroHex(p))) return RejectReason.PARENT_SPAN_ID;
  return undefined;
}

/**
 * Splits decoded spans into the ones the pipeline can take and the ones it
 * cannot. An all-zero parent span id (what Jaeger and some Zipkin clients send
 * for a root) is accepted and normalised to '' (the model's root marker).
 * Returns `spans` itself when every span is fine.
 */
export function partitionSpans(spans: readonly Span[], locate: SpanLocator): SpanPartition {
  let accepted: Span[] | undefined;
  let rejected = 0;
  let firsts: Map<RejectReason, { index: number; count: number }> | undefined;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    const reason = reasonOf(s);
    if (reason === undefined) {
      if (s.parentSpanId.length === 16 && isZeroHex(s.parentSpanId)) {
        accepted ??= spans.slice(0, i);
        accepted.push({ ...s, parentSpanId: '' });
      } else accepted?.push(s);
      continue;
    }
    accepted ??= spans.slice(0, i);
    rejected++;
    firsts ??= new Map();
    const f = firsts.get(reason);
    if (f === undefined) firsts.set(reason, { index: i, count: 1 });
    else f.count++;
  }
  if (firsts === undefined) return { accepted: accepted ?? spans, rejected: 0, message: '' };
  const parts: string[] = [];
  for (const [reason, f] of firsts) {
    const s = spans[f.index] as Span;
    parts.push(`${f.count} with ${reason}, first at ${locate(spans, f.index)} (${JSON.stringify(s.name)})`);
  }
  return {
    accepted: accepted ?? [],
    rejected,
    message: `${rejected} span${rejected === 1 ? '' : 's'} rejected: ${parts.join('; ')}`,
  };
}

/**
 * Locates a span in an OTLP request as `resourceSpans[i].scopeSpans[j].spans[k]`.
 * The decoder shares one resource / scope object per `ResourceSpans` /
 * `ScopeSpans`, so a change of identity marks a new entry. Entries without
 * spans leave no trace in the decoded list and are not counted.
 */
export const otlpLocator: SpanLocator = (spans, index) => {
  let r = 0;
  let sc = 0;
  let k = 0;
  for (let i = 1; i <= index; i++) {
    const prev = spans[i - 1] as Span;
    const cur = spans[i] as Span;
    if (cur.resource !== prev.resource) {
      r++;
      sc = 0;
      k = 0;
    } else if (cur.scope !== prev.scope) {
      sc++;
      k = 0;
    } else k++;
  }
  return `resourceSpans[${r}].scopeSpans[${sc}].spans[${k}]`;
};

/** Locates a span of a flat list, as `<prefix>[i]` (`spans[3]`). */
export function listLocator(prefix: string): SpanLocator {
  return (_spans, index) => `${prefix}[${index}]`;
}
