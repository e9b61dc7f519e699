/**
 * The embedded trace store: DuckDB, one database file per UTC day.
 *
 * Layout. `<dataDir>/spans-YYYY-MM-DD.duckdb` holds the spans that started
 * on that day, with everything needed to read them back (resources, scopes),
 * the per-trace summary parts, the operations and attribute values seen that
 * day, and the highest write-ahead-log position committed into it. A day
 * file is self-contained, so retention drops whole files (which really gives
 * the disk back) and deletes rows only in the one day the cutoff falls in.
 * An in-memory DuckDB attaches every day file and unions them in views
 * (`all_spans`, `all_parts`, `all_resources`, ...), so every query is one SQL
 * statement; DuckDB prunes days and row groups through `start_ns` zone maps.
 *
 * Writes. Batches are buffered and committed together: `flushIntervalMs`
 * after the first of them while the store keeps up, and in whole row groups
 * (`maxBufferedSpans`, 122,880 spans) when it is busy, since DuckDB compresses a
 * transaction's whole row groups straight into the file instead of logging
 * them and compressing them again at its checkpoint. Each day touched gets one
 * transaction that inserts its spans through `read_csv` of load files written
 * as bytes while each batch arrives (DuckDB parses them on its own threads,
 * which is several times faster than appending value by value from
 * JavaScript), the
 * summary parts of the traces in it, new resources, scopes, operations and
 * attribute values (those small files as newline-delimited JSON), and the new
 * write-ahead-log position. Rows keep arrival order.
 *
 * Per-trace summaries are append-only parts: each commit appends one row per
 * trace it touched (start, end, span count, error count, root if present,
 * per-service counts), and a summary is the merge of a trace's parts. Late
 * spans thus cost one more small row, never an update.
 *
 * The trace-id lookup reads the parts (a small table: one row per trace and
 * commit) to learn the trace's time range, then reads only the row groups of
 * that range.
 */

import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, open, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { isValidTraceId, type KeyValue, type Span, type SpanBatch, StatusCode, serviceNameOf } from '@traceloom/model';
import { ensureDirSync } from '../../internal/ensure-dir.ts';
import { attributeText } from '../internal/attr-text.ts';
import { decodeCursor, encodeCursor } from '../internal/cursor.ts';
import {
  type AttributeCondition,
  type AttributeListOptions,
  type EdgeMetricPoint,
  type EdgeMetricsQuery,
  type GetTraceOptions,
  type MetricsBatch,
  type Operation,
  QueryInputError,
  type RetentionResult,
  type SearchQuery,
  type SearchResult,
  type ServiceSpanCount,
  type SpanMetricPoint,
  type SpanMetricsQuery,
  type StoreStats,
  type TimeRange,
  type TraceStore,
  type TraceSummary,
} from '../types.ts';
import { Catalog, SLOT_COUNT } from './catalog.ts';
import { DuckDbMetrics } from './metrics-tables.ts';
import {
  decodeAttrs,
  decodeEvents,
  decodeLinks,
  decodeResource,
  decodeScope,
  encodeAttrs,
  encodeEvents,
  encodeLinks,
  typedOf,
} from './row-codec.ts';

/** Options of {@link DuckDbStore.open}. */
export interface DuckDbStoreOptions {
  /** Folder of the day files; created if missing. */
  dataDir: string;
  /** DuckDB's memory cap (DuckDB's own default would be 80% of RAM). @default '1GiB' */
  memoryLimit?: string;
  /** DuckDB worker threads. @default 2 */
  threads?: number;
  /** Longest time a written span waits for its commit when the store is not busy. @default 250 */
  flushIntervalMs?: number;
  /**
   * Longest time a written span waits for its commit when it arrived while another commit ran:
   * under such load, commits wait to fill whole row groups (see `maxBufferedSpans`). @default 2000
   */
  busyFlushIntervalMs?: number;
  /**
   * Commit as soon as this many spans are buffered, and commit a multiple of it when more are.
   * The default is DuckDB's row group: a transaction's whole row groups are compressed straight
   * into the day file, where smaller appends go through DuckDB's own log and are compressed again
   * at its checkpoint (commits of 37,000 spans took 13 to 23 µs of CPU per span here, commits of
   * 122,880 about 10 to 12). @default 122880
   */
  maxBufferedSpans?: number;
  /** How many recent span ids are remembered to drop duplicate deliveries. @default 1000000 */
  dedupWindow?: number;
  /** Most distinct values remembered per attribute key, service and day for autocomplete. @default 200 */
  maxValuesPerKey?: number;
  /** DuckDB's `checkpoint_threshold`: how much its own log may hold before it writes into the file. @default '256MB' */
  checkpointThreshold?: string;
  /** Folder for the load files of commits (they live for one commit). @default a new folder in the OS temp folder */
  loadDir?: string;
  /** Told about each failed commit (which is tried again a second later). @default ignore */
  onCommitError?: (error: unknown) => void;
}

const DEFAULTS = {
  memoryLimit: '1GiB',
  threads: 2,
  flushIntervalMs: 250,
  busyFlushIntervalMs: 2000,
  maxBufferedSpans: 122_880,
  dedupWindow: 500_000,
  maxValuesPerKey: 200,
  checkpointThreshold: '256MB',
  onCommitError: (_e: unknown) => undefined,
  loadDir: '',
} as const;
/** Delay before a failed commit is tried again. */
const COMMIT_RETRY_MS = 1000;
/**
 * A commit this long means the store is busy: writes that arrive then wait for a whole row group
 * (or `busyFlushIntervalMs`) instead of `flushIntervalMs`.
 */
const BUSY_COMMIT_MS = 200;

const DAY_NS = 86_400_000_000_000n;
/** Spans of a day whose attribute values all go to autocomplete; after them, a quarter are sampled. */
const FULL_INDEX_SPANS = 50_000;
const SLOT_COLUMNS = Array.from({ length: SLOT_COUNT }, (_, i) => `v${i}`);
/** Most trace ids `traceSummaries` looks up as a filter rather than a join. */
const MAX_FILTER_IDS = 256;
/** Block size of sealed day files, in bytes (see `#compact`). */
const SEALED_BLOCK_SIZE = 65_536;
/**
 * Bits of a summary part's read mask, past the slot columns' bits (bit s for `v<s>`): the
 * columns that are NULL in most rows, set when one of the part's spans has a value there. A
 * trace read leaves out the columns its mask does not name.
 */
const READ = {
  traceState: 1 << SLOT_COUNT,
  statusMessage: 1 << (SLOT_COUNT + 1),
  attrMore: 1 << (SLOT_COUNT + 2),
  attrExtra: 1 << (SLOT_COUNT + 3),
  dropped: 1 << (SLOT_COUNT + 4),
  events: 1 << (SLOT_COUNT + 5),
  links: 1 << (SLOT_COUNT + 6),
} as const;
/** A read mask with every column (what a part without one, from an older day file, stands for). */
const READ_ALL = 2 ** (SLOT_COUNT + 7) - 1;
/** Index of the first slot value in a {@link TraceRow}. */
const TRACE_ROW_SLOTS = 20;
/** Values longer than this are not offered for autocomplete. */
const MAX_AUTOCOMPLETE_VALUE = 256;
const TABLES = ['spans', 'parts', 'resources', 'scopes'] as const;

const DDL = {
  spans: `trace_hi UBIGINT, trace_lo UBIGINT, span_id UBIGINT, parent_id UBIGINT, trace_state VARCHAR, flags UINTEGER,
    service VARCHAR, name VARCHAR, kind UTINYINT, status_code UTINYINT, status_message VARCHAR, start_ns UBIGINT,
    duration_ns BIGINT, shape UINTEGER, ${SLOT_COLUMNS.map((c) => `${c} VARCHAR`).join(', ')}, attr_more VARCHAR, attr_extra VARCHAR,
    dropped_attrs UINTEGER, dropped_events UINTEGER, dropped_links UINTEGER, events VARCHAR, links VARCHAR,
    resource_id UINTEGER, scope_id UINTEGER`,
  parts: `trace_hi UBIGINT, trace_lo UBIGINT, start_ns UBIGINT, end_ns UBIGINT, span_count UINTEGER, error_count UINTEGER,
    root_service VARCHAR, root_name VARCHAR, root_start UBIGINT, services VARCHAR[], service_spans UINTEGER[], service_errors UINTEGER[],
    read_mask UINTEGER`,
  resources: `id UINTEGER, service VARCHAR, body VARCHAR, attr_keys VARCHAR[], attr_types VARCHAR, attr_values VARCHAR[]`,
  scopes: `id UINTEGER, body VARCHAR`,
  shapes: `id UINTEGER, types VARCHAR, keys VARCHAR[], slots INTEGER[]`,
  operations: `service VARCHAR, name VARCHAR, kind UTINYINT`,
  attr_values: `scope UTINYINT, service VARCHAR, key VARCHAR, value VARCHAR`,
  meta: `wal_position UBIGINT`,
  sealed: `parts_rows UBIGINT`,
} as const;

/**
 * Each table's column names in {@link DDL} order. Inserts and the views over every day name
 * their columns: a day file written by a newer version, with columns this one does not know,
 * then still reads and takes writes (the new columns stay NULL).
 */
const COLUMNS = Object.fromEntries(
  Object.entries(DDL).map(([table, ddl]) => [
    table,
    ddl
      .split(/,(?![^[]*\])/)
      .map((c) => c.trim().split(/\s+/)[0])
      .join(', '),
  ]),
) as { readonly [T in keyof typeof DDL]: string };

/**
 * The spans load file is CSV with control characters for delimiter (U+001F, unit separator) and
 * quote (U+001E, record separator): measured cheaper for DuckDB to load than the same rows as
 * newline-delimited JSON, and cheaper to write, since almost no value needs quoting or escaping.
 * A value holding either character, a line break or a NUL is quoted, its quote characters doubled;
 * an empty field reads as NULL and a quoted empty one as ''. A line may be as long as a request
 * body (64 MiB); DuckDB's default limit (2 MB) would fail the commit of a span with a large
 * attribute for ever, and its default buffer for that line length does not fit a small memory cap.
 */
