/**
 * The seeded generator of realistic traces behind `traceloom loadgen` and the
 * storage, query and ingest benchmarks: an online shop of eight services (frontend, catalog, cart,
 * checkout, payment, inventory, a shipping worker and an email worker) calling
 * each other over HTTP, PostgreSQL, Redis and RabbitMQ, with the attributes
 * the OpenTelemetry semantic conventions give those spans.
 *
 * Same options, same seed: the same spans, byte for byte. Every draw comes
 * from one mulberry32 stream (`prng.ts`), in a fixed order.
 *
 * Shape of the data, so that figures measured on it mean something:
 * - most traces hold 5 to 50 spans; about one in a thousand is a catalog
 *   re-index holding 1,000 to 5,000;
 * - a CLIENT span in the caller is the parent of the SERVER span in the
 *   callee, a PRODUCER of the CONSUMER; databases and caches get CLIENT spans,
 *   in-process work INTERNAL ones;
 * - durations are log-normal; a child lies inside its parent, except a
 *   CONSUMER, which starts after its PRODUCER started (queueing) and may end
 *   after it, as messaging traces do;
 * - span kinds, attribute counts per kind, event and error rates follow the
 *   demo shop's measured traces ({@link DEMO_SHAPES}, `shapes.ts`): by
 *   default about 0.8% of spans end in ERROR (`errorRate` changes it), with
 *   an `exception` event, and a failure often propagates to the callers;
 * - user, cart and order ids and URL paths are of high cardinality;
 * - a link now and then (about 1% of traces) to the previous trace.
 */
import {
  type AnyValue,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  type SpanEvent,
  SpanKind,
  type SpanLink,
  StatusCode,
} from '@traceloom/model';
import { encodeOtlpTraces } from '@traceloom/wire';
import { DEMO_SHAPES } from './demo-shapes.ts';
import { prng } from './prng.ts';

/** What {@link generateTraces} makes. */
export interface GenerateTracesOptions {
  /** Seed of the PRNG. @default 1 */
  readonly seed?: number;
  /** Start of the first trace. @default 2026-01-01T00:00:00Z */
  readonly startUnixNano?: bigint;
  /** Stop after the trace that brings the total to at least this many spans. @default unbounded */
  readonly spans?: number;
  /**
   * With `spans`: the window the traces' starts are spread evenly over, so N
   * spans cover a day. Ignored without `spans`.
   * @default 24 h
   */
  readonly windowNano?: bigint;
  /** Without `spans`: how fast time advances, in spans per second. @default 1000 */
  readonly spansPerSecond?: number;
  /** How many of the eight services take part, 1 to 8 (calls to the others are left out). @default 8 */
  readonly services?: number;
  /** Distinct user ids; product ids are a tenth of it, at least 10. @default 100000 */
  readonly attributeCardinality?: number;
  /**
   * Share of spans that end in ERROR (with failures propagating to callers
   * included). @default the demo's measured rate, {@link DEMO_SHAPES}.errorSpanRate
   */
  readonly errorRate?: number;
}

const DAY_NANO = 86_400_000_000_000n;
/** 2026-01-01T00:00:00Z. */
const DEFAULT_START = 1_767_225_600_000_000_000n;
/** OTLP `SpanFlags`: W3C sampled, plus "the remote bit is known", plus "the parent is remote". */
const FLAGS_LOCAL = 0x101;
const FLAGS_REMOTE = 0x301;

/** Service names, in the order `services` keeps them. */
export const SHOP_SERVICES = [
  'frontend',
  'catalog',
  'cart',
  'checkout',
  'payment',
  'inventory',
  'shipping-worker',
  'email',
] as const;
type ServiceName = (typeof SHOP_SERVICES)[number];

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function kv(key: string, value: AnyValue): KeyValue {
  return { key, value };
}

interface ServiceDef {
  readonly language: 'nodejs' | 'go' | 'java' | 'python';
  readonly version: string;
  readonly port: number;
}

const SERVICE_DEFS: Record<ServiceName, ServiceDef> = {
  frontend: { language: 'nodejs', version: '2.14.0', port: 8080 },
  catalog: { language: 'go', version: '1.9.3', port: 8081 },
  cart: { language: 'nodejs', version: '3.2.1', port: 8082 },
  checkout: { language: 'java', version: '5.0.7', port: 8083 },
  payment: { language: 'go', version: '1.22.0', port: 8084 },
  inventory: { language: 'java', version: '4.4.2', port: 8085 },
  'shipping-worker': { language: 'python', version: '0.31.0', port: 0 },
  email: { language: 'python', version: '1.3.5', port: 0 },
};

