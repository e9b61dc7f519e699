/**
 * The HTTP layer every HTTP receiver (and, later, the HTTP APIs) runs on: one
 * `node:http` server per port with a route table that other parts of the
 * server add to, capped and decompressing body reading, CORS, and one place
 * where failures become responses.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { isWireDecodeError } from '@traceloom/wire';
import { ServerError, ServerErrorCode, StartupError, StartupErrorCode } from '../errors.ts';
import type { ReceiverStats } from './ingest.ts';
import { type Logger, silentLogger } from './logger.ts';

/** Default cap on a request body, after decompression: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Bodies whose declared length is at most this are read into one buffer
 * allocated up front (no concat copy). Larger ones are collected chunk by
 * chunk, so a client that declares a large length and then stalls holds only
 * what it actually sent.
 */
const PREALLOCATE_LIMIT = 8 * 1024 * 1024;

/** Header naming the stable error code on every error response. */
export const ERROR_CODE_HEADER = 'x-traceloom-error-code';

/** Writes the response for a failed request in the format of its protocol. */
export type ErrorWriter = (req: IncomingMessage, res: ServerResponse, error: ServerError) => void;

/** What a handler knows about the matched route. */
export interface RouteContext {
  /** The request path, without the query string. */
  readonly path: string;
  /** The raw query string without `?` ('' when absent). */
  readonly search: string;
  /** Values of `:name` segments of the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  /** The body cap that applies to this route. */
  readonly maxBodyBytes: number;
}

/**
 * Handles one request. It may throw (or reject with) a {@link ServerError},
 * a `WireDecodeError` or anything else; the route's error writer answers.
 */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>;

/** Per-route settings. */
export interface RouteOptions {
  /** Formats this route's failures. @default the server's error writer */
  errorWriter?: ErrorWriter;
  /** Body cap for this route. @default the server's `maxBodyBytes` */
  maxBodyBytes?: number;
}

/** Cross-origin settings, for browsers that post spans directly (the OTel web exporter). */
export interface CorsOptions {
  /**
   * Origins that may call. `'*'` allows any origin; an entry may contain one
   * `*` wildcard (`https://*.example.com`). An empty list turns CORS off.
   */
  allowedOrigins: readonly string[];
  /**
   * Request headers a browser may send, besides the defaults
   * (content-type, content-encoding, accept, authorization, x-requested-with,
   * traceparent, tracestate, baggage).
   */
  allowedHeaders?: readonly string[];
  /** How long browsers may cache a preflight answer. @default 7200 */
  maxAgeSeconds?: number;
}

/** Headers the OTel browser exporters and common instrumentation send. */
const DEFAULT_CORS_HEADERS = [
  'content-type',
  'content-encoding',
  'accept',
  'authorization',
  'x-requested-with',
  'traceparent',
  'tracestate',
  'baggage',
];

/** Options of an {@link HttpServer}. */
export interface HttpServerOptions {
  /** Name used in logs and errors, e.g. `OTLP/HTTP`. */
  name: string;
  /** The flag that changes this server's port, named in the "port in use" error. @default '--port' */
  portFlag?: string;
  /** The variable that changes this server's port, named in the "port in use" error. */
  portEnv?: string;
  /** Cap on a request body after decompression. @default 64 MiB */
  maxBodyBytes?: number;
  /** Time allowed for a whole request (headers and body) to arrive. @default 30000 */
  requestTimeoutMs?: number;
  /** Time allowed for the request headers to arrive. @default 10000 */
  headersTimeoutMs?: number;
  /** Idle time after which a kept-alive connection is closed. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** Time `close()` waits for in-flight requests before cutting connections. @default 5000 */
  closeGraceMs?: number;
  /** CORS; `false` or an empty origin list turns it off. @default off */
  cors?: CorsOptions | false;
  /** Formats failures that no route's writer handles (404, 405, timeouts). @default {@link textErrorWriter} */
  errorWriter?: ErrorWriter;
  /** @default silent */
  logger?: Logger;
  /** Counts failed requests by code. */
  stats?: ReceiverStats;
}

interface MethodEntry {
  readonly handler: RouteHandler;
  readonly errorWriter: ErrorWriter;
  readonly maxBodyBytes: number;
}

