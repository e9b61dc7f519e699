/**
 * The native HTTP API (`/api/v1/...`), the one Traceloom's UI uses. Thin: it
 * parses parameters, calls the {@link QueryEngine} and writes the JSON views
 * of `query/trace-json.ts`. `packages/server/openapi.yaml` documents every
 * route; a test keeps the two in step.
 *
 * Errors are JSON `{"error":{"code","message","hint","parameter"?}}` with the
 * `x-traceloom-error-code` header. Every malformed or unknown parameter is a
 * 400 `TL_ERR_BAD_PARAMETER` that names it: a typo such as `minduration`
 * must not silently widen a search.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeOtlpTracesJson } from '@traceloom/wire';
import { errorInfo, ServerError, ServerErrorCode } from '../errors.ts';
import {
  type GraphEdge,
  MAX_LIST_LIMIT,
  MAX_SEARCH_LIMIT,
  normalizeTraceId,
  nowUnixNano,
  type OperationStats,
  parseDurationNano,
  parseSpanKind,
  parseTimeHint,
  parseTimeNano,
  type QueryEngine,
  type RedSeries,
  type ServiceOverview,
  spanKindName,
} from '../query/engine.ts';
import { summaryToJson, traceToCompactJson, traceToJson } from '../query/trace-json.ts';
import {
  type CorsOptions,
  type ErrorWriter,
  HttpServer,
  type RouteContext,
  readBody,
  sendBytes,
} from '../receivers/http-server.ts';
import type { Logger } from '../receivers/logger.ts';
import {
  type AttributeCondition,
  type AttributeListOptions,
  type AttributeOperator,
  type AttributeScope,
  QueryInputError,
  type SearchQuery,
  type TimeRange,
} from '../storage/types.ts';
import { mountUiStatic } from './ui-static.ts';

/** The port of the UI and the query APIs (Jaeger's query port). */
export const DEFAULT_API_PORT = 16686;

/** Default look-back of a search without `start`: one hour. */
export const DEFAULT_LOOKBACK = '1h';

/** Default page size of a search. */
export const DEFAULT_SEARCH_LIMIT = 20;

/** Default number of entries of an attribute key or value list. */
export const DEFAULT_LIST_LIMIT = 100;

/** Cap on a `POST /api/v1/summaries` body. */
const SUMMARIES_MAX_BODY = 1024 * 1024;

/** Every route of the native API, as registered (`:name` for path parameters). */
export const NATIVE_API_ROUTES: readonly { readonly method: 'GET' | 'POST'; readonly path: string }[] = [
  { method: 'GET', path: '/api/v1/traces/:traceId' },
  { method: 'GET', path: '/api/v1/search' },
  { method: 'GET', path: '/api/v1/services' },
  { method: 'GET', path: '/api/v1/services/:service/operations' },
  { method: 'GET', path: '/api/v1/attributes/keys' },
  { method: 'GET', path: '/api/v1/attributes/values' },
  { method: 'GET', path: '/api/v1/summaries' },
  { method: 'POST', path: '/api/v1/summaries' },
  { method: 'GET', path: '/api/v1/metrics/services' },
  { method: 'GET', path: '/api/v1/metrics/services/:service' },
  { method: 'GET', path: '/api/v1/metrics/services/:service/operations' },
  { method: 'GET', path: '/api/v1/service-graph' },
];

/**
 * A 400 for one query parameter. Carries the parameter's name, which the
 * JSON error body repeats so that a UI can point at the field.
 */
export class ApiParameterError extends ServerError {
  /** The parameter at fault (`minDuration`, `traceId`, `body`, ...). */
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(ServerErrorCode.BAD_PARAMETER, message);
    this.parameter = parameter;
  }
}

