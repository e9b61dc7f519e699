/** catalog: products and their reviews, in PostgreSQL (or the embedded tables). Faults: slow query, N+1. */
import { DemoError, DemoErrorCode } from '../../errors.ts';
import { PRODUCTS, reviewsOf } from '../catalog-data.ts';
import { faults, type Row, sleep, sql, startService } from '../runtime.ts';

const productRow = (p: (typeof PRODUCTS)[number]): Row => ({
  id: p.id,
  name: p.name,
  category: p.category,
  price_cents: p.priceCents,
});

function average(ratings: readonly number[]): number {
  return ratings.length === 0 ? 0 : Math.round((ratings.reduce((a, b) => a + b, 0) / ratings.length) * 10) / 10;
}

await startService({
  routes: [
    {
      method: 'GET',
      path: '/products',
      handler: async ({ query }) => {
        const limit = Math.min(40, Math.max(1, Number(query.get('limit') ?? 12) || 12));
        if (!faults().catalogNPlusOne) {
          const rows = await sql(
            'SELECT',
            'products',
            'SELECT p.id, p.name, p.price_cents, avg(r.rating)::float AS rating FROM products p ' +
              'LEFT JOIN reviews r ON r.product_id = p.id GROUP BY p.id ORDER BY p.id LIMIT $1',
            [limit],
            () =>
              PRODUCTS.slice(0, limit).map((p) => ({
                ...productRow(p),
                rating: average(reviewsOf(p.id).map((r) => r.rating)),
              })),
          );
          return { products: rows };
        }
        // The N+1 pattern: one query for the list, then one per product.
        const rows = await sql(
          'SELECT',
          'products',
          'SELECT id, name, price_cents FROM products ORDER BY id LIMIT $1',
          [limit],
          () => PRODUCTS.slice(0, limit).map(productRow),
        );
        const out: Row[] = [];
        for (const row of rows) {
          const reviews = await sql(
            'SELECT',
            'reviews',
            'SELECT rating FROM reviews WHERE product_id = $1',
            [row.id],
            () => reviewsOf(String(row.id)),
          );
          out.push({ ...row, rating: average(reviews.map((r) => Number(r.rating))) });
        }
        return { products: out };
      },
    },
    {
      method: 'GET',
      path: '/products/:id',
      handler: async ({ params }) => {
        const slowMs = faults().catalogSlowQueryMs;
        const id = params.id ?? '';
        const rows =
          slowMs > 0
            ? await sql(
                'SELECT',
                'products',
                'SELECT id, name, category, price_cents FROM products, pg_sleep($2) WHERE id = $1',
                [id, slowMs / 1000],
                () => PRODUCTS.filter((p) => p.id === id).map(productRow),
              )
            : await sql(
                'SELECT',
                'products',
                'SELECT id, name, category, price_cents FROM products WHERE id = $1',
                [id],
                () => PRODUCTS.filter((p) => p.id === id).map(productRow),
              );
        // The embedded tables cannot sleep inside a query: the delay goes on the request.
        if (slowMs > 0 && !process.env.SHOP_PG) await sleep(slowMs);
        const row = rows[0];
        if (row === undefined) {
          throw new DemoError(DemoErrorCode.BAD_REQUEST, `no product ${id}`, 'product ids are p-001 to p-040', 404);
        }
        return row;
      },
    },
  ],
});
