/**
 * OTLP protobuf for traces, hand-written from the field numbers of
 * opentelemetry-proto `trace/v1/trace.proto`, `common/v1/common.proto`,
 * `resource/v1/resource.proto` and `collector/trace/v1/trace_service.proto`.
 *
 * Decoding walks one {@link ProtoReader}, narrowing its `end` to each
 * sub-message, and builds every model object once with all its fields, so
 * that spans, events, links and attributes each keep a single hidden class.
 */
import {
  type AnyValue,
  EMPTY_RESOURCE,
  EMPTY_SCOPE,
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
import { ProtoReader } from '../internal/proto-reader.ts';
import { readUtf8, Utf8Cache } from '../internal/utf8.ts';
import { InternTable } from './intern.ts';
import { EMPTY_LIST, MAX_ANY_VALUE_DEPTH, makeStatus } from './shared.ts';

/** Which field numbers a message knows, with their wire types, for error messages and wire-type checks. */
interface MessageFields {
  readonly name: string;
  readonly names: readonly string[];
  readonly types: Int8Array;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function fields(name: string, spec: Record<number, readonly [string, number]>): MessageFields {
  const max = Math.max(...Object.keys(spec).map(Number));
  const names: string[] = new Array<string>(max + 1).fill('');
  const types = new Int8Array(max + 1).fill(-1);
  for (const [k, [fieldName, wireType]] of Object.entries(spec)) {
    names[Number(k)] = fieldName;
    types[Number(k)] = wireType;
  }
  return { name, names, types };
}

const TRACES_DATA = fields('ExportTraceServiceRequest', { 1: ['resource_spans', LEN] });
const RESOURCE_SPANS = fields('ResourceSpans', {
  1: ['resource', LEN],
  2: ['scope_spans', LEN],
  3: ['schema_url', LEN],
});
const RESOURCE = fields('Resource', { 1: ['attributes', LEN], 2: ['dropped_attributes_count', VARINT] });
const SCOPE_SPANS = fields('ScopeSpans', { 1: ['scope', LEN], 2: ['spans', LEN], 3: ['schema_url', LEN] });
const SCOPE = fields('InstrumentationScope', {
  1: ['name', LEN],
  2: ['version', LEN],
  3: ['attributes', LEN],
  4: ['dropped_attributes_count', VARINT],
});
const SPAN = fields('Span', {
  1: ['trace_id', LEN],
  2: ['span_id', LEN],
  3: ['trace_state', LEN],
  4: ['parent_span_id', LEN],
  5: ['name', LEN],
  6: ['kind', VARINT],
  7: ['start_time_unix_nano', I64],
  8: ['end_time_unix_nano', I64],
  9: ['attributes', LEN],
  10: ['dropped_attributes_count', VARINT],
  11: ['events', LEN],
  12: ['dropped_events_count', VARINT],
  13: ['links', LEN],
  14: ['dropped_links_count', VARINT],
  15: ['status', LEN],
  16: ['flags', I32],
});
const STATUS = fields('Status', { 2: ['message', LEN], 3: ['code', VARINT] });
const EVENT = fields('Span.Event', {
  1: ['time_unix_nano', I64],
  2: ['name', LEN],
  3: ['attributes', LEN],
  4: ['dropped_attributes_count', VARINT],
});
const LINK = fields('Span.Link', {
  1: ['trace_id', LEN],
  2: ['span_id', LEN],
  3: ['trace_state', LEN],
  4: ['attributes', LEN],
  5: ['dropped_attributes_count', VARINT],
  6: ['flags', I32],
});
const KEY_VALUE = fields('KeyValue', { 1: ['key', LEN], 2: ['value', LEN] });
const ANY_VALUE = fields('AnyValue', {
  1: ['string_value', LEN],
  2: ['bool_value', VARINT],
  3: ['int_value', VARINT],
  4: ['double_value', I64],
  5: ['array_value', LEN],
  6: ['kvlist_value', LEN],
  7: ['bytes_value', LEN],
});
const ARRAY_VALUE = fields('ArrayValue', { 1: ['values', LEN] });
const KEY_VALUE_LIST = fields('KeyValueList', { 1: ['values', LEN] });

/**
 * Interning caches shared by all calls (decoding is synchronous): attribute
 * keys in one, span and event names in the other, so that neither evicts the
 * other. Attribute values are not interned one by one: a repeated value comes
 * with its key, and {@link ATTRIBUTES} interns the pair. Small tables, so
 * that they stay in the CPU caches.
 */
const KEYS = new Utf8Cache(512, 60);
const NAMES = new Utf8Cache(512, 60);

/**
 * Whole attributes (`KeyValue`s with a scalar value) by their encoded bytes.
 * The objects are shared between spans and calls; see {@link InternTable}.
 */
const ATTRIBUTE_SLOTS = 2048;
const ATTRIBUTES = new InternTable<KeyValue>(ATTRIBUTE_SLOTS, 60);

/**
 * Trace ids by their bytes: one comes once per span of its trace, so most
 * have been seen. (Span ids are mostly new, and a lookup that misses costs
 * more than the hex it would save, so they are decoded directly.)
 */
const ID_SLOTS = 1024;
const IDS = new InternTable<string>(ID_SLOTS, 16);

/** Reads a length-delimited trace id as lowercase hex, through {@link IDS}. */
function readId(r: ProtoReader): string {
  const at = r.pos;
  const end = r.lengthEnd();
  const start = r.pos;
  const found = IDS.find(r.buf, r.view, start, end);
  if (found >= 0) {
    r.pos = end;
    return IDS.get(found);
  }
  r.pos = at;
  const s = r.hex();
  if (found >= -ID_SLOTS) IDS.put(-found - 1, r.buf, r.view, start, end, s);
  return s;
}

/** Skips a field this decoder does not model, or throws when a known field has the wrong wire type. */
function other(r: ProtoReader, t: number, m: MessageFields): void {
  const f = t >>> 3;
  if (f < m.types.length) {
    const expected = m.types[f] as number;
    if (expected >= 0) r.wrongType(`${m.name}.${m.names[f]}`, t, expected);
  }
  r.skip(t & 7);
}

// Tags (field number << 3 | wire type) of the fields read on the hot path.
const T1_LEN = 0x0a;
const T2_LEN = 0x12;
const T3_LEN = 0x1a;
const T4_LEN = 0x22;
const T5_LEN = 0x2a;
const T6_LEN = 0x32;
const T7_LEN = 0x3a;
const T2_VARINT = 0x10;
const T3_VARINT = 0x18;
const T4_VARINT = 0x20;
const T5_VARINT = 0x28;
const T6_VARINT = 0x30;
const T1_I64 = 0x09;
const T4_I64 = 0x21;
const T6_I32 = 0x35;
const T7_I64 = 0x39;
const T8_I64 = 0x41;
const T9_LEN = 0x4a;
const T10_VARINT = 0x50;
const T11_LEN = 0x5a;
const T12_VARINT = 0x60;
const T13_LEN = 0x6a;
const T14_VARINT = 0x70;
const T15_LEN = 0x7a;
// Field 16 needs a two-byte tag varint: (16 << 3 | 5) = 0x85.
const T16_I32 = 0x85;
/** ResourceSpans.instrumentation_library_spans (deprecated, field 1000). */
const T1000_LEN = (1000 << 3) | LEN;

/**
 * Decodes an OTLP `ExportTraceServiceRequest` (same layout as `TracesData`)
 * from protobuf into spans. Throws {@link WireDecodeError} on bad input.
 *
 * Ids become lowercase hex of whatever bytes were sent (lengths are the
 * receiver's to check); an absent parent id becomes ''. Every span of one
 * `ResourceSpans` shares one {@link Resource} object and every span of one
 * `ScopeSpans` one {@link InstrumentationScope} object. Attributes with a
 * scalar value that were seen before are shared `KeyValue` objects (interned
 * across spans and calls), so nothing returned may be mutated, as the model's
 * `readonly` types say. Unknown fields are skipped; a known field with the
 * wrong wire type is an error, as is nesting deeper than 32 `AnyValue`s.
 *
 * @example
 * const spans = decodeOtlpTraces(new Uint8Array(await req.arrayBuffer()));
 */
export function decodeOtlpTraces(buf: Uint8Array): Span[] {
  const r = new ProtoReader(buf);
  const out: Span[] = [];
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T1_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      readResourceSpans(r, out);
      r.end = outer;
    } else other(r, t, TRACES_DATA);
  }
  return out;
}

