/**
 * What every receiver does once a request is decoded: drop spans with bad
 * ids, hand the rest to the sink, and count both.
 */

import { type Span, SpanBatch } from '@traceloom/model';
import { decodeOtlpTraces, type OtlpTracesScan } from '@traceloom/wire';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { type BodyFormat, type IngestProtocol, SinkFullError, type SpanSink } from './sink.ts';
import { otlpLocator, partitionSpans, type SpanLocator, type SpanPartition } from './validate.ts';

/**
 * Counters of one set of receivers, for logs and (later) `/metrics`.
 * Updated synchronously by the receivers; read them at any time.
 */
export class ReceiverStats {
  /** Spans the sink accepted, per protocol. */
  readonly acceptedSpans = new Map<IngestProtocol, number>();
  /** Spans dropped for bad ids, per protocol. */
  readonly rejectedSpans = new Map<IngestProtocol, number>();
  /** Requests answered with an error, per error code. */
  readonly failedRequests = new Map<string, number>();

  /** Adds `n` accepted spans of `protocol`. */
  accepted(protocol: IngestProtocol, n: number): void {
    this.acceptedSpans.set(protocol, (this.acceptedSpans.get(protocol) ?? 0) + n);
  }

  /** Adds `n` rejected spans of `protocol`. */
  rejected(protocol: IngestProtocol, n: number): void {
    this.rejectedSpans.set(protocol, (this.rejectedSpans.get(protocol) ?? 0) + n);
  }

  /** Counts one failed request. */
  failed(code: string): void {
    this.failedRequests.set(code, (this.failedRequests.get(code) ?? 0) + 1);
  }
}

/**
 * Validates `spans`, writes the valid ones to `sink` as one batch (skipping
 * the sink when there are none), and returns the partition so the caller can
 * report rejections. A {@link SinkFullError} becomes a 429 / RESOURCE_EXHAUSTED
 * {@link ServerError} with its retry delay; any other sink failure a 500 / INTERNAL one.
 */
export async function ingest(
  sink: SpanSink,
  spans: readonly Span[],
  protocol: IngestProtocol,
  body: Uint8Array,
  format: BodyFormat,
  locate: SpanLocator,
  stats: ReceiverStats | undefined,
): Promise<SpanPartition> {
  const part = partitionSpans(spans, locate);
  if (part.rejected > 0) stats?.rejected(protocol, part.rejected);
  if (part.accepted.length === 0) return part;
  try {
    await sink.write(SpanBatch.from(part.accepted), { protocol, bodyBytes: body.length, body, format });
  } catch (e) {
    throw sinkError(e);
  }
  stats?.accepted(protocol, part.accepted.length);
  return part;
}

/** What a receiver reports to its client about one request: how many spans were dropped, and why. */
export interface IngestOutcome {
  readonly rejected: number;
  /** '' when none was dropped; otherwise as {@link SpanPartition.message}. */
  readonly message: string;
}

const ALL_ACCEPTED: IngestOutcome = Object.freeze({ rejected: 0, message: '' });

/**
 * {@link ingest} for an OTLP protobuf body that `scanOtlpTraces` has already
 * validated and counted (`scan`): the sink gets a {@link SpanBatch.lazy} of
 * `scan.spans` spans, which decodes the body when the pipeline first reads it
 * (and normalises all-zero parent ids to '', as {@link partitionSpans} does).
 * So the request is answered without decoding it here; the cost moves to the
 * first stage that reads the spans.
 *
 * When the scan found spans with bad ids, which is rare, the body is decoded
 * now and goes through {@link ingest}, whose partial-success message names the
 * place and name of the first span of each reason.
 */
export async function ingestOtlpProto(
  sink: SpanSink,
  body: Uint8Array,
  scan: OtlpTracesScan,
  protocol: IngestProtocol,
  stats: ReceiverStats | undefined,
): Promise<IngestOutcome> {
  if (scan.rejected.length > 0) {
    return ingest(sink, decodeOtlpTraces(body), protocol, body, 'otlp-proto', otlpLocator, stats);
  }
  const n = scan.spans;
  if (n === 0) return ALL_ACCEPTED;
  try {
    // The scan applied the id checks to the bytes and found nothing to drop; the partition is
    // needed only to turn all-zero parent ids into '' (a full pass over the decoded ids).
    const load = scan.zeroParents > 0 ? () => acceptedOtlpSpans(body) : () => decodeOtlpTraces(body);
    await sink.write(SpanBatch.lazy(n, load), {
      protocol,
      bodyBytes: body.length,
      body,
      format: 'otlp-proto',
    });
  } catch (e) {
    throw sinkError(e);
  }
  stats?.accepted(protocol, n);
  return ALL_ACCEPTED;
}

/**
 * The spans of an OTLP protobuf body that the id checks keep: what the eager
 * path hands the sink, and what the write-ahead log replays.
 */
export function acceptedOtlpSpans(body: Uint8Array): readonly Span[] {
  return partitionSpans(decodeOtlpTraces(body), otlpLocator).accepted;
}

/** Maps a sink rejection to the error answered to the client. */
export function sinkError(e: unknown): ServerError {
  if (e instanceof SinkFullError) {
    // Retry-After takes whole seconds (RFC 9110 10.2.3); never advertise 0, which means "now".
    const after = Math.max(1, Math.ceil(e.retryAfterSeconds));
    return new ServerError(ServerErrorCode.SINK_FULL, `the pipeline is full (${e.message})`, {
      retryAfterSeconds: after,
      cause: e,
    });
  }
  return new ServerError(ServerErrorCode.INTERNAL, 'the pipeline failed to accept the spans', { cause: e });
}

/**
 * Logs dropped spans of one protocol at most once per `intervalMs`, with the
 * count since the last line, so a misbehaving client cannot flood the log.
 */
export class RejectionLog {
  readonly #warn: (message: string) => void;
  readonly #intervalMs: number;
  #pending = 0;
  #last = 0;
  #lastMessage = '';

  constructor(warn: (message: string) => void, intervalMs = 10_000) {
    this.#warn = warn;
    this.#intervalMs = intervalMs;
  }

  /** Records `part` when it dropped spans; logs when the interval has passed. */
  note(part: SpanPartition): void {
    if (part.rejected === 0) return;
    this.#pending += part.rejected;
    this.#lastMessage = part.message;
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#warn(
      `dropped ${this.#pending} span(s) with bad ids since the last report; latest request: ${this.#lastMessage}`,
    );
    this.#pending = 0;
  }
}

/**
 * {@link ingest} for protocols without partial success (Zipkin, Jaeger):
 * when a request had spans but none is valid, it fails with
 * {@link ServerErrorCode.NO_VALID_SPANS} (400) so the sender learns its data is
 * wrong; when some are valid, those are kept and the drop is only counted and
 * logged.
 */
export async function ingestAllOrSome(
  sink: SpanSink,
  spans: readonly Span[],
  protocol: IngestProtocol,
  body: Uint8Array,
  format: BodyFormat,
  locate: SpanLocator,
  stats: ReceiverStats | undefined,
  log: RejectionLog,
): Promise<SpanPartition> {
  const part = await ingest(sink, spans, protocol, body, format, locate, stats);
  if (part.rejected > 0 && part.accepted.length === 0) {
    throw new ServerError(ServerErrorCode.NO_VALID_SPANS, part.message);
  }
  log.note(part);
  return part;
}