const SDK_VERSION: Record<ServiceDef['language'], string> = {
  nodejs: '2.12.1',
  go: '1.38.0',
  java: '1.55.0',
  python: '1.37.0',
};

/** Instrumentation libraries by language, as each SDK names them. */
const SCOPE_NAMES: Record<ServiceDef['language'], Record<'http' | 'db' | 'redis' | 'amqp' | 'app', string>> = {
  nodejs: {
    http: '@opentelemetry/instrumentation-http',
    db: '@opentelemetry/instrumentation-pg',
    redis: '@opentelemetry/instrumentation-ioredis',
    amqp: '@opentelemetry/instrumentation-amqplib',
    app: 'shop',
  },
  go: {
    http: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp',
    db: 'github.com/XSAM/otelsql',
    redis: 'github.com/redis/go-redis/extra/redisotel',
    amqp: 'shop/amqp',
    app: 'shop',
  },
  java: {
    http: 'io.opentelemetry.tomcat-10.0',
    db: 'io.opentelemetry.jdbc',
    redis: 'io.opentelemetry.lettuce-5.1',
    amqp: 'io.opentelemetry.rabbitmq-2.7',
    app: 'shop',
  },
  python: {
    http: 'opentelemetry.instrumentation.requests',
    db: 'opentelemetry.instrumentation.psycopg',
    redis: 'opentelemetry.instrumentation.redis',
    amqp: 'opentelemetry.instrumentation.pika',
    app: 'shop',
  },
};
type ScopeKind = 'http' | 'db' | 'redis' | 'amqp' | 'app';

/** Resources (three instances) and scopes of one service, shared by all its spans. */
interface ServiceRuntime {
  readonly name: ServiceName;
  readonly def: ServiceDef;
  readonly resources: readonly Resource[];
  readonly scopes: Readonly<Record<ScopeKind, InstrumentationScope>>;
}

function makeRuntime(name: ServiceName, rand: () => number): ServiceRuntime {
  const def = SERVICE_DEFS[name];
  const resources: Resource[] = [];
  for (let i = 0; i < 3; i++) {
    const pod = `${name}-${Math.floor(rand() * 0xffffff)
      .toString(36)
      .padStart(5, '0')}`;
    resources.push({
      attributes: [
        kv('service.name', name),
        kv('service.namespace', 'shop'),
        kv('service.version', def.version),
        kv('service.instance.id', pod),
        kv('deployment.environment.name', 'production'),
        kv('host.name', pod),
        kv('k8s.namespace.name', 'shop'),
        kv('k8s.pod.name', pod),
        kv('telemetry.sdk.name', 'opentelemetry'),
        kv('telemetry.sdk.language', def.language),
        kv('telemetry.sdk.version', SDK_VERSION[def.language]),
      ],
      droppedAttributesCount: 0,
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    });
  }
  const scope = (kind: ScopeKind): InstrumentationScope => ({
    name: SCOPE_NAMES[def.language][kind],
    version: kind === 'app' ? def.version : SDK_VERSION[def.language],
    attributes: [],
    droppedAttributesCount: 0,
    schemaUrl: '',
  });
  return {
    name,
    def,
    resources,
    scopes: { http: scope('http'), db: scope('db'), redis: scope('redis'), amqp: scope('amqp'), app: scope('app') },
  };
}

/**
 * A span before its times are known. Trees are built bottom-up (a parent's
 * duration is its own time plus its children's), then laid out top-down.
 */
interface Node {
  readonly service: ServiceRuntime;
  readonly scope: ScopeKind;
  readonly name: string;
  readonly kind: number;
  /** Attributes, given whether the span failed (status codes depend on it). */
  readonly attributes: (error: boolean) => KeyValue[];
  readonly children: Node[];
  /** Children run concurrently rather than one after another. */
  readonly parallel: boolean;
  /** Own time before the first child, after the last, and between them. */
  readonly selfNano: number;
  /** Total duration (set by `finish`). */
  durationNano: number;
  error: boolean;
  /** The exception type recorded when it fails. */
  readonly exception: string;
  /** An optional non-error event: [name, attributes]. */
  event: readonly [string, KeyValue[]] | undefined;
}

