import {
  type Attributes,
  type Context,
  context,
  diag,
  INVALID_SPAN_CONTEXT,
  type Link,
  type Span,
  SpanKind,
  type SpanOptions,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { SDK_VERSION } from '../resource/resource.ts';
import type { MessageCarrierKind, MessageCarriers } from './carriers.ts';
import { extractMessageContext, injectMessageContext } from './message-context.ts';

/** The instrumentation scope of spans made with the default tracer. */
export const MESSAGING_TRACER_NAME = '@traceloom/sdk/messaging';

/** Semantic-convention attribute keys the helpers set (messaging semconv, 1.26 and later). */
export const MESSAGING_ATTRIBUTES = Object.freeze({
  SYSTEM: 'messaging.system',
  DESTINATION_NAME: 'messaging.destination.name',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  BATCH_MESSAGE_COUNT: 'messaging.batch.message_count',
} as const);

/** What every messaging span describes. */
export interface MessagingSpanBaseOptions {
  /** `messaging.system`: `rabbitmq`, `kafka`, `nats`, or any other system name. */
  system: 'rabbitmq' | 'kafka' | 'nats' | (string & {});
  /** `messaging.destination.name`: the exchange, topic, queue or subject. Keep it low-cardinality: it is in the span name. */
  destination: string;
  /** More attributes (message id, routing key, partition, ...), set at start so samplers see them. */
  attributes?: Attributes;
}

/** Options of {@link startProducerSpan}. */
export interface ProducerSpanOptions<K extends MessageCarrierKind> extends MessagingSpanBaseOptions {
  /** The outgoing message's headers; the new span's context is written into them. */
  headers: MessageCarriers[K];
  /** How the headers are shaped. */
  carrier: K;
  /** `messaging.operation.name`, the first word of the span name. @default 'publish' */
  operation?: 'publish' | 'send';
  /** The parent context. @default the active context */
  context?: Context;
}

/** Options of {@link startConsumerSpan}. */
export interface ConsumerSpanOptions<K extends MessageCarrierKind> extends MessagingSpanBaseOptions {
  /** The received message's headers (missing headers make a root span). */
  headers: MessageCarriers[K] | undefined;
  /** How the headers are shaped. */
  carrier: K;
  /**
   * `process` (a CONSUMER span: the message is handled) or `receive` (a CLIENT
   * span: the application pulled it). @default 'process'
   */
  operation?: 'process' | 'receive';
}

/** Options of {@link startBatchConsumerSpan}. */
export interface BatchConsumerSpanOptions<K extends MessageCarrierKind> extends MessagingSpanBaseOptions {
  /** The headers of each message of the batch; each valid producer context becomes a link. */
  messages: readonly (MessageCarriers[K] | undefined)[];
  /** How the headers are shaped. */
  carrier: K;
  /** @default 'process' */
  operation?: 'process' | 'receive';
  /** The parent context: a batch has no single producer. @default the active context */
  context?: Context;
}

/** A started messaging span and the context to run the work it covers in. */
export interface MessagingSpan {
  /** The span; end it when the publish (or the processing) is done. */
  readonly span: Span;
  /** The span's context: for a consumer, the producer's baggage plus this span. Use it with `context.with`. */
  readonly context: Context;
}

function defaultTracer(): Tracer {
  return trace.getTracer(MESSAGING_TRACER_NAME, SDK_VERSION);
}

// A foreign tracer may throw; the helpers never throw into user code, so a
// failure gives a non-recording span that still carries the parent's context.
function startSafely(tracer: Tracer | undefined, name: string, options: SpanOptions, parent: Context): Span {
  try {
    return (tracer ?? defaultTracer()).startSpan(name, options, parent);
  } catch (err) {
    diag.error('traceloom: starting a messaging span failed', err);
    return trace.wrapSpanContext(trace.getSpanContext(parent) ?? INVALID_SPAN_CONTEXT);
  }
}

function baseAttributes(options: MessagingSpanBaseOptions, operationType: string, operationName: string): Attributes {
  // User attributes first so the semconv keys the helper owns win.
  return {
    ...options.attributes,
    [MESSAGING_ATTRIBUTES.SYSTEM]: options.system,
    [MESSAGING_ATTRIBUTES.DESTINATION_NAME]: options.destination,
    [MESSAGING_ATTRIBUTES.OPERATION_TYPE]: operationType,
    [MESSAGING_ATTRIBUTES.OPERATION_NAME]: operationName,
  };
}

/**
 * Starts a PRODUCER span named `{operation} {destination}` (messaging
 * semconv: `{messaging.operation.name} {destination}`, operation type
 * `send`) as a child of the active context, and writes its context into the
 * message headers so the consumer continues the trace. Also when the span is
 * not sampled the headers are written: the consumer must see that decision.
 *
 * @param tracer the tracer to use; `undefined` takes `@traceloom/sdk/messaging` from the global provider
 * @example
 * const headers = {};
 * const { span } = startProducerSpan(undefined, { system: 'rabbitmq', destination: 'orders', headers, carrier: 'amqp' });
 * channel.publish('orders', '', body, { headers });
 * span.end();
 */
export function startProducerSpan<K extends MessageCarrierKind>(
  tracer: Tracer | undefined,
  options: ProducerSpanOptions<K>,
): MessagingSpan {
  const operation = options.operation ?? 'publish';
  const parent = options.context ?? context.active();
  const span = startSafely(
    tracer,
    `${operation} ${options.destination}`,
    { kind: SpanKind.PRODUCER, attributes: baseAttributes(options, 'send', operation) },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  injectMessageContext(options.headers, options.carrier, ctx);
  return { span, context: ctx };
}

/**
 * Starts the span of one received message, named `{operation} {destination}`,
 * whose parent is the producer's context read from the headers (single
 * message: parent-child keeps the trace in one piece). `process` makes a
 * CONSUMER span, `receive` a CLIENT span (messaging semconv span kinds).
 * The returned context also carries the baggage the producer sent.
 *
 * @param tracer the tracer to use; `undefined` takes `@traceloom/sdk/messaging` from the global provider
 * @example
 * const { span, context: ctx } = startConsumerSpan(undefined, {
 *   system: 'rabbitmq', destination: 'orders', headers: msg.properties.headers, carrier: 'amqp' });
 * await context.with(ctx, () => handle(msg));
 * span.end();
 */
export function startConsumerSpan<K extends MessageCarrierKind>(
  tracer: Tracer | undefined,
  options: ConsumerSpanOptions<K>,
): MessagingSpan {
  const operation = options.operation ?? 'process';
  const parent = extractMessageContext(options.headers, options.carrier);
  const span = startSafely(
    tracer,
    `${operation} ${options.destination}`,
    {
      kind: operation === 'receive' ? SpanKind.CLIENT : SpanKind.CONSUMER,
      attributes: baseAttributes(options, operation, operation),
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Starts one span for a batch of messages: its parent is the active context
 * (a batch has no single producer) and it has a LINK to each message's
 * producer context, given at start so samplers see them. Messages without a
 * valid context get no link. Sets `messaging.batch.message_count`.
 *
 * @param tracer the tracer to use; `undefined` takes `@traceloom/sdk/messaging` from the global provider
 * @example
 * const { span } = startBatchConsumerSpan(undefined, {
 *   system: 'kafka', destination: 'orders', carrier: 'kafka', messages: batch.messages.map((m) => m.headers) });
 */
export function startBatchConsumerSpan<K extends MessageCarrierKind>(
  tracer: Tracer | undefined,
  options: BatchConsumerSpanOptions<K>,
): MessagingSpan {
  const operation = options.operation ?? 'process';
  const parent = options.context ?? context.active();
  const links: Link[] = [];
  for (const headers of options.messages) {
    const sc = trace.getSpanContext(extractMessageContext(headers, options.carrier));
    if (sc !== undefined && trace.isSpanContextValid(sc)) links.push({ context: sc });
  }
  const attributes = baseAttributes(options, operation, operation);
  attributes[MESSAGING_ATTRIBUTES.BATCH_MESSAGE_COUNT] = options.messages.length;
  const span = startSafely(
    tracer,
    `${operation} ${options.destination}`,
    { kind: operation === 'receive' ? SpanKind.CLIENT : SpanKind.CONSUMER, attributes, links },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}
