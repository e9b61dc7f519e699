import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Span as ApiSpan,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { getAttribute, isValidSpanId, isValidTraceId, type KeyValue, type Span } from '@traceloom/model';
import { AlwaysOffSampler } from '../sampling/basic.ts';
import type { Sampler } from '../sampling/types.ts';
import { SamplingDecision } from '../sampling/types.ts';
import { RandomIdGenerator } from './id-generator.ts';
import { TracerProvider } from './tracer-provider.ts';
import type { SpanProcessor } from './types.ts';

/** Keeps what the provider hands to processors. */
class TestProcessor implements SpanProcessor {
  started: ApiSpan[] = [];
  startContexts: Context[] = [];
  ended: Span[] = [];
  flushed = 0;
  shut = 0;
  onStart(span: ApiSpan, parent: Context): void {
    this.started.push(span);
    this.startContexts.push(parent);
  }
  onEnd(span: Span): void {
    this.ended.push(span);
  }
  async forceFlush(): Promise<void> {
    this.flushed++;
  }
  async shutdown(): Promise<void> {
    this.shut++;
  }
  take(): Span[] {
    const out = this.ended;
    this.ended = [];
    return out;
  }
}

function attr(span: Span, key: string): unknown {
  return getAttribute(span.attributes, key);
}

const processor = new TestProcessor();
let provider: TracerProvider;

