/**
 * Interop across processes: a request crosses service A (Traceloom SDK),
 * B (official OpenTelemetry SDK) and C (Traceloom SDK again), each a child
 * process exporting to one Traceloom OTLP receiver, and must come out as one
 * trace with an unbroken parent chain, for W3C trace context and for B3.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getAttribute, type Span, SpanKind } from '@traceloom/model';
import { startReceivers } from '../../../server/src/receivers/index.ts';
import { RecordingSink } from '../../../server/src/receivers/sink.ts';
import type { ServiceAnswer, ServiceMessage } from './fixtures/service-shared.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface Service {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startService(script: string, env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, script)], {
    env: { ...process.env, OTEL_BSP_SCHEDULE_DELAY: '60000', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    child.on('message', (msg: ServiceMessage) => {
      if (msg.type === 'listening') resolve(msg.port);
    });
  });
  child.removeAllListeners('exit');
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Asks a service to flush and exit; resolves with its exit code. */
async function stopService(service: Service): Promise<number | null> {
  if (service.child.exitCode !== null) return service.child.exitCode;
  const exited = once(service.child, 'exit');
  service.child.send('exit');
  const [code] = (await exited) as [number | null];
  return code;
}

function serviceOf(span: Span): unknown {
  return getAttribute(span.resource.attributes, 'service.name');
}

/** The one span of `service` with `kind`. */
function only(spans: readonly Span[], service: string, kind: number): Span {
  const found = spans.filter((s) => serviceOf(s) === service && s.kind === kind);
  assert.equal(found.length, 1, `one ${kind === SpanKind.SERVER ? 'server' : 'client'} span of ${service}`);
  return found[0]!;
}

interface Mode {
  readonly name: string;
  /** OTEL_PROPAGATORS of the Traceloom services. */
  readonly otelPropagators: string;
  /** Propagator of the official service (see fixtures/otel-service.ts). */
  readonly officialPropagation: string;
  /** Header that must carry the context between services, and headers that must not. */
  readonly header: string;
  readonly absent: readonly string[];
}

const modes: readonly Mode[] = [
  {
    name: 'W3C trace context',
    otelPropagators: 'tracecontext,baggage',
    officialPropagation: 'w3c',
    header: 'traceparent',
    absent: ['b3', 'x-b3-traceid'],
  },
  {
    name: 'B3 single header',
    otelPropagators: 'b3',
    officialPropagation: 'b3',
    header: 'b3',
    absent: ['traceparent', 'x-b3-traceid'],
  },
  {
    name: 'B3 multi header',
    otelPropagators: 'b3multi',
    officialPropagation: 'b3multi',
    header: 'x-b3-traceid',
    absent: ['traceparent', 'b3'],
  },
];

for (const mode of modes) {
  test(`one trace across Traceloom -> OpenTelemetry SDK -> Traceloom (${mode.name})`, async () => {
    const sink = new RecordingSink();
    const receivers = await startReceivers(sink, {
      otlpHttp: { host: '127.0.0.1', port: 0 },
      otlpGrpc: false,
      zipkin: false,
      jaeger: false,
    });
    const endpoint = `http://127.0.0.1:${receivers.ports.otlpHttp}`;
    const services: Service[] = [];
    try {
      const c = await startService('traceloom-service.ts', {
        OTEL_SERVICE_NAME: 'svc-c',
        OTEL_PROPAGATORS: mode.otelPropagators,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      });
      services.push(c);
      const b = await startService('otel-service.ts', {
        SERVICE_NAME: 'svc-b',
        PROPAGATION: mode.officialPropagation,
        OTLP_TRACES_URL: `${endpoint}/v1/traces`,
        NEXT_URL: c.url,
      });
      services.push(b);
      const a = await startService('traceloom-service.ts', {
        OTEL_SERVICE_NAME: 'svc-a',
        OTEL_PROPAGATORS: mode.otelPropagators,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        NEXT_URL: b.url,
      });
      services.push(a);

      const res = await fetch(`${a.url}/call`);
      assert.equal(res.status, 200);
      const answer = (await res.json()) as ServiceAnswer;
      assert.equal(answer.service, 'svc-a');
      const atB = answer.downstream;
      assert.equal(atB?.service, 'svc-b');
      const atC = atB.downstream;
      assert.equal(atC?.service, 'svc-c');
      for (const [hop, headers] of [
        ['A -> B', atB.headers],
        ['B -> C', atC.headers],
      ] as const) {
        assert.equal(typeof headers[mode.header], 'string', `${hop} carried ${mode.header}`);
        for (const h of mode.absent) assert.equal(headers[h], undefined, `${hop} carried no ${h}`);
      }

      // Shut down in call order: every span has ended once A has answered.
      for (const s of [a, b, c]) assert.equal(await stopService(s), 0, 'service exited cleanly');

      const spans = sink.spans;
      const aServer = only(spans, 'svc-a', SpanKind.SERVER);
      const aClient = only(spans, 'svc-a', SpanKind.CLIENT);
      const bServer = only(spans, 'svc-b', SpanKind.SERVER);
      const bClient = only(spans, 'svc-b', SpanKind.CLIENT);
      const cServer = only(spans, 'svc-c', SpanKind.SERVER);
      const chain = [aServer, aClient, bServer, bClient, cServer];
      assert.equal(spans.length, chain.length, 'no other spans');
      assert.equal(new Set(chain.map((s) => s.traceId)).size, 1, 'all spans in one trace');
      assert.equal(aServer.parentSpanId, '', 'A server span is the root');
      for (let i = 1; i < chain.length; i++) {
        assert.equal(chain[i]!.parentSpanId, chain[i - 1]!.spanId, `link ${i} of the parent chain`);
      }
      assert.equal(getAttribute(bServer.resource.attributes, 'telemetry.sdk.name'), 'opentelemetry');
      assert.equal(getAttribute(cServer.resource.attributes, 'telemetry.sdk.name'), 'traceloom');
      assert.equal(bClient.scope.name, '@opentelemetry/instrumentation-http');
    } finally {
      for (const s of services) if (s.child.exitCode === null) s.child.kill();
      await receivers.close();
    }
  });
}
