import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BaggageEntry } from '@opentelemetry/api';
import { propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { JaegerPropagator as OtelJaeger } from '@opentelemetry/propagator-jaeger';
import {
  asRemote,
  assertSameSpanContext,
  contextWith,
  extract,
  extractSpanContext,
  inject,
  SAMPLE_CONTEXTS,
  SPAN_ID,
  TRACE_ID,
} from './internal/testing.ts';
import { JaegerPropagator } from './jaeger.ts';

const ours = new JaegerPropagator();
const theirs = new OtelJaeger();

const BAGGAGE: Record<string, BaggageEntry> = {
  user: { value: 'alice' },
  odd: { value: 'a b,c;d=e%f ü 😀' },
};

function baggageOf(ctx: ReturnType<typeof extract>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, e] of propagation.getBaggage(ctx)?.getAllEntries() ?? []) out[k] = e.value;
  return out;
}

describe('Jaeger interop with @opentelemetry/propagator-jaeger', () => {
  it('inject with ours, extract with theirs', () => {
    for (const sc of SAMPLE_CONTEXTS) {
      const carrier = inject(ours, contextWith(sc));
      assertSameSpanContext(extractSpanContext(theirs, carrier), asRemote(sc), JSON.stringify(carrier));
    }
  });

  it('inject with theirs, extract with ours', () => {
    for (const sc of SAMPLE_CONTEXTS) {
      const carrier = inject(theirs, contextWith(sc));
      assertSameSpanContext(extractSpanContext(ours, carrier), asRemote(sc), JSON.stringify(carrier));
    }
  });

  it('writes the same headers, baggage included', () => {
    const ctx = propagation.setBaggage(contextWith(SAMPLE_CONTEXTS[0]!), propagation.createBaggage(BAGGAGE));
    assert.deepEqual(inject(ours, ctx), inject(theirs, ctx));
    assert.deepEqual(ours.fields(), theirs.fields());
  });

  it('uberctx- baggage both ways', () => {
    const ctx = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage(BAGGAGE));
    const expected = { user: 'alice', odd: BAGGAGE.odd!.value };
    assert.deepEqual(baggageOf(extract(theirs, inject(ours, ctx))), expected);
    assert.deepEqual(baggageOf(extract(ours, inject(theirs, ctx))), expected);
  });

  it('merges uberctx- entries into the existing baggage', () => {
    const base = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ keep: { value: '1' } }));
    const ctx = extract(ours, { 'uberctx-new': '2', 'uberctx-bad': '%E0%A4%A' }, base);
    assert.deepEqual(baggageOf(ctx), { keep: '1', new: '2' });
    assert.equal(extract(ours, { other: 'x' }), ROOT_CONTEXT);
  });

  it('skips baggage keys that cannot be header names', () => {
    const ctx = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ 'bad key': { value: '1' }, é: { value: '2' }, good: { value: '3' } }),
    );
    assert.deepEqual(inject(ours, ctx), { 'uberctx-good': '3' });
  });

  it('injects nothing when tracing is suppressed', () => {
    const ctx = propagation.setBaggage(contextWith(SAMPLE_CONTEXTS[0]!), propagation.createBaggage(BAGGAGE));
    assert.deepEqual(inject(ours, suppressTracing(ctx)), {});
  });

  it('honours custom header names', () => {
    const custom = new JaegerPropagator({ traceHeader: 'my-trace', baggagePrefix: 'my-' });
    const ctx = propagation.setBaggage(contextWith(SAMPLE_CONTEXTS[0]!), propagation.createBaggage(BAGGAGE));
    const carrier = inject(custom, ctx);
    assert.equal(carrier['my-trace'], `${TRACE_ID}:${SPAN_ID}:0:01`);
    assert.equal(carrier['my-user'], 'alice');
    assertSameSpanContext(extractSpanContext(custom, carrier), asRemote(SAMPLE_CONTEXTS[0]!));
  });
});

describe('uber-trace-id validation', () => {
  const T = TRACE_ID;
  const S = SPAN_ID;
  // [name, header, expected [traceId, traceFlags] or undefined, official differs]. The official
  // propagator checks almost nothing (it pads whatever it finds, zero or not hex), hence the differences.
  const table: [string, string, [string, number] | undefined, boolean?][] = [
    ['sampled', `${T}:${S}:0:1`, [T, 1]],
    ['two-digit flags', `${T}:${S}:0:01`, [T, 1]],
    ['not sampled', `${T}:${S}:0:0`, [T, 0]],
    ['debug + sampled', `${T}:${S}:0:3`, [T, 1]],
    ['debug only', `${T}:${S}:0:2`, [T, 0]],
    ['with parent', `${T}:${S}:${S}:1`, [T, 1]],
    ['64-bit trace id padded', `${T.slice(16)}:${S}:0:1`, [`${'0'.repeat(16)}${T.slice(16)}`, 1]],
    ['short ids padded', `abc:def:0:1`, [`${'0'.repeat(29)}abc`, 1]],
    ['URL-encoded', `${T}%3A${S}%3A0%3A1`, [T, 1]],
    ['upper case lower-cased', `${T.toUpperCase()}:${S}:0:1`, [T, 1], true],
    ['three parts', `${T}:${S}:1`, undefined],
    ['five parts', `${T}:${S}:0:1:0`, undefined],
    ['zero trace id', `0:${S}:0:1`, undefined, true],
    ['zero span id', `${T}:0000000000000000:0:1`, undefined, true],
    ['33-digit trace id', `a${T}:${S}:0:1`, undefined, true],
    ['17-digit span id', `${T}:a${S}:0:1`, undefined, true],
    ['non-hex trace id', `${T.slice(1)}x:${S}:0:1`, undefined, true],
    ['non-hex flags', `${T}:${S}:0:zz`, undefined, true],
    ['empty flags', `${T}:${S}:0:`, undefined, true],
    ['empty parent', `${T}:${S}::1`, undefined, true],
    ['bad URL encoding', `${T}%3:${S}:0:1`, undefined],
    ['empty', '', undefined],
  ];
  for (const [name, header, expected, officialDiffers = false] of table) {
    it(`${name}: ${expected ? 'accepted' : 'ignored'}`, () => {
      const got = extractSpanContext(ours, { 'uber-trace-id': header });
      assert.deepEqual(got === undefined ? undefined : [got.traceId, got.traceFlags], expected);
      const official = extractSpanContext(theirs, { 'uber-trace-id': header });
      const same = official?.traceId === got?.traceId && official?.traceFlags === got?.traceFlags;
      assert.equal(!same, officialDiffers);
    });
  }
});
