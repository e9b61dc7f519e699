import { type Attributes, type AttributeValue, diag } from '@opentelemetry/api';
import type { AnyValue, KeyValue } from '@traceloom/model';

/**
 * Attribute values from the OpenTelemetry API to the model's typed values,
 * with the validation rules of the OpenTelemetry SDK: a value is a string,
 * number, boolean, or a homogeneous array of one of those (null/undefined
 * elements allowed); anything else is dropped with a diagnostic. Numbers map
 * as the official OTLP serializer maps them: an integer becomes an int64
 * (`bigint`), anything else a double.
 */

/** Shared empty list: spans, events and links without attributes point here. */
export const NO_KEY_VALUES: readonly KeyValue[] = Object.freeze([]) as readonly KeyValue[];

const INT64_LIMIT = 2 ** 63;
/** Lazily filled `BigInt(i)` for small non-negative ints (status codes, ports, sizes): no allocation per value. */
const SMALL_INTS = 1 << 16;
const smallBigInts: (bigint | undefined)[] = new Array<bigint | undefined>(SMALL_INTS).fill(undefined);

/** A JS number as the model types it: int64 `bigint` when integral and in range, `number` (double) otherwise. */
export function numberValue(n: number): bigint | number {
  if (!Number.isInteger(n)) return n;
  if (n >= 0 && n < SMALL_INTS) {
    const cached = smallBigInts[n];
    if (cached !== undefined) return cached;
    const b = BigInt(n);
    smallBigInts[n] = b;
    return b;
  }
  return n > -INT64_LIMIT && n < INT64_LIMIT ? BigInt(n) : n;
}

function truncate(s: string, limit: number): string {
  return s.length > limit ? s.slice(0, limit) : s;
}

/**
 * The model value of an API attribute value, or `undefined` when the value is
 * not a valid attribute value (the caller drops it). Strings, including those
 * in arrays, are cut to `lengthLimit` characters. Arrays are copied, so later
 * changes by the caller do not reach the span.
 */
export function toAnyValue(value: unknown, lengthLimit: number): AnyValue | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > lengthLimit ? value.slice(0, lengthLimit) : value;
    case 'number':
      return numberValue(value);
    case 'boolean':
      return value;
    case 'object':
      return Array.isArray(value) ? arrayValue(value, lengthLimit) : undefined;
    default:
      return undefined;
  }
}

function arrayValue(value: readonly unknown[], lengthLimit: number): AnyValue[] | undefined {
  let type: string | undefined;
  const out = new Array<AnyValue>(value.length);
  for (let i = 0; i < value.length; i++) {
    const e = value[i];
    if (e === null || e === undefined) {
      out[i] = null;
      continue;
    }
    const t = typeof e;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') return undefined;
    if (type === undefined) type = t;
    else if (type !== t) return undefined;
    out[i] =
      t === 'string' ? truncate(e as string, lengthLimit) : t === 'number' ? numberValue(e as number) : (e as boolean);
  }
  return out;
}

/** The result of {@link toKeyValues}: the kept attributes and how many were dropped for the count limit. */
export interface ConvertedAttributes {
  readonly attributes: KeyValue[];
  readonly dropped: number;
}

/** An API attribute map as a model list: {@link toFlatAttributes}, then typed. */
export function toKeyValues(
  attributes: Attributes | undefined,
  countLimit: number,
  lengthLimit: number,
): ConvertedAttributes {
  const flat: unknown[] = [];
  const dropped = toFlatAttributes(attributes, countLimit, lengthLimit, flat);
  return { attributes: flatToKeyValues(flat), dropped };
}

/**
 * An API attribute map as a flat `[key, value, ...]` list (the wire
 * encoder's `FlatAttributes`: top-level numbers stay plain), appended to
 * `out`. Invalid keys or values are dropped with a diagnostic (not counted,
 * as the OpenTelemetry SDK does); returns how many valid attributes were
 * dropped for the count limit. One array and no object per
 * attribute: events are recorded this way, and typed only if someone reads
 * their `attributes`.
 */
export function toFlatAttributes(
  attributes: Attributes | undefined,
  countLimit: number,
  lengthLimit: number,
  out: unknown[],
): number {
  let dropped = 0;
  if (attributes === undefined || attributes === null || typeof attributes !== 'object') return dropped;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const raw: AttributeValue | undefined = attributes[key];
    if (raw === undefined || raw === null) continue;
    if (key.length === 0) {
      diag.warn('traceloom: dropped an attribute with an empty key');
      continue;
    }
    let value: unknown;
    switch (typeof raw) {
      case 'string':
        value = raw.length > lengthLimit ? raw.slice(0, lengthLimit) : raw;
        break;
      case 'number':
      case 'boolean':
        value = raw;
        break;
      default:
        value = toAnyValue(raw, lengthLimit);
        if (value === undefined) {
          diag.warn(`traceloom: dropped invalid value of attribute "${key}"`);
          continue;
        }
    }
    if (out.length >>> 1 >= countLimit) {
      dropped++;
      continue;
    }
    out.push(key, value);
  }
  return dropped;
}

/** The model's typed list for a flat `[key, value, ...]` list of distinct keys whose top-level numbers are plain. */
export function flatToKeyValues(flat: readonly unknown[]): KeyValue[] {
  const out = new Array<KeyValue>(flat.length >>> 1);
  for (let i = 0, j = 0; i < flat.length; i += 2, j++) {
    const v = flat[i + 1] as AnyValue;
    out[j] = { key: flat[i] as string, value: typeof v === 'number' ? numberValue(v) : v };
  }
  return out;
}

/**
 * A flat `[key, value, ...]` list (as Traceloom's instrumentations hand it to
 * `Tracer.startSpanFlat`) as an OpenTelemetry `Attributes` object, for a
 * sampler or another provider's tracer; absent values are left out.
 */
export function flatToAttributes(flat: readonly unknown[]): Attributes {
  const attributes: Attributes = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const value = flat[i + 1];
    if (value !== undefined && value !== null) attributes[flat[i] as string] = value as AttributeValue;
  }
  return attributes;
}
