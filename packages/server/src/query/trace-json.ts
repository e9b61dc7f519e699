/**
 * The JSON views the native API sends to the UI: an assembled trace and a
 * trace summary. Everything is JSON-safe without a replacer: ids are hex,
 * nanosecond times are decimal strings (JSON numbers lose precision past
 * 2^53 ns, about 104 days after 1970) with microsecond numbers beside them
 * for drawing, int64 attribute values are decimal strings and bytes base64.
 * Resources and scopes are listed once per trace and referenced by index,
 * because every span of a service repeats the same ones.
 */

import type {
  AttributeJson,
  EventJson,
  InstrumentationScope,
  LinkJson,
  Resource,
  ResourceJson,
  ScopeJson,
  ServiceCountJson,
  TraceNode,
} from '@traceloom/model';
import {
  attributesToJson,
  eventToJson,
  JsonTable,
  linkToJson,
  micros,
  resourceToJson,
  StatusCode,
  scopeToJson,
} from '@traceloom/model';
import type { ServiceSpanCount, TraceSummary } from '../storage/types.ts';
import { spanKindName, type TraceResult } from './engine.ts';

export type {
  AttributeJson,
  AttributeType,
  EventJson,
  LinkJson,
  ResourceJson,
  ScopeJson,
  ServiceCountJson,
  TraceCompactJson,
  ValueJson,
} from '@traceloom/model';
export { attributesToJson, traceToCompactJson, valueToJson } from '@traceloom/model';

/**
 * One span with its place in the tree. Times are clock-skew adjusted: the
 * time the span reported is `startUnixNano - skewNano`.
 */
export interface SpanJson {
  /** Position in {@link TraceJson.spans} (depth-first display order). */
  readonly index: number;
  readonly spanId: string;
  /** '' for a span that names no parent. */
  readonly parentSpanId: string;
  /** Index of the parent in {@link TraceJson.spans}; -1 for roots and orphans. */
  readonly parentIndex: number;
  readonly children: readonly number[];
  readonly depth: number;
  /** The span names a parent that is not in the trace (or closed a parent cycle). */
  readonly orphan: boolean;
  readonly name: string;
  /** OTLP span kind number. */
  readonly kind: number;
  /** `server`, `client`, `producer`, `consumer`, `internal` or `unspecified`. */
  readonly kindName: string;
  readonly serviceName: string;
  /** Index into {@link TraceJson.resources}. */
  readonly resourceIndex: number;
  /** Index into {@link TraceJson.scopes}. */
  readonly scopeIndex: number;
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly durationNano: string;
  /** Unix microseconds (whole). */
  readonly startMicros: number;
  /** Microseconds, with fractions. */
  readonly durationMicros: number;
  /** Shift applied by clock-skew adjustment, signed decimal ns; '0' when none. */
  readonly skewNano: string;
  /** Duration not covered by children, ns. */
  readonly selfTimeNano: string;
  readonly selfTimeMicros: number;
  readonly status: { readonly code: number; readonly codeName: 'unset' | 'ok' | 'error'; readonly message: string };
  readonly traceState: string;
  readonly flags: number;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
  readonly events: readonly EventJson[];
  readonly droppedEventsCount: number;
  readonly links: readonly LinkJson[];
  readonly droppedLinksCount: number;
  /** Repairs made to this span (skew, duplicates, cycles). */
  readonly warnings: readonly string[];
  /** At least part of this span lies on the critical path. */
  readonly onCriticalPath: boolean;
}

/** A stretch of the critical path. */
export interface CriticalPathSegmentJson {
  readonly spanId: string;
  /** Index into {@link TraceJson.spans}. */
  readonly index: number;
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly startMicros: number;
  readonly durationMicros: number;
}

/** The JSON view of an assembled trace. */
export interface TraceJson {
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootName: string;
  readonly startUnixNano: string;
  readonly endUnixNano: string;
  readonly durationNano: string;
  /** RFC 3339 with microseconds, UTC. */
  readonly startTime: string;
  readonly startMicros: number;
  readonly durationMicros: number;
  readonly spanCount: number;
  readonly errorCount: number;
  /** Maximum depth plus one. */
  readonly depth: number;
  readonly orphanCount: number;
  readonly duplicatesRemoved: number;
  readonly warningCount: number;
  /** Warnings about the trace as a whole. */
  readonly warnings: readonly string[];
  /** Sorted by service name. */
  readonly services: readonly ServiceCountJson[];
  /** Indexes of the root spans: true roots first, then orphans. */
  readonly roots: readonly number[];
  readonly resources: readonly ResourceJson[];
  readonly scopes: readonly ScopeJson[];
  readonly spans: readonly SpanJson[];
  readonly criticalPath: readonly CriticalPathSegmentJson[];
}

/** The JSON view of a trace summary (search results). */
export interface TraceSummaryJson {
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootName: string;
  readonly startUnixNano: string;
  /** RFC 3339 with microseconds, UTC. */
  readonly startTime: string;
  readonly startMicros: number;
  readonly durationNano: string;
  readonly durationMicros: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly services: readonly ServiceCountJson[];
}

