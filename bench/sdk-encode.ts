/**
 * Helper of the `sdk` benchmark (not a benchmark itself: its name has a '-'):
 * the cost of OTLP protobuf serialization in the export path, ours against
 * the official SDK's.
 *
 * - ours: `encodeOtlpTraces` of `@traceloom/wire` on finished spans in the
 *   form our SDK hands its processors (model `Span`s: hex ids, `bigint`
 *   nanoseconds, integer attributes as `bigint`, one resource object and one
 *   scope object shared by the spans of a service);
 * - theirs: `ProtobufTraceSerializer` of `@opentelemetry/otlp-transformer` on
 *   the same spans as the official SDK's `ReadableSpan`s, which is what its
 *   `OTLPTraceExporter` (exporter-trace-otlp-proto) calls per batch.
 *
 * The payload is `makeReadableSpans` of the `wire` benchmark (four services,
 * about ten semantic-convention attributes per span, one to three events, a
 * link on one span in eight), 512 spans per batch, the batch size of a batch
 * span processor. Before timing, both encodings are decoded and compared span
 * by span, so the two sides are known to write the same data.
 */
import { type Attributes, type AttributeValue, type HrTime, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  type AnyValue,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  spanDiff,
} from '../packages/model/src/index.ts';
import { TracerProvider } from '../packages/sdk/src/trace/tracer-provider.ts';
import type { FinishedSpan, SpanProcessor } from '../packages/sdk/src/trace/types.ts';
import { decodeOtlpTraces, encodeOtlpTraces } from '../packages/wire/src/index.ts';
import { median } from './internal/measure.ts';
import { makeReadableSpans } from './wire.ts';

const SPANS = 512;
/** Different batches per round, so that string caches see misses as well as hits. */
const PAYLOADS = 4;
/** Rounds run before measuring, so that the JIT has optimized both sides. */
const WARMUP_ROUNDS = 15;
const BLOCKS = 10;
const BLOCK_ROUNDS = 3;

// OTLP SpanFlags: the span's parent-is-remote bit is known (0x100), and set (0x200).
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function toAnyValue(v: AttributeValue | undefined): AnyValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => toAnyValue(x ?? undefined));
  return v as string | boolean;
}

function toKeyValues(attributes: Attributes): KeyValue[] {
  const out: KeyValue[] = [];
  for (const key of Object.keys(attributes)) out.push({ key, value: toAnyValue(attributes[key]) });
  return out;
}

function toNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/**
 * The model spans our SDK would hand its processors for the same spans:
 * resource and scope objects shared as the SDK shares them (one per provider,
 * one per tracer).
 */
export function toModelSpans(readable: readonly ReadableSpan[]): Span[] {
  const resources = new Map<object, Resource>();
  const scopes = new Map<object, InstrumentationScope>();
  return readable.map((r) => {
    let resource = resources.get(r.resource);
    if (resource === undefined) {
      resource = {
        attributes: toKeyValues(r.resource.attributes),
        droppedAttributesCount: 0,
        schemaUrl: r.resource.schemaUrl ?? '',
      };
      resources.set(r.resource, resource);
    }
    let scope = scopes.get(r.instrumentationScope);
    if (scope === undefined) {
      const s = r.instrumentationScope;
      scope = {
        name: s.name,
        version: s.version ?? '',
        attributes: [],
        droppedAttributesCount: 0,
        schemaUrl: s.schemaUrl ?? '',
      };
      scopes.set(r.instrumentationScope, scope);
    }
    const sc = r.spanContext();
    const parent = r.parentSpanContext;
    return {
      traceId: sc.traceId,
      spanId: sc.spanId,
      parentSpanId: parent?.spanId ?? '',
      traceState: sc.traceState?.serialize() ?? '',
      flags: sc.traceFlags | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0),
      name: r.name,
      kind: r.kind + 1,
      startTimeUnixNano: toNanos(r.startTime),
      endTimeUnixNano: toNanos(r.endTime),
      attributes: toKeyValues(r.attributes),
      droppedAttributesCount: r.droppedAttributesCount,
      events: r.events.map((e) => ({
        timeUnixNano: toNanos(e.time),
        name: e.name,
        attributes: toKeyValues(e.attributes ?? {}),
        droppedAttributesCount: e.droppedAttributesCount ?? 0,
      })),
      droppedEventsCount: r.droppedEventsCount,
      links: r.links.map((l) => ({
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        traceState: l.context.traceState?.serialize() ?? '',
        attributes: toKeyValues(l.attributes ?? {}),
        droppedAttributesCount: l.droppedAttributesCount ?? 0,
        flags: l.context.traceFlags | HAS_IS_REMOTE | (l.context.isRemote ? IS_REMOTE : 0),
      })),
      droppedLinksCount: r.droppedLinksCount,
      status: { code: r.status.code, message: r.status.message ?? '' },
      resource,
      scope,
    };
  });
}

