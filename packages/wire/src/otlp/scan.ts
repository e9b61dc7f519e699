/**
 * Validation of an OTLP protobuf `ExportTraceServiceRequest` without decoding
 * it: the receivers answer the client from this, and the spans are decoded
 * later, when the pipeline first reads them (see `SpanBatch.lazy`).
 *
 * {@link scanOtlpTraces} walks the message twice at most. A fast walk over
 * the bytes handles well-formed input; at the first thing it does not accept
 * it gives up, and an exact walk follows the path of `decodeOtlpTraces`
 * (proto.ts), in the same order and with the same {@link ProtoReader} calls,
 * so that it throws where the decoder throws, with the same code, message and
 * offset. Neither creates strings or model objects. The property tests
 * (scan.test.ts) hold scan and decoder in lockstep: a change of what the
 * decoder accepts must be made here too.
 */
import type { WireDecodeError } from '../errors.ts';
import { ProtoReader } from '../internal/proto-reader.ts';
import {
  ANY_VALUE,
  ARRAY_VALUE,
  EVENT,
  I32,
  I64,
  KEY_VALUE,
  KEY_VALUE_LIST,
  LEN,
  LINK,
  type MessageFields,
  other,
  RESOURCE,
  RESOURCE_SPANS,
  SCOPE,
  SCOPE_SPANS,
  SPAN,
  STATUS,
  TRACES_DATA,
  tooDeep,
  VARINT,
} from './proto-fields.ts';
import { MAX_ANY_VALUE_DEPTH } from './shared.ts';

// Tags of the hot path, declared here (the same as proto.ts): imported constants measured 27% slower.
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

/** Why a span's ids make it unusable, as the receivers' id checks see it. */
export const OtlpIdProblem = {
  /** The trace id is not 16 bytes, or is all zero. */
  TRACE_ID: 'trace_id',
  /** The span id is not 8 bytes, or is all zero. */
  SPAN_ID: 'span_id',
  /** The parent span id is neither empty nor 8 bytes. */
  PARENT_SPAN_ID: 'parent_span_id',
} as const;
/** A value of {@link OtlpIdProblem}. */
export type OtlpIdProblem = (typeof OtlpIdProblem)[keyof typeof OtlpIdProblem];

/** A span that the id checks drop, by its index in the decoder's output order. */
export interface OtlpRejectedSpan {
  readonly index: number;
  readonly problem: OtlpIdProblem;
}

/** What {@link scanOtlpTraces} found. */
export interface OtlpTracesScan {
  /** Spans in the request: the length of what `decodeOtlpTraces` returns for it. */
  readonly spans: number;
  /** Spans with unusable ids, in decoder order; the shared empty list when there are none. */
  readonly rejected: readonly OtlpRejectedSpan[];
  /** Accepted spans whose parent span id is 8 zero bytes (a root, which the receivers normalise to ''). */
  readonly zeroParents: number;
}

const NO_REJECTIONS: readonly OtlpRejectedSpan[] = Object.freeze([]);

/** Span counts and id findings of one call, filled in as the walk goes. */
class Tally {
  spans = 0;
  rejected: OtlpRejectedSpan[] | undefined = undefined;
  zeroParents = 0;

  reject(problem: OtlpIdProblem): void {
    this.rejected ??= [];
    this.rejected.push({ index: this.spans, problem });
  }
}

/**
 * Checks that `buf` is an OTLP protobuf `ExportTraceServiceRequest` that
 * `decodeOtlpTraces` accepts, and counts its spans, without decoding them.
 * Throws the {@link WireDecodeError} the decoder would throw (same code,
 * message and byte offset) on bad input.
 *
 * It also applies the receivers' id checks to the bytes: a trace id must be 16
 * bytes and not all zero, a span id 8 bytes and not all zero, a parent span id
 * empty or 8 bytes (8 zero bytes, a root, is counted in `zeroParents`). Spans
 * that fail them are listed in `rejected`, by their index in decoder order.
 *
 * It allocates nothing unless a span is rejected, and takes about a third of
 * the decoder's time on the `receive` benchmark's spans (0.33 against 1.1 µs
 * per span, measured here): most of what is left is the walk itself, one
 * dependent load per field.
 *
 * @example
 * const { spans, rejected } = scanOtlpTraces(body); // throws WireDecodeError -> 400
 * if (rejected.length === 0) sink.write(SpanBatch.lazy(spans, () => decodeOtlpTraces(body)), meta);
 */
