/**
 * Creates a folder and its missing parents. Node 20's `mkdir(..., { recursive: true })`
 * never returns for some paths (under `/proc`, say, where `mkdir` fails with ENOENT although
 * the parent exists): it retries forever. This walks up once and down once, and throws the
 * file system's error instead.
 */

import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes sure `path` is a folder, creating it and its parents; throws the first error that stops it. */
export function ensureDirSync(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break;
      throw Object.assign(new Error(`'${p}' exists and is not a folder`), { code: 'ENOTDIR' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]!);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
