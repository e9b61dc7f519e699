import { diag } from '@opentelemetry/api';
import { BatchSpanProcessor } from './export/batch-span-processor.ts';
import { OtlpHttpExporter } from './export/otlp-http-exporter.ts';
import { enableHttpInstrumentation, type HttpInstrumentationHandle } from './instrumentation/http.ts';
import { samplerFromEnv } from './sampling/env.ts';
import { TracerProvider, type TracerProviderOptions } from './trace/tracer-provider.ts';

/** Options of {@link startTracing}; everything not given comes from the `OTEL_*` variables. */
export interface StartTracingOptions extends TracerProviderOptions {
  /**
   * Trace incoming and outgoing `node:http`/`https` and `fetch`.
   * @default true
   */
  instrumentHttp?: boolean;
}

/** What {@link startTracing} set up. */
export interface StartedTracing {
  readonly provider: TracerProvider;
  /** Exports what is queued and stops tracing. */
  shutdown(): Promise<void>;
}

/**
 * Sets up tracing the way the `OTEL_*` variables describe and registers it
 * globally: a {@link TracerProvider} with the sampler of `OTEL_TRACES_SAMPLER`,
 * a batch processor exporting OTLP/HTTP protobuf to
 * `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` (default `http://localhost:4318`),
 * the propagators of `OTEL_PROPAGATORS`, and HTTP/fetch instrumentation.
 * `OTEL_SDK_DISABLED=true` turns it into a no-op. Queued spans are flushed
 * when the process runs out of work (`beforeExit`); a process that ends on a
 * signal or `process.exit()` should call `shutdown()` first. No signal
 * handler is installed: one would change how the application exits.
 *
 * @example
 * import { startTracing } from '@traceloom/sdk';
 * const tracing = startTracing({ serviceName: 'checkout' });
 */
export function startTracing(options: StartTracingOptions = {}): StartedTracing | undefined {
  const env = options.env ?? process.env;
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') {
    diag.info('traceloom: OTEL_SDK_DISABLED=true, tracing is off');
    return undefined;
  }
  const processor = new BatchSpanProcessor(new OtlpHttpExporter({ env }), { env });
  const provider = new TracerProvider({
    ...options,
    sampler: options.sampler ?? samplerFromEnv(env),
    spanProcessors: [...(options.spanProcessors ?? []), processor],
  }).register();
  let http: HttpInstrumentationHandle | undefined;
  if (options.instrumentHttp !== false) http = enableHttpInstrumentation();
  let done: Promise<void> | undefined;
  const shutdown = () => {
    done ??= (async () => {
      http?.disable();
      await provider.shutdown();
    })();
    return done;
  };
  return { provider, shutdown };
}
