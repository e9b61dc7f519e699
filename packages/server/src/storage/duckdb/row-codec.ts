/**
 * How a span becomes a row of the DuckDB `spans` table and back, without
 * losing anything the model can hold.
 *
 * Attributes are three parallel columns: `attr_keys VARCHAR[]`, `attr_types
 * VARCHAR` (one type letter per attribute) and `attr_values VARCHAR[]` (the
 * value's text form, the one `=` filters compare). Order and repeated keys are
 * kept. The text form is exact for scalars; arrays and key-value lists, whose
 * text form drops the element types, also get a typed encoding in
 * `attr_extra` (a JSON array with one entry per complex attribute, in order).
 * Events and links are rarely filtered on, so each is one JSON text column.
 */

import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  KvListValue,
  Resource,
  SpanEvent,
  SpanLink,
} from '@traceloom/model';
import { attributeText } from '../internal/attr-text.ts';

/** Type letters of `attr_types`. */
export const AttrType = {
  STRING: 's',
  BOOL: 'b',
  INT: 'i',
  DOUBLE: 'd',
  BYTES: 'y',
  ARRAY: 'a',
  KVLIST: 'k',
  NULL: 'n',
} as const;

/** The type letter of a value. */
export function attrTypeOf(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return 's';
    case 'boolean':
      return 'b';
    case 'bigint':
      return 'i';
    case 'number':
      return 'd';
    default:
      if (v === null) return 'n';
      if (v instanceof Uint8Array) return 'y';
      if (Array.isArray(v)) return 'a';
      return 'k';
  }
}

/** A value as typed JSON: `[typeLetter, payload]`, recursive for arrays and kvlists. */
export type Typed = [string, unknown];
/** A value as typed JSON (`[typeLetter, payload]`), the form `attr_extra` keeps for arrays and key-value lists. */
export function typedOf(v: AnyValue): Typed {
  const t = attrTypeOf(v);
  if (t === 'a') return [t, (v as readonly AnyValue[]).map(typedOf)];
  if (t === 'k') return [t, (v as KvListValue).kvlist.map((kv) => [kv.key, typedOf(kv.value)])];
  return [t, attributeText(v)];
}

/** Parses a scalar's text form back into its value. */
function fromText(t: string, text: string): AnyValue {
  switch (t) {
    case 's':
      return text;
    case 'b':
      return text === 'true';
    case 'i':
      return BigInt(text);
    case 'd':
      return Number(text);
    case 'y':
      return new Uint8Array(Buffer.from(text, 'base64'));
    case 'n':
      return null;
    default:
      throw new Error(`unknown attribute type letter '${t}'`);
  }
}

function fromTyped(x: unknown): AnyValue {
  const [t, p] = x as Typed;
  if (t === 'a') return (p as unknown[]).map(fromTyped);
  if (t === 'k') return { kvlist: (p as [string, unknown][]).map(([key, v]) => ({ key, value: fromTyped(v) })) };
  return fromText(t, p as string);
}

/** Attributes in column form. */
export interface AttrColumns {
  keys: string[];
  types: string;
  values: string[];
  /** JSON text of the typed encodings of the complex values, or null when there are none. */
  extra: string | null;
}

/** Splits attributes into the three columns (plus `extra`). */
export function encodeAttrs(attrs: readonly KeyValue[]): AttrColumns {
  const n = attrs.length;
  const keys = new Array<string>(n);
  const values = new Array<string>(n);
  let types = '';
  let extra: Typed[] | null = null;
  for (let i = 0; i < n; i++) {
    const kv = attrs[i]!;
    const t = attrTypeOf(kv.value);
    keys[i] = kv.key;
    types += t;
    values[i] = attributeText(kv.value);
    if (t === 'a' || t === 'k') {
      extra ??= [];
      extra.push(typedOf(kv.value));
    }
  }
  return { keys, types, values, extra: extra === null ? null : JSON.stringify(extra) };
}