const CSV_DELIM = '\u001f';
const CSV_QUOTE = '\u001e';
/** Characters that make a value need quoting in the spans load file. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are the ones the load file reserves.
const CSV_SPECIAL = /[\u0000\n\r\u001e\u001f]/;
/** `read_csv` columns of the spans file, in file order. */
const SPAN_CSV_COLUMNS = `{th:'UBIGINT',tl:'UBIGINT',s:'UBIGINT',p:'UBIGINT',ts:'VARCHAR',f:'UINTEGER',sv:'VARCHAR',n:'VARCHAR',k:'UTINYINT',
  sc:'UTINYINT',sm:'VARCHAR',st:'UBIGINT',d:'BIGINT',sh:'UINTEGER',${SLOT_COLUMNS.map((c) => `${c}:'VARCHAR'`).join(',')},
  am:'VARCHAR',ax:'VARCHAR',da:'UINTEGER',de:'UINTEGER',dl:'UINTEGER',ev:'VARCHAR',li:'VARCHAR',r:'UINTEGER',o:'UINTEGER'}`;
const SPAN_CSV_OPTIONS = `delim=chr(31), quote=chr(30), escape=chr(30), header=false, auto_detect=false, allow_quoted_nulls=false,
  null_padding=false, max_line_size=67108864, buffer_size=67108864, columns=${SPAN_CSV_COLUMNS}`;
// Ids are written as `0x` hex, which the CSV reader parses into UBIGINT itself.
const SPAN_SELECT = `th, tl, s, p, ts, f, sv, n, k,
  sc, sm, st, d, sh, ${SLOT_COLUMNS.join(', ')}, am, ax, da, de, dl, ev, li, r, o`;

/** A quoted empty field (''), and also how a quote character inside a quoted field is written. */
const CSV_QUOTE_TWICE = `${CSV_QUOTE}${CSV_QUOTE}`;

function csvQuoted(s: string): string {
  return `${CSV_QUOTE}${s.replaceAll(CSV_QUOTE, CSV_QUOTE_TWICE)}${CSV_QUOTE}`;
}

/** Slot values of the span being prepared, reused: undefined (NULL) where the span has no attribute. */
const slotScratch: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT).fill(undefined);

const utf8 = new TextEncoder();
const DELIM_BYTE = CSV_DELIM.charCodeAt(0);
const QUOTE_BYTE = CSV_QUOTE.charCodeAt(0);
const NEWLINE_BYTE = 0x0a;

/**
 * Writes the spans load file's lines as UTF-8 bytes directly. Built as strings (a template
 * literal per span, the lines joined per request, then joined again and encoded at the commit),
 * the lines were the largest part of the JavaScript a span costs on its way into the store;
 * a field is written here in the loop that checks it for characters that need quoting, and the
 * commit writes the bytes as they are.
 */
class LoadWriter {
  buf = new Uint8Array(256 * 1024);
  pos = 0;

  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(b: number): void {
    this.#room(1);
    this.buf[this.pos++] = b;
  }

