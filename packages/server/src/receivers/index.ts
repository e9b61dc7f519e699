/**
 * Starts the span receivers (OTLP/HTTP, OTLP/gRPC, Zipkin, Jaeger Thrift HTTP)
 * in front of one {@link SpanSink}.
 */

import { HttpServer, textErrorWriter } from './http-server.ts';
import { ReceiverStats } from './ingest.ts';
import { mountJaeger } from './jaeger.ts';
import { type Logger, silentLogger } from './logger.ts';
import { startOtlpGrpc } from './otlp-grpc.ts';
import { mountOtlpHttp, otlpErrorWriter } from './otlp-http.ts';
import type { SpanSink } from './sink.ts';
import { mountZipkin } from './zipkin.ts';

/** Where one receiver listens. */
export interface ReceiverEndpoint {
  /** @default the `host` option */
  host?: string;
  /** 0 picks a free port (tests). @default the protocol's usual port */
  port?: number;
}

/** Which receiver. */
export type ReceiverName = 'otlpHttp' | 'otlpGrpc' | 'zipkin' | 'jaeger';

/** The ecosystem's default ports. */
export const DEFAULT_RECEIVER_PORTS: Readonly<Record<ReceiverName, number>> = Object.freeze({
  otlpHttp: 4318,
  otlpGrpc: 4317,
  zipkin: 9411,
  jaeger: 14268,
});

/**
 * The default bind address. `localhost`, not `0.0.0.0`: like the OpenTelemetry
 * Collector since v0.104, a fresh install must not accept data from the
 * network until someone asks for it (`--host 0.0.0.0`).
 */
export const DEFAULT_RECEIVER_HOST = 'localhost';

/** Options of {@link startReceivers}. Each receiver is on unless set to `false`. */
export interface ReceiversOptions {
  /** OTLP/HTTP, `POST /v1/traces`. @default { port: 4318 } */
  otlpHttp?: ReceiverEndpoint | false;
  /** OTLP/gRPC, `TraceService/Export`. @default { port: 4317 } */
  otlpGrpc?: ReceiverEndpoint | false;
  /** Zipkin v2, `POST /api/v2/spans`. @default { port: 9411 } */
  zipkin?: ReceiverEndpoint | false;
  /** Jaeger Thrift over HTTP, `POST /api/traces`. @default { port: 14268 } */
  jaeger?: ReceiverEndpoint | false;
  /** Bind address of every receiver without its own `host`. @default 'localhost' */
  host?: string;
  /** Cap on one request body / gRPC message after decompression. @default 64 MiB */
  maxBodyBytes?: number;
  /** Origins browsers may post from (OTLP/HTTP and Zipkin); `[]` turns CORS off. @default ['*'] */
  corsAllowedOrigins?: readonly string[];
  /** Extra request headers browsers may send, besides the usual ones. @default [] */
  corsAllowedHeaders?: readonly string[];
  /** Time for a whole HTTP request to arrive. @default 30000 */
  requestTimeoutMs?: number;
  /** Time `close()` lets in-flight requests finish. @default 5000 */
  closeGraceMs?: number;
  /** @default silent */
  logger?: Logger;
  /** Counters to update. @default a new one, returned as `stats` */
  stats?: ReceiverStats;
}

/** What {@link startReceivers} started. */
export interface RunningReceivers {
  /** The ports actually bound, for the receivers that are on. */
  readonly ports: Readonly<Partial<Record<ReceiverName, number>>>;
  /**
   * The HTTP servers, to add more routes on the same port (the Zipkin query
   * API beside `POST /api/v2/spans`). Receivers sharing a port share a server.
   */
  readonly http: Readonly<Partial<Record<Exclude<ReceiverName, 'otlpGrpc'>, HttpServer>>>;
  readonly stats: ReceiverStats;
  /** Stops every receiver (in-flight requests get `closeGraceMs` to finish). */
  close(): Promise<void>;
}

interface HttpSpec {
  readonly name: Exclude<ReceiverName, 'otlpGrpc'>;
  readonly label: string;
  readonly flag: string;
  readonly env: string;
}

