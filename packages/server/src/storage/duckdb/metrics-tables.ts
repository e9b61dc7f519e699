/**
 * Span metrics and service-graph edges in DuckDB: one more database file,
 * `metrics.db` (a DuckDB file), next to the day files, attached as `metrics`.
 *
 * `service_metrics` keeps every operation and status of a service merged per
 * span kind, so a RED query of a whole service reads one row per bucket; and
 * each row keeps its p50/p95/p99 (`q50`...) so that such a query decodes no
 * histogram (a 24-hour, 1-minute series is 1,440 rows).
 * Each table holds one row per key and bucket at two resolutions (1 minute and
 * the 1-hour roll-up, column `res` in seconds). A write merges the pipeline's
 * additions into the rows of the buckets it touches (read, add, delete,
 * insert, in one transaction with the write-ahead-log position), so a read
 * never has to merge deltas and a 24-hour read at 1-hour resolution touches
 * 24 rows per series. Histograms are kept in their compact text form
 * (`pipeline/histogram.ts`); counts and sums are typed columns.
 */

import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  type HistogramData,
  histogramFromText,
  histogramQuantiles,
  histogramToText,
} from '../../pipeline/histogram.ts';
import {
  addEdgeMetricPoints,
  addSpanMetricPoints,
  type EdgeConnectionType,
  type EdgeMetricPoint,
  type EdgeMetricsQuery,
  edgeMetricKey,
  type LatencyQuantiles,
  type MetricsBatch,
  mergeByService,
  metricBucketStart,
  type SpanMetricPoint,
  type SpanMetricsQuery,
  spanMetricKey,
} from '../types.ts';

const RESOLUTIONS = [60, 3600] as const;
const SEC = 1_000_000_000n;

const DDL = [
  `CREATE TABLE IF NOT EXISTS metrics.span_metrics (
    res INTEGER, bucket BIGINT, service VARCHAR, operation VARCHAR, kind UTINYINT, status UTINYINT,
    calls BIGINT, errors BIGINT, sum_ns DOUBLE, hist VARCHAR)`,
  // Every operation and status of a service merged: what RED queries of a whole service read.
  `CREATE TABLE IF NOT EXISTS metrics.service_metrics (
    res INTEGER, bucket BIGINT, service VARCHAR, kind UTINYINT,
    calls BIGINT, errors BIGINT, sum_ns DOUBLE, hist VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS metrics.edge_metrics (
    res INTEGER, bucket BIGINT, client VARCHAR, server VARCHAR, conn VARCHAR,
    requests BIGINT, failed BIGINT, client_sum_ns DOUBLE, server_sum_ns DOUBLE, client_hist VARCHAR, server_hist VARCHAR)`,
  'CREATE TABLE IF NOT EXISTS metrics.metrics_position (lsn UBIGINT)',
  // p50/p95/p99 of each row's histogram, so that a query whose points are single rows decodes none.
  ...['span_metrics', 'service_metrics'].flatMap((t) =>
    ['q50', 'q95', 'q99'].map((c) => `ALTER TABLE metrics.${t} ADD COLUMN IF NOT EXISTS ${c} DOUBLE`),
  ),
];

const Q3 = [0.5, 0.95, 0.99] as const;

/** `,q50,q95,q99` values of a histogram for an INSERT. */
function quantileValues(h: HistogramData): string {
  return histogramQuantiles(h, Q3)
    .map((q) => (q === undefined ? ',NULL' : `,${q}`))
    .join('');
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** Finite number as SQL (sums are finite; guard anyway). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : '0';
}

/** How {@link DuckDbMetrics} merges points into one metrics table. */
interface MergeTable<P> {
  readonly table: string;
  /** The columns read back, in the order `fromRow` takes them. */
  readonly columns: string;
  /** Identifies a point's series within its bucket. */
  key(p: P): string;
  add(a: P, b: P): P;
  fromRow(row: readonly unknown[]): P;
  /** The row's values after `res` and `bucket`, as SQL. */
  values(p: P): string;
}

