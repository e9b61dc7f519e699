/**
 * The JSON views of traces that the native API sends and the UI reads: the
 * attribute, resource, scope, event and link forms shared by every view, and
 * the compact view of an assembled trace (column by column, strings listed
 * once), which the UI also builds itself from a local OTLP/JSON file.
 * Everything is JSON-safe without a replacer: ids are hex, nanosecond times
 * decimal strings, int64 attribute values decimal strings, bytes base64.
 */
import { encodeBase64 } from './base64.ts';
import type { CriticalPathSegment } from './critical-path.ts';
import type { AnyValue, InstrumentationScope, KeyValue, KvListValue, Resource, SpanEvent, SpanLink } from './span.ts';
import { StatusCode, serviceNameOf } from './span.ts';
import type { AssembledTrace } from './trace.ts';

/** What {@link traceToCompactJson} draws from: an assembled trace and its critical path. */
export interface TraceWithCriticalPath {
  readonly trace: AssembledTrace;
  readonly criticalPath: readonly CriticalPathSegment[];
}

/** The type tag of an attribute value in JSON, after OTLP's `AnyValue` cases. */
export type AttributeType = 'string' | 'bool' | 'int' | 'double' | 'bytes' | 'array' | 'kvlist' | 'null';

/**
 * An attribute value in JSON: `int` as a decimal string (int64 does not fit a
 * JSON number), `double` as a number or the strings `NaN`, `Infinity`,
 * `-Infinity`, `bytes` as base64, `array` as a list of {@link ValueJson},
 * `kvlist` as a list of {@link AttributeJson}.
 */
export interface ValueJson {
  readonly type: AttributeType;
  readonly value: string | boolean | number | null | readonly ValueJson[] | readonly AttributeJson[];
}

/** One attribute in JSON. */
export interface AttributeJson extends ValueJson {
  readonly key: string;
}