/** The JSON view of an assembled trace and its critical path. */
export function traceToJson(result: TraceResult): TraceJson {
  const { trace, criticalPath } = result;
  const resources = new JsonTable<Resource, ResourceJson>(resourceToJson);
  const scopes = new JsonTable<InstrumentationScope, ScopeJson>(scopeToJson);
  const onPath = new Uint8Array(trace.nodes.length);
  for (const seg of criticalPath) onPath[seg.index] = 1;
  const perService = new Map<string, { spanCount: number; errorCount: number }>();
  const spans: SpanJson[] = new Array<SpanJson>(trace.nodes.length);
  for (let i = 0; i < trace.nodes.length; i++) {
    const node = trace.nodes[i]!;
    const resourceIndex = resources.indexOf(node.span.resource);
    const serviceName = resources.rows[resourceIndex]!.serviceName;
    const isError = node.span.status.code === StatusCode.ERROR;
    const counts = perService.get(serviceName);
    if (counts === undefined) perService.set(serviceName, { spanCount: 1, errorCount: isError ? 1 : 0 });
    else {
      counts.spanCount++;
      if (isError) counts.errorCount++;
    }
    spans[i] = nodeToJson(node, resourceIndex, scopes.indexOf(node.span.scope), serviceName, onPath[i] === 1);
  }
  const services = [...perService]
    .map(([service, c]) => ({ service, spanCount: c.spanCount, errorCount: c.errorCount }))
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return {
    traceId: trace.traceId,
    rootServiceName: trace.rootServiceName,
    rootName: trace.rootName,
    startUnixNano: trace.startUnixNano.toString(),
    endUnixNano: trace.endUnixNano.toString(),
    durationNano: trace.durationNano.toString(),
    startTime: rfc3339Micros(trace.startUnixNano),
    startMicros: micros(trace.startUnixNano),
    durationMicros: fractionalMicros(trace.durationNano),
    spanCount: trace.nodes.length,
    errorCount: trace.errorCount,
    depth: trace.depth,
    orphanCount: trace.orphanCount,
    duplicatesRemoved: trace.duplicatesRemoved,
    warningCount: trace.warningCount,
    warnings: trace.warnings,
    services,
    roots: trace.roots,
    resources: resources.rows,
    scopes: scopes.rows,
    spans,
    criticalPath: criticalPath.map((seg) => ({
      spanId: seg.spanId,
      index: seg.index,
      startUnixNano: seg.startUnixNano.toString(),
      endUnixNano: seg.endUnixNano.toString(),
      startMicros: micros(seg.startUnixNano),
      durationMicros: fractionalMicros(seg.endUnixNano - seg.startUnixNano),
    })),
  };
}

/** The JSON view of a trace summary. */
export function summaryToJson(s: TraceSummary): TraceSummaryJson {
  return {
    traceId: s.traceId,
    rootServiceName: s.rootServiceName,
    rootName: s.rootName,
    startUnixNano: s.startUnixNano.toString(),
    startTime: rfc3339Micros(s.startUnixNano),
    startMicros: micros(s.startUnixNano),
    durationNano: s.durationNano.toString(),
    durationMicros: fractionalMicros(s.durationNano),
    spanCount: s.spanCount,
    errorCount: s.errorCount,
    services: s.services.map((c: ServiceSpanCount) => ({
      service: c.service,
      spanCount: c.spanCount,
      errorCount: c.errorCount,
    })),
  };
}

function nodeToJson(
  node: TraceNode,
  resourceIndex: number,
  scopeIndex: number,
  serviceName: string,
  onCriticalPath: boolean,
): SpanJson {
  const s = node.span;
  const start = node.adjustedStartUnixNano;
  const end = node.adjustedEndUnixNano;
  return {
    index: node.index,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    parentIndex: node.parentIndex,
    children: node.children,
    depth: node.depth,
    orphan: node.orphan,
    name: s.name,
    kind: s.kind,
    kindName: spanKindName(s.kind),
    serviceName,
    resourceIndex,
    scopeIndex,
    startUnixNano: start.toString(),
    endUnixNano: end.toString(),
    durationNano: (end - start).toString(),
    startMicros: micros(start),
    durationMicros: fractionalMicros(end - start),
    skewNano: node.skewNano.toString(),
    selfTimeNano: node.selfTimeNano.toString(),
    selfTimeMicros: fractionalMicros(node.selfTimeNano),
    status: {
      code: s.status.code,
      codeName: s.status.code === StatusCode.ERROR ? 'error' : s.status.code === StatusCode.OK ? 'ok' : 'unset',
      message: s.status.message,
    },
    traceState: s.traceState,
    flags: s.flags,
    attributes: attributesToJson(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: node.adjustedEvents.map(eventToJson),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map(linkToJson),
    droppedLinksCount: s.droppedLinksCount,
    warnings: node.warnings,
    onCriticalPath,
  };
}

/** Microseconds with the nanoseconds as fraction (durations are far below 2^53 µs). */
function fractionalMicros(ns: bigint): number {
  return Number(ns) / 1000;
}

/** `2024-05-01T12:00:00.123456Z`: RFC 3339 in UTC with microseconds. */
export function rfc3339Micros(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2024-05-01T12:00:00.123Z
  const us = ((ns / 1000n) % 1000n).toString().padStart(3, '0');
  return `${iso.slice(0, -1)}${us}Z`;
}
