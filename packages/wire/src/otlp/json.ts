/**
 * OTLP/JSON for traces: the protobuf JSON mapping of `ExportTraceServiceRequest`
 * with OTLP's own exceptions (OTLP specification, "JSON Protobuf Encoding"):
 * trace and span ids are hex strings rather than base64, enums are integers,
 * and field names are lowerCamelCase. As protobuf JSON parsers do, the
 * decoder also accepts the original snake_case names, int64 values as numbers
 * or strings, enum names, and `null` for an absent field.
 */
import {
  type AnyValue,
  decodeBase64,
  EMPTY_RESOURCE,
  EMPTY_SCOPE,
  encodeBase64,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
  type SpanStatus,
  UNSET_STATUS,
} from '@traceloom/model';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { jsonSyntaxError } from '../internal/json-syntax.ts';
import { EMPTY_LIST, groupSpans, MAX_ANY_VALUE_DEPTH, makeStatus } from './shared.ts';

// ---------------------------------------------------------------------------
// Decoding

/**
 * Thrown inside the decoder for a field of the wrong type. Each enclosing
 * level prepends its part of the path while the error unwinds, so the happy
 * path never builds path strings.
 */
class FieldError extends Error {
  path: string;
  readonly code: WireErrorCode;
  readonly reason: string;
  constructor(path: string, reason: string, code: WireErrorCode = WireErrorCode.BAD_FIELD) {
    super(reason);
    this.path = path;
    this.reason = reason;
    this.code = code;
  }
}

/** Re-throws `e` with `segment` prepended to its path (`segment` is `name[i]` or `name`). */
function within(e: unknown, segment: string): never {
  if (e instanceof FieldError) {
    e.path = e.path === '' ? segment : e.path.charCodeAt(0) === 91 ? segment + e.path : `${segment}.${e.path}`;
  }
  throw e;
}

/**
 * A parsed JSON object. Fields are read by name at each call site
 * (`o.traceId ?? o.trace_id`, the lowerCamelCase name first, then the proto
 * name): named reads get inline caches, where reads by a computed key went
 * through V8's generic lookup.
 */
type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function objectField(v: unknown, camel: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new FieldError(camel, 'expected an object');
  return v;
}

function arrayField(v: unknown, camel: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new FieldError(camel, 'expected an array');
  return v;
}

function stringField(v: unknown, camel: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  throw new FieldError(camel, 'expected a string');
}

/** A trace or span id: hex of either case, returned in lowercase; '' when absent. */
function idField(v: unknown, camel: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string' && (v.length & 1) === 0) {
    let upper = false;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) continue;
      if (c >= 65 && c <= 70) upper = true;
      else throw new FieldError(camel, 'expected a hex string');
    }
    return upper ? v.toLowerCase() : v;
  }
  throw new FieldError(camel, 'expected a hex string');
}