/** The JSON error body of the native API. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly hint: string;
    readonly parameter?: string;
  };
}

const API_NOT_FOUND_HINT =
  'The native API lives under /api/v1/ (traces/{traceId}, search, services, attributes/keys, attributes/values, summaries); see packages/server/openapi.yaml.';

/** Writes `{"error":{"code","message","hint","parameter"?}}`. */
export const apiErrorWriter: ErrorWriter = (_req, res, err) => {
  const hint =
    err.code === ServerErrorCode.NOT_FOUND || err.code === ServerErrorCode.METHOD_NOT_ALLOWED
      ? API_NOT_FOUND_HINT
      : errorInfo(err.code).hint;
  const body: ApiErrorBody = {
    error: {
      code: err.code,
      message: err.message,
      hint,
      ...(err instanceof ApiParameterError ? { parameter: err.parameter } : {}),
    },
  };
  sendBytes(res, err.status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(body)));
};

/** Options of {@link mountNativeApi}. */
export interface NativeApiOptions {
  /** The clock that `now-1h` and the default search range are relative to. @default the system clock */
  readonly now?: () => bigint;
}

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => Promise<void>;

/**
 * Adds the native API routes to `http` (the server on the UI port, which the
 * Jaeger query API shares). Each route answers its failures with
 * {@link apiErrorWriter}.
 */
