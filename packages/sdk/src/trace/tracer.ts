import {
  type Span as ApiSpan,
  type Tracer as ApiTracer,
  type Attributes,
  type AttributeValue,
  type Context,
  context as contextApi,
  diag,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  TraceFlags,
  type TraceState,
  trace,
} from '@opentelemetry/api';
import { hexToIdWord, type InstrumentationScope, type Resource, TraceIdWords } from '@traceloom/model';
import { isTracingSuppressed } from '../context/suppress.ts';
import type { Sampler } from '../sampling/types.ts';
import { SamplingDecision } from '../sampling/types.ts';
import { flatToAttributes } from './attributes.ts';
import { nowUnixNano, timeInputToUnixNano } from './clock.ts';
import { drawIdWords, ID_WORDS, type IdGenerator, RandomIdGenerator } from './id-generator.ts';
import { FLAG_HAS_IS_REMOTE, FLAG_IS_REMOTE, NonRecordingSpan, RecordingSpan, type SpanOwner } from './span.ts';
import type { ResolvedSpanLimits } from './span-limits.ts';
import type { SpanProcessor } from './types.ts';

/** What the provider shares with its tracers; `processors` and `shutDown` may change after set-up. */
export interface TracerSharedState {
  readonly resource: Resource;
  readonly sampler: Sampler;
  /**
   * True when `sampler` is the default parent-based always-on sampler: the
   * tracer then decides inline from the parent's sampled flag, skipping a
   * context lookup and the API's regex validation of the parent ids.
   */
  readonly defaultSampler: boolean;
  readonly idGenerator: IdGenerator;
  readonly limits: ResolvedSpanLimits;
  processors: readonly SpanProcessor[];
  shutDown: boolean;
}

const NO_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];

/** Handed out where no span may be recorded at all (tracing suppressed, provider shut down). */
const INVALID_SPAN: ApiSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * An OpenTelemetry API tracer for one instrumentation scope. Made by
 * {@link TracerProvider.getTracer}; every span it starts points at the same
 * `resource` and `scope` objects.
 */
export class Tracer implements ApiTracer, SpanOwner {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly limits: ResolvedSpanLimits;
  readonly #state: TracerSharedState;
  readonly #sampler: Sampler;
  readonly #ids: IdGenerator;
  /** The generator is the default one: ids are drawn as words, with no hex made. */
  readonly #wordIds: boolean;
  readonly #inlineSampling: boolean;

  /** Used by the provider. */
  constructor(state: TracerSharedState, scope: InstrumentationScope) {
    this.resource = state.resource;
    this.scope = scope;
    this.limits = state.limits;
    this.#state = state;
    this.#sampler = state.sampler;
    this.#ids = state.idGenerator;
    // Only the default class itself: a subclass may override how ids are made.
    this.#wordIds = Object.getPrototypeOf(state.idGenerator) === RandomIdGenerator.prototype;
    this.#inlineSampling = state.defaultSampler;
  }

