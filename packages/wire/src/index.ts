export { isWireDecodeError, WireDecodeError, WireErrorCode } from './errors.ts';
export { decodeJaegerThriftBatch } from './jaeger/thrift.ts';
export { decodeOtlpTracesJson, encodeOtlpTracesJson } from './otlp/json.ts';
export { decodeOtlpTraces, encodeOtlpTraces, type FlatAttributes, type PackedIds } from './otlp/proto.ts';
export type { ExportTracePartialSuccess, ExportTraceServiceResponse, RpcStatus } from './otlp/response.ts';
export {
  decodeExportTraceResponse,
  decodeRpcStatus,
  encodeExportTraceResponse,
  encodeExportTraceResponseJson,
  encodeRpcStatus,
  encodeRpcStatusJson,
} from './otlp/response.ts';
export {
  OtlpIdProblem,
  type OtlpRejectedSpan,
  type OtlpTracesScan,
  scanOtlpTraces,
} from './otlp/scan.ts';
export { decodeZipkinJson, encodeZipkinJson } from './zipkin/json.ts';
export { decodeZipkinProto, encodeZipkinProto } from './zipkin/proto.ts';
