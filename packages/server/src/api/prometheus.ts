/**
 * `GET /metrics` on the API port: the span metrics and the service graph in
 * the Prometheus text format (0.0.4), under the names Tempo's metrics
 * generator and the OpenTelemetry Collector use, plus Traceloom's own health
 * figures.
 *
 * - `traces_spanmetrics_calls_total{service,span_name,span_kind,status_code}`
 *   and the `traces_spanmetrics_latency` histogram (seconds);
 * - `traces_service_graph_request_total{client,server,connection_type}`,
 *   `traces_service_graph_request_failed_total`, and the
 *   `traces_service_graph_request_server_seconds` /
 *   `traces_service_graph_request_client_seconds` histograms;
 * - `traceloom_*`: spans received and rejected per protocol, requests refused
 *   while full, write-ahead-log size, storage lag, operations folded into
 *   `__overflow__`, unpaired and dropped service-graph spans.
 *
 * Counters run from the server's start and advance at each analytics flush
 * (every 5 s). Histogram buckets are Tempo's defaults (2 ms doubling to
 * 16.384 s); a duration is placed by its log-linear bucket, so a count within
 * 1.1% of a bound may sit on its other side.
 */

import type { ServerResponse } from 'node:http';
import type { AnalyticsStage } from '../pipeline/analytics.ts';
import { cumulativeCounts, type HistogramData } from '../pipeline/histogram.ts';
import type { HttpServer } from '../receivers/http-server.ts';
import { sendBytes } from '../receivers/http-server.ts';

/** Histogram bounds in seconds (Tempo's defaults). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
];
const BOUNDS_NANO = LATENCY_BUCKETS_SECONDS.map((s) => s * 1e9);

/** Traceloom's own figures at one instant. */
export interface HealthFigures {
  /** Spans accepted, per protocol. */
  readonly spansReceived: ReadonlyMap<string, number>;
  /** Spans dropped for invalid ids, per protocol. */
  readonly spansRejected: ReadonlyMap<string, number>;
  /** Requests refused with 429 / RESOURCE_EXHAUSTED because storage or the log was full (their spans were dropped). */
  readonly requestsRefused: number;
  /** Bytes in the write-ahead log not yet released. */
  readonly walUnreleasedBytes: number;
  /** Log records not yet released (written but not yet committed by storage and analytics). */
  readonly walUnreleasedRecords: number;
  /** Spans handed to storage and not yet committed. */
  readonly storagePendingSpans: number;
}

/** What `/metrics` reports. */
export interface PrometheusSources {
  readonly analytics?: AnalyticsStage;
  readonly health?: () => HealthFigures;
}

const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** A label value escaped as the text format requires (backslash, double quote, line feed). */
function esc(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function labels(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}="${esc(v)}"`).join(',');
}

/** A float as the text format writes it. */
function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

class Exposition {
  readonly #lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.#lines.push(
      `# HELP ${name} ${help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}`,
      `# TYPE ${name} ${type}`,
    );
  }
  sample(name: string, l: string, value: number): void {
    this.#lines.push(`${name}${l === '' ? '' : `{${l}}`} ${num(value)}`);
  }
  histogram(name: string, l: string, h: HistogramData, sumNano: number): void {
    const cum = cumulativeCounts(h, BOUNDS_NANO);
    const sep = l === '' ? '' : ',';
    for (let k = 0; k < LATENCY_BUCKETS_SECONDS.length; k++) {
      this.sample(`${name}_bucket`, `${l}${sep}le="${LATENCY_BUCKETS_SECONDS[k]}"`, cum[k] as number);
    }
    this.sample(`${name}_bucket`, `${l}${sep}le="+Inf"`, cum[cum.length - 1] as number);
    this.sample(`${name}_sum`, l, sumNano / 1e9);
    this.sample(`${name}_count`, l, cum[cum.length - 1] as number);
  }
  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

