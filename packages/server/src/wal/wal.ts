/**
 * The write-ahead log: receivers append each request body and answer the
 * client once `append` resolves, that is once the record is fsynced. Storage
 * releases what it has committed; on start, what was not released is replayed.
 */

import type { FileHandle } from 'node:fs/promises';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirSync } from '../internal/ensure-dir.ts';
import { OffsetQueue } from './internal/offset-queue.ts';
import { HEADER_BYTES, type ReadStop, SegmentReader, writeHeader } from './internal/record.ts';

/** Options of {@link WriteAheadLog.open}. */
export interface WalOptions {
  /** Folder for segment files; created if missing. */
  dir: string;
  /** Start a new segment file after this many bytes. @default 64 MiB */
  segmentBytes?: number;
  /** Refuse appends (throw {@link WalFullError}) while unreleased bytes exceed this. @default 1 GiB */
  maxUnreleasedBytes?: number;
  /** fsync before resolving appends. Only tests may turn it off. @default true */
  fsync?: boolean;
}

/** Defaults of {@link WalOptions}. */
export const WAL_DEFAULTS = {
  segmentBytes: 64 * 1024 * 1024,
  maxUnreleasedBytes: 1024 * 1024 * 1024,
  fsync: true,
} as const;

/** {@link WalOptions} with every default filled in. */
export type ResolvedWalOptions = Readonly<Required<WalOptions>>;

/** Fills in the defaults of {@link WalOptions} and checks the numbers. */
export function resolveWalOptions(options: WalOptions): ResolvedWalOptions {
  const resolved = {
    dir: options.dir,
    segmentBytes: options.segmentBytes ?? WAL_DEFAULTS.segmentBytes,
    maxUnreleasedBytes: options.maxUnreleasedBytes ?? WAL_DEFAULTS.maxUnreleasedBytes,
    fsync: options.fsync ?? WAL_DEFAULTS.fsync,
  };
  if (!Number.isSafeInteger(resolved.segmentBytes) || resolved.segmentBytes <= 0) {
    throw new RangeError(`WAL segmentBytes must be a positive integer, got ${resolved.segmentBytes}`);
  }
  if (!(resolved.maxUnreleasedBytes > 0)) {
    throw new RangeError(`WAL maxUnreleasedBytes must be positive, got ${resolved.maxUnreleasedBytes}`);
  }
  return resolved;
}

/**
 * Rejection of {@link WriteAheadLog.append} when storage is too far behind:
 * the log already holds `maxUnreleasedBytes`. Receivers answer 429 /
 * RESOURCE_EXHAUSTED with `Retry-After`; appends succeed again after
 * {@link WriteAheadLog.release}.
 */
