/**
 * A trace opened from a local OTLP/JSON file: decoded by `@traceloom/wire`,
 * assembled and given its critical path by `@traceloom/model` (the same code
 * the server runs), then written in the compact view the API sends, so the
 * trace page draws it exactly like a stored trace. Runs in the worker.
 */
import {
  type AnyValue,
  assembleTrace,
  criticalPath,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type SpanEvent,
  type SpanLink,
  serviceNameOf,
} from '@traceloom/model';
import { decodeOtlpTracesJson } from '@traceloom/wire';
import type {
  AttributeJson,
  EventJson,
  LinkJson,
  ResourceJson,
  ScopeJson,
  TraceCompactJson,
  ValueJson,
} from './trace-json.ts';

const TYPE_CODE: Readonly<Record<ValueJson['type'], number>> = {
  string: 0,
  bool: 1,
  int: 2,
  double: 3,
  bytes: 4,
  array: 5,
  kvlist: 6,
  null: 7,
};

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i] as number);
  return btoa(s);
}

function valueJson(v: AnyValue): ValueJson {
  if (v === null) return { type: 'null', value: null };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (typeof v === 'bigint') return { type: 'int', value: v.toString() };
  if (typeof v === 'number') return { type: 'double', value: Number.isFinite(v) ? v : String(v) };
  if (v instanceof Uint8Array) return { type: 'bytes', value: base64(v) };
  if (Array.isArray(v)) return { type: 'array', value: (v as readonly AnyValue[]).map(valueJson) };
  return { type: 'kvlist', value: attributesJson((v as { kvlist: readonly KeyValue[] }).kvlist) };
}

function attributesJson(kvs: readonly KeyValue[]): AttributeJson[] {
  return kvs.map((kv) => ({ key: kv.key, ...valueJson(kv.value) }));
}

function micros(ns: bigint): number {
  return Number(ns / 1000n);
}

