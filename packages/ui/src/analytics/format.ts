/** Number formats of the analytics pages. */
import { formatDuration } from '../lib/format.ts';

/** Requests per second, readable at any scale: `12.3/s`, `4.0/min`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0/s';
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  const perMinute = perSecond * 60;
  return `${perMinute.toFixed(perMinute >= 10 ? 0 : 1)}/min`;
}

/** An error ratio (0..1) as a percentage. */
export function formatPercent(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '–';
  const pct = ratio * 100;
  if (pct === 0) return '0%';
  if (pct < 0.1) return '<0.1%';
  return `${pct.toFixed(pct < 10 ? 1 : 0)}%`;
}

/** Milliseconds (as the metrics API gives them), in the unit the rest of the UI uses; `–` for none. */
export function formatMs(ms: number | null): string {
  return ms === null ? '–' : formatDuration(ms * 1000);
}

/** The colour class of an error ratio: fine, some errors, many. */
export function errorClass(ratio: number | null): string {
  if (ratio === null || ratio === 0) return 'an-ok';
  return ratio >= 0.05 ? 'an-bad' : 'an-warn';
}