/** Collects finished spans. */
class Collector implements SpanProcessor {
  spans: FinishedSpan[] = [];
  onStart(): void {}
  onEnd(span: FinishedSpan): void {
    this.spans.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/**
 * The same spans made by our SDK's tracer, one provider per resource: what a
 * batch processor really hands the exporter, with attributes still in the
 * span's untyped form until the encoder reads them (the typing is part of the
 * export cost). Ids differ from the originals (our tracer makes new span ids
 * under the original trace and parent ids); the content is the same.
 */
export function replayThroughOurSdk(readable: readonly ReadableSpan[]): FinishedSpan[] {
  const collector = new Collector();
  const providers = new Map<object, TracerProvider>();
  for (const r of readable) {
    let provider = providers.get(r.resource);
    if (provider === undefined) {
      provider = new TracerProvider({
        resourceAttributes: r.resource.attributes as Attributes,
        spanProcessors: [collector],
        env: {},
      });
      providers.set(r.resource, provider);
    }
    const s = r.instrumentationScope;
    const tracer = provider.getTracer(s.name, s.version, { schemaUrl: s.schemaUrl });
    const parent = r.parentSpanContext;
    const ctx =
      parent === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, { ...parent, traceId: r.spanContext().traceId });
    const span = tracer.startSpan(
      r.name,
      { kind: r.kind, attributes: r.attributes, links: r.links, startTime: r.startTime, root: parent === undefined },
      ctx,
    );
    for (const e of r.events) span.addEvent(e.name, e.attributes, e.time);
    span.setStatus(r.status);
    span.end(r.endTime);
  }
  if (collector.spans.length !== readable.length) {
    throw new Error(`sdk-encode: our tracer recorded ${collector.spans.length} of ${readable.length} spans`);
  }
  return collector.spans;
}

/** Throws unless our encoding and theirs decode to the same spans. */
function checkSameData(ours: Uint8Array, theirs: Uint8Array): void {
  const a = decodeOtlpTraces(ours);
  const b = decodeOtlpTraces(theirs);
  if (a.length !== b.length) throw new Error(`sdk-encode: ${a.length} spans against ${b.length}`);
  const byId = new Map(b.map((s) => [s.spanId, s]));
  for (const s of a) {
    const other = byId.get(s.spanId);
    const diff = other === undefined ? 'missing' : spanDiff(s, other);
    if (diff !== undefined) throw new Error(`sdk-encode: span ${s.spanId} differs in ${diff}`);
  }
}

/**
 * Nanoseconds per span to serialize batches of 512 finished spans as an OTLP
 * protobuf request: `ours` with `encodeOtlpTraces` on spans fresh from our
 * SDK's tracer (so the typing of their attributes is counted), `theirs`
 * with the official `ProtobufTraceSerializer` on ReadableSpans fresh from the
 * official SDK's tracer, as a batch processor hands them over: both sides'
 * spans were made just before, untimed, so each encoder meets young objects
 * and the scavenges they bring. `theirsAged` is the official serializer on
 * the same ReadableSpans every round (long-lived, warm in the caches), the
 * baseline of earlier sessions, kept for comparison. Each is the median of
 * timed rounds after a warm-up; the three alternate in short blocks so that
 * all see the same machine load.
 */
export async function measureOtlpEncode(): Promise<{ ours: number; theirs: number; theirsAged: number }> {
  const readable = Array.from({ length: PAYLOADS }, (_, k) => makeReadableSpans(SPANS, 142 + k));
  const model = readable.map(toModelSpans);
  for (let k = 0; k < PAYLOADS; k++) {
    checkSameData(
      encodeOtlpTraces(model[k] as Span[]),
      ProtobufTraceSerializer.serializeRequest(readable[k] as ReadableSpan[]) as Uint8Array,
    );
  }
  let sink = 0;
  /** `prepare` runs untimed before each round (fresh spans for ours), `fn` is timed. */
  const round = (
    prepare: () => void,
    fn: (k: number) => Uint8Array | undefined,
    out: number[] | undefined,
    rounds: number,
  ) => {
    for (let r = 0; r < rounds; r++) {
      prepare();
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < PAYLOADS; k++) sink += fn(k)?.length ?? 0;
      out?.push(Number(process.hrtime.bigint() - t0) / (PAYLOADS * SPANS));
    }
  };
  let fresh: FinishedSpan[][] = [];
  const replay = () => {
    fresh = readable.map(replayThroughOurSdk);
  };
  let theirsFresh: ReadableSpan[][] = readable;
  const remake = () => {
    theirsFresh = readable.map((_, k) => makeReadableSpans(SPANS, 142 + k));
  };
  const nothing = () => {};
  const ours = (k: number) => encodeOtlpTraces(fresh[k] as FinishedSpan[]);
  const theirs = (k: number) => ProtobufTraceSerializer.serializeRequest(theirsFresh[k] as ReadableSpan[]);
  const theirsAged = (k: number) => ProtobufTraceSerializer.serializeRequest(readable[k] as ReadableSpan[]);
  round(replay, ours, undefined, WARMUP_ROUNDS);
  round(remake, theirs, undefined, WARMUP_ROUNDS);
  round(nothing, theirsAged, undefined, WARMUP_ROUNDS);
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    round(replay, ours, a, BLOCK_ROUNDS);
    round(remake, theirs, b, BLOCK_ROUNDS);
    round(nothing, theirsAged, c, BLOCK_ROUNDS);
  }
  if (sink < 0) console.error(sink);
  return { ours: median(a), theirs: median(b), theirsAged: median(c) };
}
