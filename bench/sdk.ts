/**
 * SDK benchmark: the cost of a span in Traceloom's tracer against the
 * official OpenTelemetry JS SDK (`@opentelemetry/sdk-trace-base`), both driven
 * through their tracer objects in the same process and the same run.
 *
 * - `sampled_span_ns`: start + 10 attributes (semantic-convention keys, mixed
 *   string/int/bool values) + end, sampled. Each side runs its own
 *   `BatchSpanProcessor` (queue 2048, batches of 512) with an exporter that
 *   counts the spans and does nothing else. Between rounds both get a turn of
 *   the event loop to flush. Afterwards both queues are flushed and the bench
 *   fails unless each exporter got every span its tracer made: a processor
 *   that dropped spans would be timed doing less work.
 * - `unsampled_span_ns`: start + end with an always-off sampler.
 * - `queued_span_heap_bytes`: heap per finished span waiting in a queue,
 *   measured in a child process with `--expose-gc` (bench/sdk-heap.ts).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tracer as ApiTracer, SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  AlwaysOffSampler as OtelAlwaysOff,
  type SpanExporter as OtelExporter,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor as OurBatchSpanProcessor } from '../packages/sdk/src/export/batch-span-processor.ts';
import { AlwaysOffSampler } from '../packages/sdk/src/sampling/basic.ts';
import { TracerProvider } from '../packages/sdk/src/trace/tracer-provider.ts';
import type { SpanExporter } from '../packages/sdk/src/trace/types.ts';
import { median } from './internal/measure.ts';
import { measureOtlpEncode } from './sdk-encode.ts';

const SPANS_PER_ROUND = 512;
const WARMUP_ROUNDS = 60;
const ROUNDS = 60;
const BLOCK = 5;

/** Spans handed to each side's exporter. */
const exported = { ours: 0, theirs: 0 };

/** Our exporter that accepts everything, counts it and does nothing else (the counterpart of {@link noopExporter}). */
const noopSpanExporter: SpanExporter = {
  async export(spans) {
    exported.ours += spans.length;
    return { code: 'success' };
  },
  async shutdown() {},
};

/** An exporter that accepts everything, counts it and does nothing else. */
export const noopExporter: OtelExporter = {
  export(spans: ReadableSpan[], done) {
    exported.theirs += spans.length;
    done({ code: 0 });
  },
  async shutdown() {},
};

/** Start, 10 attributes, end: what an instrumented HTTP server span costs. */
function sampledRound(tracer: ApiTracer, i: number): void {
  const span = tracer.startSpan('POST /api/checkout', { kind: SpanKind.SERVER });
  span.setAttribute('http.request.method', 'POST');
  span.setAttribute('http.route', '/api/checkout');
  span.setAttribute('url.path', '/api/checkout');
  span.setAttribute('url.scheme', 'https');
  span.setAttribute('http.response.status_code', 200);
  span.setAttribute('server.address', 'checkout.shop.svc.cluster.local');
  span.setAttribute('server.port', 8080);
  span.setAttribute('client.address', '10.0.3.17');
  span.setAttribute('http.request.body.size', 1000 + i);
  span.setAttribute('network.protocol.version', '1.1');
  span.end();
}

function unsampledRound(tracer: ApiTracer): void {
  tracer.startSpan('GET /health').end();
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function timeRounds(fn: () => void, out: number[] | undefined, rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const dt = Number(process.hrtime.bigint() - t0);
    out?.push(dt / SPANS_PER_ROUND);
    await tick();
  }
}

async function compare(ours: () => void, theirs: () => void): Promise<[number, number]> {
  await timeRounds(ours, undefined, WARMUP_ROUNDS);
  await timeRounds(theirs, undefined, WARMUP_ROUNDS);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS / BLOCK; i++) {
    await timeRounds(ours, a, BLOCK);
    await timeRounds(theirs, b, BLOCK);
  }
  return [median(a), median(b)];
}

function line(metric: string, unit: string, [ours, theirs]: [number, number], baseline: string): void {
  const round = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'sdk',
      metric,
      value: round(ours),
      unit,
      baseline,
      baseline_value: round(theirs),
      ratio: Math.round((theirs / ours) * 100) / 100,
    }),
  );
}

function heap(side: 'ours' | 'theirs'): number {
  const here = dirname(fileURLToPath(import.meta.url));
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'sdk-heap.ts'), side], {
    encoding: 'utf8',
    cwd: join(here, '..'),
  });
  const value = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isFinite(value)) throw new Error(`sdk-heap ${side} failed: ${r.stderr}`);
  return value;
}

/** Runs the SDK benchmark and prints one JSON line per figure. */
export default async function run(): Promise<void> {
  // Both sides: their batch processor with a no-op exporter, same queue and batch sizes.
  const queue = new OurBatchSpanProcessor(noopSpanExporter, {
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    flushOnExit: false,
  });
  const ours = new TracerProvider({ serviceName: 'bench', spanProcessors: [queue] }).getTracer('bench', '1.0.0');
  const theirQueue = new BatchSpanProcessor(noopExporter, { maxQueueSize: 2048, maxExportBatchSize: 512 });
  const theirs = new BasicTracerProvider({ spanProcessors: [theirQueue] }).getTracer('bench', '1.0.0');
  let i = 0;
  const made = { ours: 0, theirs: 0 };
  const sampled = (tracer: ApiTracer, side: 'ours' | 'theirs') => () => {
    for (let k = 0; k < SPANS_PER_ROUND; k++) sampledRound(tracer, i++);
    made[side] += SPANS_PER_ROUND;
  };
  const figures = await compare(sampled(ours, 'ours'), sampled(theirs, 'theirs'));
  await Promise.all([queue.forceFlush(), theirQueue.forceFlush()]);
  for (const side of ['ours', 'theirs'] as const) {
    if (exported[side] !== made[side]) {
      throw new Error(`sdk: ${side} exported ${exported[side]} of the ${made[side]} sampled spans made`);
    }
  }
  line('sampled_span_ns', 'ns', figures, '@opentelemetry/sdk-trace-base BasicTracerProvider + BatchSpanProcessor');

  const oursOff = new TracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [queue] }).getTracer('b');
  const theirsOff = new BasicTracerProvider({
    sampler: new OtelAlwaysOff(),
    spanProcessors: [new BatchSpanProcessor(noopExporter)],
  }).getTracer('b');
  const unsampled = (tracer: ApiTracer) => () => {
    for (let k = 0; k < SPANS_PER_ROUND; k++) unsampledRound(tracer);
  };
  line(
    'unsampled_span_ns',
    'ns',
    await compare(unsampled(oursOff), unsampled(theirsOff)),
    '@opentelemetry/sdk-trace-base BasicTracerProvider, AlwaysOffSampler',
  );

  line(
    'queued_span_heap_bytes',
    'bytes',
    [heap('ours'), heap('theirs')],
    '@opentelemetry/sdk-trace-base BasicTracerProvider + BatchSpanProcessor',
  );

  const encode = await measureOtlpEncode();
  line(
    'otlp_encode_ns_per_span',
    'ns',
    [encode.ours, encode.theirs],
    '@opentelemetry/otlp-transformer ProtobufTraceSerializer on spans fresh from the official SDK',
  );
  line(
    'otlp_encode_ns_per_span_aged_baseline',
    'ns',
    [encode.ours, encode.theirsAged],
    '@opentelemetry/otlp-transformer ProtobufTraceSerializer on the same long-lived spans every round',
  );
  await queue.shutdown();
}
