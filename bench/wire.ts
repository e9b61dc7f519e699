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
import { type Attributes, type Link, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
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

const SPANS = 512;
const SERVICES = ['frontend', 'checkout', 'payment', 'inventory'] as const;

/** A small deterministic PRNG (mulberry32), so every run measures the same payload. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

const ROUTES = ['/api/cart', '/api/checkout', '/api/products/{id}', '/api/users/{id}/orders', '/healthz'] as const;
const STATEMENTS = [
  'SELECT id, name, price, stock FROM products WHERE id = $1',
  'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2 AND stock >= $1',
  'INSERT INTO orders (user_id, total_cents, currency, created_at) VALUES ($1, $2, $3, now())',
] as const;

function spanAttributes(rand: () => number, service: string, i: number): { kind: SpanKind; attrs: Attributes } {
  const route = pick(rand, ROUTES);
  const status = rand() < 0.05 ? 500 : 200;
  switch (i % 3) {
    case 0:
      return {
        kind: SpanKind.SERVER,
        attrs: {
          'http.request.method': pick(rand, ['GET', 'POST', 'PUT']),
          'http.route': route,
          'url.path': route.replace('{id}', String(Math.floor(rand() * 100000))),
          'url.scheme': 'https',
          'http.response.status_code': status,
          'server.address': `${service}.shop.svc.cluster.local`,
          'server.port': 8080,
          'client.address': `10.0.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}`,
          'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0',
          'network.protocol.version': '1.1',
        },
      };
    case 1:
      return {
        kind: SpanKind.CLIENT,
        attrs: {
          'http.request.method': 'GET',
          'url.full': `http://${pick(rand, SERVICES)}:8080${route.replace('{id}', String(Math.floor(rand() * 1000)))}`,
          'http.response.status_code': status,
          'server.address': `${pick(rand, SERVICES)}.shop.svc.cluster.local`,
          'server.port': 8080,
          'network.peer.address': `10.0.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}`,
          'http.request.resend_count': 0,
          'http.request.body.size': Math.floor(rand() * 4000),
          'http.response.body.size': Math.floor(rand() * 40000),
          'peer.service': pick(rand, SERVICES),
        },
      };
    default:
      return {
        kind: SpanKind.CLIENT,
        attrs: {
          'db.system': 'postgresql',
          'db.namespace': 'shop',
          'db.operation.name': 'SELECT',
          'db.collection.name': 'products',
          'db.query.text': pick(rand, STATEMENTS),
          'server.address': 'postgres.shop.svc.cluster.local',
          'server.port': 5432,
          'db.response.returned_rows': Math.floor(rand() * 50),
          'db.client.connection.pool.name': 'primary',
          'db.cache.hit': rand() < 0.3,
        },
      };
  }
}

/** The benchmark payload, as ReadableSpans made by the official SDK. */
export function makeReadableSpans(count = SPANS, seed = 42): ReadableSpan[] {
  const rand = prng(seed);
  const exporter = new InMemorySpanExporter();
  const tracers: Tracer[] = SERVICES.map((service, k) => {
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
    return provider.getTracer('@opentelemetry/instrumentation-http', '0.223.1');
  });
  const baseMs = Date.UTC(2026, 0, 15, 12, 0, 0) + seed * 60_000;
  let previous: Link['context'] | undefined;
  for (let i = 0; i < count; i++) {
    const service = SERVICES[i % SERVICES.length] as string;
    const tracer = tracers[i % SERVICES.length] as Tracer;
    const { kind, attrs } = spanAttributes(rand, service, i);
    const startMs = baseMs + i * 3.25 + rand();
    const links: Link[] =
      previous !== undefined && i % 8 === 0
        ? [{ context: previous, attributes: { 'messaging.message.id': `m-${i}`, 'link.reason': 'retry' } }]
        : [];
    const span = tracer.startSpan(
      i % 3 === 2 ? `SELECT shop.products` : `${attrs['http.request.method']} ${pick(rand, ROUTES)}`,
      { kind, attributes: attrs, startTime: startMs, links },
    );
    const events = 1 + (i % 3);
    for (let e = 0; e < events; e++) {
      if (e === 2 && attrs['http.response.status_code'] === 500) {
        span.addEvent(
          'exception',
          {
            'exception.type': 'Error',
            'exception.message': 'upstream connect error or disconnect/reset before headers',
          },
          startMs + 1.5,
        );
      } else {
        span.addEvent(
          e === 0 ? 'request.sent' : 'response.received',
          { 'message.type': e === 0 ? 'SENT' : 'RECEIVED', 'message.id': e + 1 },
          startMs + e * 0.5,
        );
      }
    }
    if (attrs['http.response.status_code'] === 500) span.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
    span.end(startMs + 2 + rand() * 40);
    previous = span.spanContext();
  }
  return exporter.getFinishedSpans();
}

/** Median time of `fn` in microseconds per call, over `rounds` rounds of `iterations` calls after a warm-up. */
function measure(fn: () => unknown, iterations: number, rounds = 15, warmup = 20): number {
  let sink = 0;
  for (let i = 0; i < warmup; i++) if (fn() !== undefined) sink++;
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (fn() !== undefined) sink++;
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / iterations);
  }
  if (sink < 0) console.error(sink);
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1] as number;
}

