import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/**
 * The header shapes the messaging helpers know:
 * - `amqp`: amqplib's `properties.headers` (publish `options.headers`), values
 *   a string or a Buffer (RabbitMQ hands long strings back as Buffers).
 * - `kafka`: kafkajs `message.headers`, values a Buffer, a string, an array of
 *   them or undefined.
 * - `nats`: the `nats` client's `MsgHdrs` (anything with `get`, `set`, `keys`).
 */
export type MessageCarrierKind = 'amqp' | 'kafka' | 'nats';

/** amqplib message headers (`properties.headers`): a plain object. */
export type AmqpHeaders = Record<string, unknown>;

/** One kafkajs header value. */
export type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** kafkajs message headers (`IHeaders`). */
export type KafkaHeaders = Record<string, KafkaHeaderValue>;

/**
 * The part of the `nats` client's `MsgHdrs` the helpers use, typed
 * structurally so the `nats` package is not needed. `get` answers `''`
 * for a missing key, as `MsgHdrs` does.
 */
export interface NatsHeaders {
  get(key: string): string;
  set(key: string, value: string): void;
  keys(): string[];
}

/** Maps each carrier kind to its header type. */
export interface MessageCarriers {
  amqp: AmqpHeaders;
  kafka: KafkaHeaders;
  nats: NatsHeaders;
}

function decodeHeaderValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  // amqplib decodes some tables as Uint8Array-like; anything else (numbers, tables) is not a propagation header.
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return undefined;
}

// Headers of AMQP and Kafka are case-sensitive, but some clients write
// `Traceparent`; the exact key is tried first, a case-insensitive scan after.
function findKey(carrier: Record<string, unknown>, key: string): string | undefined {
  if (Object.hasOwn(carrier, key)) return key;
  const lower = key.toLowerCase();
  for (const k of Object.keys(carrier)) {
    if (k.toLowerCase() === lower) return k;
  }
  return undefined;
}

function isRecord(carrier: unknown): carrier is Record<string, unknown> {
  return typeof carrier === 'object' && carrier !== null;
}

/** Reads and writes amqplib `properties.headers`; Buffer values are read as UTF-8. */
export const amqpHeadersGetter: TextMapGetter<AmqpHeaders> = {
  keys(carrier) {
    return isRecord(carrier) ? Object.keys(carrier) : [];
  },
  get(carrier, key) {
    if (!isRecord(carrier)) return undefined;
    const k = findKey(carrier, key);
    return k === undefined ? undefined : decodeHeaderValue(carrier[k]);
  },
};

/** Writes string values into amqplib publish `options.headers`. */
export const amqpHeadersSetter: TextMapSetter<AmqpHeaders> = {
  set(carrier, key, value) {
    if (isRecord(carrier)) carrier[key] = value;
  },
};

/**
 * Reads kafkajs headers. A single value (or a one-element array) is returned
 * as a string, several as a string array (the W3C propagator then rejects a
 * doubled `traceparent`, as the spec asks).
 */
export const kafkaHeadersGetter: TextMapGetter<KafkaHeaders> = {
  keys(carrier) {
    return isRecord(carrier) ? Object.keys(carrier) : [];
  },
  get(carrier, key) {
    if (!isRecord(carrier)) return undefined;
    const k = findKey(carrier, key);
    if (k === undefined) return undefined;
    const value = carrier[k];
    if (!Array.isArray(value)) return decodeHeaderValue(value);
    const out: string[] = [];
    for (const v of value) {
      const s = decodeHeaderValue(v);
      if (s !== undefined) out.push(s);
    }
    if (out.length === 0) return undefined;
    return out.length === 1 ? out[0] : out;
  },
};

/** Writes string values into kafkajs headers (kafkajs sends strings as UTF-8). */
export const kafkaHeadersSetter: TextMapSetter<KafkaHeaders> = {
  set(carrier, key, value) {
    if (isRecord(carrier)) carrier[key] = value;
  },
};

function isNatsHeaders(carrier: unknown): carrier is NatsHeaders {
  return (
    isRecord(carrier) &&
    typeof (carrier as Partial<NatsHeaders>).get === 'function' &&
    typeof (carrier as Partial<NatsHeaders>).set === 'function' &&
    typeof (carrier as Partial<NatsHeaders>).keys === 'function'
  );
}

/** Reads `nats` `MsgHdrs`; the empty string `get` answers for a missing key counts as absent. */
export const natsHeadersGetter: TextMapGetter<NatsHeaders> = {
  keys(carrier) {
    return isNatsHeaders(carrier) ? carrier.keys() : [];
  },
  get(carrier, key) {
    if (!isNatsHeaders(carrier)) return undefined;
    const value = carrier.get(key);
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  },
};

/** Writes into `nats` `MsgHdrs` (`set` replaces any earlier value). */
export const natsHeadersSetter: TextMapSetter<NatsHeaders> = {
  set(carrier, key, value) {
    if (isNatsHeaders(carrier)) carrier.set(key, value);
  },
};

/** The getter for a carrier kind. */
export const MESSAGE_HEADER_GETTERS: { readonly [K in MessageCarrierKind]: TextMapGetter<MessageCarriers[K]> } = {
  amqp: amqpHeadersGetter,
  kafka: kafkaHeadersGetter,
  nats: natsHeadersGetter,
};

/** The setter for a carrier kind. */
export const MESSAGE_HEADER_SETTERS: { readonly [K in MessageCarrierKind]: TextMapSetter<MessageCarriers[K]> } = {
  amqp: amqpHeadersSetter,
  kafka: kafkaHeadersSetter,
  nats: natsHeadersSetter,
};
