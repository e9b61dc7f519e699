/**
 * The `traceloom` command: opens the store and the write-ahead log (replaying
 * what the log holds), starts the query API and the receivers, applies
 * retention, and stops cleanly on SIGINT / SIGTERM.
 * Run with `npm start` or `traceloom [start] [options]`.
 */

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountJaegerAnalytics } from '../api/jaeger.ts';
import { type RunningApiServer, startApiServer } from '../api/native.ts';
import { type HealthFigures, mountPrometheus } from '../api/prometheus.ts';
import { StartupError, StartupErrorCode } from '../errors.ts';
import { ensureDirSync } from '../internal/ensure-dir.ts';
import { FolderLockedError, lockFolder } from '../internal/pid-lock.ts';
import { AnalyticsStage } from '../pipeline/analytics.ts';
import { QueryEngine } from '../query/engine.ts';
import { startReceivers } from '../receivers/index.ts';
import { consoleLogger } from '../receivers/logger.ts';
import type { IngestProtocol } from '../receivers/sink.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { DurableSink } from '../wal/durable-sink.ts';
import { WriteAheadLog } from '../wal/wal.ts';
import { type CliConfig, helpText, parseCli } from './args.ts';

/** A host as it goes into a URL: wildcard addresses become localhost, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return 'localhost';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const fmt = new Intl.NumberFormat('en-US');

/** The built web UI (`npm run build:ui`; `npm start` builds it when needed). */
const UI_DIR = fileURLToPath(new URL('../../../ui/dist', import.meta.url));

/** A clear start-up error for a data folder that cannot be used. */
function dataDirError(dir: string, e: unknown): StartupError {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as NodeJS.ErrnoException).code;
  const holder =
    e instanceof FolderLockedError ? String(e.pid) : /Conflicting lock is held in .*? \(PID (\d+)\)/.exec(msg)?.[1];
  let why: string;
  if (holder !== undefined)
    why = `it is in use by another process (PID ${holder}); stop it, or start this one with another --data-dir`;
  else if (code === 'EACCES' || code === 'EPERM')
    why = 'permission denied; choose a folder this user may write (--data-dir)';
  else if (code === 'ENOTDIR' || code === 'EEXIST') why = 'a file is in the way; --data-dir must name a folder';
  else why = `${msg.split('\n')[0]}; check --data-dir`;
  return new StartupError(StartupErrorCode.DATA_DIR, `cannot use the data folder ${dir}: ${why}`, { cause: e });
}

