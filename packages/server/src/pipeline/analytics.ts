/**
 * The analytics stage of the pipeline: span metrics and the service graph,
 * computed from every accepted batch before any sampling, and persisted
 * through the store's metrics interface.
 *
 * **Exactly once across crashes.** The stage sees each batch with its
 * write-ahead-log position, in log order, right after the log made it
 * durable (and again on replay). Every few seconds it flushes what it
 * accumulated with {@link TraceStore.writeMetrics}, recording the highest
 * position included in the same transaction. The log is released only up to
 * the lower of the store's and this stage's committed positions, so after a
 * crash the log still holds every record whose metrics were not committed;
 * on replay the stage skips records at or below its committed position (their
 * metrics are stored) and counts the others. Spans are therefore counted once,
 * and none that was acknowledged is lost. The one approximation: service-graph
 * halves waiting for their partner when the process dies are not restored
 * (a request whose two spans straddle a crash counts as unpaired or as a
 * virtual-node request); a clean shutdown expires every waiting half first.
 */

import type { SpanBatch } from '@traceloom/model';
import type { Logger } from '../receivers/logger.ts';
import {
  addEdgeMetricPoints,
  addSpanMetricPoints,
  type EdgeMetricPoint,
  edgeMetricKey,
  type SpanMetricPoint,
  spanMetricKey,
  type TraceStore,
} from '../storage/types.ts';
import type { PipelineStage } from '../wal/durable-sink.ts';
import { ServiceGraphBuilder, type ServiceGraphStats } from './service-graph.ts';
import { batchTimes, SpanMetricsAggregator } from './span-metrics.ts';

/** Options of {@link AnalyticsStage}. */
export interface AnalyticsOptions {
  /** How often accumulated metrics are written to the store. @default 5000 */
  readonly flushIntervalMs?: number;
  /** Distinct operations kept per service; more go to `__overflow__`. @default 1000 */
  readonly maxOperationsPerService?: number;
  /** How long a service-graph half waits for its partner. @default 10000 */
  readonly graphWaitMs?: number;
  /** Most service-graph halves waiting at once. @default 200000 */
  readonly graphMaxPending?: number;
  /** The wall clock (ms) that graph halves wait by. @default Date.now */
  readonly clock?: () => number;
  readonly logger?: Logger;
}

/** Cumulative series since start, for `/metrics`. */
export interface CumulativeMetrics {
  readonly spans: ReadonlyMap<string, SpanMetricPoint>;
  readonly edges: ReadonlyMap<string, EdgeMetricPoint>;
}

/** Figures of the stage, for `/metrics` and logs. */
export interface AnalyticsStats {
  /** Spans counted since start (replayed ones included). */
  readonly spans: number;
  /** Spans of replayed records skipped because their metrics were already stored. */
  readonly skippedReplayedSpans: number;
  /** Spans counted under `__overflow__`, per service. */
  readonly overflow: ReadonlyMap<string, number>;
  readonly graph: ServiceGraphStats;
  /** Highest log position whose metrics are committed. */
  readonly persistedPosition: bigint;
  /** Highest log position seen. */
  readonly acceptedPosition: bigint;
  readonly flushes: number;
  readonly failedFlushes: number;
}

/**
 * Span metrics and service graph in front of a store.
 *
 * @example
 * const analytics = await AnalyticsStage.open(store);
 * const sink = await DurableSink.open(wal, store, { stage: analytics });
 */
export class AnalyticsStage implements PipelineStage {
  readonly #store: TraceStore;
  readonly #metrics: SpanMetricsAggregator;
  readonly #graph: ServiceGraphBuilder;
  readonly #clock: () => number;
  readonly #logger: Logger | undefined;
  readonly #listeners: (() => void)[] = [];
  readonly #cumSpans = new Map<string, SpanMetricPoint>();
  readonly #cumEdges = new Map<string, EdgeMetricPoint>();
  #persisted: bigint;
  #accepted: bigint;
  #skipped = 0;
  #flushes = 0;
  #failed = 0;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** What a failed flush could not write: written with the next flush (the store rolled it back). */
  #unwritten: { spans: SpanMetricPoint[]; edges: EdgeMetricPoint[] } = { spans: [], edges: [] };

