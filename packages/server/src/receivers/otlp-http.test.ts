import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanBatch } from '@traceloom/model';
import { decodeOtlpTraces, decodeOtlpTracesJson, decodeRpcStatus, type RpcStatus } from '@traceloom/wire';
import { send } from './fixtures/http.ts';
import { makeSpans, otlpJson, otlpProto, withIds } from './fixtures/otel.ts';
import { SwitchableSink } from './fixtures/sinks.ts';
import { ERROR_CODE_HEADER } from './http-server.ts';
import { type RunningReceivers, startReceivers } from './index.ts';
import { SinkFullError } from './sink.ts';
import { otlpLocator, partitionSpans } from './validate.ts';

const PROTO = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const CAP = 1024 * 1024;

let sink: SwitchableSink;
let running: RunningReceivers;
let port: number;

before(async () => {
  sink = new SwitchableSink();
  running = await startReceivers(sink, {
    otlpHttp: { host: '127.0.0.1', port: 0 },
    otlpGrpc: false,
    zipkin: false,
    jaeger: false,
    maxBodyBytes: CAP,
  });
  port = running.ports.otlpHttp as number;
});
after(() => running.close());
beforeEach(() => sink.reset());

const spans = makeSpans(6);
const goodProto = otlpProto(spans);
const goodJson = otlpJson(spans);
const traceId = spans[0]?.spanContext().traceId;

function post(body: Uint8Array | string, contentType: string | undefined, headers: Record<string, string> = {}) {
  return send(port, {
    path: '/v1/traces',
    headers: contentType === undefined ? headers : { 'content-type': contentType, ...headers },
    body,
  });
}

/** The google.rpc.Status of an error reply, decoded from the reply's own content type. */
function statusOf(reply: { headers: Record<string, unknown>; body: Buffer }): RpcStatus {
  const type = String(reply.headers['content-type']);
  if (type === PROTO) return decodeRpcStatus(reply.body);
  assert.equal(type, JSON_TYPE);
  const parsed = JSON.parse(reply.body.toString('utf8')) as { code?: number; message?: string };
  return { code: parsed.code ?? 0, message: parsed.message ?? '' };
}

/** Partial success of a 200 reply, from either content type, as [rejected, message]. */
function partialOf(reply: { headers: Record<string, unknown>; body: Buffer }): [number, string] {
  if (reply.headers['content-type'] === PROTO) {
    const r = ProtobufTraceSerializer.deserializeResponse(reply.body);
    return [Number(r.partialSuccess?.rejectedSpans ?? 0), r.partialSuccess?.errorMessage ?? ''];
  }
  const r = JSON.parse(reply.body.toString('utf8')) as {
    partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string };
  };
  return [Number(r.partialSuccess?.rejectedSpans ?? 0), r.partialSuccess?.errorMessage ?? ''];
}

/** Asserts that a good protobuf request still goes through to the sink. */
async function assertServes(): Promise<void> {
  const before = sink.spans.length;
  const r = await post(goodProto, PROTO);
  assert.equal(r.status, 200, r.text);
  assert.equal(sink.spans.length, before + spans.length);
}

