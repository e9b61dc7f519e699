/**
 * Child process of the `ingest` benchmark: posts OTLP protobuf requests of
 * 512 generated spans (packages/demo/src/loadgen/generator.ts, the loadgen's generator) over `connections`
 * kept-alive connections to 127.0.0.1:<port>, one request in flight per
 * connection, `warmupMs` unmeasured then `durationMs` measured, and times
 * every acknowledgement.
 *
 * A store drops spans it has already stored (same trace and span id), so
 * replaying a fixed payload would measure the duplicate check instead of
 * ingestion. The load therefore encodes a pool of 64 requests once and, on
 * every reuse of one, rewrites the last four bytes of each trace id in place
 * with the round number: every request carries new traces, at no encoding
 * cost in this process.
 *
 * Why not `internal/raw-http-load.ts`: it sends one fixed request and counts
 * answers; this needs a different request each time and per-request
 * latency. (Folding both into it, with a request factory and a latency
 * callback, would remove this loop.)
 *
 * Prints `{"requests","spans","errors","throttled","reconnects","seconds","ackedSpans","p50Ms","p99Ms","bodyBytes"}`:
 * counts of the measured window (`throttled`: 429/503 answers, retried as
 * an exporter would; latencies are of the attempts answered 200), and
 * `ackedSpans` of the whole run.
 */
import { connect, type Socket } from 'node:net';
import type { Span } from '@traceloom/model';
import { encodeOtlpBatch, generateTraces, spanChunks } from '../packages/demo/src/loadgen/generator.ts';

const [portArg, durationArg, warmupArg, connectionsArg, seedArg] = process.argv.slice(2);
const port = Number(portArg);
const durationMs = Number(durationArg ?? 60_000);
const warmupMs = Number(warmupArg ?? 2000);
const connections = Number(connectionsArg ?? 8);
const seed = Number(seedArg ?? 1);
if (!(port > 0) || !(durationMs > 0) || !(connections > 0)) {
  console.error('usage: ingest-load.ts <port> [durationMs] [warmupMs] [connections] [seed]');
  process.exit(2);
}

const SPANS_PER_REQUEST = 512;
const POOL = 64;

interface Payload {
  readonly request: Buffer;
  /** Offsets of the last four bytes of every trace id in `request`, and their original values. */
  readonly offsets: Uint32Array;
  readonly original: Uint32Array;
}

function payload(spans: readonly Span[]): Payload {
  const body = encodeOtlpBatch(spans);
  const head = Buffer.from(
    `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-protobuf\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`,
  );
  const request = Buffer.concat([head, body]);
  const found: number[] = [];
  for (const id of new Set(spans.flatMap((s) => [s.traceId, ...s.links.map((l) => l.traceId)]))) {
    const needle = Buffer.from(id, 'hex');
    for (let at = request.indexOf(needle, head.length); at >= 0; at = request.indexOf(needle, at + 16)) {
      found.push(at + 12);
    }
  }
  const offsets = Uint32Array.from(found);
  const original = offsets.map((o) => request.readUInt32BE(o));
  return { request, offsets, original };
}

// Live traffic: the traces start within the last 10 s (not spread over a past day), so the
// server's per-minute metrics and day files see what they see in production.
const WINDOW_NANO = 10_000_000_000n;
const startUnixNano = BigInt(Date.now()) * 1_000_000n - WINDOW_NANO;
const pool: Payload[] = [];
const traces = generateTraces({ seed, spans: SPANS_PER_REQUEST * POOL, startUnixNano, windowNano: WINDOW_NANO });
for (const chunk of spanChunks(traces, SPANS_PER_REQUEST)) {
  if (chunk.length === SPANS_PER_REQUEST && pool.length < POOL) pool.push(payload(chunk));
}
const bodyBytes = (pool[0] as Payload).request.length;

