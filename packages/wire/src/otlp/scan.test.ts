import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnyValue, isValidSpanId, isValidTraceId, isZeroHex, type Span } from '@traceloom/model';
import fc from 'fast-check';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { ProtoWriter } from '../internal/proto-writer.ts';
import { rejects } from './fixtures/assert.ts';
import { oneSpan } from './fixtures/one-span.ts';
import { arbSpans, baseSpan, EVERY_VALUE, sampleSpans } from './fixtures/spans.ts';
import { decodeOtlpTraces, encodeOtlpTraces } from './proto.ts';
import { OtlpIdProblem, type OtlpRejectedSpan, scanOtlpTraces } from './scan.ts';

/**
 * The receivers' id checks (server/src/receivers/validate.ts, `reasonOf`),
 * restated over decoded spans with the same model helpers: what the scan must
 * find on the bytes.
 */
function expectedFindings(spans: readonly Span[]): { rejected: OtlpRejectedSpan[]; zeroParents: number } {
  const rejected: OtlpRejectedSpan[] = [];
  let zeroParents = 0;
  spans.forEach((s, index) => {
    const p = s.parentSpanId;
    if (!isValidTraceId(s.traceId)) rejected.push({ index, problem: OtlpIdProblem.TRACE_ID });
    else if (!isValidSpanId(s.spanId)) rejected.push({ index, problem: OtlpIdProblem.SPAN_ID });
    else if (p !== '' && !isValidSpanId(p) && !(p.length === 16 && isZeroHex(p))) {
      rejected.push({ index, problem: OtlpIdProblem.PARENT_SPAN_ID });
    } else if (p.length === 16 && isZeroHex(p)) zeroParents++;
  });
  return { rejected, zeroParents };
}

/** Runs `fn`, returning its value or the WireDecodeError it threw; anything else it throws fails the test. */
function outcome<T>(fn: () => T): { ok: T } | { error: WireDecodeError } {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof WireDecodeError) return { error: e };
    throw e;
  }
}

/** Scan and decoder agree on `bytes`: both throw the same error, or both succeed with the same findings. */
function assertAgrees(bytes: Uint8Array): void {
  const decoded = outcome(() => decodeOtlpTraces(bytes));
  const scanned = outcome(() => scanOtlpTraces(bytes));
  if ('error' in decoded) {
    assert.ok('error' in scanned, `the decoder threw ${decoded.error.message}, the scan did not`);
    assert.deepEqual(
      [scanned.error.code, scanned.error.message, scanned.error.offset],
      [decoded.error.code, decoded.error.message, decoded.error.offset],
    );
    return;
  }
  assert.ok('ok' in scanned, `the scan threw ${'error' in scanned ? scanned.error.message : ''}, the decoder did not`);
  const expected = expectedFindings(decoded.ok);
  assert.equal(scanned.ok.spans, decoded.ok.length);
  assert.deepEqual(scanned.ok.rejected, expected.rejected);
  assert.equal(scanned.ok.zeroParents, expected.zeroParents);
}

/** Ids of every kind the checks distinguish: good, all zero, empty, and of a wrong length. */
function arbId(bytes: number): fc.Arbitrary<string> {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(hex) },
    { weight: 1, arbitrary: fc.constant('00'.repeat(bytes)) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 20 }).map(hex) },
  );
}

/** Random spans whose ids are often bad in one of the ways the receivers check. */
const arbSpansWithIds: fc.Arbitrary<Span[]> = fc
  .tuple(arbSpans, fc.array(fc.tuple(arbId(16), arbId(8), arbId(8)), { minLength: 6, maxLength: 6 }))
  .map(([spans, ids]) =>
    spans.map((s, i) => {
      const [traceId, spanId, parentSpanId] = ids[i % ids.length] as [string, string, string];
      return { ...s, traceId, spanId, parentSpanId };
    }),
  );

/**
 * A random protobuf message tree: field numbers the OTLP messages use (plus a
 * few unknown ones and 1000), any wire type, sub-messages nested a few levels.
 * Reaches wrong wire types and odd layouts at every level of the structure,
 * which byte mutations of a valid payload rarely do.
 */
