/**
 * OTLP protobuf encoding of traces, hand-written from the field numbers of
 * opentelemetry-proto `trace/v1/trace.proto`, `common/v1/common.proto` and
 * `resource/v1/resource.proto`. The decoder is in `proto.ts`.
 */
import type { AnyValue, KeyValue, Span, TraceIdWords } from '@traceloom/model';
import { COPY_SPILL, ENCODED_LENGTH_MASK, EncodedStrings, entrySlot } from '../internal/encode-strings.ts';
import { ProtoWriter } from '../internal/proto-writer.ts';
import { groupSpans } from './shared.ts';

/**
 * A span handed to {@link encodeOtlpTraces}, or one of its events, may also
 * offer its attributes as a flat list `[key, value, key, value, ...]`. Values are the model's
 * {@link AnyValue}s, except that a top-level `number` is plain: an integer
 * below 2^63 in magnitude stands for an int64 (as the `bigint` the model would
 * hold), any other number for a double. A key may occur more than once: it
 * then counts once, at its first place, with its last value, as assignments
 * to a map would leave it. The encoder then writes the attributes without
 * building `KeyValue` objects; the list must describe exactly what
 * `attributes` returns. Traceloom's SDK spans offer it.
 */
export interface FlatAttributes {
  readonly flatAttributes?: readonly unknown[] | undefined;
}

/**
 * A span handed to {@link encodeOtlpTraces} may also hold its ids as numbers
 * (id words, see `TraceIdWords` in `@traceloom/model`): when
 * `traceIdWords` is set, the encoder writes the trace id, span id and parent
 * span id from the words, without reading (or making) their hex. The words
 * must describe exactly what `traceId`, `spanId` and `parentSpanId` return;
 * a parent of two zero words is no parent. Traceloom's SDK spans hold them.
 */
