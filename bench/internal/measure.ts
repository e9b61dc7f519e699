/**
 * What every in-process benchmark shares: timing ours against a baseline in
 * alternating blocks, medians, and the JSON line of a figure.
 */

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1] as number;
}

/** How {@link compareMedians} times. */
export interface CompareOptions {
  /** Different payloads per round, so caches of repeated strings see misses as well as hits. */
  readonly payloads: number;
  /** Items per payload; figures are per item. */
  readonly itemsPerPayload: number;
  /** Rounds before measuring, so the JIT has optimized both sides. @default 15 */
  readonly warmupRounds?: number;
  /** Alternations of ours and theirs. @default 10 */
  readonly blocks?: number;
  /** Rounds per block. @default 3 */
  readonly blockRounds?: number;
  /** Divisor from nanoseconds to the figure's unit (1000 for µs). @default 1 */
  readonly nsPerUnit?: number;
}

/**
 * Median cost per item of `ours` and of `theirs`. A round runs the function
 * once on every payload. The two alternate in short blocks of rounds: long
 * enough that each mostly pays for the garbage collections its own
 * allocations cause, short enough that both see the same drift in machine
 * load (these machines are shared and noisy).
 */
export function compareMedians(
  options: CompareOptions,
  ours: (k: number) => unknown,
  theirs: (k: number) => unknown,
): [number, number] {
  const { payloads, itemsPerPayload, warmupRounds = 15, blocks = 10, blockRounds = 3, nsPerUnit = 1 } = options;
  let sink = 0;
  const run = (fn: (k: number) => unknown, out: number[] | undefined, rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < payloads; k++) if (fn(k) !== undefined) sink++;
      out?.push(Number(process.hrtime.bigint() - t0) / nsPerUnit / (payloads * itemsPerPayload));
    }
  };
  run(ours, undefined, warmupRounds);
  run(theirs, undefined, warmupRounds);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < blocks; i++) {
    run(ours, a, blockRounds);
    run(theirs, b, blockRounds);
  }
  if (sink < 0) console.error(sink);
  return [median(a), median(b)];
}

/**
 * Prints one figure as the JSON line bench/README.md describes. `ratio` reads
 * "times better than the baseline": theirs over ours for costs (the default),
 * ours over theirs for rates (`higherIsBetter`). `extra` fields (the store
 * size a figure was measured at, say) follow the standard ones.
 */
export function printFigure(
  bench: string,
  metric: string,
  unit: string,
  [ours, theirs]: readonly [number, number],
  baseline: string,
  higherIsBetter = false,
  extra: Readonly<Record<string, string | number | boolean>> = {},
): void {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  console.log(
    JSON.stringify({
      bench,
      metric,
      value: round(ours),
      unit,
      baseline,
      baseline_value: round(theirs),
      ratio: round(higherIsBetter ? ours / theirs : theirs / ours),
      ...extra,
    }),
  );
}
