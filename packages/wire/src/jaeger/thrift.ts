/**
 * Jaeger's Thrift `Batch` (jaeger-idl `thrift/jaeger.thrift`) in the binary
 * protocol, as Jaeger clients POST it to a collector's `/api/traces`
 * (`Content-Type: application/x-thrift`), mapped onto the span model the way
 * the OpenTelemetry Collector's Jaeger translator (`pkg/translator/jaeger`,
 * through which Jaeger v2 ingests too) maps Jaeger spans onto OTLP; where its
 * Thrift and proto paths differ, the proto path's richer rules (scope and
 * trace state lifted out of the tags) are followed:
 *
 * - `Process.serviceName` becomes the resource's `service.name`, process tags
 *   the other resource attributes (`hostname` becomes `host.name`,
 *   `jaeger.version` becomes `opencensus.exporterversion` = `Jaeger-<version>`),
 *   one shared resource for every span of the batch;
 * - ids are the unsigned big-endian hex of the i64s (`traceIdHigh` first);
 * - the parent is `parentSpanId`, or when that is 0 the first CHILD_OF
 *   reference in the same trace, else the first FOLLOWS_FROM one; every other
 *   reference becomes a link with `opentracing.ref_type` = `child_of` /
 *   `follows_from`;
 * - tags keep their type (LONG is a `bigint`, DOUBLE a `number`); repeated
 *   keys collapse to the last value at the first key's position, as pdata maps
 *   do; `span.kind`, `error`, `otel.status_code`, `otel.status_description`,
 *   `w3c.tracestate`, `otel.scope.name`/`otel.scope.version` (or the older
 *   `otel.library.*`) become the kind, status, trace state and scope, and the
 *   `http.status_code` fallback for the status applies;
 * - a log becomes an event named by its `event` field;
 * - microseconds become nanoseconds (`end = start + duration`), wrapping as
 *   the collector's uint64 arithmetic does; the sampled flag becomes the W3C
 *   sampled flag.
 *
 * Thrift `required` fields are enforced as Thrift readers do (a missing one is
 * `BAD_FIELD`); unknown field ids of any type are skipped; a repeated field
 * keeps its last value; bytes after the Batch are rejected, as thriftrw does
 * (Go's Thrift ignores them), so that two concatenated batches are not
 * silently cut to one.
 */
import {
  type AnyValue,
  EMPTY_SCOPE,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  SERVICE_NAME_KEY,
  type Span,
  type SpanEvent,
  SpanKind,
  type SpanLink,
  type SpanStatus,
  StatusCode,
  UNSET_STATUS,
} from '@traceloom/model';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { readUtf8 } from '../internal/utf8.ts';
import { ThriftReader, ThriftType } from './thrift-reader.ts';

/** jaeger.thrift `TagType`. */
const TagType = { STRING: 0, DOUBLE: 1, BOOL: 2, LONG: 3, BINARY: 4 } as const;
/** jaeger.thrift `SpanRefType`. */
const RefType = { CHILD_OF: 0, FOLLOWS_FROM: 1 } as const;
/** Jaeger's span flag for a sampled span (the W3C sampled bit has the same value). */
const JAEGER_SAMPLED = 1;

const ZERO_ID = '0000000000000000';
const EMPTY: readonly never[] = Object.freeze([]);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const REF_TYPE_KEY = 'opentracing.ref_type';
const CHILD_OF_ATTRS: readonly KeyValue[] = Object.freeze([Object.freeze({ key: REF_TYPE_KEY, value: 'child_of' })]);
const FOLLOWS_FROM_ATTRS: readonly KeyValue[] = Object.freeze([
  Object.freeze({ key: REF_TYPE_KEY, value: 'follows_from' }),
]);

/** Per-call state: the batch's resource and the scopes seen so far, so spans share them. */
interface DecodeContext {
  readonly resource: { attributes: readonly KeyValue[]; droppedAttributesCount: number; schemaUrl: string };
  readonly scopes: Map<string, InstrumentationScope>;
}