describe('OTLP/HTTP receiver: success', () => {
  it('accepts protobuf, answers an empty ExportTraceServiceResponse, and writes every span', async () => {
    const r = await post(goodProto, PROTO);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], PROTO);
    assert.deepEqual(partialOf(r), [0, '']);
    assert.equal(sink.batches.length, 1);
    const meta = sink.batches[0]?.meta;
    assert.deepEqual(
      { protocol: meta?.protocol, bodyBytes: meta?.bodyBytes, format: meta?.format },
      { protocol: 'otlp-http', bodyBytes: goodProto.length, format: 'otlp-proto' },
    );
    assert.deepEqual(Buffer.from(meta?.body ?? []), Buffer.from(goodProto));
    assert.equal(sink.spans.length, spans.length);
    assert.ok(sink.spans.every((s) => s.traceId === traceId));
    assert.deepEqual(
      sink.spans.map((s) => s.name),
      spans.map((s) => s.name),
    );
  });

  it('accepts JSON with any case and a charset parameter, answering JSON', async () => {
    const r = await post(goodJson, 'Application/JSON; charset=utf-8');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], JSON_TYPE);
    assert.deepEqual(JSON.parse(r.text), {});
    assert.equal(sink.spans.length, spans.length);
    const upper = await post(goodProto, 'APPLICATION/X-PROTOBUF;charset=binary');
    assert.equal(upper.status, 200);
    assert.equal(upper.headers['content-type'], PROTO);
  });

  it('accepts a gzip-compressed body and reports the decompressed size', async () => {
    const r = await post(gzipSync(goodProto), PROTO, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 200);
    assert.equal(sink.batches[0]?.meta.bodyBytes, goodProto.length);
    assert.equal(sink.spans.length, spans.length);
  });

  it('answers 200 to a request without spans and does not call the sink', async () => {
    for (const [body, type] of [
      [new Uint8Array(0), PROTO],
      ['{}', JSON_TYPE],
      ['{"resourceSpans":[]}', JSON_TYPE],
    ] as const) {
      const r = await post(body, type);
      assert.equal(r.status, 200, `${type} ${String(body)}: ${r.text}`);
      assert.deepEqual(partialOf(r), [0, '']);
    }
    assert.equal(sink.calls, 0);
  });
});

describe('OTLP/HTTP receiver: partial success', () => {
  const zeroTrace = '0'.repeat(32);
  const zeroSpan = '0'.repeat(16);

  it('drops spans with bad ids, reports them in partial_success, and writes the rest (protobuf)', async () => {
    const mixed = [
      spans[0],
      withIds(spans[1]!, { traceId: zeroTrace }),
      spans[2],
      withIds(spans[3]!, { traceId: zeroTrace }),
      withIds(spans[4]!, { spanId: 'abcd' }),
      spans[5],
    ].map((s) => s!);
    const r = await post(otlpProto(mixed), PROTO);
    assert.equal(r.status, 200);
    const [rejected, message] = partialOf(r);
    assert.equal(rejected, 3);
    assert.match(
      message,
      /^3 spans rejected: 2 with invalid trace id \(must be 16 non-zero bytes\), first at resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\] \("SELECT cart_items 2"\); 1 with invalid span id \(must be 8 non-zero bytes\), first at resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[4\]/,
    );
    assert.deepEqual(
      sink.spans.map((s) => s.name),
      [spans[0], spans[2], spans[5]].map((s) => s?.name),
    );
    await assertServes();
  });

  it('reports partial success in JSON for a JSON request', async () => {
    const mixed = [withIds(spans[0]!, { spanId: zeroSpan }), spans[1]!, spans[2]!];
    const r = await post(otlpJson(mixed), JSON_TYPE);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], JSON_TYPE);
    const [rejected, message] = partialOf(r);
    assert.equal(rejected, 1);
    assert.match(
      message,
      /^1 span rejected: 1 with invalid span id .* at resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]/,
    );
    assert.equal(sink.spans.length, 2);
    await assertServes();
  });

  it('rejects a malformed parent span id but accepts an all-zero one as a root', async () => {
    const r = await post(
      otlpProto([withIds(spans[1]!, { parentSpanId: 'abcdef' }), withIds(spans[2]!, { parentSpanId: zeroSpan })]),
      PROTO,
    );
    assert.equal(r.status, 200);
    const [rejected, message] = partialOf(r);
    assert.equal(rejected, 1);
    assert.match(message, /invalid parent span id/);
    assert.equal(sink.spans.length, 1);
    assert.equal(sink.spans[0]?.parentSpanId, '');
  });

  it('answers 200 with every span rejected and does not call the sink when none is valid', async () => {
    const r = await post(otlpProto([withIds(spans[0]!, { traceId: zeroTrace })]), PROTO);
    assert.equal(r.status, 200);
    assert.equal(partialOf(r)[0], 1);
    assert.equal(sink.calls, 0);
  });
});

