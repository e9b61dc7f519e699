/**
 * Property tests of the Jaeger Thrift decoder: generated batches decode to
 * what an independent reading of the collector's rules expects (and the
 * test-side writer that produces them writes the same bytes as thriftrw,
 * jaeger-client's serializer); random and corrupted bodies either decode to
 * valid spans or throw `WireDecodeError`, with the exact code where the
 * corruption determines it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { AnyValue, KeyValue, Span } from '@traceloom/model';
import fc from 'fast-check';
import { isWireDecodeError, WireErrorCode } from '../errors.ts';
import {
  type BatchSpec,
  encodeBatch,
  type LogSpec,
  type RefSpec,
  type SpanSpec,
  type TagSpec,
  ThriftWriter,
  writeProcess,
  writeSpan,
} from './fixtures/thrift-builder.ts';
import { decodeJaegerThriftBatch } from './thrift.ts';
import { MAX_THRIFT_DEPTH, ThriftType } from './thrift-reader.ts';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const text = fc.string({ unit: 'binary', maxLength: 12 });
/** Ids drawn often from a small pool, so references hit the span's trace and parent. */
const poolId = (...pool: bigint[]) => fc.oneof(fc.constantFrom(...pool), i64);

/**
 * Tags with distinct keys that none of the collector's special keys can
 * match (they all get a `k.` prefix), so the expected attributes are the tags.
 */
const tagValue = fc.oneof(
  fc.record({ vType: fc.constant(0), vStr: text }),
  fc.record({ vType: fc.constant(1), vDouble: fc.double() }),
  fc.record({ vType: fc.constant(2), vBool: fc.boolean() }),
  fc.record({ vType: fc.constant(3), vLong: i64 }),
  fc.record({ vType: fc.constant(4), vBinary: fc.uint8Array({ maxLength: 8 }) }),
);
const tags = (maxLength: number) =>
  fc
    .uniqueArray(fc.tuple(text, tagValue), { maxLength, selector: ([k]) => k })
    .map((list): TagSpec[] => list.map(([k, v]) => ({ key: `k.${k}`, ...v })));

const ref: fc.Arbitrary<RefSpec> = fc.record({
  refType: fc.constantFrom(0, 1),
  traceIdLow: poolId(1n, 2n),
  traceIdHigh: poolId(0n),
  spanId: poolId(0n, 5n, 6n),
});

const log: fc.Arbitrary<LogSpec> = fc.record({
  timestamp: i64,
  fields: fc
    .tuple(fc.option(text, { nil: undefined }), tags(3))
    .map(([event, rest]) => (event === undefined ? rest : [{ key: 'event', vType: 0, vStr: event }, ...rest])),
});

const span: fc.Arbitrary<SpanSpec> = fc.record(
  {
    traceIdLow: poolId(0n, 1n, 2n),
    traceIdHigh: poolId(0n),
    spanId: poolId(0n, 5n),
    parentSpanId: poolId(0n, 5n),
    operationName: text,
    references: fc.array(ref, { maxLength: 3 }),
    flags: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    startTime: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 53n }), i64),
    duration: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 9n }), i64),
    tags: tags(5),
    logs: fc.array(log, { maxLength: 2 }),
  },
  {
    requiredKeys: [
      'traceIdLow',
      'traceIdHigh',
      'spanId',
      'parentSpanId',
      'operationName',
      'flags',
      'startTime',
      'duration',
    ],
  },
);

const batch: fc.Arbitrary<BatchSpec> = fc.record({
  process: fc.record({ serviceName: text, tags: tags(4) }, { requiredKeys: ['serviceName'] }),
  spans: fc.array(span, { maxLength: 4 }),
});

/** A valid batch together with the writer that encoded it (which knows where lists, strings and fields sit). */
const encoded = batch.map((spec) => {
  const w = new ThriftWriter();
  return { spec, w, bytes: encodeBatch(spec, w) };
});

// ---------------------------------------------------------------------------
// The expected model, computed independently from the collector's rules
// ---------------------------------------------------------------------------

const hex64 = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
const nanos = (us: bigint): bigint => BigInt.asUintN(64, us * 1000n);

