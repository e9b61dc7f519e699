import type { Context } from '@opentelemetry/api';
import { createContextKey } from '@opentelemetry/api';

/**
 * The key @opentelemetry/core uses for "tracing suppressed". `createContextKey`
 * is `Symbol.for(description)`, so the same description yields the same key as
 * core's and official instrumentations honour our flag (and we honour theirs).
 */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** Returns a context in which no span is recorded: used around the SDK's own I/O (export, sampling polls). */
export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING_KEY, true);
}

/** Whether tracing is suppressed in `ctx` (by us or by @opentelemetry/core's `suppressTracing`). */
export function isTracingSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true;
}
