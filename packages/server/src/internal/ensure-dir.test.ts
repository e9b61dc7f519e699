import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { ensureDirSync } from './ensure-dir.ts';

it('creates missing parents, accepts an existing folder, and throws instead of looping', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tl-ensure-'));
  try {
    const deep = join(root, 'a', 'b', 'c');
    ensureDirSync(deep);
    assert.ok(existsSync(deep));
    ensureDirSync(deep);
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    assert.throws(() => ensureDirSync(join(file, 'sub')), /ENOTDIR|not a folder/);
    // Node 20's recursive mkdir spins forever on this path.
    if (existsSync('/proc/self')) assert.throws(() => ensureDirSync('/proc/traceloom-test/x'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