function tagValueOf(t: TagSpec): AnyValue {
  switch (t.vType) {
    case 0:
      return t.vStr ?? '';
    case 1:
      return t.vDouble ?? 0;
    case 2:
      return t.vBool ?? false;
    case 3:
      return t.vLong ?? 0n;
    default:
      return t.vBinary ?? new Uint8Array(0);
  }
}
const attrs = (list: TagSpec[] | undefined): KeyValue[] =>
  (list ?? []).map((t) => ({ key: t.key, value: tagValueOf(t) }));

function expectedSpans(spec: BatchSpec): object[] {
  const out: object[] = [];
  for (const s of spec.spans) {
    const blank =
      s.references === undefined &&
      s.tags === undefined &&
      s.logs === undefined &&
      s.operationName === '' &&
      s.flags === 0 &&
      [s.traceIdLow, s.traceIdHigh, s.spanId, s.parentSpanId, s.startTime, s.duration].every((v) => v === 0n);
    if (blank) continue;
    const traceId = hex64(s.traceIdHigh) + hex64(s.traceIdLow);
    let parent = s.parentSpanId;
    if (parent === 0n) {
      const sameTrace = (s.references ?? []).filter((r) => hex64(r.traceIdHigh) + hex64(r.traceIdLow) === traceId);
      parent = (sameTrace.find((r) => r.refType === 0) ?? sameTrace.find((r) => r.refType === 1))?.spanId ?? 0n;
    }
    const links = (s.references ?? [])
      .filter((r) => !(r.refType === 0 && hex64(r.spanId) === hex64(parent)))
      .map((r) => ({
        traceId: hex64(r.traceIdHigh) + hex64(r.traceIdLow),
        spanId: hex64(r.spanId),
        traceState: '',
        attributes: [{ key: 'opentracing.ref_type', value: r.refType === 0 ? 'child_of' : 'follows_from' }],
        droppedAttributesCount: 0,
        flags: 0,
      }));
    const events = (s.logs ?? []).map((l) => {
      const named = l.fields[0]?.key === 'event';
      return {
        timeUnixNano: nanos(l.timestamp),
        name: named ? (l.fields[0]?.vStr ?? '') : '',
        attributes: attrs(named ? l.fields.slice(1) : l.fields),
        droppedAttributesCount: 0,
      };
    });
    out.push({
      traceId,
      spanId: hex64(s.spanId),
      parentSpanId: hex64(parent) === '0000000000000000' ? '' : hex64(parent),
      traceState: '',
      flags: s.flags & 1,
      name: s.operationName,
      kind: 0,
      startTimeUnixNano: nanos(s.startTime),
      endTimeUnixNano: nanos(s.startTime + s.duration),
      attributes: attrs(s.tags),
      droppedAttributesCount: 0,
      events,
      droppedEventsCount: 0,
      links,
      droppedLinksCount: 0,
      status: { code: 0, message: '' },
    });
  }
  return out;
}

function expectedResource(spec: BatchSpec): KeyValue[] {
  const head = spec.process.serviceName === '' ? [] : [{ key: 'service.name', value: spec.process.serviceName }];
  return [...head, ...attrs(spec.process.tags)];
}

// ---------------------------------------------------------------------------
// Checking any outcome
// ---------------------------------------------------------------------------

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const U64_MAX = 2n ** 64n - 1n;

function checkValue(v: AnyValue): void {
  const ok =
    typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'boolean' ||
    (typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n) ||
    v instanceof Uint8Array;
  assert.ok(ok, `attribute value ${String(v)}`);
}

/** Asserts that decoded spans are well-formed model spans. */
function checkSpans(spans: Span[]): void {
  assert.ok(Array.isArray(spans));
  for (const s of spans) {
    assert.match(s.traceId, HEX32);
    assert.match(s.spanId, HEX16);
    assert.ok(s.parentSpanId === '' || (HEX16.test(s.parentSpanId) && s.parentSpanId !== '0000000000000000'));
    assert.ok(s.startTimeUnixNano >= 0n && s.startTimeUnixNano <= U64_MAX);
    assert.ok(s.endTimeUnixNano >= 0n && s.endTimeUnixNano <= U64_MAX);
    assert.ok(s.flags === 0 || s.flags === 1);
    assert.equal(s.resource, (spans[0] as Span).resource, 'one resource per batch');
    for (const kv of [...s.attributes, ...s.resource.attributes]) checkValue(kv.value);
    for (const e of s.events) {
      assert.ok(e.timeUnixNano >= 0n && e.timeUnixNano <= U64_MAX);
      for (const kv of e.attributes) checkValue(kv.value);
    }
    for (const l of s.links) {
      assert.match(l.traceId, HEX32);
      assert.match(l.spanId, HEX16);
    }
  }
}

