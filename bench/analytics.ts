/**
 * Service analytics: what the span-metrics and service-graph stages cost at
 * ingest, and how fast the RED query answers over a day of metrics.
 *
 * Figures:
 * - `metrics_overhead_pct`: ingest throughput (spans/s) with the analytics
 *   stage on against off, measured in the same run in alternating rounds
 *   (medians). Measured in-process on the path a request takes after the
 *   HTTP layer: decode the OTLP protobuf body (500 spans, from the loadgen's
 *   generator, start times spread over 5 s as a live server sees them),
 *   drop invalid ids as the receivers do, build the `SpanBatch`,
 *   hand it to the stage (on) and to a DuckDB store (`write`, not awaited
 *   one by one, as the durable sink does), then `flush()` the store. The
 *   stage flushes its metrics on its own 5-s timer, as in the server (a
 *   round of 400,000 spans takes several seconds, so it includes about one
 *   flush per 5 s of ingest; the partial flush after the round is not
 *   timed). The
 *   write-ahead log (fsync) is left out, which makes the stage's share look
 *   larger than in the server, not smaller. Baseline: stages off; `value` is
 *   the median over rounds of `(off - on) / off` in percent, each round an
 *   off and an on run back to back (target: at most 10), with
 *   `cpu_time_overhead_pct` (the same comparison on the process's CPU time
 *   per span, all threads, which other processes disturb less than wall
 *   time) and `cpu_estimate_pct` (the stage's own µs per span, below, over
 *   the µs per span of the whole ingest), for a noisy machine; the spans/s of both
 *   are printed as `ingest_spans_per_s_analytics_on` (baseline: off).
 * - `metrics_stage_us_per_span`: the stage's own CPU cost (`accept` on the
 *   same batches, no store), against decode + validate + `SpanBatch` of the
 *   same bodies (baseline): the share the stage adds to the receiving CPU
 *   path alone, the worst case of the overhead.
 * - `red_query_p99_ms` (and `_p50_`): the RED series of one service
 *   (`frontend`, SERVER spans) over 24 h at a 1-minute step (1,441 points,
 *   with p50/p95/p99 each), 50 queries through `QueryEngine.red` on the
 *   DuckDB metrics tables. The metrics come from `--spans` spans (10,000,000
 *   by default) spread over the day, fed through the analytics stage in
 *   batches of 5,000; the store is built once into
 *   `.bench-data/analytics-<spans>-<seed>/` and reused. Baseline: the 100 ms
 *   target. `spans` gives the store size. Also `red_query_hourly_p99_ms` (a
 *   1-hour step, read from the roll-ups) and `service_graph_24h_p99_ms`.
 *
 * Options: `--spans N` (store size), `--ingest-spans N` (spans per ingest
 * round, 400,000 by default), `--rounds N` (per mode, 7), `--seed N`; or
 * `TRACELOOM_BENCH_SPANS` and so on.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanBatch } from '@traceloom/model';
import { decodeOtlpTraces } from '@traceloom/wire';
import { encodeOtlpBatch, generateTraces, spanChunks } from '../packages/demo/src/loadgen/generator.ts';
import { AnalyticsStage } from '../packages/server/src/pipeline/analytics.ts';
import { QueryEngine } from '../packages/server/src/query/engine.ts';
import { otlpLocator, partitionSpans } from '../packages/server/src/receivers/validate.ts';
import { DuckDbStore } from '../packages/server/src/storage/duckdb/duckdb-store.ts';
import { MemoryStore } from '../packages/server/src/storage/memory/memory-store.ts';
import { median, printFigure } from './internal/measure.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');
const BENCH = 'analytics';
const DAY_NANO = 86_400_000_000_000n;
const START = 1_767_225_600_000_000_000n;
const REQUEST_SPANS = 500;
const BUILD_BATCH = 5000;
const FLUSH_EVERY = 500_000;
/** Span start times of an ingest round are spread over this window. */
const INGEST_WINDOW_NANO = 5_000_000_000n;

