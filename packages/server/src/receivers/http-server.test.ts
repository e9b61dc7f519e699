import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { send, sendRaw } from './fixtures/http.ts';
import { ERROR_CODE_HEADER, HttpServer, jsonErrorWriter, readBody } from './http-server.ts';

const CAP = 64 * 1024;

/** A server whose POST /echo answers with the length and sha256 of the body it read. */
async function echoServer(
  options: Partial<ConstructorParameters<typeof HttpServer>[0]> = {},
): Promise<{ http: HttpServer; port: number }> {
  const http = new HttpServer({ name: 'test', maxBodyBytes: CAP, ...options });
  http.route('POST', '/echo', async (req, res, ctx) => {
    const body = await readBody(req, ctx.maxBodyBytes);
    const digest = createHash('sha256').update(body).digest('hex');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ length: body.length, digest }));
  });
  http.route('GET', '/trace/:id', (_req, res, ctx) => {
    res.end(`trace ${ctx.params.id}`);
  });
  http.route('POST', '/boom', () => {
    throw new Error('handler bug');
  });
  const port = await http.listen('127.0.0.1', 0);
  return { http, port };
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

const payload = Buffer.from('x'.repeat(1000) + 'y'.repeat(1000));

/** Asserts the server still answers a good request. */
async function assertServes(port: number): Promise<void> {
  const r = await send(port, { path: '/echo', body: payload });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.text), { length: payload.length, digest: sha(payload) });
}

