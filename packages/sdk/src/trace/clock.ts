import type { TimeInput } from '@opentelemetry/api';

/**
 * The span clock: nanoseconds since the Unix epoch as `bigint`, monotonic
 * within the process. Like the OpenTelemetry SDK it anchors a monotonic clock
 * to `performance.timeOrigin` once, so wall-clock steps (NTP) never make a
 * span's end precede its start; unlike it, no precision is lost to a
 * millisecond `number`: `process.hrtime.bigint()` is the same clock as
 * `performance.now()` at nanosecond resolution.
 */

/** `performance.timeOrigin` (ms, fractional) as exact-ish ns; the fraction carries µs precision. */
const ORIGIN_MS = performance.timeOrigin;
const ORIGIN_UNIX_NANO = BigInt(Math.trunc(ORIGIN_MS)) * 1_000_000n + BigInt(Math.round((ORIGIN_MS % 1) * 1e6));

/**
 * Offset from `process.hrtime.bigint()` to Unix ns. `performance.now()` is the
 * hrtime clock minus the origin's hrtime, so both are read back to back and
 * the difference gives the origin's hrtime reading.
 */
const HR_TO_UNIX_NANO: bigint = (() => {
  const hr = process.hrtime.bigint();
  const sinceOriginNs = BigInt(Math.round(performance.now() * 1e6));
  return ORIGIN_UNIX_NANO - (hr - sinceOriginNs);
})();

/**
 * `process.hrtime.bigint`, looked up once: on Node 20 `process` is a getter
 * on `globalThis`, so reading it per span costs a global lookup and a call.
 * The function does not use its receiver.
 */
const hrtimeBigint = process.hrtime.bigint;

/** Now, in nanoseconds since the Unix epoch. */
export function nowUnixNano(): bigint {
  return hrtimeBigint() + HR_TO_UNIX_NANO;
}

/** Milliseconds (possibly fractional) since the Unix epoch to ns, keeping the sub-ms digits a double carries. */
export function epochMillisToUnixNano(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/**
 * Numbers below this are `performance.now()` readings, larger ones epoch
 * milliseconds: 10^12 ms is 2001-09-09 as a date and 31 years as an uptime.
 * The OpenTelemetry SDK splits at `performance.timeOrigin` instead, which
 * reads an epoch time from before the process started (a queued message's
 * timestamp) as an uptime and lands it decades in the future.
 */
const PERFORMANCE_NOW_LIMIT_MS = 1e12;

/**
 * Any OpenTelemetry `TimeInput` to Unix ns: `HrTime` `[seconds, nanos]`, a
 * `Date`, or a number of milliseconds, either a `performance.now()` reading
 * or epoch milliseconds (`Date.now()`), told apart by size. Returns `undefined`
 * for anything else (NaN, negative, wrong type), so the caller can fall back
 * to now.
 */
export function timeInputToUnixNano(time: TimeInput): bigint | undefined {
  if (typeof time === 'number') {
    if (!Number.isFinite(time) || time < 0) return undefined;
    if (time < PERFORMANCE_NOW_LIMIT_MS) return ORIGIN_UNIX_NANO + BigInt(Math.round(time * 1e6));
    return epochMillisToUnixNano(time);
  }
  if (Array.isArray(time)) {
    const s = time[0];
    const ns = time[1];
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(ns) || s < 0 || ns < 0) return undefined;
    return BigInt(s) * 1_000_000_000n + BigInt(ns);
  }
  if (time instanceof Date) {
    const ms = time.getTime();
    return Number.isFinite(ms) && ms >= 0 ? BigInt(ms) * 1_000_000n : undefined;
  }
  return undefined;
}
