/**
 * The OTLP trace messages as the protobuf decoder (proto.ts) and the scanner
 * (scan.ts) both read them: field names and wire types per message, for
 * wire-type checks and error messages. Field numbers from opentelemetry-proto `trace/v1/trace.proto`,
 * `common/v1/common.proto`, `resource/v1/resource.proto` and
 * `collector/trace/v1/trace_service.proto`.
 */
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import type { ProtoReader } from '../internal/proto-reader.ts';
import { MAX_ANY_VALUE_DEPTH } from './shared.ts';

/** Which field numbers a message knows, with their wire types, for error messages and wire-type checks. */
export interface MessageFields {
  readonly name: string;
  readonly names: readonly string[];
  readonly types: Int8Array;
}

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

function fields(name: string, spec: Record<number, readonly [string, number]>): MessageFields {
  const max = Math.max(...Object.keys(spec).map(Number));
  const names: string[] = new Array<string>(max + 1).fill('');
  const types = new Int8Array(max + 1).fill(-1);
  for (const [k, [fieldName, wireType]] of Object.entries(spec)) {
    names[Number(k)] = fieldName;
    types[Number(k)] = wireType;
  }
  return { name, names, types };
}

export const TRACES_DATA = fields('ExportTraceServiceRequest', { 1: ['resource_spans', LEN] });
export const RESOURCE_SPANS = fields('ResourceSpans', {
  1: ['resource', LEN],
  2: ['scope_spans', LEN],
  3: ['schema_url', LEN],
});
export const RESOURCE = fields('Resource', { 1: ['attributes', LEN], 2: ['dropped_attributes_count', VARINT] });
export const SCOPE_SPANS = fields('ScopeSpans', { 1: ['scope', LEN], 2: ['spans', LEN], 3: ['schema_url', LEN] });
export const SCOPE = fields('InstrumentationScope', {
  1: ['name', LEN],
  2: ['version', LEN],
  3: ['attributes', LEN],
  4: ['dropped_attributes_count', VARINT],
});
export const SPAN = fields('Span', {
  1: ['trace_id', LEN],
  2: ['span_id', LEN],
  3: ['trace_state', LEN],
  4: ['parent_span_id', LEN],
  5: ['name', LEN],
  6: ['kind', VARINT],
  7: ['start_time_unix_nano', I64],
  8: ['end_time_unix_nano', I64],
  9: ['attributes', LEN],
  10: ['dropped_attributes_count', VARINT],
  11: ['events', LEN],
  12: ['dropped_events_count', VARINT],
  13: ['links', LEN],
  14: ['dropped_links_count', VARINT],
  15: ['status', LEN],
  16: ['flags', I32],
});
export const STATUS = fields('Status', { 2: ['message', LEN], 3: ['code', VARINT] });
export const EVENT = fields('Span.Event', {
  1: ['time_unix_nano', I64],
  2: ['name', LEN],
  3: ['attributes', LEN],
  4: ['dropped_attributes_count', VARINT],
});
export const LINK = fields('Span.Link', {
  1: ['trace_id', LEN],
  2: ['span_id', LEN],
  3: ['trace_state', LEN],
  4: ['attributes', LEN],
  5: ['dropped_attributes_count', VARINT],
  6: ['flags', I32],
});
export const KEY_VALUE = fields('KeyValue', { 1: ['key', LEN], 2: ['value', LEN] });
export const ANY_VALUE = fields('AnyValue', {
  1: ['string_value', LEN],
  2: ['bool_value', VARINT],
  3: ['int_value', VARINT],
  4: ['double_value', I64],
  5: ['array_value', LEN],
  6: ['kvlist_value', LEN],
  7: ['bytes_value', LEN],
});
export const ARRAY_VALUE = fields('ArrayValue', { 1: ['values', LEN] });
export const KEY_VALUE_LIST = fields('KeyValueList', { 1: ['values', LEN] });

/** Skips a field the reader does not model, or throws when a known field has the wrong wire type. */
export function other(r: ProtoReader, t: number, m: MessageFields): void {
  const f = t >>> 3;
  if (f < m.types.length) {
    const expected = m.types[f] as number;
    if (expected >= 0) r.wrongType(`${m.name}.${m.names[f]}`, t, expected);
  }
  r.skip(t & 7);
}

/** The error for an `AnyValue` nested deeper than {@link MAX_ANY_VALUE_DEPTH}, found at byte `pos`. */
export function tooDeep(pos: number): WireDecodeError {
  return new WireDecodeError(
    WireErrorCode.TOO_DEEP,
    `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels at byte ${pos}`,
    pos,
  );
}
