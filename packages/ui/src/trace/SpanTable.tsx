/**
 * The span table: one row per operation (service and span name) with its
 * count, errors, total, self time, average and maximum duration, sortable by
 * any column. Statistics are computed in one pass over the spans.
 */
import { useMemo, useState } from 'react';
import { formatDuration } from '../lib/format.ts';
import type { TraceModel } from './model.ts';
import { type OperationStats, operationStats } from './view-logic.ts';

type SortKey = 'service' | 'name' | 'count' | 'errors' | 'total' | 'self' | 'avg' | 'max';

const COLUMNS: readonly [SortKey, string, boolean][] = [
  ['service', 'Service', false],
  ['name', 'Operation', false],
  ['count', 'Spans', true],
  ['errors', 'Errors', true],
  ['total', 'Total', true],
  ['self', 'Self time', true],
  ['avg', 'Average', true],
  ['max', 'Max', true],
];

function value(s: OperationStats, k: SortKey): number | string {
  if (k === 'avg') return s.total / s.count;
  return s[k];
}

/** Props of {@link SpanTable}. */
export interface SpanTableProps {
  readonly model: TraceModel;
  readonly colors: readonly string[];
  /** Finds the operation's spans in the waterfall. */
  onFind(query: string): void;
}

/** The per-operation table (see the file comment). */
export function SpanTable(props: SpanTableProps) {
  const stats = useMemo(() => operationStats(props.model), [props.model]);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'self', desc: true });
  const rows = useMemo(() => {
    const out = [...stats];
    out.sort((a, b) => {
      const x = value(a, sort.key);
      const y = value(b, sort.key);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
    return out;
  }, [stats, sort]);
  const traceTotal = props.model.durationNano;
  const serviceIndex = new Map(props.model.services.map((s, i) => [s.service, i]));
  return (
    <div className="tlt-table-wrap">
      <table className="tlt-table" data-testid="span-table">
        <thead>
          <tr>
            {COLUMNS.map(([k, label, numeric]) => (
              <th
                key={k}
                className={numeric ? 'num' : undefined}
                aria-sort={sort.key === k ? (sort.desc ? 'descending' : 'ascending') : 'none'}
              >
                <button type="button" onClick={() => setSort({ key: k, desc: sort.key === k ? !sort.desc : numeric })}>
                  {label}
                  {sort.key === k ? (sort.desc ? ' ▼' : ' ▲') : ''}
                </button>
              </th>
            ))}
            <th className="num">Self %</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 2000).map((s) => (
            <tr key={`${s.service}\u0000${s.name}`} data-operation={s.name}>
              <td>
                <span
                  className="tlt-swatch"
                  style={{ background: props.colors[serviceIndex.get(s.service) ?? 0] ?? '#888' }}
                />
                {s.service}
              </td>
              <td>
                <button
                  type="button"
                  className="tlt-link"
                  onClick={() => props.onFind(s.name)}
                  title="Find these spans in the waterfall"
                >
                  {s.name}
                </button>
              </td>
              <td className="num">{s.count.toLocaleString('en-US')}</td>
              <td className={s.errors > 0 ? 'num tlt-err' : 'num'}>{s.errors}</td>
              <td className="num">{formatDuration(s.total / 1000)}</td>
              <td className="num">{formatDuration(s.self / 1000)}</td>
              <td className="num">{formatDuration(s.total / s.count / 1000)}</td>
              <td className="num">{formatDuration(s.max / 1000)}</td>
              <td className="num">{traceTotal > 0 ? `${((s.self / traceTotal) * 100).toFixed(1)}%` : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 2000 && <p className="tlt-muted">Showing the first 2,000 of {rows.length} operations.</p>}
    </div>
  );
}
