/** The `traceloom` command run as a user runs it: through bin/traceloom.js, in a child process. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { send } from '../receivers/fixtures/http.ts';
import { type CliProcess, runCli, waitForOutput } from './fixtures/cli-process.ts';

/** Every run keeps its data in a fresh temporary folder, never in the working directory. */
function run(args: string[], env: Record<string, string> = {}): CliProcess {
  const dataDir = mkdtempSync(join(tmpdir(), 'tl-cli-'));
  return runCli(args, { TRACELOOM_DATA_DIR: dataDir, TRACELOOM_API_PORT: '0', ...env });
}

const waitFor = (r: CliProcess, text: () => string, re: RegExp) => waitForOutput(r, text, re, 20_000);

describe('traceloom CLI', () => {
  it('prints where to send data, counts what arrives, and stops cleanly on SIGTERM', async () => {
    const r = run(
      ['start', '--host', '127.0.0.1', '--otlp-http-port', '0', '--zipkin-port', '0', '--log-interval', '0.2'],
      { TRACELOOM_OTLP_GRPC_PORT: 'off', TRACELOOM_JAEGER_PORT: 'off' },
    );
    try {
      const otlp = await waitFor(r, r.out, /OTLP\/HTTP {2}http:\/\/127\.0\.0\.1:(\d+)\/v1\/traces/);
      const zipkin = await waitFor(r, r.out, /Zipkin {5}http:\/\/127\.0\.0\.1:(\d+)\/api\/v2\/spans/);
      assert.match(r.out(), /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:\d+\n/);
      assert.doesNotMatch(r.out(), /OTLP\/gRPC|Jaeger /, 'receivers turned off are not listed');
      assert.ok(Number(otlp[1]) > 0);
      const reply = await send(Number(zipkin[1]), {
        path: '/api/v2/spans',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f', id: '6b221d5bc9e6496c', name: 'a', timestamp: 1, duration: 1 },
          { traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f', id: '6b221d5bc9e6496d', name: 'b', timestamp: 1, duration: 1 },
        ]),
      });
      assert.equal(reply.status, 202);
      await waitFor(r, r.out, /received 2 spans in the last 0\.2s \(zipkin 2\); 2 in total/);
      const api = await waitFor(r, r.out, /Query API:\n {2}http:\/\/127\.0\.0\.1:(\d+)\/api\/v1\/services/);
      assert.match(r.out(), /Spans are stored in .*tl-cli-.* \(kept 7 days\)/);
      // Acknowledged means durable, not yet visible: the store commits within a quarter second.
      let trace: Response | undefined;
      for (let i = 0; i < 40; i++) {
        trace = await fetch(`http://127.0.0.1:${api[1]}/api/v1/traces/5af7183fb1d4cf5f5af7183fb1d4cf5f`);
        if (trace.status === 200) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal(trace?.status, 200);
      const body = (await trace?.json()) as { spans: unknown[] };
      assert.equal(body.spans.length, 2);
      r.child.kill('SIGTERM');
      assert.equal(await r.exited, 0);
      assert.match(r.out(), /stopped; received 2 spans in total \(zipkin 2\)/);
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('exits 1 with TL_ERR_DATA_DIR when the data folder is in use or not a folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-cli-shared-'));
    const quiet = { TRACELOOM_OTLP_GRPC_PORT: 'off', TRACELOOM_ZIPKIN_PORT: 'off', TRACELOOM_JAEGER_PORT: 'off' };
    const first = run(['--host', '127.0.0.1', '--otlp-http-port', '0'], { ...quiet, TRACELOOM_DATA_DIR: dir });
    try {
      await waitFor(first, first.out, /Ctrl-C stops/);
      const second = run(['--host', '127.0.0.1', '--otlp-http-port', '0'], { ...quiet, TRACELOOM_DATA_DIR: dir });
      assert.equal(await second.exited, 1);
      assert.match(
        second.err(),
        new RegExp(`TL_ERR_DATA_DIR: .*in use by another process \\(PID ${first.child.pid}\\)`),
      );
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const bad = run(['--otlp-http-port', '0'], { ...quiet, TRACELOOM_DATA_DIR: file });
    assert.equal(await bad.exited, 1);
    assert.match(bad.err(), /TL_ERR_DATA_DIR: cannot use the data folder .*not-a-folder: a file is in the way/);
  });

  it('exits 1 with the port and the flag to change it when a port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const r = run([
        '--host',
        '127.0.0.1',
        '--otlp-http-port',
        String(busy),
        '--otlp-grpc-port',
        'off',
        '--zipkin-port',
        'off',
        '--jaeger-port',
        'off',
      ]);
      assert.equal(await r.exited, 1);
      assert.match(
        r.err(),
        new RegExp(`TL_ERR_PORT_IN_USE: OTLP/HTTP cannot listen on 127\\.0\\.0\\.1:${busy}.*--otlp-http-port`),
      );
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });

  it('exits 2 on a bad flag and 0 on --help', async () => {
    const bad = run(['--zipkin-port', 'nine']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.err(), /TL_ERR_BAD_CONFIG: --zipkin-port must be a port number/);
    const help = run(['--help']);
    assert.equal(await help.exited, 0);
    assert.match(help.out(), /^Usage: traceloom \[start\] \[options\]/);
  });
});
