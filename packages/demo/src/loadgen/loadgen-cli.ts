/**
 * `traceloom loadgen`: sends seeded synthetic shop traces to an OTLP/HTTP
 * endpoint and reports spans per second and acknowledgement latency; or
 * writes the batches to a file (`--out`); or measures the trace shapes a
 * server holds (`--measure`), which is how the generator's parameters were
 * taken from the demo.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DemoError, DemoErrorCode } from '../errors.ts';
import { generateBatches, type LoadgenOptions, runLoadgen } from './run.ts';
import { measureShapes } from './shapes.ts';

const FLAGS = {
  endpoint: {
    arg: '<url>',
    help: 'OTLP/HTTP endpoint (a base URL gets /v1/traces), or the OTLP/gRPC server with --protocol grpc',
    dflt: 'http://localhost:4318, with grpc http://localhost:4317',
  },
  protocol: { arg: '<http|grpc>', help: 'OTLP/HTTP protobuf or OTLP/gRPC', dflt: 'http' },
  rate: { arg: '<spans/s>', help: 'spans per second to send; 0 as fast as acknowledged', dflt: '10000' },
  duration: { arg: '<seconds>', help: 'how long to send', dflt: '10' },
  spans: { arg: '<n>', help: 'stop after this many spans', dflt: 'unbounded' },
  concurrency: { arg: '<n>', help: 'requests in flight', dflt: '4' },
  batch: { arg: '<n>', help: 'spans per request', dflt: '512' },
  services: { arg: '<1-8>', help: 'services taking part', dflt: '8' },
  cardinality: { arg: '<n>', help: 'distinct user ids (attribute cardinality)', dflt: '100000' },
  'error-rate': { arg: '<share>', help: 'share of spans in ERROR', dflt: "the demo's measured 0.0078" },
  seed: { arg: '<n>', help: 'PRNG seed', dflt: '1' },
  large: { arg: '<spans>', help: 'send one large trace of about this many spans instead of the mix', dflt: 'none' },
  start: {
    arg: '<unix ns>',
    help: 'start of the first trace; the same seed and start give the same bytes',
    dflt: 'now',
  },
  out: {
    arg: '<file>',
    help: 'write the batches to a file (4-byte big-endian length + body each) instead of sending',
    dflt: 'none',
  },
  measure: {
    arg: '<ui url>',
    help: "print the trace shapes of a server's last hour as JSON (e.g. of a demo run)",
    dflt: 'none',
  },
} as const;
type Flag = keyof typeof FLAGS;

/** The `traceloom loadgen --help` text. */
export function loadgenHelpText(): string {
  return [
    'Usage: traceloom loadgen [options]',
    '',
    "Sends seeded, realistic OTLP protobuf traces (shaped like the demo shop's: mostly 5 to 50 spans,",
    'about one in a thousand with thousands) and reports spans/s and acknowledgement latency.',
    '',
    'Options:',
    ...(Object.keys(FLAGS) as Flag[]).map(
      (k) => `  --${k} ${FLAGS[k].arg}\n      ${FLAGS[k].help}\n      default: ${FLAGS[k].dflt}`,
    ),
    '  --json\n      print only the final report, as one JSON line',
    '',
    'Example:',
    '  traceloom loadgen --rate 20000 --duration 30 --concurrency 8',
    '',
  ].join('\n');
}

function bad(message: string): DemoError {
  return new DemoError(DemoErrorCode.BAD_CONFIG, message, "run 'traceloom loadgen --help'");
}

/** Parsed `traceloom loadgen` arguments. */
export interface LoadgenCliConfig {
  readonly help: boolean;
  readonly json: boolean;
  readonly endpoint: string;
  readonly out: string | undefined;
  readonly measure: string | undefined;
  readonly options: LoadgenOptions;
}

