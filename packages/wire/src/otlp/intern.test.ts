import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WholeKeyInternTable } from './intern.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('WholeKeyInternTable', () => {
  it('finds a value by all of its key bytes, and only by them', () => {
    const t = new WholeKeyInternTable<string>(8, 64);
    const a = bytes('service.name=svc-01 pod=pod-01-x7k2p sdk=2.12.1');
    const b = bytes('service.name=svc-02 pod=pod-01-x7k2p sdk=2.12.1');
    const ha = t.hash(viewOf(a), 0, a.length);
    const hb = t.hash(viewOf(b), 0, b.length);
    assert.notEqual(ha, hb, 'a difference in the middle changes the hash');
    t.set(ha, a, 0, a.length, 'A');
    assert.equal(t.get(ha, viewOf(a), 0, a.length), 'A');
    assert.equal(t.get(hb, viewOf(b), 0, b.length), undefined);
    // A key read at an offset inside a larger buffer, as the decoder reads it.
    const framed = new Uint8Array(a.length + 10);
    framed.set(a, 5);
    assert.equal(t.hash(viewOf(framed), 5, 5 + a.length), ha);
    assert.equal(t.get(ha, viewOf(framed), 5, 5 + a.length), 'A');
    // The same hash with other bytes (as if two keys collided) is a miss, never the wrong value.
    assert.equal(t.get(ha, viewOf(b), 0, b.length), undefined);
    // Changing the caller's buffer later does not change the kept key.
    a[0] = 0x58;
    assert.equal(t.get(ha, viewOf(bytes('service.name=svc-01 pod=pod-01-x7k2p sdk=2.12.1')), 0, a.length), 'A');
  });

  it('keeps no keys shorter than 4 or longer than its limit, and empties itself when full', () => {
    const t = new WholeKeyInternTable<number>(2, 16);
    const tiny = bytes('abc');
    assert.equal(t.hash(viewOf(tiny), 0, 3), -1);
    t.set(-1, tiny, 0, 3, 1);
    assert.equal(t.get(-1, viewOf(tiny), 0, 3), undefined);
    const long = bytes('x'.repeat(17));
    assert.equal(t.hash(viewOf(long), 0, long.length), -1);
    const keys = ['key-one!', 'key-two!', 'key-three'].map(bytes);
    const hashes = keys.map((k) => t.hash(viewOf(k), 0, k.length));
    for (const [i, k] of keys.entries()) t.set(hashes[i] as number, k, 0, k.length, i);
    // The third set found the table full and emptied it first.
    assert.equal(t.get(hashes[0] as number, viewOf(keys[0] as Uint8Array), 0, 8), undefined);
    assert.equal(t.get(hashes[2] as number, viewOf(keys[2] as Uint8Array), 0, 9), 2);
  });
});