/** The metrics tables of one {@link DuckDbStore}. */
export class DuckDbMetrics {
  readonly #writer: DuckDBConnection;
  readonly #reader: DuckDBConnection;
  #position = 0n;
  #chain: Promise<void> = Promise.resolve();

  private constructor(writer: DuckDBConnection, reader: DuckDBConnection) {
    this.#writer = writer;
    this.#reader = reader;
  }

  /** Attaches (or creates) `metrics.duckdb` in `dataDir` on the given connections' instance. */
  static async open(writer: DuckDBConnection, reader: DuckDBConnection, dataDir: string): Promise<DuckDbMetrics> {
    await writer.run(`ATTACH ${sqlString(join(dataDir, 'metrics.db'))} AS metrics`);
    for (const sql of DDL) await writer.run(sql);
    const m = new DuckDbMetrics(writer, reader);
    const rows = (await writer.runAndReadAll('SELECT max(lsn) FROM metrics.metrics_position')).getRows();
    const v = rows[0]?.[0];
    m.#position = typeof v === 'bigint' ? v : 0n;
    return m;
  }

  get position(): bigint {
    return this.#position;
  }

  /** Serialises `fn` after every earlier write. */
  #then<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  write(batch: MetricsBatch, position: bigint | undefined): Promise<void> {
    return this.#then(async () => {
      if (position !== undefined && position <= this.#position) return;
      const w = this.#writer;
      await w.run('BEGIN TRANSACTION');
      try {
        for (const res of RESOLUTIONS) {
          if (batch.spans.length > 0) {
            await this.#mergeSpans(res, batch.spans);
            await this.#mergeServices(res, mergeByService(batch.spans));
          }
          if (batch.edges.length > 0) await this.#mergeEdges(res, batch.edges);
        }
        if (position !== undefined) {
          await w.run('DELETE FROM metrics.metrics_position');
          await w.run(`INSERT INTO metrics.metrics_position VALUES (${position})`);
        }
        await w.run('COMMIT');
      } catch (e) {
        await w.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
      if (position !== undefined) this.#position = position;
    });
  }

  #mergeSpans(res: number, points: readonly SpanMetricPoint[]): Promise<void> {
    return this.#merge(res, points, {
      table: 'span_metrics',
      columns: 'bucket, service, operation, kind, status, calls, errors, sum_ns, hist',
      key: spanMetricKey,
      add: addSpanMetricPoints,
      fromRow: spanRow,
      values: (p) =>
        `${sqlString(p.service)},${sqlString(p.operation)},${p.spanKind},${p.statusCode},${p.calls},${p.errors},` +
        `${num(p.durationSumNano)},${sqlString(histogramToText(p.latency))}${quantileValues(p.latency)}`,
    });
  }

  #mergeServices(res: number, points: readonly SpanMetricPoint[]): Promise<void> {
    return this.#merge(res, points, {
      table: 'service_metrics',
      columns: "bucket, service, '', kind, 0, calls, errors, sum_ns, hist",
      key: (p) => `${p.service}\u0000${p.spanKind}`,
      add: addSpanMetricPoints,
      fromRow: spanRow,
      values: (p) =>
        `${sqlString(p.service)},${p.spanKind},${p.calls},${p.errors},${num(p.durationSumNano)},` +
        `${sqlString(histogramToText(p.latency))}${quantileValues(p.latency)}`,
    });
  }

  #mergeEdges(res: number, points: readonly EdgeMetricPoint[]): Promise<void> {
    return this.#merge(res, points, {
      table: 'edge_metrics',
      columns: 'bucket, client, server, conn, requests, failed, client_sum_ns, server_sum_ns, client_hist, server_hist',
      key: edgeMetricKey,
      add: addEdgeMetricPoints,
      fromRow: edgeRow,
      values: (p) =>
        `${sqlString(p.client)},${sqlString(p.server)},${sqlString(p.connectionType)},${p.requests},${p.failed},` +
        `${num(p.clientDurationSumNano)},${num(p.serverDurationSumNano)},` +
        `${sqlString(histogramToText(p.clientLatency))},${sqlString(histogramToText(p.serverLatency))}`,
    });
  }

  /**
   * Adds `points` to the stored rows of `res` for the buckets they fall in: reads those
   * buckets' rows, merges them with the points by bucket and `key`, and writes them back.
   */
  async #merge<P extends { readonly bucketStartUnixNano: bigint }>(
    res: number,
    points: readonly P[],
    t: MergeTable<P>,
  ): Promise<void> {
    const merged = new Map<string, P>();
    const add = (p: P) => {
      const key = `${p.bucketStartUnixNano}\u0000${t.key(p)}`;
      const cur = merged.get(key);
      merged.set(key, cur === undefined ? p : t.add(cur, p));
    };
    const buckets = new Set<bigint>();
    const delta: P[] = [];
    for (const p of points) {
      const b = metricBucketStart(p.bucketStartUnixNano, res);
      buckets.add(b / SEC);
      delta.push(b === p.bucketStartUnixNano ? p : { ...p, bucketStartUnixNano: b });
    }
    const where = `res = ${res} AND bucket IN (${[...buckets].join(',')})`;
    const existing = await this.#writer.runAndReadAll(`SELECT ${t.columns} FROM metrics.${t.table} WHERE ${where}`);
    for (const r of existing.getRows()) add(t.fromRow(r));
    for (const p of delta) add(p);
    await this.#writer.run(`DELETE FROM metrics.${t.table} WHERE ${where}`);
    await this.#insert(
      t.table,
      [...merged.values()].map((p) => `(${res},${p.bucketStartUnixNano / SEC},${t.values(p)})`),
    );
  }

  async #insert(table: string, rows: readonly string[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 2000) {
      await this.#writer.run(`INSERT INTO metrics.${table} VALUES ${rows.slice(i, i + 2000).join(',')}`);
    }
  }

  async spanMetrics(q: SpanMetricsQuery): Promise<SpanMetricPoint[]> {
    const values: string[] = [];
    const param = (v: string) => {
      values.push(v);
      return `$${values.length}`;
    };
    const conds = [`res = ${q.resolutionSeconds}`, ...rangeSql(q.range.startUnixNano, q.range.endUnixNano)];
    if (q.service !== undefined) conds.push(`service = ${param(q.service)}`);
    if (q.byService === true && q.operation === undefined) {
      if (q.spanKinds !== undefined) {
        if (q.spanKinds.length === 0) return [];
        conds.push(`kind IN (${q.spanKinds.map((k) => Math.trunc(k)).join(',')})`);
      }
      const rows = await this.#reader.runAndReadAll(
        `SELECT bucket, service, '', kind, 0, calls, errors, sum_ns, hist, q50, q95, q99 FROM metrics.service_metrics
         WHERE ${conds.join(' AND ')} ORDER BY bucket, service, kind`,
        values,
      );
      return rows.getRows().map(spanRow);
    }
    if (q.operation !== undefined) conds.push(`operation = ${param(q.operation)}`);
    if (q.spanKinds !== undefined) {
      if (q.spanKinds.length === 0) return [];
      conds.push(`kind IN (${q.spanKinds.map((k) => Math.trunc(k)).join(',')})`);
    }
    const r = await this.#reader.runAndReadAll(
      `SELECT bucket, service, operation, kind, status, calls, errors, sum_ns, hist, q50, q95, q99
       FROM metrics.span_metrics WHERE ${conds.join(' AND ')} ORDER BY bucket, service, operation, kind, status`,
      values,
    );
    const points = r.getRows().map(spanRow);
    return q.byService === true ? mergeByService(points) : points;
  }

  async edgeMetrics(q: EdgeMetricsQuery): Promise<EdgeMetricPoint[]> {
    const conds = [`res = ${q.resolutionSeconds}`, ...rangeSql(q.range.startUnixNano, q.range.endUnixNano)];
    const r = await this.#reader.runAndReadAll(
      `SELECT bucket, client, server, conn, requests, failed, client_sum_ns, server_sum_ns, client_hist, server_hist
       FROM metrics.edge_metrics WHERE ${conds.join(' AND ')} ORDER BY bucket, client, server, conn`,
    );
    return r.getRows().map(edgeRow);
  }

  /** Deletes buckets that start before the cutoff. */
  deleteBefore(cutoffUnixNano: bigint): Promise<void> {
    return this.#then(async () => {
      const sec = cutoffUnixNano / SEC + (cutoffUnixNano % SEC > 0n ? 1n : 0n);
      await this.#writer.run(`DELETE FROM metrics.span_metrics WHERE bucket < ${sec}`);
      await this.#writer.run(`DELETE FROM metrics.service_metrics WHERE bucket < ${sec}`);
      await this.#writer.run(`DELETE FROM metrics.edge_metrics WHERE bucket < ${sec}`);
    });
  }

  /** Waits for pending writes and checkpoints the file. */
  async close(): Promise<void> {
    await this.#chain;
    await this.#writer.run('CHECKPOINT metrics').catch(() => undefined);
  }
}