  private constructor(store: TraceStore, position: bigint, options: AnalyticsOptions) {
    this.#store = store;
    this.#metrics = new SpanMetricsAggregator(
      options.maxOperationsPerService === undefined ? {} : { maxOperationsPerService: options.maxOperationsPerService },
    );
    this.#graph = new ServiceGraphBuilder({
      ...(options.graphWaitMs === undefined ? {} : { waitMs: options.graphWaitMs }),
      ...(options.graphMaxPending === undefined ? {} : { maxPending: options.graphMaxPending }),
    });
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
    this.#persisted = position;
    this.#accepted = position;
  }

  /** Reads the store's committed metrics position and starts the flush timer. */
  static async open(store: TraceStore, options: AnalyticsOptions = {}): Promise<AnalyticsStage> {
    const stage = new AnalyticsStage(store, await store.metricsPosition(), options);
    const every = options.flushIntervalMs ?? 5000;
    if (every > 0) {
      stage.#timer = setInterval(() => {
        stage.flush().catch(() => undefined);
      }, every);
      stage.#timer.unref();
    }
    return stage;
  }

  get persistedPosition(): bigint {
    return this.#persisted;
  }

  onPersisted(listener: () => void): void {
    this.#listeners.push(listener);
  }

  accept(batch: SpanBatch, position?: bigint): void {
    if (this.#closed) return;
    if (position !== undefined) {
      if (position <= this.#persisted) {
        this.#skipped += batch.length;
        return;
      }
      if (position > this.#accepted) this.#accepted = position;
    }
    const times = batchTimes(batch);
    this.#metrics.add(batch, times);
    this.#graph.add(batch, this.#clock(), times);
  }

  /** Writes what accumulated to the store (with the highest position seen). */
  flush(): Promise<void> {
    const run = this.#chain.then(() => this.#flushNow());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #flushNow(): Promise<void> {
    this.#graph.expire(this.#clock());
    const spans = this.#metrics.drain();
    const edges = this.#graph.drain();
    if (this.#unwritten.spans.length > 0 || this.#unwritten.edges.length > 0) {
      spans.unshift(...this.#unwritten.spans);
      edges.unshift(...this.#unwritten.edges);
      this.#unwritten = { spans: [], edges: [] };
    }
    const position = this.#accepted;
    if (spans.length === 0 && edges.length === 0 && position <= this.#persisted) return;
    try {
      // Without new records since the last flush (only expired graph halves, from records whose
      // position is committed already), the write carries no position: the store would skip it as
      // a replay. Those halves are never restored by a replay, so nothing is counted twice.
      await this.#store.writeMetrics({ spans, edges }, position > this.#persisted ? position : undefined);
    } catch (e) {
      this.#failed++;
      // Kept for the next flush, and the log is not released past #persisted meanwhile, so a
      // crash before then replays these spans.
      this.#unwritten = { spans, edges };
      this.#logger?.error('writing span metrics failed; trying again at the next flush', e);
      throw e;
    }
    this.#flushes++;
    for (const p of spans) {
      const k = spanMetricKey(p);
      const cur = this.#cumSpans.get(k);
      this.#cumSpans.set(k, cur === undefined ? p : addSpanMetricPoints(cur, p));
    }
    for (const p of edges) {
      const k = edgeMetricKey(p);
      const cur = this.#cumEdges.get(k);
      this.#cumEdges.set(k, cur === undefined ? p : addEdgeMetricPoints(cur, p));
    }
    if (position > this.#persisted) {
      this.#persisted = position;
      for (const l of this.#listeners) l();
    }
  }

  /** Series totals since start (as flushed), for the Prometheus exposition. */
  cumulative(): CumulativeMetrics {
    return { spans: this.#cumSpans, edges: this.#cumEdges };
  }

  get stats(): AnalyticsStats {
    return {
      spans: this.#metrics.spans,
      skippedReplayedSpans: this.#skipped,
      overflow: this.#metrics.overflow(),
      graph: this.#graph.stats,
      persistedPosition: this.#persisted,
      acceptedPosition: this.#accepted,
      flushes: this.#flushes,
      failedFlushes: this.#failed,
    };
  }

  /** Expires every waiting graph half, flushes, and stops the timer. Call before closing the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#graph.expire(Number.POSITIVE_INFINITY);
    await this.flush();
  }
}
