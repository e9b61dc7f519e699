import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';

/**
 * Runs several propagators as one: inject calls each in order, extract feeds
 * each one's result to the next (so a later propagator wins where both find
 * something), fields are the union. A propagator that throws is reported to
 * `diag` and skipped: propagation never throws into the caller.
 */
export class CompositePropagator implements TextMapPropagator {
  readonly #propagators: readonly TextMapPropagator[];
  readonly #fields: readonly string[];

  constructor(propagators: readonly TextMapPropagator[] = []) {
    this.#propagators = propagators.slice();
    const fields = new Set<string>();
    for (const p of propagators) {
      try {
        for (const f of p.fields()) fields.add(f);
      } catch (err) {
        diag.warn('traceloom: propagator fields() failed', err);
      }
    }
    this.#fields = [...fields];
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    for (const p of this.#propagators) {
      try {
        p.inject(context, carrier, setter);
      } catch (err) {
        diag.warn(`traceloom: ${p.constructor.name} inject failed`, err);
      }
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    let ctx = context;
    for (const p of this.#propagators) {
      try {
        ctx = p.extract(ctx, carrier, getter);
      } catch (err) {
        diag.warn(`traceloom: ${p.constructor.name} extract failed`, err);
      }
    }
    return ctx;
  }

  fields(): string[] {
    return this.#fields.slice();
  }
}
