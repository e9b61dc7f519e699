/**
 * OTLP/HTTP protobuf trace exporter (OTLP specification, "OTLP/HTTP"):
 * encodes with `@traceloom/wire`, posts through `node:http` / `node:https`
 * (never `fetch`, so the fetch instrumentation does not see the SDK's own
 * traffic; the request also runs with tracing suppressed), optionally gzipped,
 * over a keep-alive agent.
 *
 * Retries follow the specification's "Retryable Response Codes" and
 * "Failures": 429, 502, 503 and 504 and network failures (refused, reset,
 * disconnect mid-response, timeout) are retried with exponential backoff and
 * full jitter, honouring `Retry-After`; every other status, 400 first of all,
 * is a permanent failure. A 200 whose `partial_success` reports rejected
 * spans is a success, and its message is logged once.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { context, diag } from '@opentelemetry/api';
import { decodeExportTraceResponse, decodeRpcStatus, encodeOtlpTraces } from '@traceloom/wire';
import { suppressTracing } from '../context/suppress.ts';
import type { ExportResult, FinishedSpan, SpanExporter } from '../trace/types.ts';
import { type OtlpHttpConfigOptions, type ResolvedOtlpHttpConfig, resolveOtlpHttpConfig } from './otlp-config.ts';

const gzipAsync = promisify(gzip);

/** Options of {@link OtlpHttpExporter}. */
export interface OtlpHttpExporterOptions extends OtlpHttpConfigOptions {
  /** The agent requests go through. @default a keep-alive agent owned (and destroyed on shutdown) by the exporter */
  agent?: HttpAgent;
  /** How the exporter waits between attempts (tests inject one). @default a timer */
  sleep?: (ms: number) => Promise<void>;
  /** Random numbers in [0, 1) for the jitter (tests inject one). @default Math.random */
  random?: () => number;
}

/** Why an export attempt failed: the status when the server answered, else a network failure. */
export class OtlpExportError extends Error {
  override readonly name = 'OtlpExportError';
  /** HTTP status, or 0 for a network failure or timeout. */
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** Statuses the specification marks retryable. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Bodies of responses are read up to this size; an exporter has no use for more. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Distinct partial-success messages remembered (each is logged once). */
const MAX_REMEMBERED_MESSAGES = 64;
const USER_AGENT = 'traceloom-sdk-js/0.1.0';

const SUCCESS: ExportResult = Object.freeze({ code: 'success' });

type Outcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: Buffer }
  | { readonly kind: 'network'; readonly error: Error };

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    // Not unref'd: a retry pending should finish before the process exits.
    setTimeout(resolve, ms);
  });

/**
 * Sends spans to an OTLP/HTTP endpoint as protobuf. Configured by options and
 * the standard `OTEL_EXPORTER_OTLP_*` variables (see {@link resolveOtlpHttpConfig}).
 * Never throws: every outcome is an {@link ExportResult}.
 *
 * @example
 * const exporter = new OtlpHttpExporter({ url: 'http://collector:4318/v1/traces', compression: 'gzip' });
 * const processor = new BatchSpanProcessor(exporter);
 */
export class OtlpHttpExporter implements SpanExporter {
  /** The settings in force. */
  readonly config: Readonly<ResolvedOtlpHttpConfig>;
  readonly #agent: HttpAgent;
  readonly #ownsAgent: boolean;
  readonly #request: typeof httpRequest;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #pending = new Set<Promise<ExportResult>>();
  readonly #warned = new Set<string>();
  #shutdown = false;

  constructor(options: OtlpHttpExporterOptions = {}) {
    this.config = resolveOtlpHttpConfig(options);
    const https = this.config.url.protocol === 'https:';
    this.#request = https ? (httpsRequest as typeof httpRequest) : httpRequest;
    this.#ownsAgent = options.agent === undefined;
    this.#agent = options.agent ?? (https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }));
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
  }