export function scanOtlpTraces(buf: Uint8Array): OtlpTracesScan {
  if (fastRequest(buf)) {
    const rejected = fast.rejected ?? NO_REJECTIONS;
    fast.rejected = undefined;
    return { spans: fast.spans, rejected, zeroParents: fast.zeroParents };
  }
  return exactScan(buf);
}

/**
 * The exact walk: {@link ProtoReader} calls in the decoder's order, so that it
 * fails exactly where the decoder fails. The fast walk below defers to it for
 * anything out of the ordinary.
 */
function exactScan(buf: Uint8Array): OtlpTracesScan {
  const r = new ProtoReader(buf);
  const tally = new Tally();
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T1_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      scanResourceSpans(r, tally);
      r.end = outer;
    } else other(r, t, TRACES_DATA);
  }
  return { spans: tally.spans, rejected: tally.rejected ?? NO_REJECTIONS, zeroParents: tally.zeroParents };
}

/** Steps over a length-delimited field whose contents are not checked (strings, bytes, ids). */
function skipLen(r: ProtoReader): void {
  r.pos = r.lengthEnd();
}

/** Steps over a fixed-size field, with the decoder's truncation error. */
function skipFixed(r: ProtoReader, size: number, what: string): void {
  if (r.pos + size > r.end) r.truncated(what);
  r.pos += size;
}

/**
 * The decoder's two passes: the first reads `resource` and `schema_url` and
 * steps over `scope_spans` by their lengths, the second goes into the
 * `scope_spans` (or, when there are none, the deprecated field 1000). So an
 * error inside a resource is found before one inside an earlier span, as in
 * the decoder.
 */
function scanResourceSpans(r: ProtoReader, tally: Tally): void {
  const start = r.pos;
  let seenScopeSpans = false;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T2_LEN) {
      seenScopeSpans = true;
      skipLen(r);
    } else if (t === T1000_LEN) skipLen(r);
    else if (t === T1_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      while (r.pos < r.end) {
        const u = r.tag();
        if (u === T1_LEN) scanKeyValue(r, 1);
        else if (u === T2_VARINT) r.uint32();
        else other(r, u, RESOURCE);
      }
      r.end = outer;
    } else if (t === T3_LEN) skipLen(r);
    else if (t >>> 3 === 1000) r.wrongType('ResourceSpans.instrumentation_library_spans', t, LEN);
    else other(r, t, RESOURCE_SPANS);
  }
  const wanted = seenScopeSpans ? T2_LEN : T1000_LEN;
  r.pos = start;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === wanted) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      scanScopeSpans(r, tally);
      r.end = outer;
    } else r.skip(t & 7);
  }
}

function scanScopeSpans(r: ProtoReader, tally: Tally): void {
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T2_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      scanSpan(r, tally);
      r.end = outer;
    } else if (t === T1_LEN) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      while (r.pos < r.end) {
        const u = r.tag();
        if (u === T1_LEN || u === T2_LEN) skipLen(r);
        else if (u === T3_LEN) scanKeyValue(r, 1);
        else if (u === T4_VARINT) r.uint32();
        else other(r, u, SCOPE);
      }
      r.end = outer;
    } else if (t === T3_LEN) skipLen(r);
    else other(r, t, SCOPE_SPANS);
  }
}

/** True when `buf[start, end)` holds a non-zero byte. */
function nonZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return true;
  return false;
}

