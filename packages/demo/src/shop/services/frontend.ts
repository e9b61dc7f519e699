/**
 * frontend: the shop's gateway, the only service shoppers talk to. It fans
 * out to the services behind it, and serves the control endpoint
 * `/admin/faults` (not traced), which the supervisor applies to every service.
 */
import { DemoError, DemoErrorCode } from '../../errors.ts';
import { call, control, startService } from '../runtime.ts';

interface Item {
  readonly productId: string;
  readonly quantity: number;
}

function shopper(user: string): string {
  return user === '' ? 'anonymous' : user;
}

await startService({
  routes: [
    {
      method: 'GET',
      path: '/api/products',
      handler: ({ user }) => call('catalog', 'GET', '/products?limit=12', undefined, shopper(user)),
    },
    {
      method: 'GET',
      path: '/api/products/:id',
      // A product page: product, stock and the cart badge, all at once.
      handler: async ({ params, user }) => {
        const id = encodeURIComponent(params.id ?? '');
        const u = shopper(user);
        const [product, stock, cart] = await Promise.all([
          call('catalog', 'GET', `/products/${id}`, undefined, u),
          call('inventory', 'GET', `/stock/${id}`, undefined, u),
          call<{ items: Item[] }>('cart', 'GET', `/cart/${u}`, undefined, u),
        ]);
        return { product, stock, cartItems: cart.items.length };
      },
    },
    {
      method: 'GET',
      path: '/api/cart',
      handler: async ({ user }) => {
        const u = shopper(user);
        const { items } = await call<{ items: Item[] }>('cart', 'GET', `/cart/${u}`, undefined, u);
        const products = await Promise.all(
          items.map((i) => call('catalog', 'GET', `/products/${encodeURIComponent(i.productId)}`, undefined, u)),
        );
        return { items, products };
      },
    },
    {
      method: 'POST',
      path: '/api/cart/items',
      status: 201,
      handler: ({ body, user }) => {
        const u = shopper(user);
        return call('cart', 'POST', `/cart/${u}/items`, body, u);
      },
    },
    {
      method: 'POST',
      path: '/api/checkout',
      status: 201,
      handler: ({ user }) => {
        const u = shopper(user);
        return call('checkout', 'POST', '/checkout', {}, u);
      },
    },
  ],
  fallback: async (req, res, text) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/admin/faults') return false;
    let body: unknown;
    try {
      body = text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    } catch (e) {
      const err = new DemoError(
        DemoErrorCode.BAD_FAULTS,
        `the body is not JSON: ${(e as Error).message}`,
        'POST a JSON object such as {"paymentErrorRate": 0.5}',
      );
      body = undefined;
      const out = JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint } });
      res.writeHead(400, { 'content-type': 'application/json', 'x-traceloom-error-code': err.code });
      res.end(out);
      return true;
    }
    const result = await control(req.method ?? 'GET', body);
    const out = JSON.stringify(result.body);
    const code = (result.body as { error?: { code?: string } } | undefined)?.error?.code;
    res.writeHead(result.status, {
      'content-type': 'application/json',
      ...(code === undefined ? {} : { 'x-traceloom-error-code': code }),
    });
    res.end(out);
    return true;
  },
});
