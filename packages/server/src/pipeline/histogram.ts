/**
 * The latency histogram of span metrics and service-graph edges: log-linear
 * (exponential) buckets over nanoseconds, mergeable by adding counts.
 *
 * Bucket `i` holds durations in `(γ^(i-1), γ^i]` nanoseconds with
 * `γ = 2^(1/32)` (32 buckets per doubling, 1,088 between 1 ns and a day).
 * A quantile is answered with the harmonic mean of its bucket's bounds,
 * `2·lo·hi / (lo + hi)`, whose relative error against any value of the bucket
 * is at most `(γ - 1) / (γ + 1)` = **1.08 %** (`RELATIVE_ERROR_BOUND`), for
 * p50, p95, p99 or any other quantile, however many histograms are merged.
 * Quantiles are nearest-rank: the value at rank `ceil(q · count)`.
 * Durations of 1 ns or less (and negative ones, from skewed clocks) go to a
 * zero bucket and read as 0.
 *
 * This file has no dependencies: the pipeline fills histograms, storage merges
 * them and the query engine reads quantiles from them, so it is the one
 * definition all three share.
 */

/** Buckets per power of two. */
export const HISTOGRAM_SCALE = 32;

/** γ, the ratio of a bucket's upper to its lower bound. */
export const HISTOGRAM_GAMMA = 2 ** (1 / HISTOGRAM_SCALE);

/** The largest relative error of a quantile read from a histogram: (γ - 1) / (γ + 1), about 0.0108. */
export const RELATIVE_ERROR_BOUND = (HISTOGRAM_GAMMA - 1) / (HISTOGRAM_GAMMA + 1);

/**
 * A histogram in its stored (and JSON) form: the zero bucket, and dense counts
 * from bucket `offset` on. Plain data, safe to share between stages.
 */
export interface HistogramData {
  /** Durations of at most 1 ns. */
  readonly zeroCount: number;
  /** Bucket index of `counts[0]`. */
  readonly offset: number;
  readonly counts: readonly number[];
}

/** The empty histogram. */
export const EMPTY_HISTOGRAM: HistogramData = Object.freeze({ zeroCount: 0, offset: 0, counts: Object.freeze([]) });

/** The bucket a duration in nanoseconds falls in; -1 for the zero bucket. */
export function bucketIndex(durationNano: number): number {
  if (!(durationNano > 1)) return -1;
  return Math.ceil(Math.log2(durationNano) * HISTOGRAM_SCALE);
}

/** Lower bound (exclusive) of bucket `i`, in nanoseconds. */
export function bucketLowerNano(i: number): number {
  return 2 ** ((i - 1) / HISTOGRAM_SCALE);
}

/** Upper bound (inclusive) of bucket `i`, in nanoseconds. */
export function bucketUpperNano(i: number): number {
  return 2 ** (i / HISTOGRAM_SCALE);
}

/** The value a quantile falling in bucket `i` is answered with (the harmonic mean of its bounds). */
export function bucketValueNano(i: number): number {
  const lo = bucketLowerNano(i);
  const hi = bucketUpperNano(i);
  return (2 * lo * hi) / (lo + hi);
}

/**
 * A histogram being filled. Counts live in a dense array that grows at
 * either end as durations arrive, so recording is an index computation and
 * an increment.
 */
export class Histogram {
  zeroCount = 0;
  offset = 0;
  counts: number[] = [];

  /** Records one duration (nanoseconds). */
  record(durationNano: number): void {
    const i = bucketIndex(durationNano);
    if (i < 0) {
      this.zeroCount++;
      return;
    }
    this.#add(i, 1);
  }

  /** Adds every count of `h`. */
  merge(h: HistogramData): void {
    this.zeroCount += h.zeroCount;
    for (let j = 0; j < h.counts.length; j++) {
      const c = h.counts[j] as number;
      if (c !== 0) this.#add(h.offset + j, c);
    }
  }

  #add(i: number, n: number): void {
    const counts = this.counts;
    if (counts.length === 0) {
      this.offset = i;
      counts.push(n);
      return;
    }
    if (i < this.offset) {
      const grow = this.offset - i;
      const next = new Array<number>(grow).fill(0);
      next[0] = n;
      this.counts = next.concat(counts);
      this.offset = i;
      return;
    }
    const j = i - this.offset;
    while (counts.length <= j) counts.push(0);
    counts[j] = (counts[j] as number) + n;
  }

  /** A copy in stored form. */
  toData(): HistogramData {
    return { zeroCount: this.zeroCount, offset: this.offset, counts: this.counts.slice() };
  }

  static from(h: HistogramData): Histogram {
    const r = new Histogram();
    r.merge(h);
    return r;
  }
}

