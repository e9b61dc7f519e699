import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { NOT_RECORD_RESULT, SAMPLED_RESULT } from './basic.ts';
import type { Sampler, SamplingResult } from './types.ts';

// Hex digit values by char code; -1 marks a non-hex character. Upper case is
// accepted because the OTel JS SDK validates trace ids case-insensitively.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}

/**
 * Folds a 32-digit hex trace id into 32 bits by XOR-ing its four 32-bit words,
 * or returns -1 when the id is not a valid trace id (wrong length, non-hex,
 * all zeros). This is the quantity the OTel JS SDK compares with its bound, so
 * both SDKs make the same decision for the same trace id and ratio.
 */
export function foldTraceId(traceId: string): number {
  if (traceId.length !== 32) return -1;
  let folded = 0;
  let any = 0;
  for (let word = 0; word < 32; word += 8) {
    let w = 0;
    for (let k = word; k < word + 8; k++) {
      const code = traceId.charCodeAt(k);
      const v = code < 128 ? (HEX_VALUE[code] as number) : -1;
      if (v < 0) return -1;
      w = (w << 4) | v;
    }
    any |= w;
    folded ^= w;
  }
  return any === 0 ? -1 : folded >>> 0;
}

/**
 * Samples a fixed fraction of traces, decided by the trace id alone so every
 * service using the same ratio agrees. Same decision as the OTel JS SDK's
 * `TraceIdRatioBasedSampler`.
 */
export class TraceIdRatioBasedSampler implements Sampler {
  readonly ratio: number;
  readonly #bound: number;

  /** @param ratio fraction in [0, 1]; out-of-range values are clamped, NaN means 0. */
  constructor(ratio: number) {
    this.ratio = typeof ratio !== 'number' || Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(0, ratio));
    // With ratio 1 the bound is past every 32-bit value, so every valid id passes.
    this.#bound = this.ratio === 1 ? 0x100000000 : Math.floor(this.ratio * 0xffffffff);
  }

  shouldSample(
    _context: Context,
    traceId: string,
    _spanName: string,
    _spanKind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    return this.sampleTraceId(traceId) ? SAMPLED_RESULT : NOT_RECORD_RESULT;
  }

  /** The decision alone, for samplers that combine it with others. */
  sampleTraceId(traceId: string): boolean {
    const folded = foldTraceId(traceId);
    return folded >= 0 && folded < this.#bound;
  }

  toString(): string {
    return `TraceIdRatioBased{${this.ratio}}`;
  }
}
