import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Attributes, Exception, Span, TextMapSetter, Tracer } from '@opentelemetry/api';
import { context, diag, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { LinkedContext } from '../context/linked-context.ts';
import { isTracingSuppressed, suppressTracing } from '../context/suppress.ts';
import { flatToAttributes } from '../trace/attributes.ts';
import { Tracer as SdkTracer } from '../trace/tracer.ts';
import { enterContext } from './enter-context.ts';
import type { HeaderCapture } from './http-semconv.ts';
import {
  authorityHost,
  authorityPort,
  captureNodeHeaders,
  captureRawHeaders,
  errorType,
  hasRawHeader,
  knownMethod,
  resolveHeaderCapture,
  setMethod,
  setServerAddress,
} from './http-semconv.ts';

/** The instrumentation scope name of every span this module creates. */
export const HTTP_INSTRUMENTATION_NAME = '@traceloom/sdk/instrumentation-http';
/** The instrumentation scope version. */
export const HTTP_INSTRUMENTATION_VERSION = '0.1.0';

/**
 * The request object undici publishes on `undici:request:*` (the `fetch` of
 * Node 20 and the `undici` package). Only the members used here.
 */
export interface UndiciRequest {
  readonly origin: string | URL;
  readonly method: string;
  readonly path: string;
  /** undici 6+: flat `[name, value, ...]`; undici 5: a `name: value\r\n` block. */
  readonly headers: readonly (string | Uint8Array)[] | string;
  addHeader(name: string, value: string): unknown;
}

/** The response undici publishes on `undici:request:headers`. */
export interface UndiciResponse {
  readonly statusCode: number;
  readonly statusText?: string;
  /** Flat `[name, value, ...]` list of Buffers. */
  readonly headers: readonly (string | Uint8Array)[];
}

/** What `requestHook` receives: which side of which API the span belongs to. */
export type HttpRequestInfo =
  | { readonly kind: 'server'; readonly request: IncomingMessage; readonly response: ServerResponse }
  | { readonly kind: 'client'; readonly request: ClientRequest }
  | { readonly kind: 'fetch'; readonly request: UndiciRequest };

/** What `responseHook` receives. */
export type HttpResponseInfo =
  | { readonly kind: 'server'; readonly request: IncomingMessage; readonly response: ServerResponse }
  | { readonly kind: 'client'; readonly request: ClientRequest; readonly response: IncomingMessage }
  | { readonly kind: 'fetch'; readonly request: UndiciRequest; readonly response: UndiciResponse };

/** Header names recorded as `http.request.header.<name>` / `http.response.header.<name>` attributes. */
export interface HttpCaptureHeaders {
  /** Incoming requests' headers on server spans. @default [] */
  readonly serverRequest?: readonly string[];
  /** Headers our server answered with, on server spans. @default [] */
  readonly serverResponse?: readonly string[];
  /** Outgoing requests' headers on client spans (node:http and fetch). @default [] */
  readonly clientRequest?: readonly string[];
  /** Headers of the responses we received, on client spans. @default [] */
  readonly clientResponse?: readonly string[];
}

/** Options of {@link enableHttpInstrumentation}; all optional. */
export interface HttpInstrumentationOptions {
  /**
   * Incoming paths (`url.path`, without the query) not traced, e.g. health
   * checks: a string matches the whole path, a RegExp is tested against it.
   * The handlers of ignored requests run with tracing suppressed, so nothing
   * they call is traced either. @default []
   */
  readonly ignoreIncomingPaths?: readonly (string | RegExp)[];
  /**
   * Outgoing URLs (`url.full`) not traced: a string matches as a prefix, a
   * RegExp is tested. No context is injected into them. @default []
   */
  readonly ignoreOutgoingUrls?: readonly (string | RegExp)[];
  /** Called after a span starts (only for recording spans); errors it throws are logged, not raised. */
  readonly requestHook?: (span: Span, request: HttpRequestInfo) => void;
  /** Called when the response is known, before the span ends (only for recording spans). */
  readonly responseHook?: (span: Span, response: HttpResponseInfo) => void;
  /** Headers to record as attributes. @default {} */
  readonly captureHeaders?: HttpCaptureHeaders;
  /**
   * Node 20 publishes `http.client.request.start` only after the request's
   * headers are written, so no diagnostics channel lets us add `traceparent`
   * to `node:http` requests there. When true and the running Node lacks
   * `http.client.request.created` (added in Node 22.12/23.2), the one
   * prototype method `http.Agent.prototype.addRequest` is wrapped so the
   * client span starts and its context is injected while headers are still
   * writable; `disable()` restores it. When false, `node:http` client spans
   * are still made on those versions but nothing is injected. Has no effect
   * on `fetch` (undici accepts headers from its channel) or on newer Node.
   * @default true
   */
  readonly agentPropagationFallback?: boolean;
}

/** The handle {@link enableHttpInstrumentation} returns. */
export interface HttpInstrumentationHandle {
  /** Unsubscribes every channel (and undoes the agent fallback); spans in flight still end. Idempotent. */
  disable(): void;
  /** Whether this handle is the active instrumentation. */
  readonly enabled: boolean;
}

/** A span, `null` for "seen and deliberately not traced", `undefined` for never seen. */
const kSpan: unique symbol = Symbol('traceloom.http.span');
interface SpanHolder {
  [kSpan]?: Span | null;
}

interface Matcher {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  readonly patterns: readonly RegExp[];
}

interface Resolved {
  readonly tracer: Tracer;
  /** `tracer` when it is Traceloom's own (its flat-attribute start is then used), else undefined. */
  readonly ownTracer: SdkTracer | undefined;
  readonly ignoreIncoming: Matcher | undefined;
  readonly ignoreOutgoing: Matcher | undefined;
  readonly requestHook: HttpInstrumentationOptions['requestHook'];
  readonly responseHook: HttpInstrumentationOptions['responseHook'];
  readonly serverRequestHeaders: HeaderCapture | undefined;
  readonly serverResponseHeaders: HeaderCapture | undefined;
  readonly clientRequestHeaders: HeaderCapture | undefined;
  readonly clientResponseHeaders: HeaderCapture | undefined;
}

function resolveMatcher(
  list: readonly (string | RegExp)[] | undefined,
  stringsArePrefixes: boolean,
): Matcher | undefined {
  if (list === undefined || list.length === 0) return undefined;
  const strings = list.filter((x): x is string => typeof x === 'string');
  return {
    exact: new Set(stringsArePrefixes ? [] : strings),
    prefixes: stringsArePrefixes ? strings : [],
    patterns: list.filter((x): x is RegExp => x instanceof RegExp),
  };
}

function matches(matcher: Matcher | undefined, value: string): boolean {
  if (matcher === undefined) return false;
  if (matcher.exact.has(value)) return true;
  for (const p of matcher.prefixes) if (value.startsWith(p)) return true;
  for (const re of matcher.patterns) {
    re.lastIndex = 0;
    if (re.test(value)) return true;
  }
  return false;
}

/** The active configuration; `undefined` while disabled. Handlers read it on every message. */
let active: Resolved | undefined;
let activeHandle: HttpInstrumentationHandle | undefined;

// ---------------------------------------------------------------- helpers

function callRequestHook(span: Span, info: HttpRequestInfo): void {
  const hook = active?.requestHook;
  if (hook === undefined) return;
  try {
    hook(span, info);
  } catch (err) {
    diag.error('traceloom http instrumentation: requestHook threw', err);
  }
}

function callResponseHook(span: Span, info: HttpResponseInfo): void {
  const hook = active?.responseHook;
  if (hook === undefined) return;
  try {
    hook(span, info);
  } catch (err) {
    diag.error('traceloom http instrumentation: responseHook threw', err);
  }
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  if (error instanceof Error) {
    span.recordException(error as Exception);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

function setClientStatus(span: Span, status: number): void {
  // Semconv: a client span is an error for 4xx and 5xx (the caller did not get what it asked for).
  if (status >= 400) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

// ----------------------------------------------------------------- server

interface ServerRequestStartMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly socket: Socket;
}

/**
 * What the server side remembers per connection: keep-alive sockets serve
 * many requests, and none of this can change while the socket lives (the Host
 * header can, so its parse is reused only while the header text repeats).
 * One shape: every field set in the constructor.
 */
class ConnState {
  readonly scheme: 'http' | 'https';
  readonly defaultPort: number;
  /** `socket.remoteAddress` once known (undefined after the socket is gone, so not cached then). */
  remoteAddress: string | undefined = undefined;
  /** The last Host header parsed on this connection, and what it gave. */
  hostHeader: string | undefined = undefined;
  hostAddress: string | undefined = undefined;
  hostPort: number | undefined = undefined;
  /**
   * The response whose server span is open on this connection, and that span.
   * Kept here rather than on the response: adding a property to every
   * ServerResponse changes its hidden class (and copies its property store).
   */
  openResponse: ServerResponse | undefined = undefined;
  openSpan: Span | undefined = undefined;
  /** More open responses and their spans, in order, when the client pipelines requests (rare). */
  queued: OpenResponse[] | undefined = undefined;

  constructor(encrypted: boolean) {
    this.scheme = encrypted ? 'https' : 'http';
    this.defaultPort = encrypted ? 443 : 80;
  }
}

interface OpenResponse {
  readonly response: ServerResponse;
  readonly span: Span;
}

const kConn: unique symbol = Symbol('traceloom.http.conn');
interface ConnHolder {
  [kConn]?: ConnState;
}

function connState(socket: Socket & ConnHolder): ConnState {
  let conn = socket[kConn];
  if (conn === undefined) {
    conn = new ConnState((socket as { encrypted?: boolean }).encrypted === true);
    socket[kConn] = conn;
    // One listener per connection instead of one 'close' listener per
    // response: it ends the spans of responses that never finish (the client
    // went away, a timeout, res.destroy()), all of which close the socket.
    socket.on('close', onServerSocketClose);
  }
  return conn;
}

function trackOpen(conn: ConnState, response: ServerResponse, span: Span): void {
  if (conn.openResponse === undefined) {
    conn.openResponse = response;
    conn.openSpan = span;
    return;
  }
  const entry: OpenResponse = { response, span };
  if (conn.queued === undefined) conn.queued = [entry];
  else conn.queued.push(entry);
}

/** Forgets the response's open span and returns it (undefined when it has none). */
function untrackOpen(conn: ConnState, response: ServerResponse): Span | undefined {
  if (conn.openResponse === response) {
    const span = conn.openSpan;
    const next = conn.queued?.shift();
    conn.openResponse = next?.response;
    conn.openSpan = next?.span;
    return span;
  }
  const queued = conn.queued;
  if (queued === undefined) return undefined;
  for (let i = 0; i < queued.length; i++) {
    const entry = queued[i] as OpenResponse;
    if (entry.response === response) {
      queued.splice(i, 1);
      return entry.span;
    }
  }
  return undefined;
}

/** The open span of a response, found through its connection; undefined once it ended or when not traced. */
function openSpanOf(response: ServerResponse): Span | undefined {
  const socket = (response.req?.socket ?? response.socket) as (Socket & ConnHolder) | null | undefined;
  const conn = socket?.[kConn];
  if (conn === undefined) return undefined;
  if (conn.openResponse === response) return conn.openSpan;
  const queued = conn.queued;
  if (queued !== undefined) for (const entry of queued) if (entry.response === response) return entry.span;
  return undefined;
}

function onServerSocketClose(this: Socket & ConnHolder): void {
  const conn = this[kConn];
  if (conn === undefined) return;
  const response = conn.openResponse;
  const span = conn.openSpan;
  const queued = conn.queued;
  conn.openResponse = undefined;
  conn.openSpan = undefined;
  conn.queued = undefined;
  if (response !== undefined && span !== undefined) closeServerResponse(response, span);
  if (queued !== undefined) for (const entry of queued) closeServerResponse(entry.response, entry.span);
}

function closeServerResponse(response: ServerResponse, span: Span): void {
  try {
    endServerSpan(response.req, response, span, !response.writableFinished);
  } catch (err) {
    diag.error('traceloom http instrumentation: response close', err);
  }
}

function clientAddress(headers: IncomingHttpHeaders, socket: Socket, conn: ConnState): string | undefined {
  // Semconv: client.address is the original client when a proxy says so, else the peer.
  const forwarded = headers['x-forwarded-for'];
  if (typeof forwarded === 'string' && forwarded.length > 0) {
    const comma = forwarded.indexOf(',');
    return (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
  }
  let peer = conn.remoteAddress;
  if (peer === undefined) {
    peer = socket.remoteAddress;
    conn.remoteAddress = peer;
  }
  return peer;
}

/** The context ignored requests run in (contexts are immutable, so one serves all). */
const SUPPRESSED_ROOT = suppressTracing(ROOT_CONTEXT);

/** Server spans started and not yet ended, so that disable() can leave the finish channel on until they end. */
let openServerSpans = 0;
/** Whether the finish channel stays subscribed after disable() for spans still in flight. */
let finishLingering = false;

function onServerRequestStart(message: unknown): void {
  const cfg = active;
  if (cfg === undefined) return;
  try {
    const { request, response, socket } = message as ServerRequestStartMessage;
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (cfg.ignoreIncoming !== undefined && matches(cfg.ignoreIncoming, path)) {
      // Also resets whatever context the connection's async resource still carries from its previous request.
      enterContext(SUPPRESSED_ROOT);
      return;
    }
    // request.headers, not a scan of rawHeaders: Node 20 builds the headers
    // object right after this message anyway (it checks `headers.host` for
    // HTTP/1.1), so reading it here costs nothing extra overall.
    const headers = request.headers;
    // ROOT, not context.active(): an incoming request starts new work, and the
    // active context here is whatever the connection's previous request left.
    // Extracted onto our LinkedContext root: the span's context below is then
    // one small object instead of the API's Map copy and three closures.
    const parent = propagation.extract(LinkedContext.ROOT, headers);
    const conn = connState(socket);
    // Attributes as a flat [key, value, ...] list: startSpanFlat sets them
    // without an intermediate object (undefined values are skipped).
    const rawMethod = request.method ?? 'GET';
    const known = knownMethod(rawMethod);
    let serverAddress: string | undefined;
    let serverPort: number | undefined;
    const host = headers.host;
    if (host !== undefined) {
      if (host !== conn.hostHeader) {
        conn.hostHeader = host;
        conn.hostAddress = host.length === 0 ? undefined : authorityHost(host);
        conn.hostPort = host.length === 0 ? undefined : authorityPort(host, conn.defaultPort);
      }
      serverAddress = conn.hostAddress;
      serverPort = conn.hostPort;
    } else {
      serverAddress = socket.localAddress;
      if (serverAddress !== undefined) serverPort = socket.localPort;
    }
    // One array literal, in the order the attributes were always set; the
    // tracer skips the pairs whose value is undefined.
    const flat: unknown[] = [
      'http.request.method',
      known ?? '_OTHER',
      'http.request.method_original',
      known === rawMethod ? undefined : rawMethod,
      'url.path',
      path,
      'url.query',
      q === -1 ? undefined : url.slice(q + 1),
      'url.scheme',
      conn.scheme,
      'server.address',
      serverAddress,
      'server.port',
      serverPort,
      'network.protocol.version',
      request.httpVersion,
      'client.address',
      clientAddress(headers, socket, conn),
      'user_agent.original',
      headers['user-agent'],
    ];
    if (cfg.serverRequestHeaders !== undefined) {
      const captured: Attributes = {};
      captureNodeHeaders(captured, cfg.serverRequestHeaders, headers);
      for (const key in captured) flat.push(key, captured[key]);
    }
    const name = known ?? 'HTTP';

    const span =
      cfg.ownTracer !== undefined
        ? cfg.ownTracer.startSpanFlat(name, SpanKind.SERVER, flat, parent)
        : cfg.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: flatToAttributes(flat) }, parent);
    openServerSpans++;
    trackOpen(conn, response, span);
    // Node publishes http.server.request.start synchronously just before it
    // emits 'request', so entering the context here makes the user's handler
    // (and everything it schedules) run with the server span active.
    enterContext(trace.setSpan(parent, span));
    if (cfg.requestHook !== undefined && span.isRecording()) {
      callRequestHook(span, { kind: 'server', request, response });
    }
  } catch (err) {
    diag.error('traceloom http instrumentation: incoming request', err);
  }
}

/** Ends a server span once: its response was already untracked from the connection. */
function endServerSpan(
  request: IncomingMessage | undefined,
  response: ServerResponse,
  span: Span,
  aborted: boolean,
): void {
  serverSpanEnded();
  const status = response.statusCode;
  if (span.isRecording()) {
    if (!aborted || response.headersSent) span.setAttribute('http.response.status_code', status);
    const capture = active?.serverResponseHeaders;
    if (capture !== undefined) {
      const attrs: Attributes = {};
      captureNodeHeaders(attrs, capture, response.getHeaders());
      span.setAttributes(attrs);
    }
    if (request !== undefined && active?.responseHook !== undefined) {
      callResponseHook(span, { kind: 'server', request, response });
    }
  }
  if (aborted) {
    span.setAttribute('error.type', 'aborted');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response finished' });
  } else if (status >= 500) {
    // Semconv: 4xx is the client's fault, so only 5xx marks a server span as an error.
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

function serverSpanEnded(): void {
  openServerSpans--;
  if (openServerSpans <= 0) {
    openServerSpans = 0;
    if (finishLingering) {
      finishLingering = false;
      diagnosticsChannel.unsubscribe(SERVER_FINISH_CHANNEL, onServerResponseFinish);
    }
  }
}

function onServerResponseFinish(message: unknown): void {
  try {
    const { request, response, socket } = message as ServerRequestStartMessage;
    const conn = (socket as (Socket & ConnHolder) | undefined)?.[kConn];
    const span = conn === undefined ? undefined : untrackOpen(conn, response);
    if (span !== undefined) endServerSpan(request, response, span, false);
  } catch (err) {
    diag.error('traceloom http instrumentation: response finish', err);
  }
}

/**
 * Tells the server span of an incoming request which route matched, for
 * routers and frameworks: sets `http.route` and renames the span
 * `{METHOD} {route}` as semconv asks. Does nothing for requests that are not
 * traced or whose span already ended.
 */
export function setHttpRoute(response: ServerResponse, route: string): void {
  const span = openSpanOf(response);
  if (span === undefined || !span.isRecording()) return;
  span.setAttribute('http.route', route);
  span.updateName(`${knownMethod(response.req?.method ?? 'GET') ?? 'HTTP'} ${route}`);
}

// ------------------------------------------------------------ node client

const clientRequestSetter: TextMapSetter<ClientRequest> = {
  set(carrier, key, value) {
    carrier.setHeader(key, value);
  },
};

/** Starts the client span of a node:http request once, injecting context when headers are still writable. */
function startClientSpan(request: ClientRequest): void {
  const cfg = active;
  if (cfg === undefined) return;
  const holder = request as ClientRequest & SpanHolder;
  if (holder[kSpan] !== undefined) return;
  const parent = context.active();
  if (isTracingSuppressed(parent)) {
    holder[kSpan] = null;
    return;
  }
  const protocol = request.protocol || 'http:';
  const hostHeader = request.getHeader('host');
  let authority = typeof hostHeader === 'string' ? hostHeader : request.host;
  // A bare IPv6 host (no Host header to copy brackets from) needs brackets in a URL.
  if (authority.indexOf(':') !== authority.lastIndexOf(':') && authority.charCodeAt(0) !== 91) {
    authority = `[${authority}]`;
  }
  const urlFull = `${protocol}//${authority}${request.path}`;
  if (matches(cfg.ignoreOutgoing, urlFull)) {
    holder[kSpan] = null;
    return;
  }
  const attributes: Attributes = {};
  const name = setMethod(attributes, request.method);
  attributes['url.full'] = urlFull;
  setServerAddress(attributes, authority, protocol === 'https:' ? 443 : 80);
  if (cfg.clientRequestHeaders !== undefined) {
    captureNodeHeaders(attributes, cfg.clientRequestHeaders, request.getHeaders());
  }
  const span = cfg.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  holder[kSpan] = span;
  if (!request.headersSent) {
    propagation.inject(trace.setSpan(parent, span), request, clientRequestSetter);
  }
  if (cfg.requestHook !== undefined && span.isRecording()) callRequestHook(span, { kind: 'client', request });
}

function onClientRequestCreatedOrStart(message: unknown): void {
  try {
    startClientSpan((message as { request: ClientRequest }).request);
  } catch (err) {
    diag.error('traceloom http instrumentation: outgoing request', err);
  }
}

function onClientResponseFinish(message: unknown): void {
  try {
    const { request, response } = message as { request: ClientRequest & SpanHolder; response: IncomingMessage };
    const span = request[kSpan];
    if (span === undefined || span === null) return;
    request[kSpan] = null;
    const status = response.statusCode ?? 0;
    if (span.isRecording()) {
      span.setAttribute('http.response.status_code', status);
      span.setAttribute('network.protocol.version', response.httpVersion);
      const capture = active?.clientResponseHeaders;
      if (capture !== undefined) {
        const attrs: Attributes = {};
        captureNodeHeaders(attrs, capture, response.headers);
        span.setAttributes(attrs);
      }
      if (active?.responseHook !== undefined) callResponseHook(span, { kind: 'client', request, response });
    }
    setClientStatus(span, status);
    // This channel fires on the response head; the span covers the body too.
    (response as IncomingMessage & SpanHolder)[kSpan] = span;
    response.on('end', onClientResponseDone);
    response.on('close', onClientResponseDone);
  } catch (err) {
    diag.error('traceloom http instrumentation: outgoing response', err);
  }
}

function onClientResponseDone(this: IncomingMessage): void {
  const holder = this as IncomingMessage & SpanHolder;
  const span = holder[kSpan];
  if (span === undefined || span === null) return;
  holder[kSpan] = null;
  try {
    if (!this.complete) {
      span.setAttribute('error.type', 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'response closed before its body was complete' });
    }
  } finally {
    span.end();
  }
}

function onClientRequestError(message: unknown): void {
  try {
    const { request, error } = message as { request: ClientRequest & SpanHolder; error: unknown };
    const span = request[kSpan];
    if (span === undefined || span === null) return;
    request[kSpan] = null;
    failSpan(span, error);
    span.end();
  } catch (err) {
    diag.error('traceloom http instrumentation: outgoing request error', err);
  }
}

// ------------------------------------------------------------------ fetch

const undiciSetter: TextMapSetter<UndiciRequest> = {
  set(carrier, key, value) {
    // undici can only append: a header the caller already set (a proxy
    // forwarding incoming headers, say) must not be doubled into an invalid list.
    if (!hasRawHeader(carrier.headers, key)) carrier.addHeader(key, value);
  },
};

function onUndiciCreate(message: unknown): void {
  const cfg = active;
  if (cfg === undefined) return;
  try {
    const request = (message as { request: UndiciRequest & SpanHolder }).request;
    // undici publishes this in the caller's async context (fetch's promise chain keeps it).
    const parent = context.active();
    if (isTracingSuppressed(parent)) return;
    const rawOrigin = request.origin;
    let origin = typeof rawOrigin === 'string' ? rawOrigin : rawOrigin.origin;
    if (origin.endsWith('/')) origin = origin.slice(0, -1);
    const urlFull = origin + request.path;
    if (matches(cfg.ignoreOutgoing, urlFull)) return;
    const slashes = origin.indexOf('//');
    const attributes: Attributes = {};
    const name = setMethod(attributes, request.method);
    attributes['url.full'] = urlFull;
    setServerAddress(attributes, origin.slice(slashes + 2), origin.startsWith('https:') ? 443 : 80);
    if (cfg.clientRequestHeaders !== undefined) {
      captureRawHeaders(attributes, cfg.clientRequestHeaders, request.headers);
    }
    const span = cfg.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    request[kSpan] = span;
    propagation.inject(trace.setSpan(parent, span), request, undiciSetter);
    if (cfg.requestHook !== undefined && span.isRecording()) callRequestHook(span, { kind: 'fetch', request });
  } catch (err) {
    diag.error('traceloom http instrumentation: fetch request', err);
  }
}

function onUndiciHeaders(message: unknown): void {
  try {
    const { request, response } = message as { request: UndiciRequest & SpanHolder; response: UndiciResponse };
    const span = request[kSpan];
    if (span === undefined || span === null) return;
    const status = response.statusCode;
    if (span.isRecording()) {
      span.setAttribute('http.response.status_code', status);
      const capture = active?.clientResponseHeaders;
      if (capture !== undefined) {
        const attrs: Attributes = {};
        captureRawHeaders(attrs, capture, response.headers);
        span.setAttributes(attrs);
      }
      if (active?.responseHook !== undefined) callResponseHook(span, { kind: 'fetch', request, response });
    }
    setClientStatus(span, status);
  } catch (err) {
    diag.error('traceloom http instrumentation: fetch response', err);
  }
}

function onUndiciTrailers(message: unknown): void {
  try {
    const request = (message as { request: UndiciRequest & SpanHolder }).request;
    const span = request[kSpan];
    if (span === undefined || span === null) return;
    request[kSpan] = null;
    span.end();
  } catch (err) {
    diag.error('traceloom http instrumentation: fetch end', err);
  }
}

function onUndiciError(message: unknown): void {
  try {
    const { request, error } = message as { request: UndiciRequest & SpanHolder; error: unknown };
    const span = request[kSpan];
    if (span === undefined || span === null) return;
    request[kSpan] = null;
    failSpan(span, error);
    span.end();
  } catch (err) {
    diag.error('traceloom http instrumentation: fetch error', err);
  }
}

// ------------------------------------------------------- agent fallback

type AddRequest = (this: http.Agent, req: ClientRequest, options: unknown, port?: unknown, local?: unknown) => unknown;
const agentProto = http.Agent.prototype as unknown as { addRequest: AddRequest };
let originalAddRequest: AddRequest | undefined;

const wrappedAddRequest: AddRequest = function addRequest(this: http.Agent, req, options, port, local) {
  if (active !== undefined && originalAddRequest !== undefined) {
    try {
      startClientSpan(req);
    } catch (err) {
      diag.error('traceloom http instrumentation: outgoing request (agent)', err);
    }
  }
  // originalAddRequest is set whenever this wrapper can be reached.
  return (originalAddRequest ?? agentProto.addRequest).call(this, req, options, port, local);
};

function installAgentFallback(): void {
  if (agentProto.addRequest === wrappedAddRequest) return;
  originalAddRequest = agentProto.addRequest;
  agentProto.addRequest = wrappedAddRequest;
}

function removeAgentFallback(): void {
  // If someone wrapped on top of us, leave the chain alone: the wrapper
  // passes straight through while `active` is undefined.
  if (agentProto.addRequest === wrappedAddRequest && originalAddRequest !== undefined) {
    agentProto.addRequest = originalAddRequest;
  }
}

let createdChannelProbe: boolean | undefined;

/**
 * Whether this Node publishes `http.client.request.created` (before headers
 * are rendered). Found by building one request that never connects (its
 * agent ignores it), once per process.
 */
function hasClientCreatedChannel(): boolean {
  if (createdChannelProbe !== undefined) return createdChannelProbe;
  let seen = false;
  const probe = (): void => {
    seen = true;
  };
  const channel = diagnosticsChannel.channel('http.client.request.created');
  channel.subscribe(probe);
  try {
    const inertAgent = { addRequest() {} } as unknown as http.Agent;
    new http.ClientRequest({ host: '127.0.0.1', port: 9, agent: inertAgent });
  } catch (err) {
    diag.debug('traceloom http instrumentation: created-channel probe failed', err);
  } finally {
    channel.unsubscribe(probe);
  }
  createdChannelProbe = seen;
  return seen;
}

// ------------------------------------------------------------- public API

const SERVER_FINISH_CHANNEL = 'http.server.response.finish';

const SUBSCRIPTIONS: readonly (readonly [string, (message: unknown) => void])[] = [
  ['http.server.request.start', onServerRequestStart],
  [SERVER_FINISH_CHANNEL, onServerResponseFinish],
  ['http.client.request.created', onClientRequestCreatedOrStart],
  ['http.client.request.start', onClientRequestCreatedOrStart],
  ['http.client.response.finish', onClientResponseFinish],
  ['http.client.request.error', onClientRequestError],
  ['undici:request:create', onUndiciCreate],
  ['undici:request:headers', onUndiciHeaders],
  ['undici:request:trailers', onUndiciTrailers],
  ['undici:request:error', onUndiciError],
];

/**
 * Turns on automatic tracing of incoming and outgoing `node:http` / `https`
 * requests and of `fetch` (undici), through `diagnostics_channel`. Spans are
 * made with `trace.getTracer('@traceloom/sdk/instrumentation-http')` of the
 * global provider and context travels through the global propagator, so it
 * works on any OpenTelemetry provider. Only one instrumentation is active at
 * a time: enabling again replaces the previous one.
 */
export function enableHttpInstrumentation(options: HttpInstrumentationOptions = {}): HttpInstrumentationHandle {
  activeHandle?.disable();
  const capture = options.captureHeaders ?? {};
  const tracer = trace.getTracer(HTTP_INSTRUMENTATION_NAME, HTTP_INSTRUMENTATION_VERSION);
  const resolved: Resolved = {
    tracer,
    ownTracer: tracer instanceof SdkTracer ? tracer : undefined,
    ignoreIncoming: resolveMatcher(options.ignoreIncomingPaths, false),
    ignoreOutgoing: resolveMatcher(options.ignoreOutgoingUrls, true),
    requestHook: options.requestHook,
    responseHook: options.responseHook,
    serverRequestHeaders: resolveHeaderCapture(capture.serverRequest, 'http.request.header.'),
    serverResponseHeaders: resolveHeaderCapture(capture.serverResponse, 'http.response.header.'),
    clientRequestHeaders: resolveHeaderCapture(capture.clientRequest, 'http.request.header.'),
    clientResponseHeaders: resolveHeaderCapture(capture.clientResponse, 'http.response.header.'),
  };
  const useAgentFallback = options.agentPropagationFallback !== false && !hasClientCreatedChannel();
  active = resolved;
  if (finishLingering) {
    // Still subscribed from a disabled instrumentation's spans in flight; subscribing again would double it.
    finishLingering = false;
    diagnosticsChannel.unsubscribe(SERVER_FINISH_CHANNEL, onServerResponseFinish);
  }
  for (const [name, fn] of SUBSCRIPTIONS) diagnosticsChannel.subscribe(name, fn);
  if (useAgentFallback) installAgentFallback();

  let enabled = true;
  const handle: HttpInstrumentationHandle = {
    disable() {
      if (!enabled) return;
      enabled = false;
      if (activeHandle !== handle) return;
      for (const [name, fn] of SUBSCRIPTIONS) {
        // Server spans in flight end on http.server.response.finish, so that
        // channel stays on until the last of them ends (serverSpanEnded).
        if (fn === onServerResponseFinish && openServerSpans > 0) finishLingering = true;
        else diagnosticsChannel.unsubscribe(name, fn);
      }
      removeAgentFallback();
      active = undefined;
      activeHandle = undefined;
    },
    get enabled() {
      return enabled;
    },
  };
  activeHandle = handle;
  return handle;
}
