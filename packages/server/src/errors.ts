/**
 * Stable error codes of the server. Each code keeps its meaning forever (a
 * code is never reused), has the HTTP status it is answered with, the gRPC
 * status code used when the same failure happens on OTLP/gRPC, and a hint
 * that tells the sender what to do. Decode failures keep the codec's own code
 * (`TL_ERR_DECODE_*`, see `WireErrorCode` in `@traceloom/wire`) and are
 * answered with 400 / INVALID_ARGUMENT.
 */

import { type WireDecodeError, WireErrorCode } from '@traceloom/wire';

/** gRPC status codes used by the receivers (grpc/grpc `doc/statuscodes.md`). */
export const GrpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** Codes of failures answered to a request. */
export const ServerErrorCode = {
  /** The request's Content-Type is not one the endpoint decodes. */
  UNSUPPORTED_MEDIA_TYPE: 'TL_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** The body (after decompression) is larger than the configured cap. */
  BODY_TOO_LARGE: 'TL_ERR_BODY_TOO_LARGE',
  /** The body says `Content-Encoding: gzip` but is not valid gzip. */
  BAD_GZIP: 'TL_ERR_BAD_GZIP',
  /** The body says `Content-Encoding: deflate` but is not valid zlib/deflate. */
  BAD_DEFLATE: 'TL_ERR_BAD_DEFLATE',
  /** The body says `Content-Encoding: br` but is not valid brotli. */
  BAD_BROTLI: 'TL_ERR_BAD_BROTLI',
  /** A `Content-Encoding` the server does not decompress. */
  UNSUPPORTED_ENCODING: 'TL_ERR_UNSUPPORTED_ENCODING',
  /** The path exists but not for this HTTP method. */
  METHOD_NOT_ALLOWED: 'TL_ERR_METHOD_NOT_ALLOWED',
  /** No route for this path on this port. */
  NOT_FOUND: 'TL_ERR_NOT_FOUND',
  /** The request was malformed at the HTTP level (bad header, bad chunking, bad Content-Length). */
  BAD_REQUEST: 'TL_ERR_BAD_REQUEST',
  /** The body did not arrive completely within the request timeout. */
  REQUEST_TIMEOUT: 'TL_ERR_REQUEST_TIMEOUT',
  /** The request decoded, but none of its spans has valid ids (protocols without partial success). */
  NO_VALID_SPANS: 'TL_ERR_NO_VALID_SPANS',
  /** The pipeline is full; retry after the `Retry-After` delay. */
  SINK_FULL: 'TL_ERR_SINK_FULL',
  /** An unexpected failure inside the server; the request may be retried. */
  INTERNAL: 'TL_ERR_INTERNAL',
  /** A query API parameter is missing, malformed or out of range (the response names it). */
  BAD_PARAMETER: 'TL_ERR_BAD_PARAMETER',
  /** No span of the requested trace is stored (never received, or removed by retention). */
  TRACE_NOT_FOUND: 'TL_ERR_TRACE_NOT_FOUND',
} as const;
/** A value of {@link ServerErrorCode}. */
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** Codes of failures at start-up (not answered to a request, so without an HTTP status). */
export const StartupErrorCode = {
  /** Another process already listens on the port. */
  PORT_IN_USE: 'TL_ERR_PORT_IN_USE',
  /** Listening failed for another reason (permission, unknown host). */
  LISTEN_FAILED: 'TL_ERR_LISTEN_FAILED',
  /** A flag or `TRACELOOM_*` variable has a value that cannot be used. */
  BAD_CONFIG: 'TL_ERR_BAD_CONFIG',
  /** The data folder cannot be created or used (permissions, not a folder, in use by another process). */
  DATA_DIR: 'TL_ERR_DATA_DIR',
} as const;
/** A value of {@link StartupErrorCode}. */
export type StartupErrorCode = (typeof StartupErrorCode)[keyof typeof StartupErrorCode];

/** What the server answers for one code. */
export interface ErrorCodeInfo {
  /** HTTP status of the response. */
  readonly status: number;
  /** gRPC status code for the same failure (also the `code` of a google.rpc.Status body). */
  readonly grpcCode: number;
  /** What the sender should do about it; appended to every message. */
  readonly hint: string;
}

