/** inventory: stock per product, in PostgreSQL (or the embedded tables). Fault: a latency spike. */
import { DemoError, DemoErrorCode } from '../../errors.ts';
import { INITIAL_STOCK, PRODUCTS } from '../catalog-data.ts';
import { faults, inSpan, sleep, sql, startService } from '../runtime.ts';

const stock = new Map(PRODUCTS.map((p) => [p.id, INITIAL_STOCK]));

/**
 * Waiting for the stock lock: now and then (2% of requests) a contended wait
 * of 0.6 to 1.5 s, as shops see at busy moments; with the injected spike,
 * every request waits `inventoryLatencyMs` on top.
 */
async function spike(): Promise<void> {
  const injected = faults().inventoryLatencyMs;
  const contended = Math.random() < 0.02 ? 600 + Math.random() * 900 : 0;
  if (injected + contended > 0) {
    await inSpan('acquire stock lock', { 'app.injected_latency_ms': injected }, () => sleep(injected + contended));
  }
}

await startService({
  routes: [
    {
      method: 'GET',
      path: '/stock/:sku',
      handler: async ({ params }) => {
        await spike();
        const sku = params.sku ?? '';
        const rows = await sql('SELECT', 'stock', 'SELECT quantity FROM stock WHERE sku = $1', [sku], () =>
          stock.has(sku) ? [{ quantity: stock.get(sku) }] : [],
        );
        return { sku, quantity: Number(rows[0]?.quantity ?? 0) };
      },
    },
    {
      method: 'POST',
      path: '/stock/:sku/reserve',
      handler: async ({ params, body }) => {
        await spike();
        const sku = params.sku ?? '';
        const quantity = Number((body as { quantity?: unknown } | undefined)?.quantity);
        if (!Number.isInteger(quantity) || quantity < 1 || quantity > 100) {
          throw new DemoError(DemoErrorCode.BAD_REQUEST, 'quantity must be 1 to 100', 'send {"quantity": 2}', 400);
        }
        const rows = await inSpan('reserve stock', { 'app.sku': sku, 'app.quantity': quantity }, () =>
          sql(
            'UPDATE',
            'stock',
            // Demo stock never runs out: it is topped up when it would.
            'UPDATE stock SET quantity = CASE WHEN quantity >= $2 THEN quantity - $2 ELSE $3 END WHERE sku = $1 RETURNING quantity',
            [sku, quantity, INITIAL_STOCK],
            () => {
              const q = stock.get(sku);
              if (q === undefined) return [];
              stock.set(sku, q >= quantity ? q - quantity : INITIAL_STOCK);
              return [{ quantity: stock.get(sku) }];
            },
          ),
        );
        if (rows.length === 0) {
          throw new DemoError(DemoErrorCode.BAD_REQUEST, `no stock for ${sku}`, 'skus are p-001 to p-040', 404);
        }
        return { sku, reserved: quantity, left: Number(rows[0]?.quantity) };
      },
    },
  ],
});
