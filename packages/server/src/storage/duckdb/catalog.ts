/**
 * What the DuckDB store keeps in memory about the shape of its data: the
 * attribute shapes, resources and scopes it has given ids to.
 *
 * Attributes are stored in slot columns. A span's attribute keys and types,
 * in order, are its *shape*; a shape gets a small id and puts each attribute
 * in one of {@link SLOT_COUNT} `VARCHAR` columns (`v0`, `v1`, ...), or, when
 * they are all taken, in the overflow list column. A key keeps the slot it
 * got first whenever it can, so a condition on a key usually reads a single
 * column: `shape IN (<shapes with the key in slot 3>) AND v3 = 'GET'`. Both
 * parts are plain column comparisons that DuckDB evaluates inside the scan,
 * on dictionary-compressed strings, instead of decoding a list per row; and
 * rows of one shape repeat the same keys for free.
 *
 * Ids are global across day files (each day file keeps a copy of the rows it
 * uses), so one SQL condition works over every day.
 */

import type { InstrumentationScope, KeyValue, Resource } from '@traceloom/model';
import { attrTypeOf, encodeResource, encodeScope } from './row-codec.ts';

/** Number of slot columns (`v0` ... `v23`). */
export const SLOT_COUNT = 24;

/** One attribute shape. */
export interface Shape {
  readonly id: number;
  /** One type letter per attribute (see `AttrType`). */
  readonly types: string;
  readonly keys: readonly string[];
  /** Per attribute: its slot (>= 0), or `-(j + 1)` for index j of the overflow list. */
  readonly slots: readonly number[];
  /** Bit `s` set for every slot column `v<s>` the shape uses (the columns a read of its spans needs). */
  readonly slotMask: number;
}

/** The slot columns a shape's `slots` use, as a bit mask. */
export function slotMaskOf(slots: readonly number[]): number {
  let m = 0;
  for (const s of slots) if (s >= 0) m |= 1 << s;
  return m;
}

/** Where the first occurrence of a key sits in shapes: per slot (or overflow index), the shapes and the value type there. */
export interface KeyPlacement {
  /** `v<slot>` for slots, an extraction from the `attr_more` JSON array for the overflow. */
  readonly column: string;
  readonly type: string;
  readonly shapes: number[];
}

/** Nodes of the shape-lookup cache before it is started afresh. */
const MAX_TRIE_NODES = 200_000;

interface AttrTrie {
  readonly next: Map<string, Map<string, AttrTrie>>;
  shape?: Shape;
}

/** The store's registry of shapes, resources and scopes. */
export class Catalog {
  readonly #shapes = new Map<string, Shape>();
  readonly #shapeById = new Map<number, Shape>();
  readonly #keySlot = new Map<string, number>();
  #attrTrie: AttrTrie = { next: new Map() };
  #attrTrieNodes = 0;
  #nextShape = 1;
  #maxSlot = -1;
  readonly #resourceIds = new Map<string, number>();
  readonly #resources = new Map<number, Resource>();
  readonly #resourceBodies = new Map<number, string>();
  #nextResource = 1;
  readonly #scopeIds = new Map<string, number>();
  readonly #scopes = new Map<number, InstrumentationScope>();
  readonly #scopeBodies = new Map<number, string>();
  #nextScope = 1;
  /** Last resource and scope objects seen: spans of one batch share them. */
  readonly #resourceOf = new WeakMap<Resource, number>();
  readonly #scopeOf = new WeakMap<InstrumentationScope, number>();

