import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Context, createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { LinkedContext } from './linked-context.ts';
import { isTracingSuppressed, suppressTracing } from './suppress.ts';

const keys = Array.from({ length: 20 }, (_, i) => createContextKey(`linked test key ${i}`));

/** The same operations on the API's BaseContext, as the reference. */
function both(ops: (ctx: Context) => Context): [Context, Context] {
  return [ops(LinkedContext.ROOT), ops(ROOT_CONTEXT)];
}

function assertSame([linked, base]: [Context, Context]): void {
  for (const k of keys) assert.equal(linked.getValue(k), base.getValue(k), k.toString());
}

describe('LinkedContext', () => {
  it('is empty at the root and immutable on setValue / deleteValue', () => {
    const root = LinkedContext.ROOT;
    for (const k of keys) assert.equal(root.getValue(k), undefined);
    const a = root.setValue(keys[0] as symbol, 'a');
    assert.equal(a.getValue(keys[0] as symbol), 'a');
    assert.equal(root.getValue(keys[0] as symbol), undefined);
    const b = a.setValue(keys[0] as symbol, 'b');
    assert.equal(b.getValue(keys[0] as symbol), 'b');
    assert.equal(a.getValue(keys[0] as symbol), 'a');
    const c = b.deleteValue(keys[0] as symbol);
    assert.equal(c.getValue(keys[0] as symbol), undefined);
    assert.equal(b.getValue(keys[0] as symbol), 'b');
    assert.equal(c.deleteValue(keys[0] as symbol), c, 'deleting a missing key changes nothing');
  });

  it('behaves as BaseContext through long chains of sets and deletes (flattening included)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 30; round++) {
      const steps = Array.from({ length: 40 }, () => [rnd(3), rnd(keys.length), rnd(1000)] as const);
      let pair = both((c) => c);
      for (const [op, k, v] of steps) {
        const key = keys[k] as symbol;
        pair = [
          op === 0 ? pair[0].deleteValue(key) : pair[0].setValue(key, v),
          op === 0 ? pair[1].deleteValue(key) : pair[1].setValue(key, v),
        ];
        assertSame(pair);
      }
    }
  });

  it('works with the API helpers (spans, suppression)', () => {
    const span = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
    const ctx = trace.setSpan(LinkedContext.ROOT, span);
    assert.equal(trace.getSpan(ctx), span);
    assert.equal(trace.getSpan(trace.deleteSpan(ctx)), undefined);
    assert.equal(isTracingSuppressed(ctx), false);
    assert.equal(isTracingSuppressed(suppressTracing(ctx)), true);
    assert.equal(trace.getSpan(suppressTracing(ctx)), span);
  });
});
