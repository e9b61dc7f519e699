/**
 * The compare page (`/compare/:a/:b`): two traces side by side as one merged
 * tree (nodes matched by their service and operation path), nodes present in
 * only one trace marked, and per node the span counts and total durations of
 * each side with the difference. Rows are windowed: only those on screen are
 * in the DOM.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from '../app/router.tsx';
import { serviceColor } from '../lib/colors.ts';
import { formatDuration } from '../lib/format.ts';
import type { TraceModel } from '../trace/model.ts';
import { LoadError, Loading } from '../trace/status.tsx';
import { loadTrace } from '../trace/worker-protocol.ts';
import { type MergedNode, type MergedTree, mergeTraces, presence } from './merge.ts';
import '../trace/trace.css';

const ROW = 27;

function Side(props: { readonly label: string; readonly model: TraceModel }) {
  const m = props.model;
  return (
    <div className="tlt-cmp-head" data-testid={`compare-head-${props.label}`}>
      <h2>
        <span className="tlt-side">{props.label}</span>
        <span className="tlt-swatch" style={{ background: serviceColor(m.rootServiceName) }} />
        {m.rootServiceName} <span style={{ fontWeight: 400 }}>{m.rootName}</span>
      </h2>
      <div className="tlt-muted">
        <Link href={`/trace/${m.traceId}`}>
          <code>{m.traceId}</code>
        </Link>{' '}
        · {formatDuration(m.durationNano / 1000)} · {m.spanCount.toLocaleString('en-US')} spans · {m.errorCount} errors
      </div>
    </div>
  );
}

/** The compare page. */
export function ComparePage(props: { readonly left: string; readonly right: string }) {
  const [state, setState] = useState<{ left?: TraceModel; right?: TraceModel; error?: unknown }>({});
  useEffect(() => {
    let live = true;
    setState({});
    Promise.all([loadTrace(props.left), loadTrace(props.right)]).then(
      ([left, right]) => live && setState({ left, right }),
      (error: unknown) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [props.left, props.right]);
  const tree = useMemo(
    () => (state.left !== undefined && state.right !== undefined ? mergeTraces(state.left, state.right) : undefined),
    [state.left, state.right],
  );
  if (state.error !== undefined) return <LoadError error={state.error} what="the traces" />;
  if (state.left === undefined || state.right === undefined || tree === undefined) {
    return <Loading what="both traces" />;
  }
  return <CompareView left={state.left} right={state.right} tree={tree} />;
}

function CompareView(props: { readonly left: TraceModel; readonly right: TraceModel; readonly tree: MergedTree }) {
  const { tree } = props;
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  const [onlyDiff, setOnlyDiff] = useState(false);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(800);
  const body = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = body.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const rows = useMemo(() => {
    const out: MergedNode[] = [];
    const nodes = tree.nodes;
    let i = 0;
    while (i < nodes.length) {
      const n = nodes[i] as MergedNode;
      const changed = presence(n) !== 'both' || n.left.count !== n.right.count;
      if (!onlyDiff || changed || hasChangeBelow(tree, i)) out.push(n);
      i = collapsed.has(i) ? subtreeEnd(tree, i) : i + 1;
    }
    return out;
  }, [tree, collapsed, onlyDiff]);
  const maxDiff = useMemo(() => {
    let d = 1;
    for (const n of tree.nodes) d = Math.max(d, Math.abs(n.right.total - n.left.total));
    return d;
  }, [tree]);
  const maxTotal = useMemo(() => {
    let t = 1;
    for (const n of tree.nodes) t = Math.max(t, n.left.total, n.right.total);
    return t;
  }, [tree]);
  const first = Math.max(0, Math.floor(top / ROW) - 10);
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + 10);
  const toggle = (id: number) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const both = tree.nodes.length - tree.onlyLeft - tree.onlyRight;
  return (
    <div className="tlt-cmp" data-testid="compare-view" data-nodes={tree.nodes.length}>
      <div className="tlt-cmp-heads">
        <Side label="A" model={props.left} />
        <Side label="B" model={props.right} />
      </div>
      <div className="tlt-cmp-bar">
        <span data-testid="compare-summary">
          {tree.nodes.length} operations by path: {both} in both,{' '}
          <span className="tlt-err">{tree.onlyLeft} only in A</span>,{' '}
          <span className="tlt-faster">{tree.onlyRight} only in B</span>. Duration B − A:{' '}
          <DiffText a={props.left.durationNano} b={props.right.durationNano} />
        </span>
        <label className="tlt-toggle">
          <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} />
          Only differences in structure
        </label>
      </div>
      <div className="tlt-cmp-body" ref={body} onScroll={(e) => setTop(e.currentTarget.scrollTop)}>
        <table className="tlt-cmp-table">
          <thead>
            <tr>
              <th>Service · operation</th>
              <th className="num">Spans A</th>
              <th className="num">Spans B</th>
              <th className="num">Total A</th>
              <th className="num">Total B</th>
              <th className="num">B − A</th>
              <th style={{ width: 180 }} />
            </tr>
          </thead>
          <tbody>
            {first > 0 && (
              <tr style={{ height: first * ROW }}>
                <td colSpan={7} />
              </tr>
            )}
            {rows.slice(first, last).map((n) => {
              const p = presence(n);
              const diff = n.right.total - n.left.total;
              const w = Math.round((Math.abs(diff) / maxDiff) * 80);
              return (
                <tr
                  key={n.id}
                  className={p === 'both' ? undefined : `only-${p}`}
                  style={{ height: ROW }}
                  data-testid="compare-row"
                  data-presence={p}
                  data-name={n.name}
                  data-service={n.service}
                  data-diff-ns={diff}
                >
                  <td>
                    <span className="tlt-cmp-name" style={{ paddingLeft: Math.min(300, n.depth * 16) }}>
                      {n.children.length > 0 ? (
                        <button
                          type="button"
                          className="tlt-cmp-toggle"
                          aria-label={collapsed.has(n.id) ? 'Expand' : 'Collapse'}
                          onClick={() => toggle(n.id)}
                        >
                          {collapsed.has(n.id) ? '▸' : '▾'}
                        </button>
                      ) : (
                        <span className="tlt-cmp-toggle" />
                      )}
                      <span className="tlt-swatch" style={{ background: serviceColor(n.service) }} />
                      <strong>{n.service}</strong> {n.name}
                      {p === 'left' && <span className="tlt-badge left">only in A</span>}
                      {p === 'right' && <span className="tlt-badge right">only in B</span>}
                    </span>
                  </td>
                  <td className="num">{n.left.count || '–'}</td>
                  <td className="num">{n.right.count || '–'}</td>
                  <td className="num">
                    {n.left.count > 0 && <SideBar value={n.left.total} max={maxTotal} />}
                    {n.left.count > 0 ? formatDuration(n.left.total / 1000) : '–'}
                  </td>
                  <td className="num">
                    {n.right.count > 0 && <SideBar value={n.right.total} max={maxTotal} />}
                    {n.right.count > 0 ? formatDuration(n.right.total / 1000) : '–'}
                  </td>
                  <td className="num">
                    <DiffText a={n.left.total} b={n.right.total} />
                  </td>
                  <td>
                    <span
                      className="tlt-diffbar"
                      style={{
                        width: w,
                        marginLeft: diff < 0 ? 80 - w : 80,
                        background: diff > 0 ? 'var(--tlt-error)' : '#2f9e44',
                      }}
                    />
                  </td>
                </tr>
              );
            })}
            {last < rows.length && (
              <tr style={{ height: (rows.length - last) * ROW }}>
                <td colSpan={7} />
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** A side's total as a bar beside its figure (the same scale on both sides). */
function SideBar(props: { readonly value: number; readonly max: number }) {
  return <span className="tlt-sidebar" style={{ width: Math.max(1, Math.round((props.value / props.max) * 60)) }} />;
}

function DiffText(props: { readonly a: number; readonly b: number }) {
  const d = props.b - props.a;
  if (d === 0) return <span className="tlt-muted">±0</span>;
  const pct = props.a > 0 ? ` (${d > 0 ? '+' : ''}${((d / props.a) * 100).toFixed(0)}%)` : '';
  return (
    <span className={d > 0 ? 'tlt-slower' : 'tlt-faster'}>
      {d > 0 ? '+' : '−'}
      {formatDuration(Math.abs(d) / 1000)}
      {pct}
    </span>
  );
}

function subtreeEnd(tree: MergedTree, i: number): number {
  const depth = (tree.nodes[i] as MergedNode).depth;
  let k = i + 1;
  while (k < tree.nodes.length && (tree.nodes[k] as MergedNode).depth > depth) k++;
  return k;
}

function hasChangeBelow(tree: MergedTree, i: number): boolean {
  const end = subtreeEnd(tree, i);
  for (let k = i + 1; k < end; k++) {
    const n = tree.nodes[k] as MergedNode;
    if (presence(n) !== 'both' || n.left.count !== n.right.count) return true;
  }
  return false;
}
