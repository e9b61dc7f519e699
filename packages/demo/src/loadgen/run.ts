/**
 * The load generator: seeded OTLP protobuf batches of the generator's shop
 * traces, sent over OTLP/HTTP at a target rate with a fixed number of
 * requests in flight, timing each acknowledgement.
 */
import { connect } from 'node:http2';
import type { Span } from '@traceloom/model';
import {
  encodeOtlpBatch,
  type GenerateTracesOptions,
  generateLargeTrace,
  generateTraces,
  spanChunks,
} from './generator.ts';

/** The OTLP/gRPC method the batches are sent to. */
const GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** Options of {@link generateBatches} and {@link runLoadgen}. */
export interface LoadgenOptions {
  /** PRNG seed. @default 1 */
  readonly seed?: number;
  /** Spans per second to send; 0 sends as fast as the server acknowledges. @default 10000 */
  readonly rate?: number;
  /** Seconds to run. @default 10 */
  readonly durationSeconds?: number;
  /** Stop after this many spans (with or instead of the duration). @default unbounded */
  readonly spans?: number;
  /** Requests in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Spans per request. @default 512 */
  readonly batchSpans?: number;
  /** Services taking part, 1 to 8. @default 8 */
  readonly services?: number;
  /** Distinct user ids (product ids are a tenth). @default 100000 */
  readonly attributeCardinality?: number;
  /** Share of spans in ERROR. @default the demo's measured rate */
  readonly errorRate?: number;
  /** Start of the first trace, Unix ns; the same seed and start give the same bytes. @default now */
  readonly startUnixNano?: bigint;
  /** Send one large trace of about this many spans instead of the traffic mix. @default the mix */
  readonly largeTrace?: number;
  /** `http`: OTLP/HTTP protobuf to `.../v1/traces`; `grpc`: OTLP/gRPC to `http://host:4317`. @default 'http' */
  readonly protocol?: 'http' | 'grpc';
}

/** Sends one body; resolves with '' when acknowledged, else what failed (a status or `network`). */
interface Sender {
  send(body: Uint8Array): Promise<string>;
  close(): void;
}

function httpSender(endpoint: string): Sender {
  return {
    async send(body) {
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer();
        return res.ok ? '' : String(res.status);
      } catch {
        return 'network';
      }
    },
    close() {},
  };
}

/** Unary gRPC over one HTTP/2 connection: a 5-byte frame header (uncompressed, length) and the message. */
function grpcSender(endpoint: string): Sender {
  const session = connect(endpoint);
  session.on('error', () => undefined);
  return {
    send(body) {
      return new Promise((resolve) => {
        let status: string | undefined;
        let settled = false;
        const done = (r: string) => {
          if (!settled) {
            settled = true;
            resolve(r);
          }
        };
        let req: ReturnType<typeof session.request>;
        try {
          req = session.request({
            ':method': 'POST',
            ':path': GRPC_EXPORT_PATH,
            'content-type': 'application/grpc',
            te: 'trailers',
          });
        } catch {
          done('network');
          return;
        }
        req.setTimeout(30_000, () => req.close());
        req.on('response', (headers) => {
          if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
        });
        req.on('trailers', (trailers) => {
          if (trailers['grpc-status'] !== undefined) status = String(trailers['grpc-status']);
        });
        req.on('data', () => undefined);
        req.on('end', () => done(status === '0' ? '' : `grpc-${status ?? 'none'}`));
        req.on('error', () => done('network'));
        req.on('close', () => done(status === '0' ? '' : status === undefined ? 'network' : `grpc-${status}`));
        const frame = Buffer.allocUnsafe(5 + body.length);
        frame[0] = 0;
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        req.end(frame);
      });
    },
    close() {
      session.close();
    },
  };
}