/** Decodes; the outcome must be valid spans or a WireDecodeError inside the input. Returns the error code or 'ok'. */
function decodeOrError(bytes: Uint8Array): string {
  let spans: Span[];
  try {
    spans = decodeJaegerThriftBatch(bytes);
  } catch (e) {
    if (!isWireDecodeError(e)) throw e;
    assert.ok(e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} of ${bytes.length}`);
    return e.code;
  }
  checkSpans(spans);
  return 'ok';
}

function errorOf(bytes: Uint8Array): { code: string; offset: number } {
  try {
    decodeJaegerThriftBatch(bytes);
  } catch (e) {
    if (!isWireDecodeError(e)) throw e;
    return { code: e.code, offset: e.offset };
  }
  return { code: 'ok', offset: -1 };
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

interface ThriftrwBatch {
  rw: { toBuffer(value: unknown): { err: Error | null; value: Buffer } };
  new (v: object): object;
}
let thriftrwBatch: ThriftrwBatch | undefined;

function thriftrwEncode(spec: BatchSpec): Uint8Array {
  if (thriftrwBatch === undefined) {
    const { Thrift } = require('thriftrw') as { Thrift: new (o: object) => { Batch: ThriftrwBatch } };
    const idl = require.resolve('jaeger-client/dist/src/jaeger-idl/thrift/jaeger.thrift');
    thriftrwBatch = new Thrift({ source: readFileSync(idl, 'ascii'), allowOptionalArguments: true }).Batch;
  }
  const b8 = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return b;
  };
  const tagNames = ['STRING', 'DOUBLE', 'BOOL', 'LONG', 'BINARY'];
  const tag = (t: TagSpec) => ({
    key: t.key,
    vType: tagNames[t.vType],
    vStr: t.vStr,
    vDouble: t.vDouble,
    vBool: t.vBool,
    vLong: t.vLong === undefined ? undefined : b8(t.vLong),
    vBinary: t.vBinary === undefined ? undefined : Buffer.from(t.vBinary),
  });
  const value = {
    process: { serviceName: spec.process.serviceName, tags: spec.process.tags?.map(tag) },
    spans: spec.spans.map((s) => ({
      traceIdLow: b8(s.traceIdLow),
      traceIdHigh: b8(s.traceIdHigh),
      spanId: b8(s.spanId),
      parentSpanId: b8(s.parentSpanId),
      operationName: s.operationName,
      references: s.references?.map((r) => ({
        refType: r.refType === 0 ? 'CHILD_OF' : 'FOLLOWS_FROM',
        traceIdLow: b8(r.traceIdLow),
        traceIdHigh: b8(r.traceIdHigh),
        spanId: b8(r.spanId),
      })),
      flags: s.flags,
      startTime: b8(s.startTime),
      duration: b8(s.duration),
      tags: s.tags?.map(tag),
      logs: s.logs?.map((l) => ({ timestamp: b8(l.timestamp), fields: l.fields.map(tag) })),
    })),
  };
  const r = thriftrwBatch.rw.toBuffer(new thriftrwBatch(value));
  if (r.err) throw r.err;
  return new Uint8Array(r.value);
}

describe('decodeJaegerThriftBatch properties: valid batches', () => {
  it('the test writer produces the same bytes as thriftrw, jaeger-client’s serializer', () => {
    fc.assert(
      fc.property(encoded, ({ spec, bytes }) => {
        assert.deepEqual(bytes, thriftrwEncode(spec));
      }),
      { numRuns: 150 },
    );
  });

  it('decodes generated batches to what the collector’s rules give', () => {
    fc.assert(
      fc.property(encoded, ({ spec, bytes }) => {
        const spans = decodeJaegerThriftBatch(bytes);
        checkSpans(spans);
        const { resource, scope } = spans[0] ?? {};
        assert.deepEqual(
          spans.map(({ resource: _r, scope: _s, ...rest }) => rest),
          expectedSpans(spec),
        );
        if (resource !== undefined) assert.deepEqual(resource.attributes, expectedResource(spec));
        if (scope !== undefined) assert.equal(scope.name, '');
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeJaegerThriftBatch properties: bad input', () => {
  it('random bytes give spans or a WireDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        decodeOrError(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes after a plausible Batch opening give spans or a WireDecodeError', () => {
    // Batch.process { serviceName "a" ...: gets the decoder past the first checks.
    const opening = [0x0c, 0, 1, 0x0b, 0, 1, 0, 0, 0, 1, 0x61];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        decodeOrError(Uint8Array.from([...opening, ...tail]));
      }),
      { numRuns: 2000 },
    );
  });

  it('random Thrift structures (any field ids, any types) give spans or a WireDecodeError', () => {
    const { struct } = fc.letrec<{ struct: [number, number, unknown][]; value: [number, unknown] }>((tie) => ({
      struct: fc.array(
        fc
          .tuple(fc.oneof(fc.integer({ min: 1, max: 11 }), fc.integer({ min: -40, max: 40 })), tie('value'))
          .map(([id, [type, v]]) => [type, id, v] as [number, number, unknown]),
        { maxLength: 6 },
      ),
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.boolean().map((v) => [ThriftType.BOOL, v] as [number, unknown]),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => [ThriftType.I32, v] as [number, unknown]),
        i64.map((v) => [ThriftType.I64, v] as [number, unknown]),
        fc.double().map((v) => [ThriftType.DOUBLE, v] as [number, unknown]),
        text.map((v) => [ThriftType.STRING, v] as [number, unknown]),
        tie('struct').map((v) => [ThriftType.STRUCT, v] as [number, unknown]),
        fc.array(tie('struct'), { maxLength: 3 }).map((v) => [ThriftType.LIST, v] as [number, unknown]),
      ),
    }));
    const write = (w: ThriftWriter, type: number, v: unknown): void => {
      switch (type) {
        case ThriftType.BOOL:
          w.bool(v as boolean);
          break;
        case ThriftType.I32:
          w.i32(v as number);
          break;
        case ThriftType.I64:
          w.i64(v as bigint);
          break;
        case ThriftType.DOUBLE:
          w.double(v as number);
          break;
        case ThriftType.STRING:
          w.string(v as string);
          break;
        case ThriftType.STRUCT:
          for (const [t, id, x] of v as [number, number, unknown][]) {
            w.field(t, id);
            write(w, t, x);
          }
          w.stop();
          break;
        default: {
          const items = v as [number, number, unknown][][];
          w.list(ThriftType.STRUCT, items.length);
          for (const item of items) write(w, ThriftType.STRUCT, item);
        }
      }
    };
    fc.assert(
      fc.property(struct, (fields) => {
        const w = new ThriftWriter();
        write(w, ThriftType.STRUCT, fields);
        decodeOrError(w.toBytes());
      }),
      { numRuns: 1000 },
    );
  });

  it('any cut of a valid batch is TRUNCATED or BAD_LENGTH, at or before the cut', () => {
    fc.assert(
      fc.property(encoded, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), ({ bytes }, at) => {
        const n = Math.floor(at * bytes.length);
        const { code, offset } = errorOf(bytes.subarray(0, n));
        assert.ok(code === WireErrorCode.TRUNCATED || code === WireErrorCode.BAD_LENGTH, `${code} at cut ${n}`);
        assert.ok(offset >= 0 && offset <= n);
      }),
      { numRuns: 500 },
    );
  });

  it('flipped bytes give spans or a WireDecodeError', () => {
    fc.assert(
      fc.property(
        encoded,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        ({ bytes }, flips) => {
          const bad = bytes.slice();
          for (const [i, b] of flips) bad[i % bad.length] = b;
          decodeOrError(bad);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a replaced field type gives spans or a WireDecodeError', () => {
    fc.assert(
      fc.property(encoded, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ w, bytes }, pick, type) => {
        const bad = bytes.slice();
        bad[w.fieldTypes[pick % w.fieldTypes.length] as number] = type;
        decodeOrError(bad);
      }),
      { numRuns: 1000 },
    );
  });

  it('a list count or string length past what is left is BAD_LENGTH at that header, whatever its size', () => {
    fc.assert(
      fc.property(
        encoded,
        fc.nat(),
        fc.boolean(),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        ({ w, bytes }, pick, useList, extra) => {
          const bad = bytes.slice();
          const view = new DataView(bad.buffer);
          // A list header is its element type then the count; a string is just its length.
          const headers = useList && w.listHeaders.length > 0 ? w.listHeaders : w.stringLengths;
          const at = headers[pick % headers.length] as number;
          const sizeAt = headers === w.listHeaders ? at + 1 : at;
          const left = bad.length - (sizeAt + 4);
          view.setInt32(sizeAt, Math.min(2 ** 31 - 1, left + extra));
          assert.deepEqual(errorOf(bad), { code: WireErrorCode.BAD_LENGTH, offset: at });
          view.setInt32(sizeAt, -extra);
          assert.deepEqual(errorOf(bad), { code: WireErrorCode.BAD_LENGTH, offset: at });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a random in-range list count or string length gives spans or a WireDecodeError', () => {
    fc.assert(
      fc.property(encoded, fc.nat(), fc.nat({ max: 64 }), ({ w, bytes }, pick, size) => {
        const all = [...w.listHeaders.map((h) => h + 1), ...w.stringLengths];
        const bad = bytes.slice();
        new DataView(bad.buffer).setInt32(all[pick % all.length] as number, size);
        decodeOrError(bad);
      }),
      { numRuns: 1000 },
    );
  });

  it(`unknown fields nested to any depth are skipped up to ${MAX_THRIFT_DEPTH} levels, then TOO_DEEP`, () => {
    const kinds = fc.array(fc.constantFrom('struct', 'list', 'set', 'map'), { minLength: 1, maxLength: 45 });
    const typeOf = { struct: ThriftType.STRUCT, list: ThriftType.LIST, set: ThriftType.SET, map: ThriftType.MAP };
    const nested = (w: ThriftWriter, levels: readonly (keyof typeof typeOf)[]): void => {
      const [kind, ...rest] = levels;
      const next = rest[0];
      const inner = next === undefined ? ThriftType.I32 : typeOf[next];
      if (kind === 'struct') {
        if (next !== undefined) {
          w.field(inner, 7);
          nested(w, rest);
        }
        w.stop();
      } else if (kind === 'map') {
        w.map(ThriftType.BOOL, inner, next === undefined ? 0 : 1);
        if (next !== undefined) {
          w.bool(true);
          nested(w, rest);
        }
      } else {
        w.list(inner, next === undefined ? 0 : 1);
        if (next !== undefined) nested(w, rest);
      }
    };
    fc.assert(
      fc.property(encoded, kinds, fc.boolean(), ({ spec, bytes }, levels, inSpan) => {
        const w = new ThriftWriter();
        const first = typeOf[levels[0] as keyof typeof typeOf];
        let hostDepth = 1;
        if (!inSpan || spec.spans.length === 0) {
          w.field(first, 77);
          nested(w, levels);
          encodeBatch(spec, w);
        } else {
          hostDepth = 2;
          w.field(ThriftType.STRUCT, 1);
          writeProcess(w, spec.process);
          w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, spec.spans.length);
          spec.spans.forEach((s, i) => {
            if (i === 0) {
              w.field(first, 77);
              nested(w, levels);
            }
            writeSpan(w, s);
          });
          w.stop();
        }
        const withNesting = w.toBytes();
        if (hostDepth + levels.length > MAX_THRIFT_DEPTH) {
          assert.equal(errorOf(withNesting).code, WireErrorCode.TOO_DEEP);
        } else {
          assert.deepEqual(decodeJaegerThriftBatch(withNesting), decodeJaegerThriftBatch(bytes));
        }
      }),
      { numRuns: 500 },
    );
  });
});