interface Field {
  readonly field: number;
  readonly wireType: number;
  readonly value: number | Uint8Array | readonly Field[];
}
const arbFieldNumber = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 7 }) },
  { weight: 3, arbitrary: fc.integer({ min: 8, max: 17 }) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 99) },
);
const arbMessage: fc.Arbitrary<readonly Field[]> = fc.letrec<{ message: readonly Field[]; field: Field }>((tie) => ({
  message: fc.array(tie('field'), { maxLength: 5 }),
  field: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      field: arbFieldNumber,
      wireType: fc.constantFrom(0, 1, 5),
      value: fc.nat(),
    }),
    fc.record({ field: arbFieldNumber, wireType: fc.constant(2), value: fc.uint8Array({ maxLength: 20 }) }),
    fc.record({ field: arbFieldNumber, wireType: fc.constant(2), value: tie('message') }),
  ),
})).message;

function encodeTree(fields: readonly Field[], w = new ProtoWriter(256)): ProtoWriter {
  for (const f of fields) {
    if (f.wireType === 2) {
      if (f.value instanceof Uint8Array) w.bytesField(f.field, f.value);
      else {
        const mark = w.fork(f.field);
        encodeTree(f.value as readonly Field[], w);
        w.join(mark);
      }
    } else if (f.value instanceof Uint8Array) {
      // A scalar cut short, or a varint of too many bytes: raw bytes after the tag.
      w.tag(f.field, f.wireType);
      w.ensure(f.value.length);
      w.buf.set(f.value, w.pos);
      w.pos += f.value.length;
    } else {
      w.tag(f.field, f.wireType);
      const v = f.value as number;
      if (f.wireType === 0) w.uint(v);
      else if (f.wireType === 1) w.fixed64(BigInt(v));
      else w.fixed32(v);
    }
  }
  return w;
}

/** What each field of the OTLP messages holds, by message: a sub-message name or a scalar kind. */
const SCHEMA: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  Request: { 1: 'ResourceSpans' },
  ResourceSpans: { 1: 'Resource', 2: 'ScopeSpans', 3: 'bytes', 1000: 'ScopeSpans' },
  Resource: { 1: 'KeyValue', 2: 'varint' },
  ScopeSpans: { 1: 'Scope', 2: 'Span', 3: 'bytes' },
  Scope: { 1: 'bytes', 2: 'bytes', 3: 'KeyValue', 4: 'varint' },
  Span: {
    1: 'id16',
    2: 'id8',
    3: 'bytes',
    4: 'id8',
    5: 'bytes',
    6: 'varint',
    7: 'i64',
    8: 'i64',
    9: 'KeyValue',
    10: 'varint',
    11: 'Event',
    12: 'varint',
    13: 'Link',
    14: 'varint',
    15: 'Status',
    16: 'i32',
  },
  Status: { 2: 'bytes', 3: 'varint' },
  Event: { 1: 'i64', 2: 'bytes', 3: 'KeyValue', 4: 'varint' },
  Link: { 1: 'id16', 2: 'id8', 3: 'bytes', 4: 'KeyValue', 5: 'varint', 6: 'i32' },
  KeyValue: { 1: 'bytes', 2: 'AnyValue' },
  AnyValue: { 1: 'bytes', 2: 'varint', 3: 'varint', 4: 'i64', 5: 'ArrayValue', 6: 'KeyValueList', 7: 'bytes' },
  ArrayValue: { 1: 'AnyValue' },
  KeyValueList: { 1: 'KeyValue' },
};
const WIRE_TYPE: Readonly<Record<string, number>> = { varint: 0, i64: 1, i32: 5 };

