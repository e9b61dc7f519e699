export { decodeBase64, encodeBase64 } from './base64.ts';
export { SpanBatch } from './batch.ts';
export { spanDiff, spanEquals } from './compare.ts';
export type { CriticalPathSegment } from './critical-path.ts';
export { criticalPath } from './critical-path.ts';
export {
  bytesToHex,
  hexToBytes,
  hexToBytesInto,
  hexToIdWord,
  idWordsToHex,
  isHex,
  isValidSpanId,
  isValidTraceId,
  isZeroHex,
  TraceIdWords,
  ZERO_SPAN_ID,
  ZERO_TRACE_ID,
} from './ids.ts';
export type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  KvListValue,
  Resource,
  Span,
  SpanEvent,
  SpanIdHex,
  SpanLink,
  SpanStatus,
  TraceIdHex,
} from './span.ts';
export {
  anyValueEquals,
  EMPTY_RESOURCE,
  EMPTY_SCOPE,
  getAttribute,
  isKvList,
  keyValuesEqual,
  SERVICE_NAME_KEY,
  SpanKind,
  StatusCode,
  serviceNameOf,
  UNKNOWN_SERVICE,
  UNSET_STATUS,
} from './span.ts';
export type { AssembledTrace, AssembleOptions, TraceNode } from './trace.ts';
export { assembleTrace, formatSignedDuration } from './trace.ts';
export type {
  AttributeJson,
  AttributeType,
  EventJson,
  LinkJson,
  ResourceJson,
  ScopeJson,
  ServiceCountJson,
  TraceCompactJson,
  TraceWithCriticalPath,
  ValueJson,
} from './trace-json.ts';
export {
  attributesToJson,
  eventToJson,
  JsonTable,
  linkToJson,
  micros,
  resourceToJson,
  scopeToJson,
  traceToCompactJson,
  valueToJson,
} from './trace-json.ts';
