import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  anyValueEquals,
  bytesToHex,
  EMPTY_SCOPE,
  hexToBytes,
  hexToIdWord,
  idWordsToHex,
  isValidSpanId,
  isValidTraceId,
  type KeyValue,
  type Resource,
  type Span,
  SpanBatch,
  serviceNameOf,
  spanDiff,
  TraceIdWords,
  UNSET_STATUS,
} from './index.ts';

function resource(service: string): Resource {
  return { attributes: [{ key: 'service.name', value: service }], droppedAttributesCount: 0, schemaUrl: '' };
}

function span(over: Partial<Span> = {}): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /',
    kind: 2,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_000_223_456_789n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: UNSET_STATUS,
    resource: resource('frontend'),
    scope: EMPTY_SCOPE,
    ...over,
  };
}

describe('ids', () => {
  it('converts hex and bytes both ways, accepting upper case on input', () => {
    const bytes = hexToBytes('00ff10AB');
    assert.deepEqual(bytes, new Uint8Array([0, 255, 16, 171]));
    assert.equal(bytesToHex(bytes as Uint8Array), '00ff10ab');
    assert.equal(hexToBytes('0g'), undefined);
    assert.equal(hexToBytes('abc'), undefined);
  });

  it('gives the same hex on the unrolled 8- and 16-byte paths as byte by byte, and round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
        const want = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
        assert.equal(bytesToHex(bytes), want);
        assert.deepEqual(hexToBytes(want), bytes);
        assert.deepEqual(hexToBytes(want.toUpperCase()), bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('turns ids into id words and back: byte i is bits 8(i mod 4) of word i/4', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const hex = bytesToHex(bytes);
        const view = new DataView(bytes.buffer);
        const words = [0, 4, 8, 12].map((at) => view.getInt32(at, true));
        assert.deepEqual(
          [0, 8, 16, 24].map((at) => hexToIdWord(hex, at)),
          words,
        );
        assert.deepEqual(
          [0, 8, 16, 24].map((at) => hexToIdWord(hex.toUpperCase(), at)),
          words,
        );
        assert.equal(idWordsToHex(words[0] as number, words[1] as number), hex.slice(0, 16));
        const fromWords = new TraceIdWords(
          words[0] as number,
          words[1] as number,
          words[2] as number,
          words[3] as number,
        );
        assert.equal(fromWords.hex, hex);
        const fromHex = TraceIdWords.fromHex(hex.toUpperCase());
        assert.deepEqual([fromHex.w0, fromHex.w1, fromHex.w2, fromHex.w3], words);
        assert.equal(fromHex.hex, hex);
      }),
      { numRuns: 1000 },
    );
    assert.equal(hexToIdWord('zz000000', 0), 0, 'a digit that is not hex counts as 0');
    assert.equal(idWordsToHex(-1, 0x01020304), 'ffffffff04030201');
  });

  it('validates trace and span ids as W3C Trace Context does', () => {
    assert.ok(isValidTraceId('0af7651916cd43dd8448eb211c80319c'));
    assert.ok(!isValidTraceId('0'.repeat(32)));
    assert.ok(!isValidTraceId('0AF7651916CD43DD8448EB211C80319C'));
    assert.ok(!isValidTraceId('0af7651916cd43dd8448eb211c80319'));
    assert.ok(isValidSpanId('b7ad6b7169203331'));
    assert.ok(!isValidSpanId('0000000000000000'));
    assert.ok(!isValidSpanId('b7ad6b716920333z'));
  });
});

describe('attribute values', () => {
  it('keeps int64 and double apart and compares bytes and nested values by content', () => {
    assert.ok(!anyValueEquals(1n, 1));
    assert.ok(anyValueEquals(Number.NaN, Number.NaN));
    assert.ok(anyValueEquals(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
    assert.ok(!anyValueEquals(new Uint8Array([1, 2]), [1, 2]));
    const kv: KeyValue[] = [{ key: 'a', value: [1n, 'x', { kvlist: [{ key: 'b', value: true }] }] }];
    assert.ok(anyValueEquals({ kvlist: kv }, { kvlist: structuredClone(kv) }));
    assert.ok(!anyValueEquals({ kvlist: kv }, { kvlist: [{ key: 'a', value: [1n, 'x'] }] }));
  });

  it('finds the service name, falling back to unknown_service', () => {
    assert.equal(serviceNameOf(resource('cart')), 'cart');
    assert.equal(serviceNameOf({ attributes: [], droppedAttributesCount: 0, schemaUrl: '' }), 'unknown_service');
  });
});

describe('spanDiff', () => {
  it('names the first differing field', () => {
    const a = span();
    assert.equal(spanDiff(a, span()), undefined);
    assert.equal(spanDiff(a, span({ endTimeUnixNano: a.endTimeUnixNano + 1n })), 'endTimeUnixNano');
    assert.equal(spanDiff(a, span({ resource: resource('cart') })), 'resource');
    assert.equal(
      spanDiff(a, span({ events: [{ timeUnixNano: 1n, name: 'e', attributes: [], droppedAttributesCount: 0 }] })),
      'events',
    );
  });
});

describe('SpanBatch', () => {
  it('builds typed columns and deduplicates resources and scopes by identity', () => {
    const r1 = resource('frontend');
    const r2 = resource('cart');
    const spans = [
      span({ resource: r1 }),
      span({ resource: r2, spanId: '1111111111111111', kind: 3, status: { code: 2, message: 'boom' } }),
      span({ resource: r1, startTimeUnixNano: 2n ** 63n + 5n, endTimeUnixNano: 2n ** 63n + 10n }),
    ];
    const b = SpanBatch.from(spans);
    assert.equal(b.length, 3);
    assert.equal(b.resources.length, 2);
    assert.deepEqual([...b.resourceIndex], [0, 1, 0]);
    assert.deepEqual(b.serviceName, ['frontend', 'cart']);
    assert.equal(b.serviceOf(1), 'cart');
    assert.deepEqual([...b.kind], [2, 3, 2]);
    assert.deepEqual([...b.statusCode], [0, 2, 0]);
    assert.equal(b.durationNano[0], 100_000_000n);
    assert.equal(b.startUnixNano[2], 2n ** 63n + 5n);
    assert.equal(b.durationNano[2], 5n);
    assert.equal(b.spanId[1], '1111111111111111');
    const both = SpanBatch.concat([b, SpanBatch.from([span({ resource: r2 })])]);
    assert.equal(both.length, 4);
    assert.equal(both.resources.length, 2);
  });
});