const EXCEPTIONS: Record<ScopeKind, readonly string[]> = {
  http: ['ECONNRESET', 'TimeoutError', 'HttpServerError'],
  db: ['QueryCanceledError', 'DeadlockDetected', 'ConnectionTimeout'],
  redis: ['ReplyError', 'ConnectionTimeoutError'],
  amqp: ['ChannelClosedError', 'PublishTimeoutError'],
  app: ['ValidationError', 'IllegalStateException', 'KeyError'],
};

/**
 * Failures of children propagate to parents: measured on this generator, the
 * share of failed spans is this many times the per-span probability of
 * failing on its own.
 */
const PROPAGATION_FACTOR = 1.65;
/** Per-span probability of an informational (non-exception) event; the demo's spans have almost none. */
const LOG_EVENT_RATE = 0.002;
/** Probability that a failed child makes its parent fail. */
const PROPAGATE_RATE = 0.55;

/**
 * The trace generator. Holds the PRNG and the shared resources, so that
 * successive traces continue one reproducible stream.
 */
class ShopGenerator {
  readonly #rand: () => number;
  readonly #svc: Map<ServiceName, ServiceRuntime>;
  readonly #users: number;
  readonly #products: number;
  #spareNormal: number | undefined;
  #traceId = '';
  /** Root span of the previous trace, for the occasional link. */
  #previous: { traceId: string; spanId: string } | undefined;
  #orders = 0;

  readonly #ownErrorRate: number;

  constructor(seed: number, services: number, cardinality: number, errorRate: number) {
    this.#rand = prng(seed);
    this.#ownErrorRate = errorRate / PROPAGATION_FACTOR;
    this.#svc = new Map();
    for (let i = 0; i < services; i++) {
      const name = SHOP_SERVICES[i] as ServiceName;
      this.#svc.set(name, makeRuntime(name, this.#rand));
    }
    this.#users = cardinality;
    this.#products = Math.max(10, Math.floor(cardinality / 10));
  }

  #int(n: number): number {
    return Math.floor(this.#rand() * n);
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[this.#int(xs.length)] as T;
  }

  #u32hex(): string {
    const x = (this.#rand() * 4294967296) >>> 0;
    return (HEX[x >>> 24] as string) + HEX[(x >>> 16) & 255] + HEX[(x >>> 8) & 255] + HEX[x & 255];
  }

  #spanId(): string {
    return this.#u32hex() + this.#u32hex();
  }

  /** Standard normal draw (Box-Muller, the second value kept for the next call). */
  #normal(): number {
    const s = this.#spareNormal;
    if (s !== undefined) {
      this.#spareNormal = undefined;
      return s;
    }
    const u = 1 - this.#rand();
    const v = this.#rand();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal duration with median `medianMs` milliseconds, in nanoseconds. */
  #ms(medianMs: number, sigma: number): number {
    return medianMs * 1e6 * Math.exp(sigma * this.#normal());
  }