describe('HttpServer', () => {
  let http: HttpServer;
  let port: number;
  before(async () => {
    ({ http, port } = await echoServer({ requestTimeoutMs: 600, headersTimeoutMs: 600 }));
  });
  after(() => http.close());

  it('reads an identity body', async () => {
    await assertServes(port);
  });

  it('decompresses gzip, x-gzip, deflate (zlib and raw) and br bodies', async () => {
    const cases: [string, Buffer][] = [
      ['gzip', gzipSync(payload)],
      ['x-gzip', gzipSync(payload)],
      ['GZIP', gzipSync(payload)],
      ['deflate', deflateSync(payload)],
      ['deflate', deflateRawSync(payload)],
      ['br', brotliCompressSync(payload)],
      ['identity', payload],
    ];
    for (const [encoding, body] of cases) {
      const r = await send(port, { path: '/echo', headers: { 'content-encoding': encoding }, body });
      assert.equal(r.status, 200, `${encoding}: ${r.text}`);
      assert.deepEqual(JSON.parse(r.text), { length: payload.length, digest: sha(payload) }, encoding);
    }
  });

  it('answers 413 for a declared length over the cap, then keeps serving', async () => {
    const r = await send(port, { path: '/echo', body: Buffer.alloc(CAP + 1) });
    assert.equal(r.status, 413);
    assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_BODY_TOO_LARGE');
    assert.match(r.text, /^TL_ERR_BODY_TOO_LARGE: .*larger than the limit of 65536 bytes \(64 KiB\).*--max-body/);
    await assertServes(port);
  });

  it('accepts a body of exactly the cap', async () => {
    const body = Buffer.alloc(CAP, 7);
    const r = await send(port, { path: '/echo', body });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).length, CAP);
  });

  it('answers 413 for a chunked body that grows past the cap', async () => {
    const r = await new Promise<{ status: number; code: unknown }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/echo', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers[ERROR_CODE_HEADER] }));
      });
      req.on('error', reject);
      // No Content-Length: node sends it chunked; the cap is hit while streaming.
      for (let i = 0; i < 4; i++) req.write(Buffer.alloc(CAP / 2));
      req.end();
    });
    assert.equal(r.status, 413);
    assert.equal(r.code, 'TL_ERR_BODY_TOO_LARGE');
    await assertServes(port);
  });

  it('answers 413 to a gzip bomb without inflating it into memory', async () => {
    // 256 MiB of zeros compresses to about 256 KiB; the cap is 64 KiB.
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    assert.ok(bomb.length < CAP * 8);
    const bigCap = await echoServer({ maxBodyBytes: 1024 * 1024 });
    try {
      const before = process.memoryUsage().arrayBuffers;
      const r = await send(bigCap.port, { path: '/echo', headers: { 'content-encoding': 'gzip' }, body: bomb });
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.equal(r.status, 413);
      assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_BODY_TOO_LARGE');
      assert.match(r.text, /after decompression/);
      assert.ok(grown < 64 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
      await assertServes(bigCap.port);
    } finally {
      await bigCap.http.close();
    }
  });

  it('answers 400 TL_ERR_BAD_GZIP for a body that is not gzip', async () => {
    const r = await send(port, { path: '/echo', headers: { 'content-encoding': 'gzip' }, body: payload });
    assert.equal(r.status, 400);
    assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_BAD_GZIP');
    assert.match(r.text, /^TL_ERR_BAD_GZIP: the gzip body could not be decompressed \(incorrect header check\)/);
    await assertServes(port);
  });

  it('answers 400 TL_ERR_BAD_GZIP for a truncated gzip stream', async () => {
    const gz = gzipSync(payload);
    const r = await send(port, {
      path: '/echo',
      headers: { 'content-encoding': 'gzip' },
      body: gz.subarray(0, gz.length - 10),
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_BAD_GZIP');
    await assertServes(port);
  });

  it('answers 415 TL_ERR_UNSUPPORTED_ENCODING for an unknown or stacked Content-Encoding', async () => {
    for (const enc of ['zstd', 'gzip, br']) {
      const r = await send(port, { path: '/echo', headers: { 'content-encoding': enc }, body: payload });
      assert.equal(r.status, 415, enc);
      assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_UNSUPPORTED_ENCODING');
      assert.ok(r.text.includes(enc === 'zstd' ? "'zstd' is not supported" : 'stacks several codings'), r.text);
    }
    await assertServes(port);
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const nf = await send(port, { path: '/nope', body: payload });
    assert.equal(nf.status, 404);
    assert.equal(nf.headers[ERROR_CODE_HEADER], 'TL_ERR_NOT_FOUND');
    assert.match(nf.text, /no route for POST \/nope/);
    const na = await send(port, { method: 'GET', path: '/echo' });
    assert.equal(na.status, 405);
    assert.equal(na.headers.allow, 'POST, OPTIONS');
    assert.equal(na.headers[ERROR_CODE_HEADER], 'TL_ERR_METHOD_NOT_ALLOWED');
    await assertServes(port);
  });

  it('matches :param routes and ignores the query string', async () => {
    const r = await send(port, { method: 'GET', path: '/trace/abc%20def?x=1' });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'trace abc def');
  });

  it('answers 500 TL_ERR_INTERNAL when a handler throws, then keeps serving', async () => {
    const r = await send(port, { path: '/boom', body: 'x' });
    assert.equal(r.status, 500);
    assert.equal(r.headers[ERROR_CODE_HEADER], 'TL_ERR_INTERNAL');
    assert.doesNotMatch(r.text, /handler bug/, 'internal details stay in the log');
    await assertServes(port);
  });

  it('survives a client that disconnects in the middle of a body', async () => {
    const { response } = await sendRaw(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\npartial body',
      { waitMs: 100 },
    );
    assert.equal(response, '', 'nothing can be answered before the body is complete');
    await assertServes(port);
  });

  it('answers 408 and closes a connection whose body stalls (slowloris)', async () => {
    const { response, closedByServer } = await sendRaw(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a little',
    );
    assert.ok(closedByServer, 'the server closed the connection');
    assert.match(response, /^HTTP\/1\.1 408 /);
    assert.match(response, /TL_ERR_REQUEST_TIMEOUT/);
    await assertServes(port);
  });

  it('closes a connection whose headers never end', async () => {
    const { closedByServer } = await sendRaw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    assert.ok(closedByServer);
    await assertServes(port);
  });

  it('answers 400 TL_ERR_BAD_REQUEST to a malformed request', async () => {
    for (const raw of ['NONSENSE\r\n\r\n', 'POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n']) {
      const { response, closedByServer } = await sendRaw(port, raw);
      assert.match(response, /^HTTP\/1\.1 400 /, raw);
      assert.match(response, /x-traceloom-error-code: TL_ERR_BAD_REQUEST/);
      assert.ok(closedByServer);
    }
    await assertServes(port);
  });

  it('serves several requests on one kept-alive connection', async () => {
    const body = 'abc';
    const one = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const close = `POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\n${body}`;
    const { response } = await sendRaw(port, one + one + close);
    assert.equal(response.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
  });
});

describe('HttpServer CORS', () => {
  it('answers a preflight and adds CORS headers to responses when any origin is allowed', async () => {
    const { http, port } = await echoServer({ cors: { allowedOrigins: ['*'] } });
    try {
      const pre = await send(port, {
        method: 'OPTIONS',
        path: '/echo',
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,content-encoding',
        },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], '*');
      assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
      const allowed = String(pre.headers['access-control-allow-headers']).split(', ');
      for (const h of ['content-type', 'content-encoding', 'accept', 'authorization']) assert.ok(allowed.includes(h));
      assert.equal(pre.headers['access-control-max-age'], '7200');

      const post = await send(port, { path: '/echo', headers: { origin: 'https://shop.example' }, body: payload });
      assert.equal(post.status, 200);
      assert.equal(post.headers['access-control-allow-origin'], '*');
      assert.match(String(post.headers['access-control-expose-headers']), /Retry-After/);

      const err = await send(port, { path: '/nope', headers: { origin: 'https://shop.example' } });
      assert.equal(err.status, 404);
      assert.equal(err.headers['access-control-allow-origin'], '*', 'errors are readable by the page too');
      await assertServes(port);
    } finally {
      await http.close();
    }
  });

  it('echoes only listed origins (exact or wildcard) and refuses others', async () => {
    const { http, port } = await echoServer({
      cors: { allowedOrigins: ['https://app.example', 'https://*.shop.example'], allowedHeaders: ['X-Api-Key'] },
    });
    try {
      for (const origin of ['https://app.example', 'https://eu.shop.example']) {
        const r = await send(port, {
          method: 'OPTIONS',
          path: '/echo',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
        assert.equal(r.status, 204);
        assert.equal(r.headers['access-control-allow-origin'], origin);
        assert.equal(r.headers.vary, 'Origin');
        assert.match(String(r.headers['access-control-allow-headers']), /x-api-key/);
      }
      const refused = await send(port, {
        method: 'OPTIONS',
        path: '/echo',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(refused.status, 204);
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
      assert.equal(refused.headers['access-control-allow-methods'], undefined);
      await assertServes(port);
    } finally {
      await http.close();
    }
  });

  it('has no CORS headers when CORS is off', async () => {
    const { http, port } = await echoServer({ cors: false });
    try {
      const r = await send(port, { path: '/echo', headers: { origin: 'https://a.example' }, body: 'x' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    } finally {
      await http.close();
    }
  });
});

describe('HttpServer routes and errors', () => {
  it('uses a route-level error writer and the Retry-After of a ServerError', async () => {
    const http = new HttpServer({ name: 'test' });
    http.route(
      'POST',
      '/full',
      () => {
        throw new ServerError(ServerErrorCode.SINK_FULL, 'queue at capacity', { retryAfterSeconds: 7 });
      },
      { errorWriter: jsonErrorWriter },
    );
    const port = await http.listen('127.0.0.1', 0);
    try {
      const r = await send(port, { path: '/full', body: 'x' });
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '7');
      assert.equal(r.headers['content-type'], 'application/json');
      const body = JSON.parse(r.text);
      assert.equal(body.code, 'TL_ERR_SINK_FULL');
      assert.equal(body.status, 429);
      assert.match(body.message, /queue at capacity/);
    } finally {
      await http.close();
    }
  });

  it('refuses to register the same method and path twice', () => {
    const http = new HttpServer({ name: 'test' });
    http.route('POST', '/a', () => {});
    assert.throws(() => http.route('post', '/a', () => {}), /already registered/);
  });

  it('fails to listen on a busy port with TL_ERR_PORT_IN_USE naming the port and the flag', async () => {
    const { http, port } = await echoServer();
    try {
      const second = new HttpServer({ name: 'Zipkin', portFlag: '--zipkin-port', portEnv: 'TRACELOOM_ZIPKIN_PORT' });
      await assert.rejects(second.listen('127.0.0.1', port), (e: Error) => {
        assert.match(e.message, new RegExp(`^TL_ERR_PORT_IN_USE: Zipkin cannot listen on 127\\.0\\.0\\.1:${port}`));
        assert.match(e.message, /--zipkin-port <port> \(or TRACELOOM_ZIPKIN_PORT\)/);
        assert.match(e.message, /--zipkin-port off/);
        return true;
      });
    } finally {
      await http.close();
    }
  });
});
