/**
 * OTLP protobuf encoding of traces, hand-written from the field numbers of
 * opentelemetry-proto `trace/v1/trace.proto`, `common/v1/common.proto` and
 * `resource/v1/resource.proto`. The decoder is in `proto.ts`.
 */
import type { AnyValue, KeyValue, Span } from '@traceloom/model';
import { ProtoWriter } from '../internal/proto-writer.ts';
import { groupSpans } from './shared.ts';

/**
 * A span handed to {@link encodeOtlpTraces} may also offer its attributes as a
 * flat list `[key, value, key, value, ...]` of distinct keys. Values are the
 * model's {@link AnyValue}s, except that a top-level `number` is plain: an
 * integer below 2^63 in magnitude stands for an int64 (as the `bigint` the
 * model would hold), any other number for a double. The encoder then writes
 * the attributes without building `KeyValue` objects; the list must describe
 * exactly what `attributes` returns. Traceloom's SDK spans offer it.
 */
export interface FlatAttributes {
  readonly flatAttributes?: readonly unknown[] | undefined;
}

// Wire types, and tags (field number << 3 | wire type) written byte by byte.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const T1_LEN = 0x0a;
const T2_LEN = 0x12;
const T2_VARINT = 0x10;
const T3_VARINT = 0x18;
const T4_I64 = 0x21;

/** Reused between calls: the encoders are synchronous, and `finish()` copies the bytes out. */
let writer = new ProtoWriter(256 * 1024);
/** A writer grown past this by one huge batch is dropped afterwards rather than kept for ever. */
const WRITER_KEEP_MAX = 8 * 1024 * 1024;

/**
 * Encodes spans as an OTLP `ExportTraceServiceRequest`, grouped by resource
 * object identity then scope object identity, in first-seen order. Default
 * values (empty strings, zeros, empty lists) are omitted as proto3 does.
 *
 * @example
 * await fetch(url, { method: 'POST', body: encodeOtlpTraces(spans), headers: { 'content-type': 'application/x-protobuf' } });
 */
export function encodeOtlpTraces(spans: readonly Span[]): Uint8Array {
  const w = writer;
  w.reset();
  const groups = groupSpans(spans);
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    // A resource's spans and a scope's spans usually take 16 KiB to 2 MiB: a
    // 3-byte length. Reserving it up front saves moving the whole body.
    const rsMark = w.forkReserved(1, 3);
    const resource = group.resource;
    if (resource.attributes.length > 0 || resource.droppedAttributesCount !== 0) {
      const m = w.fork(1);
      writeKeyValues(w, 1, resource.attributes);
      if (resource.droppedAttributesCount !== 0) {
        w.tag(2, VARINT);
        w.uint(resource.droppedAttributesCount);
      }
      w.join(m);
    }
    for (let s = 0; s < group.scopes.length; s++) {
      const sg = group.scopes[s]!;
      const ssMark = w.forkReserved(2, 3);
      const scope = sg.scope;
      if (scope.name !== '' || scope.version !== '' || scope.attributes.length > 0 || scope.droppedAttributesCount) {
        const m = w.fork(1);
        if (scope.name !== '') w.stringField(1, scope.name);
        if (scope.version !== '') w.stringField(2, scope.version);
        writeKeyValues(w, 3, scope.attributes);
        if (scope.droppedAttributesCount !== 0) {
          w.tag(4, VARINT);
          w.uint(scope.droppedAttributesCount);
        }
        w.join(m);
      }
      const list = sg.spans;
      for (let i = 0; i < list.length; i++) {
        // Spans are nearly always 128 B to 16 KiB long: a 2-byte length.
        const m = w.forkReserved(2, 2);
        writeSpan(w, list[i]!);
        w.joinReserved(m, 2);
      }
      if (scope.schemaUrl !== '') w.stringField(3, scope.schemaUrl);
      w.joinReserved(ssMark, 3);
    }
    if (resource.schemaUrl !== '') w.stringField(3, resource.schemaUrl);
    w.joinReserved(rsMark, 3);
  }
  const bytes = w.finish();
  if (w.buf.length > WRITER_KEEP_MAX) writer = new ProtoWriter(256 * 1024);
  return bytes;
}

/** Byte value of a pair of hex digits by `(first char code << 7) | second char code`; -1 when not hex. */
const HEX_PAIR = new Int16Array(128 * 128).fill(-1);
{
  const digits = '0123456789abcdefABCDEF';
  for (const a of digits) {
    for (const b of digits) HEX_PAIR[(a.charCodeAt(0) << 7) | b.charCodeAt(0)] = Number.parseInt(a + b, 16);
  }
}

/**
 * Writes an id field from hex, a table lookup per byte. Ids come from the
 * model, which keeps them valid; a pair that is not hex still writes 0 rather
 * than garbage, and an odd trailing digit is dropped.
 */
