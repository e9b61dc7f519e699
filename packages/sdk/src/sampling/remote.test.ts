import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import type { DiagLogger } from '@opentelemetry/api';
import { context, DiagLogLevel, diag, ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '../context/suppress.ts';
import { AlwaysOffSampler } from './basic.ts';
import { GuaranteedThroughputSampler, RateLimitingSampler } from './rate-limiting.ts';
import { JaegerRemoteSampler, PerOperationSampler, parseSamplingStrategy } from './remote.ts';
import { TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler } from './types.ts';
import { SamplingDecision } from './types.ts';

const silentLogger: DiagLogger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  verbose: () => {},
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real sampling endpoint on loopback whose answer each test sets. */
let server: Server;
let endpoint: string;
let handler: Handler;
const requests: string[] = [];
let onRequest: (() => void) | undefined;

function json(body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    onRequest?.();
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sampling`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests.length = 0;
  onRequest = undefined;
  handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 1 } });
});

const ids: string[] = [];
for (let i = 0; i < 2_000; i++) ids.push(randomBytes(16).toString('hex'));

function decision(sampler: Sampler, traceId: string, name = 'op'): number {
  return sampler.shouldSample(ROOT_CONTEXT, traceId, name, SpanKind.SERVER, {}, []).decision;
}

function agreesWith(sampler: Sampler, reference: Sampler, name = 'op'): boolean {
  return ids.every((id) => decision(sampler, id, name) === decision(reference, id, name));
}

function countSampled(sampler: Sampler, n: number, name = 'op'): number {
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (decision(sampler, ids[i % ids.length] as string, name) === SamplingDecision.RECORD_AND_SAMPLED) count++;
  }
  return count;
}

/** A fixed clock: rate limiters earn nothing, so counts are exact. */
const frozen = () => 0;

function remote(extra: Partial<ConstructorParameters<typeof JaegerRemoteSampler>[0]> = {}): JaegerRemoteSampler {
  return new JaegerRemoteSampler({
    endpoint,
    serviceName: 'checkout',
    initialSampler: new AlwaysOffSampler(),
    now: frozen,
    ...extra,
  });
}

test('parseSamplingStrategy reads the three Jaeger strategy shapes', () => {
  assert.deepEqual(
    parseSamplingStrategy({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 0.5 } }),
    {
      type: 'probabilistic',
      samplingRate: 0.5,
    },
  );
  assert.deepEqual(
    parseSamplingStrategy({ strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 7 } }),
    {
      type: 'rateLimiting',
      maxTracesPerSecond: 7,
    },
  );
  assert.deepEqual(
    parseSamplingStrategy({
      strategyType: 'PROBABILISTIC',
      probabilisticSampling: { samplingRate: 0.2 },
      operationSampling: {
        defaultSamplingProbability: 0.2,
        defaultLowerBoundTracesPerSecond: 0.5,
        perOperationStrategies: [{ operation: 'GET /a', probabilisticSampling: { samplingRate: 1 } }],
      },
    }),
    {
      type: 'perOperation',
      defaultSamplingProbability: 0.2,
      defaultLowerBoundTracesPerSecond: 0.5,
      operations: [{ operation: 'GET /a', samplingRate: 1 }],
    },
  );
});

test('parseSamplingStrategy accepts numeric strategy types and proto3 JSON with zero values left out', () => {
  assert.deepEqual(parseSamplingStrategy({ strategyType: 1, rateLimitingSampling: { maxTracesPerSecond: 3 } }), {
    type: 'rateLimiting',
    maxTracesPerSecond: 3,
  });
  assert.deepEqual(parseSamplingStrategy({ strategyType: 0, probabilisticSampling: { samplingRate: 0.1 } }), {
    type: 'probabilistic',
    samplingRate: 0.1,
  });
  assert.deepEqual(parseSamplingStrategy({ probabilisticSampling: {} }), { type: 'probabilistic', samplingRate: 0 });
  assert.deepEqual(parseSamplingStrategy({ rateLimitingSampling: { maxTracesPerSecond: 2 } }), {
    type: 'rateLimiting',
    maxTracesPerSecond: 2,
  });
  assert.deepEqual(parseSamplingStrategy({ operationSampling: {} }), {
    type: 'perOperation',
    defaultSamplingProbability: 0,
    defaultLowerBoundTracesPerSecond: 0,
    operations: [],
  });
});

test('parseSamplingStrategy rejects what it cannot apply', () => {
  const bad: unknown[] = [
    null,
    [],
    'PROBABILISTIC',
    { strategyType: 'ADAPTIVE' },
    { strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 1.5 } },
    { strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: '0.5' } },
    { strategyType: 'PROBABILISTIC', probabilisticSampling: 0.5 },
    { strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: -1 } },
    { strategyType: 'RATE_LIMITING', rateLimitingSampling: [] },
    { operationSampling: [] },
    { operationSampling: { defaultSamplingProbability: 2 } },
    { operationSampling: { defaultLowerBoundTracesPerSecond: -1 } },
    { operationSampling: { perOperationStrategies: {} } },
    { operationSampling: { perOperationStrategies: [{ operation: 5 }] } },
    {
      operationSampling: {
        perOperationStrategies: [{ operation: 'a', probabilisticSampling: { samplingRate: -0.1 } }],
      },
    },
  ];
  for (const body of bad) assert.throws(() => parseSamplingStrategy(body), Error, JSON.stringify(body));
});

test('PerOperationSampler: listed operations by their rate, others by the default, each with the lower bound', () => {
  const sampler = new PerOperationSampler(
    {
      type: 'perOperation',
      defaultSamplingProbability: 0.25,
      defaultLowerBoundTracesPerSecond: 3,
      operations: [
        { operation: 'GET /always', samplingRate: 1 },
        { operation: 'GET /never', samplingRate: 0 },
      ],
    },
    3,
    frozen,
  );
  assert.equal(countSampled(sampler, 500, 'GET /always'), 500);
  assert.equal(countSampled(sampler, 500, 'GET /never'), 3, 'the lower bound: 3 from a full bucket, none earned');
  const reference = new GuaranteedThroughputSampler(0.25, 3, frozen);
  assert.ok(agreesWith(sampler, reference, 'GET /other'), 'a new operation gets the default rate and its own bound');
  // maxOperations (3) is reached: further names share the plain default ratio.
  assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.25), 'GET /overflow'));
});

test('uses the initial sampler until the first answer, then the probabilistic strategy', async () => {
  handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 0.5 } });
  const sampler = remote();
  try {
    assert.ok(sampler.currentSampler instanceof AlwaysOffSampler);
    assert.equal(decision(sampler, ids[0] as string), SamplingDecision.NOT_RECORD);
    assert.equal(await sampler.poll(), true);
    assert.deepEqual(
      requests,
      ['/sampling?service=checkout'],
      'the first poll starts at construction; poll() joins it',
    );
    assert.ok(sampler.currentSampler instanceof TraceIdRatioBasedSampler);
    assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.5)));
  } finally {
    await sampler.shutdown();
  }
});

test('switches strategy between polls: probabilistic, rate limiting, per operation', async () => {
  handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 0.1 } });
  const sampler = remote();
  try {
    assert.equal(await sampler.poll(), true);
    assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.1)));

    handler = json({ strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 4 } });
    assert.equal(await sampler.poll(), true);
    assert.ok(sampler.currentSampler instanceof RateLimitingSampler);
    assert.equal(countSampled(sampler, 100), 4, 'a full bucket of 4 and a frozen clock');

    handler = json({
      strategyType: 'PROBABILISTIC',
      probabilisticSampling: { samplingRate: 0 },
      operationSampling: {
        defaultSamplingProbability: 0,
        defaultLowerBoundTracesPerSecond: 1,
        perOperationStrategies: [{ operation: 'GET /cart', probabilisticSampling: { samplingRate: 1 } }],
      },
    });
    assert.equal(await sampler.poll(), true);
    assert.ok(sampler.currentSampler instanceof PerOperationSampler);
    assert.equal(countSampled(sampler, 50, 'GET /cart'), 50);
    assert.equal(countSampled(sampler, 50, 'GET /health'), 1);

    handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 1 } });
    assert.equal(await sampler.poll(), true);
    assert.equal(countSampled(sampler, 50, 'GET /health'), 50);
  } finally {
    await sampler.shutdown();
  }
});

test('an unchanged strategy keeps its sampler, so rate limits are not refilled by polling', async () => {
  handler = json({ strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 2 } });
  const sampler = remote();
  try {
    await sampler.poll();
    const first = sampler.currentSampler;
    assert.equal(countSampled(sampler, 10), 2);
    assert.equal(await sampler.poll(), true);
    assert.equal(sampler.currentSampler, first);
    assert.equal(countSampled(sampler, 10), 0);
  } finally {
    await sampler.shutdown();
  }
});

test('keeps the last good strategy through a 500, bad JSON and a bad strategy, warning once', async () => {
  const warnings: string[] = [];
  diag.setLogger(
    { ...silentLogger, warn: (message: string) => warnings.push(message) },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 0.3 } });
  const sampler = remote();
  try {
    assert.equal(await sampler.poll(), true);
    const good = sampler.currentSampler;

    handler = (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    };
    assert.equal(await sampler.poll(), false);
    assert.equal(sampler.currentSampler, good);

    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"strategyType": "PROBABILISTIC", ');
    };
    assert.equal(await sampler.poll(), false);
    assert.equal(sampler.currentSampler, good);

    handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 7 } });
    assert.equal(await sampler.poll(), false);
    assert.equal(sampler.currentSampler, good);
    assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.3)));

    handler = json({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 0.6 } });
    assert.equal(await sampler.poll(), true, 'recovers when the endpoint answers again');
    assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.6)));
    assert.equal(warnings.length, 1, 'one warning for the whole outage');
    assert.match(warnings[0] as string, /HTTP 500/);
  } finally {
    diag.disable();
    await sampler.shutdown();
  }
});

test('a refused connection before any answer leaves the initial sampler deciding', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const initial = new TraceIdRatioBasedSampler(0.4);
  const sampler = remote({ endpoint: `http://127.0.0.1:${port}/sampling`, initialSampler: initial });
  try {
    assert.equal(await sampler.poll(), false);
    assert.equal(sampler.currentSampler, initial);
    assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.4)));
  } finally {
    await sampler.shutdown();
  }
});

