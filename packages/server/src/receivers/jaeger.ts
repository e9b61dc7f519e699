/**
 * Jaeger collector HTTP receiver: `POST /api/traces` with a Thrift
 * binary-protocol `Batch` (`application/x-thrift`, or
 * `application/vnd.apache.thrift.binary`), which is what jaeger-client
 * libraries' HTTP senders post. Answers 202 with an empty body, as Jaeger's
 * collector does.
 *
 * Differences from Jaeger's collector, on purpose: an unsupported Content-Type
 * is 415 (Jaeger says 400) and every error body starts with our stable code.
 * Spans with bad ids are handled as in the Zipkin receiver: the valid ones are
 * kept (202, count in `x-traceloom-rejected-spans`), 400
 * `TL_ERR_NO_VALID_SPANS` only when none is valid.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJaegerThriftBatch } from '@traceloom/wire';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { type HttpServer, mediaType, type RouteContext, readBody, textErrorWriter } from './http-server.ts';
import { ingestAllOrSome, type ReceiverStats, RejectionLog } from './ingest.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { SpanSink } from './sink.ts';
import { listLocator } from './validate.ts';
import { REJECTED_SPANS_HEADER } from './zipkin.ts';

/** The Jaeger collector's span intake path. */
export const JAEGER_TRACES_PATH = '/api/traces';

const THRIFT_TYPES: ReadonlySet<string> = new Set(['application/x-thrift', 'application/vnd.apache.thrift.binary']);

/** Options of {@link mountJaeger}. */
export interface JaegerReceiverOptions {
  stats?: ReceiverStats;
  /** @default silent */
  logger?: Logger;
}

/** Adds `POST /api/traces` to `http`, writing what it decodes to `sink`. */
export function mountJaeger(http: HttpServer, sink: SpanSink, options: JaegerReceiverOptions = {}): void {
  const stats = options.stats;
  const logger = options.logger ?? silentLogger;
  const rejections = new RejectionLog((m) => logger.warn(`Jaeger: ${m}`));
  const locate = listLocator('batch.spans');
  const handler = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> => {
    if (!THRIFT_TYPES.has(mediaType(req.headers['content-type']))) {
      throw new ServerError(
        ServerErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Type '${req.headers['content-type'] ?? ''}' is not accepted on ${JAEGER_TRACES_PATH}; ` +
          'send application/x-thrift (a Thrift binary-protocol jaeger.thrift Batch)',
      );
    }
    const body = await readBody(req, ctx.maxBodyBytes);
    const spans = decodeJaegerThriftBatch(body);
    const part = await ingestAllOrSome(sink, spans, 'jaeger-thrift', body, 'jaeger-thrift', locate, stats, rejections);
    if (part.rejected > 0) res.setHeader(REJECTED_SPANS_HEADER, String(part.rejected));
    res.statusCode = 202;
    res.setHeader('content-length', 0);
    res.end();
  };
  http.route('POST', JAEGER_TRACES_PATH, handler, { errorWriter: textErrorWriter });
}