function scanSpan(r: ProtoReader, tally: Tally): void {
  // Where the last occurrence of each id field is (protobuf: the last one wins); absent is empty.
  let traceStart = 0;
  let traceEnd = 0;
  let spanStart = 0;
  let spanEnd = 0;
  let parentStart = 0;
  let parentEnd = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    switch (t) {
      case T1_LEN:
        traceEnd = r.lengthEnd();
        traceStart = r.pos;
        r.pos = traceEnd;
        break;
      case T2_LEN:
        spanEnd = r.lengthEnd();
        spanStart = r.pos;
        r.pos = spanEnd;
        break;
      case T4_LEN:
        parentEnd = r.lengthEnd();
        parentStart = r.pos;
        r.pos = parentEnd;
        break;
      case T3_LEN:
      case T5_LEN:
        skipLen(r);
        break;
      case T6_VARINT:
      case T10_VARINT:
      case T12_VARINT:
      case T14_VARINT:
        r.uint32();
        break;
      case T7_I64:
      case T8_I64:
        skipFixed(r, 8, 'fixed64');
        break;
      case T9_LEN:
        scanKeyValue(r, 1);
        break;
      case T11_LEN: {
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        scanEvent(r);
        r.end = outer;
        break;
      }
      case T13_LEN: {
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        scanLink(r);
        r.end = outer;
        break;
      }
      case T15_LEN: {
        const end = r.lengthEnd();
        const outer = r.end;
        r.end = end;
        scanStatus(r);
        r.end = outer;
        break;
      }
      case T16_I32:
        skipFixed(r, 4, 'fixed32');
        break;
      default:
        other(r, t, SPAN);
    }
  }
  // The checks of the receivers' partitionSpans, in its order, on the bytes.
  const buf = r.buf;
  const parentLength = parentEnd - parentStart;
  if (traceEnd - traceStart !== 16 || !nonZero(buf, traceStart, traceEnd)) tally.reject(OtlpIdProblem.TRACE_ID);
  else if (spanEnd - spanStart !== 8 || !nonZero(buf, spanStart, spanEnd)) tally.reject(OtlpIdProblem.SPAN_ID);
  else if (parentLength !== 0 && parentLength !== 8) tally.reject(OtlpIdProblem.PARENT_SPAN_ID);
  else if (parentLength === 8 && !nonZero(buf, parentStart, parentEnd)) tally.zeroParents++;
  tally.spans++;
}

function scanStatus(r: ProtoReader): void {
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T3_VARINT) r.uint32();
    else if (t === T2_LEN) skipLen(r);
    else other(r, t, STATUS);
  }
}

function scanEvent(r: ProtoReader): void {
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T3_LEN) scanKeyValue(r, 1);
    else if (t === T1_I64) skipFixed(r, 8, 'fixed64');
    else if (t === T2_LEN) skipLen(r);
    else if (t === T4_VARINT) r.uint32();
    else other(r, t, EVENT);
  }
}

function scanLink(r: ProtoReader): void {
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === T1_LEN || t === T2_LEN || t === T3_LEN) skipLen(r);
    else if (t === T4_LEN) scanKeyValue(r, 1);
    else if (t === T5_VARINT) r.uint32();
    else if (t === T6_I32) skipFixed(r, 4, 'fixed32');
    else other(r, t, LINK);
  }
}

/**
 * One length-delimited `KeyValue`; `depth` is that of its value. The
 * decoder's byte-pattern fast path for short scalar attributes gives the same
 * result as its general path (its own tests hold it to that), so only the
 * general path is followed here.
 */
function scanKeyValue(r: ProtoReader, depth: number): void {
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    if (t === T1_LEN) skipLen(r);
    else if (t === T2_LEN) scanAnyValue(r, depth);
    else other(r, t, KEY_VALUE);
  }
  r.end = outer;
}

