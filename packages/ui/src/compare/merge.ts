/**
 * Merges two traces into one tree for the compare page: spans are matched by
 * their path of (service, operation) pairs from the root, so the "checkout ›
 * payment › charge" node of one trace meets the same node of the other
 * whatever the span ids. Each merged node sums the spans on its path on each
 * side. Linear in the spans of both traces.
 */
import { nameOf, serviceOf, type TraceModel } from '../trace/model.ts';

/** One side of a merged node. */
export interface SideStats {
  /** Spans on this path. */
  count: number;
  /** Sum of their durations, ns. */
  total: number;
  /** Sum of their self times, ns. */
  self: number;
  errors: number;
}

/** A node of the merged tree. */
export interface MergedNode {
  readonly id: number;
  readonly parent: number;
  readonly depth: number;
  readonly service: string;
  readonly name: string;
  readonly children: number[];
  readonly left: SideStats;
  readonly right: SideStats;
}

/** Where a node occurs. */
export function presence(n: MergedNode): 'both' | 'left' | 'right' {
  if (n.left.count > 0 && n.right.count > 0) return 'both';
  return n.left.count > 0 ? 'left' : 'right';
}

/** The merged tree: nodes in depth-first order (children in order of first appearance, left trace first). */
export interface MergedTree {
  readonly nodes: readonly MergedNode[];
  /** Nodes only in the left trace, only in the right one. */
  readonly onlyLeft: number;
  readonly onlyRight: number;
}

/** Merges `left` and `right` (see the file comment). */
export function mergeTraces(left: TraceModel, right: TraceModel): MergedTree {
  const created: MergedNode[] = [];
  const byKey = new Map<string, number>();
  const roots: number[] = [];
  const add = (m: TraceModel, side: 'left' | 'right') => {
    const nodeOf = new Int32Array(m.spanCount);
    for (let i = 0; i < m.spanCount; i++) {
      const p = m.parent[i] as number;
      const parentNode = p >= 0 ? (nodeOf[p] as number) : -1;
      const service = serviceOf(m, i);
      const name = nameOf(m, i);
      const key = `${parentNode}\u0000${service}\u0000${name}`;
      let id = byKey.get(key);
      if (id === undefined) {
        id = created.length;
        const parentDepth = parentNode >= 0 ? (created[parentNode] as MergedNode).depth : -1;
        created.push({
          id,
          parent: parentNode,
          depth: parentDepth + 1,
          service,
          name,
          children: [],
          left: { count: 0, total: 0, self: 0, errors: 0 },
          right: { count: 0, total: 0, self: 0, errors: 0 },
        });
        byKey.set(key, id);
        if (parentNode >= 0) (created[parentNode] as MergedNode).children.push(id);
        else roots.push(id);
      }
      nodeOf[i] = id;
      const s = (created[id] as MergedNode)[side];
      s.count++;
      s.total += m.duration[i] as number;
      s.self += m.selfTime[i] as number;
      if (m.status[i] === 2) s.errors++;
    }
  };
  add(left, 'left');
  add(right, 'right');
  // Depth-first order, with new ids, so that a subtree is a contiguous range.
  const order: MergedNode[] = [];
  const remap = new Int32Array(created.length);
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const id = stack.pop() as number;
    const n = created[id] as MergedNode;
    remap[id] = order.length;
    order.push(n);
    for (let k = n.children.length - 1; k >= 0; k--) stack.push(n.children[k] as number);
  }
  let onlyLeft = 0;
  let onlyRight = 0;
  const nodes = order.map((n, k): MergedNode => {
    const p = presence(n);
    if (p === 'left') onlyLeft++;
    if (p === 'right') onlyRight++;
    return {
      ...n,
      id: k,
      parent: n.parent >= 0 ? (remap[n.parent] as number) : -1,
      children: n.children.map((c) => remap[c] as number),
    };
  });
  return { nodes, onlyLeft, onlyRight };
}
