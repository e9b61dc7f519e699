/**
 * The sink the receivers write to when storage is on: it makes each request
 * durable in the write-ahead log before the receiver answers, then hands the
 * spans to the store, and releases log records once the store has committed
 * them. On start, {@link DurableSink.open} replays what the log holds beyond
 * the last release into the store, before any receiver listens.
 *
 * Memory is bounded: spans handed to the store and not yet committed are
 * counted, and above `maxPendingSpans` new requests are refused with
 * {@link SinkFullError} (HTTP 429 / gRPC RESOURCE_EXHAUSTED with a retry
 * delay) instead of queueing without limit.
 */

import { type Span, SpanBatch } from '@traceloom/model';
import { decodeJaegerThriftBatch, decodeOtlpTracesJson, decodeZipkinJson, decodeZipkinProto } from '@traceloom/wire';
import { acceptedOtlpSpans } from '../receivers/ingest.ts';
import type { Logger } from '../receivers/logger.ts';
import { type BodyFormat, type IngestMeta, SinkFullError, type SpanSink } from '../receivers/sink.ts';
import { listLocator, otlpLocator, partitionSpans } from '../receivers/validate.ts';
import type { TraceStore } from '../storage/types.ts';
import { WalFullError, type WriteAheadLog } from './wal.ts';

/** Record kinds: the body format of the request a record holds. */
const FORMAT_KIND: Readonly<Record<BodyFormat, number>> = {
  'otlp-proto': 1,
  'otlp-json': 2,
  'zipkin-json': 3,
  'zipkin-proto': 4,
  'jaeger-thrift': 5,
};
const KIND_FORMAT = new Map<number, BodyFormat>(Object.entries(FORMAT_KIND).map(([f, k]) => [k, f as BodyFormat]));

/** Decodes a logged body again and keeps the spans the receiver accepted (the same check as at receipt). */
export function decodeLoggedBody(format: BodyFormat, body: Uint8Array): readonly Span[] {
  const text = () => {
    const t = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    return t.charCodeAt(0) === 0xfeff ? t.slice(1) : t;
  };
  switch (format) {
    case 'otlp-proto':
      return acceptedOtlpSpans(body);
    case 'otlp-json':
      return partitionSpans(decodeOtlpTracesJson(text()), otlpLocator).accepted;
    case 'zipkin-json':
      return partitionSpans(decodeZipkinJson(text()), listLocator('spans')).accepted;
    case 'zipkin-proto':
      return partitionSpans(decodeZipkinProto(body), listLocator('spans')).accepted;
    case 'jaeger-thrift':
      return partitionSpans(decodeJaegerThriftBatch(body), listLocator('batch.spans')).accepted;
  }
}

/**
 * A stage of the pipeline that sees every accepted batch before the store
 * (span metrics and the service graph, which must count spans before any
 * sampling). It keeps its own committed log position: the log is released
 * only up to the lower of the store's and the stage's, so a crash replays
 * whatever the stage had not committed, and the stage skips replayed records
 * at or below its position.
 */
export interface PipelineStage {
  /** Called with each batch right after the log made it durable, in log order; also for replayed records. */
  accept(batch: SpanBatch, position?: bigint): void;
  /** Highest log position whose effects the stage has committed. */
  readonly persistedPosition: bigint;
  /** `listener` is called each time {@link persistedPosition} advances. */
  onPersisted(listener: () => void): void;
  /** Commits what the stage holds. */
  flush(): Promise<void>;
  /** Commits what it holds and stops; called before the store is closed. */
  close(): Promise<void>;
}

/** Options of {@link DurableSink.open}. */
export interface DurableSinkOptions {
  /** A stage that sees every batch before the store (see {@link PipelineStage}). */
  stage?: PipelineStage;
  /** Spans handed to the store and not yet committed, above which requests wait, then are refused. @default 200000 */
  maxPendingSpans?: number;
  /**
   * How long a request may wait for room when storage is behind before it is refused. A
   * DuckDB checkpoint holds commits for a few seconds; waiting out such a pause (the request
   * is already read, so no memory is added) beats sending the client away for a second.
   * 0 refuses at once. @default 3000
   */
  maxWaitMs?: number;
  /** Requests that may wait for room at the same time; beyond them, requests are refused at once. @default 32 */
  maxWaiting?: number;
  logger?: Logger;
}

