/**
 * End-to-end ingestion: spans per second the real `traceloom` server
 * acknowledges (OTLP/HTTP receiver, write-ahead log, DuckDB store), the
 * latency of those acknowledgements and the server's peak memory.
 *
 * The server runs as the CLI does (`packages/server/src/cli/main.ts`, a
 * fresh temporary data folder, only the OTLP/HTTP receiver and the API on
 * ephemeral ports); the load runs in another process (bench/ingest-load.ts):
 * 512-span OTLP protobuf requests of generated shop traces
 * (packages/demo/src/loadgen/generator.ts, the loadgen's generator), each with new trace ids, 8 kept-alive
 * connections, 2 s warm-up, then 60 s measured (`--seconds N` when run
 * directly, or `TRACELOOM_BENCH_SECONDS`). RSS is read from
 * `/proc/<pid>/status` every 250 ms. With `TRACELOOM_BENCH_PROFILE=<dir>` the
 * server runs under `node --cpu-prof` and writes its profile there.
 *
 * Baseline, in the same run: the same load against the receiver alone with a
 * counting sink (bench/receive-server.ts, the `receive` benchmark's server),
 * for at most 10 s: the ceiling that decoding and HTTP leave.
 *
 * Figures: `ingest_spans_per_s` (ratio = ours / ceiling), `ack_p99_ms`
 * (against the ceiling's p99) and `peak_rss_mb` (against the ceiling
 * server's peak). Afterwards the API must list the services, the server must
 * exit 0 on SIGTERM, and the store it leaves must hold every acknowledged span.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbStore } from '../packages/server/src/storage/duckdb/duckdb-store.ts';
import { collect, startBenchServer } from './internal/child.ts';
import { printFigure } from './internal/measure.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');
const BENCH = 'ingest';
const WARMUP_MS = 2000;
const CONNECTIONS = 8;
const CEILING_MS = 10_000;

interface LoadResult {
  requests: number;
  spans: number;
  errors: number;
  throttled: number;
  reconnects: number;
  seconds: number;
  ackedSpans: number;
  p50Ms: number;
  p99Ms: number;
  bodyBytes: number;
}

function option(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, not '${raw}'`);
  return n;
}

async function runLoad(port: number, durationMs: number): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'ingest-load.ts'),
      String(port),
      String(durationMs),
      String(WARMUP_MS),
      String(CONNECTIONS),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const io = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), durationMs + WARMUP_MS + 120_000);
  const code = await io.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(io.out().trim().split('\n').pop() as string) as LoadResult;
}

/** Samples a process's resident set every 250 ms; `stop()` returns the peak in MiB. */
function sampleRss(pid: number): { stop: () => number } {
  let peakKb = 0;
  const read = () => {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m !== null) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // The process has exited.
    }
  };
  read();
  const timer = setInterval(read, 250);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return peakKb / 1024;
    },
  };
}

/** CPU seconds (user + system, every thread) a process has used so far, from `/proc/<pid>/stat`. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks; Linux reports them at 100 Hz
  } catch {
    return Number.NaN;
  }
}

async function waitExit(child: ChildProcess, exited: Promise<number | null>, ms: number): Promise<number | null> {
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
  const code = await Promise.race([exited, timeout]);
  if (code === 'timeout') {
    child.kill('SIGKILL');
    throw new Error(`the server did not exit within ${ms / 1000} s of SIGTERM`);
  }
  return code;
}

/** The receiver alone, into a counting sink: the ceiling. */
async function ceiling(durationMs: number): Promise<{ load: LoadResult; peakMb: number }> {
  const server = await startBenchServer('receive-server.ts', 'traceloom', false);
  try {
    const rss = sampleRss(server.child.pid as number);
    const load = await runLoad(server.port, durationMs);
    const peakMb = rss.stop();
    if (load.errors > 0) throw new Error(`ceiling: ${load.errors} failed requests`);
    server.child.kill('SIGTERM');
    await waitExit(server.child, server.io.exited, 10_000);
    return { load, peakMb };
  } finally {
    server.child.kill('SIGKILL');
  }
}