export function mountNativeApi(http: HttpServer, engine: QueryEngine, options: NativeApiOptions = {}): void {
  const now = options.now ?? nowUnixNano;
  const handlers: Record<string, Handler> = {
    'GET /api/v1/traces/:traceId': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['format', 'start', 'end', 'maxDetailedSpans']);
      const format = p.oneOf('format', ['json', 'otlp', 'compact']) ?? 'json';
      const hint = parseTimeHint(p.one('start'), p.one('end'), now());
      const maxDetailed = p.integer('maxDetailedSpans', 0, 1_000_000_000);
      if (maxDetailed !== undefined && format !== 'compact') {
        throw new ApiParameterError('maxDetailedSpans', 'maxDetailedSpans goes with format=compact');
      }
      const traceId = ctx.params.traceId ?? '';
      // A trace larger than maxDetailedSpans comes without attributes, events and links
      // (`partial: true`): its tree and timing arrive in about half the time, and a UI asks for
      // the rest afterwards. The span count comes from the trace's summary.
      let details = true;
      if (maxDetailed !== undefined) {
        const [summary] = await engine.summaries([traceId], 'traceId');
        details = summary === undefined || summary.spanCount <= maxDetailed;
      }
      const found = await engine.trace(traceId, hint, 'traceId', { details });
      if (found === undefined) {
        throw new ServerError(ServerErrorCode.TRACE_NOT_FOUND, `trace ${traceId} was not found`);
      }
      if (format === 'otlp') {
        const body = Buffer.from(encodeOtlpTracesJson(found.trace.nodes.map((n) => n.span)));
        res.setHeader('content-disposition', `attachment; filename="trace-${found.trace.traceId}.json"`);
        sendBytes(res, 200, 'application/json', body);
        return;
      }
      // The compact view keeps the UI's first paint of 100,000-span traces fast (see TraceCompactJson).
      sendJson(res, format === 'compact' ? traceToCompactJson(found, { partial: !details }) : traceToJson(found));
    },
    'GET /api/v1/search': async (_req, res, ctx) => {
      const query = parseSearchQuery(new Params(ctx.search, SEARCH_PARAMETERS), now());
      const result = await engine.search(query);
      sendJson(res, {
        traces: result.traces.map(summaryToJson),
        total: result.total,
        ...(result.nextCursor === undefined ? {} : { nextCursor: result.nextCursor }),
      });
    },
    'GET /api/v1/services': async (_req, res, ctx) => {
      noParameters(ctx.search);
      sendJson(res, { services: await engine.services() });
    },
    'GET /api/v1/services/:service/operations': async (_req, res, ctx) => {
      noParameters(ctx.search);
      const ops = await engine.operations(ctx.params.service ?? '');
      sendJson(res, {
        operations: ops.map((o) => ({ name: o.name, spanKind: o.spanKind, spanKindName: spanKindName(o.spanKind) })),
      });
    },
    'GET /api/v1/attributes/keys': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['scope', 'service', 'prefix', 'limit']);
      const scope = p.oneOf('scope', ['span', 'resource']) ?? 'span';
      sendJson(res, { keys: await engine.attributeKeys(scope, listOptions(p)) });
    },
    'GET /api/v1/attributes/values': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['scope', 'key', 'service', 'prefix', 'limit']);
      const scope = p.oneOf('scope', ['span', 'resource']) ?? 'span';
      const key = p.one('key');
      if (key === undefined || key === '') throw new ApiParameterError('key', 'the attribute key is required');
      sendJson(res, { values: await engine.attributeValues(scope, key, listOptions(p)) });
    },
    'GET /api/v1/summaries': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['traceId']);
      // `traceId=a&traceId=b` and `traceId=a,b` both work.
      const ids = p.all('traceId').flatMap((v) => v.split(','));
      if (ids.length === 0) throw new ApiParameterError('traceId', 'name at least one trace id: ?traceId=<id>');
      await sendSummaries(res, engine, ids, 'traceId');
    },
    'POST /api/v1/summaries': async (req, res, ctx) => {
      noParameters(ctx.search);
      const body = await readBody(req, Math.min(ctx.maxBodyBytes, SUMMARIES_MAX_BODY));
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new ApiParameterError('body', 'the body is not JSON: send {"traceIds":["<id>", ...]}');
      }
      const ids =
        typeof parsed === 'object' && parsed !== null ? (parsed as { traceIds?: unknown }).traceIds : undefined;
      if (!Array.isArray(ids) || !ids.every((x): x is string => typeof x === 'string')) {
        throw new ApiParameterError('traceIds', 'the body must be {"traceIds":["<id>", ...]} with string ids');
      }
      await sendSummaries(res, engine, ids, 'traceIds');
    },
    // Analytics (span metrics and the service graph); see analyticsRange and the JSON views below.
    'GET /api/v1/metrics/services': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['start', 'end', 'lookback', 'step', 'spanKind']);
      const range = analyticsRange(p, now());
      const kinds = p.all('spanKind').map((k) => parseSpanKind(k, 'spanKind'));
      const step = analyticsStep(p, range);
      const rows = await engine.servicesOverview(range, step, kinds.length > 0 ? kinds : undefined);
      sendJson(res, { ...rangeJson(range), stepSeconds: step, services: rows.map(serviceOverviewJson) });
    },
    'GET /api/v1/metrics/services/:service': async (_req, res, ctx) => {
      const p = new Params(ctx.search, [
        'start',
        'end',
        'lookback',
        'step',
        'operation',
        'spanKind',
        'groupByOperation',
      ]);
      const range = analyticsRange(p, now());
      const kinds = p.all('spanKind').map((k) => parseSpanKind(k, 'spanKind'));
      const operation = nonEmpty(p.one('operation'));
      const step = analyticsStep(p, range);
      const series = await engine.red({
        service: ctx.params.service ?? '',
        range,
        stepSeconds: step,
        ...(operation === undefined ? {} : { operation }),
        ...(kinds.length === 0 ? {} : { spanKinds: kinds }),
        groupByOperation: p.boolean('groupByOperation') ?? false,
      });
      sendJson(res, {
        service: ctx.params.service,
        ...rangeJson(range),
        stepSeconds: step,
        series: series.map(redSeriesJson),
      });
    },
    'GET /api/v1/metrics/services/:service/operations': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['start', 'end', 'lookback', 'spanKind']);
      const range = analyticsRange(p, now());
      const kinds = p.all('spanKind').map((k) => parseSpanKind(k, 'spanKind'));
      const rows = await engine.operationStats(ctx.params.service ?? '', range, kinds.length > 0 ? kinds : undefined);
      sendJson(res, { service: ctx.params.service, ...rangeJson(range), operations: rows.map(operationStatsJson) });
    },
    'GET /api/v1/service-graph': async (_req, res, ctx) => {
      const p = new Params(ctx.search, ['start', 'end', 'lookback']);
      const range = analyticsRange(p, now());
      const graph = await engine.serviceGraph(range);
      sendJson(res, { ...rangeJson(range), nodes: graph.nodes, edges: graph.edges.map(graphEdgeJson) });
    },
  };
  for (const { method, path } of NATIVE_API_ROUTES) {
    const handler = handlers[`${method} ${path}`];
    if (handler === undefined) throw new Error(`native API: no handler for ${method} ${path}`);
    http.route(method, path, withParameterErrors(handler), { errorWriter: apiErrorWriter });
  }
}

