/**
 * The trace views the native API sends, as `@traceloom/model` defines them
 * (the server writes them with the same module). The trace page reads
 * `?format=compact` ({@link TraceCompactJson}): the tree column by column
 * with interned strings, a sixth of the tree view's size at 100,000 spans.
 */
import type { ValueJson } from '@traceloom/model';

export type {
  AttributeJson,
  EventJson,
  LinkJson,
  ResourceJson,
  ScopeJson,
  ServiceCountJson,
  TraceCompactJson,
  ValueJson,
} from '@traceloom/model';

/** Attribute type names by the codes of {@link TraceCompactJson} `attrTypes` (8: a NaN or infinite double, as text). */
export const ATTRIBUTE_TYPES: readonly ValueJson['type'][] = [
  'string',
  'bool',
  'int',
  'double',
  'bytes',
  'array',
  'kvlist',
  'null',
  'double',
];