/**
 * Decodes a Jaeger Thrift (binary protocol) `Batch` into model spans. Throws
 * {@link WireDecodeError} on bad input: `TRUNCATED` for a value cut off by the
 * end of the body, `BAD_LENGTH` for a length or count that cannot fit in the
 * bytes left (or bytes left over after the batch), `BAD_THRIFT_TYPE` for an
 * unknown type id or a known field of the wrong type, `TOO_DEEP` for nesting
 * past 32 levels, `BAD_FIELD` for a missing required field.
 *
 * @example
 * const spans = decodeJaegerThriftBatch(new Uint8Array(await request.arrayBuffer()));
 */
export function decodeJaegerThriftBatch(buf: Uint8Array): Span[] {
  const r = new ThriftReader(buf);
  const ctx: DecodeContext = {
    resource: { attributes: EMPTY, droppedAttributesCount: 0, schemaUrl: '' },
    scopes: new Map(),
  };
  let spans: Span[] = [];
  let seen = 0;
  for (let t = r.fieldHeader(); t !== ThriftType.STOP; t = r.fieldHeader()) {
    switch (r.fieldId) {
      case 1:
        if (t !== ThriftType.STRUCT) r.wrongType('Batch.process', t, ThriftType.STRUCT);
        // The resource object exists before the process is read, because Thrift does not order fields.
        ctx.resource.attributes = readProcess(r);
        seen |= 1;
        break;
      case 2: {
        if (t !== ThriftType.LIST) r.wrongType('Batch.spans', t, ThriftType.LIST);
        const n = r.listHeader(ThriftType.STRUCT, 'Batch.spans');
        spans = [];
        for (let i = 0; i < n; i++) {
          const s = readSpan(r, ctx);
          if (s !== undefined) spans.push(s);
        }
        seen |= 2;
        break;
      }
      default:
        r.skip(t, 2);
    }
  }
  if ((seen & 1) === 0) missing('Batch', 'process', r.pos - 1);
  if ((seen & 2) === 0) missing('Batch', 'spans', r.pos - 1);
  if (r.pos !== buf.length) {
    throw new WireDecodeError(
      WireErrorCode.BAD_LENGTH,
      `${buf.length - r.pos} bytes left over after the Batch ends at byte ${r.pos}`,
      r.pos,
    );
  }
  return spans;
}

function missing(struct: string, field: string, at: number): never {
  throw new WireDecodeError(
    WireErrorCode.BAD_FIELD,
    `${struct} ending at byte ${at} lacks its required field ${field}`,
    at,
  );
}

/** Reads a `Process` (depth 2) and returns the resource attributes it makes. */
function readProcess(r: ThriftReader): KeyValue[] {
  let serviceName = '';
  let tags: KeyValue[] | undefined;
  let seen = false;
  for (let t = r.fieldHeader(); t !== ThriftType.STOP; t = r.fieldHeader()) {
    switch (r.fieldId) {
      case 1:
        if (t !== ThriftType.STRING) r.wrongType('Process.serviceName', t, ThriftType.STRING);
        serviceName = r.string();
        seen = true;
        break;
      case 2:
        if (t !== ThriftType.LIST) r.wrongType('Process.tags', t, ThriftType.LIST);
        tags = readTagList(r, 'Process.tags', 3);
        break;
      default:
        r.skip(t, 3);
    }
  }
  if (!seen) missing('Process', 'serviceName', r.pos - 1);
  let attrs: KeyValue[];
  if (serviceName !== '') {
    attrs = [{ key: SERVICE_NAME_KEY, value: serviceName }];
    // Tags come after service.name, so a `service.name` tag overrides it, as in the collector.
    if (tags !== undefined) for (const kv of tags) attrs.push(kv);
    attrs = dedupe(attrs);
  } else {
    attrs = tags ?? [];
  }
  return translateProcessTags(attrs);
}

/**
 * The collector's two renames of process tags, each applied only when the
 * target key is not already there: `hostname` -> `host.name` (moved to the
 * end), `jaeger.version` -> `opencensus.exporterversion` = `Jaeger-<value>`.
 */
