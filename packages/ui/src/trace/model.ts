/**
 * The trace page's in-memory trace: typed-array columns, one entry per span
 * in tree (depth-first) order, built in linear time from the API's compact
 * view. Typed arrays cross from the worker to the page without copying and
 * keep 100,000 spans in a few megabytes; a subtree is the contiguous range
 * `[i, subtreeEnd[i])`, so collapsing, drawing and statistics never walk
 * object graphs.
 */
import {
  ATTRIBUTE_TYPES,
  type AttributeJson,
  type EventJson,
  type LinkJson,
  type ResourceJson,
  type ScopeJson,
  type ServiceCountJson,
  type TraceCompactJson,
  type ValueJson,
} from './trace-json.ts';

/** Status codes (OTLP). */
export const STATUS_ERROR = 2;

/** One trace, column by column (see the file comment). */
export interface TraceModel {
  readonly traceId: string;
  /** Attributes, events and links are not loaded yet (a large trace's first view). */
  readonly partial: boolean;
  readonly rootServiceName: string;
  readonly rootName: string;
  /** Unix ns of the trace start, decimal. */
  readonly startUnixNano: string;
  readonly startMicros: number;
  readonly durationNano: number;
  readonly spanCount: number;
  readonly errorCount: number;
  /** Maximum depth plus one. */
  readonly depth: number;
  readonly orphanCount: number;
  readonly duplicatesRemoved: number;
  readonly warningCount: number;
  readonly warnings: readonly string[];
  /** Sorted by name; `service[i]` indexes this list. */
  readonly services: readonly ServiceCountJson[];
  readonly resources: readonly ResourceJson[];
  readonly scopes: readonly ScopeJson[];
  readonly strings: readonly string[];
  /** 16 hex characters per span. */
  readonly spanIds: string;
  /** 16 hex characters per span, zeros for none. */
  readonly parentSpanIds: string;
  readonly parent: Int32Array;
  readonly spanDepth: Int32Array;
  /** `strings` index. */
  readonly name: Int32Array;
  readonly kind: Uint8Array;
  readonly resource: Int32Array;
  readonly scope: Int32Array;
  /** Index into {@link services}. */
  readonly service: Int32Array;
  /** ns after the trace start. */
  readonly start: Float64Array;
  /** ns. */
  readonly duration: Float64Array;
  readonly selfTime: Float64Array;
  readonly status: Uint8Array;
  readonly statusMessage: Int32Array;
  readonly flags: Int32Array;
  readonly traceState: Int32Array;
  /** Bit 1 orphan, bit 2 on the critical path. */
  readonly bits: Uint8Array;
  /** One past the last descendant of each span. */
  readonly subtreeEnd: Int32Array;
  readonly childCount: Int32Array;
  readonly attrs: Int32Array;
  readonly attrKeys: Int32Array;
  readonly attrTypes: Uint8Array;
  readonly attrValues: Float64Array;
  /** `eventOffsets[i]..eventOffsets[i+1]` delimits span i's events in `eventTimes` / `eventList`. */
  readonly eventOffsets: Int32Array;
  /** ns after the trace start. */
  readonly eventTimes: Float64Array;
  readonly eventList: readonly EventJson[];
  readonly links: ReadonlyMap<number, readonly LinkJson[]>;
  readonly spanWarnings: ReadonlyMap<number, readonly string[]>;
  readonly skews: ReadonlyMap<number, string>;
  readonly dropped: ReadonlyMap<number, { attributes: number; events: number; links: number }>;
  /** Critical path as triples: span index, start offset ns, duration ns. */
  readonly criticalPath: Float64Array;
}