interface PathEntry {
  readonly methods: Map<string, MethodEntry>;
  /** `Allow` header value, kept current as methods are added. */
  allow: string;
}

interface PatternEntry {
  readonly segments: readonly string[];
  readonly entry: PathEntry;
}

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * One HTTP server on one port. Routes may be added before or after
 * {@link HttpServer.listen}; paths are exact, or patterns with `:name`
 * segments (`/api/v2/trace/:traceId`).
 *
 * @example
 * const http = new HttpServer({ name: 'Zipkin', portFlag: '--zipkin-port' });
 * http.route('POST', '/api/v2/spans', handler);
 * const port = await http.listen('localhost', 9411);
 */
export class HttpServer {
  readonly name: string;
  readonly maxBodyBytes: number;
  readonly #server: Server;
  readonly #exact = new Map<string, PathEntry>();
  readonly #patterns: PatternEntry[] = [];
  readonly #errorWriter: ErrorWriter;
  readonly #logger: Logger;
  readonly #portFlag: string;
  readonly #portEnv: string | undefined;
  readonly #closeGraceMs: number;
  readonly #cors: ResolvedCors | undefined;
  readonly #stats: ReceiverStats | undefined;
  /** The response being written on each socket, to know whether a raw error may still be written. */
  readonly #current = new WeakMap<Socket, ServerResponse>();
  #port: number | undefined;
  /** Answers GET and HEAD requests that no route matches (the UI's static files). */
  #fallback: MethodEntry | undefined;

