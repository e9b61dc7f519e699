import type { Attributes } from '@opentelemetry/api';

/**
 * Methods the HTTP semantic conventions treat as known. Anything else is
 * reported as `_OTHER` (with the original in `http.request.method_original`)
 * and the span is named `HTTP`, so a client sending random verbs cannot blow
 * up span-name cardinality.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** Writes `http.request.method` (and `_original` when unknown) and returns the span name. */
export function setMethod(attributes: Attributes, method: string | undefined): string {
  const m = method ?? 'GET';
  const known = knownMethod(m);
  attributes['http.request.method'] = known ?? '_OTHER';
  if (known !== m) attributes['http.request.method_original'] = m;
  return known ?? 'HTTP';
}

/**
 * The method as semconv reports it when it is a known one, as sent or
 * upper-cased (`get` gives `GET`); undefined for any other method, which is
 * reported as `_OTHER` with the span named `HTTP`.
 */
export function knownMethod(method: string): string | undefined {
  // A switch, not KNOWN_METHODS.has: the parser hands out the same interned
  // strings, so the usual case is a few pointer compares instead of a hash lookup.
  switch (method) {
    case 'GET':
    case 'POST':
    case 'PUT':
    case 'DELETE':
    case 'HEAD':
    case 'OPTIONS':
    case 'PATCH':
    case 'CONNECT':
    case 'TRACE':
      return method;
  }
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : undefined;
}

/**
 * Splits an authority (`host`, `host:port`, `[v6]`, `[v6]:port`) and writes
 * `server.address` / `server.port`; the port falls back to the scheme's
 * default, as semconv asks for server.port on every HTTP span.
 */
export function setServerAddress(attributes: Attributes, authority: string | undefined, defaultPort: number): void {
  if (authority === undefined || authority.length === 0) return;
  attributes['server.address'] = authorityHost(authority);
  attributes['server.port'] = authorityPort(authority, defaultPort);
}

/** The host of a non-empty authority (`host`, `host:port`, `[v6]`, `[v6]:port`, bare IPv6). */
export function authorityHost(authority: string): string {
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    return close === -1 ? authority : authority.slice(1, close);
  }
  const colon = authority.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  return colon !== -1 && authority.indexOf(':', colon + 1) === -1 ? authority.slice(0, colon) : authority;
}

/** The port of a non-empty authority, else the scheme's default. */
export function authorityPort(authority: string, defaultPort: number): number {
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    if (close !== -1 && authority.charCodeAt(close + 1) === 58 /* : */) {
      return parsePort(authority.slice(close + 2), defaultPort);
    }
    return defaultPort;
  }
  const colon = authority.indexOf(':');
  if (colon !== -1 && authority.indexOf(':', colon + 1) === -1)
    return parsePort(authority.slice(colon + 1), defaultPort);
  return defaultPort;
}

function parsePort(text: string, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}

/**
 * The `error.type` of a failed request: the Node error code (`ECONNREFUSED`,
 * `UND_ERR_SOCKET`) when there is one, else the error's class name; both are
 * low-cardinality as semconv requires.
 */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if (typeof cause === 'object' && cause !== null && typeof cause.code === 'string') return cause.code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return '_OTHER';
}

/** A header list resolved once at set-up: lower-case names and their attribute keys. */
export interface HeaderCapture {
  readonly names: readonly string[];
  readonly keys: readonly string[];
}

/** Precomputes `http.request.header.<name>` / `http.response.header.<name>` keys. */
export function resolveHeaderCapture(
  names: readonly string[] | undefined,
  prefix: 'http.request.header.' | 'http.response.header.',
): HeaderCapture | undefined {
  if (names === undefined || names.length === 0) return undefined;
  const lower = names.map((n) => n.toLowerCase());
  return { names: lower, keys: lower.map((n) => prefix + n) };
}

/**
 * Copies captured headers from a Node headers object (`IncomingMessage.headers`
 * or `getHeaders()`): the attribute value is a string array, as semconv asks,
 * so repeated headers keep every value.
 */
export function captureNodeHeaders(
  attributes: Attributes,
  capture: HeaderCapture,
  headers: Readonly<Record<string, string | string[] | number | undefined>>,
): void {
  for (let i = 0; i < capture.names.length; i++) {
    const value = headers[capture.names[i]!];
    if (value === undefined) continue;
    attributes[capture.keys[i]!] = Array.isArray(value) ? value.slice() : [String(value)];
  }
}

/**
 * Copies captured headers from undici's raw header list: a flat
 * `[name, value, name, value]` array of strings or Buffers (undici 6+), or
 * a `name: value\r\n` block (undici 5).
 */
export function captureRawHeaders(
  attributes: Attributes,
  capture: HeaderCapture,
  raw: readonly (string | Uint8Array)[] | string | undefined,
): void {
  if (raw === undefined) return;
  const found = new Map<string, string[]>();
  const add = (name: string, value: string): void => {
    const lower = name.trim().toLowerCase();
    if (!capture.names.includes(lower)) return;
    const list = found.get(lower);
    if (list === undefined) found.set(lower, [value.trim()]);
    else list.push(value.trim());
  };
  if (typeof raw === 'string') {
    for (const line of raw.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) add(line.slice(0, colon), line.slice(colon + 1));
    }
  } else {
    for (let i = 0; i + 1 < raw.length; i += 2) add(rawToString(raw[i]!), rawToString(raw[i + 1]!));
  }
  for (let i = 0; i < capture.names.length; i++) {
    const values = found.get(capture.names[i]!);
    if (values !== undefined) attributes[capture.keys[i]!] = values;
  }
}

/** Whether undici's raw request header list already holds `name` (lower-case). */
export function hasRawHeader(raw: readonly (string | Uint8Array)[] | string | undefined, name: string): boolean {
  if (raw === undefined) return false;
  if (typeof raw === 'string') {
    const lower = raw.toLowerCase();
    return lower.startsWith(`${name}:`) || lower.includes(`\n${name}:`);
  }
  for (let i = 0; i < raw.length; i += 2) {
    const h = raw[i]!;
    const text = typeof h === 'string' ? h : rawToString(h);
    if (text.length === name.length && text.toLowerCase() === name) return true;
  }
  return false;
}

function rawToString(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
}