export interface PackedIds {
  readonly traceIdWords?: TraceIdWords | undefined;
  readonly spanIdWord0?: number;
  readonly spanIdWord1?: number;
  readonly parentSpanIdWord0?: number;
  readonly parentSpanIdWord1?: number;
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
/** Span fields 7 and 8 (start and end time, fixed64), event field 1 (time, fixed64). */
const SPAN_START_TAG = 0x39;
const SPAN_END_TAG = 0x41;
const EVENT_TIME_TAG = 0x09;
const SPAN_NAME_TAG = 0x2a;
const SPAN_KIND_TAG = 0x30;
const SPAN_EVENT_TAG = 0x5a;
const SPAN_STATUS_TAG = 0x7a;
const EVENT_NAME_TAG = 0x12;

/**
 * Each call writes into a new buffer that it hands over (no copy out), sized
 * from the bytes per span of the call before, so that it rarely grows.
 */
const writer = new ProtoWriter(0);
let bytesPerSpan = 640;

/*
 * String caches. Their memory is bounded (a table that fills up is emptied):
 * about 2.2 MiB of arenas, plus the strings that the maps and memos keep
 * alive, at most 8192 values of up to 1000 characters, 4096 pair values and
 * 2048 keys of up to 256.
 */

/**
 * Attribute keys, encoded once (see {@link EncodedStrings}). Keys are few and
 * nearly always repeat; 64 KiB holds about two thousand of them.
 */
const keys = new EncodedStrings(T1_LEN, 64 * 1024, 2048, 256, 256);
/**
 * String values and span and event names that have shown they repeat (see
 * {@link valueEntry}): up to 8192 strings of up to 1000 characters in 1 MiB.
 */
const values = new EncodedStrings(T1_LEN, 1024 * 1024, 8192, 1000, 1024);

/**
 * Whole attributes with a string, small int or bool value (`KeyValue`
 * bodies, from the length on), for (key, value) pairs that repeat: a hit is
 * one hash of the key and value, two comparisons and one copy, without even
 * looking the key up, where writing the pair from its key and value is two
 * lookups, two copies and the lengths. Found through {@link pairKey} and its
 * companions, a direct-mapped memo by key and value. Only bodies under 128
 * bytes are kept, so that every length byte is below 0x80, and ints below
 * {@link SMALL_PAIR_INT}, so that the copy as float64s keeps every bit (see
 * {@link EncodedStrings}); doubles never, as their bytes can be a NaN.
 */
const pairs = new EncodedStrings(0, 1024 * 1024, 16384, 0, 1);
const PAIR_SLOTS = 4096;
const pairKey = new Array<string>(PAIR_SLOTS).fill('');
/** The string value of a pair, `null` for a pair with an int or bool value. */
const pairValue = new Array<string | null>(PAIR_SLOTS).fill(null);
/** The slot of the pair's key in {@link keys}. */
const pairKeySlot = new Int32Array(PAIR_SLOTS);
/** For a pair with an int or bool value: the int, or {@link BOOL_TRUE} / {@link BOOL_FALSE}; -1 for a string value. */
const pairNumber = new Int32Array(PAIR_SLOTS).fill(-1);
/**
 * Ints below this go into pairs: a varint of two bytes whose second is under
 * 0x7f, so that no byte pair of it reads as a NaN's top bytes.
 */
const SMALL_PAIR_INT = 0x3f80;
const BOOL_FALSE = 0x4000;
const BOOL_TRUE = 0x4001;
/** Entry in {@link pairs}, -1 for none. */
const pairEntry = new Int32Array(PAIR_SLOTS).fill(-1);
let pairsGeneration = 0;
let pairKeysGeneration = 0;

/**
 * Whether the values of one attribute key (or the span names, or the event
 * names) repeat enough to go through {@link values}: a lookup that misses,
 * then the insertion, cost more than writing the string directly, so the
 * values of a key that mostly misses (ids in paths, addresses, sizes as
 * strings) are written directly for a while before the next probe.
 * Indexed by the key's entry in {@link keys} (its {@link entrySlot}, unique
 * among the keys held), the names after the last of those.
 */
const KEY_SLOTS = (64 * 1024) >>> 3;
const SPAN_NAME_SLOT = KEY_SLOTS;
const EVENT_NAME_SLOT = KEY_SLOTS + 1;
/** Uses of a key's values counted before deciding; at least half must hit. */
const PROBE_USES = 32;
/** Uses written directly, after a probe that missed, before the next probe. */
const SKIP_USES = 2048;
/** Misses counted since the last decision (hits are in {@link probeHits}). */
const probeMisses = new Int32Array(KEY_SLOTS + 2);
const probeHits = new Int32Array(KEY_SLOTS + 2);
const skipUses = new Int32Array(KEY_SLOTS + 2);
/**
 * Nearly the same statistics for the attributes of a key in {@link pairs}:
 * hits are counted as they come (one increment, in a memo hit that never
 * looks the key up), misses with the decision, taken on the miss that
 * completes {@link PROBE_USES} uses. A skipped key still hits what the memo
 * holds; only its new pairs are not kept. (Hits that wrap around after 2^31
 * only make the key skip once.)
 */
const pairProbeMisses = new Int32Array(KEY_SLOTS);
const pairProbeHits = new Int32Array(KEY_SLOTS);
const pairSkipUses = new Int32Array(KEY_SLOTS);

/**
 * Counts a miss of a cache under the statistics of `slot` (hits are counted
 * where they happen, by one increment): the miss that completes
 * {@link PROBE_USES} uses decides, and a hit rate under one half turns the
 * cache off for the slot for {@link SKIP_USES} uses.
 */
function countMiss(misses: Int32Array, hits: Int32Array, skip: Int32Array, slot: number): void {
  const m = (misses[slot] as number) + 1;
  const h = hits[slot] as number;
  if (m + h >= PROBE_USES) {
    if (h * 2 < m + h) skip[slot] = SKIP_USES;
    misses[slot] = 0;
    hits[slot] = 0;
  } else misses[slot] = m;
}

/**
 * The entry of value `s` in {@link values} under the statistics of `slot`,
 * or -1 to write it directly (see {@link countMiss}).
 */
function valueEntry(slot: number, s: string): number {
  const skip = skipUses[slot] as number;
  if (skip > 0) {
    skipUses[slot] = skip - 1;
    return -1;
  }
  const entry = values.get(s);
  if (entry >= 0) {
    probeHits[slot] = (probeHits[slot] as number) + 1;
    return entry;
  }
  countMiss(probeMisses, probeHits, skipUses, slot);
  return values.add(s);
}

/** The entry of attribute key `key` in {@link keys}, added if new; -1 for a key too long to keep. */
function keyEntry(key: string): number {
  const entry = keys.get(key);
  if (entry >= 0) return entry;
  const added = keys.add(key);
  if (added >= 0) {
    // A slot may have belonged to a key of a table since emptied.
    const slot = entrySlot(added);
    probeMisses[slot] = 0;
    probeHits[slot] = 0;
    skipUses[slot] = 0;
    pairProbeMisses[slot] = 0;
    pairProbeHits[slot] = 0;
    pairSkipUses[slot] = 0;
    if (keys.generation !== pairKeysGeneration) {
      // The pairs remembered by key slot name slots that are now other keys'.
      pairEntry.fill(-1);
      pairKeysGeneration = keys.generation;
    }
  }
  return added;
}

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
  w.restart(Math.ceil(spans.length * bytesPerSpan * 1.0625) + 1024);
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
        const ahead = list[i + READ_AHEAD];
        if (ahead !== undefined) _readAheadSink ^= readAhead(ahead);
        writeSpan(w, list[i]!);
        w.joinReserved(m, 2);
      }
      if (scope.schemaUrl !== '') w.stringField(3, scope.schemaUrl);
      w.joinReserved(ssMark, 3);
    }
    if (resource.schemaUrl !== '') w.stringField(3, resource.schemaUrl);
    w.joinReserved(rsMark, 3);
  }
  if (spans.length > 0) bytesPerSpan = Math.max(64, Math.min(64 * 1024, w.pos / spans.length));
  return w.take(0.75);
}

