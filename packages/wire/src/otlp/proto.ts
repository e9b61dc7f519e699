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
import type { WireDecodeError } from '../errors.ts';
import { ProtoReader } from '../internal/proto-reader.ts';
import { readUtf8, Utf8Cache } from '../internal/utf8.ts';
import { InternTable, WholeKeyInternTable } from './intern.ts';
import {
  ANY_VALUE,
  ARRAY_VALUE,
  EVENT,
  KEY_VALUE,
  KEY_VALUE_LIST,
  LEN,
  LINK,
  other,
  RESOURCE,
  RESOURCE_SPANS,
  SCOPE,
  SCOPE_SPANS,
  SPAN,
  STATUS,
  TRACES_DATA,
  tooDeep,
} from './proto-fields.ts';

// Tags of the hot path. Kept in this module (scan.ts has the same): constants declared here are
// folded into the compiled code; imported from another module they measured 2 to 3% slower here
// and 27% slower in the scanner.
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

import { EMPTY_LIST, MAX_ANY_VALUE_DEPTH, makeStatus } from './shared.ts';

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
 * Longer attributes, up to the 127 bytes of the fast path in
 * {@link readKeyValueField}: user agents, SQL statements, exception messages
 * and URLs of fixed endpoints repeat as often as short values, and decoding
 * one costs several times more. A table of their own, so that they neither
 * widen every slot of {@link ATTRIBUTES} nor evict its entries.
 */
const LONG_ATTRIBUTE_SLOTS = 512;
const LONG_ATTRIBUTES = new InternTable<KeyValue>(LONG_ATTRIBUTE_SLOTS, 124);

/**
 * Events by their bytes after the time (`name`, `attributes`,
 * `dropped_attributes_count`): the same few events (`exception` with the
 * same message, `message` sent / received) recur on span after span, and
 * such a hit replaces a name lookup, an attribute lookup each and a new list
 * by one lookup. The stored value is the first event decoded from those
 * bytes; later ones share its name and attribute list (as attributes are
 * shared, see {@link ATTRIBUTES}) and get a new object with their own time.
 */
const EVENT_TAIL_SLOTS = 512;
const EVENT_TAILS = new InternTable<SpanEvent>(EVENT_TAIL_SLOTS, 124);
/** A {@link InternTable.find} result that names no slot: the event had no time first. */
const EVENT_TAIL_UNCACHED = -1 - EVENT_TAIL_SLOTS;

/**
 * Trace ids by their bytes: one comes once per span of its trace, so most
 * have been seen. (Span ids are mostly new, and a lookup that misses costs
 * more than the hex it would save, so they are decoded directly.)
 */
const ID_SLOTS = 1024;
const IDS = new InternTable<string>(ID_SLOTS, 16);

/**
 * Resources by the bytes of their `Resource` message: every request from a
 * service repeats its resource (a collector's batch holds a few dozen, each
 * with about ten attributes), and a hit replaces decoding those attributes
 * and a new object by one lookup. Sharing the object across requests also
 * lets whatever is kept per resource downstream (the store's resource ids,
 * keyed by object) be found at once instead of re-derived from the
 * attributes. Only resources whose attribute values are all scalars are
 * kept; the schema URL, which sits outside those bytes, must match too. At
 * most 1024 of up to 4 KiB (the table is then emptied).
 */
const RESOURCES = new WholeKeyInternTable<Resource>(1024, 4096);
/**
 * Instrumentation scopes by the bytes of their `InstrumentationScope`
 * message, for the same reasons as {@link RESOURCES}: a request carries a
 * scope per instrumentation library and service, the same ones every time.
 */
const SCOPES = new WholeKeyInternTable<InstrumentationScope>(1024, 1024);