/** Starts the CLI and waits for the ports it prints. */
async function startTraceloom(dataDir: string) {
  const args = [
    '--import',
    'tsx',
    join(repoRoot, 'packages/server/src/cli/main.ts'),
    '--data-dir',
    dataDir,
    '--otlp-grpc-port',
    'off',
    '--zipkin-port',
    'off',
    '--jaeger-port',
    'off',
    '--otlp-http-port',
    '0',
    '--api-port',
    '0',
    '--log-interval',
    '0',
  ];
  const profileDir = process.env.TRACELOOM_BENCH_PROFILE;
  if (profileDir !== undefined && profileDir !== '') args.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = collect(child);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const otlp = /OTLP\/HTTP\s+http:\/\/[^\s]*:(\d+)\/v1\/traces/.exec(io.out());
    const api = /(http:\/\/[^\s]*:\d+)\/api\/v1\/services/.exec(io.out());
    if (otlp !== null && api !== null) return { child, io, port: Number(otlp[1]), api: api[1] as string };
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`traceloom did not start: ${io.out()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the benchmark and prints its JSON lines. */
export default async function run(): Promise<void> {
  const seconds = option('seconds', 'TRACELOOM_BENCH_SECONDS', 60);
  const durationMs = Math.round(seconds * 1000);

  const base = await ceiling(Math.min(durationMs, CEILING_MS));
  const ceilingRate = base.load.spans / base.load.seconds;
  process.stderr.write(
    `ingest: ceiling ${Math.round(ceilingRate)} spans/s, ack p99 ${base.load.p99Ms.toFixed(1)} ms\n`,
  );

  const dataDir = await mkdtemp(join(tmpdir(), 'traceloom-ingest-bench-'));
  try {
    const server = await startTraceloom(dataDir);
    let load: LoadResult;
    let peakMb: number;
    let services: unknown;
    let cpuUsPerSpan: number;
    try {
      const rss = sampleRss(server.child.pid as number);
      const cpu0 = cpuSeconds(server.child.pid as number);
      load = await runLoad(server.port, durationMs);
      cpuUsPerSpan = ((cpuSeconds(server.child.pid as number) - cpu0) / load.ackedSpans) * 1e6;
      peakMb = rss.stop();
      if (load.errors > 0) throw new Error(`traceloom: ${load.errors} failed requests`);
      const res = await fetch(`${server.api}/api/v1/services`);
      services = await res.json();
      if (!res.ok) throw new Error(`GET /api/v1/services answered ${res.status}: ${JSON.stringify(services)}`);
      server.child.kill('SIGTERM');
      const code = await waitExit(server.child, server.io.exited, 120_000);
      if (code !== 0) throw new Error(`traceloom exited with ${code} after SIGTERM`);
    } finally {
      server.child.kill('SIGKILL');
    }
    process.stderr.write(`ingest: services listed by the API: ${JSON.stringify(services)}\n`);

    // Everything acknowledged must be in the store the server left behind.
    const store = await DuckDbStore.open({ dataDir, memoryLimit: '512MiB' });
    let stored: number;
    try {
      stored = (await store.stats()).spans;
    } finally {
      await store.close();
    }
    if (stored < load.ackedSpans)
      throw new Error(`the store holds ${stored} spans; ${load.ackedSpans} were acknowledged`);
    process.stderr.write(`ingest: ${load.ackedSpans} spans acknowledged, ${stored} stored\n`);

    const extra = {
      seconds: Math.round(load.seconds),
      connections: CONNECTIONS,
      spans_per_request: 512,
      throttled_requests: load.throttled,
    };
    printFigure(
      BENCH,
      'ingest_spans_per_s',
      'spans/s',
      [load.spans / load.seconds, ceilingRate],
      'receiver alone into a counting sink (receive-server.ts), same payloads',
      true,
      // The server's CPU time (all threads, DuckDB's included) over the load, per acknowledged span:
      // steadier than the rate when other processes share the machine.
      { ...extra, server_cpu_us_per_span: Math.round(cpuUsPerSpan * 100) / 100 },
    );
    printFigure(BENCH, 'ack_p99_ms', 'ms', [load.p99Ms, base.load.p99Ms], 'receiver alone, ack p99', false, {
      ...extra,
      p50_ms: Math.round(load.p50Ms * 1000) / 1000,
      baseline_p50_ms: Math.round(base.load.p50Ms * 1000) / 1000,
    });
    printFigure(BENCH, 'peak_rss_mb', 'MiB', [peakMb, base.peakMb], 'receiver alone, peak RSS', false, extra);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

// Run directly (`node --import tsx bench/ingest.ts --seconds 10`) as well as through bench/run.ts.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await run();
