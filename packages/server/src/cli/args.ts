/**
 * Command line and `TRACELOOM_*` variables of the `traceloom` CLI, turned into
 * receiver options. A flag wins over its variable; a variable over the default.
 */

import { parseArgs } from 'node:util';
import { StartupError, StartupErrorCode } from '../errors.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../receivers/http-server.ts';
import { DEFAULT_RECEIVER_HOST, DEFAULT_RECEIVER_PORTS, type ReceiversOptions } from '../receivers/index.ts';
import type { LogLevel } from '../receivers/logger.ts';

/** What the CLI was asked to do. */
export interface CliConfig {
  readonly command: 'start' | 'help';
  /** Receiver options (without logger and stats, which `main` supplies). */
  readonly receivers: Readonly<
    Required<Pick<ReceiversOptions, 'otlpHttp' | 'otlpGrpc' | 'zipkin' | 'jaeger' | 'host' | 'maxBodyBytes'>> &
      Pick<ReceiversOptions, 'corsAllowedOrigins' | 'corsAllowedHeaders' | 'requestTimeoutMs'>
  >;
  /** Storage settings. */
  readonly storage: {
    /** Folder of the store and the write-ahead log. */
    readonly dataDir: string;
    /** Spans older than this are deleted; 0 keeps everything. */
    readonly retentionMs: number;
    /** DuckDB's memory cap, in bytes. */
    readonly memoryLimitBytes: number;
  };
  /** Port of the query API and UI; false when off. */
  readonly api: { port: number } | false;
  /** Span metrics and the service graph (see src/pipeline/README.md). */
  readonly analytics: {
    readonly flushIntervalMs: number;
    readonly graphWaitMs: number;
    readonly maxOperationsPerService: number;
  };
  /** How often the received-span counts are logged; 0 turns it off. */
  readonly logIntervalMs: number;
  readonly logLevel: LogLevel;
}

/** Flags and their variables; the single source for parsing and for the help text. */
const OPTIONS = {
  'otlp-http-port': { env: 'TRACELOOM_OTLP_HTTP_PORT', arg: '<port|off>', help: 'OTLP/HTTP port', dflt: '4318' },
  'otlp-grpc-port': { env: 'TRACELOOM_OTLP_GRPC_PORT', arg: '<port|off>', help: 'OTLP/gRPC port', dflt: '4317' },
  'zipkin-port': { env: 'TRACELOOM_ZIPKIN_PORT', arg: '<port|off>', help: 'Zipkin port', dflt: '9411' },
  'jaeger-port': { env: 'TRACELOOM_JAEGER_PORT', arg: '<port|off>', help: 'Jaeger Thrift HTTP port', dflt: '14268' },
  host: {
    env: 'TRACELOOM_HOST',
    arg: '<address>',
    help: 'address the receivers and the API bind (0.0.0.0 to accept from the network)',
    dflt: DEFAULT_RECEIVER_HOST,
  },
  'max-body': {
    env: 'TRACELOOM_MAX_BODY',
    arg: '<size>',
    help: 'largest request body after decompression (e.g. 64MiB, 512KiB)',
    dflt: '64MiB',
  },
  'cors-allowed-origins': {
    env: 'TRACELOOM_CORS_ALLOWED_ORIGINS',
    arg: '<list>',
    help: "origins browsers may post from, comma-separated; 'off' turns CORS off",
    dflt: '*',
  },
  'cors-allowed-headers': {
    env: 'TRACELOOM_CORS_ALLOWED_HEADERS',
    arg: '<list>',
    help: 'extra request headers browsers may send, comma-separated',
    dflt: '',
  },
  'request-timeout': {
    env: 'TRACELOOM_REQUEST_TIMEOUT',
    arg: '<seconds>',
    help: 'time for a whole HTTP request to arrive',
    dflt: '30',
  },
  'api-port': {
    env: 'TRACELOOM_API_PORT',
    arg: '<port|off>',
    help: 'port of the query API (/api/v1/...)',
    dflt: '16686',
  },
  'data-dir': {
    env: 'TRACELOOM_DATA_DIR',
    arg: '<folder>',
    help: 'where spans and the write-ahead log are kept (created if missing)',
    dflt: './traceloom-data',
  },
  retention: {
    env: 'TRACELOOM_RETENTION',
    arg: '<duration|off>',
    help: "how long spans are kept, e.g. 7d, 36h, 90m; 'off' keeps them forever",
    dflt: '7d',
  },
  'memory-limit': {
    env: 'TRACELOOM_MEMORY_LIMIT',
    arg: '<size>',
    help: 'memory the embedded database may use (it spills to disk beyond), e.g. 1GiB, 512MiB',
    dflt: '1GiB',
  },
  'log-interval': {
    env: 'TRACELOOM_LOG_INTERVAL',
    arg: '<seconds>',
    help: 'how often to log received-span counts (0: never)',
    dflt: '5',
  },
  'metrics-flush-interval': {
    env: 'TRACELOOM_METRICS_FLUSH_INTERVAL',
    arg: '<seconds>',
    help: 'how often span metrics and service-graph edges are written to storage',
    dflt: '5',
  },
  'service-graph-wait': {
    env: 'TRACELOOM_SERVICE_GRAPH_WAIT',
    arg: '<seconds>',
    help: 'how long a client or server span waits for its other half before it counts as unpaired (or a virtual node)',
    dflt: '10',
  },
  'max-operations-per-service': {
    env: 'TRACELOOM_MAX_OPERATIONS_PER_SERVICE',
    arg: '<count>',
    help: 'distinct span names per service in span metrics; more are counted under __overflow__',
    dflt: '1000',
  },
  'log-level': { env: 'TRACELOOM_LOG_LEVEL', arg: '<level>', help: 'debug, info, warn, error or silent', dflt: 'info' },
} as const;
type OptionName = keyof typeof OPTIONS;