test('polls again every interval on an unref-ed timer', async () => {
  let resolveThird!: () => void;
  const third = new Promise<void>((resolve) => {
    resolveThird = resolve;
  });
  onRequest = () => {
    if (requests.length >= 3) resolveThird();
  };
  const sampler = remote({ pollingIntervalMs: 10 });
  try {
    await third;
    assert.ok(requests.length >= 3);
    assert.ok(requests.every((url) => url === '/sampling?service=checkout'));
  } finally {
    await sampler.shutdown();
  }
});

test('shutdown stops polling and aborts a poll under way; the last strategy keeps deciding', async () => {
  const hanging: ServerResponse[] = [];
  handler = (_req, res) => {
    hanging.push(res);
  };
  const sampler = remote({ initialSampler: new TraceIdRatioBasedSampler(0.2) });
  const pending = sampler.poll();
  await sampler.shutdown();
  assert.equal(await pending, false);
  const before = requests.length;
  assert.equal(await sampler.poll(), false);
  assert.equal(requests.length, before, 'no request after shutdown');
  assert.ok(agreesWith(sampler, new TraceIdRatioBasedSampler(0.2)));
  await sampler.shutdown();
  for (const res of hanging) res.destroy();
});

test('polls with tracing suppressed, so an instrumented fetch records nothing', async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const seen: boolean[] = [];
  const listener = () => {
    seen.push(isTracingSuppressed(context.active()));
  };
  diagnosticsChannel.subscribe('undici:request:create', listener);
  try {
    const sampler = remote();
    try {
      assert.equal(await sampler.poll(), true);
    } finally {
      await sampler.shutdown();
    }
    assert.ok(seen.length >= 1, 'fetch published its request');
    assert.ok(seen.every(Boolean));
  } finally {
    diagnosticsChannel.unsubscribe('undici:request:create', listener);
    context.disable();
  }
});

test('an invalid endpoint is a set-up error', () => {
  assert.throws(() => remote({ endpoint: 'not a url' }), TypeError);
});

test('a sampler never shut down does not keep the process alive', () => {
  const moduleUrl = new URL('./remote.ts', import.meta.url).href;
  const script = `
    const { JaegerRemoteSampler } = await import(${JSON.stringify(moduleUrl)});
    new JaegerRemoteSampler({ endpoint: 'http://127.0.0.1:9/sampling', serviceName: 's', pollingIntervalMs: 1000 });
  `;
  // The kill timeout only ends a broken run; the assertion is that the process exited by itself.
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    timeout: 30_000,
    encoding: 'utf8',
  });
  assert.equal(child.signal, null, 'exited by itself');
  assert.equal(child.status, 0, child.stderr);
});
