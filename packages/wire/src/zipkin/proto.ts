import { bytesToHex, type Span } from '@traceloom/model';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { ProtoReader, WireType } from '../internal/proto-reader.ts';
import { ProtoWriter } from '../internal/proto-writer.ts';
import { Utf8Cache } from '../internal/utf8.ts';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip-address.ts';
import {
  ModelToZipkin,
  type ZipkinAnnotation,
  type ZipkinEndpoint,
  ZipkinKind,
  type ZipkinSpan,
  ZipkinToModel,
} from './mapping.ts';

/*
 * Field numbers of openzipkin/zipkin-api `zipkin.proto` (package zipkin.proto3).
 *
 * ListOfSpans: spans = 1.
 * Span: trace_id = 1 (bytes, 8 or 16), parent_id = 2, id = 3, kind = 4 (enum),
 *   name = 5, timestamp = 6 (fixed64 µs), duration = 7 (uint64 µs),
 *   local_endpoint = 8, remote_endpoint = 9, annotations = 10,
 *   tags = 11 (map<string, string>: entry key = 1, value = 2), debug = 12,
 *   shared = 13.
 * Endpoint: service_name = 1, ipv4 = 2 (4 bytes), ipv6 = 3 (16 bytes), port = 4 (int32).
 * Annotation: timestamp = 1 (fixed64 µs), value = 2.
 */

/** Tags (field number << 3 | wire type) of the fields we read and write. */
const T = {
  LIST_SPANS: (1 << 3) | WireType.LEN,
  TRACE_ID: (1 << 3) | WireType.LEN,
  PARENT_ID: (2 << 3) | WireType.LEN,
  ID: (3 << 3) | WireType.LEN,
  KIND: (4 << 3) | WireType.VARINT,
  NAME: (5 << 3) | WireType.LEN,
  TIMESTAMP: (6 << 3) | WireType.I64,
  DURATION: (7 << 3) | WireType.VARINT,
  LOCAL: (8 << 3) | WireType.LEN,
  REMOTE: (9 << 3) | WireType.LEN,
  ANNOTATION: (10 << 3) | WireType.LEN,
  TAG: (11 << 3) | WireType.LEN,
  DEBUG: (12 << 3) | WireType.VARINT,
  SHARED: (13 << 3) | WireType.VARINT,
  EP_SERVICE: (1 << 3) | WireType.LEN,
  EP_IPV4: (2 << 3) | WireType.LEN,
  EP_IPV6: (3 << 3) | WireType.LEN,
  EP_PORT: (4 << 3) | WireType.VARINT,
  ANN_TIMESTAMP: (1 << 3) | WireType.I64,
  ANN_VALUE: (2 << 3) | WireType.LEN,
  ENTRY_KEY: (1 << 3) | WireType.LEN,
  ENTRY_VALUE: (2 << 3) | WireType.LEN,
} as const;

/*
 * Telemetry repeats itself: tag keys nearly always, span, service and
 * annotation names often. Decoding them through caches (as the OTLP decoder
 * does) returns the same string objects span after span, which also makes
 * the mapping's key lookups cheaper (a string's hash is computed once).
 * Without them, string decoding was about a third of the decoder's time and
 * protobufjs decoded the same bytes faster (bench/codecs.ts). Tag values
 * are mostly unique (paths, addresses, sizes): a cache measured no gain.
 */
const KEYS = new Utf8Cache(512, 60);
const NAMES = new Utf8Cache(512, 60);

/** Nanoseconds must fit OTLP's fixed64; µs times beyond that are not real. */
const MAX_NANOS = (1n << 64n) - 1n;
/** Below this many µs, start + duration in ns fits 64 bits whatever the other value (2 * 2^53 * 1000 < 2^64). */
const SAFE_MICROS = 1n << 53n;

/**
 * Decodes a Zipkin proto3 `ListOfSpans` (the protobuf body of
 * `POST /api/v2/spans`) into model spans; see `mapping.ts` for how Zipkin
 * fields map onto the model. Unknown fields are skipped.
 *
 * Throws {@link WireDecodeError} with the byte offset: the protobuf codes for
 * malformed framing, `BAD_FIELD` for a trace id that is not 8 or 16 bytes, a
 * span id that is not 8 bytes, or times that overflow 64-bit nanoseconds.
 */
