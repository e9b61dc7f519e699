/**
 * Search results as a scatter of duration over start time, drawn on a canvas
 * (one draw call per dot, no DOM node per trace). A dot's size grows with the
 * span count, its colour is the root service's, a red ring marks errors;
 * hovering shows the trace, clicking opens it.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { TraceSummary } from '../api/client.ts';
import { navigate } from '../app/router.tsx';
import { ERROR_COLOR, serviceColor } from '../lib/colors.ts';
import { formatDuration, formatTimeOfDay, formatTimestamp } from '../lib/format.ts';
import { useSettings } from '../lib/settings.ts';

const HEIGHT = 200;
const PAD = { left: 64, right: 16, top: 12, bottom: 28 } as const;

interface Dot {
  readonly x: number;
  readonly y: number;
  readonly r: number;
  readonly t: TraceSummary;
}

/** Round steps for axis ticks, in the axis unit. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

/** Time ticks on whole seconds, minutes or hours. */
const TIME_STEPS_MS = [
  1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
  10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The scatter plot. */
export function Scatter(props: { readonly traces: readonly TraceSummary[] }) {
  const settings = useSettings();
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<Dot | undefined>(undefined);

  useEffect(() => {
    const el = wrap.current;
    if (el === null) return undefined;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  const layout = useMemo(() => {
    const traces = props.traces;
    if (width === 0 || traces.length === 0) return undefined;
    let t0 = Number.POSITIVE_INFINITY;
    let t1 = Number.NEGATIVE_INFINITY;
    let dMax = 0;
    for (const t of traces) {
      t0 = Math.min(t0, t.startMicros);
      t1 = Math.max(t1, t.startMicros);
      dMax = Math.max(dMax, t.durationMicros);
    }
    // Pad the time axis so single results and edge dots are not cut off.
    const spanT = Math.max(t1 - t0, 1_000_000);
    t0 -= spanT * 0.04;
    t1 += spanT * 0.04;
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const xOf = (us: number) => PAD.left + ((us - t0) / (t1 - t0)) * plotW;
    // One slow outlier would flatten everything else onto the axis on a linear scale:
    // past a 30x spread between the median and the longest, durations go on a log scale.
    const sorted = traces.map((t) => t.durationMicros).sort((a, b) => a - b);
    const median = Math.max(1, sorted[Math.floor(sorted.length / 2)] ?? 1);
    const log = dMax / median > 30;
    let yOf: (us: number) => number;
    const yTicks: number[] = [];
    if (log) {
      const lo = 10 ** Math.floor(Math.log10(Math.max(1, sorted[0] ?? 1)));
      const hi = 10 ** Math.ceil(Math.log10(dMax * 1.001));
      const span = Math.log10(hi) - Math.log10(lo);
      yOf = (us) => PAD.top + plotH - ((Math.log10(Math.max(us, lo)) - Math.log10(lo)) / span) * plotH;
      for (let v = lo; v <= hi; v *= 10) yTicks.push(v);
    } else {
      const yStep = niceStep(Math.max(dMax, 1), 4);
      const yMax = Math.ceil((Math.max(dMax, 1) * 1.08) / yStep) * yStep;
      yOf = (us) => PAD.top + plotH - (us / yMax) * plotH;
      for (let v = 0; v <= yMax + 1e-9; v += yStep) yTicks.push(v);
    }
    const dots: Dot[] = traces.map((t) => ({
      x: xOf(t.startMicros),
      y: yOf(t.durationMicros),
      r: Math.min(11, 3 + Math.sqrt(t.spanCount)),
      t,
    }));
    return { t0, t1, log, yTicks, dots, plotW, plotH, xOf, yOf };
  }, [props.traces, width]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the colours are CSS variables that change with the theme
  useEffect(() => {
    const c = canvas.current;
    if (c === null || layout === undefined) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(HEIGHT * dpr);
    const g = c.getContext('2d');
    if (g === null) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, HEIGHT);
    const grid = cssVar('--grid');
    const muted = cssVar('--text-muted');
    const bg = cssVar('--surface');
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    // Duration axis.
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const v of layout.yTicks) {
      const y = Math.round(layout.yOf(v)) + 0.5;
      g.strokeStyle = grid;
      g.beginPath();
      g.moveTo(PAD.left, y);
      g.lineTo(width - PAD.right, y);
      g.stroke();
      g.fillStyle = muted;
      g.fillText(v === 0 ? '0' : formatDuration(v), PAD.left - 8, y);
    }
    if (layout.log) {
      g.textAlign = 'left';
      g.fillText('log scale', PAD.left + 6, PAD.top + 6);
    }
    // Time axis.
    const spanMs = (layout.t1 - layout.t0) / 1000;
    const stepMs = TIME_STEPS_MS.find((s) => spanMs / s <= Math.max(2, layout.plotW / 110)) ?? 86_400_000;
    const firstMs = Math.ceil(layout.t0 / 1000 / stepMs) * stepMs;
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (let ms = firstMs; ms * 1000 <= layout.t1; ms += stepMs) {
      const x = Math.round(layout.xOf(ms * 1000)) + 0.5;
      // A label cut by the edge reads as a wrong time: leave it out.
      if (x < PAD.left + 24 || x > width - 28) continue;
      g.strokeStyle = grid;
      g.beginPath();
      g.moveTo(x, PAD.top);
      g.lineTo(x, PAD.top + layout.plotH);
      g.stroke();
      g.fillStyle = muted;
      g.fillText(formatTimeOfDay(ms * 1000, settings.timeZone), x, PAD.top + layout.plotH + 8);
    }
    // Dots, largest first so small ones stay visible on top.
    const order = [...layout.dots].sort((a, b) => b.r - a.r);
    for (const d of order) {
      g.beginPath();
      g.arc(d.x, d.y, d.r, 0, Math.PI * 2);
      g.globalAlpha = 0.9;
      g.fillStyle = serviceColor(d.t.rootServiceName);
      g.fill();
      g.globalAlpha = 1;
      g.lineWidth = d.t.errorCount > 0 ? 2.5 : 1;
      g.strokeStyle = d.t.errorCount > 0 ? ERROR_COLOR : bg;
      g.stroke();
    }
    if (hover !== undefined) {
      g.beginPath();
      g.arc(hover.x, hover.y, hover.r + 3, 0, Math.PI * 2);
      g.lineWidth = 2;
      g.strokeStyle = cssVar('--text');
      g.stroke();
    }
  }, [layout, width, settings.theme, settings.timeZone, hover]);

  const hit = (e: { clientX: number; clientY: number }): Dot | undefined => {
    const c = canvas.current;
    if (c === null || layout === undefined) return undefined;
    const rect = c.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    let best: Dot | undefined;
    let bestD = Number.POSITIVE_INFINITY;
    for (const d of layout.dots) {
      const dist = Math.hypot(d.x - x, d.y - y);
      if (dist <= d.r + 4 && dist < bestD) {
        best = d;
        bestD = dist;
      }
    }
    return best;
  };

  return (
    <div className="scatter" ref={wrap}>
      <canvas
        ref={canvas}
        data-testid="scatter"
        data-scale={layout?.log === true ? 'log' : 'linear'}
        style={{ width: '100%', height: HEIGHT, cursor: hover === undefined ? 'default' : 'pointer' }}
        aria-label={`Duration over time of ${props.traces.length} traces; click a dot to open its trace`}
        onMouseMove={(e) => setHover(hit(e))}
        onMouseLeave={() => setHover(undefined)}
        onClick={(e) => {
          const d = hit(e);
          if (d !== undefined) navigate(`/trace/${d.t.traceId}`);
        }}
      />
      {hover !== undefined && (
        <div
          className="tooltip"
          style={{
            left: Math.min(hover.x + 12, width - 260),
            top: Math.max(0, hover.y - 64),
          }}
        >
          <div className="tooltip-title">
            {hover.t.rootServiceName || '(root missing)'}: {hover.t.rootName}
          </div>
          <div>
            {formatDuration(hover.t.durationMicros)} · {hover.t.spanCount} spans
            {hover.t.errorCount > 0 && <span className="error-text"> · {hover.t.errorCount} errors</span>}
          </div>
          <div className="muted">{formatTimestamp(hover.t.startMicros, settings.timeZone)}</div>
        </div>
      )}
    </div>
  );
}