function eventJson(e: SpanEvent): EventJson {
  return {
    name: e.name,
    timeUnixNano: e.timeUnixNano.toString(),
    timeMicros: micros(e.timeUnixNano),
    attributes: attributesJson(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount,
  };
}

function linkJson(l: SpanLink): LinkJson {
  return {
    traceId: l.traceId,
    spanId: l.spanId,
    traceState: l.traceState,
    flags: l.flags,
    attributes: attributesJson(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
  };
}

/** Lists objects once, by identity and then by content. */
function table<K extends object, V>(convert: (k: K) => V): { rows: V[]; indexOf(k: K): number } {
  const rows: V[] = [];
  const byObject = new Map<K, number>();
  const byContent = new Map<string, number>();
  return {
    rows,
    indexOf(k: K): number {
      const known = byObject.get(k);
      if (known !== undefined) return known;
      const row = convert(k);
      const text = JSON.stringify(row);
      let i = byContent.get(text);
      if (i === undefined) {
        i = rows.length;
        rows.push(row);
        byContent.set(text, i);
      }
      byObject.set(k, i);
      return i;
    },
  };
}

/**
 * The compact view of the trace in an OTLP/JSON text (`TracesData` or an
 * export request). Spans of several traces are assembled together, with the
 * model's mixed-trace warning. Throws the decoder's error on bad input, and
 * an `Error` when the file holds no span.
 */
export function compactFromOtlpJson(text: string): TraceCompactJson {
  const spans = decodeOtlpTracesJson(text);
  if (spans.length === 0) throw new Error('the file holds no span (expected OTLP/JSON with resourceSpans)');
  const trace = assembleTrace(spans);
  const path = criticalPath(trace);
  const resources = table<Resource, ResourceJson>((r) => ({
    serviceName: serviceNameOf(r),
    attributes: attributesJson(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount,
    schemaUrl: r.schemaUrl,
  }));
  const scopes = table<InstrumentationScope, ScopeJson>((s) => ({
    name: s.name,
    version: s.version,
    attributes: attributesJson(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    schemaUrl: s.schemaUrl,
  }));
  const strings: string[] = [];
  const index = new Map<string, number>();
  const str = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const n = trace.nodes.length;
  const t0 = trace.startUnixNano;
  const onPath = new Uint8Array(n);
  for (const seg of path) onPath[seg.index] = 1;
  const cols = {
    parent: [] as number[],
    depth: [] as number[],
    name: [] as number[],
    kind: [] as number[],
    resource: [] as number[],
    scope: [] as number[],
    start: [] as number[],
    duration: [] as number[],
    selfTime: [] as number[],
    status: [] as number[],
    statusMessage: [] as number[],
    flags: [] as number[],
    traceState: [] as number[],
    bits: [] as number[],
    attrs: [] as number[],
    attrKeys: [] as number[],
    attrTypes: [] as number[],
    attrValues: [] as number[],
  };
  const ids: string[] = [];
  const parentIds: string[] = [];
  const events: { span: number; events: EventJson[] }[] = [];
  const links: { span: number; links: LinkJson[] }[] = [];
  const spanWarnings: { span: number; warnings: string[] }[] = [];
  const skews: { span: number; skewNano: string }[] = [];
  const dropped: { span: number; attributes: number; events: number; links: number }[] = [];
  const perService = new Map<string, { spanCount: number; errorCount: number }>();
  for (let i = 0; i < n; i++) {
    const node = trace.nodes[i]!;
    const s = node.span;
    ids.push(s.spanId);
    parentIds.push(s.parentSpanId === '' ? '0000000000000000' : s.parentSpanId);
    cols.parent.push(node.parentIndex);
    cols.depth.push(node.depth);
    cols.name.push(str(s.name));
    cols.kind.push(s.kind);
    const ri = resources.indexOf(s.resource);
    cols.resource.push(ri);
    cols.scope.push(scopes.indexOf(s.scope));
    cols.start.push(Number(node.adjustedStartUnixNano - t0));
    cols.duration.push(Number(node.adjustedEndUnixNano - node.adjustedStartUnixNano));
    cols.selfTime.push(Number(node.selfTimeNano));
    cols.status.push(s.status.code);
    cols.statusMessage.push(str(s.status.message));
    cols.flags.push(s.flags);
    cols.traceState.push(str(s.traceState));
    cols.bits.push((node.orphan ? 1 : 0) | (onPath[i] === 1 ? 2 : 0));
    cols.attrs.push(cols.attrKeys.length);
    for (const kv of s.attributes) {
      const v = valueJson(kv.value);
      cols.attrKeys.push(str(kv.key));
      if (v.type === 'double' && typeof v.value !== 'number') {
        cols.attrTypes.push(8);
        cols.attrValues.push(str(String(v.value)));
        continue;
      }
      cols.attrTypes.push(TYPE_CODE[v.type]);
      if (v.type === 'bool') cols.attrValues.push(v.value === true ? 1 : 0);
      else if (typeof v.value === 'number') cols.attrValues.push(v.value);
      else if (typeof v.value === 'string') cols.attrValues.push(str(v.value));
      else cols.attrValues.push(str(JSON.stringify(v.value)));
    }
    if (node.adjustedEvents.length > 0) events.push({ span: i, events: node.adjustedEvents.map(eventJson) });
    if (s.links.length > 0) links.push({ span: i, links: s.links.map(linkJson) });
    if (node.warnings.length > 0) spanWarnings.push({ span: i, warnings: node.warnings });
    if (node.skewNano !== 0n) skews.push({ span: i, skewNano: node.skewNano.toString() });
    if (s.droppedAttributesCount + s.droppedEventsCount + s.droppedLinksCount > 0) {
      dropped.push({
        span: i,
        attributes: s.droppedAttributesCount,
        events: s.droppedEventsCount,
        links: s.droppedLinksCount,
      });
    }
    const service = resources.rows[ri]!.serviceName;
    const c = perService.get(service) ?? { spanCount: 0, errorCount: 0 };
    c.spanCount++;
    if (s.status.code === 2) c.errorCount++;
    perService.set(service, c);
  }
  cols.attrs.push(cols.attrKeys.length);
  const criticalPathFlat: number[] = [];
  for (const seg of path) {
    criticalPathFlat.push(seg.index, Number(seg.startUnixNano - t0), Number(seg.endUnixNano - seg.startUnixNano));
  }
  return {
    format: 'compact',
    traceId: trace.traceId,
    rootServiceName: trace.rootServiceName,
    rootName: trace.rootName,
    startUnixNano: t0.toString(),
    startMicros: micros(t0),
    durationNano: Number(trace.durationNano),
    spanCount: n,
    errorCount: trace.errorCount,
    depth: trace.depth,
    orphanCount: trace.orphanCount,
    duplicatesRemoved: trace.duplicatesRemoved,
    warningCount: trace.warningCount,
    warnings: trace.warnings,
    services: [...perService]
      .map(([service, c]) => ({ service, spanCount: c.spanCount, errorCount: c.errorCount }))
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)),
    resources: resources.rows,
    scopes: scopes.rows,
    strings,
    spans: { spanIds: ids.join(''), parentSpanIds: parentIds.join(''), ...cols },
    events,
    links,
    spanWarnings,
    skews,
    dropped,
    criticalPath: criticalPathFlat,
  };
}
