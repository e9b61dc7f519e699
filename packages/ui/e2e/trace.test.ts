/**
 * The trace page in headless Chromium against a real Traceloom server filled
 * through OTLP/HTTP: the waterfall shows every span with the right nesting,
 * collapse and keyboard navigation work, the span detail shows attributes,
 * resource, events and links, find-in-trace highlights by text and
 * key=value, the critical path toggles, the flame graph and span table
 * render, the OTLP/JSON download round-trips through the "open a file" page,
 * and a missing trace shows the server's error. Saves the screenshots
 * trace-, trace-detail-, flame- and table-{light,dark}.png.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeOtlpTraces } from '@traceloom/wire';
import type { Browser, Page } from 'playwright-core';
import { generateLargeTrace } from '../../../bench/ui-large-trace-gen.ts';
import {
  buildSpans,
  getJson,
  launchBrowser,
  openPage,
  type SentTrace,
  screenshotBothThemes,
  sendTraces,
  startTraceloom,
  type Traceloom,
  type TraceSpec,
  waitFor,
} from './fixtures/traceloom.ts';

/** A checkout: frontend -> checkout -> (inventory, payment -> bank, failing), plus email after. */
function checkout(): TraceSpec {
  return {
    spans: [
      {
        id: 'root',
        service: 'frontend',
        name: 'POST /checkout',
        kind: 'server',
        durationMs: 120,
        attributes: { 'http.route': '/checkout', 'http.response.status_code': 500, 'user.id': 'u-4711' },
        resourceAttributes: { 'deployment.environment': 'staging', 'host.name': 'web-1' },
        error: 'payment failed',
      },
      {
        id: 'co',
        parent: 'root',
        service: 'checkout',
        name: 'PlaceOrder',
        kind: 'server',
        offsetMs: 5,
        durationMs: 100,
        attributes: { 'order.id': 'ord-981', 'order.items': 3 },
      },
      {
        id: 'inv',
        parent: 'co',
        service: 'inventory',
        name: 'ReserveStock',
        kind: 'client',
        offsetMs: 8,
        durationMs: 20,
        attributes: { 'db.system': 'postgresql', 'db.statement': 'UPDATE stock SET reserved = reserved + 1' },
      },
      // Inside ReserveStock's time, so off the critical path.
      { id: 'warm', parent: 'co', service: 'inventory', name: 'cache warm', offsetMs: 10, durationMs: 5 },
      {
        id: 'pay',
        parent: 'co',
        service: 'payment',
        name: 'Charge',
        kind: 'server',
        offsetMs: 30,
        durationMs: 70,
        attributes: { 'payment.method': 'card', 'payment.amount': 42.5 },
        error: 'card declined',
        events: [{ name: 'exception', offsetMs: 60, attributes: { 'exception.type': 'CardDeclined' } }],
      },
      {
        id: 'bank',
        parent: 'pay',
        service: 'bank-gateway',
        name: 'POST /authorize',
        kind: 'client',
        offsetMs: 35,
        durationMs: 55,
        attributes: { 'http.request.method': 'POST', 'server.address': 'bank.example' },
      },
      { id: 'log', parent: 'root', service: 'frontend', name: 'render error page', offsetMs: 108, durationMs: 8 },
    ],
  };
}

/** The page's read-only debug hook (`window.__traceloomTrace`, see TraceView.tsx); this file has no DOM types. */
interface HookHost {
  __traceloomTrace?: {
    readonly visibleRowCount: number;
    readonly matchCount: number;
    readonly currentMatch: string | undefined;
    readonly selectedSpanId: string | undefined;
    rows(from?: number, count?: number): Row[];
    criticalSpanIds(): string[];
  };
}

type Row = { spanId: string; parentSpanId: string; depth: number; service: string; name: string; matched: boolean };