/**
 * `ResourceSpans` carries its `schema_url` (field 3) after its spans in the
 * usual field order, but every span must point at the finished, shared
 * resource. So a first pass reads `resource` and `schema_url` while stepping
 * over `scope_spans` by their length prefixes, and a second pass decodes the
 * spans.
 */
function readResourceSpans(r: ProtoReader, out: Span[]): void {
  const start = r.pos;
  let attributes: KeyValue[] | undefined;
  let dropped = 0;
  let schemaUrl = '';
  let seenResource = false;
  let seenScopeSpans = false;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T2_LEN) {
      seenScopeSpans = true;
      r.pos = r.lengthEnd();
    } else if (t === T1000_LEN) r.pos = r.lengthEnd();
    else if (t === T1_LEN) {
      seenResource = true;
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      // A repeated singular message field merges (protobuf encoding spec, "Last One Wins").
      while (r.pos < r.end) {
        const u = r.tag();
        if (u === T1_LEN) {
          attributes ??= [];
          attributes.push(readKeyValueField(r, 1));
        } else if (u === T2_VARINT) dropped = r.uint32();
        else other(r, u, RESOURCE);
      }
      r.end = outer;
    } else if (t === T3_LEN) schemaUrl = r.string();
    else if (t >>> 3 === 1000) r.wrongType('ResourceSpans.instrumentation_library_spans', t, LEN);
    else other(r, t, RESOURCE_SPANS);
  }
  const resource: Resource =
    !seenResource && schemaUrl === ''
      ? EMPTY_RESOURCE
      : { attributes: attributes ?? EMPTY_LIST, droppedAttributesCount: dropped, schemaUrl };
  // Before OTLP 0.15, spans came in `instrumentation_library_spans` (field
  // 1000), whose InstrumentationLibrarySpans / InstrumentationLibrary have the
  // layout of ScopeSpans / InstrumentationScope. trace.proto asks receivers to
  // read it when `scope_spans` is absent and to ignore it otherwise.
  const wanted = seenScopeSpans ? T2_LEN : T1000_LEN;
  r.pos = start;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === wanted) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      readScopeSpans(r, resource, out);
      r.end = outer;
    } else r.skip(t & 7);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One pass: a second pass over the spans, as {@link readResourceSpans} does
 * over its few `ScopeSpans`, would touch every span twice, and those are cache
 * misses. So the scope object is created first and its fields filled in as
 * they arrive (`schema_url` usually after the spans); it is ours until this
 * returns. When the message had neither `scope` nor `schema_url`, the spans are
 * pointed at the shared {@link EMPTY_SCOPE} instead.
 */
