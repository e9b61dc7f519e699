import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Attributes, Context, Link, SpanContext } from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import {
  SamplingDecision as OtelDecision,
  ParentBasedSampler as OtelParentBased,
  TraceIdRatioBasedSampler as OtelRatio,
} from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { AlwaysOffSampler, AlwaysOnSampler, NOT_RECORD_RESULT, SAMPLED_RESULT } from './basic.ts';
import { ParentBasedSampler } from './parent-based.ts';
import { foldTraceId, TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler, SamplingResult } from './types.ts';
import { SamplingDecision } from './types.ts';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const NO_LINKS: Link[] = [];
const NO_ATTRS: Attributes = {};

function decide(sampler: Sampler, traceId = TRACE_ID, ctx: Context = ROOT_CONTEXT): SamplingResult {
  return sampler.shouldSample(ctx, traceId, 'op', SpanKind.INTERNAL, NO_ATTRS, NO_LINKS);
}

test('our decision numbers are the OTel SDK numbers', () => {
  assert.equal(SamplingDecision.NOT_RECORD, OtelDecision.NOT_RECORD);
  assert.equal(SamplingDecision.RECORD, OtelDecision.RECORD);
  assert.equal(SamplingDecision.RECORD_AND_SAMPLED, OtelDecision.RECORD_AND_SAMPLED);
});

test('AlwaysOn samples and AlwaysOff drops, returning shared results', () => {
  const on = new AlwaysOnSampler();
  const off = new AlwaysOffSampler();
  assert.equal(decide(on).decision, SamplingDecision.RECORD_AND_SAMPLED);
  assert.equal(decide(off).decision, SamplingDecision.NOT_RECORD);
  assert.equal(decide(on), SAMPLED_RESULT);
  assert.equal(decide(off), NOT_RECORD_RESULT);
  assert.ok(Object.isFrozen(SAMPLED_RESULT) && Object.isFrozen(NOT_RECORD_RESULT));
  assert.equal(on.toString(), 'AlwaysOnSampler');
  assert.equal(off.toString(), 'AlwaysOffSampler');
});

test('TraceIdRatioBased agrees with the official sampler on 10,000 random ids per ratio', () => {
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) ids.push(randomBytes(16).toString('hex'));
  for (const ratio of [0, 0.0001, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1]) {
    const ours = new TraceIdRatioBasedSampler(ratio);
    const theirs = new OtelRatio(ratio);
    let sampled = 0;
    for (const id of ids) {
      const a = decide(ours, id).decision;
      const b = theirs.shouldSample(ROOT_CONTEXT, id).decision;
      assert.equal(a, b, `ratio ${ratio}, trace id ${id}`);
      if (a === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    // Loose bounds: the point is that the ratio means what it says, not its precision.
    assert.ok(Math.abs(sampled / ids.length - ratio) < 0.03, `ratio ${ratio} sampled ${sampled}`);
    assert.equal(ours.toString(), theirs.toString());
  }
});

test('TraceIdRatioBased agrees with the official sampler on invalid and edge ids', () => {
  const edge = [
    '00000000000000000000000000000000',
    'ffffffffffffffffffffffffffffffff',
    'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
    '0AF7651916CD43DD8448EB211C80319C',
    '00000000000000000000000000000001',
    '0af7651916cd43dd8448eb211c80319',
    '0af7651916cd43dd8448eb211c80319c0',
    '0af7651916cd43dd8448eb211c80319g',
    'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz',
    '',
    '0af7651916cd43dd8448eb211c80319\u00e9',
  ];
  for (const ratio of [0, 0.3, 0.5, 1]) {
    const ours = new TraceIdRatioBasedSampler(ratio);
    const theirs = new OtelRatio(ratio);
    for (const id of edge) {
      assert.equal(decide(ours, id).decision, theirs.shouldSample(ROOT_CONTEXT, id).decision, `${ratio} ${id}`);
    }
  }
  assert.equal(foldTraceId('00000000000000000000000000000000'), -1);
  assert.equal(foldTraceId('0000000100000002000000040000000f'), 0x1 ^ 0x2 ^ 0x4 ^ 0xf);
});

test('TraceIdRatioBased agrees with the official sampler on arbitrary 32-character strings', () => {
  const alphabet = fc.constantFrom(...'0123456789abcdefABCDEFgxz-'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { minLength: 32, maxLength: 32 }), fc.double({ min: 0, max: 1 }), (chars, ratio) => {
      const id = chars.join('');
      const a = decide(new TraceIdRatioBasedSampler(ratio), id).decision;
      const b = new OtelRatio(ratio).shouldSample(ROOT_CONTEXT, id).decision;
      assert.equal(a, b);
    }),
    { numRuns: 2000 },
  );
});

