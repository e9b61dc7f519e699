import {
  type TracerProvider as ApiTracerProvider,
  type Attributes,
  type ContextManager,
  context,
  diag,
  propagation,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import type { InstrumentationScope, Resource } from '@traceloom/model';
import { AsyncLocalStorageContextManager } from '../context/async-local-storage-context-manager.ts';
import { propagatorFromEnv } from '../propagation/from-env.ts';
import { buildResource } from '../resource/resource.ts';
import { AlwaysOnSampler } from '../sampling/basic.ts';
import { ParentBasedSampler } from '../sampling/parent-based.ts';
import type { Sampler } from '../sampling/types.ts';
import { NO_KEY_VALUES } from './attributes.ts';
import { type IdGenerator, RandomIdGenerator } from './id-generator.ts';
import { resolveSpanLimits, type SpanLimits } from './span-limits.ts';
import { Tracer, type TracerSharedState } from './tracer.ts';
import type { SpanProcessor } from './types.ts';

/** How a {@link TracerProvider} is set up. Every field is optional. */
export interface TracerProviderOptions {
  /** `service.name` of the resource. @default OTEL_SERVICE_NAME, else `unknown_service:<process>` */
  serviceName?: string;
  /** Resource attributes, over the detected ones and OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes?: Attributes;
  /** Decides which spans are recorded. @default parent-based, always on for roots */
  sampler?: Sampler;
  /** Receive every recorded span at start and end, in this order. @default [] */
  spanProcessors?: SpanProcessor[];
  /** What one span keeps. @default the OTEL_* limits, else 128 of each, string length unlimited */
  spanLimits?: SpanLimits;
  /** Makes trace and span ids. @default cryptographically random ids */
  idGenerator?: IdGenerator;
  /** Where OTEL_* variables are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** What {@link TracerProvider.register} installs besides the provider. */
export interface RegisterOptions {
  /**
   * The global context manager; `null` leaves the current one.
   * @default a new, enabled {@link AsyncLocalStorageContextManager}
   */
  contextManager?: ContextManager | null;
  /**
   * The global propagator; `null` leaves the current one.
   * @default the propagators OTEL_PROPAGATORS names, else W3C trace context and baggage
   */
  propagator?: TextMapPropagator | null;
}

/** `getTracer` options, as the OpenTelemetry API passes them. */
export interface GetTracerOptions {
  schemaUrl?: string;
}

/**
 * Traceloom's tracer provider: implements the OpenTelemetry API
 * `TracerProvider`, so code and instrumentations written for OpenTelemetry
 * run on it unchanged. The resource is built once here and every span
 * points at that one object.
 *
 * @example
 * const provider = new TracerProvider({ serviceName: 'checkout', spanProcessors: [processor] });
 * provider.register();
 * trace.getTracer('app').startActiveSpan('work', (span) => { ...; span.end(); });
 */
export class TracerProvider implements ApiTracerProvider {
  /** The resource every span of this provider carries. */
  readonly resource: Resource;
  readonly #state: TracerSharedState;
  readonly #tracers = new Map<string, Tracer>();
  #shutdown: Promise<void> | undefined;
  readonly #env: NodeJS.ProcessEnv;

  constructor(options: TracerProviderOptions = {}) {
    const env = options.env ?? process.env;
    this.#env = env;
    this.resource = buildResource({
      ...(options.serviceName === undefined ? {} : { serviceName: options.serviceName }),
      ...(options.resourceAttributes === undefined ? {} : { attributes: options.resourceAttributes }),
      env,
    });
    this.#state = {
      resource: this.resource,
      sampler: options.sampler ?? new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      defaultSampler: options.sampler === undefined,
      idGenerator: options.idGenerator ?? new RandomIdGenerator(),
      limits: resolveSpanLimits(options.spanLimits, env),
      processors: Object.freeze([...(options.spanProcessors ?? [])]),
      shutDown: false,
    };
    this.#shutdown = undefined;
  }

  /** The tracer of one instrumentation scope; the same object for the same name, version and schema URL. */
  getTracer(name: string, version?: string, options?: GetTracerOptions): Tracer {
    const schemaUrl = options?.schemaUrl ?? '';
    const key = `${name}\u0000${version ?? ''}\u0000${schemaUrl}`;
    let tracer = this.#tracers.get(key);
    if (tracer === undefined) {
      const scope: InstrumentationScope = Object.freeze({
        name: typeof name === 'string' ? name : '',
        version: version ?? '',
        attributes: NO_KEY_VALUES,
        droppedAttributesCount: 0,
        schemaUrl,
      });
      tracer = new Tracer(this.#state, scope);
      this.#tracers.set(key, tracer);
    }
    return tracer;
  }

  /** The span processors, in call order. */
  get spanProcessors(): readonly SpanProcessor[] {
    return this.#state.processors;
  }

  /**
   * Installs this provider as the global OpenTelemetry tracer provider, the
   * context manager (AsyncLocalStorage unless told otherwise) and the
   * propagator (from OTEL_PROPAGATORS unless told otherwise). Returns this provider.
   */
  register(options: RegisterOptions = {}): this {
    if (options.contextManager !== null) {
      const manager = options.contextManager ?? new AsyncLocalStorageContextManager();
      manager.enable();
      if (!context.setGlobalContextManager(manager)) {
        diag.warn('traceloom: a global context manager was already registered; it stays');
      }
    }
    if (options.propagator !== null) {
      if (!propagation.setGlobalPropagator(options.propagator ?? propagatorFromEnv(this.#env))) {
        diag.warn('traceloom: a global propagator was already registered; it stays');
      }
    }
    if (!trace.setGlobalTracerProvider(this)) {
      diag.warn('traceloom: a global tracer provider was already registered; it stays');
    }
    return this;
  }

  /** Exports whatever the processors hold; resolves when all have flushed (errors go to the diag logger). */
  async forceFlush(): Promise<void> {
    await Promise.all(
      this.#state.processors.map((p) =>
        Promise.resolve()
          .then(() => p.forceFlush())
          .catch((err: unknown) => diag.error('traceloom: a span processor failed to flush', err)),
      ),
    );
  }

  /**
   * Flushes and shuts down every processor. From then on tracers hand out
   * non-recording spans. Calling it again returns the same promise.
   */
  shutdown(): Promise<void> {
    if (this.#shutdown === undefined) {
      this.#state.shutDown = true;
      this.#shutdown = Promise.all(
        this.#state.processors.map((p) =>
          Promise.resolve()
            .then(() => p.shutdown())
            .catch((err: unknown) => diag.error('traceloom: a span processor failed to shut down', err)),
        ),
      ).then(() => undefined);
    }
    return this.#shutdown;
  }
}
