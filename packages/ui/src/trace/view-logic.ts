/**
 * The trace page's computations over a {@link TraceModel}, each linear in
 * the spans: the rows left visible by collapsed subtrees, find-in-trace
 * matches, and per-operation statistics. Pure functions (no DOM), so tests
 * run them under Node.
 */
import { attributeValueText, isError, nameOf, serviceOf, type TraceModel } from './model.ts';

/**
 * Span indexes shown as rows, in tree order, skipping the descendants of
 * spans whose `collapsed` flag is set (a subtree is a contiguous range).
 */
export function visibleRows(m: TraceModel, collapsed: Uint8Array): Int32Array {
  const out = new Int32Array(m.spanCount);
  let k = 0;
  let i = 0;
  while (i < m.spanCount) {
    out[k++] = i;
    i = collapsed[i] === 1 ? (m.subtreeEnd[i] as number) : i + 1;
  }
  return out.subarray(0, k);
}

/** Collapses every span at `depth` or deeper that has children (the "collapse to level" action). */
export function collapseFromDepth(m: TraceModel, depth: number): Uint8Array {
  const c = new Uint8Array(m.spanCount);
  for (let i = 0; i < m.spanCount; i++) {
    if ((m.spanDepth[i] as number) >= depth && (m.childCount[i] as number) > 0) c[i] = 1;
  }
  return c;
}

/** Expands every ancestor of span `i`, so that it is visible. Returns whether anything changed. */
export function revealSpan(m: TraceModel, collapsed: Uint8Array, i: number): boolean {
  let changed = false;
  for (let p = m.parent[i] as number; p >= 0; p = m.parent[p] as number) {
    if (collapsed[p] === 1) {
      collapsed[p] = 0;
      changed = true;
    }
  }
  return changed;
}

/** A parsed find-in-trace query. */
export interface FindQuery {
  /** Lower-case text to look for in names, services, ids and attribute values; '' when key=value. */
  readonly text: string;
  /** For `key=value`: the attribute key, exact. */
  readonly key: string | undefined;
  /** For `key=value`: the value text, lower case; matched exactly. */
  readonly value: string;
}

/**
 * Parses the find box: `key=value` matches a span (or resource) attribute
 * whose value reads exactly `value` (case-insensitive); anything else is
 * text searched in span names, services, span ids, status messages and
 * attribute values. `error` alone also finds spans that ended in ERROR.
 */
export function parseFind(input: string): FindQuery | undefined {
  const q = input.trim();
  if (q === '') return undefined;
  const eq = q.indexOf('=');
  if (eq > 0 && !/\s/.test(q.slice(0, eq))) {
    return {
      text: '',
      key: q.slice(0, eq),
      value: q
        .slice(eq + 1)
        .trim()
        .toLowerCase(),
    };
  }
  return { text: q.toLowerCase(), key: undefined, value: '' };
}

/** Marks (1) the spans that match `q`; returns the flags and the number of matches. */
export function findMatches(m: TraceModel, q: FindQuery): { flags: Uint8Array; count: number } {
  const flags = new Uint8Array(m.spanCount);
  let count = 0;
  const strings = m.strings;
  if (q.key !== undefined) {
    // Resolve the key once: attributes hold string indexes, so the loop compares numbers.
    const keyIndex = strings.indexOf(q.key);
    const resourceHits = m.resources.map((r) =>
      r.attributes.some((a) => a.key === q.key && String(a.value).toLowerCase() === q.value),
    );
    for (let i = 0; i < m.spanCount; i++) {
      let hit = resourceHits[m.resource[i] as number] === true;
      if (!hit && keyIndex >= 0) {
        for (let j = m.attrs[i] as number; j < (m.attrs[i + 1] as number); j++) {
          if (m.attrKeys[j] === keyIndex && attributeValueText(m, j).toLowerCase() === q.value) {
            hit = true;
            break;
          }
        }
      }
      if (hit) {
        flags[i] = 1;
        count++;
      }
    }
    return { flags, count };
  }
  const t = q.text;
  // Which interned strings contain the text: each distinct string is lower-cased and searched once.
  const stringHit = new Uint8Array(strings.length);
  for (let s = 0; s < strings.length; s++) if ((strings[s] as string).toLowerCase().includes(t)) stringHit[s] = 1;
  const serviceHit = m.services.map((s) => s.service.toLowerCase().includes(t));
  const wantErrors = t === 'error';
  for (let i = 0; i < m.spanCount; i++) {
    let hit =
      stringHit[m.name[i] as number] === 1 ||
      serviceHit[m.service[i] as number] === true ||
      stringHit[m.statusMessage[i] as number] === 1 ||
      (wantErrors && isError(m, i)) ||
      (t.length >= 4 && m.spanIds.slice(i * 16, i * 16 + 16).includes(t));
    if (!hit) {
      for (let j = m.attrs[i] as number; j < (m.attrs[i + 1] as number); j++) {
        const code = m.attrTypes[j] as number;
        const raw = m.attrValues[j] as number;
        if (code === 0 || code === 2 || code === 4 || code === 8 || code >= 5) {
          if (stringHit[raw] === 1) {
            hit = true;
            break;
          }
        } else if (attributeValueText(m, j).toLowerCase().includes(t)) {
          hit = true;
          break;
        }
      }
    }
    if (hit) {
      flags[i] = 1;
      count++;
    }
  }
  return { flags, count };
}

/** Statistics of one operation (service and span name) in a trace. */
export interface OperationStats {
  readonly service: string;
  readonly name: string;
  count: number;
  errors: number;
  /** ns. */
  total: number;
  self: number;
  max: number;
  min: number;
}

/** Per-operation statistics, sorted by total self time, largest first. */
export function operationStats(m: TraceModel): OperationStats[] {
  const byKey = new Map<number, OperationStats>();
  const stride = m.strings.length + 1;
  for (let i = 0; i < m.spanCount; i++) {
    const key = (m.service[i] as number) * stride + (m.name[i] as number);
    let s = byKey.get(key);
    if (s === undefined) {
      s = {
        service: serviceOf(m, i),
        name: nameOf(m, i),
        count: 0,
        errors: 0,
        total: 0,
        self: 0,
        max: 0,
        min: Number.POSITIVE_INFINITY,
      };
      byKey.set(key, s);
    }
    const d = m.duration[i] as number;
    s.count++;
    if (isError(m, i)) s.errors++;
    s.total += d;
    s.self += m.selfTime[i] as number;
    if (d > s.max) s.max = d;
    if (d < s.min) s.min = d;
  }
  return [...byKey.values()].sort((a, b) => b.self - a.self);
}

/** Critical-path intervals per span: flat pairs (start, end) in ns, grouped by span index. */
export function criticalBySpan(m: TraceModel): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const cp = m.criticalPath;
  for (let k = 0; k + 2 < cp.length; k += 3) {
    const i = cp[k] as number;
    const list = out.get(i) ?? [];
    list.push(cp[k + 1] as number, (cp[k + 1] as number) + (cp[k + 2] as number));
    out.set(i, list);
  }
  return out;
}
