/**
 * The search page in headless Chromium against a real Traceloom server filled
 * through OTLP/HTTP: search by service and by attribute (with autocomplete)
 * finds exactly the expected traces, a shared URL restores the form and runs
 * the search, sorting and compare selection work, server errors are shown
 * with their hint, and an empty store shows how to send data. Saves the
 * screenshots search-{light,dark}.png and search-empty-{light,dark}.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  launchBrowser,
  openPage,
  type SentTrace,
  type SpanSpec,
  screenshotBothThemes,
  sendTraces,
  startTraceloom,
  type Traceloom,
  type TraceSpec,
} from './fixtures/traceloom.ts';

const MIN = 60_000;

/** A storefront request: frontend -> cart -> redis, optionally failing in cart. */
function cartTrace(startMs: number, durationMs: number, status: number): TraceSpec {
  const spans: SpanSpec[] = [
    {
      id: 'root',
      service: 'frontend',
      name: 'GET /cart',
      kind: 'server',
      durationMs,
      attributes: { 'http.route': '/cart', 'http.status_code': status },
      resourceAttributes: { 'deployment.environment': 'prod' },
      error: status >= 500,
    },
    {
      id: 'call',
      parent: 'root',
      service: 'frontend',
      name: 'cart.get',
      kind: 'client',
      offsetMs: 1,
      durationMs: durationMs - 2,
    },
    {
      id: 'cart',
      parent: 'call',
      service: 'cart',
      name: 'CartService/Get',
      kind: 'server',
      offsetMs: 1.5,
      durationMs: durationMs - 3,
      error: status >= 500 ? 'cart store unavailable' : false,
    },
    { parent: 'cart', service: 'redis', name: 'HGETALL', kind: 'client', offsetMs: 2, durationMs: 1 },
  ];
  return { startMs, spans };
}

/** A checkout: frontend -> checkout -> payment (card or voucher). */
function checkoutTrace(startMs: number, durationMs: number, method: string): TraceSpec {
  return {
    startMs,
    spans: [
      {
        id: 'root',
        service: 'frontend',
        name: 'POST /checkout',
        kind: 'server',
        durationMs,
        attributes: { 'http.route': '/checkout', 'http.status_code': 200 },
        resourceAttributes: { 'deployment.environment': 'prod' },
      },
      {
        id: 'co',
        parent: 'root',
        service: 'checkout',
        name: 'PlaceOrder',
        kind: 'server',
        offsetMs: 2,
        durationMs: durationMs - 4,
      },
      {
        parent: 'co',
        service: 'payment',
        name: 'Charge',
        kind: 'server',
        offsetMs: 5,
        durationMs: durationMs / 2,
        attributes: { 'payment.method': method, 'payment.amount': 42.5 },
        resourceAttributes: { 'cloud.region': 'eu-west-1' },
      },
    ],
  };
}

/** A background job of one service. */
function jobTrace(startMs: number): TraceSpec {
  return {
    startMs,
    spans: [
      {
        id: 'root',
        service: 'billing-worker',
        name: 'invoice.generate',
        kind: 'consumer',
        durationMs: 340,
        attributes: { 'job.queue': 'invoices' },
      },
      { parent: 'root', service: 'billing-worker', name: 'render-pdf', offsetMs: 20, durationMs: 250 },
    ],
  };
}

async function resultIds(page: Page): Promise<string[]> {
  await page.waitForSelector('[data-testid="results"], [data-testid="no-results"], [role="alert"]');
  const ids = await page.$$eval('[data-testid="results"] tbody tr', (rows) =>
    rows.map((r) => r.getAttribute('data-trace-id') ?? ''),
  );
  return ids.sort();
}

/** Waits for the search triggered by the last navigation to finish. */
async function searched(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid="loading"]', { state: 'detached' });
  await page.waitForSelector('[data-testid="results"], [data-testid="no-results"], [role="alert"]');
}

function ids(traces: readonly SentTrace[]): string[] {
  return traces.map((t) => t.traceId).sort();
}

