/**
 * HTTP server overhead of tracing: requests per second of a hello-world
 * `node:http` server with no tracing, with Traceloom (our `TracerProvider`,
 * `BatchSpanProcessor` with an exporter that does nothing, and
 * `enableHttpInstrumentation()`: every request makes a sampled server span),
 * and with the official OpenTelemetry SDK (`NodeTracerProvider`, its
 * `BatchSpanProcessor` with an exporter that does nothing, and
 * `@opentelemetry/instrumentation-http`). A fourth configuration has no
 * tracer at all, only a subscriber that enters an AsyncLocalStorage store per
 * request: on Node 20 that alone makes every async resource run a hook, so
 * its loss is the floor under any tracer that propagates context this way
 * (ours and the official one both do).
 *
 * Each server runs in its own child process (bench/http-overhead-server.ts)
 * and the load in another (bench/http-overhead-load.ts): `GET /` over 32
 * kept-alive raw-socket connections, one request in flight on each, 3 s
 * warm-up, then 8 s measured. The configurations are run in rotating
 * order for five rounds and the median of each is kept (on a 2-vCPU VM
 * the same configuration varied by 30% from round to round). Traffic
 * goes only to 127.0.0.1 and every child is bounded in time.
 *
 * Prints `rps_loss_pct` (ours, against the official SDK's loss),
 * `rps_loss_pct_async_local_storage_only` (the floor; its ratio is the share
 * of our loss it accounts for), the raw `rps_*` figures, and the server's CPU time per request (read from /proc
 * over the measured window; Linux only, left out elsewhere): the µs each
 * tracer adds, and the uninstrumented server's own. On two cores the load
 * generator, the server and the kernel's loopback work share the machine, so
 * requests/s fall by more than the added server CPU alone would explain.
 *
 * Set TRACELOOM_BENCH_PROFILE=<dir> to run the Traceloom server under
 * `node --cpu-prof` and write its profiles there.
 *
 * Set TRACELOOM_BENCH_SERVER_NODE=<path of a node binary> to run the four
 * servers with another Node.js (the load generator keeps this one), for
 * instance Node 24, whose AsyncLocalStorage keeps context in V8's
 * continuation data (AsyncContextFrame) instead of running a hook per async
 * resource. Every line then names the servers' version in `server_node`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, startBenchServer } from './internal/child.ts';
import { median } from './internal/measure.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_MS = 8000;
const WARMUP_MS = 3000;
const CONNECTIONS = 32;
const ROUNDS = 5;
/** `getconf CLK_TCK` on Linux. */
const CLOCK_TICKS = 100;

/** The Node.js binary the servers run with, and its version. */
const SERVER_NODE = process.env.TRACELOOM_BENCH_SERVER_NODE || process.execPath;
const SERVER_NODE_VERSION =
  SERVER_NODE === process.execPath
    ? process.version
    : execFileSync(SERVER_NODE, ['--version'], { encoding: 'utf8' }).trim();

type Mode = 'none' | 'traceloom' | 'official' | 'als';
const MODES: readonly Mode[] = ['none', 'traceloom', 'official', 'als'];
const BASELINE = '@opentelemetry/instrumentation-http + NodeTracerProvider + BatchSpanProcessor';

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  cpuSeconds: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN where there is no /proc. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

async function runLoad(
  port: number,
  serverPid: number | undefined,
): Promise<LoadResult & { serverCpuSeconds: number }> {
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
  let serverCpuAtStart = Number.NaN;
  let serverCpuSeconds = Number.NaN;
  let pending = '';
  child.stdout?.on('data', (c: Buffer) => {
    pending += c.toString();
    if (Number.isNaN(serverCpuAtStart) && pending.includes('MEASURING\n')) {
      serverCpuAtStart = processCpuSeconds(serverPid);
    }
    if (Number.isNaN(serverCpuSeconds) && pending.includes('MEASURED\n')) {
      serverCpuSeconds = processCpuSeconds(serverPid) - serverCpuAtStart;
    }
  });
  const io = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), DURATION_MS + WARMUP_MS + 60_000);
  const code = await io.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(io.out().trim().split('\n').pop() as string) as LoadResult;
  return { ...result, serverCpuSeconds };
}

interface Measurement {
  /** Requests per second over the measured window. */
  rps: number;
  /** Server CPU time (user + system) per request, in µs. */
  serverCpuUs: number;
  /** Load generator CPU time per request, in µs. */
  loadCpuUs: number;
}

