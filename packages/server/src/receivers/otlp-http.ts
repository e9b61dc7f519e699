/**
 * OTLP/HTTP trace receiver: `POST /v1/traces`, protobuf or JSON, as the OTLP
 * specification (opentelemetry-proto `docs/specification.md`, "OTLP/HTTP")
 * describes it:
 * - the response uses the request's content type;
 * - success is 200 with an `ExportTraceServiceResponse`, whose
 *   `partial_success` counts spans dropped for bad ids;
 * - every 4xx/5xx carries a `google.rpc.Status`; 400 for data that cannot be
 *   decoded (not retryable), 429 with `Retry-After` when the pipeline is full
 *   (retryable), 500 for a server fault;
 * - a request without spans is a success and does not reach the sink.
 *
 * A protobuf body is validated and its spans counted without decoding it
 * (`scanOtlpTraces`), and the sink gets a lazy batch that decodes it when the
 * pipeline first reads the spans; JSON bodies are decoded here.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  decodeOtlpTracesJson,
  type ExportTraceServiceResponse,
  encodeExportTraceResponse,
  encodeExportTraceResponseJson,
  encodeRpcStatus,
  encodeRpcStatusJson,
  scanOtlpTraces,
} from '@traceloom/wire';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { type ErrorWriter, type HttpServer, mediaType, type RouteContext, readBody, sendBytes } from './http-server.ts';
import { type IngestOutcome, ingest, ingestOtlpProto, type ReceiverStats } from './ingest.ts';
import type { SpanSink } from './sink.ts';
import { otlpLocator } from './validate.ts';

/** The OTLP/HTTP traces path. */
export const OTLP_TRACES_PATH = '/v1/traces';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/** Options of {@link mountOtlpHttp}. */
export interface OtlpHttpReceiverOptions {
  /** Counters to update. */
  stats?: ReceiverStats;
}

/**
 * Answers failures the OTLP way: a `google.rpc.Status` whose `code` is the
 * gRPC equivalent and whose `message` starts with the stable error code,
 * protobuf when the request was protobuf and JSON otherwise (including for an
 * unsupported content type, where the client's format is unknown).
 */
export const otlpErrorWriter: ErrorWriter = (req: IncomingMessage, res: ServerResponse, err: ServerError) => {
  const status = { code: err.grpcCode, message: err.describe() };
  if (mediaType(req.headers['content-type']) === PROTOBUF) {
    sendBytes(res, err.status, PROTOBUF, encodeRpcStatus(status));
  } else {
    sendBytes(res, err.status, JSON_TYPE, Buffer.from(encodeRpcStatusJson(status)));
  }
};

let emptyProto: Uint8Array | undefined;
let emptyJson: Buffer | undefined;

/** The full-success response, encoded once. */
function emptyResponse(json: boolean): Uint8Array {
  if (json) {
    emptyJson ??= Buffer.from(encodeExportTraceResponseJson({}));
    return emptyJson;
  }
  emptyProto ??= encodeExportTraceResponse({});
  return emptyProto;
}

/**
 * Adds `POST /v1/traces` to `http`, writing the spans it receives to `sink`.
 * `/v1/metrics` and `/v1/logs` answer 404 with a message saying that only
 * traces are received, so an SDK exporting every signal to the same endpoint
 * gets a clear reason.
 *
 * @example
 * const http = new HttpServer({ name: 'OTLP/HTTP', errorWriter: otlpErrorWriter });
 * mountOtlpHttp(http, sink);
 * await http.listen('localhost', 4318);
 */
export function mountOtlpHttp(http: HttpServer, sink: SpanSink, options: OtlpHttpReceiverOptions = {}): void {
  const stats = options.stats;
  const handler = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> => {
    const type = mediaType(req.headers['content-type']);
    let json: boolean;
    if (type === PROTOBUF) json = false;
    else if (type === JSON_TYPE) json = true;
    else {
      throw new ServerError(
        ServerErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Type '${req.headers['content-type'] ?? ''}' is not accepted on ${OTLP_TRACES_PATH}; ` +
          `send ${PROTOBUF} or ${JSON_TYPE}`,
      );
    }
    const body = await readBody(req, ctx.maxBodyBytes);
    let part: IngestOutcome;
    if (json) {
      let text = body.toString('utf8');
      // A UTF-8 byte order mark is legal in front of JSON text but not to JSON.parse.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      part = await ingest(sink, decodeOtlpTracesJson(text), 'otlp-http', body, 'otlp-json', otlpLocator, stats);
    } else {
      // Validated and counted here; decoded when the pipeline first reads the batch.
      part = await ingestOtlpProto(sink, body, scanOtlpTraces(body), 'otlp-http', stats);
    }
    if (part.rejected === 0) {
      sendBytes(res, 200, json ? JSON_TYPE : PROTOBUF, emptyResponse(json));
      return;
    }
    const response: ExportTraceServiceResponse = {
      partialSuccess: { rejectedSpans: BigInt(part.rejected), errorMessage: part.message },
    };
    if (json) sendBytes(res, 200, JSON_TYPE, Buffer.from(encodeExportTraceResponseJson(response)));
    else sendBytes(res, 200, PROTOBUF, encodeExportTraceResponse(response));
  };
  http.route('POST', OTLP_TRACES_PATH, handler, { errorWriter: otlpErrorWriter });
  for (const signal of ['metrics', 'logs']) {
    http.route(
      'POST',
      `/v1/${signal}`,
      () => {
        throw new ServerError(
          ServerErrorCode.NOT_FOUND,
          `Traceloom receives traces only; /v1/${signal} is not served (configure the SDK to export only traces here)`,
        );
      },
      { errorWriter: otlpErrorWriter },
    );
  }
}