/** What {@link runLoadgen} measured. */
export interface LoadgenReport {
  readonly spansSent: number;
  readonly spansAccepted: number;
  readonly requests: number;
  readonly failedRequests: number;
  /** Status code (or `network`) of failed requests, with counts. */
  readonly failures: Readonly<Record<string, number>>;
  readonly bytesSent: number;
  readonly seconds: number;
  /** Accepted spans per second over the run. */
  readonly spansPerSecond: number;
  /** Time from sending a request to its acknowledgement, in milliseconds. */
  readonly ackLatencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

/** The traces to send: the shop's mix, or the one large trace. */
function traces(o: LoadgenOptions): Iterable<Span[]> {
  if (o.largeTrace === undefined) return generateTraces(traceOptions(o));
  return [
    generateLargeTrace({
      seed: o.seed ?? 1,
      spans: o.largeTrace,
      startUnixNano: o.startUnixNano ?? BigInt(Date.now()) * 1_000_000n,
    }),
  ];
}

function traceOptions(o: LoadgenOptions): GenerateTracesOptions {
  const rate = o.rate ?? 10_000;
  return {
    seed: o.seed ?? 1,
    startUnixNano: o.startUnixNano ?? BigInt(Date.now()) * 1_000_000n,
    spansPerSecond: rate > 0 ? rate : 10_000,
    ...(o.services === undefined ? {} : { services: o.services }),
    ...(o.attributeCardinality === undefined ? {} : { attributeCardinality: o.attributeCardinality }),
    ...(o.errorRate === undefined ? {} : { errorRate: o.errorRate }),
  };
}

/**
 * The batches the load generator sends, in order: OTLP protobuf
 * `ExportTraceServiceRequest` bodies of `batchSpans` spans each. With the
 * same options (seed and start included) the bytes are the same.
 */
export function* generateBatches(options: LoadgenOptions = {}): Generator<Uint8Array, void, undefined> {
  const size = options.batchSpans ?? 512;
  let left = options.spans ?? Number.POSITIVE_INFINITY;
  for (const chunk of spanChunks(traces(options), size)) {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.slice(0, left) : chunk;
    left -= part.length;
    yield encodeOtlpBatch(part);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) * 100) / 100;
}

/**
 * Sends generated load to an OTLP/HTTP endpoint (`.../v1/traces`) or, with
 * `protocol: 'grpc'`, an OTLP/gRPC one (`http://host:4317`), and
 * reports the spans per second acknowledged and the acknowledgement latency.
 * Failed requests (a status other than 2xx, or no answer) are counted, not
 * retried: the figure is what the server took.
 *
 * @example
 * const report = await runLoadgen('http://localhost:4318/v1/traces', { rate: 20000, durationSeconds: 30 });
 */
export async function runLoadgen(
  endpoint: string,
  options: LoadgenOptions = {},
  onProgress?: (report: LoadgenReport) => void,
): Promise<LoadgenReport> {
  const rate = options.rate ?? 10_000;
  const size = options.batchSpans ?? 512;
  const concurrency = options.concurrency ?? 4;
  const durationMs = (options.durationSeconds ?? 10) * 1000;
  const limit = options.spans ?? Number.POSITIVE_INFINITY;
  const chunks = spanChunks(traces(options), size);
  const sender = options.protocol === 'grpc' ? grpcSender(endpoint) : httpSender(endpoint);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let spansSent = 0;
  let spansAccepted = 0;
  let requests = 0;
  let failedRequests = 0;
  let bytesSent = 0;
  const t0 = performance.now();
  const report = (): LoadgenReport => {
    const seconds = (performance.now() - t0) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      spansSent,
      spansAccepted,
      requests,
      failedRequests,
      failures: { ...failures },
      bytesSent,
      seconds: Math.round(seconds * 1000) / 1000,
      spansPerSecond: Math.round(spansAccepted / Math.max(seconds, 1e-9)),
      ackLatencyMs: {
        p50: percentile(sorted, 0.5),
        p90: percentile(sorted, 0.9),
        p99: percentile(sorted, 0.99),
        max: percentile(sorted, 1),
      },
    };
  };
  const progress = onProgress === undefined ? undefined : setInterval(() => onProgress(report()), 1000).unref();
  const worker = async () => {
    for (;;) {
      if (performance.now() - t0 >= durationMs || spansSent >= limit) return;
      const next = chunks.next();
      if (next.done === true) return;
      const spans = next.value.length > limit - spansSent ? next.value.slice(0, limit - spansSent) : next.value;
      spansSent += spans.length;
      // Pace by spans: this batch may leave once the rate allows the spans before it.
      if (rate > 0) {
        const due = t0 + ((spansSent - spans.length) / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() - t0 >= durationMs) {
          spansSent -= spans.length;
          return;
        }
      }
      const body = encodeOtlpBatch(spans);
      bytesSent += body.length;
      requests++;
      const start = performance.now();
      const failure = await sender.send(body);
      if (failure === '') {
        latencies.push(performance.now() - start);
        spansAccepted += spans.length;
      } else {
        failedRequests++;
        failures[failure] = (failures[failure] ?? 0) + 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    sender.close();
    if (progress !== undefined) clearInterval(progress);
  }
  return report();
}
