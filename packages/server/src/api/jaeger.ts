/**
 * Jaeger's analytics routes on the API port, in Jaeger's exact shapes, so the
 * Jaeger UI's dependency graph and Monitor tab (and Grafana's Jaeger data
 * source) work against Traceloom:
 *
 * - `GET /api/dependencies?endTs=&lookback=` (milliseconds; lookback defaults
 *   to 24 h): `{"data":[{"parent","child","callCount"}],"total","limit","offset","errors"}`.
 *   Edges from the virtual `user` node are left out (Jaeger has none); edges
 *   to databases and external services (virtual nodes) are kept.
 * - `GET /api/metrics/{latencies,calls,errors}` with Jaeger's parameters:
 *   `service` (repeatable, required), `groupByOperation`, `quantile`
 *   (latencies), `endTs`, `lookback`, `step`, `ratePer` (milliseconds),
 *   `spanKind` (repeatable, `SPAN_KIND_SERVER` by default). The answer is
 *   `{"name","type":"GAUGE","help","metrics":[{"labels":[{"name","value"}],
 *   "metricPoints":[{"gaugeValue":{"doubleValue"},"timestamp"}]}]}`
 *   (OpenMetrics' MetricFamily as Jaeger marshals it). Latencies are in
 *   milliseconds, calls per second, errors a ratio of errors to calls.
 *
 * Differences, because span metrics are kept in 1-minute buckets: `step` and
 * `ratePer` are rounded up to whole minutes (Jaeger's default step is 5 s).
 * Points without data (no calls in the window) are left out, as Jaeger leaves
 * out Prometheus' NaN samples.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorInfo, type ServerError } from '../errors.ts';
import { histogramQuantile } from '../pipeline/histogram.ts';
import { nowUnixNano, parseSpanKind, type QueryEngine, type RedSeries } from '../query/engine.ts';
import { type ErrorWriter, type HttpServer, type RouteContext, sendBytes } from '../receivers/http-server.ts';
import { QueryInputError, type TimeRange } from '../storage/types.ts';
import { ApiParameterError } from './native.ts';

/** Every route this file registers. */
export const JAEGER_ANALYTICS_ROUTES = [
  '/api/dependencies',
  '/api/metrics/latencies',
  '/api/metrics/calls',
  '/api/metrics/errors',
] as const;

const MS_NS = 1_000_000n;
const DEFAULT_DEPENDENCY_LOOKBACK_MS = 24 * 3600 * 1000;
const DEFAULT_METRICS_LOOKBACK_MS = 3600 * 1000;
const DEFAULT_STEP_MS = 5000;
const DEFAULT_RATE_PER_MS = 600_000;

/** Jaeger's error body: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code","msg"}]}`. */
export const jaegerErrorWriter: ErrorWriter = (_req, res, err: ServerError) => {
  const msg = `${err.message}${err instanceof ApiParameterError ? ` (parameter ${err.parameter})` : ''}; ${errorInfo(err.code).hint}`;
  res.setHeader('x-traceloom-error-code', err.code);
  const body = { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: err.status, msg }] };
  sendBytes(res, err.status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(body)));
};

/** Options of {@link mountJaegerAnalytics}. */
export interface JaegerAnalyticsOptions {
  /** @default the system clock */
  readonly now?: () => bigint;
}

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => Promise<void>;

