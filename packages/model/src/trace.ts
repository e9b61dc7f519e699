import { spanDiff } from './compare.ts';
import { isZeroHex } from './ids.ts';
import {
  getAttribute,
  type Resource,
  type Span,
  type SpanEvent,
  StatusCode,
  serviceNameOf,
  type TraceIdHex,
} from './span.ts';

/**
 * One span placed in an assembled trace. Plain data (no methods, no cycles
 * through object references: relations are indexes into
 * {@link AssembledTrace.nodes}), so it can be sent to a worker or serialised
 * (bigints need a replacer for JSON).
 */
export interface TraceNode {
  /** The span as received; never mutated. */
  readonly span: Span;
  /** This node's position in {@link AssembledTrace.nodes} (depth-first display order). */
  readonly index: number;
  /** Index of the parent node, -1 for a root (true root, orphan, or broken cycle). */
  readonly parentIndex: number;
  /** Indexes of the children, ordered by adjusted start time, then span id. */
  readonly children: number[];
  /** 0 for roots. */
  readonly depth: number;
  /**
   * True when the span names a parent that is not in the trace, or when its
   * parent chain formed a cycle that was broken here.
   */
  readonly orphan: boolean;
  /** Start time after clock-skew adjustment (equals the span's own when not adjusted). */
  readonly adjustedStartUnixNano: bigint;
  /** End time after clock-skew adjustment. */
  readonly adjustedEndUnixNano: bigint;
  /** The shift applied by clock-skew adjustment; 0n when none. */
  readonly skewNano: bigint;
  /**
   * The span's events with times shifted by {@link skewNano}; the span's own
   * array when the shift is zero.
   */
  readonly adjustedEvents: readonly SpanEvent[];
  /**
   * The span's duration minus the union of its children's (adjusted)
   * intervals clipped to the span, as Jaeger's "self time". Never negative.
   */
  readonly selfTimeNano: bigint;
  /** Human-readable notes about repairs made to this span (skew, duplicates, cycles). */
  readonly warnings: string[];
}

/** A trace assembled into a tree by {@link assembleTrace}. */
export interface AssembledTrace {
  /** The trace id of the first span; '' for an empty trace. */
  readonly traceId: TraceIdHex;
  /** Every distinct span once, in depth-first display order. */
  readonly nodes: TraceNode[];
  /**
   * Indexes of root nodes: true roots (no parent id) by start time first,
   * then orphans by start time.
   */
  readonly roots: number[];
  /** Earliest adjusted start over all spans; 0n for an empty trace. */
  readonly startUnixNano: bigint;
  /** Latest adjusted end over all spans; 0n for an empty trace. */
  readonly endUnixNano: bigint;
  /** `endUnixNano - startUnixNano`. */
  readonly durationNano: bigint;
  /** Maximum node depth plus one; 0 for an empty trace. */
  readonly depth: number;
  /** Distinct service names, sorted. */
  readonly services: string[];
  /** Spans whose status code is ERROR. */
  readonly errorCount: number;
  /** Root nodes that are orphans. */
  readonly orphanCount: number;
  /** Input spans dropped because an earlier span had the same span id. */
  readonly duplicatesRemoved: number;
  /** Warnings about the trace as a whole (for example, mixed trace ids). */
  readonly warnings: string[];
  /** Trace-level warnings plus every node's warnings. */
  readonly warningCount: number;
  /** Service of the first root; '' for an empty trace. */
  readonly rootServiceName: string;
  /** Span name of the first root; '' for an empty trace. */
  readonly rootName: string;
}

/** Options of {@link assembleTrace}. */
export interface AssembleOptions {
  /**
   * Shift spans that ran on another host than their parent so that they fit
   * inside it, as Jaeger's clock-skew adjuster does.
   * @default true
   */
  readonly adjustClockSkew?: boolean;
}

/** Resource attributes that identify a host, in order of preference. */
const HOST_KEYS = ['host.name', 'host.id'] as const;

/**
 * Builds the span tree of one trace: removes duplicate span ids, links
 * children to parents, flags orphans, breaks parent cycles, adjusts clock skew
 * between hosts and computes self times.
 *
 * Runs in O(n log n) (the sorts of children) with explicit stacks only, so
 * very deep or very wide traces neither take quadratic time nor overflow the
 * call stack. Input spans are never mutated.
 */
