/**
 * End to end, as a user meets Traceloom: the server runs as a child process
 * through bin/traceloom.js (what `npm start` runs), the official OpenTelemetry
 * JS SDK exports spans to it over OTLP/HTTP protobuf, and the native query
 * API must find them by id, service, attribute and duration, and still find
 * them after a clean stop and a restart on the same data folder.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ApiErrorBody } from '../api/native.ts';
import type { AttributeJson, SpanJson, TraceJson, TraceSummaryJson } from '../query/trace-json.ts';
import { runCli, waitForOutput } from './fixtures/cli-process.ts';

const FRONTEND = 'e2e-frontend';
const CHECKOUT = 'e2e-checkout';
/** The slow trace's root: long enough to stand apart from everything else at `1s`. */
const SLOW_MS = 1500;

interface Server {
  child: ChildProcess;
  otlpUrl: string;
  api: string;
  exited: Promise<number | null>;
  output: () => string;
}

/** Starts the CLI on free ports with only the OTLP/HTTP receiver and the API on. */
async function startServer(dataDir: string): Promise<Server> {
  const p = runCli(['start', '--host', '127.0.0.1', '--otlp-http-port', '0', '--log-interval', '0'], {
    TRACELOOM_DATA_DIR: dataDir,
    TRACELOOM_API_PORT: '0',
    // Fixed default ports could clash with other tests running at the same time.
    TRACELOOM_OTLP_GRPC_PORT: 'off',
    TRACELOOM_ZIPKIN_PORT: 'off',
    TRACELOOM_JAEGER_PORT: 'off',
  });
  const otlp = await waitForOutput(p, p.out, /OTLP\/HTTP {2}(http:\/\/127\.0\.0\.1:\d+\/v1\/traces)/);
  const api = await waitForOutput(p, p.out, /Query API:\n {2}(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/services/);
  return { child: p.child, otlpUrl: otlp[1]!, api: api[1]!, exited: p.exited, output: () => `${p.out()}\n${p.err()}` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** GET `path` on the API; the parsed JSON body and the status. */
async function get<T>(server: Server, path: string): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${server.api}${path}`);
  const text = await res.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    assert.fail(`GET ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body, headers: res.headers };
}

/** Polls a trace until it holds `spanCount` spans: the store commits about every 250 ms. */
async function waitForTrace(server: Server, traceId: string, spanCount: number): Promise<TraceJson> {
  const deadline = Date.now() + 10_000;
  let last = '';
  for (;;) {
    const r = await get<TraceJson | ApiErrorBody>(server, `/api/v1/traces/${traceId}`);
    if (r.status === 200 && (r.body as TraceJson).spans.length === spanCount) return r.body as TraceJson;
    last = `${r.status} ${JSON.stringify(r.body).slice(0, 500)}`;
    if (Date.now() > deadline) {
      assert.fail(
        `trace ${traceId} did not show ${spanCount} spans within 10 s; last answer: ${last}\n${server.output()}`,
      );
    }
    await sleep(100);
  }
}

/** The trace ids a search finds, sorted; fails on a non-200 answer. */
async function searchIds(server: Server, query: string): Promise<string[]> {
  const path = `/api/v1/search?${query}`;
  const r = await get<{ traces: TraceSummaryJson[]; total: number } | ApiErrorBody>(server, path);
  assert.equal(r.status, 200, `GET ${path}: ${JSON.stringify(r.body)}`);
  const body = r.body as { traces: TraceSummaryJson[]; total: number };
  assert.equal(body.total, body.traces.length, `GET ${path}: one page should hold every result`);
  return body.traces.map((t) => t.traceId).sort();
}

function attr(span: SpanJson, key: string): Pick<AttributeJson, 'type' | 'value'> | undefined {
  const a = span.attributes.find((x) => x.key === key);
  return a === undefined ? undefined : { type: a.type, value: a.value };
}

function spanNamed(t: TraceJson, name: string): SpanJson {
  const s = t.spans.find((x) => x.name === name);
  assert.ok(s !== undefined, `trace ${t.traceId} has no span '${name}': ${t.spans.map((x) => x.name).join(', ')}`);
  return s;
}

/** One SDK per service, each exporting to the server the way an instrumented app does. */
function makeProvider(service: string, url: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.0.0' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
}

function childOf(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

interface Sent {
  /** `frontend GET /cart` -> `frontend load cart`, `checkout POST /checkout`: customer.tier gold. */
  cart: string;
  cartRootSpanId: string;
  /** `frontend GET /pay` -> `checkout charge card` (status ERROR, 503). */
  pay: string;
  /** `checkout nightly report` (1.5 s) -> `checkout render report` (1.2 s). */
  slow: string;
}

/** Creates the three traces with the official SDK and flushes them to the server. */
async function sendTraces(otlpUrl: string): Promise<Sent> {
  const frontend = makeProvider(FRONTEND, otlpUrl);
  const checkout = makeProvider(CHECKOUT, otlpUrl);
  const fe = frontend.getTracer('e2e-frontend', '1.0.0');
  const co = checkout.getTracer('e2e-checkout', '1.0.0');

  // No context manager is registered, so parents are passed explicitly.
  const cart = fe.startSpan(
    'GET /cart',
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.route': '/cart', 'customer.tier': 'gold', 'http.response.status_code': 200 },
    },
    ROOT_CONTEXT,
  );
  fe.startSpan('load cart', { kind: SpanKind.INTERNAL, attributes: { 'cart.items': 3 } }, childOf(cart)).end();
  co.startSpan(
    'POST /checkout',
    { kind: SpanKind.SERVER, attributes: { 'http.route': '/checkout', 'customer.tier': 'gold' } },
    childOf(cart),
  ).end();
  cart.end();

  const pay = fe.startSpan(
    'GET /pay',
    { kind: SpanKind.SERVER, attributes: { 'http.route': '/pay', 'customer.tier': 'silver' } },
    ROOT_CONTEXT,
  );
  const charge = co.startSpan(
    'charge card',
    { kind: SpanKind.CLIENT, attributes: { 'http.response.status_code': 503, 'customer.tier': 'silver' } },
    childOf(pay),
  );
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'payment gateway unavailable' });
  charge.end();
  pay.setAttribute('http.response.status_code', 502);
  pay.end();

  // Explicit times make the durations exact; both spans are over 1 s so that
  // `maxDuration=1s` (a span condition) cannot match this trace through a child.
  const t0 = Date.now() - 5_000;
  const slow = co.startSpan(
    'nightly report',
    { kind: SpanKind.INTERNAL, startTime: new Date(t0), attributes: { 'customer.tier': 'bronze' } },
    ROOT_CONTEXT,
  );
  co.startSpan('render report', { startTime: new Date(t0 + 100) }, childOf(slow)).end(new Date(t0 + 1_300));
  slow.end(new Date(t0 + SLOW_MS));

  await Promise.all([frontend.forceFlush(), checkout.forceFlush()]);
  await Promise.all([frontend.shutdown(), checkout.shutdown()]);
  return {
    cart: cart.spanContext().traceId,
    cartRootSpanId: cart.spanContext().spanId,
    pay: pay.spanContext().traceId,
    slow: slow.spanContext().traceId,
  };
}