export function decodeZipkinProto(buf: Uint8Array): Span[] {
  const r = new ProtoReader(buf);
  const mapper = new ZipkinToModel();
  const spans: Span[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7);
      continue;
    }
    if (tag !== T.LIST_SPANS) r.wrongType('ListOfSpans.spans', tag, WireType.LEN);
    const end = r.lengthEnd();
    const outer = r.end;
    r.end = end;
    spans.push(mapper.span(readSpan(r, spans.length)));
    r.end = outer;
  }
  return spans;
}

/** Reads one `Span` between `r.pos` and `r.end`. */
function readSpan(r: ProtoReader, index: number): ZipkinSpan {
  const start = r.pos;
  let traceId = '';
  let parentId = '';
  let id = '';
  let kind: number = ZipkinKind.UNSPECIFIED;
  let name = '';
  let timestampMicros = 0n;
  let durationMicros = 0n;
  let localEndpoint: ZipkinEndpoint | undefined;
  let remoteEndpoint: ZipkinEndpoint | undefined;
  const annotations: ZipkinAnnotation[] = [];
  const tagKeys: string[] = [];
  const tagValues: string[] = [];
  let tagIndex: Map<string, number> | undefined;
  let debug = false;
  let shared = false;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        if (tag !== T.TRACE_ID) r.wrongType(`spans[${index}].trace_id`, tag, WireType.LEN);
        traceId = readId(r, `spans[${index}].trace_id`, 'expected 8 or 16 bytes', 8, 16);
        break;
      case 2:
        if (tag !== T.PARENT_ID) r.wrongType(`spans[${index}].parent_id`, tag, WireType.LEN);
        // An empty parent id is proto3's way of saying "absent".
        parentId = readId(r, `spans[${index}].parent_id`, 'expected 8 bytes', 8, 0);
        break;
      case 3:
        if (tag !== T.ID) r.wrongType(`spans[${index}].id`, tag, WireType.LEN);
        id = readId(r, `spans[${index}].id`, 'expected 8 bytes', 8, 8);
        break;
      case 4: {
        if (tag !== T.KIND) r.wrongType(`spans[${index}].kind`, tag, WireType.VARINT);
        const k = r.uint32();
        // proto3 enums are open: an unknown number reads as absent.
        kind = k <= ZipkinKind.CONSUMER ? k : ZipkinKind.UNSPECIFIED;
        break;
      }
      case 5:
        if (tag !== T.NAME) r.wrongType(`spans[${index}].name`, tag, WireType.LEN);
        name = r.cachedString(NAMES);
        break;
      case 6:
        if (tag !== T.TIMESTAMP) r.wrongType(`spans[${index}].timestamp`, tag, WireType.I64);
        timestampMicros = r.fixed64();
        break;
      case 7:
        if (tag !== T.DURATION) r.wrongType(`spans[${index}].duration`, tag, WireType.VARINT);
        durationMicros = r.uint64();
        break;
      case 8:
        if (tag !== T.LOCAL) r.wrongType(`spans[${index}].local_endpoint`, tag, WireType.LEN);
        localEndpoint = readEndpoint(r, localEndpoint);
        break;
      case 9:
        if (tag !== T.REMOTE) r.wrongType(`spans[${index}].remote_endpoint`, tag, WireType.LEN);
        remoteEndpoint = readEndpoint(r, remoteEndpoint);
        break;
      case 10:
        if (tag !== T.ANNOTATION) r.wrongType(`spans[${index}].annotations`, tag, WireType.LEN);
        annotations.push(readAnnotation(r));
        break;
      case 11:
        if (tag !== T.TAG) r.wrongType(`spans[${index}].tags`, tag, WireType.LEN);
        readTag(r);
        tagIndex = addTag(tagKeys, tagValues, entryKey, entryValue, tagIndex);
        break;
      case 12:
        if (tag !== T.DEBUG) r.wrongType(`spans[${index}].debug`, tag, WireType.VARINT);
        debug = r.bool();
        break;
      case 13:
        if (tag !== T.SHARED) r.wrongType(`spans[${index}].shared`, tag, WireType.VARINT);
        shared = r.bool();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (traceId === '') throw badField(`spans[${index}].trace_id`, 'required', start);
  if (id === '') throw badField(`spans[${index}].id`, 'required', start);
  // Comparisons first: they allocate nothing, unlike the BigInt arithmetic.
  if (
    (timestampMicros >= SAFE_MICROS || durationMicros >= SAFE_MICROS) &&
    timestampMicros * 1000n + durationMicros * 1000n > MAX_NANOS
  ) {
    throw badField(`spans[${index}].timestamp`, 'timestamp plus duration overflows 64-bit nanoseconds', start);
  }
  if (localEndpoint !== undefined && isEmptyEndpoint(localEndpoint)) localEndpoint = undefined;
  if (remoteEndpoint !== undefined && isEmptyEndpoint(remoteEndpoint)) remoteEndpoint = undefined;
  return {
    traceId,
    parentId,
    id,
    kind,
    name,
    timestampMicros,
    durationMicros,
    localEndpoint,
    remoteEndpoint,
    annotations,
    tagKeys,
    tagValues,
    debug,
    shared,
  };
}

