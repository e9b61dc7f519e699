import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Span, SpanBatch } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { encodeOtlpTraces } from '@traceloom/wire';
import { type IngestMeta, SinkFullError } from '../receivers/sink.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { DurableSink } from './durable-sink.ts';
import { WriteAheadLog } from './wal.ts';

const resource = testResource('svc');

function spans(trace: number, n: number): Span[] {
  return Array.from({ length: n }, (_, i) =>
    testSpan({
      traceId: trace.toString(16).padStart(32, '0'),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      startTimeUnixNano: 1_000_000_000n + BigInt(i),
      endTimeUnixNano: 1_000_000_500n + BigInt(i),
      resource,
    }),
  );
}

function request(s: Span[]): [SpanBatch, IngestMeta] {
  const body = encodeOtlpTraces(s);
  return [SpanBatch.from(s), { protocol: 'otlp-http', bodyBytes: body.length, body, format: 'otlp-proto' }];
}

/** A store whose writes wait until `open()` is called, to hold spans "not yet committed". */
class GatedStore extends MemoryStore {
  #gate: Promise<void>;
  open!: () => void;
  constructor() {
    super();
    this.#gate = new Promise((r) => {
      this.open = r;
    });
  }
  override async write(batch: SpanBatch, position?: bigint): Promise<void> {
    await this.#gate;
    return super.write(batch, position);
  }
}

describe('DurableSink', () => {
  it('logs before acknowledging, stores, releases the log, and replays what storage never got', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-sink-'));
    try {
      // First life: the store never commits (the process "dies" before it does).
      const wal1 = await WriteAheadLog.open({ dir, fsync: false });
      const stuck = new GatedStore();
      const sink1 = await DurableSink.open(wal1, stuck);
      await sink1.write(...request(spans(1, 3)));
      await sink1.write(...request(spans(2, 2)));
      assert.equal(wal1.lastLsn, 2n, 'both requests are in the log once acknowledged');
      assert.equal(wal1.releasedLsn, 0n, 'nothing is released before storage commits');
      assert.equal(sink1.stats.pendingSpans, 5);
      await wal1.close();

      // Second life: replay puts both requests into the new store, then releases them.
      const wal2 = await WriteAheadLog.open({ dir, fsync: false });
      const store = new MemoryStore();
      const sink2 = await DurableSink.open(wal2, store);
      assert.equal(sink2.stats.replayedRecords, 2);
      assert.equal(sink2.stats.replayedSpans, 5);
      assert.equal((await store.getTrace((1).toString(16).padStart(32, '0')))?.length, 3);
      assert.equal((await store.getTrace((2).toString(16).padStart(32, '0')))?.length, 2);
      assert.equal(wal2.releasedLsn, 2n);

      // New writes reach the store and release the log as they commit.
      await sink2.write(...request(spans(3, 1)));
      await store.flush();
      for (let i = 0; i < 50 && wal2.releasedLsn < 3n; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(wal2.releasedLsn, 3n);
      await sink2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets a request wait out a short stall of storage instead of refusing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-sink-'));
    try {
      const wal = await WriteAheadLog.open({ dir, fsync: false });
      const store = new GatedStore();
      const sink = await DurableSink.open(wal, store, { maxPendingSpans: 4, maxWaitMs: 5000 });
      await sink.write(...request(spans(1, 3)));
      let done = false;
      const waiting = sink.write(...request(spans(2, 2))).then(() => {
        done = true;
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(done, false, 'the second request waits while the store holds the first');
      assert.equal(wal.lastLsn, 1n, 'and is not logged yet');
      store.open();
      await waiting;
      assert.equal(wal.lastLsn, 2n);
      assert.equal(sink.stats.refused, 0);
      await sink.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a request that waited maxWaitMs, and one beyond maxWaiting at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-sink-'));
    try {
      const wal = await WriteAheadLog.open({ dir, fsync: false });
      const store = new GatedStore();
      const sink = await DurableSink.open(wal, store, { maxPendingSpans: 4, maxWaitMs: 100, maxWaiting: 1 });
      await sink.write(...request(spans(1, 3)));
      let waitedSettled = false;
      const waited = sink.write(...request(spans(2, 2)));
      void waited
        .catch(() => undefined)
        .finally(() => {
          waitedSettled = true;
        });
      await assert.rejects(sink.write(...request(spans(3, 2))), (e: unknown) => e instanceof SinkFullError);
      assert.equal(waitedSettled, false, 'the request beyond maxWaiting is refused while the first still waits');
      // The store stays closed, so only the end of maxWaitMs can settle the waiting request.
      await assert.rejects(waited, (e: unknown) => e instanceof SinkFullError);
      assert.equal(sink.stats.refused, 2);
      assert.equal(wal.lastLsn, 1n);
      store.open();
      await sink.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses with SinkFullError (429) while storage is behind, and takes writes again once it catches up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-sink-'));
    try {
      const wal = await WriteAheadLog.open({ dir, fsync: false });
      const store = new GatedStore();
      const sink = await DurableSink.open(wal, store, { maxPendingSpans: 4, maxWaitMs: 0 });
      await sink.write(...request(spans(1, 3)));
      await assert.rejects(sink.write(...request(spans(2, 2))), (e: unknown) => e instanceof SinkFullError);
      assert.equal(wal.lastLsn, 1n, 'a refused request is not logged');
      assert.equal(sink.stats.refused, 1);
      store.open();
      for (let i = 0; i < 100 && sink.stats.pendingSpans > 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(sink.stats.pendingSpans, 0);
      await sink.write(...request(spans(2, 2)));
      await sink.close();
      assert.equal(wal.releasedLsn, 2n, 'close commits and releases everything');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('turns a full log into SinkFullError with the log’s retry delay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-sink-'));
    try {
      const wal = await WriteAheadLog.open({ dir, fsync: false, maxUnreleasedBytes: 64 * 1024 });
      const store = new GatedStore();
      const sink = await DurableSink.open(wal, store);
      let refused: unknown;
      for (let t = 1; t < 200 && refused === undefined; t++) {
        await sink.write(...request(spans(t, 20))).catch((e: unknown) => {
          refused = e;
        });
      }
      assert.ok(refused instanceof SinkFullError, `expected SinkFullError, got ${String(refused)}`);
      store.open();
      await sink.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