describe('OpenTelemetry SDK -> traceloom server -> native API', { timeout: 120_000 }, () => {
  let dataDir = '';
  let server: Server | undefined;
  let sent: Sent;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tl-e2e-otel-'));
    server = await startServer(dataDir);
    sent = await sendTraces(server.otlpUrl);
  });

  after(async () => {
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('returns a trace by id with its tree, services and typed attributes', async () => {
    const s = server!;
    const t = await waitForTrace(s, sent.cart, 3);
    assert.equal(t.traceId, sent.cart);
    assert.equal(t.spanCount, 3);
    assert.equal(t.rootServiceName, FRONTEND);
    assert.equal(t.rootName, 'GET /cart');
    assert.equal(t.orphanCount, 0);
    assert.deepEqual(t.roots.length, 1);

    const root = spanNamed(t, 'GET /cart');
    assert.equal(t.roots[0], root.index);
    assert.equal(root.spanId, sent.cartRootSpanId);
    assert.equal(root.parentSpanId, '');
    assert.equal(root.parentIndex, -1);
    assert.equal(root.depth, 0);
    assert.equal(root.serviceName, FRONTEND);
    assert.equal(root.kindName, 'server');
    assert.deepEqual(attr(root, 'http.route'), { type: 'string', value: '/cart' });
    assert.deepEqual(attr(root, 'customer.tier'), { type: 'string', value: 'gold' });
    // An int attribute stays an int (a decimal string in JSON, so int64 survives), not a double.
    assert.deepEqual(attr(root, 'http.response.status_code'), { type: 'int', value: '200' });

    const load = spanNamed(t, 'load cart');
    const post = spanNamed(t, 'POST /checkout');
    for (const child of [load, post]) {
      assert.equal(child.parentSpanId, root.spanId);
      assert.equal(child.parentIndex, root.index);
      assert.equal(child.depth, 1);
      assert.equal(child.orphan, false);
    }
    assert.deepEqual([...root.children].sort(), [load.index, post.index].sort());
    assert.equal(load.serviceName, FRONTEND);
    assert.equal(post.serviceName, CHECKOUT);
    assert.deepEqual(attr(load, 'cart.items'), { type: 'int', value: '3' });
    assert.equal(t.resources[post.resourceIndex]?.serviceName, CHECKOUT);
    assert.deepEqual(t.services.map((x) => x.service).sort(), [CHECKOUT, FRONTEND]);

    const pay = await waitForTrace(s, sent.pay, 2);
    const charge = spanNamed(pay, 'charge card');
    assert.equal(charge.status.codeName, 'error');
    assert.equal(charge.status.message, 'payment gateway unavailable');
    assert.equal(pay.errorCount, 1);

    const slow = await waitForTrace(s, sent.slow, 2);
    assert.equal(spanNamed(slow, 'nightly report').durationNano, String(SLOW_MS * 1_000_000));
    assert.equal(spanNamed(slow, 'render report').durationNano, String(1_200 * 1_000_000));
  });

  it('lists both services and their operations, and searches by service', async () => {
    const s = server!;
    const services = await get<{ services: string[] }>(s, '/api/v1/services');
    assert.equal(services.status, 200);
    assert.deepEqual(services.body.services, [CHECKOUT, FRONTEND]);

    const ops = await get<{ operations: { name: string; spanKindName: string }[] }>(
      s,
      `/api/v1/services/${FRONTEND}/operations`,
    );
    assert.equal(ops.status, 200);
    assert.deepEqual(
      ops.body.operations.map((o) => `${o.name}|${o.spanKindName}`),
      ['GET /cart|server', 'GET /pay|server', 'load cart|internal'],
    );

    assert.deepEqual(await searchIds(s, `service=${FRONTEND}`), [sent.cart, sent.pay].sort());
    assert.deepEqual(await searchIds(s, `service=${CHECKOUT}`), [sent.cart, sent.pay, sent.slow].sort());
    assert.deepEqual(await searchIds(s, `service=${FRONTEND}&operation=${encodeURIComponent('GET /pay')}`), [sent.pay]);
  });

  it('searches by attribute, text and numeric, and by error status', async () => {
    const s = server!;
    const q = (cond: string) => `attr=${encodeURIComponent(cond)}`;
    assert.deepEqual(await searchIds(s, q('customer.tier=gold')), [sent.cart]);
    assert.deepEqual(await searchIds(s, q('customer.tier=bronze')), [sent.slow]);
    assert.deepEqual(await searchIds(s, q('http.response.status_code>=500')), [sent.pay].sort());
    assert.deepEqual(await searchIds(s, q('http.response.status_code<300')), [sent.cart]);
    // Both conditions on one span: only `charge card` has 503.
    assert.deepEqual(await searchIds(s, `${q('http.response.status_code=503')}&service=${CHECKOUT}`), [sent.pay]);
    assert.deepEqual(await searchIds(s, `${q('http.response.status_code=503')}&service=${FRONTEND}`), []);
    assert.deepEqual(await searchIds(s, 'errors=true'), [sent.pay]);
  });

  it('searches by duration', async () => {
    const s = server!;
    assert.deepEqual(await searchIds(s, 'minDuration=1s'), [sent.slow]);
    assert.deepEqual(await searchIds(s, 'minDuration=1.4s&lookback=2h'), [sent.slow]);
    assert.deepEqual(await searchIds(s, 'minDuration=1.6s'), []);
    assert.deepEqual(await searchIds(s, 'maxDuration=1s'), [sent.cart, sent.pay].sort());
  });

  it('answers an unknown trace id with a JSON 404', async () => {
    const s = server!;
    const r = await get<ApiErrorBody>(s, '/api/v1/traces/0123456789abcdef0123456789abcdef');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'TL_ERR_TRACE_NOT_FOUND');
    assert.match(r.body.error.message, /0123456789abcdef0123456789abcdef/);
    assert.equal(r.headers.get('x-traceloom-error-code'), 'TL_ERR_TRACE_NOT_FOUND');
  });

  it('stops with 0 on SIGTERM and still has the traces after a restart', async () => {
    const first = server!;
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, `the server did not stop cleanly:\n${first.output()}`);

    server = await startServer(dataDir);
    const t = await waitForTrace(server, sent.cart, 3);
    assert.equal(spanNamed(t, 'POST /checkout').parentSpanId, sent.cartRootSpanId);
    assert.deepEqual(attr(spanNamed(t, 'GET /cart'), 'http.response.status_code'), { type: 'int', value: '200' });
    assert.deepEqual(await searchIds(server, `service=${CHECKOUT}`), [sent.cart, sent.pay, sent.slow].sort());

    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, `the restarted server did not stop cleanly:\n${server.output()}`);
  });
});
