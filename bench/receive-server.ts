/**
 * Child process of the `receive` benchmark: one HTTP server on 127.0.0.1 and
 * an ephemeral port, one of:
 * - `traceloom`: Traceloom's OTLP/HTTP receiver with a counting sink. The
 *   receiver validates and counts each protobuf body and hands the sink a lazy
 *   batch, which this sink never reads, so nothing is decoded;
 * - `traceloom-decoded`: the same with a sink that reads `batch.spans` before
 *   it resolves, so every body is decoded before the client gets its answer
 *   (what a pipeline stage that reads the spans at once costs);
 * - `bare`: a `node:http` server that reads and discards each body and answers
 *   200 (the ceiling).
 * Prints `READY <port>` when listening; on SIGTERM prints
 * `{"spans":n,"requests":n}` and exits.
 */
import { createServer } from 'node:http';
import type { SpanBatch } from '../packages/model/src/index.ts';
import { startReceivers } from '../packages/server/src/receivers/index.ts';
import { CountingSink, type IngestMeta } from '../packages/server/src/receivers/sink.ts';

/** A {@link CountingSink} that decodes each batch (by reading its spans) before it accepts it. */
class DecodingSink extends CountingSink {
  decoded = 0;

  override async write(batch: SpanBatch, meta: IngestMeta): Promise<void> {
    this.decoded += batch.spans.length;
    await super.write(batch, meta);
  }
}

const mode = process.argv[2];
let report: () => { spans: number; requests: number };
let close: () => Promise<void>;
let port: number;

if (mode === 'traceloom' || mode === 'traceloom-decoded') {
  const sink = mode === 'traceloom' ? new CountingSink() : new DecodingSink();
  const running = await startReceivers(sink, {
    otlpHttp: { host: '127.0.0.1', port: 0 },
    otlpGrpc: false,
    zipkin: false,
    jaeger: false,
  });
  port = running.ports.otlpHttp as number;
  report = () => ({ spans: sink.spans, requests: sink.batches });
  close = () => running.close();
} else if (mode === 'bare') {
  let requests = 0;
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  report = () => ({ spans: 0, requests });
  close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
} else {
  console.error('usage: receive-server.ts traceloom|traceloom-decoded|bare');
  process.exit(2);
}

process.on('SIGTERM', () => {
  const r = report();
  void close().then(() => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  });
});
process.stdout.write(`READY ${port}\n`);