/**
 * An id as lowercase hex. Its length must be `a` or `b` bytes; an all-zero
 * value is refused, except that a length-0 or all-zero id reads as '' when
 * `b` is 0 (the optional parent id).
 */
function readId(r: ProtoReader, path: string, expected: string, a: number, b: number): string {
  const at = r.pos;
  const end = r.lengthEnd();
  const len = end - r.pos;
  if (len !== a && len !== b) throw badField(path, `${expected}, got ${len}`, at);
  let zero = true;
  for (let i = r.pos; i < end; i++) {
    if (r.buf[i] !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) {
    if (b !== 0) throw badField(path, 'must not be all zeros', at);
    r.pos = end;
    return '';
  }
  const hex = bytesToHex(r.buf, r.pos, end);
  r.pos = end;
  return hex;
}

/**
 * Reads an `Endpoint` into `into` (a repeated singular message merges into
 * the earlier one, as protobuf requires). An address of the wrong length is
 * ignored, as Zipkin's own reader does.
 */
function readEndpoint(r: ProtoReader, into: ZipkinEndpoint | undefined): ZipkinEndpoint {
  const e = into ?? { serviceName: '', ipv4: '', ipv6: '', port: 0 };
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        if (tag !== T.EP_SERVICE) r.wrongType('Endpoint.service_name', tag, WireType.LEN);
        e.serviceName = r.cachedString(NAMES);
        break;
      case 2: {
        if (tag !== T.EP_IPV4) r.wrongType('Endpoint.ipv4', tag, WireType.LEN);
        const n = r.lengthEnd();
        if (n - r.pos === 4) e.ipv4 = formatIpv4(r.buf, r.pos);
        r.pos = n;
        break;
      }
      case 3: {
        if (tag !== T.EP_IPV6) r.wrongType('Endpoint.ipv6', tag, WireType.LEN);
        const n = r.lengthEnd();
        if (n - r.pos === 16) e.ipv6 = formatIpv6(r.buf, r.pos);
        r.pos = n;
        break;
      }
      case 4: {
        if (tag !== T.EP_PORT) r.wrongType('Endpoint.port', tag, WireType.VARINT);
        // int32 on the wire; only 1..65535 is a port.
        const p = r.int32();
        e.port = p > 0 && p <= 0xffff ? p : 0;
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
  return e;
}

function isEmptyEndpoint(e: ZipkinEndpoint): boolean {
  return e.serviceName === '' && e.ipv4 === '' && e.ipv6 === '' && e.port === 0;
}

function readAnnotation(r: ProtoReader): ZipkinAnnotation {
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  let timestampMicros = 0n;
  let value = '';
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        if (tag !== T.ANN_TIMESTAMP) r.wrongType('Annotation.timestamp', tag, WireType.I64);
        timestampMicros = r.fixed64();
        break;
      case 2:
        if (tag !== T.ANN_VALUE) r.wrongType('Annotation.value', tag, WireType.LEN);
        value = r.cachedString(NAMES);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
  if (timestampMicros >= SAFE_MICROS && timestampMicros * 1000n > MAX_NANOS) {
    throw badField('Annotation.timestamp', 'overflows 64-bit nanoseconds', end);
  }
  return { timestampMicros, value };
}

/** The key and value of the last map entry read by {@link readTag} (no object per entry). */
let entryKey = '';
let entryValue = '';

/** Reads one `map<string, string>` entry into {@link entryKey} / {@link entryValue}; absent fields are ''. */
function readTag(r: ProtoReader): void {
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  entryKey = '';
  entryValue = '';
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        if (tag !== T.ENTRY_KEY) r.wrongType('Span.TagsEntry.key', tag, WireType.LEN);
        entryKey = r.cachedString(KEYS);
        break;
      case 2:
        if (tag !== T.ENTRY_VALUE) r.wrongType('Span.TagsEntry.value', tag, WireType.LEN);
        entryValue = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
}

/** Up to this many tags a repeated key is found by a linear scan; beyond, through a map. */
const LINEAR_TAGS = 16;

/**
 * Adds a tag; a repeated key replaces the earlier value, as protobuf maps do.
 * Returns the key index once there are too many tags for a linear scan.
 */
function addTag(
  keys: string[],
  values: string[],
  key: string,
  value: string,
  index: Map<string, number> | undefined,
): Map<string, number> | undefined {
  if (index !== undefined) {
    const at = index.get(key);
    if (at !== undefined) {
      values[at] = value;
      return index;
    }
    index.set(key, keys.length);
  } else {
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] === key) {
        values[j] = value;
        return undefined;
      }
    }
    if (keys.length === LINEAR_TAGS) {
      index = new Map();
      for (let j = 0; j < keys.length; j++) index.set(keys[j] as string, j);
      index.set(key, keys.length);
    }
  }
  keys.push(key);
  values.push(value);
  return index;
}