export class WalFullError extends Error {
  override readonly name = 'WalFullError';
  /** Seconds after which the client should retry. */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** One record handed to {@link WriteAheadLog.replay}. */
export interface WalRecord {
  /** Log sequence number: 1, 2, 3... across restarts. */
  readonly lsn: bigint;
  /** Format tag given to `append` (0..255). */
  readonly kind: number;
  /** The bytes given to `append`; a copy the callback may keep. */
  readonly payload: Uint8Array;
}

/** What {@link WriteAheadLog.open} cut off a segment because it was torn or corrupt. */
export interface WalRepair {
  /** Segment file name. */
  readonly segment: string;
  /** Offset of the first bad record: the new length of the file. */
  readonly offset: number;
  /** Bytes removed. */
  readonly droppedBytes: number;
  /** `short`: a record ends past the end of the file; `crc`: checksum mismatch; `lsn`: out-of-sequence LSN. */
  readonly reason: ReadStop | 'lsn';
}

interface Segment {
  readonly name: string;
  readonly path: string;
  readonly firstLsn: bigint;
  /** `firstLsn - 1n` while empty. Only advanced after the records are durable. */
  lastLsn: bigint;
  /** Durable length; readers never look past it. */
  bytes: number;
}

interface ActiveSegment {
  readonly seg: Segment;
  readonly fh: FileHandle;
  /** The file was created and the directory entry not yet fsynced. */
  dirSyncPending: boolean;
}

interface PendingAppend {
  readonly kind: number;
  readonly payload: Uint8Array;
  readonly resolve: (lsn: bigint) => void;
  readonly reject: (err: unknown) => void;
}

const SEGMENT_RE = /^(\d{20})\.wal$/;
const RELEASED_FILE = 'released';
const RELEASED_TMP = 'released.tmp';
/** libuv splits larger writev calls anyway; bounding the group also bounds one write's latency. */
const MAX_GROUP_RECORDS = 1024;
const MAX_GROUP_BYTES = 64 * 1024 * 1024;
const MAX_PAYLOAD_BYTES = 0xffff_ffff;

function segmentName(firstLsn: bigint): string {
  return `${firstLsn.toString().padStart(20, '0')}.wal`;
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readReleased(dir: string): Promise<bigint> {
  let text: string;
  try {
    text = await readFile(join(dir, RELEASED_FILE), 'utf8');
  } catch (err) {
    if (isNotFound(err)) return 0n;
    throw err;
  }
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) {
    throw new Error(`WAL release point ${join(dir, RELEASED_FILE)} is not a number: ${JSON.stringify(trimmed)}`);
  }
  return BigInt(trimmed);
}

/**
 * A segmented, CRC-framed, group-committed write-ahead log.
 *
 * Appends that arrive while a write + fsync is in flight wait and go out
 * together in the next one, so throughput grows with concurrency while each
 * append still waits for at most two fsyncs. Segment files are named by their
 * first LSN; the release point lives in a small `released` file replaced
 * atomically (write temp, fsync, rename, fsync directory).
 *
 * @example
 * const wal = await WriteAheadLog.open({ dir: './traceloom-data/wal' });
 * await wal.replay((r) => storage.ingest(r.kind, r.payload));
 * const lsn = await wal.append(KIND_OTLP_PROTO, body); // durable now: answer 200
 * // ...after storage commits everything up to lsn:
 * await wal.release(lsn);
 */
export class WriteAheadLog {
  readonly #options: ResolvedWalOptions;
  #segments: Segment[] = [];
  #active: ActiveSegment | null = null;
  #pending: PendingAppend[] = [];
  #pendingBytes = 0;
  #flushing: Promise<void> | null = null;
  /** Serialises group writes with segment deletion, so a release never closes the file under a write. */
  #ioTail: Promise<unknown> = Promise.resolve();
  #releaseTail: Promise<unknown> = Promise.resolve();
  #offsets = new OffsetQueue();
  /** Bytes of all tracked records ever appended (or recovered) in this process. */
  #appendedBytes = 0;
  /** Part of `#appendedBytes` already released. */
  #releasedBytes = 0;
  #lastLsn = 0n;
  #releasedLsn = 0n;
  #closed = false;
  #repairs: WalRepair[] = [];
  /** Data fsyncs done by group commits (for tests of group commit). */
  syncs = 0;
  /** Group writes done (one write system call each). */
  groups = 0;

  private constructor(options: ResolvedWalOptions, releasedLsn: bigint) {
    this.#options = options;
    this.#releasedLsn = releasedLsn;
    this.#lastLsn = releasedLsn;
  }

  /**
   * Opens (or creates) the log in `options.dir`: scans every segment, cuts
   * each one at its first torn or corrupt record (see {@link repairs}),
   * deletes segments that are empty or wholly released, and continues
   * appending after the last valid record.
   */
  static async open(options: WalOptions): Promise<WriteAheadLog> {
    const resolved = resolveWalOptions(options);
    ensureDirSync(resolved.dir);
    const released = await readReleased(resolved.dir);
    await unlinkIfPresent(join(resolved.dir, RELEASED_TMP));
    const wal = new WriteAheadLog(resolved, released);
    await wal.#recover();
    return wal;
  }

  /** Bytes appended and not yet released. */
  get unreleasedBytes(): number {
    return this.#appendedBytes - this.#releasedBytes;
  }

  /** Last LSN appended (0n when empty). LSNs start at 1 and increase by 1 per record, across restarts. */
  get lastLsn(): bigint {
    return this.#lastLsn;
  }

