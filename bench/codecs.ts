/**
 * Codec benchmark: the hand-written Zipkin and Jaeger decoders against what a
 * receiver would otherwise use.
 *
 * - `zipkin_json_decode_us_per_span`: `decodeZipkinJson` against `JSON.parse`
 *   of the same text. The text is what `@opentelemetry/exporter-zipkin` posts,
 *   captured from a loopback server standing in for Zipkin. Our decoder
 *   calls `JSON.parse` itself and then checks and maps the result, so this
 *   ratio is below 1 by construction: it shows what the mapping costs.
 * - `zipkin_proto_decode_us_per_span`: `decodeZipkinProto` against
 *   protobufjs decoding the same bytes with zipkin.proto built in code. No
 *   JavaScript client sends Zipkin proto3, so protobufjs writes the bytes from
 *   the captured JSON spans (Brave sends the same message).
 * - `jaeger_thrift_decode_us_per_span`: `decodeJaegerThriftBatch` against
 *   thriftrw (jaeger-client's serializer) reading the same bytes into its
 *   `Batch`. The bytes are what jaeger-client's HTTPSender posts, captured
 *   from a loopback server standing in for the collector.
 *
 * The payloads: batches of 512 spans of a small shop (frontend -> checkout ->
 * payment and inventory, each with a database call), ten tags per span with
 * the usual semantic-convention keys, one or two annotations (events, logs)
 * per span, one trace in twenty failing. Ours return model spans, so they do
 * more than the baselines, which stop at their own generic objects.
 *
 * Every figure is the median of several timed rounds after a warm-up, and is
 * compared with its baseline measured in the same run.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  type Attributes,
  type Context,
  type Span as OtelSpan,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeJaegerThriftBatch, decodeZipkinJson, decodeZipkinProto } from '../packages/wire/src/index.ts';
import { compareMedians, printFigure } from './internal/measure.ts';
import { prng } from './internal/prng.ts';

const require = createRequire(import.meta.url);

const SPANS = 512;
/** Different batches per round, so that string caches see misses as well as hits. */
const PAYLOADS = 4;
const TIMING = { payloads: PAYLOADS, itemsPerPayload: SPANS, nsPerUnit: 1000 } as const;

// ---------------------------------------------------------------------------
// The workload, independent of any client

type Service = 'frontend' | 'checkout' | 'payment' | 'inventory';
type TagValue = string | number | boolean;

interface PlannedEvent {
  readonly name: string;
  readonly atMs: number;
  readonly fields: Readonly<Record<string, TagValue>>;
}

/** One span to record, parents before children. */
interface PlannedSpan {
  /** Index of the parent in the plan, -1 for a root. */
  readonly parent: number;
  readonly service: Service;
  readonly name: string;
  readonly kind: 'server' | 'client';
  readonly startMs: number;
  endMs: number;
  readonly tags: Readonly<Record<string, TagValue>>;
  readonly events: PlannedEvent[];
  readonly failed: boolean;
}

const DOWNSTREAM: Readonly<Record<Service, readonly Service[]>> = {
  frontend: ['checkout'],
  checkout: ['payment', 'inventory'],
  payment: [],
  inventory: [],
};
const ROUTES = ['/api/cart', '/api/checkout', '/api/products/{id}', '/api/users/{id}/orders'] as const;
const STATEMENTS = [
  'SELECT id, name, price, stock FROM products WHERE id = $1',
  'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1',
  'INSERT INTO orders (user_id, total_cents, currency, created_at) VALUES ($1, $2, $3, now())',
] as const;

/**
 * `count` spans of traces of ten spans each: a server span per service, a
 * database call in each, a client span per downstream call. Nine tags per
 * span (the clients add a tenth: the kind, a status or a resource tag), one
 * or two events per span.
 */
