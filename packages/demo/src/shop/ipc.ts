/** Messages between the supervisor and the shop services (Node's IPC channel, JSON). */
import type { Faults } from './faults.ts';

/** Supervisor to service. */
export type ToService =
  | { readonly t: 'faults'; readonly id: number; readonly faults: Faults }
  | { readonly t: 'control-result'; readonly id: number; readonly status: number; readonly body: unknown }
  | {
      readonly t: 'deliver';
      readonly queue: string;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
    };

/** Service to supervisor. */
export type FromService =
  | { readonly t: 'ready'; readonly port: number }
  | { readonly t: 'ack'; readonly id: number }
  | { readonly t: 'control'; readonly id: number; readonly method: string; readonly body: unknown }
  | {
      readonly t: 'publish';
      readonly queue: string;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
    };

/** What the supervisor passes to a service in its environment. */
export interface ServiceEnv {
  /** The service's name (`service.name`). */
  readonly SHOP_SERVICE: string;
  /** `service.version`. */
  readonly SHOP_VERSION: string;
  /** Port to listen on (0: any free one, reported back in `ready`). */
  readonly SHOP_PORT: string;
  /** JSON: base URL of every HTTP service. */
  readonly SHOP_URLS: string;
  /** JSON: the current {@link Faults}. */
  readonly SHOP_FAULTS: string;
  /** JSON: pg client config, or '' for the embedded substitute. */
  readonly SHOP_PG: string;
  /** Redis URL, or '' for the embedded substitute. */
  readonly SHOP_REDIS: string;
  /** Redis key prefix of this run. */
  readonly SHOP_REDIS_PREFIX: string;
  /** AMQP URL, or '' for the embedded queue (relayed by the supervisor). */
  readonly SHOP_AMQP: string;
  /** Prefix of this run's RabbitMQ queue names. */
  readonly SHOP_QUEUE_PREFIX: string;
}
