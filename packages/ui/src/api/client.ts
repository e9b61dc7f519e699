/**
 * Typed helpers for the native API (`/api/v1/...`, documented in
 * packages/server/openapi.yaml). Every failure becomes an {@link ApiError}
 * carrying the server's code, message and hint, so pages can show the user
 * what was wrong and what to do.
 */

/** A service with its span and error counts inside one trace. */
export interface ServiceCount {
  readonly service: string;
  readonly spanCount: number;
  readonly errorCount: number;
}

/** One search result (`TraceSummary`). */
export interface TraceSummary {
  readonly traceId: string;
  /** '' while the root span has not arrived. */
  readonly rootServiceName: string;
  readonly rootName: string;
  readonly startUnixNano: string;
  readonly startTime: string;
  readonly startMicros: number;
  readonly durationNano: string;
  readonly durationMicros: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly services: readonly ServiceCount[];
}

/** The answer of `GET /api/v1/search`. */
export interface SearchResult {
  readonly traces: readonly TraceSummary[];
  readonly total: number;
  readonly nextCursor?: string;
}

export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** A span name of a service with its kind. */
export interface Operation {
  readonly name: string;
  readonly spanKind: number;
  readonly spanKindName: SpanKindName;
}

/** The answer of the summaries routes. */
export interface SummariesResult {
  readonly traces: readonly TraceSummary[];
  readonly missing: readonly string[];
}

/** A failed API call: the server's error, or a network failure (`status` 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The server's stable code (`TL_ERR_BAD_PARAMETER`), or `TL_UI_NETWORK` / `TL_UI_BAD_RESPONSE`. */
  readonly code: string;
  /** What to do about it. */
  readonly hint: string;
  /** The query parameter at fault, for bad-parameter errors. */
  readonly parameter: string | undefined;

  constructor(status: number, code: string, message: string, hint: string, parameter?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
    this.parameter = parameter;
  }
}

/** Turns an error body (`{"error":{code,message,hint,parameter?}}`) or anything else into an {@link ApiError}. */
function errorFrom(status: number, text: string, path: string): ApiError {
  try {
    const body = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; hint?: unknown; parameter?: unknown };
    };
    const e = body.error;
    if (e !== undefined && typeof e.code === 'string' && typeof e.message === 'string') {
      return new ApiError(
        status,
        e.code,
        e.message,
        typeof e.hint === 'string' ? e.hint : '',
        typeof e.parameter === 'string' ? e.parameter : undefined,
      );
    }
  } catch {
    // Not JSON: a proxy's page or a server that is not Traceloom.
  }
  return new ApiError(
    status,
    'TL_UI_BAD_RESPONSE',
    `${path} answered HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`,
    'Check that this page is served by a Traceloom server and that it is running.',
  );
}

/** GET `path` (with `params` as query string) and parse the JSON answer. */
export async function getJson<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const url = params === undefined || params.toString() === '' ? path : `${path}?${params}`;
  return requestJson<T>(url, { signal: signal ?? null });
}

async function requestJson<T>(url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(
      0,
      'TL_UI_NETWORK',
      `could not reach the Traceloom server (${e instanceof Error ? e.message : String(e)})`,
      'Check that the server is running (npm start) and reload the page.',
    );
  }
  const text = await res.text();
  if (!res.ok) throw errorFrom(res.status, text, url.split('?')[0] ?? url);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'TL_UI_BAD_RESPONSE', `${url} answered something that is not JSON`, '');
  }
}

/** Service names, sorted. */
export async function fetchServices(signal?: AbortSignal): Promise<string[]> {
  return (await getJson<{ services: string[] }>('/api/v1/services', undefined, signal)).services;
}

/** Span names of a service with their kinds. */
export async function fetchOperations(service: string, signal?: AbortSignal): Promise<Operation[]> {
  const path = `/api/v1/services/${encodeURIComponent(service)}/operations`;
  return (await getJson<{ operations: Operation[] }>(path, undefined, signal)).operations;
}

/** Which attributes an autocomplete lists. */
export interface AttributeListQuery {
  readonly scope: 'span' | 'resource';
  readonly service?: string;
  readonly prefix?: string;
  readonly limit?: number;
}

function listParams(q: AttributeListQuery): URLSearchParams {
  const p = new URLSearchParams({ scope: q.scope });
  if (q.service !== undefined && q.service !== '') p.set('service', q.service);
  if (q.prefix !== undefined && q.prefix !== '') p.set('prefix', q.prefix);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  return p;
}

/** Attribute keys seen (autocomplete). */
export async function fetchAttributeKeys(q: AttributeListQuery, signal?: AbortSignal): Promise<string[]> {
  return (await getJson<{ keys: string[] }>('/api/v1/attributes/keys', listParams(q), signal)).keys;
}

/** Values seen for one attribute key, as text (autocomplete). */
export async function fetchAttributeValues(
  key: string,
  q: AttributeListQuery,
  signal?: AbortSignal,
): Promise<string[]> {
  const p = listParams(q);
  p.set('key', key);
  return (await getJson<{ values: string[] }>('/api/v1/attributes/values', p, signal)).values;
}

/** Runs a search; `params` are the search route's query parameters. */
export function searchTraces(params: URLSearchParams, signal?: AbortSignal): Promise<SearchResult> {
  return getJson<SearchResult>('/api/v1/search', params, signal);
}

/** The URL that downloads a trace as OTLP/JSON. */
export function traceDownloadUrl(traceId: string): string {
  return `/api/v1/traces/${encodeURIComponent(traceId)}?format=otlp`;
}

/** Summaries of known traces, in the order asked; unknown ids come back in `missing`. */
export function fetchSummaries(traceIds: readonly string[], signal?: AbortSignal): Promise<SummariesResult> {
  return requestJson<SummariesResult>('/api/v1/summaries', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ traceIds }),
    signal: signal ?? null,
  });
}

/** True for an aborted fetch, which callers ignore. */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}
