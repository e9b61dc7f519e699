/**
 * Child of bench/sdk.ts (run with `node --expose-gc --import tsx`): prints the
 * heap bytes per finished span held in a processor's queue, for `ours` or
 * `theirs` (argv[2]). Spans carry the same 10 attributes as the timing bench;
 * nothing is exported while they are counted.
 */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { TracerProvider } from '../packages/sdk/src/trace/tracer-provider.ts';
import type { FinishedSpan } from '../packages/sdk/src/trace/types.ts';
import { noopExporter } from './sdk.ts';

const N = 20_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function make(tracer: Tracer, n: number): void {
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan('POST /api/checkout', { kind: SpanKind.SERVER });
    span.setAttribute('http.request.method', 'POST');
    span.setAttribute('http.route', '/api/checkout');
    span.setAttribute('url.path', `/api/checkout/${i}`);
    span.setAttribute('url.scheme', 'https');
    span.setAttribute('http.response.status_code', 200);
    span.setAttribute('server.address', 'checkout.shop.svc.cluster.local');
    span.setAttribute('server.port', 8080);
    span.setAttribute('client.address', '10.0.3.17');
    span.setAttribute('http.request.body.size', 100_000 + i);
    span.setAttribute('network.protocol.version', '1.1');
    span.end();
  }
}

const side = process.argv[2];
let tracer: Tracer;
let keep: unknown;
if (side === 'ours') {
  const queue: FinishedSpan[] = [];
  keep = queue;
  tracer = new TracerProvider({
    serviceName: 'bench',
    spanProcessors: [
      {
        onStart() {},
        onEnd(span) {
          queue.push(span);
        },
        async forceFlush() {},
        async shutdown() {},
      },
    ],
  }).getTracer('bench', '1.0.0');
} else {
  const bsp = new BatchSpanProcessor(noopExporter, {
    maxQueueSize: N * 2 + 10,
    maxExportBatchSize: N * 2 + 10,
    scheduledDelayMillis: 3_600_000,
  });
  keep = bsp;
  tracer = new BasicTracerProvider({ spanProcessors: [bsp] }).getTracer('bench', '1.0.0');
}
// Warm up: JIT, shared caches (interned keys, small ints) and lazily made tables are not per-span costs.
make(tracer, N);
gc();
gc();
const before = process.memoryUsage().heapUsed;
make(tracer, N);
gc();
gc();
const after = process.memoryUsage().heapUsed;
if (keep === undefined) throw new Error('unreachable');
console.log(String(Math.round((after - before) / N)));
process.exit(0);
