import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTraceState, defaultTextMapGetter, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { AWSXRayPropagator as OtelXRay } from '@opentelemetry/propagator-aws-xray';
import { AWSXRayPropagator } from './aws-xray.ts';
import {
  asRemote,
  assertSameSpanContext,
  contextWith,
  extractSpanContext,
  inject,
  SAMPLE_CONTEXTS,
  SPAN_ID,
} from './internal/testing.ts';

const ours = new AWSXRayPropagator();
const theirs = new OtelXRay();
const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const TID = '5759e988bd862e3fe1be46a994272793';

describe('X-Ray interop with @opentelemetry/propagator-aws-xray', () => {
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

  it('writes the same header and fields', () => {
    for (const sc of SAMPLE_CONTEXTS) assert.deepEqual(inject(ours, contextWith(sc)), inject(theirs, contextWith(sc)));
    assert.deepEqual(ours.fields(), theirs.fields());
    assert.deepEqual(inject(ours, suppressTracing(contextWith(SAMPLE_CONTEXTS[0]!))), {});
  });

  it('keeps a tracestate an earlier propagator extracted', () => {
    const ts = createTraceState('a=1');
    const base = contextWith({ ...SAMPLE_CONTEXTS[0]!, traceState: ts, isRemote: true });
    const header = `Root=${ROOT};Parent=${SPAN_ID};Sampled=1`;
    const got = trace.getSpanContext(ours.extract(base, { 'x-amzn-trace-id': header }, defaultTextMapGetter));
    assert.equal(got?.traceId, TID);
    assert.equal(got?.traceState, ts);
  });

  it('finds the header under its canonical casing', () => {
    const carrier = { 'X-Amzn-Trace-Id': `Root=${ROOT};Parent=${SPAN_ID};Sampled=1` };
    assert.equal(trace.getSpanContext(ours.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter))?.traceId, TID);
  });
});

describe('X-Amzn-Trace-Id validation', () => {
  const P = SPAN_ID;
  // [name, header, expected traceFlags or undefined, official differs]
  const table: [string, string, number | undefined, boolean?][] = [
    ['sampled', `Root=${ROOT};Parent=${P};Sampled=1`, 1],
    ['not sampled', `Root=${ROOT};Parent=${P};Sampled=0`, 0],
    ['any order, spaces, extra fields', ` Sampled=1 ; Self=1-abc ;Parent=${P}; Root=${ROOT};Lineage=a:1`, 1],
    ['upper-case hex', `Root=${ROOT.toUpperCase()};Parent=${P.toUpperCase()};Sampled=1`, 1, true],
    ['zero epoch part', `Root=1-00000000-bd862e3fe1be46a994272793;Parent=${P};Sampled=1`, 1],
    ['sampled ?', `Root=${ROOT};Parent=${P};Sampled=?`, undefined],
    ['no sampled', `Root=${ROOT};Parent=${P}`, undefined],
    ['no parent', `Root=${ROOT};Sampled=1`, undefined],
    ['no root', `Parent=${P};Sampled=1`, undefined],
    ['version 2', `Root=2-5759e988-bd862e3fe1be46a994272793;Parent=${P};Sampled=1`, undefined],
    ['short root', `Root=1-5759e988-bd862e3fe1be46a99427279;Parent=${P};Sampled=1`, undefined],
    ['bad delimiter', `Root=1_5759e988-bd862e3fe1be46a994272793;Parent=${P};Sampled=1`, undefined],
    ['zero trace id', `Root=1-00000000-000000000000000000000000;Parent=${P};Sampled=1`, undefined],
    ['zero parent', `Root=${ROOT};Parent=0000000000000000;Sampled=1`, undefined],
    ['short parent', `Root=${ROOT};Parent=${P.slice(1)};Sampled=1`, undefined],
    ['non-hex root', `Root=1-5759e98z-bd862e3fe1be46a994272793;Parent=${P};Sampled=1`, undefined],
    ['sampled 2', `Root=${ROOT};Parent=${P};Sampled=2`, undefined],
    ['key prefix only', `RootX=${ROOT};Parent=${P};Sampled=1`, undefined, true],
    ['empty', '', undefined],
  ];
  for (const [name, header, flags, officialDiffers = false] of table) {
    it(`${name}: ${flags === undefined ? 'ignored' : `flags ${flags}`}`, () => {
      const got = extractSpanContext(ours, { 'x-amzn-trace-id': header });
      assert.equal(got?.traceFlags, flags);
      if (got) assert.equal(got.spanId, P);
      const official = extractSpanContext(theirs, { 'x-amzn-trace-id': header });
      const same = official?.traceId === got?.traceId && official?.traceFlags === got?.traceFlags;
      assert.equal(!same, officialDiffers);
    });
  }
});
