import type { SpanBatch } from '@traceloom/model';

/** Which receiver a batch came in through. */
export type IngestProtocol = 'otlp-http' | 'otlp-grpc' | 'zipkin' | 'jaeger-thrift';

/** The encoding of a request body, as the write-ahead log records it for replay. */
export type BodyFormat = 'otlp-proto' | 'otlp-json' | 'zipkin-json' | 'zipkin-proto' | 'jaeger-thrift';

/** What a receiver knows about a batch besides its spans. */
export interface IngestMeta {
  readonly protocol: IngestProtocol;
  /** Size of the request body after decompression, in bytes. */
  readonly bodyBytes: number;
  /**
   * The request body after decompression, exactly as decoded. The write-ahead
   * log keeps these bytes (cheaper than encoding the spans again) and decodes
   * them again on replay; the batch holds the spans of it that were accepted.
   */
  readonly body: Uint8Array;
  readonly format: BodyFormat;
}

/**
 * The entrance of the pipeline. Every receiver hands each decoded batch to one
 * sink and answers its client only after `write` resolves: a sink resolves
 * once the spans are durable (the WAL, later) or at least accepted.
 *
 * The OTLP protobuf receivers hand over lazy batches (`SpanBatch.lazy`): only
 * `length` is known, and the first read of the spans or of any column decodes
 * the request body, in whatever the sink does at that moment. A sink that reads
 * them before it resolves makes the client wait for the decoding too.
 *
 * A sink that cannot take more right now rejects with {@link SinkFullError};
 * receivers turn that into HTTP 429 / gRPC RESOURCE_EXHAUSTED with a retry
 * hint. Any other rejection is an internal error (HTTP 500 / gRPC INTERNAL),
 * and the client may retry.
 */
export interface SpanSink {
  write(batch: SpanBatch, meta: IngestMeta): Promise<void>;
}

/** Rejection of {@link SpanSink.write} meaning "full, try again later". */
export class SinkFullError extends Error {
  override readonly name = 'SinkFullError';
  /** Seconds after which the client should retry. */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A sink that keeps every batch in memory, for tests. */
export class RecordingSink implements SpanSink {
  readonly batches: { batch: SpanBatch; meta: IngestMeta }[] = [];

  async write(batch: SpanBatch, meta: IngestMeta): Promise<void> {
    this.batches.push({ batch, meta });
  }

  /** Every span received so far, in arrival order. */
  get spans() {
    return this.batches.flatMap((b) => b.batch.spans);
  }
}

/** A sink that only counts spans and batches per protocol (the CLI's sink until storage lands). */
export class CountingSink implements SpanSink {
  spans = 0;
  batches = 0;
  readonly byProtocol = new Map<IngestProtocol, number>();

  async write(batch: SpanBatch, meta: IngestMeta): Promise<void> {
    this.spans += batch.length;
    this.batches++;
    this.byProtocol.set(meta.protocol, (this.byProtocol.get(meta.protocol) ?? 0) + batch.length);
  }
}
