/** payment: authorizes a charge with a (simulated) card processor and records it. Fault: an error rate. */
import { DemoError, DemoErrorCode } from '../../errors.ts';
import { faults, inSpan, lognormal, sleep, sql, startService } from '../runtime.ts';

let charges = 0;

await startService({
  routes: [
    {
      method: 'POST',
      path: '/charges',
      status: 201,
      handler: async ({ body }) => {
        const b = (body ?? {}) as { orderId?: unknown; amountCents?: unknown };
        const amount = Number(b.amountCents);
        if (typeof b.orderId !== 'string' || !Number.isInteger(amount) || amount <= 0) {
          throw new DemoError(
            DemoErrorCode.BAD_REQUEST,
            'a charge needs an orderId and a positive integer amountCents',
            'send {"orderId": "o-1", "amountCents": 1200}',
            400,
          );
        }
        const failed = Math.random() < faults().paymentErrorRate;
        await inSpan(
          'authorize card',
          { 'app.order.id': b.orderId, 'app.payment.amount_cents': amount, 'app.payment.processor': 'acme-pay' },
          async (span) => {
            // Card processors answer in tens of milliseconds, now and then in over a second.
            await sleep(Math.random() < 0.05 ? 900 + Math.random() * 900 : lognormal(35, 0.5));
            if (failed) {
              span.setAttribute('app.payment.decline_code', 'processor_unavailable');
              throw new DemoError(
                DemoErrorCode.UPSTREAM,
                'card processor unavailable (injected: paymentErrorRate)',
                'lower paymentErrorRate with POST /admin/faults',
                502,
              );
            }
          },
        );
        await sql(
          'INSERT',
          'payments',
          'INSERT INTO payments (order_id, amount_cents, status) VALUES ($1, $2, $3)',
          [b.orderId, amount, 'captured'],
          () => [],
        );
        return { chargeId: `ch-${process.pid}-${++charges}`, orderId: b.orderId, amountCents: amount };
      },
    },
  ],
});
