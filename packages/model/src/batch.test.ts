import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Span, SpanBatch } from './index.ts';
import { testResource, testSpan } from './testing.ts';

const frontend = testResource('frontend');
const cart = testResource('cart');
const SPANS: readonly Span[] = [
  testSpan({ traceId: 'a'.repeat(32), spanId: '1'.repeat(16), resource: frontend, name: 'GET /' }),
  testSpan({ traceId: 'a'.repeat(32), spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), resource: cart }),
  testSpan({ traceId: 'b'.repeat(32), spanId: '3'.repeat(16), resource: frontend, kind: 3, endTimeUnixNano: 7n }),
];

/** Every field of a batch but `length`, as an eager batch has them. */
const COLUMNS = Object.keys(SpanBatch.from(SPANS)).filter((k) => k !== 'length') as (keyof SpanBatch)[];

/** A lazy batch over {@link SPANS} that counts the calls of its loader. */
function counted(load: () => readonly Span[] = () => SPANS) {
  const calls = { n: 0 };
  const batch = SpanBatch.lazy(SPANS.length, () => {
    calls.n++;
    return load();
  });
  return { batch, calls };
}

describe('SpanBatch.lazy', () => {
  it('knows its length at once and loads nothing until a column is read', () => {
    const { batch, calls } = counted();
    assert.equal(batch.length, 3);
    assert.ok(batch instanceof SpanBatch);
    assert.equal(calls.n, 0);
  });

  for (const first of ['spans', 'traceId', 'serviceName', 'durationNano', 'scopeIndex'] as const) {
    it(`loads once on the first read of ${first}, then equals the eager batch in every field`, () => {
      const { batch, calls } = counted();
      void batch[first];
      assert.equal(calls.n, 1);
      const eager = SpanBatch.from(SPANS);
      for (const key of COLUMNS) assert.deepEqual(batch[key], eager[key], key);
      assert.equal(batch.serviceOf(1), 'cart');
      assert.equal(batch.spans, SPANS);
      assert.equal(calls.n, 1);
    });
  }

  it('becomes plain own data fields once loaded, like an eager batch, whose fields are never accessors', () => {
    const eager = SpanBatch.from(SPANS);
    const { batch } = counted();
    assert.deepEqual(Object.keys(batch), ['length']);
    void batch.name;
    assert.deepEqual(new Set(Object.keys(batch)), new Set(Object.keys(eager)));
    for (const key of ['length', ...COLUMNS]) {
      for (const b of [eager, batch]) {
        const d = Object.getOwnPropertyDescriptor(b, key);
        assert.ok(d !== undefined && 'value' in d && d.get === undefined, key);
      }
    }
  });

  it('throws on a read when the loader gives another count or throws, and tries again on the next read', () => {
    let answer: () => readonly Span[] = () => SPANS.slice(1);
    const { batch, calls } = counted(() => answer());
    assert.throws(() => batch.spans, /lazy batch of 3 spans loaded 2/);
    answer = () => {
      throw new Error('decoder failed');
    };
    assert.throws(() => batch.traceId, /decoder failed/);
    answer = () => SPANS;
    assert.deepEqual(
      batch.spanId,
      SPANS.map((s) => s.spanId),
    );
    assert.equal(calls.n, 3);
  });

  it('concatenates with eager batches', () => {
    const { batch } = counted();
    const both = SpanBatch.concat([SpanBatch.from(SPANS.slice(0, 1)), batch]);
    assert.equal(both.length, 4);
    assert.deepEqual(both.resources, [frontend, cart]);
    assert.equal(SpanBatch.concat([batch]), batch);
  });
});
