import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeZipkinJson, encodeZipkinProto } from '@traceloom/wire';
import { send } from './fixtures/http.ts';
import { SwitchableSink } from './fixtures/sinks.ts';
import { ERROR_CODE_HEADER } from './http-server.ts';
import { type RunningReceivers, startReceivers } from './index.ts';
import { SinkFullError } from './sink.ts';

const CAP = 64 * 1024;

let sink: SwitchableSink;
let running: RunningReceivers;
let port: number;

before(async () => {
  sink = new SwitchableSink();
  running = await startReceivers(sink, {
    otlpHttp: false,
    otlpGrpc: false,
    zipkin: { host: '127.0.0.1', port: 0 },
    jaeger: false,
    maxBodyBytes: CAP,
  });
  port = running.ports.zipkin as number;
});
after(() => running.close());
beforeEach(() => sink.reset());

const TRACE = '5af7183fb1d4cf5f5af7183fb1d4cf5f';
const json = JSON.stringify([
  {
    traceId: TRACE,
    id: '6b221d5bc9e6496c',
    name: 'get /api',
    kind: 'SERVER',
    timestamp: 1_700_000_000_000_000,
    duration: 2500,
    localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1' },
    tags: { 'http.method': 'GET', 'http.path': '/api' },
  },
  {
    traceId: TRACE,
    parentId: '6b221d5bc9e6496c',
    id: '7c332e6cdaf75a7d',
    name: 'select',
    kind: 'CLIENT',
    timestamp: 1_700_000_000_000_100,
    duration: 900,
    localEndpoint: { serviceName: 'frontend' },
    remoteEndpoint: { serviceName: 'postgres', port: 5432 },
    annotations: [{ timestamp: 1_700_000_000_000_200, value: 'query sent' }],
  },
]);

function post(body: Uint8Array | string, contentType: string | undefined, headers: Record<string, string> = {}) {
  return send(port, {
    path: '/api/v2/spans',
    headers: contentType === undefined ? headers : { 'content-type': contentType, ...headers },
    body,
  });
}

async function assertServes(): Promise<void> {
  const before = sink.spans.length;
  const r = await post(json, 'application/json');
  assert.equal(r.status, 202, r.text);
  assert.equal(sink.spans.length, before + 2);
}

describe('Zipkin receiver', () => {
  it('accepts v2 JSON with 202 and an empty body', async () => {
    const r = await post(json, 'application/json');
    assert.equal(r.status, 202);
    assert.equal(r.body.length, 0);
    const meta = sink.batches[0]?.meta;
    assert.deepEqual(
      { protocol: meta?.protocol, bodyBytes: meta?.bodyBytes, format: meta?.format },
      { protocol: 'zipkin', bodyBytes: Buffer.byteLength(json), format: 'zipkin-json' },
    );
    assert.equal(Buffer.from(meta?.body ?? []).toString(), json);
    assert.deepEqual(
      sink.spans.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.name]),
      [
        [TRACE, '6b221d5bc9e6496c', '', 'get /api'],
        [TRACE, '7c332e6cdaf75a7d', '6b221d5bc9e6496c', 'select'],
      ],
    );
  });

  it('reads JSON when there is no Content-Type (or a form type, as curl -d sends), like Zipkin', async () => {
    for (const type of [undefined, 'application/x-www-form-urlencoded', 'application/json; charset=UTF-8']) {
      const r = await post(json, type);
      assert.equal(r.status, 202, `${type}: ${r.text}`);
    }
    assert.equal(sink.spans.length, 6);
  });

  it('accepts gzip-compressed JSON and proto3 ListOfSpans', async () => {
    const gz = await post(gzipSync(json), 'application/json', { 'content-encoding': 'gzip' });
    assert.equal(gz.status, 202);
    const proto = encodeZipkinProto(decodeZipkinJson(json));
    const p = await post(proto, 'application/x-protobuf');
    assert.equal(p.status, 202, p.text);
    assert.equal(sink.spans.length, 4);
    assert.deepEqual(
      sink.spans.slice(2).map((s) => s.spanId),
      ['6b221d5bc9e6496c', '7c332e6cdaf75a7d'],
    );
  });

  it('answers 202 to an empty list without calling the sink', async () => {
    const r = await post('[]', 'application/json');
    assert.equal(r.status, 202);
    assert.equal(sink.calls, 0);
  });

  it('answers 400 in text with the decoder code and message for bad JSON', async () => {
    for (const body of [
      '[{"traceId":',
      '[{"traceId":"5af7183fb1d4cf5f","id":"0000000000000000"}]',
      '{"not":"a list"}',
    ]) {
      let expected = '';
      try {
        decodeZipkinJson(body);
      } catch (e) {
        expected = (e as Error).message;
      }
      assert.notEqual(expected, '', body);
      const r = await post(body, 'application/json');
      assert.equal(r.status, 400, body);
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.match(r.text, /^TL_ERR_DECODE_(BAD_JSON|BAD_FIELD): /);
      assert.ok(r.text.includes(expected), r.text);
      assert.equal(r.headers[ERROR_CODE_HEADER], r.text.split(':')[0]);
    }
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('answers 415 to a Zipkin v1 Thrift body', async () => {
    const r = await post(Buffer.from([0x0c, 0x00]), 'application/x-thrift');
    assert.equal(r.status, 415);
    assert.match(r.text, /^TL_ERR_UNSUPPORTED_MEDIA_TYPE: .*Zipkin v1 Thrift/);
    await assertServes();
  });

  it('answers 429 with Retry-After when the sink is full', async () => {
    sink.failWith = new SinkFullError('full', 4);
    const r = await post(json, 'application/json');
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '4');
    assert.match(r.text, /^TL_ERR_SINK_FULL: /);
    sink.failWith = undefined;
    await assertServes();
  });

  it('answers 413 over the cap (plain and gzip bomb), 405 and 404', async () => {
    const big = await post(`[${' '.repeat(CAP)}]`, 'application/json');
    assert.equal(big.status, 413);
    const bomb = await post(gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x20)), 'application/json', {
      'content-encoding': 'gzip',
    });
    assert.equal(bomb.status, 413);
    assert.match(bomb.text, /^TL_ERR_BODY_TOO_LARGE: .*after decompression/);
    const put = await send(port, { method: 'PUT', path: '/api/v2/spans', body: json });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'POST, OPTIONS');
    const v1 = await send(port, { path: '/api/v1/spans', body: json });
    assert.equal(v1.status, 404);
    await assertServes();
  });

  it('answers the CORS preflight of zipkin-js in a browser', async () => {
    const pre = await send(port, {
      method: 'OPTIONS',
      path: '/api/v2/spans',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
  });
});
