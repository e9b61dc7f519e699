/**
 * Child process of the `http-overhead` benchmark: a hello-world `node:http`
 * server on 127.0.0.1 and an ephemeral port, in one of three configurations:
 *
 * - `none`: no tracing at all;
 * - `traceloom`: our `TracerProvider` registered, our `BatchSpanProcessor`
 *   with an exporter that does nothing, and `enableHttpInstrumentation()`;
 * - `official`: `NodeTracerProvider` of `@opentelemetry/sdk-trace-node`
 *   registered with its `BatchSpanProcessor` and an exporter that does
 *   nothing, plus `HttpInstrumentation` of `@opentelemetry/instrumentation-http`;
 * - `als`: no tracer, only what every AsyncLocalStorage-based one does: a
 *   `http.server.request.start` subscriber that enters a store for the
 *   request (Node 20 then runs an async hook for every async resource the
 *   process creates). The floor of any tracer that keeps context this way.
 *
 * Tracing is set up before `node:http` is loaded (dynamic imports below), as
 * the official instrumentation needs. Prints `READY <port>` when listening; on
 * SIGTERM prints `{"requests":n,"spans":n}` (spans the exporter was handed)
 * and exits.
 */
import { createRequire } from 'node:module';

const mode = process.argv[2];
let exported = 0;
let flush: () => Promise<void> = async () => {};

if (mode === 'traceloom') {
  const { BatchSpanProcessor, TracerProvider, enableHttpInstrumentation } = await import(
    '../packages/sdk/src/index.ts'
  );
  const provider = new TracerProvider({
    serviceName: 'http-overhead',
    spanProcessors: [
      new BatchSpanProcessor({
        async export(spans) {
          exported += spans.length;
          return { code: 'success' };
        },
        async shutdown() {},
      }),
    ],
  });
  provider.register();
  enableHttpInstrumentation();
  flush = () => provider.forceFlush();
} else if (mode === 'official') {
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const provider = new NodeTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        export(spans, done) {
          exported += spans.length;
          done({ code: 0 });
        },
        async shutdown() {},
      }),
    ],
  });
  provider.register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  // The instrumentation patches `http` when it is first required (require-in-the-middle);
  // an ESM `import` of a builtin does not go through `require`, so trigger it here. The
  // builtin is one object, so the ESM import below sees the patched module.
  createRequire(import.meta.url)('node:http');
  flush = () => provider.forceFlush();
} else if (mode === 'als') {
  const diagnosticsChannel = (await import('node:diagnostics_channel')).default;
  const { AsyncLocalStorage } = await import('node:async_hooks');
  const storage = new AsyncLocalStorage<{ request: number }>();
  let n = 0;
  diagnosticsChannel.subscribe('http.server.request.start', () => storage.enterWith({ request: ++n }));
} else if (mode !== 'none') {
  console.error('usage: http-overhead-server.ts none|traceloom|official|als');
  process.exit(2);
}

const http = (await import('node:http')).default;
let requests = 0;
const server = http.createServer((_req, res) => {
  requests++;
  res.end('hello world');
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void flush().then(() => {
    process.stdout.write(`${JSON.stringify({ requests, spans: exported })}\n`);
    process.exit(0);
  });
});
process.stdout.write(`READY ${port}\n`);
// Bounded: never outlive a stuck parent.
setTimeout(() => process.exit(3), 120_000).unref();