const TWO_64 = 1n << 64n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** A decimal integer string, as the protobuf JSON mapping writes 64-bit integers. */
function isIntegerString(s: string): boolean {
  const n = s.length;
  let i = n > 0 && s.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A 64-bit integer from a decimal string or an integral JSON number, range-checked. */
function toInt64(v: unknown, path: string, signed: boolean): bigint {
  let b: bigint;
  if (typeof v === 'string' && isIntegerString(v)) b = BigInt(v);
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else throw new FieldError(path, 'expected an integer string');
  if (signed ? b < INT64_MIN || b > INT64_MAX : b < 0n || b >= TWO_64) {
    throw new FieldError(path, `integer out of range for ${signed ? 'int64' : 'uint64'}`);
  }
  return b;
}

function uint64Field(v: unknown, camel: string): bigint {
  if (v === undefined || v === null) return 0n;
  return toInt64(v, camel, false);
}

/** A uint32 (counts, fixed32 flags): a JSON number or a decimal string. */
function uint32Field(v: unknown, camel: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && v !== '' && isIntegerString(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  throw new FieldError(camel, 'expected an unsigned 32-bit integer');
}

/** An enum: its number, or its name from `names` (protobuf JSON accepts both). */
function enumField(v: unknown, camel: string, names: Readonly<Record<string, number>>): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return v;
  if (typeof v === 'string') {
    const n = names[v];
    if (n !== undefined && Object.hasOwn(names, v)) return n;
  }
  throw new FieldError(camel, `expected an enum number or one of ${Object.keys(names).join(', ')}`);
}

const SPAN_KIND_NAMES: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const STATUS_CODE_NAMES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

/**
 * Decodes OTLP/JSON (`ExportTraceServiceRequest`) text into spans.
 *
 * Throws {@link WireDecodeError}: `BAD_JSON` (with the character position)
 * when the text is not JSON, `BAD_FIELD` naming the JSON path when a known
 * field has the wrong type or an id is not hex, `TOO_DEEP` when attribute
 * values nest deeper than 32 levels. Unknown fields are ignored.
 *
 * @example
 * decodeOtlpTracesJson('{"resourceSpans":[]}'); // []
 */
export function decodeOtlpTracesJson(text: string): Span[] {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw jsonSyntaxError(text, e);
  }
  const out: Span[] = [];
  try {
    if (!isObject(root)) throw new FieldError('', 'expected an object');
    const list = arrayField(root.resourceSpans ?? root.resource_spans, 'resourceSpans');
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        try {
          readResourceSpans(list[i], out);
        } catch (e) {
          within(e, `resourceSpans[${i}]`);
        }
      }
    }
  } catch (e) {
    if (e instanceof FieldError) {
      throw new WireDecodeError(e.code, `${e.path === '' ? '(root)' : e.path}: ${e.reason}`);
    }
    throw e;
  }
  return out;
}

function readResourceSpans(v: unknown, out: Span[]): void {
  if (!isObject(v)) throw new FieldError('', 'expected an object');
  const r = objectField(v.resource, 'resource');
  const schemaUrl = stringField(v.schemaUrl ?? v.schema_url, 'schemaUrl');
  let resource: Resource = EMPTY_RESOURCE;
  if (r !== undefined || schemaUrl !== '') {
    let attributes: readonly KeyValue[] = EMPTY_LIST;
    let dropped = 0;
    if (r !== undefined) {
      try {
        attributes = readKeyValues(r.attributes, 'attributes', 1);
        dropped = uint32Field(r.droppedAttributesCount ?? r.dropped_attributes_count, 'droppedAttributesCount');
      } catch (e) {
        within(e, 'resource');
      }
    }
    resource = { attributes, droppedAttributesCount: dropped, schemaUrl };
  }
  let name = 'scopeSpans';
  let list = arrayField(v.scopeSpans ?? v.scope_spans, name);
  if (list === undefined) {
    // Before OTLP 0.15 the same content was `instrumentationLibrarySpans`;
    // trace.proto asks receivers to read it when `scopeSpans` is absent.
    name = 'instrumentationLibrarySpans';
    list = arrayField(v.instrumentationLibrarySpans ?? v.instrumentation_library_spans, name);
    if (list === undefined) return;
  }
  for (let i = 0; i < list.length; i++) {
    try {
      readScopeSpans(list[i], resource, out);
    } catch (e) {
      within(e, `${name}[${i}]`);
    }
  }
}

function readScopeSpans(v: unknown, resource: Resource, out: Span[]): void {
  if (!isObject(v)) throw new FieldError('', 'expected an object');
  const s =
    v.scope !== undefined && v.scope !== null
      ? objectField(v.scope, 'scope')
      : objectField(v.instrumentationLibrary ?? v.instrumentation_library, 'instrumentationLibrary');
  const schemaUrl = stringField(v.schemaUrl ?? v.schema_url, 'schemaUrl');
  let scope: InstrumentationScope = EMPTY_SCOPE;
  if (s !== undefined || schemaUrl !== '') {
    let name = '';
    let version = '';
    let attributes: readonly KeyValue[] = EMPTY_LIST;
    let dropped = 0;
    if (s !== undefined) {
      try {
        name = stringField(s.name, 'name');
        version = stringField(s.version, 'version');
        attributes = readKeyValues(s.attributes, 'attributes', 1);
        dropped = uint32Field(s.droppedAttributesCount ?? s.dropped_attributes_count, 'droppedAttributesCount');
      } catch (e) {
        within(e, 'scope');
      }
    }
    scope = { name, version, attributes, droppedAttributesCount: dropped, schemaUrl };
  }
  const list = arrayField(v.spans, 'spans');
  if (list === undefined) return;
  for (let i = 0; i < list.length; i++) {
    try {
      out.push(readSpan(list[i], resource, scope));
    } catch (e) {
      within(e, `spans[${i}]`);
    }
  }
}

