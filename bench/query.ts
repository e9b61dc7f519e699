/**
 * Query latency of the embedded DuckDB store over a day of realistic spans
 * (packages/demo/src/loadgen/generator.ts, the loadgen's generator: eight shop services, 5 to 50 spans per trace,
 * one in a thousand with thousands).
 *
 * The store is built once per size and seed into
 * `<repo>/.bench-data/query-<spans>-<seed>/` (written through
 * `store.write(SpanBatch)` in batches of 50,000, then closed) and reused by
 * later runs; `complete.json` in it marks a finished build and keeps the
 * build figures and a random sample of the stored trace ids.
 *
 * Figures (each with `spans`, the store size):
 * - `trace_by_id_p50_ms`, `trace_by_id_p99_ms`: 200 lookups of random stored
 *   traces, no time hint. Baseline, measured in the same run: the same
 *   lookup with a hint covering the whole day, which skips the per-trace
 *   summary path and scans every row group of the day (a full scan through
 *   the public API), 20 lookups.
 * - `search_p50_ms`, `search_p99_ms`: 50 searches over the 24 h, each by
 *   service, one span attribute and a minimum duration, limit 20, with
 *   varied parameters. Baseline: the 300 ms target.
 * - `services_ms`, `operations_ms`: median of 20 calls. Baseline: the same
 *   300 ms budget of an interactive query.
 * - `bytes_per_span`: `stats().bytesOnDisk / spans` after the build.
 *   Baseline: the 60 B target.
 * - `build_spans_per_s`: spans per second of the build (generation
 *   included; from `complete.json` when the store was cached). Baseline: the
 *   340,000 spans/s that `read_json` of NDJSON reaches on this kind of machine
 *   (ARCHITECTURE.md), the path the store writes through.
 *
 * Size: `--spans N` when run directly (`node --import tsx bench/query.ts
 * --spans 1000000`), or `TRACELOOM_BENCH_SPANS=N npm run bench -- query`;
 * 10,000,000 by default. `--seed` / `TRACELOOM_BENCH_SEED` likewise.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanBatch } from '@traceloom/model';
import { encodeOtlpBatch, generateTraces, spanChunks } from '../packages/demo/src/loadgen/generator.ts';
import { DuckDbStore } from '../packages/server/src/storage/duckdb/duckdb-store.ts';
import type { SearchQuery, TraceStore } from '../packages/server/src/storage/types.ts';
import { median, printFigure } from './internal/measure.ts';
import { prng } from './internal/prng.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');
const BENCH = 'query';
const WRITE_BATCH = 122_880;
const SAMPLE_TRACES = 400;
const DAY_NANO = 86_400_000_000_000n;
const START = 1_767_225_600_000_000_000n;
const MEMORY_LIMIT = '1GiB';

/** What `complete.json` keeps of a finished build. */
interface BuildInfo {
  readonly spans: number;
  readonly seconds: number;
  readonly otlpBytesPerSpan: number;
  /** Random stored traces: id, span count, start and end (ns as decimal strings). */
  readonly sample: readonly { id: string; spans: number; start: string; end: string }[];
}

/** `--name value` from the command line, else the variable, else the default. */
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

function openStore(dataDir: string): Promise<TraceStore> {
  return DuckDbStore.open({ dataDir, memoryLimit: MEMORY_LIMIT, maxBufferedSpans: WRITE_BATCH });
}

