import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import {
  authorityHost,
  authorityPort,
  captureNodeHeaders,
  captureRawHeaders,
  errorType,
  hasRawHeader,
  knownMethod,
  resolveHeaderCapture,
  setMethod,
  setServerAddress,
} from './http-semconv.ts';

describe('http semconv helpers', () => {
  it('splits authorities into server.address and server.port', () => {
    const cases: [string, number, string, number][] = [
      ['example.com', 80, 'example.com', 80],
      ['example.com:8080', 80, 'example.com', 8080],
      ['[::1]:3000', 80, '::1', 3000],
      ['[::1]', 443, '::1', 443],
      ['::1', 80, '::1', 80],
      ['host:notaport', 443, 'host', 443],
      ['host:70000', 80, 'host', 80],
      ['[::1', 80, '[::1', 80],
      ['[::1]x', 443, '::1', 443],
    ];
    for (const [authority, def, host, port] of cases) {
      const a: Attributes = {};
      setServerAddress(a, authority, def);
      assert.deepEqual(a, { 'server.address': host, 'server.port': port }, authority);
      assert.equal(authorityHost(authority), host, authority);
      assert.equal(authorityPort(authority, def), port, authority);
    }
    const none: Attributes = {};
    setServerAddress(none, '', 80);
    assert.deepEqual(none, {});
  });

  it('normalises methods and names the span', () => {
    const a: Attributes = {};
    assert.equal(setMethod(a, 'DELETE'), 'DELETE');
    assert.deepEqual(a, { 'http.request.method': 'DELETE' });
    const b: Attributes = {};
    assert.equal(setMethod(b, 'get'), 'GET');
    assert.deepEqual(b, { 'http.request.method': 'GET', 'http.request.method_original': 'get' });
    const c: Attributes = {};
    assert.equal(setMethod(c, 'PROPFIND'), 'HTTP');
    assert.deepEqual(c, { 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND' });
  });

  it('tells known methods (as sent or upper-cased) from others, as setMethod does', () => {
    const cases: [string, string | undefined][] = [
      ['DELETE', 'DELETE'],
      ['get', 'GET'],
      ['Patch', 'PATCH'],
      ['PROPFIND', undefined],
      ['_OTHER', undefined],
    ];
    for (const [method, known] of cases) {
      assert.equal(knownMethod(method), known, method);
      const a: Attributes = {};
      const name = setMethod(a, method);
      assert.equal(name, known ?? 'HTTP');
      assert.equal(a['http.request.method'], known ?? '_OTHER');
      assert.equal(a['http.request.method_original'], known === method ? undefined : method);
    }
  });

  it('derives a low-cardinality error.type', () => {
    assert.equal(errorType(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
    assert.equal(errorType(new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } })), 'ENOTFOUND');
    assert.equal(errorType(new RangeError('r')), 'RangeError');
    assert.equal(errorType('weird'), '_OTHER');
  });

  it('captures headers from Node objects and from undici raw lists', () => {
    const cap = resolveHeaderCapture(['X-Id', 'accept'], 'http.request.header.')!;
    const a: Attributes = {};
    captureNodeHeaders(a, cap, { 'x-id': '7', accept: ['a', 'b'], other: 'no' });
    assert.deepEqual(a, { 'http.request.header.x-id': ['7'], 'http.request.header.accept': ['a', 'b'] });
    const b: Attributes = {};
    captureRawHeaders(b, cap, [Buffer.from('X-Id'), Buffer.from('9'), 'accept', '*/*', 'Accept', 'text/html']);
    assert.deepEqual(b, { 'http.request.header.x-id': ['9'], 'http.request.header.accept': ['*/*', 'text/html'] });
    const c: Attributes = {};
    captureRawHeaders(c, cap, 'x-id: 1\r\nhost: h\r\n');
    assert.deepEqual(c, { 'http.request.header.x-id': ['1'] });
    assert.equal(resolveHeaderCapture([], 'http.request.header.'), undefined);
  });

  it('finds headers already present in undici raw lists', () => {
    assert.equal(hasRawHeader(['Traceparent', 'x', 'a', 'b'], 'traceparent'), true);
    assert.equal(hasRawHeader(['a', 'traceparent'], 'traceparent'), false);
    assert.equal(hasRawHeader('a: b\r\nTraceParent: x\r\n', 'traceparent'), true);
    assert.equal(hasRawHeader('a: traceparent\r\n', 'traceparent'), false);
    assert.equal(hasRawHeader(undefined, 'traceparent'), false);
  });
});
