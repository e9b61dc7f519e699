/**
 * The write-ahead log between receivers and the pipeline: a request is
 * acknowledged once its body is fsynced here, and replayed into storage after
 * a restart until storage releases it.
 */
export type { ResolvedWalOptions, WalOptions, WalRecord, WalRepair } from './wal.ts';
export { resolveWalOptions, WAL_DEFAULTS, WalFullError, WriteAheadLog } from './wal.ts';
