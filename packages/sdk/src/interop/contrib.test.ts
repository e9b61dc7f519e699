/**
 * Interop with the OpenTelemetry contrib instrumentations: PgInstrumentation,
 * IORedisInstrumentation and AmqplibInstrumentation, registered against the
 * Traceloom TracerProvider (and its AsyncLocalStorage context manager and
 * W3C propagator), trace real PostgreSQL, Redis and RabbitMQ servers, and the
 * spans arrive at a Traceloom OTLP receiver through the SDK's own
 * BatchSpanProcessor and OtlpHttpExporter.
 *
 * The services run on this machine (and in CI on the same machine): a service
 * that is down fails the test, it is never skipped.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { test } from 'node:test';
import { type Span as ApiSpan, context, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { getAttribute, type Span, SpanKind } from '@traceloom/model';
import { startReceivers } from '../../../server/src/receivers/index.ts';
import { RecordingSink } from '../../../server/src/receivers/sink.ts';
import { BatchSpanProcessor } from '../export/batch-span-processor.ts';
import { OtlpHttpExporter } from '../export/otlp-http-exporter.ts';
import { TracerProvider } from '../trace/tracer-provider.ts';

const HOST = '127.0.0.1';
const PG = { port: 5432, user: process.env.PGUSER ?? 'postgres', database: 'test' };
const REDIS_PORT = 6379;
const AMQP_URL = `amqp://guest:guest@${HOST}:5672`;

/** Fails (never skips) with a message naming the service when nothing listens on its port. */
async function requireService(name: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: HOST, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('connection timed out'));
    });
    socket.once('error', reject);
  }).catch((err: unknown) => {
    assert.fail(
      `${name} is not reachable at ${HOST}:${port} (${String(err)}); this test needs it running (CI runs it on this machine)`,
    );
  });
}

