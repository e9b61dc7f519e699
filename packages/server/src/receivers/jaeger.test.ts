import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeJaegerThriftBatch } from '@traceloom/wire';
import { send } from './fixtures/http.ts';
import { type JaegerSpanSpec, jaegerBatch } from './fixtures/jaeger.ts';
import { SwitchableSink } from './fixtures/sinks.ts';
import { ERROR_CODE_HEADER } from './http-server.ts';
import { type RunningReceivers, startReceivers } from './index.ts';
import { SinkFullError } from './sink.ts';

const THRIFT = 'application/x-thrift';
const TRACE = '11121314151617180102030405060708';

let sink: SwitchableSink;
let running: RunningReceivers;
let port: number;

before(async () => {
  sink = new SwitchableSink();
  running = await startReceivers(sink, {
    otlpHttp: false,
    otlpGrpc: false,
    zipkin: false,
    jaeger: { host: '127.0.0.1', port: 0 },
    maxBodyBytes: 64 * 1024,
  });
  port = running.ports.jaeger as number;
});
after(() => running.close());
beforeEach(() => sink.reset());

const specs: JaegerSpanSpec[] = [
  { traceId: TRACE, spanId: '2122232425262728', operationName: 'GET /' },
  { traceId: TRACE, spanId: '3132333435363738', parentSpanId: '2122232425262728', operationName: 'SELECT' },
];
const good = jaegerBatch('frontend', specs);

function post(body: Uint8Array | string, contentType: string | undefined, headers: Record<string, string> = {}) {
  return send(port, {
    path: '/api/traces',
    headers: contentType === undefined ? headers : { 'content-type': contentType, ...headers },
    body,
  });
}

async function assertServes(): Promise<void> {
  const before = sink.spans.length;
  const r = await post(good, THRIFT);
  assert.equal(r.status, 202, r.text);
  assert.equal(sink.spans.length, before + specs.length);
}

describe('Jaeger Thrift HTTP receiver', () => {
  it('accepts a Thrift batch with 202 and an empty body', async () => {
    const r = await post(good, THRIFT);
    assert.equal(r.status, 202);
    assert.equal(r.body.length, 0);
    const meta = sink.batches[0]?.meta;
    assert.deepEqual(
      { protocol: meta?.protocol, bodyBytes: meta?.bodyBytes, format: meta?.format },
      { protocol: 'jaeger-thrift', bodyBytes: good.length, format: 'jaeger-thrift' },
    );
    // The body the write-ahead log keeps is the request's, byte for byte.
    assert.deepEqual(Buffer.from(meta?.body ?? []), Buffer.from(good));
    assert.deepEqual(
      sink.spans.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.name]),
      [
        [TRACE, '2122232425262728', '', 'GET /'],
        [TRACE, '3132333435363738', '2122232425262728', 'SELECT'],
      ],
    );
    assert.equal(sink.batches[0]?.batch.serviceName[0], 'frontend');
  });

  it('accepts application/vnd.apache.thrift.binary and gzip', async () => {
    const r = await post(gzipSync(good), 'application/vnd.apache.thrift.binary', { 'content-encoding': 'gzip' });
    assert.equal(r.status, 202, r.text);
    assert.equal(sink.spans.length, 2);
  });

  it('answers 415 for another content type, naming the expected one', async () => {
    for (const type of [undefined, 'application/json']) {
      const r = await post(good, type);
      assert.equal(r.status, 415);
      assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_UNSUPPORTED_MEDIA_TYPE');
      assert.match(r.text, /^TL_ERR_UNSUPPORTED_MEDIA_TYPE: .*send application\/x-thrift/);
    }
    await assertServes();
  });

  it('answers 400 with the decoder message for a body that is not a Thrift batch', async () => {
    const bad = good.subarray(0, good.length - 9);
    let expected = '';
    try {
      decodeJaegerThriftBatch(bad);
    } catch (e) {
      expected = (e as Error).message;
    }
    assert.notEqual(expected, '');
    const r = await post(bad, THRIFT);
    assert.equal(r.status, 400);
    assert.match(r.text, /^TL_ERR_DECODE_[A-Z_]+: /);
    assert.ok(r.text.includes(expected), r.text);
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('keeps the valid spans of a batch with bad ids and counts the others in a header', async () => {
    const r = await post(
      jaegerBatch('frontend', [
        { traceId: '0'.repeat(32), spanId: '2122232425262728', operationName: 'zero trace' },
        specs[0] as JaegerSpanSpec,
        { traceId: TRACE, spanId: '0'.repeat(16), operationName: 'zero span' },
      ]),
      THRIFT,
    );
    assert.equal(r.status, 202);
    assert.equal(r.headers['x-traceloom-rejected-spans'], '2');
    assert.deepEqual(
      sink.spans.map((s) => s.name),
      ['GET /'],
    );
    assert.equal(running.stats.rejectedSpans.get('jaeger-thrift'), 2);
  });

  it('answers 400 TL_ERR_NO_VALID_SPANS when no span has valid ids', async () => {
    const r = await post(
      jaegerBatch('frontend', [{ traceId: '0'.repeat(32), spanId: '2122232425262728', operationName: 'zero' }]),
      THRIFT,
    );
    assert.equal(r.status, 400);
    assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_NO_VALID_SPANS');
    assert.match(r.text, /^TL_ERR_NO_VALID_SPANS: 1 span rejected: 1 with invalid trace id .* at batch\.spans\[0\]/);
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('answers 429 with Retry-After when the sink is full, 500 on other sink failures', async () => {
    sink.failWith = new SinkFullError('full', 2);
    const full = await post(good, THRIFT);
    assert.equal(full.status, 429);
    assert.equal(full.headers['retry-after'], '2');
    assert.match(full.text, /^TL_ERR_SINK_FULL: /);
    sink.failWith = new Error('broken');
    const broken = await post(good, THRIFT);
    assert.equal(broken.status, 500);
    assert.match(broken.text, /^TL_ERR_INTERNAL: /);
    sink.failWith = undefined;
    await assertServes();
  });

  it('answers 413 over the cap, 404 elsewhere and 405 for GET', async () => {
    const big = await post(Buffer.alloc(64 * 1024 + 1), THRIFT);
    assert.equal(big.status, 413);
    assert.match(big.text, /^TL_ERR_BODY_TOO_LARGE: /);
    const nf = await send(port, { path: '/api/v2/spans', body: '[]' });
    assert.equal(nf.status, 404);
    assert.match(nf.text, /^TL_ERR_NOT_FOUND: /);
    const get = await send(port, { method: 'GET', path: '/api/traces' });
    assert.equal(get.status, 405);
    await assertServes();
  });
});
