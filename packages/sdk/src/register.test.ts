import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getAttribute, SpanKind } from '@traceloom/model';
import { startReceivers } from '../../server/src/receivers/index.ts';
import { RecordingSink } from '../../server/src/receivers/sink.ts';

const here = dirname(fileURLToPath(import.meta.url));

// dist/register.js is built by `npm run build:sdk`, which `npm test` runs first (pretest).
test('node --import @traceloom/sdk/register traces an unmodified app and exports to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
  const sink = new RecordingSink();
  const receivers = await startReceivers(sink, {
    otlpHttp: { host: '127.0.0.1', port: 0 },
    otlpGrpc: false,
    zipkin: false,
    jaeger: false,
  });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', '@traceloom/sdk/register', join(here, 'fixtures', 'register-app.mjs')],
        {
          env: {
            ...process.env,
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receivers.ports.otlpHttp}`,
            OTEL_SERVICE_NAME: 'register-app',
            OTEL_BSP_SCHEDULE_DELAY: '60000',
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      child.on('error', reject);
      child.on('exit', resolve);
    });
    assert.equal(code, 0);
    const spans = sink.spans;
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const client = spans.find((s) => s.kind === SpanKind.CLIENT);
    assert.ok(server, 'a server span arrived');
    assert.ok(client, 'a client span arrived');
    assert.equal(server.traceId, client.traceId, 'fetch propagated the trace');
    assert.equal(server.parentSpanId, client.spanId);
    assert.equal(getAttribute(server.resource.attributes, 'service.name'), 'register-app');
    assert.equal(getAttribute(server.resource.attributes, 'telemetry.sdk.name'), 'traceloom');
    assert.equal(getAttribute(server.attributes, 'url.path'), '/hello');
    assert.equal(getAttribute(server.attributes, 'http.response.status_code'), 200n);
    assert.equal(getAttribute(client.attributes, 'http.request.method'), 'GET');
  } finally {
    await receivers.close();
  }
});
