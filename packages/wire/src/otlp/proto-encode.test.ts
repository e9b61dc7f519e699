import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnyValue, hexToIdWord, type KeyValue, type Span, TraceIdWords } from '@traceloom/model';
import fc from 'fast-check';
import { COPY_SPILL, ENCODED_LENGTH_MASK, EncodedStrings } from '../internal/encode-strings.ts';
import { assertSameSpans, groupedOrder } from './fixtures/assert.ts';
import { arbSpans, baseSpan, sampleSpans } from './fixtures/spans.ts';
import { decodeOtlpTraces } from './proto.ts';
import { encodeOtlpTraces, type FlatAttributes, type PackedIds } from './proto-encode.ts';

/** A protobuf string field with a one-byte tag: the tag, the varint length, then the UTF-8 bytes. */
function stringField(tag: number, s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  const head: number[] = [];
  let n = bytes.length;
  while (n > 0x7f) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  return [tag, ...head, ...bytes];
}

describe('EncodedStrings', () => {
  it('copies exactly the tagged, length-prefixed UTF-8 of any string, found or new', () => {
    const table = new EncodedStrings(0x0a, 64 * 1024, 64, 1000, 16);
    const out = new Uint8Array(4096);
    const view = new DataView(out.buffer);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 200 })), (s) => {
        const entry = table.get(s) >= 0 ? table.get(s) : table.add(s);
        assert.ok(entry >= 0);
        out.fill(0xee);
        const end = table.copy(entry, view, 10);
        const expected = stringField(0x0a, s);
        assert.equal(end - 10, expected.length);
        assert.equal(entry & ENCODED_LENGTH_MASK, expected.length);
        assert.deepEqual([...out.subarray(10, end)], expected);
        // Nothing before the start is touched, and the spill stays within its allowance.
        assert.equal(out[9], 0xee);
        assert.equal(out[end + COPY_SPILL], 0xee);
        assert.equal(table.get(s), entry);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps bytes that would read as a NaN if they were not valid UTF-8', () => {
    // DEL (0x7f) and 4-byte sequences at every offset: the float64 copy must not touch them.
    const table = new EncodedStrings(0x2a, 4096, 64, 1000, 16);
    const out = new Uint8Array(256);
    const view = new DataView(out.buffer);
    for (let pad = 0; pad < 8; pad++) {
      const s = `${'a'.repeat(pad)}\u{10ffff}\u007f\u{1f600}\u007f\uffff\u007f`;
      const entry = table.add(s);
      const end = table.copy(entry, view, 3);
      assert.deepEqual([...out.subarray(3, end)], stringField(0x2a, s));
    }
  });

  it('refuses strings longer than its limit, and empties itself when full', () => {
    const table = new EncodedStrings(0x0a, 1024, 8, 100, 8);
    assert.equal(table.add('x'.repeat(101)), -1);
    for (let i = 0; i < 8; i++) table.add(`key-${i}`);
    assert.equal(table.size, 8);
    const generation = table.generation;
    const entry = table.add('one more');
    assert.equal(table.size, 1);
    assert.equal(table.generation, generation + 1);
    assert.equal(table.get('key-0'), -1);
    assert.equal(table.get('one more'), entry);
    // Running out of bytes empties it too.
    for (let i = 0; i < 10; i++) assert.ok(table.add(`${i}${'y'.repeat(99)}`) >= 0);
    assert.equal(table.generation, generation + 2);
    assert.ok(table.size < 8);
  });
});