/** `a` and `b` added together. */
export function mergeHistograms(a: HistogramData, b: HistogramData): HistogramData {
  if (b.counts.length === 0 && b.zeroCount === 0) return a;
  if (a.counts.length === 0 && a.zeroCount === 0) return b;
  const h = Histogram.from(a);
  h.merge(b);
  return h.toData();
}

/** Number of durations recorded. */
export function histogramCount(h: HistogramData): number {
  let n = h.zeroCount;
  for (const c of h.counts) n += c;
  return n;
}

/**
 * The `q` quantile (0 < q <= 1) in nanoseconds, nearest-rank, within
 * {@link RELATIVE_ERROR_BOUND} of the exact value; `undefined` when empty.
 */
export function histogramQuantile(h: HistogramData, q: number): number | undefined {
  const total = histogramCount(h);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = h.zeroCount;
  if (seen >= rank) return 0;
  for (let j = 0; j < h.counts.length; j++) {
    seen += h.counts[j] as number;
    if (seen >= rank) return bucketValueNano(h.offset + j);
  }
  return bucketValueNano(h.offset + h.counts.length - 1);
}

/** Several quantiles at once (one pass); `undefined` entries when empty. `qs` ascending. */
export function histogramQuantiles(h: HistogramData, qs: readonly number[]): (number | undefined)[] {
  const total = histogramCount(h);
  const out = new Array<number | undefined>(qs.length).fill(undefined);
  if (total === 0) return out;
  let k = 0;
  let seen = h.zeroCount;
  const rank = (q: number) => Math.max(1, Math.ceil(q * total));
  while (k < qs.length && seen >= rank(qs[k] as number)) out[k++] = 0;
  for (let j = 0; j < h.counts.length && k < qs.length; j++) {
    seen += h.counts[j] as number;
    while (k < qs.length && seen >= rank(qs[k] as number)) out[k++] = bucketValueNano(h.offset + j);
  }
  return out;
}

/**
 * Cumulative counts at fixed upper bounds (Prometheus `le`, in nanoseconds):
 * a bucket is counted under the first bound its answer value does not exceed,
 * so a count near a bound may sit one side off by at most the error bound.
 * The last entry is the total (`+Inf`).
 */
export function cumulativeCounts(h: HistogramData, boundsNano: readonly number[]): number[] {
  const out = new Array<number>(boundsNano.length + 1).fill(0);
  const place = (value: number, n: number) => {
    let k = 0;
    while (k < boundsNano.length && value > (boundsNano[k] as number)) k++;
    out[k] = (out[k] as number) + n;
  };
  if (h.zeroCount > 0) place(0, h.zeroCount);
  for (let j = 0; j < h.counts.length; j++) {
    const c = h.counts[j] as number;
    if (c !== 0) place(bucketValueNano(h.offset + j), c);
  }
  for (let k = 1; k < out.length; k++) out[k] = (out[k] as number) + (out[k - 1] as number);
  return out;
}

/** The compact text form used by storage: `zero;offset;c0,c1,...` (zeros written as empty). */
export function histogramToText(h: HistogramData): string {
  let s = `${h.zeroCount};${h.offset};`;
  for (let j = 0; j < h.counts.length; j++) {
    if (j > 0) s += ',';
    const c = h.counts[j] as number;
    if (c !== 0) s += c;
  }
  return s;
}

/** Reads {@link histogramToText}'s form; throws on anything else. Hand-rolled: RED queries read thousands. */
export function histogramFromText(text: string): HistogramData {
  const bad = () => new Error(`not a stored histogram: ${text.slice(0, 40)}`);
  const a = text.indexOf(';');
  const b = text.indexOf(';', a + 1);
  if (a <= 0 || b <= a + 1) throw bad();
  const zeroCount = Number(text.slice(0, a));
  const offset = Number(text.slice(a + 1, b));
  if (!Number.isFinite(zeroCount) || !Number.isInteger(offset)) throw bad();
  const counts: number[] = [];
  const n = text.length;
  if (b + 1 < n) {
    let v = 0;
    for (let i = b + 1; i <= n; i++) {
      const c = i === n ? 44 : text.charCodeAt(i);
      if (c === 44) {
        counts.push(v);
        v = 0;
      } else if (c >= 48 && c <= 57) v = v * 10 + (c - 48);
      else throw bad();
    }
  }
  return { zeroCount, offset, counts };
}
