/**
 * `traceloom demo` end to end: the real CLI starts a real Traceloom server and
 * the seven shop services against the PostgreSQL, Redis and RabbitMQ running
 * on this machine (a service that is down fails the test: the start-up lines
 * must name the real backends). The test drives the shop itself (the
 * shoppers' rate is 0) and reads the traces back through the native API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliProcess, runCli, waitForOutput } from '../../../server/src/cli/fixtures/cli-process.ts';
import { parseDemoCli } from '../demo-cli.ts';
import { measureShapes } from '../loadgen/shapes.ts';
import { SHOP_SERVICE_NAMES } from './faults.ts';
import { startDemo } from './supervisor.ts';

interface ApiAttr {
  key: string;
  value: unknown;
}
interface ApiSpan {
  spanId: string;
  parentSpanId: string;
  parentIndex: number;
  kindName: string;
  name: string;
  serviceName: string;
  resourceIndex: number;
  scopeIndex: number;
  attributes: ApiAttr[];
  events: { name: string }[];
  status: { codeName: string };
}
interface ApiTrace {
  traceId: string;
  spans: ApiSpan[];
  resources: { serviceName: string; attributes: ApiAttr[] }[];
  scopes: { name: string }[];
}

const attr = (attrs: ApiAttr[], ...keys: string[]) =>
  keys.map((k) => attrs.find((a) => a.key === k)?.value).find((v) => v !== undefined);

const run = `t${process.pid.toString(36)}${Date.now().toString(36)}`;
let dir: string;
let cli: CliProcess;
let ui: string;
let gateway: string;

async function shop(user: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gateway}${path}`, {
    method,
    headers: { 'x-shop-user': user, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function setFaults(patch: unknown): Promise<unknown> {
  const res = await fetch(`${gateway}/admin/faults`, { method: 'POST', body: JSON.stringify(patch) });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${ui}${path}`);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** Ids of the traces holding a span of `user` (searched until `done` holds or 25 s pass). */
