import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WalFullError, type WalRecord, WriteAheadLog } from './index.ts';

/** A payload derived from `i` alone, so the parent can check what a killed child wrote. */
function payloadFor(i: number): Buffer {
  const length = 50 + ((i * 7919) % 3000);
  const out = Buffer.allocUnsafe(length);
  for (let j = 0; j < length; j++) out[j] = (i * 31 + j * 17) & 0xff;
  return out;
}

async function collect(wal: WriteAheadLog, afterLsn?: bigint): Promise<WalRecord[]> {
  const records: WalRecord[] = [];
  const n = await wal.replay((r) => {
    records.push(r);
  }, afterLsn);
  assert.equal(n, records.length);
  return records;
}

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.wal')).sort();
}

const CHILD_DIR = process.env.TL_WAL_CHILD_DIR;

if (CHILD_DIR !== undefined) {
  // Crash-test child: append forever with several appends in flight, print
  // each acknowledged LSN with the payload index, until the parent kills us.
  const wal = await WriteAheadLog.open({ dir: CHILD_DIR, segmentBytes: 256 * 1024 });
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const lsn = await wal.append(i % 3, payloadFor(i));
      process.stdout.write(`${lsn} ${i}\n`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker(), worker(), worker()]);
} else {
  describe('WriteAheadLog', () => {
    let root: string;
    let count = 0;
    const freshDir = (): string => join(root, `wal-${count++}`);

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'traceloom-wal-'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('replays appended records after a restart, with kinds and payloads', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir });
      assert.equal(wal.lastLsn, 0n);
      assert.equal(await wal.append(1, Buffer.from('otlp')), 1n);
      assert.equal(await wal.append(2, Buffer.from('zipkin json')), 2n);
      assert.equal(await wal.append(255, new Uint8Array(0)), 3n);
      await wal.close();

      const again = await WriteAheadLog.open({ dir });
      assert.deepEqual(again.repairs, []);
      assert.equal(again.lastLsn, 3n);
      const records = await collect(again);
      assert.deepEqual(
        records.map((r) => [r.lsn, r.kind, Buffer.from(r.payload).toString()]),
        [
          [1n, 1, 'otlp'],
          [2n, 2, 'zipkin json'],
          [3n, 255, ''],
        ],
      );
      assert.deepEqual(
        (await collect(again, 1n)).map((r) => r.lsn),
        [2n, 3n],
      );
      await again.close();
    });

    it('continues LSNs across restarts, also after everything was released', async () => {
      const dir = freshDir();
      let wal = await WriteAheadLog.open({ dir, fsync: false });
      await wal.append(0, Buffer.from('a'));
      await wal.append(0, Buffer.from('b'));
      await wal.close();
      wal = await WriteAheadLog.open({ dir, fsync: false });
      assert.equal(await wal.append(0, Buffer.from('c')), 3n);
      await wal.release(3n);
      assert.deepEqual(await walFiles(dir), [], 'a wholly released log keeps no segment');
      await wal.close();
      wal = await WriteAheadLog.open({ dir, fsync: false });
      assert.equal(wal.lastLsn, 3n);
      assert.equal(wal.releasedLsn, 3n);
      assert.equal(await collect(wal).then((r) => r.length), 0);
      assert.equal(await wal.append(0, Buffer.from('d')), 4n);
      await wal.close();
    });

    it('commits concurrent appends in fewer fsyncs, in call order', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir });
      const n = 64;
      const lsns = await Promise.all(Array.from({ length: n }, (_, i) => wal.append(0, payloadFor(i))));
      assert.deepEqual(
        lsns,
        Array.from({ length: n }, (_, i) => BigInt(i + 1)),
      );
      assert.ok(wal.syncs >= 1 && wal.syncs < n, `expected fewer than ${n} fsyncs, got ${wal.syncs}`);
      // Appends made while the first group is being written go out together afterwards.
      const first = wal.append(0, payloadFor(1000));
      const rest = Array.from({ length: 20 }, (_, i) => wal.append(0, payloadFor(i)));
      await Promise.all([first, ...rest]);
      assert.ok(wal.syncs < n + 21);
      const records = await collect(wal);
      assert.equal(records.length, n + 21);
      for (let i = 0; i < n; i++) assert.deepEqual(Buffer.from(records[i]!.payload), payloadFor(i));
      await wal.close();
    });

    it('rolls over segments and deletes wholly released ones', async () => {
      const dir = freshDir();
      const payload = Buffer.alloc(300, 7);
      const recordBytes = 17 + 300;
      const wal = await WriteAheadLog.open({ dir, segmentBytes: 1000, fsync: false });
      // Sequential appends: one record per group, so rollover happens every 4 records (4 * 317 >= 1000).
      for (let i = 0; i < 10; i++) await wal.append(3, payload);
      assert.deepEqual(await walFiles(dir), [
        '00000000000000000001.wal',
        '00000000000000000005.wal',
        '00000000000000000009.wal',
      ]);
      assert.equal((await stat(join(dir, '00000000000000000001.wal'))).size, 4 * recordBytes);
      assert.equal(wal.unreleasedBytes, 10 * recordBytes);

      await wal.release(6n);
      assert.deepEqual(await walFiles(dir), ['00000000000000000005.wal', '00000000000000000009.wal']);
      assert.equal(wal.unreleasedBytes, 4 * recordBytes);
      assert.equal(wal.releasedLsn, 6n);
      assert.deepEqual(
        (await collect(wal)).map((r) => r.lsn),
        [7n, 8n, 9n, 10n],
      );
      await wal.release(5n); // below the release point: no-op
      assert.equal(wal.releasedLsn, 6n);
      await wal.close();

      const again = await WriteAheadLog.open({ dir, segmentBytes: 1000, fsync: false });
      assert.equal(again.releasedLsn, 6n, 'the release point survives a restart');
      assert.equal(again.unreleasedBytes, 4 * recordBytes);
      assert.equal((await readFile(join(dir, 'released'), 'utf8')).trim(), '6');
      assert.deepEqual(
        (await collect(again)).map((r) => r.lsn),
        [7n, 8n, 9n, 10n],
      );
      assert.equal(await again.append(3, payload), 11n);
      await again.release(11n);
      assert.equal(again.unreleasedBytes, 0);
      assert.deepEqual(await walFiles(dir), []);
      await again.close();
    });

    it('cuts a torn tail, keeps what came before, and appends after it', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir });
      for (let i = 0; i < 5; i++) await wal.append(1, payloadFor(i));
      await wal.close();
      const file = join(dir, '00000000000000000001.wal');
      const size = (await stat(file)).size;
      // Half of the last record's payload missing, as after a kill mid-write.
      await truncate(file, size - Math.floor(payloadFor(4).length / 2));

      const again = await WriteAheadLog.open({ dir });
      assert.equal(again.repairs.length, 1);
      assert.equal(again.repairs[0]!.reason, 'short');
      assert.equal(again.lastLsn, 4n);
      assert.equal((await stat(file)).size, size - 17 - payloadFor(4).length, 'file truncated at the bad record');
      assert.deepEqual(
        (await collect(again)).map((r) => r.lsn),
        [1n, 2n, 3n, 4n],
      );
      assert.equal(await again.append(9, Buffer.from('after the tear')), 5n);
      await again.close();

      const third = await WriteAheadLog.open({ dir });
      assert.deepEqual(third.repairs, []);
      const records = await collect(third);
      assert.deepEqual(
        records.map((r) => r.lsn),
        [1n, 2n, 3n, 4n, 5n],
      );
      assert.equal(records[4]!.kind, 9);
      assert.equal(Buffer.from(records[4]!.payload).toString(), 'after the tear');
      for (let i = 0; i < 4; i++) assert.deepEqual(Buffer.from(records[i]!.payload), payloadFor(i));
      await third.close();
    });

    it('cuts garbage after the last record and a header torn in the middle', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir, fsync: false });
      await wal.append(1, Buffer.from('one'));
      await wal.append(1, Buffer.from('two'));
      await wal.close();
      const file = join(dir, '00000000000000000001.wal');
      // A plausible small length followed by junk, and then a lone partial header.
      await appendFile(file, Buffer.from([5, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]));
      const again = await WriteAheadLog.open({ dir, fsync: false });
      assert.equal(again.repairs.length, 1);
      assert.equal(again.repairs[0]!.droppedBytes, 22);
      assert.deepEqual(
        (await collect(again)).map((r) => Buffer.from(r.payload).toString()),
        ['one', 'two'],
      );
      await again.close();

      await appendFile(file, Buffer.from([1, 2, 3]));
      const third = await WriteAheadLog.open({ dir, fsync: false });
      assert.equal(third.repairs[0]!.reason, 'short');
      assert.equal(third.lastLsn, 2n);
      await third.close();
    });

    it('drops a segment whose first record is torn and recreates it on the next append', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir, segmentBytes: 1000, fsync: false });
      for (let i = 0; i < 5; i++) await wal.append(0, Buffer.alloc(300, i));
      await wal.close();
      await truncate(join(dir, '00000000000000000005.wal'), 10);
      const again = await WriteAheadLog.open({ dir, segmentBytes: 1000, fsync: false });
      assert.equal(again.lastLsn, 4n);
      assert.deepEqual(await walFiles(dir), ['00000000000000000001.wal']);
      assert.equal(await again.append(0, Buffer.alloc(300, 42)), 5n);
      assert.deepEqual(await walFiles(dir), ['00000000000000000001.wal', '00000000000000000005.wal']);
      const records = await collect(again);
      assert.deepEqual(
        records.map((r) => r.payload[0]),
        [0, 1, 2, 3, 42],
      );
      await again.close();
    });

    it('detects a CRC mismatch in the tail and drops from there', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir, fsync: false });
      for (let i = 0; i < 4; i++) await wal.append(2, payloadFor(i));
      await wal.close();
      const file = join(dir, '00000000000000000001.wal');
      const bytes = await readFile(file);
      // Flip one payload byte of record 3: its length is intact, its checksum is not.
      const offset3 = 2 * 17 + payloadFor(0).length + payloadFor(1).length;
      bytes.writeUInt8(bytes.readUInt8(offset3 + 17 + 10) ^ 0x40, offset3 + 17 + 10);
      await writeFile(file, bytes);

      const again = await WriteAheadLog.open({ dir, fsync: false });
      assert.equal(again.repairs.length, 1);
      assert.equal(again.repairs[0]!.reason, 'crc');
      assert.equal(again.repairs[0]!.offset, offset3);
      assert.deepEqual(
        (await collect(again)).map((r) => r.lsn),
        [1n, 2n],
      );
      assert.equal(await again.append(2, payloadFor(7)), 3n);
      await again.close();
    });

    it('refuses appends with WalFullError past the cap, and accepts them again after release', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir, maxUnreleasedBytes: 1000, fsync: false });
      const payload = Buffer.alloc(300);
      await wal.append(0, payload);
      await wal.append(0, payload);
      await wal.append(0, payload);
      assert.equal(wal.unreleasedBytes, 3 * 317);
      await assert.rejects(wal.append(0, payload), (err: unknown) => {
        assert.ok(err instanceof WalFullError);
        assert.ok(err.retryAfterSeconds > 0);
        return true;
      });
      assert.equal(wal.lastLsn, 3n, 'a refused append takes no LSN');
      await wal.release(2n);
      assert.equal(wal.unreleasedBytes, 317);
      assert.equal(await wal.append(0, payload), 4n);
      await wal.close();
    });

    it('counts appends still waiting for their group against the cap', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir, maxUnreleasedBytes: 1000, fsync: false });
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => wal.append(0, Buffer.alloc(300))));
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
      );
      await wal.close();
    });

    it('rejects the appends of a group whose file cannot be written and stays usable', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir });
      assert.equal(await wal.append(0, Buffer.from('one')), 1n);
      await wal.release(1n); // no segment left: the next group must create a file
      await rm(dir, { recursive: true });
      const failed = await Promise.allSettled([wal.append(0, Buffer.from('x')), wal.append(0, Buffer.from('y'))]);
      assert.deepEqual(
        failed.map((r) => r.status),
        ['rejected', 'rejected'],
      );
      assert.equal(wal.lastLsn, 1n);
      assert.equal(wal.unreleasedBytes, 0);
      await mkdir(dir);
      assert.equal(await wal.append(0, Buffer.from('two')), 2n, 'a failed group takes no LSN');
      assert.deepEqual(
        (await collect(wal)).map((r) => Buffer.from(r.payload).toString()),
        ['two'],
      );
      await wal.close();
    });

    it('rejects bad kinds, releases past the end, and appends after close', async () => {
      const dir = freshDir();
      const wal = await WriteAheadLog.open({ dir, fsync: false });
      await assert.rejects(wal.append(256, Buffer.alloc(1)), RangeError);
      await assert.rejects(wal.append(-1, Buffer.alloc(1)), RangeError);
      await assert.rejects(wal.append(1.5, Buffer.alloc(1)), RangeError);
      await wal.append(0, Buffer.alloc(1));
      await assert.rejects(wal.release(2n), RangeError);
      await wal.close();
      await assert.rejects(wal.append(0, Buffer.alloc(1)), /closed/);
    });

    it('loses no acknowledged record when the writer is killed with SIGKILL', { timeout: 60_000 }, async () => {
      const dir = freshDir();
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, TL_WAL_CHILD_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child acknowledged too little: ${err}`)), 45_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // Past a few segment rollovers (256 KiB each, ~1.5 KiB per record).
          if (out.split('\n').length > 1500) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL', `child ended by itself: ${err}`);

      const lines = out.split('\n');
      lines.pop(); // a line cut by the kill is not an acknowledgement
      const acked = lines.map((l) => l.split(' ').map(Number) as [number, number]);
      assert.ok(acked.length >= 1500);

      const wal = await WriteAheadLog.open({ dir });
      const byLsn = new Map<number, WalRecord>();
      let expected = 1n;
      await wal.replay((r) => {
        assert.equal(r.lsn, expected++, 'replayed LSNs are contiguous');
        byLsn.set(Number(r.lsn), r);
      });
      for (const [lsn, i] of acked) {
        const r = byLsn.get(lsn);
        assert.ok(r !== undefined, `acknowledged LSN ${lsn} was not replayed`);
        assert.equal(r.kind, i % 3);
        assert.deepEqual(Buffer.from(r.payload), payloadFor(i));
      }
      assert.ok((await walFiles(dir)).length > 1, 'the child rolled over segments');
      const next = await wal.append(0, Buffer.from('after the crash'));
      assert.equal(next, wal.lastLsn);
      assert.equal(next, expected);
      await wal.close();
    });
  });
}