let sent = 0;
/** The next request: pool entry `sent % POOL`, its trace ids marked with round `sent / POOL`. */
function nextRequest(): Buffer {
  const p = pool[sent % POOL] as Payload;
  const round = Math.floor(sent / POOL);
  sent++;
  for (let i = 0; i < p.offsets.length; i++) {
    p.request.writeUInt32BE(((p.original[i] as number) ^ round) >>> 0, p.offsets[i] as number);
  }
  // A copy: a request retried after a 429 must keep its own trace ids while the pool entry is
  // rewritten for later rounds (sending the shared buffer made retries duplicates of other requests).
  return Buffer.from(p.request);
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;
const RETRY_AFTER = /\r\nretry-after: *(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection: *close/i;
let measuring = false;
let stopped = false;
let ok = 0;
let errors = 0;
let throttled = 0;
let reconnects = 0;
let ackedTotal = 0;
const latencies: number[] = [];

/**
 * One connection slot, behaving as an OTLP exporter does: a 429 or 503 is
 * retried with the same request after `Retry-After` (1 s when absent), and a
 * connection the server closes is opened again.
 */
const drive = () =>
  new Promise<void>((resolve) => {
    let pending: Buffer | undefined;
    let t0 = 0n;
    let retryAt = 0;
    const open = () => {
      const socket: Socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      let closing = false;
      const sendOne = () => {
        if (stopped && pending === undefined) {
          socket.end();
          return;
        }
        pending ??= nextRequest();
        t0 = process.hrtime.bigint();
        socket.write(pending);
      };
      socket.on('connect', sendOne);
      socket.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          const head = buf.indexOf(HEAD_END);
          if (head < 0) return;
          const headers = buf.toString('latin1', 0, head);
          const m = CONTENT_LENGTH.exec(headers);
          const total = head + 4 + (m === null ? 0 : Number(m[1]));
          if (buf.length < total) return;
          buf = buf.length === total ? Buffer.alloc(0) : buf.subarray(total);
          const status = headers.slice(9, 12);
          closing = CONNECTION_CLOSE.test(headers);
          if (status === '200') {
            pending = undefined;
            ackedTotal += SPANS_PER_REQUEST;
            if (measuring) {
              ok++;
              latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            }
          } else if (status === '429' || status === '503') {
            if (measuring) throttled++;
            const wait = Number(RETRY_AFTER.exec(headers)?.[1] ?? 1) * 1000;
            retryAt = Date.now() + wait;
            // With `Connection: close` the 'close' handler reconnects once the wait is over.
            if (closing) socket.end();
            else setTimeout(sendOne, wait);
            return;
          } else {
            pending = undefined;
            if (measuring) errors++;
            if (errors < 3) console.error(`ingest-load: ${headers.split('\r\n')[0]}`);
          }
          if (closing) {
            socket.end();
            return;
          }
          sendOne();
        }
      });
      socket.on('error', (e) => {
        if (!stopped && e.message.includes('ECONNREFUSED')) console.error(`ingest-load: ${e.message}`);
      });
      socket.on('close', () => {
        // The request in flight (or waiting out a 429) is sent again on a new connection.
        if (stopped) resolve();
        else {
          reconnects++;
          setTimeout(open, Math.max(closing ? 0 : 50, retryAt - Date.now()));
        }
      });
    };
    open();
  });

const drivers = Array.from({ length: connections }, drive);
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const okAtStart = ok;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, durationMs));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
measuring = false;
stopped = true;
const requests = ok - okAtStart;
// Requests in flight are still answered (and counted in ackedSpans) before the sockets close.
await Promise.race([Promise.all(drivers), new Promise((r) => setTimeout(r, 30_000))]);
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
process.stdout.write(
  `${JSON.stringify({
    requests,
    spans: requests * SPANS_PER_REQUEST,
    errors,
    throttled,
    reconnects,
    seconds,
    ackedSpans: ackedTotal,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    bodyBytes,
  })}\n`,
);
process.exit(0);