/** Builds the model from the compact view; O(spans + attributes). */
export function modelFromCompact(c: TraceCompactJson): TraceModel {
  const n = c.spanCount;
  const s = c.spans;
  const serviceIndex = new Map<string, number>();
  for (let i = 0; i < c.services.length; i++) serviceIndex.set((c.services[i] as ServiceCountJson).service, i);
  const resourceService = c.resources.map((r) => serviceIndex.get(r.serviceName) ?? 0);
  const parent = Int32Array.from(s.parent);
  const resource = Int32Array.from(s.resource);
  const service = new Int32Array(n);
  for (let i = 0; i < n; i++) service[i] = resourceService[resource[i] as number] ?? 0;
  const subtreeEnd = new Int32Array(n);
  const childCount = new Int32Array(n);
  // Tree order is depth first, so a span's subtree ends where the next span that is not its descendant starts:
  // walking backwards, a span's end is the max of its own index + 1 and its children's ends.
  for (let i = n - 1; i >= 0; i--) {
    if (subtreeEnd[i] === 0) subtreeEnd[i] = i + 1;
    const p = parent[i] as number;
    if (p >= 0) {
      childCount[p] = (childCount[p] as number) + 1;
      if ((subtreeEnd[i] as number) > (subtreeEnd[p] as number)) subtreeEnd[p] = subtreeEnd[i] as number;
    }
  }
  const eventOffsets = new Int32Array(n + 1);
  const eventList: EventJson[] = [];
  const t0Micros = c.startMicros;
  for (const e of c.events) eventOffsets[e.span + 1] = e.events.length;
  for (let i = 0; i < n; i++) eventOffsets[i + 1] = (eventOffsets[i + 1] as number) + (eventOffsets[i] as number);
  const eventTimes = new Float64Array(eventOffsets[n] as number);
  const sparse = [...c.events].sort((a, b) => a.span - b.span);
  for (const e of sparse) {
    let k = eventOffsets[e.span] as number;
    for (const ev of e.events) {
      eventTimes[k++] = (ev.timeMicros - t0Micros) * 1000;
      eventList.push(ev);
    }
  }
  return {
    traceId: c.traceId,
    partial: c.partial === true,
    rootServiceName: c.rootServiceName,
    rootName: c.rootName,
    startUnixNano: c.startUnixNano,
    startMicros: c.startMicros,
    durationNano: c.durationNano,
    spanCount: n,
    errorCount: c.errorCount,
    depth: c.depth,
    orphanCount: c.orphanCount,
    duplicatesRemoved: c.duplicatesRemoved,
    warningCount: c.warningCount,
    warnings: c.warnings,
    services: c.services,
    resources: c.resources,
    scopes: c.scopes,
    strings: c.strings,
    spanIds: s.spanIds,
    parentSpanIds: s.parentSpanIds,
    parent,
    spanDepth: Int32Array.from(s.depth),
    name: Int32Array.from(s.name),
    kind: Uint8Array.from(s.kind),
    resource,
    scope: Int32Array.from(s.scope),
    service,
    start: Float64Array.from(s.start),
    duration: Float64Array.from(s.duration),
    selfTime: Float64Array.from(s.selfTime),
    status: Uint8Array.from(s.status),
    statusMessage: Int32Array.from(s.statusMessage),
    flags: Int32Array.from(s.flags),
    traceState: Int32Array.from(s.traceState),
    bits: Uint8Array.from(s.bits),
    subtreeEnd,
    childCount,
    attrs: Int32Array.from(s.attrs),
    attrKeys: Int32Array.from(s.attrKeys),
    attrTypes: Uint8Array.from(s.attrTypes),
    attrValues: Float64Array.from(s.attrValues),
    eventOffsets,
    eventTimes,
    eventList,
    links: new Map(c.links.map((l) => [l.span, l.links])),
    spanWarnings: new Map(c.spanWarnings.map((w) => [w.span, w.warnings])),
    skews: new Map(c.skews.map((k) => [k.span, k.skewNano])),
    dropped: new Map(c.dropped.map((d) => [d.span, { attributes: d.attributes, events: d.events, links: d.links }])),
    criticalPath: Float64Array.from(c.criticalPath),
  };
}

