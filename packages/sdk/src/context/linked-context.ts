import type { Context } from '@opentelemetry/api';

/** Past this many entries a `setValue` copies the chain into one flat node, so lookups stay short. */
const MAX_CHAIN = 8;

/**
 * An OpenTelemetry API `Context` that stores one value per node and points at
 * its parent: `setValue` and `deleteValue` allocate one small object, where
 * the API's `BaseContext` copies a `Map` and makes three closures each time.
 * Lookups walk the chain (at most {@link MAX_CHAIN} nodes; a longer chain is
 * flattened into a `Map` when it grows past that). A deleted key is a node
 * whose value is `undefined`, which is what `getValue` reports for a missing
 * key anyway. Used on hot paths that build a context per request (the HTTP
 * server span's context); any other code sees an ordinary `Context`.
 */
export class LinkedContext implements Context {
  readonly #parent: LinkedContext | undefined;
  readonly #key: symbol | undefined;
  readonly #value: unknown;
  /** Nodes from here to the root, this one included. */
  readonly #length: number;
  /** A flattened node's entries (it has no parent then), else undefined. */
  readonly #map: ReadonlyMap<symbol, unknown> | undefined;

  private constructor(
    parent: LinkedContext | undefined,
    key: symbol | undefined,
    value: unknown,
    length: number,
    map: ReadonlyMap<symbol, unknown> | undefined,
  ) {
    this.#parent = parent;
    this.#key = key;
    this.#value = value;
    this.#length = length;
    this.#map = map;
  }

  /** An empty context (no values), like the API's `ROOT_CONTEXT`. */
  static readonly ROOT: LinkedContext = new LinkedContext(undefined, undefined, undefined, 0, undefined);

  getValue(key: symbol): unknown {
    let node: LinkedContext | undefined = this;
    while (node !== undefined) {
      if (node.#key === key) return node.#value;
      const map = node.#map;
      if (map !== undefined) return map.get(key);
      node = node.#parent;
    }
    return undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    if (this.#length >= MAX_CHAIN) {
      const map = this.#flatten();
      map.set(key, value);
      return new LinkedContext(undefined, undefined, undefined, 1, map);
    }
    return new LinkedContext(this, key, value, this.#length + 1, undefined);
  }

  deleteValue(key: symbol): Context {
    if (this.getValue(key) === undefined) return this;
    if (this.#length >= MAX_CHAIN) {
      const map = this.#flatten();
      map.delete(key);
      return new LinkedContext(undefined, undefined, undefined, 1, map);
    }
    return new LinkedContext(this, key, undefined, this.#length + 1, undefined);
  }

  /** Every key with a value, nearest node winning, as a new Map. */
  #flatten(): Map<symbol, unknown> {
    const nodes: LinkedContext[] = [];
    for (let node: LinkedContext | undefined = this; node !== undefined; node = node.#parent) nodes.push(node);
    const map = new Map<symbol, unknown>();
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i] as LinkedContext;
      if (node.#map !== undefined) for (const [k, v] of node.#map) map.set(k, v);
      if (node.#key !== undefined) {
        if (node.#value === undefined) map.delete(node.#key);
        else map.set(node.#key, node.#value);
      }
    }
    return map;
  }
}
