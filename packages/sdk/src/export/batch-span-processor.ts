/**
 * The batch span processor (OpenTelemetry specification, "Batching
 * processor"): finished sampled spans wait in a bounded queue and go to the
 * exporter in batches, when a batch is full or when the schedule delay
 * passes, one export at a time, with tracing suppressed.
 *
 * Process exit: the timers are unref'd, so they never keep a process alive;
 * instead a `beforeExit` listener exports what is still queued when the event
 * loop runs dry. `beforeExit` is not emitted on `process.exit()` or on a
 * signal. Whether SIGTERM should flush is the application's decision (a
 * SIGTERM listener replaces Node's default of exiting), so this processor does
 * not install one: call `shutdown()` (or the provider's) from your own handler.
 */
import { type Context, context, diag, type Span as OtelSpan } from '@opentelemetry/api';
import { suppressTracing } from '../context/suppress.ts';
import type { ExportResult, FinishedSpan, SpanExporter, SpanProcessor } from '../trace/types.ts';
import type { Env } from './otlp-config.ts';

/** Options of {@link BatchSpanProcessor}. Each overrides its `OTEL_BSP_*` variable. */
export interface BatchSpanProcessorOptions {
  /** Spans that may wait; more are dropped and counted. @default OTEL_BSP_MAX_QUEUE_SIZE, else 2048 */
  maxQueueSize?: number;
  /** Spans per export; at most `maxQueueSize`. @default OTEL_BSP_MAX_EXPORT_BATCH_SIZE, else 512 */
  maxExportBatchSize?: number;
  /** Longest a span waits for a batch to fill, in ms. @default OTEL_BSP_SCHEDULE_DELAY, else 5000 */
  scheduledDelayMillis?: number;
  /** Time one export may take before it counts as failed, in ms. @default OTEL_BSP_EXPORT_TIMEOUT, else 30000 */
  exportTimeoutMillis?: number;
  /** Export what is queued on `beforeExit`. @default true */
  flushOnExit?: boolean;
  /** Where `OTEL_BSP_*` variables are read from. @default process.env */
  env?: Env;
}

/** The settings after options, environment and defaults are merged. */
export interface ResolvedBatchSpanProcessorConfig {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  readonly exportTimeoutMillis: number;
  readonly flushOnExit: boolean;
}

/** The defaults of the specification, in one place. */
export const BATCH_SPAN_PROCESSOR_DEFAULTS: Readonly<ResolvedBatchSpanProcessorConfig> = Object.freeze({
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 30_000,
  flushOnExit: true,
});

/**
 * Merges options, `OTEL_BSP_*` variables and defaults; invalid values are
 * reported through `diag` and ignored. Never throws.
 */
export function resolveBatchSpanProcessorConfig(
  options: BatchSpanProcessorOptions = {},
): Readonly<ResolvedBatchSpanProcessorConfig> {
  const env = options.env ?? process.env;
  const d = BATCH_SPAN_PROCESSOR_DEFAULTS;
  const pick = (name: string, option: number | undefined, variable: string, fallback: number, integer: boolean) => {
    const ok = (n: number) => Number.isFinite(n) && (integer ? Number.isInteger(n) && n > 0 : n >= 0);
    if (option !== undefined) {
      if (ok(option)) return option;
      diag.warn(`BatchSpanProcessor: ${name} ${option} is not valid; ignored`);
    }
    const raw = env[variable]?.trim();
    if (raw) {
      const n = Number(raw);
      if (ok(n)) return n;
      diag.warn(`BatchSpanProcessor: ${variable}='${raw}' is not valid; ignored`);
    }
    return fallback;
  };
  const maxQueueSize = pick('maxQueueSize', options.maxQueueSize, 'OTEL_BSP_MAX_QUEUE_SIZE', d.maxQueueSize, true);
  let maxExportBatchSize = pick(
    'maxExportBatchSize',
    options.maxExportBatchSize,
    'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
    d.maxExportBatchSize,
    true,
  );
  if (maxExportBatchSize > maxQueueSize) {
    // The specification: maxExportBatchSize must be less than or equal to maxQueueSize.
    diag.warn(
      `BatchSpanProcessor: maxExportBatchSize ${maxExportBatchSize} > maxQueueSize ${maxQueueSize}; using ${maxQueueSize}`,
    );
    maxExportBatchSize = maxQueueSize;
  }
  return Object.freeze({
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis: pick(
      'scheduledDelayMillis',
      options.scheduledDelayMillis,
      'OTEL_BSP_SCHEDULE_DELAY',
      d.scheduledDelayMillis,
      false,
    ),
    exportTimeoutMillis: pick(
      'exportTimeoutMillis',
      options.exportTimeoutMillis,
      'OTEL_BSP_EXPORT_TIMEOUT',
      d.exportTimeoutMillis,
      false,
    ),
    flushOnExit: options.flushOnExit ?? d.flushOnExit,
  });
}