  /** Text that needs no quoting (hex ids, digits, JSON of events and links), as UTF-8. */
  raw(s: string): void {
    const n = s.length;
    this.#room(n * 3);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos += utf8.encodeInto(s, buf.subarray(this.pos)).written;
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** Characters `from` to `to` of hex id `s` (checked hex by the receivers) as a `0x` literal. */
  hex(s: string, from: number, to: number): void {
    this.#room(2 + to - from);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x30;
    buf[p++] = 0x78;
    for (let i = from; i < to; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** `s` as a field: quoted when it holds a reserved character, '' quoted when empty. */
  field(s: string): void {
    const n = s.length;
    if (n === 0) {
      this.#room(2);
      this.buf[this.pos++] = QUOTE_BYTE;
      this.buf[this.pos++] = QUOTE_BYTE;
      return;
    }
    this.#room(n * 3);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20) {
        if (c === 0 || c === 0x0a || c === 0x0d || c === 0x1e || c === 0x1f) {
          this.raw(csvQuoted(s));
          return;
        }
      } else if (c >= 0x80) {
        this.raw(CSV_SPECIAL.test(s) ? csvQuoted(s) : s);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** A non-negative integer below 2^53. */
  uint(v: number): void {
    if (v < 10) {
      this.byte(48 + v);
      return;
    }
    this.raw(String(v));
  }

  /** The bytes written, copied out; the writer starts over. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    return out;
  }
}

/** The load-file writer of a batch's first day, reused from batch to batch. */
const loadScratch = new LoadWriter();
const EMPTY_LINES = new Uint8Array(0);

/** In-memory state of one attached day file. */
interface Day {
  readonly day: number;
  readonly alias: string;
  readonly path: string;
  /** The file is attached (a day is created in memory first, by the first span written to it). */
  attached: boolean;
  position: bigint;
  readonly resources: Set<number>;
  readonly scopes: Set<number>;
  readonly shapes: Set<number>;
  /** Spans whose attributes went through the autocomplete index (counts sampling). */
  indexed: number;
  /** The parts are sorted by trace id (see `#sealPastDays`). */
  sealed: boolean;
  /** service -> span name -> kinds */
  readonly operations: Map<string, Map<string, Set<number>>>;
  /** scope (0 span, 1 resource) -> service -> key -> values */
  readonly attrs: [Map<string, Map<string, Set<string>>>, Map<string, Map<string, Set<string>>>];
}

/** What one written batch becomes for one day, prepared when it is written. */
interface PreparedDay {
  readonly day: Day;
  /** The spans' load-file lines, each ending in a newline, as UTF-8 (off the JavaScript heap until the commit). */
  lines: Uint8Array;
  readonly parts: Map<string, PartAcc>;
  readonly resources: Set<number>;
  readonly scopes: Set<number>;
  readonly shapes: Set<number>;
  /** Load-file lines of operations and attribute values new to the day. */
  readonly newRows: { ops: string[]; attrs: string[] };
}

interface Pending {
  readonly position: bigint | undefined;
  readonly days: Map<number, PreparedDay>;
  readonly spans: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface PartAcc {
  start: bigint;
  end: bigint;
  count: number;
  errors: number;
  rootService: string | null;
  rootName: string | null;
  rootStart: bigint;
  services: Map<string, [number, number]>;
  /** The columns the part's spans have values in that a read may leave out (see {@link READ}). */
  mask: number;
}

/**
 * Remembers recently stored spans, to drop duplicate deliveries: two generations of an
 * open-addressing hash set over 96 bits of each span (its span id and the low 32 bits of its
 * trace id), in typed arrays. No string or object per span, so it is cheap to ask and costs
 * the garbage collector nothing. A false "seen" needs 96 equal bits: negligible.
 */
class RecentSpans {
  readonly #capacity: number;
  readonly #limit: number;
  #cur: Int32Array;
  #prev: Int32Array;
  #count = 0;
  constructor(size: number) {
    // Each generation holds size / 2 spans at most half full.
    let cap = 1024;
    while (cap < size) cap *= 2;
    this.#capacity = cap;
    this.#limit = Math.max(1, Math.floor(size / 2));
    this.#cur = new Int32Array(cap * 3);
    this.#prev = new Int32Array(cap * 3);
  }

  static #find(table: Int32Array, mask: number, a: number, b: number, c: number): number {
    // All three words mixed (murmur3's finalizer): spans that differ in one word only still spread.
    let h = Math.imul(a, 0xcc9e2d51) ^ Math.imul(b, 0x1b873593) ^ Math.imul(c, 0x85ebca6b);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    let i = h & mask;
    for (;;) {
      const o = i * 3;
      const x = table[o + 2]!;
      if (x === 0) return -1 - i;
      if (x === c && table[o] === a && table[o + 1] === b) return i;
      i = (i + 1) & mask;
    }
  }

  /** True when the span was seen recently; otherwise remembers it. */
  seen(spanId: string, traceId: string): boolean {
    const a = hex32(spanId, 0);
    const b = hex32(spanId, 8);
    // 0 marks an empty slot: a real key's third word is never 0.
    const c = hex32(traceId, 24) || 1;
    const mask = this.#capacity - 1;
    const at = RecentSpans.#find(this.#cur, mask, a, b, c);
    if (at >= 0 || RecentSpans.#find(this.#prev, mask, a, b, c) >= 0) return true;
    if (this.#count >= this.#limit) {
      const t = this.#prev;
      t.fill(0);
      this.#prev = this.#cur;
      this.#cur = t;
      this.#count = 0;
      const slot = -1 - RecentSpans.#find(this.#cur, mask, a, b, c);
      this.#put(slot, a, b, c);
    } else {
      this.#put(-1 - at, a, b, c);
    }
    this.#count++;
    return false;
  }

  #put(slot: number, a: number, b: number, c: number): void {
    const o = slot * 3;
    this.#cur[o] = a;
    this.#cur[o + 1] = b;
    this.#cur[o + 2] = c;
  }
}

/** Values of hex digits by character code (ids are checked hex by the receivers). */
const HEX_VALUE = (() => {
  const t = new Uint8Array(128);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[97 + i] = 10 + i;
    t[65 + i] = 10 + i;
  }
  return t;
})();

/** The 32-bit word of 8 hex digits at `offset`. */
function hex32(hex: string, offset: number): number {
  let x = 0;
  for (let k = 0; k < 8; k++) x = (x << 4) | HEX_VALUE[hex.charCodeAt(offset + k) & 127]!;
  return x;
}

function dayName(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * A span row as `getTrace` reads it (a JSON array): hex span id, hex parent id ('' for a
 * root), trace state, flags, name, kind, status code, status message, start (decimal text),
 * duration (decimal text), shape, attr_more, attr_extra, dropped attribute/event/link counts,
 * events, links, resource id, scope id, then the slot columns the trace uses, in column order.
 */
type TraceRow = [
  string,
  string,
  string,
  number,
  string,
  number,
  number,
  string,
  string,
  string,
  number,
  string | null,
  string | null,
  number,
  number,
  number,
  string | null,
  string | null,
  number,
  number,
  ...(string | null)[],
];

/** A clause builder that keeps string parameters out of the SQL text. */
class Params {
  readonly values: string[] = [];
  add(v: string): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** The trace store on DuckDB. */
export class DuckDbStore implements TraceStore {
  readonly #opts: Readonly<Required<DuckDbStoreOptions>>;
  readonly #instance: DuckDBInstance;
  readonly #writer: DuckDBConnection;
  readonly #reader: DuckDBConnection;
  readonly #tmpDir: string;
  readonly #days = new Map<number, Day>();
  readonly #recent: RecentSpans;
  readonly #catalog = new Catalog();
  #pending: Pending[] = [];
  #pendingSpans = 0;
  /** When the oldest pending write came (`performance.now()`), and whether the store was busy then. */
  #pendingSince = 0;
  #pendingBusy = false;
  /** When the running commit started (`performance.now()`), or -1; how long the last one took. */
  #commitStart = -1;
  #lastCommitMs = 0;
  #lastCommitSpans = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When #timer fires (`performance.now()` time). */
  #timerDue = 0;
  /** The commit in progress; commits run one at a time. */
  #flushing: Promise<void> = Promise.resolve();
  #fileSeq = 0;
  /** Names the temporary table of each search. */
  #searchSeq = 0;
  #closed = false;
  #today = Math.floor(Date.now() / 86_400_000);
  /** Reads in progress, awaited by close(). */
  readonly #reads = new Set<Promise<unknown>>();
  /** Span metrics and service-graph tables (`metrics.duckdb`); set by open(). */
  #metrics: DuckDbMetrics | undefined;
  #metricsConnection: DuckDBConnection | undefined;

  private constructor(
    opts: Readonly<Required<DuckDbStoreOptions>>,
    instance: DuckDBInstance,
    writer: DuckDBConnection,
    reader: DuckDBConnection,
    tmpDir: string,
  ) {
    this.#opts = opts;
    this.#instance = instance;
    this.#writer = writer;
    this.#reader = reader;
    this.#tmpDir = tmpDir;
    this.#recent = new RecentSpans(opts.dedupWindow);
  }

  /** Opens (or creates) the store in `options.dataDir`, attaching every day file found there. */
  static async open(options: DuckDbStoreOptions): Promise<DuckDbStore> {
    const opts = { ...DEFAULTS, ...options };
    ensureDirSync(opts.dataDir);
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: opts.memoryLimit,
      threads: String(opts.threads),
      temp_directory: join(opts.dataDir, '.tmp'),
      // Day files are written by this process only.
      enable_external_access: 'true',
      // DuckDB checkpoints (compresses into the file) when its own WAL passes this size. The default, 16 MB,
      // means recompressing the growing last row group every few thousand spans; our write-ahead log
      // already makes writes durable, so DuckDB's may grow larger.
      checkpoint_threshold: opts.checkpointThreshold,
    });
    const writer = await instance.connect();
    const reader = await instance.connect();
    for (const t of [...TABLES, 'operations', 'attr_values'] as const) {
      await writer.run(`CREATE TABLE empty_${t} (${DDL[t]})`);
    }
    const tmp = options.loadDir ?? (await mkdtemp(join(tmpdir(), 'traceloom-ingest-')));
    const store = new DuckDbStore(opts, instance, writer, reader, tmp);
    const files = readdirSync(opts.dataDir)
      .filter((f) => /^spans-\d{4}-\d{2}-\d{2}\.duckdb$/.test(f))
      .sort();
    for (const f of files) {
      const day = Math.floor(Date.parse(`${f.slice(6, 16)}T00:00:00Z`) / 86_400_000);
      await store.#attach(day);
    }
    await store.#rebuildViews();
    await store.#sealPastDays();
    store.#metricsConnection = await instance.connect();
    store.#metrics = await DuckDbMetrics.open(store.#metricsConnection, reader, opts.dataDir);
    return store;
  }

  /**
   * Sorts the summary parts of every day before today (UTC) by trace id. A day that still takes
   * writes is looked up by scanning its parts (one row per trace and commit, a few MB); a past
   * day's parts, rewritten once in trace-id order, let DuckDB's zone maps skip all but one row
   * group, so the lookup stays a fraction of a millisecond however many days are kept. (An ART
   * index did the same for 2.6 bytes per span on disk; maintaining either while writing would
   * cost every insert.) Parts that arrive for a sealed day later are appended unsorted and the
   * day is sorted again at the next seal.
   */
  async #sealPastDays(): Promise<void> {
    const today = Math.floor(Date.now() / 86_400_000);
    const w = this.#writer;
    for (const d of [...this.#days.values()]) {
      if (d.day >= today || d.sealed || !d.attached) continue;
      const a = d.alias;
      const rows = (await w.runAndReadAll(`SELECT count(*) FROM ${a}.parts`)).getRows()[0]![0] as bigint;
      const sorted = (await w.runAndReadAll(`SELECT max(parts_rows) FROM ${a}.sealed`)).getRows()[0]![0];
      if (sorted !== rows) {
        await w.run('BEGIN TRANSACTION');
        try {
          await w.run(
            `CREATE OR REPLACE TABLE ${a}.parts_sorted AS SELECT * FROM ${a}.parts ORDER BY trace_hi, trace_lo`,
          );
          await w.run(`DROP TABLE ${a}.parts`);
          await w.run(`ALTER TABLE ${a}.parts_sorted RENAME TO parts`);
          await w.run(`DELETE FROM ${a}.sealed`);
          await w.run(`INSERT INTO ${a}.sealed (${COLUMNS.sealed}) VALUES (${rows})`);
          await w.run('COMMIT');
        } catch (e) {
          await w.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
        await this.#compact(d);
      }
      this.#days.get(d.day)!.sealed = true;
    }
  }

  /**
   * Rewrites a day file into a fresh one. A file written by many commits and checkpoints keeps
   * the blocks that later checkpoints replaced (DuckDB reuses them but never shrinks the file),
   * and its row groups were compressed while they were still filling; a copy made once the day
   * is over holds only live, fully compressed data (about 10% smaller here). Crash-safe: the
   * copy replaces the original by rename only once it is complete.
   *
   * The copy is written with {@link SEALED_BLOCK_SIZE} blocks instead of DuckDB's 256 kB. A trace
   * lookup reads a few rows of every column, and DuckDB loads (allocates, reads, checksums) the
   * whole block that holds them: at 256 kB that was about 12 MB per lookup whose blocks were not
   * in the buffer pool yet. The bench store's day file was the same size with 64 kB blocks
   * (16 kB made it 38% larger).
   */
  async #compact(d: Day): Promise<void> {
    const w = this.#writer;
    const tmp = `${d.path}.compact`;
    rmSync(tmp, { force: true });
    await w.run(`ATTACH ${sqlString(tmp)} AS ${d.alias}_compact (BLOCK_SIZE ${SEALED_BLOCK_SIZE})`);
    try {
      await w.run(`COPY FROM DATABASE ${d.alias} TO ${d.alias}_compact`);
    } finally {
      await w.run(`DETACH ${d.alias}_compact`);
    }
    this.#days.delete(d.day);
    await this.#rebuildViews();
    await w.run(`DETACH ${d.alias}`);
    renameSync(tmp, d.path);
    rmSync(`${d.path}.wal`, { force: true });
    await this.#attach(d.day);
    await this.#rebuildViews();
  }

  /** The in-memory state of a day, created (not yet attached) on first use. */
  #dayState(day: number): Day {
    let d = this.#days.get(day);
    if (d === undefined) {
      const name = dayName(day);
      d = {
        day,
        alias: `d_${name.replaceAll('-', '_')}`,
        path: join(this.#opts.dataDir, `spans-${name}.duckdb`),
        attached: false,
        position: 0n,
        resources: new Set(),
        scopes: new Set(),
        shapes: new Set(),
        indexed: 0,
        sealed: false,
        operations: new Map(),
        attrs: [new Map(), new Map()],
      };
      this.#days.set(day, d);
    }
    return d;
  }

  /** Attaches a day's file (creating it), and loads what it knows into the day's state. */
  async #attach(day: number): Promise<Day> {
    const d = this.#dayState(day);
    if (d.attached) return d;
    const { alias, path } = d;
    const w = this.#writer;
    await w.run(`ATTACH ${sqlString(path)} AS ${alias}`);
    for (const [t, cols] of Object.entries(DDL)) await w.run(`CREATE TABLE IF NOT EXISTS ${alias}.${t} (${cols})`);
    // Day files written before the parts kept their read mask: NULL there means every column.
    const hasMask = await w.runAndReadAll(
      `SELECT 1 FROM duckdb_columns() WHERE database_name = ${sqlString(alias)} AND table_name = 'parts' AND column_name = 'read_mask'`,
    );
    if (hasMask.currentRowCount === 0) await w.run(`ALTER TABLE ${alias}.parts ADD COLUMN read_mask UINTEGER`);
    const pos = (await w.runAndReadAll(`SELECT max(wal_position) FROM ${alias}.meta`)).getRows()[0]?.[0];
    if (typeof pos === 'bigint') d.position = pos;
    const cat = this.#catalog;
    for (const r of (await w.runAndReadAll(`SELECT id, body FROM ${alias}.resources`)).getRows()) {
      d.resources.add(Number(r[0]));
      cat.loadResource(Number(r[0]), r[1] as string, decodeResource(r[1] as string));
    }
    for (const r of (await w.runAndReadAll(`SELECT id, body FROM ${alias}.scopes`)).getRows()) {
      d.scopes.add(Number(r[0]));
      cat.loadScope(Number(r[0]), r[1] as string, decodeScope(r[1] as string));
    }
    for (const r of (await w.runAndReadAll(`SELECT id, types, keys, slots FROM ${alias}.shapes`)).getRowsJS()) {
      d.shapes.add(Number(r[0]));
      cat.loadShape(Number(r[0]), r[1] as string, r[2] as string[], r[3] as number[]);
    }
    for (const r of (await w.runAndReadAll(`SELECT service, name, kind FROM ${alias}.operations`)).getRows())
      addOperation(d, r[0] as string, r[1] as string, Number(r[2]));
    for (const r of (await w.runAndReadAll(`SELECT scope, service, key, value FROM ${alias}.attr_values`)).getRows())
      addAttrValue(d, Number(r[0]) as 0 | 1, r[1] as string, r[2] as string, r[3] as string, Number.POSITIVE_INFINITY);
    d.attached = true;
    return d;
  }

  async #rebuildViews(): Promise<void> {
    const days = [...this.#days.values()].filter((d) => d.attached).sort((a, b) => a.day - b.day);
    for (const t of TABLES) {
      // Columns by name: a day file may hold columns this version does not know.
      const cols = COLUMNS[t];
      const parts = [`SELECT ${cols} FROM empty_${t}`, ...days.map((d) => `SELECT ${cols} FROM ${d.alias}.${t}`)];
      await this.#writer.run(`CREATE OR REPLACE VIEW all_${t} AS ${parts.join(' UNION ALL ')}`);
    }
  }

  // ---------------------------------------------------------------- writes

  write(batch: SpanBatch, position?: bigint): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (batch.length === 0 && position === undefined) return Promise.resolve();
    let days: Map<number, PreparedDay>;
    try {
      days = this.#prepare(batch);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.length === 0) {
        this.#pendingSince = performance.now();
        this.#pendingBusy = this.#busy();
      }
      this.#pending.push({ position, days, spans: batch.length, resolve, reject });
      this.#pendingSpans += batch.length;
      this.#scheduleCommit();
    });
  }