function readScopeSpans(r: ProtoReader, resource: Resource, out: Span[]): void {
  const first = out.length;
  const scope: Mutable<InstrumentationScope> = {
    name: '',
    version: '',
    attributes: EMPTY_LIST,
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  let attributes: KeyValue[] | undefined;
  let seenScope = false;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T2_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      out.push(readSpan(r, resource, scope));
      r.end = outer;
    } else if (t === T1_LEN) {
      seenScope = true;
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      // A repeated singular message field merges (protobuf encoding spec, "Last One Wins").
      while (r.pos < r.end) {
        const u = r.tag();
        if (u === T1_LEN) scope.name = r.string();
        else if (u === T2_LEN) scope.version = r.string();
        else if (u === T3_LEN) {
          attributes ??= [];
          attributes.push(readKeyValueField(r, 1));
          scope.attributes = attributes;
        } else if (u === T4_VARINT) scope.droppedAttributesCount = r.uint32();
        else other(r, u, SCOPE);
      }
      r.end = outer;
    } else if (t === T3_LEN) scope.schemaUrl = r.string();
    else other(r, t, SCOPE_SPANS);
  }
  if (!seenScope && scope.schemaUrl === '') {
    for (let i = first; i < out.length; i++) (out[i] as Mutable<Span>).scope = EMPTY_SCOPE;
  }
}

/**
 * Scratch lists, reused by every call (decoding is synchronous and these
 * levels do not nest): items are collected here and copied into an array of
 * exactly their count. Growing a fresh `[]` by push reserves 17 slots on the
 * first push, mostly wasted for 1 to 3 events of 2 attributes, and the extra
 * allocation measured as garbage-collection time in the benchmark.
 */
const SPAN_ATTRIBUTES: KeyValue[] = [];
const SPAN_EVENTS: SpanEvent[] = [];
const SPAN_LINKS: SpanLink[] = [];
const EVENT_ATTRIBUTES: KeyValue[] = [];
const LINK_ATTRIBUTES: KeyValue[] = [];
/** Past this many entries a scratch list is emptied after use rather than kept (and its entries kept alive). */
const SCRATCH_KEEP_MAX = 1024;

