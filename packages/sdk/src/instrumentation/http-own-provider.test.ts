import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { context, propagation, trace } from '@opentelemetry/api';
import type { KeyValue } from '@traceloom/model';
import { suppressTracing } from '../context/suppress.ts';
import { AlwaysOnSampler } from '../sampling/basic.ts';
import type { Sampler } from '../sampling/types.ts';
import { TracerProvider } from '../trace/tracer-provider.ts';
import type { FinishedSpan, SpanProcessor } from '../trace/types.ts';
import type { HttpInstrumentationHandle } from './http.ts';
import { enableHttpInstrumentation, setHttpRoute } from './http.ts';

// The server path with Traceloom's own provider: the instrumentation hands the
// attributes to the tracer as a flat list (startSpanFlat), so these tests check
// that a sampler and a processor's onStart still see all of them, in order.

const samplerSaw: Attributes[] = [];
const sampler: Sampler = {
  shouldSample(ctx, traceId, name, kind, attributes, links) {
    samplerSaw.push({ ...attributes });
    return new AlwaysOnSampler().shouldSample(ctx, traceId, name, kind, attributes, links);
  },
  toString: () => 'recording sampler',
};
const startSaw: string[][] = [];
const ended: FinishedSpan[] = [];
const processor: SpanProcessor = {
  onStart(span: Span, _ctx: Context) {
    startSaw.push((span as unknown as FinishedSpan).attributes.map((kv: KeyValue) => kv.key));
  },
  onEnd(span) {
    ended.push(span);
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};

const provider = new TracerProvider({ serviceName: 'own', sampler, spanProcessors: [processor] });

function value(span: FinishedSpan, key: string): unknown {
  return span.attributes.find((kv) => kv.key === key)?.value;
}

async function spansEnded(count: number): Promise<FinishedSpan[]> {
  for (let i = 0; i < 200 && ended.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return ended;
}

describe('http instrumentation on the Traceloom provider', () => {
  let inst: HttpInstrumentationHandle | undefined;
  let server: http.Server;
  let port = 0;
  let active: Span | undefined;

  before(async () => {
    provider.register();
    inst = enableHttpInstrumentation({ ignoreIncomingPaths: ['/health'] });
    server = http.createServer((req, res) => {
      active = trace.getSpan(context.active());
      if (req.url?.startsWith('/users/')) setHttpRoute(res, '/users/:id');
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    inst?.disable();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('gives sampler, onStart and the span the same server attributes, in semconv order', async () => {
    // The client side suppressed: its own span would replace the traceparent sent here.
    const status = await new Promise<number>((resolve, reject) => {
      const req = context.with(suppressTracing(context.active()), () =>
        http.get(
          `http://127.0.0.1:${port}/users/7?x=1`,
          { headers: { 'user-agent': 'ua/1', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        ),
      );
      req.on('error', reject);
    });
    assert.equal(status, 200);
    const [span] = await spansEnded(1);
    assert.ok(span !== undefined);
    const keys = [
      'http.request.method',
      'url.path',
      'url.query',
      'url.scheme',
      'server.address',
      'server.port',
      'network.protocol.version',
      'client.address',
      'user_agent.original',
    ];
    assert.deepEqual(Object.keys(samplerSaw.at(-1) ?? {}), keys);
    assert.deepEqual(samplerSaw.at(-1), {
      'http.request.method': 'GET',
      'url.path': '/users/7',
      'url.query': 'x=1',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': port,
      'network.protocol.version': '1.1',
      'client.address': '127.0.0.1',
      'user_agent.original': 'ua/1',
    });
    assert.deepEqual(startSaw.at(-1), keys);
    assert.deepEqual(
      span.attributes.map((kv) => kv.key),
      [...keys, 'http.route', 'http.response.status_code'],
    );
    assert.equal(value(span, 'http.route'), '/users/:id');
    assert.equal(value(span, 'http.response.status_code'), 200n);
    assert.equal(value(span, 'server.port'), BigInt(port));
    assert.equal(span.name, 'GET /users/:id');
    assert.equal(span.traceId, 'a'.repeat(32));
    assert.equal(span.parentSpanId, 'b'.repeat(16));
    assert.equal(active?.spanContext().spanId, span.spanId, 'the server span is active in the handler');
  });
});
