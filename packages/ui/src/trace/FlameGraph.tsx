/**
 * The flame graph: spans as boxes, time across, depth downwards (a flame
 * chart in time order, so a box sits under the span that called it). One
 * canvas; boxes narrower than half a pixel are skipped, so a frame costs one
 * pass over the spans at most. Click a box to zoom to it and select it;
 * "Reset zoom" shows the whole trace again.
 */
import { type MouseEvent, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { formatDuration } from '../lib/format.ts';
import { fitCanvas, fitText, readTheme, tickStep } from './canvas-util.ts';
import { nameOf, serviceOf, type TraceModel } from './model.ts';

const BOX = 20;
const AXIS = 22;

/** Props of {@link FlameGraph}. */
export interface FlameGraphProps {
  readonly model: TraceModel;
  readonly colors: readonly string[];
  readonly selected: number;
  readonly matches: Uint8Array | undefined;
  readonly showCritical: boolean;
  readonly themeKey: string;
  onSelect(span: number): void;
}

/** The flame graph view (see the file comment). */
export function FlameGraph(props: FlameGraphProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [zoom, setZoom] = useState<[number, number]>([0, props.model.durationNano]);
  const [hover, setHover] = useState<{ span: number; x: number; y: number } | undefined>(undefined);
  const m = props.model;
  const height = AXIS + m.depth * BOX + 8;

  useLayoutEffect(() => {
    const el = wrap.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the theme key is a reason to redraw
  useEffect(() => {
    const c = canvas.current;
    const el = wrap.current;
    if (c === null || el === null || width === 0) return;
    const ctx = fitCanvas(c, width, height);
    if (ctx === null) return;
    const theme = readTheme(el);
    const [z0, z1] = zoom;
    const scale = width / Math.max(1, z1 - z0);
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, width, height);
    ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
    ctx.textBaseline = 'middle';
    const step = tickStep(z1 - z0, 8);
    for (let t = Math.ceil(z0 / step) * step; t <= z1; t += step) {
      const x = Math.round((t - z0) * scale);
      ctx.fillStyle = theme.grid;
      ctx.fillRect(x, 0, 1, height);
      ctx.fillStyle = theme.muted;
      ctx.fillText(t === 0 ? '0' : formatDuration(t / 1000), x + 3, AXIS / 2);
    }
    // Labels go in a second pass, each cut where a later box at its depth starts to cover it
    // (concurrent siblings overlap in a flame chart).
    const drawn: number[] = [];
    const labelEnd = new Map<number, number>();
    const lastAtDepth = new Map<number, number>();
    for (let i = 0; i < m.spanCount; i++) {
      const s = m.start[i] as number;
      const e = s + (m.duration[i] as number);
      if (e < z0 || s > z1) continue;
      const x = (Math.max(s, z0) - z0) * scale;
      const w = (Math.min(e, z1) - Math.max(s, z0)) * scale;
      if (w < 0.5) continue;
      const y = AXIS + (m.spanDepth[i] as number) * BOX;
      const dim = props.showCritical && ((m.bits[i] as number) & 2) === 0;
      ctx.globalAlpha = dim ? 0.25 : 1;
      ctx.fillStyle = props.colors[m.service[i] as number] ?? '#888';
      ctx.fillRect(x, y + 1, Math.max(1, w - 1), BOX - 2);
      if (w > 4) {
        // An edge in the background colour keeps overlapping boxes (concurrent siblings) apart.
        ctx.strokeStyle = theme.bg;
        ctx.lineWidth = 1;
        ctx.strokeRect(x + 0.5, y + 1.5, w - 2, BOX - 3);
      }
      if (m.status[i] === 2) {
        ctx.fillStyle = theme.error;
        ctx.fillRect(x, y + BOX - 5, Math.max(1, w - 1), 4);
      }
      ctx.globalAlpha = 1;
      if (i === props.selected || (props.matches !== undefined && props.matches[i] === 1)) {
        ctx.strokeStyle = i === props.selected ? theme.fg : theme.matchCurrent;
        ctx.lineWidth = 2;
        ctx.strokeRect(x + 1, y + 2, Math.max(1, w - 3), BOX - 4);
      }
      const d = m.spanDepth[i] as number;
      const prev = lastAtDepth.get(d);
      if (prev !== undefined && x < (labelEnd.get(prev) ?? 0)) labelEnd.set(prev, x);
      lastAtDepth.set(d, i);
      labelEnd.set(i, x + w);
      if (w > 30) drawn.push(i, x, y);
    }
    ctx.fillStyle = '#111';
    for (let k = 0; k < drawn.length; k += 3) {
      const i = drawn[k] as number;
      const x = drawn[k + 1] as number;
      const room = (labelEnd.get(i) ?? x) - x - 8;
      if (room > 20)
        ctx.fillText(
          fitText(ctx, `${serviceOf(m, i)}: ${nameOf(m, i)}`, room),
          x + 4,
          (drawn[k + 2] as number) + BOX / 2,
        );
    }
  }, [m, width, height, zoom, props.selected, props.matches, props.showCritical, props.colors, props.themeKey]);

  /** The span under the pointer: the last box drawn there is the one on top. */
  const spanAt = (e: MouseEvent<HTMLCanvasElement>): number => {
    const rect = e.currentTarget.getBoundingClientRect();
    const depth = Math.floor((e.clientY - rect.top - AXIS) / BOX);
    if (depth < 0) return -1;
    const [z0, z1] = zoom;
    const t = z0 + ((e.clientX - rect.left) / rect.width) * (z1 - z0);
    let hit = -1;
    for (let i = 0; i < m.spanCount; i++) {
      if (m.spanDepth[i] !== depth) continue;
      const s = m.start[i] as number;
      if (t >= s && t <= s + (m.duration[i] as number)) hit = i;
    }
    return hit;
  };

  const onClick = (e: MouseEvent<HTMLCanvasElement>) => {
    const hit = spanAt(e);
    if (hit < 0) return;
    props.onSelect(hit);
    const s = m.start[hit] as number;
    const d = Math.max(1, m.duration[hit] as number);
    setZoom([s, s + d]);
  };

  const onMove = (e: MouseEvent<HTMLCanvasElement>) => {
    const hit = spanAt(e);
    const rect = e.currentTarget.getBoundingClientRect();
    setHover(hit < 0 ? undefined : { span: hit, x: e.clientX - rect.left, y: e.clientY - rect.top });
  };

  const zoomed = zoom[0] !== 0 || zoom[1] !== m.durationNano;
  return (
    <div className="tlt-flame" data-testid="flame-graph">
      <div className="tlt-flame-bar">
        <span className="tlt-muted">
          Time across, call depth down. Click a box to zoom to it and open its detail.
          {zoomed &&
            ` Showing ${formatDuration((zoom[1] - zoom[0]) / 1000)} of ${formatDuration(m.durationNano / 1000)}.`}
        </span>
        <button type="button" disabled={!zoomed} onClick={() => setZoom([0, m.durationNano])}>
          Reset zoom
        </button>
      </div>
      <div ref={wrap} className="tlt-flame-scroll">
        <canvas ref={canvas} onClick={onClick} onMouseMove={onMove} onMouseLeave={() => setHover(undefined)} />
        {hover !== undefined && (
          <div
            className="tlt-tooltip"
            style={{ left: Math.min(hover.x + 14, Math.max(0, width - 320)), top: hover.y + 16 }}
            role="tooltip"
          >
            <strong>{serviceOf(m, hover.span)}</strong> {nameOf(m, hover.span)}
            <div className="tlt-muted">
              {formatDuration((m.duration[hover.span] as number) / 1000)} · self{' '}
              {formatDuration((m.selfTime[hover.span] as number) / 1000)} · starts at +
              {formatDuration((m.start[hover.span] as number) / 1000)}
              {m.status[hover.span] === 2 && <span className="tlt-err"> · error</span>}
            </div>
          </div>
        )}
      </div>
    </div>
  );
}