function readSpan(v: unknown, resource: Resource, scope: InstrumentationScope): Span {
  if (!isObject(v)) throw new FieldError('', 'expected an object');
  const traceId = idField(v.traceId ?? v.trace_id, 'traceId');
  const spanId = idField(v.spanId ?? v.span_id, 'spanId');
  const traceState = stringField(v.traceState ?? v.trace_state, 'traceState');
  const parentSpanId = idField(v.parentSpanId ?? v.parent_span_id, 'parentSpanId');
  const flags = uint32Field(v.flags, 'flags');
  const name = stringField(v.name, 'name');
  const kind = enumField(v.kind, 'kind', SPAN_KIND_NAMES);
  const startTimeUnixNano = uint64Field(v.startTimeUnixNano ?? v.start_time_unix_nano, 'startTimeUnixNano');
  const endTimeUnixNano = uint64Field(v.endTimeUnixNano ?? v.end_time_unix_nano, 'endTimeUnixNano');
  const attributes = readKeyValues(v.attributes, 'attributes', 1);
  const droppedAttributesCount = uint32Field(
    v.droppedAttributesCount ?? v.dropped_attributes_count,
    'droppedAttributesCount',
  );
  let events: readonly SpanEvent[] = EMPTY_LIST;
  const eventList = arrayField(v.events, 'events');
  if (eventList !== undefined && eventList.length > 0) {
    const list: SpanEvent[] = [];
    for (let i = 0; i < eventList.length; i++) {
      try {
        list.push(readEvent(eventList[i]));
      } catch (e) {
        within(e, `events[${i}]`);
      }
    }
    events = list;
  }
  const droppedEventsCount = uint32Field(v.droppedEventsCount ?? v.dropped_events_count, 'droppedEventsCount');
  let links: readonly SpanLink[] = EMPTY_LIST;
  const linkList = arrayField(v.links, 'links');
  if (linkList !== undefined && linkList.length > 0) {
    const list: SpanLink[] = [];
    for (let i = 0; i < linkList.length; i++) {
      try {
        list.push(readLink(linkList[i]));
      } catch (e) {
        within(e, `links[${i}]`);
      }
    }
    links = list;
  }
  const droppedLinksCount = uint32Field(v.droppedLinksCount ?? v.dropped_links_count, 'droppedLinksCount');
  let status: SpanStatus = UNSET_STATUS;
  const st = objectField(v.status, 'status');
  if (st !== undefined) {
    try {
      status = makeStatus(enumField(st.code, 'code', STATUS_CODE_NAMES), stringField(st.message, 'message'));
    } catch (e) {
      within(e, 'status');
    }
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState,
    flags,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status,
    resource,
    scope,
  };
}

function readEvent(v: unknown): SpanEvent {
  if (!isObject(v)) throw new FieldError('', 'expected an object');
  return {
    timeUnixNano: uint64Field(v.timeUnixNano ?? v.time_unix_nano, 'timeUnixNano'),
    name: stringField(v.name, 'name'),
    attributes: readKeyValues(v.attributes, 'attributes', 1),
    droppedAttributesCount: uint32Field(
      v.droppedAttributesCount ?? v.dropped_attributes_count,
      'droppedAttributesCount',
    ),
  };
}

function readLink(v: unknown): SpanLink {
  if (!isObject(v)) throw new FieldError('', 'expected an object');
  return {
    traceId: idField(v.traceId ?? v.trace_id, 'traceId'),
    spanId: idField(v.spanId ?? v.span_id, 'spanId'),
    traceState: stringField(v.traceState ?? v.trace_state, 'traceState'),
    attributes: readKeyValues(v.attributes, 'attributes', 1),
    droppedAttributesCount: uint32Field(
      v.droppedAttributesCount ?? v.dropped_attributes_count,
      'droppedAttributesCount',
    ),
    flags: uint32Field(v.flags, 'flags'),
  };
}

