/**
 * Child process of the `receive` benchmark: posts one pre-encoded OTLP
 * protobuf request (512 realistic spans) over `connections` kept-alive
 * connections to 127.0.0.1:<port> (see `internal/raw-http-load.ts`), for
 * `warmupMs` unmeasured and then `durationMs` measured. Prints
 * `{"requests":n,"spans":n,"errors":n,"seconds":s,"bodyBytes":n}`.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { runRawHttpLoad } from './internal/raw-http-load.ts';
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

const { requests, errors, seconds } = await runRawHttpLoad({ port, request, connections, warmupMs, durationMs });
process.stdout.write(
  `${JSON.stringify({ requests, spans: requests * SPANS_PER_REQUEST, errors, seconds, bodyBytes: body.length })}\n`,
);
process.exit(0);