/** Reads a length-delimited trace id as lowercase hex, through {@link IDS}. */
function readId(r: ProtoReader): string {
  const at = r.pos;
  const end = r.lengthEnd();
  const start = r.pos;
  const found = IDS.find(r.view, start, end);
  if (found >= 0) {
    r.pos = end;
    return IDS.get(found);
  }
  r.pos = at;
  const s = r.hex();
  IDS.put(-found - 1, r.buf, r.view, start, end, s);
  return s;
}

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
  let resourceFields = 0;
  let seenScopeSpans = false;
  /** The interned resource of the `Resource` bytes, while they are the only `resource` field. */
  let interned: Resource | undefined;
  /** The hash of those bytes in {@link RESOURCES}, while the resource decoded from them may be kept; else -1. */
  let internHash = -1;
  let bodyStart = 0;
  let bodyEnd = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T2_LEN) {
      seenScopeSpans = true;
      r.pos = r.lengthEnd();
    } else if (t === T1000_LEN) r.pos = r.lengthEnd();
    else if (t === T1_LEN) {
      const end = r.lengthEnd();
      if (++resourceFields === 1) {
        bodyStart = r.pos;
        bodyEnd = end;
        internHash = RESOURCES.hash(r.view, bodyStart, end);
        interned = RESOURCES.get(internHash, r.view, bodyStart, end);
        if (interned !== undefined) {
          r.pos = end;
          continue;
        }
      } else {
        internHash = -1;
        if (interned !== undefined) {
          // A second `resource` field merges into the first: start from a copy of what it held.
          attributes = interned.attributes.length === 0 ? undefined : [...interned.attributes];
          dropped = interned.droppedAttributesCount;
          interned = undefined;
        }
      }
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
  let resource: Resource;
  if (interned !== undefined && interned.schemaUrl === schemaUrl) resource = interned;
  else if (interned !== undefined) {
    resource = { attributes: interned.attributes, droppedAttributesCount: interned.droppedAttributesCount, schemaUrl };
  } else if (resourceFields === 0 && schemaUrl === '') resource = EMPTY_RESOURCE;
  else {
    resource = { attributes: attributes ?? EMPTY_LIST, droppedAttributesCount: dropped, schemaUrl };
    if (internHash >= 0 && (attributes === undefined || scalarValues(attributes))) {
      RESOURCES.set(internHash, r.buf, bodyStart, bodyEnd, resource);
    }
  }
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
 * they arrive; it is ours until this returns. `schema_url` (usually after the
 * spans) is set at the end. A scope found in {@link SCOPES} replaces it; that
 * one is shared and never changed here: should the message turn out to need
 * another object (a second `scope` field to merge, another schema URL), the
 * spans read so far are pointed at a new one. When the message had neither
 * `scope` nor `schema_url`, the spans are pointed at the shared
 * {@link EMPTY_SCOPE} instead.
 */
function readScopeSpans(r: ProtoReader, resource: Resource, out: Span[]): void {
  const first = out.length;
  let scope: Mutable<InstrumentationScope> = {
    name: '',
    version: '',
    attributes: EMPTY_LIST,
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  let attributes: KeyValue[] | undefined;
  let scopeFields = 0;
  let schemaUrl = '';
  /** Whether `scope` came from {@link SCOPES} (and must not be changed). */
  let shared = false;
  /** The hash of its bytes in {@link SCOPES}, while the scope decoded from them may be kept; else -1. */
  let internHash = -1;
  let bodyStart = 0;
  let bodyEnd = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T2_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      out.push(readSpan(r, resource, scope));
      r.end = outer;
    } else if (t === T1_LEN) {
      const end = r.lengthEnd();
      if (++scopeFields === 1) {
        bodyStart = r.pos;
        bodyEnd = end;
        internHash = SCOPES.hash(r.view, bodyStart, end);
        const found = SCOPES.get(internHash, r.view, bodyStart, end);
        if (found !== undefined) {
          scope = found as Mutable<InstrumentationScope>;
          shared = true;
          repointScope(out, first, scope);
          r.pos = end;
          continue;
        }
      } else {
        internHash = -1;
        if (shared) {
          // A second `scope` field merges into the first: into a copy of the shared one.
          attributes = scope.attributes.length === 0 ? undefined : [...scope.attributes];
          scope = { ...scope, attributes: attributes ?? EMPTY_LIST };
          shared = false;
          repointScope(out, first, scope);
        }
      }
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
    } else if (t === T3_LEN) schemaUrl = r.string();
    else other(r, t, SCOPE_SPANS);
  }
  if (scopeFields === 0 && schemaUrl === '') {
    repointScope(out, first, EMPTY_SCOPE);
    return;
  }
  if (shared) {
    if (scope.schemaUrl !== schemaUrl) repointScope(out, first, { ...scope, schemaUrl });
    return;
  }
  scope.schemaUrl = schemaUrl;
  if (internHash >= 0 && scalarValues(scope.attributes)) SCOPES.set(internHash, r.buf, bodyStart, bodyEnd, scope);
}

