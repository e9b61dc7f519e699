/**
 * The analytics stage end to end through the API server: crafted traces go
 * through the stage into a store, and the native, Jaeger and Prometheus
 * routes answer hand-computed figures in their documented shapes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Resource, type Span, SpanBatch, SpanKind, StatusCode } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { mountJaegerAnalytics } from '../api/jaeger.ts';
import { type RunningApiServer, startApiServer } from '../api/native.ts';
import { mountPrometheus, renderPrometheus } from '../api/prometheus.ts';
import { QueryEngine } from '../query/engine.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { AnalyticsStage } from './analytics.ts';
import { RELATIVE_ERROR_BOUND } from './histogram.ts';

const MS = 1_000_000n;
const MIN = 60_000n * MS;
/** 2026-01-01T00:00:00Z. */
const T = 1_767_225_600_000_000_000n;
const NOW = T + 10n * MIN;
const T_MS = Number(T / MS);

const frontend = testResource('frontend');
const checkout = testResource('checkout');
const tid = (n: number) => n.toString(16).padStart(32, '0');
const sid = (n: number) => n.toString(16).padStart(16, '0');

function sp(
  trace: number,
  id: number,
  parent: number,
  r: Resource,
  name: string,
  kind: number,
  start: bigint,
  ms: number,
  error = false,
  attrs: Span['attributes'] = [],
): Span {
  return testSpan({
    traceId: tid(trace),
    spanId: sid(id),
    parentSpanId: parent === 0 ? '' : sid(parent),
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(ms * 1000) * 1000n,
    status: error ? { code: StatusCode.ERROR, message: 'x' } : { code: StatusCode.OK, message: '' },
    resource: r,
    attributes: attrs,
  });
}

/**
 * 100 traces: user -> frontend (root SERVER "GET /") -> CLIENT -> checkout SERVER "POST /order"
 * (i ms, an error when i is a multiple of 10) -> checkout CLIENT "INSERT" (db.system postgresql).
 * Trace i starts in minute i % 5, so each of the minutes 0-4 holds 20 checkout calls, and
 * minute 0 holds all 10 errors.
 */
function traces(): Span[] {
  const out: Span[] = [];
  for (let i = 1; i <= 100; i++) {
    const start = T + BigInt(i % 5) * MIN + BigInt(i) * MS;
    out.push(
      sp(i, 1, 0, frontend, 'GET /', SpanKind.SERVER, start, i + 3),
      sp(i, 2, 1, frontend, 'POST /order', SpanKind.CLIENT, start, i + 2),
      sp(i, 3, 2, checkout, 'POST /order', SpanKind.SERVER, start, i, i % 10 === 0),
      sp(i, 4, 3, checkout, 'INSERT', SpanKind.CLIENT, start, 0.5, false, [{ key: 'db.system', value: 'postgresql' }]),
    );
  }
  return out;
}

let api: RunningApiServer;
let stage: AnalyticsStage;
const base = () => `http://localhost:${api.port}`;

interface Point {
  timeMillis: number;
  calls: number;
  errors: number;
  rate: number;
  errorRatio: number | null;
  p50Ms: number;
  p95Ms: number | null;
  p99Ms: number;
}
interface RedBody {
  stepSeconds: number;
  series: { operation?: string; points: Point[] }[];
}
interface OpsBody {
  operations: {
    operation: string;
    calls: number;
    errors: number;
    errorRatio: number;
    spanKindName: string;
    rate: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
  }[];
}
interface ServicesBody {
  services: { service: string; calls: number; errors: number; callsPerStep: number[] }[];
}
interface GraphBody {
  nodes: { name: string; type: string }[];
  edges: {
    client: string;
    server: string;
    connectionType: string;
    requests: number;
    failed: number;
    serverP50Ms: number;
    clientP50Ms: number;
  }[];
}
interface DepsBody {
  data: { parent: string; child: string; callCount: number }[];
  total: number;
}
interface FamilyBody {
  name: string;
  type: string;
  help: string;
  metrics: {
    labels: { name: string; value: string }[];
    metricPoints: { timestamp: string; gaugeValue: { doubleValue: number } }[];
  }[];
}
interface ErrBody {
  error: { code: string; parameter: string };
  data: null;
  errors: { code: number; msg: string }[];
}

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const r = await fetch(base() + path);
  return { status: r.status, body: (await r.json()) as T };
}