/**
 * Byte value of a pair of hex digits by `(first char code << 7) | second char
 * code`, both below 128; 0 when either is not a hex digit.
 */
const HEX_PAIR = new Uint8Array(128 * 128);
{
  const digits = '0123456789abcdefABCDEF';
  for (const a of digits) {
    for (const b of digits) HEX_PAIR[(a.charCodeAt(0) << 7) | b.charCodeAt(0)] = Number.parseInt(a + b, 16);
  }
}

/**
 * Writes the `n` bytes of `hex` (2n digits) at `p`, four bytes a store. Ids
 * come from the model, which keeps them valid; a pair that is not hex writes
 * 0 rather than garbage. The caller has made room for `n` rounded up to 4.
 */
function writeHexBytes(w: ProtoWriter, p: number, hex: string, n: number): void {
  const view = w.view;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const j = 2 * i;
    const c0 = hex.charCodeAt(j);
    const c1 = hex.charCodeAt(j + 1);
    const c2 = hex.charCodeAt(j + 2);
    const c3 = hex.charCodeAt(j + 3);
    const c4 = hex.charCodeAt(j + 4);
    const c5 = hex.charCodeAt(j + 5);
    const c6 = hex.charCodeAt(j + 6);
    const c7 = hex.charCodeAt(j + 7);
    if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) >= 128) break;
    view.setInt32(
      p + i,
      (HEX_PAIR[(c0 << 7) | c1] as number) |
        ((HEX_PAIR[(c2 << 7) | c3] as number) << 8) |
        ((HEX_PAIR[(c4 << 7) | c5] as number) << 16) |
        ((HEX_PAIR[(c6 << 7) | c7] as number) << 24),
      true,
    );
  }
  const buf = w.buf;
  for (; i < n; i++) {
    const hi = hex.charCodeAt(2 * i);
    const lo = hex.charCodeAt(2 * i + 1);
    buf[p + i] = (hi | lo) < 128 ? (HEX_PAIR[(hi << 7) | lo] as number) : 0;
  }
}

/** Writes an id field from hex; an odd trailing digit is dropped. */
function writeId(w: ProtoWriter, field: number, hex: string): void {
  const n = hex.length >>> 1;
  if (n >= 0x80) {
    w.hexField(field, hex);
    return;
  }
  w.ensure(2 + n);
  const p = w.pos;
  w.view.setUint16(p, (field << 3) | LEN | (n << 8), true);
  writeHexBytes(w, p + 2, hex, n);
  w.pos = p + 2 + n;
}

/**
 * The last trace id written and its field's bytes (tag, length, id): spans
 * of one trace usually come together, often as one string instance.
 */
let lastTraceId = '';
const lastTraceIdField = new Uint8Array(24);
const lastTraceIdView = new DataView(lastTraceIdField.buffer);

