/**
 * Child process of the `http-overhead` benchmark: `GET /` over `connections`
 * kept-alive raw sockets to 127.0.0.1:<port>, one request in flight per
 * connection (no pipelining), for `warmupMs` unmeasured and then `durationMs`
 * measured. Prints `MEASURING` when the measured window opens, `MEASURED`
 * when it closes, then
 * `{"requests":n,"errors":n,"seconds":s,"cpuSeconds":s}` (its own CPU time in
 * the window).
 *
 * Speaks HTTP/1.1 on `net` sockets with a minimal response parser (status
 * line and `Content-Length`): on a 2-core machine a `node:http` Agent client
 * tops out below the server's rate, and this one costs far less per request.
 */
import { connect, type Socket } from 'node:net';

const [portArg, durationArg, warmupArg, connectionsArg] = process.argv.slice(2);
const port = Number(portArg);
const durationMs = Number(durationArg ?? 8000);
const warmupMs = Number(warmupArg ?? 3000);
const connections = Number(connectionsArg ?? 32);
if (!(port > 0) || !(durationMs > 0) || !(connections > 0)) {
  console.error('usage: http-overhead-load.ts <port> [durationMs] [warmupMs] [connections]');
  process.exit(2);
}

const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`, 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

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
        const head = buf.indexOf(HEAD_END);
        if (head < 0) return;
        const headers = buf.toString('latin1', 0, head);
        const m = CONTENT_LENGTH.exec(headers);
        if (m === null) {
          // Only Content-Length bodies are expected from the hello-world server.
          errors++;
          socket.destroy();
          return;
        }
        const total = head + 4 + Number(m[1]);
        if (buf.length < total) return;
        const status = headers.charCodeAt(9) === 50 && headers.startsWith('00', 10);
        buf = buf.length === total ? Buffer.alloc(0) : buf.subarray(total);
        if (measuring) {
          if (status) ok++;
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
// The parent samples the server's CPU time when it reads this line and at exit.
process.stdout.write('MEASURING\n');
const cpuStart = process.cpuUsage();
const start = process.hrtime.bigint();
const okAtStart = ok;
await new Promise((r) => setTimeout(r, durationMs));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpuStart);
measuring = false;
process.stdout.write('MEASURED\n');
stopped = true;
const requests = ok - okAtStart;
await Promise.race([Promise.all(drivers), new Promise((r) => setTimeout(r, 5000))]);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ requests, errors, seconds, cpuSeconds })}\n`);
process.exit(0);
