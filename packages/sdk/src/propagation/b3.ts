import type { Context, SpanContext, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { createContextKey, TraceFlags, trace } from '@opentelemetry/api';
import {
  checkHexId,
  firstValue,
  isLowerSpanId,
  isLowerTraceId,
  isTracingSuppressed,
  paddedHexId,
} from './internal/common.ts';

/** Header names of B3 (https://github.com/openzipkin/b3-propagation). */
export const B3_SINGLE_HEADER = 'b3';
export const B3_TRACE_ID_HEADER = 'x-b3-traceid';
export const B3_SPAN_ID_HEADER = 'x-b3-spanid';
export const B3_SAMPLED_HEADER = 'x-b3-sampled';
export const B3_FLAGS_HEADER = 'x-b3-flags';
export const B3_PARENT_SPAN_ID_HEADER = 'x-b3-parentspanid';

/**
 * Where the B3 debug flag lives in a context. The same description as
 * `@opentelemetry/propagator-b3` uses, so (keys being `Symbol.for`) a debug
 * flag extracted by either propagator is injected by the other. The value is
 * `'d'` when it came from the single header and `'1'` from `X-B3-Flags`.
 */
export const B3_DEBUG_FLAG_KEY = createContextKey('OpenTelemetry Context Key B3 Debug Flag');

/** Which headers {@link B3Propagator} writes. */
export type B3InjectEncoding = 'single' | 'multi';

/** Options of {@link B3Propagator}. */
export interface B3PropagatorOptions {
  /**
   * `single` writes `b3: {traceid}-{spanid}-{sampling}`; `multi` writes the
   * `X-B3-*` headers. Extract always reads both.
   * @default 'single' (as the official B3Propagator)
   */
  readonly injectEncoding?: B3InjectEncoding;
}

const SINGLE_FIELDS: readonly string[] = [B3_SINGLE_HEADER];
const MULTI_FIELDS: readonly string[] = [
  B3_TRACE_ID_HEADER,
  B3_SPAN_ID_HEADER,
  B3_FLAGS_HEADER,
  B3_SAMPLED_HEADER,
  B3_PARENT_SPAN_ID_HEADER,
];
const PAD64 = '0000000000000000';

function isDebug(context: Context): boolean {
  const v = context.getValue(B3_DEBUG_FLAG_KEY);
  return v === 'd' || v === '1';
}

// A new remote parent's debug state replaces whatever an earlier extract left.
function setDebug(context: Context, value: 'd' | '1' | undefined): Context {
  if (value !== undefined) return context.setValue(B3_DEBUG_FLAG_KEY, value);
  return context.getValue(B3_DEBUG_FLAG_KEY) === undefined ? context : context.deleteValue(B3_DEBUG_FLAG_KEY);
}

/** A parsed B3 single header. */
interface ParsedB3 {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly debug: boolean;
}

/**
 * Parses `b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]`. The trace id
 * is 16 or 32 lower-case hex (16 is left-padded to 32), span ids 16; sampling
 * is `0`, `1` or `d` (debug, implies sampled); absent sampling means
 * "deferred", carried as not sampled. A lone sampling state (`b3: 0`) has no
 * ids and yields undefined, as does anything else malformed.
 */
export function parseB3Single(v: string): ParsedB3 | undefined {
  const n = v.length;
  let tidLen: number;
  if (n >= 33 && v.charCodeAt(16) === 0x2d) tidLen = 16;
  else if (n >= 49 && v.charCodeAt(32) === 0x2d) tidLen = 32;
  else return undefined;
  if (checkHexId(v, 0, tidLen, false) !== 1) return undefined;
  const sidStart = tidLen + 1;
  const sidEnd = sidStart + 16;
  if (checkHexId(v, sidStart, sidEnd, false) !== 1) return undefined;
  let traceFlags: number = TraceFlags.NONE;
  let debug = false;
  if (n !== sidEnd) {
    if (n < sidEnd + 2 || v.charCodeAt(sidEnd) !== 0x2d) return undefined;
    const s = v.charCodeAt(sidEnd + 1);
    if (s === 0x31) traceFlags = TraceFlags.SAMPLED;
    else if (s === 0x64) {
      traceFlags = TraceFlags.SAMPLED;
      debug = true;
    } else if (s !== 0x30) return undefined;
    const afterSampling = sidEnd + 2;
    if (n !== afterSampling) {
      if (n !== afterSampling + 17 || v.charCodeAt(afterSampling) !== 0x2d) return undefined;
      if (checkHexId(v, afterSampling + 1, n, false) !== 1) return undefined;
    }
  }
  const tid = v.slice(0, tidLen);
  return {
    traceId: tidLen === 16 ? PAD64 + tid : tid,
    spanId: v.slice(sidStart, sidEnd),
    traceFlags,
    debug,
  };
}

function parseSampled(v: string | undefined): number {
  if (v === undefined) return TraceFlags.NONE;
  switch (v) {
    case '1':
    case 'true':
    case 'True':
      return TraceFlags.SAMPLED;
    case '0':
    case 'false':
    case 'False':
      return TraceFlags.NONE;
    default:
      return -1;
  }
}

/**
 * B3 propagator. Extract reads the single `b3` header when present (and then
 * only it: `b3: 0` means "not sampled, no ids" and gives no span context),
 * else the `X-B3-*` headers: trace id of 16 or 32 hex (upper case accepted
 * and lower-cased, as the official propagator accepts it), span id 16 hex,
 * `X-B3-Sampled` of 1/0/true/false (anything else invalid), `X-B3-Flags: 1`
 * (debug, implies sampled). 64-bit trace ids are left-padded to 128 bits.
 * The debug flag is kept in the context under {@link B3_DEBUG_FLAG_KEY} and
 * written again on inject (`-d` or `X-B3-Flags: 1`, without `X-B3-Sampled`
 * as the B3 spec asks).
 */
export class B3Propagator implements TextMapPropagator {
  readonly #multi: boolean;

  constructor(options: B3PropagatorOptions = {}) {
    this.#multi = options.injectEncoding === 'multi';
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(context);
    if (sc === undefined || !isLowerTraceId(sc.traceId) || !isLowerSpanId(sc.spanId)) return;
    if (isTracingSuppressed(context)) return;
    const debug = isDebug(context);
    const sampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0;
    if (!this.#multi) {
      setter.set(carrier, B3_SINGLE_HEADER, `${sc.traceId}-${sc.spanId}-${debug ? 'd' : sampled ? '1' : '0'}`);
      return;
    }
    setter.set(carrier, B3_TRACE_ID_HEADER, sc.traceId);
    setter.set(carrier, B3_SPAN_ID_HEADER, sc.spanId);
    if (debug) setter.set(carrier, B3_FLAGS_HEADER, '1');
    else setter.set(carrier, B3_SAMPLED_HEADER, sampled ? '1' : '0');
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const single = firstValue(getter, carrier, B3_SINGLE_HEADER);
    if (single !== undefined && single.length > 0) {
      const p = parseB3Single(single.trim());
      if (p === undefined) return context;
      context = setDebug(context, p.debug ? 'd' : undefined);
      const sc: SpanContext = { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags, isRemote: true };
      return trace.setSpanContext(context, sc);
    }
    const rawTid = firstValue(getter, carrier, B3_TRACE_ID_HEADER);
    const rawSid = firstValue(getter, carrier, B3_SPAN_ID_HEADER);
    if (rawTid === undefined || rawSid === undefined) return context;
    if (rawTid.length !== 16 && rawTid.length !== 32) return context;
    const traceId = paddedHexId(rawTid, 0, rawTid.length, 32);
    const spanId = rawSid.length === 16 ? paddedHexId(rawSid, 0, 16, 16) : undefined;
    if (traceId === undefined || spanId === undefined) return context;
    const debug = firstValue(getter, carrier, B3_FLAGS_HEADER) === '1';
    let traceFlags = parseSampled(firstValue(getter, carrier, B3_SAMPLED_HEADER));
    if (debug) traceFlags = TraceFlags.SAMPLED;
    else if (traceFlags < 0) return context;
    context = setDebug(context, debug ? '1' : undefined);
    return trace.setSpanContext(context, { traceId, spanId, traceFlags, isRemote: true });
  }

  fields(): string[] {
    return (this.#multi ? MULTI_FIELDS : SINGLE_FIELDS).slice();
  }
}
