/**
 * Configuration of the OTLP/HTTP trace exporter: options first, then the
 * standard `OTEL_EXPORTER_OTLP_*` variables (OpenTelemetry specification,
 * "OpenTelemetry Protocol Exporter" configuration), then defaults.
 */
import { diag } from '@opentelemetry/api';

/** Environment variables as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Body compression of an export request. */
export type OtlpCompression = 'gzip' | 'none';

/** Retry policy of the OTLP exporter (exponential backoff with full jitter). */
export interface OtlpRetryOptions {
  /** Attempts in all, the first included; 1 turns retrying off. @default 5 */
  maxAttempts?: number;
  /** Upper bound of the first backoff, in ms. @default 1000 */
  initialBackoffMillis?: number;
  /** Cap of any backoff, in ms. @default 5000 */
  maxBackoffMillis?: number;
  /** Growth of the backoff bound per attempt. @default 1.5 */
  backoffMultiplier?: number;
}

/** Options of the OTLP/HTTP exporter's transport. All optional; each overrides its variable. */
export interface OtlpHttpConfigOptions {
  /**
   * Full URL spans are posted to.
   * @default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`
   */
  url?: string;
  /**
   * Extra request headers (authorization, tenant). Merged over the headers of
   * `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS`.
   * @default {}
   */
  headers?: Readonly<Record<string, string>>;
  /** @default `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`, `OTEL_EXPORTER_OTLP_COMPRESSION`, else 'none' */
  compression?: OtlpCompression;
  /**
   * Time one export may take, retries included; each request is aborted when
   * it runs out.
   * @default `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10000
   */
  timeoutMillis?: number;
  /** @default { maxAttempts: 5, initialBackoffMillis: 1000, maxBackoffMillis: 5000, backoffMultiplier: 1.5 } */
  retry?: OtlpRetryOptions;
  /** Where `OTEL_*` variables are read from. @default process.env */
  env?: Env;
}

/** The transport settings after options, environment and defaults are merged. */
export interface ResolvedOtlpHttpConfig {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: OtlpCompression;
  readonly timeoutMillis: number;
  readonly maxAttempts: number;
  readonly initialBackoffMillis: number;
  readonly maxBackoffMillis: number;
  readonly backoffMultiplier: number;
}

/** The defaults, in one place. */
export const OTLP_HTTP_DEFAULTS = Object.freeze({
  url: 'http://localhost:4318/v1/traces',
  compression: 'none' as OtlpCompression,
  timeoutMillis: 10_000,
  maxAttempts: 5,
  initialBackoffMillis: 1000,
  maxBackoffMillis: 5000,
  backoffMultiplier: 1.5,
});

const TRACES_PATH = 'v1/traces';

/**
 * Merges options, `OTEL_EXPORTER_OTLP_*` variables and defaults. Invalid
 * values are reported through `diag` and replaced by the next source down;
 * this never throws.
 *
 * @example
 * resolveOtlpHttpConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' } }).url.href
 * // 'http://collector:4318/v1/traces'
 */
export function resolveOtlpHttpConfig(options: OtlpHttpConfigOptions = {}): Readonly<ResolvedOtlpHttpConfig> {
  const env = options.env ?? process.env;
  const retry = options.retry ?? {};
  return Object.freeze({
    url: resolveUrl(options.url, env),
    headers: Object.freeze({
      ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
      ...lowerCaseKeys(options.headers),
    }),
    compression: resolveCompression(options.compression, env),
    timeoutMillis: positive(
      'timeoutMillis',
      options.timeoutMillis,
      envNumber(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ?? envNumber(env, 'OTEL_EXPORTER_OTLP_TIMEOUT'),
      OTLP_HTTP_DEFAULTS.timeoutMillis,
    ),
    maxAttempts: Math.max(1, Math.floor(positive('maxAttempts', retry.maxAttempts, undefined, 5))),
    initialBackoffMillis: nonNegative(retry.initialBackoffMillis, OTLP_HTTP_DEFAULTS.initialBackoffMillis),
    maxBackoffMillis: nonNegative(retry.maxBackoffMillis, OTLP_HTTP_DEFAULTS.maxBackoffMillis),
    backoffMultiplier: positive('backoffMultiplier', retry.backoffMultiplier, undefined, 1.5),
  });
}

function lowerCaseKeys(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (isHeaderName(k) && isHeaderValue(v)) out[k.toLowerCase()] = v;
    else diag.warn(`OTLP exporter: header '${k}' has an invalid name or value; skipped`);
  }
  return out;
}

