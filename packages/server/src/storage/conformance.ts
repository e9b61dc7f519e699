/**
 * The storage conformance suite: the definition of correct storage. Every
 * backend (memory, DuckDB, ClickHouse) registers it from its own test file:
 *
 * ```ts
 * runStorageConformance('duckdb', async () => { ... return { store, reopen, cleanup }; });
 * ```
 *
 * Each test opens a fresh, empty store, writes crafted data with fixed times
 * and checks known answers. The suite closes the store it was given (or the
 * one `reopen` returned) before it calls `cleanup`.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AnyValue,
  getAttribute,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  SpanBatch,
  spanDiff,
} from '@traceloom/model';
import { Histogram, type HistogramData, histogramCount, histogramQuantile } from '../pipeline/histogram.ts';
import {
  type AttributeCondition,
  type EdgeMetricPoint,
  QueryInputError,
  type SearchQuery,
  type SpanMetricPoint,
  type TraceStore,
  type TraceSummary,
} from './types.ts';

/** What a backend's test file hands the suite for each test. */
export interface ConformanceHandle {
  /** A fresh, empty, open store. */
  readonly store: TraceStore;
  /** Opens the same data again after `store.close()`, as a restarted process would; omit if the backend cannot. */
  readonly reopen?: () => Promise<TraceStore>;
  /** Removes what the store left behind (files, databases). Called after the store is closed. */
  readonly cleanup: () => Promise<void>;
}

const MS = 1_000_000n;
const SEC = 1_000n * MS;
/** 2023-11-14T22:13:20Z. */
const T0 = 1_700_000_000_000_000_000n;
/** 2023-11-15T00:00:00Z, a UTC midnight. */
const MIDNIGHT = 1_700_006_400_000_000_000n;

const KIND = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
const OK = { code: 1, message: '' };
const UNSET = { code: 0, message: '' };
const ERROR = { code: 2, message: 'failed' };

const PLAIN_SCOPE: InstrumentationScope = {
  name: 'conformance',
  version: '1.0.0',
  attributes: [],
  droppedAttributesCount: 0,
  schemaUrl: '',
};

function traceIdOf(n: number): string {
  return `c0ffee${n.toString(16).padStart(26, '0')}`;
}

function spanIdOf(trace: number, n: number): string {
  return `${trace.toString(16).padStart(8, '0')}${n.toString(16).padStart(8, '0')}`;
}

function resourceOf(service: string | undefined, extra: KeyValue[] = []): Resource {
  const attributes: KeyValue[] =
    service === undefined ? [...extra] : [{ key: 'service.name', value: service }, ...extra];
  return { attributes, droppedAttributesCount: 0, schemaUrl: '' };
}

/** Fields of a crafted span; the rest take plain defaults. */
interface SpanSpec {
  readonly trace: number;
  readonly id: number;
  /** Span number of the parent in the same trace; absent for a root. */
  readonly parent?: number;
  readonly resource: Resource;
  readonly name: string;
  readonly kind?: number;
  readonly start: bigint;
  readonly duration: bigint;
  readonly attributes?: readonly KeyValue[];
  readonly status?: { code: number; message: string };
}

function makeSpan(s: SpanSpec): Span {
  return {
    traceId: traceIdOf(s.trace),
    spanId: spanIdOf(s.trace, s.id),
    parentSpanId: s.parent === undefined ? '' : spanIdOf(s.trace, s.parent),
    traceState: '',
    flags: 1,
    name: s.name,
    kind: s.kind ?? KIND.INTERNAL,
    startTimeUnixNano: s.start,
    endTimeUnixNano: s.start + s.duration,
    attributes: s.attributes ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: s.status ?? UNSET,
    resource: s.resource,
    scope: PLAIN_SCOPE,
  };
}

function attrs(o: Record<string, AnyValue>): KeyValue[] {
  return Object.entries(o).map(([key, value]) => ({ key, value }));
}

/** Asserts that `got` holds exactly the spans of `want`, each once, field for field. */
function assertSameSpans(got: readonly Span[] | undefined, want: readonly Span[], message: string): void {
  assert.ok(got !== undefined, `${message}: trace not found`);
  const ids = got.map((s) => s.spanId);
  assert.equal(new Set(ids).size, ids.length, `${message}: a span is returned more than once`);
  assert.deepEqual([...ids].sort(), want.map((s) => s.spanId).sort(), `${message}: span ids`);
  for (const w of want) {
    const g = got.find((s) => s.spanId === w.spanId) as Span;
    assert.equal(spanDiff(g, w), undefined, `${message}: span ${w.spanId} (${w.name}) differs`);
  }
}

// ---------------------------------------------------------------- round trip