test('TraceIdRatioBased clamps its ratio like the official sampler', () => {
  for (const ratio of [-1, 2, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(new TraceIdRatioBasedSampler(ratio).toString(), new OtelRatio(ratio).toString());
  }
  const half = new TraceIdRatioBasedSampler(0.5);
  const first = decide(half, 'ffffffff000000000000000000000000');
  assert.equal(first, NOT_RECORD_RESULT, 'shared result, no allocation');
  assert.equal(decide(half, '00000001000000000000000000000000'), SAMPLED_RESULT);
});

/** Returns a result object of its own so a test can tell which delegate answered. */
function marker(name: string): Sampler & { readonly result: SamplingResult } {
  const result: SamplingResult = { decision: SamplingDecision.RECORD, attributes: { delegate: name } };
  return { result, shouldSample: () => result, toString: () => name };
}

function parentContext(flags: number, isRemote: boolean | undefined, traceId = TRACE_ID): Context {
  const sc: SpanContext = { traceId, spanId: SPAN_ID, traceFlags: flags };
  if (isRemote !== undefined) sc.isRemote = isRemote;
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

test('ParentBased picks the delegate for each parent case, as the official sampler does', () => {
  const delegates = {
    root: marker('root'),
    remoteParentSampled: marker('remoteParentSampled'),
    remoteParentNotSampled: marker('remoteParentNotSampled'),
    localParentSampled: marker('localParentSampled'),
    localParentNotSampled: marker('localParentNotSampled'),
  };
  const ours = new ParentBasedSampler(delegates);
  const theirs = new OtelParentBased(delegates);
  const cases: [string, Context, keyof typeof delegates][] = [
    ['no parent', ROOT_CONTEXT, 'root'],
    ['invalid parent', parentContext(TraceFlags.SAMPLED, true, '00000000000000000000000000000000'), 'root'],
    ['remote sampled', parentContext(TraceFlags.SAMPLED, true), 'remoteParentSampled'],
    ['remote not sampled', parentContext(TraceFlags.NONE, true), 'remoteParentNotSampled'],
    ['local sampled', parentContext(TraceFlags.SAMPLED, false), 'localParentSampled'],
    ['local not sampled', parentContext(TraceFlags.NONE, false), 'localParentNotSampled'],
    ['isRemote unset, sampled', parentContext(TraceFlags.SAMPLED, undefined), 'localParentSampled'],
    ['sampled among other flags', parentContext(0xff, true), 'remoteParentSampled'],
    ['other flags, not sampled', parentContext(0xfe, false), 'localParentNotSampled'],
  ];
  for (const [label, ctx, expected] of cases) {
    assert.equal(decide(ours, TRACE_ID, ctx), delegates[expected].result, label);
    assert.equal(
      theirs.shouldSample(ctx, TRACE_ID, 'op', SpanKind.INTERNAL, NO_ATTRS, NO_LINKS),
      delegates[expected].result,
    );
  }
  assert.equal(ours.toString(), theirs.toString());
});

test('ParentBased defaults follow the parent and ask the root only without one', () => {
  for (const root of [new AlwaysOnSampler(), new AlwaysOffSampler(), new TraceIdRatioBasedSampler(0.5)]) {
    const ours = new ParentBasedSampler({ root });
    const theirs = new OtelParentBased({
      root: new OtelRatio(root instanceof AlwaysOffSampler ? 0 : root instanceof AlwaysOnSampler ? 1 : 0.5),
    });
    for (const ctx of [
      ROOT_CONTEXT,
      parentContext(TraceFlags.SAMPLED, true),
      parentContext(TraceFlags.NONE, true),
      parentContext(TraceFlags.SAMPLED, false),
      parentContext(TraceFlags.NONE, false),
    ]) {
      for (const id of [TRACE_ID, 'ffffffffffffffffffffffffffffff00', '00000000000000000000000000000011']) {
        assert.equal(
          decide(ours, id, ctx).decision,
          theirs.shouldSample(ctx, id, 'op', SpanKind.INTERNAL, NO_ATTRS, NO_LINKS).decision,
        );
      }
    }
  }
  const off = new ParentBasedSampler({ root: new AlwaysOffSampler() });
  assert.equal(decide(off).decision, SamplingDecision.NOT_RECORD);
  assert.equal(
    decide(off, TRACE_ID, parentContext(TraceFlags.SAMPLED, true)).decision,
    SamplingDecision.RECORD_AND_SAMPLED,
  );
  assert.equal(decide(off, TRACE_ID, parentContext(TraceFlags.SAMPLED, false)), SAMPLED_RESULT);
});

test('ParentBased passes every argument through to its delegate', () => {
  const seen: unknown[][] = [];
  const spy: Sampler = {
    shouldSample: (...args) => {
      seen.push(args);
      return SAMPLED_RESULT;
    },
    toString: () => 'spy',
  };
  const attrs = { a: 1 };
  const links: Link[] = [{ context: { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 } }];
  new ParentBasedSampler({ root: spy }).shouldSample(ROOT_CONTEXT, TRACE_ID, 'name', SpanKind.SERVER, attrs, links);
  assert.deepEqual(seen, [[ROOT_CONTEXT, TRACE_ID, 'name', SpanKind.SERVER, attrs, links]]);
});

test('ParentBased shutdown reaches delegates that can be shut down, once each', async () => {
  let stops = 0;
  const stoppable = Object.assign(new AlwaysOnSampler(), {
    shutdown: async () => {
      stops++;
    },
  });
  await new ParentBasedSampler({ root: stoppable, localParentSampled: stoppable }).shutdown();
  assert.equal(stops, 1);
});
