/**
 * The load generator against the server's real OTLP/HTTP receiver (recording
 * what it accepts): everything sent arrives and decodes, the report adds up,
 * and the batches are the same bytes for the same seed and start.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOtlpTraces } from '@traceloom/wire';
import { startReceivers } from '../../../server/src/receivers/index.ts';
import { RecordingSink } from '../../../server/src/receivers/sink.ts';
import { parseLoadgenCli } from './loadgen-cli.ts';
import { generateBatches, runLoadgen } from './run.ts';

test('runLoadgen sends decodable spans, all acknowledged, and reports rate and latency', async () => {
  const sink = new RecordingSink();
  const receivers = await startReceivers(sink, {
    otlpHttp: { host: '127.0.0.1', port: 0 },
    otlpGrpc: false,
    zipkin: false,
    jaeger: false,
  });
  try {
    const url = `http://127.0.0.1:${receivers.ports.otlpHttp}/v1/traces`;
    const report = await runLoadgen(url, { spans: 5000, rate: 0, concurrency: 3, batchSpans: 300, seed: 4 });
    assert.equal(report.spansSent, 5000);
    assert.equal(report.spansAccepted, 5000);
    assert.equal(report.failedRequests, 0);
    assert.equal(report.requests, Math.ceil(5000 / 300));
    assert.equal(sink.spans.length, 5000, 'the receiver decoded every span');
    assert.equal(new Set(sink.spans.map((s) => s.spanId)).size, 5000);
    assert.ok(report.spansPerSecond > 0 && report.ackLatencyMs.p50 > 0);
    assert.ok(report.ackLatencyMs.p50 <= report.ackLatencyMs.p99 && report.ackLatencyMs.p99 <= report.ackLatencyMs.max);

    // A paced run keeps to its rate: 2,000 spans at 10,000/s take at least 0.15 s.
    const paced = await runLoadgen(url, { spans: 2000, rate: 10_000, batchSpans: 200, concurrency: 2 });
    assert.equal(paced.spansAccepted, 2000);
    assert.ok(paced.seconds >= 0.15, `${paced.seconds} s`);

    // One large trace, sent whole.
    const before = sink.spans.length;
    const large = await runLoadgen(url, { largeTrace: 3000, rate: 0, batchSpans: 1000 });
    assert.equal(large.spansAccepted, sink.spans.length - before);
    assert.ok(Math.abs(large.spansAccepted - 3000) <= 4);
    assert.equal(new Set(sink.spans.slice(before).map((s) => s.traceId)).size, 1);

    const down = await runLoadgen('http://127.0.0.1:1/v1/traces', { spans: 100, rate: 0, batchSpans: 50 });
    assert.equal(down.spansAccepted, 0);
    assert.equal(down.failures.network, 2);
  } finally {
    await receivers.close();
  }
});

test('runLoadgen speaks OTLP/gRPC too', async () => {
  const sink = new RecordingSink();
  const receivers = await startReceivers(sink, {
    otlpHttp: false,
    otlpGrpc: { host: '127.0.0.1', port: 0 },
    zipkin: false,
    jaeger: false,
  });
  try {
    const url = `http://127.0.0.1:${receivers.ports.otlpGrpc}`;
    const report = await runLoadgen(url, { protocol: 'grpc', spans: 3000, rate: 0, concurrency: 4, batchSpans: 250 });
    assert.equal(report.failedRequests, 0, JSON.stringify(report.failures));
    assert.equal(report.spansAccepted, 3000);
    assert.equal(sink.spans.length, 3000);
    assert.equal(sink.batches[0]?.meta.protocol, 'otlp-grpc');
  } finally {
    await receivers.close();
  }
});

test('generateBatches is reproducible and decodes cleanly', () => {
  const options = { seed: 11, spans: 3000, batchSpans: 256, startUnixNano: 1_800_000_000_000_000_000n };
  const a = [...generateBatches(options)];
  const b = [...generateBatches(options)];
  assert.deepEqual(a, b);
  assert.notDeepEqual([...generateBatches({ ...options, seed: 12 })][0], a[0]);
  const spans = a.flatMap((body) => decodeOtlpTraces(body));
  assert.equal(spans.length, 3000);
  assert.ok(spans.every((s) => s.startTimeUnixNano >= 1_800_000_000_000_000_000n));
});

test('traceloom loadgen refuses bad flags with a clear message', () => {
  assert.throws(() => parseLoadgenCli(['--rate', 'fast']), /--rate must be a number/);
  assert.throws(() => parseLoadgenCli(['--services', '9']), /--services must be an integer from 1 to 8/);
  assert.throws(() => parseLoadgenCli(['--endpoint', 'localhost:4318']), /--endpoint must be an http/);
  assert.throws(() => parseLoadgenCli(['--bogus']), /Unknown option/);
  assert.equal(parseLoadgenCli(['--endpoint', 'http://h:4318']).endpoint, 'http://h:4318/v1/traces');
  assert.equal(parseLoadgenCli(['--protocol', 'grpc']).endpoint, 'http://localhost:4317');
  assert.throws(() => parseLoadgenCli(['--protocol', 'udp']), /--protocol must be http or grpc/);
});
