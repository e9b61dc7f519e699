import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { FolderLockedError, lockFolder } from './pid-lock.ts';

it('lets one process hold a folder, refuses a live second one, and takes over a stale lock', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tl-lock-'));
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    const release = lockFolder(dir);
    assert.ok(existsSync(join(dir, 'traceloom.pid')));
    release();
    assert.ok(!existsSync(join(dir, 'traceloom.pid')));
    // A live process holds it.
    writeFileSync(join(dir, 'traceloom.pid'), `${sleeper.pid}\n`);
    assert.throws(
      () => lockFolder(dir),
      (e: unknown) => e instanceof FolderLockedError && e.pid === sleeper.pid,
    );
    // The holder died (kill -9): the lock is stale and taken over.
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    const again = lockFolder(dir);
    again();
  } finally {
    sleeper.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