  /** Sets the timer for the next commit of what is pending: now when a row group's worth is. */
  #scheduleCommit(): void {
    // A write of no spans (a position alone) is pending too.
    if (this.#pending.length === 0) return;
    if (this.#pendingSpans >= this.#opts.maxBufferedSpans) this.#scheduleFlush(0);
    else this.#scheduleFlush(Math.max(0, this.#pendingDeadline() - performance.now()));
  }

  /**
   * Whether commits are long and large (the last one held an eighth of a row group or more, and
   * it or the one running has taken {@link BUSY_COMMIT_MS}): writes keep coming faster than short
   * commits would store them. (A slow commit of a few spans, a checkpoint's, is no such sign.)
   */
  #busy(): boolean {
    if (this.#lastCommitSpans * 8 < this.#opts.maxBufferedSpans) return false;
    if (this.#lastCommitMs >= BUSY_COMMIT_MS) return true;
    return this.#commitStart >= 0 && performance.now() - this.#commitStart >= BUSY_COMMIT_MS;
  }

  /** When the oldest pending write must be committed (`performance.now()` time). */
  #pendingDeadline(): number {
    const o = this.#opts;
    return (
      this.#pendingSince + (this.#pendingBusy ? Math.max(o.busyFlushIntervalMs, o.flushIntervalMs) : o.flushIntervalMs)
    );
  }

  #scheduleFlush(delay: number): void {
    const due = performance.now() + delay;
    if (this.#timer !== undefined) {
      if (due >= this.#timerDue) return;
      clearTimeout(this.#timer);
    }
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#commitPending(false);
    }, delay);
  }