describe('OTLP/HTTP receiver: lazy batches', () => {
  it("hands the sink a lazy batch that decodes to exactly the eager path's spans, zero parents included", async () => {
    const zeroParent = '0'.repeat(16);
    const request = [
      ...spans.map((s, i) => (i % 2 === 0 ? withIds(s, { parentSpanId: zeroParent }) : s)),
      ...makeSpans(3, 'payments'),
    ];
    const body = otlpProto(request);
    const r = await post(body, PROTO);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(partialOf(r), [0, '']);
    const batch = sink.batches[0]?.batch;
    assert.ok(batch !== undefined);
    // Only the count is known when the receiver answers: nothing was decoded yet.
    assert.deepEqual(Object.keys(batch), ['length']);
    assert.equal(batch.length, request.length);
    // The eager path: decode, then the id checks (which turn all-zero parents into '').
    const eager = SpanBatch.from(partitionSpans(decodeOtlpTraces(body), otlpLocator).accepted);
    assert.deepEqual(batch.spans, eager.spans);
    for (const key of Object.keys(eager) as (keyof SpanBatch)[]) assert.deepEqual(batch[key], eager[key], key);
    const roots = batch.spans.filter((s) => s.parentSpanId === '').length;
    assert.ok(roots >= 3, `${roots} roots`);
    assert.ok(batch.spans.every((s) => s.parentSpanId !== zeroParent));
  });
});

