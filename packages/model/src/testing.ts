/**
 * Span builders for the tests of every package (`@traceloom/model/testing`).
 * Not part of the model's public API: `src/index.ts` does not export them, so
 * production code cannot come to depend on test defaults.
 */
import {
  EMPTY_RESOURCE,
  EMPTY_SCOPE,
  type KeyValue,
  type Resource,
  SERVICE_NAME_KEY,
  type Span,
  SpanKind,
  UNSET_STATUS,
} from './span.ts';

/**
 * A complete {@link Span} from the fields a test cares about; only the ids are
 * required. Every other field gets a neutral default, and arrays are fresh per
 * span so no two spans share them by accident.
 *
 * Defaults: parentSpanId '' (a root), traceState '', flags 1 (sampled), name
 * 'op', kind INTERNAL, start 0n, end 1000n, no attributes, events or links,
 * zero dropped counts, status UNSET, {@link EMPTY_RESOURCE}, {@link EMPTY_SCOPE}.
 */
export function testSpan(fields: Partial<Span> & Pick<Span, 'traceId' | 'spanId'>): Span {
  return {
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'op',
    kind: SpanKind.INTERNAL,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 1000n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: UNSET_STATUS,
    resource: EMPTY_RESOURCE,
    scope: EMPTY_SCOPE,
    ...fields,
  };
}

/**
 * A resource naming `service`, followed by `extra` attributes. A new object on
 * each call: share the result between spans when the code under test relies on
 * spans of one resource pointing at the same instance, as decoders produce.
 */
export function testResource(service: string, extra: readonly KeyValue[] = []): Resource {
  return {
    attributes: [{ key: SERVICE_NAME_KEY, value: service }, ...extra],
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
}