  /** Last released LSN (persisted across restarts). */
  get releasedLsn(): bigint {
    return this.#releasedLsn;
  }

  /** What {@link open} cut off torn or corrupt segments; empty after a clean shutdown. */
  get repairs(): readonly WalRepair[] {
    return this.#repairs;
  }

  /** Segment files currently kept, oldest first. */
  get segmentFiles(): readonly string[] {
    return this.#segments.map((s) => s.name);
  }

  /**
   * Appends one record; resolves with its LSN once it (and every earlier
   * record) is fsynced. The log keeps a reference to `payload` until it is
   * written: do not modify it before the promise settles. Rejects with
   * {@link WalFullError} when the unreleased bytes would pass
   * `maxUnreleasedBytes`, and with the I/O error when the write or fsync
   * failed (the log stays usable; nothing of the group is acknowledged).
   */
  append(kind: number, payload: Uint8Array): Promise<bigint> {
    if (this.#closed) return Promise.reject(new Error('WAL is closed'));
    if (!Number.isInteger(kind) || kind < 0 || kind > 255) {
      return Promise.reject(new RangeError(`WAL record kind must be an integer 0..255, got ${kind}`));
    }
    if (payload.byteLength > MAX_PAYLOAD_BYTES) {
      return Promise.reject(new RangeError(`WAL record payload of ${payload.byteLength} bytes is over 4 GiB`));
    }
    const bytes = HEADER_BYTES + payload.byteLength;
    const held = this.unreleasedBytes + this.#pendingBytes;
    if (held + bytes > this.#options.maxUnreleasedBytes) {
      return Promise.reject(
        new WalFullError(
          `WAL holds ${held} unreleased bytes; ${bytes} more would pass the cap of ${this.#options.maxUnreleasedBytes} (storage is behind)`,
        ),
      );
    }
    return new Promise<bigint>((resolve, reject) => {
      this.#pending.push({ kind, payload, resolve, reject });
      this.#pendingBytes += bytes;
      this.#flushing ??= this.#flushLoop();
    });
  }

  /**
   * Calls `fn` for every durable record with `lsn > after` (every unreleased
   * record when `after` is undefined), in LSN order, awaiting each call.
   * Resolves with the number of records passed to `fn`.
   */
  async replay(fn: (record: WalRecord) => void | Promise<void>, after?: bigint): Promise<number> {
    const from = after ?? this.#releasedLsn;
    // A snapshot: records appended during replay are not visited, and the
    // durable length bounds every read so a group being written is never seen.
    const segments = this.#segments.map((s) => ({ path: s.path, lastLsn: s.lastLsn, bytes: s.bytes }));
    let count = 0;
    for (const seg of segments) {
      if (seg.lastLsn <= from) continue;
      let fh: FileHandle;
      try {
        fh = await open(seg.path, 'r');
      } catch (err) {
        if (isNotFound(err)) continue; // released (and deleted) meanwhile
        throw err;
      }
      try {
        const reader = new SegmentReader(fh, seg.bytes);
        for (let rec = await reader.next(); rec !== undefined; rec = await reader.next()) {
          if (rec.lsn > seg.lastLsn) break;
          if (rec.lsn <= from) continue;
          await fn({ lsn: rec.lsn, kind: rec.kind, payload: rec.payload });
          count++;
        }
      } finally {
        await fh.close();
      }
    }
    return count;
  }

  /**
   * Everything with `lsn <= upTo` is stored: persists the release point (so a
   * restart does not replay it) and deletes segment files all of whose
   * records are `<= upTo`. Releasing at or below {@link releasedLsn} does nothing.
   */
  release(upTo: bigint): Promise<void> {
    if (upTo > this.#lastLsn) {
      return Promise.reject(new RangeError(`cannot release LSN ${upTo}: the last appended LSN is ${this.#lastLsn}`));
    }
    const run = this.#releaseTail.then(() => this.#release(upTo));
    this.#releaseTail = run.catch(() => undefined);
    return run;
  }

  /** Writes what is pending, waits for releases in flight, and closes the files. Appends after this reject. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing !== null) await this.#flushing;
    await this.#releaseTail;
    await this.#exclusive(async () => {
      const active = this.#active;
      this.#active = null;
      if (active !== null) await active.fh.close();
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#ioTail.then(fn);
    this.#ioTail = run.catch(() => undefined);
    return run;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        await this.#exclusive(() => this.#writeGroup());
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #writeGroup(): Promise<void> {
    let n = 0;
    let groupBytes = 0;
    while (n < this.#pending.length && n < MAX_GROUP_RECORDS) {
      const size = HEADER_BYTES + this.#pending[n]!.payload.byteLength;
      if (n > 0 && groupBytes + size > MAX_GROUP_BYTES) break;
      groupBytes += size;
      n++;
    }
    const group = this.#pending.splice(0, n);
    this.#pendingBytes -= groupBytes;

    let active: ActiveSegment;
    try {
      active = await this.#segmentForWrite();
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    const headers = Buffer.allocUnsafe(HEADER_BYTES * n);
    const buffers: Uint8Array[] = [];
    let lsn = this.#lastLsn;
    for (let i = 0; i < n; i++) {
      const p = group[i]!;
      lsn++;
      writeHeader(headers, i * HEADER_BYTES, p.kind, lsn, p.payload);
      buffers.push(headers.subarray(i * HEADER_BYTES, (i + 1) * HEADER_BYTES), p.payload);
    }
    const start = active.seg.bytes;
    try {
      const { bytesWritten } = await active.fh.writev(buffers, start);
      if (bytesWritten !== groupBytes) throw new Error(`short WAL write: ${bytesWritten} of ${groupBytes} bytes`);
      this.groups++;
      if (this.#options.fsync) {
        await active.fh.datasync();
        this.syncs++;
        if (active.dirSyncPending) {
          await syncDir(this.#options.dir);
          active.dirSyncPending = false;
        }
      }
    } catch (err) {
      await this.#undoGroup(active, start, group);
      for (const p of group) p.reject(err);
      return;
    }
    this.#commitGroup(active.seg, start, group);
    let acked = this.#lastLsn - BigInt(n);
    for (const p of group) p.resolve(++acked);
  }

  /** Accounts for a group that is now in the segment (durable, or burned after a failure). */
  #commitGroup(seg: Segment, start: number, group: readonly PendingAppend[]): void {
    let lsn = this.#lastLsn;
    for (const p of group) {
      lsn++;
      this.#appendedBytes += HEADER_BYTES + p.payload.byteLength;
      this.#offsets.push(lsn, this.#appendedBytes);
      start += HEADER_BYTES + p.payload.byteLength;
    }
    seg.bytes = start;
    seg.lastLsn = lsn;
    this.#lastLsn = lsn;
  }

