import type { Context, SpanContext, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { TraceFlags, trace } from '@opentelemetry/api';
import {
  firstValue,
  indexIn,
  isLowerSpanId,
  isLowerTraceId,
  isOws,
  isTracingSuppressed,
  paddedHexId,
} from './internal/common.ts';

/** Header of AWS X-Ray trace context (sent as `X-Amzn-Trace-Id`; HTTP names are case-insensitive). */
export const XRAY_HEADER = 'x-amzn-trace-id';

const FIELDS: readonly string[] = [XRAY_HEADER];
// "1-" + 8 hex epoch seconds + "-" + 24 hex
const ROOT_LENGTH = 35;

/** The parts of an `X-Amzn-Trace-Id` value. */
export interface ParsedXRay {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/**
 * Parses `Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled=0|1` (fields in any
 * order, OWS around them, unknown fields such as `Self` or `Lineage`
 * ignored). The trace id is the 8 and 24 hex digits joined. As with the
 * official propagator, all three fields are required: `Sampled=?` (a request
 * for a decision) or a missing `Sampled` give no span context.
 */
export function parseXRay(value: string): ParsedXRay | undefined {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let flags = -1;
  const n = value.length;
  let pos = 0;
  while (pos < n) {
    let end = value.indexOf(';', pos);
    if (end === -1) end = n;
    let s = pos;
    let e = end;
    pos = end + 1;
    while (s < e && isOws(value.charCodeAt(s))) s++;
    while (e > s && isOws(value.charCodeAt(e - 1))) e--;
    const eq = indexIn(value, 0x3d, s, e);
    if (eq === -1) continue;
    const keyLen = eq - s;
    const vs = eq + 1;
    if (keyLen === 4 && value.startsWith('Root', s)) {
      if (e - vs !== ROOT_LENGTH || value.charCodeAt(vs) !== 0x31) return undefined;
      if (value.charCodeAt(vs + 1) !== 0x2d || value.charCodeAt(vs + 10) !== 0x2d) return undefined;
      const epoch = paddedHexId(value, vs + 2, vs + 10, 8);
      const unique = paddedHexId(value, vs + 11, e, 24);
      // Either half may be zero alone; only the joined id must not be.
      const epochOk = epoch !== undefined || isZeroHex(value, vs + 2, vs + 10);
      const uniqueOk = unique !== undefined || isZeroHex(value, vs + 11, e);
      if (!epochOk || !uniqueOk || (epoch === undefined && unique === undefined)) return undefined;
      traceId = (epoch ?? '00000000') + (unique ?? '000000000000000000000000');
    } else if (keyLen === 6 && value.startsWith('Parent', s)) {
      if (e - vs !== 16) return undefined;
      spanId = paddedHexId(value, vs, e, 16);
      if (spanId === undefined) return undefined;
    } else if (keyLen === 7 && value.startsWith('Sampled', s)) {
      const c = e - vs === 1 ? value.charCodeAt(vs) : 0;
      if (c === 0x31) flags = TraceFlags.SAMPLED;
      else if (c === 0x30) flags = TraceFlags.NONE;
      else return undefined;
    }
  }
  if (traceId === undefined || spanId === undefined || flags < 0) return undefined;
  return { traceId, spanId, traceFlags: flags };
}

function isZeroHex(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return end > start;
}

/**
 * AWS X-Ray propagator (`X-Amzn-Trace-Id`). Inject splits the trace id into
 * the 8-digit epoch part and the 24-digit rest; X-Ray itself accepts only ids
 * whose first 8 digits are a recent epoch second, which an X-Ray-aware id
 * generator provides. Extract keeps a tracestate an earlier propagator of a
 * composite put in the context (as the official propagator does).
 */
export class AWSXRayPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(context);
    if (sc === undefined || !isLowerTraceId(sc.traceId) || !isLowerSpanId(sc.spanId)) return;
    if (isTracingSuppressed(context)) return;
    const t = sc.traceId;
    const sampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? '1' : '0';
    setter.set(carrier, XRAY_HEADER, `Root=1-${t.slice(0, 8)}-${t.slice(8)};Parent=${sc.spanId};Sampled=${sampled}`);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    let header = firstValue(getter, carrier, XRAY_HEADER);
    if (header === undefined) {
      // Carriers that are not Node header objects may keep the canonical casing.
      for (const key of getter.keys(carrier)) {
        if (key.length === XRAY_HEADER.length && key.toLowerCase() === XRAY_HEADER) {
          header = firstValue(getter, carrier, key);
          break;
        }
      }
      if (header === undefined) return context;
    }
    const p = parseXRay(header);
    if (p === undefined) return context;
    const sc: SpanContext = { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags, isRemote: true };
    const existing = trace.getSpanContext(context)?.traceState;
    if (existing !== undefined) sc.traceState = existing;
    return trace.setSpanContext(context, sc);
  }

  fields(): string[] {
    return FIELDS.slice();
  }
}
