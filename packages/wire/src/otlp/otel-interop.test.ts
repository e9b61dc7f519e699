/**
 * Cross-checks against the official OpenTelemetry JS serializers: spans made
 * by `@opentelemetry/sdk-trace-base` and serialized by
 * `@opentelemetry/otlp-transformer` (protobuf and JSON) must decode to the
 * fields the SDK recorded, and our responses must read back through the
 * OTel exporter's response parsers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Attributes,
  type AttributeValue,
  type HrTime,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { AnyValue, KeyValue, Span } from '@traceloom/model';
import { assertSameSpans } from './fixtures/assert.ts';
import { decodeOtlpTracesJson, encodeOtlpTracesJson } from './json.ts';
import { decodeOtlpTraces, encodeOtlpTraces } from './proto.ts';
import { encodeExportTraceResponse, encodeExportTraceResponseJson } from './response.ts';

const REMOTE_PARENT = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
};

/** Spans made by the official SDK, using every field it can set. */
function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(
      { 'service.name': 'checkout', 'process.pid': 4242, 'host.arch': 'amd64', 'k8s.ready': true, ratio: 0.5 },
      { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
    ),
    spanLimits: { attributeCountLimit: 12, eventCountLimit: 2, linkCountLimit: 1 },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-http', '0.223.1', {
    schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
  });
  const other = provider.getTracer('manual');
  const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);

  const remote = trace.setSpanContext(ROOT_CONTEXT, REMOTE_PARENT);
  const root = tracer.startSpan(
    'POST /api/checkout ✓',
    {
      kind: SpanKind.SERVER,
      startTime: t0 + 0.123456,
      attributes: {
        'http.request.method': 'POST',
        'http.response.status_code': 500,
        'server.port': 8080,
        big: Number.MAX_SAFE_INTEGER,
        negative: -17,
        ratio: 0.25,
        ok: false,
        'unicode.value': 'héllo 🎉',
        'array.str': ['a', 'b'],
        'array.num': [1, 2, 3],
        'array.bool': [true, false],
        'one.too.many.1': 'x',
        'one.too.many.2': 'y',
      },
      links: [
        {
          context: { ...REMOTE_PARENT, spanId: '1111111111111111', traceFlags: TraceFlags.NONE },
          attributes: { 'link.reason': 'retry', attempt: 2 },
        },
        { context: { ...REMOTE_PARENT, spanId: '2222222222222222' } },
      ],
    },
    remote,
  );
  root.addEvent('request.sent', { 'message.id': 1 }, t0 + 1);
  root.addEvent('exception', { 'exception.type': 'Error', 'exception.message': 'boom' }, t0 + 2);
  root.addEvent('dropped', {}, t0 + 3);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });

  const child = tracer.startSpan(
    'SELECT shop.products',
    { kind: SpanKind.CLIENT, startTime: t0 + 5, attributes: { 'db.system': 'postgresql' } },
    trace.setSpan(ROOT_CONTEXT, root),
  );
  child.setStatus({ code: SpanStatusCode.OK });
  child.end(t0 + 9.5);
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    other.startSpan(`kind ${kind}`, { kind, startTime: t0 + 10 }).end(t0 + 11);
  }
  root.end(t0 + 12);
  return exporter.getFinishedSpans();
}

function nanos([seconds, nanoseconds]: HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
}

/** How otlp-transformer maps an attribute value: integral numbers become int_value, others double_value. */
function expectedValue(v: AttributeValue | undefined): AnyValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => expectedValue(x as AttributeValue));
  return v as AnyValue;
}

function expectedAttributes(a: Attributes): KeyValue[] {
  return Object.entries(a).map(([key, value]) => ({ key, value: expectedValue(value) }));
}

/** SpanFlags as OTLP 1.1 defines them: W3C flags, plus "has is_remote" and "is_remote" bits. */
function expectedFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

/** What a ReadableSpan should decode to, field by field. */
function expectedSpan(r: ReadableSpan): Span {
  const ctx = r.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: r.parentSpanContext?.spanId ?? '',
    traceState: ctx.traceState?.serialize() ?? '',
    flags: expectedFlags(ctx.traceFlags, r.parentSpanContext?.isRemote),
    name: r.name,
    // The API numbers kinds from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
    kind: r.kind + 1,
    startTimeUnixNano: nanos(r.startTime),
    endTimeUnixNano: nanos(r.endTime),
    attributes: expectedAttributes(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount,
    events: r.events.map((e) => ({
      timeUnixNano: nanos(e.time),
      name: e.name,
      attributes: expectedAttributes(e.attributes ?? {}),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: r.droppedEventsCount,
    links: r.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      traceState: l.context.traceState?.serialize() ?? '',
      attributes: expectedAttributes(l.attributes ?? {}),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: expectedFlags(l.context.traceFlags, l.context.isRemote),
    })),
    droppedLinksCount: r.droppedLinksCount,
    status: { code: r.status.code, message: r.status.message ?? '' },
    resource: {
      attributes: expectedAttributes(r.resource.attributes as Attributes),
      droppedAttributesCount: 0,
      schemaUrl: r.resource.schemaUrl ?? '',
    },
    scope: {
      name: r.instrumentationScope.name,
      version: r.instrumentationScope.version ?? '',
      attributes: [],
      droppedAttributesCount: 0,
      schemaUrl: r.instrumentationScope.schemaUrl ?? '',
    },
  };
}

