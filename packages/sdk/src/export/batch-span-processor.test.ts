import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '../context/suppress.ts';
import type { ExportResult, FinishedSpan, SpanExporter } from '../trace/types.ts';
import { BatchSpanProcessor, resolveBatchSpanProcessorConfig } from './batch-span-processor.ts';
import { captureDiag } from './fixtures/harness.ts';
import { makeSpan, makeSpans } from './fixtures/spans.ts';
import { SimpleSpanProcessor } from './simple-span-processor.ts';

/** An exporter that records what it gets, and whether tracing was suppressed then. */
class RecordingExporter implements SpanExporter {
  readonly batches: FinishedSpan[][] = [];
  readonly suppressed: boolean[] = [];
  inFlight = 0;
  maxInFlight = 0;
  shutdowns = 0;
  result: ExportResult = { code: 'success' };
  /** While set, exports wait for it. */
  gate: Promise<void> | undefined = undefined;
  #waiters: { n: number; resolve: () => void }[] = [];

  async export(spans: readonly FinishedSpan[]): Promise<ExportResult> {
    this.suppressed.push(isTracingSuppressed(context.active()));
    this.batches.push([...spans]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const ready = this.#waiters.filter((w) => this.batches.length >= w.n);
    this.#waiters = this.#waiters.filter((w) => this.batches.length < w.n);
    for (const w of ready) w.resolve();
    await new Promise((r) => setImmediate(r));
    if (this.gate !== undefined) await this.gate;
    this.inFlight--;
    return this.result;
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }

  /** Resolves once `n` batches have been handed over. */
  waitForBatches(n: number): Promise<void> {
    if (this.batches.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  get sizes(): number[] {
    return this.batches.map((b) => b.length);
  }
}

// The processor's timers are unref'd; a ref'd interval keeps the test process
// alive while a test awaits an export that a timer starts.
let keepAlive: ReturnType<typeof setInterval>;
const contextManager = new AsyncLocalStorageContextManager();
before(() => {
  keepAlive = setInterval(() => {}, 1000);
  context.setGlobalContextManager(contextManager.enable());
});
after(() => {
  clearInterval(keepAlive);
  context.disable();
});

describe('BatchSpanProcessor', () => {
  const processors: BatchSpanProcessor[] = [];
  const make = (exporter: SpanExporter, options: ConstructorParameters<typeof BatchSpanProcessor>[1] = {}) => {
    const p = new BatchSpanProcessor(exporter, { env: {}, flushOnExit: false, ...options });
    processors.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((p) => p.shutdown()));
  });

  it('exports as soon as a batch is full, without waiting for the delay', async () => {
    const exporter = new RecordingExporter();
    const p = make(exporter, { maxExportBatchSize: 4, scheduledDelayMillis: 3_600_000 });
    for (const s of makeSpans(4)) p.onEnd(s);
    assert.equal(exporter.batches.length, 0, 'onEnd itself does not export');
    await exporter.waitForBatches(1);
    assert.deepEqual(exporter.sizes, [4]);
    assert.equal(p.queuedSpans, 0);
  });

  it('keeps up with a burst of full batches a turn of the event loop apart, dropping none', async () => {
    // A full batch goes out on the next turn of the loop; a 0 ms timer (at least 1 ms in Node)
    // would let these forty batches, made well within a millisecond, overflow the queue.
    const exporter = new RecordingExporter();
    const p = make(exporter, { maxExportBatchSize: 64, maxQueueSize: 256, scheduledDelayMillis: 3_600_000 });
    const spans = makeSpans(64);
    for (let round = 0; round < 40; round++) {
      for (const s of spans) p.onEnd(s);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(p.droppedSpans, 0);
    await p.forceFlush();
    assert.equal(exporter.batches.flat().length, 40 * 64);
    assert.ok(exporter.sizes.every((n) => n <= 64));
  });

  it('exports a partial batch when the schedule delay passes', async () => {
    const exporter = new RecordingExporter();
    const p = make(exporter, { maxExportBatchSize: 100, scheduledDelayMillis: 10 });
    p.onEnd(makeSpan(0));
    p.onEnd(makeSpan(1));
    await exporter.waitForBatches(1);
    assert.deepEqual(exporter.sizes, [2]);
  });

  it('queues only sampled spans', async () => {
    const exporter = new RecordingExporter();
    const p = make(exporter);
    p.onEnd(makeSpan(0, { flags: 0 }));
    p.onEnd(makeSpan(1, { flags: 0x100 }));
    p.onEnd(makeSpan(2, { flags: 0x101 }));
    assert.equal(p.queuedSpans, 1);
    await p.forceFlush();
    assert.deepEqual(
      exporter.batches.flat().map((s) => s.spanId),
      [makeSpan(2).spanId],
    );
  });

  it('drops spans past maxQueueSize, counts them and logs once', async () => {
    const logged = captureDiag();
    try {
      const exporter = new RecordingExporter();
      const p = make(exporter, { maxQueueSize: 5, maxExportBatchSize: 5 });
      for (const s of makeSpans(12)) p.onEnd(s);
      assert.equal(p.droppedSpans, 7);
      assert.equal(p.queuedSpans, 5);
      const drops = logged.messages.filter((m) => m.includes('queue is full'));
      assert.equal(drops.length, 1);
      await p.forceFlush();
      assert.deepEqual(exporter.sizes, [5]);
    } finally {
      logged.restore();
    }
  });

  it('forceFlush exports everything queued, one export at a time', async () => {
    const exporter = new RecordingExporter();
    const p = make(exporter, { maxExportBatchSize: 3, maxQueueSize: 100, scheduledDelayMillis: 3_600_000 });
    for (const s of makeSpans(7)) p.onEnd(s);
    await p.forceFlush();
    assert.deepEqual(exporter.sizes, [3, 3, 1]);
    assert.equal(exporter.maxInFlight, 1);
    assert.equal(p.queuedSpans, 0);
    assert.deepEqual(
      exporter.batches.flat().map((s) => s.spanId),
      makeSpans(7).map((s) => s.spanId),
    );
  });

  it('keeps one export in flight while spans keep arriving', async () => {
    const exporter = new RecordingExporter();
    let open = () => {};
    exporter.gate = new Promise<void>((r) => {
      open = r;
    });
    const p = make(exporter, { maxExportBatchSize: 2, maxQueueSize: 100 });
    for (const s of makeSpans(2)) p.onEnd(s);
    await exporter.waitForBatches(1);
    for (const s of makeSpans(6)) p.onEnd(s);
    // The first export is held open: nothing else may start.
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(exporter.batches.length, 1);
    exporter.gate = undefined;
    open();
    await p.forceFlush();
    assert.deepEqual(exporter.sizes, [2, 2, 2, 2]);
    assert.equal(exporter.maxInFlight, 1);
  });

  it('runs the export with tracing suppressed', async () => {
    const exporter = new RecordingExporter();
    const p = make(exporter);
    assert.equal(isTracingSuppressed(context.active()), false);
    p.onEnd(makeSpan(0));
    await p.forceFlush();
    assert.deepEqual(exporter.suppressed, [true]);
  });

  it('shutdown flushes, shuts the exporter down once, and ignores later spans', async () => {
    const exporter = new RecordingExporter();
    const p = make(exporter);
    for (const s of makeSpans(3)) p.onEnd(s);
    await Promise.all([p.shutdown(), p.shutdown()]);
    assert.deepEqual(exporter.sizes, [3]);
    assert.equal(exporter.shutdowns, 1);
    p.onEnd(makeSpan(9));
    assert.equal(p.queuedSpans, 0);
    await p.forceFlush();
    assert.deepEqual(exporter.sizes, [3]);
  });

  it('counts spans of failed exports and an exporter that never answers', async () => {
    const logged = captureDiag();
    try {
      const failing = new RecordingExporter();
      failing.result = { code: 'failure', error: new Error('HTTP 400') };
      const p = make(failing);
      for (const s of makeSpans(2)) p.onEnd(s);
      await p.forceFlush();
      assert.equal(p.failedSpans, 2);

      const stuck = new RecordingExporter();
      stuck.gate = new Promise(() => {});
      const q = make(stuck, { exportTimeoutMillis: 20 });
      for (const s of makeSpans(3)) q.onEnd(s);
      await q.forceFlush();
      assert.equal(q.failedSpans, 3);
      assert.ok(logged.messages.some((m) => m.includes('timed out after 20 ms')));
    } finally {
      logged.restore();
    }
  });

  it('exports what is queued when the process runs out of work (beforeExit)', async () => {
    const script = fileURLToPath(new URL('./fixtures/exit-flush.ts', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', script], { timeout: 60_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    assert.deepEqual(out.trim().split('\n'), ['queued 3', 'exported 3']);
  });
});

describe('BatchSpanProcessor configuration', () => {
  it('reads OTEL_BSP_* variables; options win; batch size is capped by the queue size', () => {
    const fromEnv = resolveBatchSpanProcessorConfig({
      env: {
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
        OTEL_BSP_SCHEDULE_DELAY: '250',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
      },
    });
    assert.deepEqual(
      { ...fromEnv },
      {
        maxQueueSize: 100,
        maxExportBatchSize: 50,
        scheduledDelayMillis: 250,
        exportTimeoutMillis: 1000,
        flushOnExit: true,
      },
    );
    const logged = captureDiag();
    try {
      const mixed = resolveBatchSpanProcessorConfig({
        maxQueueSize: 10,
        env: { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50', OTEL_BSP_SCHEDULE_DELAY: 'often' },
      });
      assert.equal(mixed.maxQueueSize, 10);
      assert.equal(mixed.maxExportBatchSize, 10);
      assert.equal(mixed.scheduledDelayMillis, 5000);
      assert.equal(logged.messages.length, 2);
    } finally {
      logged.restore();
    }
    assert.deepEqual(
      { ...resolveBatchSpanProcessorConfig({ env: {} }) },
      {
        maxQueueSize: 2048,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 5000,
        exportTimeoutMillis: 30000,
        flushOnExit: true,
      },
    );
  });
});

describe('SimpleSpanProcessor', () => {
  it('exports each sampled span on end, with tracing suppressed', async () => {
    const exporter = new RecordingExporter();
    const p = new SimpleSpanProcessor(exporter);
    p.onEnd(makeSpan(0));
    p.onEnd(makeSpan(1, { flags: 0 }));
    p.onEnd(makeSpan(2));
    assert.deepEqual(exporter.sizes, [1, 1]);
    await p.forceFlush();
    assert.equal(exporter.inFlight, 0);
    assert.deepEqual(exporter.suppressed, [true, true]);
    await p.shutdown();
    assert.equal(exporter.shutdowns, 1);
    p.onEnd(makeSpan(3));
    assert.equal(exporter.batches.length, 2);
  });
});
