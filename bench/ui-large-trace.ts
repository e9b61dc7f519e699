/**
 * The trace page on very large traces, in headless Chromium against the real
 * server: one generated trace of 10,000 and one of 100,000 spans
 * (`ui-large-trace-gen.ts`, seeded), sent through OTLP/HTTP into a fresh
 * `traceloom` child process that serves the built UI.
 *
 * Figures, each with `spans`:
 * - `first_paint_ms`: from navigation start to the first waterfall paint
 *   (the `tl-waterfall-first-paint` mark the waterfall sets in the frame
 *   that first draws rows), median of 3 fresh page loads. Includes the
 *   server's work (store read, assembly, critical path, compact JSON), the
 *   transfer, parsing and model building in the worker. A trace above 20,000
 *   spans paints first without its attributes, events and links (the page
 *   asks with `maxDetailedSpans`) and gets them right after: `details_ms`
 *   beside it is the median time from navigation until they are in, and each
 *   load waits for them before the next starts. Baseline: the 2 s target.
 *   `server_ms`, the page's first API request timed from Node right after
 *   each load, is given beside it. Paints are timed in a Chromium with the
 *   normal frame-rate limit.
 * - `scroll_frame_p95_ms`: the waterfall scrolled from top to bottom in 400
 *   equal steps, one per frame, once the details are in, with Chromium's frame-rate limit off
 *   (`--disable-frame-rate-limit --disable-gpu-vsync`), so the time between
 *   two frames is the time it took to make one instead of the 60 Hz vsync
 *   period; p95 of those intervals. Baseline: the 16 ms target. That browser
 *   is a separate one: without a frame-rate limit Chromium renders
 *   continuously and would take a core from the server during the loads.
 *
 * `npm run bench -- ui-large-trace [--sizes 10000,100000]`.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../packages/ui/e2e/fixtures/traceloom.ts';
import { ensureUiBuilt } from '../packages/ui/scripts/ensure-built.ts';
import { median, printFigure } from './internal/measure.ts';
import { generateLargeTrace, loadTrace, startServer } from './ui-large-trace-gen.ts';

const BENCH = 'ui-large-trace';
/** The trace page's `maxDetailedSpans` (packages/ui/src/trace/TracePage.tsx), kept equal by hand: the UI
 * code needs the DOM to import. */
const FIRST_VIEW_DETAILED_SPANS = 20_000;
const TARGET_FIRST_PAINT_MS = 2000;
const TARGET_FRAME_MS = 16;
const LOADS = 3;
const SCROLL_STEPS = 400;

/** What the scrolling code uses of the page's globals. */
interface BrowserScope {
  readonly document: {
    querySelector(
      selector: string,
    ): { scrollTop: number; readonly scrollHeight: number; readonly clientHeight: number } | null;
  };
  requestAnimationFrame(callback: (time: number) => void): number;
}

function sizes(): number[] {
  const i = process.argv.indexOf('--sizes');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.TRACELOOM_BENCH_SIZES;
  if (raw === undefined || raw === '') return [10_000, 100_000];
  return raw.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: '${s}' is not a span count`);
    return n;
  });
}

function p95(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] as number;
}

/** Chromium; `unlimitedFrames` turns the 60 Hz frame-rate limit off (only while measuring frames: it busy-renders). */
function launch(unlimitedFrames: boolean) {
  const extra = unlimitedFrames ? ['--disable-frame-rate-limit', '--disable-gpu-vsync'] : [];
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, ...extra] });
}

/**
 * Opens the trace page and waits for the waterfall's first paint, then until the span details
 * have arrived too (a trace above the page's `maxDetailedSpans` paints first without them);
 * returns the page, the paint time and the time the details were in.
 */
async function openTrace(
  browser: Browser,
  api: string,
  traceId: string,
): Promise<{ page: Page; paintMs: number; detailsMs: number }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${api}/trace/${traceId}`);
  await page.waitForSelector(`[data-testid="waterfall"][data-painted="${traceId}"]`, { timeout: 120_000 });
  const paintMs = await page.evaluate(
    () => performance.getEntriesByName('tl-waterfall-first-paint')[0]?.startTime ?? -1,
  );
  // A string, so that this file needs no DOM types.
  await page.waitForFunction(
    'window.__traceloomTrace !== undefined && window.__traceloomTrace.partial === false',
    null,
    {
      timeout: 120_000,
      polling: 20,
    },
  );
  const detailsMs = await page.evaluate(() => performance.now());
  return { page, paintMs, detailsMs };
}

/** Scrolls the waterfall top to bottom in `steps` frames; the time between frames. */
function scrollFrames(page: Page, steps: number): Promise<number[]> {
  return page.evaluate(async (n) => {
    // Runs in the page; this file is compiled without the DOM library.
    const w = globalThis as unknown as BrowserScope;
    const scroller = w.document.querySelector('[data-testid="waterfall-scroll"]');
    if (scroller === null) throw new Error('no waterfall on the page');
    const max = scroller.scrollHeight - scroller.clientHeight;
    const out: number[] = [];
    let last = await new Promise<number>((r) => w.requestAnimationFrame(r));
    for (let s = 1; s <= n; s++) {
      scroller.scrollTop = Math.round((max * s) / n);
      const now = await new Promise<number>((r) => w.requestAnimationFrame(r));
      out.push(now - last);
      last = now;
    }
    return out;
  }, steps);
}

export default async function run(): Promise<void> {
  await ensureUiBuilt({ quiet: true });
  const server = await startServer();
  try {
    for (const n of sizes()) {
      // The seed follows the size, so the two traces differ in id as well as in size.
      const spans = generateLargeTrace(n, n);
      await loadTrace(server, spans);
      const traceId = spans[0]?.traceId as string;
      const paints: number[] = [];
      const serverTimes: number[] = [];
      const details: number[] = [];
      const browser = await launch(false);
      try {
        for (let k = 0; k < LOADS; k++) {
          const { page, paintMs, detailsMs } = await openTrace(browser, server.api, traceId);
          paints.push(paintMs);
          details.push(detailsMs);
          await page.close();
          // The page's first request from here (the page makes it in the trace page's worker).
          const t0 = performance.now();
          const res = await fetch(
            `${server.api}/api/v1/traces/${traceId}?format=compact&maxDetailedSpans=${FIRST_VIEW_DETAILED_SPANS}`,
          );
          await res.arrayBuffer();
          serverTimes.push(performance.now() - t0);
        }
      } finally {
        await browser.close();
      }
      const fast = await launch(true);
      let frames: number[];
      try {
        const { page } = await openTrace(fast, server.api, traceId);
        frames = await scrollFrames(page, SCROLL_STEPS);
        await page.close();
      } finally {
        await fast.close();
      }
      printFigure(BENCH, 'first_paint_ms', 'ms', [median(paints), TARGET_FIRST_PAINT_MS], 'target 2000 ms', false, {
        spans: n,
        server_ms: Math.round(median(serverTimes)),
        details_ms: Math.round(median(details)),
        runs: paints.map((p) => Math.round(p)).join(','),
      });
      printFigure(BENCH, 'scroll_frame_p95_ms', 'ms', [p95(frames), TARGET_FRAME_MS], 'target 16 ms', false, {
        spans: n,
        frames: frames.length,
        median_ms: Math.round(median(frames) * 100) / 100,
      });
    }
  } finally {
    await server.stop();
  }
}
