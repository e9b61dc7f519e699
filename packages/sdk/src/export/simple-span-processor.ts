/**
 * A processor that exports each sampled span as it ends, one call per span.
 * For tests and debugging (a console or in-memory exporter); production code
 * wants the {@link BatchSpanProcessor} of `batch-span-processor.ts`.
 */
import { type Context, context, diag, type Span as OtelSpan } from '@opentelemetry/api';
import { suppressTracing } from '../context/suppress.ts';
import type { ExportResult, FinishedSpan, SpanExporter, SpanProcessor } from '../trace/types.ts';

const SAMPLED = 0x01;

/**
 * Exports every sampled span on end, with tracing suppressed.
 *
 * @example
 * const exporter = new InMemoryExporter();
 * const processor = new SimpleSpanProcessor(exporter);
 */
export class SimpleSpanProcessor implements SpanProcessor {
  readonly #exporter: SpanExporter;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  #shutdownPromise: Promise<void> | undefined = undefined;

  constructor(exporter: SpanExporter) {
    this.#exporter = exporter;
  }

  onStart(_span: OtelSpan, _parentContext: Context): void {}

  onEnd(span: FinishedSpan): void {
    if (this.#closed || (span.flags & SAMPLED) === 0) return;
    let exported: Promise<ExportResult>;
    try {
      exported = context.with(suppressTracing(context.active()), () => this.#exporter.export([span]));
    } catch (e) {
      report(e);
      return;
    }
    const p = exported.then((r) => {
      if (r.code !== 'success') diag.warn(`SimpleSpanProcessor: export failed (${r.code}): ${r.error.message}`);
    }, report);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Waits for every export started so far. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.#pending);
    await this.#exporter.forceFlush?.();
  }

  /** Stops exporting, waits for pending exports, then shuts the exporter down. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdownPromise ??= (async () => {
      this.#closed = true;
      await this.forceFlush();
      await this.#exporter.shutdown();
    })();
    return this.#shutdownPromise;
  }
}

function report(e: unknown): void {
  diag.error(`SimpleSpanProcessor: the exporter threw: ${e instanceof Error ? e.message : String(e)}`);
}
