/**
 * What every shop service process shares: tracing through @traceloom/sdk (its
 * HTTP instrumentation plus the OpenTelemetry contrib instrumentations for
 * pg, ioredis and amqplib running on it), the backends (real PostgreSQL,
 * Redis and RabbitMQ, or the embedded substitutes), a small JSON router, calls
 * to other services, the faults the supervisor pushes, and a clean shutdown.
 *
 * A service module calls {@link startService} with its routes; the supervisor
 * spawns it as `node --import tsx services/<name>.ts` with the variables of
 * {@link ServiceEnv}.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { type Attributes, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import {
  type AmqpHeaders,
  enableHttpInstrumentation,
  setHttpRoute,
  startConsumerSpan,
  startProducerSpan,
  startTracing,
} from '@traceloom/sdk';
import type { Channel, ChannelModel } from 'amqplib';
import type { Redis as RedisClient } from 'ioredis';
import type { Pool, PoolConfig } from 'pg';
import { DemoError, DemoErrorCode } from '../errors.ts';
import { DEFAULT_FAULTS, type Faults } from './faults.ts';
import type { FromService, ToService } from './ipc.ts';

const env = process.env;
const SERVICE = env.SHOP_SERVICE ?? 'unknown';
const VERSION = env.SHOP_VERSION ?? '0.0.0';

// Tracing first: the contrib instrumentations patch the clients through
// require hooks, so pg, ioredis and amqplib are loaded only afterwards.
const tracing = startTracing({
  serviceName: SERVICE,
  resourceAttributes: {
    'service.version': VERSION,
    'service.namespace': 'shop',
    'deployment.environment.name': 'demo',
  },
  instrumentHttp: false,
});
const http = enableHttpInstrumentation({ ignoreIncomingPaths: [/^\/admin(\/|$)/, '/health'] });
if (tracing !== undefined) {
  registerInstrumentations({
    tracerProvider: tracing.provider,
    instrumentations: [new PgInstrumentation(), new IORedisInstrumentation(), new AmqplibInstrumentation()],
  });
}
const require = createRequire(import.meta.url);

/** The tracer of the shop's own spans. */
export const tracer: Tracer = trace.getTracer('shop', VERSION);

// ------------------------------------------------------------------ faults

let currentFaults: Faults = env.SHOP_FAULTS ? (JSON.parse(env.SHOP_FAULTS) as Faults) : DEFAULT_FAULTS;

/** The faults in force now (the supervisor pushes changes). */
export function faults(): Faults {
  return currentFaults;
}

// ------------------------------------------------------------------ helpers

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A log-normal draw with median `median` (the shape of real latencies). */
export function lognormal(median: number, sigma: number): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

/** Runs `fn` in a new active span; an exception ends the span in ERROR and is rethrown. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  });
}

// ---------------------------------------------------------------- backends

/** Rows of a query: column name to value. */
export type Row = Record<string, unknown>;

let pool: Pool | undefined;

/**
 * Runs one SQL statement: on PostgreSQL (traced by the pg instrumentation)
 * or, without it, on the embedded substitute `embedded` (an in-process table
 * the service keeps), under a CLIENT span named as the pg one would be.
 */
export async function sql(
  operation: string,
  table: string,
  text: string,
  params: readonly unknown[],
  embedded: () => Row[],
): Promise<Row[]> {
  if (pool === undefined && env.SHOP_PG) {
    const pg = require('pg') as typeof import('pg');
    pool = new pg.Pool({ ...(JSON.parse(env.SHOP_PG) as PoolConfig), max: 4 });
    pool.on('error', () => undefined);
  }
  if (pool !== undefined) return (await pool.query(text, [...params])).rows as Row[];
  return inSpan(
    `${operation} ${table}`,
    {
      'db.system': 'other_sql',
      'db.namespace': 'embedded',
      'db.operation.name': operation,
      'db.collection.name': table,
      'db.query.text': text,
    },
    async () => {
      await sleep(0.2 + Math.random() * 0.6);
      return embedded();
    },
    SpanKind.CLIENT,
  );
}

let redis: RedisClient | undefined;
const memoryKv = new Map<string, Map<string, string>>();