function option(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not '${raw}'`);
  return n;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] as number;
}

/** One ingest round over the pre-encoded bodies: spans per second, and CPU µs per span (all threads). */
async function ingestRound(bodies: readonly Uint8Array[], analyticsOn: boolean): Promise<[number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'tl-bench-analytics-'));
  const store = await DuckDbStore.open({ dataDir: dir, memoryLimit: '512MiB' });
  // The server's flush interval: a round of several seconds includes the flushes a live server makes.
  const stage = analyticsOn ? await AnalyticsStage.open(store, { flushIntervalMs: 5000 }) : undefined;
  try {
    const inFlight: Promise<void>[] = [];
    let n = 0;
    let lsn = 0n;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    for (const body of bodies) {
      const spans = partitionSpans(decodeOtlpTraces(body), otlpLocator).accepted;
      const batch = SpanBatch.from(spans);
      lsn++;
      stage?.accept(batch, lsn);
      // Not awaited one by one, as the durable sink hands batches over: the store commits in groups.
      inFlight.push(store.write(batch, lsn));
      n += batch.length;
    }
    await Promise.all(inFlight);
    await store.flush();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    // The partial flush after the round is left out, as the server's next timer flush would be.
    await stage?.close();
    return [n / seconds, (cpu.user + cpu.system) / n];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureOverhead(ingestSpans: number, rounds: number, seed: number): Promise<void> {
  const bodies: Uint8Array[] = [];
  // Spans of a few seconds, as a live server receives them at this rate (a backfill of old spans
  // would touch more minute buckets per flush).
  for (const chunk of spanChunks(
    generateTraces({ seed: seed + 1, spans: ingestSpans, startUnixNano: START, windowNano: INGEST_WINDOW_NANO }),
    REQUEST_SPANS,
  )) {
    bodies.push(encodeOtlpBatch(chunk));
  }
  // Warm-up of both paths (JIT, DuckDB), not measured.
  await ingestRound(bodies.slice(0, Math.min(bodies.length, 40)), true);
  await ingestRound(bodies.slice(0, Math.min(bodies.length, 40)), false);
  const on: number[] = [];
  const off: number[] = [];
  const onCpu: number[] = [];
  const offCpu: number[] = [];
  const round = async (analyticsOn: boolean) => {
    const [rate, cpu] = await ingestRound(bodies, analyticsOn);
    (analyticsOn ? on : off).push(rate);
    (analyticsOn ? onCpu : offCpu).push(cpu);
  };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so drift in machine load hits both.
    if (r % 2 === 0) {
      await round(false);
      await round(true);
    } else {
      await round(true);
      await round(false);
    }
    process.stderr.write(
      `analytics: round ${r + 1}: off ${Math.round(off.at(-1) ?? 0)}, on ${Math.round(on.at(-1) ?? 0)} spans/s\n`,
    );
  }
  // The stage alone against the CPU part of receiving, on the same batches.
  const batches = bodies.map((b) => SpanBatch.from(partitionSpans(decodeOtlpTraces(b), otlpLocator).accepted));
  const stageCost: number[] = [];
  const decodeCost: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const stage = await AnalyticsStage.open(new MemoryStore(), { flushIntervalMs: 0 });
    let t0 = process.hrtime.bigint();
    let lsn = 0n;
    for (const b of batches) stage.accept(b, ++lsn);
    const tStage = Number(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    let n = 0;
    for (const body of bodies) n += SpanBatch.from(partitionSpans(decodeOtlpTraces(body), otlpLocator).accepted).length;
    const tDecode = Number(process.hrtime.bigint() - t0);
    if (r > 0) {
      stageCost.push(tStage / 1000 / n);
      decodeCost.push(tDecode / 1000 / n);
    }
  }
  printFigure(
    BENCH,
    'metrics_stage_us_per_span',
    'us',
    [median(stageCost), median(decodeCost)],
    'decode+validate+SpanBatch',
    false,
    {
      stage_share_of_receive_cpu_pct: Math.round((median(stageCost) / median(decodeCost)) * 1000) / 10,
    },
  );
  const mOn = median(on);
  const mOff = median(off);
  const extra = {
    spans_per_round: ingestSpans,
    rounds,
    path: 'in-process decode+validate+SpanBatch+DuckDB write, no WAL',
  };
  printFigure(BENCH, 'ingest_spans_per_s_analytics_on', 'spans/s', [mOn, mOff], 'analytics stages off', true, extra);
  // Each round pairs an off and an on run back to back; the median of the pairs' overheads
  // resists drift in machine load better than comparing the two medians.
  const overhead = median(off.map((o, i) => ((o - (on[i] as number)) / o) * 100));
  printFigure(BENCH, 'metrics_overhead_pct', '%', [overhead, 10], '10% target', false, {
    ...extra,
    // Less sensitive to other processes on the machine: the CPU time of this process (all its
    // threads, DuckDB's included) per span, on against off, median of the rounds' pairs.
    cpu_time_overhead_pct: Math.round(median(offCpu.map((o, i) => (((onCpu[i] as number) - o) / o) * 100)) * 10) / 10,
    // The same from the stage's own µs per span over the wall-clock µs per span of the whole ingest (off).
    cpu_estimate_pct: Math.round(median(stageCost) * mOff * 1e-4 * 10) / 10,
  });
}

/** Feeds `spans` generated spans through the stage into a DuckDB store's metrics tables. */
async function build(dataDir: string, spans: number, seed: number): Promise<number> {
  rmSync(dataDir, { recursive: true, force: true });
  const store = await DuckDbStore.open({ dataDir, memoryLimit: '1GiB' });
  const stage = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
  let n = 0;
  let lsn = 0n;
  let nextFlush = FLUSH_EVERY;
  const t0 = process.hrtime.bigint();
  for (const chunk of spanChunks(
    generateTraces({ seed, spans, startUnixNano: START, windowNano: DAY_NANO }),
    BUILD_BATCH,
  )) {
    lsn++;
    stage.accept(SpanBatch.from(chunk), lsn);
    n += chunk.length;
    if (n >= nextFlush) {
      await stage.flush();
      nextFlush += FLUSH_EVERY;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stderr.write(`analytics: fed ${n} spans in ${s.toFixed(1)} s\n`);
    }
  }
  await stage.close();
  await store.close();
  writeFileSync(join(dataDir, 'complete.json'), JSON.stringify({ spans: n }));
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, v];
}

async function measureQueries(spans: number, seed: number): Promise<void> {
  const dataDir = join(repoRoot, '.bench-data', `analytics-${spans}-${seed}`);
  const marker = join(dataDir, 'complete.json');
  let stored: number;
  if (existsSync(marker)) {
    stored = (JSON.parse(readFileSync(marker, 'utf8')) as { spans: number }).spans;
    process.stderr.write(`analytics: reusing ${dataDir}\n`);
  } else {
    process.stderr.write(`analytics: feeding ${spans} spans into ${dataDir}\n`);
    stored = await build(dataDir, spans, seed);
  }
  const store = await DuckDbStore.open({ dataDir, memoryLimit: '1GiB' });
  try {
    const engine = new QueryEngine(store);
    const range = { startUnixNano: START, endUnixNano: START + DAY_NANO - 1n };
    const red = (stepSeconds: number) => () => engine.red({ service: 'frontend', range, stepSeconds, spanKinds: [2] });
    const [, check] = await timed(red(60));
    const calls = check[0]?.points.reduce((a, p) => a + p.calls, 0) ?? 0;
    if (calls === 0) throw new Error('the RED query found no frontend calls: the metrics store is empty');
    const run = async (fn: () => Promise<unknown>, n: number) => {
      await fn();
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push((await timed(fn))[0]);
      return times;
    };
    const minute = await run(red(60), 50);
    const extra = { spans: stored, service: 'frontend', points: check[0]?.points.length ?? 0, calls };
    printFigure(BENCH, 'red_query_p50_ms', 'ms', [percentile(minute, 0.5), 100], '100 ms target', false, extra);
    printFigure(BENCH, 'red_query_p99_ms', 'ms', [percentile(minute, 0.99), 100], '100 ms target', false, extra);
    const hourly = await run(red(3600), 50);
    printFigure(BENCH, 'red_query_hourly_p99_ms', 'ms', [percentile(hourly, 0.99), 100], '100 ms target', false, {
      spans: stored,
    });
    const graph = await run(() => engine.serviceGraph(range), 20);
    printFigure(BENCH, 'service_graph_24h_p99_ms', 'ms', [percentile(graph, 0.99), 100], '100 ms target', false, {
      spans: stored,
    });
  } finally {
    await store.close();
  }
}

/** Runs the benchmark and prints its JSON lines. */
export default async function run(): Promise<void> {
  const spans = option('spans', 'TRACELOOM_BENCH_SPANS', 10_000_000);
  const ingestSpans = option('ingest-spans', 'TRACELOOM_BENCH_INGEST_SPANS', 400_000);
  const rounds = option('rounds', 'TRACELOOM_BENCH_ROUNDS', 7);
  const seed = option('seed', 'TRACELOOM_BENCH_SEED', 1);
  await measureOverhead(ingestSpans, rounds, seed);
  await measureQueries(spans, seed);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
