/**
 * The shapes of the demo shop's real traces, measured with
 * `traceloom loadgen --measure <ui url>` after the first minute of a
 * `traceloom demo` run with its defaults (all seven services against
 * PostgreSQL, Redis and RabbitMQ, shoppers at 5 requests/s, 15% of payments
 * failing, 5% of charges and 2% of stock checks slow): 368 traces.
 * The generator is calibrated against these figures and `generator.test.ts`
 * holds it to them. Measure again after changing the demo, and update both.
 */
import type { TraceShapes } from './shapes.ts';

/** Measured 2026-11-22 on a 2-core machine; see the module comment. */
export const DEMO_SHAPES: TraceShapes = {
  traces: 368,
  spans: 4101,
  spansPerTrace: { p10: 5, p50: 9, p90: 19, p99: 41, max: 50, mean: 11.14 },
  depth: { p10: 3, p50: 3, p90: 7, p99: 7, max: 8, mean: 4 },
  fanOut: { p10: 1, p50: 1, p90: 3, p99: 7, max: 8, mean: 1.6 },
  servicesPerTrace: { p10: 2, p50: 3, p90: 6, p99: 7, max: 7, mean: 3.35 },
  attributesPerSpan: { p10: 5, p50: 5, p90: 11, p99: 12, max: 12, mean: 6.83 },
  attributesByKind: { client: 5, consumer: 11, internal: 2.21, producer: 9, server: 11.08 },
  attributeValueLength: { p10: 3, p50: 5, p90: 15, p99: 66, max: 162, mean: 9.65 },
  eventsPerSpan: 0.0054,
  errorSpanRate: 0.0078,
  errorTraceRate: 0.0163,
  kindShare: { client: 0.6277, consumer: 0.0078, internal: 0.0466, producer: 0.0078, server: 0.3102 },
};
