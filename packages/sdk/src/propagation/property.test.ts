import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpanContext, TextMapPropagator } from '@opentelemetry/api';
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CBaggagePropagator as OtelBaggage, W3CTraceContextPropagator as OtelW3C } from '@opentelemetry/core';
import { AWSXRayPropagator as OtelXRay } from '@opentelemetry/propagator-aws-xray';
import { B3InjectEncoding, B3Propagator as OtelB3 } from '@opentelemetry/propagator-b3';
import { JaegerPropagator as OtelJaeger } from '@opentelemetry/propagator-jaeger';
import fc from 'fast-check';
import { AWSXRayPropagator } from './aws-xray.ts';
import { B3Propagator } from './b3.ts';
import { isLowerSpanId, isLowerTraceId } from './internal/common.ts';
import { assertSameSpanContext, contextWith, extract, extractSpanContext, inject } from './internal/testing.ts';
import { JaegerPropagator } from './jaeger.ts';
import { parseTraceState } from './trace-state.ts';
import { BAGGAGE_MAX_MEMBERS, W3CBaggagePropagator } from './w3c-baggage.ts';
import { W3CTraceContextPropagator } from './w3c-trace-context.ts';

const RUNS = { numRuns: 300 };

const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n }).filter((s) => /[^0]/.test(s));

const validSpanContext = (maxFlags: number) =>
  fc.record({
    traceId: hex(32),
    spanId: hex(16),
    traceFlags: fc.integer({ min: 0, max: maxFlags }),
    isRemote: fc.constant(false),
  });