function translateProcessTags(attrs: KeyValue[]): KeyValue[] {
  let hostname = -1;
  let hostName = -1;
  let jaegerVersion = -1;
  let exporterVersion = -1;
  for (let i = 0; i < attrs.length; i++) {
    switch ((attrs[i] as KeyValue).key) {
      case 'hostname':
        hostname = i;
        break;
      case 'host.name':
        hostName = i;
        break;
      case 'jaeger.version':
        jaegerVersion = i;
        break;
      case 'opencensus.exporterversion':
        exporterVersion = i;
        break;
    }
  }
  if ((hostname < 0 || hostName >= 0) && (jaegerVersion < 0 || exporterVersion >= 0)) return attrs;
  const out: KeyValue[] = [];
  for (let i = 0; i < attrs.length; i++) {
    if ((i === hostname && hostName < 0) || (i === jaegerVersion && exporterVersion < 0)) continue;
    out.push(attrs[i] as KeyValue);
  }
  if (hostname >= 0 && hostName < 0) out.push({ key: 'host.name', value: (attrs[hostname] as KeyValue).value });
  if (jaegerVersion >= 0 && exporterVersion < 0) {
    const v = (attrs[jaegerVersion] as KeyValue).value;
    out.push({ key: 'opencensus.exporterversion', value: `Jaeger-${typeof v === 'string' ? v : ''}` });
  }
  return out;
}

/** Reads a `list<Tag>` whose header is next; `depth` is the depth of its elements. */
function readTagList(r: ThriftReader, what: string, depth: number): KeyValue[] {
  const n = r.listHeader(ThriftType.STRUCT, what);
  const out: KeyValue[] = [];
  for (let i = 0; i < n; i++) out.push(readTag(r, depth));
  return dedupe(out);
}

/**
 * Reads a `Tag`. Only the value field that `vType` selects is kept; the
 * others are read as positions and never decoded (jaeger-client writes all
 * five, zero-filled).
 */
function readTag(r: ThriftReader, depth: number): KeyValue {
  let key = '';
  let vType = -1;
  let seen = 0;
  let strStart = -1;
  let strEnd = 0;
  let vDouble = 0;
  let vBool = false;
  let longAt = -1;
  let binStart = -1;
  let binEnd = 0;
  for (let t = r.fieldHeader(); t !== ThriftType.STOP; t = r.fieldHeader()) {
    switch (r.fieldId) {
      case 1:
        if (t !== ThriftType.STRING) r.wrongType('Tag.key', t, ThriftType.STRING);
        key = r.string();
        seen |= 1;
        break;
      case 2:
        if (t !== ThriftType.I32) r.wrongType('Tag.vType', t, ThriftType.I32);
        vType = r.i32();
        seen |= 2;
        break;
      case 3:
        if (t !== ThriftType.STRING) r.wrongType('Tag.vStr', t, ThriftType.STRING);
        strStart = r.stringPos();
        strEnd = r.pos;
        break;
      case 4:
        if (t !== ThriftType.DOUBLE) r.wrongType('Tag.vDouble', t, ThriftType.DOUBLE);
        vDouble = r.double();
        break;
      case 5:
        if (t !== ThriftType.BOOL) r.wrongType('Tag.vBool', t, ThriftType.BOOL);
        vBool = r.bool();
        break;
      case 6:
        if (t !== ThriftType.I64) r.wrongType('Tag.vLong', t, ThriftType.I64);
        longAt = r.i64Pos();
        break;
      case 7:
        if (t !== ThriftType.STRING) r.wrongType('Tag.vBinary', t, ThriftType.STRING);
        binStart = r.stringPos();
        binEnd = r.pos;
        break;
      default:
        r.skip(t, depth + 1);
    }
  }
  if ((seen & 1) === 0) missing('Tag', 'key', r.pos - 1);
  if ((seen & 2) === 0) missing('Tag', 'vType', r.pos - 1);
  let value: AnyValue;
  switch (vType) {
    case TagType.STRING:
      value = strStart < 0 ? '' : readUtf8(r.buf, strStart, strEnd);
      break;
    case TagType.DOUBLE:
      value = vDouble;
      break;
    case TagType.BOOL:
      value = vBool;
      break;
    case TagType.LONG:
      value = longAt < 0 ? 0n : r.i64At(longAt);
      break;
    case TagType.BINARY:
      value = binStart < 0 ? new Uint8Array(0) : r.buf.slice(binStart, binEnd);
      break;
    default:
      // The collector keeps a tag of an unknown type as a string saying so rather than dropping it.
      value = `<Unknown Jaeger TagType ${vType}>`;
  }
  return { key, value };
}