/** Options of {@link startApiServer}. */
export interface ApiServerOptions extends NativeApiOptions {
  /** @default 'localhost' */
  readonly host?: string;
  /** 0 picks a free port. @default 16686 */
  readonly port?: number;
  /** Browsers on other origins may read the API (a UI served elsewhere, Grafana). @default any origin */
  readonly cors?: CorsOptions | false;
  /** @default silent */
  readonly logger?: Logger;
  /** Other API families to add to this server (Jaeger, `/metrics`), before the UI's catch-all. */
  readonly mounts?: readonly ((http: HttpServer) => void)[];
  /** The built web UI folder to serve at `/` (see `ui-static.ts`). @default no UI */
  readonly uiDir?: string;
}

/** A running API server. */
export interface RunningApiServer {
  /** The bound port. */
  readonly port: number;
  /** The server, for other API families (Jaeger, the UI) to add routes to. */
  readonly http: HttpServer;
  /** Stops the server; in-flight requests get a grace period. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server with the native API on `port` (16686 by default).
 *
 * @example
 * const api = await startApiServer(new QueryEngine(store), { port: 0 });
 * await fetch(`http://localhost:${api.port}/api/v1/services`);
 * await api.close();
 */
export async function startApiServer(engine: QueryEngine, options: ApiServerOptions = {}): Promise<RunningApiServer> {
  const http = new HttpServer({
    name: 'API',
    portFlag: '--api-port',
    portEnv: 'TRACELOOM_API_PORT',
    errorWriter: apiErrorWriter,
    cors: options.cors ?? { allowedOrigins: ['*'] },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  mountNativeApi(http, engine, options.now === undefined ? {} : { now: options.now });
  for (const mount of options.mounts ?? []) mount(http);
  if (options.uiDir !== undefined) mountUiStatic(http, { dir: options.uiDir });
  const port = await http.listen(options.host ?? 'localhost', options.port ?? DEFAULT_API_PORT);
  return { port, http, close: () => http.close() };
}

// ---------------------------------------------------------------------------
// Handlers' helpers

/** Turns the engine's and the store's {@link QueryInputError} into a 400 that names the parameter. */
function withParameterErrors(handler: Handler): Handler {
  return async (req, res, ctx) => {
    try {
      await handler(req, res, ctx);
    } catch (e) {
      if (e instanceof QueryInputError) {
        // Stores name the search field; the API names the query parameter it came from.
        throw new ApiParameterError(e.parameter === 'attributes' ? 'attr' : e.parameter, e.message);
      }
      throw e;
    }
  };
}

function noParameters(search: string): void {
  new Params(search, []).all('');
}

function sendJson(res: ServerResponse, value: unknown): void {
  sendBytes(res, 200, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(value)));
}

async function sendSummaries(
  res: ServerResponse,
  engine: QueryEngine,
  ids: readonly string[],
  parameter: string,
): Promise<void> {
  const summaries = await engine.summaries(ids, parameter);
  const found = new Set(summaries.map((s) => s.traceId));
  const missing = [...new Set(ids.map((id) => normalizeTraceId(id, parameter)))].filter((id) => !found.has(id));
  sendJson(res, { traces: summaries.map(summaryToJson), missing });
}

function listOptions(p: Params): AttributeListOptions {
  const service = p.one('service');
  const prefix = p.one('prefix');
  return {
    ...(service === undefined || service === '' ? {} : { service }),
    ...(prefix === undefined || prefix === '' ? {} : { prefix }),
    limit: p.integer('limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_LIST_LIMIT,
  };
}

/**
 * The query string of one request. Refuses parameters the route does not
 * know, and repeats of parameters that are not repeatable.
 */
class Params {
  readonly #values = new Map<string, string[]>();

  constructor(search: string, allowed: readonly string[]) {
    let parsed: URLSearchParams;
    try {
      parsed = new URLSearchParams(search);
    } catch {
      throw new ApiParameterError('query', 'the query string is malformed');
    }
    for (const [k, v] of parsed) {
      if (!allowed.includes(k)) {
        throw new ApiParameterError(
          k,
          allowed.length === 0
            ? `unknown parameter '${k}': this route takes no parameters`
            : `unknown parameter '${k}': this route takes ${allowed.join(', ')}`,
        );
      }
      const list = this.#values.get(k);
      if (list === undefined) this.#values.set(k, [v]);
      else list.push(v);
    }
  }

  /** Every value of a repeatable parameter. */
  all(name: string): string[] {
    return this.#values.get(name) ?? [];
  }

  /** The value of a parameter given at most once. */
  one(name: string): string | undefined {
    const list = this.#values.get(name);
    if (list === undefined) return undefined;
    if (list.length > 1) throw new ApiParameterError(name, `'${name}' is given ${list.length} times; give it once`);
    return list[0];
  }

  /** A value from a fixed set (case-insensitive); '' counts as absent. */
  oneOf<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.one(name)?.trim().toLowerCase();
    if (v === undefined || v === '') return undefined;
    if (!(choices as readonly string[]).includes(v)) {
      throw new ApiParameterError(name, `${name} must be one of ${choices.join(', ')}, got '${clip(v)}'`);
    }
    return v as T;
  }

  /** An integer in `[min, max]`; '' counts as absent. */
  integer(name: string, min: number, max: number): number | undefined {
    const v = this.one(name)?.trim();
    if (v === undefined || v === '') return undefined;
    const n = /^\d{1,9}$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= min && n <= max)) {
      throw new ApiParameterError(name, `${name} must be an integer from ${min} to ${max}, got '${clip(v)}'`);
    }
    return n;
  }