// RFC 9110 token / field-value characters: what node:http accepts without throwing.
function isHeaderName(k: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k);
}

function isHeaderValue(v: string): boolean {
  return typeof v === 'string' && !/[^\t\x20-\x7e\x80-\xff]/.test(v);
}

function resolveUrl(option: string | undefined, env: Env): URL {
  if (option !== undefined) {
    const u = parseHttpUrl(option, 'url option');
    if (u) return u;
  }
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (signal) {
    // The signal-specific variable is used as it is (spec: "used as-is").
    const u = parseHttpUrl(signal, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    if (u) return u;
  }
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) {
    // The base URL gets `v1/traces` appended relative to its path, keeping
    // any path prefix (spec: http://collector:4318/mypath -> /mypath/v1/traces).
    const u = parseHttpUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    if (u) {
      u.pathname = u.pathname.endsWith('/') ? u.pathname + TRACES_PATH : `${u.pathname}/${TRACES_PATH}`;
      return u;
    }
  }
  return new URL(OTLP_HTTP_DEFAULTS.url);
}

function parseHttpUrl(text: string, source: string): URL | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    diag.warn(`OTLP exporter: ${source} '${text}' is not a valid URL; ignored`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    diag.warn(`OTLP exporter: ${source} '${text}' is not an http(s) URL; ignored`);
    return undefined;
  }
  return u;
}

function resolveCompression(option: OtlpCompression | undefined, env: Env): OtlpCompression {
  if (option === 'gzip' || option === 'none') return option;
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION']) {
    const v = env[name]?.trim().toLowerCase();
    if (!v) continue;
    if (v === 'gzip' || v === 'none') return v;
    diag.warn(`OTLP exporter: ${name}='${v}' is not supported (gzip, none); ignored`);
  }
  return OTLP_HTTP_DEFAULTS.compression;
}

function envNumber(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (Number.isFinite(n) && n > 0) return n;
  diag.warn(`OTLP exporter: ${name}='${raw}' is not a positive number; ignored`);
  return undefined;
}

function positive(name: string, option: number | undefined, fromEnv: number | undefined, fallback: number): number {
  if (option !== undefined) {
    if (Number.isFinite(option) && option > 0) return option;
    diag.warn(`OTLP exporter: ${name} ${option} is not a positive number; ignored`);
  }
  return fromEnv ?? fallback;
}

function nonNegative(option: number | undefined, fallback: number): number {
  return option !== undefined && Number.isFinite(option) && option >= 0 ? option : fallback;
}

/**
 * Parses an `OTEL_EXPORTER_OTLP_HEADERS` value: `key=value` pairs separated
 * by commas, whitespace around them ignored, keys and values percent-decoded
 * (the W3C Baggage format without properties, as the specification says).
 * Malformed pairs are skipped with one `diag` warning each.
 *
 * @example
 * parseOtlpHeaders('api-key=abc%20def, x-tenant=t1') // { 'api-key': 'abc def', 'x-tenant': 't1' }
 */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = eq > 0 ? decodeURIComponent(part.slice(0, eq).trim()) : '';
      value = eq > 0 ? decodeURIComponent(part.slice(eq + 1).trim()) : '';
    } catch {
      key = '';
      value = '';
    }
    if (!isHeaderName(key) || !isHeaderValue(value)) {
      diag.warn(
        `OTLP exporter: header entry '${part.trim()}' is not key=value with a valid header name and value; skipped`,
      );
      continue;
    }
    out[key.toLowerCase()] = value;
  }
  return out;
}
