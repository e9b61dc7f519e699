import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { NOT_RECORD_RESULT, SAMPLED_RESULT } from './basic.ts';
import { GuaranteedThroughputSampler, RateLimiter, RateLimitingSampler } from './rate-limiting.ts';
import { TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler } from './types.ts';
import { SamplingDecision } from './types.ts';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function sampled(sampler: Sampler, traceId = '0af7651916cd43dd8448eb211c80319c'): boolean {
  return (
    sampler.shouldSample(ROOT_CONTEXT, traceId, 'op', SpanKind.INTERNAL, {}, []).decision ===
    SamplingDecision.RECORD_AND_SAMPLED
  );
}

/** Calls the sampler every `stepMs` for `durationMs` of fake time and counts the sampled calls. */
function countOver(sampler: Sampler, clock: { t: number }, durationMs: number, stepMs: number): number {
  let count = 0;
  for (let elapsed = 0; elapsed < durationMs; elapsed += stepMs) {
    if (sampled(sampler)) count++;
    clock.t += stepMs;
  }
  return count;
}

test('RateLimiter starts full, spends one credit per call and refills at its rate up to its balance', () => {
  const clock = fakeClock();
  const limiter = new RateLimiter(2, 2, clock.now);
  assert.equal(limiter.trySpend(), true);
  assert.equal(limiter.trySpend(), true);
  assert.equal(limiter.trySpend(), false);
  clock.t += 499;
  assert.equal(limiter.trySpend(), false, 'just under one credit earned');
  clock.t += 1;
  assert.equal(limiter.trySpend(), true);
  clock.t += 60_000;
  assert.equal(limiter.trySpend(), true);
  assert.equal(limiter.trySpend(), true);
  assert.equal(limiter.trySpend(), false, 'the balance is capped at its maximum');
});

test('RateLimiter earns nothing when the clock goes backwards', () => {
  const clock = fakeClock(10_000);
  const limiter = new RateLimiter(1, 1, clock.now);
  assert.equal(limiter.trySpend(), true);
  clock.t -= 5_000;
  assert.equal(limiter.trySpend(), false);
  clock.t += 4_000;
  assert.equal(limiter.trySpend(), false, 'time before the last reading earns nothing');
});

test('RateLimitingSampler lets about N traces per second through', () => {
  for (const rate of [1, 5, 10, 100, 250]) {
    const clock = fakeClock();
    const sampler = new RateLimitingSampler(rate, { now: clock.now });
    // 10 s of calls every millisecond: a full bucket at the start, then `rate` per second.
    const count = countOver(sampler, clock, 10_000, 1);
    const expected = rate + rate * 10;
    assert.ok(Math.abs(count - expected) <= 1, `rate ${rate}: ${count} sampled, expected ${expected}`);
  }
});

test('RateLimitingSampler with a rate below one keeps a bucket of one', () => {
  const clock = fakeClock();
  const sampler = new RateLimitingSampler(0.5, { now: clock.now });
  const count = countOver(sampler, clock, 20_000, 10);
  assert.ok(count >= 10 && count <= 11, `${count}`);
});

test('RateLimitingSampler with rate 0 or a bad rate samples nothing', () => {
  for (const rate of [0, -3, Number.NaN]) {
    const clock = fakeClock();
    const sampler = new RateLimitingSampler(rate, { now: clock.now });
    assert.equal(countOver(sampler, clock, 5_000, 7), 0);
    assert.equal(sampler.toString(), 'RateLimitingSampler{0}');
  }
});

test('RateLimitingSampler does not depend on the trace id and returns shared results', () => {
  const clock = fakeClock();
  const sampler = new RateLimitingSampler(1, { now: clock.now });
  assert.equal(sampler.shouldSample(ROOT_CONTEXT, 'not even an id', 'x', SpanKind.SERVER, {}, []), SAMPLED_RESULT);
  assert.equal(sampler.shouldSample(ROOT_CONTEXT, 'not even an id', 'x', SpanKind.SERVER, {}, []), NOT_RECORD_RESULT);
});

test('GuaranteedThroughputSampler samples by ratio and guarantees the lower bound', () => {
  const clock = fakeClock();
  const never = new GuaranteedThroughputSampler(0, 2, clock.now);
  const count = countOver(never, clock, 10_000, 1);
  assert.ok(Math.abs(count - 22) <= 1, `lower bound alone: ${count}`);

  const always = new GuaranteedThroughputSampler(1, 2, clock.now);
  assert.equal(countOver(always, clock, 1_000, 1), 1_000);

  // A trace sampled by ratio spends a lower-bound credit, so right after a burst the bound adds nothing.
  const half = new GuaranteedThroughputSampler(0.5, 1, clock.now);
  const ratio = new TraceIdRatioBasedSampler(0.5);
  const inRatio = '00000001000000000000000000000000';
  const outOfRatio = 'ffffffff000000000000000000000000';
  assert.equal(sampled(ratio, inRatio), true);
  assert.equal(sampled(ratio, outOfRatio), false);
  assert.equal(sampled(half, inRatio), true);
  assert.equal(sampled(half, outOfRatio), false, 'the credit was spent by the ratio-sampled trace');
  clock.t += 1_000;
  assert.equal(sampled(half, outOfRatio), true, 'one credit earned');
  assert.equal(sampled(half, outOfRatio), false);
});