/** Builds the store: generation and writes overlap, at most two batches in flight. */
async function build(dataDir: string, spans: number, seed: number): Promise<BuildInfo> {
  rmSync(dataDir, { recursive: true, force: true });
  const store = await openStore(dataDir);
  const pick = prng(seed ^ 0x5eed);
  // Reservoir sample of traces, so the lookups hit traces from the whole day.
  const sample: { id: string; spans: number; start: string; end: string }[] = [];
  let traces = 0;
  let written = 0;
  let otlpBytes = 0;
  let otlpSpans = 0;
  const inFlight: Promise<void>[] = [];
  const t0 = process.hrtime.bigint();
  let nextReport = 1_000_000;
  const sampled = (function* () {
    for (const trace of generateTraces({ seed, spans, startUnixNano: START, windowNano: DAY_NANO })) {
      traces++;
      const slot = traces <= SAMPLE_TRACES ? traces - 1 : Math.floor(pick() * traces);
      if (slot < SAMPLE_TRACES) {
        let end = 0n;
        for (const s of trace) if (s.endTimeUnixNano > end) end = s.endTimeUnixNano;
        const first = trace[0];
        if (first !== undefined) {
          sample[slot] = {
            id: first.traceId,
            spans: trace.length,
            start: String(first.startTimeUnixNano),
            end: String(end),
          };
        }
      }
      yield trace;
    }
  })();
  for (const chunk of spanChunks(sampled, WRITE_BATCH)) {
    if (otlpSpans < 50_000) {
      // Size of the same spans as OTLP protobuf, for comparison with the bytes on disk.
      for (let i = 0; i + 512 <= chunk.length && otlpSpans < 50_000; i += 512) {
        otlpBytes += encodeOtlpBatch(chunk.slice(i, i + 512)).length;
        otlpSpans += 512;
      }
    }
    inFlight.push(store.write(SpanBatch.from(chunk)));
    if (inFlight.length >= 2) await inFlight.shift();
    written += chunk.length;
    if (written >= nextReport) {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stderr.write(`query: built ${written} spans in ${s.toFixed(1)} s (${Math.round(written / s)} spans/s)\n`);
      nextReport += 1_000_000;
    }
  }
  await Promise.all(inFlight);
  await store.flush();
  await store.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const info: BuildInfo = { spans: written, seconds, otlpBytesPerSpan: otlpBytes / otlpSpans, sample };
  writeFileSync(join(dataDir, 'complete.json'), JSON.stringify(info));
  return info;
}

/** Searches over the whole day, by service, one attribute and a minimum duration, with varied parameters. */
function searches(n: number, seed: number, users: number): SearchQuery[] {
  const r = prng(seed ^ 0x9e3779b9);
  const ms = (x: number) => BigInt(Math.round(x * 1e6));
  const range = { startUnixNano: START, endUnixNano: START + DAY_NANO };
  const kinds: (() => Omit<SearchQuery, 'range' | 'limit'>)[] = [
    () => ({
      service: 'frontend',
      attributes: [{ scope: 'span', key: 'http.route', op: '=', value: '/api/checkout' }],
      minDurationNano: ms(100 + r() * 300),
    }),
    () => ({
      service: 'catalog',
      attributes: [{ scope: 'span', key: 'db.system', op: '=', value: r() < 0.5 ? 'redis' : 'postgresql' }],
      minDurationNano: ms(1 + r() * 10),
    }),
    () => ({
      service: 'cart',
      attributes: [{ scope: 'span', key: 'http.request.method', op: '=', value: r() < 0.5 ? 'GET' : 'POST' }],
      minDurationNano: ms(2 + r() * 20),
    }),
    () => ({
      service: 'payment',
      attributes: [{ scope: 'span', key: 'http.response.status_code', op: '>=', value: 400 }],
      minDurationNano: ms(r() * 50),
    }),
    () => ({
      // High cardinality: one user among 100,000.
      service: 'frontend',
      attributes: [{ scope: 'span', key: 'app.user.id', op: '=', value: `u-${Math.floor(r() * users)}` }],
      minDurationNano: ms(r() * 5),
    }),
    () => ({
      service: 'inventory',
      attributes: [{ scope: 'span', key: 'db.statement', op: 'exists' }],
      minDurationNano: ms(5 + r() * 20),
    }),
  ];
  return Array.from({ length: n }, (_, i) => ({ ...(kinds[i % kinds.length] as () => object)(), range, limit: 20 }));
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, v];
}

