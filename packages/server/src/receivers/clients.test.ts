/**
 * The real clients from npm, each sending through its own exporter into our
 * receivers: every field the client sends must arrive intact.
 *
 * The expected values are taken from what each client itself recorded (an
 * in-memory exporter or reporter beside the network one), so the test compares
 * our decoding with the client's own view of the same spans.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { type Attributes, SpanKind as OtelKind, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { type AnyValue, getAttribute, type KeyValue, type Span } from '@traceloom/model';
import { startReceivers } from './index.ts';
import { RecordingSink } from './sink.ts';

const require = createRequire(import.meta.url);

type Running = Awaited<ReturnType<typeof startReceivers>>;

let sink: RecordingSink;
let running: Running;

before(async () => {
  sink = new RecordingSink();
  running = await startReceivers(sink, {
    otlpHttp: { host: '127.0.0.1', port: 0 },
    otlpGrpc: { host: '127.0.0.1', port: 0 },
    zipkin: { host: '127.0.0.1', port: 0 },
    jaeger: { host: '127.0.0.1', port: 0 },
  });
});

after(async () => {
  await running.close();
});

/**
 * Microseconds the way the OTel Zipkin exporter computes them
 * (`hrTimeToMicroseconds`: float arithmetic, then `Math.round`), as nanoseconds.
 */
function exporterMicrosAsNanos(t: readonly [number, number]): bigint {
  return BigInt(Math.round(t[0] * 1e6 + t[1] / 1e3)) * 1000n;
}

function hrToNanos(t: readonly [number, number]): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** Spans received whose trace id is `traceId`, waiting up to 5 s for `count` of them. */
async function receivedSpans(traceId: string, count: number): Promise<Span[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = sink.spans.filter((s) => s.traceId === traceId);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** OTel attribute value as OTLP types it: integers become int64, other numbers double. */
function otelValue(v: unknown): AnyValue {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(otelValue);
  return v as AnyValue;
}

function otelAttrs(a: Attributes): KeyValue[] {
  return Object.entries(a).map(([key, value]) => ({ key, value: otelValue(value) }));
}

const RICH_ATTRIBUTES: Attributes = {
  'http.request.method': 'POST',
  'http.response.status_code': 503,
  'app.ratio': 0.25,
  'app.retry': true,
  'app.big': 2 ** 52 + 1,
  'app.negative': -42,
  'app.tags': ['a', 'b', 'ü-ñ'],
  'app.codes': [1, 2, 3],
  'app.flags': [true, false],
  'app.weights': [0.5, 1.5],
  'app.unicode': '日本語 ✓',
};

/**
 * Records one trace with every feature the OTel API offers through `exporter`
 * and an in-memory exporter, and returns what the SDK itself recorded.
 */
async function recordOtelTrace(exporter: SpanExporter): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.version': '1.4.2',
      'deployment.environment.name': 'test',
      'host.cores': 2,
    }),
    // The batch processor sends the whole trace in one request, as applications do.
    spanProcessors: [
      new SimpleSpanProcessor(memory),
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000 }),
    ],
  });
  const tracer = provider.getTracer('checkout-instrumentation', '0.9.1', { schemaUrl: 'https://example.com/s/1.0' });
  // A remote parent with a trace state, as if extracted from a traceparent header.
  const parentCtx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: 1,
    isRemote: true,
    traceState: new TraceState('vendor1=abc,vendor2=x:y'),
  });
  const server = tracer.startSpan('POST /checkout', { kind: OtelKind.SERVER, attributes: RICH_ATTRIBUTES }, parentCtx);
  server.addEvent('cart.loaded', { 'cart.items': 3, 'cart.currency': 'EUR' }, [1_700_000_000, 123_456_789]);
  server.addEvent('no attributes');
  server.recordException(new Error('payment declined'));
  const childCtx = trace.setSpan(parentCtx, server);
  const client = tracer.startSpan(
    'charge card',
    {
      kind: OtelKind.CLIENT,
      attributes: { 'peer.service': 'payment' },
      links: [
        {
          context: {
            traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
            spanId: 'bbbbbbbbbbbbbbbb',
            traceFlags: 1,
            traceState: new TraceState('k=v'),
          },
          attributes: { 'link.reason': 'retry-of', 'link.attempt': 2 },
        },
      ],
    },
    childCtx,
  );
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  client.end();
  const producer = tracer.startSpan('publish order', { kind: OtelKind.PRODUCER }, childCtx);
  producer.setStatus({ code: SpanStatusCode.OK });
  producer.end();
  const internal = tracer.startSpan('render', {}, childCtx);
  internal.updateName('render receipt');
  internal.end();
  server.end();
  await provider.forceFlush();
  // shutdown() empties the in-memory exporter: read it first.
  const finished = memory.getFinishedSpans();
  await provider.shutdown();
  return finished;
}

