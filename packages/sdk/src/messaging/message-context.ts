import { type Context, context, diag, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import {
  MESSAGE_HEADER_GETTERS,
  MESSAGE_HEADER_SETTERS,
  type MessageCarrierKind,
  type MessageCarriers,
} from './carriers.ts';

/**
 * Writes the trace context of `ctx` (default: the active context) into
 * message headers through the global propagator, so whatever propagators
 * the application registered (W3C, B3, Jaeger, ...) are used. Returns the
 * same headers object. Never throws: a failing propagator is reported to
 * the diag logger.
 *
 * @example
 * const headers = {};
 * injectMessageContext(headers, 'amqp');
 * channel.publish('shop', 'orders', body, { headers });
 */
export function injectMessageContext<K extends MessageCarrierKind>(
  headers: MessageCarriers[K],
  carrierKind: K,
  ctx: Context = context.active(),
): MessageCarriers[K] {
  try {
    propagation.inject(ctx, headers, MESSAGE_HEADER_SETTERS[carrierKind]);
  } catch (err) {
    diag.error('traceloom: injecting message context failed', err);
  }
  return headers;
}

/**
 * Reads the trace context a producer put into message headers, through the
 * global propagator. The result is built on `base`, by default the root
 * context: a message's context belongs to its producer, not to whatever
 * happens to be active in the consumer. Missing or invalid headers give
 * `base` back unchanged.
 *
 * @example
 * const producerCtx = extractMessageContext(msg.properties.headers ?? {}, 'amqp');
 */
export function extractMessageContext<K extends MessageCarrierKind>(
  headers: MessageCarriers[K] | undefined,
  carrierKind: K,
  base: Context = ROOT_CONTEXT,
): Context {
  if (headers === undefined || headers === null) return base;
  try {
    return propagation.extract(base, headers, MESSAGE_HEADER_GETTERS[carrierKind]);
  } catch (err) {
    diag.error('traceloom: extracting message context failed', err);
    return base;
  }
}