  constructor(options: HttpServerOptions) {
    this.name = options.name;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#errorWriter = options.errorWriter ?? textErrorWriter;
    this.#logger = options.logger ?? silentLogger;
    this.#portFlag = options.portFlag ?? '--port';
    this.#portEnv = options.portEnv;
    this.#closeGraceMs = options.closeGraceMs ?? 5000;
    this.#cors = resolveCors(options.cors);
    this.#stats = options.stats;
    const requestTimeout = options.requestTimeoutMs ?? 30_000;
    const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
    this.#server = createServer({
      requestTimeout,
      headersTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5000,
      // Node checks the two timeouts above only this often; keep it well below them.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 2))),
    });
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(err, socket));
  }

  /** The bound port once listening. */
  get port(): number | undefined {
    return this.#port;
  }

  /** Adds a route. Adding the same method and path twice is a programming error and throws. */
  route(method: string, path: string, handler: RouteHandler, options?: RouteOptions): this {
    const m = method.toUpperCase();
    let entry: PathEntry | undefined;
    if (path.includes('/:')) {
      const segments = path.split('/');
      entry = this.#patterns.find((p) => p.segments.join('/') === segments.join('/'))?.entry;
      if (entry === undefined) {
        entry = { methods: new Map(), allow: '' };
        this.#patterns.push({ segments, entry });
      }
    } else {
      entry = this.#exact.get(path);
      if (entry === undefined) {
        entry = { methods: new Map(), allow: '' };
        this.#exact.set(path, entry);
      }
    }
    if (entry.methods.has(m)) throw new Error(`${this.name}: route ${m} ${path} is already registered`);
    entry.methods.set(m, {
      handler,
      errorWriter: options?.errorWriter ?? this.#errorWriter,
      maxBodyBytes: options?.maxBodyBytes ?? this.maxBodyBytes,
    });
    entry.allow = [...entry.methods.keys(), 'OPTIONS'].join(', ');
    return this;
  }

  /**
   * Sets the handler for GET and HEAD requests that match no route (other
   * methods still get 404). Setting it twice is a programming error and throws.
   */
  fallback(handler: RouteHandler, options?: RouteOptions): this {
    if (this.#fallback !== undefined) throw new Error(`${this.name}: a fallback handler is already set`);
    this.#fallback = {
      handler,
      errorWriter: options?.errorWriter ?? this.#errorWriter,
      maxBodyBytes: options?.maxBodyBytes ?? this.maxBodyBytes,
    };
    return this;
  }

  /**
   * Starts listening and resolves with the bound port (useful with port 0).
   * Rejects with a {@link StartupError} naming the port and the flag to change it.
   */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.#server.off('listening', onListening);
        reject(listenError(this.name, `${host}:${port}`, this.#portFlag, this.#portEnv, err));
      };
      const onListening = () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        this.#port = typeof addr === 'object' && addr !== null ? addr.port : port;
        this.#server.on('error', (e) => this.#logger.error(`${this.name}: server error`, e));
        resolve(this.#port);
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen({ host, port });
    });
  }

  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `closeGraceMs`, then cuts what is left. Idempotent.
   */
  close(): Promise<void> {
    if (!this.#server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#server.closeAllConnections(), this.#closeGraceMs);
      timer.unref();
      this.#server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#server.closeIdleConnections();
    });
  }

  #match(path: string): { entry: PathEntry; params: Readonly<Record<string, string>> } | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return { entry: exact, params: EMPTY_PARAMS };
    if (this.#patterns.length === 0) return undefined;
    const parts = path.split('/');
    outer: for (const p of this.#patterns) {
      if (p.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const seg = p.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(':')) {
          if (part === '') continue outer;
          params[seg.slice(1)] = safeDecode(part);
        } else if (seg !== part) continue outer;
      }
      return { entry: p.entry, params };
    }
    return undefined;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Errors on either stream (client gone) are handled through 'close'; without
    // a listener an 'error' would be thrown as uncaught.
    req.on('error', ignore);
    res.on('error', ignore);
    this.#current.set(req.socket, res);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;
    if (this.#cors !== undefined && origin !== undefined) applyCors(this.#cors, origin, res);

    const found = this.#match(path);
    if (found === undefined && this.#fallback !== undefined && (method === 'GET' || method === 'HEAD')) {
      this.#run(req, res, this.#fallback, {
        path,
        search,
        params: EMPTY_PARAMS,
        maxBodyBytes: this.#fallback.maxBodyBytes,
      });
      return;
    }
    if (found === undefined) {
      this.#fail(req, res, new ServerError(ServerErrorCode.NOT_FOUND, `no route for ${method} ${path}`));
      return;
    }
    const m = found.entry.methods.get(method);
    if (m === undefined) {
      if (method === 'OPTIONS') {
        this.#preflight(req, res, found.entry);
        return;
      }
      res.setHeader('allow', found.entry.allow);
      this.#fail(
        req,
        res,
        new ServerError(
          ServerErrorCode.METHOD_NOT_ALLOWED,
          `${method} is not allowed on ${path} (allowed: ${found.entry.allow})`,
        ),
      );
      return;
    }
    this.#run(req, res, m, { path, search, params: found.params, maxBodyBytes: m.maxBodyBytes });
  }

  #run(req: IncomingMessage, res: ServerResponse, m: MethodEntry, ctx: RouteContext): void {
    let result: void | Promise<void>;
    try {
      result = m.handler(req, res, ctx);
    } catch (e) {
      this.#fail(req, res, e, m.errorWriter);
      return;
    }
    if (result !== undefined) result.catch((e: unknown) => this.#fail(req, res, e, m.errorWriter));
  }

  #preflight(req: IncomingMessage, res: ServerResponse, entry: PathEntry): void {
    res.setHeader('allow', entry.allow);
    const cors = this.#cors;
    const origin = req.headers.origin;
    if (cors !== undefined && origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
      if (res.hasHeader('access-control-allow-origin')) {
        res.setHeader('access-control-allow-methods', entry.allow);
        res.setHeader('access-control-allow-headers', cors.allowedHeaders);
        res.setHeader('access-control-max-age', cors.maxAge);
      } else {
        this.#logger.debug(`${this.name}: CORS preflight from origin ${origin} refused (not in the allowed origins)`);
      }
    }
    res.statusCode = 204;
    res.end();
  }

  /** Turns any failure into a response, unless the client is gone or a response has started. */
  #fail(req: IncomingMessage, res: ServerResponse, e: unknown, writer: ErrorWriter = this.#errorWriter): void {
    if (e instanceof ClientGoneError) {
      this.#logger.debug(`${this.name}: client disconnected during ${req.method} ${req.url}`);
      return;
    }
    const err = toServerError(e);
    this.#stats?.failed(err.code);
    if (err.code === ServerErrorCode.INTERNAL) {
      this.#logger.error(`${this.name}: ${req.method} ${req.url} failed`, err.cause ?? e);
    } else {
      this.#logger.debug(`${this.name}: ${req.method} ${req.url} -> ${err.status} ${err.code}: ${err.message}`);
    }
    if (res.headersSent || res.destroyed || req.socket.destroyed) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    // A body left unread must not be parsed as the next request: close after answering.
    const bodyPending = !req.complete && (req.headers['transfer-encoding'] !== undefined || hasContent(req));
    if (bodyPending) res.setHeader('connection', 'close');
    res.setHeader(ERROR_CODE_HEADER, err.code);
    if (err.retryAfterSeconds > 0) res.setHeader('retry-after', String(err.retryAfterSeconds));
    try {
      writer(req, res, err);
    } catch (writeErr) {
      this.#logger.error(`${this.name}: error writer failed`, writeErr);
      if (!res.headersSent) textErrorWriter(req, res, err);
      else res.destroy();
    }
    if (bodyPending) req.resume();
  }

  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const res = this.#current.get(socket);
    if (res?.headersSent) {
      socket.destroy();
      return;
    }
    let status = 400;
    let reason = 'Bad Request';
    let e: ServerError;
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      reason = 'Request Timeout';
      e = new ServerError(ServerErrorCode.REQUEST_TIMEOUT, 'the request did not arrive completely in time');
    } else if (code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      reason = 'Request Header Fields Too Large';
      e = new ServerError(ServerErrorCode.BAD_REQUEST, 'the request headers are too large');
    } else {
      e = new ServerError(ServerErrorCode.BAD_REQUEST, `malformed HTTP request (${code || err.message})`);
    }
    this.#stats?.failed(e.code);
    this.#logger.debug(`${this.name}: ${status} ${e.code}: ${e.message}`);
    const body = `${e.describe()}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `${ERROR_CODE_HEADER}: ${e.code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.destroySoon();
  }
}

