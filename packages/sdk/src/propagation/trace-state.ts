import type { TraceState } from '@opentelemetry/api';
import { indexIn, isOws } from './internal/common.ts';

/** W3C Trace Context §3.3.1.1: at most 32 list-members. */
const MAX_MEMBERS = 32;
/** §3.3.1.5: vendors SHOULD propagate at least 512 characters of the combined header. */
const MAX_LENGTH = 512;
/** §3.3.1.5: when truncating, members longer than 128 characters go first. */
const LONG_MEMBER = 128;

function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
// lcalpha / DIGIT / "_" / "-" / "*" / "/"
function isKeyChar(c: number): boolean {
  return isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2a || c === 0x2f;
}

/**
 * Validates a tracestate key (§3.3.1.3.1):
 * `simple-key = lcalpha 0*255(keychar)` or
 * `multi-tenant-key = (lcalpha / DIGIT) 0*240(keychar) "@" lcalpha 0*13(keychar)`.
 */
export function isValidTraceStateKey(s: string, start = 0, end = s.length): boolean {
  const len = end - start;
  if (len <= 0 || len > 256) return false;
  const first = s.charCodeAt(start);
  let at = -1;
  for (let i = start + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x40) {
      if (at !== -1) return false;
      at = i;
    } else if (!isKeyChar(c)) return false;
  }
  if (at === -1) return isLcAlpha(first);
  const tenantLen = at - start;
  const systemLen = end - at - 1;
  if (!(isLcAlpha(first) || isDigit(first)) || tenantLen > 241) return false;
  return systemLen >= 1 && systemLen <= 14 && isLcAlpha(s.charCodeAt(at + 1));
}

/**
 * Validates a tracestate value (§3.3.1.3.2): `0*255(chr) nblk-chr` where
 * `nblk-chr` is 0x21-0x7E except `,` and `=`, and `chr` adds the space.
 */
export function isValidTraceStateValue(s: string, start = 0, end = s.length): boolean {
  const len = end - start;
  if (len <= 0 || len > 256) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x2c || c === 0x3d) return false;
  }
  return s.charCodeAt(end - 1) !== 0x20;
}

/**
 * An immutable W3C tracestate, ordered as on the wire (most recently updated
 * vendor first). Implements the `@opentelemetry/api` `TraceState`, so it can
 * sit in any span context.
 */
export class W3CTraceState implements TraceState {
  readonly #keys: readonly string[];
  readonly #values: readonly string[];
  #serialized: string | undefined;

  /** Prefer {@link parseTraceState} or {@link W3CTraceState.empty}; arrays are taken as they are (already valid). */
  constructor(keys: readonly string[], values: readonly string[]) {
    this.#keys = keys;
    this.#values = values;
    this.#serialized = undefined;
  }

  /** A tracestate with no members. */
  static empty(): W3CTraceState {
    return EMPTY;
  }

  /** Number of list-members. */
  get size(): number {
    return this.#keys.length;
  }

  /**
   * Adds or updates `key`, moving it to the front (§3.5: a vendor updating its
   * entry moves it to the beginning). Invalid keys or values, or a 33rd
   * member, leave the state unchanged.
   */
  set(key: string, value: string): W3CTraceState {
    if (!isValidTraceStateKey(key) || !isValidTraceStateValue(value)) return this;
    const keys = [key];
    const values = [value];
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#keys[i] === key) continue;
      keys.push(this.#keys[i]!);
      values.push(this.#values[i]!);
    }
    if (keys.length > MAX_MEMBERS) return this;
    return new W3CTraceState(keys, values);
  }

  /** Removes `key`; unchanged when absent. */
  unset(key: string): W3CTraceState {
    const i = this.#keys.indexOf(key);
    if (i === -1) return this;
    const keys = this.#keys.slice();
    const values = this.#values.slice();
    keys.splice(i, 1);
    values.splice(i, 1);
    return new W3CTraceState(keys, values);
  }

  /** The value of `key`, or undefined. */
  get(key: string): string | undefined {
    const i = this.#keys.indexOf(key);
    return i === -1 ? undefined : this.#values[i];
  }

  /** The header value: `key=value` members joined by `,` (no spaces). */
  serialize(): string {
    if (this.#serialized === undefined) {
      let out = '';
      for (let i = 0; i < this.#keys.length; i++) {
        out += `${i === 0 ? '' : ','}${this.#keys[i]}=${this.#values[i]}`;
      }
      this.#serialized = out;
    }
    return this.#serialized;
  }
}

const EMPTY = new W3CTraceState([], []);

/**
 * Parses one or more combined `tracestate` header values (§3.3.1: several
 * headers are joined with `,`).
 *
 * Returns undefined when the header is malformed (an invalid key or value, a
 * member without `=`, a duplicated key, or more than 32 members): §3.3.1.1
 * and the W3C test suite treat such a header as unparseable, and it is
 * dropped whole while the traceparent is kept. Empty and whitespace-only
 * members are allowed and not counted. When the result exceeds 512
 * characters it is truncated as §3.3.1.5 suggests: members longer than 128
 * characters go first, then members from the end.
 */
export function parseTraceState(header: string): W3CTraceState | undefined {
  const keys: string[] = [];
  const values: string[] = [];
  let total = 0;
  const n = header.length;
  let pos = 0;
  while (pos <= n) {
    let end = header.indexOf(',', pos);
    if (end === -1) end = n;
    let s = pos;
    let e = end;
    while (s < e && isOws(header.charCodeAt(s))) s++;
    while (e > s && isOws(header.charCodeAt(e - 1))) e--;
    pos = end + 1;
    if (s === e) continue;
    const eq = indexIn(header, 0x3d, s, e);
    if (eq === -1) return undefined;
    if (!isValidTraceStateKey(header, s, eq) || !isValidTraceStateValue(header, eq + 1, e)) return undefined;
    if (keys.length === MAX_MEMBERS) return undefined;
    const key = header.slice(s, eq);
    if (keys.indexOf(key) !== -1) return undefined;
    keys.push(key);
    values.push(header.slice(eq + 1, e));
    total += e - s;
  }
  if (keys.length === 0) return EMPTY;
  total += keys.length - 1;
  if (total > MAX_LENGTH) truncate(keys, values, total);
  return new W3CTraceState(keys, values);
}

function memberLength(keys: string[], values: string[], i: number): number {
  return keys[i]!.length + 1 + values[i]!.length;
}

function truncate(keys: string[], values: string[], total: number): void {
  for (let i = keys.length - 1; i >= 0 && total > MAX_LENGTH; i--) {
    const len = memberLength(keys, values, i);
    if (len > LONG_MEMBER) {
      keys.splice(i, 1);
      values.splice(i, 1);
      total -= len + (keys.length > 0 ? 1 : 0);
    }
  }
  while (total > MAX_LENGTH && keys.length > 0) {
    const i = keys.length - 1;
    total -= memberLength(keys, values, i) + (i > 0 ? 1 : 0);
    keys.pop();
    values.pop();
  }
}
