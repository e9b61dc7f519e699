/**
 * Child process of the `http-overhead` benchmark: `GET /` over `connections`
 * kept-alive raw sockets to 127.0.0.1:<port> (see
 * `internal/raw-http-load.ts`), for `warmupMs` unmeasured and then
 * `durationMs` measured. Prints `MEASURING` when the measured window opens,
 * `MEASURED` when it closes (the parent samples the server's CPU time then),
 * then `{"requests":n,"errors":n,"seconds":s,"cpuSeconds":s}` (its own CPU
 * time in the window).
 */
import { runRawHttpLoad } from './internal/raw-http-load.ts';

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
const result = await runRawHttpLoad({
  port,
  request,
  connections,
  warmupMs,
  durationMs,
  onMeasuring: () => process.stdout.write('MEASURING\n'),
  onMeasured: () => process.stdout.write('MEASURED\n'),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