  /** `true` / `false` (also `1` / `0`); '' counts as absent. */
  boolean(name: string): boolean | undefined {
    const v = this.one(name)?.trim().toLowerCase();
    if (v === undefined || v === '') return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new ApiParameterError(name, `${name} must be true or false, got '${clip(v)}'`);
  }
}

// ---------------------------------------------------------------------------
// Search parameters

const SEARCH_PARAMETERS = [
  'service',
  'operation',
  'spanKind',
  'attr',
  'minDuration',
  'maxDuration',
  'errors',
  'start',
  'end',
  'lookback',
  'match',
  'sort',
  'limit',
  'cursor',
];

/**
 * A {@link SearchQuery} from the search route's parameters. The range is
 * `[start, end]`; `end` defaults to now and `start` to `end - lookback`
 * (`lookback` defaults to 1h and is ignored when `start` is given).
 */
function parseSearchQuery(p: Params, now: bigint): SearchQuery {
  const service = nonEmpty(p.one('service'));
  const operation = nonEmpty(p.one('operation'));
  const kindText = nonEmpty(p.one('spanKind'));
  const attributes = p.all('attr').map(parseAttributeCondition);
  const minText = nonEmpty(p.one('minDuration'));
  const maxText = nonEmpty(p.one('maxDuration'));
  const minDurationNano = minText === undefined ? undefined : parseDurationNano(minText, 'minDuration');
  const maxDurationNano = maxText === undefined ? undefined : parseDurationNano(maxText, 'maxDuration');
  if (minDurationNano !== undefined && maxDurationNano !== undefined && minDurationNano > maxDurationNano) {
    throw new ApiParameterError('maxDuration', `maxDuration (${maxText}) is smaller than minDuration (${minText})`);
  }
  const endText = nonEmpty(p.one('end'));
  const startText = nonEmpty(p.one('start'));
  const lookbackText = nonEmpty(p.one('lookback'));
  const lookback = parseDurationNano(lookbackText ?? DEFAULT_LOOKBACK, 'lookback');
  const endUnixNano = endText === undefined ? now : parseTimeNano(endText, 'end', now);
  let startUnixNano: bigint;
  if (startText !== undefined) startUnixNano = parseTimeNano(startText, 'start', now);
  else startUnixNano = endUnixNano > lookback ? endUnixNano - lookback : 0n;
  if (startUnixNano > endUnixNano) {
    throw new ApiParameterError('end', `end (${endText ?? 'now'}) is before start (${startText})`);
  }
  const errorsOnly = p.boolean('errors');
  const match = p.oneOf('match', ['span', 'trace']);
  const sort = p.oneOf('sort', ['recent', 'longest']);
  const cursor = nonEmpty(p.one('cursor'));
  return {
    range: { startUnixNano, endUnixNano },
    limit: p.integer('limit', 1, MAX_SEARCH_LIMIT) ?? DEFAULT_SEARCH_LIMIT,
    ...(service === undefined ? {} : { service }),
    ...(operation === undefined ? {} : { operation }),
    ...(kindText === undefined ? {} : { spanKind: parseSpanKind(kindText, 'spanKind') }),
    ...(attributes.length === 0 ? {} : { attributes }),
    ...(minDurationNano === undefined ? {} : { minDurationNano }),
    ...(maxDurationNano === undefined ? {} : { maxDurationNano }),
    ...(errorsOnly === true ? { errorsOnly } : {}),
    ...(match === undefined ? {} : { match }),
    ...(sort === undefined ? {} : { sort }),
    ...(cursor === undefined ? {} : { cursor }),
  };
}

