// The official NodeTracerProvider stands in for Traceloom's own provider
// until it lands: the instrumentation only talks to the @opentelemetry/api
// (global tracer, propagator and context manager), so the same code runs on ours.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { suppressTracing } from '../context/suppress.ts';
import type { HttpInstrumentationHandle, HttpInstrumentationOptions } from './http.ts';
import { enableHttpInstrumentation, HTTP_INSTRUMENTATION_NAME, setHttpRoute } from './http.ts';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const testTracer = trace.getTracer('test');

interface Seen {
  traceparent: string | undefined;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function startServer(handler: Handler): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request whose own client span is suppressed, so only the server's spans are recorded. */
function plainGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  agent?: http.Agent,
): Promise<{ status: number; body: string }> {
  return context.with(suppressTracing(context.active()), () =>
    httpGet(`http://127.0.0.1:${port}${path}`, headers, agent),
  );
}

function httpGet(url: string, headers: Record<string, string> = {}, agent?: http.Agent) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get(url, { headers, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Waits (bounded) until `count` spans have ended: server spans end on 'finish', which may follow the client's 'end'. */
async function spans(count: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i++) {
    const done = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name !== 'ignored');
    if (done.length >= count) return done;
    await new Promise((r) => setTimeout(r, 10));
  }
  return exporter.getFinishedSpans();
}

function byKind(list: readonly ReadableSpan[], kind: SpanKind): ReadableSpan[] {
  return list.filter((s) => s.kind === kind);
}

function one<T>(list: readonly T[]): T {
  assert.equal(list.length, 1, `expected exactly one, got ${list.length}`);
  return list[0]!;
}

/** Whether this Node publishes http.client.request.created (22.12+/23.2+), probed like the instrumentation does. */
function publishesCreated(): boolean {
  let seen = false;
  const probe = () => {
    seen = true;
  };
  diagnosticsChannel.subscribe('http.client.request.created', probe);
  new http.ClientRequest({ host: '127.0.0.1', port: 9, agent: { addRequest() {} } as unknown as http.Agent });
  diagnosticsChannel.unsubscribe('http.client.request.created', probe);
  return seen;
}

async function closedPort(): Promise<number> {
  const s = await startServer(() => {});
  await s.close();
  return s.port;
}

