/**
 * The text form of an attribute value: what `=`, `!=`, `=~`, `!~` compare and
 * what attribute-value autocomplete lists. Every storage backend must produce
 * exactly the same text, so that a query means the same thing on each of them.
 */

import type { AnyValue, KvListValue } from '@traceloom/model';

/**
 * The text form of `value`:
 * a string as is; a boolean `'true'` / `'false'`; an int64 in decimal; a double
 * as `String(n)` (`'1.5'`, `'NaN'`, `'Infinity'`) except negative zero, which
 * is `'-0'` so that it stays distinguishable; bytes in standard base64 with
 * padding; `null` (an `AnyValue` with nothing set) as `''`.
 * Arrays and key-value lists are JSON whose leaves are the text forms of their
 * elements: `[1n, 'a', [true]]` is `'["1","a",["true"]]'`, a kvlist is a JSON
 * object in received order (repeated keys kept), `null` leaves are JSON `null`.
 *
 * @example
 * attributeText(200n) // '200'
 */
export function attributeText(value: AnyValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  if (typeof value === 'object' && !(value instanceof Uint8Array)) return nestedJson(value);
  return scalarText(value);
}

function scalarText(value: boolean | bigint | number | Uint8Array): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
}

// Nested values stay structured (not a string holding JSON) so that the text of
// `[[1n]]` reads `[["1"]]` rather than an escaped string inside an array.
function nestedJson(value: AnyValue): string {
  if (value === null) return 'null';
  if (typeof value === 'object' && Array.isArray(value)) {
    return `[${(value as readonly AnyValue[]).map(nestedJson).join(',')}]`;
  }
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    const kv = (value as KvListValue).kvlist;
    return `{${kv.map((e) => `${JSON.stringify(e.key)}:${nestedJson(e.value)}`).join(',')}}`;
  }
  return JSON.stringify(typeof value === 'string' ? value : scalarText(value));
}