/** The exposition text for `sources`. */
export function renderPrometheus(sources: PrometheusSources): string {
  const out = new Exposition();
  const a = sources.analytics;
  if (a !== undefined) {
    const { spans, edges } = a.cumulative();
    const spanList = [...spans.values()].map((p) => ({
      p,
      l: labels([
        ['service', p.service],
        ['span_name', p.operation],
        ['span_kind', KIND_NAMES[p.spanKind] ?? 'SPAN_KIND_UNSPECIFIED'],
        ['status_code', STATUS_NAMES[p.statusCode] ?? 'STATUS_CODE_UNSET'],
      ]),
    }));
    out.family(
      'traces_spanmetrics_calls_total',
      'counter',
      'Spans per service, span name, kind and status, counted before sampling.',
    );
    for (const { p, l } of spanList) out.sample('traces_spanmetrics_calls_total', l, p.calls);
    out.family('traces_spanmetrics_latency', 'histogram', 'Span durations in seconds.');
    for (const { p, l } of spanList) out.histogram('traces_spanmetrics_latency', l, p.latency, p.durationSumNano);

    const edgeList = [...edges.values()].map((e) => ({
      e,
      l: labels([
        ['client', e.client],
        ['server', e.server],
        ['connection_type', e.connectionType],
      ]),
    }));
    out.family('traces_service_graph_request_total', 'counter', 'Requests between two nodes of the service graph.');
    for (const { e, l } of edgeList) out.sample('traces_service_graph_request_total', l, e.requests);
    out.family(
      'traces_service_graph_request_failed_total',
      'counter',
      'Failed requests between two nodes of the service graph.',
    );
    for (const { e, l } of edgeList) out.sample('traces_service_graph_request_failed_total', l, e.failed);
    out.family('traces_service_graph_request_server_seconds', 'histogram', 'Request durations as the server saw them.');
    for (const { e, l } of edgeList) {
      out.histogram('traces_service_graph_request_server_seconds', l, e.serverLatency, e.serverDurationSumNano);
    }
    out.family('traces_service_graph_request_client_seconds', 'histogram', 'Request durations as the client saw them.');
    for (const { e, l } of edgeList) {
      out.histogram('traces_service_graph_request_client_seconds', l, e.clientLatency, e.clientDurationSumNano);
    }

    const st = a.stats;
    out.family(
      'traceloom_spanmetrics_overflow_spans_total',
      'counter',
      'Spans counted under __overflow__ because their service passed its cap on distinct operations.',
    );
    for (const [service, n] of st.overflow)
      out.sample('traceloom_spanmetrics_overflow_spans_total', labels([['service', service]]), n);
    out.family(
      'traceloom_service_graph_unpaired_spans_total',
      'counter',
      'Client or server spans that found no partner in the wait window.',
    );
    out.sample('traceloom_service_graph_unpaired_spans_total', '', st.graph.unpaired);
    out.family(
      'traceloom_service_graph_dropped_spans_total',
      'counter',
      'Spans expired early because the pairing window was full.',
    );
    out.sample('traceloom_service_graph_dropped_spans_total', '', st.graph.evicted);
    out.family(
      'traceloom_analytics_failed_flushes_total',
      'counter',
      'Metric flushes to storage that failed (retried from the write-ahead log at the next start).',
    );
    out.sample('traceloom_analytics_failed_flushes_total', '', st.failedFlushes);
  }
  const h = sources.health?.();
  if (h !== undefined) {
    out.family('traceloom_spans_received_total', 'counter', 'Spans accepted, per receiver protocol.');
    for (const [p, n] of h.spansReceived) out.sample('traceloom_spans_received_total', labels([['protocol', p]]), n);
    out.family('traceloom_spans_rejected_total', 'counter', 'Spans dropped for invalid ids, per receiver protocol.');
    for (const [p, n] of h.spansRejected) out.sample('traceloom_spans_rejected_total', labels([['protocol', p]]), n);
    out.family(
      'traceloom_requests_refused_total',
      'counter',
      'Requests refused (429 / RESOURCE_EXHAUSTED) while storage or the log was full.',
    );
    out.sample('traceloom_requests_refused_total', '', h.requestsRefused);
    out.family('traceloom_wal_unreleased_bytes', 'gauge', 'Bytes in the write-ahead log not yet released.');
    out.sample('traceloom_wal_unreleased_bytes', '', h.walUnreleasedBytes);
    out.family(
      'traceloom_wal_unreleased_records',
      'gauge',
      'Write-ahead-log records not yet committed by storage and analytics.',
    );
    out.sample('traceloom_wal_unreleased_records', '', h.walUnreleasedRecords);
    out.family(
      'traceloom_storage_pending_spans',
      'gauge',
      'Spans handed to storage and not yet committed (storage lag).',
    );
    out.sample('traceloom_storage_pending_spans', '', h.storagePendingSpans);
  }
  return out.text();
}

/** Adds `GET /metrics` to `http`. */
export function mountPrometheus(http: HttpServer, sources: PrometheusSources): void {
  http.route('GET', '/metrics', async (_req, res: ServerResponse) => {
    sendBytes(res, 200, 'text/plain; version=0.0.4; charset=utf-8', Buffer.from(renderPrometheus(sources)));
  });
}
