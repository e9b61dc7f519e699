import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type KeyValue, type Resource, type Span, SpanBatch, SpanKind, StatusCode } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { encodeOtlpTraces } from '@traceloom/wire';
import type { IngestMeta } from '../receivers/sink.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import type { EdgeMetricPoint, SpanMetricPoint } from '../storage/types.ts';
import { DurableSink } from '../wal/durable-sink.ts';
import { WriteAheadLog } from '../wal/wal.ts';
import { AnalyticsStage } from './analytics.ts';
import { Histogram, histogramQuantile, RELATIVE_ERROR_BOUND } from './histogram.ts';
import { ServiceGraphBuilder } from './service-graph.ts';
import { OVERFLOW_OPERATION, SpanMetricsAggregator } from './span-metrics.ts';

const MS = 1_000_000n;
/** 2026-01-01T00:00:00Z, a minute boundary. */
const T0 = 1_767_225_600_000_000_000n;
const MINUTE = 60_000n * MS;

const resources = new Map<string, Resource>();
const res = (service: string): Resource => {
  let r = resources.get(service);
  if (r === undefined) {
    r = testResource(service);
    resources.set(service, r);
  }
  return r;
};
const tid = (n: number) => n.toString(16).padStart(32, '0');
const sid = (n: number) => n.toString(16).padStart(16, '0');

interface Spec {
  trace: number;
  id: number;
  parent?: number;
  service: string;
  name?: string;
  kind: number;
  start?: bigint;
  durationMs?: number;
  error?: boolean;
  attrs?: KeyValue[];
}

function span(s: Spec): Span {
  const start = s.start ?? T0;
  return testSpan({
    traceId: tid(s.trace),
    spanId: sid(s.id),
    parentSpanId: s.parent === undefined ? '' : sid(s.parent),
    name: s.name ?? 'op',
    kind: s.kind,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round((s.durationMs ?? 1) * 1e6)),
    status: s.error ? { code: StatusCode.ERROR, message: 'x' } : { code: StatusCode.OK, message: '' },
    resource: res(s.service),
    attributes: s.attrs ?? [],
  });
}

function sumBy<T>(points: readonly T[], f: (p: T) => number): number {
  return points.reduce((a, p) => a + f(p), 0);
}

function mergedLatency(points: readonly SpanMetricPoint[]) {
  const h = new Histogram();
  for (const p of points) h.merge(p.latency);
  return h.toData();
}

describe('span metrics', () => {
  it('count calls and errors per series and give percentiles within the bound', () => {
    // 200 SERVER spans of checkout "POST /order", durations 1..200 ms, 2 in 20 errors,
    // spread over two minutes; 10 CLIENT spans "GET /price"; another service.
    const spans: Span[] = [];
    for (let i = 1; i <= 200; i++) {
      spans.push(
        span({
          trace: i,
          id: 1,
          service: 'checkout',
          name: 'POST /order',
          kind: SpanKind.SERVER,
          start: T0 + BigInt(i % 2) * MINUTE + BigInt(i) * MS,
          durationMs: i,
          error: i % 20 === 0 || i % 20 === 5,
        }),
      );
    }
    for (let i = 1; i <= 10; i++)
      spans.push(span({ trace: 1000 + i, id: 2, service: 'checkout', name: 'GET /price', kind: SpanKind.CLIENT }));
    spans.push(span({ trace: 2000, id: 1, service: 'cart', name: 'GET /cart', kind: SpanKind.SERVER }));
    const agg = new SpanMetricsAggregator();
    // Two batches, as two requests would arrive.
    agg.add(SpanBatch.from(spans.slice(0, 120)));
    agg.add(SpanBatch.from(spans.slice(120)));
    const points = agg.drain();
    const order = points.filter((p) => p.service === 'checkout' && p.operation === 'POST /order');
    assert.equal(
      sumBy(order, (p) => p.calls),
      200,
    );
    assert.equal(
      sumBy(order, (p) => p.errors),
      20,
    );
    assert.deepEqual(
      new Set(order.map((p) => `${p.bucketStartUnixNano - T0},${p.statusCode}`)),
      new Set([
        `0,${StatusCode.OK}`,
        `0,${StatusCode.ERROR}`,
        `${MINUTE},${StatusCode.OK}`,
        `${MINUTE},${StatusCode.ERROR}`,
      ]),
      'one series per minute and status',
    );
    assert.equal(order.find((p) => p.bucketStartUnixNano === T0 && p.statusCode === StatusCode.ERROR)?.calls, 10);
    // Nearest-rank over 1..200 ms: p50 = 100, p95 = 190, p99 = 198.
    const lat = mergedLatency(order);
    for (const [q, want] of [
      [0.5, 100e6],
      [0.95, 190e6],
      [0.99, 198e6],
    ] as const) {
      const got = histogramQuantile(lat, q) as number;
      assert.ok(Math.abs(got - want) / want <= RELATIVE_ERROR_BOUND, `p${q * 100}: ${got} vs ${want}`);
    }
    assert.equal(
      sumBy(order, (p) => p.durationSumNano),
      ((200 * 201) / 2) * 1e6,
    );
    const price = points.filter((p) => p.operation === 'GET /price');
    assert.deepEqual(
      price.map((p) => [p.calls, p.spanKind, p.errors]),
      [[10, SpanKind.CLIENT, 0]],
    );
    assert.equal(points.filter((p) => p.service === 'cart').length, 1);
    assert.deepEqual(agg.drain(), [], 'a drain starts afresh');
  });

  it('caps distinct operations per service into __overflow__ and reports it', () => {
    const agg = new SpanMetricsAggregator({ maxOperationsPerService: 3 });
    const spans = Array.from({ length: 10 }, (_, i) =>
      span({ trace: i + 1, id: 1, service: 'api', name: `GET /user/${i % 5}`, kind: SpanKind.SERVER }),
    );
    agg.add(SpanBatch.from(spans));
    const points = agg.drain();
    const names = new Set(points.map((p) => p.operation));
    assert.deepEqual(names, new Set(['GET /user/0', 'GET /user/1', 'GET /user/2', OVERFLOW_OPERATION]));
    assert.equal(points.find((p) => p.operation === OVERFLOW_OPERATION)?.calls, 4);
    assert.equal(agg.overflow().get('api'), 4);
    assert.equal(
      sumBy(points, (p) => p.calls),
      10,
      'no span is lost to the cap',
    );
  });
});

