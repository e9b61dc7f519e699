/**
 * Durability under `kill -9`: the server runs in a child process under load
 * and is killed with SIGKILL several times; after a final restart every span
 * whose request was answered with success must be stored, and no span twice.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { Span } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { encodeOtlpTraces } from '@traceloom/wire';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { runCli, waitForOutput } from './fixtures/cli-process.ts';

const SPANS_PER_TRACE = 8;
const TRACES_PER_REQUEST = 16;

interface Server {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  output: () => string;
}

async function startServer(dataDir: string): Promise<Server> {
  const p = runCli(['--host', '127.0.0.1', '--otlp-http-port', '0', '--log-interval', '0', '--log-level', 'warn'], {
    TRACELOOM_DATA_DIR: dataDir,
    TRACELOOM_API_PORT: 'off',
    TRACELOOM_OTLP_GRPC_PORT: 'off',
    TRACELOOM_ZIPKIN_PORT: 'off',
    TRACELOOM_JAEGER_PORT: 'off',
  });
  const m = await waitForOutput(p, p.out, /OTLP\/HTTP {2}http:\/\/127\.0\.0\.1:(\d+)/);
  return { child: p.child, port: Number(m[1]), exited: p.exited, output: () => `${p.out()}\n${p.err()}` };
}

const resource = testResource('crash-test');

/** A request body of unique traces, numbered from `first`. */
function body(first: number): { bytes: Uint8Array; traceIds: string[] } {
  const spans: Span[] = [];
  const traceIds: string[] = [];
  // Recent times: the server's retention (7 days) must not touch them.
  const start = BigInt(Date.now() - 60_000) * 1_000_000n;
  for (let t = 0; t < TRACES_PER_REQUEST; t++) {
    const traceId = (first + t + 1).toString(16).padStart(32, '0');
    traceIds.push(traceId);
    for (let s = 0; s < SPANS_PER_TRACE; s++) {
      spans.push(
        testSpan({
          traceId,
          spanId: (s + 1).toString(16).padStart(16, '0'),
          parentSpanId: s === 0 ? '' : '0000000000000001',
          name: `op-${s}`,
          startTimeUnixNano: start + BigInt(first + t) * 1000n,
          endTimeUnixNano: start + BigInt(first + t) * 1000n + 500n,
          attributes: [{ key: 'n', value: BigInt(first + t) }],
          resource,
        }),
      );
    }
  }
  return { bytes: encodeOtlpTraces(spans), traceIds };
}

/** Posts one body; resolves with true only on a 200 answer. */
function post(port: number, bytes: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/traces',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': bytes.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      },
    );
    req.on('error', () => resolve(false));
    req.end(bytes);
  });
}

it('keeps every acknowledged span, once, across repeated SIGKILLs', { timeout: 180_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tl-crash-'));
  const acked = new Set<string>();
  const sent = new Set<string>();
  let next = 0;
  try {
    for (let round = 0; round < 4; round++) {
      const server = await startServer(dataDir);
      let stop = false;
      const workers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const { bytes, traceIds } = body(next);
          next += TRACES_PER_REQUEST;
          for (const t of traceIds) sent.add(t);
          if (await post(server.port, bytes)) for (const t of traceIds) acked.add(t);
        }
      });
      // Kill while requests are in flight, at a different moment each round.
      await new Promise((r) => setTimeout(r, 400 + round * 250));
      server.child.kill('SIGKILL');
      await server.exited;
      stop = true;
      await Promise.all(workers);
    }
    // A last start replays the log; a clean stop commits everything.
    const last = await startServer(dataDir);
    last.child.kill('SIGTERM');
    const code = await last.exited;
    assert.equal(code, 0, `the server did not stop cleanly:\n${last.output()}`);

    assert.ok(acked.size > 100, `only ${acked.size} traces were acknowledged: the load did not run`);
    const store = await DuckDbStore.open({ dataDir });
    try {
      // A request's spans are one log record and one commit: a trace is stored whole or not at all,
      // so its span count tells "missing" (0), "once" (8) and "twice" (16) apart. Summaries give
      // the counts a thousand traces per query; reading every trace back took minutes.
      let stored = 0;
      const ids = [...sent];
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = ids.slice(i, i + 1000);
        const counts = new Map((await store.traceSummaries(chunk)).map((t) => [t.traceId, t.spanCount]));
        for (const traceId of chunk) {
          const n = counts.get(traceId) ?? 0;
          assert.ok(n === 0 || n === SPANS_PER_TRACE, `trace ${traceId} holds ${n} spans: partly stored, or twice`);
          if (acked.has(traceId)) assert.equal(n, SPANS_PER_TRACE, `acknowledged trace ${traceId} is missing`);
          stored += n;
        }
      }
      // And a sample read back whole: every span once.
      for (const traceId of ids.filter((t) => acked.has(t)).slice(0, 200)) {
        const spans = (await store.getTrace(traceId)) ?? [];
        assert.equal(new Set(spans.map((s) => s.spanId)).size, SPANS_PER_TRACE, `trace ${traceId} read back wrong`);
        assert.equal(spans.length, SPANS_PER_TRACE, `trace ${traceId} has a span stored twice`);
      }
      assert.equal((await store.stats()).spans, stored, 'the store holds spans nobody sent');
    } finally {
      await store.close();
    }
  } finally {
    if (process.env.TL_KEEP === undefined) await rm(dataDir, { recursive: true, force: true });
    else console.log('kept', dataDir);
  }
});