/** The first `n` entries of `scratch` as a new array (the shared empty list when `n` is 0). */
function take<T>(scratch: T[], n: number): readonly T[] {
  if (n === 0) return EMPTY_LIST;
  const out = scratch.slice(0, n);
  if (n > SCRATCH_KEEP_MAX) scratch.length = 0;
  return out;
}

function readSpan(r: ProtoReader, resource: Resource, scope: InstrumentationScope): Span {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let parentSpanId = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  let nEvents = 0;
  let droppedEventsCount = 0;
  let nLinks = 0;
  let droppedLinksCount = 0;
  let status: SpanStatus = UNSET_STATUS;
  while (r.pos < r.end) {
    const t = r.tag();
    switch (t) {
      case T1_LEN:
        traceId = readId(r);
        break;
      case T2_LEN:
        spanId = r.hex();
        break;
      case T3_LEN:
        traceState = r.string();
        break;
      case T4_LEN:
        parentSpanId = r.hex();
        break;
      case T5_LEN:
        name = r.cachedString(NAMES);
        break;
      case T6_VARINT:
        kind = r.int32();
        break;
      case T7_I64:
        startTimeUnixNano = r.fixed64();
        break;
      case T8_I64:
        endTimeUnixNano = r.fixed64();
        break;
      case T9_LEN:
        SPAN_ATTRIBUTES[nAttributes++] = readKeyValueField(r, 1);
        break;
      case T10_VARINT:
        droppedAttributesCount = r.uint32();
        break;
      case T11_LEN: {
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        SPAN_EVENTS[nEvents++] = readEvent(r);
        r.end = outer;
        break;
      }
      case T12_VARINT:
        droppedEventsCount = r.uint32();
        break;
      case T13_LEN: {
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        SPAN_LINKS[nLinks++] = readLink(r);
        r.end = outer;
        break;
      }
      case T14_VARINT:
        droppedLinksCount = r.uint32();
        break;
      case T15_LEN: {
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        status = readStatus(r, status);
        r.end = outer;
        break;
      }
      case T16_I32:
        flags = r.fixed32();
        break;
      default:
        other(r, t, SPAN);
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
    attributes: take(SPAN_ATTRIBUTES, nAttributes),
    droppedAttributesCount,
    events: take(SPAN_EVENTS, nEvents),
    droppedEventsCount,
    links: take(SPAN_LINKS, nLinks),
    droppedLinksCount,
    status,
    resource,
    scope,
  };
}

/** `prev` carries the fields of an earlier occurrence of the same field, which protobuf merges. */
function readStatus(r: ProtoReader, prev: SpanStatus): SpanStatus {
  let code = prev.code;
  let message = prev.message;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T3_VARINT) code = r.int32();
    else if (t === T2_LEN) message = r.string();
    else other(r, t, STATUS);
  }
  return makeStatus(code, message);
}

function readEvent(r: ProtoReader): SpanEvent {
  let timeUnixNano = 0n;
  let name = '';
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T3_LEN) EVENT_ATTRIBUTES[nAttributes++] = readKeyValueField(r, 1);
    else if (t === T1_I64) timeUnixNano = r.fixed64();
    else if (t === T2_LEN) name = r.cachedString(NAMES);
    else if (t === T4_VARINT) droppedAttributesCount = r.uint32();
    else other(r, t, EVENT);
  }
  return { timeUnixNano, name, attributes: take(EVENT_ATTRIBUTES, nAttributes), droppedAttributesCount };
}

function readLink(r: ProtoReader): SpanLink {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  let flags = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T1_LEN) traceId = readId(r);
    else if (t === T2_LEN) spanId = r.hex();
    else if (t === T3_LEN) traceState = r.string();
    else if (t === T4_LEN) LINK_ATTRIBUTES[nAttributes++] = readKeyValueField(r, 1);
    else if (t === T5_VARINT) droppedAttributesCount = r.uint32();
    else if (t === T6_I32) flags = r.fixed32();
    else other(r, t, LINK);
  }
  return { traceId, spanId, traceState, attributes: take(LINK_ATTRIBUTES, nAttributes), droppedAttributesCount, flags };
}

/**
 * Reads one length-delimited `KeyValue` at the reader's position; `depth` is
 * that of its value.
 *
 * Nearly every attribute on the wire has the same short layout:
 * `len 0x0a klen key 0x12 vlen AnyValue{ one scalar member }` with every
 * length below 128. That layout is recognised byte by byte here, which skips
 * the general field loop (tag reads, sub-message bookkeeping) for about a
 * third of the cost; anything else, including any unknown field, takes
 * {@link readKeyValueGeneral}, so both paths give the same result.
 */