function planSpans(count: number, seed: number): PlannedSpan[] {
  const rand = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const ip = () => `10.0.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}`;
  const withId = (route: string) => route.replace('{id}', String(Math.floor(rand() * 100000)));
  const plan: PlannedSpan[] = [];

  const add = (
    parent: number,
    service: Service,
    name: string,
    kind: 'server' | 'client',
    startMs: number,
    tags: Record<string, TagValue>,
    failed: boolean,
  ): number => {
    const events: PlannedEvent[] = [
      { name: kind === 'server' ? 'request.received' : 'request.sent', atMs: startMs + 0.05, fields: { size: 512 } },
    ];
    plan.push({ parent, service, name, kind, startMs, endMs: startMs, tags, events, failed });
    return plan.length - 1;
  };
  const finish = (i: number, endMs: number) => {
    const s = plan[i] as PlannedSpan;
    s.endMs = endMs;
    if (s.failed) {
      s.events.push({
        name: 'exception',
        atMs: endMs - 0.1,
        fields: { 'exception.type': 'Error', 'exception.message': 'upstream connect error or disconnect/reset' },
      });
    } else if (plan.length % 2 === 0) {
      s.events.push({ name: 'response.received', atMs: endMs - 0.05, fields: { size: Math.floor(rand() * 40000) } });
    }
    return endMs;
  };

  const handle = (service: Service, route: string, parent: number, at: number, failed: boolean): number => {
    if (plan.length >= count) return at;
    const status = failed ? 500 : 200;
    const server = add(
      parent,
      service,
      `POST ${route}`,
      'server',
      at,
      {
        'http.request.method': 'POST',
        'http.route': route,
        'url.path': withId(route),
        'url.scheme': 'https',
        'http.response.status_code': status,
        'server.address': `${service}.shop.svc.cluster.local`,
        'server.port': 8080,
        'client.address': ip(),
        'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0',
      },
      failed,
    );
    let t = at + 0.3;
    if (plan.length < count) {
      const statement = pick(STATEMENTS);
      const db = add(
        server,
        service,
        `${statement.slice(0, statement.indexOf(' '))} shop`,
        'client',
        t,
        {
          'db.system': 'postgresql',
          'db.namespace': 'shop',
          'db.operation.name': statement.slice(0, statement.indexOf(' ')),
          'db.query.text': statement,
          'server.address': 'postgres.shop.svc.cluster.local',
          'server.port': 5432,
          'db.response.returned_rows': Math.floor(rand() * 50),
          'db.client.connection.pool.name': 'primary',
          'db.cache.hit': rand() < 0.3,
        },
        false,
      );
      t = finish(db, t + 1 + rand() * 4);
    }
    for (const peer of DOWNSTREAM[service]) {
      if (plan.length >= count) break;
      const peerRoute = pick(ROUTES);
      const start = t + 0.1;
      const client = add(
        server,
        service,
        `POST ${peerRoute}`,
        'client',
        start,
        {
          'http.request.method': 'POST',
          'url.full': `http://${peer}:8080${withId(peerRoute)}`,
          'http.response.status_code': status,
          'server.address': `${peer}.shop.svc.cluster.local`,
          'server.port': 8080,
          'network.peer.address': ip(),
          'http.request.body.size': Math.floor(rand() * 4000),
          'http.response.body.size': Math.floor(rand() * 40000),
          'peer.service': peer,
        },
        failed,
      );
      t = finish(client, handle(peer, peerRoute, client, start + 0.6, failed) + 0.2);
    }
    return finish(server, Math.max(t + 0.2, at + 0.2 + rand() * 3));
  };

  const baseMs = Date.UTC(2026, 0, 15, 12, 0, 0) + seed * 60_000;
  for (let i = 0; plan.length < count; i++)
    handle('frontend', pick(ROUTES), -1, baseMs + i * 50 + rand() * 10, rand() < 0.05);
  return plan;
}

// ---------------------------------------------------------------------------
// Real clients, captured over loopback HTTP

