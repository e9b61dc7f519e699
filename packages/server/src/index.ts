export type { ApiServerOptions, NativeApiOptions, RunningApiServer } from './api/native.ts';
export { DEFAULT_API_PORT, mountNativeApi, NATIVE_API_ROUTES, startApiServer } from './api/native.ts';
export type { ErrorCodeInfo, RequestErrorCode } from './errors.ts';
export {
  errorInfo,
  GrpcCode,
  SERVER_ERRORS,
  ServerError,
  ServerErrorCode,
  StartupError,
  StartupErrorCode,
} from './errors.ts';
export type { QueryEngineOptions, TraceResult } from './query/engine.ts';
export { QueryEngine } from './query/engine.ts';
export { summaryToJson, traceToJson } from './query/trace-json.ts';
export type {
  CorsOptions,
  ErrorWriter,
  HttpServerOptions,
  RouteContext,
  RouteHandler,
  RouteOptions,
} from './receivers/http-server.ts';
export {
  ClientGoneError,
  DEFAULT_MAX_BODY_BYTES,
  ERROR_CODE_HEADER,
  HttpServer,
  jsonErrorWriter,
  mediaType,
  readBody,
  sendBytes,
  textErrorWriter,
} from './receivers/http-server.ts';
export type { ReceiverEndpoint, ReceiverName, ReceiversOptions, RunningReceivers } from './receivers/index.ts';
export { DEFAULT_RECEIVER_HOST, DEFAULT_RECEIVER_PORTS, startReceivers } from './receivers/index.ts';
export { ReceiverStats } from './receivers/ingest.ts';
export { JAEGER_TRACES_PATH, mountJaeger } from './receivers/jaeger.ts';
export type { Logger, LogLevel } from './receivers/logger.ts';
export { consoleLogger, silentLogger } from './receivers/logger.ts';
export type { ExportTraceRequest, OtlpGrpcReceiverOptions, RunningGrpcReceiver } from './receivers/otlp-grpc.ts';
export { startOtlpGrpc, TRACE_SERVICE_EXPORT_PATH, traceServiceDefinition } from './receivers/otlp-grpc.ts';
export { mountOtlpHttp, OTLP_TRACES_PATH, otlpErrorWriter } from './receivers/otlp-http.ts';
export type { BodyFormat, IngestMeta, IngestProtocol, SpanSink } from './receivers/sink.ts';
export { CountingSink, RecordingSink, SinkFullError } from './receivers/sink.ts';
export { mountZipkin, REJECTED_SPANS_HEADER, ZIPKIN_SPANS_PATH } from './receivers/zipkin.ts';
export type { DuckDbStoreOptions } from './storage/duckdb/duckdb-store.ts';
export { DuckDbStore } from './storage/duckdb/duckdb-store.ts';
export { MemoryStore } from './storage/memory/memory-store.ts';
export type {
  AttributeCondition,
  AttributeListOptions,
  AttributeOperator,
  AttributeScope,
  Operation,
  RetentionResult,
  SearchQuery,
  SearchResult,
  SearchSort,
  ServiceSpanCount,
  StoreStats,
  TimeRange,
  TraceStore,
  TraceSummary,
} from './storage/types.ts';
export { QueryInputError } from './storage/types.ts';
export type { DurableSinkOptions, DurableSinkStats } from './wal/durable-sink.ts';
export { DurableSink } from './wal/durable-sink.ts';
export type { WalOptions, WalRecord } from './wal/index.ts';
export { WalFullError, WriteAheadLog } from './wal/index.ts';
