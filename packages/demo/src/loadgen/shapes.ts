/**
 * Trace shapes: the figures that make synthetic load look like real traffic
 * (spans per trace, depth, fan-out, attribute counts and value lengths,
 * events, errors, span kinds). {@link measureShapes} measures them on the
 * traces a Traceloom server holds (a demo run); {@link DEMO_SHAPES} is such a
 * measurement, which the generator is calibrated against and tested with.
 */
import { type Span, SpanKind, StatusCode } from '@traceloom/model';

/** One span, reduced to what the shape figures need. */
export interface ShapeSpan {
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly kind: number;
  readonly service: string;
  /** Length of each attribute value as text. */
  readonly attributeLengths: readonly number[];
  readonly events: number;
  readonly error: boolean;
}

/** Quantiles of a distribution. */
export interface Quantiles {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The measured shape of a set of traces. */
export interface TraceShapes {
  readonly traces: number;
  readonly spans: number;
  readonly spansPerTrace: Quantiles;
  /** Levels below the root (a root alone is depth 0). */
  readonly depth: Quantiles;
  /** Children of spans that have children. */
  readonly fanOut: Quantiles;
  readonly servicesPerTrace: Quantiles;
  readonly attributesPerSpan: Quantiles;
  /** Mean attribute count by span kind name. */
  readonly attributesByKind: Readonly<Record<string, number>>;
  /** Length of attribute values as text. */
  readonly attributeValueLength: Quantiles;
  readonly eventsPerSpan: number;
  /** Share of spans with status ERROR. */
  readonly errorSpanRate: number;
  /** Share of traces with at least one ERROR span. */
  readonly errorTraceRate: number;
  /** Share of spans by kind name. */
  readonly kindShare: Readonly<Record<string, number>>;
}

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function quantiles(values: number[]): Quantiles {
  if (values.length === 0) return { p10: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    p10: q(0.1),
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: s[s.length - 1] as number,
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/** The shapes of `traces` (each a list of its spans). */
export function shapesOf(traces: readonly (readonly ShapeSpan[])[]): TraceShapes {
  const sizes: number[] = [];
  const depths: number[] = [];
  const fanOuts: number[] = [];
  const services: number[] = [];
  const attrs: number[] = [];
  const lengths: number[] = [];
  const byKind = new Map<string, { n: number; attrs: number }>();
  let events = 0;
  let errors = 0;
  let errorTraces = 0;
  let spans = 0;
  for (const t of traces) {
    sizes.push(t.length);
    const byId = new Map(t.map((s) => [s.spanId, s]));
    const children = new Map<string, number>();
    const depthOf = new Map<string, number>();
    const depth = (s: ShapeSpan): number => {
      let d = depthOf.get(s.spanId);
      if (d !== undefined) return d;
      const p = byId.get(s.parentSpanId);
      d = p === undefined || p === s ? 0 : depth(p) + 1;
      depthOf.set(s.spanId, d);
      return d;
    };
    let maxDepth = 0;
    let failed = false;
    for (const s of t) {
      spans++;
      if (byId.has(s.parentSpanId)) children.set(s.parentSpanId, (children.get(s.parentSpanId) ?? 0) + 1);
      maxDepth = Math.max(maxDepth, depth(s));
      attrs.push(s.attributeLengths.length);
      for (const l of s.attributeLengths) lengths.push(l);
      const k = KIND_NAMES[s.kind] ?? 'unspecified';
      const e = byKind.get(k) ?? { n: 0, attrs: 0 };
      e.n++;
      e.attrs += s.attributeLengths.length;
      byKind.set(k, e);
      events += s.events;
      if (s.error) {
        errors++;
        failed = true;
      }
    }
    if (failed) errorTraces++;
    depths.push(maxDepth);
    for (const n of children.values()) fanOuts.push(n);
    services.push(new Set(t.map((s) => s.service)).size);
  }
  const share = (x: number) => Math.round((x / Math.max(1, spans)) * 10_000) / 10_000;
  return {
    traces: traces.length,
    spans,
    spansPerTrace: quantiles(sizes),
    depth: quantiles(depths),
    fanOut: quantiles(fanOuts),
    servicesPerTrace: quantiles(services),
    attributesPerSpan: quantiles(attrs),
    attributesByKind: Object.fromEntries(
      [...byKind].sort().map(([k, v]) => [k, Math.round((v.attrs / v.n) * 100) / 100]),
    ),
    attributeValueLength: quantiles(lengths),
    eventsPerSpan: share(events),
    errorSpanRate: share(errors),
    errorTraceRate: Math.round((errorTraces / Math.max(1, traces.length)) * 10_000) / 10_000,
    kindShare: Object.fromEntries([...byKind].sort().map(([k, v]) => [k, share(v.n)])),
  };
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x)) ?? '';
}

/** A model span reduced for {@link shapesOf}. */
export function shapeOfSpan(s: Span): ShapeSpan {
  const service = s.resource.attributes.find((a) => a.key === 'service.name')?.value;
  return {
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    kind: s.kind,
    service: typeof service === 'string' ? service : '',
    attributeLengths: s.attributes.map((a) => valueText(a.value).length),
    events: s.events.length,
    error: s.status.code === StatusCode.ERROR,
  };
}

interface ApiSpan {
  spanId: string;
  parentSpanId: string;
  kind: number;
  serviceName: string;
  attributes: { value: unknown }[];
  events: unknown[];
  status: { code: number };
}

/**
 * Measures the shapes of the traces a Traceloom server holds: searches the
 * last `lookback` with the native API (`/api/v1/search`), reads up to
 * `limit` traces whole, and returns {@link shapesOf} them.
 *
 * @example
 * const shapes = await measureShapes('http://localhost:16686', { lookback: '15m' });
 */
export async function measureShapes(
  apiBase: string,
  options: { lookback?: string; limit?: number; service?: string } = {},
): Promise<TraceShapes> {
  const base = apiBase.replace(/\/+$/, '');
  const q = new URLSearchParams({ lookback: options.lookback ?? '1h', limit: String(options.limit ?? 1000) });
  if (options.service !== undefined) q.set('service', options.service);
  const res = await fetch(`${base}/api/v1/search?${q}`);
  if (!res.ok) throw new Error(`search failed: ${res.status} ${await res.text()}`);
  const ids = ((await res.json()) as { traces: { traceId: string }[] }).traces.map((t) => t.traceId);
  const traces: ShapeSpan[][] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      const r = await fetch(`${base}/api/v1/traces/${id}`);
      if (!r.ok) continue;
      const t = (await r.json()) as { spans: ApiSpan[] };
      traces.push(
        t.spans.map((s) => ({
          spanId: s.spanId,
          parentSpanId: s.parentSpanId,
          kind: s.kind,
          service: s.serviceName,
          attributeLengths: s.attributes.map((a) => valueText(a.value).length),
          events: s.events.length,
          error: s.status.code === StatusCode.ERROR,
        })),
      );
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return shapesOf(traces);
}

/** Kind numbers by name, for readers of {@link TraceShapes.kindShare}. */
export const SPAN_KIND_BY_NAME: Readonly<Record<string, number>> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};