  startSpan(name: string, options?: SpanOptions, context?: Context): ApiSpan {
    return this.#start(
      name,
      options?.kind ?? SpanKind.INTERNAL,
      options?.attributes,
      undefined,
      options?.links,
      options?.startTime,
      options?.root === true,
      context ?? contextApi.active(),
    );
  }

  /**
   * `startSpan(name, { kind, attributes }, context)` for Traceloom's own
   * instrumentations, with the attributes as a flat `[key, value, ...]` list
   * instead of an object: each pair is set on the span in order before the
   * processors see it, exactly as `startSpan` would set the object's, without
   * building and walking an object per span. A sampler other than the default
   * still receives them as an `Attributes` object. The list is not kept.
   */
  startSpanFlat(name: string, kind: SpanKind, flatAttributes: readonly unknown[], context: Context): ApiSpan {
    return this.#start(name, kind, undefined, flatAttributes, undefined, undefined, false, context);
  }

  #start(
    name: string,
    apiKind: SpanKind,
    attributes: Attributes | undefined,
    flat: readonly unknown[] | undefined,
    links: Link[] | undefined,
    startTime: SpanOptions['startTime'],
    root: boolean,
    context: Context,
  ): ApiSpan {
    let ctx = context;
    const state = this.#state;
    if (state.shutDown || isTracingSuppressed(ctx)) return INVALID_SPAN;
    let parentTrace: TraceIdWords | undefined;
    let parent0 = 0;
    let parent1 = 0;
    let parentHex: string | undefined;
    let parentTraceState: TraceState | undefined;
    let parentFlags = 0;
    let remoteBit = 0;
    if (root) {
      ctx = trace.deleteSpan(ctx);
    } else {
      const parent = trace.getSpan(ctx);
      if (parent instanceof RecordingSpan) {
        // Our own spans are valid by construction: skip the API's regex checks and the context object.
        parentTrace = parent.traceIdWords;
        parent0 = parent.spanIdWord0;
        parent1 = parent.spanIdWord1;
        parentTraceState = parent.apiTraceState();
        parentFlags = parent.flags;
      } else if (parent !== undefined) {
        const pc: SpanContext = parent.spanContext();
        if (isSpanContextValid(pc)) {
          parentTrace = TraceIdWords.fromHex(pc.traceId);
          parentHex = pc.spanId;
          parent0 = hexToIdWord(parentHex, 0);
          parent1 = hexToIdWord(parentHex, 8);
          parentTraceState = pc.traceState;
          parentFlags = pc.traceFlags;
          if (pc.isRemote === true) remoteBit = FLAG_IS_REMOTE;
        }
      }
    }
    let traceWords = parentTrace;
    // A sampler reads the trace id as hex: a new one is then drawn as hex (a
    // slice of the id pool's hex), and read into words only if the span records.
    let traceHex = '';
    let decision: SamplingDecision;
    let traceState = parentTraceState;
    let samplerAttributes: Attributes | undefined;
    if (this.#inlineSampling) {
      // ParentBased(root: AlwaysOn): roots and children of sampled parents are sampled.
      decision =
        parentTrace === undefined || (parentFlags & TraceFlags.SAMPLED) !== 0
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD;
    } else {
      traceHex = traceWords === undefined ? this.#ids.generateTraceId() : traceWords.hex;
      const result = this.#sampler.shouldSample(
        ctx,
        traceHex,
        name,
        apiKind,
        attributes ?? (flat === undefined ? NO_ATTRIBUTES : flatToAttributes(flat)),
        links ?? NO_LINKS,
      );
      decision = result.decision;
      if (result.traceState !== undefined) traceState = result.traceState;
      samplerAttributes = result.attributes;
    }
    if (decision !== SamplingDecision.RECORD && decision !== SamplingDecision.RECORD_AND_SAMPLED) {
      // Not recorded: a parent's trace (words) or the sampler's (hex); a root under inline sampling always records.
      return new NonRecordingSpan(this, traceWords ?? traceHex, traceState);
    }
    traceWords ??= traceHex === '' ? this.#newTrace() : TraceIdWords.fromHex(traceHex);
    let span0: number;
    let span1: number;
    if (this.#wordIds) {
      const at = drawIdWords(2);
      span0 = ID_WORDS[at] as number;
      span1 = ID_WORDS[at + 1] as number;
    } else {
      const hex = this.#ids.generateSpanId();
      span0 = hexToIdWord(hex, 0);
      span1 = hexToIdWord(hex, 8);
    }
    const span = new RecordingSpan(
      this,
      typeof name === 'string' ? name : String(name),
      apiKind >= 0 && apiKind <= 4 ? apiKind + 1 : 1,
      traceWords,
      span0,
      span1,
      parent0,
      parent1,
      parentHex,
      traceState,
      (decision === SamplingDecision.RECORD_AND_SAMPLED ? 1 : 0) | FLAG_HAS_IS_REMOTE | remoteBit,
      (startTime === undefined ? undefined : timeInputToUnixNano(startTime)) ?? nowUnixNano(),
    );
    if (attributes !== undefined) span.setAttributes(attributes);
    if (flat !== undefined) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const value = flat[i + 1];
        // As setAttributes does for an object's members: an absent value sets nothing.
        if (value !== undefined && value !== null) span.setAttribute(flat[i] as string, value as AttributeValue);
      }
    }
    if (samplerAttributes !== undefined) span.setAttributes(samplerAttributes);
    if (links !== undefined) span.addLinks(links);
    const processors = state.processors;
    for (let i = 0; i < processors.length; i++) {
      try {
        (processors[i] as SpanProcessor).onStart(span, ctx);
      } catch (err) {
        diag.error('traceloom: a span processor threw in onStart', err);
      }
    }
    return span;
  }

  startActiveSpan<F extends (span: ApiSpan) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: ApiSpan) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: ApiSpan) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: ApiSpan) => unknown>(
    name: string,
    a2?: SpanOptions | F,
    a3?: Context | F,
    a4?: F,
  ): ReturnType<F> | undefined {
    let options: SpanOptions | undefined;
    let parent: Context | undefined;
    let fn: F | undefined;
    if (typeof a2 === 'function') {
      fn = a2;
    } else if (typeof a3 === 'function') {
      options = a2;
      fn = a3;
    } else {
      options = a2;
      parent = a3;
      fn = a4;
    }
    if (typeof fn !== 'function') return undefined;
    const ctx = parent ?? contextApi.active();
    const span = this.startSpan(name, options, ctx);
    return contextApi.with(trace.setSpan(ctx, span), fn as (s: ApiSpan) => ReturnType<F>, undefined, span);
  }

  spanEnded(span: RecordingSpan): void {
    const processors = this.#state.processors;
    for (let i = 0; i < processors.length; i++) {
      try {
        (processors[i] as SpanProcessor).onEnd(span);
      } catch (err) {
        diag.error('traceloom: a span processor threw in onEnd', err);
      }
    }
  }

  newSpanId(): string {
    return this.#ids.generateSpanId();
  }

  /** A new trace id: drawn as words, or from the configured generator's hex. */
  #newTrace(): TraceIdWords {
    if (!this.#wordIds) return TraceIdWords.fromHex(this.#ids.generateTraceId());
    const at = drawIdWords(4);
    const w = ID_WORDS;
    return new TraceIdWords(w[at] as number, w[at + 1] as number, w[at + 2] as number, w[at + 3] as number);
  }
}
