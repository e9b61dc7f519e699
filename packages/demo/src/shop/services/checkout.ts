/**
 * checkout: reads the cart, prices and reserves every item in parallel,
 * charges the card, stores the order and hands it to the shipping worker
 * through the queue. Fault: the call to payment can lose the trace context.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { DemoError, DemoErrorCode } from '../../errors.ts';
import { call, faults, inSpan, publish, sql, startService } from '../runtime.ts';

let orders = 0;

interface CartItem {
  readonly productId: string;
  readonly quantity: number;
}

await startService({
  routes: [
    {
      method: 'POST',
      path: '/checkout',
      status: 201,
      handler: async ({ user }) => {
        const { items } = await call<{ items: CartItem[] }>('cart', 'GET', `/cart/${user}`, undefined, user);
        if (items.length === 0) {
          throw new DemoError(DemoErrorCode.BAD_REQUEST, 'the cart is empty', 'add an item first', 409);
        }
        const orderId = `o-${process.pid}-${++orders}`;
        // Fan out: every item priced by catalog and reserved by inventory at once.
        const priced = await inSpan(
          'price and reserve items',
          { 'app.order.id': orderId, 'app.order.items': items.length },
          () =>
            Promise.all(
              items.map(async (item) => {
                const [product] = await Promise.all([
                  call<{ price_cents: number }>('catalog', 'GET', `/products/${item.productId}`, undefined, user),
                  call('inventory', 'POST', `/stock/${item.productId}/reserve`, { quantity: item.quantity }, user),
                ]);
                return product.price_cents * item.quantity;
              }),
            ),
        );
        const total = priced.reduce((a, b) => a + b, 0);
        const charge = () => call('payment', 'POST', '/charges', { orderId, amountCents: total }, user);
        // The injected bug: the charge runs outside the request's context (as work handed
        // to a pool that does not carry it would), so payment starts a trace of its own.
        await (faults().brokenContext ? context.with(ROOT_CONTEXT, charge) : charge());
        await sql(
          'INSERT',
          'orders',
          'INSERT INTO orders (id, user_id, total_cents, items) VALUES ($1, $2, $3, $4)',
          [orderId, user, total, items.length],
          () => [],
        );
        await publish('orders', { orderId, user, totalCents: total, items });
        await call('cart', 'DELETE', `/cart/${user}`, undefined, user);
        return { orderId, totalCents: total };
      },
    },
  ],
});
