/**
 * On-disk framing of one WAL record and a buffered reader over a segment file.
 *
 * Layout (little-endian): u32 payload length, u32 CRC32, u8 kind, u64 LSN,
 * payload. The CRC covers kind, LSN and payload, so a record whose header was
 * written but whose payload was not (a torn tail) fails the check, and so does
 * a zero-filled tail that some file systems leave after a crash.
 */

import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** Bytes before the payload: length, CRC, kind, LSN. */
export const HEADER_BYTES = 17;
/** Offset of the part of the header that the CRC covers (kind + LSN). */
const CRC_START = 8;

/** Writes the header of one record into `target` at `offset`. */
export function writeHeader(target: Buffer, offset: number, kind: number, lsn: bigint, payload: Uint8Array): void {
  target.writeUInt32LE(payload.byteLength, offset);
  target.writeUInt8(kind, offset + 8);
  target.writeBigUInt64LE(lsn, offset + 9);
  const crc = crc32(payload, crc32(target.subarray(offset + CRC_START, offset + HEADER_BYTES)));
  target.writeUInt32LE(crc, offset + 4);
}

/** One record read back from a segment. */
export interface ReadRecord {
  readonly lsn: bigint;
  readonly kind: number;
  /** A copy owned by the caller. */
  readonly payload: Buffer;
  /** File offset just past the record. */
  readonly end: number;
}

/** Why reading stopped before the end of the readable range. */
export type ReadStop = 'eof' | 'short' | 'crc';

const CHUNK_BYTES = 1 << 20;

/**
 * Reads records one by one from `fh` between offset 0 and `limit`. Reads in
 * 1 MiB chunks so that small records do not cost a system call each, and
 * grows its buffer only for payloads larger than that.
 */
export class SegmentReader {
  readonly #fh: FileHandle;
  readonly #limit: number;
  #buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  /** File offset of `#buf[0]`. */
  #bufStart = 0;
  /** Valid bytes in `#buf`. */
  #bufLen = 0;
  /** File offset of the next unread record. */
  offset = 0;
  /** Set once `next()` returned `undefined`. */
  stop: ReadStop = 'eof';

  constructor(fh: FileHandle, limit: number) {
    this.#fh = fh;
    this.#limit = limit;
  }

  /** The next valid record, or `undefined` at the end or at the first bad record (see {@link stop}). */
  async next(): Promise<ReadRecord | undefined> {
    if (this.offset >= this.#limit) {
      this.stop = 'eof';
      return undefined;
    }
    if (!(await this.#ensure(HEADER_BYTES))) return this.#fail('short');
    const at = this.offset - this.#bufStart;
    const length = this.#buf.readUInt32LE(at);
    // A length past the end of the file is a torn or garbage header; checking
    // first avoids allocating gigabytes for a random u32.
    if (this.offset + HEADER_BYTES + length > this.#limit) return this.#fail('short');
    if (!(await this.#ensure(HEADER_BYTES + length))) return this.#fail('short');
    const h = this.offset - this.#bufStart;
    const stored = this.#buf.readUInt32LE(h + 4);
    const body = this.#buf.subarray(h + CRC_START, h + HEADER_BYTES + length);
    if (crc32(body) !== stored) return this.#fail('crc');
    const kind = this.#buf.readUInt8(h + 8);
    const lsn = this.#buf.readBigUInt64LE(h + 9);
    const payload = Buffer.from(this.#buf.subarray(h + HEADER_BYTES, h + HEADER_BYTES + length));
    this.offset += HEADER_BYTES + length;
    return { lsn, kind, payload, end: this.offset };
  }

  #fail(stop: ReadStop): undefined {
    this.stop = stop;
    return undefined;
  }

  /** Makes `n` bytes from `offset` available in the buffer; false if the range ends first. */
  async #ensure(n: number): Promise<boolean> {
    if (this.offset + n > this.#limit) return false;
    const have = this.#bufStart + this.#bufLen - this.offset;
    if (have >= n) return true;
    const keepFrom = this.offset - this.#bufStart;
    if (n > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, CHUNK_BYTES));
      this.#buf.copy(bigger, 0, keepFrom, this.#bufLen);
      this.#buf = bigger;
    } else {
      this.#buf.copy(this.#buf, 0, keepFrom, this.#bufLen);
    }
    this.#bufStart = this.offset;
    this.#bufLen = Math.max(0, have);
    while (this.#bufLen < n) {
      const want = Math.min(this.#buf.length - this.#bufLen, this.#limit - (this.#bufStart + this.#bufLen));
      if (want <= 0) return false;
      const { bytesRead } = await this.#fh.read(this.#buf, this.#bufLen, want, this.#bufStart + this.#bufLen);
      if (bytesRead === 0) return false;
      this.#bufLen += bytesRead;
    }
    return true;
  }
}
