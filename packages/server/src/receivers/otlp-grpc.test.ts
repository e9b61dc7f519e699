/**
 * The OTLP/gRPC service through a raw grpc-js client (bytes in, bytes out), so
 * that bad payloads can be sent. The official OTel gRPC exporter is exercised
 * in clients.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanBatch } from '@traceloom/model';
import { decodeOtlpTraces, decodeRpcStatus } from '@traceloom/wire';
import { makeSpans, otlpProto, withIds } from './fixtures/otel.ts';
import { SwitchableSink } from './fixtures/sinks.ts';
import { type RunningGrpcReceiver, startOtlpGrpc, TRACE_SERVICE_EXPORT_PATH } from './otlp-grpc.ts';
import { SinkFullError } from './sink.ts';
import { otlpLocator, partitionSpans } from './validate.ts';

const CAP = 256 * 1024;

const rawDefinition = {
  export: {
    path: TRACE_SERVICE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
const RawClient = makeGenericClientConstructor(rawDefinition, 'TraceService');

interface RawTraceClient extends Client {
  export(body: Buffer, metadata: Metadata, callback: (err: ServiceError | null, response?: Buffer) => void): unknown;
}

let sink: SwitchableSink;
let receiver: RunningGrpcReceiver;
let client: RawTraceClient;
let gzipClient: RawTraceClient;

function call(c: RawTraceClient, body: Uint8Array): Promise<{ err: ServiceError | null; response?: Buffer }> {
  return new Promise((resolve) => {
    c.export(Buffer.from(body), new Metadata(), (err, response) => resolve({ err, response }));
  });
}

const spans = makeSpans(5);
const good = otlpProto(spans);

async function assertServes(): Promise<void> {
  const before = sink.spans.length;
  const { err } = await call(client, good);
  assert.equal(err, null);
  assert.equal(sink.spans.length, before + spans.length);
}

before(async () => {
  sink = new SwitchableSink();
  receiver = await startOtlpGrpc(sink, { host: '127.0.0.1', port: 0, maxBodyBytes: CAP });
  const address = `127.0.0.1:${receiver.port}`;
  client = new RawClient(address, credentials.createInsecure()) as unknown as RawTraceClient;
  gzipClient = new RawClient(address, credentials.createInsecure(), {
    'grpc.default_compression_algorithm': 2, // gzip
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  }) as unknown as RawTraceClient;
});
after(async () => {
  client.close();
  gzipClient.close();
  await receiver.close();
});
beforeEach(() => sink.reset());

describe('OTLP/gRPC receiver', () => {
  it('exports spans: OK with an empty response, spans in the sink', async () => {
    const { err, response } = await call(client, good);
    assert.equal(err, null);
    assert.ok(response !== undefined);
    assert.equal(ProtobufTraceSerializer.deserializeResponse(response).partialSuccess, undefined);
    assert.equal(sink.batches.length, 1);
    const meta = sink.batches[0]?.meta;
    assert.deepEqual(
      { protocol: meta?.protocol, bodyBytes: meta?.bodyBytes, format: meta?.format },
      { protocol: 'otlp-grpc', bodyBytes: good.length, format: 'otlp-proto' },
    );
    assert.deepEqual(Buffer.from(meta?.body ?? []), Buffer.from(good));
    assert.deepEqual(
      sink.spans.map((s) => s.spanId),
      spans.map((s) => s.spanContext().spanId),
    );
  });

  it('accepts gzip-compressed messages (decompressed by grpc-js)', async () => {
    const { err } = await call(gzipClient, good);
    assert.equal(err, null);
    assert.equal(sink.spans.length, spans.length);
    assert.equal(sink.batches[0]?.meta.bodyBytes, good.length);
  });

  it('answers OK without calling the sink for an empty request', async () => {
    const { err } = await call(client, new Uint8Array(0));
    assert.equal(err, null);
    assert.equal(sink.calls, 0);
  });

  it('answers INVALID_ARGUMENT with the decoder message for a bad payload', async () => {
    const bad = good.subarray(0, good.length - 5);
    let expected = '';
    try {
      decodeOtlpTraces(bad);
    } catch (e) {
      expected = (e as Error).message;
    }
    assert.notEqual(expected, '');
    const { err } = await call(client, bad);
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.match(err?.details ?? '', /^TL_ERR_DECODE_[A-Z_]+: /);
    assert.ok(err?.details.includes(expected), err?.details);
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('answers INVALID_ARGUMENT for random garbage', async () => {
    const { err } = await call(client, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    await assertServes();
  });

  it("hands the sink a lazy batch that decodes to exactly the eager path's spans, zero parents included", async () => {
    const body = otlpProto([withIds(spans[0]!, { parentSpanId: '0'.repeat(16) }), ...spans.slice(1)]);
    const { err } = await call(client, body);
    assert.equal(err, null);
    const batch = sink.batches[0]?.batch;
    assert.ok(batch !== undefined);
    assert.deepEqual(Object.keys(batch), ['length']);
    assert.equal(batch.length, spans.length);
    const eager = SpanBatch.from(partitionSpans(decodeOtlpTraces(body), otlpLocator).accepted);
    assert.deepEqual(batch.spans, eager.spans);
    for (const key of Object.keys(eager) as (keyof SpanBatch)[]) assert.deepEqual(batch[key], eager[key], key);
    assert.equal(batch.parentSpanId[0], '');
  });

  it('reports spans with bad ids in partial_success and writes the others', async () => {
    const mixed = [withIds(spans[0]!, { traceId: '0'.repeat(32) }), spans[1]!, spans[2]!];
    const { err, response } = await call(client, otlpProto(mixed));
    assert.equal(err, null);
    assert.ok(response !== undefined);
    const partial = ProtobufTraceSerializer.deserializeResponse(response).partialSuccess;
    assert.equal(Number(partial?.rejectedSpans), 1);
    assert.match(partial?.errorMessage ?? '', /^1 span rejected: 1 with invalid trace id/);
    assert.equal(sink.spans.length, 2);
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo when the sink is full', async () => {
    sink.failWith = new SinkFullError('wal full', 3);
    const { err } = await call(client, good);
    assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
    assert.match(err?.details ?? '', /^TL_ERR_SINK_FULL: the pipeline is full \(wal full\)/);
    const bin = err?.metadata.get('grpc-status-details-bin')[0];
    assert.ok(Buffer.isBuffer(bin), 'the status carries details');
    const detail = decodeRpcStatus(bin).details?.[0];
    assert.equal(detail?.typeUrl, 'type.googleapis.com/google.rpc.RetryInfo');
    // RetryInfo{retry_delay: Duration{seconds: 3}}
    assert.deepEqual([...(detail?.value ?? [])], [0x0a, 0x02, 0x08, 0x03]);
    sink.failWith = undefined;
    await assertServes();
  });

  it('answers INTERNAL when the sink fails otherwise', async () => {
    sink.failWith = new Error('disk on fire');
    const { err } = await call(client, good);
    assert.equal(err?.code, status.INTERNAL);
    assert.doesNotMatch(err?.details ?? '', /disk on fire/);
    sink.failWith = undefined;
    await assertServes();
  });

  it('refuses messages over the cap, also when they only grow past it after decompression', async () => {
    const big = otlpProto(makeSpans(800));
    assert.ok(big.length > CAP, `fixture is ${big.length} bytes`);
    const plain = await call(client, big);
    assert.equal(plain.err?.code, status.RESOURCE_EXHAUSTED);
    const zipped = await call(gzipClient, big);
    assert.equal(zipped.err?.code, status.RESOURCE_EXHAUSTED);
    assert.equal(sink.calls, 0);
    await assertServes();
  });

  it('fails to start on a busy port with TL_ERR_PORT_IN_USE naming the flag', async () => {
    await assert.rejects(
      startOtlpGrpc(sink, { host: '127.0.0.1', port: receiver.port, portEnv: 'TRACELOOM_OTLP_GRPC_PORT' }),
      /^StartupError: TL_ERR_PORT_IN_USE: OTLP\/gRPC cannot listen on 127\.0\.0\.1:\d+: .*--otlp-grpc-port <port> \(or TRACELOOM_OTLP_GRPC_PORT\)/,
    );
  });
});
