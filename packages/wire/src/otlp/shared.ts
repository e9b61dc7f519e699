import { type Span, type SpanStatus, UNSET_STATUS } from '@traceloom/model';

/**
 * Limit on nested `AnyValue`s (arrays and key-value lists inside each other)
 * that the OTLP decoders accept, so that hostile input cannot exhaust the stack.
 */
export const MAX_ANY_VALUE_DEPTH = 32;

/**
 * The shared empty list for absent repeated fields. Frozen, because every
 * decoded span without attributes / events / links points at this one array.
 */
export const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** A status object, or the shared {@link UNSET_STATUS} when it carries nothing. */
export function makeStatus(code: number, message: string): SpanStatus {
  return code === 0 && message === '' ? UNSET_STATUS : { code, message };
}

/** A group of spans sharing one scope object, inside a {@link ResourceGroup}. */
export interface ScopeGroup {
  readonly scope: Span['scope'];
  readonly spans: Span[];
}

/** Spans sharing one resource object, split by scope object. */
export interface ResourceGroup {
  readonly resource: Span['resource'];
  readonly scopes: ScopeGroup[];
}

/**
 * Groups spans by resource identity, then by scope identity, keeping the order
 * in which each resource and scope is first seen (and span order inside a
 * group). Runs of spans sharing the same resource and scope, the usual case,
 * skip the map lookups.
 */
export function groupSpans(spans: readonly Span[]): ResourceGroup[] {
  const groups: ResourceGroup[] = [];
  const byResource = new Map<Span['resource'], { group: ResourceGroup; byScope: Map<Span['scope'], ScopeGroup> }>();
  let lastResource: Span['resource'] | undefined;
  let lastScope: Span['scope'] | undefined;
  let lastList: Span[] | undefined;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    if (s.resource === lastResource && s.scope === lastScope && lastList !== undefined) {
      lastList.push(s);
      continue;
    }
    let entry = byResource.get(s.resource);
    if (entry === undefined) {
      const group: ResourceGroup = { resource: s.resource, scopes: [] };
      groups.push(group);
      entry = { group, byScope: new Map() };
      byResource.set(s.resource, entry);
    }
    let scopeGroup = entry.byScope.get(s.scope);
    if (scopeGroup === undefined) {
      scopeGroup = { scope: s.scope, spans: [] };
      entry.group.scopes.push(scopeGroup);
      entry.byScope.set(s.scope, scopeGroup);
    }
    scopeGroup.spans.push(s);
    lastResource = s.resource;
    lastScope = s.scope;
    lastList = scopeGroup.spans;
  }
  return groups;
}
