import { SpanKind } from './span.ts';
import type { AssembledTrace, TraceNode } from './trace.ts';

/** A stretch of time during which one span was on the trace's critical path. */
export interface CriticalPathSegment {
  readonly spanId: string;
  /** Index of the span's node in {@link AssembledTrace.nodes}. */
  readonly index: number;
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
}

/**
 * The critical path of a trace, as Jaeger UI defines it: the chain of work
 * that the root's end waited on. Starting at the root's end, the path goes
 * into the child that finished last; when that child's own path reaches its
 * start, the path continues in the parent, into the child that finished last
 * before that point, and so on down to the root's start.
 *
 * Like Jaeger UI:
 * - the root is the longest true root (the longest root of any kind if every
 *   root is an orphan);
 * - a CONSUMER child of a PRODUCER parent does not block its parent, so it and
 *   its descendants are left out;
 * - children are clipped to their (clipped) parent, and children entirely
 *   outside the parent (such as async work that starts after the parent
 *   ended) are left out with their descendants.
 *
 * Unlike Jaeger UI, a child that ends exactly where the path stands is still
 * taken (Jaeger compares strictly, which skips back-to-back sequential calls
 * and charges their time to the parent). Adjusted (clock-skew corrected)
 * times are used.
 *
 * Segments are in time order, do not overlap, have positive length and cover
 * the root's duration exactly. Iterative: deep traces do not overflow the stack.
 */
export function criticalPath(trace: AssembledTrace): CriticalPathSegment[] {
  const nodes = trace.nodes;
  const root = pickRoot(trace);
  if (root < 0) return [];

  // Clipped times for the nodes that take part; undefined = left out.
  const cs: (bigint | undefined)[] = new Array<bigint | undefined>(nodes.length);
  const ce: (bigint | undefined)[] = new Array<bigint | undefined>(nodes.length);
  // Per node: its kept children sorted by clipped end, latest first, and how many were used up.
  const lfc = new Map<number, number[]>();
  const used = new Map<number, number>();

  const rootNode = nodes[root] as TraceNode;
  cs[root] = rootNode.adjustedStartUnixNano;
  ce[root] = maxBig(rootNode.adjustedEndUnixNano, rootNode.adjustedStartUnixNano);
  const stack: number[] = [root];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    const parent = nodes[p] as TraceNode;
    const ps = cs[p] as bigint;
    const pe = ce[p] as bigint;
    const kept: number[] = [];
    for (const c of parent.children) {
      const child = nodes[c] as TraceNode;
      if (parent.span.kind === SpanKind.PRODUCER && child.span.kind === SpanKind.CONSUMER) continue;
      const s = child.adjustedStartUnixNano;
      const e = maxBig(child.adjustedEndUnixNano, s);
      // Jaeger's sanitizeOverFlowingChildren: drop what lies wholly outside, clip the rest.
      if (s >= pe) continue;
      if (s < ps && e <= ps) continue;
      cs[c] = maxBig(s, ps);
      ce[c] = minBig(e, pe);
      kept.push(c);
      stack.push(c);
    }
    if (kept.length > 0) {
      kept.sort((a, b) => {
        const ea = ce[a] as bigint;
        const eb = ce[b] as bigint;
        if (ea !== eb) return ea > eb ? -1 : 1;
        const sa = cs[a] as bigint;
        const sb = cs[b] as bigint;
        if (sa !== sb) return sa < sb ? -1 : 1;
        return a - b;
      });
      lfc.set(p, kept);
    }
  }

  // Walk backwards in time. `point` only decreases for any given parent, so
  // each parent's sorted child list is consumed once from the front: O(n).
  const out: CriticalPathSegment[] = [];
  const push = (i: number, start: bigint, end: bigint): void => {
    if (end > start)
      out.push({ spanId: (nodes[i] as TraceNode).span.spanId, index: i, startUnixNano: start, endUnixNano: end });
  };
  let cur = root;
  let point = ce[root] as bigint;
  for (;;) {
    const kids = lfc.get(cur);
    let k = used.get(cur) ?? 0;
    if (kids !== undefined) while (k < kids.length && (ce[kids[k] as number] as bigint) > point) k++;
    if (kids !== undefined && k < kids.length) {
      const child = kids[k] as number;
      used.set(cur, k + 1);
      push(cur, ce[child] as bigint, point);
      cur = child;
      point = ce[child] as bigint;
      continue;
    }
    used.set(cur, k);
    push(cur, cs[cur] as bigint, point);
    if (cur === root) break;
    point = cs[cur] as bigint;
    cur = (nodes[cur] as TraceNode).parentIndex;
  }
  return out.reverse();
}

function pickRoot(trace: AssembledTrace): number {
  let best = -1;
  let bestDur = 0n;
  for (const onlyTrue of [true, false]) {
    for (const r of trace.roots) {
      const node = trace.nodes[r] as TraceNode;
      if (onlyTrue && node.orphan) continue;
      const d = node.adjustedEndUnixNano - node.adjustedStartUnixNano;
      if (best < 0 || d > bestDur) {
        best = r;
        bestDur = d;
      }
    }
    if (best >= 0) return best;
  }
  return best;
}

// Math.max/min throw on bigint, hence these.
function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
