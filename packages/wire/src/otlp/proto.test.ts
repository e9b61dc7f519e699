import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnyValue, EMPTY_RESOURCE, EMPTY_SCOPE, type KeyValue, type Span, UNSET_STATUS } from '@traceloom/model';
import fc from 'fast-check';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { ProtoReader } from '../internal/proto-reader.ts';
import { ProtoWriter } from '../internal/proto-writer.ts';
import { assertSameSpans, assertSharing, decodesOrRejects, groupedOrder, rejects } from './fixtures/assert.ts';
import { oneSpan } from './fixtures/one-span.ts';
import { arbSpans, baseSpan, EVERY_VALUE, sampleSpans } from './fixtures/spans.ts';
import { decodeOtlpTraces, encodeOtlpTraces, type FlatAttributes } from './proto.ts';

/** Writes a `KeyValue` with a string value as field `field` of the message being written. */
function writeStringAttribute(w: ProtoWriter, field: number, key: string, value: string): void {
  const kv = w.fork(field);
  w.stringField(1, key);
  const v = w.fork(2);
  w.stringField(1, value);
  w.join(v);
  w.join(kv);
}

describe('OTLP protobuf round trip', () => {
  it('keeps every field of the sample spans', () => {
    const spans = sampleSpans();
    const decoded = decodeOtlpTraces(encodeOtlpTraces(spans));
    assertSameSpans(decoded, spans);
    assertSharing(spans, decoded);
  });

  it('keeps every attribute value type exactly (int64 extremes, NaN, bytes, nesting, unicode)', () => {
    const [first] = decodeOtlpTraces(encodeOtlpTraces([baseSpan({ attributes: EVERY_VALUE })]));
    assert.ok(first);
    const byKey = new Map(first.attributes.map((a) => [a.key, a.value]));
    assert.equal(byKey.get('int.max'), 2n ** 63n - 1n);
    assert.equal(byKey.get('int.min'), -(2n ** 63n));
    assert.equal(byKey.get('int.negative'), -1n);
    assert.equal(byKey.get('int.beyond.2^53'), 2n ** 53n + 1n);
    assert.ok(Number.isNaN(byKey.get('double.nan')));
    assert.equal(byKey.get('double.integral'), 2);
    assert.equal(typeof byKey.get('double.integral'), 'number');
    assert.deepEqual(byKey.get('bytes'), new Uint8Array([0, 1, 2, 250, 255]));
    assert.equal(byKey.get('unicode'), 'héllo wörld ✓ 🎉 日本語 \u0000 "quoted" \\ back\nslash');
    assert.equal(byKey.get('null'), null);
    assert.deepEqual(byKey.get('array.nested'), [['a', ['b', [3n]]], { kvlist: [{ key: 'deep', value: ['x'] }] }]);
  });

  it('groups by resource then scope identity, first seen first', () => {
    const [a, , , b] = sampleSpans();
    assert.ok(a && b);
    const a2 = { ...a, spanId: 'aaaaaaaaaaaaaaaa' };
    const decoded = decodeOtlpTraces(encodeOtlpTraces([a, b, a2]));
    assert.deepEqual(
      decoded.map((s) => s.spanId),
      [a.spanId, a2.spanId, b.spanId],
    );
    assert.equal(decoded[0]?.resource, decoded[1]?.resource);
    assert.notEqual(decoded[0]?.resource, decoded[2]?.resource);
  });

  it('shares the model constants when resource, scope and status are absent', () => {
    const [s] = decodeOtlpTraces(encodeOtlpTraces([baseSpan()]));
    assert.equal(s?.resource, EMPTY_RESOURCE);
    assert.equal(s?.scope, EMPTY_SCOPE);
    assert.equal(s?.status, UNSET_STATUS);
    assert.equal(s?.parentSpanId, '');
  });

  it('omits default values as proto3 does', () => {
    // TracesData{ResourceSpans{ScopeSpans{Span{trace_id, span_id}}}}: 2+2+2 framing bytes, 18 + 10 for the ids.
    const bytes = encodeOtlpTraces([baseSpan()]);
    assert.equal(bytes.length, 6 + 18 + 10);
    assert.deepEqual(encodeOtlpTraces([]), new Uint8Array(0));
    assert.deepEqual(decodeOtlpTraces(new Uint8Array(0)), []);
  });

  it('keeps a leading U+FEFF in keys, values and names (a byte order mark is content here)', () => {
    const span = baseSpan({
      name: '\uFEFFname',
      attributes: [
        { key: '\uFEFF', value: '' },
        { key: 'k', value: '\uFEFF' },
        { key: '\uFEFFlong', value: `\uFEFF${'x'.repeat(300)}` },
      ],
    });
    for (let round = 0; round < 3; round++) {
      const [got] = decodeOtlpTraces(encodeOtlpTraces([span]));
      assert.equal(got?.name, span.name);
      assert.deepEqual(got?.attributes, span.attributes);
    }
  });

  it('round-trips random spans', () => {
    fc.assert(
      fc.property(arbSpans, (spans) => {
        const decoded = decodeOtlpTraces(encodeOtlpTraces(spans));
        const expected = groupedOrder(spans);
        assertSameSpans(decoded, expected);
        assertSharing(expected, decoded);
      }),
      { numRuns: 300 },
    );
  });

  it('writes large batches (lengths of several bytes, buffer growth)', () => {
    const spans = Array.from({ length: 3000 }, (_, i) =>
      baseSpan({ spanId: i.toString(16).padStart(16, '0'), name: `op ${i}`, attributes: EVERY_VALUE }),
    );
    const decoded = decodeOtlpTraces(encodeOtlpTraces(spans));
    assertSameSpans(decoded, spans);
  });
});