/** A resource, listed once per trace. */
export interface ResourceJson {
  /** `service.name`, or `unknown_service` when absent. */
  readonly serviceName: string;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** An instrumentation scope, listed once per trace. */
export interface ScopeJson {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** A span event; times are clock-skew adjusted like its span's. */
export interface EventJson {
  readonly name: string;
  /** Unix nanoseconds, decimal. */
  readonly timeUnixNano: string;
  /** Unix microseconds. */
  readonly timeMicros: number;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
}

/** A span link. */
export interface LinkJson {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly flags: number;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
}

/** Span and error counts of one service in a trace. */
export interface ServiceCountJson {
  readonly service: string;
  readonly spanCount: number;
  readonly errorCount: number;
}

/** Attribute type codes of {@link TraceCompactJson} (`attrs` triples). */
const COMPACT_TYPE: Readonly<Record<AttributeType, number>> = {
  string: 0,
  bool: 1,
  int: 2,
  double: 3,
  bytes: 4,
  array: 5,
  kvlist: 6,
  null: 7,
};

/**
 * The compact view of an assembled trace (`?format=compact`), for the UI's
 * trace page on very large traces: the same content as the tree view (`TraceJson` of the server),
 * but column by column, with every string listed once in `strings` and
 * referenced by position, and times as integer nanosecond offsets from the
 * trace start. At 100,000 spans it is about a sixth of the tree view's size
 * and takes a fraction of its time to write and to parse.
 *
 * Columns of `spans` have one entry per span in tree order (`parent` is the
 * parent's index, -1 for roots). `spanIds` and `parentSpanIds` are the
 * 16-character ids concatenated (`0000000000000000` for no parent).
 * `attrs[i]..attrs[i+1]` delimits span `i`'s attributes in `attrKeys`,
 * `attrTypes` (0 string, 1 bool, 2 int, 3 double, 4 bytes, 5 array,
 * 6 kvlist, 7 null, 8 a double that is NaN or infinite) and `attrValues` (a
 * `strings` index for string, int, bytes and code 8; 0/1 for bool; the number
 * for a finite double; a `strings` index of the value's JSON text for array,
 * kvlist and null). Events, links, warnings and dropped
 * counts are rare and listed sparsely by span index.
 */
export interface TraceCompactJson {
  readonly format: 'compact';
  /** Present and true when attributes, events and links were left out (`maxDetailedSpans`). */
  readonly partial?: boolean;
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootName: string;
  readonly startUnixNano: string;
  readonly startMicros: number;
  readonly durationNano: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly depth: number;
  readonly orphanCount: number;
  readonly duplicatesRemoved: number;
  readonly warningCount: number;
  readonly warnings: readonly string[];
  readonly services: readonly ServiceCountJson[];
  readonly resources: readonly ResourceJson[];
  readonly scopes: readonly ScopeJson[];
  readonly strings: readonly string[];
  readonly spans: {
    readonly spanIds: string;
    readonly parentSpanIds: string;
    readonly parent: readonly number[];
    readonly depth: readonly number[];
    readonly name: readonly number[];
    readonly kind: readonly number[];
    readonly resource: readonly number[];
    readonly scope: readonly number[];
    /** Adjusted start minus the trace start, ns. */
    readonly start: readonly number[];
    readonly duration: readonly number[];
    readonly selfTime: readonly number[];
    readonly status: readonly number[];
    /** `strings` index of the status message. */
    readonly statusMessage: readonly number[];
    readonly flags: readonly number[];
    readonly traceState: readonly number[];
    /** Bit 1: orphan; bit 2: on the critical path. */
    readonly bits: readonly number[];
    readonly attrs: readonly number[];
    readonly attrKeys: readonly number[];
    readonly attrTypes: readonly number[];
    readonly attrValues: readonly number[];
  };
  /** Sparse per-span extras. */
  readonly events: readonly { readonly span: number; readonly events: readonly EventJson[] }[];
  readonly links: readonly { readonly span: number; readonly links: readonly LinkJson[] }[];
  readonly spanWarnings: readonly { readonly span: number; readonly warnings: readonly string[] }[];
  /** Spans with a clock-skew shift: `skewNano` signed decimal. */
  readonly skews: readonly { readonly span: number; readonly skewNano: string }[];
  readonly dropped: readonly {
    readonly span: number;
    readonly attributes: number;
    readonly events: number;
    readonly links: number;
  }[];
  /** Critical path segments as flat triples: span index, start offset ns, duration ns. */
  readonly criticalPath: readonly number[];
}

/** The compact view (see {@link TraceCompactJson}) of an assembled trace and its critical path. */
export function traceToCompactJson(
  result: TraceWithCriticalPath,
  options: { partial?: boolean } = {},
): TraceCompactJson {
  const { trace, criticalPath } = result;
  const resources = new JsonTable<Resource, ResourceJson>(resourceToJson);
  const scopes = new JsonTable<InstrumentationScope, ScopeJson>(scopeToJson);
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const n = trace.nodes.length;
  const t0 = trace.startUnixNano;
  const onPath = new Uint8Array(n);
  for (const seg of criticalPath) onPath[seg.index] = 1;
  const col = () => new Array<number>(n);
  const parent = col();
  const depth = col();
  const name = col();
  const kind = col();
  const resource = col();
  const scope = col();
  const start = col();
  const duration = col();
  const selfTime = col();
  const status = col();
  const statusMessage = col();
  const flags = col();
  const traceState = col();
  const bits = col();
  const attrs = new Array<number>(n + 1);
  const attrKeys: number[] = [];
  const attrTypes: number[] = [];
  const attrValues: number[] = [];
  const events: { span: number; events: EventJson[] }[] = [];
  const links: { span: number; links: LinkJson[] }[] = [];
  const spanWarnings: { span: number; warnings: string[] }[] = [];
  const skews: { span: number; skewNano: string }[] = [];
  const dropped: { span: number; attributes: number; events: number; links: number }[] = [];
  const perService = new Map<string, { spanCount: number; errorCount: number }>();
  const ids = new Array<string>(n);
  const parentIds = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const node = trace.nodes[i]!;
    const s = node.span;
    ids[i] = s.spanId;
    parentIds[i] = s.parentSpanId === '' ? '0000000000000000' : s.parentSpanId;
    parent[i] = node.parentIndex;
    depth[i] = node.depth;
    name[i] = str(s.name);
    kind[i] = s.kind;
    const ri = resources.indexOf(s.resource);
    resource[i] = ri;
    scope[i] = scopes.indexOf(s.scope);
    start[i] = Number(node.adjustedStartUnixNano - t0);
    duration[i] = Number(node.adjustedEndUnixNano - node.adjustedStartUnixNano);
    selfTime[i] = Number(node.selfTimeNano);
    status[i] = s.status.code;
    statusMessage[i] = str(s.status.message);
    flags[i] = s.flags;
    traceState[i] = str(s.traceState);
    bits[i] = (node.orphan ? 1 : 0) | (onPath[i] === 1 ? 2 : 0);
    attrs[i] = attrKeys.length;
    for (const kv of s.attributes) {
      attrKeys.push(str(kv.key));
      // The common scalar cases without building a ValueJson (this loop runs once per attribute).
      const raw = kv.value;
      if (typeof raw === 'string') {
        attrTypes.push(COMPACT_TYPE.string);
        attrValues.push(str(raw));
        continue;
      }
      if (typeof raw === 'bigint') {
        attrTypes.push(COMPACT_TYPE.int);
        attrValues.push(str(raw.toString()));
        continue;
      }
      if (typeof raw === 'boolean') {
        attrTypes.push(COMPACT_TYPE.bool);
        attrValues.push(raw ? 1 : 0);
        continue;
      }
      const v = valueToJson(raw);
      attrTypes.push(COMPACT_TYPE[v.type]);
      if (v.type === 'bool') attrValues.push(v.value === true ? 1 : 0);
      else if (v.type === 'double' && typeof v.value === 'number') attrValues.push(v.value);
      else if (v.type === 'double') {
        // NaN and the infinities have no JSON number: their text, under their own type code.
        attrTypes[attrTypes.length - 1] = 8;
        attrValues.push(str(String(v.value)));
      } else if (typeof v.value === 'string') attrValues.push(str(v.value));
      else attrValues.push(str(JSON.stringify(v.value)));
    }
    if (node.adjustedEvents.length > 0) events.push({ span: i, events: node.adjustedEvents.map(eventToJson) });
    if (s.links.length > 0) links.push({ span: i, links: s.links.map(linkToJson) });
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
    const serviceName = resources.rows[ri]!.serviceName;
    const isError = s.status.code === StatusCode.ERROR;
    const counts = perService.get(serviceName);
    if (counts === undefined) perService.set(serviceName, { spanCount: 1, errorCount: isError ? 1 : 0 });
    else {
      counts.spanCount++;
      if (isError) counts.errorCount++;
    }
  }
  attrs[n] = attrKeys.length;
  const services = [...perService]
    .map(([service, c]) => ({ service, spanCount: c.spanCount, errorCount: c.errorCount }))
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const path: number[] = [];
  for (const seg of criticalPath) {
    path.push(seg.index, Number(seg.startUnixNano - t0), Number(seg.endUnixNano - seg.startUnixNano));
  }
  return {
    format: 'compact',
    ...(options.partial === true ? { partial: true } : {}),
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
    services,
    resources: resources.rows,
    scopes: scopes.rows,
    strings,
    spans: {
      spanIds: ids.join(''),
      parentSpanIds: parentIds.join(''),
      parent,
      depth,
      name,
      kind,
      resource,
      scope,
      start,
      duration,
      selfTime,
      status,
      statusMessage,
      flags,
      traceState,
      bits,
      attrs,
      attrKeys,
      attrTypes,
      attrValues,
    },
    events,
    links,
    spanWarnings,
    skews,
    dropped,
    criticalPath: path,
  };
}

export function eventToJson(e: SpanEvent): EventJson {
  return {
    name: e.name,
    timeUnixNano: e.timeUnixNano.toString(),
    timeMicros: micros(e.timeUnixNano),
    attributes: attributesToJson(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount,
  };
}

export function linkToJson(l: SpanLink): LinkJson {
  return {
    traceId: l.traceId,
    spanId: l.spanId,
    traceState: l.traceState,
    flags: l.flags,
    attributes: attributesToJson(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
  };
}

export function resourceToJson(r: Resource): ResourceJson {
  return {
    serviceName: serviceNameOf(r),
    attributes: attributesToJson(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount,
    schemaUrl: r.schemaUrl,
  };
}

export function scopeToJson(s: InstrumentationScope): ScopeJson {
  return {
    name: s.name,
    version: s.version,
    attributes: attributesToJson(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    schemaUrl: s.schemaUrl,
  };
}

/**
 * Resources (or scopes) listed once: first by object identity (spans of one
 * batch share the object), then by content, since the same resource arrives
 * as a new object in every batch.
 */
export class JsonTable<K extends object, V> {
  readonly rows: V[] = [];
  readonly #byObject = new Map<K, number>();
  readonly #byContent = new Map<string, number>();
  readonly #convert: (k: K) => V;

  constructor(convert: (k: K) => V) {
    this.#convert = convert;
  }

  indexOf(k: K): number {
    const known = this.#byObject.get(k);
    if (known !== undefined) return known;
    const row = this.#convert(k);
    const content = JSON.stringify(row);
    let i = this.#byContent.get(content);
    if (i === undefined) {
      i = this.rows.length;
      this.rows.push(row);
      this.#byContent.set(content, i);
    }
    this.#byObject.set(k, i);
    return i;
  }
}

/** Attributes in their JSON form. */
export function attributesToJson(attributes: readonly KeyValue[]): AttributeJson[] {
  const out = new Array<AttributeJson>(attributes.length);
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i]!;
    const v = valueToJson(kv.value);
    out[i] = { key: kv.key, type: v.type, value: v.value };
  }
  return out;
}

/** One attribute value in its JSON form (see {@link ValueJson}). */
export function valueToJson(v: AnyValue): ValueJson {
  if (v === null) return { type: 'null', value: null };
  switch (typeof v) {
    case 'string':
      return { type: 'string', value: v };
    case 'boolean':
      return { type: 'bool', value: v };
    case 'bigint':
      return { type: 'int', value: v.toString() };
    case 'number':
      return { type: 'double', value: Number.isFinite(v) ? v : String(v) };
    default:
      break;
  }
  if (v instanceof Uint8Array) return { type: 'bytes', value: encodeBase64(v) };
  if (Array.isArray(v)) return { type: 'array', value: (v as readonly AnyValue[]).map(valueToJson) };
  return { type: 'kvlist', value: attributesToJson((v as KvListValue).kvlist) };
}

/** Whole microseconds since the epoch, as a JSON-safe number. */
export function micros(ns: bigint): number {
  return Number(ns / 1000n);
}