/** The table behind every request error. */
export const SERVER_ERRORS: Readonly<Record<ServerErrorCode, ErrorCodeInfo>> = {
  TL_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Set the Content-Type header to one of the types this endpoint accepts.',
  },
  TL_ERR_BODY_TOO_LARGE: {
    status: 413,
    grpcCode: GrpcCode.RESOURCE_EXHAUSTED,
    hint: 'Send smaller batches (lower the exporter batch size), or raise the cap with --max-body / TRACELOOM_MAX_BODY.',
  },
  TL_ERR_BAD_GZIP: {
    status: 400,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Send a complete gzip stream, or drop the Content-Encoding header for an uncompressed body.',
  },
  TL_ERR_BAD_DEFLATE: {
    status: 400,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Send a complete zlib (RFC 1950) or raw deflate stream, or drop the Content-Encoding header.',
  },
  TL_ERR_BAD_BROTLI: {
    status: 400,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Send a complete brotli stream, or drop the Content-Encoding header.',
  },
  TL_ERR_UNSUPPORTED_ENCODING: {
    status: 415,
    grpcCode: GrpcCode.UNIMPLEMENTED,
    hint: 'Use Content-Encoding gzip, deflate, br or identity (none).',
  },
  TL_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    grpcCode: GrpcCode.UNIMPLEMENTED,
    hint: 'Use one of the methods listed in the Allow header.',
  },
  TL_ERR_NOT_FOUND: {
    status: 404,
    grpcCode: GrpcCode.UNIMPLEMENTED,
    hint: 'Check the URL path and port: OTLP/HTTP is POST /v1/traces on 4318, Zipkin POST /api/v2/spans on 9411, Jaeger POST /api/traces on 14268.',
  },
  TL_ERR_BAD_REQUEST: {
    status: 400,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Fix the HTTP request framing (headers, Content-Length, chunked encoding).',
  },
  TL_ERR_REQUEST_TIMEOUT: {
    status: 408,
    grpcCode: GrpcCode.DEADLINE_EXCEEDED,
    hint: 'Send the whole body promptly; the connection was closed.',
  },
  TL_ERR_NO_VALID_SPANS: {
    status: 400,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Every span needs a non-zero 16-byte trace id and a non-zero 8-byte span id.',
  },
  TL_ERR_SINK_FULL: {
    status: 429,
    grpcCode: GrpcCode.RESOURCE_EXHAUSTED,
    hint: 'The server is busy; retry after the Retry-After delay.',
  },
  TL_ERR_INTERNAL: {
    status: 500,
    grpcCode: GrpcCode.INTERNAL,
    hint: 'This is a server problem, not a problem with the data; see the server log.',
  },
  TL_ERR_BAD_PARAMETER: {
    status: 400,
    grpcCode: GrpcCode.INVALID_ARGUMENT,
    hint: 'Fix the named parameter; the API reference (packages/server/openapi.yaml) lists every parameter and its syntax.',
  },
  TL_ERR_TRACE_NOT_FOUND: {
    status: 404,
    grpcCode: GrpcCode.NOT_FOUND,
    hint: 'Check the trace id; the trace may not have arrived yet, may have been sampled out, or may be older than the retention period.',
  },
};

/** HTTP status, gRPC code and hint of a `TL_ERR_DECODE_*` code: always 400 / INVALID_ARGUMENT. */
const DECODE_ERROR_INFO: ErrorCodeInfo = {
  status: 400,
  grpcCode: GrpcCode.INVALID_ARGUMENT,
  hint: 'The body does not match the format its Content-Type names; fix the sender or its Content-Type.',
};

/** Any code a request can fail with: the server's own or a codec's. */
export type RequestErrorCode = ServerErrorCode | WireErrorCode;

const WIRE_CODES: ReadonlySet<string> = new Set(Object.values(WireErrorCode));

/** The status, gRPC code and hint of `code`. */
export function errorInfo(code: RequestErrorCode): ErrorCodeInfo {
  if (WIRE_CODES.has(code)) return DECODE_ERROR_INFO;
  return SERVER_ERRORS[code as ServerErrorCode];
}

/**
 * A failure answered to a request. `message` is the detail (what was wrong
 * and where); {@link ServerError.describe} adds the hint. Thrown inside
 * receivers and turned into a response by the route's error writer.
 */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  readonly code: RequestErrorCode;
  /** HTTP status of the response. */
  readonly status: number;
  /** gRPC status code for the same failure. */
  readonly grpcCode: number;
  /** For {@link ServerErrorCode.SINK_FULL}: seconds for the `Retry-After` header; 0 otherwise. */
  readonly retryAfterSeconds: number;

  constructor(code: RequestErrorCode, detail: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    const info = errorInfo(code);
    this.code = code;
    this.status = info.status;
    this.grpcCode = info.grpcCode;
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 0;
  }

  /** `CODE: detail. hint` -- the text sent to clients. */
  describe(): string {
    const detail = this.message.endsWith('.') ? this.message : `${this.message}.`;
    return `${this.code}: ${detail} ${errorInfo(this.code).hint}`;
  }

  /** A {@link ServerError} for a codec failure, keeping its code and its message (which names the place). */
  static fromDecode(e: WireDecodeError): ServerError {
    return new ServerError(e.code, e.message, { cause: e });
  }
}

/** A failure to start (port in use, bad flag). `message` says what to change. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  readonly code: StartupErrorCode;

  constructor(code: StartupErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