describe('search page', () => {
  let tl: Traceloom;
  let browser: Browser;
  let carts: SentTrace[];
  let checkouts: SentTrace[];
  let jobs: SentTrace[];
  let outliers: SentTrace[];
  const now = Date.now();
  // Status per cart trace: two of them fail with 503.
  const cartStatus = [200, 200, 503, 200, 200, 200, 503, 200, 200, 200];

  before(async () => {
    [tl, browser] = await Promise.all([startTraceloom(), launchBrowser()]);
    carts = await sendTraces(
      tl,
      cartStatus.map((status, i) => cartTrace(now - (5 + i * 4) * MIN, 12 + ((i * 37) % 90), status)),
    );
    checkouts = await sendTraces(tl, [
      checkoutTrace(now - 8 * MIN, 220, 'card'),
      checkoutTrace(now - 21 * MIN, 480, 'voucher'),
      checkoutTrace(now - 33 * MIN, 310, 'card'),
    ]);
    jobs = await sendTraces(tl, [jobTrace(now - 12 * MIN), jobTrace(now - 40 * MIN)]);
    // A service with one slow outlier among fast requests (for the scatter's log scale).
    outliers = await sendTraces(
      tl,
      [2, 3, 4000].map((durationMs, i) => ({
        startMs: now - (15 + i) * MIN,
        spans: [{ service: 'batch', name: 'sync', durationMs }],
      })),
    );
  });

  after(async () => {
    await browser?.close();
    await tl?.stop();
  });

  it('finds traces by service, and the URL records the search', async () => {
    const { page, errors } = await openPage(browser, tl, '/');
    await searched(page);
    assert.equal((await resultIds(page)).length, 18, 'the default search lists the last hour (limit 20)');
    await page.selectOption('select[name="service"]', 'payment');
    await page.click('[data-testid="search-button"]');
    await page.waitForURL(/\/search\?service=payment$/);
    await searched(page);
    assert.deepEqual(await resultIds(page), ids(checkouts));

    await page.selectOption('select[name="service"]', 'billing-worker');
    // Operations are listed for the chosen service, with their span kinds.
    await page.waitForSelector('select[name="operation"] option:has-text("invoice.generate · consumer")', {
      state: 'attached',
    });
    await page.click('[data-testid="search-button"]');
    await searched(page);
    assert.deepEqual(await resultIds(page), ids(jobs));
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('finds traces by attribute, with keys and values suggested', async () => {
    const { page, errors } = await openPage(browser, tl, '/search');
    await searched(page);
    await page.click('[data-testid="add-attr"]');
    const key = page.locator('[data-testid="attr-key"]').first();
    await key.fill('payment.m');
    await page.locator('.combobox-list [role="option"]', { hasText: 'payment.method' }).click();
    assert.equal(await key.inputValue(), 'payment.method');
    const value = page.locator('[data-testid="attr-value"]').first();
    await value.click();
    await page.locator('.combobox-list [role="option"]').nth(1).waitFor();
    const suggested = await page
      .locator('.combobox-list [role="option"]')
      .allTextContents()
      .then((t) => t.sort());
    assert.deepEqual(suggested, ['card', 'voucher']);
    await page.locator('.combobox-list [role="option"]', { hasText: 'card' }).click();
    await page.click('[data-testid="search-button"]');
    await page.waitForURL(/attr=payment\.method%3Dcard/);
    await searched(page);
    const card = [checkouts[0], checkouts[2]] as SentTrace[];
    assert.deepEqual(await resultIds(page), ids(card));

    // A resource attribute, scoped to resources.
    await page.selectOption('select[aria-label="Attribute 1 scope"]', 'resource');
    await key.fill('cloud.region');
    await value.fill('eu-west-1');
    await page.click('[data-testid="search-button"]');
    await page.waitForURL(/attr=resource\.cloud\.region%3Deu-west-1/);
    await searched(page);
    assert.deepEqual(await resultIds(page), ids(checkouts));
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('restores the form from a shared URL and runs the search', async () => {
    const shared =
      '/search?service=frontend&operation=GET+%2Fcart&spanKind=server&attr=http.status_code%3E%3D500' +
      '&minDuration=5ms&errors=true&lookback=3h&limit=50&sort=longest';
    const { page, errors } = await openPage(browser, tl, shared);
    await searched(page);
    assert.equal(await page.inputValue('select[name="service"]'), 'frontend');
    assert.equal(await page.locator('select[name="operation"] option:checked').textContent(), 'GET /cart · server');
    assert.equal(await page.inputValue('[data-testid="attr-key"]'), 'http.status_code');
    assert.equal(await page.inputValue('select[aria-label="Attribute 1 operator"]'), '>=');
    assert.equal(await page.inputValue('[data-testid="attr-value"]'), '500');
    assert.equal(await page.inputValue('input[name="minDuration"]'), '5ms');
    assert.equal(await page.isChecked('input[name="errors"]'), true);
    assert.equal(await page.inputValue('select[name="lookback"]'), '3h');
    assert.equal(await page.inputValue('input[name="limit"]'), '50');
    assert.equal(await page.inputValue('select[name="sort"]'), 'longest');
    const failing = carts.filter((_, i) => (cartStatus[i] ?? 0) >= 500);
    assert.equal(failing.length, 2);
    assert.deepEqual(await resultIds(page), ids(failing));
    // Without a span kind the operation matches every kind.
    const { page: anyKind } = await openPage(browser, tl, '/search?service=frontend&operation=GET+%2Fcart');
    await searched(anyKind);
    assert.equal(
      await anyKind.locator('select[name="operation"] option:checked').textContent(),
      'GET /cart · any kind',
    );
    assert.equal((await resultIds(anyKind)).length, 10);
    await anyKind.close();
    // Submitting the restored form unchanged gives the same URL back.
    await page.click('[data-testid="search-button"]');
    await searched(page);
    assert.equal(new URL(page.url()).search, new URL(shared, tl.url).search);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('sorts the list, and compares two ticked traces', async () => {
    const { page, errors } = await openPage(browser, tl, '/search?service=frontend');
    await searched(page);
    const durations = async () =>
      page.$$eval('[data-testid="results"] tbody tr', (rows) =>
        rows.map((r) => r.querySelector('.duration-cell div')?.textContent ?? ''),
      );
    await page.click('button[data-sort="duration"]');
    const desc = await durations();
    assert.equal(desc.length, 13);
    await page.click('button[data-sort="duration"]');
    const asc = await durations();
    assert.deepEqual(asc, [...desc].reverse());
    assert.equal(await page.getAttribute('th:has(button[data-sort="duration"])', 'aria-sort'), 'ascending');

    // Per-service badges carry span counts: a cart trace has 2 frontend spans, 1 cart, 1 redis.
    const cartRow = page.locator(`tr[data-trace-id="${carts[0]?.traceId}"]`);
    assert.deepEqual((await cartRow.locator('.badge').allTextContents()).sort(), ['cart1', 'frontend2', 'redis1']);

    const compare = page.locator('[data-testid="compare-button"]');
    assert.equal(await compare.isDisabled(), true);
    const [a, b] = [carts[0]?.traceId, checkouts[0]?.traceId];
    await page.check(`tr[data-trace-id="${a}"] input[type="checkbox"]`);
    assert.equal(await compare.isDisabled(), true, 'one trace is not enough to compare');
    await page.check(`tr[data-trace-id="${b}"] input[type="checkbox"]`);
    await compare.click();
    await page.waitForURL(new RegExp(`/compare/${a}/${b}$`));
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('opens a trace from its dot in the scatter', async () => {
    const { page, errors } = await openPage(browser, tl, '/search?service=billing-worker&limit=1');
    await searched(page);
    const [only] = await resultIds(page);
    assert.equal(only, jobs[0]?.traceId, 'the most recent job');
    // One result sits at the middle of the time axis; find its height by hovering down that line.
    const box = await page.locator('[data-testid="scatter"]').boundingBox();
    assert.ok(box !== null);
    const x = box.x + (64 + (box.width - 16)) / 2;
    let found = false;
    for (let y = box.y + 4; y < box.y + box.height && !found; y += 3) {
      await page.mouse.move(x, y);
      found = await page.locator('.scatter .tooltip').isVisible();
    }
    assert.ok(found, 'hovering the dot shows its tooltip');
    assert.match((await page.textContent('.scatter .tooltip')) ?? '', /billing-worker: invoice\.generate/);
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForURL(new RegExp(`/trace/${only}$`));
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('puts durations on a log scale when one outlier would flatten the rest', async () => {
    const { page, errors } = await openPage(browser, tl, '/search?service=batch');
    await searched(page);
    assert.deepEqual(await resultIds(page), ids(outliers));
    assert.equal(await page.getAttribute('[data-testid="scatter"]', 'data-scale'), 'log');
    await page.goto(`${tl.url}/search?service=payment`);
    await searched(page);
    assert.equal(await page.getAttribute('[data-testid="scatter"]', 'data-scale'), 'linear');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('pages through results with Load more', async () => {
    const { page, errors } = await openPage(browser, tl, '/search?service=frontend&limit=5');
    await searched(page);
    assert.equal((await resultIds(page)).length, 5);
    assert.match((await page.textContent('[data-testid="result-count"]')) ?? '', /5 traces of 13/);
    await page.click('button:has-text("Load more")');
    await page.locator('[data-testid="results"] tbody tr').nth(9).waitFor();
    const all = await resultIds(page);
    assert.equal(all.length, 10);
    assert.equal(new Set(all).size, 10, 'no trace twice');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('keeps the theme and time zone settings across reloads', async () => {
    const { page, errors } = await openPage(browser, tl, '/search?service=payment', { theme: 'light' });
    await searched(page);
    const html = page.locator('html');
    assert.equal(await html.getAttribute('data-theme'), 'light');
    await page.click('[data-testid="theme-toggle"]');
    assert.equal(await html.getAttribute('data-theme'), 'dark');
    const startCell = page.locator('[data-testid="results"] tbody tr .start-cell').first();
    assert.doesNotMatch((await startCell.textContent()) ?? '', /UTC/);
    await page.click('.segmented button:has-text("UTC")');
    assert.match((await startCell.textContent()) ?? '', /UTC/);
    await page.reload();
    await searched(page);
    assert.equal(await html.getAttribute('data-theme'), 'dark');
    assert.equal(await page.getAttribute('.segmented button:has-text("UTC")', 'aria-pressed'), 'true');
    assert.match((await startCell.textContent()) ?? '', /UTC/);
    // The start shown is the trace's start in UTC.
    const start = new Date(now - 8 * MIN);
    const hh = String(start.getUTCHours()).padStart(2, '0');
    const mm = String(start.getUTCMinutes()).padStart(2, '0');
    assert.match((await startCell.textContent()) ?? '', new RegExp(`^${hh}:${mm}:`));
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the server error and its hint for a bad search', async () => {
    const { page } = await openPage(browser, tl, '/search?minDuration=fast');
    const alert = page.locator('.search-results [role="alert"]');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    assert.match(text, /'fast' is not a duration/);
    assert.match(text, /parameter minDuration/);
    assert.match(text, /Fix the named parameter/);
    assert.match(text, /TL_ERR_BAD_PARAMETER/);
    await page.close();
  });

  it('saves screenshots of the search page in both themes', async () => {
    const { page, errors } = await openPage(
      browser,
      tl,
      '/search?attr=resource.deployment.environment%3Dprod&minDuration=10ms&lookback=3h&limit=50',
    );
    await searched(page);
    const paths = await screenshotBothThemes(page, 'search');
    assert.equal(paths.length, 2);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('search page on an empty store', () => {
  let tl: Traceloom;
  let browser: Browser;

  before(async () => {
    [tl, browser] = await Promise.all([startTraceloom(), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await tl?.stop();
  });

  it('shows how to send data instead of a blank page', async () => {
    const { page, errors } = await openPage(browser, tl, '/');
    const empty = page.locator('[data-testid="empty-state"]');
    await empty.waitFor();
    assert.equal(await page.textContent('[data-testid="otlp-endpoint"]'), 'http://localhost:4318');
    const example = (await page.textContent('[data-testid="otel-example"]')) ?? '';
    assert.match(example, /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/localhost:4318/);
    assert.match(example, /OTEL_SERVICE_NAME=/);
    await screenshotBothThemes(page, 'search-empty');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
