/**
 * Receiver throughput: spans per second that Traceloom's OTLP/HTTP receiver
 * accepts, against the ceiling of the same machine: a bare `node:http` server
 * that reads and discards the same bodies. Two figures, each with that ceiling:
 *
 * - `otlp_http_spans_per_s`: the receiver with a counting sink. For a protobuf
 *   body the receiver validates the whole message and counts its spans (and
 *   checks their ids) without decoding it, answers the client, and hands the
 *   sink a lazy batch: the spans are decoded when the pipeline first reads the
 *   batch. A counting sink never reads it, so this figure has no decoding in
 *   it: it is what the receiver itself costs.
 * - `otlp_http_decoded_spans_per_s`: the same with a sink that reads
 *   `batch.spans` before it resolves, so every body is also decoded into
 *   model objects before the client is answered (as the storage pipeline does
 *   today, which reads each batch as soon as it is written to the log).
 *
 * Each server runs in its own child process (bench/receive-server.ts) and the
 * load in another (bench/receive-load.ts): 512-span OTLP protobuf requests
 * made by the official SDK, 8 kept-alive connections, 2 s warm-up, then 8 s
 * measured; the servers are run twice each in rotating order and the better
 * round of each server is kept. Traffic goes only to 127.0.0.1 and every child
 * is bounded in time.
 *
 * Set TRACELOOM_BENCH_PROFILE=<dir> to run the Traceloom servers under
 * `node --cpu-prof` and write their profiles there.
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

type Mode = 'traceloom' | 'traceloom-decoded' | 'bare';

async function measure(mode: Mode): Promise<number> {
  const server = await startBenchServer('receive-server.ts', mode, mode !== 'bare');
  try {
    const load = await runLoad(server.port);
    if (load.errors > 0) throw new Error(`${mode}: ${load.errors} failed requests`);
    server.child.kill('SIGTERM');
    await Promise.race([server.io.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (mode !== 'bare') {
      const seen = JSON.parse(server.io.out().trim().split('\n').pop() as string) as { spans: number };
      // Every request the load generator counted must have reached the sink (more may have, during warm-up).
      if (seen.spans < load.spans) throw new Error(`${mode}: sink saw ${seen.spans} spans, load counted ${load.spans}`);
    }
    return load.spans / load.seconds;
  } finally {
    server.child.kill('SIGKILL');
  }
}

/** Runs the benchmark and prints its JSON lines. */
export default async function run(): Promise<void> {
  const best: Record<Mode, number> = { traceloom: 0, 'traceloom-decoded': 0, bare: 0 };
  const modes: Mode[] = ['bare', 'traceloom', 'traceloom-decoded'];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no server always runs on a warmer (or noisier) machine.
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(k + round) % modes.length] as Mode;
      best[mode] = Math.max(best[mode], await measure(mode));
    }
  }
  const ceiling = best.bare;
  const figure = (metric: string, value: number) => ({
    bench: 'receive',
    metric,
    value: Math.round(value),
    unit: 'spans/s',
    baseline: 'bare node:http read-and-discard',
    baseline_value: Math.round(ceiling),
    ratio: Math.round((value / ceiling) * 1000) / 1000,
  });
  process.stdout.write(`${JSON.stringify(figure('otlp_http_spans_per_s', best.traceloom))}\n`);
  process.stdout.write(`${JSON.stringify(figure('otlp_http_decoded_spans_per_s', best['traceloom-decoded']))}\n`);
}