function badField(path: string, problem: string, offset: number): WireDecodeError {
  return new WireDecodeError(WireErrorCode.BAD_FIELD, `${path}: ${problem} (message at byte ${offset})`, offset);
}

/**
 * Encodes model spans as a Zipkin proto3 `ListOfSpans`, with the same
 * mapping as {@link encodeZipkinJson}. Defaults (empty strings, zero times,
 * false flags) are left out, as proto3 does.
 */
export function encodeZipkinProto(spans: readonly Span[]): Uint8Array {
  const mapper = new ModelToZipkin();
  const w = new ProtoWriter(Math.max(256, spans.length * 256));
  for (const s of spans) writeSpan(w, mapper.span(s));
  return w.finish();
}

function writeSpan(w: ProtoWriter, z: ZipkinSpan): void {
  const mark = w.fork(1);
  w.hexField(1, z.traceId);
  if (z.parentId !== '') w.hexField(2, z.parentId);
  w.hexField(3, z.id);
  if (z.kind !== ZipkinKind.UNSPECIFIED) {
    w.tag(4, WireType.VARINT);
    w.uint(z.kind);
  }
  if (z.name !== '') w.stringField(5, z.name);
  if (z.timestampMicros !== 0n) {
    w.tag(6, WireType.I64);
    w.fixed64(z.timestampMicros);
  }
  if (z.durationMicros !== 0n) {
    w.tag(7, WireType.VARINT);
    w.int64(z.durationMicros);
  }
  if (z.localEndpoint !== undefined) writeEndpoint(w, 8, z.localEndpoint);
  if (z.remoteEndpoint !== undefined) writeEndpoint(w, 9, z.remoteEndpoint);
  for (const a of z.annotations) {
    const m = w.fork(10);
    w.tag(1, WireType.I64);
    w.fixed64(a.timestampMicros);
    if (a.value !== '') w.stringField(2, a.value);
    w.join(m);
  }
  for (let i = 0; i < z.tagKeys.length; i++) {
    const k = z.tagKeys[i] as string;
    const v = z.tagValues[i] as string;
    const m = w.fork(11);
    if (k !== '') w.stringField(1, k);
    if (v !== '') w.stringField(2, v);
    w.join(m);
  }
  if (z.debug) {
    w.tag(12, WireType.VARINT);
    w.uint(1);
  }
  if (z.shared) {
    w.tag(13, WireType.VARINT);
    w.uint(1);
  }
  w.join(mark);
}

function writeEndpoint(w: ProtoWriter, field: number, e: ZipkinEndpoint): void {
  const mark = w.fork(field);
  if (e.serviceName !== '') w.stringField(1, e.serviceName);
  const v4 = e.ipv4 === '' ? undefined : parseIpv4(e.ipv4);
  if (v4 !== undefined) w.bytesField(2, v4);
  const v6 = e.ipv6 === '' ? undefined : parseIpv6(e.ipv6);
  if (v6 !== undefined) w.bytesField(3, v6);
  if (e.port !== 0) {
    w.tag(4, WireType.VARINT);
    w.uint(e.port);
  }
  w.join(mark);
}
