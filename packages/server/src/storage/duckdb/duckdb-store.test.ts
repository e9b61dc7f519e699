import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStorageConformance } from '../conformance.ts';
import { DuckDbStore } from './duckdb-store.ts';

runStorageConformance('duckdb', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tl-duckdb-'));
  const options = { dataDir, flushIntervalMs: 5, memoryLimit: '256MiB' };
  const store = await DuckDbStore.open(options);
  return {
    store,
    reopen: () => DuckDbStore.open(options),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});
