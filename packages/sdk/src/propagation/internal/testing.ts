// Helpers for the propagator tests only (not exported from the package).
import assert from 'node:assert/strict';
import type { Context, SpanContext, TextMapPropagator } from '@opentelemetry/api';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';

/** A carrier as Node's header objects are: lower-case names, string or string[] values. */
export type Carrier = Record<string, string | string[]>;

export function contextWith(sc: SpanContext, base: Context = ROOT_CONTEXT): Context {
  return trace.setSpanContext(base, sc);
}

export function inject(p: TextMapPropagator, ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  p.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

export function extract(p: TextMapPropagator, carrier: Carrier, base: Context = ROOT_CONTEXT): Context {
  return p.extract(base, carrier, defaultTextMapGetter);
}

export function extractSpanContext(p: TextMapPropagator, carrier: Carrier): SpanContext | undefined {
  return trace.getSpanContext(extract(p, carrier));
}

/** Asserts two span contexts carry the same traceId, spanId, traceFlags, isRemote and traceState. */
export function assertSameSpanContext(
  actual: SpanContext | undefined,
  expected: SpanContext | undefined,
  msg = '',
): void {
  assert.ok(actual !== undefined, `no span context ${msg}`);
  assert.ok(expected !== undefined, `no expected span context ${msg}`);
  assert.equal(actual.traceId, expected.traceId, `traceId ${msg}`);
  assert.equal(actual.spanId, expected.spanId, `spanId ${msg}`);
  assert.equal(actual.traceFlags, expected.traceFlags, `traceFlags ${msg}`);
  assert.equal(actual.isRemote, expected.isRemote, `isRemote ${msg}`);
  assert.equal(actual.traceState?.serialize() ?? '', expected.traceState?.serialize() ?? '', `traceState ${msg}`);
}

export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const SPAN_ID = '00f067aa0ba902b7';

/** A few local span contexts to send through inject. */
export const SAMPLE_CONTEXTS: readonly SpanContext[] = [
  { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: false },
  { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE, isRemote: false },
  { traceId: '0000000000000000a3ce929d0e0e4736', spanId: '0000000000000001', traceFlags: 1, isRemote: false },
  { traceId: 'ffffffffffffffffffffffffffffffff', spanId: 'ffffffffffffffff', traceFlags: 0, isRemote: false },
];

/** The span context an extract of `sc` should give: the same ids, now remote. */
export function asRemote(sc: SpanContext): SpanContext {
  return { ...sc, isRemote: true };
}