/** A small deterministic random source (mulberry32), so a failing request is named by its seed. */
class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
  bytes(min: number, max: number): Uint8Array {
    const out = new Uint8Array(min + this.below(max - min + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.below(256);
    return out;
  }
}

/** An id of `size` bytes, often all zero, empty or of another size. */
function genId(g: Rng, size: number): Uint8Array {
  const pick = g.below(10);
  if (pick === 0) return new Uint8Array(size);
  if (pick === 1) return new Uint8Array(0);
  if (pick === 2) return g.bytes(1, 20);
  return g.bytes(size, size);
}

/**
 * A message of type `type` following {@link SCHEMA}, with now and then a
 * field of the wrong wire type, an unknown field, or a repeated id: an
 * OTLP-shaped request whose faults lie deep in the structure, where random
 * bytes and byte edits seldom reach. `budget` bounds the size.
 */
function genMessage(g: Rng, type: string, budget: { left: number }): Field[] {
  const spec = SCHEMA[type] ?? {};
  const known = Object.keys(spec).map(Number);
  const out: Field[] = [];
  const count = g.below(type === 'Span' ? 7 : 4);
  for (let i = 0; i < count && budget.left > 0; i++) {
    budget.left--;
    const odd = g.below(40);
    const field = odd === 0 ? g.pick([17, 99, 1000, 1001]) : g.pick(known);
    const kind = spec[field];
    if (kind === undefined || odd === 1) {
      // An unknown field, or a known one with any wire type.
      const wireType = g.pick([0, 1, 2, 5]);
      out.push({ field, wireType, value: wireType === 2 ? g.bytes(0, 9) : 1 });
    } else if (kind in WIRE_TYPE && odd === 2) {
      // Cut short (the message ends inside it) or, for a varint, longer than 10 bytes.
      const wireType = WIRE_TYPE[kind] as number;
      const raw = wireType === 0 ? new Uint8Array(g.pick([1, 3, 11])).fill(0x80) : g.bytes(0, wireType === 1 ? 7 : 3);
      out.push({ field, wireType, value: raw });
      return out;
    } else if (kind in WIRE_TYPE) {
      const value = g.below(2) === 0 ? g.below(301) : g.below(2 ** 31) * 2 ** 22 + g.below(2 ** 22);
      out.push({ field, wireType: WIRE_TYPE[kind] as number, value: kind === 'i32' ? value >>> 0 : value });
    } else if (kind === 'bytes') out.push({ field, wireType: 2, value: g.bytes(0, 9) });
    else if (kind === 'id16' || kind === 'id8')
      out.push({ field, wireType: 2, value: genId(g, kind === 'id16' ? 16 : 8) });
    else out.push({ field, wireType: 2, value: genMessage(g, kind, budget) });
  }
  return out;
}

/** The encoded request of seed `seed`. */
function shapedRequest(seed: number): Uint8Array {
  return encodeTree(genMessage(new Rng(seed), 'Request', { left: 60 })).finish();
}

/** Applies byte edits (flips, sets, inserts, deletes, cuts, huge lengths) to `payload`. */
const arbEdits = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate', 'huge'),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  { minLength: 1, maxLength: 4 },
);
function mutate(payload: Uint8Array, edits: readonly { at: number; op: string; byte: number }[]): Uint8Array {
  let b = Array.from(payload);
  for (const { at, op, byte } of edits) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (op === 'flip') b[i] = (b[i] ?? 0) ^ (1 << (byte & 7));
    else if (op === 'set') b[i] = byte;
    else if (op === 'insert') b.splice(i, 0, byte);
    else if (op === 'delete') b.splice(i, 1);
    else if (op === 'truncate') b = b.slice(0, i);
    else b.splice(i, 0, 0xff, 0xff, 0xff, 0xff, 0x0f);
  }
  return Uint8Array.from(b);
}

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

