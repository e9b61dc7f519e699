import {
  type InstrumentationScope,
  keyValuesEqual,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
} from './span.ts';

/**
 * The first field in which two spans differ, as a dotted path
 * (`attributes`, `events[1]`, `resource`), or `undefined` when they are equal.
 * Used by codec round-trip tests and by storage conformance.
 */
export function spanDiff(a: Span, b: Span): string | undefined {
  const scalar = [
    'traceId',
    'spanId',
    'parentSpanId',
    'traceState',
    'flags',
    'name',
    'kind',
    'startTimeUnixNano',
    'endTimeUnixNano',
    'droppedAttributesCount',
    'droppedEventsCount',
    'droppedLinksCount',
  ] as const;
  for (const k of scalar) if (a[k] !== b[k]) return k;
  if (a.status.code !== b.status.code || a.status.message !== b.status.message) return 'status';
  if (!keyValuesEqual(a.attributes, b.attributes)) return 'attributes';
  if (a.events.length !== b.events.length) return 'events';
  for (let i = 0; i < a.events.length; i++) {
    if (!eventEquals(a.events[i] as SpanEvent, b.events[i] as SpanEvent)) return `events[${i}]`;
  }
  if (a.links.length !== b.links.length) return 'links';
  for (let i = 0; i < a.links.length; i++) {
    if (!linkEquals(a.links[i] as SpanLink, b.links[i] as SpanLink)) return `links[${i}]`;
  }
  if (!resourceEquals(a.resource, b.resource)) return 'resource';
  if (!scopeEquals(a.scope, b.scope)) return 'scope';
  return undefined;
}

/** True when two spans are equal in every field, resource and scope included. */
export function spanEquals(a: Span, b: Span): boolean {
  return spanDiff(a, b) === undefined;
}

function eventEquals(a: SpanEvent, b: SpanEvent): boolean {
  return (
    a.timeUnixNano === b.timeUnixNano &&
    a.name === b.name &&
    a.droppedAttributesCount === b.droppedAttributesCount &&
    keyValuesEqual(a.attributes, b.attributes)
  );
}

function linkEquals(a: SpanLink, b: SpanLink): boolean {
  return (
    a.traceId === b.traceId &&
    a.spanId === b.spanId &&
    a.traceState === b.traceState &&
    a.flags === b.flags &&
    a.droppedAttributesCount === b.droppedAttributesCount &&
    keyValuesEqual(a.attributes, b.attributes)
  );
}

function resourceEquals(a: Resource, b: Resource): boolean {
  return (
    a.schemaUrl === b.schemaUrl &&
    a.droppedAttributesCount === b.droppedAttributesCount &&
    keyValuesEqual(a.attributes, b.attributes)
  );
}

function scopeEquals(a: InstrumentationScope, b: InstrumentationScope): boolean {
  return (
    a.name === b.name &&
    a.version === b.version &&
    a.schemaUrl === b.schemaUrl &&
    a.droppedAttributesCount === b.droppedAttributesCount &&
    keyValuesEqual(a.attributes, b.attributes)
  );
}
