/**
 * The waterfall: every visible span as one row of a canvas (tree labels on
 * the left, duration bars on the right), drawn for the rows on screen only,
 * with a minimap of the whole trace above it whose window drags the view.
 * No per-span DOM: a 100,000-span trace costs the same per frame as a
 * 100-span one. A transparent scroller over the canvas gives native
 * scrolling, and its spacer the full height.
 */
import { type KeyboardEvent, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { formatDuration } from '../lib/format.ts';
import { type CanvasTheme, fitCanvas, fitText, readTheme, tickStep } from './canvas-util.ts';
import { isError, nameOf, serviceOf, type TraceModel } from './model.ts';

/** Height of one row, CSS pixels. */
export const ROW_HEIGHT = 24;
const MINIMAP_HEIGHT = 56;
const AXIS_HEIGHT = 24;
const INDENT = 14;
const MAX_INDENT = 240;

/** What the waterfall shows and how it reports the user's actions. */
export interface WaterfallProps {
  readonly model: TraceModel;
  readonly rows: Int32Array;
  readonly collapsed: Uint8Array;
  /** Bumped whenever `collapsed` changes in place. */
  readonly collapseVersion: number;
  readonly selected: number;
  readonly matches: Uint8Array | undefined;
  readonly currentMatch: number;
  readonly showCritical: boolean;
  readonly criticalBySpan: ReadonlyMap<number, readonly number[]>;
  readonly colors: readonly string[];
  readonly themeKey: string;
  /** Scroll so that this span's row is visible, when `seq` changes. */
  readonly reveal: { readonly span: number; readonly seq: number } | undefined;
  onSelect(span: number, open: boolean): void;
  onToggle(span: number): void;
  onKeyDown(e: KeyboardEvent<HTMLDivElement>): void;
}

/** The waterfall view (see the file comment). */
export function Waterfall(props: WaterfallProps) {
  const rootRef = useRef<HTMLDivElement>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const axisRef = useRef<HTMLCanvasElement>(null);
  const miniRef = useRef<HTMLCanvasElement>(null);
  const propsRef = useRef(props);
  propsRef.current = props;
  const [size, setSize] = useState({ width: 0, height: 0 });
  const themeRef = useRef<CanvasTheme | undefined>(undefined);
  const frame = useRef(0);
  const painted = useRef<TraceModel | undefined>(undefined);
  const miniImage = useRef<{ key: string; canvas: HTMLCanvasElement } | undefined>(undefined);

  const labelWidth = Math.min(440, Math.max(220, Math.floor(size.width * 0.32)));

  const draw = useCallback(() => {
    frame.current = 0;
    const p = propsRef.current;
    const scroller = scrollRef.current;
    const canvas = canvasRef.current;
    const root = rootRef.current;
    if (scroller === null || canvas === null || root === null) return;
    const width = scroller.clientWidth;
    const height = scroller.clientHeight;
    if (width === 0 || height === 0) return;
    if (themeRef.current === undefined) themeRef.current = readTheme(root);
    const theme = themeRef.current;
    const ctx = fitCanvas(canvas, width, height);
    if (ctx === null) return;
    const m = p.model;
    const lw = Math.min(440, Math.max(220, Math.floor(root.clientWidth * 0.32)));
    const tlX = lw + 8;
    const tlW = Math.max(10, width - tlX - 90);
    const scale = m.durationNano > 0 ? tlW / m.durationNano : 0;
    const top = scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT));
    const last = Math.min(p.rows.length, Math.ceil((top + height) / ROW_HEIGHT));
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, width, height);
    // Grid lines of the time axis.
    const step = tickStep(m.durationNano, 6);
    ctx.fillStyle = theme.grid;
    for (let t = 0; t <= m.durationNano; t += step) ctx.fillRect(Math.round(tlX + t * scale), 0, 1, height);
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
    ctx.textBaseline = 'middle';
    const dim = p.showCritical;
    for (let r = first; r < last; r++) {
      const i = p.rows[r] as number;
      const y = r * ROW_HEIGHT - top;
      const cy = y + ROW_HEIGHT / 2;
      let bg: string | undefined;
      if (i === p.selected) bg = theme.selected;
      else if (p.matches !== undefined && p.matches[i] === 1)
        bg = i === p.currentMatch ? theme.matchCurrent : theme.match;
      else if (r % 2 === 1) bg = theme.rowAlt;
      if (bg !== undefined) {
        ctx.fillStyle = bg;
        ctx.fillRect(0, y, width, ROW_HEIGHT);
      }
      const color = p.colors[m.service[i] as number] ?? '#888';
      // Label: indent, disclosure triangle, service colour, service and operation.
      const indent = Math.min(MAX_INDENT, (m.spanDepth[i] as number) * INDENT);
      let x = 6 + indent;
      if ((m.childCount[i] as number) > 0) {
        ctx.fillStyle = theme.muted;
        ctx.beginPath();
        if (p.collapsed[i] === 1) {
          ctx.moveTo(x + 2, cy - 5);
          ctx.lineTo(x + 8, cy);
          ctx.lineTo(x + 2, cy + 5);
        } else {
          ctx.moveTo(x, cy - 3);
          ctx.lineTo(x + 10, cy - 3);
          ctx.lineTo(x + 5, cy + 3);
        }
        ctx.fill();
      }
      x += 13;
      ctx.fillStyle = color;
      ctx.fillRect(x, y + 5, 4, ROW_HEIGHT - 10);
      x += 9;
      const err = isError(m, i);
      if (err) {
        ctx.fillStyle = theme.error;
        ctx.beginPath();
        ctx.arc(x + 5, cy, 5, 0, Math.PI * 2);
        ctx.fill();
        ctx.fillStyle = '#fff';
        ctx.fillRect(x + 4, cy - 3, 2, 4);
        ctx.fillRect(x + 4, cy + 2, 2, 1.5);
        x += 14;
      }
      const service = serviceOf(m, i);
      ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", sans-serif';
      ctx.fillStyle = theme.fg;
      const svc = fitText(ctx, service, lw - x - 4);
      ctx.fillText(svc, x, cy);
      x += ctx.measureText(svc).width + 6;
      ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
      ctx.fillStyle = theme.muted;
      const collapsedCount = p.collapsed[i] === 1 ? (m.subtreeEnd[i] as number) - i - 1 : 0;
      const label = collapsedCount > 0 ? `${nameOf(m, i)} (+${collapsedCount})` : nameOf(m, i);
      ctx.fillText(fitText(ctx, label, lw - x - 4), x, cy);
      // Bar.
      const bx = tlX + (m.start[i] as number) * scale;
      const bw = Math.max(1, (m.duration[i] as number) * scale);
      const onPath = (m.bits[i] as number) & 2;
      ctx.globalAlpha = dim && onPath === 0 ? 0.25 : 1;
      ctx.fillStyle = color;
      ctx.fillRect(bx, y + 6, bw, ROW_HEIGHT - 12);
      if (err) {
        ctx.fillStyle = theme.error;
        ctx.fillRect(bx, y + ROW_HEIGHT - 7, bw, 2);
      }
      ctx.globalAlpha = 1;
      if (dim) {
        const segs = p.criticalBySpan.get(i);
        if (segs !== undefined) {
          ctx.fillStyle = theme.critical;
          for (let k = 0; k + 1 < segs.length; k += 2) {
            const sx = tlX + (segs[k] as number) * scale;
            ctx.fillRect(
              sx,
              y + 9,
              Math.max(1, ((segs[k + 1] as number) - (segs[k] as number)) * scale),
              ROW_HEIGHT - 18,
            );
          }
        }
      }
      // Event ticks.
      const e0 = m.eventOffsets[i] as number;
      const e1 = m.eventOffsets[i + 1] as number;
      if (e1 > e0) {
        ctx.fillStyle = theme.fg;
        for (let k = e0; k < e1; k++)
          ctx.fillRect(Math.round(tlX + (m.eventTimes[k] as number) * scale), y + 4, 1.5, ROW_HEIGHT - 8);
      }
      ctx.fillStyle = theme.muted;
      const d = formatDuration((m.duration[i] as number) / 1000);
      const dw = ctx.measureText(d).width;
      const after = bx + bw + 4;
      ctx.fillText(d, after + dw > width - 2 ? Math.max(tlX, bx - dw - 4) : after, cy);
    }
    ctx.fillStyle = theme.grid;
    ctx.fillRect(lw, 0, 1, height);
    if (axisRef.current !== null) drawAxis(axisRef.current, width, m, theme, lw, tlX, tlW, scale);
    if (miniRef.current !== null) drawMinimap(miniRef.current, root.clientWidth, p, theme, first, last, miniImage);
    if (painted.current !== m && p.rows.length > 0) {
      painted.current = m;
      performance.mark('tl-waterfall-first-paint');
      root.dataset.painted = m.traceId;
    }
  }, []);

  const schedule = useCallback(() => {
    if (frame.current === 0) frame.current = requestAnimationFrame(draw);
  }, [draw]);

  useLayoutEffect(() => {
    const el = rootRef.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setSize({ width: el.clientWidth, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the theme key and size are the reasons to re-read and redraw
  useEffect(() => {
    themeRef.current = undefined;
    schedule();
  }, [props.themeKey, size, schedule]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: every drawn input triggers a redraw
  useEffect(() => {
    schedule();
  }, [
    props.model,
    props.rows,
    props.collapseVersion,
    props.selected,
    props.matches,
    props.currentMatch,
    props.showCritical,
    schedule,
  ]);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // Scroll a requested span into view.
  useEffect(() => {
    const r = props.reveal;
    const scroller = scrollRef.current;
    if (r === undefined || scroller === null) return;
    const rows = propsRef.current.rows;
    let row = -1;
    for (let k = 0; k < rows.length; k++) {
      if (rows[k] === r.span) {
        row = k;
        break;
      }
    }
    if (row < 0) return;
    const y = row * ROW_HEIGHT;
    if (y < scroller.scrollTop) scroller.scrollTop = y;
    else if (y + ROW_HEIGHT > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = y + ROW_HEIGHT - scroller.clientHeight;
    }
    schedule();
  }, [props.reveal, schedule]);

  const rowAt = (clientY: number): number => {
    const scroller = scrollRef.current;
    if (scroller === null) return -1;
    const rect = scroller.getBoundingClientRect();
    const r = Math.floor((clientY - rect.top + scroller.scrollTop) / ROW_HEIGHT);
    return r >= 0 && r < props.rows.length ? r : -1;
  };

  const onClick = (e: React.MouseEvent<HTMLDivElement>) => {
    const r = rowAt(e.clientY);
    if (r < 0) return;
    const i = props.rows[r] as number;
    const rect = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const indent = 6 + Math.min(MAX_INDENT, (props.model.spanDepth[i] as number) * INDENT);
    if ((props.model.childCount[i] as number) > 0 && x >= indent - 4 && x <= indent + 14) props.onToggle(i);
    else props.onSelect(i, true);
    scrollRef.current?.focus({ preventScroll: true });
  };

  // Minimap: press or drag to move the window there.
  const dragMini = (clientY: number) => {
    const mini = miniRef.current;
    const scroller = scrollRef.current;
    if (mini === null || scroller === null) return;
    const rect = mini.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientY - rect.top) / rect.height));
    const total = props.rows.length * ROW_HEIGHT;
    scroller.scrollTop = Math.max(0, f * total - scroller.clientHeight / 2);
  };
  const onMiniDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    dragMini(e.clientY);
  };
  const onMiniMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (e.currentTarget.hasPointerCapture(e.pointerId)) dragMini(e.clientY);
  };

  return (
    <div
      ref={rootRef}
      className="tlt-waterfall"
      data-testid="waterfall"
      data-span-count={props.model.spanCount}
      data-visible-rows={props.rows.length}
      data-critical={props.showCritical ? 'on' : 'off'}
    >
      <canvas
        ref={miniRef}
        className="tlt-minimap"
        data-testid="minimap"
        onPointerDown={onMiniDown}
        onPointerMove={onMiniMove}
        aria-label="Minimap of the whole trace; drag to scroll"
      />
      <canvas ref={axisRef} className="tlt-axis" />
      <div className="tlt-wf-body" style={{ ['--tlt-label-width' as string]: `${labelWidth}px` }}>
        <canvas ref={canvasRef} className="tlt-wf-canvas" />
        <div
          ref={scrollRef}
          className="tlt-wf-scroll"
          data-testid="waterfall-scroll"
          tabIndex={0}
          role="listbox"
          aria-label="Spans; arrow keys move, left and right collapse and expand, Enter opens the detail"
          onScroll={schedule}
          onClick={onClick}
          onKeyDown={props.onKeyDown}
        >
          <div style={{ height: props.rows.length * ROW_HEIGHT }} />
        </div>
      </div>
    </div>
  );
}

