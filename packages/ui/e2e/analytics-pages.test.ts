/**
 * The analytics pages in headless Chromium against a real server filled
 * through OTLP: the services table, one service's charts and operations, and
 * the service map, with screenshots in both themes.
 *
 * The crafted topology: `web` (root SERVER span, so `user` calls it) calls
 * `api` (CLIENT/SERVER pair); `api` queries PostgreSQL (a CLIENT span with
 * db.system, no server side: a database node) and publishes to `worker`
 * (PRODUCER/CONSUMER pair). One trace in four fails in `api`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  getJson,
  launchBrowser,
  openPage,
  screenshotBothThemes,
  sendTraces,
  startTraceloom,
  type Traceloom,
  type TraceSpec,
  waitFor,
} from './fixtures/traceloom.ts';

const TRACES = 24;

function checkout(i: number, startMs: number): TraceSpec {
  const fail = i % 4 === 0;
  return {
    startMs,
    spans: [
      { id: 'root', service: 'web', name: 'POST /checkout', kind: 'server', durationMs: 120 + i },
      {
        id: 'call',
        parent: 'root',
        service: 'web',
        name: 'POST /orders',
        kind: 'client',
        offsetMs: 5,
        durationMs: 100,
      },
      {
        id: 'orders',
        parent: 'call',
        service: 'api',
        name: 'POST /orders',
        kind: 'server',
        offsetMs: 6,
        durationMs: 95 + (i % 5) * 10,
        ...(fail ? { error: 'payment declined' } : {}),
      },
      {
        id: 'db',
        parent: 'orders',
        service: 'api',
        name: 'INSERT orders',
        kind: 'client',
        offsetMs: 10,
        durationMs: 20,
        attributes: { 'db.system': 'postgresql', 'db.name': 'shop' },
      },
      {
        id: 'pub',
        parent: 'orders',
        service: 'api',
        name: 'orders publish',
        kind: 'producer',
        offsetMs: 40,
        durationMs: 3,
      },
      {
        id: 'con',
        parent: 'pub',
        service: 'worker',
        name: 'orders process',
        kind: 'consumer',
        offsetMs: 50,
        durationMs: 30,
      },
    ],
  };
}

interface Overview {
  services: { service: string; calls: number; errors: number }[];
}

describe('analytics pages', () => {
  let tl: Traceloom;
  let browser: Browser;

  before(async () => {
    tl = await startTraceloom();
    const now = Date.now();
    // Spread over the last 12 minutes, so the charts have several points.
    await sendTraces(
      tl,
      Array.from({ length: TRACES }, (_, i) => checkout(i, now - 12 * 60_000 + i * 30_000)),
    );
    // Metrics are flushed by the pipeline on its own interval: wait for all of them.
    await waitFor(
      async () => {
        const o = await getJson<Overview>(tl, '/api/v1/metrics/services?lookback=1h');
        const web = o.services.find((s) => s.service === 'web');
        return web !== undefined && web.calls === TRACES ? o : undefined;
      },
      'span metrics of every trace',
      30_000,
    );
    // A client span without a server side becomes a database edge once the graph stops waiting
    // for its pair (--service-graph-wait, 10 s) and the next metrics write (5 s).
    await waitFor(
      async () => {
        const g = await getJson<{ edges: unknown[] }>(tl, '/api/v1/service-graph?lookback=1h');
        return g.edges.length >= 4 ? g : undefined;
      },
      'the four edges of the service graph',
      60_000,
    );
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tl?.stop();
  });

  it('lists every service with its rate and errors, and opens a service from its row', async () => {
    const { page, errors } = await openPage(browser, tl, '/services?lookback=1h');
    await page.waitForSelector('[data-testid="services-table"]');
    const rows = await page.$$eval('[data-testid="services-table"] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
    );
    const names = rows.map((r) => r[0]).sort();
    assert.deepEqual(names, ['api', 'web', 'worker']);
    const api = rows.find((r) => r[0] === 'api')!;
    // 6 of 24 api server spans failed: 25%.
    assert.equal(api[2], '25%');
    assert.equal(rows.find((r) => r[0] === 'web')![2], '0%');
    assert.equal(await page.locator('.tl-sparkline').count(), 3);
    await screenshotBothThemes(page, 'services');
    await page.click('[data-testid="services-table"] a:text-is("api")');
    await page.waitForURL(/\/services\/api\?lookback=1h$/);
    await page.waitForSelector('[data-testid="operations-table"]');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows a service: RED charts, operations, and the traces of a clicked minute', async () => {
    const { page, errors } = await openPage(browser, tl, '/services/api?lookback=1h');
    await page.waitForSelector('[data-testid="operations-table"]');
    // Three uPlot charts, each with a drawn canvas.
    await page.waitForFunction('document.querySelectorAll(".tl-chart canvas").length === 3');
    const ops = await page.$$eval('[data-testid="operations-table"] tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-operation')),
    );
    assert.deepEqual(ops, ['POST /orders']);
    const errCell = await page.textContent('[data-testid="operations-table"] tbody tr td:nth-child(4)');
    assert.equal(errCell?.trim(), '25%');
    // Outgoing calls: the database query and the publish.
    await page.selectOption('[data-testid="span-kind"]', 'client');
    await page.waitForFunction(`document.querySelectorAll('[data-testid="operations-table"] tbody tr').length === 2`);
    const outgoing = await page.$$eval('[data-testid="operations-table"] tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-operation')).sort(),
    );
    assert.deepEqual(outgoing, ['INSERT orders', 'orders publish']);
    await page.selectOption('[data-testid="span-kind"]', '');
    await page.waitForFunction('document.querySelectorAll(".tl-chart canvas").length === 3');
    await screenshotBothThemes(page, 'service');
    // A click in the middle of the requests chart opens Search on that step of api.
    const box = await page.locator('.tl-chart').first().locator('.u-over').boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.mouse.click(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.waitForURL(/\/search\?/);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('service'), 'api');
    const start = Date.parse(url.searchParams.get('start') ?? '');
    const end = Date.parse(url.searchParams.get('end') ?? '');
    assert.ok(Number.isFinite(start) && end - start >= 60_000, `a step-long range: ${url.search}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('draws the service map with exactly the crafted edges, and a node opens its service', async () => {
    const { page, errors } = await openPage(browser, tl, '/map?lookback=1h');
    await page.waitForSelector('[data-testid="service-map"] svg');
    const edges = await page.$$eval('.tl-graph-edge', (gs) =>
      gs.map((g) => `${g.getAttribute('data-source')}->${g.getAttribute('data-target')}`).sort(),
    );
    assert.deepEqual(edges, ['api->postgresql', 'api->worker', 'user->web', 'web->api']);
    const nodes = await page.$$eval('.tl-graph-node', (gs) => gs.map((g) => g.getAttribute('data-node')).sort());
    assert.deepEqual(nodes, ['api', 'postgresql', 'user', 'web', 'worker']);
    await screenshotBothThemes(page, 'service-map');
    await page.click('.tl-graph-node[data-node="worker"]');
    await page.waitForURL(/\/services\/worker/);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
