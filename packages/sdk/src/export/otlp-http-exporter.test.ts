import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { spanDiff } from '@traceloom/model';
import { decodeOtlpTraces, encodeRpcStatus } from '@traceloom/wire';
import { type RunningReceivers, startReceivers } from '../../../server/src/receivers/index.ts';
import { RecordingSink } from '../../../server/src/receivers/sink.ts';
import { isTracingSuppressed } from '../context/suppress.ts';
import { answer, captureDiag, type ScriptedServer, scriptedServer } from './fixtures/harness.ts';
import { makeSpan, makeSpans } from './fixtures/spans.ts';
import { OtlpHttpExporter, type OtlpHttpExporterOptions, parseRetryAfter } from './otlp-http-exporter.ts';

/** Records the waits the exporter asks for instead of waiting. */
function recordingSleep(): { readonly delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
}

function exporterFor(url: string, options: OtlpHttpExporterOptions = {}): OtlpHttpExporter {
  return new OtlpHttpExporter({ url, env: {}, ...options });
}

describe('OtlpHttpExporter against the Traceloom OTLP/HTTP receiver', () => {
  let sink: RecordingSink;
  let receivers: RunningReceivers;
  let url: string;

  beforeEach(async () => {
    sink = new RecordingSink();
    receivers = await startReceivers(sink, {
      otlpHttp: { host: '127.0.0.1', port: 0 },
      otlpGrpc: false,
      zipkin: false,
      jaeger: false,
    });
    url = `http://127.0.0.1:${receivers.ports.otlpHttp}/v1/traces`;
  });
  afterEach(async () => {
    await receivers.close();
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`delivers every field intact (compression ${compression})`, async () => {
      const spans = makeSpans(40);
      const exporter = exporterFor(url, { compression });
      const result = await exporter.export(spans);
      await exporter.shutdown();
      assert.deepEqual(result, { code: 'success' });
      const received = sink.spans;
      assert.equal(received.length, spans.length);
      const byId = new Map(received.map((s) => [s.spanId, s]));
      for (const sent of spans) {
        const got = byId.get(sent.spanId);
        assert.ok(got, `span ${sent.spanId} arrived`);
        assert.equal(spanDiff(sent, got), undefined, `span ${sent.spanId}`);
      }
    });
  }

  it('takes its endpoint from OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const exporter = new OtlpHttpExporter({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receivers.ports.otlpHttp}` },
    });
    const result = await exporter.export(makeSpans(3));
    await exporter.shutdown();
    assert.equal(result.code, 'success');
    assert.equal(sink.spans.length, 3);
  });

  it('logs a partial success once per distinct message, and still reports success', async () => {
    const logged = captureDiag();
    try {
      const exporter = exporterFor(url);
      // An all-zero trace id is invalid: the receiver rejects that span and
      // reports it in partial_success.
      const bad = makeSpan(1, { traceId: '0'.repeat(32) });
      const r1 = await exporter.export([makeSpan(0), bad]);
      // Same defect in the same place: the same message, not logged again.
      const r2 = await exporter.export([makeSpan(2), makeSpan(3, { traceId: '0'.repeat(32), name: bad.name })]);
      await exporter.shutdown();
      assert.equal(r1.code, 'success');
      assert.equal(r2.code, 'success');
      const partial = logged.messages.filter((m) => m.includes('partially succeeded'));
      assert.equal(partial.length, 1, logged.messages.join('\n'));
      assert.match(partial[0] as string, /rejected 1 of 2 spans/);
    } finally {
      logged.restore();
    }
  });
});