/** One length-delimited `AnyValue`, at most {@link MAX_ANY_VALUE_DEPTH} levels deep, as the decoder. */
function scanAnyValue(r: ProtoReader, depth: number): void {
  if (depth > MAX_ANY_VALUE_DEPTH) {
    throw tooDeep(r.pos);
  }
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case T1_LEN:
      case T7_LEN:
        skipLen(r);
        break;
      case T2_VARINT:
      case T3_VARINT:
        // uint32() fails exactly where the decoder's int64() does (10-byte limit, truncation at the start byte).
        r.uint32();
        break;
      case T4_I64:
        skipFixed(r, 8, 'double');
        break;
      case T5_LEN: {
        const aEnd = r.lengthEnd();
        const aOuter = r.end;
        r.end = aEnd;
        while (r.pos < aEnd) {
          const u = r.tag();
          if (u === T1_LEN) scanAnyValue(r, depth + 1);
          else other(r, u, ARRAY_VALUE);
        }
        r.end = aOuter;
        break;
      }
      case T6_LEN: {
        const kEnd = r.lengthEnd();
        const kOuter = r.end;
        r.end = kEnd;
        while (r.pos < kEnd) {
          const u = r.tag();
          if (u === T1_LEN) scanKeyValue(r, depth + 1);
          else other(r, u, KEY_VALUE_LIST);
        }
        r.end = kOuter;
        break;
      }
      default:
        other(r, t, ANY_VALUE);
    }
  }
  r.end = outer;
}

// ---------------------------------------------------------------------------
// The fast walk.
//
// The same structure and checks as the exact walk, written over a position in
// locals with single-byte tags and lengths read inline, for the common case:
// well-formed input. It returns -1 ("bail") at the first thing it does not
// accept, without saying why, and scanOtlpTraces then runs the exact walk from
// the start, which throws the decoder's error (or, for the rare layouts the
// fast walk leaves to it, accepts). So the fast walk may bail on anything, but
// must never accept what the decoder rejects.

/** Findings of the fast walk of the current call (walks are synchronous and do not nest). */
const fast = new Tally();
/** Where the last multi-byte varint, tag or length read ended (a second return value). */
let cursor = 0;

/** A varint starting at `pos` as an unsigned 32-bit number, as ProtoReader.uint32; sets {@link cursor}. -1 when bad. */
function varintAt(buf: Uint8Array, pos: number, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) return -1;
    const b = buf[pos++] as number;
    if (shift < 32) v |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor = pos;
      return v >>> 0;
    }
  }
  return -1;
}

/** The tag at `pos` (which is below `end`); sets {@link cursor} past it. -1 when bad (field 0 included). */
function tagAt(buf: Uint8Array, pos: number, end: number): number {
  const b = buf[pos] as number;
  if (b < 0x80) {
    cursor = pos + 1;
    return b >= 8 ? b : -1;
  }
  const t = varintAt(buf, pos, end);
  return t >= 8 ? t : -1;
}

/** The end of the length-delimited field whose length prefix is at `pos`; sets {@link cursor} to its start. -1 when bad. */
function lenAt(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) return -1;
  let len = buf[pos] as number;
  if (len < 0x80) pos++;
  else {
    len = varintAt(buf, pos, end);
    if (len < 0) return -1;
    pos = cursor;
  }
  if (len > end - pos) return -1;
  cursor = pos;
  return pos + len;
}

/** The end of the varint at `pos` (at most 10 bytes, within `end`); -1 when bad. */
function skipVarintAt(buf: Uint8Array, pos: number, end: number): number {
  // Most varints here (counts, kinds, small ints) are one byte.
  if (pos < end && (buf[pos] as number) < 0x80) return pos + 1;
  const stop = Math.min(end, pos + 10);
  while (pos < stop) if ((buf[pos++] as number) < 0x80) return pos;
  return -1;
}

/** Skips an unknown field of tag `t` whose value starts at `pos`; -1 when it is a known one of the wrong type, or bad. */
function otherAt(buf: Uint8Array, pos: number, end: number, t: number, m: MessageFields): number {
  const f = t >>> 3;
  if (f < m.types.length && (m.types[f] as number) >= 0) return -1;
  switch (t & 7) {
    case VARINT:
      return skipVarintAt(buf, pos, end);
    case I64:
      return pos + 8 <= end ? pos + 8 : -1;
    case LEN:
      return lenAt(buf, pos, end);
    case I32:
      return pos + 4 <= end ? pos + 4 : -1;
    default:
      return -1;
  }
}

