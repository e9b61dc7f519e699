/**
 * Child process of the `receive` benchmark: posts one pre-encoded OTLP
 * protobuf request (512 realistic spans) over `connections` kept-alive
 * connections to 127.0.0.1:<port>, one request in flight per connection (as
 * OTLP exporters do), for `warmupMs` unmeasured and then `durationMs`
 * measured. Prints `{"requests":n,"spans":n,"errors":n,"seconds":s}`.
 *
 * Speaks HTTP/1.1 on raw sockets with a minimal response parser, so the load
 * generator spends as little as possible of the machine's two cores.
 */
import { connect, type Socket } from 'node:net';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { makeReadableSpans } from './wire.ts';

const [portArg, durationArg, warmupArg, connectionsArg] = process.argv.slice(2);
const port = Number(portArg);
const durationMs = Number(durationArg ?? 8000);
const warmupMs = Number(warmupArg ?? 2000);
const connections = Number(connectionsArg ?? 8);
if (!(port > 0) || !(durationMs > 0) || !(connections > 0)) {
  console.error('usage: receive-load.ts <port> [durationMs] [warmupMs] [connections]');
  process.exit(2);
}

const SPANS_PER_REQUEST = 512;
const body = ProtobufTraceSerializer.serializeRequest(makeReadableSpans(SPANS_PER_REQUEST));
if (body === undefined) throw new Error('serializer returned nothing');
const request = Buffer.concat([
  Buffer.from(
    `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-protobuf\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`,
  ),
  body,
]);

let measuring = false;
let stopped = false;
let ok = 0;
let errors = 0;

/** Drives one connection: send, read one whole response, repeat until stopped. */
function drive(): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    const sendOne = () => {
      if (stopped) {
        socket.end();
        return;
      }
      socket.write(request);
    };
    socket.on('connect', sendOne);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const headers = buf.subarray(0, head).toString('latin1');
        const m = /content-length: *(\d+)/i.exec(headers);
        const total = head + 4 + (m === null ? 0 : Number(m[1]));
        if (buf.length < total) return;
        const status = Number(headers.slice(9, 12));
        buf = buf.subarray(total);
        if (measuring) {
          if (status === 200) ok++;
          else errors++;
        }
        sendOne();
      }
    });
    socket.on('error', () => {
      if (measuring) errors++;
    });
    socket.on('close', () => resolve());
  });
}

const drivers = Array.from({ length: connections }, () => drive());
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, durationMs));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
measuring = false;
stopped = true;
const requests = ok;
await Promise.race([Promise.all(drivers), new Promise((r) => setTimeout(r, 5000))]);
process.stdout.write(
  `${JSON.stringify({ requests, spans: requests * SPANS_PER_REQUEST, errors, seconds, bodyBytes: body.length })}\n`,
);
process.exit(0);