function readKeyValueField(r: ProtoReader, depth: number): KeyValue {
  const buf = r.buf;
  const view = r.view;
  const pos = r.pos;
  // Past the depth limit the general path throws TOO_DEEP.
  const kvLen = pos + 2 < r.end && depth <= MAX_ANY_VALUE_DEPTH ? (buf[pos] as number) : 0x80;
  const end = pos + 1 + kvLen;
  if (kvLen < 0x80 && end <= r.end && buf[pos + 1] === T1_LEN) {
    const found = ATTRIBUTES.find(buf, view, pos + 1, end);
    if (found >= 0) {
      r.pos = end;
      return ATTRIBUTES.get(found);
    }
    const kLen = buf[pos + 2] as number;
    const kEnd = pos + 3 + kLen;
    if (kLen < 0x80 && kEnd + 3 <= end && buf[kEnd] === T2_LEN) {
      const vLen = buf[kEnd + 1] as number;
      const vs = kEnd + 2;
      if (vLen < 0x80 && vs + vLen === end) {
        const vt = buf[vs] as number;
        let kv: KeyValue | undefined;
        if (vt === T1_LEN) {
          const sLen = buf[vs + 1] as number;
          if (sLen < 0x80 && vs + 2 + sLen === end) {
            kv = { key: KEYS.read(buf, view, pos + 3, kEnd), value: readUtf8(buf, vs + 2, end) };
          }
        } else if (vt === T3_VARINT || vt === T2_VARINT) {
          const outer = r.end;
          r.pos = vs + 1;
          r.end = end;
          const n = r.int64();
          r.end = outer;
          if (r.pos === end) kv = { key: KEYS.read(buf, view, pos + 3, kEnd), value: vt === T3_VARINT ? n : n !== 0n };
        } else if (vt === T4_I64 && vs + 9 === end) {
          r.pos = vs + 1;
          kv = { key: KEYS.read(buf, view, pos + 3, kEnd), value: r.double() };
        }
        if (kv !== undefined) {
          if (found >= -ATTRIBUTE_SLOTS) ATTRIBUTES.put(-found - 1, buf, view, pos + 1, end, kv);
          r.pos = end;
          return kv;
        }
        r.pos = pos;
      }
    }
  }
  return readKeyValueGeneral(r, depth);
}

function readKeyValueGeneral(r: ProtoReader, depth: number): KeyValue {
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  let key = '';
  let value: AnyValue = null;
  while (r.pos < end) {
    const t = r.tag();
    if (t === T1_LEN) key = r.cachedString(KEYS);
    else if (t === T2_LEN) value = readAnyValueField(r, depth);
    else other(r, t, KEY_VALUE);
  }
  r.end = outer;
  return { key, value };
}

/** Reads one length-delimited `AnyValue`; an `AnyValue` with no value set is `null`. */
function readAnyValueField(r: ProtoReader, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) {
    throw new WireDecodeError(
      WireErrorCode.TOO_DEEP,
      `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels at byte ${r.pos}`,
      r.pos,
    );
  }
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  let value: AnyValue = null;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case T1_LEN:
        value = r.string();
        break;
      case T3_VARINT:
        value = r.int64();
        break;
      case T2_VARINT:
        // bool is a varint; any non-zero value is true, whatever its width.
        value = r.int64() !== 0n;
        break;
      case T4_I64:
        value = r.double();
        break;
      case T5_LEN: {
        const items: AnyValue[] = [];
        const aEnd = r.lengthEnd();
        const aOuter = r.end;
        r.end = aEnd;
        while (r.pos < aEnd) {
          const u = r.tag();
          if (u === T1_LEN) items.push(readAnyValueField(r, depth + 1));
          else other(r, u, ARRAY_VALUE);
        }
        r.end = aOuter;
        value = items;
        break;
      }
      case T6_LEN: {
        const kvs: KeyValue[] = [];
        const kEnd = r.lengthEnd();
        const kOuter = r.end;
        r.end = kEnd;
        while (r.pos < kEnd) {
          const u = r.tag();
          if (u === T1_LEN) kvs.push(readKeyValueField(r, depth + 1));
          else other(r, u, KEY_VALUE_LIST);
        }
        r.end = kOuter;
        value = { kvlist: kvs };
        break;
      }
      case T7_LEN:
        value = r.bytes();
        break;
      default:
        other(r, t, ANY_VALUE);
    }
  }
  r.end = outer;
  return value;
}

export { encodeOtlpTraces, type FlatAttributes } from './proto-encode.ts';