function line(metric: string, ours: number, baseline: string, theirs: number): void {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  console.log(
    JSON.stringify({
      bench: 'wire',
      metric,
      value: round(ours),
      unit: 'us',
      baseline,
      baseline_value: round(theirs),
      ratio: round(theirs / ours),
    }),
  );
}

/** Runs the wire benchmark and prints one JSON line per figure. */
export default async function run(): Promise<void> {
  const readable = makeReadableSpans(SPANS);
  const proto = ProtobufTraceSerializer.serializeRequest(readable) as Uint8Array;
  const jsonText = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(readable) as Uint8Array);
  const spans = decodeOtlpTraces(proto);
  if (spans.length !== SPANS) throw new Error(`decoded ${spans.length} spans, expected ${SPANS}`);
  const n = spans.length;
  const iterations = 10;

  const decodeOurs = measure(() => decodeOtlpTraces(proto), iterations) / n;
  const decodeJsonParse = measure(() => JSON.parse(jsonText), iterations) / n;
  line('otlp_proto_decode_us_per_span', decodeOurs, 'JSON.parse', decodeJsonParse);

  const encodeOurs = measure(() => encodeOtlpTraces(spans), iterations) / n;
  const encodeOtel = measure(() => ProtobufTraceSerializer.serializeRequest(readable), iterations) / n;
  line('otlp_proto_encode_us_per_span', encodeOurs, '@opentelemetry/otlp-transformer ProtobufTraceSerializer', encodeOtel);

  const jsonDecodeOurs = measure(() => decodeOtlpTracesJson(jsonText), iterations) / n;
  line('otlp_json_decode_us_per_span', jsonDecodeOurs, 'JSON.parse', decodeJsonParse);

  const jsonEncodeOurs = measure(() => encodeOtlpTracesJson(spans), iterations) / n;
  const jsonEncodeOtel = measure(() => JsonTraceSerializer.serializeRequest(readable), iterations) / n;
  line('otlp_json_encode_us_per_span', jsonEncodeOurs, '@opentelemetry/otlp-transformer JsonTraceSerializer', jsonEncodeOtel);

  const ourProto = encodeOtlpTraces(spans);
  console.error(
    `# payload: ${n} spans, OTel protobuf ${(proto.length / n).toFixed(0)} B/span, ours ${(ourProto.length / n).toFixed(0)} B/span, OTLP/JSON ${(jsonText.length / n).toFixed(0)} B/span`,
  );
}
