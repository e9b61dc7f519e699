/**
 * The search cursor shared by every backend: base64url of a small JSON object
 * holding the last row's sort key and trace id. Pages are ordered by sort key
 * descending, then trace id ascending, so the pair is a strict position and
 * the next page is "every row after it" (keyset pagination: no offsets, so
 * no duplicates or gaps when rows are added while paging).
 */

import { QueryInputError } from '../types.ts';

/** Where a page ended. */
export interface CursorPosition {
  /** The last row's sort key: trace start for `recent`, trace duration for `longest`. */
  readonly sortKey: bigint;
  readonly traceId: string;
}

/** Encodes the position of the last row of a page. */
export function encodeCursor(position: CursorPosition): string {
  const json = JSON.stringify({ k: position.sortKey.toString(), t: position.traceId });
  return Buffer.from(json, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor}.
 * @throws QueryInputError (parameter `cursor`) when it was not made by us.
 */
export function decodeCursor(cursor: string): CursorPosition {
  const bad = (): QueryInputError =>
    new QueryInputError('cursor', 'The cursor is not valid: pass the nextCursor of the previous page unchanged.');
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad();
  const { k, t } = parsed as { k?: unknown; t?: unknown };
  if (typeof k !== 'string' || !/^-?\d{1,20}$/.test(k) || typeof t !== 'string' || !/^[0-9a-f]{32}$/.test(t)) {
    throw bad();
  }
  return { sortKey: BigInt(k), traceId: t };
}

/**
 * True when a row with `sortKey` and `traceId` comes after `position` in
 * page order (sort key descending, then trace id ascending).
 */
export function isAfterCursor(sortKey: bigint, traceId: string, position: CursorPosition): boolean {
  if (sortKey !== position.sortKey) return sortKey < position.sortKey;
  return traceId > position.traceId;
}