/** Figures of a {@link DurableSink}, for logs and `/metrics`. */
export interface DurableSinkStats {
  /** Spans logged and handed to the store. */
  readonly accepted: number;
  /** Requests refused because the store is behind. */
  readonly refused: number;
  /** Spans handed to the store, not yet committed. */
  readonly pendingSpans: number;
  /** Records replayed from the log at start. */
  readonly replayedRecords: number;
  /** Spans replayed from the log at start. */
  readonly replayedSpans: number;
}

/** Write-ahead log in front of a store. */
export class DurableSink implements SpanSink {
  readonly #wal: WriteAheadLog;
  readonly #store: TraceStore;
  readonly #maxPending: number;
  readonly #logger: Logger | undefined;
  readonly #stage: PipelineStage | undefined;
  readonly #maxWaitMs: number;
  readonly #maxWaiting: number;
  /** Requests waiting for room, oldest first. */
  readonly #waiters: { n: number; wake: (room: boolean) => void; timer: NodeJS.Timeout }[] = [];
  /** Spans of woken waiters not yet counted in #pending. */
  #reserved = 0;
  #pending = 0;
  #accepted = 0;
  #refused = 0;
  #replayedRecords = 0;
  #replayedSpans = 0;
  /** Highest position committed by the store and not yet released. */
  #toRelease = 0n;
  #releasing: Promise<void> = Promise.resolve();
  /** Store writes still running (for close). */
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  private constructor(wal: WriteAheadLog, store: TraceStore, options: DurableSinkOptions) {
    this.#wal = wal;
    this.#store = store;
    this.#maxPending = options.maxPendingSpans ?? 200_000;
    this.#logger = options.logger;
    this.#stage = options.stage;
    this.#maxWaitMs = options.maxWaitMs ?? 3000;
    this.#maxWaiting = options.maxWaiting ?? 32;
    this.#stage?.onPersisted(() => this.#scheduleRelease());
  }

  /** Replays the log into the store, then returns the sink. */
  static async open(wal: WriteAheadLog, store: TraceStore, options: DurableSinkOptions = {}): Promise<DurableSink> {
    const sink = new DurableSink(wal, store, options);
    let last = 0n;
    await wal.replay(async (rec) => {
      const format = KIND_FORMAT.get(rec.kind);
      last = rec.lsn;
      sink.#replayedRecords++;
      if (format === undefined) {
        options.logger?.warn(`write-ahead log record ${rec.lsn} has unknown kind ${rec.kind}; skipped`);
        return;
      }
      let spans: readonly Span[];
      try {
        spans = decodeLoggedBody(format, rec.payload);
      } catch (e) {
        options.logger?.warn(`write-ahead log record ${rec.lsn} does not decode (${String(e)}); skipped`);
        return;
      }
      sink.#replayedSpans += spans.length;
      const batch = SpanBatch.from(spans);
      options.stage?.accept(batch, rec.lsn);
      // Not awaited one by one: the store commits them in groups.
      void store.write(batch, rec.lsn);
    });
    await store.flush();
    await options.stage?.flush();
    if (last > 0n) await wal.release(last);
    return sink;
  }

  get stats(): DurableSinkStats {
    return {
      accepted: this.#accepted,
      refused: this.#refused,
      pendingSpans: this.#pending,
      replayedRecords: this.#replayedRecords,
      replayedSpans: this.#replayedSpans,
    };
  }