/** Parses `traceloom loadgen` arguments; throws a {@link DemoError} naming a flag that cannot be used. */
export function parseLoadgenCli(argv: readonly string[]): LoadgenCliConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])),
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw bad((e as Error).message);
  }
  const num = (k: Flag, min: number, max: number, integer: boolean): number | undefined => {
    const v = values[k];
    if (typeof v !== 'string') return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw bad(`--${k} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not '${v}'`);
    }
    return n;
  };
  const protocol = typeof values.protocol === 'string' ? values.protocol : 'http';
  if (protocol !== 'http' && protocol !== 'grpc') throw bad(`--protocol must be http or grpc, not '${protocol}'`);
  const grpc = protocol === 'grpc';
  let endpoint =
    typeof values.endpoint === 'string' ? values.endpoint : grpc ? 'http://localhost:4317' : 'http://localhost:4318';
  if (!/^https?:\/\//.test(endpoint)) throw bad(`--endpoint must be an http(s) URL, not '${endpoint}'`);
  if (grpc) endpoint = new URL(endpoint).origin;
  else if (!/\/v1\/traces\/?$/.test(endpoint)) endpoint = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  const start = values.start;
  if (typeof start === 'string' && !/^\d{1,20}$/.test(start)) {
    throw bad(`--start must be Unix nanoseconds (digits), not '${start}'`);
  }
  const pick = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    help: values.help === true,
    json: values.json === true,
    endpoint,
    out: typeof values.out === 'string' ? values.out : undefined,
    measure: typeof values.measure === 'string' ? values.measure : undefined,
    options: {
      protocol,
      ...pick('rate', num('rate', 0, 10_000_000, false)),
      ...pick('durationSeconds', num('duration', 0.1, 86_400, false)),
      ...pick('spans', num('spans', 1, 1e12, true)),
      ...pick('concurrency', num('concurrency', 1, 1024, true)),
      ...pick('batchSpans', num('batch', 1, 100_000, true)),
      ...pick('services', num('services', 1, 8, true)),
      ...pick('attributeCardinality', num('cardinality', 1, 1e9, true)),
      ...pick('errorRate', num('error-rate', 0, 0.5, false)),
      ...pick('seed', num('seed', 0, 2 ** 32 - 1, true)),
      ...pick('largeTrace', num('large', 10, 10_000_000, true)),
      ...(typeof start === 'string' ? { startUnixNano: BigInt(start) } : {}),
    },
  };
}

/** Runs `traceloom loadgen` and exits: 0 when every request was acknowledged, 1 otherwise, 2 on bad flags. */
export async function runLoadgenCommand(argv: readonly string[]): Promise<void> {
  let config: LoadgenCliConfig;
  try {
    config = parseLoadgenCli(argv);
  } catch (e) {
    process.stderr.write(`traceloom loadgen: ${(e as Error).message}; run 'traceloom loadgen --help'\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(loadgenHelpText());
    process.exit(0);
  }
  if (config.measure !== undefined) {
    const shapes = await measureShapes(config.measure);
    process.stdout.write(`${JSON.stringify(shapes, null, 2)}\n`);
    process.exit(0);
  }
  if (config.out !== undefined) {
    const spans = config.options.spans ?? 100_000;
    const fd = openSync(config.out, 'w');
    let batches = 0;
    let bytes = 0;
    const header = Buffer.alloc(4);
    for (const body of generateBatches({ startUnixNano: 1_767_225_600_000_000_000n, ...config.options, spans })) {
      header.writeUInt32BE(body.length);
      writeSync(fd, header);
      writeSync(fd, body);
      batches++;
      bytes += body.length + 4;
    }
    closeSync(fd);
    process.stdout.write(`${JSON.stringify({ out: config.out, spans, batches, bytes })}\n`);
    process.exit(0);
  }
  const o = config.options;
  if (!config.json) {
    process.stdout.write(
      `Sending over ${o.protocol === 'grpc' ? 'OTLP/gRPC' : 'OTLP/HTTP'} to ${config.endpoint}: ${o.rate === 0 ? 'as fast as acknowledged' : `${o.rate ?? 10_000} spans/s`}, ` +
        `${o.durationSeconds ?? 10} s, ${o.concurrency ?? 4} in flight, ${o.batchSpans ?? 512} spans per request, seed ${o.seed ?? 1}\n`,
    );
  }
  const report = await runLoadgen(config.endpoint, o, (r) => {
    if (!config.json) {
      process.stdout.write(
        `  ${r.seconds.toFixed(0)} s: ${r.spansAccepted} spans acknowledged (${r.spansPerSecond}/s), ` +
          `ack p50 ${r.ackLatencyMs.p50} ms p99 ${r.ackLatencyMs.p99} ms, ${r.failedRequests} failed\n`,
      );
    }
  });
  if (!config.json) {
    process.stdout.write(
      `Done: ${report.spansAccepted} of ${report.spansSent} spans acknowledged in ${report.seconds} s = ${report.spansPerSecond} spans/s; ` +
        `ack latency p50 ${report.ackLatencyMs.p50} ms, p90 ${report.ackLatencyMs.p90} ms, p99 ${report.ackLatencyMs.p99} ms, max ${report.ackLatencyMs.max} ms` +
        (report.failedRequests > 0
          ? `; ${report.failedRequests} requests failed ${JSON.stringify(report.failures)}`
          : '') +
        '\n',
    );
  }
  process.stdout.write(`${JSON.stringify({ loadgen: report, endpoint: config.endpoint })}\n`);
  process.exit(report.failedRequests > 0 || report.requests === 0 ? 1 : 0);
}