/** The edges as `client->server(type) requests/failed`. */
function edgeSet(points: readonly EdgeMetricPoint[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of points) out.set(`${p.client}->${p.server}(${p.connectionType})`, `${p.requests}/${p.failed}`);
  return out;
}

describe('service graph', () => {
  it('builds exactly the edges of a crafted topology (HTTP, messaging, database, external, root)', () => {
    // Trace 1: user -> frontend (root SERVER) -> payment over HTTP (failed on the server side);
    // payment -> postgresql (CLIENT with db.system, no server side);
    // frontend -> stripe (CLIENT with peer.service). The payment SERVER span arrives first.
    const batch1 = [
      span({
        trace: 1,
        id: 3,
        parent: 2,
        service: 'payment',
        name: 'POST /pay',
        kind: SpanKind.SERVER,
        durationMs: 40,
        error: true,
      }),
      span({
        trace: 1,
        id: 4,
        parent: 3,
        service: 'payment',
        name: 'INSERT',
        kind: SpanKind.CLIENT,
        durationMs: 5,
        attrs: [{ key: 'db.system', value: 'postgresql' }],
      }),
    ];
    const batch2 = [
      span({ trace: 1, id: 1, service: 'frontend', name: 'GET /checkout', kind: SpanKind.SERVER, durationMs: 100 }),
      span({
        trace: 1,
        id: 2,
        parent: 1,
        service: 'frontend',
        name: 'POST /pay',
        kind: SpanKind.CLIENT,
        durationMs: 45,
      }),
      span({
        trace: 1,
        id: 5,
        parent: 1,
        service: 'frontend',
        name: 'charge',
        kind: SpanKind.CLIENT,
        durationMs: 30,
        attrs: [{ key: 'peer.service', value: 'stripe' }],
      }),
      // Trace 2: checkout (INTERNAL root) -> PRODUCER -> shipping CONSUMER.
      span({ trace: 2, id: 1, service: 'checkout', name: 'place', kind: SpanKind.INTERNAL }),
      span({ trace: 2, id: 2, parent: 1, service: 'checkout', name: 'orders publish', kind: SpanKind.PRODUCER }),
      span({ trace: 2, id: 3, parent: 2, service: 'shipping', name: 'orders process', kind: SpanKind.CONSUMER }),
      // Unpaired: a server span whose client never comes, a client span without a peer attribute.
      span({ trace: 3, id: 9, parent: 8, service: 'cart', name: 'GET /cart', kind: SpanKind.SERVER }),
      span({ trace: 4, id: 1, parent: 7, service: 'cart', name: 'GET /x', kind: SpanKind.CLIENT }),
    ];
    const g = new ServiceGraphBuilder({ waitMs: 1000 });
    g.add(SpanBatch.from(batch1), 0);
    g.add(SpanBatch.from(batch2), 10);
    assert.deepEqual(
      edgeSet(g.drain()),
      new Map([
        ['user->frontend()', '1/0'],
        ['frontend->payment()', '1/1'],
        ['checkout->shipping(messaging_system)', '1/0'],
        // A database call has no server side to wait for: its edge is made at once.
        ['payment->postgresql(database)', '1/0'],
      ]),
      'pairs and database calls are edges at once; other halves without partner wait',
    );
    assert.equal(g.stats.pending, 3);
    g.expire(2000);
    assert.deepEqual(edgeSet(g.drain()), new Map([['frontend->stripe(virtual_node)', '1/0']]));
    assert.deepEqual(g.stats, { paired: 2, virtual: 3, unpaired: 2, evicted: 0, pending: 0 });
  });

  it('counts an edge again after a drain, and keeps same-minute edges of the same pair apart by type', () => {
    const g = new ServiceGraphBuilder({ waitMs: 1000 });
    const pair = (trace: number) => [
      span({ trace, id: 1, parent: 9, service: 'web', kind: SpanKind.CLIENT }),
      span({ trace, id: 2, parent: 1, service: 'api', kind: SpanKind.SERVER }),
    ];
    const queued = (trace: number) => [
      span({ trace, id: 1, parent: 9, service: 'web', kind: SpanKind.PRODUCER }),
      span({ trace, id: 2, parent: 1, service: 'api', kind: SpanKind.CONSUMER }),
    ];
    g.add(SpanBatch.from([...pair(1), ...pair(2), ...queued(3)]), 0);
    const expected = new Map([
      ['web->api()', '2/0'],
      ['web->api(messaging_system)', '1/0'],
    ]);
    assert.deepEqual(edgeSet(g.drain()), expected);
    g.add(SpanBatch.from([...pair(4), ...pair(5), ...queued(6)]), 0);
    assert.deepEqual(edgeSet(g.drain()), expected, 'the second drain sees the edges counted after the first');
  });

  it('names a database by db.system.name (the stable convention) before server.address', () => {
    const g = new ServiceGraphBuilder({ waitMs: 1000 });
    const attrs = (system: string): KeyValue[] => [
      { key: 'server.address', value: '127.0.0.1' },
      { key: 'db.system.name', value: system },
    ];
    g.add(
      SpanBatch.from([
        span({ trace: 9, id: 1, parent: 5, service: 'catalog', kind: SpanKind.CLIENT, attrs: attrs('postgresql') }),
        span({ trace: 9, id: 2, parent: 5, service: 'cart', kind: SpanKind.CLIENT, attrs: attrs('redis') }),
      ]),
      0,
    );
    assert.deepEqual(
      edgeSet(g.drain()),
      new Map([
        ['catalog->postgresql(database)', '1/0'],
        ['cart->redis(database)', '1/0'],
      ]),
    );
    assert.equal(g.stats.pending, 0);
  });

  it('keeps client and server latency per edge, and bounds the halves it holds', () => {
    const g = new ServiceGraphBuilder({ waitMs: 1000, maxPending: 2 });
    g.add(
      SpanBatch.from([
        span({ trace: 1, id: 1, service: 'a', kind: SpanKind.CLIENT, durationMs: 50 }),
        span({ trace: 1, id: 2, parent: 1, service: 'b', kind: SpanKind.SERVER, durationMs: 20 }),
      ]),
      0,
    );
    const [e] = g.drain();
    assert.ok(e !== undefined);
    assert.ok(Math.abs((histogramQuantile(e.clientLatency, 0.5) as number) / 50e6 - 1) <= RELATIVE_ERROR_BOUND);
    assert.ok(Math.abs((histogramQuantile(e.serverLatency, 0.5) as number) / 20e6 - 1) <= RELATIVE_ERROR_BOUND);
    g.add(
      SpanBatch.from(
        [1, 2, 3, 4].map((i) => span({ trace: 10 + i, id: 1, parent: 5, service: 'c', kind: SpanKind.SERVER })),
      ),
      1,
    );
    assert.equal(g.stats.pending, 2);
    assert.equal(g.stats.evicted, 2);
  });
});