/** Starts a loopback server, runs `send` with its URL, and returns the body of the one request it receives. */
async function capture(send: (url: string) => Promise<void>): Promise<Buffer> {
  let resolveBody: (b: Buffer) => void = () => {};
  const received = new Promise<Buffer>((resolve) => {
    resolveBody = resolve;
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(202).end();
      resolveBody(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await send(`http://127.0.0.1:${port}`);
    return await received;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The body `@opentelemetry/exporter-zipkin` posts for the plan, recorded with the OpenTelemetry SDK. */
async function zipkinJsonFromOtel(plan: readonly PlannedSpan[]): Promise<string> {
  const memory = new InMemorySpanExporter();
  const tracers = new Map<Service, ReturnType<BasicTracerProvider['getTracer']>>();
  for (const service of ['frontend', 'checkout', 'payment', 'inventory'] as const) {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    tracers.set(service, provider.getTracer('@opentelemetry/instrumentation-http', '0.223.1'));
  }
  const started: OtelSpan[] = [];
  const contexts: Context[] = [];
  for (const p of plan) {
    const parent = p.parent < 0 ? ROOT_CONTEXT : (contexts[p.parent] as Context);
    const kind = p.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT;
    const tracer = tracers.get(p.service) as NonNullable<ReturnType<typeof tracers.get>>;
    const s = tracer.startSpan(p.name, { kind, attributes: p.tags as Attributes, startTime: p.startMs }, parent);
    started.push(s);
    contexts.push(trace.setSpan(parent, s));
  }
  plan.forEach((p, i) => {
    const s = started[i] as OtelSpan;
    for (const e of p.events) s.addEvent(e.name, e.fields as Attributes, e.atMs);
    if (p.failed) s.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
    s.end(p.endMs);
  });
  const spans = memory.getFinishedSpans();
  const body = await capture(
    (url) =>
      new Promise<void>((resolve, reject) => {
        const exporter = new ZipkinExporter({ url: `${url}/api/v2/spans` });
        exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error)));
      }),
  );
  return body.toString('utf8');
}

interface JaegerSpanContext {
  readonly __jaegerContext: true;
}
interface JaegerSpan {
  context(): JaegerSpanContext;
  setTag(key: string, value: unknown): JaegerSpan;
  log(fields: Record<string, unknown>, timestampMs?: number): JaegerSpan;
  finish(finishTimeMs?: number): void;
}
interface JaegerTracer {
  startSpan(name: string, options?: object): JaegerSpan;
  close(callback: () => void): void;
}
interface JaegerClient {
  initTracer(config: object, options: object): JaegerTracer;
  RemoteReporter: new (sender: object, options: object) => object;
}
type HttpSenderClass = new (options: object) => object;

/**
 * The body jaeger-client's HTTPSender posts for the plan: one process (a
 * Jaeger batch is one process), one batch of all the spans.
 */
async function jaegerThriftFromClient(plan: readonly PlannedSpan[]): Promise<Buffer> {
  const client = require('jaeger-client') as JaegerClient;
  const HTTPSender = (require('jaeger-client/dist/src/reporters/http_sender.js') as { default: HttpSenderClass })
    .default;
  const logger = { info() {}, error() {} };
  return capture(async (url) => {
    // One batch of the whole plan, posted by the flush that close() makes: a
    // batch that reached maxSpanBatchSize would be posted at once, and close()
    // would then tear the connection down under it.
    const sender = new HTTPSender({ endpoint: `${url}/api/traces`, maxSpanBatchSize: plan.length + 1, logger });
    const reporter = new client.RemoteReporter(sender, { bufferFlushInterval: 600_000, logger });
    const tracer = client.initTracer(
      { serviceName: 'checkout', sampler: { type: 'const', param: 1 } },
      { logger, reporter, tags: { 'service.version': '1.4.2' } },
    );
    const started: JaegerSpan[] = [];
    for (const p of plan) {
      const options: Record<string, unknown> = { startTime: p.startMs, tags: { 'span.kind': p.kind, ...p.tags } };
      if (p.parent >= 0) options.childOf = (started[p.parent] as JaegerSpan).context();
      started.push(tracer.startSpan(p.name, options));
    }
    plan.forEach((p, i) => {
      const s = started[i] as JaegerSpan;
      for (const e of p.events) s.log({ event: e.name, ...e.fields }, e.atMs);
      if (p.failed) s.setTag('error', true);
      s.finish(p.endMs);
    });
    await new Promise<void>((resolve) => tracer.close(resolve));
  });
}

// ---------------------------------------------------------------------------
// Baselines

/** zipkin.proto's messages, field numbers and types (openzipkin/zipkin-api), as in zipkin/proto.test.ts. */
const ZIPKIN_PROTO = `
syntax = "proto3";
package zipkin.proto3;
message Span {
  bytes trace_id = 1;
  bytes parent_id = 2;
  bytes id = 3;
  enum Kind { SPAN_KIND_UNSPECIFIED = 0; CLIENT = 1; SERVER = 2; PRODUCER = 3; CONSUMER = 4; }
  Kind kind = 4;
  string name = 5;
  fixed64 timestamp = 6;
  uint64 duration = 7;
  Endpoint local_endpoint = 8;
  Endpoint remote_endpoint = 9;
  repeated Annotation annotations = 10;
  map<string, string> tags = 11;
  bool debug = 12;
  bool shared = 13;
}
message Endpoint { string service_name = 1; bytes ipv4 = 2; bytes ipv6 = 3; int32 port = 4; }
message Annotation { fixed64 timestamp = 1; string value = 2; }
message ListOfSpans { repeated Span spans = 1; }
`;

type Json = Record<string, unknown>;

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

/** A Zipkin JSON span as the protobufjs object of the same span (OTel writes only a service name in endpoints). */
function protoObject(z: Json): Json {
  const micros = (v: unknown) => (typeof v === 'number' ? Math.trunc(v) : undefined);
  return {
    traceId: hexBytes(z.traceId as string),
    parentId: z.parentId === undefined ? undefined : hexBytes(z.parentId as string),
    id: hexBytes(z.id as string),
    kind: z.kind,
    name: z.name,
    timestamp: micros(z.timestamp),
    duration: micros(z.duration),
    localEndpoint: z.localEndpoint,
    remoteEndpoint: z.remoteEndpoint,
    annotations: ((z.annotations ?? []) as Json[]).map((a) => ({ timestamp: micros(a.timestamp), value: a.value })),
    tags: z.tags,
  };
}

interface ProtobufType {
  fromObject(o: object): object;
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
}

interface ThriftrwStruct {
  fromBuffer(b: Buffer): { spans?: unknown[] };
}

// ---------------------------------------------------------------------------
// Measuring

function expectSpans(what: string, n: number): void {
  if (n !== SPANS) throw new Error(`${what}: ${n} spans, expected ${SPANS}`);
}

/** Runs the codecs benchmark and prints one JSON line per figure. */
export default async function run(): Promise<void> {
  const plans = Array.from({ length: PAYLOADS }, (_, k) => planSpans(SPANS, 7 + k));
  const at = <T>(xs: readonly T[], k: number) => xs[k] as T;

  // Zipkin v2 JSON, as the OpenTelemetry Zipkin exporter sends it.
  const json: string[] = [];
  for (const plan of plans) json.push(await zipkinJsonFromOtel(plan));
  for (const text of json) {
    expectSpans('decodeZipkinJson', decodeZipkinJson(text).length);
    expectSpans('JSON.parse', (JSON.parse(text) as unknown[]).length);
  }
  printFigure(
    'codecs',
    'zipkin_json_decode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => decodeZipkinJson(at(json, k)),
      (k) => JSON.parse(at(json, k)),
    ),
    'JSON.parse',
  );

  // Zipkin proto3: the same spans, written by protobufjs.
  const protobuf = require('protobufjs') as { parse(s: string): { root: { lookupType(n: string): ProtobufType } } };
  const ListOfSpans = protobuf.parse(ZIPKIN_PROTO).root.lookupType('zipkin.proto3.ListOfSpans');
  const proto = json.map((text) =>
    ListOfSpans.encode(ListOfSpans.fromObject({ spans: (JSON.parse(text) as Json[]).map(protoObject) })).finish(),
  );
  for (const bytes of proto) {
    expectSpans('decodeZipkinProto', decodeZipkinProto(bytes).length);
    expectSpans('protobufjs', ((ListOfSpans.decode(bytes) as { spans: unknown[] }).spans ?? []).length);
  }
  printFigure(
    'codecs',
    'zipkin_proto_decode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => decodeZipkinProto(at(proto, k)),
      (k) => ListOfSpans.decode(at(proto, k)),
    ),
    'protobufjs ListOfSpans.decode',
  );

  // Jaeger Thrift (binary protocol), as jaeger-client's HTTPSender posts it.
  const thrift: Buffer[] = [];
  for (const plan of plans) thrift.push(await jaegerThriftFromClient(plan));
  const { Thrift } = require('thriftrw') as { Thrift: new (o: object) => { Batch: ThriftrwStruct } };
  const idl = require.resolve('jaeger-client/dist/src/jaeger-idl/thrift/jaeger.thrift');
  const { Batch } = new Thrift({ source: readFileSync(idl, 'ascii'), allowOptionalArguments: true });
  for (const bytes of thrift) {
    expectSpans('decodeJaegerThriftBatch', decodeJaegerThriftBatch(bytes).length);
    expectSpans('thriftrw', (Batch.fromBuffer(bytes).spans ?? []).length);
  }
  printFigure(
    'codecs',
    'jaeger_thrift_decode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => decodeJaegerThriftBatch(at(thrift, k)),
      (k) => Batch.fromBuffer(at(thrift, k)),
    ),
    'thriftrw Batch.fromBuffer',
  );

  const perSpan = (xs: readonly { length: number }[]) =>
    (xs.reduce((n, x) => n + x.length, 0) / (PAYLOADS * SPANS)).toFixed(0);
  const tags = (JSON.parse(at(json, 0)) as Json[]).map((z) => Object.keys((z.tags ?? {}) as Json).length);
  console.error(
    `# payload: ${PAYLOADS} x ${SPANS} spans, ${(tags.reduce((a, b) => a + b, 0) / tags.length).toFixed(1)} tags/span; Zipkin JSON ${perSpan(json)} chars/span, Zipkin proto3 ${perSpan(proto)} B/span, Jaeger Thrift ${perSpan(thrift)} B/span`,
  );
}