test('pg, ioredis and amqplib contrib instrumentations trace through the Traceloom provider', async () => {
  await requireService('PostgreSQL', PG.port);
  await requireService('Redis', REDIS_PORT);
  await requireService('RabbitMQ', 5672);

  const sink = new RecordingSink();
  const receivers = await startReceivers(sink, {
    otlpHttp: { host: HOST, port: 0 },
    otlpGrpc: false,
    zipkin: false,
    jaeger: false,
  });
  const provider = new TracerProvider({
    serviceName: 'contrib-interop',
    spanProcessors: [
      new BatchSpanProcessor(new OtlpHttpExporter({ url: `http://${HOST}:${receivers.ports.otlpHttp}/v1/traces` }), {
        scheduledDelayMillis: 60_000,
        flushOnExit: false,
      }),
    ],
  }).register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new PgInstrumentation(), new IORedisInstrumentation(), new AmqplibInstrumentation()],
  });
  try {
    // The instrumentations patch through require hooks: load the clients only now.
    const require = createRequire(import.meta.url);
    const pg = require('pg') as typeof import('pg');
    const { default: Redis } = require('ioredis') as typeof import('ioredis');
    const amqp = require('amqplib') as typeof import('amqplib');

    const queue = `traceloom-interop-${process.pid}-${Date.now()}`;
    const redisKey = `traceloom:interop:${process.pid}`;
    let parentSpanId = '';
    let headersSeen: unknown;
    let activeInConsumer: ApiSpan | undefined;

    const tracer = provider.getTracer('interop-test');
    await tracer.startActiveSpan('checkout', { kind: 0 }, async (parent) => {
      parentSpanId = parent.spanContext().spanId;
      try {
        const client = new pg.Client({ host: HOST, ...PG });
        await client.connect();
        try {
          const result = await client.query('SELECT 1 + 1 AS two');
          assert.equal(result.rows[0]?.two, 2);
        } finally {
          await client.end();
        }

        const redis = new Redis({ host: HOST, port: REDIS_PORT, lazyConnect: true, maxRetriesPerRequest: 1 });
        await redis.connect();
        try {
          await redis.set(redisKey, 'woven');
          assert.equal(await redis.get(redisKey), 'woven');
          await redis.del(redisKey);
        } finally {
          await redis.quit();
        }

        const connection = await amqp.connect(AMQP_URL);
        try {
          const channel = await connection.createChannel();
          await channel.assertQueue(queue, { exclusive: true, autoDelete: true });
          const consumed = new Promise<void>((resolve, reject) => {
            // The consumer callback runs from the socket, outside `checkout`:
            // only the message headers can carry the trace over.
            channel
              .consume(queue, (msg) => {
                if (msg === null) return;
                headersSeen = msg.properties.headers;
                activeInConsumer = trace.getSpan(context.active());
                channel.ack(msg);
                resolve();
              })
              .catch(reject);
          });
          assert.ok(channel.sendToQueue(queue, Buffer.from('hello')));
          await consumed;
          await channel.close();
        } finally {
          await connection.close();
        }
      } finally {
        parent.end();
      }
    });
    await provider.forceFlush();

    const spans = sink.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parent = byId.get(parentSpanId);
    assert.ok(parent, 'the parent span arrived');
    const traceId = parent.traceId;
    const describe = (s: Span) => `${s.name} (${s.scope.name})`;
    const of = (scope: string, kind: number) =>
      spans.filter((s) => s.scope.name === `@opentelemetry/instrumentation-${scope}` && s.kind === kind);

    const pgQuery = of('pg', SpanKind.CLIENT).find((s) =>
      /SELECT/i.test(String(getAttribute(s.attributes, 'db.statement') ?? getAttribute(s.attributes, 'db.query.text'))),
    );
    assert.ok(pgQuery, `a pg query span arrived; got ${spans.map(describe).join(', ')}`);
    const redisSpans = of('ioredis', SpanKind.CLIENT);
    const redisSet = redisSpans.find((s) => s.name === 'set');
    const redisGet = redisSpans.find((s) => s.name === 'get');
    assert.ok(redisSet && redisGet, `redis set and get spans arrived; got ${redisSpans.map(describe).join(', ')}`);
    const producer = of('amqplib', SpanKind.PRODUCER)[0];
    const consumer = of('amqplib', SpanKind.CONSUMER)[0];
    assert.ok(producer, `an amqp producer span arrived; got ${spans.map(describe).join(', ')}`);
    assert.ok(consumer, `an amqp consumer span arrived; got ${spans.map(describe).join(', ')}`);

    for (const child of [pgQuery, redisSet, redisGet, producer]) {
      assert.equal(child.traceId, traceId, `${describe(child)} is in the parent's trace`);
      assert.equal(child.parentSpanId, parentSpanId, `${describe(child)} is a child of the parent span`);
      assert.equal(getAttribute(child.resource.attributes, 'service.name'), 'contrib-interop');
    }

    // Semantic-convention attributes, old or stable names (the instrumentations
    // pick by OTEL_SEMCONV_STABILITY_OPT_IN).
    const attr = (s: Span, ...keys: string[]) =>
      keys.map((k) => getAttribute(s.attributes, k)).find((v) => v !== undefined);
    assert.equal(attr(pgQuery, 'db.system', 'db.system.name'), 'postgresql');
    assert.equal(attr(pgQuery, 'db.name', 'db.namespace'), PG.database);
    assert.equal(attr(redisSet, 'db.system', 'db.system.name'), 'redis');
    assert.match(String(attr(redisSet, 'db.statement', 'db.query.text')), /^set /);
    assert.equal(attr(producer, 'messaging.system'), 'rabbitmq');
    // sendToQueue publishes to the default exchange ('') with the queue as routing key.
    assert.equal(attr(producer, 'messaging.destination', 'messaging.destination.name'), '');
    assert.equal(attr(producer, 'messaging.rabbitmq.routing_key', 'messaging.rabbitmq.destination.routing_key'), queue);

    // The context crossed RabbitMQ in the message headers, injected by our propagator.
    const headers = headersSeen as Record<string, unknown> | undefined;
    assert.match(String(headers?.traceparent), new RegExp(`^00-${traceId}-${producer.spanId}-01$`));
    assert.equal(consumer.traceId, traceId, "the consumer span is in the producer's trace");
    assert.equal(consumer.parentSpanId, producer.spanId, 'the consumer span continues the producer span');
    assert.equal(
      activeInConsumer?.spanContext().spanId,
      consumer.spanId,
      'the consumer span is active in the callback',
    );
  } finally {
    unregister();
    await provider.shutdown();
    await receivers.close();
  }
});