function assertOtelSpanArrived(got: Span | undefined, want: ReadableSpan): void {
  assert.ok(got, `span ${want.name} arrived`);
  const ctx = want.spanContext();
  assert.equal(got.traceId, ctx.traceId);
  assert.equal(got.spanId, ctx.spanId);
  assert.equal(got.parentSpanId, want.parentSpanContext?.spanId ?? '');
  assert.equal(got.traceState, ctx.traceState?.serialize() ?? '');
  assert.equal(got.flags & 0xff, ctx.traceFlags);
  assert.equal(got.name, want.name);
  assert.equal(got.kind, want.kind + 1, 'OTel API kinds are OTLP kinds minus one');
  assert.equal(got.startTimeUnixNano, hrToNanos(want.startTime));
  assert.equal(got.endTimeUnixNano, hrToNanos(want.endTime));
  assert.deepEqual(got.attributes, otelAttrs(want.attributes));
  assert.equal(got.droppedAttributesCount, want.droppedAttributesCount);
  assert.equal(got.events.length, want.events.length);
  want.events.forEach((e, i) => {
    const g = got.events[i];
    assert.ok(g);
    assert.equal(g.name, e.name);
    assert.equal(g.timeUnixNano, hrToNanos(e.time));
    assert.deepEqual(g.attributes, otelAttrs(e.attributes ?? {}));
  });
  assert.equal(got.links.length, want.links.length);
  want.links.forEach((l, i) => {
    const g = got.links[i];
    assert.ok(g);
    assert.equal(g.traceId, l.context.traceId);
    assert.equal(g.spanId, l.context.spanId);
    assert.equal(g.traceState, l.context.traceState?.serialize() ?? '');
    assert.deepEqual(g.attributes, otelAttrs(l.attributes ?? {}));
  });
  assert.equal(got.status.code, want.status.code);
  assert.equal(got.status.message, want.status.message ?? '');
  assert.deepEqual(got.resource.attributes, otelAttrs(want.resource.attributes));
  assert.equal(got.scope.name, want.instrumentationScope.name);
  assert.equal(got.scope.version, want.instrumentationScope.version);
  assert.equal(got.scope.schemaUrl, want.instrumentationScope.schemaUrl);
}

async function checkOtelExporter(exporter: SpanExporter): Promise<void> {
  const recorded = await recordOtelTrace(exporter);
  assert.equal(recorded.length, 4);
  const traceId = recorded[0]?.spanContext().traceId ?? '';
  const got = await receivedSpans(traceId, recorded.length);
  assert.equal(got.length, recorded.length, 'every span arrived exactly once');
  for (const want of recorded)
    assertOtelSpanArrived(
      got.find((s) => s.spanId === want.spanContext().spanId),
      want,
    );
  // The exporter sends the trace in one request: one Resource object for all spans.
  assert.equal(new Set(got.map((s) => s.resource)).size, 1);
}