const close = (got: number | null | undefined, want: number) =>
  assert.ok(
    typeof got === 'number' && Math.abs(got - want) / want <= RELATIVE_ERROR_BOUND + 1e-3,
    `${got} is not within the bound of ${want}`,
  );

before(async () => {
  const store = new MemoryStore();
  stage = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
  const spans = traces();
  // Three requests, cut anywhere: pairs are matched across batches.
  stage.accept(SpanBatch.from(spans.slice(0, 137)), 1n);
  stage.accept(SpanBatch.from(spans.slice(137, 290)), 2n);
  stage.accept(SpanBatch.from(spans.slice(290)), 3n);
  await stage.close();
  const engine = new QueryEngine(store);
  const now = () => NOW;
  api = await startApiServer(engine, {
    port: 0,
    now,
    mounts: [(h) => mountJaegerAnalytics(h, engine, { now }), (h) => mountPrometheus(h, { analytics: stage })],
  });
});

after(async () => {
  await api.close();
});

describe('native analytics API', () => {
  it('RED series of a service: calls, errors and percentiles per step', async () => {
    const { status, body } = await getJson<RedBody>(
      `/api/v1/metrics/services/checkout?spanKind=server&start=${T}&end=${T + 5n * MIN - 1n}&step=1m`,
    );
    assert.equal(status, 200);
    assert.equal(body.stepSeconds, 60);
    assert.equal(body.series.length, 1);
    const points = body.series[0]?.points ?? [];
    assert.deepEqual(
      points.map((p) => [p.timeMillis - T_MS, p.calls, p.errors]),
      [
        [0, 20, 10],
        [60_000, 20, 0],
        [120_000, 20, 0],
        [180_000, 20, 0],
        [240_000, 20, 0],
      ],
    );
    assert.equal(points[0]?.rate, 20 / 60);
    assert.equal(points[0]?.errorRatio, 0.5);
    // Minute 0 holds i = 5, 10, ..., 100: p50 = 50 ms, p95 = 95, p99 = 100 (nearest rank of 20).
    close(points[0]?.p50Ms, 50);
    close(points[0]?.p95Ms, 95);
    close(points[0]?.p99Ms, 100);
  });

  it('zero-fills steps without spans and groups by operation', async () => {
    const { body } = await getJson<RedBody>(
      `/api/v1/metrics/services/checkout?start=${T}&end=${T + 9n * MIN}&step=5m&groupByOperation=true`,
    );
    assert.deepEqual(
      body.series.map((s) => [s.operation, s.points.map((p) => p.calls)]),
      [
        ['INSERT', [100, 0]],
        ['POST /order', [100, 0]],
      ],
    );
    assert.equal(body.series[0]?.points[1]?.p95Ms, null);
  });

  it('operations table with rate, error ratio and percentiles', async () => {
    const { body } = await getJson<OpsBody>(
      `/api/v1/metrics/services/checkout/operations?start=${T}&end=${T + 5n * MIN}`,
    );
    const order = body.operations.find((o) => o.operation === 'POST /order')!;
    assert.deepEqual([order.calls, order.errors, order.errorRatio, order.spanKindName], [100, 10, 0.1, 'server']);
    assert.equal(order.rate, 100 / 300);
    close(order.p50Ms, 50);
    close(order.p95Ms, 95);
    close(order.p99Ms, 99);
    assert.deepEqual(
      body.operations.map((o) => o.operation),
      ['INSERT', 'POST /order'],
    );
  });

  it('services overview counts entry spans', async () => {
    const { body } = await getJson<ServicesBody>(
      `/api/v1/metrics/services?start=${T}&end=${T + 5n * MIN - 1n}&step=1m`,
    );
    assert.deepEqual(
      body.services.map((s) => [s.service, s.calls, s.errors, s.callsPerStep]),
      [
        ['checkout', 100, 10, [20, 20, 20, 20, 20]],
        ['frontend', 100, 0, [20, 20, 20, 20, 20]],
      ],
    );
  });

  it('service graph with per-edge figures', async () => {
    const { body } = await getJson<GraphBody>(`/api/v1/service-graph?start=${T}&end=${T + 5n * MIN}`);
    assert.deepEqual(
      body.edges.map((e) => [e.client, e.server, e.connectionType, e.requests, e.failed]),
      [
        ['checkout', 'postgresql', 'database', 100, 0],
        ['frontend', 'checkout', '', 100, 10],
        ['user', 'frontend', '', 100, 0],
      ],
    );
    assert.deepEqual(body.nodes, [
      { name: 'checkout', type: 'service' },
      { name: 'frontend', type: 'service' },
      { name: 'postgresql', type: 'database' },
      { name: 'user', type: 'user' },
    ]);
    const fc = body.edges[1]!;
    close(fc.serverP50Ms, 50);
    close(fc.clientP50Ms, 52);
  });

  it('answers bad parameters with 400 and the parameter', async () => {
    const { status, body } = await getJson<ErrBody>('/api/v1/metrics/services/checkout?step=90s');
    assert.equal(status, 400);
    assert.equal(body.error.code, 'TL_ERR_BAD_PARAMETER');
    assert.equal(body.error.parameter, 'step');
    const typo = await getJson<ErrBody>('/api/v1/service-graph?lookbak=1h');
    assert.equal(typo.body.error.parameter, 'lookbak');
  });
});