function roundTripSpans(): Span[] {
  const resA: Resource = {
    attributes: [
      { key: 'service.name', value: 'svc-a' },
      { key: 'host.name', value: 'host-1' },
      { key: 'process.pid', value: 4242n },
      { key: 'ключ', value: 'значение' },
    ],
    droppedAttributesCount: 3,
    schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
  };
  const resB = resourceOf('svc-b');
  // No service.name: stored as is, listed as unknown_service.
  const resC: Resource = { attributes: [{ key: 'k', value: true }], droppedAttributesCount: 0, schemaUrl: '' };
  const scope1: InstrumentationScope = {
    name: '@traceloom/instrumentation-http',
    version: '0.9.1-beta.2',
    attributes: [{ key: 'scope.attr', value: [1n, 'x'] }],
    droppedAttributesCount: 2,
    schemaUrl: 'https://opentelemetry.io/schemas/1.20.0',
  };
  const scope2: InstrumentationScope = {
    name: '',
    version: '',
    attributes: [],
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  const everyValue: KeyValue[] = [
    { key: 'str', value: 'héllo 世界 🎉 "double" \'single\'\nnew line\ttab \\ backslash \u0000 nul' },
    { key: 'empty.str', value: '' },
    // Separator characters a load format might use (ASCII RS, US, CR) must come back as they were.
    { key: 'separators', value: 'a\u001eb\u001fc\rd\r\n\u001e\u001e"e' },
    { key: 'quote.only', value: '\u001e' },
    { key: 'bool.t', value: true },
    { key: 'bool.f', value: false },
    { key: 'int.big', value: 9_007_199_254_740_993n },
    { key: 'int.max', value: 9_223_372_036_854_775_807n },
    { key: 'int.min', value: -9_223_372_036_854_775_808n },
    { key: 'int.neg', value: -42n },
    { key: 'int.zero', value: 0n },
    { key: 'dbl', value: 1.5 },
    { key: 'dbl.integral', value: 2 },
    { key: 'dbl.negzero', value: -0 },
    { key: 'dbl.nan', value: Number.NaN },
    { key: 'dbl.inf', value: Number.POSITIVE_INFINITY },
    { key: 'dbl.ninf', value: Number.NEGATIVE_INFINITY },
    { key: 'dbl.tiny', value: 5e-324 },
    { key: 'bytes', value: new Uint8Array([0, 1, 127, 128, 255]) },
    { key: 'bytes.empty', value: new Uint8Array(0) },
    { key: 'arr', value: ['a', 1n, 2.5, true, null, new Uint8Array([9])] },
    { key: 'arr.nested', value: [[1n, [2n]], [], ['x']] },
    { key: 'arr.empty', value: [] },
    {
      key: 'kv',
      value: {
        kvlist: [
          { key: 'a', value: 1n },
          { key: 'nested', value: { kvlist: [{ key: 'b', value: [true, { kvlist: [] }] }] } },
          { key: 'a', value: 'repeated' },
        ],
      },
    },
    { key: 'kv.empty', value: { kvlist: [] } },
    { key: 'null', value: null },
    // Repeated keys: kept, in order.
    { key: 'dup', value: 'first' },
    { key: 'dup', value: 2n },
  ];
  const trace = 1;
  const root: Span = {
    traceId: traceIdOf(trace),
    spanId: spanIdOf(trace, 1),
    parentSpanId: '',
    traceState: 'vendor1=a,vendor2=b',
    flags: 0x301,
    name: 'GET /everything "quoted"',
    kind: KIND.SERVER,
    startTimeUnixNano: T0 + 123_456_789n,
    endTimeUnixNano: T0 + 987_654_321n,
    attributes: everyValue,
    droppedAttributesCount: 7,
    events: [
      {
        timeUnixNano: T0 + 200_000_001n,
        name: 'exception',
        attributes: [
          { key: 'exception.message', value: 'boom\n"x"' },
          { key: 'exception.escaped', value: false },
        ],
        droppedAttributesCount: 1,
      },
      { timeUnixNano: T0 + 300_000_000n, name: '', attributes: [], droppedAttributesCount: 0 },
    ],
    droppedEventsCount: 4,
    links: [
      {
        traceId: traceIdOf(99),
        spanId: spanIdOf(99, 5),
        traceState: 'k=v',
        attributes: [{ key: 'link.kind', value: 'follows' }],
        droppedAttributesCount: 2,
        flags: 0x101,
      },
      {
        traceId: traceIdOf(98),
        spanId: spanIdOf(98, 1),
        traceState: '',
        attributes: [],
        droppedAttributesCount: 0,
        flags: 0,
      },
    ],
    droppedLinksCount: 5,
    status: { code: 2, message: 'boom "x"\nline 2\u001f\u001e' },
    resource: resA,
    scope: scope1,
  };
  const spans: Span[] = [root];
  for (let kind = 0; kind <= 5; kind++) {
    spans.push({
      ...makeSpan({
        trace,
        id: 10 + kind,
        parent: 1,
        resource: kind % 3 === 0 ? resA : kind % 3 === 1 ? resB : resC,
        name: `kind-${kind}`,
        kind,
        start: T0 + BigInt(kind) * MS + 1n,
        duration: 7n,
        status: kind === 1 ? OK : UNSET,
      }),
      scope: kind % 2 === 0 ? scope1 : scope2,
      flags: kind,
    });
  }
  return spans;
}

// ---------------------------------------------------------------- search data

const FRONTEND = resourceOf('frontend', attrs({ 'deployment.environment': 'prod', region: 'eu' }));
const CART = resourceOf('cart', attrs({ 'deployment.environment': 'prod', region: 'us' }));
const PAYMENT = resourceOf(
  'payment',
  attrs({ 'deployment.environment': 'staging', region: 'eu', 'k8s.pod.name': 'payment-7d9f' }),
);

/** Search range: trace n (1..12) starts at BASE + n * 10 s. */
const BASE = T0 + 3600n * SEC;
const RANGE = { startUnixNano: BASE, endUnixNano: BASE + 200n * SEC };

/**
 * The search data set. Every expected answer in the search tests was worked
 * out by hand from this table; change both together.
 */
function searchSpans(): Span[] {
  const out: Span[] = [];
  const at = (trace: number) => BASE + BigInt(trace) * 10n * SEC;
  const add = (
    trace: number,
    id: number,
    parent: number | undefined,
    resource: Resource,
    name: string,
    kind: number,
    startMs: number,
    durMs: number,
    a: Record<string, AnyValue> = {},
    status = UNSET,
    base = at(trace),
  ): void => {
    out.push(
      makeSpan({
        trace,
        id,
        ...(parent === undefined ? {} : { parent }),
        resource,
        name,
        kind,
        start: base + BigInt(startMs) * MS,
        duration: BigInt(durMs) * MS,
        attributes: attrs(a),
        status,
      }),
    );
  };
  const S = KIND.SERVER;
  add(1, 1, undefined, FRONTEND, 'GET /home', S, 0, 100, { 'http.method': 'GET', 'http.status_code': 200n });
  add(1, 2, 1, CART, 'cart.get', S, 10, 30, { 'http.status_code': 200n, 'latency.ratio': 0.5 });

  add(2, 1, undefined, FRONTEND, 'GET /home', S, 0, 300, { 'http.method': 'GET', 'http.status_code': 500n }, ERROR);
  add(2, 2, 1, CART, 'cart.get', S, 10, 10, { 'http.status_code': 200n });
  add(2, 3, 1, PAYMENT, 'charge', KIND.CLIENT, 30, 220, { 'customer.tier': 'gold', 'latency.ratio': 1.5 }, ERROR);

  add(3, 1, undefined, FRONTEND, 'POST /checkout', S, 0, 1000, { 'http.method': 'POST', 'http.status_code': 200n });
  add(3, 2, 1, PAYMENT, 'charge', KIND.CLIENT, 100, 800, { 'customer.tier': 'silver', 'latency.ratio': 2.5 });
  add(3, 3, 2, PAYMENT, 'db.query', KIND.CLIENT, 200, 100, { 'db.system': 'postgres' });

  add(4, 1, undefined, FRONTEND, 'POST /checkout', S, 0, 50, { 'http.method': 'POST', 'http.status_code': 404n });

  add(5, 1, undefined, CART, 'cart.add', S, 0, 200, { 'http.method': 'PUT', code: '200' });
  add(5, 2, 1, CART, 'cart.persist', KIND.INTERNAL, 50, 100, { 'db.system': 'redis' });

  add(6, 1, undefined, PAYMENT, 'refund', KIND.CONSUMER, 0, 500, { 'customer.tier': 'gold', big: 2n ** 60n + 1n });

  add(7, 1, undefined, FRONTEND, 'GET /home', S, 0, 150, {
    'http.method': 'GET',
    'http.status_code': 200n,
    'customer.tier': 'bronze',
  });

  add(8, 1, undefined, FRONTEND, 'GET /search', S, 0, 80, {
    'http.method': 'GET',
    'http.status_code': 200n,
    query: 'shoes',
  });
  add(8, 2, 1, CART, 'cart.get', S, 10, 20, { 'http.status_code': 500n }, ERROR);

  add(9, 1, undefined, PAYMENT, 'charge', KIND.PRODUCER, 0, 120, { 'latency.ratio': -1.5, 'customer.tier': 'gold' });

  add(10, 1, undefined, FRONTEND, 'GET /home', S, 0, 2000, { 'http.method': 'GET', 'http.status_code': 503n }, ERROR);

  add(11, 1, undefined, FRONTEND, 'GET /product', S, 0, 60, {
    'http.method': 'GET',
    'http.status_code': 200n,
    'deployment.environment': 'staging',
  });

  add(12, 1, undefined, CART, 'cart.get', S, 0, 90, { 'http.status_code': 201n });

  // Outside the range by one nanosecond on either side.
  add(
    13,
    1,
    undefined,
    FRONTEND,
    'GET /home',
    S,
    0,
    100,
    { 'http.method': 'GET', 'http.status_code': 200n },
    UNSET,
    BASE - 1n,
  );
  add(
    14,
    1,
    undefined,
    FRONTEND,
    'GET /home',
    S,
    0,
    100,
    { 'http.method': 'GET', 'http.status_code': 200n },
    UNSET,
    RANGE.endUnixNano + 1n,
  );
  // Root before the range, child inside it: only the child can match.
  add(15, 1, undefined, FRONTEND, 'GET /old', S, 0, 10_000, { 'http.method': 'GET' }, UNSET, BASE - 5n * SEC);
  add(15, 2, 1, CART, 'cart.late', KIND.INTERNAL, 0, 1000, {}, UNSET, BASE + 1n * SEC);
  // Starts exactly at the range end (inclusive).
  add(16, 1, undefined, FRONTEND, 'GET /edge', S, 0, 10, { 'http.method': 'GET' }, UNSET, RANGE.endUnixNano);
  return out;
}

const ALL_IN_RANGE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16];