/** Decoded spans in the serializer's order may differ from the exporter's: match them up by span id. */
function bySpanId(spans: readonly Span[], expected: readonly Span[]): Span[] {
  const map = new Map(spans.map((s) => [s.spanId, s]));
  return expected.map((e) => map.get(e.spanId) as Span);
}

describe('interop with @opentelemetry/otlp-transformer', () => {
  const readable = sdkSpans();
  const expected = readable.map(expectedSpan);

  it('the SDK recorded what the test expects (dropped counts, remote parent, kinds)', () => {
    const root = expected.find((s) => s.name.startsWith('POST'));
    assert.ok(root);
    assert.equal(root.droppedAttributesCount, 1);
    assert.equal(root.droppedEventsCount, 1);
    assert.equal(root.droppedLinksCount, 1);
    assert.equal(root.parentSpanId, REMOTE_PARENT.spanId);
    assert.equal(root.flags, 0x301);
    assert.deepEqual(expected.map((s) => s.kind).sort(), [1, 2, 3, 4, 5]);
  });

  it('decodes ProtobufTraceSerializer output to the recorded fields', () => {
    const bytes = ProtobufTraceSerializer.serializeRequest(readable) as Uint8Array;
    const decoded = decodeOtlpTraces(bytes);
    assertSameSpans(bySpanId(decoded, expected), expected);
    const scopes = new Set(decoded.map((s) => s.scope));
    assert.equal(scopes.size, 2, 'one scope object per ScopeSpans');
    assert.equal(new Set(decoded.map((s) => s.resource)).size, 1, 'one resource object per ResourceSpans');
  });

  it('decodes JsonTraceSerializer output to the recorded fields', () => {
    const text = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(readable) as Uint8Array);
    const decoded = decodeOtlpTracesJson(text);
    assertSameSpans(bySpanId(decoded, expected), expected);
  });

  it('re-encodes what the SDK sent without loss, in both encodings', () => {
    const decoded = decodeOtlpTraces(ProtobufTraceSerializer.serializeRequest(readable) as Uint8Array);
    assertSameSpans(decodeOtlpTraces(encodeOtlpTraces(decoded)), decoded);
    assertSameSpans(decodeOtlpTracesJson(encodeOtlpTracesJson(decoded)), decoded);
  });

  it('decodes bytes and key-value list attributes as otlp-transformer encodes them', () => {
    const [base] = readable;
    assert.ok(base);
    const custom: ReadableSpan = {
      ...base,
      spanContext: () => base.spanContext(),
      attributes: {
        bytes: new Uint8Array([0, 255, 7]),
        nested: { a: 'x', b: 2 },
      } as unknown as Attributes,
      events: [],
      links: [],
    };
    const want: KeyValue[] = [
      { key: 'bytes', value: new Uint8Array([0, 255, 7]) },
      {
        key: 'nested',
        value: {
          kvlist: [
            { key: 'a', value: 'x' },
            { key: 'b', value: 2n },
          ],
        },
      },
    ];
    const [p] = decodeOtlpTraces(ProtobufTraceSerializer.serializeRequest([custom]) as Uint8Array);
    assert.deepEqual(p?.attributes, want);
    const text = new TextDecoder().decode(JsonTraceSerializer.serializeRequest([custom]) as Uint8Array);
    const [j] = decodeOtlpTracesJson(text);
    assert.deepEqual(j?.attributes, want);
  });

  it('our responses read back through the OTel exporter response parsers', () => {
    const partial = { partialSuccess: { rejectedSpans: 3n, errorMessage: 'invalid trace id' } };
    const fromProto = ProtobufTraceSerializer.deserializeResponse(encodeExportTraceResponse(partial));
    assert.equal(Number(fromProto.partialSuccess?.rejectedSpans), 3);
    assert.equal(fromProto.partialSuccess?.errorMessage, 'invalid trace id');
    const fromJson = JsonTraceSerializer.deserializeResponse(
      new TextEncoder().encode(encodeExportTraceResponseJson(partial)),
    );
    assert.equal(Number(fromJson.partialSuccess?.rejectedSpans), 3);
    assert.equal(fromJson.partialSuccess?.errorMessage, 'invalid trace id');
    assert.deepEqual(ProtobufTraceSerializer.deserializeResponse(encodeExportTraceResponse({})), {});
  });
});