export function assembleTrace(spans: readonly Span[], options?: AssembleOptions): AssembledTrace {
  const adjustSkew = options?.adjustClockSkew ?? true;
  const traceWarnings: string[] = [];

  // Dedup: keep the first span for each id (Jaeger's span-id deduper keeps one too).
  const unique: Span[] = [];
  const warningsOf: string[][] = [];
  const byId = new Map<string, number>();
  let duplicatesRemoved = 0;
  const traceId = spans.length > 0 ? (spans[0] as Span).traceId : '';
  let otherTraceIds: Set<string> | undefined;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i] as Span;
    if (span.traceId !== traceId) {
      otherTraceIds ??= new Set();
      otherTraceIds.add(span.traceId);
    }
    const seen = byId.get(span.spanId);
    if (seen === undefined) {
      byId.set(span.spanId, unique.length);
      unique.push(span);
      warningsOf.push([]);
      continue;
    }
    duplicatesRemoved++;
    const kept = unique[seen] as Span;
    if (kept === span) continue;
    const diff = spanDiff(kept, span);
    const w = warningsOf[seen] as string[];
    // One note per span is enough to flag bad data; more would only grow memory.
    if (diff !== undefined && !w.some((s) => s.startsWith(DUPLICATE_WARNING))) {
      w.push(`${DUPLICATE_WARNING} (first difference: ${diff}); kept the first`);
    }
  }
  if (otherTraceIds !== undefined) {
    traceWarnings.push(
      `spans from ${otherTraceIds.size + 1} trace ids assembled together; trace id ${traceId} taken from the first span`,
    );
  }

  const n = unique.length;
  const parentOf = new Int32Array(n);
  const orphan = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const pid = (unique[i] as Span).parentSpanId;
    if (pid === '' || isZeroHex(pid)) {
      parentOf[i] = -1;
      continue;
    }
    const p = byId.get(pid);
    if (p === undefined) {
      parentOf[i] = -1;
      orphan[i] = 1;
    } else {
      parentOf[i] = p;
    }
  }

  breakCycles(unique, parentOf, orphan, warningsOf);

  // Children lists as CSR arrays: one allocation instead of n small arrays.
  const childCount = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const p = parentOf[i] as number;
    if (p >= 0) childCount[p + 1]!++;
  }
  for (let i = 0; i < n; i++) childCount[i + 1]! += childCount[i] as number;
  const childStart = childCount; // prefix sums: children of p live at [childStart[p], childStart[p + 1])
  const fill = childStart.slice(0, n);
  const childList = new Int32Array(childStart[n] as number);
  const rootList: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = parentOf[i] as number;
    if (p >= 0) childList[fill[p]!++] = i;
    else rootList.push(i);
  }

  // Clock skew, top-down in BFS order so a parent is adjusted before its children.
  const skew: bigint[] = new Array<bigint>(n).fill(0n);
  if (adjustSkew && n > 0) {
    const hostOf = hostKeyCache();
    const queue = new Int32Array(n);
    let head = 0;
    let tail = 0;
    for (const r of rootList) queue[tail++] = r;
    while (head < tail) {
      const p = queue[head++] as number;
      const ps = unique[p] as Span;
      const pHost = hostOf(ps.resource);
      const pDelta = skew[p] as bigint;
      const pStart = pDelta === 0n ? ps.startTimeUnixNano : ps.startTimeUnixNano + pDelta;
      const pEnd = pDelta === 0n ? ps.endTimeUnixNano : ps.endTimeUnixNano + pDelta;
      for (let k = childStart[p] as number; k < (childStart[p + 1] as number); k++) {
        const c = childList[k] as number;
        queue[tail++] = c;
        const cs = unique[c] as Span;
        if (hostOf(cs.resource) === pHost) {
          // Same host, same clock: move together with the parent (Jaeger inherits the delta).
          if (pDelta !== 0n) {
            skew[c] = pDelta;
            (warningsOf[c] as string[]).push(
              `clock skew adjusted: shifted by ${formatSignedDuration(pDelta)} with its parent on the same host`,
            );
          }
          continue;
        }
        const delta = computeSkew(pStart, pEnd, cs.startTimeUnixNano, cs.endTimeUnixNano);
        if (delta !== 0n) {
          skew[c] = delta;
          (warningsOf[c] as string[]).push(
            `clock skew adjusted: shifted by ${formatSignedDuration(delta)} to fit its parent on another host`,
          );
        }
      }
    }
  }

  // Adjusted times computed once: bigint additions inside sort comparators are costly.
  const adjStart: bigint[] = new Array<bigint>(n);
  const adjEnd: bigint[] = new Array<bigint>(n);
  for (let i = 0; i < n; i++) {
    const span = unique[i] as Span;
    const delta = skew[i] as bigint;
    adjStart[i] = delta === 0n ? span.startTimeUnixNano : span.startTimeUnixNano + delta;
    adjEnd[i] = delta === 0n ? span.endTimeUnixNano : span.endTimeUnixNano + delta;
  }
  const startOf = (i: number): bigint => adjStart[i] as bigint;
  const endOf = (i: number): bigint => adjEnd[i] as bigint;
  const byStart = (a: number, b: number): number => {
    const sa = startOf(a);
    const sb = startOf(b);
    if (sa !== sb) return sa < sb ? -1 : 1;
    const ia = (unique[a] as Span).spanId;
    const ib = (unique[b] as Span).spanId;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  };
  for (let p = 0; p < n; p++) {
    const from = childStart[p] as number;
    const to = childStart[p + 1] as number;
    if (to - from > 1) childList.subarray(from, to).sort(byStart);
  }
  const trueRoots = rootList.filter((r) => orphan[r] === 0).sort(byStart);
  const orphanRoots = rootList.filter((r) => orphan[r] === 1).sort(byStart);
  const orderedRoots = trueRoots.concat(orphanRoots);

  // Depth-first display order with an explicit stack.
  const order = new Int32Array(n); // display position -> unique index
  const position = new Int32Array(n); // unique index -> display position
  const depthOf = new Int32Array(n);
  const stack: number[] = [];
  for (let r = orderedRoots.length - 1; r >= 0; r--) stack.push(orderedRoots[r] as number);
  let next = 0;
  let maxDepth = -1;
  while (stack.length > 0) {
    const u = stack.pop() as number;
    order[next] = u;
    position[u] = next++;
    const d = parentOf[u]! < 0 ? 0 : (depthOf[parentOf[u] as number] as number) + 1;
    depthOf[u] = d;
    if (d > maxDepth) maxDepth = d;
    for (let k = (childStart[u + 1] as number) - 1; k >= (childStart[u] as number); k--) {
      stack.push(childList[k] as number);
    }
  }

  const nodes: TraceNode[] = new Array<TraceNode>(n);
  const services = new Set<string>();
  const serviceOf = new Map<Resource, string>();
  let errorCount = 0;
  let orphanCount = 0;
  let warningCount = traceWarnings.length;
  let traceStart = 0n;
  let traceEnd = 0n;
  for (let pos = 0; pos < n; pos++) {
    const u = order[pos] as number;
    const span = unique[u] as Span;
    const delta = skew[u] as bigint;
    const start = adjStart[u] as bigint;
    const end = adjEnd[u] as bigint;
    const from = childStart[u] as number;
    const to = childStart[u + 1] as number;
    const children: number[] = new Array<number>(to - from);
    for (let k = from; k < to; k++) children[k - from] = position[childList[k] as number] as number;

    let service = serviceOf.get(span.resource);
    if (service === undefined) {
      service = serviceNameOf(span.resource);
      serviceOf.set(span.resource, service);
      services.add(service);
    }
    if (span.status.code === StatusCode.ERROR) errorCount++;
    if (orphan[u] === 1) orphanCount++;
    const warnings = warningsOf[u] as string[];
    warningCount += warnings.length;
    if (pos === 0 || start < traceStart) traceStart = start;
    if (pos === 0 || end > traceEnd) traceEnd = end;

    nodes[pos] = {
      span,
      index: pos,
      parentIndex: parentOf[u]! < 0 ? -1 : (position[parentOf[u] as number] as number),
      children,
      depth: depthOf[u] as number,
      orphan: orphan[u] === 1,
      adjustedStartUnixNano: start,
      adjustedEndUnixNano: end,
      skewNano: delta,
      adjustedEvents: delta === 0n ? span.events : shiftEvents(span.events, delta),
      selfTimeNano: selfTime(start, end, childList, from, to, startOf, endOf),
      warnings,
    };
  }

  const first = orderedRoots.length > 0 ? (unique[orderedRoots[0] as number] as Span) : undefined;
  return {
    traceId,
    nodes,
    roots: orderedRoots.map((r) => position[r] as number),
    startUnixNano: traceStart,
    endUnixNano: traceEnd,
    durationNano: traceEnd - traceStart,
    depth: maxDepth + 1,
    services: [...services].sort(),
    errorCount,
    orphanCount,
    duplicatesRemoved,
    warnings: traceWarnings,
    warningCount,
    rootServiceName: first === undefined ? '' : serviceNameOf(first.resource),
    rootName: first === undefined ? '' : first.name,
  };
}

