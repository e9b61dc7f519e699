/**
 * One service: request rate, error share and latency percentiles over time
 * (uPlot charts; a click on a chart opens the traces of that step in Search),
 * and a table of its operations. Span kinds default to the service's entry
 * spans (server and consumer), as the API does; the select shows its outgoing
 * calls (client, producer) or internal spans instead.
 */
import { type ReactNode, useMemo } from 'react';
import { Link, navigate, useLocation } from '../app/router.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import { serviceColor } from '../lib/colors.ts';
import { useSettings } from '../lib/settings.ts';
import { fetchOperations, fetchServiceRed, lookbackFrom, type RedPoint, type RedSeries } from './api.ts';
import { errorClass, formatMs, formatPercent, formatRate } from './format.ts';
import { RangePicker } from './RangePicker.tsx';
import { type ChartSeries, TimeSeriesChart } from './TimeSeriesChart.tsx';
import { useData } from './use-data.ts';
import './analytics.css';

const KIND_CHOICES: readonly { readonly value: string; readonly label: string; readonly kinds: string[] }[] = [
  { value: '', label: 'Entry spans (server, consumer)', kinds: ['server', 'consumer'] },
  { value: 'client', label: 'Outgoing calls (client, producer)', kinds: ['client', 'producer'] },
  { value: 'internal', label: 'Internal spans', kinds: ['internal'] },
];

/** The search page URL for the traces of `service` in [t, t + step). */
function tracesAt(service: string, unixSeconds: number, stepSeconds: number, extra: Record<string, string>): string {
  const p = new URLSearchParams({ service, ...extra });
  p.set('start', new Date(unixSeconds * 1000).toISOString());
  p.set('end', new Date((unixSeconds + stepSeconds) * 1000).toISOString());
  return `/search?${p}`;
}

function series(points: readonly RedPoint[], pick: (p: RedPoint) => number | null): (number | null)[] {
  return points.map(pick);
}

function Charts(props: { readonly red: RedSeries; readonly service: string; readonly utc: boolean }) {
  const { red, service, utc } = props;
  const points = red.series[0]?.points ?? [];
  const step = red.stepSeconds;
  const timestamps = useMemo(() => points.map((p) => p.timeMillis / 1000), [points]);
  const color = serviceColor(service);
  const rate = useMemo<ChartSeries[]>(
    () => [{ label: 'requests/s', color, values: series(points, (p) => p.rate), fill: true }],
    [points, color],
  );
  const errors = useMemo<ChartSeries[]>(
    () => [
      {
        label: 'error %',
        color: '#e15759',
        values: series(points, (p) => (p.errorRatio === null ? null : p.errorRatio * 100)),
        fill: true,
      },
    ],
    [points],
  );
  const latency = useMemo<ChartSeries[]>(
    () => [
      { label: 'p50', color: '#59a14f', values: series(points, (p) => p.p50Ms) },
      { label: 'p95', color: '#f28e2b', values: series(points, (p) => p.p95Ms) },
      { label: 'p99', color: '#e15759', values: series(points, (p) => p.p99Ms) },
    ],
    [points],
  );
  const open = (extra: Record<string, string>) => (t: number) => navigate(tracesAt(service, t, step, extra));
  return (
    <div className="an-charts">
      <section className="an-card">
        <h2>Requests</h2>
        <TimeSeriesChart
          title="requests per second"
          timestamps={timestamps}
          series={rate}
          format={formatRate}
          utc={utc}
          onPick={open({})}
        />
      </section>
      <section className="an-card">
        <h2>Errors</h2>
        <TimeSeriesChart
          title="error percentage"
          timestamps={timestamps}
          series={errors}
          format={(v) => (v === 0 ? '0%' : `${v.toFixed(v < 10 ? 1 : 0)}%`)}
          utc={utc}
          onPick={open({ errors: 'true' })}
        />
      </section>
      <section className="an-card an-wide">
        <h2>Latency</h2>
        <TimeSeriesChart
          title="latency percentiles"
          timestamps={timestamps}
          series={latency}
          format={formatMs}
          utc={utc}
          onPick={open({})}
        />
      </section>
      <p className="muted an-hint">Click a point on a chart to see the traces of that {step / 60}-minute step.</p>
    </div>
  );
}

export function ServiceView(props: { readonly service: string }) {
  const { service } = props;
  const loc = useLocation();
  const { timeZone } = useSettings();
  const lookback = lookbackFrom(loc.search);
  const kindValue = new URLSearchParams(loc.search).get('kind') ?? '';
  const kinds = KIND_CHOICES.find((k) => k.value === kindValue)?.kinds ?? [];
  const red = useData(
    (signal) => fetchServiceRed(service, { lookback, spanKinds: kinds }, signal),
    `${service} ${lookback} ${kindValue}`,
  );
  const ops = useData(
    (signal) => fetchOperations(service, { lookback, spanKinds: kinds }, signal),
    `${service} ${lookback} ${kindValue}`,
  );

  let charts: ReactNode;
  if (red.status === 'loading') charts = <div className="loading">Loading metrics…</div>;
  else if (red.status === 'error') charts = <ErrorBox error={red.error} title="Could not load the metrics" />;
  else charts = <Charts red={red.data} service={service} utc={timeZone === 'utc'} />;

  let table: ReactNode;
  if (ops.status === 'loading') table = <div className="loading">Loading operations…</div>;
  else if (ops.status === 'error') table = <ErrorBox error={ops.error} title="Could not load the operations" />;
  else if (ops.data.operations.length === 0) table = <p className="muted">No spans of these kinds in this range.</p>;
  else
    table = (
      <table className="an-table" data-testid="operations-table">
        <thead>
          <tr>
            <th>Operation</th>
            <th>Kind</th>
            <th className="num">Rate</th>
            <th className="num">Errors</th>
            <th className="num">p50</th>
            <th className="num">p95</th>
            <th className="num">p99</th>
          </tr>
        </thead>
        <tbody>
          {ops.data.operations.map((o) => (
            <tr key={`${o.operation}\u0000${o.spanKind}`} data-operation={o.operation}>
              <td>
                <Link
                  href={`/search?${new URLSearchParams({ service, operation: o.operation, lookback })}`}
                  title="Search the traces of this operation"
                >
                  {o.operation}
                </Link>
              </td>
              <td className="muted">{o.spanKindName}</td>
              <td className="num">{formatRate(o.rate)}</td>
              <td className={`num ${errorClass(o.errorRatio)}`}>{formatPercent(o.errorRatio)}</td>
              <td className="num">{formatMs(o.p50Ms)}</td>
              <td className="num">{formatMs(o.p95Ms)}</td>
              <td className="num">{formatMs(o.p99Ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );

  return (
    <div className="an-page">
      <header className="an-header">
        <h1>
          <span className="an-dot big" style={{ background: serviceColor(service) }} />
          {service}
        </h1>
        <Link href={`/services?lookback=${lookback}`} className="muted">
          ← All services
        </Link>
        <Link href={`/search?${new URLSearchParams({ service, lookback })}`}>Search its traces</Link>
        <label className="an-range">
          <span className="muted">Spans</span>
          <select
            value={kindValue}
            data-testid="span-kind"
            onChange={(e) => {
              const p = new URLSearchParams(loc.search);
              if (e.target.value === '') p.delete('kind');
              else p.set('kind', e.target.value);
              navigate(`${loc.pathname}?${p}`, { replace: true });
            }}
          >
            {KIND_CHOICES.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <RangePicker />
      </header>
      {charts}
      <section className="an-card">
        <h2>Operations</h2>
        {table}
      </section>
    </div>
  );
}