function request(s: Span[]): [SpanBatch, IngestMeta] {
  const body = encodeOtlpTraces(s);
  return [SpanBatch.from(s), { protocol: 'otlp-http', bodyBytes: body.length, body, format: 'otlp-proto' }];
}

const serverSpans = (trace: number, n: number) =>
  Array.from({ length: n }, (_, i) =>
    span({ trace, id: i + 1, service: 'svc', name: 'GET /', kind: SpanKind.SERVER, start: T0 + BigInt(i) * MS }),
  );

async function totalCalls(store: MemoryStore): Promise<number> {
  const points = await store.spanMetrics({
    range: { startUnixNano: T0 - MINUTE, endUnixNano: T0 + MINUTE },
    resolutionSeconds: 60,
  });
  return sumBy(points, (p) => p.calls);
}

describe('analytics stage and the write-ahead log', () => {
  it('counts each acknowledged span exactly once across a crash and replay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-analytics-'));
    try {
      // First life: request 1 is flushed to metrics, request 2 is acknowledged and stored but its
      // metrics are not flushed when the process "dies".
      const wal1 = await WriteAheadLog.open({ dir, fsync: false });
      const store = new MemoryStore();
      const stage1 = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
      const sink1 = await DurableSink.open(wal1, store, { stage: stage1 });
      await sink1.write(...request(serverSpans(1, 3)));
      await stage1.flush();
      await sink1.write(...request(serverSpans(2, 2)));
      await store.flush();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await store.committedPosition(), 2n, 'the store committed both');
      assert.equal(await store.metricsPosition(), 1n);
      assert.equal(wal1.releasedLsn, 1n, 'the log keeps the record whose metrics are not committed');
      await wal1.close();
      await store.close();

      // Second life: replay counts request 2 only; the store skips it (already committed).
      const store2 = store.reopen();
      const wal2 = await WriteAheadLog.open({ dir, fsync: false });
      const stage2 = await AnalyticsStage.open(store2, { flushIntervalMs: 0 });
      const sink2 = await DurableSink.open(wal2, store2, { stage: stage2 });
      assert.equal(sink2.stats.replayedSpans, 2);
      assert.equal(await totalCalls(store2), 5, 'three plus two, none twice');
      assert.equal(wal2.releasedLsn, 2n);
      await sink2.write(...request(serverSpans(3, 4)));
      await sink2.close();
      assert.equal(await totalCalls(store2.reopen()), 9, 'close flushes the stage');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stores virtual-node edges that expire after their record was flushed', async () => {
    let now = 0;
    const store = new MemoryStore();
    const stage = await AnalyticsStage.open(store, { flushIntervalMs: 0, graphWaitMs: 1000, clock: () => now });
    stage.accept(
      SpanBatch.from([
        span({ trace: 1, id: 1, service: 'api', kind: SpanKind.SERVER }),
        span({
          trace: 1,
          id: 2,
          parent: 1,
          service: 'api',
          kind: SpanKind.CLIENT,
          attrs: [{ key: 'db.system', value: 'redis' }],
        }),
      ]),
      1n,
    );
    await stage.flush();
    now = 5000;
    await stage.flush();
    const edges = await store.edgeMetrics({
      range: { startUnixNano: T0 - MINUTE, endUnixNano: T0 + MINUTE },
      resolutionSeconds: 60,
    });
    assert.deepEqual(
      edges.map((e) => `${e.client}->${e.server}(${e.connectionType})`),
      ['api->redis(database)', 'user->api()'],
    );
    await stage.close();
  });

  it('writes what a failed flush could not with the next one', async () => {
    /** A store whose first metrics write fails (a full disk, say). */
    class FlakyStore extends MemoryStore {
      failures = 1;
      override async writeMetrics(batch: Parameters<MemoryStore['writeMetrics']>[0], position?: bigint): Promise<void> {
        if (this.failures-- > 0) throw new Error('disk full');
        return super.writeMetrics(batch, position);
      }
    }
    const store = new FlakyStore();
    const stage = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
    stage.accept(SpanBatch.from(serverSpans(1, 3)), 1n);
    await assert.rejects(stage.flush(), /disk full/);
    assert.equal(stage.persistedPosition, 0n, 'the log may not be released past a failed flush');
    stage.accept(SpanBatch.from(serverSpans(2, 2)), 2n);
    await stage.flush();
    assert.equal(stage.persistedPosition, 2n);
    assert.equal(await totalCalls(store), 5);
    assert.equal(stage.stats.failedFlushes, 1);
    await stage.close();
  });

  it('counts spans the store never keeps (metrics come before sampling)', async () => {
    /** A store that keeps no span at all, as a 0% tail sampler would leave it. */
    class DroppingStore extends MemoryStore {
      override async write(_batch: SpanBatch, _position?: bigint): Promise<void> {}
    }
    const store = new DroppingStore();
    const stage = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
    stage.accept(SpanBatch.from(serverSpans(1, 7)));
    await store.write(SpanBatch.from(serverSpans(1, 7)));
    await stage.close();
    assert.equal((await store.stats()).spans, 0);
    assert.equal(await totalCalls(store), 7);
  });
});