  /**
   * After a failed write or fsync, cut the segment back to its last durable
   * length so the LSNs can be reused. If even that fails, the file's tail is
   * unknown: treat the group's LSNs as used (the records may or may not be on
   * disk, and replaying an unacknowledged record is harmless) and move to a
   * new segment, so LSNs stay unique and each file stays in sequence.
   */
  async #undoGroup(active: ActiveSegment, start: number, group: readonly PendingAppend[]): Promise<void> {
    try {
      await active.fh.truncate(start);
      if (this.#options.fsync) await active.fh.datasync();
    } catch {
      this.#commitGroup(active.seg, start, group);
      this.#active = null;
      await active.fh.close().catch(() => undefined);
    }
  }

  async #segmentForWrite(): Promise<ActiveSegment> {
    const current = this.#active;
    if (current !== null && current.seg.bytes < this.#options.segmentBytes) return current;
    if (current !== null) {
      this.#active = null;
      // Everything in it is already fsynced; a failing close loses nothing.
      await current.fh.close().catch(() => undefined);
    }
    const firstLsn = this.#lastLsn + 1n;
    const name = segmentName(firstLsn);
    const path = join(this.#options.dir, name);
    // 'w', not 'wx': a file of this name can only hold records that were never
    // acknowledged (a failed attempt), so starting it afresh is safe.
    const fh = await open(path, 'w');
    const seg: Segment = { name, path, firstLsn, lastLsn: firstLsn - 1n, bytes: 0 };
    this.#segments.push(seg);
    this.#active = { seg, fh, dirSyncPending: true };
    return this.#active;
  }

  async #release(upTo: bigint): Promise<void> {
    if (upTo <= this.#releasedLsn) return;
    const { dir, fsync } = this.#options;
    const tmp = join(dir, RELEASED_TMP);
    // The release point must be durable before any segment goes: otherwise a
    // crash in between would leave a gap that replay cannot tell from loss.
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${upTo}\n`);
      if (fsync) await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, RELEASED_FILE));
    if (fsync) await syncDir(dir);
    this.#releasedLsn = upTo;
    const end = this.#offsets.dropUpTo(upTo);
    if (end !== undefined) this.#releasedBytes = end;

    await this.#exclusive(async () => {
      const keep: Segment[] = [];
      let removed = false;
      for (const seg of this.#segments) {
        if (seg.lastLsn > upTo) {
          keep.push(seg);
          continue;
        }
        if (this.#active?.seg === seg) {
          const active = this.#active;
          this.#active = null;
          await active.fh.close().catch(() => undefined);
        }
        await unlinkIfPresent(seg.path);
        removed = true;
      }
      this.#segments = keep;
      if (removed && fsync) await syncDir(dir);
    });
  }

  async #recover(): Promise<void> {
    const { dir, fsync } = this.#options;
    const names: { name: string; firstLsn: bigint }[] = [];
    for (const name of await readdir(dir)) {
      const m = SEGMENT_RE.exec(name);
      if (m !== null) names.push({ name, firstLsn: BigInt(m[1]!) });
    }
    names.sort((a, b) => (a.firstLsn < b.firstLsn ? -1 : a.firstLsn > b.firstLsn ? 1 : 0));

    let removed = false;
    for (let i = 0; i < names.length; i++) {
      const { name, firstLsn } = names[i]!;
      if (firstLsn <= this.#lastLsn && this.#lastLsn > this.#releasedLsn) {
        throw new Error(`WAL segment ${name} overlaps the one before it (which ends at LSN ${this.#lastLsn})`);
      }
      const path = join(dir, name);
      const fh = await open(path, 'r+');
      let keepOpen = false;
      let obsolete = false;
      try {
        const size = (await fh.stat()).size;
        const reader = new SegmentReader(fh, size);
        let last = firstLsn - 1n;
        let validEnd = 0;
        let reason: ReadStop | 'lsn' = 'eof';
        for (let rec = await reader.next(); ; rec = await reader.next()) {
          if (rec === undefined) {
            reason = reader.stop;
            break;
          }
          if (rec.lsn !== last + 1n) {
            reason = 'lsn';
            break;
          }
          last = rec.lsn;
          validEnd = rec.end;
          if (rec.lsn > this.#releasedLsn) {
            this.#appendedBytes += HEADER_BYTES + rec.payload.byteLength;
            this.#offsets.push(rec.lsn, this.#appendedBytes);
          }
        }
        if (validEnd < size) {
          await fh.truncate(validEnd);
          if (fsync) await fh.datasync();
          this.#repairs.push({ segment: name, offset: validEnd, droppedBytes: size - validEnd, reason });
        }
        if (last > this.#lastLsn) this.#lastLsn = last;
        if (last < firstLsn || last <= this.#releasedLsn) {
          obsolete = true;
        } else {
          const seg: Segment = { name, path, firstLsn, lastLsn: last, bytes: validEnd };
          this.#segments.push(seg);
          if (i === names.length - 1) {
            this.#active = { seg, fh, dirSyncPending: false };
            keepOpen = true;
          }
        }
      } finally {
        if (!keepOpen) await fh.close();
      }
      if (obsolete) {
        // Empty (torn before its first record) or wholly released before a crash.
        await unlink(path);
        removed = true;
      }
    }
    if (removed && fsync) await syncDir(dir);
  }
}
