/**
 * The shop's run-time switches: faults to inject, the shoppers' rate and the
 * version each service reports. The gateway's `/admin/faults` reads and
 * changes them; the supervisor hands them to every service.
 */
import { DemoError, DemoErrorCode } from '../errors.ts';

/** The services of the shop, each its own process. */
export const SHOP_SERVICE_NAMES = [
  'frontend',
  'catalog',
  'cart',
  'checkout',
  'payment',
  'inventory',
  'shipping-worker',
] as const;
/** One of {@link SHOP_SERVICE_NAMES}. */
export type ShopServiceName = (typeof SHOP_SERVICE_NAMES)[number];

/** The switches, all of them; `/admin/faults` takes any subset. */
export interface Faults {
  /** Share of payment charges that fail (0 to 1): the payment service answers 502 and records the exception. */
  readonly paymentErrorRate: number;
  /** Extra milliseconds inventory spends on every request (a latency spike). */
  readonly inventoryLatencyMs: number;
  /** Milliseconds the catalog's product query sleeps in the database (`pg_sleep`): a slow query. */
  readonly catalogSlowQueryMs: number;
  /** The product list loads each product's reviews with its own query (N+1) instead of one join. */
  readonly catalogNPlusOne: boolean;
  /** Checkout calls payment without the trace context: the charge lands in a separate trace. */
  readonly brokenContext: boolean;
  /** Shopper requests per second sent by the traffic driver (0 pauses it). */
  readonly rate: number;
  /** `service.version` per service; changing one restarts that service with the new version (a deploy). */
  readonly versions: Readonly<Record<ShopServiceName, string>>;
}

/** The switches at start: a little failure and an occasional slow charge, so the first minute has both. */
export const DEFAULT_FAULTS: Faults = {
  paymentErrorRate: 0.15,
  inventoryLatencyMs: 0,
  catalogSlowQueryMs: 0,
  catalogNPlusOne: false,
  brokenContext: false,
  rate: 5,
  versions: {
    frontend: '1.0.0',
    catalog: '1.0.0',
    cart: '1.0.0',
    checkout: '1.0.0',
    payment: '1.0.0',
    inventory: '1.0.0',
    'shipping-worker': '1.0.0',
  },
};

const HINT =
  'POST a JSON object with any of paymentErrorRate (0-1), inventoryLatencyMs (0-60000), catalogSlowQueryMs (0-60000), ' +
  'catalogNPlusOne (bool), brokenContext (bool), rate (0-1000), versions ({"payment":"1.1.0"}); DELETE resets';

function bad(message: string): DemoError {
  return new DemoError(DemoErrorCode.BAD_FAULTS, message, HINT);
}

function num(v: unknown, key: string, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw bad(`${key} must be a number from 0 to ${max}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${key} must be true or false, not ${JSON.stringify(v)}`);
  return v;
}

/**
 * `current` with the changes of `patch` (the parsed JSON body of a POST)
 * applied. Throws a {@link DemoError} (`TL_ERR_DEMO_BAD_FAULTS`) naming the
 * first key that cannot be used; nothing is applied then.
 */
export function applyFaultPatch(current: Faults, patch: unknown): Faults {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw bad(`the body must be a JSON object, not ${Array.isArray(patch) ? 'an array' : JSON.stringify(patch)}`);
  }
  let next: Faults = current;
  for (const [key, v] of Object.entries(patch as Record<string, unknown>)) {
    switch (key) {
      case 'paymentErrorRate':
        next = { ...next, paymentErrorRate: num(v, key, 1) };
        break;
      case 'inventoryLatencyMs':
      case 'catalogSlowQueryMs':
        next = { ...next, [key]: num(v, key, 60_000) };
        break;
      case 'rate':
        next = { ...next, rate: num(v, key, 1000) };
        break;
      case 'catalogNPlusOne':
      case 'brokenContext':
        next = { ...next, [key]: bool(v, key) };
        break;
      case 'versions': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('versions must be an object');
        const versions: Record<string, string> = { ...next.versions };
        for (const [service, version] of Object.entries(v as Record<string, unknown>)) {
          if (!(SHOP_SERVICE_NAMES as readonly string[]).includes(service)) {
            throw bad(`versions: unknown service '${service}'; the services are ${SHOP_SERVICE_NAMES.join(', ')}`);
          }
          if (typeof version !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/.test(version)) {
            throw bad(`versions.${service} must be a version such as 1.2.0, not ${JSON.stringify(version)}`);
          }
          versions[service] = version;
        }
        next = { ...next, versions: versions as Faults['versions'] };
        break;
      }
      default:
        throw bad(`unknown key '${key}'`);
    }
  }
  return next;
}