function writeId(w: ProtoWriter, field: number, hex: string): void {
  const n = hex.length >>> 1;
  w.ensure(2 + n);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = (field << 3) | LEN;
  buf[p++] = n;
  if (n >= 0x80) {
    w.hexField(field, hex);
    return;
  }
  for (let i = 0; i < n; i++) {
    const hi = hex.charCodeAt(2 * i);
    const lo = hex.charCodeAt(2 * i + 1);
    const v = hi < 128 && lo < 128 ? (HEX_PAIR[(hi << 7) | lo] as number) : -1;
    buf[p++] = Math.max(v, 0);
  }
  w.pos = p;
}

/** The last trace id written and its bytes: spans of one trace usually come together, often as one string instance. */
let lastTraceId = '';
const lastTraceIdBytes = new Uint8Array(18);
let lastTraceIdLength = 0;

function writeTraceId(w: ProtoWriter, hex: string): void {
  if (hex === lastTraceId) {
    const n = lastTraceIdLength;
    w.ensure(n);
    const buf = w.buf;
    const p = w.pos;
    for (let i = 0; i < n; i++) buf[p + i] = lastTraceIdBytes[i] as number;
    w.pos = p + n;
    return;
  }
  const start = w.pos;
  writeId(w, 1, hex);
  const n = w.pos - start;
  if (n <= lastTraceIdBytes.length) {
    lastTraceIdBytes.set(w.buf.subarray(start, w.pos));
    lastTraceIdLength = n;
    lastTraceId = hex;
  }
}

function writeSpan(w: ProtoWriter, s: Span): void {
  if (s.traceId !== '') writeTraceId(w, s.traceId);
  if (s.spanId !== '') writeId(w, 2, s.spanId);
  if (s.traceState !== '') w.stringField(3, s.traceState);
  if (s.parentSpanId !== '') writeId(w, 4, s.parentSpanId);
  if (s.name !== '') w.stringField(5, s.name);
  if (s.kind !== 0) {
    w.tag(6, VARINT);
    w.int32(s.kind);
  }
  if (s.startTimeUnixNano !== 0n) {
    w.tag(7, I64);
    w.fixed64(s.startTimeUnixNano);
  }
  if (s.endTimeUnixNano !== 0n) {
    w.tag(8, I64);
    w.fixed64(s.endTimeUnixNano);
  }
  const flat = (s as FlatAttributes).flatAttributes;
  if (flat !== undefined) writeFlatKeyValues(w, 9, flat);
  else writeKeyValues(w, 9, s.attributes);
  if (s.droppedAttributesCount !== 0) {
    w.tag(10, VARINT);
    w.uint(s.droppedAttributesCount);
  }
  const events = s.events;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const m = w.fork(11);
    if (e.timeUnixNano !== 0n) {
      w.tag(1, I64);
      w.fixed64(e.timeUnixNano);
    }
    if (e.name !== '') w.stringField(2, e.name);
    writeKeyValues(w, 3, e.attributes);
    if (e.droppedAttributesCount !== 0) {
      w.tag(4, VARINT);
      w.uint(e.droppedAttributesCount);
    }
    w.join(m);
  }
  if (s.droppedEventsCount !== 0) {
    w.tag(12, VARINT);
    w.uint(s.droppedEventsCount);
  }
  const links = s.links;
  for (let i = 0; i < links.length; i++) {
    const l = links[i]!;
    const m = w.fork(13);
    if (l.traceId !== '') w.hexField(1, l.traceId);
    if (l.spanId !== '') w.hexField(2, l.spanId);
    if (l.traceState !== '') w.stringField(3, l.traceState);
    writeKeyValues(w, 4, l.attributes);
    if (l.droppedAttributesCount !== 0) {
      w.tag(5, VARINT);
      w.uint(l.droppedAttributesCount);
    }
    if (l.flags !== 0) {
      w.tag(6, I32);
      w.fixed32(l.flags);
    }
    w.join(m);
  }
  if (s.droppedLinksCount !== 0) {
    w.tag(14, VARINT);
    w.uint(s.droppedLinksCount);
  }
  const status = s.status;
  if (status.code !== 0 || status.message !== '') {
    const m = w.fork(15);
    if (status.message !== '') w.stringField(2, status.message);
    if (status.code !== 0) {
      w.tag(3, VARINT);
      w.int32(status.code);
    }
    w.join(m);
  }
  if (s.flags !== 0) {
    w.tag(16, I32);
    w.fixed32(s.flags);
  }
}

/** `field` is 1 to 15, so that its tag takes one byte (the fast path writes it directly). */
function writeKeyValues(w: ProtoWriter, field: number, kvs: readonly KeyValue[]): void {
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (!writeShortKeyValue(w, field, kv.key, kv.value, false)) {
      const m = w.fork(field);
      writeKeyValueBody(w, kv.key, kv.value);
      w.join(m);
    }
  }
}

/**
 * Writes a {@link FlatAttributes} list: the same bytes {@link writeKeyValues} writes for the
 * `KeyValue`s it stands for, without building them.
 */
