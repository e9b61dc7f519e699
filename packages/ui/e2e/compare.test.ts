/**
 * The compare page in headless Chromium against a real Traceloom server
 * filled through OTLP/HTTP: two checkouts, one paying by card (with a fraud
 * check) and one by voucher (with a cache lookup), merge into one tree by
 * service and operation path; nodes found in one trace only are marked, and
 * each node shows the duration difference. Saves compare-{light,dark}.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  launchBrowser,
  openPage,
  type SentTrace,
  type SpanSpec,
  screenshotBothThemes,
  sendTraces,
  startTraceloom,
  type Traceloom,
} from './fixtures/traceloom.ts';

function checkout(method: 'card' | 'voucher', payMs: number): SpanSpec[] {
  const spans: SpanSpec[] = [
    { id: 'root', service: 'frontend', name: 'POST /checkout', kind: 'server', durationMs: payMs + 40 },
    { id: 'co', parent: 'root', service: 'checkout', name: 'PlaceOrder', offsetMs: 2, durationMs: payMs + 30 },
    { parent: 'co', service: 'inventory', name: 'ReserveStock', offsetMs: 4, durationMs: 10 },
    { id: 'pay', parent: 'co', service: 'payment', name: 'Charge', offsetMs: 16, durationMs: payMs },
  ];
  if (method === 'card') {
    spans.push({ parent: 'pay', service: 'fraud', name: 'Score', offsetMs: 18, durationMs: payMs - 10 });
  } else {
    spans.push({ parent: 'pay', service: 'redis', name: 'GET voucher', offsetMs: 18, durationMs: 2 });
  }
  return spans;
}

describe('compare page (Chromium, real server)', () => {
  let tl: Traceloom;
  let browser: Browser;
  let a: SentTrace;
  let b: SentTrace;

  before(async () => {
    tl = await startTraceloom();
    [a, b] = (await sendTraces(tl, [{ spans: checkout('card', 80) }, { spans: checkout('voucher', 20) }])) as [
      SentTrace,
      SentTrace,
    ];
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await tl?.stop();
  });

  it('merges both traces, marks spans present in only one and shows the duration differences', async () => {
    const { page, errors } = await openPage(browser, tl, `/compare/${a.traceId}/${b.traceId}`);
    await page.locator('[data-testid="compare-view"]').waitFor({ timeout: 20_000 });
    const rows = await page.locator('[data-testid="compare-row"]').evaluateAll((els) =>
      els.map((e) => ({
        service: e.getAttribute('data-service'),
        name: e.getAttribute('data-name'),
        presence: e.getAttribute('data-presence'),
        diffNs: Number(e.getAttribute('data-diff-ns')),
      })),
    );
    assert.deepEqual(
      rows.map((r) => `${r.service}:${r.name}:${r.presence}`),
      [
        'frontend:POST /checkout:both',
        'checkout:PlaceOrder:both',
        'inventory:ReserveStock:both',
        'payment:Charge:both',
        'fraud:Score:left',
        'redis:GET voucher:right',
      ],
    );
    const byName = new Map(rows.map((r) => [r.name, r]));
    // B - A: the voucher checkout is 60 ms faster at the root and in Charge, equal in ReserveStock.
    assert.equal(byName.get('POST /checkout')?.diffNs, -60_000_000);
    assert.equal(byName.get('Charge')?.diffNs, -60_000_000);
    assert.equal(byName.get('ReserveStock')?.diffNs, 0);
    assert.equal(byName.get('Score')?.diffNs, -70_000_000);
    assert.equal(byName.get('GET voucher')?.diffNs, 2_000_000);
    const summary = (await page.textContent('[data-testid="compare-summary"]')) ?? '';
    assert.match(summary, /6 operations by path: 4 in both, 1 only in A, 1 only in B/);
    assert.match((await page.locator('tr[data-name="Score"]').textContent()) ?? '', /only in A/);
    assert.match((await page.locator('tr[data-name="GET voucher"]').textContent()) ?? '', /only in B/);
    assert.match((await page.locator('tr[data-name="Charge"]').textContent()) ?? '', /−60ms \(-75%\)/);
    await screenshotBothThemes(page, 'compare');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the error of a trace that does not exist', async () => {
    const { page } = await openPage(browser, tl, `/compare/${a.traceId}/${'cd'.repeat(16)}`);
    const err = page.locator('[data-testid="trace-error"]');
    await err.waitFor();
    assert.match((await err.textContent()) ?? '', /TL_ERR_TRACE_NOT_FOUND/);
    await page.close();
  });
});
