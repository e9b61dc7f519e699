/**
 * The `traceloom` command: starts the receivers and, until storage lands,
 * counts what arrives. Run with `npm start` or `traceloom [start] [options]`.
 */

import { StartupError } from '../errors.ts';
import { startReceivers } from '../receivers/index.ts';
import { consoleLogger } from '../receivers/logger.ts';
import { CountingSink, type IngestProtocol } from '../receivers/sink.ts';
import { type CliConfig, helpText, parseCli } from './args.ts';

/** A host as it goes into a URL: wildcard addresses become localhost, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return 'localhost';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const fmt = new Intl.NumberFormat('en-US');

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
  const sink = new CountingSink();
  let receivers: Awaited<ReturnType<typeof startReceivers>>;
  try {
    receivers = await startReceivers(sink, { ...config.receivers, logger });
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
  lines.push('', 'Storage is not wired in yet: spans are counted, then dropped. Ctrl-C stops.', '');
  process.stdout.write(lines.join('\n'));

  let lastSpans = 0;
  let lastByProtocol = new Map(sink.byProtocol);
  let lastRejected = 0;
  const rejectedTotal = () => [...stats.rejectedSpans.values()].reduce((a, b) => a + b, 0);
  const report = (final: boolean) => {
    const rejected = rejectedTotal();
    if (!final && sink.spans === lastSpans && rejected === lastRejected) return;
    const seconds = config.logIntervalMs / 1000;
    const got = sink.spans - lastSpans;
    const recent = perProtocol(sink.byProtocol, lastByProtocol);
    const drop = rejected > lastRejected ? `; dropped ${fmt.format(rejected - lastRejected)} with bad ids` : '';
    if (final) {
      const by = perProtocol(sink.byProtocol);
      logger.info(`stopped; received ${fmt.format(sink.spans)} spans in total${by === '' ? '' : ` (${by})`}`);
    } else {
      logger.info(
        `received ${fmt.format(got)} spans in the last ${seconds}s${recent === '' ? '' : ` (${recent})`}${drop}; ` +
          `${fmt.format(sink.spans)} in total`,
      );
    }
    lastSpans = sink.spans;
    lastByProtocol = new Map(sink.byProtocol);
    lastRejected = rejected;
  };
  const timer = config.logIntervalMs > 0 ? setInterval(() => report(false), config.logIntervalMs) : undefined;

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while draining: give up waiting.
      process.exit(130);
    }
    stopping = true;
    if (timer !== undefined) clearInterval(timer);
    logger.info(`${signal} received, closing receivers`);
    receivers.close().then(
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
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

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
