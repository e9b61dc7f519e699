import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryInputError } from '../types.ts';
import { decodeCursor, encodeCursor, isAfterCursor } from './cursor.ts';

const T = '0af7651916cd43dd8448eb211c80319c';

describe('cursor', () => {
  it('round trips keys beyond 2^53 and negative keys', () => {
    for (const sortKey of [0n, 1_700_000_000_123_456_789n, -5n, 18_446_744_073_709_551_615n]) {
      const c = encodeCursor({ sortKey, traceId: T });
      assert.match(c, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(decodeCursor(c), { sortKey, traceId: T });
    }
  });

  it('rejects cursors it did not make with QueryInputError', () => {
    const forged = Buffer.from(JSON.stringify({ k: 'x', t: T })).toString('base64url');
    for (const c of ['', 'not a cursor!', 'AAAA', forged, Buffer.from('[1]').toString('base64url')]) {
      assert.throws(
        () => decodeCursor(c),
        (e: unknown) => e instanceof QueryInputError && e.parameter === 'cursor',
      );
    }
  });

  it('orders by key descending then trace id ascending', () => {
    const pos = { sortKey: 10n, traceId: '5'.repeat(32) };
    assert.equal(isAfterCursor(9n, '0'.repeat(32), pos), true);
    assert.equal(isAfterCursor(11n, 'f'.repeat(32), pos), false);
    assert.equal(isAfterCursor(10n, '6'.repeat(32), pos), true);
    assert.equal(isAfterCursor(10n, '5'.repeat(32), pos), false);
    assert.equal(isAfterCursor(10n, '4'.repeat(32), pos), false);
  });
});