/** Adds Jaeger's `/api/dependencies` and `/api/metrics/*` routes to `http`. */
export function mountJaegerAnalytics(
  http: HttpServer,
  engine: QueryEngine,
  options: JaegerAnalyticsOptions = {},
): void {
  const now = options.now ?? nowUnixNano;
  const route = (path: string, handler: Handler) =>
    http.route('GET', path, withParameterErrors(handler), { errorWriter: jaegerErrorWriter });

  route('/api/dependencies', async (_req, res, ctx) => {
    const q = new URLSearchParams(ctx.search);
    const endMs = millis(q, 'endTs', Number(now() / MS_NS));
    const lookbackMs = millis(q, 'lookback', DEFAULT_DEPENDENCY_LOOKBACK_MS);
    const range = msRange(endMs, lookbackMs);
    const graph = await engine.serviceGraph(range);
    const counts = new Map<string, { parent: string; child: string; callCount: number }>();
    for (const e of graph.edges) {
      if (e.client === 'user') continue;
      const key = `${e.client}\u0000${e.server}`;
      const cur = counts.get(key);
      if (cur === undefined) counts.set(key, { parent: e.client, child: e.server, callCount: e.requests });
      else cur.callCount += e.requests;
    }
    const data = [...counts.values()];
    sendJson(res, { data, total: data.length, limit: 0, offset: 0, errors: null });
  });

  for (const metric of ['latencies', 'calls', 'errors'] as const) {
    route(`/api/metrics/${metric}`, async (_req, res, ctx) => {
      const q = new URLSearchParams(ctx.search);
      const services = q.getAll('service').filter((s) => s !== '');
      if (services.length === 0) throw new ApiParameterError('service', 'please provide at least one service name');
      const groupByOperation = bool(q, 'groupByOperation');
      let quantile = 0;
      if (metric === 'latencies') {
        const text = q.get('quantile') ?? '';
        quantile = Number(text);
        if (text === '' || !(quantile > 0 && quantile <= 1)) {
          throw new ApiParameterError('quantile', `quantile must be a number in (0, 1], got '${text.slice(0, 40)}'`);
        }
      }
      const endMs = millis(q, 'endTs', Number(now() / MS_NS));
      const lookbackMs = millis(q, 'lookback', DEFAULT_METRICS_LOOKBACK_MS);
      const stepSeconds = wholeMinutes(millis(q, 'step', DEFAULT_STEP_MS));
      const windowSeconds = wholeMinutes(millis(q, 'ratePer', DEFAULT_RATE_PER_MS));
      const kindTexts = q.getAll('spanKind');
      const spanKinds = kindTexts.length === 0 ? [2] : kindTexts.map((k) => parseSpanKind(k, 'spanKind'));
      const range = msRange(endMs, lookbackMs);
      const metrics: unknown[] = [];
      for (const service of services) {
        const series = await engine.red({ service, range, stepSeconds, windowSeconds, spanKinds, groupByOperation });
        for (const s of series) {
          if (groupByOperation && s.points.every((p) => p.calls === 0)) continue;
          metrics.push(metricJson(metric, s, quantile));
        }
      }
      const by = groupByOperation ? 'service_operation' : 'service';
      const family = {
        latencies: {
          name: `${by}_latencies`,
          help: `${quantile}th quantile latency, grouped by ${groupByOperation ? 'service & operation' : 'service'}`,
        },
        calls: {
          name: `${by}_call_rate`,
          help: `calls/sec, grouped by ${groupByOperation ? 'service & operation' : 'service'}`,
        },
        errors: {
          name: `${by}_error_rate`,
          help: `error rate, computed as a fraction of errors/sec over calls/sec, grouped by ${groupByOperation ? 'service & operation' : 'service'}`,
        },
      }[metric];
      sendJson(res, { name: family.name, type: 'GAUGE', help: family.help, metrics });
    });
  }
}

function metricJson(metric: 'latencies' | 'calls' | 'errors', s: RedSeries, quantile: number) {
  const labels = [{ name: 'service_name', value: s.service }];
  if (s.operation !== undefined) labels.push({ name: 'operation', value: s.operation });
  const metricPoints: { gaugeValue: { doubleValue: number }; timestamp: string }[] = [];
  for (const p of s.points) {
    let v: number | undefined;
    if (metric === 'calls') v = p.rate;
    else if (metric === 'errors') v = p.calls === 0 ? undefined : p.errors / p.calls;
    else {
      const ns = histogramQuantile(p.latency, quantile);
      v = ns === undefined ? undefined : ns / 1e6;
    }
    if (v === undefined) continue;
    metricPoints.push({
      gaugeValue: { doubleValue: v },
      timestamp: new Date(Number(p.timeUnixNano / MS_NS)).toISOString().replace('.000Z', 'Z'),
    });
  }
  return { labels, metricPoints };
}

function withParameterErrors(handler: Handler): Handler {
  return async (req, res, ctx) => {
    try {
      await handler(req, res, ctx);
    } catch (e) {
      if (e instanceof QueryInputError) throw new ApiParameterError(e.parameter, e.message);
      throw e;
    }
  };
}

function sendJson(res: ServerResponse, value: unknown): void {
  sendBytes(res, 200, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(value)));
}

/** A non-negative integer parameter in milliseconds (Jaeger's unit for these routes). */
function millis(q: URLSearchParams, name: string, fallback: number): number {
  const text = q.get(name);
  if (text === null || text === '') return fallback;
  if (!/^\d{1,15}$/.test(text)) {
    throw new ApiParameterError(name, `${name} must be an integer number of milliseconds, got '${text.slice(0, 40)}'`);
  }
  return Number(text);
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = (q.get(name) ?? '').toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'f') return false;
  if (v === 'true' || v === '1' || v === 't') return true;
  throw new ApiParameterError(name, `${name} must be true or false, got '${v.slice(0, 40)}'`);
}

/** Milliseconds rounded up to whole minutes, in seconds (span metrics are kept per minute). */
function wholeMinutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000)) * 60;
}

function msRange(endMs: number, lookbackMs: number): TimeRange {
  const end = BigInt(endMs) * MS_NS;
  const lookback = BigInt(lookbackMs) * MS_NS;
  return { startUnixNano: end > lookback ? end - lookback : 0n, endUnixNano: end };
}