describe('OpenTelemetry SDK exporters', () => {
  it('OTLP/HTTP protobuf (@opentelemetry/exporter-trace-otlp-proto) delivers every field', async () => {
    await checkOtelExporter(new OtlpProtoExporter({ url: `http://127.0.0.1:${running.ports.otlpHttp}/v1/traces` }));
  });

  it('OTLP/HTTP protobuf with gzip delivers every field', async () => {
    await checkOtelExporter(
      new OtlpProtoExporter({
        url: `http://127.0.0.1:${running.ports.otlpHttp}/v1/traces`,
        compression: 'gzip' as never,
      }),
    );
  });

  it('OTLP/HTTP JSON (@opentelemetry/exporter-trace-otlp-http) delivers every field', async () => {
    await checkOtelExporter(new OtlpJsonExporter({ url: `http://127.0.0.1:${running.ports.otlpHttp}/v1/traces` }));
  });

  it('OTLP/gRPC (@opentelemetry/exporter-trace-otlp-grpc) delivers every field', async () => {
    const exporter = new OtlpGrpcExporter({ url: `http://127.0.0.1:${running.ports.otlpGrpc}` });
    await checkOtelExporter(exporter);
  });

  it('OTLP/gRPC with gzip delivers every field', async () => {
    const exporter = new OtlpGrpcExporter({
      url: `http://127.0.0.1:${running.ports.otlpGrpc}`,
      compression: 'gzip' as never,
    });
    await checkOtelExporter(exporter);
  });
});