function cond(
  scope: AttributeCondition['scope'],
  key: string,
  op: AttributeCondition['op'],
  value?: string | number,
): AttributeCondition {
  return value === undefined ? { scope, key, op } : { scope, key, op, value };
}

// ---------------------------------------------------------------- the suite

/**
 * Registers the storage conformance tests (`node:test` `describe` / `it`) for
 * one backend. `open` is called once per test and must return a fresh, empty
 * store; `reopen`, when given, must reopen the same data after `close()`.
 */
export function runStorageConformance(name: string, open: () => Promise<ConformanceHandle>): void {
  /** Runs `body` on a fresh store and always closes it and cleans up. */
  const withStore = async (
    body: (store: TraceStore, reopen: ConformanceHandle['reopen'], swap: (s: TraceStore) => void) => Promise<void>,
  ): Promise<void> => {
    const handle = await open();
    // The store to close at the end: the reopened one once a test has swapped it in.
    let current = handle.store;
    try {
      await body(handle.store, handle.reopen, (s) => {
        current = s;
      });
    } finally {
      await current.close().catch(() => undefined);
      await handle.cleanup();
    }
  };

  const write = async (store: TraceStore, spans: readonly Span[], position?: bigint): Promise<void> => {
    await store.write(SpanBatch.from(spans), position);
    await store.flush();
  };

  const search = (store: TraceStore, q: Partial<SearchQuery>): ReturnType<TraceStore['search']> =>
    store.search({ range: RANGE, limit: 100, ...q });

  /** Asserts the set of traces found (and `total`), order ignored. */
  const expectTraces = async (store: TraceStore, q: Partial<SearchQuery>, want: readonly number[], label: string) => {
    const r = await search(store, q);
    const got = r.traces.map((t) => t.traceId).sort();
    assert.deepEqual(got, want.map(traceIdOf).sort(), `${label}: traces found`);
    assert.equal(r.total, want.length, `${label}: total`);
    assert.equal(r.nextCursor, undefined, `${label}: one page holds all`);
  };

  describe(`storage conformance: ${name}`, () => {
    it('round trips every field of every span exactly', async () => {
      await withStore(async (store) => {
        const spans = roundTripSpans();
        await write(store, spans);
        const got = await store.getTrace(traceIdOf(1));
        assertSameSpans(got, spans, 'getTrace');
        // anyValueEquals treats -0 and 0 as equal; the sign must survive too.
        const root = got?.find((s) => s.spanId === spanIdOf(1, 1));
        assert.ok(Object.is(getAttribute(root?.attributes ?? [], 'dbl.negzero'), -0), 'double -0 keeps its sign');
        const hinted = await store.getTrace(traceIdOf(1), { startUnixNano: T0, endUnixNano: T0 + SEC });
        assertSameSpans(hinted, spans, 'getTrace with a hint');
      });
    });

    it('keeps a span whose end is before its start', async () => {
      await withStore(async (store) => {
        const s = makeSpan({
          trace: 2,
          id: 1,
          resource: resourceOf('svc'),
          name: 'backwards',
          start: T0,
          duration: 0n,
        });
        const backwards: Span = { ...s, endTimeUnixNano: T0 - 5n * MS };
        await write(store, [backwards]);
        const got = await store.getTrace(traceIdOf(2));
        assert.equal(got?.length, 1, 'the span is kept');
        const diff = spanDiff(got[0] as Span, backwards);
        // Exact is expected; a store that cannot keep a negative duration may clamp the end.
        assert.ok(diff === undefined || diff === 'endTimeUnixNano', `differs in ${diff}`);
        assert.equal(got[0]?.startTimeUnixNano, T0);
        const r = await store.search({ range: { startUnixNano: T0 - SEC, endUnixNano: T0 + SEC }, limit: 10 });
        assert.deepEqual(
          r.traces.map((t) => t.traceId),
          [traceIdOf(2)],
        );
      });
    });

    it('getTrace of an unknown trace is undefined, with or without a hint', async () => {
      await withStore(async (store) => {
        const spans = [
          makeSpan({ trace: 3, id: 1, resource: resourceOf('svc'), name: 'a', start: T0, duration: MS }),
          makeSpan({
            trace: 3,
            id: 2,
            parent: 1,
            resource: resourceOf('svc'),
            name: 'b',
            start: T0 + MS,
            duration: MS,
          }),
        ];
        await write(store, spans);
        assert.equal(await store.getTrace(traceIdOf(4)), undefined);
        assert.equal(await store.getTrace(traceIdOf(4), { startUnixNano: T0 - SEC, endUnixNano: T0 + SEC }), undefined);
        assert.equal(await store.getTrace('f'.repeat(32)), undefined);
        assertSameSpans(
          await store.getTrace(traceIdOf(3), { startUnixNano: T0, endUnixNano: T0 + 2n * MS }),
          spans,
          'hint covering the trace exactly',
        );
        // A hint that excludes the trace may hide it, but must not return part of it.
        const excluded = await store.getTrace(traceIdOf(3), {
          startUnixNano: T0 + 100n * SEC,
          endUnixNano: T0 + 200n * SEC,
        });
        if (excluded !== undefined) assertSameSpans(excluded, spans, 'hint excluding the trace');
      });
    });

    it('summaries account for spans that arrive late, root last', async () => {
      await withStore(async (store) => {
        const a = resourceOf('svc-a');
        const b = resourceOf('svc-b');
        const c = resourceOf('svc-c');
        const t = 5;
        const children = [
          makeSpan({ trace: t, id: 2, parent: 1, resource: b, name: 'b1', start: T0 + 10n * MS, duration: 20n * MS }),
          makeSpan({
            trace: t,
            id: 3,
            parent: 2,
            resource: b,
            name: 'b2',
            start: T0 + 15n * MS,
            duration: 100n * MS,
            status: ERROR,
          }),
          makeSpan({ trace: t, id: 4, parent: 1, resource: c, name: 'c1', start: T0 + 5n * MS, duration: 5n * MS }),
        ];
        const root = makeSpan({
          trace: t,
          id: 1,
          resource: a,
          name: 'GET /late',
          kind: KIND.SERVER,
          start: T0,
          duration: 50n * MS,
        });
        await write(store, children);
        const [early] = await store.traceSummaries([traceIdOf(t)]);
        assert.ok(early !== undefined);
        assert.equal(early.rootServiceName, '');
        assert.equal(early.rootName, '');
        assert.equal(early.spanCount, 3);
        assert.equal(early.startUnixNano, T0 + 5n * MS);
        assert.equal(early.durationNano, 110n * MS);

        await write(store, [root]);
        const want: TraceSummary = {
          traceId: traceIdOf(t),
          rootServiceName: 'svc-a',
          rootName: 'GET /late',
          startUnixNano: T0,
          durationNano: 115n * MS,
          spanCount: 4,
          errorCount: 1,
          services: [
            { service: 'svc-a', spanCount: 1, errorCount: 0 },
            { service: 'svc-b', spanCount: 2, errorCount: 1 },
            { service: 'svc-c', spanCount: 1, errorCount: 0 },
          ],
        };
        assert.deepEqual(await store.traceSummaries([traceIdOf(t)]), [want]);
        const range = { startUnixNano: T0 - SEC, endUnixNano: T0 + SEC };
        for (const service of ['svc-a', 'svc-c']) {
          const r = await store.search({ range, service, limit: 10 });
          assert.deepEqual(r.traces, [want], `search by ${service}`);
          assert.equal(r.total, 1);
        }
      });
    });

    it('traceSummaries keeps the given order and skips unknown traces', async () => {
      await withStore(async (store) => {
        const r = resourceOf('svc');
        await write(store, [
          makeSpan({ trace: 6, id: 1, resource: r, name: 'six', start: T0, duration: MS }),
          makeSpan({ trace: 7, id: 1, resource: r, name: 'seven', start: T0 + SEC, duration: 2n * MS }),
        ]);
        const got = await store.traceSummaries([traceIdOf(7), traceIdOf(99), traceIdOf(6)]);
        assert.deepEqual(
          got.map((s) => [s.traceId, s.rootName, s.durationNano]),
          [
            [traceIdOf(7), 'seven', 2n * MS],
            [traceIdOf(6), 'six', MS],
          ],
        );
        assert.deepEqual(await store.traceSummaries([]), []);
      });
    });

    it('stores each span once when batches are delivered again', async () => {
      await withStore(async (store) => {
        const r = resourceOf('svc');
        const t = 8;
        const spans = [1, 2, 3].map((id) =>
          makeSpan({
            trace: t,
            id,
            ...(id === 1 ? {} : { parent: 1 }),
            resource: r,
            name: `s${id}`,
            start: T0 + BigInt(id) * MS,
            duration: 10n * MS,
          }),
        );
        const extra = makeSpan({ trace: t, id: 4, parent: 1, resource: r, name: 's4', start: T0, duration: MS });
        await store.write(SpanBatch.from(spans));
        await store.write(SpanBatch.from(spans));
        await store.flush();
        await write(store, [spans[1] as Span, extra, spans[0] as Span]);
        await write(store, spans);
        const all = [...spans, extra];
        assertSameSpans(await store.getTrace(traceIdOf(t)), all, 'getTrace');
        const [summary] = await store.traceSummaries([traceIdOf(t)]);
        assert.equal(summary?.spanCount, 4);
        assert.deepEqual(summary?.services, [{ service: 'svc', spanCount: 4, errorCount: 0 }]);
        const found = await store.search({ range: { startUnixNano: T0, endUnixNano: T0 + SEC }, limit: 10 });
        assert.equal(found.total, 1);
        assert.equal(found.traces[0]?.spanCount, 4);
        assert.equal((await store.stats()).spans, 4);
      });
    });

    it('finds a trace that straddles UTC midnight whole and once', async () => {
      await withStore(async (store) => {
        const r = resourceOf('night');
        const t = 9;
        const spans = [
          makeSpan({ trace: t, id: 1, resource: r, name: 'root', start: MIDNIGHT - 2n * SEC, duration: 7n * SEC }),
          makeSpan({ trace: t, id: 2, parent: 1, resource: r, name: 'before', start: MIDNIGHT - SEC, duration: SEC }),
          makeSpan({ trace: t, id: 3, parent: 1, resource: r, name: 'at', start: MIDNIGHT, duration: SEC }),
          makeSpan({
            trace: t,
            id: 4,
            parent: 1,
            resource: resourceOf('late'),
            name: 'after',
            start: MIDNIGHT + 3n * SEC,
            duration: 2n * SEC,
          }),
        ];
        // Written in two batches, as two flushes on either side of midnight would.
        await write(store, spans.slice(2));
        await write(store, spans.slice(0, 2));
        assertSameSpans(await store.getTrace(traceIdOf(t)), spans, 'getTrace');
        const hint = { startUnixNano: MIDNIGHT - 10n * SEC, endUnixNano: MIDNIGHT + 10n * SEC };
        assertSameSpans(await store.getTrace(traceIdOf(t), hint), spans, 'getTrace with a two-day hint');
        const range = { startUnixNano: MIDNIGHT - 3600n * SEC, endUnixNano: MIDNIGHT + 3600n * SEC };
        for (const q of [{}, { service: 'late' }, { operation: 'before' }]) {
          const res = await store.search({ range, limit: 10, ...q });
          assert.equal(res.total, 1, JSON.stringify(q));
          assert.equal(res.traces.length, 1);
          assert.equal(res.traces[0]?.startUnixNano, MIDNIGHT - 2n * SEC);
          assert.equal(res.traces[0]?.durationNano, 7n * SEC);
          assert.equal(res.traces[0]?.spanCount, 4);
        }
      });
    });

    describe('search', () => {
      it('filters by service, operation and span kind', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          await expectTraces(store, {}, ALL_IN_RANGE, 'no conditions');
          await expectTraces(store, { service: 'frontend' }, [1, 2, 3, 4, 7, 8, 10, 11, 16], 'service frontend');
          await expectTraces(store, { service: 'payment' }, [2, 3, 6, 9], 'service payment');
          await expectTraces(store, { service: 'cart' }, [1, 2, 5, 8, 12, 15], 'service cart');
          await expectTraces(store, { service: 'nope' }, [], 'unknown service');
          await expectTraces(store, { service: 'frontend', operation: 'GET /home' }, [1, 2, 7, 10], 'GET /home');
          await expectTraces(store, { service: 'payment', operation: 'charge' }, [2, 3, 9], 'charge');
          await expectTraces(store, { operation: 'cart.get' }, [1, 2, 8, 12], 'operation without service');
          await expectTraces(store, { spanKind: KIND.CLIENT }, [2, 3], 'kind client');
          await expectTraces(store, { spanKind: KIND.CONSUMER }, [6], 'kind consumer');
          await expectTraces(store, { service: 'payment', spanKind: KIND.PRODUCER }, [9], 'payment producer');
        });
      });

      it('compares attributes by text form with = and !=', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          const ok200 = [1, 2, 3, 7, 8, 11];
          await expectTraces(store, { attributes: [cond('span', 'http.status_code', '=', '200')] }, ok200, "= '200'");
          await expectTraces(store, { attributes: [cond('span', 'http.status_code', '=', 200)] }, ok200, '= 200');
          await expectTraces(store, { attributes: [cond('span', 'code', '=', 200)] }, [5], 'string attribute = 200');
          await expectTraces(store, { attributes: [cond('span', 'latency.ratio', '=', '1.5')] }, [2], "double = '1.5'");
          await expectTraces(
            store,
            { service: 'frontend', attributes: [cond('span', 'http.status_code', '!=', '200')] },
            [2, 4, 10],
            '!= requires presence',
          );
          await expectTraces(store, { attributes: [cond('span', 'http.method', '=', 'get')] }, [], 'case sensitive');
        });
      });

      it('tests presence with exists and !exists', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          await expectTraces(
            store,
            { attributes: [cond('span', 'customer.tier', 'exists')] },
            [2, 3, 6, 7, 9],
            'exists',
          );
          await expectTraces(
            store,
            { service: 'frontend', attributes: [cond('span', 'customer.tier', '!exists')] },
            [1, 2, 3, 4, 8, 10, 11, 16],
            '!exists',
          );
          await expectTraces(
            store,
            { attributes: [cond('resource', 'k8s.pod.name', 'exists')] },
            [2, 3, 6, 9],
            'resource exists',
          );
        });
      });

      it('matches regular expressions against the whole text form', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          const tier = (op: '=~' | '!~', v: string) => ({ attributes: [cond('span', 'customer.tier', op, v)] });
          await expectTraces(store, tier('=~', 'g.*'), [2, 6, 9], 'g.*');
          await expectTraces(store, tier('=~', 'old'), [], 'a partial match is no match');
          await expectTraces(store, tier('=~', 'go|silver'), [3], 'alternation is anchored as a whole');
          await expectTraces(store, tier('!~', 'gold'), [3, 7], '!~ requires presence');
          await expectTraces(
            store,
            { attributes: [cond('span', 'http.status_code', '=~', '5\\d\\d')] },
            [2, 8, 10],
            'regex on an int',
          );
        });
      });

      it('rejects an invalid regular expression with QueryInputError', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          for (const bad of ['(', '[a-', 'a{2,1}']) {
            await assert.rejects(
              search(store, { attributes: [cond('span', 'customer.tier', '=~', bad)] }),
              (e: unknown) => e instanceof QueryInputError,
              bad,
            );
          }
        });
      });

      it('compares int and double attributes numerically, never strings', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          const num = (key: string, op: '<' | '<=' | '>' | '>=', v: number) => ({
            attributes: [cond('span', key, op, v)],
          });
          await expectTraces(store, num('http.status_code', '>=', 500), [2, 8, 10], '>= 500');
          await expectTraces(store, num('http.status_code', '>', 500), [10], '> 500');
          await expectTraces(store, num('http.status_code', '<', 201), [1, 2, 3, 7, 8, 11], '< 201');
          await expectTraces(store, num('http.status_code', '<=', 201), [1, 2, 3, 7, 8, 11, 12], '<= 201');
          await expectTraces(store, num('http.status_code', '>', 499.5), [2, 8, 10], 'int > fractional');
          await expectTraces(store, num('latency.ratio', '>', 1), [2, 3], 'double > 1');
          await expectTraces(store, num('latency.ratio', '>=', 1.5), [2, 3], 'double >= 1.5');
          await expectTraces(store, num('latency.ratio', '<=', 0.5), [1, 9], 'double <= 0.5');
          await expectTraces(store, num('latency.ratio', '<', 0), [9], 'negative double');
          // 2^60 + 1 is not a double: the comparison must not round the int64.
          await expectTraces(store, num('big', '>', 2 ** 60), [6], 'int64 beyond 2^53');
          await expectTraces(store, num('big', '<=', 2 ** 60), [], 'int64 beyond 2^53, <=');
          await expectTraces(store, num('code', '>=', 0), [], 'string attribute');
          await expectTraces(store, num('http.method', '<', 1e9), [], 'string attribute <');
        });
      });

      it('scopes attribute conditions to span, resource or any', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          const env = (scope: AttributeCondition['scope']) => ({
            attributes: [cond(scope, 'deployment.environment', '=', 'staging')],
          });
          await expectTraces(store, env('resource'), [2, 3, 6, 9], 'resource');
          await expectTraces(store, env('span'), [11], 'span');
          await expectTraces(store, env('any'), [2, 3, 6, 9, 11], 'any');
          await expectTraces(
            store,
            { attributes: [cond('resource', 'region', '=', 'us')] },
            [1, 2, 5, 8, 12, 15],
            'resource region',
          );
          await expectTraces(
            store,
            { attributes: [cond('span', 'region', 'exists')] },
            [],
            'span scope ignores resource',
          );
        });
      });

      it('filters by span duration, bounds inclusive, and by errors', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          await expectTraces(store, { minDurationNano: 300n * MS }, [2, 3, 6, 10, 15], 'min 300 ms');
          await expectTraces(store, { maxDurationNano: 50n * MS }, [1, 2, 4, 8, 16], 'max 50 ms');
          await expectTraces(
            store,
            { minDurationNano: 100n * MS, maxDurationNano: 150n * MS },
            [1, 3, 5, 7, 9],
            '100 to 150 ms',
          );
          await expectTraces(
            store,
            { service: 'frontend', minDurationNano: 300n * MS, maxDurationNano: 300n * MS },
            [2],
            'exactly 300 ms',
          );
          await expectTraces(store, { errorsOnly: true }, [2, 8, 10], 'errors');
          await expectTraces(store, { errorsOnly: true, service: 'payment' }, [2], 'payment errors');
          await expectTraces(
            store,
            { errorsOnly: true, service: 'cart', operation: 'cart.get' },
            [8],
            'cart.get errors',
          );
        });
      });

      it('only matches spans that start inside the range (bounds inclusive)', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          await expectTraces(store, { operation: 'GET /old' }, [], 'root before the range');
          await expectTraces(store, { operation: 'cart.late' }, [15], 'child inside the range');
          await expectTraces(store, { operation: 'GET /edge' }, [16], 'at the range end');
          await expectTraces(
            store,
            { range: { startUnixNano: BASE - 1n, endUnixNano: BASE - 1n } },
            [13],
            'a one-nanosecond range',
          );
          await expectTraces(
            store,
            { range: { startUnixNano: RANGE.endUnixNano + 1n, endUnixNano: RANGE.endUnixNano + 100n * SEC } },
            [14],
            'after the range',
          );
          const [old] = (await search(store, { operation: 'cart.late' })).traces;
          // The summary is the whole trace's, not only its spans inside the range.
          assert.equal(old?.startUnixNano, BASE - 5n * SEC);
          assert.equal(old?.rootName, 'GET /old');
          assert.equal(old?.spanCount, 2);
        });
      });

      it("match 'span' needs one span for all conditions, match 'trace' lets spans share them", async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          const tierAndGet: Partial<SearchQuery> = {
            attributes: [cond('span', 'customer.tier', 'exists'), cond('span', 'http.method', '=', 'GET')],
          };
          await expectTraces(store, tierAndGet, [7], 'span (default)');
          await expectTraces(store, { ...tierAndGet, match: 'span' }, [7], 'span');
          await expectTraces(store, { ...tierAndGet, match: 'trace' }, [2, 7], 'trace');
          const paymentGet: Partial<SearchQuery> = {
            service: 'payment',
            attributes: [cond('span', 'http.method', '=', 'GET')],
          };
          await expectTraces(store, paymentGet, [], 'service + attribute, span');
          await expectTraces(store, { ...paymentGet, match: 'trace' }, [2], 'service + attribute, trace');
          const cartCharge: Partial<SearchQuery> = { service: 'cart', operation: 'charge' };
          await expectTraces(store, cartCharge, [], 'service + operation, span');
          await expectTraces(store, { ...cartCharge, match: 'trace' }, [2], 'service + operation, trace');
          await expectTraces(
            store,
            { errorsOnly: true, attributes: [cond('span', 'customer.tier', '=', 'gold')], match: 'trace' },
            [2],
            'errors + attribute, trace',
          );
          await expectTraces(
            store,
            { errorsOnly: true, attributes: [cond('span', 'http.method', 'exists')] },
            [2, 10],
            'errors + attribute, span',
          );
        });
      });

      it('sorts by most recent or longest trace', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          const recent = await search(store, { service: 'frontend' });
          assert.deepEqual(
            recent.traces.map((t) => t.traceId),
            [16, 11, 10, 8, 7, 4, 3, 2, 1].map(traceIdOf),
          );
          const explicit = await search(store, { service: 'frontend', sort: 'recent' });
          assert.deepEqual(explicit.traces, recent.traces);
          const longest = await search(store, { service: 'frontend', sort: 'longest' });
          assert.deepEqual(
            longest.traces.map((t) => t.traceId),
            [10, 3, 2, 7, 1, 8, 11, 4, 16].map(traceIdOf),
          );
          assert.deepEqual(
            longest.traces.map((t) => t.durationNano),
            [2000n, 1000n, 300n, 150n, 100n, 80n, 60n, 50n, 10n].map((ms) => ms * MS),
          );
          const [t2] = (await search(store, { service: 'payment', errorsOnly: true })).traces;
          assert.deepEqual(t2, {
            traceId: traceIdOf(2),
            rootServiceName: 'frontend',
            rootName: 'GET /home',
            startUnixNano: BASE + 20n * SEC,
            durationNano: 300n * MS,
            spanCount: 3,
            errorCount: 2,
            services: [
              { service: 'cart', spanCount: 1, errorCount: 0 },
              { service: 'frontend', spanCount: 1, errorCount: 1 },
              { service: 'payment', spanCount: 1, errorCount: 1 },
            ],
          });
        });
      });

      it('pages with limit and cursor through every result once', async () => {
        await withStore(async (store) => {
          await write(store, searchSpans());
          for (const sort of ['recent', 'longest'] as const) {
            const full = await search(store, { sort });
            assert.equal(full.total, ALL_IN_RANGE.length);
            for (const limit of [1, 3, 5]) {
              const seen: string[] = [];
              let cursor: string | undefined;
              let pages = 0;
              do {
                const page = await search(store, { sort, limit, ...(cursor === undefined ? {} : { cursor }) });
                assert.equal(page.total, ALL_IN_RANGE.length, `${sort}/${limit}: total on every page`);
                assert.ok(page.traces.length <= limit);
                seen.push(...page.traces.map((t) => t.traceId));
                cursor = page.nextCursor;
                pages++;
                assert.ok(pages <= ALL_IN_RANGE.length, 'pagination ends');
              } while (cursor !== undefined);
              assert.deepEqual(
                seen,
                full.traces.map((t) => t.traceId),
                `${sort}/${limit}: pages concatenate to the full list`,
              );
              assert.equal(pages, Math.ceil(ALL_IN_RANGE.length / limit), `${sort}/${limit}: no empty last page`);
            }
          }
        });
      });

      it('pages through traces that tie on the sort key without gaps', async () => {
        await withStore(async (store) => {
          const r = resourceOf('tie');
          const ids = [21, 22, 23, 24, 25, 26, 27];
          await write(
            store,
            ids.map((t) => makeSpan({ trace: t, id: 1, resource: r, name: 'same', start: T0, duration: MS })),
          );
          const range = { startUnixNano: T0, endUnixNano: T0 };
          for (const sort of ['recent', 'longest'] as const) {
            const seen: string[] = [];
            let cursor: string | undefined;
            do {
              const page = await store.search({ range, sort, limit: 2, ...(cursor === undefined ? {} : { cursor }) });
              assert.equal(page.total, ids.length);
              seen.push(...page.traces.map((t) => t.traceId));
              cursor = page.nextCursor;
            } while (cursor !== undefined && seen.length <= ids.length);
            assert.deepEqual([...seen].sort(), ids.map(traceIdOf).sort(), sort);
          }
        });
      });
    });

    it('lists services, operations, attribute keys and values', async () => {
      await withStore(async (store) => {
        await write(store, searchSpans());
        await write(store, [
          makeSpan({
            trace: 30,
            id: 1,
            resource: CART,
            name: 'cart.get',
            kind: KIND.INTERNAL,
            start: T0,
            duration: MS,
          }),
          makeSpan({ trace: 31, id: 1, resource: resourceOf(undefined), name: 'anon', start: T0, duration: MS }),
        ]);
        assert.deepEqual(await store.services(), ['cart', 'frontend', 'payment', 'unknown_service']);
        assert.deepEqual(await store.operations('cart'), [
          { name: 'cart.add', spanKind: KIND.SERVER },
          { name: 'cart.get', spanKind: KIND.INTERNAL },
          { name: 'cart.get', spanKind: KIND.SERVER },
          { name: 'cart.late', spanKind: KIND.INTERNAL },
          { name: 'cart.persist', spanKind: KIND.INTERNAL },
        ]);
        assert.deepEqual(await store.operations('payment'), [
          { name: 'charge', spanKind: KIND.CLIENT },
          { name: 'charge', spanKind: KIND.PRODUCER },
          { name: 'db.query', spanKind: KIND.CLIENT },
          { name: 'refund', spanKind: KIND.CONSUMER },
        ]);
        assert.deepEqual(await store.operations('nope'), []);

        assert.deepEqual(await store.attributeKeys('span'), [
          'big',
          'code',
          'customer.tier',
          'db.system',
          'deployment.environment',
          'http.method',
          'http.status_code',
          'latency.ratio',
          'query',
        ]);
        assert.deepEqual(await store.attributeKeys('span', { service: 'payment' }), [
          'big',
          'customer.tier',
          'db.system',
          'latency.ratio',
        ]);
        assert.deepEqual(await store.attributeKeys('span', { prefix: 'http.' }), ['http.method', 'http.status_code']);
        assert.deepEqual(await store.attributeKeys('span', { service: 'cart', prefix: 'http.' }), [
          'http.method',
          'http.status_code',
        ]);
        assert.deepEqual(await store.attributeKeys('span', { limit: 2 }), ['big', 'code']);
        assert.deepEqual(await store.attributeKeys('resource', { service: 'payment' }), [
          'deployment.environment',
          'k8s.pod.name',
          'region',
          'service.name',
        ]);
        assert.deepEqual(await store.attributeKeys('resource', { service: 'cart' }), [
          'deployment.environment',
          'region',
          'service.name',
        ]);
        assert.deepEqual(await store.attributeKeys('resource', { service: 'nope' }), []);

        assert.deepEqual(await store.attributeValues('span', 'http.status_code'), ['200', '201', '404', '500', '503']);
        assert.deepEqual(await store.attributeValues('span', 'http.status_code', { prefix: '5' }), ['500', '503']);
        assert.deepEqual(await store.attributeValues('span', 'http.status_code', { limit: 2 }), ['200', '201']);
        assert.deepEqual(await store.attributeValues('span', 'latency.ratio'), ['-1.5', '0.5', '1.5', '2.5']);
        assert.deepEqual(await store.attributeValues('span', 'big'), ['1152921504606846977']);
        assert.deepEqual(await store.attributeValues('span', 'http.method', { service: 'cart' }), ['PUT']);
        assert.deepEqual(await store.attributeValues('resource', 'deployment.environment'), ['prod', 'staging']);
        assert.deepEqual(await store.attributeValues('resource', 'deployment.environment', { service: 'cart' }), [
          'prod',
        ]);
        assert.deepEqual(await store.attributeValues('span', 'nope'), []);
      });
    });

    it('deletes exactly the spans that started before the cutoff', async () => {
      await withStore(async (store) => {
        const r = resourceOf('ret');
        const other = resourceOf('gone');
        const cut = T0 + 100n * SEC;
        const partial = [
          makeSpan({ trace: 40, id: 1, resource: r, name: 'root', start: cut - 2n * SEC, duration: 10n * SEC }),
          makeSpan({ trace: 40, id: 2, parent: 1, resource: r, name: 'early', start: cut - 1n, duration: 5n * SEC }),
          makeSpan({
            trace: 40,
            id: 3,
            parent: 1,
            resource: r,
            name: 'at',
            start: cut,
            duration: 2n * SEC,
            status: ERROR,
          }),
          makeSpan({ trace: 40, id: 4, parent: 1, resource: r, name: 'later', start: cut + SEC, duration: 3n * SEC }),
        ];
        const old = [
          makeSpan({ trace: 41, id: 1, resource: other, name: 'old', start: cut - 50n * SEC, duration: SEC }),
          makeSpan({
            trace: 41,
            id: 2,
            parent: 1,
            resource: other,
            name: 'old2',
            start: cut - 49n * SEC,
            duration: SEC,
          }),
        ];
        const fresh = [
          makeSpan({ trace: 42, id: 1, resource: r, name: 'fresh', start: cut + 10n * SEC, duration: SEC }),
        ];
        await write(store, [...partial, ...old, ...fresh]);
        assert.equal((await store.stats()).spans, 7);

        const result = await store.deleteBefore(cut);
        assert.equal(result.deletedSpans, 4);
        assert.ok(result.freedBytes >= 0);
        assert.equal((await store.stats()).spans, 3);

        assert.equal(await store.getTrace(traceIdOf(41)), undefined);
        assertSameSpans(await store.getTrace(traceIdOf(40)), partial.slice(2), 'partially deleted trace');
        assertSameSpans(await store.getTrace(traceIdOf(42)), fresh, 'untouched trace');
        assert.deepEqual(await store.traceSummaries([traceIdOf(41)]), []);
        const [summary] = await store.traceSummaries([traceIdOf(40)]);
        assert.deepEqual(summary, {
          traceId: traceIdOf(40),
          rootServiceName: '',
          rootName: '',
          startUnixNano: cut,
          durationNano: 4n * SEC,
          spanCount: 2,
          errorCount: 1,
          services: [{ service: 'ret', spanCount: 2, errorCount: 1 }],
        });
        const range = { startUnixNano: T0, endUnixNano: T0 + 1000n * SEC };
        const found = await store.search({ range, limit: 10 });
        assert.deepEqual(found.traces.map((t) => t.traceId).sort(), [traceIdOf(40), traceIdOf(42)]);
        assert.equal((await store.search({ range, limit: 10, service: 'gone' })).total, 0);
        assert.equal((await store.search({ range, limit: 10, operation: 'early' })).total, 0);

        const again = await store.deleteBefore(cut);
        assert.equal(again.deletedSpans, 0);
        assert.equal((await store.stats()).spans, 3);
      });
    });

    it('remembers the committed write-ahead-log position and skips replayed batches', async () => {
      await withStore(async (store, reopen, swap) => {
        const r = resourceOf('pos');
        const batchOf = (t: number) => [
          makeSpan({ trace: t, id: 1, resource: r, name: `t${t}`, start: T0, duration: MS }),
        ];
        assert.equal(await store.committedPosition(), 0n);
        await write(store, batchOf(50), 5n);
        assert.equal(await store.committedPosition(), 5n);
        await write(store, batchOf(51), 5n);
        await write(store, batchOf(52), 3n);
        assert.equal(await store.getTrace(traceIdOf(51)), undefined, 'same position is skipped');
        assert.equal(await store.getTrace(traceIdOf(52)), undefined, 'lower position is skipped');
        assert.equal(await store.committedPosition(), 5n);
        await write(store, batchOf(53), 6n);
        await write(store, batchOf(54));
        assert.equal(await store.committedPosition(), 6n, 'a write without position keeps it');
        assertSameSpans(await store.getTrace(traceIdOf(53)), batchOf(53), 'position 6');
        assertSameSpans(await store.getTrace(traceIdOf(54)), batchOf(54), 'no position');
        assert.equal((await store.stats()).spans, 3);

        if (reopen === undefined) return;
        await store.close();
        const again = await reopen();
        swap(again);
        assert.equal(await again.committedPosition(), 6n);
        assert.equal((await again.stats()).spans, 3);
        assertSameSpans(await again.getTrace(traceIdOf(50)), batchOf(50), 'after reopen');
        assertSameSpans(await again.getTrace(traceIdOf(54)), batchOf(54), 'after reopen');
        assert.equal((await again.search({ range: { startUnixNano: T0, endUnixNano: T0 }, limit: 10 })).total, 3);
        await write(again, batchOf(55), 6n);
        assert.equal(await again.getTrace(traceIdOf(55)), undefined, 'skipped after reopen too');
        await write(again, batchOf(56), 7n);
        assert.equal(await again.committedPosition(), 7n);
      });
    });

    it('stores everything from many concurrent writes', async () => {
      await withStore(async (store) => {
        const writes: Promise<void>[] = [];
        const traces = 40;
        const perTrace = 10;
        for (let t = 0; t < traces; t++) {
          const spans: Span[] = [];
          for (let i = 0; i < perTrace; i++) {
            spans.push(
              makeSpan({
                trace: 100 + t,
                id: i + 1,
                ...(i === 0 ? {} : { parent: 1 }),
                resource: resourceOf(`svc-${t % 4}`),
                name: `op-${i}`,
                start: T0 + BigInt(t) * SEC + BigInt(i) * MS,
                duration: MS,
              }),
            );
          }
          writes.push(store.write(SpanBatch.from(spans), BigInt(t + 1)));
          // Every fifth trace is also re-sent at once without a position, as a client retry would.
          if (t % 5 === 0) writes.push(store.write(SpanBatch.from(spans)));
        }
        await store.flush();
        await Promise.all(writes);
        assert.equal((await store.stats()).spans, traces * perTrace);
        assert.equal(await store.committedPosition(), BigInt(traces));
        for (let t = 0; t < traces; t++) {
          assert.equal((await store.getTrace(traceIdOf(100 + t)))?.length, perTrace, `trace ${t}`);
        }
        const r = await store.search({
          range: { startUnixNano: T0, endUnixNano: T0 + 100n * SEC },
          service: 'svc-1',
          limit: 100,
        });
        assert.equal(r.total, traces / 4);
      });
    });

    describe('metrics', () => {
      const M = 60n * SEC;
      /** A minute boundary that is also an hour boundary: 2023-11-15T00:00:00Z. */
      const H = MIDNIGHT;
      const hist = (ns: number[]): HistogramData => {
        const h = new Histogram();
        for (const v of ns) h.record(v);
        return h.toData();
      };
      const point = (
        minute: number,
        service: string,
        operation: string,
        calls: number,
        errors: number,
        durations: number[],
        kind: number = KIND.SERVER,
      ): SpanMetricPoint => ({
        bucketStartUnixNano: H + BigInt(minute) * M,
        service,
        operation,
        spanKind: kind,
        statusCode: errors > 0 ? 2 : 0,
        calls,
        errors,
        durationSumNano: durations.reduce((a, b) => a + b, 0),
        latency: hist(durations),
      });
      const edge = (
        minute: number,
        client: string,
        server: string,
        requests: number,
        failed: number,
      ): EdgeMetricPoint => ({
        bucketStartUnixNano: H + BigInt(minute) * M,
        client,
        server,
        connectionType: server === 'postgresql' ? 'database' : '',
        requests,
        failed,
        clientDurationSumNano: requests * 2e6,
        serverDurationSumNano: requests * 1e6,
        clientLatency: hist(Array.from({ length: requests }, () => 2e6)),
        serverLatency: server === 'postgresql' ? hist([]) : hist(Array.from({ length: requests }, () => 1e6)),
      });
      const all = { startUnixNano: 0n, endUnixNano: H + 10_000n * M };
      const summary = (points: readonly SpanMetricPoint[]) =>
        points.map(
          (p) => `${(p.bucketStartUnixNano - H) / M} ${p.service} ${p.operation} ${p.spanKind} ${p.calls}/${p.errors}`,
        );

      it('merges writes to the same bucket and key, filters and sorts', async () => {
        await withStore(async (store) => {
          await store.writeMetrics({
            spans: [point(0, 'b', 'GET', 2, 0, [1e6, 2e6]), point(1, 'a', 'GET', 1, 0, [5e6])],
            edges: [],
          });
          await store.writeMetrics({
            spans: [point(0, 'b', 'GET', 3, 0, [3e6, 4e6, 5e6]), point(0, 'a', 'POST', 1, 0, [1e6], KIND.CLIENT)],
            edges: [],
          });
          const got = await store.spanMetrics({ range: all, resolutionSeconds: 60 });
          assert.deepEqual(summary(got), ['0 a POST 3 1/0', '0 b GET 2 5/0', '1 a GET 2 1/0']);
          // Quantiles a backend keeps with a point are those of its histogram.
          const withMerged = [
            ...got,
            ...(await store.spanMetrics({ range: all, resolutionSeconds: 60, byService: true })),
          ];
          for (const p of withMerged) {
            if (p.quantiles === undefined) continue;
            assert.deepEqual(
              [p.quantiles.p50Nano, p.quantiles.p95Nano, p.quantiles.p99Nano],
              [0.5, 0.95, 0.99].map((q) => histogramQuantile(p.latency, q) ?? null),
            );
          }
          const b = got.find((p) => p.service === 'b');
          assert.equal(b?.durationSumNano, 15e6);
          assert.equal(histogramCount(b?.latency ?? hist([])), 5);
          assert.equal(histogramQuantile(b?.latency ?? hist([]), 1), histogramQuantile(hist([5e6]), 1));
          assert.deepEqual(summary(await store.spanMetrics({ range: all, resolutionSeconds: 60, service: 'a' })), [
            '0 a POST 3 1/0',
            '1 a GET 2 1/0',
          ]);
          assert.deepEqual(
            summary(await store.spanMetrics({ range: all, resolutionSeconds: 60, service: 'a', operation: 'GET' })),
            ['1 a GET 2 1/0'],
          );
          assert.deepEqual(
            summary(await store.spanMetrics({ range: all, resolutionSeconds: 60, spanKinds: [KIND.CLIENT] })),
            ['0 a POST 3 1/0'],
          );
          assert.deepEqual(
            summary(
              await store.spanMetrics({ range: { startUnixNano: H + M, endUnixNano: H + M }, resolutionSeconds: 60 }),
            ),
            ['1 a GET 2 1/0'],
            'a range includes buckets that start inside it, bounds included',
          );
        });
      });

      it('rolls minutes up into hours', async () => {
        await withStore(async (store) => {
          await store.writeMetrics({
            spans: [
              point(0, 's', 'op', 1, 0, [1e6]),
              point(59, 's', 'op', 2, 1, [2e6, 3e6]),
              point(60, 's', 'op', 4, 0, [1e6, 1e6, 1e6, 1e6]),
            ],
            edges: [edge(1, 'a', 'b', 2, 1), edge(61, 'a', 'b', 3, 0)],
          });
          await store.writeMetrics({
            spans: [point(30, 's', 'op', 5, 0, [1e6, 1e6, 1e6, 1e6, 1e6])],
            edges: [edge(2, 'a', 'b', 1, 1)],
          });
          const hours = await store.spanMetrics({ range: all, resolutionSeconds: 3600 });
          assert.deepEqual(
            hours.map((p) => [
              (p.bucketStartUnixNano - H) / (60n * M),
              p.statusCode,
              p.calls,
              p.errors,
              histogramCount(p.latency),
            ]),
            [
              [0n, 0, 6, 0, 6],
              [0n, 2, 2, 1, 2],
              [1n, 0, 4, 0, 4],
            ],
          );
          const edges = await store.edgeMetrics({ range: all, resolutionSeconds: 3600 });
          assert.deepEqual(
            edges.map((e) => [
              (e.bucketStartUnixNano - H) / (60n * M),
              e.client,
              e.server,
              e.requests,
              e.failed,
              histogramCount(e.clientLatency),
            ]),
            [
              [0n, 'a', 'b', 3, 2, 3],
              [1n, 'a', 'b', 3, 0, 3],
            ],
          );
          assert.equal((await store.edgeMetrics({ range: all, resolutionSeconds: 60 })).length, 3);
          // Operations and statuses merged per service and kind, errors kept.
          const merged = await store.spanMetrics({
            range: all,
            resolutionSeconds: 3600,
            service: 's',
            byService: true,
          });
          assert.deepEqual(
            merged.map((p) => [(p.bucketStartUnixNano - H) / (60n * M), p.operation, p.statusCode, p.calls, p.errors]),
            [
              [0n, '', 0, 8, 1],
              [1n, '', 0, 4, 0],
            ],
          );
          assert.equal(histogramCount(merged[0]?.latency ?? hist([])), 8);
          const minutes = await store.spanMetrics({
            range: all,
            resolutionSeconds: 60,
            byService: true,
            spanKinds: [KIND.SERVER],
          });
          assert.deepEqual(
            minutes.map((p) => [(p.bucketStartUnixNano - H) / M, p.calls]),
            [
              [0n, 1],
              [30n, 5],
              [59n, 2],
              [60n, 4],
            ],
          );
          assert.deepEqual(
            await store.spanMetrics({ range: all, resolutionSeconds: 60, byService: true, spanKinds: [KIND.CLIENT] }),
            [],
          );
        });
      });

      it('skips replayed metric batches by position and keeps metrics across a reopen', async () => {
        await withStore(async (store, reopen, swap) => {
          assert.equal(await store.metricsPosition(), 0n);
          await store.writeMetrics(
            { spans: [point(0, 's', 'op', 1, 0, [1e6])], edges: [edge(0, 'a', 'postgresql', 1, 0)] },
            5n,
          );
          await store.writeMetrics({ spans: [point(0, 's', 'op', 1, 0, [1e6])], edges: [] }, 5n);
          await store.writeMetrics({ spans: [point(0, 's', 'op', 1, 0, [1e6])], edges: [] }, 3n);
          assert.equal(await store.metricsPosition(), 5n);
          assert.deepEqual(summary(await store.spanMetrics({ range: all, resolutionSeconds: 60 })), ['0 s op 2 1/0']);
          if (reopen === undefined) return;
          await store.close();
          const again = await reopen();
          swap(again);
          assert.equal(await again.metricsPosition(), 5n);
          assert.deepEqual(summary(await again.spanMetrics({ range: all, resolutionSeconds: 60 })), ['0 s op 2 1/0']);
          const [e] = await again.edgeMetrics({ range: all, resolutionSeconds: 60 });
          assert.deepEqual([e?.client, e?.server, e?.connectionType, e?.requests], ['a', 'postgresql', 'database', 1]);
          assert.equal(histogramCount(e?.serverLatency ?? hist([1])), 0);
          await again.writeMetrics({ spans: [point(0, 's', 'op', 1, 0, [1e6])], edges: [] }, 6n);
          assert.deepEqual(summary(await again.spanMetrics({ range: all, resolutionSeconds: 60 })), ['0 s op 2 2/0']);
        });
      });

      it('retention removes metric buckets before the cutoff', async () => {
        await withStore(async (store) => {
          await store.writeMetrics({
            spans: [point(0, 's', 'op', 1, 0, [1e6]), point(120, 's', 'op', 1, 0, [1e6])],
            edges: [edge(0, 'a', 'b', 1, 0)],
          });
          await store.deleteBefore(H + 60n * M);
          assert.deepEqual(summary(await store.spanMetrics({ range: all, resolutionSeconds: 60 })), ['120 s op 2 1/0']);
          assert.equal((await store.spanMetrics({ range: all, resolutionSeconds: 3600 })).length, 1);
          assert.deepEqual(await store.edgeMetrics({ range: all, resolutionSeconds: 60 }), []);
        });
      });
    });
  });
}
