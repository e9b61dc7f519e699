/**
 * Zipkin v2 receiver: `POST /api/v2/spans` with a JSON array of spans
 * (`application/json`, also assumed for no or any other Content-Type, as
 * Zipkin's own server does) or a proto3 `ListOfSpans` (`application/x-protobuf`),
 * optionally gzip/deflate compressed. Answers 202 with an empty body.
 *
 * Decision on spans with bad ids: Zipkin's protocol has no partial success,
 * and failing a whole batch for one bad span would lose the good ones. So the
 * valid spans are accepted (202) and the dropped ones are counted, logged (at
 * most once per 10 s) and reported in the `x-traceloom-rejected-spans` response
 * header. Only when none of the spans is valid is the request answered 400
 * `TL_ERR_NO_VALID_SPANS`, so a sender whose ids are all wrong finds out.
 *
 * Errors are text/plain, `TL_ERR_...: what was wrong. what to do.`, like
 * Zipkin's own text error bodies but with our stable code first.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '@traceloom/model';
import { decodeZipkinJson, decodeZipkinProto } from '@traceloom/wire';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { type HttpServer, mediaType, type RouteContext, readBody, textErrorWriter } from './http-server.ts';
import { ingestAllOrSome, type ReceiverStats, RejectionLog } from './ingest.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { SpanSink } from './sink.ts';
import { listLocator } from './validate.ts';

/** The Zipkin v2 span intake path. */
export const ZIPKIN_SPANS_PATH = '/api/v2/spans';

/** Response header with the number of spans dropped for bad ids (present only when some were). */
export const REJECTED_SPANS_HEADER = 'x-traceloom-rejected-spans';

/** Options of {@link mountZipkin}. */
export interface ZipkinReceiverOptions {
  stats?: ReceiverStats;
  /** @default silent */
  logger?: Logger;
}

/** Adds `POST /api/v2/spans` to `http`, writing what it decodes to `sink`. */
export function mountZipkin(http: HttpServer, sink: SpanSink, options: ZipkinReceiverOptions = {}): void {
  const stats = options.stats;
  const logger = options.logger ?? silentLogger;
  const rejections = new RejectionLog((m) => logger.warn(`Zipkin: ${m}`));
  const locate = listLocator('spans');
  const handler = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> => {
    const type = mediaType(req.headers['content-type']);
    // Like Zipkin's own collector, anything that is not protobuf is read as JSON
    // (so `curl -d` works); only a Zipkin v1 Thrift body is turned away up front.
    const proto = type === 'application/x-protobuf' || type === 'application/protobuf';
    if (type === 'application/x-thrift') {
      throw new ServerError(
        ServerErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Type '${req.headers['content-type']}' (Zipkin v1 Thrift) is not accepted on ${ZIPKIN_SPANS_PATH}; ` +
          'send Zipkin v2 as application/json or application/x-protobuf',
      );
    }
    const body = await readBody(req, ctx.maxBodyBytes);
    let spans: Span[];
    if (proto) spans = decodeZipkinProto(body);
    else {
      let text = body.toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      spans = decodeZipkinJson(text);
    }
    const format = proto ? 'zipkin-proto' : 'zipkin-json';
    const part = await ingestAllOrSome(sink, spans, 'zipkin', body, format, locate, stats, rejections);
    if (part.rejected > 0) res.setHeader(REJECTED_SPANS_HEADER, String(part.rejected));
    res.statusCode = 202;
    res.setHeader('content-length', 0);
    res.end();
  };
  http.route('POST', ZIPKIN_SPANS_PATH, handler, { errorWriter: textErrorWriter });
}