/** 604800000 -> '7 days'. */
function formatAge(ms: number): string {
  for (const [unit, size] of [
    ['day', 864e5],
    ['hour', 36e5],
    ['minute', 6e4],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? '' : 's'}`;
  }
  return `${Math.round(ms / 6e4)} minutes`;
}

function perProtocol(counts: ReadonlyMap<IngestProtocol, number>, previous?: ReadonlyMap<IngestProtocol, number>) {
  const parts: string[] = [];
  for (const [p, n] of counts) {
    const d = n - (previous?.get(p) ?? 0);
    if (d > 0) parts.push(`${p} ${fmt.format(d)}`);
  }
  return parts.join(', ');
}

async function run(config: CliConfig): Promise<void> {
  const logger = consoleLogger(config.logLevel);
  // Signals are caught from the first moment: one that arrives while the store opens (or
  // just after the addresses are printed) must still stop the server cleanly.
  let stopNow: ((signal: NodeJS.Signals) => void) | undefined;
  let early: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopNow !== undefined) stopNow(signal);
    else if (early !== undefined) process.exit(130);
    else early = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dataDir = resolve(config.storage.dataDir);
  let store: DuckDbStore;
  let durable: DurableSink;
  let unlock: () => void;
  try {
    ensureDirSync(dataDir);
    unlock = lockFolder(dataDir);
  } catch (e) {
    process.stderr.write(`traceloom: ${dataDirError(dataDir, e).message}\n`);
    process.exit(1);
  }
  process.on('exit', unlock);
  try {
    store = await DuckDbStore.open({
      dataDir,
      memoryLimit: `${Math.floor(config.storage.memoryLimitBytes / 1024 ** 2)}MiB`,
      onCommitError: (e) => logger.error('committing spans to the store failed; trying again in 1 s', e),
    });
  } catch (e) {
    process.stderr.write(`traceloom: ${dataDirError(dataDir, e).message}\n`);
    process.exit(1);
  }
  let wal: WriteAheadLog;
  let analytics: AnalyticsStage;
  try {
    wal = await WriteAheadLog.open({ dir: join(dataDir, 'wal') });
    // Span metrics and the service graph see every batch before storage (and before any sampling).
    analytics = await AnalyticsStage.open(store, { ...config.analytics, logger });
    durable = await DurableSink.open(wal, store, { logger, stage: analytics });
  } catch (e) {
    await store.close().catch(() => undefined);
    process.stderr.write(`traceloom: ${dataDirError(join(dataDir, 'wal'), e).message}\n`);
    process.exit(1);
  }
  if (durable.stats.replayedRecords > 0) {
    logger.info(
      `replayed ${fmt.format(durable.stats.replayedSpans)} spans from ${durable.stats.replayedRecords} ` +
        'write-ahead log records',
    );
  }
  const engine = new QueryEngine(store);
  let receivers: Awaited<ReturnType<typeof startReceivers>> | undefined;
  let api: RunningApiServer | undefined;
  const health = (): HealthFigures => ({
    spansReceived: receivers?.stats.acceptedSpans ?? new Map(),
    spansRejected: receivers?.stats.rejectedSpans ?? new Map(),
    requestsRefused: durable.stats.refused,
    walUnreleasedBytes: wal.unreleasedBytes,
    walUnreleasedRecords: Number(wal.lastLsn - wal.releasedLsn),
    storagePendingSpans: durable.stats.pendingSpans,
  });
  try {
    if (config.api !== false) {
      api = await startApiServer(engine, {
        host: config.receivers.host,
        port: config.api.port,
        logger,
        uiDir: UI_DIR,
        mounts: [(http) => mountJaegerAnalytics(http, engine), (http) => mountPrometheus(http, { analytics, health })],
      });
    }
    receivers = await startReceivers(durable, { ...config.receivers, logger });
  } catch (e) {
    if (e instanceof StartupError) {
      process.stderr.write(`traceloom: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const { ports, stats } = receivers;
  const h = urlHost(config.receivers.host);
  const lines = ['Traceloom is receiving spans:'];
  if (ports.otlpHttp !== undefined) lines.push(`  OTLP/HTTP  http://${h}:${ports.otlpHttp}/v1/traces`);
  if (ports.otlpGrpc !== undefined) lines.push(`  OTLP/gRPC  http://${h}:${ports.otlpGrpc}`);
  if (ports.zipkin !== undefined) lines.push(`  Zipkin     http://${h}:${ports.zipkin}/api/v2/spans`);
  if (ports.jaeger !== undefined) lines.push(`  Jaeger     http://${h}:${ports.jaeger}/api/traces`);
  if (lines.length === 1) lines.push('  (every receiver is off)');
  if (ports.otlpHttp !== undefined) {
    lines.push(
      '',
      'Point an OpenTelemetry SDK here with:',
      `  OTEL_EXPORTER_OTLP_ENDPOINT=http://${h}:${ports.otlpHttp}`,
    );
  } else if (ports.otlpGrpc !== undefined) {
    lines.push(
      '',
      'Point an OpenTelemetry SDK here with:',
      `  OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://${h}:${ports.otlpGrpc}`,
    );
  }
  if (api !== undefined) {
    lines.push('', 'Web UI:', `  http://${h}:${api.port}/`);
    lines.push('', 'Query API:', `  http://${h}:${api.port}/api/v1/services`);
  }
  const keep = config.storage.retentionMs === 0 ? 'kept forever' : `kept ${formatAge(config.storage.retentionMs)}`;
  lines.push('', `Spans are stored in ${dataDir} (${keep}). Ctrl-C stops.`, '');
  process.stdout.write(lines.join('\n'));

  let lastSpans = 0;
  // What the receivers counted as accepted (after the durable sink took it), per protocol.
  const byProtocol = stats.acceptedSpans;
  const acceptedTotal = () => [...byProtocol.values()].reduce((a, b) => a + b, 0);
  let lastByProtocol = new Map(byProtocol);
  let lastRejected = 0;
  const rejectedTotal = () => [...stats.rejectedSpans.values()].reduce((a, b) => a + b, 0);
  const report = (final: boolean) => {
    const rejected = rejectedTotal();
    const total = acceptedTotal();
    if (!final && total === lastSpans && rejected === lastRejected) return;
    const seconds = config.logIntervalMs / 1000;
    const got = total - lastSpans;
    const recent = perProtocol(byProtocol, lastByProtocol);
    const drop = rejected > lastRejected ? `; dropped ${fmt.format(rejected - lastRejected)} with bad ids` : '';
    if (final) {
      const by = perProtocol(byProtocol);
      logger.info(`stopped; received ${fmt.format(total)} spans in total${by === '' ? '' : ` (${by})`}`);
    } else {
      logger.info(
        `received ${fmt.format(got)} spans in the last ${seconds}s${recent === '' ? '' : ` (${recent})`}${drop}; ` +
          `${fmt.format(total)} in total`,
      );
    }
    lastSpans = total;
    lastByProtocol = new Map(byProtocol);
    lastRejected = rejected;
  };
  const timer = config.logIntervalMs > 0 ? setInterval(() => report(false), config.logIntervalMs) : undefined;
  const retention = config.storage.retentionMs;
  const applyRetention = () => {
    const cutoff = BigInt(Date.now() - retention) * 1_000_000n;
    store.deleteBefore(cutoff).then(
      (r) => {
        if (r.deletedSpans > 0)
          logger.info(
            `retention: deleted ${fmt.format(r.deletedSpans)} spans, freed ${fmt.format(r.freedBytes)} bytes`,
          );
      },
      (e: unknown) => logger.error('retention failed', e),
    );
  };
  const retentionTimer = retention > 0 ? setInterval(applyRetention, Math.min(retention / 10, 600_000)) : undefined;
  if (retention > 0) applyRetention();

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while draining: give up waiting.
      process.exit(130);
    }
    stopping = true;
    if (timer !== undefined) clearInterval(timer);
    if (retentionTimer !== undefined) clearInterval(retentionTimer);
    logger.info(`${signal} received, closing receivers and storing what is pending`);
    receivers
      .close()
      .then(() => api?.close())
      .then(() => durable.close())
      .then(
        () => {
          report(true);
          process.exit(0);
        },
        (e: unknown) => {
          logger.error('closing the receivers failed', e);
          process.exit(1);
        },
      );
  };
  stopNow = stop;
  if (early !== undefined) stop(early);
}

// `traceloom demo` and `traceloom loadgen` live in packages/demo; the server's own paths stay as they are.
const subcommand = process.argv[2];
if (subcommand === 'demo' || subcommand === 'loadgen') {
  const demo = await import('../../../demo/src/commands.ts');
  await (subcommand === 'demo' ? demo.runDemoCommand : demo.runLoadgenCommand)(process.argv.slice(3));
} else {
  await startCommand();
}

async function startCommand(): Promise<void> {
  let config: CliConfig;
  try {
    config = parseCli(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof StartupError) {
      process.stderr.write(`traceloom: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (config.command === 'help') process.stdout.write(helpText());
  else await run(config);
}
