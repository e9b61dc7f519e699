/**
 * Search results as a sortable list: root service and operation, start,
 * duration (with a bar against the longest result), span and error counts,
 * and a badge per service with its span count. Two ticked rows can be
 * compared.
 */
import { useMemo, useState } from 'react';
import type { TraceSummary } from '../api/client.ts';
import { Link } from '../app/router.tsx';
import { serviceColor } from '../lib/colors.ts';
import { formatAgo, formatCount, formatDate, formatDuration, formatTimeOfDay, formatTimestamp } from '../lib/format.ts';
import { useSettings } from '../lib/settings.ts';

type SortKey = 'name' | 'start' | 'duration' | 'spans' | 'errors';

const COLUMNS: readonly { readonly key: SortKey; readonly label: string; readonly numeric: boolean }[] = [
  { key: 'name', label: 'Trace', numeric: false },
  { key: 'start', label: 'Start', numeric: false },
  { key: 'duration', label: 'Duration', numeric: true },
  { key: 'spans', label: 'Spans', numeric: true },
  { key: 'errors', label: 'Errors', numeric: true },
];

function compare(a: TraceSummary, b: TraceSummary, key: SortKey): number {
  switch (key) {
    case 'name':
      return `${a.rootServiceName} ${a.rootName}`.localeCompare(`${b.rootServiceName} ${b.rootName}`);
    case 'start':
      return a.startMicros - b.startMicros;
    case 'duration':
      return a.durationMicros - b.durationMicros;
    case 'spans':
      return a.spanCount - b.spanCount;
    case 'errors':
      return a.errorCount - b.errorCount;
  }
}

/** The badges shown per row before "+N". */
const MAX_BADGES = 6;

/** The result list. */
export function ResultsTable(props: {
  readonly traces: readonly TraceSummary[];
  readonly selected: readonly string[];
  readonly onToggle: (traceId: string) => void;
}) {
  const { timeZone } = useSettings();
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'start', desc: true });
  const rows = useMemo(() => {
    const list = [...props.traces];
    list.sort((a, b) => {
      const c = compare(a, b, sort.key);
      return sort.desc ? -c : c;
    });
    return list;
  }, [props.traces, sort]);
  const maxDuration = useMemo(() => Math.max(1, ...props.traces.map((t) => t.durationMicros)), [props.traces]);
  const now = Date.now();

  const header = (c: (typeof COLUMNS)[number]) => {
    const active = sort.key === c.key;
    return (
      <th
        key={c.key}
        className={c.numeric ? 'num' : undefined}
        aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
      >
        <button
          type="button"
          className={active ? 'sort active' : 'sort'}
          data-sort={c.key}
          onClick={() =>
            setSort((s) => (s.key === c.key ? { key: c.key, desc: !s.desc } : { key: c.key, desc: c.key !== 'name' }))
          }
        >
          {c.label}
          <span className="sort-mark" aria-hidden="true">
            {active ? (sort.desc ? '▼' : '▲') : ''}
          </span>
        </button>
      </th>
    );
  };

  return (
    <table className="results" data-testid="results">
      <thead>
        <tr>
          <th className="check">
            <span className="visually-hidden">Select</span>
          </th>
          {COLUMNS.map(header)}
          <th>Services</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => {
          const checked = props.selected.includes(t.traceId);
          return (
            <tr key={t.traceId} data-trace-id={t.traceId} className={checked ? 'selected' : undefined}>
              <td className="check">
                <input
                  type="checkbox"
                  checked={checked}
                  aria-label={`Select trace ${t.traceId} to compare`}
                  onChange={() => props.onToggle(t.traceId)}
                />
              </td>
              <td className="trace-cell">
                <Link href={`/trace/${t.traceId}`} className="trace-link">
                  <span className="dot" style={{ background: serviceColor(t.rootServiceName) }} />
                  <span className="root-service">{t.rootServiceName || '(root missing)'}</span>
                  <span className="root-name">{t.rootName}</span>
                </Link>
                <div className="trace-id mono">{t.traceId}</div>
              </td>
              <td className="start-cell">
                <div title={formatTimestamp(t.startMicros, timeZone)}>
                  {formatTimeOfDay(t.startMicros, timeZone, true)}
                  {timeZone === 'utc' && <span className="muted small"> UTC</span>}
                </div>
                <div className="muted small">
                  {formatDate(t.startMicros, timeZone)} · {formatAgo(t.startMicros, now)}
                </div>
              </td>
              <td className="num duration-cell">
                <div>{formatDuration(t.durationMicros)}</div>
                <div className="bar">
                  <div
                    className={t.errorCount > 0 ? 'bar-fill error' : 'bar-fill'}
                    style={{ width: `${Math.max(1, (t.durationMicros / maxDuration) * 100)}%` }}
                  />
                </div>
              </td>
              <td className="num">{formatCount(t.spanCount)}</td>
              <td className="num">
                {t.errorCount > 0 ? <span className="error-count">{formatCount(t.errorCount)}</span> : '0'}
              </td>
              <td className="badges">
                {t.services.slice(0, MAX_BADGES).map((s) => (
                  <span
                    key={s.service}
                    className="badge"
                    style={{ borderLeftColor: serviceColor(s.service) }}
                    title={`${s.service}: ${s.spanCount} spans${s.errorCount > 0 ? `, ${s.errorCount} errors` : ''}`}
                  >
                    <span className="badge-swatch" style={{ background: serviceColor(s.service) }} />
                    {s.service}
                    <span className="badge-count">{s.spanCount}</span>
                  </span>
                ))}
                {t.services.length > MAX_BADGES && (
                  <span className="badge more">+{t.services.length - MAX_BADGES}</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