describe('scanOtlpTraces', () => {
  it('counts the spans of a valid request and finds nothing wrong with good ids', () => {
    const spans = sampleSpans().slice(0, 5);
    const scan = scanOtlpTraces(encodeOtlpTraces(spans));
    assert.deepEqual(scan, { spans: 5, rejected: [], zeroParents: 0 });
    assert.deepEqual(scanOtlpTraces(new Uint8Array(0)), { spans: 0, rejected: [], zeroParents: 0 });
  });

  it('finds each kind of bad id, by decoder index, and counts zero parents', () => {
    const spans = [
      baseSpan({ name: 'fine' }),
      baseSpan({ traceId: '0'.repeat(32) }),
      baseSpan({ spanId: '' }),
      baseSpan({ parentSpanId: '0'.repeat(16) }),
      baseSpan({ parentSpanId: 'abcd' }),
      baseSpan({ traceId: 'ab'.repeat(8), spanId: '00'.repeat(8) }),
      baseSpan({ spanId: 'ab'.repeat(9) }),
    ];
    const scan = scanOtlpTraces(encodeOtlpTraces(spans));
    assert.equal(scan.spans, 7);
    assert.equal(scan.zeroParents, 1);
    assert.deepEqual(scan.rejected, [
      { index: 1, problem: OtlpIdProblem.TRACE_ID },
      { index: 2, problem: OtlpIdProblem.SPAN_ID },
      { index: 4, problem: OtlpIdProblem.PARENT_SPAN_ID },
      { index: 5, problem: OtlpIdProblem.TRACE_ID },
      { index: 6, problem: OtlpIdProblem.SPAN_ID },
    ]);
  });

  it('takes the last occurrence of a repeated id field, as protobuf does', () => {
    const bytes = oneSpan((w) => {
      w.hexField(1, '00'.repeat(16));
      w.hexField(2, SPAN);
      w.hexField(1, TRACE);
    });
    assert.deepEqual(scanOtlpTraces(bytes), { spans: 1, rejected: [], zeroParents: 0 });
    assertAgrees(bytes);
  });

  it('throws the decoder error, code and byte, for bad structure', () => {
    const wrongType = oneSpan((w) => {
      w.hexField(1, TRACE);
      w.tag(6, 2); // kind is a varint
      w.uint(0);
    });
    rejects(() => scanOtlpTraces(wrongType), WireErrorCode.BAD_WIRE_TYPE, /^Span\.kind: wire type 2, expected 0/);
    rejects(() => scanOtlpTraces(Uint8Array.of(0x0a, 0x05, 0x12)), WireErrorCode.TRUNCATED, /at byte 1/);
    rejects(() => scanOtlpTraces(Uint8Array.of(0x00)), WireErrorCode.BAD_FIELD_NUMBER);
    let deep: AnyValue = 'leaf';
    for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? [deep] : { kvlist: [{ key: 'k', value: deep }] };
    const tooDeep = encodeOtlpTraces([baseSpan({ attributes: [{ key: 'k', value: deep }] })]);
    rejects(() => scanOtlpTraces(tooDeep), WireErrorCode.TOO_DEEP);
    assertAgrees(tooDeep);
    for (const bytes of [wrongType, Uint8Array.of(0x0a, 0x05, 0x12), Uint8Array.of(0x00)]) assertAgrees(bytes);
  });

  it('rejects AnyValues nested past the limit, also thousands deep, without overflowing the stack', () => {
    const w = new ProtoWriter();
    const marks: number[] = [];
    marks.push(w.fork(1), w.fork(2), w.fork(2), w.fork(9), w.fork(2));
    for (let i = 0; i < 5000; i++) marks.push(w.fork(5), w.fork(1));
    while (marks.length > 0) w.join(marks.pop() as number);
    const bytes = w.finish();
    rejects(() => scanOtlpTraces(bytes), WireErrorCode.TOO_DEEP, /deeper than 32 levels at byte \d+/);
    assertAgrees(bytes);
  });

  it('limits nesting in key-value lists too, down to a scalar attribute at the limit', () => {
    for (const levels of [31, 32]) {
      let value: AnyValue = 'leaf';
      for (let i = 0; i < levels; i++) value = { kvlist: [{ key: 'k', value }] };
      const bytes = encodeOtlpTraces([baseSpan({ attributes: [{ key: 'k', value }] })]);
      if (levels === 32) rejects(() => scanOtlpTraces(bytes), WireErrorCode.TOO_DEEP);
      else assert.equal(scanOtlpTraces(bytes).spans, 1);
      assertAgrees(bytes);
    }
  });

  it('follows the field 1000 rule: read when scope_spans is absent, ignored otherwise', () => {
    const write = (w: ProtoWriter, field: number, traceId: string) => {
      const ss = w.fork(field);
      const sp = w.fork(2);
      w.hexField(1, traceId);
      w.hexField(2, SPAN);
      w.join(sp);
      w.join(ss);
    };
    const legacyOnly = new ProtoWriter();
    let rs = legacyOnly.fork(1);
    write(legacyOnly, 1000, '00'.repeat(16));
    legacyOnly.join(rs);
    const legacy = scanOtlpTraces(legacyOnly.finish());
    assert.deepEqual(legacy, { spans: 1, rejected: [{ index: 0, problem: OtlpIdProblem.TRACE_ID }], zeroParents: 0 });

    const both = new ProtoWriter();
    rs = both.fork(1);
    write(both, 1000, '00'.repeat(16));
    write(both, 2, TRACE);
    // Garbage in the ignored field 1000 is not looked at, by the decoder either.
    both.bytesField(1000, Uint8Array.of(0xff, 0xff));
    both.join(rs);
    const bytes = both.finish();
    assert.deepEqual(scanOtlpTraces(bytes), { spans: 1, rejected: [], zeroParents: 0 });
    assertAgrees(bytes);

    // Field 1000 with another wire type is an error whether or not scope_spans is present.
    const wrong = new ProtoWriter();
    rs = wrong.fork(1);
    wrong.tag(1000, 0);
    wrong.uint(1);
    wrong.join(rs);
    rejects(() => scanOtlpTraces(wrong.finish()), WireErrorCode.BAD_WIRE_TYPE, /instrumentation_library_spans/);
  });

  it('finds an error in a resource before one in an earlier span, as the decoder does', () => {
    const w = new ProtoWriter();
    const rs = w.fork(1);
    w.bytesField(2, Uint8Array.of(0x12, 0x02, 0x30)); // a span whose only field is a truncated kind
    const res = w.fork(1);
    w.tag(2, 2); // dropped_attributes_count with the wrong wire type
    w.uint(0);
    w.join(res);
    w.join(rs);
    const bytes = w.finish();
    rejects(() => scanOtlpTraces(bytes), WireErrorCode.BAD_WIRE_TYPE, /^Resource\.dropped_attributes_count/);
    assertAgrees(bytes);
  });
});