function writeTraceId(w: ProtoWriter, hex: string): void {
  if (hex.length !== 32) {
    writeId(w, 1, hex);
    return;
  }
  w.ensure(24);
  const p = w.pos;
  const view = w.view;
  if (hex !== lastTraceId) {
    lastTraceIdField[0] = T1_LEN;
    lastTraceIdField[1] = 16;
    writeHexBytes(w, p + 2, hex, 16);
    const buf = w.buf;
    for (let i = 2; i < 18; i++) lastTraceIdField[i] = buf[p + i] as number;
    lastTraceId = hex;
  }
  const src = lastTraceIdView;
  // 18 bytes as five 4-byte copies, the two past the field overwritten later. (Not as float64s,
  // as string entries are: id bytes can spell a NaN, which an engine may canonicalize.)
  view.setInt32(p, src.getInt32(0, true), true);
  view.setInt32(p + 4, src.getInt32(4, true), true);
  view.setInt32(p + 8, src.getInt32(8, true), true);
  view.setInt32(p + 12, src.getInt32(12, true), true);
  view.setInt32(p + 16, src.getInt32(16, true), true);
  w.pos = p + 18;
}

/**
 * Spans ahead of the one being written whose parts are read first (see
 * {@link readAhead}).
 */
const READ_AHEAD = 2;
/** Where {@link readAhead}'s results go, so that the engine keeps its loads. */
let _readAheadSink = 0;

/**
 * Reads what the encoder will read of span `s`, a couple of spans before
 * writing it: the span, its attribute list and the headers of its string
 * values, its events and their lists, its `bigint` times. These are separate
 * heap objects, often far apart (a batch of spans fresh from a tracer, moved
 * about by the garbage collector), and the writer stalls on each that is not
 * in cache. Loads that nothing waits on are overlapped by the CPU with the
 * writing of the spans in between, so they act as prefetches. Measured with
 * in-process A/B runs in both orders: SDK spans fresh from the tracer 10 to
 * 14% faster, decoded spans 6 to 7%. Returns a value made of what it read.
 */
function readAhead(s: Span): number {
  let x = s.flags;
  const flat = (s as FlatAttributes).flatAttributes;
  x ^= flat === undefined ? readAheadKeyValues(s.attributes) : readAheadFlat(flat);
  const events = s.events;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const eventFlat = (e as FlatAttributes).flatAttributes;
    x ^= eventFlat === undefined ? readAheadKeyValues(e.attributes) : readAheadFlat(eventFlat);
    if (e.timeUnixNano === 1n) x++;
  }
  if (s.startTimeUnixNano === 1n || s.endTimeUnixNano === 1n) x++;
  return x;
}

function readAheadFlat(flat: readonly unknown[]): number {
  let x = flat.length;
  for (let i = 1; i < flat.length; i += 2) {
    const v = flat[i];
    if (typeof v === 'string') x ^= v.length;
  }
  return x;
}

function readAheadKeyValues(kvs: readonly KeyValue[]): number {
  let x = kvs.length;
  for (let i = 0; i < kvs.length; i++) {
    const v = kvs[i]!.value;
    if (typeof v === 'string') x ^= v.length;
  }
  return x;
}

/** A fixed64 field with a one-byte tag, from a `bigint` (taken modulo 2^64). */
function writeFixed64Field(w: ProtoWriter, tag: number, v: bigint): void {
  w.ensure(9);
  const p = w.pos;
  w.buf[p] = tag;
  w.view.setBigUint64(p + 1, v, true);
  w.pos = p + 9;
}

/** A non-empty name (span or event) with a one-byte tag, from {@link values} when the names repeat. */
function writeName(w: ProtoWriter, tag: number, name: string, slot: number): void {
  const entry = valueEntry(slot, name);
  if (entry < 0) {
    w.stringField(tag >>> 3, name);
    return;
  }
  w.ensure((entry & ENCODED_LENGTH_MASK) + COPY_SPILL);
  const p = w.pos;
  w.pos = values.copy(entry, w.view, p);
  // The entry comes with the tag of a string AnyValue; the name's replaces it.
  w.buf[p] = tag;
}

/** Tags and lengths of trace_id (16 bytes), span_id and parent_span_id (8 bytes each), as stored little-endian. */
const TRACE_ID_HEAD = T1_LEN | (16 << 8);
const SPAN_ID_HEAD = T2_LEN | (8 << 8);
const PARENT_SPAN_ID_HEAD = 0x22 | (8 << 8);

