/**
 * Wire codec benchmark: the hand-written OTLP protobuf codec against the
 * baselines a receiver or exporter would otherwise use.
 *
 * The payload is made by the official OpenTelemetry SDK (sdk-trace-base):
 * 512 spans from four services, about ten attributes per span with the usual
 * semantic-convention keys, one to three events, some links. The same spans
 * are serialized by `@opentelemetry/otlp-transformer` as protobuf (what our
 * decoder reads) and as OTLP/JSON (what `JSON.parse` reads for the decode
 * baseline); the spans our decoder returns are what our encoder writes.
 *
 * Every figure is the median of several timed rounds after a warm-up, and is
 * compared with its baseline measured in the same run.
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  decodeOtlpTraces,
  decodeOtlpTracesJson,
  encodeOtlpTraces,
  encodeOtlpTracesJson,
} from '../packages/wire/src/index.ts';
import { compareMedians, printFigure } from './internal/measure.ts';
import { prng } from './internal/prng.ts';

const SPANS = 512;
const SERVICES = ['frontend', 'checkout', 'payment', 'inventory'] as const;

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

const ROUTES = ['/api/cart', '/api/checkout', '/api/products/{id}', '/api/users/{id}/orders'] as const;
const STATEMENTS = [
  'SELECT id, name, price, stock FROM products WHERE id = $1',
  'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1',
  'INSERT INTO orders (user_id, total_cents, currency, created_at) VALUES ($1, $2, $3, now())',
] as const;

type Service = (typeof SERVICES)[number];

/** Who calls whom: frontend -> checkout -> payment and inventory. */
const DOWNSTREAM: Readonly<Record<Service, readonly Service[]>> = {
  frontend: ['checkout'],
  checkout: ['payment', 'inventory'],
  payment: [],
  inventory: [],
};

function ip(rand: () => number): string {
  return `10.0.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}`;
}

function withId(route: string, rand: () => number): string {
  return route.replace('{id}', String(Math.floor(rand() * 100000)));
}

/** Semantic-convention attributes of an HTTP server span. */
function serverAttributes(
  rand: () => number,
  service: Service,
  method: string,
  route: string,
  status: number,
): Attributes {
  return {
    'http.request.method': method,
    'http.route': route,
    'url.path': withId(route, rand),
    'url.scheme': 'https',
    'http.response.status_code': status,
    'server.address': `${service}.shop.svc.cluster.local`,
    'server.port': 8080,
    'client.address': ip(rand),
    'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0',
    'network.protocol.version': '1.1',
  };
}

/** Semantic-convention attributes of an HTTP client span calling `peer`. */
function clientAttributes(
  rand: () => number,
  peer: Service,
  method: string,
  route: string,
  status: number,
): Attributes {
  return {
    'http.request.method': method,
    'url.full': `http://${peer}:8080${withId(route, rand)}`,
    'http.response.status_code': status,
    'server.address': `${peer}.shop.svc.cluster.local`,
    'server.port': 8080,
    'network.peer.address': ip(rand),
    'http.request.resend_count': 0,
    'http.request.body.size': Math.floor(rand() * 4000),
    'http.response.body.size': Math.floor(rand() * 40000),
    'peer.service': peer,
  };
}

/** Semantic-convention attributes of a PostgreSQL client span. */
function dbAttributes(rand: () => number, statement: string): Attributes {
  return {
    'db.system': 'postgresql',
    'db.namespace': 'shop',
    'db.operation.name': statement.slice(0, statement.indexOf(' ')),
    'db.collection.name': statement.includes('orders')
      ? 'orders'
      : statement.includes('inventory')
        ? 'inventory'
        : 'products',
    'db.query.text': statement,
    'server.address': 'postgres.shop.svc.cluster.local',
    'server.port': 5432,
    'db.response.returned_rows': Math.floor(rand() * 50),
    'db.client.connection.pool.name': 'primary',
    'db.cache.hit': rand() < 0.3,
  };
}

/**
 * The benchmark payload, as ReadableSpans made by the official SDK: traces of
 * ten spans (frontend -> checkout -> payment and inventory, each service
 * with a database call), `count` spans in all, ten attributes per span, one to three
 * events per span, a link on one span in eight, one trace in twenty failing.
 * `seed` varies ids, addresses and sizes between payloads.
 */
