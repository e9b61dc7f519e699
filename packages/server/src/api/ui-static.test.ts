/**
 * The UI's static files on the API port: content types, cache headers, the
 * client-side-route fallback to index.html, JSON 404s under /api/, refusal of
 * paths that leave the folder, and the "build the UI" page when there is none.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { QueryEngine } from '../query/engine.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { type RunningApiServer, startApiServer } from './native.ts';
import { IMMUTABLE_CACHE, REVALIDATE_CACHE } from './ui-static.ts';

const BIG_JS = `export const rows = [${Array.from({ length: 400 }, (_, i) => `{ id: ${i}, name: "row ${i}" }`).join(', ')}];\n`;
const INDEX = '<!doctype html><html><head><title>Traceloom</title></head><body><div id="root"></div></body></html>';

/** A raw GET that sends the path exactly as given (fetch would normalise `..`). */
function rawGet(
  port: number,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; raw: Buffer; type: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          body: raw.toString('utf8'),
          raw,
          type: res.headers['content-type'] ?? '',
          headers: res.headers,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('UI static files', () => {
  let root: string;
  let dist: string;
  let api: RunningApiServer;
  let base: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tl-ui-static-'));
    dist = join(root, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), INDEX);
    await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log("ui")');
    await writeFile(join(dist, 'assets', 'index-abc123.css'), 'body{margin:0}');
    await writeFile(join(dist, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dist, 'assets', 'big-def456.js'), BIG_JS);
    await writeFile(join(dist, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
    // A file outside the UI folder that traversal attempts aim at.
    await writeFile(join(root, 'secret.txt'), 'top secret');
    api = await startApiServer(new QueryEngine(new MemoryStore()), { host: '127.0.0.1', port: 0, uiDir: dist });
    base = `http://127.0.0.1:${api.port}`;
  });

  after(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves index.html at / with an HTML type and no long caching', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), REVALIDATE_CACHE);
    assert.equal(await res.text(), INDEX);
  });

  it('serves hashed assets with their content types and a year of immutable caching', async () => {
    for (const [path, type] of [
      ['/assets/index-abc123.js', 'text/javascript; charset=utf-8'],
      ['/assets/index-abc123.css', 'text/css; charset=utf-8'],
      ['/assets/logo.svg', 'image/svg+xml'],
    ] as const) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type, path);
      assert.equal(res.headers.get('cache-control'), IMMUTABLE_CACHE, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
    const ico = await fetch(`${base}/favicon.ico`);
    assert.equal(ico.headers.get('content-type'), 'image/x-icon');
    assert.equal(ico.headers.get('cache-control'), REVALIDATE_CACHE, 'files outside assets/ are not hashed');
    assert.deepEqual([...new Uint8Array(await ico.arrayBuffer())], [0, 0, 1, 0]);
  });

  it('gzips text files for clients that accept it', async () => {
    const gz = await rawGet(api.port, '/assets/big-def456.js', 'GET', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(gz.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.ok(gz.raw.byteLength < BIG_JS.length / 3, `gzipped to ${gz.raw.byteLength} of ${BIG_JS.length} bytes`);
    assert.equal(gunzipSync(gz.raw).toString(), BIG_JS);
    for (const accept of [undefined, 'identity', 'gzip;q=0']) {
      const plain = await rawGet(
        api.port,
        '/assets/big-def456.js',
        'GET',
        accept === undefined ? {} : { 'accept-encoding': accept },
      );
      assert.equal(plain.headers['content-encoding'], undefined, `accept-encoding ${accept}`);
      assert.equal(plain.body, BIG_JS);
    }
    // Small files are not worth it.
    const small = await rawGet(api.port, '/assets/index-abc123.js', 'GET', { 'accept-encoding': 'gzip' });
    assert.equal(small.headers['content-encoding'], undefined);
  });

  it('answers client-side routes with index.html', async () => {
    for (const path of [
      '/trace/4bf92f3577b34da6a3ce929d0e0e4736',
      '/search?service=cart&attr=a%3Db',
      '/compare/a/b',
      '/map',
    ]) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8', path);
      assert.equal(await res.text(), INDEX, path);
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const r = await rawGet(api.port, '/trace/abc', 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/html; charset=utf-8');
    assert.equal(r.body, '');
  });

  it('keeps unknown /api/ paths a JSON 404', async () => {
    for (const path of ['/api/v1/nope', '/api/nothing', '/api']) {
      const res = await fetch(base + path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, path);
      const body = (await res.json()) as { error: { code: string; hint: string } };
      assert.equal(body.error.code, 'TL_ERR_NOT_FOUND');
      assert.match(body.error.hint, /\/api\/v1\//);
    }
  });

  it('still routes the API itself', async () => {
    const res = await fetch(`${base}/api/v1/services`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { services: [] });
  });

  it('does not serve index.html for other methods', async () => {
    const res = await fetch(`${base}/trace/abc`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 404);
  });

  it('answers a missing hashed asset with 404, not index.html', async () => {
    const res = await fetch(`${base}/assets/index-old999.js`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /reload the page/);
  });

  it('refuses paths that leave the UI folder', async () => {
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2E%2E/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets%00.js',
    ]) {
      const r = await rawGet(api.port, path);
      assert.equal(r.status, 404, `${path} answered ${r.status}`);
      assert.doesNotMatch(r.body, /top secret/, path);
    }
  });

  it('says how to build the UI when the folder has no index.html', async () => {
    const other = await startApiServer(new QueryEngine(new MemoryStore()), {
      host: '127.0.0.1',
      port: 0,
      uiDir: join(root, 'not-built'),
    });
    try {
      for (const path of ['/', '/search']) {
        const res = await fetch(`http://127.0.0.1:${other.port}${path}`);
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.match(await res.text(), /npm run build:ui/);
      }
      const apiRes = await fetch(`http://127.0.0.1:${other.port}/api/v1/services`);
      assert.equal(apiRes.status, 200);
    } finally {
      await other.close();
    }
  });

  it('is off without uiDir: / is a JSON 404', async () => {
    const bare = await startApiServer(new QueryEngine(new MemoryStore()), { host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${bare.port}/`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    } finally {
      await bare.close();
    }
  });
});