/** Operators by length, so that `<=` is found before `<`. */
const TWO_CHAR_OPERATORS: readonly AttributeOperator[] = ['!=', '=~', '!~', '<=', '>='];
const ONE_CHAR_OPERATORS: readonly AttributeOperator[] = ['=', '<', '>'];
const NUMERIC_OPERATORS: ReadonlySet<AttributeOperator> = new Set(['<', '<=', '>', '>=']);

const ATTR_SYNTAX =
  'use attr=<key><op><value> with op one of = != =~ !~ < <= > >= (e.g. attr=http.route=/api/cart, attr=http.status_code>=500), or attr=exists:<key> / attr=!exists:<key>; prefix the key with resource. or span. to pick the scope';

/**
 * One `attr` parameter: `<key><op><value>`, `exists:<key>` or `!exists:<key>`.
 * The operator is the first of `= != =~ !~ < <= > >=` after the key, so a key
 * cannot contain `=`, `<` or `>` (nor `!` directly before `=` or `~`); the value
 * may contain anything. A `resource.` key prefix selects resource attributes,
 * `span.` span attributes; without either, both are searched.
 */
export function parseAttributeCondition(text: string): AttributeCondition {
  let op: AttributeOperator | undefined;
  let key: string;
  let value: string | undefined;
  if (text.startsWith('exists:') || text.startsWith('!exists:')) {
    op = text.startsWith('!') ? '!exists' : 'exists';
    key = text.slice(text.indexOf(':') + 1);
  } else {
    let at = -1;
    for (let i = 1; i < text.length && op === undefined; i++) {
      const two = text.slice(i, i + 2) as AttributeOperator;
      if (TWO_CHAR_OPERATORS.includes(two)) {
        op = two;
        at = i;
      } else if (ONE_CHAR_OPERATORS.includes(text[i] as AttributeOperator)) {
        op = text[i] as AttributeOperator;
        at = i;
      }
    }
    if (op === undefined) throw new ApiParameterError('attr', `'${clip(text)}' has no operator: ${ATTR_SYNTAX}`);
    key = text.slice(0, at);
    value = text.slice(at + op.length);
  }
  let scope: AttributeScope = 'any';
  if (key.startsWith('resource.')) {
    scope = 'resource';
    key = key.slice('resource.'.length);
  } else if (key.startsWith('span.')) {
    scope = 'span';
    key = key.slice('span.'.length);
  }
  if (key === '') throw new ApiParameterError('attr', `'${clip(text)}' has no attribute key: ${ATTR_SYNTAX}`);
  if (value === undefined) return { scope, key, op };
  if (NUMERIC_OPERATORS.has(op)) {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n)) {
      throw new ApiParameterError('attr', `'${clip(text)}': ${op} compares numbers, and '${clip(value)}' is not one`);
    }
    return { scope, key, op, value: n };
  }
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(value);
    } catch (e) {
      throw new ApiParameterError('attr', `'${clip(text)}': invalid regular expression (${(e as Error).message})`);
    }
  }
  return { scope, key, op, value };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// ---------------------------------------------------------------------------
