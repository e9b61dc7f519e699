/**
 * The trace views the native API sends, mirrored from
 * packages/server/src/query/trace-json.ts (the UI talks HTTP and must not
 * import the server). The trace page reads `?format=compact`
 * ({@link TraceCompactJson}): the tree column by column with interned
 * strings, a sixth of the tree view's size at 100,000 spans.
 */

/** An attribute value as the API writes it (`int` as decimal text, `bytes` base64). */
export interface ValueJson {
  readonly type: 'string' | 'bool' | 'int' | 'double' | 'bytes' | 'array' | 'kvlist' | 'null';
  readonly value: string | boolean | number | null | readonly ValueJson[] | readonly AttributeJson[];
}

/** One attribute. */
export interface AttributeJson extends ValueJson {
  readonly key: string;
}

/** A resource, listed once per trace. */
export interface ResourceJson {
  readonly serviceName: string;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** An instrumentation scope, listed once per trace. */
export interface ScopeJson {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** A span event (clock-skew adjusted). */
export interface EventJson {
  readonly name: string;
  readonly timeUnixNano: string;
  readonly timeMicros: number;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
}

/** A span link. */
export interface LinkJson {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly flags: number;
  readonly attributes: readonly AttributeJson[];
  readonly droppedAttributesCount: number;
}

/** Span and error counts of one service in a trace. */
export interface ServiceCountJson {
  readonly service: string;
  readonly spanCount: number;
  readonly errorCount: number;
}

/** `GET /api/v1/traces/{id}?format=compact`; see the server's `TraceCompactJson` for every column. */
export interface TraceCompactJson {
  readonly format: 'compact';
  /** True when attributes, events and links were left out (`maxDetailedSpans`). */
  readonly partial?: boolean;
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootName: string;
  readonly startUnixNano: string;
  readonly startMicros: number;
  readonly durationNano: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly depth: number;
  readonly orphanCount: number;
  readonly duplicatesRemoved: number;
  readonly warningCount: number;
  readonly warnings: readonly string[];
  readonly services: readonly ServiceCountJson[];
  readonly resources: readonly ResourceJson[];
  readonly scopes: readonly ScopeJson[];
  readonly strings: readonly string[];
  readonly spans: {
    readonly spanIds: string;
    readonly parentSpanIds: string;
    readonly parent: readonly number[];
    readonly depth: readonly number[];
    readonly name: readonly number[];
    readonly kind: readonly number[];
    readonly resource: readonly number[];
    readonly scope: readonly number[];
    readonly start: readonly number[];
    readonly duration: readonly number[];
    readonly selfTime: readonly number[];
    readonly status: readonly number[];
    readonly statusMessage: readonly number[];
    readonly flags: readonly number[];
    readonly traceState: readonly number[];
    readonly bits: readonly number[];
    readonly attrs: readonly number[];
    readonly attrKeys: readonly number[];
    readonly attrTypes: readonly number[];
    readonly attrValues: readonly number[];
  };
  readonly events: readonly { readonly span: number; readonly events: readonly EventJson[] }[];
  readonly links: readonly { readonly span: number; readonly links: readonly LinkJson[] }[];
  readonly spanWarnings: readonly { readonly span: number; readonly warnings: readonly string[] }[];
  readonly skews: readonly { readonly span: number; readonly skewNano: string }[];
  readonly dropped: readonly {
    readonly span: number;
    readonly attributes: number;
    readonly events: number;
    readonly links: number;
  }[];
  readonly criticalPath: readonly number[];
}

/** Attribute type names by the codes of {@link TraceCompactJson} `attrTypes` (8: a NaN or infinite double, as text). */
export const ATTRIBUTE_TYPES: readonly ValueJson['type'][] = [
  'string',
  'bool',
  'int',
  'double',
  'bytes',
  'array',
  'kvlist',
  'null',
  'double',
];
