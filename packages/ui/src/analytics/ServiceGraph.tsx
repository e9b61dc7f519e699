/**
 * The service dependency graph, laid out left to right by dagre and drawn as
 * SVG: edge thickness by request rate (log scale), edge colour by error share,
 * a click on a node reports it. Layout runs once per graph (a few hundred
 * nodes take milliseconds), not per render.
 */
import dagre from '@dagrejs/dagre';
import { useMemo, useState } from 'react';
import { formatRate } from './format.ts';

/** What a node stands for: an instrumented service, or a virtual one seen only from its callers. */
export type GraphNodeKind = 'service' | 'database' | 'messaging' | 'external' | 'user';

export interface GraphNode {
  readonly id: string;
  readonly kind: GraphNodeKind;
}

export interface GraphEdge {
  readonly source: string;
  readonly target: string;
  readonly requests: number;
  readonly errors: number;
  /** Requests per second over the range, for the label. */
  readonly rate: number;
  /** A latency figure for the label (already formatted), e.g. "p95 12 ms". */
  readonly latency?: string;
}

export interface ServiceGraphProps {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly onNodeClick?: (id: string) => void;
}

const NODE_H = 44;
const CHAR_W = 7.8;

interface Laid {
  /** The drawing's bounds: nodes, edge curves and labels (dagre's own size leaves curves out). */
  readonly minX: number;
  readonly minY: number;
  readonly width: number;
  readonly height: number;
  readonly nodes: { id: string; kind: GraphNodeKind; x: number; y: number; w: number }[];
  readonly edges: { e: GraphEdge; d: string; mx: number; my: number }[];
}

function layout(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): Laid {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 160, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: Math.max(96, n.id.length * CHAR_W + 40), height: NODE_H });
  for (const e of edges) {
    if (g.hasNode(e.source) && g.hasNode(e.target) && e.source !== e.target) g.setEdge(e.source, e.target);
  }
  dagre.layout(g);
  const graph = g.graph();
  const laidNodes = nodes.map((n) => {
    const p = g.node(n.id);
    return { id: n.id, kind: n.kind, x: p.x, y: p.y, w: p.width };
  });
  const laidEdges = edges.flatMap((e) => {
    if (e.source === e.target || !g.hasEdge(e.source, e.target)) return [];
    const pts = g.edge(e.source, e.target).points ?? [];
    if (pts.length < 2) return [];
    let d = `M${pts[0]!.x},${pts[0]!.y}`;
    // A smooth path through dagre's points: quadratic segments to the midpoints.
    for (let i = 1; i < pts.length - 1; i++) {
      const p = pts[i]!;
      const q = pts[i + 1]!;
      d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
    }
    const last = pts[pts.length - 1]!;
    d += ` L${last.x},${last.y}`;
    const first = pts[0]!;
    const mid =
      pts.length % 2 === 1 ? pts[(pts.length - 1) / 2]! : { x: (first.x + last.x) / 2, y: (first.y + last.y) / 2 };
    return [{ e, d, mx: mid.x, my: mid.y }];
  });
  let minX = 0;
  let minY = 0;
  let maxX = graph.width ?? 0;
  let maxY = graph.height ?? 0;
  for (const n of laidNodes) {
    minX = Math.min(minX, n.x - n.w / 2);
    maxX = Math.max(maxX, n.x + n.w / 2);
    minY = Math.min(minY, n.y - NODE_H / 2);
    maxY = Math.max(maxY, n.y + NODE_H / 2);
  }
  for (const e of edges) {
    if (!g.hasEdge(e.source, e.target)) continue;
    for (const p of g.edge(e.source, e.target).points ?? []) {
      minX = Math.min(minX, p.x);
      maxX = Math.max(maxX, p.x);
      // Labels sit 6 px above the curve's middle; keep room for them and for the curve's width.
      minY = Math.min(minY, p.y - 22);
      maxY = Math.max(maxY, p.y + 8);
    }
  }
  return { minX, minY, width: maxX - minX, height: maxY - minY, nodes: laidNodes, edges: laidEdges };
}