/** The `--help` text. */
export function helpText(): string {
  const rows = (Object.keys(OPTIONS) as OptionName[]).map((name) => {
    const o = OPTIONS[name];
    return `  --${name} ${o.arg}\n      ${o.help}\n      default: ${o.dflt === '' ? 'none' : o.dflt}   env: ${o.env}`;
  });
  return [
    'Usage: traceloom [start] [options]',
    '       traceloom demo [options]      a demo shop traced into a new server (traceloom demo --help)',
    '       traceloom loadgen [options]   seeded synthetic load over OTLP (traceloom loadgen --help)',
    '',
    'Starts Traceloom: the span receivers (OTLP/HTTP, OTLP/gRPC, Zipkin, Jaeger), the',
    'write-ahead log, the embedded store (DuckDB) and the query API.',
    'Each flag can also be set with the environment variable shown under it; a flag wins.',
    '',
    'Options:',
    ...rows,
    '  -h, --help\n      show this text',
    '',
    'Example:',
    '  traceloom --host 0.0.0.0 --jaeger-port off --data-dir /var/lib/traceloom --retention 3d',
    '',
  ].join('\n');
}

function bad(message: string): StartupError {
  return new StartupError(StartupErrorCode.BAD_CONFIG, message);
}

function describe(name: OptionName, fromFlag: boolean): string {
  return fromFlag ? `--${name}` : OPTIONS[name].env;
}

/** `4318` -> 4318, `off` -> false. */
export function parsePort(value: string, what: string): number | false {
  const v = value.trim().toLowerCase();
  if (v === 'off') return false;
  if (!/^\d+$/.test(v) || Number(v) > 65535) {
    throw bad(`${what} must be a port number from 0 to 65535 or 'off', not '${value}'`);
  }
  return Number(v);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Largest accepted `--max-body` (gRPC takes the cap as a 32-bit signed integer; 1 GiB stays well inside). */
const MAX_MAX_BODY = 2 ** 30;

/** `64MiB` -> 67108864. Units are binary (k = KiB = 1024), case-insensitive. */
export function parseSize(value: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw bad(`${what} must be a size such as 64MiB, 512KiB or 1048576, not '${value}'`);
  }
  const n = Math.floor(Number(m[1]) * unit);
  if (n < 1024 || n > MAX_MAX_BODY) throw bad(`${what} must be between 1KiB and 1GiB, not '${value}'`);
  return n;
}

/** `7d` -> 604800000 ms; `off` -> 0. Units: s, m, h, d, w. */
export function parseRetention(value: string, what: string): number {
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(v);
  if (m === null) throw bad(`${what} must be a duration such as 7d, 36h or 90m, or 'off', not '${value}'`);
  const ms = Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  if (ms < 60_000) throw bad(`${what} must be at least one minute, not '${value}'`);
  return Math.round(ms);
}

/** `1GiB` -> bytes, between 64 MiB and 1 TiB. */
export function parseMemory(value: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) throw bad(`${what} must be a size such as 1GiB or 512MiB, not '${value}'`);
  const n = Math.floor(Number(m[1]) * unit);
  if (n < 64 * 1024 ** 2 || n > 1024 ** 4) throw bad(`${what} must be between 64MiB and 1TiB, not '${value}'`);
  return n;
}

