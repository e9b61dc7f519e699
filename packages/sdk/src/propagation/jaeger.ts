import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { propagation, TraceFlags, trace } from '@opentelemetry/api';
import {
  BYTE_HEX,
  firstValue,
  hexDigit,
  isHttpToken,
  isLowerSpanId,
  isLowerTraceId,
  isTracingSuppressed,
  paddedHexId,
} from './internal/common.ts';

/** Header of Jaeger's trace context. */
export const UBER_TRACE_ID_HEADER = 'uber-trace-id';
/** Prefix of Jaeger's baggage headers (`uberctx-{key}`). */
export const UBER_BAGGAGE_PREFIX = 'uberctx-';

/** Options of {@link JaegerPropagator}. */
export interface JaegerPropagatorOptions {
  /** @default 'uber-trace-id' */
  readonly traceHeader?: string;
  /** Prefix of baggage headers, with its dash. @default 'uberctx-' */
  readonly baggagePrefix?: string;
}

/** The parts of an `uber-trace-id` value. */
export interface ParsedUberTraceId {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Parses `{trace-id}:{span-id}:{parent-span-id}:{flags}`, also in its
 * URL-encoded form (`%3A`). Ids are hex of at most 32 / 16 digits (shorter
 * ones are left-padded, upper case is lower-cased), not zero; the deprecated
 * parent id must be hex (0 allowed); flags are one or two hex digits of which
 * bit 0 is "sampled" (bit 1, debug, has no OpenTelemetry equivalent).
 */
export function parseUberTraceId(value: string): ParsedUberTraceId | undefined {
  let v = value.trim();
  if (v.indexOf('%') !== -1) {
    const d = safeDecode(v);
    if (d === undefined) return undefined;
    v = d;
  }
  const c1 = v.indexOf(':');
  if (c1 === -1) return undefined;
  const c2 = v.indexOf(':', c1 + 1);
  if (c2 === -1) return undefined;
  const c3 = v.indexOf(':', c2 + 1);
  if (c3 === -1 || v.indexOf(':', c3 + 1) !== -1) return undefined;
  const traceId = paddedHexId(v, 0, c1, 32);
  const spanId = paddedHexId(v, c1 + 1, c2, 16);
  if (traceId === undefined || spanId === undefined) return undefined;
  const parentLen = c3 - c2 - 1;
  if (parentLen < 1 || parentLen > 16) return undefined;
  for (let i = c2 + 1; i < c3; i++) if (hexDigit(v.charCodeAt(i), true) < 0) return undefined;
  const flagsLen = v.length - c3 - 1;
  if (flagsLen < 1 || flagsLen > 2) return undefined;
  let flags = 0;
  for (let i = c3 + 1; i < v.length; i++) {
    const d = hexDigit(v.charCodeAt(i), true);
    if (d < 0) return undefined;
    flags = flags * 16 + d;
  }
  return { traceId, spanId, traceFlags: flags & TraceFlags.SAMPLED };
}

/**
 * Jaeger propagator: `uber-trace-id` and `uberctx-{key}` baggage headers.
 * Inject writes `{trace-id}:{span-id}:0:{flags}` (parent id 0, as the field
 * is deprecated) and each baggage entry URL-encoded (entries whose key
 * cannot be part of a header name are skipped). Extract merges
 * `uberctx-` entries into the context's baggage (values URL-decoded; entries
 * that do not decode are skipped).
 */
export class JaegerPropagator implements TextMapPropagator {
  readonly #traceHeader: string;
  readonly #prefix: string;

  constructor(options: JaegerPropagatorOptions = {}) {
    this.#traceHeader = options.traceHeader ?? UBER_TRACE_ID_HEADER;
    this.#prefix = options.baggagePrefix ?? UBER_BAGGAGE_PREFIX;
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    if (isTracingSuppressed(context)) return;
    const sc = trace.getSpanContext(context);
    if (sc !== undefined && isLowerTraceId(sc.traceId) && isLowerSpanId(sc.spanId)) {
      setter.set(
        carrier,
        this.#traceHeader,
        `${sc.traceId}:${sc.spanId}:0:${BYTE_HEX[sc.traceFlags & TraceFlags.SAMPLED]}`,
      );
    }
    const baggage = propagation.getBaggage(context);
    if (baggage === undefined) return;
    for (const [key, entry] of baggage.getAllEntries()) {
      // A key that is no header-name token would make Node's setHeader throw.
      if (!isHttpToken(key)) continue;
      let value: string;
      try {
        value = encodeURIComponent(entry.value);
      } catch {
        continue;
      }
      setter.set(carrier, this.#prefix + key, value);
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const header = firstValue(getter, carrier, this.#traceHeader);
    if (header !== undefined) {
      const p = parseUberTraceId(header);
      if (p !== undefined) {
        context = trace.setSpanContext(context, {
          traceId: p.traceId,
          spanId: p.spanId,
          traceFlags: p.traceFlags,
          isRemote: true,
        });
      }
    }
    let baggage = undefined as ReturnType<typeof propagation.getBaggage>;
    let found = false;
    const prefix = this.#prefix;
    for (const key of getter.keys(carrier)) {
      if (key.length <= prefix.length || !key.startsWith(prefix)) continue;
      const raw = firstValue(getter, carrier, key);
      if (raw === undefined) continue;
      const value = safeDecode(raw);
      if (value === undefined) continue;
      if (!found) {
        baggage = propagation.getBaggage(context) ?? propagation.createBaggage();
        found = true;
      }
      baggage = baggage!.setEntry(key.slice(prefix.length), { value });
    }
    return found ? propagation.setBaggage(context, baggage!) : context;
  }

  fields(): string[] {
    return [this.#traceHeader];
  }
}
