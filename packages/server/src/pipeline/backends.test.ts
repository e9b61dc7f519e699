/**
 * The same metrics through both storage backends answer the same RED series,
 * operations and graph (the DuckDB backend keeps quantiles precomputed and
 * roll-ups in tables; the memory backend computes everything on read).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { SpanBatch, SpanKind, StatusCode } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { QueryEngine } from '../query/engine.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import type { TraceStore } from '../storage/types.ts';
import { AnalyticsStage } from './analytics.ts';

const MS = 1_000_000n;
const MIN = 60_000n * MS;
const T = 1_767_225_600_000_000_000n;

function batch(seed: number): SpanBatch {
  const api = testResource('api');
  const db = testResource('db-proxy');
  const spans = [];
  for (let i = 0; i < 400; i++) {
    const start = T + BigInt((i * 7 + seed) % 180) * MIN + BigInt(i) * MS;
    const ms = 1 + ((i * 37 + seed) % 500);
    const trace = (seed * 1000 + i + 1).toString(16).padStart(32, '0');
    spans.push(
      testSpan({
        traceId: trace,
        spanId: '1'.padStart(16, '0'),
        name: `GET /r${i % 7}`,
        kind: SpanKind.SERVER,
        startTimeUnixNano: start,
        endTimeUnixNano: start + BigInt(ms) * MS,
        status: i % 13 === 0 ? { code: StatusCode.ERROR, message: 'x' } : { code: StatusCode.UNSET, message: '' },
        resource: api,
      }),
      testSpan({
        traceId: trace,
        spanId: '2'.padStart(16, '0'),
        parentSpanId: '1'.padStart(16, '0'),
        name: 'query',
        kind: SpanKind.CLIENT,
        startTimeUnixNano: start,
        endTimeUnixNano: start + BigInt(ms) * 500_000n,
        resource: api,
      }),
      testSpan({
        traceId: trace,
        spanId: '3'.padStart(16, '0'),
        parentSpanId: '2'.padStart(16, '0'),
        name: 'query',
        kind: SpanKind.SERVER,
        startTimeUnixNano: start,
        endTimeUnixNano: start + BigInt(ms) * 400_000n,
        resource: db,
      }),
    );
  }
  return SpanBatch.from(spans);
}

async function answers(store: TraceStore) {
  const stage = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
  for (let k = 1; k <= 3; k++) {
    stage.accept(batch(k), BigInt(k));
    // Several flushes, so that backends merge into stored buckets.
    await stage.flush();
  }
  await stage.close();
  const engine = new QueryEngine(store);
  const range = { startUnixNano: T, endUnixNano: T + 180n * MIN - 1n };
  const strip = (series: Awaited<ReturnType<QueryEngine['red']>>) =>
    series.map((s) => ({
      ...s,
      points: s.points.map((p) => [p.timeUnixNano, p.calls, p.errors, p.p50Nano, p.p95Nano, p.p99Nano]),
    }));
  return {
    minute: strip(await engine.red({ service: 'api', range, stepSeconds: 60, spanKinds: [SpanKind.SERVER] })),
    fiveMinutes: strip(await engine.red({ service: 'api', range, stepSeconds: 300 })),
    hourly: strip(await engine.red({ service: 'api', range, stepSeconds: 3600, groupByOperation: true })),
    windowed: strip(await engine.red({ service: 'api', range, stepSeconds: 600, windowSeconds: 1200 })),
    operations: await engine.operationStats('api', range),
    overview: await engine.servicesOverview(range, 600),
    graph: await engine.serviceGraph(range),
  };
}

it('DuckDB and memory backends answer the same analytics queries', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tl-analytics-backends-'));
  try {
    const duck = await DuckDbStore.open({ dataDir: dir, flushIntervalMs: 5, memoryLimit: '256MiB' });
    let fromDuck: Awaited<ReturnType<typeof answers>>;
    try {
      fromDuck = await answers(duck);
    } finally {
      await duck.close();
    }
    const fromMemory = await answers(new MemoryStore());
    assert.equal(fromMemory.minute[0]?.points.length, 180);
    assert.equal(
      fromMemory.minute[0]?.points.reduce((a, p) => a + (p[1] as number), 0),
      1200,
      'every SERVER span of api counted once',
    );
    assert.deepEqual(fromDuck, fromMemory);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