/**
 * Collapses repeated keys as pdata's `Map.Put*` does: the last value wins and
 * stays at the position of the first occurrence. Lists without repeats (the
 * usual case) are returned as they are.
 */
function dedupe(list: KeyValue[]): KeyValue[] {
  const n = list.length;
  if (n < 2) return list;
  if (n <= 16) {
    let repeated = false;
    for (let i = 1; i < n && !repeated; i++) {
      const k = (list[i] as KeyValue).key;
      for (let j = 0; j < i; j++) {
        if ((list[j] as KeyValue).key === k) {
          repeated = true;
          break;
        }
      }
    }
    if (!repeated) return list;
  }
  // A Map, not the nested loop, above 16 entries: a hostile body can carry millions of tags.
  const slot = new Map<string, number>();
  const out: KeyValue[] = [];
  for (let i = 0; i < n; i++) {
    const kv = list[i] as KeyValue;
    const j = slot.get(kv.key);
    if (j === undefined) {
      slot.set(kv.key, out.length);
      out.push(kv);
    } else out[j] = kv;
  }
  return out;
}

/** A reference as read; ids kept as hex. */
interface Ref {
  readonly refType: number;
  readonly traceId: string;
  readonly spanId: string;
}

const SPAN_REQUIRED = [
  [1, 'traceIdLow'],
  [2, 'traceIdHigh'],
  [4, 'spanId'],
  [8, 'parentSpanId'],
  [16, 'operationName'],
  [32, 'flags'],
  [64, 'startTime'],
  [128, 'duration'],
] as const;