function fastRequest(buf: Uint8Array): boolean {
  fast.spans = 0;
  fast.rejected = undefined;
  fast.zeroParents = 0;
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return false;
    pos = cursor;
    if (t === T1_LEN) {
      const e = lenAt(buf, pos, end);
      if (e < 0 || fastResourceSpans(buf, cursor, e) < 0) return false;
      pos = e;
    } else {
      pos = otherAt(buf, pos, end, t, TRACES_DATA);
      if (pos < 0) return false;
    }
  }
  return true;
}

function fastResourceSpans(buf: Uint8Array, start: number, end: number): number {
  let seenScopeSpans = false;
  let pos = start;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return -1;
    pos = cursor;
    if (t === T2_LEN) {
      seenScopeSpans = true;
      pos = lenAt(buf, pos, end);
    } else if (t === T1_LEN) {
      const e = lenAt(buf, pos, end);
      if (e < 0) return -1;
      pos = cursor;
      while (pos < e) {
        const u = tagAt(buf, pos, e);
        if (u < 0) return -1;
        pos = cursor;
        if (u === T1_LEN) {
          pos = attribute(buf, pos, e);
          while (pos >= 0 && pos < e && buf[pos] === T1_LEN) pos = attribute(buf, pos + 1, e);
        } else if (u === T2_VARINT) pos = skipVarintAt(buf, pos, e);
        else pos = otherAt(buf, pos, e, u, RESOURCE);
        if (pos < 0) return -1;
      }
    } else if (t === T3_LEN || t === T1000_LEN) pos = lenAt(buf, pos, end);
    else if (t >>> 3 === 1000) return -1;
    else pos = otherAt(buf, pos, end, t, RESOURCE_SPANS);
    if (pos < 0) return -1;
  }
  // The second pass: every field here was stepped over once already, so only the wanted ones are read.
  const wanted = seenScopeSpans ? T2_LEN : T1000_LEN;
  pos = start;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    pos = cursor;
    if (t === wanted) {
      const e = lenAt(buf, pos, end);
      if (fastScopeSpans(buf, cursor, e) < 0) return -1;
      pos = e;
    } else pos = otherAt(buf, pos, end, t, NO_FIELDS);
  }
  return end;
}

/** A message table without known fields, for stepping over fields already checked. */
const NO_FIELDS: MessageFields = { name: '', names: [], types: new Int8Array(0) };

function fastScopeSpans(buf: Uint8Array, start: number, end: number): number {
  let pos = start;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return -1;
    pos = cursor;
    if (t === T2_LEN) {
      const e = lenAt(buf, pos, end);
      if (e < 0 || !fastSpan(buf, cursor, e)) return -1;
      pos = e;
    } else if (t === T1_LEN) {
      const e = lenAt(buf, pos, end);
      if (e < 0) return -1;
      pos = cursor;
      while (pos < e) {
        const u = tagAt(buf, pos, e);
        if (u < 0) return -1;
        pos = cursor;
        if (u === T1_LEN || u === T2_LEN) pos = lenAt(buf, pos, e);
        else if (u === T3_LEN) pos = attribute(buf, pos, e);
        else if (u === T4_VARINT) pos = skipVarintAt(buf, pos, e);
        else pos = otherAt(buf, pos, e, u, SCOPE);
        if (pos < 0) return -1;
      }
    } else if (t === T3_LEN) pos = lenAt(buf, pos, end);
    else pos = otherAt(buf, pos, end, t, SCOPE_SPANS);
    if (pos < 0) return -1;
  }
  return end;
}

/** True when the byte at `at` (below `end`) is a one-byte length whose field fits before `end`. */
function short(buf: Uint8Array, at: number, end: number): boolean {
  const len = buf[at] as number;
  return len < 0x80 && at + 1 + len <= end;
}