const DUPLICATE_WARNING = 'another span with the same span id differs';

/**
 * Jaeger's clock-skew rule (model/adjuster/clockskew.go), applied to a child on
 * another host than its (already adjusted) parent:
 * - a child longer than its parent was async or outlived a timed-out parent, so
 *   it is only moved so that it does not start before the parent;
 * - a child that already fits is left alone;
 * - otherwise network latency is assumed equal both ways, which centres the
 *   child in the parent: it starts at parentStart + (parentDur - childDur) / 2.
 */
function computeSkew(pStart: bigint, pEnd: bigint, cStart: bigint, cEnd: bigint): bigint {
  const pDur = pEnd - pStart;
  const cDur = cEnd - cStart;
  if (cDur > pDur) return cStart < pStart ? pStart - cStart : 0n;
  if (cStart >= pStart && cEnd <= pEnd) return 0n;
  return pStart + (pDur - cDur) / 2n - cStart;
}

/**
 * The identity of the clock a span was timed with. Jaeger uses the process
 * `ip` tag; OpenTelemetry resources name hosts with `host.name` / `host.id`,
 * and without those the service is the best guess at a separate process.
 */
function hostKeyCache(): (resource: Resource) => string {
  const cache = new Map<Resource, string>();
  return (resource) => {
    let key = cache.get(resource);
    if (key === undefined) {
      key = '';
      for (const k of HOST_KEYS) {
        const v = getAttribute(resource.attributes, k);
        if (typeof v === 'string' && v !== '') {
          key = `${k}=${v}`;
          break;
        }
      }
      if (key === '') key = `service.name=${serviceNameOf(resource)}`;
      cache.set(resource, key);
    }
    return key;
  };
}