  #has(s: ServiceName): boolean {
    return this.#svc.has(s);
  }

  #node(
    service: ServiceName,
    scope: ScopeKind,
    name: string,
    kind: number,
    selfNano: number,
    attributes: (error: boolean) => KeyValue[],
    children: Node[] = [],
    parallel = false,
  ): Node {
    return {
      service: this.#svc.get(service) as ServiceRuntime,
      scope,
      name,
      kind,
      attributes,
      children,
      parallel,
      selfNano,
      durationNano: 0,
      error: false,
      exception: this.#pick(EXCEPTIONS[scope]),
      event: undefined,
    };
  }

  // --- Building blocks -------------------------------------------------------

  #user(): string {
    return `u-${this.#int(this.#users)}`;
  }

  #product(): string {
    return `p-${String(this.#int(this.#products)).padStart(6, '0')}`;
  }

  /**
   * An HTTP call from `from` to `to`: a CLIENT span in the caller whose child
   * is the SERVER span of the callee. `undefined` when `to` is left out.
   */
  #http(
    from: ServiceName,
    to: ServiceName,
    method: string,
    route: string,
    path: string,
    user: string,
    serverChildren: Node[],
    parallel = false,
  ): Node | undefined {
    if (!this.#has(to)) return undefined;
    const port = SERVICE_DEFS[to].port;
    const notFound = method === 'GET' && this.#rand() < 0.01;
    const status = (error: boolean) => BigInt(error ? this.#pick([500, 502, 503]) : notFound ? 404 : 200);
    const server = this.#node(
      to,
      'http',
      `${method} ${route}`,
      SpanKind.SERVER,
      this.#ms(0.4, 0.6),
      (error) => [
        kv('http.request.method', method),
        kv('http.route', route),
        kv('url.path', path),
        kv('url.scheme', 'http'),
        kv('http.response.status_code', status(error)),
        kv('server.address', to),
        kv('server.port', BigInt(port)),
        kv('client.address', `10.0.${this.#int(8)}.${this.#int(250) + 2}`),
        kv('network.protocol.version', '1.1'),
        kv('user_agent.original', `${from}/${SERVICE_DEFS[from].version}`),
        kv('app.user.id', user),
      ],
      serverChildren,
      parallel,
    );
    return this.#node(
      from,
      'http',
      method,
      SpanKind.CLIENT,
      this.#ms(0.25, 0.5),
      (error) => [
        kv('http.request.method', method),
        kv('url.full', `http://${to}:${port}${path}`),
        kv('server.address', to),
        kv('server.port', BigInt(port)),
        kv('http.response.status_code', status(error)),
      ],
      [server],
    );
  }

  #sql(service: ServiceName, op: string, table: string, statement: string): Node {
    return this.#node(service, 'db', `${op} ${table}`, SpanKind.CLIENT, this.#ms(1.8, 0.9), () => [
      kv('db.system', 'postgresql'),
      kv('db.namespace', 'shop'),
      kv('db.operation.name', op),
      kv('db.collection.name', table),
      kv('db.statement', statement),
      kv('server.address', 'postgres.shop.svc'),
      kv('server.port', 5432n),
    ]);
  }

  #redis(service: ServiceName, command: string, key: string): Node {
    const n = this.#node(service, 'redis', `redis ${command}`, SpanKind.CLIENT, this.#ms(0.3, 0.5), () => [
      kv('db.system', 'redis'),
      kv('db.operation.name', command),
      kv('db.statement', `${command} ${key}`),
      kv('db.namespace', '0'),
      kv('server.address', 'redis.shop.svc'),
      kv('server.port', 6379n),
      kv('network.peer.address', '10.1.0.20'),
    ]);
    return n;
  }

  #internal(service: ServiceName, name: string, medianMs: number, extra: KeyValue[], children: Node[] = []): Node {
    return this.#node(
      service,
      'app',
      name,
      SpanKind.INTERNAL,
      this.#ms(medianMs, 0.7),
      () => [kv('code.function', name.replace(/\s+/g, '_')), ...extra],
      children,
    );
  }

  /** PRODUCER in `from`, with the CONSUMER of `to` (and its work) as child. */
  #publish(from: ServiceName, to: ServiceName, queue: string, orderId: string, consumerWork: Node[]): Node {
    const messageId = this.#spanId();
    const size = BigInt(200 + this.#int(1800));
    const common = (op: string): KeyValue[] => [
      kv('messaging.system', 'rabbitmq'),
      kv('messaging.destination.name', queue),
      kv('messaging.operation.type', op),
      kv('messaging.message.id', messageId),
      kv('messaging.message.body.size', size),
      kv('messaging.rabbitmq.destination.routing_key', queue),
      kv('server.address', 'rabbitmq.shop.svc'),
      kv('server.port', 5672n),
      kv('app.order.id', orderId),
    ];
    const children: Node[] = [];
    if (this.#has(to)) {
      children.push(
        this.#node(to, 'amqp', `process ${queue}`, SpanKind.CONSUMER, this.#ms(0.5, 0.6), () => common('process'), [
          ...consumerWork,
        ]),
      );
    }
    return this.#node(
      from,
      'amqp',
      `publish ${queue}`,
      SpanKind.PRODUCER,
      this.#ms(0.6, 0.5),
      () => common('publish'),
      children,
    );
  }

  // --- Traces ------------------------------------------------------------------

  #frontendRoot(method: string, route: string, path: string, user: string, children: (Node | undefined)[]): Node {
    const kids = children.filter((c): c is Node => c !== undefined);
    kids.push(this.#internal('frontend', 'render response', 0.6, [kv('app.template', route)]));
    const session = `s-${this.#u32hex()}`;
    return this.#node(
      'frontend',
      'http',
      `${method} ${route}`,
      SpanKind.SERVER,
      this.#ms(0.8, 0.6),
      (error) => [
        kv('http.request.method', method),
        kv('http.route', route),
        kv('url.path', path),
        kv('url.scheme', 'https'),
        kv('http.response.status_code', BigInt(error ? 500 : 200)),
        kv('server.address', 'shop.example.com'),
        kv('server.port', 443n),
        kv('client.address', `203.0.113.${this.#int(250) + 2}`),
        kv('network.protocol.version', '2'),
        kv('user_agent.original', this.#pick(USER_AGENTS)),
        kv('app.user.id', user),
        kv('app.session.id', session),
      ],
      kids,
    );
  }

  #productLookup(caller: ServiceName, user: string, id: string): Node | undefined {
    const work: Node[] = [this.#redis('catalog', 'GET', `product:${id}`)];
    if (this.#rand() < 0.3) {
      (work[0] as Node).event = ['cache.miss', [kv('cache.key', `product:${id}`)]];
      work.push(this.#sql('catalog', 'SELECT', 'products', 'SELECT id, name, price_cents FROM products WHERE id = $1'));
      work.push(this.#redis('catalog', 'SET', `product:${id}`));
    }
    return this.#http(caller, 'catalog', 'GET', '/products/{id}', `/products/${id}`, user, work);
  }

  #stock(caller: ServiceName, user: string, id: string): Node | undefined {
    return this.#http(caller, 'inventory', 'GET', '/inventory/{sku}', `/inventory/${id}`, user, [
      this.#sql('inventory', 'SELECT', 'stock', 'SELECT quantity FROM stock WHERE sku = $1'),
    ]);
  }

  #productPage(user: string): Node {
    const id = this.#product();
    return this.#frontendRoot('GET', '/api/products/{id}', `/api/products/${id}`, user, [
      this.#productLookup('frontend', user, id),
      this.#stock('frontend', user, id),
    ]);
  }

  #productList(user: string): Node {
    const n = 3 + this.#int(18);
    const page = 1 + this.#int(40);
    const work: Node[] = [
      this.#sql('catalog', 'SELECT', 'products', 'SELECT id FROM products ORDER BY rank LIMIT 20 OFFSET $1'),
    ];
    for (let i = 0; i < n; i++) work.push(this.#redis('catalog', 'GET', `product:${this.#product()}`));
    return this.#frontendRoot('GET', '/api/products', `/api/products?page=${page}`, user, [
      this.#http('frontend', 'catalog', 'GET', '/products', `/products?page=${page}`, user, work),
    ]);
  }

  #viewCart(user: string): Node {
    const items = 1 + this.#int(5);
    const lookups: (Node | undefined)[] = [];
    for (let i = 0; i < items; i++) lookups.push(this.#productLookup('cart', user, this.#product()));
    const cartWork = [this.#redis('cart', 'HGETALL', `cart:${user}`), ...lookups.filter((c): c is Node => !!c)];
    return this.#frontendRoot('GET', '/api/cart', '/api/cart', user, [
      this.#http('frontend', 'cart', 'GET', '/cart/{userId}', `/cart/${user}`, user, cartWork),
    ]);
  }

  #addToCart(user: string): Node {
    const id = this.#product();
    const cartWork: (Node | undefined)[] = [
      this.#stock('cart', user, id),
      this.#redis('cart', 'HSET', `cart:${user}`),
      this.#redis('cart', 'EXPIRE', `cart:${user}`),
    ];
    return this.#frontendRoot('POST', '/api/cart/items', '/api/cart/items', user, [
      this.#http(
        'frontend',
        'cart',
        'POST',
        '/cart/{userId}/items',
        `/cart/${user}/items`,
        user,
        cartWork.filter((c): c is Node => !!c),
      ),
    ]);
  }

  #checkout(user: string): Node {
    const orderId = `o-${++this.#orders}-${this.#u32hex()}`;
    const items = 1 + this.#int(6);
    const reserve: Node[] = [];
    for (let i = 0; i < items; i++) {
      const sku = this.#product();
      const r = this.#http(
        'checkout',
        'inventory',
        'POST',
        '/inventory/{sku}/reserve',
        `/inventory/${sku}/reserve`,
        user,
        [this.#sql('inventory', 'UPDATE', 'stock', 'UPDATE stock SET quantity = quantity - $2 WHERE sku = $1')],
      );
      if (r !== undefined) reserve.push(r);
    }
    const amount = 500 + this.#int(50_000);
    const charge = this.#http('checkout', 'payment', 'POST', '/charges', '/charges', user, [
      this.#node('payment', 'http', 'POST', SpanKind.CLIENT, this.#ms(160, 0.45), (error) => [
        kv('http.request.method', 'POST'),
        kv('url.full', 'https://api.payments.example/v1/charges'),
        kv('server.address', 'api.payments.example'),
        kv('server.port', 443n),
        kv('http.response.status_code', BigInt(error ? this.#pick([402, 500, 504]) : 200)),
        kv('network.protocol.version', '2'),
        kv('app.payment.amount_cents', BigInt(amount)),
        kv('app.payment.currency', this.#pick(['EUR', 'USD', 'GBP'])),
      ]),
      this.#sql(
        'payment',
        'INSERT',
        'payments',
        'INSERT INTO payments (order_id, amount_cents, status) VALUES ($1, $2, $3)',
      ),
    ]);
    const checkoutWork: (Node | undefined)[] = [
      this.#http('checkout', 'cart', 'GET', '/cart/{userId}', `/cart/${user}`, user, [
        this.#redis('cart', 'HGETALL', `cart:${user}`),
      ]),
      this.#internal(
        'checkout',
        'validate order',
        0.3,
        [kv('app.order.id', orderId), kv('app.order.items', BigInt(items))],
        [...reserve],
      ),
      charge,
      this.#sql('checkout', 'INSERT', 'orders', 'INSERT INTO orders (id, user_id, total_cents) VALUES ($1, $2, $3)'),
      this.#publish('checkout', 'shipping-worker', 'orders', orderId, [
        this.#sql(
          'shipping-worker',
          'INSERT',
          'shipments',
          'INSERT INTO shipments (order_id, carrier) VALUES ($1, $2)',
        ),
        this.#node('shipping-worker', 'http', 'POST', SpanKind.CLIENT, this.#ms(90, 0.5), (error) => [
          kv('http.request.method', 'POST'),
          kv('url.full', 'https://api.carrier.example/v2/labels'),
          kv('server.address', 'api.carrier.example'),
          kv('server.port', 443n),
          kv('http.response.status_code', BigInt(error ? 503 : 201)),
          kv('app.order.id', orderId),
        ]),
      ]),
      this.#publish('checkout', 'email', 'notifications', orderId, [
        this.#internal('email', 'render template', 2, [kv('app.template', 'order-confirmation')]),
        this.#node('email', 'app', 'smtp send', SpanKind.CLIENT, this.#ms(60, 0.5), () => [
          kv('server.address', 'smtp.mail.example'),
          kv('server.port', 587n),
          kv('network.transport', 'tcp'),
          kv('app.order.id', orderId),
          kv('app.email.template', 'order-confirmation'),
        ]),
      ]),
    ];
    return this.#frontendRoot('POST', '/api/checkout', '/api/checkout', user, [
      this.#http(
        'frontend',
        'checkout',
        'POST',
        '/checkout',
        '/checkout',
        user,
        checkoutWork.filter((c): c is Node => !!c),
      ),
    ]);
  }

  /**
   * The rare huge trace: a catalog re-index, in batches of 50 products, each
   * product read from PostgreSQL and written to the cache, one in five also
   * checked with inventory. About `spans` spans (1,000 to 5,000 when not
   * given); six levels deep.
   */
  #reindex(user: string, spans?: number): Node {
    const target = spans ?? 1000 + this.#int(4000);
    // The root, its render span, the call to catalog and catalog's server span.
    let count = 4;
    const batches: Node[] = [];
    for (let b = 0; count < target; b++) {
      const work: Node[] = [];
      count++;
      for (let i = 0; i < 50 && count < target; i++) {
        const id = this.#product();
        work.push(this.#sql('catalog', 'SELECT', 'products', 'SELECT * FROM products WHERE id = $1'));
        count++;
        if (count < target) {
          work.push(this.#redis('catalog', 'SET', `product:${id}`));
          count++;
        }
        if (count + 3 <= target && this.#rand() < 0.2) {
          const stock = this.#stock('catalog', user, id);
          if (stock !== undefined) {
            work.push(stock);
            count += 3;
          }
        }
      }
      batches.push(
        this.#internal(
          'catalog',
          'reindex batch',
          2,
          [kv('app.batch.index', BigInt(b)), kv('app.batch.size', 50n)],
          work,
        ),
      );
    }
    return this.#frontendRoot('POST', '/api/admin/reindex', '/api/admin/reindex', user, [
      this.#http('frontend', 'catalog', 'POST', '/products/reindex', '/products/reindex', user, batches),
    ]);
  }

  /** Sets durations bottom-up and decides which spans fail. */
  #finish(n: Node): void {
    let total = 0;
    let childFailed = false;
    for (const c of n.children) {
      this.#finish(c);
      if (c.error) childFailed = true;
      if (c.kind === SpanKind.CONSUMER && n.kind === SpanKind.PRODUCER) continue;
      total = n.parallel ? Math.max(total, c.durationNano) : total + c.durationNano;
    }
    // Own time is split around and between children; a CLIENT span waits two network hops on top.
    const hops = n.kind === SpanKind.CLIENT && n.children.length > 0 ? 2 * this.#ms(0.15, 0.4) : 0;
    n.durationNano = total + n.selfNano + hops;
    n.error = this.#rand() < this.#ownErrorRate || (childFailed && this.#rand() < PROPAGATE_RATE);
    if (n.event === undefined && this.#rand() < LOG_EVENT_RATE) {
      n.event = ['log', [kv('log.severity', 'INFO'), kv('log.message', `${n.name} done`)]];
    }
  }

  /** Lays the tree out from `start` and appends its spans to `out`. */
  #emit(
    n: Node,
    parentId: string,
    remoteParent: boolean,
    start: number,
    t0: bigint,
    out: Span[],
    link: SpanLink[],
  ): void {
    const spanId = this.#spanId();
    const instance = n.service.resources[this.#int(n.service.resources.length)] as Resource;
    const startNano = t0 + BigInt(Math.round(start));
    const endNano = t0 + BigInt(Math.round(start + n.durationNano));
    const events: SpanEvent[] = [];
    if (n.event !== undefined) {
      events.push({
        timeUnixNano: startNano + BigInt(Math.round(n.durationNano * 0.5)),
        name: n.event[0],
        attributes: n.event[1],
        droppedAttributesCount: 0,
      });
    }
    if (n.error) {
      events.push({
        timeUnixNano: endNano,
        name: 'exception',
        attributes: [
          kv('exception.type', n.exception),
          kv('exception.message', `${n.name} failed: ${n.exception}`),
          kv(
            'exception.stacktrace',
            `${n.exception}: ${n.name} failed\n    at handler (${n.service.name}/src/${n.scope}.ts:${42 + this.#int(300)})`,
          ),
        ],
        droppedAttributesCount: 0,
      });
    }
    out.push({
      traceId: this.#traceId,
      spanId,
      parentSpanId: parentId,
      traceState: '',
      flags: remoteParent ? FLAGS_REMOTE : FLAGS_LOCAL,
      name: n.name,
      kind: n.kind,
      startTimeUnixNano: startNano,
      endTimeUnixNano: endNano,
      attributes: n.attributes(n.error),
      droppedAttributesCount: 0,
      events,
      droppedEventsCount: 0,
      links: link,
      droppedLinksCount: 0,
      status: n.error ? { code: StatusCode.ERROR, message: n.exception } : { code: StatusCode.UNSET, message: '' },
      resource: instance,
      scope: n.service.scopes[n.scope],
    });
    // Children share the own time: a slice before, between and after them.
    const slots = n.children.length + 1;
    const slice = n.selfNano / slots;
    let t =
      start +
      slice +
      (n.kind === SpanKind.CLIENT && n.children.length > 0 ? (n.durationNano - n.selfNano - sumSerial(n)) / 2 : 0);
    for (const c of n.children) {
      const remote = c.service !== n.service;
      if (c.kind === SpanKind.CONSUMER && n.kind === SpanKind.PRODUCER) {
        // Queueing: the consumer picks the message up after it was published.
        this.#emit(c, spanId, remote, start + this.#ms(4, 1), t0, out, NO_LINKS);
        continue;
      }
      this.#emit(c, spanId, remote, t, t0, out, NO_LINKS);
      if (!n.parallel) t += c.durationNano + slice;
    }
  }

  /** One trace starting at `t0`; with `hugeSpans`, the re-index trace of about that many spans. */
  next(t0: bigint, hugeSpans?: number): Span[] {
    this.#traceId = this.#u32hex() + this.#u32hex() + this.#u32hex() + this.#u32hex();
    const user = this.#user();
    const r = this.#rand();
    let root: Node;
    if (hugeSpans !== undefined) root = this.#reindex(user, hugeSpans);
    else if (r < 0.001 && this.#has('catalog')) root = this.#reindex(user);
    else if (r < 0.36) root = this.#productPage(user);
    else if (r < 0.56) root = this.#productList(user);
    else if (r < 0.76) root = this.#viewCart(user);
    else if (r < 0.9) root = this.#addToCart(user);
    else root = this.#checkout(user);
    this.#finish(root);
    const links: SpanLink[] = [];
    if (this.#previous !== undefined && this.#rand() < 0.01) {
      links.push({
        traceId: this.#previous.traceId,
        spanId: this.#previous.spanId,
        traceState: '',
        attributes: [kv('link.reason', 'previous page')],
        droppedAttributesCount: 0,
        flags: 0x101,
      });
    }
    const out: Span[] = [];
    this.#emit(root, '', false, 0, t0, out, links);
    const first = out[0] as Span;
    this.#previous = { traceId: first.traceId, spanId: first.spanId };
    return out;
  }
}

const NO_LINKS: SpanLink[] = [];

/** Time taken by a node's children as laid out (serial sum or parallel max), consumers excluded. */
function sumSerial(n: Node): number {
  let total = 0;
  for (const c of n.children) {
    if (c.kind === SpanKind.CONSUMER && n.kind === SpanKind.PRODUCER) continue;
    total = n.parallel ? Math.max(total, c.durationNano) : total + c.durationNano;
  }
  return total;
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'shop-ios/4.12.0 (iPhone15,2; iOS 18.1)',
  'shop-android/4.11.3 (Pixel 8; Android 15)',
];

/**
 * Yields one trace at a time (its spans, root first, parents before
 * children). Resources and scopes are shared objects: three instances per
 * service, one scope per instrumentation library.
 *
 * @example
 * for (const trace of generateTraces({ seed: 7, spans: 1_000_000 })) store(trace);
 */
export function* generateTraces(options: GenerateTracesOptions = {}): Generator<Span[], void, undefined> {
  const services = options.services ?? SHOP_SERVICES.length;
  if (!Number.isInteger(services) || services < 1 || services > SHOP_SERVICES.length) {
    throw new RangeError(`services must be an integer from 1 to ${SHOP_SERVICES.length}, not ${services}`);
  }
  const cardinality = options.attributeCardinality ?? 100_000;
  if (!Number.isInteger(cardinality) || cardinality < 1) {
    throw new RangeError(`attributeCardinality must be a positive integer, not ${cardinality}`);
  }
  const errorRate = options.errorRate ?? DEMO_SHAPES.errorSpanRate;
  if (!(errorRate >= 0 && errorRate <= 0.5)) {
    throw new RangeError(`errorRate must be a share from 0 to 0.5, not ${errorRate}`);
  }
  const gen = new ShopGenerator(options.seed ?? 1, services, cardinality, errorRate);
  const start = options.startUnixNano ?? DEFAULT_START;
  const limit = options.spans;
  // Nanoseconds of the clock per span generated: traces start where the span count says they should.
  const nanoPerSpan =
    limit !== undefined ? Number(options.windowNano ?? DAY_NANO) / limit : 1e9 / (options.spansPerSecond ?? 1000);
  let emitted = 0;
  while (limit === undefined || emitted < limit) {
    const trace = gen.next(start + BigInt(Math.round(emitted * nanoPerSpan)));
    emitted += trace.length;
    yield trace;
  }
}

/**
 * One large trace of about `spans` spans (a catalog re-index over up to eight
 * services' worth of calls, six levels deep), for storage and UI tests and
 * benchmarks of big traces. Same seed, size and start: the same spans.
 *
 * @example
 * const trace = generateLargeTrace({ seed: 3, spans: 20_000 });
 */
export function generateLargeTrace(
  options: { readonly seed?: number; readonly spans?: number; readonly startUnixNano?: bigint } = {},
): Span[] {
  const spans = options.spans ?? 10_000;
  if (!Number.isInteger(spans) || spans < 10 || spans > 10_000_000) {
    throw new RangeError(`spans must be an integer from 10 to 10,000,000, not ${spans}`);
  }
  const gen = new ShopGenerator(options.seed ?? 1, SHOP_SERVICES.length, 100_000, DEMO_SHAPES.errorSpanRate);
  return gen.next(options.startUnixNano ?? DEFAULT_START, spans);
}

/**
 * The spans of {@link generateTraces} regrouped into chunks of exactly `size`
 * spans (the last may be shorter). A trace may straddle two chunks, as it does
 * between an SDK's export batches.
 */
export function* spanChunks(traces: Iterable<Span[]>, size: number): Generator<Span[], void, undefined> {
  let chunk: Span[] = [];
  for (const trace of traces) {
    for (const s of trace) {
      chunk.push(s);
      if (chunk.length === size) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** The spans as an OTLP protobuf `ExportTraceServiceRequest` body (`@traceloom/wire`'s encoder). */
export function encodeOtlpBatch(spans: readonly Span[]): Uint8Array {
  return encodeOtlpTraces(spans);
}