// One `beforeExit` listener for every live processor, rather than one each
// (which would trip Node's MaxListenersExceededWarning in tests).
const exitFlushers = new Set<BatchSpanProcessor>();
const onBeforeExit = () => {
  for (const p of exitFlushers) void p.forceFlush();
};

function watchExit(p: BatchSpanProcessor): void {
  if (exitFlushers.size === 0) process.on('beforeExit', onBeforeExit);
  exitFlushers.add(p);
}

function unwatchExit(p: BatchSpanProcessor): void {
  if (exitFlushers.delete(p) && exitFlushers.size === 0) process.off('beforeExit', onBeforeExit);
}

const SAMPLED = 0x01;

/**
 * Batches finished sampled spans for an exporter. `onEnd` only pushes into an
 * array; encoding and sending happen later, off the caller's stack.
 *
 * @example
 * const processor = new BatchSpanProcessor(new OtlpHttpExporter());
 * // on shutdown:
 * await processor.shutdown();
 */
export class BatchSpanProcessor implements SpanProcessor {
  /** The settings in force. */
  readonly config: Readonly<ResolvedBatchSpanProcessorConfig>;
  readonly #exporter: SpanExporter;
  readonly #maxQueueSize: number;
  readonly #maxBatch: number;
  #queue: FinishedSpan[] = [];
  /** The schedule-delay timer, armed while spans wait for a batch to fill. */
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /**
   * The export of a full batch, due on the next turn of the event loop: a
   * `setImmediate`, not a 0 ms timer, which Node runs no sooner than 1 ms
   * later; at that pace a burst of spans would fill the queue and be dropped
   * while the batches that could go out wait.
   */
  #urgent: ReturnType<typeof setImmediate> | undefined = undefined;
  #inFlight: Promise<void> | undefined = undefined;
  #dropped = 0;
  #failed = 0;
  #closed = false;
  #shutdownPromise: Promise<void> | undefined = undefined;
  readonly #onTimer: () => void;
  readonly #onUrgent: () => void;