function parseSeconds(value: string, what: string, allowZero: boolean): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw bad(`${what} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, not '${value}'`);
  }
  return Math.round(n * 1000);
}

function parseCount(value: string, what: string): number {
  const t = value.trim();
  const n = /^\d{1,9}$/.test(t) ? Number(t) : Number.NaN;
  if (!(n >= 1)) throw bad(`${what} must be a positive whole number, not '${value}'`);
  return n;
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * Parses `argv` (without `node` and the script) and `env` into a
 * {@link CliConfig}. Throws a {@link StartupError} (`TL_ERR_BAD_CONFIG`) naming
 * the flag or variable whose value cannot be used.
 */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliConfig {
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const name of Object.keys(OPTIONS)) spec[name] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    throw bad(`${(e as Error).message}. Run 'traceloom --help' for the options`);
  }
  const { values, positionals } = parsed;
  let command: CliConfig['command'] = 'start';
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'start')) {
    if (positionals[0] === 'help') command = 'help';
    else throw bad(`unknown command '${positionals.join(' ')}'; the commands are 'start', 'demo' and 'loadgen'`);
  }
  if (values.help === true) command = 'help';

  const get = (name: OptionName): { value: string; what: string } | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return { value: flag, what: describe(name, true) };
    const fromEnv = env[OPTIONS[name].env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, what: describe(name, false) };
    return undefined;
  };
  const port = (name: OptionName, dflt: number): { port: number } | false => {
    const v = get(name);
    if (v === undefined) return { port: dflt };
    const p = parsePort(v.value, v.what);
    return p === false ? false : { port: p };
  };

  const host = get('host')?.value.trim() || DEFAULT_RECEIVER_HOST;
  const maxBody = get('max-body');
  const origins = get('cors-allowed-origins');
  const headers = get('cors-allowed-headers');
  const timeout = get('request-timeout');
  const interval = get('log-interval');
  const retention = get('retention');
  const memory = get('memory-limit');
  const level = get('log-level');
  const flush = get('metrics-flush-interval');
  const wait = get('service-graph-wait');
  const maxOps = get('max-operations-per-service');
  const logLevel = (level?.value.trim().toLowerCase() ?? 'info') as LogLevel;
  if (!LEVELS.includes(logLevel)) {
    throw bad(`${level?.what} must be one of ${LEVELS.join(', ')}, not '${level?.value}'`);
  }
  // 'off' (or an explicitly empty flag) turns CORS off; an empty variable counts as unset.
  const originsOff = origins !== undefined && ['', 'off', 'none'].includes(origins.value.trim().toLowerCase());
  return {
    command,
    receivers: {
      otlpHttp: port('otlp-http-port', DEFAULT_RECEIVER_PORTS.otlpHttp),
      otlpGrpc: port('otlp-grpc-port', DEFAULT_RECEIVER_PORTS.otlpGrpc),
      zipkin: port('zipkin-port', DEFAULT_RECEIVER_PORTS.zipkin),
      jaeger: port('jaeger-port', DEFAULT_RECEIVER_PORTS.jaeger),
      host,
      maxBodyBytes: maxBody === undefined ? DEFAULT_MAX_BODY_BYTES : parseSize(maxBody.value, maxBody.what),
      corsAllowedOrigins: originsOff ? [] : origins === undefined ? ['*'] : parseList(origins.value),
      corsAllowedHeaders: headers === undefined ? [] : parseList(headers.value),
      requestTimeoutMs: timeout === undefined ? 30_000 : parseSeconds(timeout.value, timeout.what, false),
    },
    storage: {
      dataDir: get('data-dir')?.value.trim() || './traceloom-data',
      retentionMs: retention === undefined ? 7 * 864e5 : parseRetention(retention.value, retention.what),
      memoryLimitBytes: memory === undefined ? 1024 ** 3 : parseMemory(memory.value, memory.what),
    },
    api: port('api-port', 16686),
    analytics: {
      flushIntervalMs: flush === undefined ? 5000 : parseSeconds(flush.value, flush.what, false),
      graphWaitMs: wait === undefined ? 10_000 : parseSeconds(wait.value, wait.what, true),
      maxOperationsPerService: maxOps === undefined ? 1000 : parseCount(maxOps.value, maxOps.what),
    },
    logIntervalMs: interval === undefined ? 5000 : parseSeconds(interval.value, interval.what, true),
    logLevel,
  };
}
