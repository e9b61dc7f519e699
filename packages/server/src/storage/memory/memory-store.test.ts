import { runStorageConformance } from '../conformance.ts';
import { MemoryStore } from './memory-store.ts';

runStorageConformance('memory', async () => {
  const store = new MemoryStore();
  return { store, reopen: async () => store.reopen(), cleanup: async () => undefined };
});
