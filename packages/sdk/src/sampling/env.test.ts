import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import type { DiagLogger } from '@opentelemetry/api';
import { DiagLogLevel, diag, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler } from './basic.ts';
import { JAEGER_REMOTE_ARG_DEFAULTS, parseJaegerRemoteArg, samplerFromEnv } from './env.ts';
import { ParentBasedSampler } from './parent-based.ts';
import { JaegerRemoteSampler } from './remote.ts';
import { TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler } from './types.ts';
import { SamplingDecision } from './types.ts';

let warnings: string[] = [];
const logger: DiagLogger = {
  error: () => {},
  warn: (message: string) => {
    warnings.push(message);
  },
  info: () => {},
  debug: () => {},
  verbose: () => {},
};

beforeEach(() => {
  warnings = [];
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
});
afterEach(() => {
  diag.disable();
});

const requests: string[] = [];
let onRequest: (() => void) | undefined;
let server: Server;
let endpoint: string;
before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    onRequest?.();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sampling`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const SAMPLED_PARENT = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
});

function rootDecision(sampler: Sampler, traceId = '0af7651916cd43dd8448eb211c80319c'): number {
  return sampler.shouldSample(ROOT_CONTEXT, traceId, 'op', SpanKind.SERVER, {}, []).decision;
}

test('the default is parentbased_always_on', () => {
  for (const env of [{}, { OTEL_TRACES_SAMPLER: '' }, { OTEL_TRACES_SAMPLER: '  ' }]) {
    const sampler = samplerFromEnv(env);
    assert.ok(sampler instanceof ParentBasedSampler);
    assert.match(sampler.toString(), /^ParentBased\{root=AlwaysOnSampler,/);
  }
  assert.deepEqual(warnings, []);
});

test('each sampler name gives its sampler, case-insensitively', () => {
  assert.ok(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' }) instanceof AlwaysOnSampler);
  assert.ok(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'ALWAYS_OFF' }) instanceof AlwaysOffSampler);
  const ratio = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
  assert.ok(ratio instanceof TraceIdRatioBasedSampler);
  assert.equal(ratio.ratio, 0.25);
  const off = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' });
  assert.equal(rootDecision(off), SamplingDecision.NOT_RECORD);
  assert.equal(
    off.shouldSample(SAMPLED_PARENT, '0af7651916cd43dd8448eb211c80319c', 'op', SpanKind.SERVER, {}, []).decision,
    SamplingDecision.RECORD_AND_SAMPLED,
  );
  const pbRatio = samplerFromEnv({
    OTEL_TRACES_SAMPLER: ' parentbased_traceidratio ',
    OTEL_TRACES_SAMPLER_ARG: ' 0.5 ',
  });
  assert.match(pbRatio.toString(), /^ParentBased\{root=TraceIdRatioBased\{0\.5\},/);
  assert.deepEqual(warnings, []);
});

test('a ratio sampler without an argument samples everything', () => {
  const sampler = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio' });
  assert.equal(sampler.toString(), 'TraceIdRatioBased{1}');
  assert.deepEqual(warnings, []);
});

test('invalid ratios and unknown samplers are warned about and the default used', () => {
  for (const arg of ['abc', '-0.1', '1.5', 'NaN', 'Infinity']) {
    warnings = [];
    const sampler = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: arg });
    assert.equal(sampler.toString(), 'TraceIdRatioBased{1}', arg);
    assert.equal(warnings.length, 1, arg);
  }
  warnings = [];
  const unknown = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'sometimes' });
  assert.match(unknown.toString(), /^ParentBased\{root=AlwaysOnSampler,/);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /sometimes/);
});

test('parseJaegerRemoteArg reads the spec settings and defaults the rest', () => {
  assert.deepEqual(parseJaegerRemoteArg(undefined), JAEGER_REMOTE_ARG_DEFAULTS);
  assert.deepEqual(
    parseJaegerRemoteArg('endpoint=http://localhost:14250,pollingIntervalMs=5000,initialSamplingRate=0.25'),
    {
      endpoint: 'http://localhost:14250',
      pollingIntervalMs: 5000,
      initialSamplingRate: 0.25,
    },
  );
  assert.deepEqual(parseJaegerRemoteArg(' initialSamplingRate = 0.5 , '), {
    ...JAEGER_REMOTE_ARG_DEFAULTS,
    initialSamplingRate: 0.5,
  });
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    parseJaegerRemoteArg('endpoint=ftp://x,pollingIntervalMs=-5,initialSamplingRate=2,colour=blue,pollingIntervalMs'),
    JAEGER_REMOTE_ARG_DEFAULTS,
  );
  assert.equal(warnings.length, 5);
});

test('jaeger_remote polls the given endpoint for the service named in the environment', async () => {
  requests.length = 0;
  const sampler = samplerFromEnv({
    OTEL_TRACES_SAMPLER: 'jaeger_remote',
    OTEL_TRACES_SAMPLER_ARG: `endpoint=${endpoint},pollingIntervalMs=60000,initialSamplingRate=0`,
    OTEL_SERVICE_NAME: 'cart service',
  });
  assert.ok(sampler instanceof JaegerRemoteSampler);
  try {
    assert.equal(rootDecision(sampler), SamplingDecision.NOT_RECORD, 'initial sampling rate 0');
    assert.equal(await sampler.poll(), true);
    assert.deepEqual(requests, ['/sampling?service=cart+service']);
    assert.equal(rootDecision(sampler), SamplingDecision.RECORD_AND_SAMPLED);
  } finally {
    await sampler.shutdown();
  }
});

test('parentbased_jaeger_remote wraps the remote sampler; service.name may come from OTEL_RESOURCE_ATTRIBUTES', async () => {
  requests.length = 0;
  const polled = new Promise<void>((resolve) => {
    onRequest = () => {
      onRequest = undefined;
      resolve();
    };
  });
  const sampler = samplerFromEnv({
    OTEL_TRACES_SAMPLER: 'parentbased_jaeger_remote',
    OTEL_TRACES_SAMPLER_ARG: `endpoint=${endpoint}`,
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=pay%20api',
  });
  assert.ok(sampler instanceof ParentBasedSampler);
  assert.match(sampler.toString(), /^ParentBased\{root=JaegerRemoteSampler\{TraceIdRatioBased\{0\.001\}\}/);
  // The first poll starts at construction.
  await polled;
  await sampler.shutdown();
  assert.deepEqual(requests, ['/sampling?service=pay+api']);
});