/** A `KeyValue` list, the value of field `camel`; `depth` is that of the values. */
function readKeyValues(v: unknown, camel: string, depth: number): readonly KeyValue[] {
  const list = arrayField(v, camel);
  if (list === undefined || list.length === 0) return EMPTY_LIST;
  const out: KeyValue[] = new Array<KeyValue>(list.length);
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    try {
      if (!isObject(kv)) throw new FieldError('', 'expected an object');
      const key = stringField(kv.key, 'key');
      const raw = kv.value;
      let value: AnyValue = null;
      if (raw !== undefined && raw !== null) {
        try {
          value = readAnyValue(raw, depth);
        } catch (e) {
          within(e, 'value');
        }
      }
      out[i] = { key, value };
    } catch (e) {
      within(e, `${camel}[${i}]`);
    }
  }
  return out;
}

/** An `AnyValue` object; `{}` (no member set) is `null`. */
function readAnyValue(v: unknown, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) {
    throw new FieldError('', `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`, WireErrorCode.TOO_DEEP);
  }
  if (!isObject(v)) throw new FieldError('', 'expected an object');
  let x = v.stringValue;
  if (x !== undefined && x !== null) {
    if (typeof x !== 'string') throw new FieldError('stringValue', 'expected a string');
    return x;
  }
  x = v.intValue;
  if (x !== undefined && x !== null) return toInt64(x, 'intValue', true);
  x = v.boolValue;
  if (x !== undefined && x !== null) {
    if (typeof x !== 'boolean') throw new FieldError('boolValue', 'expected a boolean');
    return x;
  }
  x = v.doubleValue;
  if (x !== undefined && x !== null) return toDouble(x, 'doubleValue');
  x = v.arrayValue;
  if (x !== undefined && x !== null) return readArrayValue(x, depth, 'arrayValue');
  x = v.kvlistValue;
  if (x !== undefined && x !== null) return readKvListValue(x, depth, 'kvlistValue');
  x = v.bytesValue;
  if (x !== undefined && x !== null) return toBytes(x, 'bytesValue');
  return readAnyValueSnake(v, depth);
}

/** The same members under their proto names; only reached when no lowerCamelCase member is set. */
function readAnyValueSnake(v: JsonObject, depth: number): AnyValue {
  let x = v.string_value;
  if (x !== undefined && x !== null) {
    if (typeof x !== 'string') throw new FieldError('string_value', 'expected a string');
    return x;
  }
  x = v.int_value;
  if (x !== undefined && x !== null) return toInt64(x, 'int_value', true);
  x = v.bool_value;
  if (x !== undefined && x !== null) {
    if (typeof x !== 'boolean') throw new FieldError('bool_value', 'expected a boolean');
    return x;
  }
  x = v.double_value;
  if (x !== undefined && x !== null) return toDouble(x, 'double_value');
  x = v.array_value;
  if (x !== undefined && x !== null) return readArrayValue(x, depth, 'array_value');
  x = v.kvlist_value;
  if (x !== undefined && x !== null) return readKvListValue(x, depth, 'kvlist_value');
  x = v.bytes_value;
  if (x !== undefined && x !== null) return toBytes(x, 'bytes_value');
  return null;
}

function readArrayValue(x: unknown, depth: number, name: string): AnyValue[] {
  if (!isObject(x)) throw new FieldError(name, 'expected an object');
  const values = x.values;
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) throw new FieldError(`${name}.values`, 'expected an array');
  const out: AnyValue[] = new Array<AnyValue>(values.length);
  for (let i = 0; i < values.length; i++) {
    try {
      out[i] = readAnyValue(values[i], depth + 1);
    } catch (e) {
      within(e, `${name}.values[${i}]`);
    }
  }
  return out;
}

function readKvListValue(x: unknown, depth: number, name: string): AnyValue {
  if (!isObject(x)) throw new FieldError(name, 'expected an object');
  try {
    return { kvlist: readKeyValues(x.values, 'values', depth + 1) };
  } catch (e) {
    within(e, name);
  }
}

