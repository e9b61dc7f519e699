/**
 * Helper of the `ui-large-trace` benchmark: one very large trace from the
 * demo's seeded load generator, a real
 * `traceloom` server in a child process, and loading the trace into it over
 * OTLP/HTTP protobuf. Same seed and size: the same tree, names and
 * attributes; only the start time follows the clock, so the trace stays
 * inside the server's retention.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Span } from '@traceloom/model';
import { encodeOtlpTraces } from '@traceloom/wire';
import { generateLargeTrace as generateDemoLargeTrace } from '../packages/demo/src/loadgen/generator.ts';
import { type CliProcess, runCli, waitForOutput } from '../packages/server/src/cli/fixtures/cli-process.ts';

/**
 * One trace of exactly `spans` spans from the load generator of `packages/demo`
 * (`generateLargeTrace`: seeded, the shop's services, a deep fan-out), starting
 * `agoMs` before now so that it stays inside the server's retention. Same seed
 * and size: the same tree, names and attributes.
 */
export function generateLargeTrace(spans: number, seed = 1, agoMs = 60_000): Span[] {
  return generateDemoLargeTrace({ spans, seed, startUnixNano: BigInt(Date.now() - agoMs) * 1_000_000n });
}

/** A `traceloom` server in a child process, on free ports, with its own data folder. */
export interface BenchServer {
  readonly api: string;
  readonly otlpUrl: string;
  readonly process: CliProcess;
  stop(): Promise<void>;
}

/** Starts `traceloom start` with only OTLP/HTTP and the API on free ports. */
export async function startServer(): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tl-ui-bench-'));
  const p = runCli(['start', '--host', '127.0.0.1', '--otlp-http-port', '0', '--log-interval', '0'], {
    TRACELOOM_DATA_DIR: dataDir,
    TRACELOOM_API_PORT: '0',
    TRACELOOM_OTLP_GRPC_PORT: 'off',
    TRACELOOM_ZIPKIN_PORT: 'off',
    TRACELOOM_JAEGER_PORT: 'off',
    TRACELOOM_MEMORY_LIMIT: '512MiB',
  });
  const otlp = await waitForOutput(p, p.out, /OTLP\/HTTP {2}(http:\/\/127\.0\.0\.1:\d+\/v1\/traces)/);
  const api = await waitForOutput(p, p.out, /Query API:\n {2}(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/services/);
  return {
    api: api[1] as string,
    otlpUrl: otlp[1] as string,
    process: p,
    async stop() {
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await p.exited;
      clearTimeout(timer);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Posts `spans` in OTLP protobuf batches of 2,000, then waits until the whole trace can be read back. */
export async function loadTrace(server: BenchServer, spans: readonly Span[]): Promise<void> {
  for (let i = 0; i < spans.length; i += 2000) {
    const body = encodeOtlpTraces(spans.slice(i, i + 2000));
    for (;;) {
      const res = await fetch(server.otlpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body,
      });
      await res.arrayBuffer();
      if (res.status === 200) break;
      if (res.status !== 429 && res.status !== 503) throw new Error(`OTLP post answered ${res.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const traceId = (spans[0] as Span).traceId;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const res = await fetch(`${server.api}/api/v1/summaries?traceId=${traceId}`);
    if (res.status === 200) {
      const body = (await res.json()) as { traces: { spanCount: number }[] };
      if (body.traces[0]?.spanCount === spans.length) return;
    } else await res.arrayBuffer();
    if (Date.now() > deadline) throw new Error(`trace ${traceId} did not reach ${spans.length} spans`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