function ignore(): void {}

function hasContent(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Normalises any thrown value into a {@link ServerError}. */
export function toServerError(e: unknown): ServerError {
  if (e instanceof ServerError) return e;
  if (isWireDecodeError(e)) return ServerError.fromDecode(e);
  return new ServerError(ServerErrorCode.INTERNAL, 'internal error while handling the request', { cause: e });
}

/**
 * The start-up error for a failed bind, naming the address and how to change it.
 * Shared by the HTTP servers and the gRPC receiver.
 */
export function listenError(
  name: string,
  address: string,
  flag: string,
  env: string | undefined,
  err: { code?: string | undefined; message: string },
): StartupError {
  const change = `${flag} <port>${env === undefined ? '' : ` (or ${env})`}`;
  if (err.code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(err.message)) {
    return new StartupError(
      StartupErrorCode.PORT_IN_USE,
      `${name} cannot listen on ${address}: the port is already in use. ` +
        `Pick another port with ${change}, or turn this receiver off with ${flag} off.`,
      { cause: err },
    );
  }
  return new StartupError(
    StartupErrorCode.LISTEN_FAILED,
    `${name} cannot listen on ${address}: ${err.message}. Check --host, or change the port with ${change}.`,
    { cause: err },
  );
}

// ---------------------------------------------------------------------------
// Error writers

/** Writes `CODE: message. hint` as text/plain. */
export const textErrorWriter: ErrorWriter = (_req, res, err) => {
  sendBytes(res, err.status, 'text/plain; charset=utf-8', Buffer.from(`${err.describe()}\n`));
};

/** Writes `{"code":"TL_ERR_...","message":"...","status":400}` as JSON. */
export const jsonErrorWriter: ErrorWriter = (_req, res, err) => {
  const body = JSON.stringify({ code: err.code, message: err.describe(), status: err.status });
  sendBytes(res, err.status, 'application/json', Buffer.from(body));
};

/** Sends a complete response with a known length. */
export function sendBytes(
  res: ServerResponse,
  status: number,
  contentType: string | undefined,
  body: Uint8Array,
): void {
  res.statusCode = status;
  if (contentType !== undefined) res.setHeader('content-type', contentType);
  res.setHeader('content-length', body.byteLength);
  // end() with an empty chunk would queue head and chunk separately; without one, the head goes alone.
  if (body.byteLength === 0) res.end();
  else res.end(body);
}

// ---------------------------------------------------------------------------
// CORS

interface ResolvedCors {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  readonly wildcards: readonly { readonly prefix: string; readonly suffix: string }[];
  readonly allowedHeaders: string;
  readonly maxAge: string;
}

function resolveCors(options: CorsOptions | false | undefined): ResolvedCors | undefined {
  if (options === false || options === undefined || options.allowedOrigins.length === 0) return undefined;
  const exact = new Set<string>();
  const wildcards: { prefix: string; suffix: string }[] = [];
  let any = false;
  for (const o of options.allowedOrigins) {
    if (o === '*') any = true;
    else if (o.includes('*')) {
      const i = o.indexOf('*');
      wildcards.push({ prefix: o.slice(0, i), suffix: o.slice(i + 1) });
    } else exact.add(o);
  }
  const headers = new Set(DEFAULT_CORS_HEADERS);
  for (const h of options.allowedHeaders ?? []) headers.add(h.toLowerCase());
  return {
    any,
    exact,
    wildcards,
    allowedHeaders: [...headers].join(', '),
    maxAge: String(options.maxAgeSeconds ?? 7200),
  };
}

function applyCors(cors: ResolvedCors, origin: string, res: ServerResponse): void {
  let allowed = cors.any ? '*' : undefined;
  if (allowed === undefined) {
    if (cors.exact.has(origin)) allowed = origin;
    else {
      for (const w of cors.wildcards) {
        if (
          origin.length > w.prefix.length + w.suffix.length &&
          origin.startsWith(w.prefix) &&
          origin.endsWith(w.suffix)
        ) {
          allowed = origin;
          break;
        }
      }
    }
    res.setHeader('vary', 'Origin');
  }
  if (allowed === undefined) return;
  res.setHeader('access-control-allow-origin', allowed);
  // Without this a browser exporter cannot read Retry-After on a 429 (not a CORS-safelisted header).
  res.setHeader('access-control-expose-headers', `Retry-After, ${ERROR_CODE_HEADER}`);
}

// ---------------------------------------------------------------------------
// Body reading

/** The client went away before the body was complete; nothing can be answered. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

type Coding = 'identity' | 'gzip' | 'deflate' | 'br';

function parseContentEncoding(header: string | undefined): Coding {
  if (header === undefined) return 'identity';
  let coding: Coding = 'identity';
  for (const raw of header.split(',')) {
    const c = raw.trim().toLowerCase();
    if (c === '' || c === 'identity' || c === 'none') continue;
    let next: Coding;
    if (c === 'gzip' || c === 'x-gzip') next = 'gzip';
    else if (c === 'deflate') next = 'deflate';
    else if (c === 'br') next = 'br';
    else
      throw new ServerError(
        ServerErrorCode.UNSUPPORTED_ENCODING,
        `Content-Encoding '${raw.trim()}' is not supported (supported: gzip, deflate, br, identity)`,
      );
    if (coding !== 'identity') {
      throw new ServerError(
        ServerErrorCode.UNSUPPORTED_ENCODING,
        `Content-Encoding '${header}' stacks several codings; send at most one`,
      );
    }
    coding = next;
  }
  return coding;
}

function tooLarge(max: number, what: string): ServerError {
  return new ServerError(
    ServerErrorCode.BODY_TOO_LARGE,
    `the request body ${what} is larger than the limit of ${max} bytes (${formatBytes(max)})`,
  );
}

/** `65536` -> `64 KiB`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/**
 * Reads a request body, decompressing `Content-Encoding` gzip / deflate / br.
 * Never holds more than `maxBytes` of body (compressed or decompressed):
 * past that it stops, discards the rest, and rejects with a 413
 * {@link ServerError}. Rejects with {@link ClientGoneError} when the client
 * disconnects, and with a 400 / 415 {@link ServerError} for a bad or unknown
 * encoding.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  let coding: Coding;
  try {
    coding = parseContentEncoding(req.headers['content-encoding']);
  } catch (e) {
    return Promise.reject(e);
  }
  const lengthHeader = req.headers['content-length'];
  // Node's parser has already rejected a malformed Content-Length.
  const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (declared !== undefined && declared > maxBytes) {
    return Promise.reject(
      tooLarge(maxBytes, coding === 'identity' ? `(${declared} bytes)` : `(${declared} bytes compressed)`),
    );
  }
  return coding === 'identity' ? readIdentity(req, maxBytes, declared) : readCompressed(req, maxBytes, coding);
}

function readIdentity(req: IncomingMessage, max: number, declared: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pre = declared !== undefined && declared <= PREALLOCATE_LIMIT ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const cleanup = () => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const fail = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      const next = total + chunk.length;
      if (next > max) {
        fail(tooLarge(max, ''));
        return;
      }
      if (pre !== undefined) {
        if (next > pre.length) {
          fail(new ServerError(ServerErrorCode.BAD_REQUEST, 'the body is longer than its Content-Length'));
          return;
        }
        chunk.copy(pre, total);
      } else chunks.push(chunk);
      total = next;
    };
    const onEnd = () => {
      cleanup();
      if (pre !== undefined) resolve(total === pre.length ? pre : pre.subarray(0, total));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onClose = () => {
      if (!settled && !req.complete) fail(new ClientGoneError('client disconnected before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

const CODING_ERROR: Record<Exclude<Coding, 'identity'>, ServerErrorCode> = {
  gzip: ServerErrorCode.BAD_GZIP,
  deflate: ServerErrorCode.BAD_DEFLATE,
  br: ServerErrorCode.BAD_BROTLI,
};

function readCompressed(req: IncomingMessage, max: number, coding: Exclude<Coding, 'identity'>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let rawTotal = 0;
    let settled = false;
    let z: Transform | undefined;
    const cleanup = () => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      if (z !== undefined) {
        z.off('data', onOut);
        z.off('end', onOutEnd);
        // Keep a listener: destroy() may still surface an error from the zlib binding.
        z.on('error', ignore);
        z.destroy();
      }
      // Backpressure may have paused the request; let the rest drain into nothing.
      req.resume();
    };
    const fail = (e: Error) => {
      if (settled) return;
      cleanup();
      reject(e);
    };
    const onOut = (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        // A zip bomb stops here: at most `max` plus one zlib chunk was ever held.
        fail(tooLarge(max, 'after decompression'));
        return;
      }
      chunks.push(chunk);
    };
    const onOutEnd = () => {
      if (settled) return;
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onZError = (e: Error) => {
      fail(
        new ServerError(
          CODING_ERROR[coding],
          `the ${coding} body could not be decompressed (${e.message}) after ${rawTotal} compressed bytes`,
        ),
      );
    };
    const start = (first: Buffer): Transform => {
      let t: Transform;
      if (coding === 'gzip') t = createGunzip();
      else if (coding === 'br') t = createBrotliDecompress();
      else {
        // HTTP "deflate" means zlib-wrapped (RFC 9110 8.4.1.2), but some clients send raw
        // deflate; a zlib header has CM=8 in the low nibble and a checksum of 0 mod 31.
        const b0 = first[0] as number;
        const b1 = first.length > 1 ? (first[1] as number) : -1;
        const zlibHeader = (b0 & 0x0f) === 8 && (b1 < 0 || ((b0 << 8) | b1) % 31 === 0);
        t = zlibHeader ? createInflate() : createInflateRaw();
      }
      t.on('data', onOut);
      t.on('end', onOutEnd);
      t.on('error', onZError);
      t.on('drain', () => {
        if (!settled) req.resume();
      });
      return t;
    };
    const onData = (chunk: Buffer) => {
      rawTotal += chunk.length;
      if (rawTotal > max) {
        fail(tooLarge(max, '(compressed)'));
        return;
      }
      z ??= start(chunk);
      if (!z.write(chunk)) req.pause();
    };
    const onEnd = () => {
      if (z === undefined) {
        // An empty body with a Content-Encoding header: nothing to decompress.
        cleanup();
        resolve(Buffer.alloc(0));
        return;
      }
      z.end();
    };
    const onClose = () => {
      if (!settled && !req.complete) fail(new ClientGoneError('client disconnected before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

/**
 * The media type of a Content-Type header, lowercased, without parameters:
 * `Application/JSON; charset=utf-8` -> `application/json`; '' when absent.
 */
export function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}