describe('Jaeger analytics API', () => {
  it('/api/dependencies in Jaeger’s shape', async () => {
    const { status, body } = await getJson<DepsBody>(`/api/dependencies?endTs=${T_MS + 600_000}&lookback=600000`);
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ['data', 'errors', 'limit', 'offset', 'total']);
    assert.deepEqual(
      [...body.data].sort((a, b) => (a.parent < b.parent ? -1 : 1)),
      [
        { parent: 'checkout', child: 'postgresql', callCount: 100 },
        { parent: 'frontend', child: 'checkout', callCount: 100 },
      ],
    );
    assert.equal(body.total, 2);
  });

  it('/api/metrics/calls: a MetricFamily of call rates over ratePer', async () => {
    const { body } = await getJson<FamilyBody>(
      `/api/metrics/calls?service=checkout&endTs=${T_MS + 300_000}&lookback=300000&step=60000&ratePer=60000&spanKind=SPAN_KIND_SERVER`,
    );
    assert.equal(body.name, 'service_call_rate');
    assert.equal(body.type, 'GAUGE');
    assert.equal(typeof body.help, 'string');
    assert.equal(body.metrics.length, 1);
    const m = body.metrics[0]!;
    assert.deepEqual(m.labels, [{ name: 'service_name', value: 'checkout' }]);
    // The point at T+1m covers minute 0 (20 calls over 60 s).
    assert.deepEqual(
      m.metricPoints.map((p) => [p.timestamp, p.gaugeValue.doubleValue]),
      [
        ['2026-01-01T00:00:00Z', 0],
        ['2026-01-01T00:01:00Z', 20 / 60],
        ['2026-01-01T00:02:00Z', 20 / 60],
        ['2026-01-01T00:03:00Z', 20 / 60],
        ['2026-01-01T00:04:00Z', 20 / 60],
        ['2026-01-01T00:05:00Z', 20 / 60],
      ],
    );
  });

  it('/api/metrics/latencies and /errors grouped by operation', async () => {
    const q = `service=checkout&groupByOperation=true&endTs=${T_MS + 300_000}&lookback=300000&step=60000&ratePer=300000`;
    const lat = (await getJson<FamilyBody>(`/api/metrics/latencies?quantile=0.95&${q}`)).body;
    assert.equal(lat.name, 'service_operation_latencies');
    assert.equal(lat.metrics.length, 1, 'only SERVER spans by default');
    assert.deepEqual(lat.metrics[0]!.labels, [
      { name: 'service_name', value: 'checkout' },
      { name: 'operation', value: 'POST /order' },
    ]);
    const last = lat.metrics[0]!.metricPoints.at(-1)!;
    assert.equal(last.timestamp, '2026-01-01T00:05:00Z');
    close(last.gaugeValue.doubleValue, 95);
    const err = (await getJson<FamilyBody>(`/api/metrics/errors?${q}`)).body;
    assert.equal(err.name, 'service_operation_error_rate');
    assert.equal(err.metrics[0]!.metricPoints.at(-1)!.gaugeValue.doubleValue, 0.1);
  });

  it('refuses a missing service or quantile in Jaeger’s error shape', async () => {
    const a = await getJson<ErrBody>('/api/metrics/calls');
    assert.equal(a.status, 400);
    assert.equal(a.body.data, null);
    assert.equal(a.body.errors[0]!.code, 400);
    assert.match(a.body.errors[0]!.msg, /service/);
    const b = await getJson<ErrBody>('/api/metrics/latencies?service=checkout&quantile=2');
    assert.equal(b.status, 400);
    assert.match(b.body.errors[0]!.msg, /quantile/);
  });
});

