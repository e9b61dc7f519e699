import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource, Span } from './span.ts';
import { testResource, testSpan } from './testing.ts';
import { assembleTrace, formatSignedDuration } from './trace.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

const resources = new Map<string, Resource>();
/** One shared resource per service/host pair, as decoders produce. */
function res(service: string, host?: string): Resource {
  const key = `${service}/${host ?? ''}`;
  let r = resources.get(key);
  if (r === undefined) {
    r = testResource(service, host === undefined ? [] : [{ key: 'host.name', value: host }]);
    resources.set(key, r);
  }
  return r;
}

/** A span `id` under `parent`, running from T0+startMs to T0+endMs. */
function sp(id: string, parent: string, startMs: number, endMs: number, over: Partial<Span> = {}): Span {
  return testSpan({
    traceId: TRACE,
    spanId: id.padStart(16, '0'),
    parentSpanId: parent === '' ? '' : parent.padStart(16, '0'),
    name: `op-${id}`,
    startTimeUnixNano: T0 + BigInt(startMs) * MS,
    endTimeUnixNano: T0 + BigInt(endMs) * MS,
    resource: res('svc', 'h1'),
    ...over,
  });
}

const id = (s: string): string => s.padStart(16, '0');
const order = (t: ReturnType<typeof assembleTrace>): string[] => t.nodes.map((n) => n.span.spanId.replace(/^0+/, ''));

describe('assembleTrace: structure', () => {
  it('assembles an empty input', () => {
    const t = assembleTrace([]);
    assert.equal(t.nodes.length, 0);
    assert.equal(t.traceId, '');
    assert.equal(t.depth, 0);
    assert.equal(t.durationNano, 0n);
    assert.equal(t.rootName, '');
  });

  it('builds the tree in depth-first order with children by start time', () => {
    const t = assembleTrace([
      sp('c2', 'a', 50, 80),
      sp('a', '', 0, 100),
      sp('c1', 'a', 10, 40),
      sp('g1', 'c1', 15, 20),
      sp('c3', 'a', 50, 60), // same start as c2: ordered by span id
    ]);
    assert.deepEqual(order(t), ['a', 'c1', 'g1', 'c2', 'c3']);
    const [a, c1, g1, c2, c3] = t.nodes;
    assert.deepEqual(a?.children, [1, 3, 4]);
    assert.equal(g1?.parentIndex, 1);
    assert.equal(g1?.depth, 2);
    assert.equal(c1?.depth, 1);
    assert.equal(c2?.parentIndex, 0);
    assert.equal(c3?.index, 4);
    assert.deepEqual(t.roots, [0]);
    assert.equal(t.depth, 3);
    assert.equal(t.startUnixNano, T0);
    assert.equal(t.durationNano, 100n * MS);
    assert.equal(t.rootName, 'op-a');
    assert.equal(t.rootServiceName, 'svc');
    assert.equal(t.warningCount, 0);
  });

  it('removes duplicates, keeps the first, warns only when content differs', () => {
    const a = sp('a', '', 0, 100);
    const b = sp('b', 'a', 10, 20);
    const bOther = sp('b', 'a', 10, 30);
    const t = assembleTrace([a, b, a, { ...b }, bOther, bOther]);
    assert.equal(t.nodes.length, 2);
    assert.equal(t.duplicatesRemoved, 4);
    assert.equal(t.nodes[0]?.warnings.length, 0);
    const bNode = t.nodes[1];
    assert.equal(bNode?.span, b);
    assert.equal(bNode?.warnings.length, 1);
    assert.match(bNode?.warnings[0] ?? '', /same span id differs \(first difference: endTimeUnixNano\)/);
    assert.equal(t.warningCount, 1);
  });

  it('flags orphans and orders roots: true roots first, then orphans by start', () => {
    const t = assembleTrace([
      sp('o2', 'missing2', 5, 6),
      sp('o1', 'missing1', 1, 9),
      sp('r', '', 3, 10),
      sp('k', 'o1', 2, 3),
      sp('z', '0000000000000000', 4, 5), // an all-zero parent id means "no parent"
    ]);
    assert.deepEqual(order(t), ['r', 'z', 'o1', 'k', 'o2']);
    assert.deepEqual(
      t.roots.map((r) => t.nodes[r]?.span.spanId),
      [id('r'), id('z'), id('o1'), id('o2')],
    );
    assert.equal(t.orphanCount, 2);
    assert.equal(t.nodes[2]?.orphan, true);
    assert.equal(t.nodes[3]?.orphan, false);
    assert.equal(t.nodes[1]?.orphan, false);
    assert.equal(t.rootName, 'op-r');
  });

  it('breaks parent cycles without hanging and warns', () => {
    const t = assembleTrace([
      sp('a', 'b', 10, 20),
      sp('b', 'a', 5, 30),
      sp('c', 'a', 12, 13), // hangs off the cycle
      sp('s', 's', 0, 1), // its own parent
      sp('r', '', 0, 100),
    ]);
    assert.equal(t.nodes.length, 5);
    assert.deepEqual(order(t), ['r', 's', 'b', 'a', 'c']);
    const b = t.nodes[2];
    assert.equal(b?.orphan, true);
    assert.equal(b?.parentIndex, -1);
    assert.match(b?.warnings[0] ?? '', /cycle/);
    assert.equal(t.nodes[1]?.orphan, true);
    assert.match(t.nodes[1]?.warnings[0] ?? '', /cycle/);
    assert.equal(t.nodes[3]?.parentIndex, 2);
    assert.equal(t.orphanCount, 2);
  });

  it('warns about mixed trace ids and keeps the first one', () => {
    const t = assembleTrace([sp('a', '', 0, 10), sp('b', 'a', 1, 2, { traceId: 'ff'.repeat(16) })]);
    assert.equal(t.traceId, TRACE);
    assert.equal(t.nodes.length, 2);
    assert.equal(t.warnings.length, 1);
    assert.match(t.warnings[0] ?? '', /2 trace ids/);
    assert.equal(t.warningCount, 1);
  });

  it('counts errors and lists services sorted', () => {
    const t = assembleTrace([
      sp('a', '', 0, 10, { resource: res('web', 'h1') }),
      sp('b', 'a', 1, 2, { resource: res('db', 'h1'), status: { code: 2, message: 'boom' } }),
      sp('c', 'a', 3, 4, { resource: res('api', 'h1') }),
    ]);
    assert.deepEqual(t.services, ['api', 'db', 'web']);
    assert.equal(t.errorCount, 1);
  });

  it('handles a 100,000-level deep chain without overflowing the stack', () => {
    const n = 100_000;
    const spans: Span[] = [];
    // Shuffled-ish input order so parents are not always seen first.
    for (let i = n - 1; i >= 0; i--) {
      spans.push(sp(`d${i}`, i === 0 ? '' : `d${i - 1}`, i, 2 * n - i));
    }
    const t = assembleTrace(spans);
    assert.equal(t.nodes.length, n);
    assert.equal(t.depth, n);
    assert.equal(t.nodes[n - 1]?.depth, n - 1);
    assert.equal(t.nodes[n - 1]?.span.spanId, id(`d${n - 1}`));
    assert.equal(t.nodes[0]?.selfTimeNano, 2n * MS);
  });

  it('handles a 100,000-span wide trace', () => {
    const n = 100_000;
    const spans: Span[] = [sp('root', '', 0, 1_000_000)];
    // Start times in descending input order, so the sort has real work to do.
    for (let i = n - 1; i >= 1; i--) spans.push(sp(`w${i}`, 'root', i, i + 1));
    const t = assembleTrace(spans);
    assert.equal(t.nodes.length, n);
    assert.equal(t.depth, 2);
    assert.equal(t.nodes[0]?.children.length, n - 1);
    for (let i = 1; i < n; i++) {
      assert.equal(t.nodes[i]?.span.spanId, id(`w${i}`));
      assert.equal(t.nodes[i]?.parentIndex, 0);
    }
    assert.equal(t.nodes[0]?.selfTimeNano, (1_000_000n - BigInt(n - 1)) * MS);
  });
});

