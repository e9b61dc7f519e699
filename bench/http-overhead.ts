/**
 * HTTP server overhead of tracing: requests per second of a hello-world
 * `node:http` server with no tracing, with Traceloom (our `TracerProvider`,
 * `BatchSpanProcessor` with an exporter that does nothing, and
 * `enableHttpInstrumentation()`: every request makes a sampled server span),
 * and with the official OpenTelemetry SDK (`NodeTracerProvider`, its
 * `BatchSpanProcessor` with an exporter that does nothing, and
 * `@opentelemetry/instrumentation-http`).
 *
 * Each server runs in its own child process (bench/http-overhead-server.ts)
 * and the load in another (bench/http-overhead-load.ts): `GET /` over 32
 * kept-alive raw-socket connections, one request in flight on each, 3 s
 * warm-up, then 8 s measured. The three configurations are run in
 * alternating order for three rounds and the median of each is kept. Traffic
 * goes only to 127.0.0.1 and every child is bounded in time.
 *
 * Prints `rps_loss_pct` (ours, against the official SDK's loss) and the raw
 * `rps_*` figures. Set TRACELOOM_BENCH_PROFILE=<dir> to run the Traceloom
 * server under `node --cpu-prof` and write its profiles there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_MS = 8000;
const WARMUP_MS = 3000;
const CONNECTIONS = 32;
const ROUNDS = 3;

type Mode = 'none' | 'traceloom' | 'official';
const MODES: readonly Mode[] = ['none', 'traceloom', 'official'];
const BASELINE = '@opentelemetry/instrumentation-http + NodeTracerProvider + BatchSpanProcessor';

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
}

function collect(child: ChildProcess): { out: () => string; exited: Promise<number | null> } {
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => out, exited };
}

async function startServer(mode: Mode) {
  const profileDir = process.env.TRACELOOM_BENCH_PROFILE;
  const args = ['--import', 'tsx'];
  if (mode === 'traceloom' && profileDir !== undefined && profileDir !== '') {
    args.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const child = spawn(process.execPath, [...args, join(here, 'http-overhead-server.ts'), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const io = collect(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /READY (\d+)/.exec(io.out());
    if (m !== null) return { child, io, port: Number(m[1]) };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${mode} server did not start: ${io.out()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runLoad(port: number): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'http-overhead-load.ts'),
      String(port),
      String(DURATION_MS),
      String(WARMUP_MS),
      String(CONNECTIONS),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const io = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), DURATION_MS + WARMUP_MS + 60_000);
  const code = await io.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(io.out().trim().split('\n').pop() as string) as LoadResult;
}

/** One configuration, one measurement: requests per second. */
async function measure(mode: Mode): Promise<number> {
  const server = await startServer(mode);
  try {
    const load = await runLoad(server.port);
    if (load.errors > 0) throw new Error(`${mode}: ${load.errors} failed requests`);
    server.child.kill('SIGTERM');
    await Promise.race([server.io.exited, new Promise((r) => setTimeout(r, 10_000))]);
    const seen = JSON.parse(server.io.out().trim().split('\n').pop() as string) as {
      requests: number;
      spans: number;
    };
    if (seen.requests < load.requests) {
      throw new Error(`${mode}: server saw ${seen.requests} requests, load counted ${load.requests}`);
    }
    // A traced server must have exported a span for (nearly) every request; a few may be
    // dropped by a full queue, but a configuration that traces nothing would measure nothing.
    if (mode !== 'none' && seen.spans < seen.requests * 0.9) {
      throw new Error(`${mode}: exporter saw ${seen.spans} spans for ${seen.requests} requests`);
    }
    return load.requests / load.seconds;
  } finally {
    server.child.kill('SIGKILL');
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Runs the benchmark and prints its JSON lines. */
export default async function run(): Promise<void> {
  const rates: Record<Mode, number[]> = { none: [], traceloom: [], official: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no configuration always runs first (on a cooler or quieter machine).
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(i + round) % MODES.length] as Mode;
      const rate = await measure(mode);
      rates[mode].push(rate);
      process.stderr.write(`http-overhead: round ${round + 1} ${mode} ${Math.round(rate)} req/s\n`);
    }
  }
  const none = median(rates.none);
  const ours = median(rates.traceloom);
  const official = median(rates.official);
  const oursLoss = 100 * (1 - ours / none);
  const theirsLoss = 100 * (1 - official / none);
  const lines = [
    {
      bench: 'http-overhead',
      metric: 'rps_loss_pct',
      value: round1(oursLoss),
      unit: '%',
      baseline: BASELINE,
      baseline_value: round1(theirsLoss),
      ratio: Math.round((theirsLoss / oursLoss) * 100) / 100,
    },
    {
      bench: 'http-overhead',
      metric: 'rps_uninstrumented',
      value: Math.round(none),
      unit: 'req/s',
      baseline: 'uninstrumented',
      baseline_value: Math.round(none),
      ratio: 1,
    },
    {
      bench: 'http-overhead',
      metric: 'rps_traceloom',
      value: Math.round(ours),
      unit: 'req/s',
      baseline: 'uninstrumented',
      baseline_value: Math.round(none),
      ratio: Math.round((ours / none) * 1000) / 1000,
    },
    {
      bench: 'http-overhead',
      metric: 'rps_official',
      value: Math.round(official),
      unit: 'req/s',
      baseline: 'uninstrumented',
      baseline_value: Math.round(none),
      ratio: Math.round((official / none) * 1000) / 1000,
    },
  ];
  for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
}