// [name, ours, theirs, header names to fuzz, max trace flags that round-trip, a valid header]
const formats: [string, TextMapPropagator, TextMapPropagator, string[], number, Record<string, string>][] = [
  [
    'tracecontext',
    new W3CTraceContextPropagator(),
    new OtelW3C(),
    ['traceparent', 'tracestate'],
    255,
    { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'a=1,t@s=x y' },
  ],
  [
    'b3 single',
    new B3Propagator(),
    new OtelB3({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }),
    ['b3'],
    1,
    { b3: '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-00f067aa0ba902b8' },
  ],
  [
    'b3 multi',
    new B3Propagator({ injectEncoding: 'multi' }),
    new OtelB3({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
    ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags'],
    1,
    { 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': '1', 'x-b3-flags': '0' },
  ],
  [
    'jaeger',
    new JaegerPropagator(),
    new OtelJaeger(),
    ['uber-trace-id', 'uberctx-k'],
    1,
    { 'uber-trace-id': '4bf92f3577b34da6a3ce929d0e0e4736%3A00f067aa0ba902b7%3A0%3A01', 'uberctx-k': 'v%20w' },
  ],
  [
    'xray',
    new AWSXRayPropagator(),
    new OtelXRay(),
    ['x-amzn-trace-id'],
    1,
    { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' },
  ],
];

/** A valid header changed a little: cut, a character replaced, or a character inserted. */
function mutated(valid: string): fc.Arbitrary<string> {
  const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
  return fc.oneof(
    fc.nat({ max: valid.length }).map((i) => valid.slice(0, i)),
    fc.tuple(fc.nat({ max: valid.length - 1 }), anyChar).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
    fc.tuple(fc.nat({ max: valid.length }), anyChar).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i)),
    fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom('-', ':', ';', '=', ',', '%', '0', 'F', ' '))
      .map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
  );
}

function checkResult(p: TextMapPropagator, carrier: Record<string, string | string[]>): void {
  const ctx = extract(p, carrier);
  const sc = trace.getSpanContext(ctx);
  if (sc !== undefined) {
    assert.ok(isLowerTraceId(sc.traceId), sc.traceId);
    assert.ok(isLowerSpanId(sc.spanId), sc.spanId);
    assert.equal(sc.isRemote, true);
    assert.ok(Number.isInteger(sc.traceFlags) && sc.traceFlags >= 0 && sc.traceFlags <= 255);
  }
  const baggage = propagation.getBaggage(ctx);
  if (baggage !== undefined) {
    for (const [k, e] of baggage.getAllEntries()) {
      assert.equal(typeof k, 'string');
      assert.equal(typeof e.value, 'string');
    }
  }
}

describe('propagator properties', () => {
  for (const [name, ours, theirs, headers, maxFlags, valid] of formats) {
    it(`${name}: random header strings never throw and give only valid span contexts`, () => {
      const value = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.string()));
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...headers), value), (carrier) => checkResult(ours, carrier)),
        RUNS,
      );
    });

    it(`${name}: mutated valid headers never throw and give only valid span contexts`, () => {
      const arb = fc.record(Object.fromEntries(Object.entries(valid).map(([k, v]) => [k, mutated(v)])));
      fc.assert(
        fc.property(arb, (carrier) => checkResult(ours, carrier)),
        RUNS,
      );
    });

    it(`${name}: valid span contexts round-trip through ours and theirs`, () => {
      fc.assert(
        fc.property(validSpanContext(maxFlags), (sc: SpanContext) => {
          const ctx = contextWith(sc);
          const expected = { ...sc, isRemote: true };
          assertSameSpanContext(extractSpanContext(ours, inject(ours, ctx)), expected);
          // The official W3C inject writes `0${flags.toString(16)}`, three digits from 16 on.
          if (sc.traceFlags >= 16) return;
          assertSameSpanContext(extractSpanContext(theirs, inject(ours, ctx)), expected);
          assertSameSpanContext(extractSpanContext(ours, inject(theirs, ctx)), expected);
        }),
        RUNS,
      );
    });
  }

  it('tracestate: valid generated members round-trip', () => {
    const keyChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-*/');
    const simpleKey = fc
      .tuple(fc.constantFrom(...'abcxyz'), fc.string({ unit: keyChar, maxLength: 20 }))
      .map(([a, b]) => a + b);
    const tenantKey = fc
      .tuple(simpleKey, fc.constantFrom(...'abc'), fc.string({ unit: keyChar, maxLength: 13 }))
      .map(([t, a, s]) => `${t}@${a}${s}`);
    const valueChar = fc.constantFrom(...' !"#$%&\'()*+-./09:;<>?@AZ[\\]^_`az{|}~');
    const value = fc.string({ unit: valueChar, minLength: 1, maxLength: 30 }).filter((v) => !v.endsWith(' '));
    const members = fc.uniqueArray(fc.tuple(fc.oneof(simpleKey, tenantKey), value), {
      maxLength: 10,
      selector: ([k]) => k,
    });
    fc.assert(
      fc.property(members, (list) => {
        const header = list.map(([k, v]) => `${k}=${v}`).join(',');
        const ts = parseTraceState(header);
        assert.ok(ts !== undefined, header);
        assert.equal(ts.serialize(), header);
      }),
      RUNS,
    );
  });

  it('baggage: random headers never throw and stay within limits', () => {
    const ours = new W3CBaggagePropagator();
    const member = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 40 }));
    const header = fc.array(member, { maxLength: 20 }).map((m) => m.join(','));
    fc.assert(
      fc.property(fc.oneof(header, fc.array(header, { maxLength: 3 })), (h) => {
        const b = propagation.getBaggage(extract(ours, { baggage: h }));
        assert.ok((b?.getAllEntries().length ?? 0) <= BAGGAGE_MAX_MEMBERS);
      }),
      RUNS,
    );
  });

  it('baggage: random entries round-trip through ours and theirs', () => {
    const ours = new W3CBaggagePropagator();
    const theirs = new OtelBaggage();
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && s !== '');
    const entries = fc.dictionary(text, text, { maxKeys: 8 });
    fc.assert(
      fc.property(entries, (record) => {
        const ctx = propagation.setBaggage(
          ROOT_CONTEXT,
          propagation.createBaggage(Object.fromEntries(Object.entries(record).map(([k, v]) => [k, { value: v }]))),
        );
        const expected = Object.entries(record).sort();
        for (const [from, to] of [
          [ours, ours],
          [ours, theirs],
          [theirs, ours],
        ] as const) {
          // The official extract stores entries in a plain object, where `__proto__` is lost.
          if (from !== to && Object.hasOwn(record, '__proto__')) continue;
          const got = propagation.getBaggage(extract(to, inject(from, ctx)));
          const entries2 = (got?.getAllEntries() ?? []).map(([k, e]) => [k, e.value]).sort();
          assert.deepEqual(entries2, expected);
        }
      }),
      RUNS,
    );
  });
});