describe('OTLP protobuf encode: string caches', () => {
  it('writes the same bytes whether the strings are new or cached', () => {
    fc.assert(
      fc.property(arbSpans, (spans) => {
        const first = encodeOtlpTraces(spans);
        // Enough times for every key and value to be admitted and found.
        let again = first;
        for (let i = 0; i < 40; i++) again = encodeOtlpTraces(spans);
        assert.deepEqual(Buffer.from(again), Buffer.from(first));
        assertSameSpans(decodeOtlpTraces(again), groupedOrder(spans));
      }),
      { numRuns: 60 },
    );
  });

  it('stays correct past the limits of the tables (many distinct keys, values and names)', () => {
    const spans: Span[] = [];
    for (let i = 0; i < 3000; i++) {
      const attributes: KeyValue[] = [];
      for (let j = 0; j < 4; j++) {
        attributes.push({ key: `k.${i}.${j}`, value: `value ${i} ${j} ${'é'.repeat(j)}` });
        attributes.push({ key: 'shared', value: `v${i % 7}` });
      }
      spans.push(baseSpan({ name: `span ${i}`, spanId: i.toString(16).padStart(16, '0'), attributes }));
    }
    for (let round = 0; round < 3; round++) {
      const decoded = decodeOtlpTraces(encodeOtlpTraces(spans));
      assert.equal(decoded.length, spans.length);
      for (const i of [0, 1, 1499, 2999]) {
        assert.equal(decoded[i]?.name, `span ${i}`);
        assert.deepEqual(decoded[i]?.attributes, spans[i]?.attributes);
      }
    }
  });

  it('keeps ints, bools and doubles apart in the cache of whole attributes', () => {
    const ints = [0, 1, 127, 128, 0x3f7f, 0x3f80, 16383, 16384, 2 ** 31 - 1];
    const typedSpan = baseSpan({
      attributes: [
        ...ints.map((v) => ({ key: 'n', value: BigInt(v) })),
        { key: 'n', value: 200 },
        { key: 'b', value: true },
        { key: 'b', value: false },
        { key: 'n', value: true },
      ],
    });
    const flatSpan: Span & FlatAttributes = { ...baseSpan(), flatAttributes: [] };
    for (let round = 0; round < 40; round++) {
      // The same key with a double 200 (typed list) and the int 200 (flat list), in turn.
      const [typed] = decodeOtlpTraces(encodeOtlpTraces([typedSpan]));
      assert.deepEqual(typed?.attributes, typedSpan.attributes);
      for (const v of [...ints, 200, -0]) {
        const span: Span & FlatAttributes = { ...flatSpan, flatAttributes: ['n', v, 'b', v > 100] };
        const [flat] = decodeOtlpTraces(encodeOtlpTraces([span]));
        assert.deepEqual(flat?.attributes, [
          { key: 'n', value: BigInt(v) },
          { key: 'b', value: v > 100 },
        ]);
      }
    }
  });

  it('never takes a cached string attribute for a number of the same key, or the reverse', () => {
    // Thousands of values of one key, as strings, ints and empty strings in turn, repeated so
    // that the cache of whole attributes fills up and its hash slots are shared across types.
    const values: AnyValue[] = [];
    for (let i = 0; i < 3000; i++) values.push(String(i), BigInt(i), i % 7 === 0 ? '' : i + 0.5, i % 2 === 0);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < values.length; i += 64) {
        const chunk = values.slice(i, i + 64);
        const typed = chunk.map((value) => baseSpan({ attributes: [{ key: 'k', value }] }));
        const flat = chunk.map((value) => {
          const raw = typeof value === 'bigint' ? Number(value) : value;
          return { ...baseSpan(), flatAttributes: ['k', raw] } as Span & FlatAttributes;
        });
        const gotTyped = decodeOtlpTraces(encodeOtlpTraces(typed));
        const gotFlat = decodeOtlpTraces(encodeOtlpTraces(flat));
        for (let j = 0; j < chunk.length; j++) {
          assert.deepEqual(gotTyped[j]?.attributes, [{ key: 'k', value: chunk[j] }], `typed value ${String(chunk[j])}`);
          assert.deepEqual(gotFlat[j]?.attributes, [{ key: 'k', value: chunk[j] }], `flat value ${String(chunk[j])}`);
        }
      }
    }
  });

  it('hands back buffers that later calls do not change', () => {
    const [a, b] = sampleSpans();
    assert.ok(a && b);
    const first = encodeOtlpTraces([a]);
    const copy = Buffer.from(first);
    encodeOtlpTraces([b, b, b]);
    assert.deepEqual(Buffer.from(first), copy);
    assert.equal(first.byteLength, copy.length);
  });

  it('encodes non-ASCII keys, values and names through the cache', () => {
    const span = baseSpan({
      name: 'commande → paiement',
      attributes: [
        { key: 'clé', value: 'grüße ✓ 🎉' },
        { key: 'long', value: `${'ü'.repeat(70)}` },
        { key: 'ascii', value: 'x'.repeat(200) },
      ],
    });
    for (let i = 0; i < 50; i++) {
      const [back] = decodeOtlpTraces(encodeOtlpTraces([span]));
      assert.equal(back?.name, span.name);
      assert.deepEqual(back?.attributes, span.attributes);
    }
  });
});

