/**
 * Receiver throughput: spans per second that Traceloom's OTLP/HTTP receiver
 * accepts into a counting sink (decode, id checks, batch building included),
 * against the ceiling of the same machine: a bare `node:http` server that
 * reads and discards the same bodies.
 *
 * Each server runs in its own child process (bench/receive-server.ts) and the
 * load in another (bench/receive-load.ts): 512-span OTLP protobuf requests
 * made by the official SDK, 8 kept-alive connections, 2 s warm-up, then 8 s
 * measured; the pair is run twice in alternating order and the better round
 * of each server is kept. Traffic goes only to 127.0.0.1 and every child is
 * bounded in time.
 *
 * Set TRACELOOM_BENCH_PROFILE=<dir> to run the Traceloom server under
 * `node --cpu-prof` and write its profile there.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, startBenchServer } from './internal/child.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_MS = 8000;
const WARMUP_MS = 2000;
const CONNECTIONS = 8;
const ROUNDS = 2;

interface LoadResult {
  requests: number;
  spans: number;
  errors: number;
  seconds: number;
  bodyBytes: number;
}

async function runLoad(port: number): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'receive-load.ts'),
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

async function measure(mode: 'traceloom' | 'bare'): Promise<number> {
  const server = await startBenchServer('receive-server.ts', mode, mode === 'traceloom');
  try {
    const load = await runLoad(server.port);
    if (load.errors > 0) throw new Error(`${mode}: ${load.errors} failed requests`);
    server.child.kill('SIGTERM');
    await Promise.race([server.io.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (mode === 'traceloom') {
      const seen = JSON.parse(server.io.out().trim().split('\n').pop() as string) as { spans: number };
      // Every request the load generator counted must have reached the sink (more may have, during warm-up).
      if (seen.spans < load.spans) throw new Error(`sink saw ${seen.spans} spans, load counted ${load.spans}`);
    }
    return load.spans / load.seconds;
  } finally {
    server.child.kill('SIGKILL');
  }
}

/** Runs the benchmark and prints its JSON line. */
export default async function run(): Promise<void> {
  let ours = 0;
  let ceiling = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither server always runs on a warmer (or noisier) machine.
    const order: ('traceloom' | 'bare')[] = round % 2 === 0 ? ['bare', 'traceloom'] : ['traceloom', 'bare'];
    for (const mode of order) {
      const rate = await measure(mode);
      if (mode === 'traceloom') ours = Math.max(ours, rate);
      else ceiling = Math.max(ceiling, rate);
    }
  }
  const line = {
    bench: 'receive',
    metric: 'otlp_http_spans_per_s',
    value: Math.round(ours),
    unit: 'spans/s',
    baseline: 'bare node:http read-and-discard',
    baseline_value: Math.round(ceiling),
    ratio: Math.round((ours / ceiling) * 1000) / 1000,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
