/** cart: each shopper's cart as a Redis hash (or the embedded map); adding an item checks it with catalog. */
import { DemoError, DemoErrorCode } from '../../errors.ts';
import { call, kv, startService } from '../runtime.ts';

/** Carts expire after a day without changes, as sessions do. */
const CART_TTL_SECONDS = 86_400;

function items(hash: Record<string, string>): { productId: string; quantity: number }[] {
  return Object.entries(hash).map(([productId, q]) => ({ productId, quantity: Number(q) }));
}

await startService({
  routes: [
    {
      method: 'GET',
      path: '/cart/:user',
      handler: async ({ params }) => ({ items: items(await kv.hgetall(`cart:${params.user}`)) }),
    },
    {
      method: 'POST',
      path: '/cart/:user/items',
      status: 201,
      handler: async ({ params, body, user }) => {
        const b = (body ?? {}) as { productId?: unknown; quantity?: unknown };
        const quantity = Number(b.quantity ?? 1);
        if (typeof b.productId !== 'string' || !Number.isInteger(quantity) || quantity < 1 || quantity > 10) {
          throw new DemoError(
            DemoErrorCode.BAD_REQUEST,
            'an item needs a productId and a quantity from 1 to 10',
            'send {"productId": "p-001", "quantity": 1}',
            400,
          );
        }
        // One after another: the product must exist before it goes into the cart.
        await call('catalog', 'GET', `/products/${encodeURIComponent(b.productId)}`, undefined, user);
        const key = `cart:${params.user}`;
        const n = await kv.hincrby(key, b.productId, quantity);
        await kv.expire(key, CART_TTL_SECONDS);
        return { productId: b.productId, quantity: n };
      },
    },
    {
      method: 'DELETE',
      path: '/cart/:user',
      handler: async ({ params }) => {
        await kv.del(`cart:${params.user}`);
        return { emptied: true };
      },
    },
  ],
});