export function makeReadableSpans(count = SPANS, seed = 42): ReadableSpan[] {
  const rand = prng(seed);
  const exporter = new InMemorySpanExporter();
  const tracers = new Map<Service, Tracer>();
  SERVICES.forEach((service, k) => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': service,
        'service.version': `1.${k}.3`,
        'service.namespace': 'shop',
        'deployment.environment.name': 'production',
        'host.name': `node-${k}.eu-west-1.compute.internal`,
        'process.pid': 4000 + k,
        'process.runtime.name': 'nodejs',
        'process.runtime.version': '20.20.2',
        'telemetry.sdk.name': 'opentelemetry',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.version': '2.12.1',
      }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    tracers.set(service, provider.getTracer('@opentelemetry/instrumentation-http', '0.223.1'));
  });
  let made = 0;
  let previous: Link['context'] | undefined;

  /** Starts a span, runs `children` inside it, adds events and ends it. */
  const span = (
    service: Service,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    parent: Context,
    startMs: number,
    failed: boolean,
    children: (ctx: Context) => number,
  ): number => {
    if (made >= count) return startMs;
    made++;
    const links: Link[] =
      previous !== undefined && made % 8 === 0
        ? [{ context: previous, attributes: { 'messaging.message.id': `m-${made}`, 'link.reason': 'retry' } }]
        : [];
    const s = (tracers.get(service) as Tracer).startSpan(name, { kind, attributes, startTime: startMs, links }, parent);
    const endMs = Math.max(children(trace.setSpan(parent, s)), startMs + 0.2 + rand() * 3);
    const events = 1 + (made % 3);
    for (let e = 0; e < events; e++) {
      if (e === 2 && failed) {
        s.addEvent(
          'exception',
          {
            'exception.type': 'Error',
            'exception.message': 'upstream connect error or disconnect/reset before headers',
          },
          endMs - 0.1,
        );
      } else {
        s.addEvent(
          e === 0 ? 'request.sent' : 'response.received',
          { 'message.type': e === 0 ? 'SENT' : 'RECEIVED', 'message.id': e + 1 },
          startMs + e * 0.05,
        );
      }
    }
    if (failed) s.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
    s.end(endMs);
    previous = s.spanContext();
    return endMs;
  };

  /** A service handling a request: its server span, a database call, then a client span per downstream call. */
  const handle = (service: Service, route: string, parent: Context, at: number, failed: boolean): number => {
    const attributes = serverAttributes(rand, service, 'POST', route, failed ? 500 : 200);
    return span(service, `POST ${route}`, SpanKind.SERVER, attributes, parent, at, failed, (ctx) => {
      const statement = pick(rand, STATEMENTS);
      const operation = statement.slice(0, statement.indexOf(' '));
      const db = dbAttributes(rand, statement);
      let t = span(service, `${operation} shop`, SpanKind.CLIENT, db, ctx, at + 0.3, false, () => at + 1 + rand() * 4);
      for (const peer of DOWNSTREAM[service]) {
        const peerRoute = pick(rand, ROUTES);
        const client = clientAttributes(rand, peer, 'POST', peerRoute, failed ? 500 : 200);
        const start = t + 0.1;
        t = span(service, `POST ${peerRoute}`, SpanKind.CLIENT, client, ctx, start, failed, (c) =>
          handle(peer, peerRoute, c, start + 0.6, failed),
        );
      }
      return t + 0.2;
    });
  };

  const baseMs = Date.UTC(2026, 0, 15, 12, 0, 0) + seed * 60_000;
  for (let i = 0; made < count; i++) {
    handle('frontend', pick(rand, ROUTES), ROOT_CONTEXT, baseMs + i * 50 + rand() * 10, rand() < 0.05);
  }
  return exporter.getFinishedSpans();
}

const PAYLOADS = 4;
const TIMING = { payloads: PAYLOADS, itemsPerPayload: SPANS, nsPerUnit: 1000 } as const;

/** Runs the wire benchmark and prints one JSON line per figure. */
export default async function run(): Promise<void> {
  const readable = Array.from({ length: PAYLOADS }, (_, k) => makeReadableSpans(SPANS, 42 + k));
  const proto = readable.map((r) => ProtobufTraceSerializer.serializeRequest(r) as Uint8Array);
  const json = readable.map((r) => new TextDecoder().decode(JsonTraceSerializer.serializeRequest(r) as Uint8Array));
  const spans = proto.map((p) => decodeOtlpTraces(p));
  for (const s of spans) if (s.length !== SPANS) throw new Error(`decoded ${s.length} spans, expected ${SPANS}`);
  const at = <T>(xs: readonly T[], k: number) => xs[k] as T;

  printFigure(
    'wire',
    'otlp_proto_decode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => decodeOtlpTraces(at(proto, k)),
      (k) => JSON.parse(at(json, k)),
    ),
    'JSON.parse',
  );
  printFigure(
    'wire',
    'otlp_proto_encode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => encodeOtlpTraces(at(spans, k)),
      (k) => ProtobufTraceSerializer.serializeRequest(at(readable, k)),
    ),
    '@opentelemetry/otlp-transformer ProtobufTraceSerializer',
  );
  printFigure(
    'wire',
    'otlp_json_decode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => decodeOtlpTracesJson(at(json, k)),
      (k) => JSON.parse(at(json, k)),
    ),
    'JSON.parse',
  );
  printFigure(
    'wire',
    'otlp_json_encode_us_per_span',
    'us',
    compareMedians(
      TIMING,
      (k) => encodeOtlpTracesJson(at(spans, k)),
      (k) => JsonTraceSerializer.serializeRequest(at(readable, k)),
    ),
    '@opentelemetry/otlp-transformer JsonTraceSerializer',
  );

  const perSpan = (bytes: number) => (bytes / (PAYLOADS * SPANS)).toFixed(0);
  const sum = (xs: readonly { length: number }[]) => xs.reduce((n, x) => n + x.length, 0);
  console.error(
    `# payload: ${PAYLOADS} x ${SPANS} spans; OTel protobuf ${perSpan(sum(proto))} B/span, ours ${perSpan(sum(spans.map(encodeOtlpTraces)))} B/span, OTLP/JSON ${perSpan(sum(json))} chars/span`,
  );
}
