import type { TextMapPropagator } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import { AWSXRayPropagator } from './aws-xray.ts';
import { B3Propagator } from './b3.ts';
import { CompositePropagator } from './composite.ts';
import { JaegerPropagator } from './jaeger.ts';
import { W3CBaggagePropagator } from './w3c-baggage.ts';
import { W3CTraceContextPropagator } from './w3c-trace-context.ts';

/** The `OTEL_PROPAGATORS` default of the OpenTelemetry specification. */
export const DEFAULT_PROPAGATORS = 'tracecontext,baggage';

const FACTORIES: Readonly<Record<string, () => TextMapPropagator>> = {
  tracecontext: () => new W3CTraceContextPropagator(),
  baggage: () => new W3CBaggagePropagator(),
  b3: () => new B3Propagator({ injectEncoding: 'single' }),
  b3multi: () => new B3Propagator({ injectEncoding: 'multi' }),
  jaeger: () => new JaegerPropagator(),
  xray: () => new AWSXRayPropagator(),
};

/**
 * Builds the propagator `OTEL_PROPAGATORS` names: a comma-separated list of
 * `tracecontext`, `baggage`, `b3` (single header), `b3multi`, `jaeger`,
 * `xray` or `none`, applied in the listed order. Unset or blank means
 * `tracecontext,baggage`; `none` anywhere means no propagation (an empty
 * composite); unknown names (`ottrace`, typos) are reported to `diag` and
 * skipped; duplicates count once.
 *
 * @example propagation.setGlobalPropagator(propagatorFromEnv());
 */
export function propagatorFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): TextMapPropagator {
  const raw = env.OTEL_PROPAGATORS;
  const list = raw === undefined || raw.trim() === '' ? DEFAULT_PROPAGATORS : raw;
  const names: string[] = [];
  for (const part of list.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '' || names.includes(name)) continue;
    names.push(name);
  }
  if (names.includes('none')) return new CompositePropagator([]);
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    const make = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
    if (make === undefined) {
      diag.warn(`traceloom: OTEL_PROPAGATORS names unknown propagator "${name}"; it is skipped`);
      continue;
    }
    propagators.push(make());
  }
  return new CompositePropagator(propagators);
}