describe('http instrumentation (diagnostics_channel)', () => {
  let inst: HttpInstrumentationHandle | undefined;
  const enable = (options?: HttpInstrumentationOptions) => {
    inst = enableHttpInstrumentation(options);
    return inst;
  };

  before(() => {
    provider.register({
      contextManager: new AsyncLocalStorageContextManager(),
      propagator: new W3CTraceContextPropagator(),
    });
  });
  after(async () => {
    await provider.shutdown();
  });
  beforeEach(() => exporter.reset());
  afterEach(() => {
    inst?.disable();
    inst = undefined;
  });

  it('makes a SERVER span with the semantic-convention attributes', async () => {
    enable();
    const srv = await startServer((_req, res) => res.end('hi'));
    try {
      const r = await plainGet(srv.port, '/items/7?x=1&y=2', { 'user-agent': 'tl-test/1.0' });
      assert.equal(r.body, 'hi');
      const span = one(byKind(await spans(1), SpanKind.SERVER));
      assert.equal(span.name, 'GET');
      assert.equal(span.instrumentationScope.name, HTTP_INSTRUMENTATION_NAME);
      assert.equal(span.parentSpanContext, undefined);
      const a = span.attributes;
      assert.equal(a['http.request.method'], 'GET');
      assert.equal(a['url.path'], '/items/7');
      assert.equal(a['url.query'], 'x=1&y=2');
      assert.equal(a['url.scheme'], 'http');
      assert.equal(a['server.address'], '127.0.0.1');
      assert.equal(a['server.port'], srv.port);
      assert.equal(a['network.protocol.version'], '1.1');
      assert.equal(a['client.address'], '127.0.0.1');
      assert.equal(a['user_agent.original'], 'tl-test/1.0');
      assert.equal(a['http.response.status_code'], 200);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    } finally {
      await srv.close();
    }
  });

  it('continues the trace of an incoming traceparent header', async () => {
    enable();
    const srv = await startServer((_req, res) => res.end());
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const parentId = 'b7ad6b7169203331';
      await plainGet(srv.port, '/', { traceparent: `00-${traceId}-${parentId}-01` });
      const span = one(byKind(await spans(1), SpanKind.SERVER));
      assert.equal(span.spanContext().traceId, traceId);
      assert.equal(span.parentSpanContext?.spanId, parentId);
      assert.equal(span.parentSpanContext?.isRemote, true);
    } finally {
      await srv.close();
    }
  });

  it('runs the handler with the server span active, across awaits', async () => {
    enable();
    const srv = await startServer((_req, res) => {
      const sync = testTracer.startSpan('sync-child');
      sync.end();
      setTimeout(async () => {
        await Promise.resolve();
        await testTracer.startActiveSpan('async-child', async (span) => {
          span.end();
        });
        res.end();
      }, 1);
    });
    try {
      await plainGet(srv.port, '/nest');
      const all = await spans(3);
      const server = one(byKind(all, SpanKind.SERVER));
      for (const name of ['sync-child', 'async-child']) {
        const child = one(all.filter((s) => s.name === name));
        assert.equal(child.spanContext().traceId, server.spanContext().traceId, name);
        assert.equal(child.parentSpanContext?.spanId, server.spanContext().spanId, name);
      }
    } finally {
      await srv.close();
    }
  });

  it('does not leak one request context into the next request on a keep-alive connection', async () => {
    enable();
    const seenActive: (string | undefined)[] = [];
    const srv = await startServer((_req, res) => {
      seenActive.push(trace.getActiveSpan()?.spanContext().traceId);
      res.end();
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await plainGet(srv.port, '/a', { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` }, agent);
      await plainGet(srv.port, '/b', {}, agent);
      const servers = byKind(await spans(2), SpanKind.SERVER);
      assert.equal(servers.length, 2);
      const second = servers.find((s) => s.attributes['url.path'] === '/b')!;
      assert.equal(second.parentSpanContext, undefined, 'second request must start a new trace');
      assert.notEqual(second.spanContext().traceId, '1'.repeat(32));
      assert.equal(seenActive[1], second.spanContext().traceId);
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it('makes a CLIENT span for http.get and injects traceparent that the server continues', async () => {
    enable();
    const seen: Seen = { traceparent: undefined };
    const srv = await startServer((req, res) => {
      seen.traceparent = req.headers.traceparent as string | undefined;
      res.end('ok');
    });
    try {
      await testTracer.startActiveSpan('caller', async (caller) => {
        await httpGet(`http://127.0.0.1:${srv.port}/out?q=1`);
        caller.end();
      });
      const all = await spans(3);
      const client = one(byKind(all, SpanKind.CLIENT));
      const server = one(byKind(all, SpanKind.SERVER));
      const caller = one(all.filter((s) => s.name === 'caller'));
      assert.ok(seen.traceparent, 'server must see a traceparent header');
      assert.equal(client.name, 'GET');
      assert.equal(client.parentSpanContext?.spanId, caller.spanContext().spanId);
      assert.equal(server.parentSpanContext?.spanId, client.spanContext().spanId);
      assert.equal(server.spanContext().traceId, caller.spanContext().traceId);
      const a = client.attributes;
      assert.equal(a['http.request.method'], 'GET');
      assert.equal(a['url.full'], `http://127.0.0.1:${srv.port}/out?q=1`);
      assert.equal(a['server.address'], '127.0.0.1');
      assert.equal(a['server.port'], srv.port);
      assert.equal(a['http.response.status_code'], 200);
      assert.equal(a['network.protocol.version'], '1.1');
      assert.equal(client.status.code, SpanStatusCode.UNSET);
    } finally {
      await srv.close();
    }
  });

  it('makes a CLIENT span for fetch and injects traceparent that the server continues', async () => {
    enable();
    const srv = await startServer((_req, res) => res.end('ok'));
    try {
      await testTracer.startActiveSpan('caller', async (caller) => {
        const r = await fetch(`http://127.0.0.1:${srv.port}/f?z=9`, { method: 'POST', body: 'x' });
        assert.equal(await r.text(), 'ok');
        caller.end();
      });
      const all = await spans(3);
      const client = one(byKind(all, SpanKind.CLIENT));
      const server = one(byKind(all, SpanKind.SERVER));
      const caller = one(all.filter((s) => s.name === 'caller'));
      assert.equal(client.name, 'POST');
      assert.equal(client.parentSpanContext?.spanId, caller.spanContext().spanId);
      assert.equal(server.parentSpanContext?.spanId, client.spanContext().spanId);
      assert.equal(client.attributes['url.full'], `http://127.0.0.1:${srv.port}/f?z=9`);
      assert.equal(client.attributes['server.port'], srv.port);
      assert.equal(client.attributes['http.response.status_code'], 200);
    } finally {
      await srv.close();
    }
  });

  it('marks refused connections as errors (http.get and fetch)', async () => {
    enable();
    const port = await closedPort();
    await assert.rejects(httpGet(`http://127.0.0.1:${port}/`));
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
    const clients = byKind(await spans(2), SpanKind.CLIENT);
    assert.equal(clients.length, 2);
    for (const c of clients) {
      assert.equal(c.status.code, SpanStatusCode.ERROR);
      assert.equal(c.attributes['error.type'], 'ECONNREFUSED');
      assert.equal(c.attributes['http.response.status_code'], undefined);
    }
  });

  it('marks 5xx as errors on both sides and 4xx only on the client', async () => {
    enable();
    const srv = await startServer((req, res) => {
      res.statusCode = req.url === '/boom' ? 500 : 404;
      res.end();
    });
    try {
      await httpGet(`http://127.0.0.1:${srv.port}/boom`);
      await (await fetch(`http://127.0.0.1:${srv.port}/missing`)).arrayBuffer();
      const all = await spans(4);
      const server500 = one(byKind(all, SpanKind.SERVER).filter((s) => s.attributes['url.path'] === '/boom'));
      const server404 = one(byKind(all, SpanKind.SERVER).filter((s) => s.attributes['url.path'] === '/missing'));
      assert.equal(server500.status.code, SpanStatusCode.ERROR);
      assert.equal(server500.attributes['error.type'], '500');
      assert.equal(server404.status.code, SpanStatusCode.UNSET);
      assert.equal(server404.attributes['http.response.status_code'], 404);
      const clients = byKind(all, SpanKind.CLIENT);
      assert.equal(clients.length, 2);
      for (const c of clients) assert.equal(c.status.code, SpanStatusCode.ERROR);
      assert.deepEqual(clients.map((c) => c.attributes['error.type']).sort(), ['404', '500']);
    } finally {
      await srv.close();
    }
  });

  it('ends the server span with an error when the client goes away before the response', async () => {
    enable();
    let serverRes: http.ServerResponse | undefined;
    const arrived = new Promise<void>((resolve) => {
      void startServer((_req, res) => {
        serverRes = res;
        resolve();
      }).then((s) => {
        srvRef = s;
        const req = context.with(suppressTracing(context.active()), () =>
          http.get(`http://127.0.0.1:${s.port}/slow`, () => {}),
        );
        req.on('error', () => {});
        reqRef = req;
      });
    });
    let srvRef: { close: () => Promise<void> } | undefined;
    let reqRef: http.ClientRequest | undefined;
    await arrived;
    reqRef!.destroy();
    try {
      const server = one(byKind(await spans(1), SpanKind.SERVER));
      assert.equal(server.status.code, SpanStatusCode.ERROR);
      assert.equal(server.attributes['error.type'], 'aborted');
      assert.equal(serverRes?.writableFinished, false);
    } finally {
      await srvRef!.close();
    }
  });

  it('creates no spans and injects nothing after disable()', async () => {
    const handle = enable();
    handle.disable();
    assert.equal(handle.enabled, false);
    const seen: string[] = [];
    const srv = await startServer((req, res) => {
      if (req.headers.traceparent) seen.push(req.headers.traceparent as string);
      res.end();
    });
    try {
      await testTracer.startActiveSpan('caller', async (caller) => {
        await httpGet(`http://127.0.0.1:${srv.port}/`);
        await (await fetch(`http://127.0.0.1:${srv.port}/`)).text();
        caller.end();
      });
      const all = await spans(1);
      assert.deepEqual(
        all.map((s) => s.name),
        ['caller'],
      );
      assert.deepEqual(seen, []);
    } finally {
      await srv.close();
    }
  });

  it('respects suppressed tracing for outgoing requests', async () => {
    enable();
    const seen: string[] = [];
    const srv = await startServer((req, res) => {
      if (req.headers.traceparent) seen.push(req.headers.traceparent as string);
      res.end();
    });
    try {
      await context.with(suppressTracing(context.active()), async () => {
        await httpGet(`http://127.0.0.1:${srv.port}/s1`);
        await (await fetch(`http://127.0.0.1:${srv.port}/s2`)).text();
      });
      const all = await spans(2);
      assert.equal(byKind(all, SpanKind.CLIENT).length, 0);
      const servers = byKind(all, SpanKind.SERVER);
      assert.equal(servers.length, 2);
      for (const s of servers) assert.equal(s.parentSpanContext, undefined);
      assert.deepEqual(seen, []);
    } finally {
      await srv.close();
    }
  });

  it('ignores incoming paths and suppresses tracing inside their handlers', async () => {
    const target = await startServer((_req, res) => res.end());
    enable({ ignoreIncomingPaths: ['/health', /^\/ready/] });
    const srv = await startServer((_req, res) => {
      void fetch(`http://127.0.0.1:${target.port}/dep`)
        .then((r) => r.text())
        .then(() => res.end('up'));
    });
    try {
      await plainGet(srv.port, '/health');
      await plainGet(srv.port, '/ready?x');
      await plainGet(srv.port, '/work');
      const all = await spans(5);
      const servers = byKind(all, SpanKind.SERVER);
      // The dependency server is instrumented too: it traces every /dep call, but only the one
      // from /work arrives with a traceparent; the ignored handlers made no CLIENT span.
      assert.deepEqual(servers.map((s) => s.attributes['url.path']).sort(), ['/dep', '/dep', '/dep', '/work']);
      assert.equal(servers.filter((s) => s.parentSpanContext !== undefined).length, 1);
      const work = one(servers.filter((s) => s.attributes['url.path'] === '/work'));
      const client = one(byKind(all, SpanKind.CLIENT));
      assert.equal(client.parentSpanContext?.spanId, work.spanContext().spanId);
    } finally {
      await srv.close();
      await target.close();
    }
  });

  it('names unknown methods HTTP with _OTHER, captures headers and calls hooks', async () => {
    const hooks: string[] = [];
    enable({
      captureHeaders: { serverRequest: ['X-Tenant'], serverResponse: ['x-served-by'], clientResponse: ['x-served-by'] },
      requestHook: (span, info) => {
        hooks.push(`req:${info.kind}`);
        span.setAttribute('hooked', true);
      },
      responseHook: (_span, info) => {
        hooks.push(`res:${info.kind}`);
      },
    });
    const srv = await startServer((_req, res) => {
      res.setHeader('x-served-by', 'node-1');
      res.end();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: srv.port, method: 'PROPFIND', path: '/m', headers: { 'x-tenant': 'acme' } },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });
      const all = await spans(2);
      const server = one(byKind(all, SpanKind.SERVER));
      const client = one(byKind(all, SpanKind.CLIENT));
      for (const s of [server, client]) {
        assert.equal(s.name, 'HTTP');
        assert.equal(s.attributes['http.request.method'], '_OTHER');
        assert.equal(s.attributes['http.request.method_original'], 'PROPFIND');
        assert.equal(s.attributes.hooked, true);
      }
      assert.deepEqual(server.attributes['http.request.header.x-tenant'], ['acme']);
      assert.deepEqual(server.attributes['http.response.header.x-served-by'], ['node-1']);
      assert.deepEqual(client.attributes['http.response.header.x-served-by'], ['node-1']);
      assert.deepEqual(hooks.sort(), ['req:client', 'req:server', 'res:client', 'res:server']);
    } finally {
      await srv.close();
    }
  });

  it('keeps working when a hook throws', async () => {
    enable({
      requestHook: () => {
        throw new Error('hook bug');
      },
    });
    const srv = await startServer((_req, res) => res.end('fine'));
    try {
      const r = await httpGet(`http://127.0.0.1:${srv.port}/`);
      assert.equal(r.body, 'fine');
      assert.equal((await spans(2)).length, 2);
    } finally {
      await srv.close();
    }
  });

  it('restores http.Agent.prototype.addRequest on disable()', () => {
    const before = (http.Agent.prototype as unknown as { addRequest: unknown }).addRequest;
    const handle = enable();
    handle.disable();
    assert.equal((http.Agent.prototype as unknown as { addRequest: unknown }).addRequest, before);
  });

  it('still makes http client spans with agentPropagationFallback off (injecting only where Node allows)', async () => {
    enable({ agentPropagationFallback: false });
    const seen: Seen = { traceparent: undefined };
    const srv = await startServer((req, res) => {
      seen.traceparent = req.headers.traceparent as string | undefined;
      res.end();
    });
    try {
      await httpGet(`http://127.0.0.1:${srv.port}/nf`);
      const all = await spans(2);
      const client = one(byKind(all, SpanKind.CLIENT));
      assert.equal(client.attributes['http.response.status_code'], 200);
      // Node 20 has no http.client.request.created channel: headers are already written when
      // http.client.request.start fires, so nothing can be injected without the fallback.
      if (publishesCreated()) assert.equal(typeof seen.traceparent, 'string');
      else assert.equal(seen.traceparent, undefined);
    } finally {
      await srv.close();
    }
  });

  it('does not double a traceparent the fetch caller set itself', async () => {
    enable();
    const seen: Seen = { traceparent: undefined };
    const srv = await startServer((req, res) => {
      seen.traceparent = req.headers.traceparent as string | undefined;
      res.end();
    });
    try {
      const own = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
      await (await fetch(`http://127.0.0.1:${srv.port}/`, { headers: { traceparent: own } })).text();
      assert.equal(seen.traceparent, own);
      assert.equal(byKind(await spans(2), SpanKind.CLIENT).length, 1);
    } finally {
      await srv.close();
    }
  });

  it('traces https the same way (scheme, port, propagation through https.Agent)', async () => {
    enable();
    // A throwaway self-signed certificate for 127.0.0.1, made for these tests only.
    const dir = new URL('./fixtures/', import.meta.url);
    const cert = readFileSync(new URL('test-cert.pem', dir));
    const key = readFileSync(new URL('test-key.pem', dir));
    const server = https.createServer({ cert, key }, (_req, res) => res.end('secure'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await testTracer.startActiveSpan('caller', async (caller) => {
        await new Promise<void>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, path: '/sec', ca: cert }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        });
        caller.end();
      });
      const all = await spans(3);
      const client = one(byKind(all, SpanKind.CLIENT));
      const srv = one(byKind(all, SpanKind.SERVER));
      assert.equal(client.attributes['url.full'], `https://127.0.0.1:${port}/sec`);
      assert.equal(client.attributes['server.port'], port);
      assert.equal(srv.attributes['url.scheme'], 'https');
      assert.equal(srv.attributes['server.port'], port);
      assert.equal(srv.parentSpanContext?.spanId, client.spanContext().spanId);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('still ends server spans that were in flight when disable() was called', async () => {
    const handle = enable();
    const srv = await startServer((_req, res) => {
      handle.disable();
      setTimeout(() => res.end('late'), 5);
    });
    try {
      const r = await plainGet(srv.port, '/inflight');
      assert.equal(r.body, 'late');
      const server = one(byKind(await spans(1), SpanKind.SERVER));
      assert.equal(server.attributes['http.response.status_code'], 200);
      assert.equal(server.status.code, SpanStatusCode.UNSET);
    } finally {
      await srv.close();
    }
  });

  it('leaves the finish channel subscribed only until spans in flight at disable() end, and re-enables cleanly', async () => {
    const finish = diagnosticsChannel.channel('http.server.response.finish');
    let handle = enable();
    let release: (() => void) | undefined;
    const srv = await startServer((req, res) => {
      if (req.url === '/held') {
        handle.disable();
        release = () => res.end('held');
      } else {
        res.end('ok');
      }
    });
    try {
      const held = plainGet(srv.port, '/held');
      for (let i = 0; i < 200 && release === undefined; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(finish.hasSubscribers, true, 'kept for the span in flight');
      handle = enable();
      release!();
      assert.equal((await held).body, 'held');
      assert.equal((await plainGet(srv.port, '/next')).body, 'ok');
      const servers = byKind(await spans(2), SpanKind.SERVER);
      assert.deepEqual(servers.map((s) => s.attributes['url.path']).sort(), ['/held', '/next']);
      handle.disable();
      assert.equal(finish.hasSubscribers, false);
    } finally {
      await srv.close();
    }
  });

  it('parses each Host header on a keep-alive connection and keeps the peer address', async () => {
    enable();
    const srv = await startServer((_req, res) => res.end());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await plainGet(srv.port, '/a', { host: 'a.example:8080' }, agent);
      await plainGet(srv.port, '/b', { host: '[::1]' }, agent);
      await plainGet(srv.port, '/c', { host: '[::1]' }, agent);
      await plainGet(srv.port, '/d', { host: 'a.example:8080' }, agent);
      const servers = byKind(await spans(4), SpanKind.SERVER);
      const by = (p: string) => servers.find((s) => s.attributes['url.path'] === p)!.attributes;
      assert.deepEqual([by('/a')['server.address'], by('/a')['server.port']], ['a.example', 8080]);
      assert.deepEqual([by('/b')['server.address'], by('/b')['server.port']], ['::1', 80]);
      assert.deepEqual([by('/c')['server.address'], by('/c')['server.port']], ['::1', 80]);
      assert.deepEqual([by('/d')['server.address'], by('/d')['server.port']], ['a.example', 8080]);
      for (const p of ['/a', '/b', '/c', '/d']) assert.equal(by(p)['client.address'], '127.0.0.1');
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it('ends the spans of pipelined requests when the connection closes before they are answered', async () => {
    enable();
    const srv = await startServer((req, res) => {
      if (req.url === '/one') res.end('one');
    });
    try {
      const sock = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      const got = new Promise<void>((resolve) => sock.once('data', () => resolve()));
      sock.write(
        'GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      await got;
      sock.destroy();
      const servers = byKind(await spans(3), SpanKind.SERVER);
      const by = (p: string) => servers.find((s) => s.attributes['url.path'] === p)!;
      assert.equal(by('/one').attributes['http.response.status_code'], 200);
      assert.equal(by('/one').status.code, SpanStatusCode.UNSET);
      for (const p of ['/two', '/three']) {
        assert.equal(by(p).attributes['error.type'], 'aborted');
        assert.equal(by(p).status.code, SpanStatusCode.ERROR);
      }
    } finally {
      await srv.close();
    }
  });

  it('names the server span after the route a router reports', async () => {
    enable();
    const srv = await startServer((_req, res) => {
      setHttpRoute(res, '/users/:id');
      res.end();
    });
    try {
      await plainGet(srv.port, '/users/42');
      const server = one(byKind(await spans(1), SpanKind.SERVER));
      assert.equal(server.name, 'GET /users/:id');
      assert.equal(server.attributes['http.route'], '/users/:id');
      assert.equal(server.attributes['url.path'], '/users/42');
    } finally {
      await srv.close();
    }
  });
});