/** The inverse of {@link encodeAttrs}. */
export function decodeAttrs(
  keys: readonly string[],
  types: string,
  values: readonly string[],
  extra: string | null,
): KeyValue[] {
  const out = new Array<KeyValue>(keys.length);
  let complex: unknown[] | undefined;
  let ci = 0;
  for (let i = 0; i < keys.length; i++) {
    const t = types[i]!;
    let value: AnyValue;
    if (t === 'a' || t === 'k') {
      complex ??= JSON.parse(extra ?? '[]') as unknown[];
      value = fromTyped(complex[ci++]);
    } else {
      value = fromText(t, values[i]!);
    }
    out[i] = { key: keys[i]!, value };
  }
  return out;
}

/** Attributes as one compact JSON value (for events, links, resources and scopes). */
function attrsJson(attrs: readonly KeyValue[]): unknown[] {
  return attrs.map((kv) => [kv.key, typedOf(kv.value)]);
}
function attrsFromJson(x: unknown): KeyValue[] {
  return (x as [string, unknown][]).map(([key, v]) => ({ key, value: fromTyped(v) }));
}

/**
 * Events as JSON text, or null for none. Times are kept as offsets from the
 * span's start (a few digits instead of nineteen): most events fall inside
 * their span.
 */
export function encodeEvents(events: readonly SpanEvent[], spanStartUnixNano: bigint): string | null {
  if (events.length === 0) return null;
  return JSON.stringify(
    events.map((e) => [
      (e.timeUnixNano - spanStartUnixNano).toString(),
      e.name,
      attrsJson(e.attributes),
      e.droppedAttributesCount,
    ]),
  );
}

/** The inverse of {@link encodeEvents}. */
export function decodeEvents(text: string | null, spanStartUnixNano: bigint): SpanEvent[] {
  if (text === null || text === '') return [];
  return (JSON.parse(text) as [string, string, unknown, number][]).map(([t, name, a, d]) => ({
    timeUnixNano: spanStartUnixNano + BigInt(t),
    name,
    attributes: attrsFromJson(a),
    droppedAttributesCount: d,
  }));
}

/** Links as JSON text, or null for none. */
export function encodeLinks(links: readonly SpanLink[]): string | null {
  if (links.length === 0) return null;
  return JSON.stringify(
    links.map((l) => [l.traceId, l.spanId, l.traceState, attrsJson(l.attributes), l.droppedAttributesCount, l.flags]),
  );
}

/** The inverse of {@link encodeLinks}. */
export function decodeLinks(text: string | null): SpanLink[] {
  if (text === null || text === '') return [];
  return (JSON.parse(text) as [string, string, string, unknown, number, number][]).map(
    ([traceId, spanId, ts, a, d, f]) => ({
      traceId,
      spanId,
      traceState: ts,
      attributes: attrsFromJson(a),
      droppedAttributesCount: d,
      flags: f,
    }),
  );
}

/** A resource or scope as one canonical JSON text: its identity in storage. */
export function encodeResource(r: Resource): string {
  return JSON.stringify([attrsJson(r.attributes), r.droppedAttributesCount, r.schemaUrl]);
}
export function decodeResource(text: string): Resource {
  const [a, d, s] = JSON.parse(text) as [unknown, number, string];
  return { attributes: attrsFromJson(a), droppedAttributesCount: d, schemaUrl: s };
}
export function encodeScope(s: InstrumentationScope): string {
  return JSON.stringify([s.name, s.version, attrsJson(s.attributes), s.droppedAttributesCount, s.schemaUrl]);
}
export function decodeScope(text: string): InstrumentationScope {
  const [name, version, a, d, schemaUrl] = JSON.parse(text) as [string, string, unknown, number, string];
  return { name, version, attributes: attrsFromJson(a), droppedAttributesCount: d, schemaUrl };
}