/** The colour of an edge by its error share. */
function errorColor(errors: number, requests: number): string {
  const share = requests > 0 ? errors / requests : 0;
  if (share >= 0.05) return 'var(--error)';
  if (share > 0) return 'var(--warn)';
  return 'var(--ok, #3f9f5a)';
}

/** The second line of a node that is not an instrumented service. */
const KIND_LABEL: Record<GraphNodeKind, string> = {
  service: '',
  database: 'database',
  messaging: 'message broker',
  external: 'external',
  user: 'clients',
};

export function ServiceGraph(props: ServiceGraphProps) {
  const { nodes, edges, onNodeClick } = props;
  const laid = useMemo(() => layout(nodes, edges), [nodes, edges]);
  const [hover, setHover] = useState<string | undefined>(undefined);
  const maxRate = edges.reduce((m, e) => Math.max(m, e.rate), 0);
  const thickness = (rate: number) => 1.5 + (maxRate > 0 ? (5 * Math.log1p(rate)) / Math.log1p(maxRate) : 0);
  const near = (e: GraphEdge) => hover === undefined || e.source === hover || e.target === hover;
  return (
    <div className="tl-graph">
      {/* Scaled down to the card's width when wider (the viewBox keeps the proportions), never up. */}
      <svg
        viewBox={`${laid.minX} ${laid.minY} ${laid.width} ${laid.height}`}
        style={{ width: '100%', maxWidth: laid.width, height: 'auto' }}
        role="img"
        aria-label="service dependency graph"
      >
        <defs>
          <marker
            id="tl-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerUnits="userSpaceOnUse"
            markerWidth="10"
            markerHeight="10"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="var(--text-muted)" />
          </marker>
        </defs>
        {laid.edges.map(({ e, d, mx, my }) => {
          const color = errorColor(e.errors, e.requests);
          const share = e.requests > 0 ? (100 * e.errors) / e.requests : 0;
          return (
            <g
              key={`${e.source}->${e.target}`}
              className="tl-graph-edge"
              data-source={e.source}
              data-target={e.target}
              data-requests={e.requests}
              opacity={near(e) ? 1 : 0.2}
            >
              <path d={d} fill="none" stroke={color} strokeWidth={thickness(e.rate)} markerEnd="url(#tl-arrow)" />
              <text x={mx} y={my - 6} textAnchor="middle" className="tl-graph-label">
                {`${formatRate(e.rate)}${share > 0 ? ` · ${share.toFixed(share < 10 ? 1 : 0)}% err` : ''}${
                  e.latency === undefined ? '' : ` · ${e.latency}`
                }`}
              </text>
            </g>
          );
        })}
        {laid.nodes.map((n) => (
          // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>
          <g
            key={n.id}
            className={`tl-graph-node tl-graph-node-${n.kind}`}
            data-node={n.id}
            transform={`translate(${n.x - n.w / 2},${n.y - NODE_H / 2})`}
            onMouseEnter={() => setHover(n.id)}
            onMouseLeave={() => setHover(undefined)}
            onClick={() => onNodeClick?.(n.id)}
            onKeyDown={(ev) => {
              if (ev.key === 'Enter') onNodeClick?.(n.id);
            }}
            role="button"
            tabIndex={0}
            style={{ cursor: onNodeClick === undefined ? 'default' : 'pointer' }}
          >
            <rect width={n.w} height={NODE_H} rx={n.kind === 'service' ? 8 : 20} />
            {n.kind === 'service' ? (
              <text x={n.w / 2} y={NODE_H / 2 + 5} textAnchor="middle">
                {n.id}
              </text>
            ) : (
              <>
                <text x={n.w / 2} y={NODE_H / 2 - 2} textAnchor="middle">
                  {n.id}
                </text>
                <text x={n.w / 2} y={NODE_H / 2 + 12} textAnchor="middle" className="tl-graph-kind">
                  {KIND_LABEL[n.kind]}
                </text>
              </>
            )}
          </g>
        ))}
      </svg>
    </div>
  );
}