function drawAxis(
  canvas: HTMLCanvasElement,
  width: number,
  m: TraceModel,
  theme: CanvasTheme,
  lw: number,
  tlX: number,
  tlW: number,
  scale: number,
): void {
  const ctx = fitCanvas(canvas, width, AXIS_HEIGHT);
  if (ctx === null) return;
  ctx.fillStyle = theme.rowAlt;
  ctx.fillRect(0, 0, width, AXIS_HEIGHT);
  ctx.fillStyle = theme.grid;
  ctx.fillRect(0, AXIS_HEIGHT - 1, width, 1);
  ctx.fillRect(lw, 0, 1, AXIS_HEIGHT);
  ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = theme.muted;
  ctx.fillText('Service · operation', 8, AXIS_HEIGHT / 2);
  ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
  const step = tickStep(m.durationNano, 6);
  for (let t = 0; t <= m.durationNano; t += step) {
    const x = Math.round(tlX + t * scale);
    ctx.fillStyle = theme.grid;
    ctx.fillRect(x, AXIS_HEIGHT - 6, 1, 6);
    ctx.fillStyle = theme.muted;
    const label = t === 0 ? '0' : formatDuration(t / 1000);
    const w = ctx.measureText(label).width;
    ctx.fillText(label, Math.min(x + 3, tlX + tlW + 80 - w), AXIS_HEIGHT / 2);
  }
}

