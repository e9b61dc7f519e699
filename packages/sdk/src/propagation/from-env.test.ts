import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Context, TextMapPropagator } from '@opentelemetry/api';
import { DiagLogLevel, diag, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { CompositePropagator } from './composite.ts';
import { propagatorFromEnv } from './from-env.ts';
import {
  contextWith,
  extract,
  extractSpanContext,
  inject,
  SAMPLE_CONTEXTS,
  SPAN_ID,
  TRACE_ID,
} from './internal/testing.ts';

const warnings: string[] = [];

beforeEach(() => {
  warnings.length = 0;
  diag.setLogger(
    {
      error: () => {},
      warn: (msg: string) => warnings.push(msg),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
});
afterEach(() => diag.disable());

const ctx = propagation.setBaggage(contextWith(SAMPLE_CONTEXTS[0]!), propagation.createBaggage({ k: { value: 'v' } }));

describe('propagatorFromEnv', () => {
  it('defaults to tracecontext,baggage', () => {
    for (const env of [{}, { OTEL_PROPAGATORS: '' }, { OTEL_PROPAGATORS: '  ' }]) {
      const p = propagatorFromEnv(env);
      assert.deepEqual(p.fields(), ['traceparent', 'tracestate', 'baggage']);
      assert.deepEqual(Object.keys(inject(p, ctx)), ['traceparent', 'baggage']);
    }
  });

  it('builds each named propagator in order', () => {
    const p = propagatorFromEnv({ OTEL_PROPAGATORS: ' B3MULTI, jaeger ,xray,b3,tracecontext,baggage' });
    const carrier = inject(p, ctx);
    assert.deepEqual(Object.keys(carrier).sort(), [
      'b3',
      'baggage',
      'traceparent',
      'uber-trace-id',
      'uberctx-k',
      'x-amzn-trace-id',
      'x-b3-sampled',
      'x-b3-spanid',
      'x-b3-traceid',
    ]);
    assert.equal(extractSpanContext(p, carrier)?.traceId, TRACE_ID);
    assert.deepEqual(warnings, []);
  });

  it('none turns propagation off', () => {
    const p = propagatorFromEnv({ OTEL_PROPAGATORS: 'tracecontext,none' });
    assert.deepEqual(inject(p, ctx), {});
    assert.deepEqual(p.fields(), []);
    assert.equal(extract(p, { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` }), ROOT_CONTEXT);
  });

  it('warns about unknown names and skips them', () => {
    const p = propagatorFromEnv({ OTEL_PROPAGATORS: 'ottrace,tracecontext,bogus' });
    assert.deepEqual(p.fields(), ['traceparent', 'tracestate']);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /ottrace/);
    assert.match(warnings[1]!, /bogus/);
  });

  it('ignores duplicates and names of Object.prototype', () => {
    const p = propagatorFromEnv({ OTEL_PROPAGATORS: 'b3,b3,constructor,toString' });
    assert.deepEqual(p.fields(), ['b3']);
    assert.equal(warnings.length, 2);
  });
});

describe('CompositePropagator', () => {
  const throwing: TextMapPropagator = {
    inject() {
      throw new Error('boom');
    },
    extract(): Context {
      throw new Error('boom');
    },
    fields() {
      return ['x'];
    },
  };

  it('skips a propagator that throws and reports it', () => {
    const p = propagatorFromEnv({ OTEL_PROPAGATORS: 'tracecontext' });
    const c = new CompositePropagator([throwing, p]);
    assert.deepEqual(Object.keys(inject(c, ctx)), ['traceparent']);
    assert.equal(extractSpanContext(c, { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` })?.spanId, SPAN_ID);
    assert.equal(warnings.length, 2);
    assert.deepEqual(c.fields(), ['x', 'traceparent', 'tracestate']);
  });

  it('a later propagator wins on extract', () => {
    const c = propagatorFromEnv({ OTEL_PROPAGATORS: 'tracecontext,b3' });
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const sc = extractSpanContext(c, {
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      b3: `${other}-${SPAN_ID}-0`,
    });
    assert.equal(sc?.traceId, other);
    assert.equal(sc?.traceFlags, 0);
  });
});
