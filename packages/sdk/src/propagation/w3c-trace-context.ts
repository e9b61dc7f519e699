import type { Context, SpanContext, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { trace } from '@opentelemetry/api';
import {
  BYTE_HEX,
  checkHexId,
  hexDigit,
  isLowerSpanId,
  isLowerTraceId,
  isOws,
  isTracingSuppressed,
} from './internal/common.ts';
import { parseTraceState } from './trace-state.ts';

/** Header names of W3C Trace Context. */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

const FIELDS: readonly string[] = [TRACEPARENT_HEADER, TRACESTATE_HEADER];
// version(2) - trace-id(32) - parent-id(16) - flags(2)
const V00_LENGTH = 55;

/**
 * Parses a `traceparent` value by the rules of W3C Trace Context §3.2 and
 * §4.3 (versioning): lower-case hex only; version `ff` invalid; trace-id and
 * parent-id not all zeros; version 00 is exactly 55 characters; a higher
 * version may be longer, but only if a `-` follows the flags (the parts it
 * adds are ignored). Surrounding OWS is tolerated. Returns a remote span
 * context (one allocation; the extract path adds the tracestate to it), or
 * undefined when invalid.
 */
export function parseTraceparent(value: string): SpanContext | undefined {
  let s = 0;
  let e = value.length;
  while (s < e && isOws(value.charCodeAt(s))) s++;
  while (e > s && isOws(value.charCodeAt(e - 1))) e--;
  const len = e - s;
  if (len < V00_LENGTH) return undefined;
  const v1 = hexDigit(value.charCodeAt(s), false);
  const v2 = hexDigit(value.charCodeAt(s + 1), false);
  if (v1 < 0 || v2 < 0) return undefined;
  const version = v1 * 16 + v2;
  if (version === 0xff) return undefined;
  if (version === 0 ? len !== V00_LENGTH : len > V00_LENGTH && value.charCodeAt(s + V00_LENGTH) !== 0x2d) {
    return undefined;
  }
  if (value.charCodeAt(s + 2) !== 0x2d || value.charCodeAt(s + 35) !== 0x2d || value.charCodeAt(s + 52) !== 0x2d) {
    return undefined;
  }
  if (checkHexId(value, s + 3, s + 35, false) !== 1 || checkHexId(value, s + 36, s + 52, false) !== 1) return undefined;
  const f1 = hexDigit(value.charCodeAt(s + 53), false);
  const f2 = hexDigit(value.charCodeAt(s + 54), false);
  if (f1 < 0 || f2 < 0) return undefined;
  return {
    traceId: value.slice(s + 3, s + 35),
    spanId: value.slice(s + 36, s + 52),
    traceFlags: f1 * 16 + f2,
    isRemote: true,
  };
}

/**
 * W3C Trace Context propagator (`traceparent` and `tracestate`).
 *
 * Extract: the traceparent must be valid (see {@link parseTraceparent}) and
 * single: two traceparent headers are invalid (the W3C test suite's
 * duplicated-traceparent case). Several tracestate headers are combined;
 * a malformed tracestate is dropped while the traceparent is kept. The trace
 * flags byte is kept as sent, as the official propagator does.
 * Inject writes version 00 and the tracestate when it has members.
 */
export class W3CTraceContextPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(context);
    if (sc === undefined || !isLowerTraceId(sc.traceId) || !isLowerSpanId(sc.spanId)) return;
    if (isTracingSuppressed(context)) return;
    setter.set(carrier, TRACEPARENT_HEADER, `00-${sc.traceId}-${sc.spanId}-${BYTE_HEX[sc.traceFlags & 0xff]}`);
    if (sc.traceState !== undefined) {
      const ts = sc.traceState.serialize();
      if (ts.length > 0) setter.set(carrier, TRACESTATE_HEADER, ts);
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, TRACEPARENT_HEADER);
    let tp: string;
    if (typeof raw === 'string') tp = raw;
    else if (Array.isArray(raw) && raw.length === 1 && typeof raw[0] === 'string') tp = raw[0];
    else return context;
    const sc = parseTraceparent(tp);
    if (sc === undefined) return context;
    const rawState = getter.get(carrier, TRACESTATE_HEADER);
    let stateHeader: string | undefined;
    if (typeof rawState === 'string') stateHeader = rawState;
    else if (Array.isArray(rawState) && rawState.length > 0) stateHeader = rawState.join(',');
    if (stateHeader !== undefined) {
      const ts = parseTraceState(stateHeader);
      if (ts !== undefined && ts.size > 0) sc.traceState = ts;
    }
    return trace.setSpanContext(context, sc);
  }

  fields(): string[] {
    return FIELDS.slice();
  }
}
