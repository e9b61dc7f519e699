/**
 * Serves the built web UI (`packages/ui/dist`) on the API port: the files
 * themselves with their content types, `index.html` for every other GET path
 * outside `/api/` (the UI routes on the client: `/trace/<id>`, `/search?...`),
 * and a page saying how to build the UI when `dist` is missing.
 *
 * Caching: Vite names every file under `assets/` after a hash of its content,
 * so those are cached for a year as immutable; everything else (index.html)
 * is revalidated on each load so that a rebuilt UI shows at once. Text files
 * go out gzipped to clients that accept it (compressed once, kept in memory).
 */

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { ERROR_CODE_HEADER, type HttpServer, type RouteContext, sendBytes } from '../receivers/http-server.ts';

const gzipAsync = promisify(gzip);

/** Content types by file extension; anything else is `application/octet-stream`. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Cache header of content-hashed files (`/assets/*`). */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** Cache header of everything else: always revalidate. */
export const REVALIDATE_CACHE = 'no-cache';

/** Options of {@link mountUiStatic}. */
export interface UiStaticOptions {
  /** The built UI folder (holding `index.html` and `assets/`). */
  readonly dir: string;
}

/** The content type of a file name. */
export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Shown when the UI has not been built. */
function notBuiltPage(dir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Traceloom: UI not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem}code{background:#8882;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
<h1>The Traceloom UI is not built</h1>
<p>This server serves the web UI from <code>${escapeHtml(dir)}</code>, which holds no <code>index.html</code>.</p>
<p>Build it with <code>npm run build:ui</code> (or start the server with <code>npm start</code>, which builds it when needed), then reload this page.</p>
<p>The query API works meanwhile: <a href="/api/v1/services">/api/v1/services</a>.</p>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Makes `http` answer unmatched GET and HEAD requests from the UI folder.
 * Requests under `/api/` that no route matches stay the API's JSON 404.
 */
export function mountUiStatic(http: HttpServer, options: UiStaticOptions): void {
  const root = resolve(options.dir);
  http.fallback((req, res, ctx) => serveUi(root, req, res, ctx));
}

async function serveUi(root: string, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const path = ctx.path;
  if (path === '/api' || path.startsWith('/api/')) {
    throw new ServerError(ServerErrorCode.NOT_FOUND, `no route for ${req.method} ${path}`);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    notFound(res, `the path ${path} is not valid percent-encoding`);
    return;
  }
  // Refuse anything that could leave the folder: `..` segments (also encoded), backslashes, NUL.
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) {
    notFound(res, `the path ${path} is not allowed`);
    return;
  }
  const file = resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + sep)) {
    notFound(res, `the path ${path} is not allowed`);
    return;
  }
  if (decoded !== '/' && !decoded.endsWith('/')) {
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile() === true) {
      const immutable = decoded.startsWith('/assets/');
      await sendFile(req, res, file, st, immutable ? IMMUTABLE_CACHE : REVALIDATE_CACHE);
      return;
    }
    // A missing hashed asset is an old page asking for a file of a previous build: a 404
    // says so, where index.html would fail as a script with a confusing MIME error.
    if (decoded.startsWith('/assets/')) {
      notFound(res, `no UI asset ${path}; reload the page to load the current build`);
      return;
    }
  }
  const index = join(root, 'index.html');
  const st = await stat(index).catch(() => undefined);
  if (st?.isFile() !== true) {
    res.setHeader('cache-control', REVALIDATE_CACHE);
    const body = Buffer.from(notBuiltPage(root));
    if (req.method === 'HEAD') {
      res.statusCode = 503;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('content-length', body.byteLength);
      res.end();
    } else sendBytes(res, 503, 'text/html; charset=utf-8', body);
    return;
  }
  await sendFile(req, res, index, st, REVALIDATE_CACHE);
}

function notFound(res: ServerResponse, message: string): void {
  res.setHeader(ERROR_CODE_HEADER, ServerErrorCode.NOT_FOUND);
  sendBytes(res, 404, 'text/plain; charset=utf-8', Buffer.from(`${ServerErrorCode.NOT_FOUND}: ${message}\n`));
}

/** Types worth compressing (images and fonts are compressed already). */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);
/** Files below this are sent as they are: gzip would save less than its header costs. */
const MIN_GZIP_BYTES = 1024;
/** Bound on the gzipped copies kept in memory. */
const GZIP_CACHE_MAX_BYTES = 32 * 1024 * 1024;

/** Gzipped copies by `path:mtime:size`, so a rebuilt UI is never answered from a stale copy. */
const gzipCache = new Map<string, Buffer>();
let gzipCacheBytes = 0;

function acceptsGzip(req: IncomingMessage): boolean {
  const h = req.headers['accept-encoding'];
  return typeof h === 'string' && /(?:^|,)\s*gzip\s*(?:$|,|;\s*q=(?:1|0\.\d*[1-9]))/i.test(h);
}

async function gzipped(file: string, mtimeMs: number, size: number): Promise<Buffer> {
  const key = `${file}:${mtimeMs}:${size}`;
  const hit = gzipCache.get(key);
  if (hit !== undefined) return hit;
  const body = await gzipAsync(await readFile(file), { level: 9 });
  if (body.byteLength <= GZIP_CACHE_MAX_BYTES) {
    // Oldest first out: a Map iterates in insertion order.
    for (const [k, v] of gzipCache) {
      if (gzipCacheBytes + body.byteLength <= GZIP_CACHE_MAX_BYTES) break;
      gzipCache.delete(k);
      gzipCacheBytes -= v.byteLength;
    }
    gzipCache.set(key, body);
    gzipCacheBytes += body.byteLength;
  }
  return body;
}

async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  st: { readonly size: number; readonly mtimeMs: number },
  cache: string,
): Promise<void> {
  res.setHeader('cache-control', cache);
  res.setHeader('x-content-type-options', 'nosniff');
  if (COMPRESSIBLE.has(extname(file).toLowerCase()) && st.size >= MIN_GZIP_BYTES) {
    res.setHeader('vary', 'Accept-Encoding');
    if (acceptsGzip(req)) {
      const body = await gzipped(file, st.mtimeMs, st.size);
      res.statusCode = 200;
      res.setHeader('content-type', contentTypeOf(file));
      res.setHeader('content-encoding', 'gzip');
      res.setHeader('content-length', body.byteLength);
      if (req.method === 'HEAD') res.end();
      else res.end(body);
      return;
    }
  }
  return streamFile(req, res, file, st.size);
}

function streamFile(req: IncomingMessage, res: ServerResponse, file: string, size: number): Promise<void> {
  res.statusCode = 200;
  res.setHeader('content-type', contentTypeOf(file));
  res.setHeader('content-length', size);
  if (req.method === 'HEAD') {
    res.end();
    return Promise.resolve();
  }
  return new Promise((resolvePromise, reject) => {
    const stream = createReadStream(file);
    stream.on('error', (e) => {
      if (!res.headersSent) {
        res.removeHeader('content-length');
        reject(e);
      } else {
        res.destroy();
        resolvePromise();
      }
    });
    stream.on('end', () => resolvePromise());
    stream.pipe(res);
  });
}