  /** The shape of a key sequence, created when new (`isNew` tells the caller to persist it). */
  shapeFor(keys: readonly string[], types: string): { shape: Shape; isNew: boolean } {
    const k = keys.length === 0 ? types : `${types}\u0002${keys.join('\u0001')}`;
    const known = this.#shapes.get(k);
    if (known !== undefined) return { shape: known, isNew: false };
    // First the keys that have a slot of their own, then the rest in the free slots.
    const used = new Set<number>();
    const slots = new Array<number>(keys.length).fill(Number.NaN);
    keys.forEach((key, i) => {
      const pref = this.#keySlot.get(key);
      if (pref !== undefined && !used.has(pref)) {
        used.add(pref);
        slots[i] = pref;
      }
    });
    let free = 0;
    let overflow = 0;
    keys.forEach((key, i) => {
      if (!Number.isNaN(slots[i])) return;
      while (free < SLOT_COUNT && used.has(free)) free++;
      if (free === SLOT_COUNT) {
        slots[i] = -++overflow;
        return;
      }
      used.add(free);
      slots[i] = free;
      if (!this.#keySlot.has(key)) this.#keySlot.set(key, free);
    });
    const shape: Shape = { id: this.#nextShape++, types, keys: [...keys], slots, slotMask: slotMaskOf(slots) };
    this.#addShape(k, shape);
    return { shape, isNew: true };
  }

  #addShape(k: string, shape: Shape): void {
    this.#shapes.set(k, shape);
    this.#shapeById.set(shape.id, shape);
    for (const slot of shape.slots) if (slot > this.#maxSlot) this.#maxSlot = slot;
    if (shape.id >= this.#nextShape) this.#nextShape = shape.id + 1;
  }

  /**
   * The shape of a span's attributes, found without building any string or array when it is
   * known: a walk down a trie keyed by each attribute's key, then its type letter.
   */
  shapeOfAttributes(attrs: readonly KeyValue[]): Shape {
    let node = this.#attrTrie;
    for (let j = 0; j < attrs.length; j++) {
      const kv = attrs[j]!;
      let byType = node.next.get(kv.key);
      if (byType === undefined) {
        byType = new Map();
        node.next.set(kv.key, byType);
      }
      const t = attrTypeOf(kv.value);
      let next = byType.get(t);
      if (next === undefined) {
        if (this.#attrTrieNodes++ > MAX_TRIE_NODES) {
          this.#attrTrie = { next: new Map() };
          this.#attrTrieNodes = 0;
          return this.#slowShape(attrs);
        }
        next = { next: new Map() };
        byType.set(t, next);
      }
      node = next;
    }
    if (node.shape === undefined) node.shape = this.#slowShape(attrs);
    return node.shape;
  }

  #slowShape(attrs: readonly KeyValue[]): Shape {
    let types = '';
    const keys = attrs.map((kv) => {
      types += attrTypeOf(kv.value);
      return kv.key;
    });
    return this.shapeFor(keys, types).shape;
  }

  /** Registers a shape read back from a day file. */
  loadShape(id: number, types: string, keys: readonly string[], slots: readonly number[]): void {
    if (this.#shapeById.has(id)) return;
    const k = keys.length === 0 ? types : `${types}\u0002${keys.join('\u0001')}`;
    keys.forEach((key, i) => {
      const s = slots[i]!;
      if (s >= 0 && !this.#keySlot.has(key)) this.#keySlot.set(key, s);
    });
    this.#addShape(k, { id, types, keys: [...keys], slots: [...slots], slotMask: slotMaskOf(slots) });
  }

  /** The highest slot column any shape uses (-1 when none does): reads may leave out the ones above. */
  get maxSlot(): number {
    return this.#maxSlot;
  }

  shape(id: number): Shape | undefined {
    return this.#shapeById.get(id);
  }

  /** Where `key` first occurs in the shapes that contain it, grouped by column and value type. */
  placements(key: string): KeyPlacement[] {
    const groups = new Map<string, KeyPlacement>();
    for (const shape of this.#shapeById.values()) {
      const i = shape.keys.indexOf(key);
      if (i < 0) continue;
      const s = shape.slots[i]!;
      const column = s >= 0 ? `v${s}` : `json_extract_string(attr_more, '$[${-s - 1}]')`;
      const type = shape.types[i]!;
      const g = `${column}\u0000${type}`;
      let p = groups.get(g);
      if (p === undefined) {
        p = { column, type, shapes: [] };
        groups.set(g, p);
      }
      p.shapes.push(shape.id);
    }
    return [...groups.values()];
  }

  /** Ids of every shape that contains `key`. */
  shapesWith(key: string): number[] {
    const out: number[] = [];
    for (const shape of this.#shapeById.values()) if (shape.keys.includes(key)) out.push(shape.id);
    return out;
  }

  /** The id of a resource (by content), created when new. */
  resourceId(r: Resource): number {
    const cached = this.#resourceOf.get(r);
    if (cached !== undefined) return cached;
    const body = encodeResource(r);
    let id = this.#resourceIds.get(body);
    if (id === undefined) {
      id = this.#nextResource++;
      this.#resourceIds.set(body, id);
      this.#resources.set(id, r);
      this.#resourceBodies.set(id, body);
    }
    this.#resourceOf.set(r, id);
    return id;
  }

  /** The canonical JSON of a resource id. */
  resourceBody(id: number): string {
    return this.#resourceBodies.get(id)!;
  }

  loadResource(id: number, body: string, r: Resource): void {
    if (!this.#resourceIds.has(body)) this.#resourceIds.set(body, id);
    this.#resources.set(id, r);
    this.#resourceBodies.set(id, body);
    if (id >= this.#nextResource) this.#nextResource = id + 1;
  }

  resource(id: number): Resource | undefined {
    return this.#resources.get(id);
  }

  /** The id of a scope (by content), created when new. */
  scopeId(s: InstrumentationScope): number {
    const cached = this.#scopeOf.get(s);
    if (cached !== undefined) return cached;
    const body = encodeScope(s);
    let id = this.#scopeIds.get(body);
    if (id === undefined) {
      id = this.#nextScope++;
      this.#scopeIds.set(body, id);
      this.#scopes.set(id, s);
      this.#scopeBodies.set(id, body);
    }
    this.#scopeOf.set(s, id);
    return id;
  }

  /** The canonical JSON of a scope id. */
  scopeBody(id: number): string {
    return this.#scopeBodies.get(id)!;
  }

  loadScope(id: number, body: string, s: InstrumentationScope): void {
    if (!this.#scopeIds.has(body)) this.#scopeIds.set(body, id);
    this.#scopes.set(id, s);
    this.#scopeBodies.set(id, body);
    if (id >= this.#nextScope) this.#nextScope = id + 1;
  }

  scope(id: number): InstrumentationScope | undefined {
    return this.#scopes.get(id);
  }
}