async function tracesOf(user: string, done: (traces: ApiTrace[]) => boolean): Promise<ApiTrace[]> {
  const deadline = Date.now() + 25_000;
  let traces: ApiTrace[] = [];
  for (;;) {
    const found = await api<{ traces: { traceId: string }[] }>(
      `api/v1/search?attr=${encodeURIComponent(`app.user.id=${user}`)}&limit=50`,
    );
    traces = await Promise.all(found.traces.map((t) => api<ApiTrace>(`api/v1/traces/${t.traceId}`)));
    if (done(traces) || Date.now() > deadline) return traces;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('traceloom demo', { timeout: 120_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'traceloom-demo-'));
    cli = runCli(
      [
        'demo',
        '--rate',
        '0',
        '--gateway-port',
        '0',
        '--data-dir',
        join(dir, 'data'),
        '--otlp-http-port',
        '0',
        '--api-port',
        '0',
        '--otlp-grpc-port',
        'off',
        '--zipkin-port',
        'off',
        '--jaeger-port',
        'off',
        '--log-interval',
        '0',
      ],
      { TRACELOOM_DEMO_RUN_ID: run },
    );
    await waitForOutput(cli, cli.out, /Ctrl-C stops everything/, 90_000);
    ui = (waitMatch(/Traceloom UI\s+(http:\/\/\S+\/)/) as string).replace('localhost', '127.0.0.1');
    gateway = waitMatch(/Control\s+(http:\/\/\S+)\/admin\/faults/) as string;
  });

  function waitMatch(re: RegExp): string | undefined {
    return re.exec(cli.out())?.[1];
  }

  after(async () => {
    if (cli.child.exitCode === null) {
      cli.child.kill('SIGINT');
      await cli.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the UI, the control endpoint and the real backends', () => {
    assert.match(cli.out(), /Traceloom UI\s+http:\/\/localhost:\d+\//);
    assert.match(cli.out(), /PostgreSQL\s+postgres:\/\/.*schema traceloom_demo_/);
    assert.match(cli.out(), /Redis\s+redis:\/\//);
    assert.match(cli.out(), /RabbitMQ\s+amqp:\/\//);
    assert.doesNotMatch(cli.out(), /embedded substitute/);
  });

  it('refuses a bad fault switch with a stable code and a hint', async () => {
    const res = await fetch(`${gateway}/admin/faults`, {
      method: 'POST',
      body: JSON.stringify({ paymentErrorRate: 2 }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-traceloom-error-code'), 'TL_ERR_DEMO_BAD_FAULTS');
    const body = (await res.json()) as { error: { message: string; hint: string } };
    assert.match(body.error.message, /paymentErrorRate/);
    assert.match(body.error.hint, /POST a JSON object/);
    const unknown = await fetch(`${gateway}/admin/faults`, { method: 'POST', body: '{"nope":1}' });
    assert.equal(unknown.status, 400);
    assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /unknown key 'nope'/);
    const put = await fetch(`${gateway}/admin/faults`, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('x-traceloom-error-code'), 'TL_ERR_DEMO_METHOD_NOT_ALLOWED');
    const notJson = await fetch(`${gateway}/admin/faults`, { method: 'POST', body: 'rate=3' });
    assert.equal(notJson.status, 400);
    const missing = await shop('x', 'GET', '/api/nothing');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-traceloom-error-code'), 'TL_ERR_DEMO_NOT_FOUND');
  });

  it('traces a checkout across every service: HTTP pairs, PostgreSQL, Redis and RabbitMQ', async () => {
    await setFaults({ paymentErrorRate: 0 });
    const user = `${run}-ok`;
    assert.equal((await shop(user, 'GET', '/api/products/p-007')).status, 200);
    assert.equal((await shop(user, 'POST', '/api/cart/items', { productId: 'p-007', quantity: 2 })).status, 201);
    assert.equal((await shop(user, 'POST', '/api/cart/items', { productId: 'p-011', quantity: 1 })).status, 201);
    const res = await shop(user, 'POST', '/api/checkout');
    assert.equal(res.status, 201, await res.clone().text());
    const { orderId } = (await res.json()) as { orderId: string };

    const isCheckout = (t: ApiTrace) => t.spans.some((s) => s.name === 'POST /api/checkout');
    const complete = (t: ApiTrace) =>
      isCheckout(t) &&
      t.spans.some((s) => s.kindName === 'consumer' && s.serviceName === 'shipping-worker') &&
      t.spans.some((s) => s.name === 'send confirmation email');
    const traces = await tracesOf(user, (ts) => ts.filter(isCheckout).some(complete) && ts.length >= 4);
    const checkout = traces.find(complete);
    assert.ok(checkout, `a complete checkout trace arrived; got ${traces.map((t) => t.spans.length).join(', ')}`);
    const spans = checkout.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const scope = (s: ApiSpan) => checkout.scopes[s.scopeIndex]?.name ?? '';

    // Every service takes part in a checkout.
    assert.deepEqual([...new Set(spans.map((s) => s.serviceName))].sort(), [...SHOP_SERVICE_NAMES].sort());
    assert.equal(spans.filter((s) => s.parentSpanId === '').length, 1, 'one root');

    // HTTP: each server span below the root is the child of a client span in another service.
    const servers = spans.filter((s) => s.kindName === 'server' && s.parentSpanId !== '');
    assert.ok(servers.length >= 6, `${servers.length} server spans`);
    for (const s of servers) {
      const parent = byId.get(s.parentSpanId);
      assert.equal(parent?.kindName, 'client', `${s.name} (${s.serviceName}) has a client parent`);
      assert.notEqual(parent?.serviceName, s.serviceName);
    }
    // Parallel fan-out: checkout prices and reserves the two items at once.
    const fanOut = spans.find((s) => s.name === 'price and reserve items');
    assert.ok(fanOut);
    assert.equal(
      spans.filter((s) => s.parentSpanId === fanOut.spanId && s.kindName === 'client').length,
      4,
      'two catalog and two inventory calls under the fan-out span',
    );

    const pg = spans.filter((s) => scope(s) === '@opentelemetry/instrumentation-pg' && s.kindName === 'client');
    assert.ok(
      pg.some((s) => attr(s.attributes, 'db.system', 'db.system.name') === 'postgresql'),
      'PostgreSQL spans',
    );
    assert.ok(
      pg.some(
        (s) =>
          s.serviceName === 'checkout' &&
          /INSERT INTO orders/.test(String(attr(s.attributes, 'db.statement', 'db.query.text'))),
      ),
    );
    const redis = spans.filter((s) => scope(s) === '@opentelemetry/instrumentation-ioredis');
    assert.ok(
      redis.some((s) => s.serviceName === 'cart' && attr(s.attributes, 'db.system', 'db.system.name') === 'redis'),
      `Redis spans in cart; scopes ${[...new Set(spans.map(scope))].join(', ')}`,
    );

    const producer = spans.find((s) => s.kindName === 'producer' && s.serviceName === 'checkout');
    const consumer = spans.find((s) => s.kindName === 'consumer' && s.serviceName === 'shipping-worker');
    assert.ok(producer && consumer);
    assert.equal(scope(producer), '@opentelemetry/instrumentation-amqplib');
    assert.equal(attr(producer.attributes, 'messaging.system'), 'rabbitmq');
    assert.equal(consumer.parentSpanId, producer.spanId, "the worker's consumer span continues the producer span");
    assert.ok(
      spans.some((s) => s.serviceName === 'shipping-worker' && attr(s.attributes, 'app.order.id') === orderId),
      'the worker handled this order',
    );
  });

  it('shows an injected payment error as an error span', async () => {
    await setFaults({ paymentErrorRate: 1 });
    const user = `${run}-fail`;
    assert.equal((await shop(user, 'POST', '/api/cart/items', { productId: 'p-002' })).status, 201);
    const res = await shop(user, 'POST', '/api/checkout');
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('x-traceloom-error-code'), 'TL_ERR_DEMO_UPSTREAM');
    await setFaults({ paymentErrorRate: 0 });
    const failed = (t: ApiTrace) => t.spans.some((s) => s.serviceName === 'payment' && s.status.codeName === 'error');
    const traces = await tracesOf(user, (ts) => ts.some(failed) && ts.length >= 2);
    const trace = traces.find(failed);
    assert.ok(trace, 'the failed checkout trace arrived');
    const authorize = trace.spans.find((s) => s.name === 'authorize card');
    assert.equal(authorize?.status.codeName, 'error');
    assert.ok(
      authorize?.events.some((e) => e.name === 'exception'),
      'with an exception event',
    );
    const root = trace.spans.find((s) => s.parentSpanId === '');
    assert.equal(root?.name, 'POST /api/checkout');
    assert.equal(root?.status.codeName, 'error', 'the failure reaches the gateway');
  });

  it('splits a checkout into two traces when context is dropped, and a deploy changes service.version', async () => {
    await setFaults({ brokenContext: true, versions: { payment: '2.0.0' } });
    // The deploy restarts payment: wait until it answers again.
    const user = `${run}-broken`;
    assert.equal((await shop(user, 'POST', '/api/cart/items', { productId: 'p-003' })).status, 201);
    let status = 0;
    for (let i = 0; i < 40 && status !== 201; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await shop(user, 'POST', '/api/checkout');
      status = res.status;
      if (status !== 201) await shop(user, 'POST', '/api/cart/items', { productId: 'p-003' });
    }
    assert.equal(status, 201);
    await setFaults({ brokenContext: false });
    const hasPayment = (t: ApiTrace) => t.spans.some((s) => s.serviceName === 'payment' && s.kindName === 'server');
    const gatewayTrace = (t: ApiTrace) =>
      t.spans.some((s) => s.name === 'POST /api/checkout' && s.status.codeName !== 'error');
    const traces = await tracesOf(user, (ts) => ts.some(gatewayTrace) && ts.some(hasPayment));
    const front = traces.find(gatewayTrace);
    assert.ok(front, 'the checkout trace arrived');
    assert.ok(!hasPayment(front), 'payment is missing from the checkout trace');
    const orphanTrace = traces.find((t) => hasPayment(t) && t.traceId !== front.traceId);
    assert.ok(orphanTrace, 'payment is in a trace of its own');
    const root = orphanTrace.spans.find((s) => s.parentSpanId === '');
    assert.equal(root?.serviceName, 'checkout', "the separate trace starts at checkout's call to payment");
    assert.equal(root?.kindName, 'client');
    const payment = orphanTrace.spans.find((s) => s.serviceName === 'payment');
    assert.ok(payment);
    assert.equal(attr(orphanTrace.resources[payment.resourceIndex]?.attributes ?? [], 'service.version'), '2.0.0');
  });

  it("measures the shapes of the demo's traces (what the load generator is calibrated on)", async () => {
    const shapes = await measureShapes(ui.replace(/\/$/, ''), { lookback: '10m' });
    assert.ok(shapes.traces >= 4, `${shapes.traces} traces`);
    assert.equal(shapes.servicesPerTrace.max, SHOP_SERVICE_NAMES.length);
    assert.ok(shapes.spansPerTrace.max >= 25, `largest trace ${shapes.spansPerTrace.max} spans`);
    assert.ok(shapes.errorSpanRate > 0 && (shapes.kindShare.consumer ?? 0) > 0);
  });

  it('stops every process and removes its schema, keys and queues on Ctrl-C', async () => {
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0, cli.err());
    const require = createRequire(import.meta.url);
    const pg = require('pg') as typeof import('pg');
    const client = new pg.Client({ host: '127.0.0.1', user: process.env.PGUSER ?? 'postgres', database: 'postgres' });
    await client.connect();
    try {
      const r = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [`traceloom_demo_${run}`]);
      assert.equal(r.rowCount, 0, 'the schema is dropped');
    } finally {
      await client.end();
    }
    const { default: Redis } = require('ioredis') as typeof import('ioredis');
    const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await redis.connect();
    try {
      assert.deepEqual(await redis.keys(`traceloom-demo:${run}:*`), []);
    } finally {
      redis.disconnect();
    }
  });
});

describe('the demo without PostgreSQL, Redis and RabbitMQ', { timeout: 90_000 }, () => {
  it('says which substitutes it uses, and still traces a checkout through the embedded queue', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'traceloom-demo-embedded-'));
    // Removed even when the demo does not start.
    const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
    const demo = await startDemo({
      postgres: false,
      redis: false,
      amqp: false,
      rate: 0,
      gatewayPort: 0,
      serverArgs: [
        '--data-dir',
        join(tmp, 'data'),
        '--otlp-http-port',
        '0',
        '--api-port',
        '0',
        '--otlp-grpc-port',
        'off',
        '--zipkin-port',
        'off',
        '--jaeger-port',
        'off',
      ],
    }).catch((e: unknown) => {
      removeTmp();
      throw e;
    });
    try {
      assert.match(demo.backends.join('\n'), /PostgreSQL\s+embedded substitute: in-process tables.*turned off/);
      assert.match(demo.backends.join('\n'), /Redis\s+embedded substitute: an in-process map/);
      assert.match(demo.backends.join('\n'), /RabbitMQ\s+embedded substitute: an in-process queue/);
      gateway = demo.gatewayUrl;
      ui = (demo.uiUrl as string).replace('localhost', '127.0.0.1');
      await setFaults({ paymentErrorRate: 0 });
      const user = `${run}-embedded`;
      assert.equal((await shop(user, 'POST', '/api/cart/items', { productId: 'p-005' })).status, 201);
      assert.equal((await shop(user, 'POST', '/api/checkout')).status, 201);
      const complete = (t: ApiTrace) => t.spans.some((s) => s.name === 'send confirmation email');
      const traces = await tracesOf(user, (ts) => ts.some(complete));
      const checkout = traces.find(complete);
      assert.ok(checkout, 'the checkout trace arrived with the worker in it');
      const producer = checkout.spans.find((s) => s.kindName === 'producer');
      const consumer = checkout.spans.find((s) => s.kindName === 'consumer');
      assert.equal(producer?.serviceName, 'checkout');
      assert.equal(consumer?.serviceName, 'shipping-worker');
      assert.equal(consumer?.parentSpanId, producer?.spanId);
      assert.ok(
        checkout.spans.some((s) => s.name === 'INSERT orders' && attr(s.attributes, 'db.system') === 'other_sql'),
      );
      assert.ok(checkout.spans.some((s) => s.serviceName === 'cart' && s.name === 'hgetall'));

      // The shoppers start when the rate is raised at run time.
      assert.equal(demo.traffic.sent, 0);
      await setFaults({ rate: 40, paymentErrorRate: 1 });
      const deadline = Date.now() + 10_000;
      while (demo.traffic.sent < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(demo.traffic.sent >= 20, `${demo.traffic.sent} shopper requests`);
    } finally {
      await demo.stop();
      removeTmp();
    }
  });
});

describe('traceloom demo flags', () => {
  it('keeps its own flags and passes the rest to the server', () => {
    const c = parseDemoCli(['--rate', '2', '--data-dir', '/x', '--redis', 'off', '--api-port=0'], {});
    assert.equal(c.rate, 2);
    assert.equal(c.redis, false);
    assert.deepEqual(c.serverArgs, ['--data-dir', '/x', '--api-port=0']);
    assert.equal(parseDemoCli([], { TRACELOOM_DEMO_RATE: '7' }).rate, 7);
    assert.throws(() => parseDemoCli(['--rate', 'lots'], {}), /--rate must be 0 to 1000/);
    assert.throws(() => parseDemoCli(['--gateway-port', '70000'], {}), /--gateway-port must be a port/);
  });
});