/**
 * A strict reader of the Prometheus text format 0.0.4: every line is a
 * comment (`# HELP` / `# TYPE` before the family's samples) or a sample
 * with a valid name, well-quoted labels and a float; histogram families have
 * cumulative `_bucket`s ending in `le="+Inf"` equal to `_count`.
 */
function parsePrometheus(text: string) {
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      assert.ok(m, `comment: ${line}`);
      assert.match(m[2]!, NAME);
      if (m[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!), line);
        assert.ok(!types.has(m[2]!), `one TYPE per family: ${m[2]}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `sample: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[3] ?? '';
    while (rest !== '') {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest);
      assert.ok(l, `labels: ${rest}`);
      assert.ok(!(l[1]! in labels), 'no repeated label');
      labels[l[1]!] = l[2]!.replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const v = m[4]!;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v);
    assert.ok(v === 'NaN' || !Number.isNaN(value), `value: ${v}`);
    const family = [...types.keys()].find(
      (f) => m[1] === f || (types.get(f) === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(m[1]!)?.[1] === f),
    );
    assert.ok(family !== undefined, `sample after its TYPE: ${m[1]}`);
    const key = `${m[1]}{${JSON.stringify(labels)}}`;
    assert.ok(!seen.has(key), `no duplicate series: ${key}`);
    seen.add(key);
    samples.push({ name: m[1]!, labels, value });
  }
  // Histograms: cumulative buckets, +Inf equal to _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, number[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, 'a bucket has le');
      const k = JSON.stringify(rest);
      series.set(k, [...(series.get(k) ?? []), s.value]);
    }
    for (const [k, counts] of series) {
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! >= counts[i - 1]!, 'buckets are cumulative');
      const count = samples.find((x) => x.name === `${family}_count` && JSON.stringify(x.labels) === k);
      assert.equal(count?.value, counts.at(-1), `${family} +Inf equals _count`);
    }
  }
  return { types, samples };
}

