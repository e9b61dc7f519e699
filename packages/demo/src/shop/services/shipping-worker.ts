/** shipping-worker: takes orders off the queue, books a shipment and sends the confirmation e-mail. */
import { trace } from '@opentelemetry/api';
import { consume, inSpan, lognormal, sleep, sql, startService } from '../runtime.ts';

const CARRIERS = ['dhl', 'ups', 'postnl', 'royal-mail'];

await startService({
  routes: [],
  init: () =>
    consume('orders', async (message) => {
      const order = message as { orderId: string; user: string; totalCents: number };
      trace.getActiveSpan()?.setAttribute('app.order.id', order.orderId);
      const carrier = CARRIERS[order.orderId.length % CARRIERS.length] as string;
      await inSpan('choose carrier', { 'app.order.id': order.orderId, 'app.carrier': carrier }, () =>
        sleep(lognormal(3, 0.4)),
      );
      await sql(
        'INSERT',
        'shipments',
        'INSERT INTO shipments (order_id, carrier, tracking) VALUES ($1, $2, $3)',
        [order.orderId, carrier, `${carrier.toUpperCase()}${Date.now()}`],
        () => [],
      );
      await inSpan(
        'send confirmation email',
        { 'app.order.id': order.orderId, 'app.email.template': 'order-confirmation' },
        () => sleep(lognormal(20, 0.5)),
      );
    }),
});