describe('OTLP protobuf encode: flat attribute lists with repeated keys', () => {
  const typed = (v: unknown): AnyValue =>
    typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v) : (v as AnyValue);
  /** First place, last value: what assigning the pairs to a map in order leaves. */
  const resolved = (flat: readonly unknown[]): KeyValue[] => {
    const m = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i] as string, flat[i + 1]);
    return [...m].map(([key, value]) => ({ key, value: typed(value) }));
  };
  const withFlat = (flat: unknown[]): Span & FlatAttributes => ({ ...baseSpan(), flatAttributes: flat });

  it('keeps the first place and the last value of a repeated key', () => {
    const flat = ['a', 1, 'b', 'x', 'a', 2, 'c', true, 'b', 'y', 'a', 3];
    const bytes = encodeOtlpTraces([withFlat(flat)]);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(encodeOtlpTraces([baseSpan({ attributes: resolved(flat) })])));
    assert.deepEqual(decodeOtlpTraces(bytes)[0]?.attributes, [
      { key: 'a', value: 3n },
      { key: 'b', value: 'y' },
      { key: 'c', value: true },
    ]);
  });

  it('agrees with the resolved typed list on random lists with repeats', () => {
    const key = fc.constantFrom('a', 'b', 'http.route', 'server.port', '', 'ключ');
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant([1n, 'x']));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 12 }), (pairs) => {
        const flat = pairs.flat();
        const a = Buffer.from(encodeOtlpTraces([withFlat(flat)]));
        const b = Buffer.from(encodeOtlpTraces([baseSpan({ attributes: resolved(flat) })]));
        assert.deepEqual(a, b);
      }),
      { numRuns: 400 },
    );
  });

  it('reads the flat lists of events too', () => {
    const flat = ['message.type', 'SENT', 'message.id', 7, 'ratio', 0.5, 'message.id', 8];
    const withEvent = (event: object): Span => ({
      ...baseSpan(),
      events: [{ timeUnixNano: 5n, name: 'sent', attributes: [], droppedAttributesCount: 1, ...event }],
    });
    // `attributes` left empty: the encoder must take the flat list.
    const a = encodeOtlpTraces([withEvent({ attributes: [], flatAttributes: flat })]);
    const b = encodeOtlpTraces([withEvent({ attributes: resolved(flat) })]);
    assert.deepEqual(Buffer.from(a), Buffer.from(b));
    assert.deepEqual(decodeOtlpTraces(a)[0]?.events[0]?.attributes, [
      { key: 'message.type', value: 'SENT' },
      { key: 'message.id', value: 8n },
      { key: 'ratio', value: 0.5 },
    ]);
  });

  it('finds repeats even when the key table is emptied in the middle of a list', () => {
    // More distinct keys than the key table holds, with a repeat of the first key at the end.
    const flat: unknown[] = [];
    for (let i = 0; i < 2100; i++) flat.push(`key.${i}`, i);
    flat.push('key.0', 'last');
    const [back] = decodeOtlpTraces(encodeOtlpTraces([withFlat(flat)]));
    assert.equal(back?.attributes.length, 2100);
    assert.deepEqual(back?.attributes[0], { key: 'key.0', value: 'last' });
    assert.deepEqual(back?.attributes[2099], { key: 'key.2099', value: 2099n });
  });
});

describe('OTLP protobuf encode: ids held as words', () => {
  /**
   * The span with its ids also as words (what the SDK's spans hold), and its hex fields left as they are;
   * unchanged when an id has another length than the SDK's (words stand for whole ids only).
   */
  const packed = (s: Span): Span & PackedIds => {
    const parent = s.parentSpanId;
    if (s.traceId.length !== 32 || s.spanId.length !== 16 || (parent !== '' && parent.length !== 16)) return s;
    return {
      ...s,
      traceIdWords: TraceIdWords.fromHex(s.traceId),
      spanIdWord0: hexToIdWord(s.spanId, 0),
      spanIdWord1: hexToIdWord(s.spanId, 8),
      parentSpanIdWord0: parent === '' ? 0 : hexToIdWord(parent, 0),
      parentSpanIdWord1: parent === '' ? 0 : hexToIdWord(parent, 8),
    };
  };

  it('writes the same bytes from the words as from the hex, for roots and children', () => {
    const spans = sampleSpans().map(packed);
    const held = spans.filter((s) => s.traceIdWords !== undefined);
    assert.ok(held.some((s) => s.parentSpanId !== '') && held.some((s) => s.parentSpanId === ''));
    assert.deepEqual(encodeOtlpTraces(spans), encodeOtlpTraces(sampleSpans()));
  });

  it('reads the words, not the hex, when the words are there', () => {
    const s = {
      ...packed(baseSpan({ parentSpanId: '00f067aa0ba902b7' })),
      traceId: 'x',
      spanId: 'y',
      parentSpanId: 'z',
    };
    const [back] = decodeOtlpTraces(encodeOtlpTraces([s]));
    assert.equal(back?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(back?.spanId, 'b7ad6b7169203331');
    assert.equal(back?.parentSpanId, '00f067aa0ba902b7');
  });

  it('agrees with the hex path on random spans', () => {
    fc.assert(
      fc.property(arbSpans, (spans) => {
        assert.deepEqual(encodeOtlpTraces(spans.map(packed)), encodeOtlpTraces(spans));
      }),
      { numRuns: 200 },
    );
  });
});