/** Reads a `Span` (depth 2). Returns `undefined` for an all-zero span, which the collector skips. */
function readSpan(r: ThriftReader, ctx: DecodeContext): Span | undefined {
  let lowAt = -1;
  let highAt = -1;
  let spanAt = -1;
  let parentAt = -1;
  let name = '';
  let refs: Ref[] | undefined;
  let jaegerFlags = 0;
  let startAt = -1;
  let durationAt = -1;
  let tags: KeyValue[] | undefined;
  let logs: SpanEvent[] | undefined;
  let seen = 0;
  for (let t = r.fieldHeader(); t !== ThriftType.STOP; t = r.fieldHeader()) {
    switch (r.fieldId) {
      case 1:
        if (t !== ThriftType.I64) r.wrongType('Span.traceIdLow', t, ThriftType.I64);
        lowAt = r.i64Pos();
        seen |= 1;
        break;
      case 2:
        if (t !== ThriftType.I64) r.wrongType('Span.traceIdHigh', t, ThriftType.I64);
        highAt = r.i64Pos();
        seen |= 2;
        break;
      case 3:
        if (t !== ThriftType.I64) r.wrongType('Span.spanId', t, ThriftType.I64);
        spanAt = r.i64Pos();
        seen |= 4;
        break;
      case 4:
        if (t !== ThriftType.I64) r.wrongType('Span.parentSpanId', t, ThriftType.I64);
        parentAt = r.i64Pos();
        seen |= 8;
        break;
      case 5:
        if (t !== ThriftType.STRING) r.wrongType('Span.operationName', t, ThriftType.STRING);
        name = r.string();
        seen |= 16;
        break;
      case 6:
        if (t !== ThriftType.LIST) r.wrongType('Span.references', t, ThriftType.LIST);
        refs = readRefs(r);
        break;
      case 7:
        if (t !== ThriftType.I32) r.wrongType('Span.flags', t, ThriftType.I32);
        jaegerFlags = r.i32();
        seen |= 32;
        break;
      case 8:
        if (t !== ThriftType.I64) r.wrongType('Span.startTime', t, ThriftType.I64);
        startAt = r.i64Pos();
        seen |= 64;
        break;
      case 9:
        if (t !== ThriftType.I64) r.wrongType('Span.duration', t, ThriftType.I64);
        durationAt = r.i64Pos();
        seen |= 128;
        break;
      case 10:
        if (t !== ThriftType.LIST) r.wrongType('Span.tags', t, ThriftType.LIST);
        tags = readTagList(r, 'Span.tags', 3);
        break;
      case 11:
        if (t !== ThriftType.LIST) r.wrongType('Span.logs', t, ThriftType.LIST);
        logs = readLogs(r);
        break;
      default:
        r.skip(t, 3);
    }
  }
  if (seen !== 255) {
    for (const [bit, field] of SPAN_REQUIRED) if ((seen & bit) === 0) missing('Span', field, r.pos - 1);
  }
  if (
    refs === undefined &&
    tags === undefined &&
    logs === undefined &&
    name === '' &&
    jaegerFlags === 0 &&
    r.isZeroAt(lowAt) &&
    r.isZeroAt(highAt) &&
    r.isZeroAt(spanAt) &&
    r.isZeroAt(parentAt) &&
    r.isZeroAt(startAt) &&
    r.isZeroAt(durationAt)
  ) {
    return undefined;
  }

  const traceId = r.hexAt(highAt) + r.hexAt(lowAt);
  let parentHex = r.isZeroAt(parentAt) ? ZERO_ID : r.hexAt(parentAt);
  let links: readonly SpanLink[] = EMPTY;
  if (refs !== undefined && refs.length > 0) {
    if (parentHex === ZERO_ID) parentHex = parentFromRefs(refs, traceId);
    links = refsToLinks(refs, parentHex);
  }

  let attributes: readonly KeyValue[] = tags ?? EMPTY;
  let kind: number = SpanKind.UNSPECIFIED;
  let status: SpanStatus = UNSET_STATUS;
  let traceState = '';
  let scope: InstrumentationScope = EMPTY_SCOPE;
  if (tags !== undefined && tags.length > 0) {
    const special = extractSpecialTags(tags);
    if (special !== undefined) {
      attributes = special.attributes;
      kind = special.kind;
      status = special.status;
      traceState = special.traceState;
      if (special.scopeName !== undefined) scope = scopeFor(ctx, special.scopeName, special.scopeVersion);
    }
  }

  return {
    traceId,
    spanId: r.hexAt(spanAt),
    parentSpanId: parentHex === ZERO_ID ? '' : parentHex,
    traceState,
    flags: jaegerFlags & JAEGER_SAMPLED,
    name,
    kind,
    startTimeUnixNano: microsToNanos(r, startAt),
    endTimeUnixNano: endNanos(r, startAt, durationAt),
    attributes,
    droppedAttributesCount: 0,
    events: logs ?? EMPTY,
    droppedEventsCount: 0,
    links,
    droppedLinksCount: 0,
    status,
    resource: ctx.resource as Resource,
    scope,
  };
}

/** Jaeger's `Span.ParentSpanID()`: the first CHILD_OF reference in the same trace, else the first FOLLOWS_FROM one. */
function parentFromRefs(refs: readonly Ref[], traceId: string): string {
  let followsFrom = ZERO_ID;
  for (const ref of refs) {
    if (ref.traceId !== traceId) continue;
    if (ref.refType === RefType.CHILD_OF) return ref.spanId;
    if (followsFrom === ZERO_ID && ref.refType === RefType.FOLLOWS_FROM) followsFrom = ref.spanId;
  }
  return followsFrom;
}

/**
 * Every reference except a CHILD_OF one to the parent becomes a link. Like
 * the collector, this compares span ids only, and a FOLLOWS_FROM reference
 * that supplied the parent stays a link.
 */
function refsToLinks(refs: readonly Ref[], parentHex: string): readonly SpanLink[] {
  const links: SpanLink[] = [];
  for (const ref of refs) {
    const childOf = ref.refType === RefType.CHILD_OF;
    if (childOf && ref.spanId === parentHex) continue;
    links.push({
      traceId: ref.traceId,
      spanId: ref.spanId,
      traceState: '',
      attributes: childOf ? CHILD_OF_ATTRS : FOLLOWS_FROM_ATTRS,
      droppedAttributesCount: 0,
      flags: 0,
    });
  }
  return links.length > 0 ? links : EMPTY;
}