describe('assembleTrace: self time', () => {
  it('subtracts the union of children clipped to the span', () => {
    const t = assembleTrace([
      sp('a', '', 0, 100),
      sp('b', 'a', 10, 30),
      sp('c', 'a', 20, 40), // overlaps b: union 10..40
      sp('d', 'a', 90, 120), // clipped to 90..100
      sp('e', 'a', 50, 60),
      sp('f', 'e', 50, 60), // grandchild does not count against a
    ]);
    const a = t.nodes[0];
    assert.equal(a?.selfTimeNano, (100n - 30n - 10n - 10n) * MS);
    assert.equal(t.nodes.find((x) => x.span.spanId === id('e'))?.selfTimeNano, 0n);
    assert.equal(t.nodes.find((x) => x.span.spanId === id('b'))?.selfTimeNano, 20n * MS);
  });
});

describe('assembleTrace: clock skew', () => {
  it('centres a child on another host that does not fit, with its descendants and events', () => {
    const t = assembleTrace([
      sp('p', '', 100, 200, { resource: res('front', 'h1') }),
      sp('c', 'p', 80, 140, {
        resource: res('back', 'h2'),
        events: [{ timeUnixNano: T0 + 90n * MS, name: 'e', attributes: [], droppedAttributesCount: 0 }],
      }),
      sp('g', 'c', 85, 95, { resource: res('back', 'h2') }),
    ]);
    const [p, c, g] = t.nodes;
    assert.equal(p?.skewNano, 0n);
    // Jaeger: latency = (100 - 60) / 2 = 20ms, so c starts at 120ms: shift +40ms.
    assert.equal(c?.skewNano, 40n * MS);
    assert.equal(c?.adjustedStartUnixNano, T0 + 120n * MS);
    assert.equal(c?.adjustedEndUnixNano, T0 + 180n * MS);
    assert.equal(c?.span.startTimeUnixNano, T0 + 80n * MS, 'input not mutated');
    assert.equal(c?.adjustedEvents[0]?.timeUnixNano, T0 + 130n * MS);
    assert.equal(c?.span.events[0]?.timeUnixNano, T0 + 90n * MS);
    assert.deepEqual(c?.warnings, ['clock skew adjusted: shifted by +40.000ms to fit its parent on another host']);
    assert.equal(g?.skewNano, 40n * MS);
    assert.equal(g?.adjustedStartUnixNano, T0 + 125n * MS);
    assert.equal(g?.warnings.length, 1);
    assert.equal(t.startUnixNano, T0 + 100n * MS);
    assert.equal(t.warningCount, 2);
  });

  it('shifts a child that ends after its parent back inside it', () => {
    const t = assembleTrace([
      sp('p', '', 100, 200, { resource: res('front', 'h1') }),
      sp('c', 'p', 190, 230, { resource: res('back', 'h2') }),
    ]);
    // Centred: 100 + (100 - 40) / 2 = 130, shift -60ms.
    assert.equal(t.nodes[1]?.skewNano, -60n * MS);
    assert.match(t.nodes[1]?.warnings[0] ?? '', /shifted by -60\.000ms/);
  });

  it('does not shift a child on the same host, nor one that fits', () => {
    const t = assembleTrace([
      sp('p', '', 100, 200, { resource: res('front', 'h1') }),
      sp('same', 'p', 80, 140, { resource: res('other-service', 'h1') }),
      sp('fits', 'p', 110, 140, { resource: res('back', 'h2') }),
    ]);
    for (const node of t.nodes) {
      assert.equal(node.skewNano, 0n);
      assert.equal(node.adjustedStartUnixNano, node.span.startTimeUnixNano);
      assert.equal(node.warnings.length, 0);
    }
  });

  it('uses the service name when there is no host attribute', () => {
    const t = assembleTrace([
      sp('p', '', 100, 200, { resource: res('front') }),
      sp('c', 'p', 50, 60, { resource: res('back') }),
      sp('d', 'p', 50, 60, { resource: res('front') }),
    ]);
    assert.notEqual(t.nodes.find((n) => n.span.spanId === id('c'))?.skewNano, 0n);
    assert.equal(t.nodes.find((n) => n.span.spanId === id('d'))?.skewNano, 0n);
  });

  it('moves a child longer than its parent only so that it does not start earlier (Jaeger)', () => {
    const t = assembleTrace([
      sp('p', '', 100, 200, { resource: res('front', 'h1') }),
      sp('long', 'p', 70, 270, { resource: res('back', 'h2') }),
      sp('late', 'p', 150, 400, { resource: res('back', 'h3') }),
    ]);
    const long = t.nodes.find((n) => n.span.spanId === id('long'));
    const late = t.nodes.find((n) => n.span.spanId === id('late'));
    assert.equal(long?.skewNano, 30n * MS);
    assert.equal(long?.adjustedStartUnixNano, T0 + 100n * MS);
    assert.equal(late?.skewNano, 0n);
  });

  it('compares a grandchild on a third host with its adjusted parent', () => {
    const t = assembleTrace([
      sp('p', '', 100, 200, { resource: res('a', 'h1') }),
      sp('c', 'p', 0, 60, { resource: res('b', 'h2') }), // +120ms -> 120..180
      sp('g', 'c', 10, 20, { resource: res('c', 'h3') }), // fits the raw parent, not the adjusted one
    ]);
    const g = t.nodes[2];
    assert.equal(g?.span.spanId, id('g'));
    // Adjusted parent is 120..180: g centred at 120 + (60 - 10) / 2 = 145.
    assert.equal(g?.adjustedStartUnixNano, T0 + 145n * MS);
  });

  it('can be turned off', () => {
    const t = assembleTrace(
      [sp('p', '', 100, 200, { resource: res('front', 'h1') }), sp('c', 'p', 80, 140, { resource: res('back', 'h2') })],
      { adjustClockSkew: false },
    );
    assert.equal(t.nodes[1]?.skewNano, 0n);
    assert.equal(t.warningCount, 0);
  });
});

describe('formatSignedDuration', () => {
  it('formats with a sign and a unit', () => {
    assert.equal(formatSignedDuration(1_234_000n), '+1.234ms');
    assert.equal(formatSignedDuration(-250n), '-250ns');
    assert.equal(formatSignedDuration(2_500_000_000n), '+2.500s');
    assert.equal(formatSignedDuration(1_005n), '+1.005µs');
    assert.equal(formatSignedDuration(0n), '+0ns');
  });
});