/** A double: a JSON number, or a string holding a number or `NaN` / `Infinity` / `-Infinity`. */
function toDouble(x: unknown, name: string): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'string') {
    if (x === 'NaN') return Number.NaN;
    if (x === 'Infinity') return Number.POSITIVE_INFINITY;
    if (x === '-Infinity') return Number.NEGATIVE_INFINITY;
    // Protobuf JSON also accepts numbers in strings; Number('') and Number(' ') are 0, so check the form.
    if (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(x)) return Number(x);
  }
  throw new FieldError(name, 'expected a number or "NaN", "Infinity", "-Infinity"');
}

function toBytes(x: unknown, name: string): Uint8Array {
  if (typeof x === 'string') {
    const b = decodeBase64(x);
    if (b !== undefined) return b;
  }
  throw new FieldError(name, 'expected a base64 string');
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * Encodes spans as OTLP/JSON text (an `ExportTraceServiceRequest`), grouped
 * by resource object identity then scope object identity, in first-seen
 * order. Ids are lowercase hex, 64-bit integers are decimal strings, enums are
 * integers, bytes are base64; fields holding default values are left out.
 *
 * @example
 * const body = encodeOtlpTracesJson(spans); // '{"resourceSpans":[...]}'
 */
export function encodeOtlpTracesJson(spans: readonly Span[]): string {
  const groups = groupSpans(spans);
  let out = '{"resourceSpans":[';
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (g > 0) out += ',';
    out += '{';
    let sep = '';
    const r = group.resource;
    if (r.attributes.length > 0 || r.droppedAttributesCount !== 0) {
      out += '"resource":{';
      let inner = '';
      if (r.attributes.length > 0) {
        out += `"attributes":${keyValuesJson(r.attributes)}`;
        inner = ',';
      }
      if (r.droppedAttributesCount !== 0) out += `${inner}"droppedAttributesCount":${r.droppedAttributesCount}`;
      out += '}';
      sep = ',';
    }
    out += `${sep}"scopeSpans":[`;
    for (let s = 0; s < group.scopes.length; s++) {
      const sg = group.scopes[s]!;
      if (s > 0) out += ',';
      out += '{';
      let ssep = '';
      const sc = sg.scope;
      if (sc.name !== '' || sc.version !== '' || sc.attributes.length > 0 || sc.droppedAttributesCount !== 0) {
        let body = '';
        if (sc.name !== '') body += `,"name":${JSON.stringify(sc.name)}`;
        if (sc.version !== '') body += `,"version":${JSON.stringify(sc.version)}`;
        if (sc.attributes.length > 0) body += `,"attributes":${keyValuesJson(sc.attributes)}`;
        if (sc.droppedAttributesCount !== 0) body += `,"droppedAttributesCount":${sc.droppedAttributesCount}`;
        out += `"scope":{${body.slice(1)}}`;
        ssep = ',';
      }
      out += `${ssep}"spans":[`;
      const list = sg.spans;
      for (let i = 0; i < list.length; i++) {
        if (i > 0) out += ',';
        out += spanJson(list[i]!);
      }
      out += ']';
      if (sc.schemaUrl !== '') out += `,"schemaUrl":${JSON.stringify(sc.schemaUrl)}`;
      out += '}';
    }
    out += ']';
    if (r.schemaUrl !== '') out += `,"schemaUrl":${JSON.stringify(r.schemaUrl)}`;
    out += '}';
  }
  return `${out}]}`;
}