function fastSpan(buf: Uint8Array, start: number, end: number): boolean {
  let traceStart = 0;
  let traceEnd = 0;
  let spanStart = 0;
  let spanEnd = 0;
  let parentStart = 0;
  let parentEnd = 0;
  let pos = start;
  // Exporters write the first fields in field order (trace id, span id, trace state, parent
  // id, name, kind, start, end) with one-byte tags and lengths: each is consumed here when it
  // is next, exactly as the field loop below would, and the loop takes over where this stops.
  if (pos + 18 <= end && buf[pos] === T1_LEN && buf[pos + 1] === 16) {
    traceStart = pos + 2;
    pos = traceEnd = pos + 18;
  }
  if (pos + 10 <= end && buf[pos] === T2_LEN && buf[pos + 1] === 8) {
    spanStart = pos + 2;
    pos = spanEnd = pos + 10;
  }
  if (pos + 2 <= end && buf[pos] === T3_LEN && short(buf, pos + 1, end)) pos += 2 + (buf[pos + 1] as number);
  if (pos + 10 <= end && buf[pos] === T4_LEN && buf[pos + 1] === 8) {
    parentStart = pos + 2;
    pos = parentEnd = pos + 10;
  }
  if (pos + 2 <= end && buf[pos] === T5_LEN && short(buf, pos + 1, end)) pos += 2 + (buf[pos + 1] as number);
  if (pos + 2 <= end && buf[pos] === T6_VARINT && (buf[pos + 1] as number) < 0x80) pos += 2;
  if (pos + 9 <= end && buf[pos] === T7_I64) pos += 9;
  if (pos + 9 <= end && buf[pos] === T8_I64) pos += 9;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return false;
    pos = cursor;
    switch (t) {
      case T1_LEN:
        pos = traceEnd = lenAt(buf, pos, end);
        traceStart = cursor;
        break;
      case T2_LEN:
        pos = spanEnd = lenAt(buf, pos, end);
        spanStart = cursor;
        break;
      case T4_LEN:
        pos = parentEnd = lenAt(buf, pos, end);
        parentStart = cursor;
        break;
      case T3_LEN:
      case T5_LEN:
        pos = lenAt(buf, pos, end);
        break;
      case T6_VARINT:
      case T10_VARINT:
      case T12_VARINT:
      case T14_VARINT:
        pos = skipVarintAt(buf, pos, end);
        break;
      case T7_I64:
      case T8_I64:
        pos = pos + 8 <= end ? pos + 8 : -1;
        break;
      case T9_LEN:
        // Attributes come in a run: read them back to back without going round the field switch.
        pos = attribute(buf, pos, end);
        while (pos >= 0 && pos < end && buf[pos] === T9_LEN) pos = attribute(buf, pos + 1, end);
        break;
      case T11_LEN: {
        const e = lenAt(buf, pos, end);
        pos = e < 0 ? -1 : fastEvent(buf, cursor, e);
        break;
      }
      case T13_LEN: {
        const e = lenAt(buf, pos, end);
        pos = e < 0 ? -1 : fastLink(buf, cursor, e);
        break;
      }
      case T15_LEN: {
        const e = lenAt(buf, pos, end);
        pos = e < 0 ? -1 : fastStatus(buf, cursor, e);
        break;
      }
      case T16_I32:
        pos = pos + 4 <= end ? pos + 4 : -1;
        break;
      default:
        pos = otherAt(buf, pos, end, t, SPAN);
    }
    if (pos < 0) return false;
  }
  const parentLength = parentEnd - parentStart;
  if (traceEnd - traceStart !== 16 || !nonZero(buf, traceStart, traceEnd)) fast.reject(OtlpIdProblem.TRACE_ID);
  else if (spanEnd - spanStart !== 8 || !nonZero(buf, spanStart, spanEnd)) fast.reject(OtlpIdProblem.SPAN_ID);
  else if (parentLength !== 0 && parentLength !== 8) fast.reject(OtlpIdProblem.PARENT_SPAN_ID);
  else if (parentLength === 8 && !nonZero(buf, parentStart, parentEnd)) fast.zeroParents++;
  fast.spans++;
  return true;
}