/** Reads a `list<SpanRef>` whose header is next (elements at depth 3). */
function readRefs(r: ThriftReader): Ref[] {
  const n = r.listHeader(ThriftType.STRUCT, 'Span.references');
  const out: Ref[] = [];
  for (let i = 0; i < n; i++) {
    let refType = 0;
    let lowAt = -1;
    let highAt = -1;
    let spanAt = -1;
    let seen = 0;
    for (let t = r.fieldHeader(); t !== ThriftType.STOP; t = r.fieldHeader()) {
      switch (r.fieldId) {
        case 1:
          if (t !== ThriftType.I32) r.wrongType('SpanRef.refType', t, ThriftType.I32);
          refType = r.i32();
          seen |= 1;
          break;
        case 2:
          if (t !== ThriftType.I64) r.wrongType('SpanRef.traceIdLow', t, ThriftType.I64);
          lowAt = r.i64Pos();
          seen |= 2;
          break;
        case 3:
          if (t !== ThriftType.I64) r.wrongType('SpanRef.traceIdHigh', t, ThriftType.I64);
          highAt = r.i64Pos();
          seen |= 4;
          break;
        case 4:
          if (t !== ThriftType.I64) r.wrongType('SpanRef.spanId', t, ThriftType.I64);
          spanAt = r.i64Pos();
          seen |= 8;
          break;
        default:
          r.skip(t, 4);
      }
    }
    if ((seen & 1) === 0) missing('SpanRef', 'refType', r.pos - 1);
    if ((seen & 2) === 0) missing('SpanRef', 'traceIdLow', r.pos - 1);
    if ((seen & 4) === 0) missing('SpanRef', 'traceIdHigh', r.pos - 1);
    if ((seen & 8) === 0) missing('SpanRef', 'spanId', r.pos - 1);
    out.push({ refType, traceId: r.hexAt(highAt) + r.hexAt(lowAt), spanId: r.hexAt(spanAt) });
  }
  return out;
}

/** Reads a `list<Log>` whose header is next (elements at depth 3) into events. */
function readLogs(r: ThriftReader): SpanEvent[] {
  const n = r.listHeader(ThriftType.STRUCT, 'Span.logs');
  const out: SpanEvent[] = [];
  for (let i = 0; i < n; i++) {
    let tsAt = -1;
    let fields: KeyValue[] | undefined;
    for (let t = r.fieldHeader(); t !== ThriftType.STOP; t = r.fieldHeader()) {
      switch (r.fieldId) {
        case 1:
          if (t !== ThriftType.I64) r.wrongType('Log.timestamp', t, ThriftType.I64);
          tsAt = r.i64Pos();
          break;
        case 2:
          if (t !== ThriftType.LIST) r.wrongType('Log.fields', t, ThriftType.LIST);
          fields = readTagList(r, 'Log.fields', 4);
          break;
        default:
          r.skip(t, 4);
      }
    }
    if (tsAt < 0) missing('Log', 'timestamp', r.pos - 1);
    if (fields === undefined) missing('Log', 'fields', r.pos - 1);
    // The OTel spec's Jaeger mapping puts an event's name in the `event` field; the collector takes it back
    // out (a non-string value gives an empty name) and keeps every other field, `message` included.
    let eventName = '';
    for (let j = 0; j < fields.length; j++) {
      const kv = fields[j] as KeyValue;
      if (kv.key !== 'event') continue;
      if (typeof kv.value === 'string') eventName = kv.value;
      fields.splice(j, 1);
      break;
    }
    out.push({
      timeUnixNano: microsToNanos(r, tsAt),
      name: eventName,
      attributes: fields.length > 0 ? fields : EMPTY,
      droppedAttributesCount: 0,
    });
  }
  return out;
}

