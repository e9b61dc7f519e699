import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  cumulativeCounts,
  Histogram,
  histogramCount,
  histogramFromText,
  histogramQuantile,
  histogramQuantiles,
  histogramToText,
  mergeHistograms,
  RELATIVE_ERROR_BOUND,
} from './histogram.ts';

/** Nearest-rank quantile of a sorted list. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

describe('latency histogram', () => {
  it('states an error bound under 2%', () => {
    assert.ok(RELATIVE_ERROR_BOUND < 0.011 && RELATIVE_ERROR_BOUND > 0.0108, String(RELATIVE_ERROR_BOUND));
  });

  it('answers p50, p95, p99 within the bound of the exact nearest-rank value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 2, max: 1e12, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0.5, 0.95, 0.99, 0.001, 1),
        (values, q) => {
          const h = new Histogram();
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          const want = exact(sorted, q);
          const got = histogramQuantile(h.toData(), q) as number;
          assert.ok(Math.abs(got - want) / want <= RELATIVE_ERROR_BOUND + 1e-12, `q=${q} got ${got} want ${want}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads several quantiles in one pass as one at a time, and round trips any histogram as text', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 2e9 }), { maxLength: 200 }), (values) => {
        const h = new Histogram();
        for (const v of values) h.record(v);
        const d = h.toData();
        const qs = [0.001, 0.5, 0.95, 0.99, 1];
        assert.deepEqual(
          histogramQuantiles(d, qs),
          qs.map((q) => histogramQuantile(d, q)),
        );
        assert.deepEqual(histogramFromText(histogramToText(d)), d);
      }),
      { numRuns: 200 },
    );
  });

  it('merges: two halves give the quantiles of the whole', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 1; i <= 1000; i++) {
      const v = i * 1_000_003;
      (i % 3 === 0 ? a : b).record(v);
      all.record(v);
    }
    const merged = mergeHistograms(a.toData(), b.toData());
    assert.equal(histogramCount(merged), 1000);
    for (const q of [0.5, 0.95, 0.99]) assert.equal(histogramQuantile(merged, q), histogramQuantile(all.toData(), q));
  });

  it('puts zero and negative durations in the zero bucket', () => {
    const h = new Histogram();
    h.record(0);
    h.record(-5);
    h.record(1_000_000);
    assert.equal(h.zeroCount, 2);
    assert.equal(histogramQuantile(h.toData(), 0.5), 0);
    assert.ok(Math.abs((histogramQuantile(h.toData(), 1) as number) / 1e6 - 1) <= RELATIVE_ERROR_BOUND);
    assert.equal(histogramQuantile(new Histogram().toData(), 0.5), undefined);
  });

  it('round trips the text form and refuses garbage', () => {
    const h = new Histogram();
    for (const v of [5, 5e3, 5e6, 5e6, 7e9, 0]) h.record(v);
    const d = h.toData();
    assert.deepEqual(histogramFromText(histogramToText(d)), d);
    assert.throws(() => histogramFromText('nonsense'));
  });

  it('gives cumulative counts at Prometheus bounds', () => {
    const h = new Histogram();
    for (const v of [1e6, 3e6, 3e6, 2e9]) h.record(v);
    assert.deepEqual(cumulativeCounts(h.toData(), [2e6, 4e6, 1e9]), [1, 3, 3, 4]);
  });
});