before(() => {
  provider = new TracerProvider({
    serviceName: 'checkout',
    resourceAttributes: { 'deployment.environment.name': 'test' },
    spanProcessors: [processor],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
});

after(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('spans through the OpenTelemetry API', () => {
  it('reach the processor with every field right', () => {
    // trace.getTracer drops the options argument (API 1.9), so go through the global provider.
    const tracer = trace
      .getTracerProvider()
      .getTracer('my-lib', '2.1.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
    const before = process.hrtime.bigint();
    let childSpan: ApiSpan | undefined;
    const parent = tracer.startSpan('parent', {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.5, ok: true },
    });
    context.with(trace.setSpan(context.active(), parent), () => {
      childSpan = tracer.startSpan('child', { kind: SpanKind.CLIENT });
      childSpan.setAttribute('big', 2 ** 40);
      childSpan.setAttribute('tags', ['a', 'b']);
      childSpan.setAttribute('ints', [1, 2, 3]);
      childSpan.addEvent('sent', { 'message.id': 1 });
      childSpan.addLink({ context: parent.spanContext(), attributes: { reason: 'test' } });
      childSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      childSpan.end();
    });
    parent.end();
    const [child, par] = processor.take();
    assert.ok(child !== undefined && par !== undefined);
    assert.equal(processor.started.at(-2), parent);

    assert.ok(isValidTraceId(par.traceId));
    assert.ok(isValidSpanId(par.spanId));
    assert.equal(par.parentSpanId, '');
    assert.equal(child.traceId, par.traceId);
    assert.equal(child.parentSpanId, par.spanId);
    assert.notEqual(child.spanId, par.spanId);
    assert.equal(par.spanId, parent.spanContext().spanId);
    assert.equal(par.flags & 0xff, TraceFlags.SAMPLED);
    assert.equal(par.flags & 0x100, 0x100, 'OTLP flags say whether the parent is remote');
    assert.equal(par.flags & 0x200, 0);

    assert.equal(par.name, 'parent');
    assert.equal(par.kind, 2, 'SERVER is 2 in OTLP');
    assert.equal(child.kind, 3, 'CLIENT is 3 in OTLP');

    assert.equal(attr(par, 'http.request.method'), 'GET');
    assert.equal(attr(par, 'http.response.status_code'), 200n);
    assert.equal(attr(par, 'ratio'), 0.5);
    assert.equal(attr(par, 'ok'), true);
    assert.equal(attr(child, 'big'), 2n ** 40n);
    assert.deepEqual(attr(child, 'tags'), ['a', 'b']);
    assert.deepEqual(attr(child, 'ints'), [1n, 2n, 3n]);

    assert.equal(child.events.length, 1);
    assert.equal(child.events[0]?.name, 'sent');
    assert.deepEqual(child.events[0]?.attributes, [{ key: 'message.id', value: 1n }]);
    assert.equal(child.links.length, 1);
    assert.equal(child.links[0]?.spanId, par.spanId);
    assert.equal(child.links[0]?.traceId, par.traceId);
    assert.equal(child.links[0]?.flags, 0x101);
    assert.deepEqual(child.links[0]?.attributes, [{ key: 'reason', value: 'test' }]);
    assert.deepEqual(child.status, { code: 2, message: 'boom' });
    assert.deepEqual(par.status, { code: 0, message: '' });

    assert.equal(typeof par.startTimeUnixNano, 'bigint');
    assert.ok(par.startTimeUnixNano <= child.startTimeUnixNano);
    assert.ok(child.startTimeUnixNano <= child.endTimeUnixNano);
    assert.ok(child.endTimeUnixNano <= par.endTimeUnixNano);
    assert.ok(child.events[0] !== undefined && child.events[0].timeUnixNano >= child.startTimeUnixNano);
    const wallNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(par.startTimeUnixNano > wallNs - 60_000_000_000n && par.startTimeUnixNano < wallNs + 1_000_000_000n);
    const elapsed = process.hrtime.bigint() - before;
    assert.ok(
      par.endTimeUnixNano - par.startTimeUnixNano <= elapsed,
      'duration measured on the monotonic clock, in ns',
    );
    const starts = [par, child].map((s) => s.startTimeUnixNano % 1000n);
    for (let i = 0; i < 4; i++) {
      const s = tracer.startSpan('ns');
      s.end();
      starts.push(processor.take()[0]?.startTimeUnixNano ?? 0n % 1000n);
    }
    assert.ok(
      starts.some((ns) => ns % 1000n !== 0n),
      'sub-microsecond digits are kept',
    );

    assert.equal(par.resource, child.resource, 'one shared resource object');
    assert.equal(par.resource, provider.resource);
    assert.equal(getAttribute(par.resource.attributes, 'service.name'), 'checkout');
    assert.equal(getAttribute(par.resource.attributes, 'deployment.environment.name'), 'test');
    assert.equal(getAttribute(par.resource.attributes, 'telemetry.sdk.name'), 'traceloom');
    assert.equal(par.scope, child.scope, 'one shared scope object per tracer');
    assert.equal(par.scope.name, 'my-lib');
    assert.equal(par.scope.version, '2.1.0');
    assert.equal(par.scope.schemaUrl, 'https://opentelemetry.io/schemas/1.26.0');
  });

  it('startActiveSpan makes the span active, returns the callback value, and takes every overload', async () => {
    const tracer = trace.getTracer('active');
    const r1 = tracer.startActiveSpan('one', (span) => {
      assert.equal(trace.getActiveSpan(), span);
      span.end();
      return 42;
    });
    assert.equal(r1, 42);
    assert.equal(trace.getActiveSpan(), undefined);
    const r2 = tracer.startActiveSpan('two', { kind: SpanKind.PRODUCER }, (span) => {
      span.end();
      return 'x';
    });
    assert.equal(r2, 'x');
    const root = tracer.startSpan('root');
    const r3 = await tracer.startActiveSpan('three', {}, trace.setSpan(ROOT_CONTEXT, root), async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      assert.equal(trace.getActiveSpan(), span);
      span.end();
      return 'async';
    });
    root.end();
    assert.equal(r3, 'async');
    const [one, two, three, rootSpan] = processor.take();
    assert.equal(one?.name, 'one');
    assert.equal(two?.kind, 4);
    assert.equal(three?.parentSpanId, rootSpan?.spanId);
  });

  it('honours the context argument and the root option', () => {
    const tracer = trace.getTracer('ctx');
    const outer = tracer.startSpan('outer');
    const ctx = trace.setSpan(ROOT_CONTEXT, outer);
    const viaArg = tracer.startSpan('arg', {}, ctx);
    const asRoot = context.with(ctx, () => tracer.startSpan('root', { root: true }));
    const viaActive = context.with(ctx, () => tracer.startSpan('active'));
    for (const s of [viaArg, asRoot, viaActive, outer]) s.end();
    const [arg, root, active, out] = processor.take();
    assert.equal(arg?.parentSpanId, out?.spanId);
    assert.equal(active?.parentSpanId, out?.spanId);
    assert.equal(root?.parentSpanId, '');
    assert.notEqual(root?.traceId, out?.traceId);
  });

  it('continues a remote parent extracted by a propagator', () => {
    const ctx = propagation.extract(ROOT_CONTEXT, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'congo=t61rcWkgMzE',
    });
    const span = trace.getTracer('remote').startSpan('server', { kind: SpanKind.SERVER }, ctx);
    assert.equal(span.spanContext().traceState?.get('congo'), 't61rcWkgMzE');
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    assert.equal(carrier.traceparent, `00-0af7651916cd43dd8448eb211c80319c-${span.spanContext().spanId}-01`);
    span.end();
    const [s] = processor.take();
    assert.equal(s?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(s?.parentSpanId, 'b7ad6b7169203331');
    assert.equal(s?.traceState, 'congo=t61rcWkgMzE');
    assert.equal(s?.flags, 0x301, 'sampled, parent remote');
  });

  it('takes its ids from a configured id generator, a subclass of the default one too', async () => {
    const { decodeOtlpTraces, encodeOtlpTraces } = await import('@traceloom/wire');
    class Counting extends RandomIdGenerator {
      n = 0;
      override generateTraceId(): string {
        return `${'ab'.repeat(12)}${(++this.n).toString(16).padStart(8, '0')}`;
      }
      override generateSpanId(): string {
        return `cd${(++this.n).toString(16).padStart(14, '0')}`;
      }
    }
    const seen = new TestProcessor();
    const tracer = new TracerProvider({ idGenerator: new Counting(), spanProcessors: [seen] }).getTracer('ids');
    tracer.startActiveSpan('root', (root) => {
      tracer.startSpan('child').end();
      root.end();
    });
    const [child, root] = seen.take();
    assert.equal(root?.traceId, 'abababababababababababab00000001');
    assert.equal(root?.spanId, 'cd00000000000002');
    assert.equal(root?.parentSpanId, '');
    assert.equal(child?.traceId, root?.traceId);
    assert.equal(child?.spanId, 'cd00000000000003');
    assert.equal(child?.parentSpanId, 'cd00000000000002');
    const decoded = decodeOtlpTraces(encodeOtlpTraces([child as Span, root as Span]));
    assert.deepEqual(
      decoded.map((d) => [d.traceId, d.spanId, d.parentSpanId]),
      [
        [child?.traceId, child?.spanId, child?.parentSpanId],
        [root?.traceId, root?.spanId, ''],
      ],
    );
  });

  it('times given in every TimeInput form become exact ns', () => {
    const tracer = trace.getTracer('times');
    const epochMs = Date.UTC(2021, 0, 15, 12, 0, 0);
    const a = tracer.startSpan('hr', { startTime: [1_610_712_000, 123_456_789] });
    a.addEvent('e', [1_610_712_000, 500_000_000]);
    a.end([1_610_712_001, 1]);
    const b = tracer.startSpan('ms', { startTime: epochMs + 0.25 });
    b.addEvent('e', { k: 'v' }, new Date(epochMs + 5));
    b.end(new Date(epochMs + 10));
    const perfStart = performance.now();
    const c = tracer.startSpan('perf', { startTime: perfStart });
    c.end(perfStart + 1.5);
    const e = tracer.startSpan('before this process started', { startTime: Date.now() - 3_600_000 });
    e.end();
    const d = tracer.startSpan('backwards', { startTime: epochMs });
    d.end(epochMs - 1000);
    const [hr, ms, perf, early, back] = processor.take();
    const hourAgo = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    assert.ok(
      early !== undefined && early.startTimeUnixNano <= hourAgo && early.startTimeUnixNano > hourAgo - 60_000_000_000n,
    );
    assert.equal(hr?.startTimeUnixNano, 1_610_712_000_123_456_789n);
    assert.equal(hr?.events[0]?.timeUnixNano, 1_610_712_000_500_000_000n);
    assert.equal(hr?.endTimeUnixNano, 1_610_712_001_000_000_001n);
    assert.equal(ms?.startTimeUnixNano, BigInt(epochMs) * 1_000_000n + 250_000n);
    assert.equal(ms?.events[0]?.timeUnixNano, BigInt(epochMs + 5) * 1_000_000n);
    assert.deepEqual(ms?.events[0]?.attributes, [{ key: 'k', value: 'v' }]);
    assert.equal(ms?.endTimeUnixNano, BigInt(epochMs + 10) * 1_000_000n);
    assert.ok(perf !== undefined);
    const duration = perf.endTimeUnixNano - perf.startTimeUnixNano;
    assert.ok(duration >= 1_499_000n && duration <= 1_501_000n, `performance.now() inputs: ${duration}`);
    const originNs = BigInt(Math.round(performance.timeOrigin)) * 1_000_000n;
    assert.ok(perf.startTimeUnixNano > originNs);
    assert.equal(back?.endTimeUnixNano, back?.startTimeUnixNano, 'an end before the start is clamped');
  });

  it('gives the same tracer for the same name, version and schema URL', () => {
    assert.equal(provider.getTracer('a', '1'), provider.getTracer('a', '1'));
    assert.notEqual(provider.getTracer('a', '1'), provider.getTracer('a', '2'));
    assert.notEqual(provider.getTracer('a', '1'), provider.getTracer('a', '1', { schemaUrl: 'x' }));
  });
});

describe('sampling', () => {
  it('hands out a non-recording span carrying the context when the sampler says no', () => {
    const seen = new TestProcessor();
    const off = new TracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [seen] });
    const tracer = off.getTracer('off');
    const span = tracer.startSpan('dropped');
    assert.equal(span.isRecording(), false);
    span.setAttribute('a', 1).addEvent('e').setStatus({ code: SpanStatusCode.ERROR });
    const sc = span.spanContext();
    assert.ok(isValidTraceId(sc.traceId) && isValidSpanId(sc.spanId));
    assert.equal(sc.traceFlags, TraceFlags.NONE);
    assert.equal(span.spanContext(), sc, 'the context is made once');
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, span));
    assert.equal(child.spanContext().traceId, sc.traceId, 'children stay in the trace');
    span.end();
    child.end();
    assert.equal(seen.started.length, 0);
    assert.equal(seen.ended.length, 0);
  });

  it('passes the sampler what it needs and applies its attributes, trace state and RECORD decision', () => {
    const calls: unknown[][] = [];
    const sampler: Sampler = {
      shouldSample(ctx, traceId, name, kind, attributes, links) {
        calls.push([ctx, traceId, name, kind, attributes, links]);
        return { decision: SamplingDecision.RECORD, attributes: { 'sampler.rule': 'r1' } };
      },
      toString: () => 'test',
    };
    const seen = new TestProcessor();
    const tracer = new TracerProvider({ sampler, spanProcessors: [seen] }).getTracer('s');
    const span = tracer.startSpan('op', { kind: SpanKind.CONSUMER, attributes: { a: 'b' } });
    assert.equal(span.isRecording(), true);
    span.end();
    const [s] = seen.take();
    assert.ok(s !== undefined);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.[1], s.traceId);
    assert.equal(calls[0]?.[2], 'op');
    assert.equal(calls[0]?.[3], SpanKind.CONSUMER);
    assert.deepEqual(calls[0]?.[4], { a: 'b' });
    assert.equal(s.flags & 0xff, 0, 'recorded but not sampled');
    assert.equal(attr(s, 'sampler.rule'), 'r1');
  });

  it('the default sampler follows the parent', () => {
    const seen = new TestProcessor();
    const tracer = new TracerProvider({ spanProcessors: [seen] }).getTracer('pb');
    const unsampledParent = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    const child = tracer.startSpan('c', {}, trace.setSpan(ROOT_CONTEXT, unsampledParent));
    assert.equal(child.isRecording(), false);
    assert.equal(child.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    child.end();
    const localUnsampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    assert.equal(tracer.startSpan('c', {}, trace.setSpan(ROOT_CONTEXT, localUnsampled)).isRecording(), false);
    const localSampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    tracer.startSpan('sampled child', {}, trace.setSpan(ROOT_CONTEXT, localSampled)).end();
    const invalidParent = trace.wrapSpanContext({ traceId: 'nothex', spanId: 'x', traceFlags: TraceFlags.NONE });
    tracer.startSpan('new root', {}, trace.setSpan(ROOT_CONTEXT, invalidParent)).end();
    const [sampledChild, newRoot] = seen.take();
    assert.equal(sampledChild?.flags, 0x101, 'local sampled parent: sampled, parent not remote');
    assert.equal(sampledChild?.parentSpanId, 'b7ad6b7169203331');
    assert.equal(newRoot?.parentSpanId, '', 'an invalid parent context makes a root');
    assert.notEqual(newRoot?.traceId, 'nothex');
  });
});