function spanJson(s: Span): string {
  // Every member is written with a leading comma; the first one is cut off at the end.
  let o = '';
  if (s.traceId !== '') o += `,"traceId":"${s.traceId}"`;
  if (s.spanId !== '') o += `,"spanId":"${s.spanId}"`;
  if (s.traceState !== '') o += `,"traceState":${JSON.stringify(s.traceState)}`;
  if (s.parentSpanId !== '') o += `,"parentSpanId":"${s.parentSpanId}"`;
  if (s.flags !== 0) o += `,"flags":${s.flags}`;
  if (s.name !== '') o += `,"name":${JSON.stringify(s.name)}`;
  if (s.kind !== 0) o += `,"kind":${s.kind}`;
  if (s.startTimeUnixNano !== 0n) o += `,"startTimeUnixNano":"${s.startTimeUnixNano}"`;
  if (s.endTimeUnixNano !== 0n) o += `,"endTimeUnixNano":"${s.endTimeUnixNano}"`;
  if (s.attributes.length > 0) o += `,"attributes":${keyValuesJson(s.attributes)}`;
  if (s.droppedAttributesCount !== 0) o += `,"droppedAttributesCount":${s.droppedAttributesCount}`;
  if (s.events.length > 0) {
    o += ',"events":[';
    for (let i = 0; i < s.events.length; i++) {
      const e = s.events[i]!;
      let b = '';
      if (e.timeUnixNano !== 0n) b += `,"timeUnixNano":"${e.timeUnixNano}"`;
      if (e.name !== '') b += `,"name":${JSON.stringify(e.name)}`;
      if (e.attributes.length > 0) b += `,"attributes":${keyValuesJson(e.attributes)}`;
      if (e.droppedAttributesCount !== 0) b += `,"droppedAttributesCount":${e.droppedAttributesCount}`;
      o += `${i > 0 ? ',' : ''}{${b.slice(1)}}`;
    }
    o += ']';
  }
  if (s.droppedEventsCount !== 0) o += `,"droppedEventsCount":${s.droppedEventsCount}`;
  if (s.links.length > 0) {
    o += ',"links":[';
    for (let i = 0; i < s.links.length; i++) {
      const l = s.links[i]!;
      let b = '';
      if (l.traceId !== '') b += `,"traceId":"${l.traceId}"`;
      if (l.spanId !== '') b += `,"spanId":"${l.spanId}"`;
      if (l.traceState !== '') b += `,"traceState":${JSON.stringify(l.traceState)}`;
      if (l.attributes.length > 0) b += `,"attributes":${keyValuesJson(l.attributes)}`;
      if (l.droppedAttributesCount !== 0) b += `,"droppedAttributesCount":${l.droppedAttributesCount}`;
      if (l.flags !== 0) b += `,"flags":${l.flags}`;
      o += `${i > 0 ? ',' : ''}{${b.slice(1)}}`;
    }
    o += ']';
  }
  if (s.droppedLinksCount !== 0) o += `,"droppedLinksCount":${s.droppedLinksCount}`;
  const st = s.status;
  if (st.code !== 0 || st.message !== '') {
    if (st.message === '') o += `,"status":{"code":${st.code}}`;
    else if (st.code === 0) o += `,"status":{"message":${JSON.stringify(st.message)}}`;
    else o += `,"status":{"message":${JSON.stringify(st.message)},"code":${st.code}}`;
  }
  return `{${o.slice(1)}}`;
}

function keyValuesJson(kvs: readonly KeyValue[]): string {
  let o = '[';
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (i > 0) o += ',';
    o += `{"key":${JSON.stringify(kv.key)}`;
    // An absent value decodes as an AnyValue with nothing set, which is what `null` means.
    if (kv.value !== null) o += `,"value":${anyValueJson(kv.value)}`;
    o += '}';
  }
  return `${o}]`;
}

function anyValueJson(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return `{"stringValue":${JSON.stringify(v)}}`;
    case 'bigint':
      return `{"intValue":"${v}"}`;
    case 'number':
      // JSON has no NaN or infinities; the protobuf JSON mapping spells them as strings.
      return Number.isFinite(v)
        ? `{"doubleValue":${JSON.stringify(v)}}`
        : `{"doubleValue":"${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}"}`;
    case 'boolean':
      return v ? '{"boolValue":true}' : '{"boolValue":false}';
    default:
  }
  if (v === null) return '{}';
  if (v instanceof Uint8Array) return `{"bytesValue":"${encodeBase64(v)}"}`;
  if (Array.isArray(v)) {
    let o = '{"arrayValue":{"values":[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) o += ',';
      o += anyValueJson(v[i] as AnyValue);
    }
    return `${o}]}}`;
  }
  return `{"kvlistValue":{"values":${keyValuesJson((v as { readonly kvlist: readonly KeyValue[] }).kvlist)}}}`;
}
