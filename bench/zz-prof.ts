import { SpanKind } from '@opentelemetry/api';
import { TracerProvider } from '../packages/sdk/src/trace/tracer-provider.ts';
const q: unknown[] = [];
const tracer = new TracerProvider({ serviceName: 'bench', spanProcessors: [{ onStart() {}, onEnd(s) { q.push(s); if (q.length > 512) q.length = 0; }, async forceFlush() {}, async shutdown() {} }] }).getTracer('bench', '1.0.0');
function one(i: number) {
  const span = tracer.startSpan('POST /api/checkout', { kind: SpanKind.SERVER });
  span.setAttribute('http.request.method', 'POST');
  span.setAttribute('http.route', '/api/checkout');
  span.setAttribute('url.path', '/api/checkout');
  span.setAttribute('url.scheme', 'https');
  span.setAttribute('http.response.status_code', 200);
  span.setAttribute('server.address', 'checkout.shop.svc.cluster.local');
  span.setAttribute('server.port', 8080);
  span.setAttribute('client.address', '10.0.3.17');
  span.setAttribute('http.request.body.size', 1000 + i);
  span.setAttribute('network.protocol.version', '1.1');
  span.end();
}
for (let r = 0; r < 5; r++) {
  const N = 500000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) one(i);
  console.log(Number(process.hrtime.bigint() - t0) / N);
}