/** One configuration, one measurement. */
async function measure(mode: Mode): Promise<Measurement> {
  const server = await startBenchServer('http-overhead-server.ts', mode, mode === 'traceloom', SERVER_NODE);
  try {
    const load = await runLoad(server.port, server.child.pid);
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
    if ((mode === 'traceloom' || mode === 'official') && seen.spans < seen.requests * 0.9) {
      throw new Error(`${mode}: exporter saw ${seen.spans} spans for ${seen.requests} requests`);
    }
    return {
      rps: load.requests / load.seconds,
      serverCpuUs: (load.serverCpuSeconds / load.requests) * 1e6,
      loadCpuUs: (load.cpuSeconds / load.requests) * 1e6,
    };
  } finally {
    server.child.kill('SIGKILL');
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Runs the benchmark and prints its JSON lines. */
export default async function run(): Promise<void> {
  const runs: Record<Mode, Measurement[]> = { none: [], traceloom: [], official: [], als: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no configuration always runs first (on a cooler or quieter machine).
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(i + round) % MODES.length] as Mode;
      const m = await measure(mode);
      runs[mode].push(m);
      process.stderr.write(
        `http-overhead: round ${round + 1} ${mode} ${Math.round(m.rps)} req/s, ` +
          `server ${m.serverCpuUs.toFixed(1)} µs CPU/req, load ${m.loadCpuUs.toFixed(1)} µs CPU/req\n`,
      );
    }
  }
  const rps = (mode: Mode) => median(runs[mode].map((m) => m.rps));
  const cpu = (mode: Mode) => median(runs[mode].map((m) => m.serverCpuUs));
  const none = rps('none');
  const ours = rps('traceloom');
  const official = rps('official');
  const oursLoss = 100 * (1 - ours / none);
  const theirsLoss = 100 * (1 - official / none);
  const lines: object[] = [
    {
      bench: 'http-overhead',
      metric: 'rps_loss_pct',
      value: round1(oursLoss),
      unit: '%',
      baseline: BASELINE,
      baseline_value: round1(theirsLoss),
      ratio: Math.round((theirsLoss / oursLoss) * 100) / 100,
    },
  ];
  // The floor: what entering an AsyncLocalStorage store per request costs by itself.
  const alsLoss = 100 * (1 - rps('als') / none);
  lines.push({
    bench: 'http-overhead',
    metric: 'rps_loss_pct_async_local_storage_only',
    value: round1(alsLoss),
    unit: '%',
    baseline: 'uninstrumented',
    baseline_value: 0,
    ratio: Math.round((alsLoss / oursLoss) * 100) / 100,
  });
  const raw: [string, number][] = [
    ['rps_uninstrumented', none],
    ['rps_traceloom', ours],
    ['rps_official', official],
    ['rps_async_local_storage_only', rps('als')],
  ];
  for (const [metric, value] of raw) {
    lines.push({
      bench: 'http-overhead',
      metric,
      value: Math.round(value),
      unit: 'req/s',
      baseline: 'uninstrumented',
      baseline_value: Math.round(none),
      ratio: Math.round((value / none) * 1000) / 1000,
    });
  }
  // Server CPU per request, an aid to reading the figures above: with the load generator on
  // the other core, added server CPU shows up as lost requests/s only in part.
  const cpuNone = cpu('none');
  const cpuOurs = cpu('traceloom');
  const cpuOfficial = cpu('official');
  if (Number.isFinite(cpuNone) && Number.isFinite(cpuOurs) && Number.isFinite(cpuOfficial)) {
    lines.push({
      bench: 'http-overhead',
      metric: 'server_cpu_added_us_per_request',
      value: round1(cpuOurs - cpuNone),
      unit: 'µs',
      baseline: BASELINE,
      baseline_value: round1(cpuOfficial - cpuNone),
      ratio: Math.round(((cpuOfficial - cpuNone) / (cpuOurs - cpuNone)) * 100) / 100,
    });
    lines.push({
      bench: 'http-overhead',
      metric: 'server_cpu_us_per_request_uninstrumented',
      value: round1(cpuNone),
      unit: 'µs',
      baseline: 'uninstrumented',
      baseline_value: round1(cpuNone),
      ratio: 1,
    });
  }
  for (const line of lines) process.stdout.write(`${JSON.stringify({ ...line, server_node: SERVER_NODE_VERSION })}\n`);
}
