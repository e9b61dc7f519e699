import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidSpanId, isValidTraceId } from '@traceloom/model';
import { epochMillisToUnixNano, nowUnixNano, timeInputToUnixNano } from './clock.ts';
import { RandomIdGenerator, randomSpanId, randomTraceId } from './id-generator.ts';

describe('ids', () => {
  it('are valid lowercase hex, flat, distinct, across pool refills', () => {
    const seen = new Set<string>();
    // 70,000 ids of 16 and 8 bytes cross several 64 KiB pools.
    for (let i = 0; i < 35_000; i++) {
      const t = randomTraceId();
      const s = randomSpanId();
      assert.ok(isValidTraceId(t), t);
      assert.ok(isValidSpanId(s), s);
      seen.add(t);
      seen.add(s);
    }
    assert.equal(seen.size, 70_000);
    const g = new RandomIdGenerator();
    assert.equal(g.generateTraceId().length, 32);
    assert.equal(g.generateSpanId().length, 16);
  });

  it('use every hex digit in every position (no stuck bits)', () => {
    const digits = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) {
      const t = randomTraceId();
      for (let j = 0; j < 32; j++) digits[j]?.add(t[j] as string);
    }
    assert.ok(digits.every((d) => d.size === 16));
  });
});

describe('clock', () => {
  it('is monotonic and near the wall clock', () => {
    let prev = nowUnixNano();
    for (let i = 0; i < 1000; i++) {
      const n = nowUnixNano();
      assert.ok(n >= prev);
      prev = n;
    }
    const wall = BigInt(Date.now()) * 1_000_000n;
    const diff = prev > wall ? prev - wall : wall - prev;
    assert.ok(diff < 1_000_000_000n, `clock drift ${diff} ns`);
  });

  it('converts every TimeInput form, and rejects nonsense', () => {
    assert.equal(timeInputToUnixNano([12, 345]), 12_000_000_345n);
    assert.equal(timeInputToUnixNano(new Date(1_700_000_000_123)), 1_700_000_000_123_000_000n);
    assert.equal(timeInputToUnixNano(1_700_000_000_123.5), 1_700_000_000_123_500_000n);
    assert.equal(epochMillisToUnixNano(1.000001), 1_000_001n);
    const perf = timeInputToUnixNano(performance.now());
    assert.ok(perf !== undefined && perf <= nowUnixNano());
    assert.equal(timeInputToUnixNano(Number.NaN), undefined);
    assert.equal(timeInputToUnixNano(-1), undefined);
    assert.equal(timeInputToUnixNano([1, -1]), undefined);
    assert.equal(timeInputToUnixNano(new Date(Number.NaN)), undefined);
  });
});
