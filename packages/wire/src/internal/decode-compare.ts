/**
 * Byte-run equality for the decoders' intern caches, eight bytes per step.
 *
 * JS has no 64-bit integer loads without `bigint`, so the bytes are read as
 * float64s: two doubles compare equal exactly when their bits are equal,
 * except for +0 / -0 (equal, different bits: checked apart) and NaNs (never
 * equal, so a run containing one is reported different; for a cache that is
 * only a miss). Half as many steps as 32-bit words, which measured as a
 * large part of an attribute lookup.
 */

/**
 * Whether `a[aStart, aStart + n)` equals `b[bStart, bStart + n)`, for
 * `n >= 4` (both ranges within their views; neither checked).
 */
export function sameBytes(a: DataView, aStart: number, b: DataView, bStart: number, n: number): boolean {
  if (n < 8) {
    // Two overlapping words cover 4 to 8 bytes.
    return (
      a.getInt32(aStart, true) === b.getInt32(bStart, true) &&
      a.getInt32(aStart + n - 4, true) === b.getInt32(bStart + n - 4, true)
    );
  }
  const last = n - 8;
  for (let i = 0; i < last; i += 8) {
    const x = a.getFloat64(aStart + i, true);
    const y = b.getFloat64(bStart + i, true);
    if (x !== y || (x === 0 && 1 / x !== 1 / y)) return false;
  }
  // The last eight bytes, overlapping the steps before when n is not a multiple of 8.
  const x = a.getFloat64(aStart + last, true);
  const y = b.getFloat64(bStart + last, true);
  return x === y && (x !== 0 || 1 / x === 1 / y);
}