describe('Zipkin clients', () => {
  it('@opentelemetry/exporter-zipkin delivers ids, µs timestamps, kind, tags, annotations and service', async () => {
    const recorded = await recordOtelTrace(
      new ZipkinExporter({ url: `http://127.0.0.1:${running.ports.zipkin}/api/v2/spans` }),
    );
    const traceId = recorded[0]?.spanContext().traceId ?? '';
    const got = await receivedSpans(traceId, recorded.length);
    assert.equal(got.length, recorded.length);
    for (const want of recorded) {
      const g = got.find((s) => s.spanId === want.spanContext().spanId);
      assert.ok(g, `span ${want.name} arrived`);
      assert.equal(g.parentSpanId, want.parentSpanContext?.spanId ?? '');
      assert.equal(g.name, want.name);
      // Zipkin carries microseconds: the nanoseconds below are lost by the exporter, not by us.
      assert.equal(g.startTimeUnixNano, exporterMicrosAsNanos(want.startTime));
      const durationMicros = BigInt(Math.round(want.duration[0] * 1e6 + want.duration[1] / 1e3));
      assert.equal(g.endTimeUnixNano - g.startTimeUnixNano, durationMicros * 1000n);
      const zipkinKinds: Record<number, number> = { 0: 1, 1: 2, 2: 3, 3: 4, 4: 5 };
      // Zipkin has no INTERNAL kind: an absent kind maps back to INTERNAL.
      assert.equal(g.kind, zipkinKinds[want.kind]);
      assert.equal(getAttribute(g.resource.attributes, 'service.name'), 'checkout');
      // Zipkin tags are strings: the exporter stringifies scalars, and we keep its text.
      for (const [k, v] of Object.entries(want.attributes)) {
        if (!Array.isArray(v)) assert.equal(getAttribute(g.attributes, k), String(v), `tag ${k}`);
      }
      assert.equal(g.events.length, want.events.length);
      want.events.forEach((e, i) => {
        assert.equal(g.events[i]?.timeUnixNano, exporterMicrosAsNanos(e.time));
      });
      if (want.status.code === SpanStatusCode.ERROR) assert.equal(g.status.code, 2);
    }
  });

  it('zipkin-js with its HTTP logger (JSON v2) delivers every field it records', async () => {
    const zipkin = require('zipkin') as typeof import('zipkin');
    const { HttpLogger } = require('zipkin-transport-http') as typeof import('zipkin-transport-http');
    const sent: Record<string, unknown>[] = [];
    const http = new HttpLogger({
      endpoint: `http://127.0.0.1:${running.ports.zipkin}/api/v2/spans`,
      jsonEncoder: zipkin.jsonEncoder.JSON_V2,
      httpInterval: 50,
    });
    // Tee the logger to keep the exact JSON it sends.
    const logger = {
      logSpan(span: import('zipkin').model.Span) {
        sent.push(JSON.parse(zipkin.jsonEncoder.JSON_V2.encode(span)) as Record<string, unknown>);
        http.logSpan(span);
      },
    };
    const recorder = new zipkin.BatchRecorder({ logger });
    const tracer = new zipkin.Tracer({
      ctxImpl: new zipkin.ExplicitContext(),
      recorder,
      localServiceName: 'inventory',
      traceId128Bit: true,
    });
    const root = tracer.createRootId();
    tracer.setId(root);
    tracer.recordServiceName('inventory');
    tracer.recordRpc('GET /stock');
    tracer.recordAnnotation(new zipkin.Annotation.ServerRecv());
    tracer.recordAnnotation(new zipkin.Annotation.LocalAddr({ host: new zipkin.InetAddress('10.1.2.3'), port: 8080 }));
    tracer.recordBinary('sku', 'A-123');
    tracer.recordBinary('http.status_code', '200');
    tracer.recordMessage('cache miss');
    const child = tracer.createChildId();
    tracer.setId(child);
    tracer.recordServiceName('inventory');
    tracer.recordRpc('SELECT stock');
    tracer.recordAnnotation(new zipkin.Annotation.ClientSend());
    tracer.recordAnnotation(new zipkin.Annotation.ServerAddr({ serviceName: 'postgres', port: 5432 }));
    await new Promise((r) => setTimeout(r, 5));
    tracer.recordAnnotation(new zipkin.Annotation.ClientRecv());
    tracer.setId(root);
    await new Promise((r) => setTimeout(r, 5));
    tracer.recordAnnotation(new zipkin.Annotation.ServerSend());
    const traceId = root.traceId.padStart(32, '0');
    const got = await receivedSpans(traceId, 2);
    assert.equal(sent.length, 2);
    assert.equal(got.length, 2);
    for (const z of sent) {
      const g = got.find((s) => s.spanId === z.id);
      assert.ok(g, `span ${String(z.name)} arrived`);
      assert.equal(g.traceId, String(z.traceId).padStart(32, '0'));
      assert.equal(g.parentSpanId, (z.parentId as string | undefined) ?? '');
      assert.equal(g.name, z.name);
      assert.equal(g.startTimeUnixNano, BigInt(z.timestamp as number) * 1000n);
      assert.equal(g.endTimeUnixNano - g.startTimeUnixNano, BigInt(z.duration as number) * 1000n);
      assert.equal(g.kind, z.kind === 'SERVER' ? 2 : 3);
      const local = z.localEndpoint as { serviceName: string };
      assert.equal(getAttribute(g.resource.attributes, 'service.name'), local.serviceName);
      for (const [k, v] of Object.entries((z.tags as Record<string, string> | undefined) ?? {})) {
        assert.equal(getAttribute(g.attributes, k), v, `tag ${k}`);
      }
      const annotations = (z.annotations as { timestamp: number; value: string }[] | undefined) ?? [];
      assert.deepEqual(
        g.events.map((e) => [e.timeUnixNano, e.name]),
        annotations.map((a) => [BigInt(a.timestamp) * 1000n, a.value]),
      );
    }
    const rootSpan = got.find((s) => s.parentSpanId === '');
    assert.equal(getAttribute(rootSpan?.attributes ?? [], 'sku'), 'A-123');
  });
});

