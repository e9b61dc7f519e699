/**
 * Limits on what one span keeps, as the OpenTelemetry specification defines
 * them ("Span Limits"). Everything past a limit is dropped and counted in the
 * span's `dropped*Count` fields.
 */
export interface SpanLimits {
  /** Attributes per span. @default OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, else OTEL_ATTRIBUTE_COUNT_LIMIT, else 128 */
  attributeCountLimit?: number;
  /** Characters kept of a string attribute value (and of each string in an array). @default OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, else OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, else unlimited */
  attributeValueLengthLimit?: number;
  /** Events per span; the oldest is dropped first. @default OTEL_SPAN_EVENT_COUNT_LIMIT, else 128 */
  eventCountLimit?: number;
  /** Links per span. @default OTEL_SPAN_LINK_COUNT_LIMIT, else 128 */
  linkCountLimit?: number;
  /** Attributes per event. @default OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, else 128 */
  attributePerEventCountLimit?: number;
  /** Attributes per link. @default OTEL_LINK_ATTRIBUTE_COUNT_LIMIT, else 128 */
  attributePerLinkCountLimit?: number;
}

/** {@link SpanLimits} with every limit decided; `Infinity` means unlimited. */
export type ResolvedSpanLimits = Readonly<Required<SpanLimits>>;

/** The specification's defaults. */
export const DEFAULT_SPAN_LIMITS: ResolvedSpanLimits = Object.freeze({
  attributeCountLimit: 128,
  attributeValueLengthLimit: Number.POSITIVE_INFINITY,
  eventCountLimit: 128,
  linkCountLimit: 128,
  attributePerEventCountLimit: 128,
  attributePerLinkCountLimit: 128,
});

function envLimit(env: NodeJS.ProcessEnv, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 0) return n;
  }
  return undefined;
}

function valid(n: number | undefined): number | undefined {
  return n !== undefined && (Number.isInteger(n) || n === Number.POSITIVE_INFINITY) && n >= 0 ? n : undefined;
}

/**
 * Options over `OTEL_*` variables over the defaults. Invalid numbers
 * (negative, fractional, not a number) are ignored at each level.
 */
export function resolveSpanLimits(options: SpanLimits = {}, env: NodeJS.ProcessEnv = process.env): ResolvedSpanLimits {
  const d = DEFAULT_SPAN_LIMITS;
  return Object.freeze({
    attributeCountLimit:
      valid(options.attributeCountLimit) ??
      envLimit(env, 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT') ??
      d.attributeCountLimit,
    attributeValueLengthLimit:
      valid(options.attributeValueLengthLimit) ??
      envLimit(env, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT') ??
      d.attributeValueLengthLimit,
    eventCountLimit:
      valid(options.eventCountLimit) ?? envLimit(env, 'OTEL_SPAN_EVENT_COUNT_LIMIT') ?? d.eventCountLimit,
    linkCountLimit: valid(options.linkCountLimit) ?? envLimit(env, 'OTEL_SPAN_LINK_COUNT_LIMIT') ?? d.linkCountLimit,
    attributePerEventCountLimit:
      valid(options.attributePerEventCountLimit) ??
      envLimit(env, 'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT') ??
      d.attributePerEventCountLimit,
    attributePerLinkCountLimit:
      valid(options.attributePerLinkCountLimit) ??
      envLimit(env, 'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT') ??
      d.attributePerLinkCountLimit,
  });
}
