/**
 * The load client of the child-process benchmarks: one pre-built HTTP/1.1
 * request sent over `connections` kept-alive raw sockets to 127.0.0.1, one
 * request in flight per connection (no pipelining, as exporters and browsers
 * do), `warmupMs` unmeasured and then `durationMs` measured.
 *
 * Raw `net` sockets and a minimal response parser (status line and
 * `Content-Length`; a response without one has an empty body): on a 2-core
 * machine a `node:http` Agent client tops out below the server's rate, and
 * this one costs far less per request.
 */
import { connect, type Socket } from 'node:net';

/** What {@link runRawHttpLoad} sends, and for how long. */
export interface RawHttpLoadOptions {
  readonly port: number;
  /** The whole request, head and body. */
  readonly request: Buffer;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Called when the measured window opens. */
  readonly onMeasuring?: () => void;
  /** Called when it closes. */
  readonly onMeasured?: () => void;
}

/** Counts of the measured window: 200 answers, other answers and socket errors, wall and own CPU seconds. */
export interface RawHttpLoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

/** Runs the load and resolves with the counts of the measured window. */
export async function runRawHttpLoad(options: RawHttpLoadOptions): Promise<RawHttpLoadResult> {
  const { port, request, connections, warmupMs, durationMs } = options;
  let measuring = false;
  let stopped = false;
  let ok = 0;
  let errors = 0;

  const drive = () =>
    new Promise<void>((resolve) => {
      const socket: Socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      const sendOne = () => {
        if (stopped) socket.end();
        else socket.write(request);
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
          const status200 = headers.startsWith('200', 9);
          buf = buf.length === total ? Buffer.alloc(0) : buf.subarray(total);
          if (measuring) {
            if (status200) ok++;
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

  const drivers = Array.from({ length: connections }, drive);
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  options.onMeasuring?.();
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const okAtStart = ok;
  await new Promise((r) => setTimeout(r, durationMs));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  measuring = false;
  options.onMeasured?.();
  stopped = true;
  const requests = ok - okAtStart;
  await Promise.race([Promise.all(drivers), new Promise((r) => setTimeout(r, 5000))]);
  return { requests, errors, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}
