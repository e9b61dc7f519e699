/**
 * Messaging helpers with each carrier kind, our W3C propagators as the
 * global propagator and our TracerProvider (spans collected in memory).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, type SpanContext, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { getAttribute, type Span } from '@traceloom/model';
import { CompositePropagator } from '../propagation/composite.ts';
import { W3CBaggagePropagator } from '../propagation/w3c-baggage.ts';
import { W3CTraceContextPropagator } from '../propagation/w3c-trace-context.ts';
import { TracerProvider } from '../trace/tracer-provider.ts';
import type { SpanProcessor } from '../trace/types.ts';
import {
  type AmqpHeaders,
  amqpHeadersGetter,
  type KafkaHeaders,
  kafkaHeadersGetter,
  type MessageCarrierKind,
  type MessageCarriers,
  type NatsHeaders,
  natsHeadersGetter,
} from './carriers.ts';
import { extractMessageContext, injectMessageContext } from './message-context.ts';
import { MESSAGING_TRACER_NAME, startBatchConsumerSpan, startConsumerSpan, startProducerSpan } from './spans.ts';

/** An in-memory stand-in for the `nats` client's `MsgHdrs`. */
class FakeNatsHeaders implements NatsHeaders {
  readonly map = new Map<string, string>();
  get(key: string): string {
    return this.map.get(key) ?? '';
  }
  set(key: string, value: string): void {
    this.map.set(key, value);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
}

const finished: Span[] = [];
const collector: SpanProcessor = {
  onStart() {},
  onEnd: (s) => finished.push(s),
  forceFlush: async () => {},
  shutdown: async () => {},
};
let provider: TracerProvider;

before(() => {
  provider = new TracerProvider({ serviceName: 'messaging-test', spanProcessors: [collector], env: {} });
  provider.register({
    propagator: new CompositePropagator([new W3CTraceContextPropagator(), new W3CBaggagePropagator()]),
  });
});

after(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

beforeEach(() => {
  finished.length = 0;
});

const remote: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};

function emptyHeaders<K extends MessageCarrierKind>(kind: K): MessageCarriers[K] {
  return (kind === 'nats' ? new FakeNatsHeaders() : {}) as MessageCarriers[K];
}

const kinds: MessageCarrierKind[] = ['amqp', 'kafka', 'nats'];

describe('inject then extract round-trips the span context', () => {
  for (const kind of kinds) {
    it(`with ${kind} headers`, () => {
      const headers = emptyHeaders(kind);
      const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
      const ctx = propagation.setBaggage(trace.setSpanContext(ROOT_CONTEXT, remote), bag);
      injectMessageContext(headers, kind, ctx);
      const back = extractMessageContext(headers, kind);
      assert.deepEqual(trace.getSpanContext(back), remote);
      assert.equal(propagation.getBaggage(back)?.getEntry('tenant')?.value, 'acme');
    });
  }

  it('returns the base context for missing or invalid headers', () => {
    assert.equal(extractMessageContext(undefined, 'amqp'), ROOT_CONTEXT);
    assert.equal(trace.getSpanContext(extractMessageContext({ traceparent: 'garbage' }, 'kafka')), undefined);
    assert.equal(trace.getSpanContext(extractMessageContext(new FakeNatsHeaders(), 'nats')), undefined);
  });

  it('writes nothing when the context has no span', () => {
    const headers: AmqpHeaders = {};
    injectMessageContext(headers, 'amqp', ROOT_CONTEXT);
    assert.deepEqual(headers, {});
  });
});

describe('carrier getters', () => {
  const tp = `00-${remote.traceId}-${remote.spanId}-01`;

  it('amqp: reads Buffer and string values, and a differently-cased key', () => {
    assert.equal(amqpHeadersGetter.get({ traceparent: Buffer.from(tp) }, 'traceparent'), tp);
    assert.equal(amqpHeadersGetter.get({ Traceparent: tp }, 'traceparent'), tp);
    assert.equal(amqpHeadersGetter.get({ traceparent: 42 }, 'traceparent'), undefined);
    assert.deepEqual(trace.getSpanContext(extractMessageContext({ traceparent: Buffer.from(tp) }, 'amqp')), remote);
  });

  it('kafka: reads Buffers, strings and arrays', () => {
    const headers: KafkaHeaders = {
      traceparent: Buffer.from(tp),
      a: [Buffer.from('x'), 'y'],
      b: [Buffer.from('z')],
      c: undefined,
    };
    assert.equal(kafkaHeadersGetter.get(headers, 'traceparent'), tp);
    assert.deepEqual(kafkaHeadersGetter.get(headers, 'a'), ['x', 'y']);
    assert.equal(kafkaHeadersGetter.get(headers, 'b'), 'z');
    assert.equal(kafkaHeadersGetter.get(headers, 'c'), undefined);
    assert.deepEqual(kafkaHeadersGetter.keys(headers), ['traceparent', 'a', 'b', 'c']);
    assert.deepEqual(trace.getSpanContext(extractMessageContext({ traceparent: [Buffer.from(tp)] }, 'kafka')), remote);
    // Two traceparent values are invalid (W3C trace context).
    assert.equal(trace.getSpanContext(extractMessageContext({ traceparent: [tp, tp] }, 'kafka')), undefined);
  });

  it('nats: the empty string MsgHdrs answers for a missing key counts as absent', () => {
    const headers = new FakeNatsHeaders();
    assert.equal(natsHeadersGetter.get(headers, 'traceparent'), undefined);
    headers.set('traceparent', tp);
    assert.equal(natsHeadersGetter.get(headers, 'traceparent'), tp);
    assert.deepEqual(natsHeadersGetter.keys(headers), ['traceparent']);
    // Not a MsgHdrs: nothing read, nothing thrown.
    assert.equal(natsHeadersGetter.get({} as NatsHeaders, 'traceparent'), undefined);
  });
});

function attr(span: Span, key: string): unknown {
  return getAttribute(span.attributes, key);
}

describe('producer and consumer spans', () => {
  for (const kind of kinds) {
    it(`producer -> consumer keeps one trace (${kind})`, () => {
      const headers = emptyHeaders(kind);
      const producer = startProducerSpan(undefined, {
        system: 'rabbitmq',
        destination: 'orders',
        headers,
        carrier: kind,
        attributes: { 'messaging.message.id': 'm-1', 'messaging.system': 'overridden?' },
      });
      producer.span.end();
      const consumer = startConsumerSpan(undefined, {
        system: 'rabbitmq',
        destination: 'orders',
        headers,
        carrier: kind,
      });
      consumer.span.end();
      assert.equal(trace.getSpan(consumer.context), consumer.span);
      const [p, c] = finished as [Span, Span];
      assert.equal(p.name, 'publish orders');
      assert.equal(p.kind, SpanKind.PRODUCER + 1); // OTLP numbering is the API's plus one
      assert.equal(attr(p, 'messaging.system'), 'rabbitmq');
      assert.equal(attr(p, 'messaging.destination.name'), 'orders');
      assert.equal(attr(p, 'messaging.operation.type'), 'send');
      assert.equal(attr(p, 'messaging.operation.name'), 'publish');
      assert.equal(attr(p, 'messaging.message.id'), 'm-1');
      assert.equal(p.scope.name, MESSAGING_TRACER_NAME);
      assert.equal(c.name, 'process orders');
      assert.equal(c.kind, SpanKind.CONSUMER + 1);
      assert.equal(attr(c, 'messaging.operation.type'), 'process');
      assert.equal(c.traceId, p.traceId);
      assert.equal(c.parentSpanId, p.spanId);
    });
  }

  it('the producer span is a child of the active span and receive makes a CLIENT span', () => {
    const tracer = provider.getTracer('app');
    const root = tracer.startSpan('handler');
    const headers: KafkaHeaders = {};
    const producer = context.with(trace.setSpan(ROOT_CONTEXT, root), () =>
      startProducerSpan(tracer, {
        system: 'kafka',
        destination: 'payments',
        operation: 'send',
        headers,
        carrier: 'kafka',
      }),
    );
    producer.span.end();
    root.end();
    const consumer = startConsumerSpan(tracer, {
      system: 'kafka',
      destination: 'payments',
      operation: 'receive',
      headers,
      carrier: 'kafka',
    });
    consumer.span.end();
    const [p, r, c] = finished as [Span, Span, Span];
    assert.equal(p.name, 'send payments');
    assert.equal(p.parentSpanId, r.spanId);
    assert.equal(c.name, 'receive payments');
    assert.equal(c.kind, SpanKind.CLIENT + 1);
    assert.equal(c.parentSpanId, p.spanId);
  });

  it('a consumer span without headers is a root span', () => {
    const { span } = startConsumerSpan(undefined, {
      system: 'nats',
      destination: 'jobs',
      headers: undefined,
      carrier: 'nats',
    });
    span.end();
    assert.equal(finished[0]?.parentSpanId, '');
  });

  it('a batch consumer span links to each message and is parented by the active context', () => {
    const a = emptyHeaders('kafka');
    const b = emptyHeaders('kafka');
    const pa = startProducerSpan(undefined, { system: 'kafka', destination: 't', headers: a, carrier: 'kafka' });
    const pb = startProducerSpan(undefined, { system: 'kafka', destination: 't', headers: b, carrier: 'kafka' });
    pa.span.end();
    pb.span.end();
    const { span } = startBatchConsumerSpan(undefined, {
      system: 'kafka',
      destination: 't',
      carrier: 'kafka',
      messages: [a, b, undefined, { traceparent: 'bad' }],
    });
    span.end();
    const batch = finished[2] as Span;
    assert.equal(batch.name, 'process t');
    assert.equal(batch.parentSpanId, '');
    assert.notEqual(pa.span.spanContext().traceId, pb.span.spanContext().traceId);
    assert.deepEqual(
      batch.links.map((l) => [l.traceId, l.spanId]),
      [
        [pa.span.spanContext().traceId, pa.span.spanContext().spanId],
        [pb.span.spanContext().traceId, pb.span.spanContext().spanId],
      ],
    );
    assert.equal(Number(attr(batch, 'messaging.batch.message_count')), 4);
  });

  it('an unsampled producer still writes its (unsampled) context into the headers', () => {
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { ...remote, traceFlags: TraceFlags.NONE });
    const headers: AmqpHeaders = {};
    const { span } = startProducerSpan(undefined, {
      system: 'rabbitmq',
      destination: 'q',
      headers,
      carrier: 'amqp',
      context: unsampled,
    });
    span.end();
    assert.equal(finished.length, 0);
    assert.match(String(headers.traceparent), new RegExp(`^00-${remote.traceId}-[0-9a-f]{16}-00$`));
  });

  it('a throwing tracer gives a non-recording span, not an exception', () => {
    const broken = {
      startSpan() {
        throw new Error('boom');
      },
      startActiveSpan() {
        throw new Error('boom');
      },
    } as unknown as import('@opentelemetry/api').Tracer;
    const headers: AmqpHeaders = {};
    const parent = trace.setSpanContext(ROOT_CONTEXT, remote);
    const { span } = startProducerSpan(broken, {
      system: 'x',
      destination: 'd',
      headers,
      carrier: 'amqp',
      context: parent,
    });
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, remote.traceId);
  });
});
