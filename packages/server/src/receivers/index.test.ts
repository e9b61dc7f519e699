import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { send } from './fixtures/http.ts';
import { DEFAULT_RECEIVER_HOST, DEFAULT_RECEIVER_PORTS, startReceivers } from './index.ts';
import { RecordingSink } from './sink.ts';

const local = { host: '127.0.0.1', port: 0 };

/** A free port, found by binding 0 and letting go. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('startReceivers', () => {
  it('defaults to localhost and the ecosystem ports', () => {
    assert.equal(DEFAULT_RECEIVER_HOST, 'localhost');
    assert.deepEqual({ ...DEFAULT_RECEIVER_PORTS }, { otlpHttp: 4318, otlpGrpc: 4317, zipkin: 9411, jaeger: 14268 });
  });

  it('starts every receiver on ephemeral ports and reports the bound ports', async () => {
    const running = await startReceivers(new RecordingSink(), {
      otlpHttp: local,
      otlpGrpc: local,
      zipkin: local,
      jaeger: local,
    });
    try {
      const ports = Object.values(running.ports);
      assert.equal(ports.length, 4);
      assert.ok(ports.every((p) => typeof p === 'number' && p > 0));
      assert.equal(new Set(ports).size, 4);
      const r = await send(running.ports.otlpHttp as number, { method: 'GET', path: '/v1/traces' });
      assert.equal(r.status, 405);
    } finally {
      await running.close();
    }
  });

  it('leaves out receivers set to false', async () => {
    const running = await startReceivers(new RecordingSink(), {
      otlpHttp: false,
      otlpGrpc: false,
      zipkin: local,
      jaeger: false,
    });
    try {
      assert.deepEqual(Object.keys(running.ports), ['zipkin']);
      assert.deepEqual(Object.keys(running.http), ['zipkin']);
    } finally {
      await running.close();
    }
  });

  it('puts receivers configured on the same port on one server, and lets routes be added to it', async () => {
    const port = await freePort();
    const sink = new RecordingSink();
    const running = await startReceivers(sink, {
      otlpHttp: false,
      otlpGrpc: false,
      zipkin: { host: '127.0.0.1', port },
      jaeger: { host: '127.0.0.1', port },
    });
    try {
      assert.equal(running.ports.zipkin, port);
      assert.equal(running.ports.jaeger, port);
      assert.equal(running.http.zipkin, running.http.jaeger);
      // A later stage (the Zipkin query API) adds its routes beside the intake.
      running.http.zipkin?.route('GET', '/api/v2/services', (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('["frontend"]');
      });
      const services = await send(port, { method: 'GET', path: '/api/v2/services' });
      assert.equal(services.status, 200);
      assert.equal(services.text, '["frontend"]');
      const jaeger = await send(port, {
        path: '/api/traces',
        headers: { 'content-type': 'application/json' },
        body: '',
      });
      assert.equal(jaeger.status, 415, 'the Jaeger route is there too');
    } finally {
      await running.close();
    }
  });

  it('fails with TL_ERR_PORT_IN_USE naming the flag, and closes what it had started', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as { port: number }).port;
    const otlpPort = await freePort();
    try {
      await assert.rejects(
        startReceivers(new RecordingSink(), {
          otlpHttp: { host: '127.0.0.1', port: otlpPort },
          otlpGrpc: false,
          zipkin: { host: '127.0.0.1', port: busy },
          jaeger: false,
        }),
        (e: Error) => {
          assert.equal((e as { code?: string }).code, 'TL_ERR_PORT_IN_USE');
          assert.match(e.message, new RegExp(`Zipkin cannot listen on 127\\.0\\.0\\.1:${busy}`));
          assert.match(e.message, /--zipkin-port <port> \(or TRACELOOM_ZIPKIN_PORT\)/);
          return true;
        },
      );
      // The OTLP/HTTP server that had started is closed again: its port is free.
      const again = await startReceivers(new RecordingSink(), {
        otlpHttp: { host: '127.0.0.1', port: otlpPort },
        otlpGrpc: false,
        zipkin: false,
        jaeger: false,
      });
      assert.equal(again.ports.otlpHttp, otlpPort);
      await again.close();
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('closes idempotently', async () => {
    const running = await startReceivers(new RecordingSink(), {
      otlpHttp: local,
      otlpGrpc: local,
      zipkin: false,
      jaeger: false,
    });
    await running.close();
    await running.close();
    await assert.rejects(send(running.ports.otlpHttp as number, { method: 'GET', path: '/' }), /ECONNREFUSED/);
  });
});