/** Runs the benchmark and prints its JSON lines. */
export default async function run(): Promise<void> {
  const spans = option('spans', 'TRACELOOM_BENCH_SPANS', 10_000_000);
  const seed = option('seed', 'TRACELOOM_BENCH_SEED', 1);
  const dataDir = join(repoRoot, '.bench-data', `query-${spans}-${seed}`);
  const marker = join(dataDir, 'complete.json');
  let cached = existsSync(marker);
  let info: BuildInfo;
  if (cached) {
    info = JSON.parse(readFileSync(marker, 'utf8')) as BuildInfo;
    process.stderr.write(`query: reusing ${dataDir}\n`);
  } else {
    process.stderr.write(`query: building ${spans} spans into ${dataDir}\n`);
    // In a child process: measured in the process that built it, the lookups right after a
    // build paid for collecting the build's garbage (p99 26 to 31 ms there, 16 to 18 in a
    // process that only reads the same store).
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--build-only',
          '--spans',
          String(spans),
          '--seed',
          String(seed),
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the build exited with ${code}`))));
    });
    info = JSON.parse(readFileSync(marker, 'utf8')) as BuildInfo;
    cached = false;
  }

  const store = await openStore(dataDir);
  try {
    const stats = await store.stats();
    const extra = { spans: stats.spans };
    if (stats.spans < info.spans) throw new Error(`store holds ${stats.spans} spans, the build wrote ${info.spans}`);

    // Trace by id, no hint; every lookup must find the whole trace.
    // Another `--lookup-seed` looks up other traces (pages no earlier run has touched).
    const r = prng(option('lookup-seed', 'TRACELOOM_BENCH_LOOKUP_SEED', seed) ^ 0x1d);
    const ids = Array.from({ length: 200 }, () => info.sample[Math.floor(r() * info.sample.length)]!);
    for (const t of ids.slice(0, 10)) await store.getTrace(t.id);
    const byId: number[] = [];
    for (const t of ids) {
      const [ms, got] = await timed(() => store.getTrace(t.id));
      if (got?.length !== t.spans) throw new Error(`trace ${t.id}: got ${got?.length} spans, stored ${t.spans}`);
      byId.push(ms);
    }
    // The same lookup as a scan of the whole day (the hint skips the summary path).
    const day = { startUnixNano: START, endUnixNano: START + DAY_NANO + 3_600_000_000_000n };
    const scan: number[] = [];
    for (const t of ids.slice(0, 20)) {
      const [ms, got] = await timed(() => store.getTrace(t.id, day));
      if (got?.length !== t.spans) throw new Error(`scan of ${t.id}: got ${got?.length} spans, stored ${t.spans}`);
      scan.push(ms);
    }
    const scanLabel = 'same lookup as a scan of the whole day (24 h hint), 20 lookups';
    printFigure(
      BENCH,
      'trace_by_id_p50_ms',
      'ms',
      [percentile(byId, 0.5), percentile(scan, 0.5)],
      scanLabel,
      false,
      extra,
    );
    printFigure(
      BENCH,
      'trace_by_id_p99_ms',
      'ms',
      [percentile(byId, 0.99), percentile(scan, 0.99)],
      scanLabel,
      false,
      extra,
    );

    // Search.
    const qs = searches(50, seed, 100_000);
    await store.search(qs[0] as SearchQuery);
    const searchMs: number[] = [];
    let found = 0;
    for (const q of qs) {
      const [ms, res] = await timed(() => store.search(q));
      searchMs.push(ms);
      if (res.traces.length > 0) found++;
    }
    process.stderr.write(`query: ${found} of ${qs.length} searches found traces\n`);
    printFigure(BENCH, 'search_p50_ms', 'ms', [percentile(searchMs, 0.5), 300], 'target 300 ms', false, extra);
    printFigure(BENCH, 'search_p99_ms', 'ms', [percentile(searchMs, 0.99), 300], 'target 300 ms', false, extra);

    // Services and operations lists.
    const svc: number[] = [];
    const ops: number[] = [];
    let services: string[] = [];
    for (let i = 0; i < 20; i++) {
      const [ms, list] = await timed(() => store.services());
      svc.push(ms);
      services = list;
    }
    if (services.length === 0) throw new Error('services() is empty');
    for (let i = 0; i < 20; i++) {
      const name = services[i % services.length] as string;
      const [ms, list] = await timed(() => store.operations(name));
      if (list.length === 0) throw new Error(`operations(${name}) is empty`);
      ops.push(ms);
    }
    printFigure(BENCH, 'services_ms', 'ms', [median(svc), 300], 'target 300 ms (interactive query)', false, extra);
    printFigure(BENCH, 'operations_ms', 'ms', [median(ops), 300], 'target 300 ms (interactive query)', false, extra);

    printFigure(BENCH, 'bytes_per_span', 'B', [stats.bytesOnDisk / stats.spans, 60], 'target 60 B', false, {
      ...extra,
      otlp_proto_bytes_per_span: Math.round(info.otlpBytesPerSpan),
    });
    printFigure(
      BENCH,
      'build_spans_per_s',
      'spans/s',
      [info.spans / info.seconds, 340_000],
      'read_json of NDJSON into DuckDB, 340,000 spans/s (ARCHITECTURE.md)',
      true,
      { ...extra, cached },
    );
  } finally {
    await store.close();
  }
}

// Run directly (`node --import tsx bench/query.ts --spans N`) as well as through bench/run.ts;
// `--build-only` builds the store (the child process of a run that finds none).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--build-only')) {
    const spans = option('spans', 'TRACELOOM_BENCH_SPANS', 10_000_000);
    const seed = option('seed', 'TRACELOOM_BENCH_SEED', 1);
    await build(join(repoRoot, '.bench-data', `query-${spans}-${seed}`), spans, seed);
  } else await run();
}
