/**
 * One server per data folder. Two servers appending to one write-ahead log would corrupt it,
 * and DuckDB's own file lock only covers day files that already exist. The lock is a
 * `traceloom.pid` file created exclusively; a lock left by a process that no longer runs
 * (after `kill -9`) is taken over.
 */

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Another live process holds the folder. */
export class FolderLockedError extends Error {
  override readonly name = 'FolderLockedError';
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`${dir} is in use by another process (PID ${pid})`);
    this.pid = pid;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder's lock for this process; returns the function that gives it back. */
export function lockFolder(dir: string): () => void {
  const file = join(dir, 'traceloom.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new FolderLockedError(dir, pid);
    rmSync(file, { force: true }); // stale
  }
  throw new Error(`could not take the lock file ${file}`);
}