describe('scanOtlpTraces agrees with decodeOtlpTraces (fast-check)', () => {
  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => assertAgrees(bytes)),
      { numRuns: 3000 },
    );
  });

  it('on random message trees with OTLP field numbers and any wire types', () => {
    fc.assert(
      fc.property(arbMessage, (tree) => assertAgrees(encodeTree(tree).finish())),
      { numRuns: 3000 },
    );
  });

  it('on random OTLP-shaped requests with faults deep in the structure', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => assertAgrees(shapedRequest(seed))),
      { numRuns: 3000 },
    );
  });

  it('on random OTLP-shaped requests, mutated', () => {
    fc.assert(
      fc.property(fc.nat(), arbEdits, (seed, edits) => assertAgrees(mutate(shapedRequest(seed), edits))),
      { numRuns: 2000 },
    );
  });

  it('on attributes whose value holds random bytes, mostly after a scalar tag', () => {
    const arbValueBytes = fc
      .tuple(fc.constantFrom(0x0a, 0x10, 0x18, 0x21, 0x3a, 0x2a, 0x32, 0x09), fc.uint8Array({ maxLength: 13 }))
      .map(([tag, rest]) => Uint8Array.of(tag, ...rest));
    fc.assert(
      fc.property(fc.oneof(arbValueBytes, fc.uint8Array({ maxLength: 14 })), fc.constantFrom(9, 11), (value, field) =>
        assertAgrees(
          oneSpan((w) => {
            w.hexField(1, TRACE);
            w.hexField(2, SPAN);
            // As a span attribute (field 9), or as one of an event (field 11, attributes = 3).
            const event = field === 11 ? w.fork(11) : -1;
            const kv = w.fork(field === 11 ? 3 : 9);
            w.stringField(1, 'key');
            w.bytesField(2, value);
            w.join(kv);
            if (event >= 0) w.join(event);
          }),
        ),
      ),
      { numRuns: 3000 },
    );
  });

  it('on random spans with good and bad ids', () => {
    fc.assert(
      fc.property(arbSpansWithIds, (spans) => assertAgrees(encodeOtlpTraces(spans))),
      { numRuns: 500 },
    );
  });

  it('on mutated valid payloads', () => {
    const payloads = [
      encodeOtlpTraces(sampleSpans()),
      encodeOtlpTraces([baseSpan({ parentSpanId: '0'.repeat(16), attributes: EVERY_VALUE })]),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...payloads), arbEdits, (payload, edits) => assertAgrees(mutate(payload, edits))),
      { numRuns: 3000 },
    );
  });

  it('on every single-byte change of a small request (each byte: +-1, 0, 0x7f, 0x80, 0xff)', () => {
    const spans = sampleSpans();
    const payload = encodeOtlpTraces([
      baseSpan({ parentSpanId: '0'.repeat(16), name: 'root', kind: 2, startTimeUnixNano: 5n, endTimeUnixNano: 9n }),
      ...spans.slice(0, 2),
    ]);
    for (let i = 0; i < payload.length; i++) {
      const original = payload[i] as number;
      for (const value of new Set([original + 1, original - 1, 0, 0x7f, 0x80, 0xff])) {
        if (value < 0 || value > 0xff || value === original) continue;
        const bytes = payload.slice();
        bytes[i] = value;
        assertAgrees(bytes);
      }
    }
  });

  it('on mutated random spans', () => {
    fc.assert(
      fc.property(arbSpansWithIds, arbEdits, (spans, edits) => assertAgrees(mutate(encodeOtlpTraces(spans), edits))),
      { numRuns: 500 },
    );
  });
});
