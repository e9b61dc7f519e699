/**
 * The shop's backends for one run: PostgreSQL, Redis and RabbitMQ when they
 * answer, else the embedded substitutes. Each run gets its own PostgreSQL
 * schema, Redis key prefix and RabbitMQ queue names, so runs side by side do
 * not collide, and removes them when it stops.
 *
 * This module runs in the supervisor, which is not traced: setting up the
 * schema is not part of the shop's traces.
 */
import { createRequire } from 'node:module';
import { INITIAL_STOCK, PRODUCTS, reviewsOf, SCHEMA_SQL } from './catalog-data.ts';

const require = createRequire(import.meta.url);

/** Where the backends are; `false` uses the embedded substitute without trying. */
export interface BackendOptions {
  /** PostgreSQL connection URL. @default postgres://$PGUSER@$PGHOST:$PGPORT/$PGDATABASE (postgres@127.0.0.1:5432/postgres) */
  readonly postgres?: string | false;
  /** Redis URL. @default redis://127.0.0.1:6379 */
  readonly redis?: string | false;
  /** AMQP URL. @default amqp://guest:guest@127.0.0.1:5672 */
  readonly amqp?: string | false;
  /** Names this run's schema, key prefix and queues. @default time and pid */
  readonly runId?: string;
}

/** The backends of one run, as the services are told about them. */
export interface Backends {
  readonly runId: string;
  /** JSON pg pool config with the run's `search_path`, or '' for the embedded tables. */
  readonly pg: string;
  readonly redis: string;
  readonly redisPrefix: string;
  readonly amqp: string;
  readonly queuePrefix: string;
  /** One line per backend: what is used and, for a substitute, why. */
  readonly summary: readonly string[];
  /** Drops the schema, the keys and the queues of this run. */
  cleanup(): Promise<void>;
}