  async write(batch: SpanBatch, meta: IngestMeta): Promise<void> {
    if (this.#closed) throw new Error('the server is shutting down');
    const n = batch.length;
    let reserved = 0;
    if (this.#full(n)) {
      if (this.#waiters.length >= this.#maxWaiting || this.#maxWaitMs <= 0 || !(await this.#room(n))) {
        this.#refused++;
        throw new SinkFullError(`storage is behind by ${this.#pending} spans`, 1);
      }
      reserved = n;
    }
    let lsn: bigint;
    try {
      if (this.#closed) throw new Error('the server is shutting down');
      lsn = await this.#wal.append(FORMAT_KIND[meta.format], meta.body);
    } catch (e) {
      this.#unreserve(reserved);
      if (e instanceof WalFullError) {
        this.#refused++;
        throw new SinkFullError('the write-ahead log is full until storage catches up', e.retryAfterSeconds);
      }
      throw e;
    }
    this.#reserved -= reserved;
    this.#accepted += n;
    this.#pending += n;
    if (this.#stage !== undefined) {
      // Analytics must never fail an acknowledged request: the spans are logged already.
      try {
        this.#stage.accept(batch, lsn);
      } catch (e) {
        this.#logger?.error('the analytics stage failed on a batch; its spans are stored without metrics', e);
      }
    }
    this.#handOver(batch, lsn);
  }

  /** Whether `n` more spans would pass the cap (a first batch always fits, however large). */
  #full(n: number): boolean {
    const held = this.#pending + this.#reserved;
    return held + n > this.#maxPending && held > 0;
  }

  /** Resolves true once `n` spans fit (and reserves them), false after `maxWaitMs` or at close. */
  #room(n: number): Promise<boolean> {
    return new Promise((resolve) => {
      const w = {
        n,
        wake: resolve,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(false);
        }, this.#maxWaitMs),
      };
      this.#waiters.push(w);
    });
  }

  /** Lets waiting requests in, oldest first, while they fit. */
  #wake(): void {
    while (this.#waiters.length > 0 && !this.#full(this.#waiters[0]!.n)) {
      const w = this.#waiters.shift()!;
      clearTimeout(w.timer);
      this.#reserved += w.n;
      w.wake(true);
    }
  }

  #unreserve(n: number): void {
    if (n === 0) return;
    this.#reserved -= n;
    this.#wake();
  }

  /**
   * Gives the batch to the store and releases the log once it is committed. Not an async
   * function: nothing here keeps the batch alive while the store works (the store keeps what
   * it needs, in a far more compact form than decoded spans).
   */
  #handOver(batch: SpanBatch, lsn: bigint): void {
    const n = batch.length;
    const p = this.#store.write(batch, lsn).then(
      () => {
        this.#pending -= n;
        this.#wake();
        if (lsn > this.#toRelease) this.#toRelease = lsn;
        this.#scheduleRelease();
      },
      (e: unknown) => {
        this.#pending -= n;
        this.#wake();
        this.#logger?.error(`storing ${n} spans failed; the write-ahead log keeps them for the next start`, e);
      },
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #scheduleRelease(): void {
    this.#releasing = this.#releasing.then(async () => {
      let upTo = this.#toRelease;
      // A record is released only once the pipeline stage has committed its effects too.
      const stagePosition = this.#stage?.persistedPosition;
      if (stagePosition !== undefined && stagePosition < upTo) upTo = stagePosition;
      if (upTo <= this.#wal.releasedLsn) return;
      // Store writes commit in call order, so every position below upTo is committed too.
      await this.#wal
        .release(upTo)
        .catch((e: unknown) => this.#logger?.error('releasing the write-ahead log failed', e));
    });
  }

  /** Commits everything to the store, releases the log, and closes both. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.wake(false);
    }
    // The stage writes through the store: it finishes first.
    await this.#stage?.close().catch((e: unknown) => this.#logger?.error('closing the analytics stage failed', e));
    // Closing the store commits what it holds (or rejects it, when committing keeps failing),
    // so every hand-over settles before the log is released and closed.
    await this.#store.close();
    await Promise.all([...this.#inFlight]);
    await this.#releasing;
    await this.#wal.close();
  }
}
