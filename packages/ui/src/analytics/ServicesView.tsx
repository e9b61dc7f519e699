/**
 * Services page: every service with rate, error share, p95 and a sparkline of
 * its calls over the range, from the span metrics the server computes before
 * sampling. A row opens the service's page.
 */
import { type ReactNode, useState } from 'react';
import { Link, useLocation } from '../app/router.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import { serviceColor } from '../lib/colors.ts';
import { fetchServicesOverview, lookbackFrom, type ServiceOverview } from './api.ts';
import { errorClass, formatMs, formatPercent, formatRate } from './format.ts';
import { RangePicker } from './RangePicker.tsx';
import { Sparkline } from './Sparkline.tsx';
import { useData } from './use-data.ts';
import './analytics.css';

type SortKey = 'service' | 'rate' | 'errorRatio' | 'p95Ms';

const COLUMNS: readonly { readonly key: SortKey; readonly label: string }[] = [
  { key: 'service', label: 'Service' },
  { key: 'rate', label: 'Rate' },
  { key: 'errorRatio', label: 'Errors' },
  { key: 'p95Ms', label: 'p95' },
];

function compare(a: ServiceOverview, b: ServiceOverview, key: SortKey): number {
  if (key === 'service') return a.service.localeCompare(b.service);
  return (a[key] ?? -1) - (b[key] ?? -1);
}

export function ServicesView() {
  const loc = useLocation();
  const lookback = lookbackFrom(loc.search);
  const state = useData((signal) => fetchServicesOverview({ lookback }, signal), `services ${lookback}`);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'rate', desc: true });

  let body: ReactNode;
  if (state.status === 'loading') body = <div className="loading">Loading service metrics…</div>;
  else if (state.status === 'error') body = <ErrorBox error={state.error} title="Could not load the services" />;
  else if (state.data.services.length === 0)
    body = (
      <div className="an-empty" data-testid="services-empty">
        <p>No service sent spans in this range.</p>
        <p className="muted">
          Metrics appear as spans arrive: point an OpenTelemetry SDK at <code>http://localhost:4318</code>, or widen the
          range.
        </p>
      </div>
    );
  else {
    const rows = [...state.data.services].sort((a, b) => compare(a, b, sort.key) * (sort.desc ? -1 : 1));
    const step = state.data.stepSeconds;
    body = (
      <table className="an-table" data-testid="services-table">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} className={c.key === 'service' ? '' : 'num'}>
                <button
                  type="button"
                  className="link-button"
                  onClick={() =>
                    setSort((s) => ({ key: c.key, desc: s.key === c.key ? !s.desc : c.key !== 'service' }))
                  }
                >
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? ' ↓' : ' ↑') : ''}
                </button>
              </th>
            ))}
            <th>Calls over time</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr key={s.service} data-service={s.service}>
              <td>
                <span className="an-dot" style={{ background: serviceColor(s.service) }} />
                <Link href={`/services/${encodeURIComponent(s.service)}?lookback=${lookback}`}>{s.service}</Link>
              </td>
              <td className="num">{formatRate(s.rate)}</td>
              <td className={`num ${errorClass(s.errorRatio)}`}>{formatPercent(s.errorRatio)}</td>
              <td className="num">{formatMs(s.p95Ms)}</td>
              <td>
                <Sparkline
                  values={s.callsPerStep}
                  color={serviceColor(s.service)}
                  title={`calls per ${step >= 3600 ? `${step / 3600} h` : `${step / 60} min`} of ${s.service}`}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <div className="an-page">
      <header className="an-header">
        <h1>Services</h1>
        <p className="muted">Rate, errors and latency of each service's entry spans, counted before any sampling.</p>
        <RangePicker />
      </header>
      {body}
    </div>
  );
}
