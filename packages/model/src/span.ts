/**
 * The row form of the span model. It follows OTLP's `trace.proto` field for
 * field, so that every codec maps onto it without loss:
 * ids are lowercase hex strings, timestamps are `bigint` nanoseconds since the
 * Unix epoch, and attribute values keep their OTLP type (an int64 is a
 * `bigint`, a double is a `number`, so `1` and `1.0` stay distinguishable).
 */

/** 32 lowercase hex characters (16 bytes). */
export type TraceIdHex = string;
/** 16 lowercase hex characters (8 bytes). */
export type SpanIdHex = string;

/**
 * A key-value list value (OTLP `KeyValueList`). Wrapped in an object so that it
 * cannot be confused with an array value.
 */
export interface KvListValue {
  readonly kvlist: readonly KeyValue[];
}

/**
 * An attribute value of any OTLP type:
 * `string` (string_value), `boolean` (bool_value), `bigint` (int_value,
 * full int64 range), `number` (double_value), `Uint8Array` (bytes_value),
 * an array (array_value), a {@link KvListValue} (kvlist_value), or `null` for
 * an `AnyValue` with no value set.
 */
export type AnyValue = string | boolean | bigint | number | Uint8Array | readonly AnyValue[] | KvListValue | null;

/** One attribute. Order is kept as received; OTLP does not forbid repeated keys. */
export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

/** Span kind, numbered as in OTLP `Span.SpanKind`. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
/** A value of {@link SpanKind}. Unknown numbers from the wire are kept as they are. */
export type SpanKind = number;

/** Status code, numbered as in OTLP `Status.StatusCode`. */
export const StatusCode = {
  UNSET: 0,
  OK: 1,
  ERROR: 2,
} as const;
/** A value of {@link StatusCode}. */
export type StatusCode = number;

/** The resource that produced spans (OTLP `Resource`). */
export interface Resource {
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  /** The `schema_url` of the enclosing `ResourceSpans`; '' when absent. */
  readonly schemaUrl: string;
}

/** The instrumentation scope (library) that created spans (OTLP `InstrumentationScope`). */
export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  /** The `schema_url` of the enclosing `ScopeSpans`; '' when absent. */
  readonly schemaUrl: string;
}

/** A timed event on a span (OTLP `Span.Event`). */
export interface SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
}

/** A link to another span (OTLP `Span.Link`). */
export interface SpanLink {
  readonly traceId: TraceIdHex;
  readonly spanId: SpanIdHex;
  readonly traceState: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  /** W3C trace flags of the linked span context, plus OTLP's `SpanFlags` bits. */
  readonly flags: number;
}

/** The status of a span (OTLP `Status`). */
export interface SpanStatus {
  readonly code: StatusCode;
  readonly message: string;
}

/**
 * One span. `resource` and `scope` are shared objects: every span decoded from
 * the same `ResourceSpans` / `ScopeSpans` points at the same instance.
 */
export interface Span {
  readonly traceId: TraceIdHex;
  readonly spanId: SpanIdHex;
  /** '' for a root span. */
  readonly parentSpanId: SpanIdHex;
  /** W3C tracestate header value; '' when absent. */
  readonly traceState: string;
  /** W3C trace flags in the low 8 bits, OTLP `SpanFlags` above them. */
  readonly flags: number;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly SpanLink[];
  readonly droppedLinksCount: number;
  readonly status: SpanStatus;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

/** The resource attribute that names a service (OpenTelemetry semantic conventions). */
export const SERVICE_NAME_KEY = 'service.name';

/** The service name OpenTelemetry SDKs use when none is configured. */
export const UNKNOWN_SERVICE = 'unknown_service';

/** A resource with no attributes. Shared; never mutate. */
export const EMPTY_RESOURCE: Resource = Object.freeze({
  attributes: Object.freeze([]) as readonly KeyValue[],
  droppedAttributesCount: 0,
  schemaUrl: '',
});

/** A scope with no name. Shared; never mutate. */
export const EMPTY_SCOPE: InstrumentationScope = Object.freeze({
  name: '',
  version: '',
  attributes: Object.freeze([]) as readonly KeyValue[],
  droppedAttributesCount: 0,
  schemaUrl: '',
});

/** A status with code UNSET and no message. Shared; never mutate. */
export const UNSET_STATUS: SpanStatus = Object.freeze({ code: 0, message: '' });

/** Finds the first attribute with `key`, or `undefined`. */
export function getAttribute(attributes: readonly KeyValue[], key: string): AnyValue | undefined {
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i] as KeyValue;
    if (kv.key === key) return kv.value;
  }
  return undefined;
}

/**
 * The service a resource belongs to: its `service.name` attribute when that is
 * a non-empty string, otherwise {@link UNKNOWN_SERVICE}.
 */
export function serviceNameOf(resource: Resource): string {
  const v = getAttribute(resource.attributes, SERVICE_NAME_KEY);
  return typeof v === 'string' && v !== '' ? v : UNKNOWN_SERVICE;
}

/** True when `v` is a key-value list value. */
export function isKvList(v: AnyValue | undefined): v is KvListValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Structural equality of attribute values, type included: `1n` and `1` differ,
 * byte arrays compare by content, `NaN` equals `NaN`.
 */
export function anyValueEquals(a: AnyValue, b: AnyValue): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!anyValueEquals(a[i] as AnyValue, b[i] as AnyValue)) return false;
    return true;
  }
  return keyValuesEqual((a as KvListValue).kvlist, (b as KvListValue).kvlist);
}

/** Equality of two attribute lists, order included. */
export function keyValuesEqual(a: readonly KeyValue[], b: readonly KeyValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as KeyValue;
    const y = b[i] as KeyValue;
    if (x.key !== y.key || !anyValueEquals(x.value, y.value)) return false;
  }
  return true;
}