/** The ids of a span that holds them as words (see {@link PackedIds}); the parent's goes after trace_state. */
function writePackedIds(w: ProtoWriter, t: TraceIdWords, s: Required<PackedIds>): void {
  w.ensure(28);
  const view = w.view;
  const p = w.pos;
  view.setUint16(p, TRACE_ID_HEAD, true);
  view.setInt32(p + 2, t.w0, true);
  view.setInt32(p + 6, t.w1, true);
  view.setInt32(p + 10, t.w2, true);
  view.setInt32(p + 14, t.w3, true);
  view.setUint16(p + 18, SPAN_ID_HEAD, true);
  view.setInt32(p + 20, s.spanIdWord0, true);
  view.setInt32(p + 24, s.spanIdWord1, true);
  w.pos = p + 28;
}

function writePackedParentId(w: ProtoWriter, p0: number, p1: number): void {
  w.ensure(10);
  const view = w.view;
  const p = w.pos;
  view.setUint16(p, PARENT_SPAN_ID_HEAD, true);
  view.setInt32(p + 2, p0, true);
  view.setInt32(p + 6, p1, true);
  w.pos = p + 10;
}

function writeSpan(w: ProtoWriter, s: Span): void {
  const packed = (s as PackedIds).traceIdWords;
  if (packed !== undefined) {
    const ids = s as unknown as Required<PackedIds>;
    writePackedIds(w, packed, ids);
    if (s.traceState !== '') w.stringField(3, s.traceState);
    const p0 = ids.parentSpanIdWord0;
    const p1 = ids.parentSpanIdWord1;
    if ((p0 | p1) !== 0) writePackedParentId(w, p0, p1);
  } else {
    if (s.traceId !== '') writeTraceId(w, s.traceId);
    if (s.spanId !== '') writeId(w, 2, s.spanId);
    if (s.traceState !== '') w.stringField(3, s.traceState);
    if (s.parentSpanId !== '') writeId(w, 4, s.parentSpanId);
  }
  if (s.name !== '') writeName(w, SPAN_NAME_TAG, s.name, SPAN_NAME_SLOT);
  const kind = s.kind;
  if (kind > 0 && kind < 0x80) {
    w.ensure(2);
    w.view.setUint16(w.pos, SPAN_KIND_TAG | (kind << 8), true);
    w.pos += 2;
  } else if (kind !== 0) {
    w.tag(6, VARINT);
    w.int32(kind);
  }
  if (s.startTimeUnixNano !== 0n) writeFixed64Field(w, SPAN_START_TAG, s.startTimeUnixNano);
  if (s.endTimeUnixNano !== 0n) writeFixed64Field(w, SPAN_END_TAG, s.endTimeUnixNano);
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
    // An event is nearly always under 128 bytes: a 1-byte length, patched by join().
    w.ensure(2);
    const m = w.pos + 1;
    w.buf[m - 1] = SPAN_EVENT_TAG;
    w.pos = m + 1;
    if (e.timeUnixNano !== 0n) writeFixed64Field(w, EVENT_TIME_TAG, e.timeUnixNano);
    if (e.name !== '') writeName(w, EVENT_NAME_TAG, e.name, EVENT_NAME_SLOT);
    const eventFlat = (e as FlatAttributes).flatAttributes;
    if (eventFlat !== undefined) writeFlatKeyValues(w, 3, eventFlat);
    else writeKeyValues(w, 3, e.attributes);
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
  const code = status.code;
  if (status.message === '') {
    if (code > 0 && code < 0x80) {
      // [0x7a 2 0x18 code]: a Status with its code alone.
      w.ensure(4);
      w.view.setUint32(w.pos, SPAN_STATUS_TAG | (2 << 8) | (T3_VARINT << 16) | (code << 24), true);
      w.pos += 4;
    } else if (code !== 0) writeStatus(w, status);
  } else writeStatus(w, status);
  const flags = s.flags;
  if (flags !== 0) {
    // Field 16 takes a 2-byte tag: 0x85 0x01.
    w.ensure(6);
    const p = w.pos;
    w.view.setUint16(p, 0x0185, true);
    w.view.setUint32(p + 2, flags >>> 0, true);
    w.pos = p + 6;
  }
}

function writeStatus(w: ProtoWriter, status: Span['status']): void {
  const m = w.fork(15);
  if (status.message !== '') w.stringField(2, status.message);
  if (status.code !== 0) {
    w.tag(3, VARINT);
    w.int32(status.code);
  }
  w.join(m);
}