describe('OTLP/HTTP receiver: failures', () => {
  it('answers 415 with a JSON google.rpc.Status for another content type', async () => {
    for (const type of [undefined, 'text/plain', 'application/protobuf']) {
      const r = await post(goodProto, type);
      assert.equal(r.status, 415, String(type));
      assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_UNSUPPORTED_MEDIA_TYPE');
      const status = statusOf(r);
      assert.equal(status.code, 3);
      assert.match(
        status.message,
        /^TL_ERR_UNSUPPORTED_MEDIA_TYPE: Content-Type .* send application\/x-protobuf or application\/json/,
      );
    }
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('answers 400 with a protobuf Status naming the problem for an undecodable protobuf body', async () => {
    const bad = goodProto.subarray(0, goodProto.length - 7);
    let expected = '';
    try {
      decodeOtlpTraces(bad);
    } catch (e) {
      expected = (e as Error).message;
    }
    assert.notEqual(expected, '', 'the truncated body must not decode');
    const r = await post(bad, PROTO);
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], PROTO);
    const status = statusOf(r);
    assert.equal(status.code, 3);
    assert.match(status.message, /^TL_ERR_DECODE_[A-Z_]+: /);
    assert.ok(status.message.includes(expected), status.message);
    assert.equal(r.headers[ERROR_CODE_HEADER], status.message.split(':')[0]);
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('answers 400 with a JSON Status for an undecodable JSON body', async () => {
    for (const body of ['{"resourceSpans": [', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":42}]}]}]}']) {
      let expected = '';
      try {
        decodeOtlpTracesJson(body);
      } catch (e) {
        expected = (e as Error).message;
      }
      const r = await post(body, JSON_TYPE);
      assert.equal(r.status, 400, body);
      assert.equal(r.headers['content-type'], JSON_TYPE);
      const status = statusOf(r);
      assert.equal(status.code, 3);
      assert.match(status.message, /^TL_ERR_DECODE_(BAD_JSON|BAD_FIELD): /);
      assert.ok(status.message.includes(expected), status.message);
    }
    await assertServes();
  });

  it('answers 413 with a Status to a body over the cap and to a gzip bomb', async () => {
    const big = await post(new Uint8Array(CAP + 1), PROTO);
    assert.equal(big.status, 413);
    assert.equal(statusOf(big).code, 8);
    assert.match(statusOf(big).message, /^TL_ERR_BODY_TOO_LARGE: /);
    const bomb = gzipSync(Buffer.alloc(64 * CAP));
    const r = await post(bomb, JSON_TYPE, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);
    assert.equal(r.headers['content-type'], JSON_TYPE);
    assert.match(statusOf(r).message, /^TL_ERR_BODY_TOO_LARGE: .*after decompression/);
    await assertServes();
  });

  it('answers 400 TL_ERR_BAD_GZIP in the request content type', async () => {
    const r = await post(goodProto, PROTO, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 400);
    assert.match(statusOf(r).message, /^TL_ERR_BAD_GZIP: /);
    await assertServes();
  });

  it('answers 429 with Retry-After and RESOURCE_EXHAUSTED when the sink is full', async () => {
    sink.failWith = new SinkFullError('write-ahead log at capacity', 3);
    for (const [body, type] of [
      [goodProto, PROTO],
      [goodJson, JSON_TYPE],
    ] as const) {
      const r = await post(body, type);
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '3');
      assert.equal(r.headers['content-type'], type);
      const status = statusOf(r);
      assert.equal(status.code, 8);
      assert.match(status.message, /^TL_ERR_SINK_FULL: the pipeline is full \(write-ahead log at capacity\)/);
    }
    sink.failWith = undefined;
    await assertServes();
  });

  it('answers 500 INTERNAL when the sink fails otherwise, without leaking the cause', async () => {
    sink.failWith = new Error('disk on fire');
    const r = await post(goodProto, PROTO);
    assert.equal(r.status, 500);
    const status = statusOf(r);
    assert.equal(status.code, 13);
    assert.match(status.message, /^TL_ERR_INTERNAL: /);
    assert.doesNotMatch(status.message, /disk on fire/);
    sink.failWith = undefined;
    await assertServes();
  });

  it('answers 405 to GET /v1/traces and 404 to other paths and signals, as a Status', async () => {
    const get = await send(port, { method: 'GET', path: '/v1/traces' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST, OPTIONS');
    assert.match(statusOf(get).message, /^TL_ERR_METHOD_NOT_ALLOWED: /);
    const m = await send(port, { path: '/v1/metrics', headers: { 'content-type': PROTO }, body: goodProto });
    assert.equal(m.status, 404);
    assert.match(statusOf(m).message, /receives traces only/);
    const other = await send(port, { path: '/api/v2/spans', headers: { 'content-type': JSON_TYPE }, body: '[]' });
    assert.equal(other.status, 404);
    assert.match(statusOf(other).message, /^TL_ERR_NOT_FOUND: no route for POST \/api\/v2\/spans/);
    await assertServes();
  });

  it('answers the CORS preflight of the OTel browser exporter and adds CORS headers to the POST', async () => {
    const pre = await send(port, {
      method: 'OPTIONS',
      path: '/v1/traces',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.match(String(pre.headers['access-control-allow-methods']), /\bPOST\b/);
    assert.match(String(pre.headers['access-control-allow-headers']), /\bcontent-type\b/);
    const r = await post(goodJson, JSON_TYPE, { origin: 'http://localhost:5173' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    sink.failWith = new SinkFullError('full', 2);
    const full = await post(goodJson, JSON_TYPE, { origin: 'http://localhost:5173' });
    assert.equal(full.status, 429);
    assert.equal(full.headers['access-control-allow-origin'], '*');
    assert.match(String(full.headers['access-control-expose-headers']), /Retry-After/);
    sink.failWith = undefined;
    await assertServes();
  });

  it('counts accepted, rejected and failed in the receiver stats', async () => {
    const stats = running.stats;
    const accepted = stats.acceptedSpans.get('otlp-http') ?? 0;
    const rejected = stats.rejectedSpans.get('otlp-http') ?? 0;
    const failed415 = stats.failedRequests.get('TL_ERR_UNSUPPORTED_MEDIA_TYPE') ?? 0;
    await post(goodProto, PROTO);
    await post(goodProto, 'text/plain');
    await post(otlpProto([withIds(spans[0]!, { traceId: '0'.repeat(32) }), spans[1]!]), PROTO);
    assert.equal(stats.acceptedSpans.get('otlp-http'), accepted + spans.length + 1);
    assert.equal(stats.rejectedSpans.get('otlp-http'), rejected + 1);
    assert.equal(stats.failedRequests.get('TL_ERR_UNSUPPORTED_MEDIA_TYPE'), failed415 + 1);
  });
});