/** Points the spans from `first` on at `scope`. */
function repointScope(out: Span[], first: number, scope: InstrumentationScope): void {
  for (let i = first; i < out.length; i++) (out[i] as Mutable<Span>).scope = scope;
}

/** Past this many items a list grows by `push`; below it, one allocation of the right size. */
const RUN_COUNT_MAX = 1024;

/**
 * How many fields with the one-byte tag `tag` follow each other from `pos`
 * (where such a tag starts) before `end`, stepping over each by its length
 * prefix. A repeated field nearly always comes as one such run, so a list
 * sized by this count is filled without growing or copying; it is only a
 * hint (a later, separate run is appended, as are fields past the count),
 * and it stops at {@link RUN_COUNT_MAX}, so that a hostile run of tiny
 * fields neither sizes a list past that nor costs a long scan ahead.
 */
function runLength(buf: Uint8Array, pos: number, end: number, tag: number): number {
  let n = 0;
  while (n < RUN_COUNT_MAX && pos < end && buf[pos] === tag) {
    n++;
    pos++;
    if (pos >= end) break;
    let b = buf[pos++] as number;
    let len = b & 0x7f;
    for (let scale = 0x80; b >= 0x80 && scale <= 0x10000000; scale *= 0x80) {
      if (pos >= end) return n;
      b = buf[pos++] as number;
      len += (b & 0x7f) * scale;
    }
    pos += len;
  }
  return n;
}

/** Sets `item` as the `n`th entry of `list`, which was sized by {@link runLength}, or appends it. */
function place<T>(list: T[], n: number, item: T): void {
  if (n < list.length) list[n] = item;
  else list.push(item);
}

