/**
 * Shared formatting: durations in readable units and timestamps in local time
 * or UTC (the user's setting). Times come from the API as microseconds since
 * the Unix epoch (`startMicros`), durations as microseconds (`durationMicros`).
 */

/** Microseconds, as the API's `*Micros` fields give them. */
export type Micros = number;

function trim(n: number, digits: number): string {
  // Three significant digits at most, without trailing zeros: 1.50 -> 1.5, 12.0 -> 12.
  return Number(n.toFixed(digits)).toString();
}

function sig3(n: number): string {
  if (n >= 100) return trim(n, 0);
  if (n >= 10) return trim(n, 1);
  return trim(n, 2);
}

/**
 * A duration in the unit that reads best: `850ns`, `12.3µs`, `4.56ms`, `1.23s`,
 * `2m 5s`, `1h 2m`.
 *
 * @example formatDuration(1234) // '1.23ms'
 */
export function formatDuration(micros: Micros): string {
  if (!Number.isFinite(micros)) return '–';
  const sign = micros < 0 ? '-' : '';
  const us = Math.abs(micros);
  if (us === 0) return '0µs';
  if (us < 1) return `${sign}${Math.round(us * 1000)}ns`;
  // Round first so that 999.7µs becomes 1ms, not 1000µs.
  if (Number(sig3(us)) < 1000) return `${sign}${sig3(us)}µs`;
  const ms = us / 1000;
  if (Number(sig3(ms)) < 1000) return `${sign}${sig3(ms)}ms`;
  const s = ms / 1000;
  if (Number(sig3(s)) < 60) return `${sign}${sig3(s)}s`;
  const totalS = Math.round(s);
  if (totalS < 3600) {
    const m = Math.floor(totalS / 60);
    const rest = totalS % 60;
    return `${sign}${m}m${rest === 0 ? '' : ` ${rest}s`}`;
  }
  const h = Math.floor(totalS / 3600);
  const m = Math.round((totalS % 3600) / 60);
  return `${sign}${h}h${m === 0 ? '' : ` ${m}m`}`;
}

/**
 * Parses a duration the search form accepts (`150ms`, `1.5s`, `2m`, `250us`,
 * `1h30m`, or a bare number of milliseconds) into microseconds; `undefined`
 * when it is not one.
 */
export function parseDuration(text: string): Micros | undefined {
  const t = text.trim().toLowerCase();
  if (t === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const units: Record<string, number> = { ns: 0.001, us: 1, µs: 1, ms: 1000, s: 1e6, m: 6e7, h: 3.6e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < t.length) {
    re.lastIndex = at;
    const m = re.exec(t);
    if (m === null) return undefined;
    total += Number(m[1]) * (units[m[2] as string] as number);
    at = re.lastIndex;
  }
  return total;
}

/** How timestamps are shown. */
export type TimeZoneSetting = 'local' | 'utc';

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function parts(micros: Micros, tz: TimeZoneSetting) {
  const d = new Date(Math.floor(micros / 1000));
  const utc = tz === 'utc';
  return {
    y: utc ? d.getUTCFullYear() : d.getFullYear(),
    mo: (utc ? d.getUTCMonth() : d.getMonth()) + 1,
    d: utc ? d.getUTCDate() : d.getDate(),
    h: utc ? d.getUTCHours() : d.getHours(),
    mi: utc ? d.getUTCMinutes() : d.getMinutes(),
    s: utc ? d.getUTCSeconds() : d.getSeconds(),
    ms: utc ? d.getUTCMilliseconds() : d.getMilliseconds(),
  };
}

/**
 * A full timestamp: `2024-05-01 12:00:03.123` (local) or
 * `2024-05-01 12:00:03.123 UTC`.
 */
export function formatTimestamp(micros: Micros, tz: TimeZoneSetting): string {
  const p = parts(micros, tz);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}.${pad(p.ms, 3)}${tz === 'utc' ? ' UTC' : ''}`;
}

/** A time of day: `12:00:03` (with `.123` when `withMillis`). */
export function formatTimeOfDay(micros: Micros, tz: TimeZoneSetting, withMillis = false): string {
  const p = parts(micros, tz);
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${withMillis ? `.${pad(p.ms, 3)}` : ''}`;
}

/** A date: `2024-05-01`. */
export function formatDate(micros: Micros, tz: TimeZoneSetting): string {
  const p = parts(micros, tz);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}

/** How long ago: `just now`, `12s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function formatAgo(micros: Micros, nowMs: number = Date.now()): string {
  const s = Math.round((nowMs - micros / 1000) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** `1234567` -> `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The value for an `<input type="datetime-local">` from Unix ms, in the chosen zone. */
export function toDateTimeInput(ms: number, tz: TimeZoneSetting): string {
  const p = parts(ms * 1000, tz);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

/** Unix ms from an `<input type="datetime-local">` value read in the chosen zone; NaN when empty or invalid. */
export function fromDateTimeInput(value: string, tz: TimeZoneSetting): number {
  if (value === '') return Number.NaN;
  return tz === 'utc' ? Date.parse(`${value}Z`) : new Date(value).getTime();
}
