/**
 * The SDK as an application uses it: spans made through the OpenTelemetry API
 * on our provider, batched by our BatchSpanProcessor, posted by our OTLP/HTTP
 * exporter to Traceloom's own OTLP/HTTP receiver (a real collector), and
 * compared with what the processor was handed.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getAttribute, type Span, spanDiff } from '@traceloom/model';
import { startReceivers } from '../../../server/src/receivers/index.ts';
import { RecordingSink } from '../../../server/src/receivers/sink.ts';
import { BatchSpanProcessor } from '../export/batch-span-processor.ts';
import { OtlpHttpExporter } from '../export/otlp-http-exporter.ts';
import { TracerProvider } from './tracer-provider.ts';
import type { SpanProcessor } from './types.ts';

const sink = new RecordingSink();
let receivers: Awaited<ReturnType<typeof startReceivers>>;

before(async () => {
  receivers = await startReceivers(sink, {
    otlpHttp: { host: '127.0.0.1', port: 0 },
    otlpGrpc: false,
    zipkin: false,
    jaeger: false,
  });
});

after(async () => {
  trace.disable();
  context.disable();
  await receivers.close();
});

it('spans made through the API arrive at a real OTLP receiver unchanged', async () => {
  const handed: Span[] = [];
  const witness: SpanProcessor = {
    onStart() {},
    onEnd: (s) => handed.push(s),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const exporter = new OtlpHttpExporter({ url: `http://127.0.0.1:${receivers.ports.otlpHttp}/v1/traces`, env: {} });
  const provider = new TracerProvider({
    serviceName: 'e2e',
    spanProcessors: [witness, new BatchSpanProcessor(exporter, { flushOnExit: false, env: {} })],
    env: {},
  }).register();
  const tracer = trace.getTracer('e2e-lib', '0.0.1');
  await tracer.startActiveSpan('GET /orders', { kind: SpanKind.SERVER }, async (server) => {
    server.setAttributes({ 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.25 });
    await new Promise((resolve) => setTimeout(resolve, 2));
    const db = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } });
    db.addEvent('rows', { count: 3 });
    db.recordException(new Error('deadlock'));
    db.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' });
    db.end();
    server.end();
  });
  await provider.forceFlush();
  const received = sink.spans;
  assert.equal(received.length, 2);
  assert.equal(handed.length, 2);
  for (const sent of handed) {
    const got = received.find((r) => r.spanId === sent.spanId);
    assert.ok(got !== undefined, `span ${sent.name} arrived`);
    assert.equal(spanDiff(sent, got), undefined);
  }
  const server = received.find((r) => r.name === 'GET /orders');
  assert.equal(getAttribute(server?.resource.attributes ?? [], 'service.name'), 'e2e');
  assert.equal(server?.scope.name, 'e2e-lib');
  await provider.shutdown();
});