async function kvCommand<T>(
  command: string,
  key: string,
  real: (r: RedisClient) => Promise<T>,
  embedded: () => T,
): Promise<T> {
  if (redis === undefined && env.SHOP_REDIS) {
    const { default: Redis } = require('ioredis') as typeof import('ioredis');
    redis = new Redis(env.SHOP_REDIS, { keyPrefix: env.SHOP_REDIS_PREFIX ?? '', maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined);
  }
  if (redis !== undefined) return real(redis);
  return inSpan(
    command,
    { 'db.system': 'other_nosql', 'db.namespace': 'embedded', 'db.query.text': `${command} ${key} ?` },
    async () => embedded(),
    SpanKind.CLIENT,
  );
}

/** A hash store: Redis when there is one, else an in-process map. Keys get the run's prefix. */
export const kv = {
  hgetall(key: string): Promise<Record<string, string>> {
    return kvCommand(
      'hgetall',
      key,
      (r) => r.hgetall(key),
      () => Object.fromEntries(memoryKv.get(key) ?? []),
    );
  },
  hincrby(key: string, field: string, by: number): Promise<number> {
    return kvCommand(
      'hincrby',
      key,
      (r) => r.hincrby(key, field, by),
      () => {
        const h = memoryKv.get(key) ?? new Map<string, string>();
        memoryKv.set(key, h);
        const n = Number(h.get(field) ?? 0) + by;
        h.set(field, String(n));
        return n;
      },
    );
  },
  expire(key: string, seconds: number): Promise<unknown> {
    return kvCommand(
      'expire',
      key,
      (r) => r.expire(key, seconds),
      () => 1,
    );
  },
  del(key: string): Promise<unknown> {
    return kvCommand(
      'del',
      key,
      (r) => r.del(key),
      () => (memoryKv.delete(key) ? 1 : 0),
    );
  },
};

let amqp: { connection: ChannelModel; channel: Channel } | undefined;
const embeddedConsumers = new Map<string, (body: unknown) => Promise<void>>();
/** Queues this process has declared (once each, not per message). */
const asserted = new Set<string>();

async function amqpChannel(): Promise<Channel | undefined> {
  if (!env.SHOP_AMQP) return undefined;
  if (amqp === undefined) {
    const lib = require('amqplib') as typeof import('amqplib');
    const connection = await lib.connect(env.SHOP_AMQP);
    connection.on('error', () => undefined);
    amqp = { connection, channel: await connection.createChannel() };
  }
  return amqp.channel;
}

/** This run's name of a queue. */
function queueName(queue: string): string {
  return `${env.SHOP_QUEUE_PREFIX ?? 'shop.'}${queue}`;
}

/** Queue options: the queue removes itself after 10 idle minutes, so a crashed run leaves nothing behind. */
const QUEUE_OPTIONS = { durable: false, arguments: { 'x-expires': 600_000 } };

/**
 * Publishes a JSON message: to RabbitMQ (the amqplib instrumentation makes
 * the PRODUCER span and puts the context in the headers), or to the embedded
 * queue the supervisor relays, with the SDK's messaging helpers doing both.
 */
export async function publish(queue: string, message: unknown): Promise<void> {
  const body = JSON.stringify(message);
  const channel = await amqpChannel();
  if (channel !== undefined) {
    const name = queueName(queue);
    if (!asserted.has(name)) {
      await channel.assertQueue(name, QUEUE_OPTIONS);
      asserted.add(name);
    }
    channel.sendToQueue(name, Buffer.from(body), { contentType: 'application/json' });
    return;
  }
  const headers: AmqpHeaders = {};
  const { span } = startProducerSpan(undefined, { system: 'embedded', destination: queue, headers, carrier: 'amqp' });
  send({ t: 'publish', queue, body, headers: headers as Record<string, string> });
  span.end();
}

/** Handles each message of `queue` (one at a time); the CONSUMER span covers the handler. */
export async function consume(queue: string, handler: (message: unknown) => Promise<void>): Promise<void> {
  const channel = await amqpChannel();
  if (channel === undefined) {
    embeddedConsumers.set(queue, handler);
    return;
  }
  const name = queueName(queue);
  await channel.assertQueue(name, QUEUE_OPTIONS);
  await channel.prefetch(4);
  await channel.consume(name, (msg) => {
    if (msg === null) return;
    handler(JSON.parse(msg.content.toString()) as unknown).then(
      () => channel.ack(msg),
      () => channel.nack(msg, false, false),
    );
  });
}

async function deliver(queue: string, body: string, headers: Record<string, string>): Promise<void> {
  const handler = embeddedConsumers.get(queue);
  if (handler === undefined) return;
  const { span, context: ctx } = startConsumerSpan(undefined, {
    system: 'embedded',
    destination: queue,
    headers,
    carrier: 'amqp',
  });
  try {
    await context.with(ctx, () => handler(JSON.parse(body) as unknown));
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
  } finally {
    span.end();
  }
}

// ------------------------------------------------------------------- calls

const urls = JSON.parse(env.SHOP_URLS ?? '{}') as Record<string, string>;

/**
 * Calls another shop service over HTTP (fetch, traced by the SDK) and returns
 * its JSON answer. A non-2xx answer throws a {@link DemoError} with status 502.
 */
export async function call<T = unknown>(
  service: string,
  method: string,
  path: string,
  body?: unknown,
  user?: string,
): Promise<T> {
  const base = urls[service];
  if (base === undefined) throw new DemoError(DemoErrorCode.UPSTREAM, `unknown service ${service}`, 'a bug', 500);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (user !== undefined) headers['x-shop-user'] = user;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new DemoError(
      DemoErrorCode.UPSTREAM,
      `${service} answered ${res.status} to ${method} ${path}: ${text.slice(0, 200)}`,
      `see the ${service} span of this trace`,
      502,
    );
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

// ------------------------------------------------------------------ server

/** What a route handler gets. */
export interface RequestContext {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** The shopper (`x-shop-user`), '' when not given. */
  readonly user: string;
  readonly method: string;
}

/** A route: `GET /products/:id` style pattern and its handler, which returns the JSON answer. */
export interface Route {
  readonly method: string;
  readonly path: string;
  readonly handler: (req: RequestContext) => Promise<unknown>;
  /** Status of a successful answer. @default 200 */
  readonly status?: number;
}

function compile(path: string): RegExp {
  return new RegExp(`^${path.replace(/:([a-zA-Z]+)/g, '(?<$1>[^/]+)')}$`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      data += c;
      if (data.length > 1_000_000) req.destroy(new Error('body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown, code?: string): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(code === undefined ? {} : { 'x-traceloom-error-code': code }),
  });
  res.end(text);
}

function errorAnswer(res: ServerResponse, e: unknown): void {
  if (e instanceof DemoError) {
    answer(res, e.status, { error: { code: e.code, message: e.message, hint: e.hint } }, e.code);
  } else {
    const message = e instanceof Error ? e.message : String(e);
    answer(
      res,
      500,
      { error: { code: DemoErrorCode.UPSTREAM, message, hint: 'see the span of this request' } },
      DemoErrorCode.UPSTREAM,
    );
  }
}

const send = (m: FromService) => process.send?.(m);
let nextControl = 1;
const controls = new Map<number, (r: { status: number; body: unknown }) => void>();

/** Asks the supervisor to apply a `/admin/faults` request (the gateway's control endpoint). */
export function control(method: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const id = nextControl++;
  return new Promise((resolve) => {
    controls.set(id, resolve);
    send({ t: 'control', id, method, body });
  });
}

/** Reads a JSON request body; a body that is not JSON is a 400. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DemoError(
      DemoErrorCode.BAD_REQUEST,
      `the body is not JSON: ${(e as Error).message}`,
      'send application/json',
      400,
    );
  }
}

/** Options of {@link startService}. */
export interface ServiceOptions {
  readonly routes: readonly Route[];
  /** Run once before the service reports ready (consumers, warm-up). */
  readonly init?: () => Promise<void>;
  /** Answers requests that match no route (the gateway's admin endpoint). */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<boolean>;
}

/**
 * Starts the service: listens on `SHOP_PORT`, tells the supervisor its port,
 * follows the faults it pushes, and on SIGINT/SIGTERM (or when the supervisor
 * goes away) stops taking requests, flushes its spans and exits.
 */
export async function startService(options: ServiceOptions): Promise<Server> {
  const routes = options.routes.map((r) => ({ ...r, re: compile(r.path) }));
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      const text = await readBody(req);
      if (url.pathname === '/health') return answer(res, 200, { service: SERVICE, version: VERSION });
      for (const r of routes) {
        const m = r.re.exec(url.pathname);
        if (m === null || r.method !== req.method) continue;
        setHttpRoute(res, r.path);
        const user = String(req.headers['x-shop-user'] ?? '');
        if (user !== '') trace.getActiveSpan()?.setAttribute('app.user.id', user);
        try {
          const result = await r.handler({
            params: m.groups ?? {},
            query: url.searchParams,
            body: parseJson(text),
            user,
            method: req.method,
          });
          return answer(res, r.status ?? 200, result);
        } catch (e) {
          const status = e instanceof DemoError ? e.status : 500;
          if (status >= 500) {
            const span = trace.getActiveSpan();
            span?.recordException(e as Error);
            span?.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
          }
          return errorAnswer(res, e);
        }
      }
      if (options.fallback !== undefined && (await options.fallback(req, res, text))) return;
      errorAnswer(
        res,
        new DemoError(
          DemoErrorCode.NOT_FOUND,
          `no route ${req.method} ${url.pathname} on ${SERVICE}`,
          'see packages/demo/README.md for the routes',
          404,
        ),
      );
    } catch (e) {
      errorAnswer(res, e);
    }
  });
  process.on('message', (m: ToService) => {
    if (m.t === 'faults') {
      currentFaults = m.faults;
      send({ t: 'ack', id: m.id });
    } else if (m.t === 'control-result') {
      controls.get(m.id)?.({ status: m.status, body: m.body });
      controls.delete(m.id);
    } else if (m.t === 'deliver') {
      void deliver(m.queue, m.body, m.headers);
    }
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    const done = Promise.allSettled([
      pool?.end(),
      redis?.quit(),
      amqp?.connection.close(),
      (async () => {
        http.disable();
        await tracing?.shutdown();
      })(),
    ]);
    const force = setTimeout(() => process.exit(0), 5000);
    void done.then(() => {
      clearTimeout(force);
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  if (options.init !== undefined) await options.init();
  await new Promise<void>((resolve) => server.listen(Number(env.SHOP_PORT ?? 0), '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  send({ t: 'ready', port });
  return server;
}

/** The service's name and version, as its resource says. */
export const SERVICE_NAME = SERVICE;