  constructor(exporter: SpanExporter, options: BatchSpanProcessorOptions = {}) {
    this.config = resolveBatchSpanProcessorConfig(options);
    this.#exporter = exporter;
    this.#maxQueueSize = this.config.maxQueueSize;
    this.#maxBatch = this.config.maxExportBatchSize;
    this.#onTimer = () => {
      this.#timer = undefined;
      void this.#exportNext();
    };
    this.#onUrgent = () => {
      this.#urgent = undefined;
      void this.#exportNext();
    };
    if (this.config.flushOnExit) watchExit(this);
  }

  /** Spans dropped because the queue was full, since the start. */
  get droppedSpans(): number {
    return this.#dropped;
  }

  /** Spans in batches whose export failed (after the exporter's own retries). */
  get failedSpans(): number {
    return this.#failed;
  }

  /** Spans waiting to be exported. */
  get queuedSpans(): number {
    return this.#queue.length;
  }

  onStart(_span: OtelSpan, _parentContext: Context): void {}

  onEnd(span: FinishedSpan): void {
    if (this.#closed || (span.flags & SAMPLED) === 0) return;
    const q = this.#queue;
    if (q.length >= this.#maxQueueSize) {
      if (this.#dropped++ === 0) {
        diag.warn(
          `BatchSpanProcessor: the queue is full (maxQueueSize ${this.#maxQueueSize}); dropping spans. ` +
            'Further drops are counted in droppedSpans and not logged again.',
        );
      }
      return;
    }
    q.push(span);
    if (q.length >= this.#maxBatch) {
      if (this.#urgent === undefined) this.#scheduleUrgent();
    } else if (this.#timer === undefined) {
      this.#scheduleDelayed();
    }
  }

  /** Exports everything queued now, waiting for an export in flight first. */
  async forceFlush(): Promise<void> {
    while (this.#inFlight !== undefined || this.#queue.length > 0) await this.#exportNext();
    await this.#exporter.forceFlush?.();
  }

  /** Stops taking spans, exports what is queued, then shuts the exporter down. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdownPromise ??= this.#shutdown();
    return this.#shutdownPromise;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    unwatchExit(this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#urgent !== undefined) clearImmediate(this.#urgent);
    this.#urgent = undefined;
    try {
      await this.forceFlush();
    } finally {
      if (this.#dropped > 0) diag.warn(`BatchSpanProcessor: ${this.#dropped} spans were dropped in all (queue full)`);
      await this.#exporter.shutdown();
    }
  }

  /** Arms the schedule-delay timer unless it is armed. */
  #scheduleDelayed(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const t = setTimeout(this.#onTimer, this.config.scheduledDelayMillis);
    t.unref();
    this.#timer = t;
  }

  /** Exports the next batch on the next turn of the event loop (see {@link #urgent}). */
  #scheduleUrgent(): void {
    if (this.#closed || this.#urgent !== undefined) return;
    const t = setImmediate(this.#onUrgent);
    t.unref();
    this.#urgent = t;
  }

  /** Starts exporting the next batch, or returns the export in flight. */
  #exportNext(): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const q = this.#queue;
    if (q.length === 0) return Promise.resolve();
    let batch: FinishedSpan[];
    if (q.length <= this.#maxBatch) {
      batch = q;
      this.#queue = [];
    } else {
      batch = q.splice(0, this.#maxBatch);
    }
    const p = this.#exportBatch(batch).then(() => {
      this.#inFlight = undefined;
      const left = this.#queue.length;
      if (left >= this.#maxBatch) this.#scheduleUrgent();
      else if (left > 0) this.#scheduleDelayed();
    });
    this.#inFlight = p;
    return p;
  }

  async #exportBatch(batch: FinishedSpan[]): Promise<void> {
    const result = await new Promise<ExportResult>((resolve) => {
      // An exporter that never settles must not stall the queue for ever: past
      // the timeout its batch counts as failed and the next export may start
      // (the one exception to "one export in flight").
      const timer = setTimeout(() => {
        resolve({
          code: 'failure',
          error: new Error(`export timed out after ${this.config.exportTimeoutMillis} ms`),
        });
      }, this.config.exportTimeoutMillis);
      timer.unref();
      const done = (r: ExportResult) => {
        clearTimeout(timer);
        resolve(r);
      };
      try {
        // The exporter's own I/O must not produce spans (which would feed
        // back into this queue), so it runs with tracing suppressed.
        context
          .with(suppressTracing(context.active()), () => this.#exporter.export(batch))
          .then(done, (e: unknown) => done({ code: 'failure', error: e instanceof Error ? e : new Error(String(e)) }));
      } catch (e) {
        done({ code: 'failure', error: e instanceof Error ? e : new Error(String(e)) });
      }
    });
    if (result.code !== 'success') {
      this.#failed += batch.length;
      diag.warn(`BatchSpanProcessor: export of ${batch.length} spans failed (${result.code}): ${result.error.message}`);
    }
  }
}