/** `field` is 1 to 15, so that its tag takes one byte (the fast path writes it directly). */
function writeKeyValues(w: ProtoWriter, field: number, kvs: readonly KeyValue[]): void {
  const tag = (field << 3) | LEN;
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (writeAttribute(w, tag, kv.key, kv.value, false, 0) !== WROTE) {
      const m = w.fork(field);
      writeKeyValueBody(w, kv.key, kv.value);
      w.join(m);
    }
  }
}

/**
 * Per key slot of {@link keys}: the number of the flat list that last held
 * the key, to find repeated keys without comparing strings.
 */
const listOfKey = new Int32Array(KEY_SLOTS);
let listNumber = 0;

/**
 * Writes a {@link FlatAttributes} list: the same bytes {@link writeKeyValues} writes for the
 * `KeyValue`s it stands for, without building them. Repeated keys are found
 * on the way (by key slot); the rare list that has them is written again
 * from its resolved form.
 */
function writeFlatKeyValues(w: ProtoWriter, field: number, flat: readonly unknown[]): void {
  const tag = (field << 3) | LEN;
  const start = w.pos;
  if (listNumber === 0x7fffffff) {
    listOfKey.fill(0);
    listNumber = 0;
  }
  const list = ++listNumber;
  const generation = keys.generation;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i];
    const raw = flat[i + 1];
    const r = typeof key === 'string' ? writeAttribute(w, tag, key, raw, true, list) : NO_SLOT;
    if (r === WROTE) continue;
    if (r === GENERIC) {
      writeFlatKeyValue(w, field, key as string, raw);
      continue;
    }
    // A repeated key, or one without a slot to mark: resolve the list by comparing keys instead.
    w.pos = start;
    writeDistinctFlatKeyValues(w, field, resolveRepeatedKeys(flat));
    return;
  }
  if (keys.generation !== generation) {
    // The key table was emptied on the way, and with it the marks of the keys before.
    w.pos = start;
    writeDistinctFlatKeyValues(w, field, resolveRepeatedKeys(flat));
  }
}

/** A flat list known to hold each key once. */
function writeDistinctFlatKeyValues(w: ProtoWriter, field: number, flat: readonly unknown[]): void {
  const tag = (field << 3) | LEN;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i] as string;
    const raw = flat[i + 1];
    if (writeAttribute(w, tag, key, raw, true, 0) !== WROTE) writeFlatKeyValue(w, field, key, raw);
  }
}

/** One attribute of a flat list through the generic path. */
function writeFlatKeyValue(w: ProtoWriter, field: number, key: string, raw: unknown): void {
  const m = w.fork(field);
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > -INT64_LIMIT && raw < INT64_LIMIT) {
    writeKeyValueBody(w, key, BigInt(raw));
  } else writeKeyValueBody(w, key, raw as AnyValue);
  w.join(m);
}

/** A copy of a flat list with each key once, at its first place, with its last value. */
function resolveRepeatedKeys(flat: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  const at = new Map<unknown, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i];
    const j = at.get(key);
    if (j === undefined) {
      at.set(key, out.length);
      out.push(key, flat[i + 1]);
    } else out[j + 1] = flat[i + 1];
  }
  return out;
}

/** 2^63: integers of a {@link FlatAttributes} list below it in magnitude are int64s. */
const INT64_LIMIT = 2 ** 63;

/** Bytes of the varint of `v`, 0 <= v < 2^32. */
function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** {@link writeAttribute} wrote the attribute. */
const WROTE = 1;
/** {@link writeAttribute} wrote nothing: the attribute takes the generic path. */
const GENERIC = 0;
/** {@link writeAttribute} wrote nothing: the key is repeated in the list (a flat list's number was given). */
const REPEATED = -1;
/** {@link writeAttribute} wrote nothing: the key has no slot to mark (empty or too long), so repeats cannot be told. */
const NO_SLOT = -2;

/**
 * The usual attribute in one go: a key (from {@link keys}) and a string, an
 * int below 2^31, a bool or a double, the whole under 16 KiB, so that every
 * length is known before writing and takes one or two bytes; pairs that
 * repeat come whole from {@link pairs}. The generic path (fork/join per
 * message, a call per field) costs about twice as much. A plain `number` is
 * an integer to write as an int64 when `plainNumbers` says numbers are plain
 * and it is one, a double otherwise (a model list holds int64s as `bigint`).
 * `tag` is the one-byte tag of the `KeyValue` field. `list`, when not 0, is
 * the number of the flat list being written (see {@link listOfKey}): a key
 * already marked with it is {@link REPEATED}, and is marked before anything
 * is written. Returns {@link WROTE}, or another code having written nothing.
 */