const HTTP_SPECS: readonly HttpSpec[] = [
  { name: 'otlpHttp', label: 'OTLP/HTTP', flag: '--otlp-http-port', env: 'TRACELOOM_OTLP_HTTP_PORT' },
  { name: 'zipkin', label: 'Zipkin', flag: '--zipkin-port', env: 'TRACELOOM_ZIPKIN_PORT' },
  { name: 'jaeger', label: 'Jaeger', flag: '--jaeger-port', env: 'TRACELOOM_JAEGER_PORT' },
];

/**
 * Starts the receivers that are on and resolves once all of them listen.
 * If one cannot listen (port in use), the others are closed again and the
 * promise rejects with a `StartupError` naming the port and the flag.
 *
 * @example
 * const receivers = await startReceivers(sink, { otlpGrpc: false, zipkin: { port: 0 } });
 * console.log(receivers.ports.otlpHttp, receivers.ports.zipkin);
 * await receivers.close();
 */
export async function startReceivers(sink: SpanSink, options: ReceiversOptions = {}): Promise<RunningReceivers> {
  const logger = options.logger ?? silentLogger;
  const stats = options.stats ?? new ReceiverStats();
  const defaultHost = options.host ?? DEFAULT_RECEIVER_HOST;
  const cors = { allowedOrigins: options.corsAllowedOrigins ?? ['*'], allowedHeaders: options.corsAllowedHeaders };
  const closers: (() => Promise<void>)[] = [];
  const ports: Partial<Record<ReceiverName, number>> = {};
  const http: Partial<Record<Exclude<ReceiverName, 'otlpGrpc'>, HttpServer>> = {};
  const closeAll = async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  };

  try {
    // Receivers configured on the same host and (non-zero) port share one server.
    const shared = new Map<string, { server: HttpServer; port: number }>();
    for (const spec of HTTP_SPECS) {
      const opt = options[spec.name];
      if (opt === false) continue;
      const host = opt?.host ?? defaultHost;
      const port = opt?.port ?? DEFAULT_RECEIVER_PORTS[spec.name];
      const key = `${host}:${port}`;
      let entry = port === 0 ? undefined : shared.get(key);
      if (entry === undefined) {
        const server = new HttpServer({
          name: spec.label,
          portFlag: spec.flag,
          portEnv: spec.env,
          maxBodyBytes: options.maxBodyBytes,
          requestTimeoutMs: options.requestTimeoutMs,
          closeGraceMs: options.closeGraceMs,
          cors: spec.name === 'jaeger' ? false : cors,
          errorWriter: spec.name === 'otlpHttp' ? otlpErrorWriter : textErrorWriter,
          logger,
          stats,
        });
        const bound = await server.listen(host, port);
        closers.push(() => server.close());
        entry = { server, port: bound };
        if (port !== 0) shared.set(key, entry);
        logger.debug(`${spec.label} listening on ${host}:${bound}`);
      }
      if (spec.name === 'otlpHttp') mountOtlpHttp(entry.server, sink, { stats });
      else if (spec.name === 'zipkin') mountZipkin(entry.server, sink, { stats, logger });
      else mountJaeger(entry.server, sink, { stats, logger });
      ports[spec.name] = entry.port;
      http[spec.name] = entry.server;
    }
    if (options.otlpGrpc !== false) {
      const grpc = await startOtlpGrpc(sink, {
        host: options.otlpGrpc?.host ?? defaultHost,
        port: options.otlpGrpc?.port ?? DEFAULT_RECEIVER_PORTS.otlpGrpc,
        maxBodyBytes: options.maxBodyBytes,
        closeGraceMs: options.closeGraceMs,
        portFlag: '--otlp-grpc-port',
        portEnv: 'TRACELOOM_OTLP_GRPC_PORT',
        stats,
        logger,
      });
      closers.push(() => grpc.close());
      ports.otlpGrpc = grpc.port;
      logger.debug(`OTLP/gRPC listening on port ${grpc.port}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  return { ports, http, stats, close: closeAll };
}