  /** Encodes and posts `spans`, retrying as the specification allows. */
  export(spans: readonly FinishedSpan[]): Promise<ExportResult> {
    if (this.#shutdown) return Promise.resolve(failure(new Error('OTLP exporter is shut down')));
    if (spans.length === 0) return Promise.resolve(SUCCESS);
    const p = context.with(suppressTracing(context.active()), () => this.#send(spans));
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
    return p;
  }

  /** Resolves once every export started so far has ended. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.#pending);
  }

  /** Lets pending exports end, then closes the connections. Later exports fail at once. */
  async shutdown(): Promise<void> {
    this.#shutdown = true;
    await this.forceFlush();
    if (this.#ownsAgent) this.#agent.destroy();
  }

  async #send(spans: readonly FinishedSpan[]): Promise<ExportResult> {
    const cfg = this.config;
    try {
      let body: Uint8Array = encodeOtlpTraces(spans);
      if (cfg.compression === 'gzip') body = await gzipAsync(body);
      const deadline = performance.now() + cfg.timeoutMillis;
      for (let attempt = 1; ; attempt++) {
        const remaining = Math.max(1, Math.ceil(deadline - performance.now()));
        const outcome = await this.#post(body, remaining);
        let error: Error;
        let retryAfterMs: number | undefined;
        if (outcome.kind === 'response') {
          const status = outcome.status;
          if (status >= 200 && status < 300) {
            this.#readPartialSuccess(outcome.headers, outcome.body, spans.length);
            return SUCCESS;
          }
          error = new OtlpExportError(
            `OTLP export to ${cfg.url.href} failed: HTTP ${status}${describeBody(outcome.headers, outcome.body)}`,
            status,
          );
          if (!RETRYABLE_STATUSES.has(status)) return failure(error);
          retryAfterMs = parseRetryAfter(outcome.headers['retry-after']);
        } else {
          error = outcome.error;
        }
        if (attempt >= cfg.maxAttempts) return retryable(error, retryAfterMs);
        const delay = retryAfterMs ?? this.#backoff(attempt);
        // A wait that would end past the deadline is not worth starting:
        // the caller gets a retryable result and can try with the next batch.
        if (performance.now() + delay >= deadline) return retryable(error, retryAfterMs);
        await this.#sleep(delay);
      }
    } catch (e) {
      return failure(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Full jitter ("Exponential Backoff And Jitter", AWS architecture blog): uniform in [0, bound). */
  #backoff(attempt: number): number {
    const cfg = this.config;
    const bound = Math.min(cfg.maxBackoffMillis, cfg.initialBackoffMillis * cfg.backoffMultiplier ** (attempt - 1));
    return Math.floor(this.#random() * bound);
  }

  #post(body: Uint8Array, timeoutMs: number): Promise<Outcome> {
    const cfg = this.config;
    return new Promise<Outcome>((resolve) => {
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(o);
      };
      const headers: Record<string, string | number> = {
        ...cfg.headers,
        'content-type': 'application/x-protobuf',
        'content-length': body.length,
        'user-agent': USER_AGENT,
      };
      if (cfg.compression === 'gzip') headers['content-encoding'] = 'gzip';
      const req = this.#request(cfg.url, { method: 'POST', agent: this.#agent, headers });
      const timer = setTimeout(() => {
        const error = new OtlpExportError(`OTLP export to ${cfg.url.href} timed out after ${timeoutMs} ms`, 0);
        finish({ kind: 'network', error });
        req.destroy(error);
      }, timeoutMs);
      timer.unref();
      req.on('error', (e) => {
        finish({
          kind: 'network',
          error: new OtlpExportError(`OTLP export to ${cfg.url.href} failed: ${e.message}`, 0, { cause: e }),
        });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('end', () => {
          finish({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', () => {
          // Reported through 'close' below, with the reason spelled out.
        });
        res.on('close', () => {
          if (res.complete) return;
          const error = new OtlpExportError(
            `OTLP export to ${cfg.url.href}: the connection closed before the response was complete (HTTP ${res.statusCode})`,
            0,
          );
          finish({ kind: 'network', error });
        });
      });
      req.end(body);
    });
  }

  #readPartialSuccess(headers: IncomingHttpHeaders, body: Buffer, sent: number): void {
    if (body.length === 0 || !isProtobuf(headers)) return;
    let rejected: bigint;
    let message: string;
    try {
      const partial = decodeExportTraceResponse(body).partialSuccess;
      if (partial === undefined) return;
      rejected = partial.rejectedSpans;
      message = partial.errorMessage;
    } catch (e) {
      diag.debug(`OTLP exporter: could not decode the export response: ${String(e)}`);
      return;
    }
    if (rejected === 0n && message === '') return;
    if (this.#warned.has(message)) return;
    if (this.#warned.size >= MAX_REMEMBERED_MESSAGES) this.#warned.clear();
    this.#warned.add(message);
    diag.warn(
      `OTLP export partially succeeded: the server rejected ${rejected} of ${sent} spans: ${message || '(no message)'}` +
        ' (this message is logged once)',
    );
  }
}

function failure(error: Error): ExportResult {
  return { code: 'failure', error };
}

function retryable(error: Error, retryAfterMs: number | undefined): ExportResult {
  return retryAfterMs === undefined ? { code: 'retryable', error } : { code: 'retryable', error, retryAfterMs };
}

function isProtobuf(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return type === undefined || type.toLowerCase().startsWith('application/x-protobuf');
}

/** The reason a failed response gives: its `google.rpc.Status` message, or the start of its text. */
function describeBody(headers: IncomingHttpHeaders, body: Buffer): string {
  if (body.length === 0) return '';
  if (isProtobuf(headers)) {
    try {
      const status = decodeRpcStatus(body);
      return status.message === '' ? '' : `: ${status.message}`;
    } catch {
      return '';
    }
  }
  return `: ${body.toString('utf8', 0, Math.min(body.length, 200)).trim()}`;
}

/**
 * `Retry-After` (RFC 9110 section 10.2.3) in milliseconds: delay-seconds or an
 * HTTP date. `undefined` when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
