/** What the conformance suite does not reach: the DuckDB store's own layout decisions. */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { type KeyValue, type Span, SpanBatch, spanDiff } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { Catalog, SLOT_COUNT } from './catalog.ts';
import { DuckDbStore } from './duckdb-store.ts';

const DAY = 86_400_000_000_000n;
const T0 = 1_790_000_000_000_000_000n - (1_790_000_000_000_000_000n % DAY); // a UTC midnight
const resource = testResource('svc');

function span(trace: number, id: number, start: bigint, attributes: KeyValue[] = []): Span {
  return testSpan({
    traceId: trace.toString(16).padStart(32, '0'),
    spanId: id.toString(16).padStart(16, '0'),
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1000n,
    attributes,
    resource,
  });
}

/** Runs `statements` on the one day file in `dir` (the store closed), as another version would have left it. */
async function alterDayFile(dir: string, statements: readonly string[]): Promise<void> {
  const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.duckdb') && f.startsWith('spans-'))!);
  const db = await DuckDBInstance.create(file);
  const con = await db.connect();
  try {
    for (const sql of statements) await con.run(sql);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function withStore(fn: (store: DuckDbStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tl-duckdb-own-'));
  const store = await DuckDbStore.open({ dataDir: dir, flushIntervalMs: 5, memoryLimit: '256MiB' });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('DuckDB store layout', () => {
  it('gives a key the same slot in every shape where it can', () => {
    const cat = new Catalog();
    const a = cat.shapeFor(['http.method', 'http.route'], 'ss').shape;
    const b = cat.shapeFor(['db.system', 'http.route', 'http.method'], 'sss').shape;
    assert.equal(b.slots[1], a.slots[1], 'http.route keeps its slot');
    assert.equal(b.slots[2], a.slots[0], 'http.method keeps its slot');
    assert.notEqual(b.slots[0], a.slots[0]);
    assert.equal(cat.shapeFor(['http.method', 'http.route'], 'ss').isNew, false);
    // A repeated key cannot share its slot with itself.
    const rep = cat.shapeFor(['k', 'k'], 'ss').shape;
    assert.notEqual(rep.slots[0], rep.slots[1]);
  });

  it('reads a trace without its details when asked: the same tree and timing, no attributes', async () => {
    await withStore(async (store) => {
      const attrs: KeyValue[] = [{ key: 'http.route', value: '/a' }];
      const spans = [span(7, 1, T0 + 10n, attrs), { ...span(7, 2, T0 + 20n, attrs), parentSpanId: '0000000000000001' }];
      await store.write(SpanBatch.from(spans));
      await store.flush();
      const full = await store.getTrace(spans[0]!.traceId);
      const lean = await store.getTrace(spans[0]!.traceId, undefined, { details: false });
      assert.equal(full?.length, 2);
      assert.equal(lean?.length, 2);
      const key = (s: Span) => s.spanId;
      const byId = new Map(full!.map((s) => [key(s), s]));
      for (const s of lean!) {
        const f = byId.get(key(s))!;
        assert.deepEqual({ ...s, attributes: f.attributes }, f, 'everything but the attributes is the same');
        assert.deepEqual(s.attributes, []);
        assert.equal(f.attributes.length, 1);
      }
    });
  });

  it('stores a span whose attribute value is 5 MB (a load-file line past the 2 MB DuckDB allows by default) under a 256 MiB memory cap', async () => {
    await withStore(async (store) => {
      const big = 'x'.repeat(5_000_000);
      const spans = [span(9, 1, T0 + 10n, [{ key: 'db.query.text', value: big }]), span(9, 2, T0 + 20n)];
      await store.write(SpanBatch.from(spans));
      await store.flush();
      const got = await store.getTrace(spans[0]!.traceId);
      assert.equal(got?.length, 2);
      const value = got!.find((s) => s.spanId === spans[0]!.spanId)!.attributes[0]!.value;
      assert.equal(typeof value === 'string' ? value.length : -1, big.length);
    });
  });

  it('keeps attributes beyond the slot columns, in order, and finds them', async () => {
    await withStore(async (store) => {
      const many: KeyValue[] = Array.from({ length: SLOT_COUNT + 6 }, (_, i) => ({
        key: `k${i}`,
        value: i % 2 === 0 ? `v${i}` : BigInt(i),
      }));
      const s = span(1, 1, T0 + 10n, many);
      await store.write(SpanBatch.from([s, span(2, 2, T0 + 20n, [{ key: 'k0', value: 'other' }])]));
      await store.flush();
      const back = await store.getTrace(s.traceId);
      assert.equal(back?.length, 1);
      assert.equal(spanDiff(back![0]!, s), undefined);
      const range = { startUnixNano: T0, endUnixNano: T0 + DAY };
      const last = `k${SLOT_COUNT + 4}`; // an overflowed string attribute
      const found = await store.search({
        range,
        limit: 10,
        attributes: [{ scope: 'span', key: last, op: '=', value: `v${SLOT_COUNT + 4}` }],
      });
      assert.deepEqual(
        found.traces.map((t) => t.traceId),
        [s.traceId],
      );
      const num = await store.search({
        range,
        limit: 10,
        attributes: [{ scope: 'span', key: `k${SLOT_COUNT + 5}`, op: '>', value: SLOT_COUNT }],
      });
      assert.deepEqual(
        num.traces.map((t) => t.traceId),
        [s.traceId],
      );
      const absent = await store.search({
        range,
        limit: 10,
        attributes: [{ scope: 'span', key: last, op: '!exists' }],
      });
      assert.deepEqual(
        absent.traces.map((t) => t.traceId),
        [span(2, 2, 0n).traceId],
      );
    });
  });

  it('reads every attribute of traces whose spans use different slot columns, written over several commits', async () => {
    await withStore(async (store) => {
      const a = span(3, 1, T0 + 10n, [{ key: 'a', value: 'x' }]);
      const b = { ...span(3, 2, T0 + 20n, [{ key: 'b', value: 1n }]), parentSpanId: a.spanId };
      const c = span(4, 3, T0 + 30n, [
        { key: 'c', value: 'y' },
        { key: 'a', value: 'z' },
      ]);
      await store.write(SpanBatch.from([a, c]));
      await store.flush();
      // A later commit adds a span that uses another slot column to trace 3.
      await store.write(SpanBatch.from([b]));
      await store.flush();
      const three = await store.getTrace(a.traceId);
      assert.equal(three?.length, 2);
      for (const s of [a, b]) assert.equal(spanDiff(three!.find((x) => x.spanId === s.spanId)!, s), undefined);
      const four = await store.getTrace(c.traceId);
      assert.equal(spanDiff(four![0]!, c), undefined);
    });
  });

  it('reads day files written before the parts kept read masks, and traces that continue in newer parts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-duckdb-nomask-'));
    const options = { dataDir: dir, flushIntervalMs: 5, memoryLimit: '256MiB' };
    try {
      const attrs = (i: number): KeyValue[] => [
        { key: `k${i % 5}`, value: `v${i}` },
        { key: `n${i % 3}`, value: BigInt(i) },
      ];
      const old = Array.from({ length: 40 }, (_, i) => span(100 + (i % 4), i + 1, T0 + BigInt(i) * 10n, attrs(i)));
      let store = await DuckDbStore.open(options);
      await store.write(SpanBatch.from(old));
      await store.close();
      // What an older version wrote: parts without the read_mask column.
      await alterDayFile(dir, ['ALTER TABLE parts DROP COLUMN read_mask']);

      store = await DuckDbStore.open(options);
      try {
        const check = async (spans: readonly Span[]) => {
          for (const t of new Set(spans.map((s) => s.traceId))) {
            const want = spans.filter((s) => s.traceId === t);
            const got = await store.getTrace(t);
            assert.equal(got?.length, want.length, `trace ${t}`);
            for (const s of want) assert.equal(spanDiff(got!.find((x) => x.spanId === s.spanId)!, s), undefined);
          }
        };
        await check(old);
        // Late spans of the same traces, with other keys (other slot columns), in parts that have a mask.
        const late = Array.from({ length: 8 }, (_, i) =>
          span(100 + (i % 4), 1000 + i, T0 + 500n + BigInt(i), [{ key: `late${i % 2}`, value: `w${i}` }]),
        );
        await store.write(SpanBatch.from(late));
        await store.flush();
        await check([...old, ...late]);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes writes into a day file that a newer version gave columns this one does not know', {
    timeout: 60_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-duckdb-newer-'));
    const options = { dataDir: dir, flushIntervalMs: 5, memoryLimit: '256MiB' };
    try {
      const first = Array.from({ length: 12 }, (_, i) =>
        span(200 + (i % 3), i + 1, T0 + BigInt(i) * 10n, [{ key: 'k', value: `v${i}` }]),
      );
      let store = await DuckDbStore.open(options);
      await store.write(SpanBatch.from(first));
      await store.close();
      // What a newer version might leave: an extra column in every table a commit writes to.
      await alterDayFile(
        dir,
        ['spans', 'parts', 'resources', 'scopes', 'shapes', 'operations', 'attr_values', 'meta'].map(
          (t) => `ALTER TABLE ${t} ADD COLUMN added_later VARCHAR`,
        ),
      );

      store = await DuckDbStore.open(options);
      try {
        // Late spans of the stored traces and a new trace, with a new key, a new service and a new operation.
        const later = [
          span(200, 100, T0 + 500n, [{ key: 'other', value: 'x' }]),
          { ...span(299, 101, T0 + 600n), name: 'another operation', resource: testResource('another-service') },
        ];
        // A write into a table with an unknown column used to fail its commit, which was retried for ever.
        await store.write(SpanBatch.from(later));
        await store.flush();
        const all = [...first, ...later];
        for (const t of new Set(all.map((s) => s.traceId))) {
          const want = all.filter((s) => s.traceId === t);
          const got = await store.getTrace(t);
          assert.equal(got?.length, want.length, `trace ${t}`);
          for (const s of want) assert.equal(spanDiff(got!.find((x) => x.spanId === s.spanId)!, s), undefined);
        }
        assert.ok((await store.services()).includes('another-service'));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rewrites a sealed day with 64 kB blocks and reads it back whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-duckdb-seal-'));
    const options = { dataDir: dir, flushIntervalMs: 5, memoryLimit: '256MiB' };
    try {
      const spans = Array.from({ length: 300 }, (_, i) =>
        span(500 + (i % 7), i + 1, T0 + BigInt(i) * 1000n, [{ key: `k${i % 4}`, value: `v${i}` }]),
      );
      let store = await DuckDbStore.open(options);
      await store.write(SpanBatch.from(spans));
      await store.checkpoint(); // T0 is a past day: sealed (sorted and rewritten) here
      await store.close();
      const file = join(dir, readdirSync(dir).find((f) => f.startsWith('spans-') && f.endsWith('.duckdb'))!);
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      await con.run(`ATTACH '${file}' AS day (READ_ONLY)`);
      const size = (
        await con.runAndReadAll("SELECT block_size FROM pragma_database_size() WHERE database_name = 'day'")
      ).getRows()[0]?.[0];
      con.closeSync();
      db.closeSync();
      assert.equal(Number(size), 65_536);
      store = await DuckDbStore.open(options);
      try {
        for (const t of new Set(spans.map((s) => s.traceId))) {
          const want = spans.filter((s) => s.traceId === t);
          const got = await store.getTrace(t);
          assert.equal(got?.length, want.length);
          for (const s of want) assert.equal(spanDiff(got!.find((x) => x.spanId === s.spanId)!, s), undefined);
        }
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('summarizes a page of traces and a list longer than the filter form takes alike', async () => {
    await withStore(async (store) => {
      const spans: Span[] = [];
      for (let t = 1; t <= 300; t++)
        for (let i = 0; i < 1 + (t % 3); i++) spans.push(span(t, t * 10 + i, T0 + BigInt(t)));
      await store.write(SpanBatch.from(spans));
      await store.flush();
      const ids = [...new Set(spans.map((s) => s.traceId))];
      const absent = span(999_999, 1, 0n).traceId;
      const all = await store.traceSummaries([...ids, absent]);
      assert.deepEqual(
        all.map((x) => [x.traceId, x.spanCount]),
        ids.map((id, i) => [id, 1 + ((i + 1) % 3)]),
      );
      const page = await store.traceSummaries([ids[7]!, absent, ids[3]!]);
      assert.deepEqual(page, [all[7], all[3]]);
    });
  });

  it('retention deletes whole day files and gives the disk back', async () => {
    await withStore(async (store, dir) => {
      const spans: Span[] = [];
      for (let d = 0; d < 3; d++)
        for (let i = 0; i < 2000; i++)
          spans.push(
            span(d * 10_000 + i + 1, i + 1, T0 + BigInt(d) * DAY + BigInt(i) * 1000n, [{ key: 'n', value: BigInt(i) }]),
          );
      await store.write(SpanBatch.from(spans));
      await store.checkpoint();
      const files = () =>
        readdirSync(dir)
          .filter((f) => f.endsWith('.duckdb'))
          .sort();
      const size = () => files().reduce((n, f) => n + statSync(join(dir, f)).size, 0);
      assert.equal(files().length, 3);
      // checkpoint() sealed the past days: each file was rewritten in place, nothing left over.
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith('.compact')),
        [],
      );
      const third = spans[4000]!;
      assert.equal(spanDiff((await store.getTrace(third.traceId))![0]!, third), undefined);
      const before = size();
      const r = await store.deleteBefore(T0 + 2n * DAY);
      assert.equal(r.deletedSpans, 4000);
      assert.equal(files().length, 1, 'the two old day files are gone');
      assert.ok(r.freedBytes > 0 && size() < before, `freed ${r.freedBytes} bytes; ${before} -> ${size()}`);
      assert.equal((await store.stats()).spans, 2000);
      assert.equal(await store.getTrace(spans[0]!.traceId), undefined);
    });
  });
});

describe('DuckDB store commits', () => {
  it('tries a failed commit again and resolves the write only once it is stored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-duckdb-retry-'));
    const loadDir = join(dir, 'load');
    const errors: unknown[] = [];
    await mkdir(loadDir);
    const store = await DuckDbStore.open({
      dataDir: join(dir, 'data'),
      loadDir,
      flushIntervalMs: 5,
      memoryLimit: '256MiB',
      onCommitError: (e) => errors.push(e),
    });
    try {
      // The load file cannot be written: the commit fails until the folder is back.
      await rm(loadDir, { recursive: true });
      const s = span(7, 1, T0 + 5n);
      let stored = false;
      const written = store.write(SpanBatch.from([s])).then(() => {
        stored = true;
      });
      for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(errors.length > 0, 'the failure was reported');
      assert.equal(stored, false, 'the write is not resolved while it is not stored');
      await mkdir(loadDir);
      await written;
      assert.equal((await store.getTrace(s.traceId))?.length, 1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('commits whole multiples of maxBufferedSpans and keeps the rest for the next row group', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-duckdb-rows-'));
    // Ten spans a write, a row group of 100 here; the rest waits for its deadline (a minute) or a flush.
    const store = await DuckDbStore.open({
      dataDir: dir,
      flushIntervalMs: 60_000,
      busyFlushIntervalMs: 60_000,
      maxBufferedSpans: 100,
      memoryLimit: '256MiB',
    });
    try {
      const stored: boolean[] = [];
      const writes: Promise<void>[] = [];
      for (let w = 0; w < 25; w++) {
        const spans = Array.from({ length: 10 }, (_, k) => span(100 + w, k + 1, T0 + BigInt(w * 10 + k)));
        stored.push(false);
        writes.push(
          store.write(SpanBatch.from(spans)).then(() => {
            stored[w] = true;
          }),
        );
      }
      await Promise.all(writes.slice(0, 20));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(
        stored.map((s, w) => (s ? w : -1)).filter((w) => w >= 0),
        Array.from({ length: 20 }, (_, w) => w),
        '250 spans buffered: one commit of the first 200, the 50 after wait',
      );
      assert.equal(await store.getTrace((120).toString(16).padStart(32, '0')), undefined);
      await store.flush();
      assert.ok(stored.every(Boolean), 'a flush commits the rest');
      assert.equal((await store.getTrace((124).toString(16).padStart(32, '0')))?.length, 10);
      assert.equal((await store.stats()).spans, 250);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resolves a write of no spans that carries a log position, without a flush', async () => {
    await withStore(async (store) => {
      await store.write(SpanBatch.from([span(300, 1, T0 + 1n)]), 1n);
      // A request whose spans were all dropped: the log waits for its write to resolve.
      const settled = await Promise.race([
        store.write(SpanBatch.from([]), 2n).then(() => 'resolved'),
        new Promise((r) => setTimeout(() => r('still pending after 2 s'), 2000)),
      ]);
      assert.equal(settled, 'resolved');
      assert.equal(await store.committedPosition(), 1n);
    });
  });
});