describe('OtlpHttpExporter retries', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('retries a 503, then succeeds, waiting a jittered backoff', async () => {
    server = await scriptedServer([answer(503), answer(200)]);
    const waits = recordingSleep();
    const exporter = exporterFor(server.url, { sleep: waits.sleep, random: () => 0.5 });
    const result = await exporter.export(makeSpans(2));
    await exporter.shutdown();
    assert.deepEqual(result, { code: 'success' });
    assert.equal(server.requests.length, 2);
    assert.deepEqual(server.requests[0]?.body, server.requests[1]?.body);
    // Full jitter: half of the first bound (1000 ms).
    assert.deepEqual(waits.delays, [500]);
  });

  it('honours Retry-After in seconds on a 429', async () => {
    server = await scriptedServer([answer(429, { 'retry-after': '1' }), answer(200)]);
    const waits = recordingSleep();
    const exporter = exporterFor(server.url, { sleep: waits.sleep });
    const result = await exporter.export(makeSpans(1));
    await exporter.shutdown();
    assert.equal(result.code, 'success');
    assert.deepEqual(waits.delays, [1000]);
  });

  it('reads Retry-After as an HTTP date', () => {
    const now = Date.parse('2026-01-15T12:00:00Z');
    assert.equal(parseRetryAfter('Thu, 15 Jan 2026 12:00:07 GMT', now), 7000);
    assert.equal(parseRetryAfter('Thu, 15 Jan 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('never retries a 400 and reports the server message', async () => {
    const status = encodeRpcStatus({ code: 3, message: 'trace id is 15 bytes' });
    server = await scriptedServer([answer(400, {}, status), answer(200)]);
    const waits = recordingSleep();
    const exporter = exporterFor(server.url, { sleep: waits.sleep });
    const result = await exporter.export(makeSpans(1));
    await exporter.shutdown();
    assert.equal(result.code, 'failure');
    assert.match(result.code === 'failure' ? result.error.message : '', /HTTP 400: trace id is 15 bytes/);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(waits.delays, []);
  });

  it('does not retry other statuses (401, 500)', async () => {
    for (const status of [401, 500]) {
      server = await scriptedServer([answer(status), answer(200)]);
      const exporter = exporterFor(server.url, { sleep: recordingSleep().sleep });
      const result = await exporter.export(makeSpans(1));
      await exporter.shutdown();
      assert.equal(result.code, 'failure', `status ${status}`);
      assert.equal(server.requests.length, 1);
      await server.close();
      server = undefined;
    }
  });

  it('retries a disconnect in the middle of the response', async () => {
    server = await scriptedServer([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 100 });
        res.write(Buffer.alloc(10));
        setImmediate(() => res.socket?.destroy());
      },
      answer(200),
    ]);
    const waits = recordingSleep();
    const exporter = exporterFor(server.url, { sleep: waits.sleep });
    const result = await exporter.export(makeSpans(1));
    await exporter.shutdown();
    assert.equal(result.code, 'success');
    assert.equal(server.requests.length, 2);
    assert.equal(waits.delays.length, 1);
  });

  it('retries a refused connection, then gives up with a retryable result', async () => {
    server = await scriptedServer([answer(200)]);
    const url = server.url;
    await server.close();
    server = undefined;
    const waits = recordingSleep();
    const exporter = exporterFor(url, { sleep: waits.sleep, retry: { maxAttempts: 3 } });
    const result = await exporter.export(makeSpans(1));
    await exporter.shutdown();
    assert.equal(result.code, 'retryable');
    assert.equal(waits.delays.length, 2);
  });

  it('stops after maxAttempts with a retryable result, backoffs within their growing bounds', async () => {
    server = await scriptedServer([answer(503)]);
    const waits = recordingSleep();
    const exporter = exporterFor(server.url, {
      sleep: waits.sleep,
      random: () => 0.999,
      retry: { maxAttempts: 5, initialBackoffMillis: 100, maxBackoffMillis: 300, backoffMultiplier: 2 },
    });
    const result = await exporter.export(makeSpans(1));
    await exporter.shutdown();
    assert.equal(result.code, 'retryable');
    assert.equal(server.requests.length, 5);
    assert.deepEqual(waits.delays, [99, 199, 299, 299]);
  });

  it('aborts a request the server never answers at the timeout', async () => {
    server = await scriptedServer([() => {}]);
    const waits = recordingSleep();
    const exporter = exporterFor(server.url, { sleep: waits.sleep, timeoutMillis: 100 });
    const result = await exporter.export(makeSpans(1));
    await exporter.shutdown();
    assert.equal(result.code, 'retryable');
    assert.match(result.code === 'retryable' ? result.error.message : '', /timed out after 100 ms/);
    assert.equal(server.requests.length, 1);
    // The whole export shares the timeout: no retry starts after it ran out.
    assert.deepEqual(waits.delays, []);
  });

  it('sends protobuf, gzip when asked, and the configured headers', async () => {
    server = await scriptedServer([answer(200)]);
    const exporter = new OtlpHttpExporter({
      compression: 'gzip',
      headers: { 'X-Scope-OrgID': 'tenant-1' },
      env: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: server.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-scope-orgid=from-env',
      },
    });
    const spans = makeSpans(5);
    const result = await exporter.export(spans);
    await exporter.shutdown();
    assert.equal(result.code, 'success');
    const seen = server.requests[0];
    assert.ok(seen);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/v1/traces');
    assert.equal(seen.headers['content-type'], 'application/x-protobuf');
    assert.equal(seen.headers['content-encoding'], 'gzip');
    assert.equal(seen.headers.authorization, 'Bearer abc');
    assert.equal(seen.headers['x-scope-orgid'], 'tenant-1');
    const decoded = decodeOtlpTraces(seen.body);
    assert.equal(decoded.length, 5);
    for (let i = 0; i < 5; i++) assert.equal(spanDiff(spans[i]!, decoded[i]!), undefined);
  });

  it('fails at once after shutdown, and exports nothing for an empty batch', async () => {
    server = await scriptedServer([answer(200)]);
    const exporter = exporterFor(server.url);
    assert.deepEqual(await exporter.export([]), { code: 'success' });
    await exporter.shutdown();
    const result = await exporter.export(makeSpans(1));
    assert.equal(result.code, 'failure');
    assert.equal(server.requests.length, 0);
  });
});

describe('OtlpHttpExporter keep-alive', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await scriptedServer([answer(200)]);
  });
  after(async () => {
    await server.close();
  });

  it('reuses one connection for consecutive exports', async () => {
    const exporter = exporterFor(server.url);
    for (let i = 0; i < 3; i++) assert.equal((await exporter.export(makeSpans(1))).code, 'success');
    await exporter.shutdown();
    assert.equal(server.requests.length, 3);
    for (const r of server.requests) assert.equal(r.headers.connection, 'keep-alive');
  });
});

describe('OtlpHttpExporter and instrumentation', () => {
  it('makes its requests with tracing suppressed, as an http instrumentation sees them', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const server = await scriptedServer([answer(503), answer(200)]);
    const seen: boolean[] = [];
    // What the diagnostics_channel http instrumentation subscribes to.
    const onStart = () => {
      seen.push(isTracingSuppressed(context.active()));
    };
    diagnosticsChannel.subscribe('http.client.request.start', onStart);
    try {
      const exporter = exporterFor(server.url, { compression: 'gzip', sleep: async () => {} });
      assert.equal((await exporter.export(makeSpans(2))).code, 'success');
      await exporter.shutdown();
      assert.deepEqual(seen, [true, true]);
      assert.equal(isTracingSuppressed(context.active()), false);
    } finally {
      diagnosticsChannel.unsubscribe('http.client.request.start', onStart);
      context.disable();
      await server.close();
    }
  });
});
