import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { isSpanContextValid, TraceFlags, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler } from './basic.ts';
import type { Sampler, SamplingResult } from './types.ts';

/** Delegates of a {@link ParentBasedSampler}; only `root` is required. */
export interface ParentBasedSamplerOptions {
  /** Decides for spans without a valid parent. */
  root: Sampler;
  /** @default AlwaysOnSampler */
  remoteParentSampled?: Sampler;
  /** @default AlwaysOffSampler */
  remoteParentNotSampled?: Sampler;
  /** @default AlwaysOnSampler */
  localParentSampled?: Sampler;
  /** @default AlwaysOffSampler */
  localParentNotSampled?: Sampler;
}

/**
 * Follows the parent's sampled flag when there is a parent and asks `root`
 * otherwise (OTel spec, "ParentBased"); each of the four parent cases can be
 * given its own delegate.
 */
export class ParentBasedSampler implements Sampler {
  readonly #root: Sampler;
  readonly #remoteSampled: Sampler;
  readonly #remoteNotSampled: Sampler;
  readonly #localSampled: Sampler;
  readonly #localNotSampled: Sampler;

  constructor(options: ParentBasedSamplerOptions) {
    this.#root = options.root;
    this.#remoteSampled = options.remoteParentSampled ?? new AlwaysOnSampler();
    this.#remoteNotSampled = options.remoteParentNotSampled ?? new AlwaysOffSampler();
    this.#localSampled = options.localParentSampled ?? new AlwaysOnSampler();
    this.#localNotSampled = options.localParentNotSampled ?? new AlwaysOffSampler();
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(context);
    let delegate: Sampler;
    if (parent === undefined || !isSpanContextValid(parent)) {
      delegate = this.#root;
    } else if ((parent.traceFlags & TraceFlags.SAMPLED) !== 0) {
      delegate = parent.isRemote === true ? this.#remoteSampled : this.#localSampled;
    } else {
      delegate = parent.isRemote === true ? this.#remoteNotSampled : this.#localNotSampled;
    }
    return delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  /**
   * Shuts down the delegates that can be shut down (a remote sampler's poller),
   * so a provider's shutdown reaches a sampler wrapped in this one.
   */
  async shutdown(): Promise<void> {
    const seen = new Set<Sampler>();
    for (const s of [
      this.#root,
      this.#remoteSampled,
      this.#remoteNotSampled,
      this.#localSampled,
      this.#localNotSampled,
    ]) {
      if (seen.has(s)) continue;
      seen.add(s);
      const stoppable = s as Sampler & { shutdown?: () => Promise<void> };
      if (typeof stoppable.shutdown === 'function') await stoppable.shutdown();
    }
  }

  toString(): string {
    return `ParentBased{root=${this.#root}, remoteParentSampled=${this.#remoteSampled}, remoteParentNotSampled=${this.#remoteNotSampled}, localParentSampled=${this.#localSampled}, localParentNotSampled=${this.#localNotSampled}}`;
  }
}