/**
 * Finds spans whose parent chain never reaches a root (a cycle, or a chain
 * hanging off one) and breaks each cycle at its earliest-starting span, which
 * becomes an orphan root with a warning. Linear: every span is walked once.
 */
function breakCycles(unique: readonly Span[], parentOf: Int32Array, orphan: Uint8Array, warningsOf: string[][]): void {
  const n = unique.length;
  // 0 = not yet known, 1 = reaches a root, otherwise the id of the walk that visited it.
  const state = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0) continue;
    const walk = i + 2;
    const path: number[] = [];
    let u = i;
    while (u >= 0 && state[u] === 0) {
      state[u] = walk;
      path.push(u);
      u = parentOf[u] as number;
    }
    if (u >= 0 && state[u] === walk) {
      // The walk came back to itself: path from u onwards is the cycle.
      const cycle = path.slice(path.indexOf(u));
      let cut = cycle[0] as number;
      for (const c of cycle) {
        const a = unique[c] as Span;
        const b = unique[cut] as Span;
        if (
          a.startTimeUnixNano < b.startTimeUnixNano ||
          (a.startTimeUnixNano === b.startTimeUnixNano && a.spanId < b.spanId)
        )
          cut = c;
      }
      const ids = cycle.map((c) => (unique[c] as Span).spanId).join(' -> ');
      parentOf[cut] = -1;
      orphan[cut] = 1;
      (warningsOf[cut] as string[]).push(
        `parent chain forms a cycle (${ids} -> ${(unique[cycle[0] as number] as Span).spanId}); shown as an orphan root`,
      );
    }
    // Everything on this path now reaches a root (directly, via a known chain, or via the cut).
    for (const p of path) state[p] = 1;
  }
}

function shiftEvents(events: readonly SpanEvent[], delta: bigint): readonly SpanEvent[] {
  return events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano + delta }));
}

/** Duration minus the union of children clipped to the span; children come sorted by start. */
function selfTime(
  start: bigint,
  end: bigint,
  childList: Int32Array,
  from: number,
  to: number,
  startOf: (i: number) => bigint,
  endOf: (i: number) => bigint,
): bigint {
  if (end <= start) return 0n;
  let covered = 0n;
  let runStart = 0n;
  let runEnd = 0n;
  let open = false;
  for (let k = from; k < to; k++) {
    const c = childList[k] as number;
    let cs = startOf(c);
    let ce = endOf(c);
    if (cs < start) cs = start;
    if (ce > end) ce = end;
    if (ce <= cs) continue;
    if (open && cs <= runEnd) {
      if (ce > runEnd) runEnd = ce;
    } else {
      if (open) covered += runEnd - runStart;
      runStart = cs;
      runEnd = ce;
      open = true;
    }
  }
  if (open) covered += runEnd - runStart;
  return end - start - covered;
}

/**
 * Formats a signed nanosecond amount for warnings: `+1.234ms`, `-250ns`,
 * `+2.500s`. Exact (bigint arithmetic), three decimals above nanoseconds.
 */
export function formatSignedDuration(nano: bigint): string {
  const sign = nano < 0n ? '-' : '+';
  const abs = nano < 0n ? -nano : nano;
  if (abs < 1_000n) return `${sign}${abs}ns`;
  const [unit, scale] =
    abs < 1_000_000n ? ['µs', 1_000n] : abs < 1_000_000_000n ? ['ms', 1_000_000n] : ['s', 1_000_000_000n];
  const whole = abs / scale;
  const frac = ((abs % scale) * 1000n) / scale;
  return `${sign}${whole}.${frac.toString().padStart(3, '0')}${unit}`;
}