describe('trace page (Chromium, real server)', () => {
  let tl: Traceloom;
  let browser: Browser;
  let sent: SentTrace;
  let linked: SentTrace;
  const errors: string[] = [];

  before(async () => {
    tl = await startTraceloom();
    [linked] = (await sendTraces(tl, [
      { spans: [{ id: 'job', service: 'email', name: 'send receipt', kind: 'consumer', durationMs: 15 }] },
    ])) as [SentTrace];
    // The fixture's specs have no links: build the spans, add a link on Charge, and post them as OTLP.
    const built = buildSpans(checkout());
    const spans = built.spans.map((s) =>
      s.spanId === built.sent.spanIds.pay
        ? {
            ...s,
            links: [
              {
                traceId: linked.traceId,
                spanId: linked.spanIds.job as string,
                traceState: '',
                attributes: [{ key: 'link.reason', value: 'receipt' }],
                droppedAttributesCount: 0,
                flags: 1,
              },
            ],
          }
        : s,
    );
    const res = await fetch(tl.otlpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: encodeOtlpTraces(spans),
    });
    assert.equal(res.status, 200);
    sent = built.sent;
    await waitFor(async () => {
      const r = await fetch(`${tl.url}/api/v1/traces/${sent.traceId}`);
      if (!r.ok) return undefined;
      const body = (await r.json()) as { spanCount: number };
      return body.spanCount === 7 ? true : undefined;
    }, 'the linked trace to be stored');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await tl?.stop();
  });

  async function openTrace(traceId: string, theme: 'light' | 'dark' = 'light'): Promise<Page> {
    const p = await openPage(browser, tl, `/trace/${traceId}`, { theme });
    p.page.on('pageerror', (e) => errors.push(e.message));
    await p.page.waitForSelector(`[data-testid="waterfall"][data-painted="${traceId}"]`, { timeout: 20_000 });
    errors.push(...p.errors);
    return p.page;
  }

  const rows = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as HookHost).__traceloomTrace?.rows(0, 10_000) ?? []) as Promise<Row[]>;

  it('shows every span with the right nesting and the header figures', async () => {
    const page = await openTrace(sent.traceId);
    const r = await rows(page);
    assert.equal(r.length, 7);
    const byName = new Map(r.map((x) => [x.name, x]));
    const ids = sent.spanIds;
    assert.equal(byName.get('POST /checkout')?.spanId, ids.root);
    assert.equal(byName.get('POST /checkout')?.depth, 0);
    assert.equal(byName.get('PlaceOrder')?.parentSpanId, ids.root);
    assert.equal(byName.get('Charge')?.parentSpanId, ids.co);
    assert.equal(byName.get('POST /authorize')?.parentSpanId, ids.pay);
    assert.equal(byName.get('POST /authorize')?.depth, 3);
    // Tree order: a child comes right after its parent or its earlier siblings' subtrees.
    assert.deepEqual(
      r.map((x) => x.name),
      ['POST /checkout', 'PlaceOrder', 'ReserveStock', 'cache warm', 'Charge', 'POST /authorize', 'render error page'],
    );
    assert.equal(await page.getAttribute('[data-testid="waterfall"]', 'data-span-count'), '7');
    assert.equal((await page.textContent('[data-testid="trace-span-count"]'))?.trim(), '7');
    assert.equal((await page.textContent('[data-testid="trace-depth"]'))?.trim(), '4');
    assert.equal((await page.textContent('[data-testid="trace-errors"]'))?.trim(), '2');
    assert.equal((await page.textContent('[data-testid="trace-duration"]'))?.trim(), '120ms');
    await screenshotBothThemes(page, 'trace');
    await page.close();
  });

  it('collapses and expands subtrees with the mouse and the keyboard, and Enter opens the detail', async () => {
    const page = await openTrace(sent.traceId);
    const box = await page.locator('[data-testid="waterfall-scroll"]').boundingBox();
    assert.ok(box !== null);
    // Row 1 (PlaceOrder, depth 1): its disclosure triangle sits at 6 + 14 px.
    await page.mouse.click(box.x + 6 + 14 + 5, box.y + 24 + 12);
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.visibleRowCount === 3);
    // Keyboard: select the root, move down to PlaceOrder, expand it with the right arrow.
    await page.mouse.click(box.x + 600, box.y + 12);
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(
      () => (globalThis as unknown as HookHost).__traceloomTrace?.selectedSpanId !== undefined,
    );
    const selected = await page.evaluate(() => (globalThis as unknown as HookHost).__traceloomTrace?.selectedSpanId);
    assert.equal(selected, sent.spanIds.co);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.visibleRowCount === 7);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.visibleRowCount === 3);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const detail = page.locator('[data-testid="span-detail"]');
    await detail.waitFor();
    assert.equal(await detail.getAttribute('data-span-id'), sent.spanIds.pay);
    await page.close();
  });

  it('shows span attributes, resource, status and events in the detail', async () => {
    const page = await openTrace(sent.traceId);
    await page.fill('[data-testid="find-input"]', 'Charge');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.matchCount === 1);
    const box = await page.locator('[data-testid="waterfall-scroll"]').boundingBox();
    assert.ok(box !== null);
    // Charge is row 4.
    await page.mouse.click(box.x + 700, box.y + 4 * 24 + 12);
    const detail = page.locator('[data-testid="span-detail"]');
    await detail.waitFor();
    assert.equal(await detail.getAttribute('data-span-id'), sent.spanIds.pay);
    const attrs = detail.locator('[data-testid="span-attributes"]');
    assert.match((await attrs.locator('tr[data-key="payment.method"]').textContent()) ?? '', /card/);
    assert.match((await attrs.locator('tr[data-key="payment.amount"]').textContent()) ?? '', /42\.5/);
    assert.match((await detail.locator('[data-testid="span-status"]').textContent()) ?? '', /error: card declined/);
    assert.match((await detail.textContent()) ?? '', /exception/);
    assert.match((await detail.textContent()) ?? '', /CardDeclined/);
    const resource = detail.locator('[data-testid="resource-attributes"]');
    assert.match((await resource.locator('tr[data-key="service.name"]').textContent()) ?? '', /payment/);
    await screenshotBothThemes(page, 'trace-detail');
    // The link opens the linked trace.
    await detail.locator('[data-testid="span-link"]').click();
    await page.waitForSelector(`[data-testid="waterfall"][data-painted="${linked.traceId}"]`);
    assert.equal(new URL(page.url()).pathname, `/trace/${linked.traceId}`);
    await page.close();
  });

  it('paints a large trace before its details arrive, then fills them in without losing the view', async () => {
    // Any trace above maxDetailedSpans loads in two steps; the page URL lowers the threshold to 0.
    const { page, errors: pageErrors } = await openPage(browser, tl, `/trace/${sent.traceId}?maxDetailedSpans=0`);
    await page.waitForSelector(`[data-testid="waterfall"][data-painted="${sent.traceId}"]`, { timeout: 20_000 });
    const firstView = await page.evaluate(
      () => (performance.getEntriesByName('tl-trace-first-view')[0] as { detail?: unknown } | undefined)?.detail,
    );
    assert.deepEqual(firstView, { partial: true }, 'the first view came without details');
    await page.waitForFunction('window.__traceloomTrace !== undefined && window.__traceloomTrace.partial === false');
    assert.equal((await rows(page)).length, 7, 'the same tree');
    await page.fill('[data-testid="find-input"]', 'payment.method=card');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.matchCount === 1);
    const box = await page.locator('[data-testid="waterfall-scroll"]').boundingBox();
    assert.ok(box !== null);
    await page.mouse.click(box.x + 700, box.y + 4 * 24 + 12);
    const attrs = page.locator('[data-testid="span-detail"] [data-testid="span-attributes"]');
    assert.match((await attrs.locator('tr[data-key="payment.method"]').textContent()) ?? '', /card/);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('finds spans by text and by key=value, with next and previous', async () => {
    const page = await openTrace(sent.traceId);
    await page.fill('[data-testid="find-input"]', 'post');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.matchCount === 3);
    // Two span names, and db.system=postgresql on ReserveStock (the bank span's method=POST is the same span).
    const matched = (await rows(page)).filter((r) => r.matched).map((r) => r.name);
    assert.deepEqual(matched, ['POST /checkout', 'ReserveStock', 'POST /authorize']);
    assert.equal((await page.textContent('[data-testid="find-count"]'))?.trim(), '1 / 3');
    await page.click('button[aria-label="Next match"]');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.currentMatch !== undefined);
    assert.equal((await page.textContent('[data-testid="find-count"]'))?.trim(), '2 / 3');
    await page.fill('[data-testid="find-input"]', 'payment.method=card');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.matchCount === 1);
    await page.waitForFunction(
      (id) => (globalThis as unknown as HookHost).__traceloomTrace?.currentMatch === id,
      sent.spanIds.pay,
    );
    // A resource attribute: only the root's resource has it (the other frontend span has another resource).
    await page.fill('[data-testid="find-input"]', 'deployment.environment=staging');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.matchCount === 1);
    await page.waitForFunction(
      (id) => (globalThis as unknown as HookHost).__traceloomTrace?.currentMatch === id,
      sent.spanIds.root,
    );
    await page.fill('[data-testid="find-input"]', 'payment.method=cash');
    await page.waitForFunction(() => (globalThis as unknown as HookHost).__traceloomTrace?.matchCount === 0);
    assert.equal((await page.textContent('[data-testid="find-count"]'))?.trim(), 'no match');
    await page.close();
  });

  it('toggles the critical path, which matches the server', async () => {
    const page = await openTrace(sent.traceId);
    const wf = page.locator('[data-testid="waterfall"]');
    assert.equal(await wf.getAttribute('data-critical'), 'off');
    await page.check('[data-testid="critical-toggle"]');
    assert.equal(await wf.getAttribute('data-critical'), 'on');
    const ids =
      (await page.evaluate(() => (globalThis as unknown as HookHost).__traceloomTrace?.criticalSpanIds())) ?? [];
    const server = await getJson<{ spans: { spanId: string; onCriticalPath: boolean }[] }>(
      tl,
      `/api/v1/traces/${sent.traceId}`,
    );
    assert.deepEqual(
      ids,
      server.spans.filter((s) => s.onCriticalPath).map((s) => s.spanId),
    );
    assert.ok(ids.includes(sent.spanIds.bank as string));
    assert.ok(!ids.includes(sent.spanIds.warm as string));
    await screenshotBothThemes(page, 'trace-critical');
    await page.uncheck('[data-testid="critical-toggle"]');
    assert.equal(await wf.getAttribute('data-critical'), 'off');
    await page.close();
  });

  it('renders the flame graph and the span table with per-operation statistics', async () => {
    const page = await openTrace(sent.traceId);
    await page.click('[data-testid="view-flame"]');
    await page.locator('[data-testid="flame-graph"] canvas').waitFor();
    await screenshotBothThemes(page, 'flame');
    await page.click('[data-testid="view-table"]');
    const table = page.locator('[data-testid="span-table"]');
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), 7);
    const charge = (await table.locator('tr[data-operation="Charge"] td').allTextContents()).map((t) => t.trim());
    // Service, operation, spans, errors, total, self (70 - 55 ms), avg, max.
    assert.deepEqual(charge.slice(0, 8), ['payment', 'Charge', '1', '1', '70ms', '15ms', '70ms', '70ms']);
    await screenshotBothThemes(page, 'table');
    await page.close();
  });

  it('downloads OTLP/JSON that the open-file page shows without the server', async () => {
    const page = await openTrace(sent.traceId);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="download"]')]);
    const dir = await mkdtemp(join(tmpdir(), 'tl-ui-dl-'));
    try {
      const file = join(dir, 'trace.json');
      await download.saveAs(file);
      const text = await readFile(file, 'utf8');
      assert.match(text, /"resourceSpans"/);
      await page.goto(`${tl.url}/open`);
      await page.waitForSelector('[data-testid="open-file"]', { state: 'attached' });
      await screenshotBothThemes(page, 'open');
      // The file is read in the browser: no API request for the trace may happen.
      const apiCalls: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/api/v1/traces/')) apiCalls.push(r.url());
      });
      await page.setInputFiles('[data-testid="open-file"]', file);
      await page.waitForSelector(`[data-testid="waterfall"][data-painted="${sent.traceId}"]`);
      const r = await rows(page);
      assert.equal(r.length, 7);
      assert.equal(r.find((x) => x.name === 'POST /authorize')?.parentSpanId, sent.spanIds.pay);
      assert.deepEqual(apiCalls, []);
      // A file that is not OTLP/JSON gets a clear error.
      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{"resourceSpans": 5}');
      await page.goto(`${tl.url}/open`);
      await page.setInputFiles('[data-testid="open-file"]', bad);
      const err = page.locator('[data-testid="trace-error"]');
      await err.waitFor();
      assert.match((await err.textContent()) ?? '', /resourceSpans/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await page.close();
  });

  it('draws a 5,000-span trace with the right tree and without a DOM node per span', async () => {
    const spans = generateLargeTrace(5000, 42);
    for (let i = 0; i < spans.length; i += 2000) {
      const res = await fetch(tl.otlpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: encodeOtlpTraces(spans.slice(i, i + 2000)),
      });
      assert.equal(res.status, 200);
    }
    const traceId = spans[0]?.traceId as string;
    await waitFor(async () => {
      const r = await fetch(`${tl.url}/api/v1/traces/${traceId}?format=compact`);
      if (!r.ok) return undefined;
      return ((await r.json()) as { spanCount: number }).spanCount === 5000 ? true : undefined;
    }, 'the 5,000-span trace to be stored');
    const page = await openTrace(traceId);
    const r = await rows(page);
    assert.equal(r.length, 5000);
    const parentOf = new Map(spans.map((s) => [s.spanId, s.parentSpanId]));
    const position = new Map(r.map((x, k) => [x.spanId, k]));
    for (const [k, row] of r.entries()) {
      assert.equal(row.parentSpanId, parentOf.get(row.spanId), `parent of ${row.spanId}`);
      // Tree order: a parent comes before its children, one level up.
      if (row.parentSpanId !== '') {
        const p = position.get(row.parentSpanId) as number;
        assert.ok(p < k);
        assert.equal(r[p]?.depth, row.depth - 1);
      }
    }
    // Virtualized: the page's element count does not grow with the spans.
    const elements = await page.evaluate(
      () =>
        (
          globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
        ).document.querySelectorAll('*').length,
    );
    assert.ok(elements < 400, `${elements} elements`);
    // Pressing near the minimap's bottom moves the view there (the window centres on the pointer).
    const mini = await page.locator('[data-testid="minimap"]').boundingBox();
    assert.ok(mini !== null);
    await page.mouse.click(mini.x + 50, mini.y + mini.height - 1);
    const top = await page.locator('[data-testid="waterfall-scroll"]').evaluate((e) => e.scrollTop);
    assert.ok(top > 5000 * 24 * 0.95, `scrollTop ${top}`);
    await page.close();
  });

  it('shows the server error for a trace that does not exist', async () => {
    const { page } = await openPage(browser, tl, `/trace/${'ab'.repeat(16)}`);
    const err = page.locator('[data-testid="trace-error"]');
    await err.waitFor();
    const text = (await err.textContent()) ?? '';
    assert.match(text, /Trace not found/);
    assert.match(text, /TL_ERR_TRACE_NOT_FOUND/);
    await page.close();
  });

  it('raised no page errors', () => {
    assert.deepEqual(errors, []);
  });
});