describe('register', () => {
  it('installs the propagators OTEL_PROPAGATORS names by default', () => {
    trace.disable();
    context.disable();
    propagation.disable();
    try {
      new TracerProvider({ env: { OTEL_PROPAGATORS: 'b3multi' }, spanProcessors: [processor] }).register();
      const span = trace.getTracer('reg').startSpan('x');
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
      span.end();
      processor.take();
      assert.equal(carrier['x-b3-spanid'], span.spanContext().spanId);
      assert.equal(carrier.traceparent, undefined);
    } finally {
      trace.disable();
      context.disable();
      propagation.disable();
      provider.register({ propagator: new W3CTraceContextPropagator() });
    }
  });
});

describe('provider lifecycle', () => {
  it('forceFlush and shutdown reach every processor; after shutdown nothing is recorded', async () => {
    const a = new TestProcessor();
    const b = new TestProcessor();
    const p = new TracerProvider({ spanProcessors: [a, b] });
    await p.forceFlush();
    assert.equal(a.flushed + b.flushed, 2);
    const shut = p.shutdown();
    assert.equal(p.shutdown(), shut);
    await shut;
    assert.equal(a.shut + b.shut, 2);
    const span = p.getTracer('late').startSpan('late');
    assert.equal(span.isRecording(), false);
    span.end();
    assert.equal(a.ended.length, 0);
  });

  it('a processor that throws does not reach user code', () => {
    const bad: SpanProcessor = {
      onStart() {
        throw new Error('start');
      },
      onEnd() {
        throw new Error('end');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const good = new TestProcessor();
    const tracer = new TracerProvider({ spanProcessors: [bad, good] }).getTracer('t');
    assert.doesNotThrow(() => tracer.startSpan('x').end());
    assert.equal(good.ended.length, 1);
  });

  it('no span is recorded where tracing is suppressed', async () => {
    const { suppressTracing } = await import('@opentelemetry/core');
    const seen = new TestProcessor();
    const tracer = new TracerProvider({ spanProcessors: [seen] }).getTracer('t');
    const span = tracer.startSpan('x', {}, suppressTracing(ROOT_CONTEXT));
    assert.equal(span.isRecording(), false);
    span.end();
    assert.equal(seen.started.length, 0);
  });
});

/** The attribute list of a finished span as a plain object, for deepEqual. */
export function attributeObject(list: readonly KeyValue[]): Record<string, unknown> {
  return Object.fromEntries(list.map((kv) => [kv.key, kv.value]));
}

describe('finished spans and the wire encoder', () => {
  it('encode to OTLP protobuf and decode back to equal spans', async () => {
    const { decodeOtlpTraces, encodeOtlpTraces } = await import('@traceloom/wire');
    const { spanDiff } = await import('@traceloom/model');
    const seen = new TestProcessor();
    const tracer = new TracerProvider({ serviceName: 'wire', spanProcessors: [seen] }).getTracer('w', '1');
    tracer.startActiveSpan('outer', { kind: SpanKind.SERVER, attributes: { n: 1, d: 0.5, s: 'x' } }, (span) => {
      tracer
        .startSpan('inner', { links: [{ context: span.spanContext() }] })
        .addEvent('e', { k: [1, 2] })
        .end();
      span.recordException(new Error('boom'));
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
      span.end();
    });
    const spans = seen.take();
    const decoded = decodeOtlpTraces(encodeOtlpTraces(spans));
    assert.equal(decoded.length, 2);
    for (let i = 0; i < 2; i++) {
      assert.equal(spanDiff(spans[i] as Span, decoded[i] as Span), undefined);
    }
  });
});