describe('OTLP protobuf decoding', () => {
  it('skips unknown fields of every wire type at every level', () => {
    const w = new ProtoWriter(256);
    const unknowns = () => {
      w.tag(99, 0);
      w.uint(12345);
      w.tag(98, 1);
      w.fixed64(7n);
      w.tag(97, 5);
      w.fixed32(7);
      w.stringField(96, 'ignored');
    };
    unknowns();
    const rs = w.fork(1);
    unknowns();
    const ss = w.fork(2);
    unknowns();
    const sp = w.fork(2);
    unknowns();
    w.stringField(5, 'op');
    const attr = w.fork(9);
    unknowns();
    w.stringField(1, 'k');
    const val = w.fork(2);
    unknowns();
    w.stringField(1, 'v');
    w.join(val);
    w.join(attr);
    w.join(sp);
    w.join(ss);
    w.join(rs);
    const [s] = decodeOtlpTraces(w.finish());
    assert.equal(s?.name, 'op');
    assert.deepEqual(s?.attributes, [{ key: 'k', value: 'v' }]);
  });

  it('reads fields in any order, scope and schema_url after the spans included', () => {
    const w = new ProtoWriter(256);
    const rs = w.fork(1);
    w.stringField(3, 'https://schema/resource');
    const ss = w.fork(2);
    for (const name of ['one', 'two']) {
      const sp = w.fork(2);
      w.tag(8, 1);
      w.fixed64(20n);
      w.stringField(5, name);
      w.tag(7, 1);
      w.fixed64(10n);
      w.join(sp);
    }
    w.stringField(3, 'https://schema/scope');
    const scope = w.fork(1);
    w.stringField(2, '1.0');
    w.stringField(1, 'lib');
    w.join(scope);
    w.join(ss);
    const res = w.fork(1);
    writeStringAttribute(w, 1, 'service.name', 'svc');
    w.join(res);
    w.join(rs);
    const spans = decodeOtlpTraces(w.finish());
    assert.equal(spans.length, 2);
    const [one, two] = spans;
    assert.equal(one?.startTimeUnixNano, 10n);
    assert.equal(one?.endTimeUnixNano, 20n);
    assert.equal(one?.scope, two?.scope);
    assert.equal(one?.resource, two?.resource);
    assert.deepEqual(one?.scope, {
      name: 'lib',
      version: '1.0',
      attributes: [],
      droppedAttributesCount: 0,
      schemaUrl: 'https://schema/scope',
    });
    assert.deepEqual(one?.resource, {
      attributes: [{ key: 'service.name', value: 'svc' }],
      droppedAttributesCount: 0,
      schemaUrl: 'https://schema/resource',
    });
  });

  it('turns ids of any length into lowercase hex without judging them', () => {
    const bytes = oneSpan((w) => {
      w.bytesField(1, new Uint8Array([0xab, 0xcd, 0xef]));
      w.bytesField(2, new Uint8Array([]));
      w.bytesField(4, new Uint8Array(8));
    });
    const [s] = decodeOtlpTraces(bytes);
    assert.equal(s?.traceId, 'abcdef');
    assert.equal(s?.spanId, '');
    assert.equal(s?.parentSpanId, '0000000000000000');
  });

  it('treats the last of a repeated scalar field as its value and merges repeated status', () => {
    const bytes = oneSpan((w) => {
      w.stringField(5, 'first');
      w.stringField(5, 'second');
      let m = w.fork(15);
      w.tag(3, 0);
      w.uint(2);
      w.join(m);
      m = w.fork(15);
      w.stringField(2, 'msg');
      w.join(m);
    });
    const [s] = decodeOtlpTraces(bytes);
    assert.equal(s?.name, 'second');
    assert.deepEqual(s?.status, { code: 2, message: 'msg' });
  });

  it('reads negative enums and any-width bools', () => {
    const bytes = oneSpan((w) => {
      w.tag(6, 0);
      w.int32(-3);
      const kv = w.fork(9);
      w.stringField(1, 'b');
      const v = w.fork(2);
      w.tag(2, 0);
      w.int64(1n << 40n);
      w.join(v);
      w.join(kv);
    });
    const [s] = decodeOtlpTraces(bytes);
    assert.equal(s?.kind, -3);
    assert.deepEqual(s?.attributes, [{ key: 'b', value: true }]);
  });

  it('rejects a known field with the wrong wire type', () => {
    rejects(
      () =>
        decodeOtlpTraces(
          oneSpan((w) => {
            w.tag(7, 0);
            w.uint(5);
          }),
        ),
      WireErrorCode.BAD_WIRE_TYPE,
      /Span\.start_time_unix_nano/,
    );
    rejects(
      () =>
        decodeOtlpTraces(
          oneSpan((w) => {
            w.stringField(6, 'SERVER');
          }),
        ),
      WireErrorCode.BAD_WIRE_TYPE,
      /Span\.kind/,
    );
    const w = new ProtoWriter();
    w.tag(1, 0);
    w.uint(1);
    rejects(() => decodeOtlpTraces(w.finish()), WireErrorCode.BAD_WIRE_TYPE);
  });

  it('rejects truncated input, huge declared lengths and field number 0', () => {
    const good = encodeOtlpTraces(sampleSpans());
    rejects(() => decodeOtlpTraces(good.subarray(0, good.length - 3)), WireErrorCode.TRUNCATED);
    // Field 1, length 2^32 - 1 with nothing behind it.
    rejects(() => decodeOtlpTraces(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), WireErrorCode.TRUNCATED);
    rejects(() => decodeOtlpTraces(new Uint8Array([0x00, 0x00])), WireErrorCode.BAD_FIELD_NUMBER);
    rejects(() => decodeOtlpTraces(new Uint8Array([0x0b])), WireErrorCode.BAD_WIRE_TYPE);
    rejects(
      () => decodeOtlpTraces(new Uint8Array([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
      WireErrorCode.BAD_VARINT,
    );
  });

  it('accepts 32 levels of nested AnyValue and rejects 33', () => {
    const nest = (levels: number) => {
      let v: unknown = 'leaf';
      for (let i = 1; i < levels; i++) v = i % 2 === 0 ? [v] : { kvlist: [{ key: 'k', value: v }] };
      return baseSpan({ attributes: [{ key: 'deep', value: v as string }] });
    };
    const ok = decodeOtlpTraces(encodeOtlpTraces([nest(32)]));
    assertSameSpans(ok, [nest(32)]);
    rejects(() => decodeOtlpTraces(encodeOtlpTraces([nest(33)])), WireErrorCode.TOO_DEEP);
    // Thousands of levels must fail cleanly too, not overflow the stack.
    const w = new ProtoWriter();
    const marks: number[] = [];
    marks.push(w.fork(1), w.fork(2), w.fork(2), w.fork(9), w.fork(2));
    for (let i = 0; i < 5000; i++) marks.push(w.fork(5), w.fork(1));
    while (marks.length > 0) w.join(marks.pop() as number);
    rejects(() => decodeOtlpTraces(w.finish()), WireErrorCode.TOO_DEEP);
  });
});

/**
 * The fields of the message `bytes[start, end)` reordered by `rank` (a field
 * number's rank; fields with one number keep their order, as repeated fields
 * must), and, with `inner`, those of the sub-messages it names too. Lengths
 * do not change, so every prefix stays valid.
 */
function reorder(
  bytes: Uint8Array,
  start: number,
  end: number,
  rank: (field: number) => number,
  inner: (field: number) => readonly number[] | undefined,
): Uint8Array {
  const r = new ProtoReader(bytes, start, end);
  const chunks: { field: number; bytes: Uint8Array }[] = [];
  while (r.pos < r.end) {
    const at = r.pos;
    const t = r.tag();
    const bodyAt = r.pos;
    let body = bodyAt;
    if ((t & 7) === 2) {
      const bodyEnd = r.lengthEnd();
      body = r.pos;
      r.pos = bodyEnd;
    } else r.skip(t & 7);
    let chunk = bytes.slice(at, r.pos);
    const nested = inner(t >>> 3);
    if (nested !== undefined && (t & 7) === 2) {
      const sub = reorder(bytes, body, r.pos, rank, (f) => (nested.includes(f) ? [] : undefined));
      chunk = Uint8Array.from([...bytes.subarray(at, body), ...sub]);
    }
    chunks.push({ field: t >>> 3, bytes: chunk });
  }
  // Array.prototype.sort is stable.
  chunks.sort((a, b) => rank(a.field) - rank(b.field));
  return Uint8Array.from(chunks.flatMap((c) => [...c.bytes]));
}

/** The spans of an encoded request (one ResourceSpans, one ScopeSpans, as {@link oneSpan} writes) with each span's fields, and its events', reordered. */
function reorderSpans(request: Uint8Array, rank: (field: number) => number): Uint8Array {
  const spans: Uint8Array[] = [];
  const r = new ProtoReader(request);
  const walk = (depth: number) => {
    while (r.pos < r.end) {
      const t = r.tag();
      const end = r.lengthEnd();
      if (depth === 2 && t === 0x12) spans.push(reorder(request, r.pos, end, rank, (f) => (f === 11 ? [] : undefined)));
      else if (depth < 2 && t === (depth === 0 ? 0x0a : 0x12)) {
        const outer = r.end;
        r.end = end;
        walk(depth + 1);
        r.end = outer;
      }
      r.pos = end;
    }
  };
  walk(0);
  const w = new ProtoWriter(256);
  const rs = w.fork(1);
  const ss = w.fork(2);
  for (const span of spans) w.bytesField(2, span);
  w.join(ss);
  w.join(rs);
  return w.finish();
}

describe('OTLP protobuf decoding: field order and caches', () => {
  const oneGroup = (spans: readonly Span[]) =>
    spans.map((s) => ({ ...s, resource: EMPTY_RESOURCE, scope: EMPTY_SCOPE }));

  it('decodes spans and events with their fields in any order as in field-number order, twice', () => {
    fc.assert(
      fc.property(arbSpans, fc.array(fc.integer(), { minLength: 17, maxLength: 17 }), (spans, ranks) => {
        const expected = oneGroup(spans);
        const bytes = encodeOtlpTraces(expected);
        for (const rank of [(f: number) => ranks[f] ?? 0, (f: number) => -f]) {
          const shuffled = reorderSpans(bytes, rank);
          // The second decode finds attributes, events and ids in the caches.
          assertSameSpans(decodeOtlpTraces(shuffled), expected);
          assertSameSpans(decodeOtlpTraces(shuffled), expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads attributes, events and links split into several runs, in order', () => {
    const attribute = writeStringAttribute;
    const bytes = oneSpan((w) => {
      attribute(w, 9, 'a', '1');
      w.stringField(5, 'name');
      attribute(w, 9, 'b', '2');
      attribute(w, 9, 'c', '3');
      for (const name of ['e1', 'e2', 'e3']) {
        const e = w.fork(11);
        w.stringField(2, name);
        w.join(e);
        w.tag(10, 0);
        w.uint(1);
      }
      const l = w.fork(13);
      w.bytesField(2, new Uint8Array([1]));
      w.join(l);
      w.tag(6, 0);
      w.uint(2);
      const l2 = w.fork(13);
      w.bytesField(2, new Uint8Array([2]));
      w.join(l2);
    });
    const [s] = decodeOtlpTraces(bytes);
    assert.deepEqual(
      s?.attributes.map((a) => `${a.key}=${String(a.value)}`),
      ['a=1', 'b=2', 'c=3'],
    );
    assert.deepEqual(
      s?.events.map((e) => e.name),
      ['e1', 'e2', 'e3'],
    );
    assert.deepEqual(
      s?.links.map((l) => l.spanId),
      ['01', '02'],
    );
    assert.equal(s?.droppedAttributesCount, 1);
    assert.equal(s?.kind, 2);
  });

  it('reads a run of attributes longer than a list is sized for at once', () => {
    const n = 2500;
    const bytes = oneSpan((w) => {
      for (let i = 0; i < n; i++) {
        const kv = w.fork(9);
        w.stringField(1, `k${i % 7}`);
        const v = w.fork(2);
        w.tag(3, 0);
        w.uint(i);
        w.join(v);
        w.join(kv);
      }
    });
    const [s] = decodeOtlpTraces(bytes);
    assert.equal(s?.attributes.length, n);
    s?.attributes.forEach((a, i) => {
      assert.equal(a.key, `k${i % 7}`);
      assert.equal(a.value, BigInt(i));
    });
  });

  it('gives events with the same name and attributes their own time, and a time field after them wins', () => {
    const event = (w: ProtoWriter, time: bigint, trailingTime?: bigint) => {
      const e = w.fork(11);
      w.tag(1, 1);
      w.fixed64(time);
      w.stringField(2, 'retry');
      const kv = w.fork(3);
      w.stringField(1, 'attempt.reason');
      const v = w.fork(2);
      w.stringField(1, 'timeout');
      w.join(v);
      w.join(kv);
      if (trailingTime !== undefined) {
        w.tag(1, 1);
        w.fixed64(trailingTime);
      }
      w.join(e);
    };
    const bytes = oneSpan((w) => {
      for (let i = 1n; i <= 4n; i++) event(w, i);
      event(w, 5n, 50n);
      event(w, 6n, 60n);
    });
    for (let round = 0; round < 2; round++) {
      const [s] = decodeOtlpTraces(bytes);
      assert.deepEqual(
        s?.events.map((e) => e.timeUnixNano),
        [1n, 2n, 3n, 4n, 50n, 60n],
      );
      for (const e of s?.events ?? []) {
        assert.equal(e.name, 'retry');
        assert.deepEqual(e.attributes, [{ key: 'attempt.reason', value: 'timeout' }]);
      }
    }
  });

  it('hands out one resource object for the same resource bytes across calls, and a fresh one otherwise', () => {
    const resource = {
      attributes: [
        { key: 'service.name', value: 'checkout-interned' },
        { key: 'process.pid', value: 4242n },
        { key: 'host.up', value: true },
      ],
      droppedAttributesCount: 1,
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    };
    const request = (r: Span['resource']) => encodeOtlpTraces([baseSpan({ resource: r, name: 'op' })]);
    const decodeResource = (bytes: Uint8Array) => decodeOtlpTraces(bytes)[0]?.resource;
    const bytes = request(resource);
    // Kept on its second sighting; from then on every call shares it.
    const seen = [0, 1, 2, 3].map(() => decodeResource(bytes));
    for (const r of seen) assert.deepEqual(r, resource);
    assert.equal(seen[2], seen[3]);
    // Same Resource bytes, another schema URL: a new object with that URL.
    const other = decodeResource(request({ ...resource, schemaUrl: 'https://example.com/schema' }));
    assert.notEqual(other, seen[3]);
    assert.equal(other?.schemaUrl, 'https://example.com/schema');
    assert.deepEqual(other?.attributes, resource.attributes);
    assert.equal(decodeResource(bytes), seen[3]);
    // Values with parts that could be changed are never shared.
    const withArray = request({ ...resource, attributes: [...resource.attributes, { key: 'tags', value: ['a'] }] });
    const arrays = [0, 1, 2, 3].map(() => decodeResource(withArray));
    assert.equal(new Set(arrays).size, 4);
    assert.deepEqual(arrays[3]?.attributes.at(-1), { key: 'tags', value: ['a'] });
  });

  it('hands out one scope object for the same scope bytes across calls, and never changes a shared one', () => {
    const scope = {
      name: '@opentelemetry/instrumentation-interned',
      version: '0.52.1',
      attributes: [{ key: 'lib.flag', value: true }],
      droppedAttributesCount: 0,
      schemaUrl: '',
    };
    const request = (s: Span['scope']) =>
      encodeOtlpTraces([
        baseSpan({ scope: s, name: 'a' }),
        baseSpan({ scope: s, name: 'b', spanId: 'b7ad6b7169203332' }),
      ]);
    const decodeScopes = (bytes: Uint8Array) => decodeOtlpTraces(bytes).map((sp) => sp.scope);
    const bytes = request(scope);
    const seen = [0, 1, 2, 3].map(() => decodeScopes(bytes));
    for (const [a, b] of seen) {
      assert.deepEqual(a, scope);
      assert.equal(a, b, 'the spans of one ScopeSpans share their scope');
    }
    assert.equal(seen[2]?.[0], seen[3]?.[0]);
    // Same scope bytes with a schema URL: a new object for all its spans; the shared one is unchanged.
    const withUrl = decodeScopes(request({ ...scope, schemaUrl: 'https://example.com/s' }));
    assert.equal(withUrl[0], withUrl[1]);
    assert.notEqual(withUrl[0], seen[3]?.[0]);
    assert.equal(withUrl[0]?.schemaUrl, 'https://example.com/s');
    assert.deepEqual(decodeScopes(bytes)[0], scope);
    assert.equal(decodeScopes(bytes)[0], seen[3]?.[0]);
    // A second scope field after a shared first one merges into a copy.
    const w = new ProtoWriter();
    const rs = w.fork(1);
    const ss = w.fork(2);
    const sp = w.fork(2);
    w.bytesField(1, new Uint8Array(16).fill(1));
    w.bytesField(2, new Uint8Array(8).fill(2));
    w.join(sp);
    const first = encodeOtlpTraces([baseSpan({ scope })]);
    // The InstrumentationScope bytes of `scope`, as the encoder wrote them (ResourceSpans > ScopeSpans > scope).
    const r = new ProtoReader(first);
    r.tag();
    r.end = r.lengthEnd();
    r.tag();
    r.end = r.lengthEnd();
    r.tag();
    const scopeEnd = r.lengthEnd();
    w.tag(1, 2);
    w.uint(scopeEnd - r.pos);
    w.ensure(scopeEnd - r.pos);
    w.buf.set(first.subarray(r.pos, scopeEnd), w.pos);
    w.pos += scopeEnd - r.pos;
    const second = w.fork(1);
    w.stringField(2, '0.53.0');
    w.join(second);
    w.join(ss);
    w.join(rs);
    const [merged] = decodeOtlpTraces(w.finish());
    assert.deepEqual(merged?.scope, { ...scope, version: '0.53.0' });
    assert.deepEqual(decodeScopes(bytes)[0], scope, 'the shared scope kept its version');
  });

  it('keeps apart resources that differ only in the middle (the whole message is hashed)', () => {
    // Same keys, same lengths, same first and last bytes: only the service and pod names differ.
    const resources = Array.from({ length: 16 }, (_, i) => ({
      attributes: [
        { key: 'service.name', value: `svc-${String(i).padStart(2, '0')}` },
        { key: 'k8s.pod.name', value: `pod-${String(i).padStart(2, '0')}-x7k2p` },
        { key: 'telemetry.sdk.version', value: '2.12.1' },
      ],
      droppedAttributesCount: 0,
      schemaUrl: '',
    }));
    const bytes = encodeOtlpTraces(
      resources.map((resource, i) => baseSpan({ resource, spanId: `b7ad6b71692033${String(i + 10)}` })),
    );
    const rounds = [0, 1, 2].map(() => decodeOtlpTraces(bytes).map((s) => s.resource));
    for (const [i, r] of (rounds[2] ?? []).entries()) {
      assert.deepEqual(r, resources[i]);
      assert.equal(r, rounds[1]?.[i], `resource ${i} is shared from the second call on`);
    }
  });

  it('merges a second resource field into an interned first one', () => {
    const first = { attributes: [{ key: 'service.name', value: 'merge-a' }], droppedAttributesCount: 0, schemaUrl: '' };
    const plain = encodeOtlpTraces([baseSpan({ resource: first })]);
    for (let i = 0; i < 3; i++) decodeOtlpTraces(plain);
    // The same request with a second `resource` field (ResourceSpans field 1) after the first.
    const w = new ProtoWriter();
    const rs = w.fork(1);
    const r1 = w.fork(1);
    writeStringAttribute(w, 1, 'service.name', 'merge-a');
    w.join(r1);
    const r2 = w.fork(1);
    writeStringAttribute(w, 1, 'host.name', 'node-7');
    w.tag(2, 0);
    w.uint(3);
    w.join(r2);
    const ss = w.fork(2);
    const sp = w.fork(2);
    w.bytesField(1, new Uint8Array(16).fill(1));
    w.bytesField(2, new Uint8Array(8).fill(2));
    w.join(sp);
    w.join(ss);
    w.join(rs);
    const [span] = decodeOtlpTraces(w.finish());
    assert.deepEqual(span?.resource, {
      attributes: [
        { key: 'service.name', value: 'merge-a' },
        { key: 'host.name', value: 'node-7' },
      ],
      droppedAttributesCount: 3,
      schemaUrl: '',
    });
    // The shared object was not changed by the merge.
    const [again] = decodeOtlpTraces(plain);
    assert.deepEqual(again?.resource, first);
  });

  it('never shares a byte array between events or attributes, however often they repeat', () => {
    const bytes = oneSpan((w) => {
      for (let i = 0; i < 4; i++) {
        const kv = w.fork(9);
        w.stringField(1, 'payload');
        const v = w.fork(2);
        w.bytesField(7, new Uint8Array([1, 2, 3, 4]));
        w.join(v);
        w.join(kv);
        const e = w.fork(11);
        w.tag(1, 1);
        w.fixed64(BigInt(i));
        const ekv = w.fork(3);
        w.stringField(1, 'payload');
        const ev = w.fork(2);
        w.bytesField(7, new Uint8Array([5, 6, 7, 8]));
        w.join(ev);
        w.join(ekv);
        w.join(e);
      }
    });
    const seen = new Set<unknown>();
    for (let round = 0; round < 3; round++) {
      const [s] = decodeOtlpTraces(bytes);
      for (const v of [...(s?.attributes ?? []), ...(s?.events ?? []).flatMap((e) => e.attributes)].map(
        (a) => a.value,
      )) {
        assert.ok(v instanceof Uint8Array);
        assert.ok(!seen.has(v), 'a byte array was handed out twice');
        seen.add(v);
      }
    }
    assert.equal(seen.size, 3 * 8);
  });

  it('keeps apart attributes of one length that differ in one byte, long ones included', () => {
    const long = 'x'.repeat(90);
    const values = [
      long,
      `${long.slice(0, 45)}y${long.slice(46)}`,
      `${long.slice(0, 89)}z`,
      '\u0000'.repeat(16),
      `${'\u0000'.repeat(15)}\u0080`,
      `${'\u0000'.repeat(7)}\u0080${'\u0000'.repeat(8)}`,
    ];
    const bytes = oneSpan((w) => {
      for (let round = 0; round < 3; round++) {
        for (const value of values) {
          const kv = w.fork(9);
          w.stringField(1, 'k');
          const v = w.fork(2);
          w.stringField(1, value);
          w.join(v);
          w.join(kv);
        }
      }
    });
    for (let round = 0; round < 2; round++) {
      const [s] = decodeOtlpTraces(bytes);
      assert.deepEqual(
        s?.attributes.map((a) => a.value),
        [...values, ...values, ...values],
      );
    }
  });
});

describe('OTLP protobuf decoder robustness (fast-check)', () => {
  it('random bytes decode or throw WireDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => decodesOrRejects(() => decodeOtlpTraces(bytes))),
      { numRuns: 2000 },
    );
  });

  it('mutated valid payloads decode or throw WireDecodeError', () => {
    const payloads = [encodeOtlpTraces(sampleSpans())];
    fc.assert(
      fc.property(
        fc.constantFrom(...payloads),
        fc.array(
          fc.record({
            at: fc.nat(),
            op: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate', 'huge'),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (payload, edits) => {
          let b = Array.from(payload);
          for (const { at, op, byte } of edits) {
            const i = b.length === 0 ? 0 : at % b.length;
            if (op === 'flip') b[i] = (b[i] ?? 0) ^ (1 << (byte & 7));
            else if (op === 'set') b[i] = byte;
            else if (op === 'insert') b.splice(i, 0, byte);
            else if (op === 'delete') b.splice(i, 1);
            else if (op === 'truncate') b = b.slice(0, i);
            // A length-sized varint claiming far more than the input holds.
            else b.splice(i, 0, 0xff, 0xff, 0xff, 0xff, 0x0f);
          }
          decodesOrRejects(() => decodeOtlpTraces(Uint8Array.from(b)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random spans survive re-encoding of whatever a mutated payload decodes to', () => {
    fc.assert(
      fc.property(arbSpans, fc.nat(), (spans, cut) => {
        const bytes = encodeOtlpTraces(spans);
        let decoded: Span[] | undefined;
        try {
          decoded = decodeOtlpTraces(bytes.subarray(0, cut % (bytes.length + 1)));
        } catch (e) {
          assert.ok(e instanceof WireDecodeError);
          return;
        }
        // Whatever decodes must encode and decode to the same spans.
        assertSameSpans(decodeOtlpTraces(encodeOtlpTraces(decoded)), groupedOrder(decoded));
      }),
      { numRuns: 300 },
    );
  });
});

describe('OTLP protobuf before 0.15 (instrumentation_library_spans)', () => {
  /** ResourceSpans with spans under field `field` (2 = scope_spans, 1000 = instrumentation_library_spans). */
  const write = (w: ProtoWriter, field: number, spanName: string) => {
    const ss = w.fork(field);
    const lib = w.fork(1);
    w.stringField(1, 'old-lib');
    w.stringField(2, '0.9');
    w.join(lib);
    const sp = w.fork(2);
    w.stringField(5, spanName);
    w.join(sp);
    w.join(ss);
  };

  it('reads instrumentation_library_spans when scope_spans is absent', () => {
    const w = new ProtoWriter();
    const rs = w.fork(1);
    write(w, 1000, 'legacy');
    w.join(rs);
    const spans = decodeOtlpTraces(w.finish());
    assert.deepEqual(
      spans.map((s) => [s.name, s.scope.name, s.scope.version]),
      [['legacy', 'old-lib', '0.9']],
    );
  });

  it('ignores instrumentation_library_spans when scope_spans is present', () => {
    const w = new ProtoWriter();
    const rs = w.fork(1);
    write(w, 1000, 'legacy');
    write(w, 2, 'current');
    w.join(rs);
    assert.deepEqual(
      decodeOtlpTraces(w.finish()).map((s) => s.name),
      ['current'],
    );
  });
});

describe('OTLP protobuf encode: flat attribute lists', () => {
  /** The model value a flat list's entry stands for (integers below 2^63 in magnitude are int64). */
  const typed = (v: unknown): AnyValue =>
    typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v) : (v as AnyValue);
  const withFlat = (flat: unknown[]): Span & FlatAttributes => ({ ...baseSpan(), flatAttributes: flat });
  const withTyped = (flat: unknown[]): Span => {
    const attributes: KeyValue[] = [];
    for (let i = 0; i < flat.length; i += 2) attributes.push({ key: flat[i] as string, value: typed(flat[i + 1]) });
    return { ...baseSpan(), attributes };
  };

  it('writes the bytes the typed list would, for every kind of value', () => {
    const flat = [
      ...['zero', 0, 'negzero', -0, 'small', 127, 'mid', 300000, 'big', 2 ** 40, 'neg', -5, 'max', 2 ** 53 - 1],
      ...['huge', 2 ** 63, 'frac', 1.5, 'nan', Number.NaN, 'inf', Number.POSITIVE_INFINITY, 'bool', true],
      ...['ascii', 'GET', 'utf8', 'grüße ✓', 'long', 'x'.repeat(300), '', 'empty key', 'bytes', new Uint8Array([1, 2])],
      ...['list', [1n, 'a', 2.5], 'kv', { kvlist: [{ key: 'k', value: 3n }] }, 'null', null],
    ];
    const a = encodeOtlpTraces([withFlat(flat)]);
    const b = encodeOtlpTraces([withTyped(flat)]);
    assert.deepEqual(Buffer.from(a), Buffer.from(b));
    const back = decodeOtlpTraces(a)[0]!;
    assert.equal(back.attributes.length, flat.length / 2);
    assert.equal(back.attributes.find((kv) => kv.key === 'big')?.value, 2n ** 40n);
    assert.equal(back.attributes.find((kv) => kv.key === 'negzero')?.value, 0n);
    assert.equal(back.attributes.find((kv) => kv.key === 'huge')?.value, 2 ** 63);
  });

  it('agrees with the typed list on random lists', () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(2 ** 62, -(2 ** 62), 2 ** 63, 0x0fffffff, 0x10000000),
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string(), scalar), { selector: (p) => p[0] }), (pairs) => {
        const flat = pairs.flat();
        const a = Buffer.from(encodeOtlpTraces([withFlat(flat)]));
        const b = Buffer.from(encodeOtlpTraces([withTyped(flat)]));
        assert.deepEqual(a, b);
      }),
      { numRuns: 300 },
    );
  });
});