/** The span fields that the collector lifts out of the tags. */
interface SpecialTags {
  readonly attributes: readonly KeyValue[];
  readonly kind: number;
  readonly status: SpanStatus;
  readonly traceState: string;
  readonly scopeName: string | undefined;
  readonly scopeVersion: string;
}

/** pdata's `Value.Str()`: the string, or '' for a value of any other type. */
function str(v: AnyValue): string {
  return typeof v === 'string' ? v : '';
}

/**
 * Applies the collector's special tags (span kind, status, trace state,
 * scope) to a span's deduplicated tags. Returns `undefined`, having
 * allocated nothing, when there are none.
 */
function extractSpecialTags(tags: readonly KeyValue[]): SpecialTags | undefined {
  let iKind = -1;
  let iError = -1;
  let iCode = -1;
  let iDesc = -1;
  let iHttpCode = -1;
  let iHttpMsg = -1;
  let iTraceState = -1;
  let iScopeName = -1;
  let iScopeVersion = -1;
  let iLibName = -1;
  let iLibVersion = -1;
  let any = false;
  for (let i = 0; i < tags.length; i++) {
    switch ((tags[i] as KeyValue).key) {
      case 'span.kind':
        iKind = i;
        any = true;
        break;
      case 'error':
        iError = i;
        any = true;
        break;
      case 'otel.status_code':
        iCode = i;
        any = true;
        break;
      case 'otel.status_description':
        iDesc = i;
        break;
      case 'http.status_code':
        iHttpCode = i;
        any = true;
        break;
      case 'http.status_message':
        iHttpMsg = i;
        break;
      case 'w3c.tracestate':
        iTraceState = i;
        any = true;
        break;
      case 'otel.scope.name':
        iScopeName = i;
        any = true;
        break;
      case 'otel.scope.version':
        iScopeVersion = i;
        break;
      case 'otel.library.name':
        iLibName = i;
        any = true;
        break;
      case 'otel.library.version':
        iLibVersion = i;
        break;
    }
  }
  if (!any) return undefined;
  // Indices of the lifted tags; at most 8 of them, so a linear scan beats a Set.
  const drop: number[] = [];

  let kind: number = SpanKind.UNSPECIFIED;
  if (iKind >= 0) {
    kind = kindOf(str((tags[iKind] as KeyValue).value));
    drop.push(iKind);
  }

  // Status, in the collector's order of precedence: error=true, then otel.status_code, then http.status_code.
  let code: number = StatusCode.UNSET;
  let message = '';
  let exists = false;
  const errorValue = iError >= 0 ? (tags[iError] as KeyValue).value : undefined;
  if (errorValue === true) {
    code = StatusCode.ERROR;
    exists = true;
    drop.push(iError);
    if (iDesc >= 0) {
      message = str((tags[iDesc] as KeyValue).value);
      drop.push(iDesc);
    } else if (iHttpMsg >= 0) message = str((tags[iHttpMsg] as KeyValue).value);
  }
  if (iCode >= 0) {
    if (!exists) {
      exists = true;
      const c = str((tags[iCode] as KeyValue).value).toUpperCase();
      if (c === 'OK') code = StatusCode.OK;
      else if (c === 'ERROR') code = StatusCode.ERROR;
      if (iDesc >= 0) {
        message = str((tags[iDesc] as KeyValue).value);
        drop.push(iDesc);
      }
    }
    drop.push(iCode);
  } else if (!exists && iHttpCode >= 0) {
    const httpCode = httpCodeOf((tags[iHttpCode] as KeyValue).value);
    if (httpCode !== undefined) {
      const c = statusFromHttp(httpCode, kind);
      if (c !== StatusCode.UNSET) {
        exists = true;
        code = c;
      }
      if (iHttpMsg >= 0) message = str((tags[iHttpMsg] as KeyValue).value);
    }
  }

  let traceState = '';
  if (iTraceState >= 0) {
    traceState = str((tags[iTraceState] as KeyValue).value);
    drop.push(iTraceState);
  }

  let scopeName: string | undefined;
  let scopeVersion = '';
  if (iScopeName >= 0) {
    scopeName = str((tags[iScopeName] as KeyValue).value);
    drop.push(iScopeName);
    if (iScopeVersion >= 0) {
      scopeVersion = str((tags[iScopeVersion] as KeyValue).value);
      drop.push(iScopeVersion);
    }
  } else if (iLibName >= 0) {
    scopeName = str((tags[iLibName] as KeyValue).value);
    drop.push(iLibName);
    if (iLibVersion >= 0) {
      scopeVersion = str((tags[iLibVersion] as KeyValue).value);
      drop.push(iLibVersion);
    }
  }

  let attributes: readonly KeyValue[] = tags;
  if (drop.length > 0) {
    if (drop.length === tags.length) attributes = EMPTY;
    else {
      const kept: KeyValue[] = [];
      for (let i = 0; i < tags.length; i++) if (!drop.includes(i)) kept.push(tags[i] as KeyValue);
      attributes = kept;
    }
  }
  return {
    attributes,
    kind,
    status: exists ? { code, message } : UNSET_STATUS,
    traceState,
    scopeName,
    scopeVersion,
  };
}