/** The default PostgreSQL URL, from the libpq variables. */
export function defaultPostgresUrl(env: NodeJS.ProcessEnv = process.env): string {
  const user = encodeURIComponent(env.PGUSER ?? 'postgres');
  const password = env.PGPASSWORD === undefined ? '' : `:${encodeURIComponent(env.PGPASSWORD)}`;
  return `postgres://${user}${password}@${env.PGHOST ?? '127.0.0.1'}:${env.PGPORT ?? '5432'}/${env.PGDATABASE ?? 'postgres'}`;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function reason(e: unknown): string {
  const err = e as { message?: string; code?: string; errors?: unknown[] };
  const msg = err.message || err.code || (Array.isArray(err.errors) ? String(err.errors[0]) : String(e));
  return msg.split('\n')[0] ?? String(e);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function setUpPostgres(url: string, schema: string): Promise<void> {
  const pg = require('pg') as typeof import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    await client.query(SCHEMA_SQL);
    const values: string[] = [];
    const params: unknown[] = [];
    for (const p of PRODUCTS) {
      values.push(`($${params.length + 1}, $${params.length + 2}, $${params.length + 3}, $${params.length + 4})`);
      params.push(p.id, p.name, p.category, p.priceCents);
    }
    await client.query(`INSERT INTO products (id, name, category, price_cents) VALUES ${values.join(', ')}`, params);
    await client.query(
      'INSERT INTO reviews (product_id, rating, body) SELECT * FROM unnest($1::text[], $2::int[], $3::text[])',
      [
        PRODUCTS.flatMap((p) => reviewsOf(p.id).map(() => p.id)),
        PRODUCTS.flatMap((p) => reviewsOf(p.id).map((r) => r.rating)),
        PRODUCTS.flatMap((p) => reviewsOf(p.id).map((r) => r.body)),
      ],
    );
    await client.query('INSERT INTO stock (sku, quantity) SELECT id, $1 FROM products', [INITIAL_STOCK]);
  } finally {
    await client.end();
  }
}

async function dropPostgres(url: string, schema: string): Promise<void> {
  const pg = require('pg') as typeof import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

async function pingRedis(url: string): Promise<void> {
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await withTimeout(r.connect(), 3000, 'Redis');
    await r.ping();
  } finally {
    r.disconnect();
  }
}

async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

async function pingAmqp(url: string): Promise<void> {
  const amqp = require('amqplib') as typeof import('amqplib');
  const c = await withTimeout(amqp.connect(url, { timeout: 3000 }), 4000, 'RabbitMQ');
  await c.close();
}

async function dropQueues(url: string, names: readonly string[]): Promise<void> {
  const amqp = require('amqplib') as typeof import('amqplib');
  const c = await withTimeout(amqp.connect(url, { timeout: 3000 }), 4000, 'RabbitMQ');
  try {
    const ch = await c.createChannel();
    for (const n of names) await ch.deleteQueue(n);
  } finally {
    await c.close();
  }
}

/** The queues the shop uses (without the run's prefix). */
export const SHOP_QUEUES = ['orders'] as const;

/**
 * Finds out which backends answer and prepares this run's part of them:
 * creates and fills the schema, picks the key prefix and queue names.
 */
export async function prepareBackends(options: BackendOptions = {}): Promise<Backends> {
  const runId = options.runId ?? `${Date.now().toString(36)}${process.pid.toString(36)}`;
  if (!/^[a-z0-9_]{1,40}$/.test(runId)) throw new Error(`runId must be 1 to 40 of a-z 0-9 _, not '${runId}'`);
  const schema = `traceloom_demo_${runId}`;
  const redisPrefix = `traceloom-demo:${runId}:`;
  const queuePrefix = `traceloom-demo.${runId}.`;
  const summary: string[] = [];
  const pgUrl = options.postgres ?? defaultPostgresUrl();
  const redisUrl = options.redis ?? 'redis://127.0.0.1:6379';
  const amqpUrl = options.amqp ?? 'amqp://guest:guest@127.0.0.1:5672';

  const [pgOk, redisOk, amqpOk] = await Promise.all([
    pgUrl === false ? Promise.resolve('off') : setUpPostgres(pgUrl, schema).then(() => '', reason),
    redisUrl === false ? Promise.resolve('off') : pingRedis(redisUrl).then(() => '', reason),
    amqpUrl === false ? Promise.resolve('off') : pingAmqp(amqpUrl).then(() => '', reason),
  ]);
  const why = (r: string, url: string | false) =>
    r === 'off' ? 'turned off' : `not reachable at ${redact(String(url))}: ${r}`;
  summary.push(
    pgOk === ''
      ? `PostgreSQL  ${redact(String(pgUrl))} (schema ${schema})`
      : `PostgreSQL  embedded substitute: in-process tables in each service (${why(pgOk, pgUrl)})`,
    redisOk === ''
      ? `Redis       ${redact(String(redisUrl))} (keys ${redisPrefix}*)`
      : `Redis       embedded substitute: an in-process map in cart (${why(redisOk, redisUrl)})`,
    amqpOk === ''
      ? `RabbitMQ    ${redact(String(amqpUrl))} (queues ${queuePrefix}*)`
      : `RabbitMQ    embedded substitute: an in-process queue relayed by the demo (${why(amqpOk, amqpUrl)})`,
  );
  const pg = pgOk === '' ? JSON.stringify({ connectionString: pgUrl, options: `-c search_path=${schema}` }) : '';
  return {
    runId,
    pg,
    redis: redisOk === '' ? String(redisUrl) : '',
    redisPrefix,
    amqp: amqpOk === '' ? String(amqpUrl) : '',
    queuePrefix,
    summary,
    async cleanup() {
      await Promise.allSettled([
        pgOk === '' ? dropPostgres(String(pgUrl), schema) : undefined,
        redisOk === '' ? dropRedisKeys(String(redisUrl), redisPrefix) : undefined,
        amqpOk === ''
          ? dropQueues(
              String(amqpUrl),
              SHOP_QUEUES.map((q) => `${queuePrefix}${q}`),
            )
          : undefined,
      ]);
    },
  };
}
