/**
 * Messaging helpers against a real RabbitMQ on 127.0.0.1:5672 (guest/guest),
 * through amqplib: context travels in AMQP message headers from a producer
 * span to the consumer span, and a batch consumer span links to messages
 * from different traces. Fails (does not skip) when RabbitMQ is unreachable.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Span } from '@traceloom/model';
import amqp from 'amqplib';
import { W3CTraceContextPropagator } from '../propagation/w3c-trace-context.ts';
import { TracerProvider } from '../trace/tracer-provider.ts';
import type { SpanProcessor } from '../trace/types.ts';
import type { AmqpHeaders } from './carriers.ts';
import { startBatchConsumerSpan, startConsumerSpan, startProducerSpan } from './spans.ts';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const finished: Span[] = [];
const collector: SpanProcessor = {
  onStart() {},
  onEnd: (s) => finished.push(s),
  forceFlush: async () => {},
  shutdown: async () => {},
};
let connection: amqp.ChannelModel;
let channel: amqp.Channel;
let queue: string;

before(async () => {
  try {
    connection = await amqp.connect(URL);
  } catch (err) {
    throw new Error(`RabbitMQ is not reachable at ${URL} (start it, e.g. a rabbitmq container on port 5672): ${err}`);
  }
  channel = await connection.createChannel();
  queue = `traceloom-messaging-test-${randomUUID()}`;
  // Exclusive: removed when the connection closes (not autoDelete, which would drop it when the first consumer cancels).
  await channel.assertQueue(queue, { exclusive: true });
  new TracerProvider({ serviceName: 'rabbitmq-test', spanProcessors: [collector], env: {} }).register({
    propagator: new W3CTraceContextPropagator(),
  });
});

after(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  await connection?.close();
});

function publish(headers: AmqpHeaders, body: string): void {
  channel.sendToQueue(queue, Buffer.from(body), { headers });
}

it('a consumer span started from a received message is the child of the producer span', async () => {
  finished.length = 0;
  const headers: AmqpHeaders = {};
  const producer = startProducerSpan(undefined, { system: 'rabbitmq', destination: queue, headers, carrier: 'amqp' });
  publish(headers, 'order 1');
  producer.span.end();

  let deliver: (msg: amqp.ConsumeMessage) => void = () => {};
  const delivered = new Promise<amqp.ConsumeMessage>((resolve) => {
    deliver = resolve;
  });
  const { consumerTag } = await channel.consume(queue, (msg) => {
    if (msg !== null) deliver(msg);
  });
  const received = await delivered;
  // Stop consuming so the batch test can pull its messages.
  await channel.cancel(consumerTag);
  channel.ack(received);
  assert.equal(received.content.toString(), 'order 1');

  const consumer = startConsumerSpan(undefined, {
    system: 'rabbitmq',
    destination: queue,
    headers: received.properties.headers,
    carrier: 'amqp',
  });
  consumer.span.end();

  const [p, c] = finished as [Span, Span];
  assert.equal(p.name, `publish ${queue}`);
  assert.equal(c.name, `process ${queue}`);
  assert.equal(c.traceId, p.traceId);
  assert.equal(c.parentSpanId, p.spanId);
});

it('a batch consumer span links to two messages from different traces', async () => {
  finished.length = 0;
  const first: AmqpHeaders = {};
  const second: AmqpHeaders = {};
  const p1 = startProducerSpan(undefined, {
    system: 'rabbitmq',
    destination: queue,
    headers: first,
    carrier: 'amqp',
    context: ROOT_CONTEXT,
  });
  const p2 = startProducerSpan(undefined, {
    system: 'rabbitmq',
    destination: queue,
    headers: second,
    carrier: 'amqp',
    context: ROOT_CONTEXT,
  });
  publish(first, 'a');
  // A Buffer header value travels as an AMQP byte array and comes back as a Buffer.
  publish({ traceparent: Buffer.from(String(second.traceparent)) }, 'b');
  p1.span.end();
  p2.span.end();
  assert.notEqual(p1.span.spanContext().traceId, p2.span.spanContext().traceId);

  const messages: amqp.GetMessage[] = [];
  for (let attempt = 0; messages.length < 2 && attempt < 200; attempt++) {
    const msg = await channel.get(queue, { noAck: true });
    if (msg === false) await new Promise((resolve) => setTimeout(resolve, 10));
    else messages.push(msg);
  }
  assert.equal(messages.length, 2, 'both messages should arrive');
  assert.ok(Buffer.isBuffer(messages[1]?.properties.headers?.traceparent), 'the second header came back as a Buffer');

  const batch = startBatchConsumerSpan(undefined, {
    system: 'rabbitmq',
    destination: queue,
    carrier: 'amqp',
    operation: 'receive',
    messages: messages.map((m) => m.properties.headers),
  });
  batch.span.end();
  const b = finished.at(-1) as Span;
  assert.equal(b.name, `receive ${queue}`);
  assert.deepEqual(
    b.links.map((l) => [l.traceId, l.spanId]),
    [p1, p2].map((p) => [p.span.spanContext().traceId, p.span.spanContext().spanId]),
  );
  assert.notEqual(b.traceId, p1.span.spanContext().traceId);
  assert.notEqual(b.traceId, p2.span.spanContext().traceId);
});
