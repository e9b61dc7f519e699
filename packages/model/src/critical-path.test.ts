import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CriticalPathSegment, criticalPath } from './critical-path.ts';
import { type Resource, type Span, SpanKind } from './span.ts';
import { testResource, testSpan } from './testing.ts';
import { assembleTrace } from './trace.ts';

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;
const RESOURCE = testResource('svc');

/** A span `id` under `parent` from T0+startMs to T0+endMs, all on one host so no skew applies. */
function sp(id: string, parent: string, startMs: number, endMs: number, kind: number = SpanKind.INTERNAL): Span {
  return testSpan({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: id,
    parentSpanId: parent,
    name: id,
    kind,
    startTimeUnixNano: T0 + BigInt(startMs) * MS,
    endTimeUnixNano: T0 + BigInt(endMs) * MS,
    resource: RESOURCE,
  });
}

/** Segments as `[spanId, startMs, endMs]` for readable assertions. */
function simple(segments: readonly CriticalPathSegment[]): [string, number, number][] {
  return segments.map((s) => [s.spanId, Number((s.startUnixNano - T0) / MS), Number((s.endUnixNano - T0) / MS)]);
}

/** Segments must be contiguous, positive and cover the root exactly. */
function assertCovers(segments: readonly CriticalPathSegment[], start: bigint, end: bigint): void {
  assert.ok(segments.length > 0);
  assert.equal(segments[0]?.startUnixNano, start);
  assert.equal(segments[segments.length - 1]?.endUnixNano, end);
  let total = 0n;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as CriticalPathSegment;
    assert.ok(s.endUnixNano > s.startUnixNano, `segment ${i} has positive length`);
    if (i > 0) assert.equal(s.startUnixNano, segments[i - 1]?.endUnixNano, `segment ${i} is contiguous`);
    total += s.endUnixNano - s.startUnixNano;
  }
  assert.equal(total, end - start);
}

describe('criticalPath', () => {
  it('returns nothing for an empty trace', () => {
    assert.deepEqual(criticalPath(assembleTrace([])), []);
  });

  it('is the root alone when it has no children', () => {
    const t = assembleTrace([sp('a', '', 0, 10)]);
    assert.deepEqual(simple(criticalPath(t)), [['a', 0, 10]]);
  });

  it('walks sequential children, back-to-back ones included', () => {
    const t = assembleTrace([sp('a', '', 0, 100), sp('b', 'a', 10, 40), sp('c', 'a', 40, 70), sp('d', 'a', 80, 90)]);
    const cp = criticalPath(t);
    assert.deepEqual(simple(cp), [
      ['a', 0, 10],
      ['b', 10, 40],
      ['c', 40, 70],
      ['a', 70, 80],
      ['d', 80, 90],
      ['a', 90, 100],
    ]);
    assertCovers(cp, T0, T0 + 100n * MS);
    assert.equal(
      cp[1]?.index,
      t.nodes.findIndex((n) => n.span.spanId === 'b'),
    );
  });

  it('follows the last-finishing of parallel children, then what finished before it started', () => {
    const t = assembleTrace([
      sp('a', '', 0, 100),
      sp('b', 'a', 10, 60), // parallel with c, finishes first
      sp('c', 'a', 20, 80), // finishes last: on the path
      sp('d', 'a', 5, 15), // finishes before c starts: on the path
      sp('e', 'c', 30, 50),
    ]);
    const cp = criticalPath(t);
    assert.deepEqual(simple(cp), [
      ['a', 0, 5],
      ['d', 5, 15],
      ['a', 15, 20],
      ['c', 20, 30],
      ['e', 30, 50],
      ['c', 50, 80],
      ['a', 80, 100],
    ]);
    assertCovers(cp, T0, T0 + 100n * MS);
  });

  it('clips a child that overruns its parent, and one that starts before it', () => {
    const t = assembleTrace([
      sp('a', '', 0, 100),
      sp('b', 'a', 50, 130), // runs past the root's end
      sp('g', 'b', 90, 120), // clipped by b's clipped end
      sp('x', 'a', -20, 30), // starts before the root
    ]);
    const cp = criticalPath(t);
    assert.deepEqual(simple(cp), [
      ['x', 0, 30],
      ['a', 30, 50],
      ['b', 50, 90],
      ['g', 90, 100],
    ]);
    assertCovers(cp, T0, T0 + 100n * MS);
  });

  it('leaves out a consumer under a producer, and children that start after their parent ended', () => {
    const t = assembleTrace([
      sp('a', '', 0, 100),
      sp('p', 'a', 10, 20, SpanKind.PRODUCER),
      sp('q', 'p', 15, 95, SpanKind.CONSUMER), // async: does not block p
      sp('late', 'a', 100, 150), // starts when the root has ended
      sp('gone', 'late', 100, 101),
    ]);
    const cp = criticalPath(t);
    assert.deepEqual(simple(cp), [
      ['a', 0, 10],
      ['p', 10, 20],
      ['a', 20, 100],
    ]);
    assertCovers(cp, T0, T0 + 100n * MS);
  });

  it('uses the longest true root, not an orphan', () => {
    const t = assembleTrace([
      sp('short', '', 0, 10),
      sp('long', '', 5, 50),
      sp('orphan', 'missing', 0, 1000),
      sp('kid', 'long', 10, 20),
    ]);
    const cp = criticalPath(t);
    assert.deepEqual(simple(cp), [
      ['long', 5, 10],
      ['kid', 10, 20],
      ['long', 20, 50],
    ]);
  });

  it('uses adjusted times when clock skew was corrected', () => {
    const host = (h: string): Resource => testResource(h, [{ key: 'host.name', value: h }]);
    const t = assembleTrace([
      { ...sp('a', '', 100, 200), resource: host('h1') },
      { ...sp('b', 'a', 0, 60), resource: host('h2') }, // shifted to 120..180
    ]);
    assert.deepEqual(simple(criticalPath(t)), [
      ['a', 100, 120],
      ['b', 120, 180],
      ['a', 180, 200],
    ]);
  });

  it('handles a 100,000-level deep chain iteratively', () => {
    const n = 100_000;
    const spans: Span[] = [];
    for (let i = 0; i < n; i++) spans.push(sp(`d${i}`, i === 0 ? '' : `d${i - 1}`, i, 2 * n - i));
    const cp = criticalPath(assembleTrace(spans));
    // Each span owns 1ms at each end, the innermost owns its remaining 2ms... one segment per side per span.
    assert.equal(cp.length, 2 * n - 1);
    assert.equal(cp[n - 1]?.spanId, `d${n - 1}`);
    assertCovers(cp, T0, T0 + BigInt(2 * n) * MS);
  });
});