function fastStatus(buf: Uint8Array, start: number, end: number): number {
  let pos = start;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return -1;
    pos = cursor;
    if (t === T3_VARINT) pos = skipVarintAt(buf, pos, end);
    else if (t === T2_LEN) pos = lenAt(buf, pos, end);
    else pos = otherAt(buf, pos, end, t, STATUS);
    if (pos < 0) return -1;
  }
  return end;
}

function fastEvent(buf: Uint8Array, start: number, end: number): number {
  let pos = start;
  // Time and name first, as exporters write them (see fastSpan).
  if (pos + 9 <= end && buf[pos] === T1_I64) pos += 9;
  if (pos + 2 <= end && buf[pos] === T2_LEN && short(buf, pos + 1, end)) pos += 2 + (buf[pos + 1] as number);
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return -1;
    pos = cursor;
    if (t === T3_LEN) {
      pos = attribute(buf, pos, end);
      while (pos >= 0 && pos < end && buf[pos] === T3_LEN) pos = attribute(buf, pos + 1, end);
    } else if (t === T1_I64) pos = pos + 8 <= end ? pos + 8 : -1;
    else if (t === T2_LEN) pos = lenAt(buf, pos, end);
    else if (t === T4_VARINT) pos = skipVarintAt(buf, pos, end);
    else pos = otherAt(buf, pos, end, t, EVENT);
    if (pos < 0) return -1;
  }
  return end;
}

function fastLink(buf: Uint8Array, start: number, end: number): number {
  let pos = start;
  while (pos < end) {
    const t = tagAt(buf, pos, end);
    if (t < 0) return -1;
    pos = cursor;
    if (t === T1_LEN || t === T2_LEN || t === T3_LEN) pos = lenAt(buf, pos, end);
    else if (t === T4_LEN) pos = attribute(buf, pos, end);
    else if (t === T5_VARINT) pos = skipVarintAt(buf, pos, end);
    else if (t === T6_I32) pos = pos + 4 <= end ? pos + 4 : -1;
    else pos = otherAt(buf, pos, end, t, LINK);
    if (pos < 0) return -1;
  }
  return end;
}

/**
 * The end of the `KeyValue` whose length prefix is at `pos` when it has the
 * layout of nearly every attribute on the wire: `len 0a klen key 12 vlen` and
 * an `AnyValue` that is empty or holds one scalar (string, bool, int, double)
 * filling it exactly, every length below 128. -1 otherwise, which only means
 * "take the general path". Small, so that it is inlined into its callers; only
 * for attributes at depth 1, where the depth limit cannot be reached.
 */
function simpleKeyValue(buf: Uint8Array, pos: number, end: number): number {
  const len = buf[pos] as number;
  const e = pos + 1 + len;
  if (len >= 0x80 || len < 2 || e > end || buf[pos + 1] !== T1_LEN) return -1;
  const kLen = buf[pos + 2] as number;
  if (kLen >= 0x80) return -1;
  const k = pos + 3 + kLen;
  // Value tag and length; the length must fill the KeyValue (so it is below 128 too).
  if (k + 2 > e || buf[k] !== T2_LEN || buf[k + 1] !== e - k - 2) return -1;
  const v = k + 3;
  if (v > e) return e;
  const vt = buf[k + 2] as number;
  if (vt === T1_LEN) return buf[v] === e - v - 1 ? e : -1;
  if (vt === T4_I64) return v + 8 === e ? e : -1;
  if (vt === T3_VARINT || vt === T2_VARINT) {
    // A varint of 1 to 10 bytes that ends exactly at e.
    if (v >= e || e - v > 10 || (buf[e - 1] as number) >= 0x80) return -1;
    for (let i = v; i < e - 1; i++) if ((buf[i] as number) < 0x80) return -1;
    return e;
  }
  return -1;
}

/** A `KeyValue` at depth 1 (an attribute of a span, event, link, resource or scope); returns its end. */
function attribute(buf: Uint8Array, pos: number, end: number): number {
  const e = pos < end ? simpleKeyValue(buf, pos, end) : -1;
  return e >= 0 ? e : fastKeyValue(buf, pos, end, 1);
}

