/** The look-back select of the analytics pages; the choice lives in the URL (`?lookback=6h`). */
import { navigate, useLocation } from '../app/router.tsx';
import { ANALYTICS_RANGES, lookbackFrom } from './api.ts';

export function RangePicker() {
  const loc = useLocation();
  const value = lookbackFrom(loc.search);
  return (
    <label className="an-range">
      <span className="muted">Range</span>
      <select
        value={value}
        data-testid="range"
        onChange={(e) => {
          const p = new URLSearchParams(loc.search);
          p.set('lookback', e.target.value);
          navigate(`${loc.pathname}?${p}`, { replace: true });
        }}
      >
        {ANALYTICS_RANGES.map((r) => (
          <option key={r.value} value={r.value}>
            {r.label}
          </option>
        ))}
      </select>
    </label>
  );
}