function drawMinimap(
  canvas: HTMLCanvasElement,
  width: number,
  p: WaterfallProps,
  theme: CanvasTheme,
  first: number,
  last: number,
  cache: { current: { key: string; canvas: HTMLCanvasElement } | undefined },
): void {
  const m = p.model;
  const ctx = fitCanvas(canvas, width, MINIMAP_HEIGHT);
  if (ctx === null) return;
  const key = `${m.traceId}/${p.rows.length}/${p.collapseVersion}/${width}/${p.themeKey}/${matchesId(p.matches)}`;
  if (cache.current?.key !== key) cache.current = { key, canvas: renderMinimap(p, width, theme) };
  ctx.drawImage(cache.current.canvas, 0, 0, width, MINIMAP_HEIGHT);
  const total = Math.max(1, p.rows.length);
  const y0 = (first / total) * MINIMAP_HEIGHT;
  const y1 = Math.max(y0 + 3, (last / total) * MINIMAP_HEIGHT);
  ctx.fillStyle = theme.window;
  ctx.fillRect(0, y0, width, y1 - y0);
  ctx.strokeStyle = theme.muted;
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, y0 + 0.5, width - 1, Math.max(1, y1 - y0 - 1));
}

/** The minimap picture: every visible row as a line at its time, rows squeezed into the minimap's height. */
function renderMinimap(p: WaterfallProps, width: number, theme: CanvasTheme): HTMLCanvasElement {
  const m = p.model;
  const h = MINIMAP_HEIGHT;
  const w = Math.max(1, Math.floor(width));
  // Per minimap line, how many spans cover each pixel column (difference arrays: linear in spans).
  const diff = new Int32Array((w + 1) * h);
  const errs = new Uint8Array(w * h);
  const scale = m.durationNano > 0 ? (w - 1) / m.durationNano : 0;
  const total = Math.max(1, p.rows.length);
  for (let r = 0; r < p.rows.length; r++) {
    const i = p.rows[r] as number;
    // Few rows: each gets a band of lines (less one as a gap); many rows share a line.
    const y0 = Math.min(h - 1, Math.floor((r / total) * h));
    const band = Math.floor(((r + 1) / total) * h) - y0;
    const y1 = Math.min(h, y0 + Math.max(1, band > 3 ? Math.min(band - 1, 6) : band));
    const x0 = Math.floor((m.start[i] as number) * scale);
    const x1 = Math.min(w - 1, Math.floor(((m.start[i] as number) + (m.duration[i] as number)) * scale));
    for (let y = y0; y < y1; y++) {
      diff[y * (w + 1) + x0] = (diff[y * (w + 1) + x0] as number) + 1;
      diff[y * (w + 1) + x1 + 1] = (diff[y * (w + 1) + x1 + 1] as number) - 1;
      if (m.status[i] === 2) errs[y * w + x0] = 1;
    }
  }
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d');
  if (ctx === null) return c;
  ctx.fillStyle = theme.rowAlt;
  ctx.fillRect(0, 0, w, h);
  const img = ctx.getImageData(0, 0, w, h);
  const accent = parseColor(theme.accent);
  const err = parseColor(theme.error);
  const bg = parseColor(theme.rowAlt);
  for (let y = 0; y < h; y++) {
    let run = 0;
    for (let x = 0; x < w; x++) {
      run += diff[y * (w + 1) + x] as number;
      if (run <= 0 && errs[y * w + x] === 0) continue;
      const a = errs[y * w + x] === 1 ? 1 : Math.min(1, 0.35 + Math.log2(1 + run) * 0.15);
      const col = errs[y * w + x] === 1 ? err : accent;
      const o = (y * w + x) * 4;
      img.data[o] = bg[0] + (col[0] - bg[0]) * a;
      img.data[o + 1] = bg[1] + (col[1] - bg[1]) * a;
      img.data[o + 2] = bg[2] + (col[2] - bg[2]) * a;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  // Find-in-trace matches as marks on the right edge, so that they can be found in a huge trace.
  if (p.matches !== undefined) {
    ctx.fillStyle = theme.matchCurrent;
    let lastY = -1;
    for (let r = 0; r < p.rows.length; r++) {
      if (p.matches[p.rows[r] as number] !== 1) continue;
      const y = Math.min(h - 2, Math.floor((r / total) * h));
      if (y === lastY) continue;
      lastY = y;
      ctx.fillRect(w - 10, y, 10, 2);
    }
  }
  return c;
}

const matchIds = new WeakMap<Uint8Array, number>();
let nextMatchId = 1;

/** A number per distinct matches array, for the minimap's cache key. */
function matchesId(matches: Uint8Array | undefined): number {
  if (matches === undefined) return 0;
  let id = matchIds.get(matches);
  if (id === undefined) {
    id = nextMatchId++;
    matchIds.set(matches, id);
  }
  return id;
}

/** `#rrggbb` or `rgb(...)` to components; grey when unknown. */
function parseColor(s: string): [number, number, number] {
  const hex = /^#([0-9a-f]{6})$/i.exec(s);
  if (hex !== null) {
    const n = Number.parseInt(hex[1] as string, 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const rgb = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
  if (rgb !== null) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  return [128, 128, 128];
}