// Analytics parameters and JSON views

/** Default step of RED series: the largest of 1 minute and a 300th of the range, in whole minutes. */
function analyticsStep(p: Params, range: TimeRange): number {
  const text = nonEmpty(p.one('step'));
  if (text !== undefined) return Number(parseDurationNano(text, 'step') / 1_000_000_000n);
  const seconds = Number(range.endUnixNano - range.startUnixNano) / 1e9;
  return Math.max(60, Math.ceil(seconds / 300 / 60) * 60);
}

/** `[start, end]` from `start`, `end` and `lookback` (default 1h), as search reads them. */
function analyticsRange(p: Params, now: bigint): TimeRange {
  const endText = nonEmpty(p.one('end'));
  const startText = nonEmpty(p.one('start'));
  const lookback = parseDurationNano(nonEmpty(p.one('lookback')) ?? DEFAULT_LOOKBACK, 'lookback');
  const endUnixNano = endText === undefined ? now : parseTimeNano(endText, 'end', now);
  const startUnixNano =
    startText !== undefined
      ? parseTimeNano(startText, 'start', now)
      : endUnixNano > lookback
        ? endUnixNano - lookback
        : 0n;
  if (startUnixNano > endUnixNano) throw new ApiParameterError('end', `end (${endText ?? 'now'}) is before start`);
  return { startUnixNano, endUnixNano };
}

const ms = (nano: number | null): number | null => (nano === null ? null : Math.round(nano / 1e3) / 1e3);

function rangeJson(range: TimeRange) {
  return { startUnixNano: String(range.startUnixNano), endUnixNano: String(range.endUnixNano) };
}

function redSeriesJson(s: RedSeries) {
  return {
    ...(s.operation === undefined ? {} : { operation: s.operation }),
    points: s.points.map((pt) => ({
      timeUnixNano: String(pt.timeUnixNano),
      timeMillis: Number(pt.timeUnixNano / 1_000_000n),
      calls: pt.calls,
      errors: pt.errors,
      rate: pt.rate,
      errorRatio: pt.errorRatio,
      p50Ms: ms(pt.p50Nano),
      p95Ms: ms(pt.p95Nano),
      p99Ms: ms(pt.p99Nano),
    })),
  };
}

function operationStatsJson(o: OperationStats) {
  return {
    operation: o.operation,
    spanKind: o.spanKind,
    spanKindName: spanKindName(o.spanKind),
    calls: o.calls,
    errors: o.errors,
    rate: o.rate,
    errorRatio: o.errorRatio,
    p50Ms: ms(o.p50Nano),
    p95Ms: ms(o.p95Nano),
    p99Ms: ms(o.p99Nano),
  };
}

function serviceOverviewJson(s: ServiceOverview) {
  return {
    service: s.service,
    calls: s.calls,
    errors: s.errors,
    rate: s.rate,
    errorRatio: s.errorRatio,
    p95Ms: ms(s.p95Nano),
    callsPerStep: s.callsPerStep,
  };
}

function graphEdgeJson(e: GraphEdge) {
  return {
    client: e.client,
    server: e.server,
    connectionType: e.connectionType,
    requests: e.requests,
    failed: e.failed,
    rate: e.rate,
    errorRatio: e.errorRatio,
    clientP50Ms: ms(e.clientP50Nano),
    clientP95Ms: ms(e.clientP95Nano),
    clientP99Ms: ms(e.clientP99Nano),
    serverP50Ms: ms(e.serverP50Nano),
    serverP95Ms: ms(e.serverP95Nano),
    serverP99Ms: ms(e.serverP99Nano),
  };
}
