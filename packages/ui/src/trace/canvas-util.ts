/** Small helpers shared by the trace page's canvases. */

/** The theme colours the canvases draw with, read from the page's CSS variables. */
export interface CanvasTheme {
  readonly bg: string;
  readonly fg: string;
  readonly muted: string;
  readonly grid: string;
  readonly rowAlt: string;
  readonly selected: string;
  readonly match: string;
  readonly matchCurrent: string;
  readonly critical: string;
  readonly error: string;
  readonly window: string;
  readonly accent: string;
}

/** Reads the `--tlt-*` variables that trace.css defines for the current theme. */
export function readTheme(el: Element): CanvasTheme {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  return {
    bg: v('--tlt-bg', '#ffffff'),
    fg: v('--tlt-fg', '#1d2330'),
    muted: v('--tlt-muted', '#687385'),
    grid: v('--tlt-grid', '#e4e7ec'),
    rowAlt: v('--tlt-row-alt', '#f7f8fa'),
    selected: v('--tlt-selected', '#dbe8ff'),
    match: v('--tlt-match', '#fff1b8'),
    matchCurrent: v('--tlt-match-current', '#ffd666'),
    critical: v('--tlt-critical', '#111827'),
    error: v('--tlt-error', '#e15759'),
    window: v('--tlt-window', 'rgba(60,110,220,0.18)'),
    accent: v('--accent', '#3d63dd'),
  };
}

/** Sizes a canvas for the device pixel ratio and returns its 2D context scaled to CSS pixels. */
export function fitCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.floor(width * dpr));
  const h = Math.max(1, Math.floor(height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Cuts `text` to fit `maxWidth` pixels with an ellipsis (binary search on the length). */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (maxWidth <= 0) return '';
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '' : `${text.slice(0, lo)}…`;
}

/** Round tick steps (ns) for a time axis: about `count` ticks over `span` ns. */
export function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (p * m >= raw) return p * m;
  return p * 10;
}
