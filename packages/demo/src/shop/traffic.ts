/**
 * The traffic driver: shoppers browsing, filling carts and checking out
 * against the gateway, at a rate that can change while it runs. It is not
 * traced itself: the traces start at the gateway, as they would behind a
 * browser.
 */

/** A running driver. */
export interface Traffic {
  /** Requests sent, and how many got an answer of 500 or more (or none). */
  readonly stats: { sent: number; failed: number; skipped: number };
  stop(): void;
}

/** At most this many requests wait for an answer; beyond it arrivals are skipped (and counted). */
const MAX_IN_FLIGHT = 64;
const USERS = 50;

/**
 * Starts sending requests to `gateway` as Poisson arrivals at `rate()`
 * requests per second (read before every arrival, so changes apply at once).
 */
export function startTraffic(gateway: string, rate: () => number): Traffic {
  const stats = { sent: 0, failed: 0, skipped: 0 };
  const carts = new Map<string, number>();
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const request = async (user: string, method: string, path: string, body?: unknown): Promise<number> => {
    stats.sent++;
    try {
      const res = await fetch(`${gateway}${path}`, {
        method,
        headers: { 'x-shop-user': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
      if (res.status >= 500) stats.failed++;
      return res.status;
    } catch {
      stats.failed++;
      return 0;
    }
  };

  const product = () => `p-${String(1 + Math.floor(Math.random() * 40)).padStart(3, '0')}`;

  const visit = async () => {
    const user = `u-${1 + Math.floor(Math.random() * USERS)}`;
    const r = Math.random();
    const inCart = carts.get(user) ?? 0;
    // 25% product lists, 30% product pages, 20% add to cart, 8% view cart, 17% checkout
    // (an add to cart instead when the cart is empty).
    if (r < 0.25) await request(user, 'GET', '/api/products');
    else if (r < 0.55) await request(user, 'GET', `/api/products/${product()}`);
    else if (r < 0.75 || (r >= 0.83 && inCart === 0)) {
      const status = await request(user, 'POST', '/api/cart/items', {
        productId: product(),
        quantity: 1 + Math.floor(Math.random() * 3),
      });
      if (status === 201) carts.set(user, inCart + 1);
    } else if (r < 0.83) await request(user, 'GET', '/api/cart');
    else {
      const status = await request(user, 'POST', '/api/checkout');
      if (status === 201 || status === 409) carts.delete(user);
    }
  };

  const schedule = () => {
    if (stopped) return;
    const perSecond = rate();
    if (perSecond <= 0) {
      timer = setTimeout(schedule, 250);
      return;
    }
    timer = setTimeout(
      () => {
        if (inFlight >= MAX_IN_FLIGHT) stats.skipped++;
        else {
          inFlight++;
          void visit().finally(() => inFlight--);
        }
        schedule();
      },
      (-Math.log(1 - Math.random()) / perSecond) * 1000,
    );
  };
  schedule();
  return {
    stats,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