describe('jaeger-client', () => {
  it('delivers ids, µs timestamps, every tag type, logs, references and process tags over HTTP Thrift', async () => {
    const jaeger = require('jaeger-client') as {
      initTracer: (config: object, options: object) => JaegerTracer;
      InMemoryReporter: new () => { spans: JaegerSpan[] };
      CompositeReporter: new (reporters: object[]) => object;
      RemoteReporter: new (sender: object, options?: object) => object;
    };
    const HTTPSender = (
      require('jaeger-client/dist/src/reporters/http_sender.js') as { default: new (o: object) => object }
    ).default;
    const memory = new jaeger.InMemoryReporter();
    const remote = new jaeger.RemoteReporter(
      new HTTPSender({ endpoint: `http://127.0.0.1:${running.ports.jaeger}/api/traces` }),
    );
    const tracer = jaeger.initTracer(
      { serviceName: 'shipping', sampler: { type: 'const', param: 1 }, traceId128bit: true },
      {
        reporter: new jaeger.CompositeReporter([memory, remote]),
        tags: { 'shipping.region': 'eu-west', 'shipping.shards': 4 },
        logger: { info() {}, error() {} },
      },
    );
    const root = tracer.startSpan('dispatch', { tags: { 'span.kind': 'server' } });
    root.setTag('str', 'text');
    root.setTag('long', 1234567);
    root.setTag('double', 2.5);
    root.setTag('bool', true);
    root.log({ event: 'picked', items: 3 });
    const child = tracer.startSpan('label', { childOf: root.context(), tags: { 'span.kind': 'client' } });
    child.setTag('error', true);
    child.finish();
    const follower = tracer.startSpan('notify', { references: [followsFrom(root.context())] });
    follower.finish();
    root.finish();
    await new Promise<void>((resolve) => tracer.close(() => resolve()));

    assert.equal(memory.spans.length, 3);
    const traceId = contextTraceId(memory.spans[0] as JaegerSpan);
    const got = await receivedSpans(traceId, 3);
    assert.equal(got.length, 3);
    for (const j of memory.spans) {
      const ctx = j.context();
      const g = got.find((s) => s.spanId === ctx.spanId.toString('hex'));
      assert.ok(g, `span ${j._operationName} arrived`);
      assert.equal(g.traceId, contextTraceId(j));
      assert.equal(g.name, j._operationName);
      // jaeger-client keeps milliseconds as floats and sends Math.floor-ish microseconds.
      assert.equal(g.startTimeUnixNano / 1000n, BigInt(Math.trunc(j._startTime * 1000)));
      assert.equal((g.endTimeUnixNano - g.startTimeUnixNano) / 1000n, BigInt(Math.trunc(j._duration * 1000)));
      assert.equal(getAttribute(g.resource.attributes, 'service.name'), 'shipping');
      assert.equal(getAttribute(g.resource.attributes, 'shipping.region'), 'eu-west');
      // jaeger-client sends every JS number as a DOUBLE tag.
      assert.equal(getAttribute(g.resource.attributes, 'shipping.shards'), 4);
    }
    const r = got.find((s) => s.name === 'dispatch');
    const c = got.find((s) => s.name === 'label');
    const f = got.find((s) => s.name === 'notify');
    assert.ok(r && c && f);
    assert.equal(r.parentSpanId, '');
    assert.equal(r.kind, 2);
    assert.equal(getAttribute(r.attributes, 'str'), 'text');
    assert.equal(getAttribute(r.attributes, 'long'), 1234567);
    assert.equal(getAttribute(r.attributes, 'double'), 2.5);
    assert.equal(getAttribute(r.attributes, 'bool'), true);
    assert.equal(getAttribute(r.attributes, 'span.kind'), undefined, 'span.kind became the kind');
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0]?.name, 'picked');
    assert.equal(getAttribute(r.events[0]?.attributes ?? [], 'items'), 3);
    assert.equal(c.parentSpanId, r.spanId);
    assert.equal(c.kind, 3);
    assert.equal(c.status.code, 2, 'error=true became an error status');
    // A FOLLOWS_FROM reference alone still makes the parent, as Jaeger's translator does.
    assert.equal(f.parentSpanId, r.spanId);
  });
});

interface JaegerContext {
  traceId: Buffer;
  spanId: Buffer;
}
interface JaegerSpan {
  _operationName: string;
  _startTime: number;
  _duration: number;
  context(): JaegerContext;
  setTag(k: string, v: unknown): void;
  log(fields: object): void;
  finish(): void;
}
interface JaegerTracer {
  startSpan(name: string, options?: object): JaegerSpan;
  close(cb: () => void): void;
}

function followsFrom(ctx: JaegerContext): object {
  const { opentracing } = require('jaeger-client') as {
    opentracing: { followsFrom: (c: JaegerContext) => object };
  };
  return opentracing.followsFrom(ctx);
}

function contextTraceId(span: JaegerSpan): string {
  return span.context().traceId.toString('hex').padStart(32, '0');
}