/** `list` with exactly `n` entries, or the shared empty list when there is none. */
function done<T>(list: T[] | undefined, n: number): readonly T[] {
  if (list === undefined) return EMPTY_LIST;
  // Only a run that was cut short can leave the list longer than what was read.
  if (n < list.length) list.length = n;
  return list;
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
  let attributes: KeyValue[] | undefined;
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  let events: SpanEvent[] | undefined;
  let nEvents = 0;
  let droppedEventsCount = 0;
  let links: SpanLink[] | undefined;
  let nLinks = 0;
  let droppedLinksCount = 0;
  let status: SpanStatus = UNSET_STATUS;
  // First the fields in the order SDKs write them (by field number), each
  // tried once against its one-byte tag: a compare per field instead of a tag
  // read and a dispatch. Anything else, in any order, goes to the loop after,
  // which carries on from the same state, so the result does not depend on
  // which path read a field.
  const buf = r.buf;
  const end = r.end;
  let p = r.pos;
  if (p < end && buf[p] === T1_LEN) {
    r.pos = p + 1;
    traceId = readId(r);
    p = r.pos;
  }
  if (p < end && buf[p] === T2_LEN) {
    r.pos = p + 1;
    spanId = r.hex();
    p = r.pos;
  }
  if (p < end && buf[p] === T3_LEN) {
    r.pos = p + 1;
    traceState = r.string();
    p = r.pos;
  }
  if (p < end && buf[p] === T4_LEN) {
    r.pos = p + 1;
    parentSpanId = r.hex();
    p = r.pos;
  }
  if (p < end && buf[p] === T5_LEN) {
    r.pos = p + 1;
    name = r.cachedString(NAMES);
    p = r.pos;
  }
  if (p < end && buf[p] === T6_VARINT) {
    r.pos = p + 1;
    kind = r.int32();
    p = r.pos;
  }
  if (p < end && buf[p] === T7_I64) {
    r.pos = p + 1;
    startTimeUnixNano = r.fixed64();
    p = r.pos;
  }
  if (p < end && buf[p] === T8_I64) {
    r.pos = p + 1;
    endTimeUnixNano = r.fixed64();
    p = r.pos;
  }
  if (p < end && buf[p] === T9_LEN) {
    attributes = new Array<KeyValue>(runLength(buf, p, end, T9_LEN));
    do {
      r.pos = p + 1;
      place(attributes, nAttributes++, readKeyValueField(r, 1));
      p = r.pos;
    } while (p < end && buf[p] === T9_LEN);
  }
  if (p < end && buf[p] === T10_VARINT) {
    r.pos = p + 1;
    droppedAttributesCount = r.uint32();
    p = r.pos;
  }
  if (p < end && buf[p] === T11_LEN) {
    events = new Array<SpanEvent>(runLength(buf, p, end, T11_LEN));
    do {
      r.pos = p + 1;
      r.end = r.lengthEnd();
      place(events, nEvents++, readEvent(r));
      r.end = end;
      p = r.pos;
    } while (p < end && buf[p] === T11_LEN);
  }
  if (p < end && buf[p] === T12_VARINT) {
    r.pos = p + 1;
    droppedEventsCount = r.uint32();
    p = r.pos;
  }
  if (p < end && buf[p] === T13_LEN) {
    links = new Array<SpanLink>(runLength(buf, p, end, T13_LEN));
    do {
      r.pos = p + 1;
      r.end = r.lengthEnd();
      place(links, nLinks++, readLink(r));
      r.end = end;
      p = r.pos;
    } while (p < end && buf[p] === T13_LEN);
  }
  if (p < end && buf[p] === T14_VARINT) {
    r.pos = p + 1;
    droppedLinksCount = r.uint32();
    p = r.pos;
  }
  if (p < end && buf[p] === T15_LEN) {
    r.pos = p + 1;
    r.end = r.lengthEnd();
    status = readStatus(r, status);
    r.end = end;
    p = r.pos;
  }
  // The tag of field 16 takes two bytes as a varint: 0x85 0x01.
  if (p + 1 < end && buf[p] === 0x85 && buf[p + 1] === 0x01) {
    r.pos = p + 2;
    flags = r.fixed32();
    p = r.pos;
  }
  r.pos = p;
  while (r.pos < end) {
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
        attributes ??= new Array<KeyValue>(runLength(r.buf, r.pos - 1, r.end, T9_LEN));
        place(attributes, nAttributes++, readKeyValueField(r, 1));
        break;
      case T10_VARINT:
        droppedAttributesCount = r.uint32();
        break;
      case T11_LEN: {
        events ??= new Array<SpanEvent>(runLength(r.buf, r.pos - 1, r.end, T11_LEN));
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        place(events, nEvents++, readEvent(r));
        r.end = outer;
        break;
      }
      case T12_VARINT:
        droppedEventsCount = r.uint32();
        break;
      case T13_LEN: {
        links ??= new Array<SpanLink>(runLength(r.buf, r.pos - 1, r.end, T13_LEN));
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        place(links, nLinks++, readLink(r));
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
    attributes: done(attributes, nAttributes),
    droppedAttributesCount,
    events: done(events, nEvents),
    droppedEventsCount,
    links: done(links, nLinks),
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
  let attributes: KeyValue[] | undefined;
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  // The usual field order first, as in readSpan.
  const buf = r.buf;
  const end = r.end;
  let p = r.pos;
  let tailFound = EVENT_TAIL_UNCACHED;
  if (p < end && buf[p] === T1_I64) {
    r.pos = p + 1;
    timeUnixNano = r.fixed64();
    p = r.pos;
    // The rest of the event is usually one seen before: name, attributes and
    // count come from there, only the time is new.
    tailFound = EVENT_TAILS.find(r.view, p, end);
    if (tailFound >= 0) {
      r.pos = end;
      const tail = EVENT_TAILS.get(tailFound);
      return {
        timeUnixNano,
        name: tail.name,
        attributes: tail.attributes,
        droppedAttributesCount: tail.droppedAttributesCount,
      };
    }
  }
  const tailStart = p;
  if (p < end && buf[p] === T2_LEN) {
    r.pos = p + 1;
    name = r.cachedString(NAMES);
    p = r.pos;
  }
  if (p < end && buf[p] === T3_LEN) {
    attributes = new Array<KeyValue>(runLength(buf, p, end, T3_LEN));
    do {
      r.pos = p + 1;
      place(attributes, nAttributes++, readKeyValueField(r, 1));
      p = r.pos;
    } while (p < end && buf[p] === T3_LEN);
  }
  if (p < end && buf[p] === T4_VARINT) {
    r.pos = p + 1;
    droppedAttributesCount = r.uint32();
    p = r.pos;
  }
  r.pos = p;
  if (p === end) {
    const event: SpanEvent = {
      timeUnixNano,
      name,
      attributes: done(attributes, nAttributes),
      droppedAttributesCount,
    };
    // Only the fields after the time were read, in the usual order, so the
    // same bytes after any time give this name, list and count.
    if (tailFound !== EVENT_TAIL_UNCACHED && scalarValues(event.attributes)) {
      EVENT_TAILS.put(-tailFound - 1, buf, r.view, tailStart, end, event);
    }
    return event;
  }
  while (r.pos < end) {
    const t = r.tag();
    if (t === T3_LEN) {
      attributes ??= new Array<KeyValue>(runLength(buf, r.pos - 1, end, T3_LEN));
      place(attributes, nAttributes++, readKeyValueField(r, 1));
    } else if (t === T1_I64) timeUnixNano = r.fixed64();
    else if (t === T2_LEN) name = r.cachedString(NAMES);
    else if (t === T4_VARINT) droppedAttributesCount = r.uint32();
    else other(r, t, EVENT);
  }
  return { timeUnixNano, name, attributes: done(attributes, nAttributes), droppedAttributesCount };
}

/** Whether no attribute has a value with parts that could be changed (bytes, arrays, lists), so the list may be shared. */
function scalarValues(attributes: readonly KeyValue[]): boolean {
  for (let i = 0; i < attributes.length; i++) {
    const v = (attributes[i] as KeyValue).value;
    if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

function readLink(r: ProtoReader): SpanLink {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let attributes: KeyValue[] | undefined;
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  let flags = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T1_LEN) traceId = readId(r);
    else if (t === T2_LEN) spanId = r.hex();
    else if (t === T3_LEN) traceState = r.string();
    else if (t === T4_LEN) {
      attributes ??= new Array<KeyValue>(runLength(r.buf, r.pos - 1, r.end, T4_LEN));
      place(attributes, nAttributes++, readKeyValueField(r, 1));
    } else if (t === T5_VARINT) droppedAttributesCount = r.uint32();
    else if (t === T6_I32) flags = r.fixed32();
    else other(r, t, LINK);
  }
  return { traceId, spanId, traceState, attributes: done(attributes, nAttributes), droppedAttributesCount, flags };
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
    const table = kvLen <= 60 ? ATTRIBUTES : LONG_ATTRIBUTES;
    const found = table.find(view, pos + 1, end);
    if (found >= 0) {
      r.pos = end;
      return table.get(found);
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
          table.put(-found - 1, buf, view, pos + 1, end, kv);
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
    throw tooDeep(r.pos);
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

export { encodeOtlpTraces, type FlatAttributes, type PackedIds } from './proto-encode.ts';
