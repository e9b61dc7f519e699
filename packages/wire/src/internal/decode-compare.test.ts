import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sameBytes } from './decode-compare.ts';

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** `bytes` placed at `offset` in a larger buffer, so that reads are unaligned. */
function at(bytes: Uint8Array, offset: number): DataView {
  const b = new Uint8Array(offset + bytes.length + 3).fill(0xee);
  b.set(bytes, offset);
  return new DataView(b.buffer, offset, bytes.length);
}

/** Whether the eight bytes at `i` read as a little-endian float64 NaN. */
function isNaNAt(b: Uint8Array, i: number): boolean {
  return Number.isNaN(view(b).getFloat64(i, true));
}

/**
 * What sameBytes should answer: byte equality, except that equal runs with a
 * NaN in one of the eight-byte steps it reads are reported different.
 */
function expectedSame(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  if (n < 8) return true;
  for (let i = 0; i < n - 8; i += 8) if (isNaNAt(a, i)) return false;
  return !isNaNAt(a, n - 8);
}

describe('sameBytes', () => {
  it('agrees with a byte-by-byte comparison on runs of 4 to 130 bytes (NaN steps aside)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 130 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 7 }),
        fc.nat({ max: 7 }),
        (a, where, byte, offA, offB) => {
          const b = a.slice();
          const i = where % b.length;
          b[i] = byte;
          assert.equal(sameBytes(at(a, offA), 0, at(b, offB), 0, a.length), expectedSame(a, b));
          assert.equal(sameBytes(at(a, offA), 0, at(a, offB), 0, a.length), expectedSame(a, a));
          // Never equal when one byte differs.
          if (a[i] !== byte) assert.equal(sameBytes(at(a, offA), 0, at(b, offB), 0, a.length), false);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('tells +0 from -0 in every eight-byte step, including the last, overlapping one', () => {
    for (const n of [8, 9, 15, 16, 17, 24, 31]) {
      for (let step = 0; step + 8 <= n; step += 1) {
        const zeros = new Uint8Array(n);
        const negative = new Uint8Array(n);
        negative[step + 7] = 0x80; // little-endian float64 -0 in bytes [step, step + 8)
        assert.equal(sameBytes(view(zeros), 0, view(negative), 0, n), false, `n ${n}, -0 at ${step}`);
        assert.equal(sameBytes(view(negative), 0, view(zeros), 0, n), false, `n ${n}, -0 at ${step}`);
        assert.equal(sameBytes(view(negative), 0, view(negative.slice()), 0, n), true);
      }
    }
  });

  it('reports runs holding NaN bit patterns as different, never equal runs as equal when they are not', () => {
    const nan = new Uint8Array([0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 1, 2, 3]);
    const other = nan.slice();
    other[0] = 1; // another NaN payload
    assert.equal(sameBytes(view(nan), 0, view(other), 0, nan.length), false);
    // Equal NaN runs read as different: for a cache only a miss.
    assert.equal(sameBytes(view(nan), 0, view(nan.slice()), 0, nan.length), false);
  });

  it('compares 4 to 7 bytes with two overlapping words', () => {
    for (let n = 4; n < 8; n++) {
      for (let i = 0; i < n; i++) {
        const a = new Uint8Array(n).fill(7);
        const b = a.slice();
        b[i] = 8;
        assert.equal(sameBytes(view(a), 0, view(b), 0, n), false);
        assert.equal(sameBytes(view(a), 0, view(a.slice()), 0, n), true);
      }
    }
  });
});