function writeAttribute(
  w: ProtoWriter,
  tag: number,
  key: string,
  value: unknown,
  plainNumbers: boolean,
  list: number,
): number {
  const kn = key.length;
  if (kn === 0) return list === 0 ? GENERIC : NO_SLOT;
  // The pair's place in the memo, and for a small int or a bool its number (-1 when not one).
  let h = Math.imul(kn, 0x9e3779b1) ^ (key.charCodeAt(kn - 1) << 9) ^ (key.charCodeAt(kn >>> 1) << 2);
  let num = -1;
  let cacheable = true;
  if (typeof value === 'string') {
    const n = value.length;
    h ^= Math.imul(n, 0x85ebca6b) ^ (value.charCodeAt(n - 1) << 7) ^ (value.charCodeAt(n >>> 1) | 0);
  } else {
    // Ints under SMALL_PAIR_INT (their varint bytes cannot spell a NaN, see pairs) and bools.
    if (typeof value === 'bigint') {
      // One conversion instead of two bigint comparisons (each a builtin call in
      // optimized code). Exact: a bigint outside the range converts outside it.
      const v = Number(value);
      if (v >= 0 && v < SMALL_PAIR_INT) num = v;
    } else if (typeof value === 'number') {
      // -0 is the integer 0. A number of a typed list is a double, never an int.
      if (plainNumbers && value >= 0 && value < SMALL_PAIR_INT && Number.isInteger(value))
        num = value === 0 ? 0 : value;
    } else if (typeof value === 'boolean') num = value ? BOOL_TRUE : BOOL_FALSE;
    cacheable = num >= 0;
    h ^= Math.imul(num + 1, 0x85ebca6b);
  }
  h = (h ^ (h >>> 16)) & (PAIR_SLOTS - 1);
  if (cacheable) {
    const e = pairEntry[h] as number;
    if (e >= 0 && pairKey[h] === key && (num < 0 ? pairValue[h] === value : pairNumber[h] === num)) {
      const slot = pairKeySlot[h] as number;
      if (list !== 0) {
        if (listOfKey[slot] === list) return REPEATED;
        listOfKey[slot] = list;
      }
      pairProbeHits[slot] = (pairProbeHits[slot] as number) + 1;
      w.ensure(1 + (e & ENCODED_LENGTH_MASK) + COPY_SPILL);
      const p = w.pos;
      w.buf[p] = tag;
      w.pos = pairs.copy(e, w.view, p + 1);
      return WROTE;
    }
  }
  const ke = keyEntry(key);
  if (ke < 0) return list === 0 ? GENERIC : NO_SLOT;
  const slot = entrySlot(ke);
  if (list !== 0) {
    if (listOfKey[slot] === list) return REPEATED;
    listOfKey[slot] = list;
  }
  const start = w.pos;
  if (!writeAttributeParts(w, tag, ke, value, plainNumbers)) return GENERIC;
  if (!cacheable) return WROTE;
  const skip = pairSkipUses[slot] as number;
  if (skip > 0) {
    pairSkipUses[slot] = skip - 1;
    return WROTE;
  }
  countMiss(pairProbeMisses, pairProbeHits, pairSkipUses, slot);
  const buf = w.buf;
  // [tag, body length, body]: kept when the length takes one byte.
  if ((buf[start + 1] as number) < 0x80) {
    const e = pairs.addBytes(buf, start + 1, w.pos);
    if (pairs.generation !== pairsGeneration) {
      pairEntry.fill(-1);
      pairsGeneration = pairs.generation;
    }
    pairEntry[h] = e;
    pairKey[h] = key;
    pairKeySlot[h] = slot;
    if (num < 0) {
      pairValue[h] = value as string;
      pairNumber[h] = -1;
    } else {
      pairValue[h] = null;
      pairNumber[h] = num;
    }
  }
  return WROTE;
}

