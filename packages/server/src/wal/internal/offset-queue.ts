/**
 * The cumulative end offset of every unreleased record, in LSN order, so that
 * `release(lsn)` knows exactly how many bytes it frees. Two flat Float64
 * arrays (16 bytes per unreleased record) instead of an object per record:
 * a log with a million unreleased requests holds 16 MB here.
 */
export class OffsetQueue {
  #lsns = new Float64Array(1024);
  #ends = new Float64Array(1024);
  #head = 0;
  #tail = 0;

  /** Unreleased records tracked. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Adds a record; LSNs (below 2^53) must be pushed in increasing order. */
  push(lsn: bigint, cumulativeEnd: number): void {
    if (this.#tail === this.#lsns.length) this.#makeRoom();
    this.#lsns[this.#tail] = Number(lsn);
    this.#ends[this.#tail] = cumulativeEnd;
    this.#tail++;
  }

  /** Drops every record with LSN <= `upTo`; returns the cumulative end of the last one dropped, or `undefined`. */
  dropUpTo(upTo: bigint): number | undefined {
    const limit = Number(upTo);
    let end: number | undefined;
    while (this.#head < this.#tail && this.#lsns[this.#head]! <= limit) {
      end = this.#ends[this.#head]!;
      this.#head++;
    }
    if (this.#head === this.#tail) {
      this.#head = 0;
      this.#tail = 0;
    }
    return end;
  }

  #makeRoom(): void {
    const live = this.#tail - this.#head;
    // Compact in place when at least half is dropped space; grow otherwise.
    const size = live * 2 <= this.#lsns.length ? this.#lsns.length : this.#lsns.length * 2;
    const lsns = new Float64Array(size);
    const ends = new Float64Array(size);
    lsns.set(this.#lsns.subarray(this.#head, this.#tail));
    ends.set(this.#ends.subarray(this.#head, this.#tail));
    this.#lsns = lsns;
    this.#ends = ends;
    this.#head = 0;
    this.#tail = live;
  }
}