describe('/metrics', () => {
  it('is valid Prometheus text with Tempo’s metric names and the crafted figures', async () => {
    const r = await fetch(`${base()}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const { types, samples } = parsePrometheus(await r.text());
    for (const [name, type] of [
      ['traces_spanmetrics_calls_total', 'counter'],
      ['traces_spanmetrics_latency', 'histogram'],
      ['traces_service_graph_request_total', 'counter'],
      ['traces_service_graph_request_failed_total', 'counter'],
      ['traces_service_graph_request_server_seconds', 'histogram'],
      ['traces_service_graph_request_client_seconds', 'histogram'],
    ]) {
      assert.equal(types.get(name as string), type, name);
    }
    const calls = samples.filter(
      (s) =>
        s.name === 'traces_spanmetrics_calls_total' &&
        s.labels.service === 'checkout' &&
        s.labels.span_name === 'POST /order',
    );
    assert.deepEqual(calls.map((s) => [s.labels.span_kind, s.labels.status_code, s.value]).sort(), [
      ['SPAN_KIND_SERVER', 'STATUS_CODE_ERROR', 10],
      ['SPAN_KIND_SERVER', 'STATUS_CODE_OK', 90],
    ]);
    const failed = samples.find(
      (s) =>
        s.name === 'traces_service_graph_request_failed_total' &&
        s.labels.client === 'frontend' &&
        s.labels.server === 'checkout',
    );
    assert.equal(failed?.value, 10);
    // 100 server-side durations of 1..100 ms: 1 (1 ms) up to 2 ms, 3 up to 4 ms, ..., 64 up to 64 ms (within the bound).
    const le = (b: string) =>
      samples.find(
        (s) =>
          s.name === 'traces_service_graph_request_server_seconds_bucket' &&
          s.labels.client === 'frontend' &&
          s.labels.le === b,
      )?.value;
    assert.equal(le('0.032'), 32);
    assert.equal(le('+Inf'), 100);
    assert.equal(samples.find((s) => s.name === 'traceloom_service_graph_unpaired_spans_total')?.value, 0);
  });

  it('reports Traceloom’s health figures', () => {
    const text = renderPrometheus({
      health: () => ({
        spansReceived: new Map([
          ['otlp-http', 120],
          ['zipkin', 3],
        ]),
        spansRejected: new Map([['otlp-http', 2]]),
        requestsRefused: 1,
        walUnreleasedBytes: 4096,
        walUnreleasedRecords: 7,
        storagePendingSpans: 250,
      }),
    });
    const { types, samples } = parsePrometheus(text);
    const value = (name: string, protocol?: string) =>
      samples.find((s) => s.name === name && (protocol === undefined || s.labels.protocol === protocol))?.value;
    assert.equal(types.get('traceloom_spans_received_total'), 'counter');
    assert.equal(value('traceloom_spans_received_total', 'otlp-http'), 120);
    assert.equal(value('traceloom_spans_received_total', 'zipkin'), 3);
    assert.equal(value('traceloom_spans_rejected_total', 'otlp-http'), 2);
    assert.equal(value('traceloom_requests_refused_total'), 1);
    assert.equal(types.get('traceloom_wal_unreleased_bytes'), 'gauge');
    assert.equal(value('traceloom_wal_unreleased_bytes'), 4096);
    assert.equal(value('traceloom_wal_unreleased_records'), 7);
    assert.equal(value('traceloom_storage_pending_spans'), 250);
  });

  it('escapes label values', () => {
    const store = new MemoryStore();
    return (async () => {
      const st = await AnalyticsStage.open(store, { flushIntervalMs: 0 });
      st.accept(SpanBatch.from([sp(1, 1, 0, testResource('we"ird\\svc\nx'), 'GET /a"b', SpanKind.SERVER, T, 1)]), 1n);
      await st.close();
      const { samples } = parsePrometheus(renderPrometheus({ analytics: st }));
      const s = samples.find((x) => x.name === 'traces_spanmetrics_calls_total');
      assert.equal(s?.labels.service, 'we"ird\\svc\nx');
      assert.equal(s?.labels.span_name, 'GET /a"b');
    })();
  });
});