/** The attribute of {@link writeAttribute} from the key's entry and the value's (or the value itself). */
function writeAttributeParts(w: ProtoWriter, tag: number, ke: number, value: unknown, plainNumbers: boolean): boolean {
  // Bytes of the AnyValue member (tag + payload), the value's entry or the int when it is one.
  // (`typeof x === '...'` tests compile to type checks; a switch on `typeof` calls a builtin.)
  let member: number;
  let ve = -1;
  let intValue = -1;
  if (typeof value === 'string') {
    ve = valueEntry(entrySlot(ke), value);
    if (ve >= 0) member = ve & ENCODED_LENGTH_MASK;
    else {
      const n = value.length;
      if (n >= 0x4000) return false;
      member = 1 + (n < 0x80 ? 1 : 2) + n;
    }
  } else if (typeof value === 'number') {
    if (plainNumbers && Number.isInteger(value)) {
      // -0 is the integer 0, as it is for the model's list (BigInt(-0) is 0n).
      if (!(value > -1 && value < 0x80000000)) return false;
      intValue = value === 0 ? 0 : value;
      member = 1 + varintSize(intValue);
    } else member = 9;
  } else if (typeof value === 'bigint') {
    // Converted first, as in writeAttribute: no bigint comparisons.
    const v = Number(value);
    if (!(v >= 0 && v < 0x80000000)) return false;
    intValue = v;
    member = 1 + varintSize(intValue);
  } else if (typeof value === 'boolean') {
    member = 2;
  } else return false;
  // KeyValue body: [0x0a klen key] (the key's entry) + [0x12 member-len member].
  const body = (ke & ENCODED_LENGTH_MASK) + 1 + (member < 0x80 ? 1 : 2) + member;
  if (body >= 0x4000) return false;
  // Tag, two length bytes at most, the body, and what a copy may spill.
  w.ensure(3 + body + COPY_SPILL);
  const buf = w.buf;
  const view = w.view;
  let p = w.pos;
  // Header bytes go out two or four at a time where their values allow: a
  // store costs the same for one byte as for four. Bytes stored past the
  // header are overwritten by what follows.
  if (body < 0x80) {
    view.setUint16(p, tag | (body << 8), true);
    p += 2;
  } else {
    buf[p] = tag;
    view.setUint16(p + 1, (body & 0x7f) | 0x80 | ((body >>> 7) << 8), true);
    p += 3;
  }
  p = keys.copy(ke, view, p);
  if (typeof value === 'string') {
    if (ve >= 0) {
      if (member < 0x80) {
        view.setUint16(p, T2_LEN | (member << 8), true);
        p += 2;
      } else {
        buf[p] = T2_LEN;
        view.setUint16(p + 1, (member & 0x7f) | 0x80 | ((member >>> 7) << 8), true);
        p += 3;
      }
      w.pos = values.copy(ve, view, p);
      return true;
    }
    const n = value.length;
    if (member < 0x80) {
      // [0x12 member 0x0a n]: n < member < 0x80.
      view.setUint32(p, T2_LEN | (member << 8) | (T1_LEN << 16) | (n << 24), true);
      p += 4;
    } else {
      buf[p++] = T2_LEN;
      buf[p++] = (member & 0x7f) | 0x80;
      buf[p++] = member >>> 7;
      buf[p++] = T1_LEN;
      if (n < 0x80) buf[p++] = n;
      else {
        buf[p++] = (n & 0x7f) | 0x80;
        buf[p++] = n >>> 7;
      }
    }
    // Four characters a store. They are OR-ed together and checked once: a
    // non-ASCII one means the lengths were wrong, and nothing written past
    // w.pos counts.
    let or = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const a = value.charCodeAt(i);
      const b = value.charCodeAt(i + 1);
      const c = value.charCodeAt(i + 2);
      const d = value.charCodeAt(i + 3);
      or |= a | b | c | d;
      view.setInt32(p + i, a | (b << 8) | (c << 16) | (d << 24), true);
    }
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      or |= c;
      buf[p + i] = c;
    }
    if (or >= 0x80) return false;
    w.pos = p + n;
    return true;
  }
  // Member length, then the member: all under 0x80 here.
  if (intValue >= 0) {
    view.setUint32(p, T2_LEN | (member << 8) | (T3_VARINT << 16), true);
    p += 3;
    let v = intValue;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
  } else if (typeof value === 'boolean') {
    view.setUint32(p, T2_LEN | (member << 8) | (T2_VARINT << 16) | ((value ? 1 : 0) << 24), true);
    p += 4;
  } else {
    view.setUint32(p, T2_LEN | (member << 8) | (T4_I64 << 16), true);
    view.setFloat64(p + 3, value as number, true);
    p += 11;
  }
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