/** `bucket` bounds (seconds) for a nanosecond range: bucket starts inside `[start, end]`. */
function rangeSql(start: bigint, end: bigint): string[] {
  const lo = start <= 0n ? 0n : start / SEC + (start % SEC > 0n ? 1n : 0n);
  const hi = end / SEC;
  return [`bucket >= ${lo}`, `bucket <= ${hi}`];
}

type Row = readonly unknown[];

/** A stored span metric point; its histogram is decoded only when read. */
class StoredSpanPoint implements SpanMetricPoint {
  readonly bucketStartUnixNano: bigint;
  readonly service: string;
  readonly operation: string;
  readonly spanKind: number;
  readonly statusCode: number;
  readonly calls: number;
  readonly errors: number;
  readonly durationSumNano: number;
  readonly quantiles: LatencyQuantiles | undefined;
  #text: string;
  #latency: HistogramData | undefined = undefined;
  constructor(r: Row) {
    this.bucketStartUnixNano = (r[0] as bigint) * SEC;
    this.service = r[1] as string;
    this.operation = r[2] as string;
    this.spanKind = Number(r[3]);
    this.statusCode = Number(r[4]);
    this.calls = Number(r[5]);
    this.errors = Number(r[6]);
    this.durationSumNano = Number(r[7]);
    this.#text = r[8] as string;
    // Rows written before the quantile columns existed have them NULL: decode those.
    this.quantiles =
      r.length > 9 && (r[9] !== null || this.calls === 0)
        ? { p50Nano: r[9] as number | null, p95Nano: r[10] as number | null, p99Nano: r[11] as number | null }
        : undefined;
  }
  get latency(): HistogramData {
    this.#latency ??= histogramFromText(this.#text);
    return this.#latency;
  }
}

function spanRow(r: Row): SpanMetricPoint {
  return new StoredSpanPoint(r);
}

function edgeRow(r: Row): EdgeMetricPoint {
  return {
    bucketStartUnixNano: (r[0] as bigint) * SEC,
    client: r[1] as string,
    server: r[2] as string,
    connectionType: r[3] as EdgeConnectionType,
    requests: Number(r[4]),
    failed: Number(r[5]),
    clientDurationSumNano: Number(r[6]),
    serverDurationSumNano: Number(r[7]),
    clientLatency: histogramFromText(r[8] as string),
    serverLatency: histogramFromText(r[9] as string),
  };
}