function writeFlatKeyValues(w: ProtoWriter, field: number, flat: readonly unknown[]): void {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i] as string;
    const raw = flat[i + 1];
    if (typeof raw === 'number') {
      const isInt = Number.isInteger(raw) && raw > -INT64_LIMIT && raw < INT64_LIMIT;
      if (writeShortKeyValue(w, field, key, raw, isInt)) continue;
      const m = w.fork(field);
      writeKeyValueBody(w, key, isInt ? BigInt(raw) : raw);
      w.join(m);
    } else if (!writeShortKeyValue(w, field, key, raw as AnyValue, false)) {
      const m = w.fork(field);
      writeKeyValueBody(w, key, raw as AnyValue);
      w.join(m);
    }
  }
}

/** 2^63: integers of a {@link FlatAttributes} list below it in magnitude are int64s. */
const INT64_LIMIT = 2 ** 63;

/**
 * The usual attribute in one go: an ASCII key and an ASCII string, a small
 * non-negative int, a bool or a double, all of it under 128 bytes, so every
 * length is one byte and known from the string lengths before writing. The
 * generic path (fork/join per message, a call per field) costs about twice
 * as much. A `number` is a double unless `intNumber` says it is an integer
 * to write as an int64. Returns false, having written nothing, for anything else.
 */
function writeShortKeyValue(w: ProtoWriter, field: number, key: string, value: AnyValue, intNumber: boolean): boolean {
  const kLen = key.length;
  // Bytes of the AnyValue member (tag + payload), and the int when it is one.
  let member: number;
  let intValue = -1;
  switch (typeof value) {
    case 'string':
      member = 2 + value.length;
      break;
    case 'bigint':
      if (value < 0n || value >= 0x10000000n) return false;
      intValue = Number(value);
      member = intValue < 0x80 ? 2 : intValue < 0x4000 ? 3 : intValue < 0x200000 ? 4 : 5;
      break;
    case 'boolean':
      member = 2;
      break;
    case 'number':
      if (intNumber) {
        // -0 is the integer 0, as it is for the model's list (BigInt(-0) is 0n).
        if (!(value > -1 && value < 0x10000000)) return false;
        intValue = value === 0 ? 0 : value;
        member = intValue < 0x80 ? 2 : intValue < 0x4000 ? 3 : intValue < 0x200000 ? 4 : 5;
      } else member = 9;
      break;
    default:
      return false;
  }
  // KeyValue body: [0x0a kLen key] (omitted when key is '') + [0x12 member-len member].
  const body = (kLen === 0 ? 0 : 2 + kLen) + 2 + member;
  if (body >= 0x80) return false;
  w.ensure(2 + body);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = (field << 3) | LEN;
  buf[p++] = body;
  // Characters are OR-ed together and checked once: a non-ASCII one means
  // the lengths were wrong, and nothing written past w.pos counts.
  let or = 0;
  if (kLen !== 0) {
    buf[p++] = T1_LEN;
    buf[p++] = kLen;
    for (let i = 0; i < kLen; i++) {
      const c = key.charCodeAt(i);
      or |= c;
      buf[p + i] = c;
    }
    p += kLen;
  }
  buf[p++] = T2_LEN;
  buf[p++] = member;
  if (typeof value === 'string') {
    const n = value.length;
    buf[p++] = T1_LEN;
    buf[p++] = n;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      or |= c;
      buf[p + i] = c;
    }
    p += n;
  } else if (intValue >= 0) {
    buf[p++] = T3_VARINT;
    let v = intValue;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
  } else if (typeof value === 'boolean') {
    buf[p++] = T2_VARINT;
    buf[p++] = value ? 1 : 0;
  } else {
    buf[p++] = T4_I64;
    w.view.setFloat64(p, value as number, true);
    p += 8;
  }
  if (or >= 0x80) return false;
  w.pos = p;
  return true;
}

function writeKeyValueBody(w: ProtoWriter, key: string, value: AnyValue): void {
  if (key !== '') w.stringField(1, key);
  // An absent value field decodes as an AnyValue with nothing set, which is what `null` means.
  if (value !== null) {
    const m = w.fork(2);
    writeAnyValueBody(w, value);
    w.join(m);
  }
}

/** The oneof member is written even when it holds its type's default: that is what marks it as set. */
function writeAnyValueBody(w: ProtoWriter, v: AnyValue): void {
  switch (typeof v) {
    case 'string':
      w.stringField(1, v);
      return;
    case 'bigint':
      w.tag(3, VARINT);
      w.int64(v);
      return;
    case 'number':
      w.tag(4, I64);
      w.double(v);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.uint(v ? 1 : 0);
      return;
    default:
  }
  if (v === null) return;
  if (v instanceof Uint8Array) {
    w.bytesField(7, v);
  } else if (Array.isArray(v)) {
    const m = w.fork(5);
    for (let i = 0; i < v.length; i++) {
      const item = v[i] as AnyValue;
      const im = w.fork(1);
      writeAnyValueBody(w, item);
      w.join(im);
    }
    w.join(m);
  } else {
    const m = w.fork(6);
    writeKeyValues(w, 1, (v as { readonly kvlist: readonly KeyValue[] }).kvlist);
    w.join(m);
  }
}