/** The typed arrays of a model, for `postMessage` transfer lists. */
export function transferables(m: TraceModel): ArrayBuffer[] {
  const arrays = [
    m.parent,
    m.spanDepth,
    m.name,
    m.kind,
    m.resource,
    m.scope,
    m.service,
    m.start,
    m.duration,
    m.selfTime,
    m.status,
    m.statusMessage,
    m.flags,
    m.traceState,
    m.bits,
    m.subtreeEnd,
    m.childCount,
    m.attrs,
    m.attrKeys,
    m.attrTypes,
    m.attrValues,
    m.eventOffsets,
    m.eventTimes,
    m.criticalPath,
  ];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** Span `i`'s id. */
export function spanIdOf(m: TraceModel, i: number): string {
  return m.spanIds.slice(i * 16, i * 16 + 16);
}

/** Span `i`'s parent id, '' for none. */
export function parentSpanIdOf(m: TraceModel, i: number): string {
  const id = m.parentSpanIds.slice(i * 16, i * 16 + 16);
  return id === '0000000000000000' ? '' : id;
}

/** Span `i`'s name. */
export function nameOf(m: TraceModel, i: number): string {
  return m.strings[m.name[i] as number] ?? '';
}

/** Span `i`'s service name. */
export function serviceOf(m: TraceModel, i: number): string {
  return m.services[m.service[i] as number]?.service ?? '';
}

/** Span `i` ended in ERROR. */
export function isError(m: TraceModel, i: number): boolean {
  return m.status[i] === STATUS_ERROR;
}

/** Attribute `j` (an index into the attribute columns) as the API's JSON value. */
export function attributeAt(m: TraceModel, j: number): AttributeJson {
  const key = m.strings[m.attrKeys[j] as number] ?? '';
  const code = m.attrTypes[j] as number;
  const raw = m.attrValues[j] as number;
  const type = ATTRIBUTE_TYPES[code] ?? 'null';
  switch (code) {
    case 1:
      return { key, type, value: raw === 1 };
    case 3:
      return { key, type, value: raw };
    case 0:
    case 2:
    case 4:
    case 8:
      return { key, type, value: m.strings[raw] ?? '' };
    default: {
      const parsed = JSON.parse(m.strings[raw] ?? 'null') as ValueJson['value'];
      return { key, type, value: parsed };
    }
  }
}

/** Span `i`'s attributes. */
export function attributesOf(m: TraceModel, i: number): AttributeJson[] {
  const out: AttributeJson[] = [];
  for (let j = m.attrs[i] as number; j < (m.attrs[i + 1] as number); j++) out.push(attributeAt(m, j));
  return out;
}

/** Span `i`'s events. */
export function eventsOf(m: TraceModel, i: number): readonly EventJson[] {
  return m.eventList.slice(m.eventOffsets[i], m.eventOffsets[i + 1]);
}

/** An attribute value as one line of text (`int` as its digits, arrays and maps as JSON). */
export function valueText(v: ValueJson): string {
  switch (v.type) {
    case 'string':
    case 'int':
    case 'bytes':
      return String(v.value);
    case 'bool':
    case 'double':
      return String(v.value);
    case 'null':
      return 'null';
    default:
      return JSON.stringify(v.value);
  }
}

/** The text of attribute `j` without building objects (the find-in-trace hot loop). */
export function attributeValueText(m: TraceModel, j: number): string {
  const code = m.attrTypes[j] as number;
  const raw = m.attrValues[j] as number;
  if (code === 0 || code === 2 || code === 4 || code === 8) return m.strings[raw] ?? '';
  if (code === 1) return raw === 1 ? 'true' : 'false';
  if (code === 3) return String(raw);
  return valueText(attributeAt(m, j));
}

/** Span kind names by OTLP number. */
export const KIND_NAMES: readonly string[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