/**
 * A `KeyValue` whose length prefix is at `pos`; returns its end. The usual
 * layout (`0a klen key 12 vlen AnyValue`, every length one byte) is stepped
 * through directly, anything else field by field.
 */
function fastKeyValue(buf: Uint8Array, pos: number, end: number, depth: number): number {
  const e = lenAt(buf, pos, end);
  if (e < 0) return -1;
  pos = cursor;
  if (buf[pos] === T1_LEN) {
    const kLen = buf[pos + 1] as number;
    const k = pos + 2 + kLen;
    if (kLen < 0x80 && k + 2 <= e && buf[k] === T2_LEN && depth <= MAX_ANY_VALUE_DEPTH) {
      const vLen = buf[k + 1] as number;
      const v = k + 2;
      if (vLen < 0x80 && v + vLen === e) {
        // One scalar member filling the AnyValue: a string, a double, an int or a bool.
        const vt = buf[v] as number;
        if (vt === T1_LEN) {
          if ((buf[v + 1] as number) < 0x80 && v + 2 + (buf[v + 1] as number) === e) return e;
        } else if (vt === T3_VARINT || vt === T2_VARINT) {
          if (v + 1 < e && skipVarintAt(buf, v + 1, e) === e) return e;
        } else if (vt === T4_I64 && v + 9 === e) return e;
        return fastAnyValue(buf, k + 1, e, depth) === e ? e : -1;
      }
    }
  }
  while (pos < e) {
    const t = tagAt(buf, pos, e);
    if (t < 0) return -1;
    pos = cursor;
    if (t === T1_LEN) pos = lenAt(buf, pos, e);
    else if (t === T2_LEN) pos = fastAnyValue(buf, pos, e, depth);
    else pos = otherAt(buf, pos, e, t, KEY_VALUE);
    if (pos < 0) return -1;
  }
  return e;
}

/** An `AnyValue` whose length prefix is at `pos`; returns its end. */
function fastAnyValue(buf: Uint8Array, pos: number, end: number, depth: number): number {
  if (depth > MAX_ANY_VALUE_DEPTH) return -1;
  const e = lenAt(buf, pos, end);
  if (e < 0) return -1;
  pos = cursor;
  while (pos < e) {
    const t = tagAt(buf, pos, e);
    if (t < 0) return -1;
    pos = cursor;
    switch (t) {
      case T1_LEN:
      case T7_LEN:
        pos = lenAt(buf, pos, e);
        break;
      case T2_VARINT:
      case T3_VARINT:
        pos = skipVarintAt(buf, pos, e);
        break;
      case T4_I64:
        pos = pos + 8 <= e ? pos + 8 : -1;
        break;
      case T5_LEN: {
        const aEnd = lenAt(buf, pos, e);
        if (aEnd < 0) return -1;
        pos = cursor;
        while (pos < aEnd) {
          const u = tagAt(buf, pos, aEnd);
          if (u < 0) return -1;
          pos = cursor;
          pos = u === T1_LEN ? fastAnyValue(buf, pos, aEnd, depth + 1) : otherAt(buf, pos, aEnd, u, ARRAY_VALUE);
          if (pos < 0) return -1;
        }
        break;
      }
      case T6_LEN: {
        const kEnd = lenAt(buf, pos, e);
        if (kEnd < 0) return -1;
        pos = cursor;
        while (pos < kEnd) {
          const u = tagAt(buf, pos, kEnd);
          if (u < 0) return -1;
          pos = cursor;
          pos = u === T1_LEN ? fastKeyValue(buf, pos, kEnd, depth + 1) : otherAt(buf, pos, kEnd, u, KEY_VALUE_LIST);
          if (pos < 0) return -1;
        }
        break;
      }
      default:
        pos = otherAt(buf, pos, e, t, ANY_VALUE);
    }
    if (pos < 0) return -1;
  }
  return e;
}
