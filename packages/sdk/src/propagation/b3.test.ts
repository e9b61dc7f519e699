import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator as OtelB3 } from '@opentelemetry/propagator-b3';
import { B3_DEBUG_FLAG_KEY, B3Propagator } from './b3.ts';
import {
  asRemote,
  assertSameSpanContext,
  type Carrier,
  contextWith,
  extract,
  extractSpanContext,
  inject,
  SAMPLE_CONTEXTS,
  SPAN_ID,
  TRACE_ID,
} from './internal/testing.ts';

const oursSingle = new B3Propagator();
const oursMulti = new B3Propagator({ injectEncoding: 'multi' });
const theirsSingle = new OtelB3({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
const theirsMulti = new OtelB3({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
const pairs = [
  ['single', oursSingle, theirsSingle],
  ['multi', oursMulti, theirsMulti],
] as const;

describe('B3 interop with @opentelemetry/propagator-b3', () => {
  for (const [name, ours, theirs] of pairs) {
    it(`${name}: inject with ours, extract with theirs`, () => {
      for (const sc of SAMPLE_CONTEXTS) {
        const carrier = inject(ours, contextWith(sc));
        assertSameSpanContext(extractSpanContext(theirs, carrier), asRemote(sc), JSON.stringify(carrier));
      }
    });

    it(`${name}: inject with theirs, extract with ours`, () => {
      for (const sc of SAMPLE_CONTEXTS) {
        const carrier = inject(theirs, contextWith(sc));
        assertSameSpanContext(extractSpanContext(ours, carrier), asRemote(sc), JSON.stringify(carrier));
      }
    });

    it(`${name}: writes the same headers and fields`, () => {
      for (const sc of SAMPLE_CONTEXTS)
        assert.deepEqual(inject(ours, contextWith(sc)), inject(theirs, contextWith(sc)));
      assert.deepEqual(ours.fields(), theirs.fields());
    });

    it(`${name}: injects nothing when suppressed`, () => {
      assert.deepEqual(inject(ours, suppressTracing(contextWith(SAMPLE_CONTEXTS[0]!))), {});
      assert.deepEqual(inject(ours, ROOT_CONTEXT), {});
    });
  }

  it('single: the default encoding is the single header, as the official B3Propagator', () => {
    assert.deepEqual(Object.keys(inject(oursSingle, contextWith(SAMPLE_CONTEXTS[0]!))), ['b3']);
  });

  it('debug flag: single header d survives ours -> theirs -> ours', () => {
    const carrier = { b3: `${TRACE_ID}-${SPAN_ID}-d` };
    const ctx = extract(oursSingle, carrier);
    assert.equal(ctx.getValue(B3_DEBUG_FLAG_KEY), 'd');
    const sent = inject(theirsSingle, ctx);
    assert.equal(sent.b3, `${TRACE_ID}-${SPAN_ID}-d`);
    assert.equal(inject(oursSingle, extract(theirsSingle, sent)).b3, `${TRACE_ID}-${SPAN_ID}-d`);
    assert.deepEqual(inject(oursMulti, ctx), { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-flags': '1' });
  });

  it('debug flag: X-B3-Flags survives theirs -> ours -> theirs', () => {
    const carrier = { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-flags': '1' };
    const ctx = extract(theirsMulti, carrier);
    assert.equal(extractSpanContext(oursMulti, carrier)?.traceFlags, TraceFlags.SAMPLED);
    const sent = inject(oursMulti, ctx);
    assert.deepEqual(sent, carrier);
    assert.equal(extract(oursMulti, sent).getValue(B3_DEBUG_FLAG_KEY), '1');
    assert.deepEqual(inject(theirsMulti, extract(oursMulti, sent)), carrier);
  });

  it('a new remote parent without debug clears an earlier debug flag', () => {
    const debugCtx = extract(oursSingle, { b3: `${TRACE_ID}-${SPAN_ID}-d` });
    const next = oursSingle.extract(
      debugCtx,
      { b3: `${TRACE_ID}-${SPAN_ID}-1` },
      {
        get: (c: Record<string, string>, k) => c[k],
        keys: Object.keys,
      },
    );
    assert.equal(next.getValue(B3_DEBUG_FLAG_KEY), undefined);
  });

  it('pads 64-bit trace ids to 128 bits, like the official propagator', () => {
    const short = TRACE_ID.slice(16);
    const carriers: Carrier[] = [
      { b3: `${short}-${SPAN_ID}-1` },
      { 'x-b3-traceid': short, 'x-b3-spanid': SPAN_ID, 'x-b3-sampled': '1' },
    ];
    for (const carrier of carriers) {
      const got = extractSpanContext(oursSingle, carrier);
      assert.equal(got?.traceId, `0000000000000000${short}`);
      assertSameSpanContext(got, extractSpanContext(theirsSingle, carrier));
    }
  });
});

describe('B3 header validation', () => {
  // [name, carrier, expected traceFlags (undefined = no span context), official differs]. The official
  // single-header regex is not anchored (it accepts trailing garbage), and its multi-header path pads
  // any length and accepts upper case without lower-casing.
  const T = TRACE_ID;
  const S = SPAN_ID;
  const table: [string, Carrier, number | undefined, boolean?][] = [
    ['single sampled', { b3: `${T}-${S}-1` }, 1],
    ['single not sampled', { b3: `${T}-${S}-0` }, 0],
    ['single debug', { b3: `${T}-${S}-d` }, 1],
    ['single deferred', { b3: `${T}-${S}` }, 0],
    ['single with parent', { b3: `${T}-${S}-1-${S}` }, 1],
    ['b3: 0 (deny, no ids)', { b3: '0' }, undefined],
    ['b3: 1 (accept, no ids)', { b3: '1' }, undefined],
    ['b3: 0 wins over multi headers', { b3: '0', 'x-b3-traceid': T, 'x-b3-spanid': S }, undefined],
    ['single upper case', { b3: `${T.toUpperCase()}-${S}-1` }, undefined],
    ['single zero trace id', { b3: `${'0'.repeat(32)}-${S}-1` }, undefined],
    ['single zero span id', { b3: `${T}-${'0'.repeat(16)}-1` }, undefined],
    ['single 48-bit trace id', { b3: `${T.slice(20)}-${S}-1` }, undefined],
    ['single bad sampling', { b3: `${T}-${S}-x` }, undefined, true],
    ['single two-char sampling', { b3: `${T}-${S}-10` }, undefined, true],
    ['single parent without sampling', { b3: `${T}-${S}--${S}` }, undefined, true],
    ['single short parent', { b3: `${T}-${S}-1-abc` }, undefined, true],
    ['single trailing garbage', { b3: `${T}-${S}-1-${S}-x` }, undefined, true],
    ['single garbage', { b3: 'not-a-b3-header' }, undefined],
    ['multi sampled', { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' }, 1],
    ['multi true', { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'true' }, 1],
    ['multi false', { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'false' }, 0],
    ['multi deferred', { 'x-b3-traceid': T, 'x-b3-spanid': S }, 0],
    ['multi debug', { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1', 'x-b3-sampled': '0' }, 1],
    ['multi upper case (lower-cased)', { 'x-b3-traceid': T.toUpperCase(), 'x-b3-spanid': S }, 0, true],
    ['multi bad sampled', { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'yes' }, undefined],
    ['multi missing span id', { 'x-b3-traceid': T }, undefined],
    ['multi zero trace id', { 'x-b3-traceid': '0'.repeat(16), 'x-b3-spanid': S }, undefined],
    ['multi 20-digit trace id', { 'x-b3-traceid': T.slice(12), 'x-b3-spanid': S }, undefined, true],
    ['multi short span id', { 'x-b3-traceid': T, 'x-b3-spanid': S.slice(2) }, undefined],
    ['multi non-hex', { 'x-b3-traceid': `${T.slice(1)}z`, 'x-b3-spanid': S }, undefined],
  ];
  for (const [name, carrier, flags, officialDiffers = false] of table) {
    it(`${name}: ${flags === undefined ? 'ignored' : `flags ${flags}`}`, () => {
      const got = extractSpanContext(oursSingle, carrier);
      assert.equal(got?.traceFlags, flags);
      if (got) assert.equal(got.traceId.length, 32);
      const official = extractSpanContext(theirsSingle, carrier);
      assert.equal(official?.traceFlags !== got?.traceFlags || official?.traceId !== got?.traceId, officialDiffers);
    });
  }
});
