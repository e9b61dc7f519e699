/**
 * OTLP/gRPC trace receiver: the unary `TraceService/Export` method on
 * `@grpc/grpc-js`, with a hand-written service definition whose (de)serializers
 * are our codecs (no `.proto` loading). grpc-js itself handles the framing,
 * `grpc-encoding: gzip` / `deflate` from clients, and the message size cap
 * (checked after decompression).
 *
 * Status codes follow the OTLP specification ("OTLP/gRPC Response"):
 * INVALID_ARGUMENT for data that cannot be decoded (not retried),
 * RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` detail when the pipeline is
 * full (retryable only because RetryInfo is present), INTERNAL for a server
 * fault, OK with `partial_success` when spans were dropped for bad ids.
 */

import {
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type status,
} from '@grpc/grpc-js';
import {
  decodeExportTraceResponse,
  type ExportTraceServiceResponse,
  encodeExportTraceResponse,
  encodeRpcStatus,
  type OtlpTracesScan,
  scanOtlpTraces,
} from '@traceloom/wire';
import { type ServerError, ServerErrorCode } from '../errors.ts';
import { DEFAULT_MAX_BODY_BYTES, listenError, toServerError } from './http-server.ts';
import { ingestOtlpProto, type ReceiverStats } from './ingest.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { SpanSink } from './sink.ts';

/** Full method path of OTLP trace export. */
export const TRACE_SERVICE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/**
 * An `ExportTraceServiceRequest` as the receiver gets it: validated and its
 * spans counted (`scanOtlpTraces`), not decoded; the sink's lazy batch decodes
 * `body` when the pipeline reads it. Deserialization never throws (grpc-js
 * would answer INTERNAL): a body that does not decode yields `error` (and no
 * `scan`), which the handler answers with INVALID_ARGUMENT.
 */
export interface ExportTraceRequest {
  /** The (decompressed) message. */
  readonly body: Uint8Array;
  /** What the validation pass found; undefined when it failed. */
  readonly scan: OtlpTracesScan | undefined;
  /** Why the message could not be decoded. */
  readonly error?: unknown;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * The service definition for `server.addService` (and, with
 * `makeGenericClientConstructor`, for a client).
 */
export const traceServiceDefinition: ServiceDefinition<{
  Export: (call: ServerUnaryCall<ExportTraceRequest, ExportTraceServiceResponse>, cb: unknown) => void;
}> = {
  Export: {
    path: TRACE_SERVICE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: ExportTraceRequest) => asBuffer(r.body),
    requestDeserialize: (buf: Buffer): ExportTraceRequest => {
      try {
        return { body: buf, scan: scanOtlpTraces(buf) };
      } catch (error) {
        return { body: buf, scan: undefined, error };
      }
    },
    responseSerialize: (r: ExportTraceServiceResponse) => asBuffer(encodeExportTraceResponse(r)),
    responseDeserialize: (buf: Buffer) => decodeExportTraceResponse(buf),
    originalName: 'export',
  },
};

/** Options of {@link startOtlpGrpc}. */
export interface OtlpGrpcReceiverOptions {
  /** @default 'localhost' */
  host?: string;
  /** 0 picks a free port. @default 4317 */
  port?: number;
  /** Largest accepted message after decompression. @default 64 MiB */
  maxBodyBytes?: number;
  /** Time `close()` lets running calls finish before cancelling them. @default 5000 */
  closeGraceMs?: number;
  /** The flag named in the "port in use" error. @default '--otlp-grpc-port' */
  portFlag?: string;
  /** The variable named in the "port in use" error. */
  portEnv?: string;
  stats?: ReceiverStats;
  /** @default silent */
  logger?: Logger;
}

/** A running OTLP/gRPC receiver. */
export interface RunningGrpcReceiver {
  readonly port: number;
  /** Stops accepting calls, waits up to `closeGraceMs` for running ones, then cancels them. */
  close(): Promise<void>;
}

/** `google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1; }` with whole seconds. */
function encodeRetryInfo(seconds: number): Uint8Array {
  const varint: number[] = [];
  let v = Math.max(0, Math.floor(seconds));
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    varint.push(b);
  } while (v > 0);
  // Duration: field 1 (seconds), varint. RetryInfo: field 1 (retry_delay), length-delimited.
  const duration = [0x08, ...varint];
  return Uint8Array.from([0x0a, duration.length, ...duration]);
}

/** The gRPC status for a failed export, with RetryInfo details when the client should retry later. */
export function grpcErrorFor(err: ServerError): ServerErrorResponse {
  const code = err.grpcCode as status;
  const details = err.describe();
  const out: ServerErrorResponse = Object.assign(new Error(details), { code, details });
  if (err.code === ServerErrorCode.SINK_FULL) {
    const metadata = new Metadata();
    metadata.set(
      'grpc-status-details-bin',
      asBuffer(
        encodeRpcStatus({
          code,
          message: details,
          details: [
            { typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: encodeRetryInfo(err.retryAfterSeconds) },
          ],
        }),
      ),
    );
    out.metadata = metadata;
  }
  return out;
}

/**
 * Starts the OTLP/gRPC receiver and resolves once it listens.
 * Rejects with a {@link StartupError} when the port cannot be bound.
 *
 * @example
 * const grpc = await startOtlpGrpc(sink, { port: 4317 });
 * // ...
 * await grpc.close();
 */
export async function startOtlpGrpc(
  sink: SpanSink,
  options: OtlpGrpcReceiverOptions = {},
): Promise<RunningGrpcReceiver> {
  const host = options.host ?? 'localhost';
  const logger = options.logger ?? silentLogger;
  const stats = options.stats;
  const closeGraceMs = options.closeGraceMs ?? 5000;
  const portFlag = options.portFlag ?? '--otlp-grpc-port';
  const server = new Server({
    'grpc.max_receive_message_length': options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  });

  const fail = (callback: sendUnaryData<ExportTraceServiceResponse>, e: unknown): void => {
    const err = toServerError(e);
    stats?.failed(err.code);
    if (err.code === ServerErrorCode.INTERNAL) logger.error('OTLP/gRPC: export failed', err.cause ?? e);
    else logger.debug(`OTLP/gRPC: export -> ${err.code}: ${err.message}`);
    let response: ServerErrorResponse;
    try {
      response = grpcErrorFor(err);
    } catch (encodeErr) {
      logger.error('OTLP/gRPC: could not encode status details', encodeErr);
      response = Object.assign(new Error(err.describe()), { code: err.grpcCode as status, details: err.describe() });
    }
    callback(response);
  };

  const exportHandler: handleUnaryCall<ExportTraceRequest, ExportTraceServiceResponse> = (call, callback) => {
    const request = call.request;
    if (request.scan === undefined) {
      fail(callback, request.error);
      return;
    }
    ingestOtlpProto(sink, request.body, request.scan, 'otlp-grpc', stats).then(
      (part) => {
        callback(
          null,
          part.rejected === 0
            ? {}
            : { partialSuccess: { rejectedSpans: BigInt(part.rejected), errorMessage: part.message } },
        );
      },
      (e: unknown) => fail(callback, e),
    );
  };
  server.addService(traceServiceDefinition, { Export: exportHandler });

  const address = `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 4317}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
      if (err === null) {
        resolve(bound);
        return;
      }
      server.forceShutdown();
      reject(listenError('OTLP/gRPC', address, portFlag, options.portEnv, err));
    });
  });

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, closeGraceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