  /**
   * The writes the next commit takes: all of them when `all` or past their deadline; else whole
   * multiples of `maxBufferedSpans` (rounded up to whole writes), or none while fewer are pending.
   */
  #takePending(all: boolean): Pending[] {
    const rows = this.#opts.maxBufferedSpans;
    if (all || this.#pendingSpans < rows) {
      if (!all && performance.now() < this.#pendingDeadline()) return [];
      const items = this.#pending;
      this.#pending = [];
      this.#pendingSpans = 0;
      return items;
    }
    const want = Math.floor(this.#pendingSpans / rows) * rows;
    let taken = 0;
    let k = 0;
    while (taken < want) taken += this.#pending[k++]!.spans;
    const items = this.#pending.splice(0, k);
    this.#pendingSpans -= taken;
    // The rest waits for the next row group from now, as writes that arrive during a commit do.
    this.#pendingSince = performance.now();
    this.#pendingBusy = true;
    return items;
  }

  /** Commits what is due (everything when `all`), after any commit in progress. */
  #commitPending(all: boolean): Promise<void> {
    const run = this.#flushing.then(async () => {
      const items = this.#takePending(all);
      if (items.length === 0) {
        this.#scheduleCommit();
        return;
      }
      this.#commitStart = performance.now();
      let spans = 0;
      for (const it of items) spans += it.spans;
      try {
        await this.#commit(items);
        for (const it of items) it.resolve();
      } catch (e) {
        if (this.#closed) {
          for (const it of items) it.reject(e);
        } else {
          // Kept, prepared, and tried again: a write resolves only once committed. (Days that did
          // commit were taken out of the items, so nothing is stored twice.)
          this.#opts.onCommitError(e);
          this.#pending = [...items, ...this.#pending];
          this.#pendingSpans += spans;
          // Due as soon as the retry delay is over.
          this.#pendingSince = performance.now() + COMMIT_RETRY_MS - this.#opts.flushIntervalMs;
          this.#pendingBusy = false;
          this.#scheduleFlush(COMMIT_RETRY_MS);
          return;
        }
      } finally {
        this.#lastCommitMs = performance.now() - this.#commitStart;
        this.#lastCommitSpans = spans;
        this.#commitStart = -1;
      }
      this.#scheduleCommit();
      // Past midnight (UTC), yesterday stops taking most writes: index it.
      const today = Math.floor(Date.now() / 86_400_000);
      if (today !== this.#today) {
        this.#today = today;
        await this.#sealPastDays().catch(() => undefined);
      }
    });
    this.#flushing = run;
    return run;
  }

  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#commitPending(true);
  }

  async committedPosition(): Promise<bigint> {
    let max = 0n;
    for (const d of this.#days.values()) if (d.position > max) max = d.position;
    return max;
  }

  /**
   * Turns a written batch into load-file lines and summary parts right away, per day. Done at
   * write time rather than at commit: the decoded spans can then be collected young (a pending
   * batch is a few flat strings, cheap for the garbage collector), and preparing the next
   * commit overlaps with DuckDB loading the previous one.
   */
  #prepare(batch: SpanBatch): Map<number, PreparedDay> {
    const out = new Map<number, PreparedDay>();
    const writers = new Map<number, LoadWriter>();
    const cat = this.#catalog;
    const maxValues = this.#opts.maxValuesPerKey;
    const st = batch.startUnixNano;
    let lastDay = -1;
    let p: PreparedDay | undefined;
    let lastResource: Span['resource'] | undefined;
    let lastScope: Span['scope'] | undefined;
    let lastResourceDay: PreparedDay | undefined;
    let lastScopeDay: PreparedDay | undefined;
    let rid = 0;
    let sid = 0;
    let w = loadScratch;
    w.pos = 0;
    for (let i = 0; i < batch.length; i++) {
      const s = batch.spans[i]!;
      const dayNum = Number(st[i]! / DAY_NS);
      if (dayNum !== lastDay || p === undefined) {
        lastDay = dayNum;
        p = out.get(dayNum);
        if (p === undefined) {
          p = {
            day: this.#dayState(dayNum),
            lines: EMPTY_LINES,
            parts: new Map(),
            resources: new Set(),
            scopes: new Set(),
            shapes: new Set(),
            newRows: { ops: [], attrs: [] },
          };
          out.set(dayNum, p);
          writers.set(dayNum, writers.size === 0 ? loadScratch : new LoadWriter());
        }
        w = writers.get(dayNum)!;
      }
      if (this.#recent.seen(s.spanId, s.traceId)) continue;
      const day = p.day;
      const service = batch.serviceOf(i);
      // Spans of one resource and scope come together: their ids are looked up once per run.
      if (s.resource !== lastResource || p !== lastResourceDay) {
        lastResource = s.resource;
        lastResourceDay = p;
        rid = cat.resourceId(s.resource);
        p.resources.add(rid);
      }
      if (s.scope !== lastScope || p !== lastScopeDay) {
        lastScope = s.scope;
        lastScopeDay = p;
        sid = cat.scopeId(s.scope);
        p.scopes.add(sid);
      }
      if (addOperation(day, service, s.name, s.kind))
        p.newRows.ops.push(`{"service":${JSON.stringify(service)},"name":${JSON.stringify(s.name)},"kind":${s.kind}}`);
      const attrs = s.attributes;
      const shape = cat.shapeOfAttributes(attrs);
      p.shapes.add(shape.id);
      // Autocomplete values: every span while the day is young, then one in eight.
      const index = day.indexed++ < FULL_INDEX_SPANS || (i & 7) === 0;
      const slots = slotScratch;
      let more: string[] | undefined;
      let extra: unknown[] | undefined;
      for (let j = 0; j < attrs.length; j++) {
        const kv = attrs[j]!;
        const value = kv.value;
        const v = typeof value === 'string' ? value : attributeText(value);
        if (index && addAttrValue(day, 0, service, kv.key, v, maxValues))
          p.newRows.attrs.push(attrLine(0, service, kv.key, v));
        const slot = shape.slots[j]!;
        if (slot >= 0) slots[slot] = v;
        else if (more === undefined) more = [v];
        else more.push(v);
        if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
          extra ??= [];
          extra.push(typedOf(value));
        }
      }
      const start = s.startTimeUnixNano;
      const dur = BigInt.asIntN(64, s.endTimeUnixNano - start);
      // Columns in SPAN_CSV_COLUMNS order. Empty fields read as NULL: empty strings, zero counts
      // and absent lists cost one delimiter.
      w.hex(s.traceId, 0, 16);
      w.byte(DELIM_BYTE);
      w.hex(s.traceId, 16, 32);
      w.byte(DELIM_BYTE);
      w.hex(s.spanId, 0, 16);
      w.byte(DELIM_BYTE);
      if (s.parentSpanId !== '') w.hex(s.parentSpanId, 0, 16);
      w.byte(DELIM_BYTE);
      if (s.traceState !== '') w.field(s.traceState);
      w.byte(DELIM_BYTE);
      w.uint(s.flags >>> 0);
      w.byte(DELIM_BYTE);
      w.field(service);
      w.byte(DELIM_BYTE);
      w.field(s.name);
      w.byte(DELIM_BYTE);
      w.uint(s.kind);
      w.byte(DELIM_BYTE);
      w.uint(s.status.code);
      w.byte(DELIM_BYTE);
      if (s.status.message !== '') w.field(s.status.message);
      w.byte(DELIM_BYTE);
      w.raw(start.toString());
      w.byte(DELIM_BYTE);
      w.raw(dur.toString());
      w.byte(DELIM_BYTE);
      w.uint(shape.id);
      for (let k = 0; k < SLOT_COUNT; k++) {
        w.byte(DELIM_BYTE);
        const v = slots[k];
        if (v !== undefined) {
          w.field(v);
          slots[k] = undefined;
        }
      }
      w.byte(DELIM_BYTE);
      if (more !== undefined) w.field(JSON.stringify(more));
      w.byte(DELIM_BYTE);
      if (extra !== undefined) w.field(JSON.stringify(extra));
      w.byte(DELIM_BYTE);
      if (s.droppedAttributesCount !== 0) w.uint(s.droppedAttributesCount);
      w.byte(DELIM_BYTE);
      if (s.droppedEventsCount !== 0) w.uint(s.droppedEventsCount);
      w.byte(DELIM_BYTE);
      if (s.droppedLinksCount !== 0) w.uint(s.droppedLinksCount);
      // JSON.stringify escapes every control character, so these never need quoting.
      w.byte(DELIM_BYTE);
      if (s.events.length > 0) w.raw(encodeEvents(s.events, start) as string);
      w.byte(DELIM_BYTE);
      if (s.links.length > 0) w.raw(encodeLinks(s.links) as string);
      w.byte(DELIM_BYTE);
      w.uint(rid);
      w.byte(DELIM_BYTE);
      w.uint(sid);
      w.byte(NEWLINE_BYTE);
      // The summary part of this span's trace.
      const end = dur > 0n ? start + dur : start;
      const isError = s.status.code === StatusCode.ERROR;
      let acc = p.parts.get(s.traceId);
      if (acc === undefined) {
        acc = emptyPart(start, end);
        p.parts.set(s.traceId, acc);
      }
      let mask = shape.slotMask;
      if (s.traceState !== '') mask |= READ.traceState;
      if (s.status.message !== '') mask |= READ.statusMessage;
      if (more !== undefined) mask |= READ.attrMore;
      if (extra !== undefined) mask |= READ.attrExtra;
      if ((s.droppedAttributesCount | s.droppedEventsCount | s.droppedLinksCount) !== 0) mask |= READ.dropped;
      if (s.events.length > 0) mask |= READ.events;
      if (s.links.length > 0) mask |= READ.links;
      acc.mask |= mask;
      if (start < acc.start) acc.start = start;
      if (end > acc.end) acc.end = end;
      acc.count++;
      if (isError) acc.errors++;
      if (s.parentSpanId === '' && (acc.rootService === null || start < acc.rootStart)) {
        acc.rootService = service;
        acc.rootName = s.name;
        acc.rootStart = start;
      }
      const sc = acc.services.get(service);
      if (sc === undefined) acc.services.set(service, [1, isError ? 1 : 0]);
      else {
        sc[0]++;
        if (isError) sc[1]++;
      }
    }
    for (const [dayNum, writer] of writers) out.get(dayNum)!.lines = writer.take();
    return out;
  }

  async #commit(items: readonly Pending[]): Promise<void> {
    const byDay = new Map<number, { position: bigint | undefined; p: PreparedDay }[]>();
    for (const it of items) {
      for (const [dayNum, p] of it.days) {
        const list = byDay.get(dayNum);
        if (list === undefined) byDay.set(dayNum, [{ position: it.position, p }]);
        else list.push({ position: it.position, p });
      }
    }
    // Attach every day first: a day's committed position decides what a replayed batch skips.
    let attached = false;
    for (const dayNum of byDay.keys()) {
      if (!this.#dayState(dayNum).attached) {
        await this.#attach(dayNum);
        attached = true;
      }
    }
    if (attached) await this.#rebuildViews();
    for (const [dayNum, preps] of byDay) {
      await this.#commitDay(this.#dayState(dayNum), preps);
      // Committed: a retry of these items (another day failing) must not store this day again.
      for (const it of items) it.days.delete(dayNum);
    }
  }

  async #commitDay(day: Day, preps: readonly { position: bigint | undefined; p: PreparedDay }[]): Promise<void> {
    const a = day.alias;
    const cat = this.#catalog;
    const maxValues = this.#opts.maxValuesPerKey;
    let position = 0n;
    const texts: Uint8Array[] = [];
    const parts = new Map<string, PartAcc>();
    const resourceIds = new Set<number>();
    const scopeIds = new Set<number>();
    const shapeIds = new Set<number>();
    const newOps: string[] = [];
    const newAttrs: string[] = [];
    for (const { position: pos, p } of preps) {
      for (const r of p.newRows.ops) newOps.push(r);
      for (const r of p.newRows.attrs) newAttrs.push(r);
      if (pos !== undefined) {
        if (pos <= day.position) continue; // replayed, already committed
        if (pos > position) position = pos;
      }
      if (p.lines.length > 0) texts.push(p.lines);
      for (const id of p.resources) if (!day.resources.has(id)) resourceIds.add(id);
      for (const id of p.scopes) if (!day.scopes.has(id)) scopeIds.add(id);
      for (const id of p.shapes) if (!day.shapes.has(id)) shapeIds.add(id);
      for (const [traceId, acc] of p.parts) {
        const cur = parts.get(traceId);
        if (cur === undefined) parts.set(traceId, acc);
        else mergePart(cur, acc);
      }
    }
    const newResources: string[] = [];
    for (const rid of resourceIds) {
      const r = cat.resource(rid)!;
      const service = serviceNameOf(r);
      const ac = encodeAttrs(r.attributes);
      newResources.push(
        `{"id":${rid},"service":${JSON.stringify(service)},"body":${JSON.stringify(cat.resourceBody(rid))},` +
          `"k":${JSON.stringify(ac.keys)},"t":"${ac.types}","v":${JSON.stringify(ac.values)}}`,
      );
      for (let j = 0; j < ac.keys.length; j++) {
        if (addAttrValue(day, 1, service, ac.keys[j]!, ac.values[j]!, maxValues))
          newAttrs.push(attrLine(1, service, ac.keys[j]!, ac.values[j]!));
      }
    }
    const newScopes = [...scopeIds].map((sid) => `{"id":${sid},"body":${JSON.stringify(cat.scopeBody(sid))}}`);
    const newShapes = [...shapeIds].map((id) => {
      const shape = cat.shape(id)!;
      return `{"id":${shape.id},"t":"${shape.types}","k":${JSON.stringify(shape.keys)},"s":[${shape.slots.join(',')}]}`;
    });
    const lines = texts;
    const partLines: string[] = [];
    for (const [traceId, p] of parts) {
      const names = [...p.services.keys()].sort();
      partLines.push(
        `{"h":"${traceId.slice(0, 16)}","l":"${traceId.slice(16)}","st":"${p.start}","en":"${p.end}","n":${p.count},` +
          `"e":${p.errors},"rs":${p.rootService === null ? 'null' : JSON.stringify(p.rootService)},` +
          `"rn":${p.rootName === null ? 'null' : JSON.stringify(p.rootName)},"rt":"${p.rootStart}",` +
          `"sv":${JSON.stringify(names)},"sn":[${names.map((n) => p.services.get(n)![0]).join(',')}],` +
          `"se":[${names.map((n) => p.services.get(n)![1]).join(',')}],"m":${p.mask}}`,
      );
    }

    const files: string[] = [];
    /** Writes `data` to a new load file; returns its path as an SQL string. */
    const write = async (ext: string, data: string | readonly Uint8Array[]): Promise<string> => {
      const f = join(this.#tmpDir, `${++this.#fileSeq}.${ext}`);
      files.push(f);
      await (typeof data === 'string' ? writeFile(f, data) : writeChunks(f, data));
      return sqlString(f);
    };
    const file = (rows: string[]): Promise<string> => write('json', rows.join('\n'));
    const c = this.#writer;
    try {
      let spansFile = '';
      if (lines.length > 0) {
        // The prepared lines are bytes already (see LoadWriter). One file per DuckDB
        // thread: DuckDB reads and inserts the files of one read_csv in parallel (keeping their
        // order), where one file is one thread's work. Measured with 400,000 spans written as the
        // server writes them: 76,000 spans/s with one file, 83,000 to 85,000 with two (and no
        // more with three or four), and less CPU per span.
        const parts = Math.max(1, Math.min(this.#opts.threads, lines.length));
        const names: string[] = [];
        const per = Math.ceil(lines.length / parts);
        for (let k = 0; k < lines.length; k += per) names.push(await write('csv', lines.slice(k, k + per)));
        spansFile = names.length === 1 ? names[0]! : `[${names.join(', ')}]`;
      }
      const partsFile = partLines.length > 0 ? await file(partLines) : '';
      const resFile = newResources.length > 0 ? await file(newResources) : '';
      const scopeFile = newScopes.length > 0 ? await file(newScopes) : '';
      const shapeFile = newShapes.length > 0 ? await file(newShapes) : '';
      const opsFile = newOps.length > 0 ? await file(newOps) : '';
      const attrFile = newAttrs.length > 0 ? await file(newAttrs) : '';
      await c.run('BEGIN TRANSACTION');
      try {
        if (spansFile !== '') {
          await c.run(
            `INSERT INTO ${a}.spans (${COLUMNS.spans}) SELECT ${SPAN_SELECT} FROM read_csv(${spansFile}, ${SPAN_CSV_OPTIONS})`,
          );
        }
        if (partsFile !== '') {
          await c.run(
            `INSERT INTO ${a}.parts (${COLUMNS.parts}) SELECT ('0x'||h)::UBIGINT, ('0x'||l)::UBIGINT, st, en, n, e, rs, rn, rt, sv, sn, se, m ` +
              `FROM read_json(${partsFile}, format='newline_delimited', columns={h:'VARCHAR',l:'VARCHAR',st:'UBIGINT',` +
              `en:'UBIGINT',n:'UINTEGER',e:'UINTEGER',rs:'VARCHAR',rn:'VARCHAR',rt:'UBIGINT',sv:'VARCHAR[]',` +
              `sn:'UINTEGER[]',se:'UINTEGER[]',m:'UINTEGER'})`,
          );
        }
        if (resFile !== '') {
          await c.run(
            `INSERT INTO ${a}.resources (${COLUMNS.resources}) SELECT id, service, body, k, t, v FROM read_json(${resFile}, ` +
              `format='newline_delimited', columns={id:'UINTEGER',service:'VARCHAR',body:'VARCHAR',k:'VARCHAR[]',t:'VARCHAR',v:'VARCHAR[]'})`,
          );
        }
        if (scopeFile !== '') {
          await c.run(
            `INSERT INTO ${a}.scopes (${COLUMNS.scopes}) SELECT id, body FROM read_json(${scopeFile}, format='newline_delimited', ` +
              `columns={id:'UINTEGER',body:'VARCHAR'})`,
          );
        }
        if (shapeFile !== '') {
          await c.run(
            `INSERT INTO ${a}.shapes (${COLUMNS.shapes}) SELECT id, t, k, s FROM read_json(${shapeFile}, format='newline_delimited', ` +
              `columns={id:'UINTEGER',t:'VARCHAR',k:'VARCHAR[]',s:'INTEGER[]'})`,
          );
        }
        if (opsFile !== '') {
          await c.run(
            `INSERT INTO ${a}.operations (${COLUMNS.operations}) SELECT service, name, kind FROM read_json(${opsFile}, ` +
              `format='newline_delimited', columns={service:'VARCHAR',name:'VARCHAR',kind:'UTINYINT'})`,
          );
        }
        if (attrFile !== '') {
          await c.run(
            `INSERT INTO ${a}.attr_values (${COLUMNS.attr_values}) SELECT scope, service, key, value FROM read_json(${attrFile}, ` +
              `format='newline_delimited', columns={scope:'UTINYINT',service:'VARCHAR',key:'VARCHAR',value:'VARCHAR'})`,
          );
        }
        if (position > day.position) {
          await c.run(`DELETE FROM ${a}.meta`);
          await c.run(`INSERT INTO ${a}.meta (${COLUMNS.meta}) VALUES (${position})`);
        }
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
      // Parts appended to a sealed (past) day are unsorted: sort again at the next seal.
      day.sealed = false;
      for (const id of resourceIds) day.resources.add(id);
      for (const id of scopeIds) day.scopes.add(id);
      for (const id of shapeIds) day.shapes.add(id);
      if (position > day.position) day.position = position;
    } finally {
      await Promise.all(files.map((f) => unlink(f).catch(() => undefined)));
    }
  }

  // ---------------------------------------------------------------- reads

  /** Runs a read query, tracked so that close() waits for it. */
  #read(sql: string, values?: string[]) {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    const p = this.#reader.runAndReadAll(sql, values);
    this.#reads.add(p);
    void p.then(
      () => this.#reads.delete(p),
      () => this.#reads.delete(p),
    );
    return p;
  }

  async getTrace(traceId: string, hint?: TimeRange, options?: GetTraceOptions): Promise<Span[] | undefined> {
    const id = traceId.toLowerCase();
    if (!isValidTraceId(id)) return undefined;
    let lo: bigint;
    let hi: bigint;
    // The slot and mostly-NULL columns the trace's spans have values in: the rest are NULL in its
    // rows, so not read. Parts without a mask (older day files, retention's rebuilt parts) count as all.
    let mask = READ_ALL;
    if (hint !== undefined) {
      lo = hint.startUnixNano;
      hi = hint.endUnixNano;
    } else {
      const r = (
        await this.#read(
          `SELECT min(start_ns), max(end_ns), bit_or(coalesce(read_mask, ${READ_ALL})) FROM all_parts WHERE ${traceIdSql(id)}`,
        )
      ).getRows()[0];
      if (r === undefined || r[0] === null) return undefined;
      lo = r[0] as bigint;
      hi = r[1] as bigint;
      mask = Number(r[2]);
    }
    // One JSON text for all rows: @duckdb/node-api converts result values one by one (a
    // TextDecoder call per string), which took about 2 s for a 100,000-span trace; DuckDB
    // writing JSON and one JSON.parse take a fraction of that. 64-bit values travel as text.
    // Without details, only the columns of the tree and timing are read (and no attribute is decoded).
    const details = options?.details !== false;
    // Where each slot column's value is in a row (-1: not read).
    const slotAt = new Int32Array(SLOT_COUNT).fill(-1);
    let slots = '';
    if (details) {
      let k = TRACE_ROW_SLOTS;
      for (let s = 0; s <= this.#catalog.maxSlot; s++) {
        if ((mask & (1 << s)) === 0) continue;
        slots += `, v${s}`;
        slotAt[s] = k++;
      }
    }
    /** The column's expression when the mask names it, else its value when NULL. */
    const col = (bit: number, sql: string, none: string) => ((mask & bit) !== 0 ? sql : none);
    const dropped = (c: string) => col(READ.dropped, `coalesce(${c}, 0)`, '0');
    const text = (
      await this.#read(
        `SELECT json_group_array(json_array(printf('%016x', span_id),
          CASE WHEN parent_id IS NULL THEN '' ELSE printf('%016x', parent_id) END,
          ${col(READ.traceState, "coalesce(trace_state, '')", "''")}, flags, name, kind, status_code,
          ${col(READ.statusMessage, "coalesce(status_message, '')", "''")}, start_ns::VARCHAR, duration_ns::VARCHAR, shape,
          ${details ? col(READ.attrMore, 'attr_more', 'NULL') : 'NULL'}, ${details ? col(READ.attrExtra, 'attr_extra', 'NULL') : 'NULL'},
          ${dropped('dropped_attrs')}, ${dropped('dropped_events')}, ${dropped('dropped_links')},
          ${details ? col(READ.events, 'events', 'NULL') : 'NULL'}, ${details ? col(READ.links, 'links', 'NULL') : 'NULL'},
          resource_id, scope_id${slots}))::VARCHAR
         FROM all_spans WHERE ${traceIdSql(id)} AND start_ns BETWEEN ${lo} AND ${hi}`,
      )
    ).getRows()[0]?.[0];
    const rows = typeof text === 'string' ? (JSON.parse(text) as TraceRow[]) : [];
    if (rows.length === 0) return undefined;
    const cat = this.#catalog;
    const out: Span[] = [];
    for (const r of rows) {
      const start = BigInt(r[8]);
      const shape = cat.shape(r[10]);
      const resource = cat.resource(r[18]);
      const scope = cat.scope(r[19]);
      if (shape === undefined || resource === undefined || scope === undefined) continue;
      let attributes: KeyValue[] = [];
      if (details) {
        const moreText = r[11];
        const more = moreText === null ? undefined : (JSON.parse(moreText) as string[]);
        const values = shape.slots.map((slot) => (slot >= 0 ? (r[slotAt[slot]!] as string) : more![-slot - 1]!));
        attributes = decodeAttrs(shape.keys, shape.types, values, r[12]);
      }
      out.push({
        traceId: id,
        spanId: r[0],
        parentSpanId: r[1],
        traceState: r[2],
        flags: r[3],
        name: r[4],
        kind: r[5],
        startTimeUnixNano: start,
        endTimeUnixNano: BigInt.asUintN(64, start + BigInt(r[9])),
        attributes,
        droppedAttributesCount: r[13],
        events: decodeEvents(r[16], start),
        droppedEventsCount: r[14],
        links: decodeLinks(r[17]),
        droppedLinksCount: r[15],
        status: { code: r[6], message: r[7] },
        resource,
        scope,
      });
    }
    return out;
  }

  async search(q: SearchQuery): Promise<SearchResult> {
    const p = new Params();
    const range = `start_ns BETWEEN ${q.range.startUnixNano} AND ${q.range.endUnixNano}`;
    const conds: string[] = [];
    if (q.service !== undefined) conds.push(`service = ${p.add(q.service)}`);
    if (q.operation !== undefined) conds.push(`name = ${p.add(q.operation)}`);
    if (q.spanKind !== undefined) conds.push(`kind = ${Math.trunc(q.spanKind)}`);
    for (const c of q.attributes ?? []) conds.push(attributeSql(c, p, this.#catalog));
    if (q.minDurationNano !== undefined) conds.push(`duration_ns >= ${q.minDurationNano}`);
    if (q.maxDurationNano !== undefined) conds.push(`duration_ns <= ${q.maxDurationNano}`);
    if (q.errorsOnly === true) conds.push(`status_code = ${StatusCode.ERROR}`);
    let matched: string;
    if (q.match === 'trace' && conds.length > 1) {
      matched =
        `SELECT trace_hi, trace_lo FROM all_spans WHERE ${range} AND (${conds.map((c) => `(${c})`).join(' OR ')}) ` +
        `GROUP BY trace_hi, trace_lo HAVING ${conds.map((c) => `bool_or(${c})`).join(' AND ')}`;
    } else {
      matched = `SELECT DISTINCT trace_hi, trace_lo FROM all_spans WHERE ${[range, ...conds].join(' AND ')}`;
    }
    const longest = q.sort === 'longest';
    const key = longest ? 'dur' : 'st';
    let cursorSql = '';
    if (q.cursor !== undefined) {
      // Same order as the reference store: sort key descending, then trace id ascending.
      const cur = decodeCursor(q.cursor);
      const [h, l] = traceIdParts(cur.traceId);
      cursorSql =
        `WHERE (${key} < ${cur.sortKey} OR (${key} = ${cur.sortKey} AND ` +
        `(trace_hi > ${h} OR (trace_hi = ${h} AND trace_lo > ${l}))))`;
    }
    const limit = Math.max(1, Math.min(10_000, Math.trunc(q.limit)));
    for (const c of q.attributes ?? []) {
      if (c.op !== '=~' && c.op !== '!~') continue;
      try {
        await this.#read("SELECT regexp_full_match('', $1)", [String(c.value ?? '')]);
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        throw new QueryInputError('attributes', `'${String(c.value)}' is not a valid RE2 regular expression: ${msg}`);
      }
    }
    // The matched trace ids go to a temporary table of their own rather than a CTE: DuckDB
    // estimated such a CTE at a tenth of the spans (1.1 million rows for 10 million spans, even
    // when it held none) and so built the semi join's hash table on the parts (591,000 rows, about
    // 120 ms per search) instead of on the matches. A table's row count is exact.
    const matches = `search_m${++this.#searchSeq}`;
    await this.#read(`CREATE TEMP TABLE ${matches} AS ${matched}`, p.values);
    let rows: DuckDBValue[][];
    let total = 0;
    try {
      rows = (
        await this.#read(
          `WITH s AS (SELECT p.trace_hi, p.trace_lo, min(start_ns) AS st, max(end_ns) - min(start_ns) AS dur
              FROM all_parts p SEMI JOIN ${matches} m ON p.trace_hi = m.trace_hi AND p.trace_lo = m.trace_lo
              GROUP BY p.trace_hi, p.trace_lo)
           SELECT ${TRACE_HEX}, st, dur, (SELECT count(*) FROM ${matches}) FROM s ${cursorSql}
           ORDER BY ${key} DESC, trace_hi ASC, trace_lo ASC LIMIT ${limit + 1}`,
        )
      ).getRows();
      const counted =
        rows.length > 0 ? rows[0]![3] : (await this.#read(`SELECT count(*) FROM ${matches}`)).getRows()[0]![0];
      total = Number(counted);
    } finally {
      await this.#read(`DROP TABLE IF EXISTS ${matches}`).catch(() => undefined);
    }
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r[0] as string);
    const traces = await this.traceSummaries(ids);
    let nextCursor: string | undefined;
    if (rows.length > limit) {
      const last = page[page.length - 1]!;
      nextCursor = encodeCursor({ sortKey: (longest ? last[2] : last[1]) as bigint, traceId: last[0] as string });
    }
    return nextCursor === undefined ? { traces, total } : { traces, total, nextCursor };
  }

  async traceSummaries(traceIds: readonly string[]): Promise<TraceSummary[]> {
    const ids = [...new Set(traceIds.map((t) => t.toLowerCase()).filter(isValidTraceId))];
    if (ids.length === 0) return [];
    // A page of ids (a search result) as a filter: the scan reads the summary columns only for
    // the vectors holding those traces. A semi join would read all of them for every part of
    // every day before probing (measured about twice the CPU for 20 ids over 591,000 parts).
    const which =
      ids.length <= MAX_FILTER_IDS
        ? `WHERE ${ids.map((t) => `(${traceIdSql(t)})`).join(' OR ')}`
        : `SEMI JOIN (VALUES ${ids.map((t) => `(${traceIdParts(t).join(', ')})`).join(', ')}) v(h, l)
           ON p.trace_hi = v.h AND p.trace_lo = v.l`;
    const rows = (
      await this.#read(
        `SELECT ${TRACE_HEX}, start_ns, end_ns, span_count, error_count, root_service, root_name, root_start,
           services, service_spans, service_errors
         FROM all_parts p ${which}`,
      )
    ).getRowsJS();
    const acc = new Map<string, PartAcc>();
    for (const r of rows) {
      const id = r[0] as string;
      const start = r[1] as bigint;
      const end = r[2] as bigint;
      let a = acc.get(id);
      if (a === undefined) {
        a = emptyPart(start, end);
        acc.set(id, a);
      }
      if (start < a.start) a.start = start;
      if (end > a.end) a.end = end;
      a.count += r[3] as number;
      a.errors += r[4] as number;
      if (r[5] !== null && (a.rootService === null || (r[7] as bigint) < a.rootStart)) {
        a.rootService = r[5] as string;
        a.rootName = r[6] as string;
        a.rootStart = r[7] as bigint;
      }
      const names = r[8] as string[];
      const ns = r[9] as number[];
      const es = r[10] as number[];
      for (let i = 0; i < names.length; i++) {
        const cur = a.services.get(names[i]!);
        if (cur === undefined) a.services.set(names[i]!, [ns[i]!, es[i]!]);
        else {
          cur[0] += ns[i]!;
          cur[1] += es[i]!;
        }
      }
    }
    const out: TraceSummary[] = [];
    for (const id of traceIds) {
      const a = acc.get(id.toLowerCase());
      if (a === undefined) continue;
      const services: ServiceSpanCount[] = [...a.services.entries()]
        .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
        .map(([service, [spanCount, errorCount]]) => ({ service, spanCount, errorCount }));
      out.push({
        traceId: id.toLowerCase(),
        rootServiceName: a.rootService ?? '',
        rootName: a.rootName ?? '',
        startUnixNano: a.start,
        durationNano: a.end - a.start,
        spanCount: a.count,
        errorCount: a.errors,
        services,
      });
    }
    return out;
  }

  async services(): Promise<string[]> {
    const all = new Set<string>();
    for (const d of this.#days.values()) for (const s of d.operations.keys()) all.add(s);
    return [...all].sort();
  }

  async operations(service: string): Promise<Operation[]> {
    const seen = new Map<string, Operation>();
    for (const d of this.#days.values()) {
      for (const [name, kinds] of d.operations.get(service) ?? []) {
        for (const k of kinds) seen.set(`${name}\u0000${k}`, { name, spanKind: k });
      }
    }
    return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.spanKind - b.spanKind));
  }

  async attributeKeys(scope: 'span' | 'resource', options: AttributeListOptions = {}): Promise<string[]> {
    const keys = new Set<string>();
    const prefix = options.prefix ?? '';
    for (const d of this.#days.values()) {
      for (const [service, byKey] of d.attrs[scope === 'span' ? 0 : 1]) {
        if (options.service !== undefined && service !== options.service) continue;
        for (const k of byKey.keys()) if (k.startsWith(prefix)) keys.add(k);
      }
    }
    return [...keys].sort().slice(0, options.limit ?? 100);
  }

  async attributeValues(
    scope: 'span' | 'resource',
    key: string,
    options: AttributeListOptions = {},
  ): Promise<string[]> {
    const values = new Set<string>();
    const prefix = options.prefix ?? '';
    for (const d of this.#days.values()) {
      for (const [service, byKey] of d.attrs[scope === 'span' ? 0 : 1]) {
        if (options.service !== undefined && service !== options.service) continue;
        for (const v of byKey.get(key) ?? []) if (v.startsWith(prefix)) values.add(v);
      }
    }
    return [...values].sort().slice(0, options.limit ?? 100);
  }

  // ---------------------------------------------------------------- retention

  async deleteBefore(cutoffUnixNano: bigint): Promise<RetentionResult> {
    await this.flush();
    if (this.#closed) throw new Error('the store is closed');
    let deletedSpans = 0;
    let freedBytes = 0;
    const run = this.#flushing.then(async () => {
      if (this.#closed) return;
      const c = this.#writer;
      const whole = [...this.#days.values()].filter((d) => d.attached && BigInt(d.day + 1) * DAY_NS <= cutoffUnixNano);
      if (whole.length > 0) {
        for (const d of whole) {
          const n = (await c.runAndReadAll(`SELECT count(*) FROM ${d.alias}.spans`)).getRows()[0]![0];
          deletedSpans += Number(n);
        }
        for (const d of whole) this.#days.delete(d.day);
        await this.#rebuildViews();
        for (const d of whole) {
          await c.run(`DETACH ${d.alias}`);
          for (const f of [d.path, `${d.path}.wal`]) {
            try {
              freedBytes += statSync(f).size;
              rmSync(f);
            } catch {
              // The .wal file exists only while DuckDB has uncheckpointed changes.
            }
          }
        }
      }
      const cutDay = this.#days.get(Number(cutoffUnixNano / DAY_NS));
      if (cutDay?.attached === true) {
        const a = cutDay.alias;
        const before = fileSize(cutDay.path);
        const n = Number(
          (
            await c.runAndReadAll(`SELECT count(*) FROM ${a}.spans WHERE start_ns < ${cutoffUnixNano}`)
          ).getRows()[0]![0],
        );
        if (n > 0) {
          await c.run('BEGIN TRANSACTION');
          try {
            await c.run(
              `CREATE OR REPLACE TEMP TABLE cut_traces AS SELECT DISTINCT trace_hi, trace_lo FROM ${a}.spans WHERE start_ns < ${cutoffUnixNano}`,
            );
            await c.run(`DELETE FROM ${a}.spans WHERE start_ns < ${cutoffUnixNano}`);
            await c.run(
              `DELETE FROM ${a}.parts p USING cut_traces x WHERE p.trace_hi = x.trace_hi AND p.trace_lo = x.trace_lo`,
            );
            // Summaries of the traces cut in two, rebuilt from what remains of them this day (read
            // mask NULL: a read of these traces takes every column).
            await c.run(
              `INSERT INTO ${a}.parts (${COLUMNS.parts})
               WITH s AS (SELECT * FROM ${a}.spans SEMI JOIN cut_traces USING (trace_hi, trace_lo)),
                 per AS (SELECT trace_hi, trace_lo, service, count(*)::UINTEGER AS n,
                           count(*) FILTER (WHERE status_code = ${StatusCode.ERROR})::UINTEGER AS e
                         FROM s GROUP BY ALL),
                 per_l AS (SELECT trace_hi, trace_lo, list(service ORDER BY service) AS sv, list(n ORDER BY service) AS sn,
                           list(e ORDER BY service) AS se FROM per GROUP BY trace_hi, trace_lo),
                 roots AS (SELECT trace_hi, trace_lo, arg_min(service, start_ns) AS rs, arg_min(name, start_ns) AS rn,
                           min(start_ns) AS rt FROM s WHERE parent_id IS NULL GROUP BY trace_hi, trace_lo),
                 agg AS (SELECT trace_hi, trace_lo, min(start_ns) AS st,
                           max(CASE WHEN duration_ns > 0 THEN start_ns + duration_ns::UBIGINT ELSE start_ns END) AS en,
                           count(*)::UINTEGER AS n, count(*) FILTER (WHERE status_code = ${StatusCode.ERROR})::UINTEGER AS e
                         FROM s GROUP BY trace_hi, trace_lo)
               SELECT agg.trace_hi, agg.trace_lo, st, en, n, e, rs, rn, coalesce(rt, 0), sv, sn, se, NULL
               FROM agg JOIN per_l USING (trace_hi, trace_lo) LEFT JOIN roots USING (trace_hi, trace_lo)`,
            );
            await c.run('COMMIT');
          } catch (e) {
            await c.run('ROLLBACK').catch(() => undefined);
            throw e;
          }
          await c.run(`CHECKPOINT ${a}`);
          deletedSpans += n;
          freedBytes += Math.max(0, before - fileSize(cutDay.path));
        }
      }
    });
    this.#flushing = run.catch(() => undefined);
    await run;
    await this.#metricsTables().deleteBefore(cutoffUnixNano);
    return { deletedSpans, freedBytes };
  }

  async stats(): Promise<StoreStats> {
    const n = (await this.#read('SELECT count(*) FROM all_spans')).getRows()[0]![0];
    let bytes = 0;
    for (const d of this.#days.values()) if (d.attached) bytes += fileSize(d.path) + fileSize(`${d.path}.wal`);
    return { spans: Number(n), bytesOnDisk: bytes };
  }

  // ---------------------------------------------------------------- metrics

  #metricsTables(): DuckDbMetrics {
    if (this.#closed || this.#metrics === undefined) throw new Error('the store is closed');
    return this.#metrics;
  }

  async writeMetrics(batch: MetricsBatch, position?: bigint): Promise<void> {
    await this.#metricsTables().write(batch, position);
  }

  async metricsPosition(): Promise<bigint> {
    return this.#metricsTables().position;
  }

  async spanMetrics(query: SpanMetricsQuery): Promise<SpanMetricPoint[]> {
    const p = this.#metricsTables().spanMetrics(query);
    this.#reads.add(p);
    void p.then(
      () => this.#reads.delete(p),
      () => this.#reads.delete(p),
    );
    return p;
  }

  async edgeMetrics(query: EdgeMetricsQuery): Promise<EdgeMetricPoint[]> {
    const p = this.#metricsTables().edgeMetrics(query);
    this.#reads.add(p);
    void p.then(
      () => this.#reads.delete(p),
      () => this.#reads.delete(p),
    );
    return p;
  }

  /** Writes every day file's changes into the file itself (DuckDB CHECKPOINT). */
  async checkpoint(): Promise<void> {
    await this.flush();
    const run = this.#flushing.then(async () => {
      await this.#sealPastDays();
      for (const d of this.#days.values()) if (d.attached) await this.#writer.run(`CHECKPOINT ${d.alias}`);
    });
    this.#flushing = run.catch(() => undefined);
    await run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    // A last attempt for what a failing commit left pending; failing now rejects those writes.
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#commitPending(true);
    await this.#flushing;
    // A query still running when the connections close would take the process down.
    await Promise.allSettled([...this.#reads]);
    await this.#metrics?.close();
    this.#metricsConnection?.closeSync();
    for (const d of this.#days.values())
      if (d.attached) await this.#writer.run(`CHECKPOINT ${d.alias}`).catch(() => undefined);
    this.#writer.closeSync();
    this.#reader.closeSync();
    this.#instance.closeSync();
    if (this.#opts.loadDir === '') await rm(this.#tmpDir, { recursive: true, force: true });
  }
}

/** The summary part of a trace before any span is counted in it. */
function emptyPart(start: bigint, end: bigint): PartAcc {
  return {
    start,
    end,
    count: 0,
    errors: 0,
    rootService: null,
    rootName: null,
    rootStart: 0n,
    services: new Map(),
    mask: 0,
  };
}

/** Folds the part `b` of a trace into `a` (two parts of one trace from one commit). */
function mergePart(a: PartAcc, b: PartAcc): void {
  if (b.start < a.start) a.start = b.start;
  if (b.end > a.end) a.end = b.end;
  a.count += b.count;
  a.errors += b.errors;
  if (b.rootService !== null && (a.rootService === null || b.rootStart < a.rootStart)) {
    a.rootService = b.rootService;
    a.rootName = b.rootName;
    a.rootStart = b.rootStart;
  }
  a.mask |= b.mask;
  for (const [service, [n, e]] of b.services) {
    const cur = a.services.get(service);
    if (cur === undefined) a.services.set(service, [n, e]);
    else {
      cur[0] += n;
      cur[1] += e;
    }
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A trace id as the two unsigned 64-bit halves it is stored as. */
function traceIdParts(id: string): [bigint, bigint] {
  return [BigInt(`0x${id.slice(0, 16)}`), BigInt(`0x${id.slice(16, 32)}`)];
}

/**
 * Writes prepared bytes (each a request's spans, about 200 kB for 512) into a new file with one
 * gathering write. (Given strings one by one, `writeFile` took a turn of the event loop per
 * request, and while requests kept arriving a turn could hold milliseconds of other work: a
 * commit of 100,000 spans spent 420 to 890 ms writing its load files, with DuckDB idle.)
 */
async function writeChunks(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writev(chunks as Uint8Array[]);
  } finally {
    await fh.close();
  }
}

/** The condition that selects one trace id. */
function traceIdSql(id: string): string {
  const [h, l] = traceIdParts(id);
  return `trace_hi = ${h} AND trace_lo = ${l}`;
}

/** The stored trace id as 32 lowercase hex digits. */
const TRACE_HEX = `printf('%016x%016x', trace_hi, trace_lo)`;

function attrLine(scope: 0 | 1, service: string, key: string, value: string): string {
  return `{"scope":${scope},"service":${JSON.stringify(service)},"key":${JSON.stringify(key)},"value":${JSON.stringify(value)}}`;
}

/** Records an operation; true when it is new for the day. */
function addOperation(d: Day, service: string, name: string, kind: number): boolean {
  let byName = d.operations.get(service);
  if (byName === undefined) {
    byName = new Map();
    d.operations.set(service, byName);
  }
  let kinds = byName.get(name);
  if (kinds === undefined) {
    kinds = new Set();
    byName.set(name, kinds);
  }
  if (kinds.has(kind)) return false;
  kinds.add(kind);
  return true;
}

/**
 * Records an attribute value for autocomplete; true when it is new for the
 * day. A key is always recorded; its values only up to `max` and
 * {@link MAX_AUTOCOMPLETE_VALUE} characters.
 */
function addAttrValue(d: Day, scope: 0 | 1, service: string, key: string, value: string, max: number): boolean {
  const byService = d.attrs[scope];
  let byKey = byService.get(service);
  if (byKey === undefined) {
    byKey = new Map();
    byService.set(service, byKey);
  }
  let values = byKey.get(key);
  if (values === undefined) {
    values = new Set();
    byKey.set(key, values);
  } else if (values.size >= max || values.has(value)) {
    return false;
  }
  if (value.length > MAX_AUTOCOMPLETE_VALUE) {
    // Remember the key with no value: keep a row so the key survives a restart.
    if (values.size > 0) return false;
    values.add('');
    return true;
  }
  values.add(value);
  return true;
}

/** SQL for one attribute condition on the span attributes, the resource attributes, or either. */
function attributeSql(c: AttributeCondition, p: Params, cat: Catalog): string {
  const spanSql = () => spanAttrSql(c, p, cat);
  const resSql = () => `resource_id IN (SELECT id FROM all_resources WHERE ${resourceAttrSql(c, p.add(c.key), p)})`;
  if (c.scope === 'span') return spanSql();
  if (c.scope === 'resource') return resSql();
  return c.op === '!exists' ? `(${spanSql()}) AND (${resSql()})` : `(${spanSql()}) OR (${resSql()})`;
}

/** The comparison of one value expression with the condition's value; undefined when the type can never match. */
function valueSql(c: AttributeCondition, val: string, type: string, p: Params): string | undefined {
  switch (c.op) {
    case '=':
      return `${val} = ${p.add(String(c.value ?? ''))}`;
    case '!=':
      return `${val} <> ${p.add(String(c.value ?? ''))}`;
    case '=~':
      return `regexp_full_match(${val}, ${p.add(String(c.value ?? ''))})`;
    case '!~':
      return `NOT regexp_full_match(${val}, ${p.add(String(c.value ?? ''))})`;
    default: {
      if (type !== 'i' && type !== 'd') return undefined;
      const text = String(c.value ?? '').trim();
      const n = Number(text);
      if (text === '' || !Number.isFinite(n))
        throw new QueryInputError('attributes', `'${c.op}' compares numbers, and '${String(c.value)}' is not one`);
      if (type === 'd') return `TRY_CAST(${val} AS DOUBLE) ${c.op} ${n}`;
      // Integers compare exactly against int64 attributes (a double would round 2^60 + 1;
      // and a number's own text may be rounded, e.g. 2 ** 60 prints as 1152921504606847000).
      const exact =
        typeof c.value === 'number' && Number.isInteger(c.value)
          ? `${BigInt(c.value)}::HUGEINT`
          : /^-?\d+$/.test(text)
            ? `${BigInt(text)}::HUGEINT`
            : undefined;
      return exact === undefined
        ? `TRY_CAST(${val} AS DOUBLE) ${c.op} ${n}`
        : `TRY_CAST(${val} AS HUGEINT) ${c.op} ${exact}`;
    }
  }
}

/** A span attribute condition over the slot columns: per placement of the key, its shapes and its column. */
function spanAttrSql(c: AttributeCondition, p: Params, cat: Catalog): string {
  if (c.op === 'exists' || c.op === '!exists') {
    const shapes = cat.shapesWith(c.key);
    if (shapes.length === 0) return c.op === 'exists' ? 'false' : 'true';
    return `shape ${c.op === 'exists' ? '' : 'NOT '}IN (${shapes.join(',')})`;
  }
  const terms: string[] = [];
  for (const pl of cat.placements(c.key)) {
    const cmp = valueSql(c, pl.column, pl.type, p);
    if (cmp !== undefined) terms.push(`(shape IN (${pl.shapes.join(',')}) AND ${cmp})`);
  }
  if (terms.length === 0) {
    // Still validate the value (a bad number is a 400 even when no span has the key).
    valueSql(c, "''", 'd', new Params());
    return 'false';
  }
  return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`;
}

/** A resource attribute condition over the resources table's attribute lists. */
function resourceAttrSql(c: AttributeCondition, key: string, p: Params): string {
  const pos = `list_position(attr_keys, ${key})`;
  const val = `attr_values[${pos}]`;
  const typ = `substr(attr_types, ${pos}, 1)`;
  if (c.op === 'exists') return `list_contains(attr_keys, ${key})`;
  if (c.op === '!exists') return `NOT list_contains(attr_keys, ${key})`;
  if (c.op === '=' || c.op === '!=' || c.op === '=~' || c.op === '!~') return valueSql(c, val, 's', p)!;
  const i = valueSql(c, val, 'i', p)!;
  const d = valueSql(c, val, 'd', p)!;
  return `(CASE ${typ} WHEN 'i' THEN ${i} WHEN 'd' THEN ${d} ELSE false END)`;
}