/** The OpenTracing `span.kind` values; anything else is UNSPECIFIED. */
function kindOf(v: string): number {
  switch (v) {
    case 'client':
      return SpanKind.CLIENT;
    case 'server':
      return SpanKind.SERVER;
    case 'producer':
      return SpanKind.PRODUCER;
    case 'consumer':
      return SpanKind.CONSUMER;
    case 'internal':
      return SpanKind.INTERNAL;
    default:
      return SpanKind.UNSPECIFIED;
  }
}

const DECIMAL_INT = /^[+-]?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * `http.status_code` as the collector reads it: an int64 tag, or a string of
 * a decimal int64; any other type (a DOUBLE included) gives no status.
 */
function httpCodeOf(v: AnyValue): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'string' || !DECIMAL_INT.test(v)) return undefined;
  const n = BigInt(v);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/**
 * OpenTelemetry's HTTP status rule as the collector applies it: 4xx is an
 * error for clients and unset for servers; otherwise 100..398 is unset (the
 * collector's bound is `< 399`) and everything else an error.
 */
function statusFromHttp(httpCode: bigint, kind: number): number {
  if (httpCode >= 400n && httpCode < 500n) {
    if (kind === SpanKind.CLIENT) return StatusCode.ERROR;
    if (kind === SpanKind.SERVER) return StatusCode.UNSET;
  }
  return httpCode >= 100n && httpCode < 399n ? StatusCode.UNSET : StatusCode.ERROR;
}

function scopeFor(ctx: DecodeContext, name: string, version: string): InstrumentationScope {
  const key = `${name}\u0000${version}`;
  let scope = ctx.scopes.get(key);
  if (scope === undefined) {
    scope = { name, version, attributes: EMPTY, droppedAttributesCount: 0, schemaUrl: '' };
    ctx.scopes.set(key, scope);
  }
  return scope;
}

/** The i64 at `at` as a number when it is in [0, 2^53), else -1. */
function safeAt(r: ThriftReader, at: number): number {
  const hi = r.view.getInt32(at);
  if (hi < 0 || hi >= 0x200000) return -1;
  return hi * 4294967296 + r.view.getUint32(at + 4);
}

/** Microseconds to nanoseconds as the collector computes them: `uint64(µs) * 1000`, wrapping. */
function microsToNanos(r: ThriftReader, at: number): bigint {
  const v = safeAt(r, at);
  // Below 2^53 µs the product stays below 2^63: no wrap to apply.
  if (v >= 0) return BigInt(v) * 1000n;
  return BigInt.asUintN(64, r.i64At(at) * 1000n);
}

/** `uint64(start + duration) * 1000`, with the collector's int64 and uint64 wrapping. */
function endNanos(r: ThriftReader, startAt: number, durationAt: number): bigint {
  const s = safeAt(r, startAt);
  const d = safeAt(r, durationAt);
  if (s >= 0 && d >= 0 && s + d <= MAX_SAFE) return BigInt(s + d) * 1000n;
  // Reducing modulo 2^64 once at the end gives the same result as wrapping at each step.
  return BigInt.asUintN(64, (r.i64At(startAt) + r.i64At(durationAt)) * 1000n);
}
