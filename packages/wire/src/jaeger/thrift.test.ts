/**
 * The Jaeger Thrift decoder against what real Jaeger clients send:
 * - jaeger-client (npm, 3.x) posting to a `node:http` server started here,
 *   exactly as it posts to a collector's `/api/traces`;
 * - thriftrw, jaeger-client's own serializer, with the jaeger.thrift IDL that
 *   jaeger-client ships, for what jaeger-client itself never produces (LONG
 *   tags, negative ids, explicit references with parentSpanId 0);
 * - hand-built bytes for the collector's mapping rules and for bad input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { getAttribute, type KeyValue, type Span } from '@traceloom/model';
import { isWireDecodeError, WireErrorCode } from '../errors.ts';
import {
  baseSpan,
  batchOf,
  encodeBatch,
  type SpanSpec,
  type TagSpec,
  ThriftWriter,
  writeProcess,
  writeSpan,
  writeTag,
} from './fixtures/thrift-builder.ts';
import { decodeJaegerThriftBatch } from './thrift.ts';
import { ThriftType } from './thrift-reader.ts';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// jaeger-client, over HTTP
// ---------------------------------------------------------------------------

interface JaegerContext {
  traceId: Buffer;
  spanId: Buffer;
  parentId: Buffer | null;
  flags: number;
}
interface JaegerSpan {
  context(): JaegerContext;
  setTag(key: string, value: unknown): JaegerSpan;
  log(fields: Record<string, unknown>, timestampMs?: number): JaegerSpan;
  finish(finishTimeMs?: number): void;
}
interface JaegerTracer {
  startSpan(name: string, options?: object): JaegerSpan;
  close(callback: () => void): void;
}
interface JaegerClient {
  initTracer(config: object, options: object): JaegerTracer;
  opentracing: {
    childOf(ctx: JaegerContext): object;
    followsFrom(ctx: JaegerContext): object;
  };
}

interface Captured {
  url: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/**
 * Starts a server standing in for a Jaeger collector, runs `record` with a
 * jaeger-client tracer reporting to it, closes the tracer (which flushes) and
 * returns the one request it posted.
 */
async function captureFromJaegerClient(
  tracerOptions: object,
  record: (tracer: JaegerTracer, client: JaegerClient) => void,
): Promise<Captured> {
  const client = require('jaeger-client') as JaegerClient;
  let resolveBody: (c: Captured) => void = () => {};
  const received = new Promise<Captured>((resolve) => {
    resolveBody = resolve;
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(202).end();
      resolveBody({ url: req.url ?? '', headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const tracer = client.initTracer(
      {
        serviceName: 'checkout',
        sampler: { type: 'const', param: 1 },
        // A long interval so that everything goes out in the one flush that close() makes.
        reporter: { collectorEndpoint: `http://127.0.0.1:${port}/api/traces`, flushIntervalMs: 600_000 },
      },
      { logger: { info() {}, error() {} }, ...tracerOptions },
    );
    record(tracer, client);
    await new Promise<void>((resolve) => tracer.close(resolve));
    return await received;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function hexOf(b: Buffer, width: number): string {
  return b.toString('hex').padStart(width, '0');
}

function findSpan(spans: readonly Span[], js: JaegerSpan): Span {
  const id = hexOf(js.context().spanId, 16);
  const s = spans.find((x) => x.spanId === id);
  assert.ok(s, `span ${id} decoded`);
  return s;
}

const T0 = 1_700_000_000_000; // ms, as jaeger-client takes times
const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

describe('decodeJaegerThriftBatch: jaeger-client over HTTP', () => {
  it('decodes every span, id, timestamp, tag type, log, reference and process tag that jaeger-client posts', async () => {
    const js: Record<string, JaegerSpan> = {};
    const captured = await captureFromJaegerClient(
      { traceId128bit: true, tags: { deployment: 'eu-1', shards: 4, canary: true } },
      (tracer, { opentracing }) => {
        const root = tracer.startSpan('GET /cart', { startTime: T0, tags: { 'span.kind': 'server' } });
        root.setTag('http.method', 'GET');
        root.setTag('ratio', 0.25);
        root.setTag('count', 7);
        root.setTag('cached', false);
        root.setTag('payload', Buffer.from([0, 1, 254, 255]));
        root.setTag('obj', { a: 1 });
        root.log({ event: 'cache.miss', message: 'not found', key: 'cart:1', attempt: 2 }, T0 + 1);
        root.log({ message: 'hello' }, T0 + 2);
        const query = tracer.startSpan('SELECT cart', {
          childOf: root,
          startTime: T0 + 3,
          tags: { 'span.kind': 'client', 'otel.scope.name': 'pg', 'otel.scope.version': '8.11.0' },
        });
        query.setTag('error', true);
        query.setTag('otel.status_description', 'connection reset');
        query.finish(T0 + 8);
        const render = tracer.startSpan('render', {
          childOf: root.context(),
          startTime: T0 + 9,
          tags: { 'otel.scope.name': 'pg', 'otel.scope.version': '8.11.0', 'w3c.tracestate': 'rojo=00f067aa0ba902b7' },
        });
        render.setTag('otel.status_code', 'OK');
        render.finish(T0 + 10);
        const audit = tracer.startSpan('audit', {
          references: [opentracing.followsFrom(root.context())],
          startTime: T0 + 11,
        });
        audit.finish(T0 + 12);
        const fanIn = tracer.startSpan('fan-in', {
          references: [opentracing.followsFrom(query.context()), opentracing.childOf(render.context())],
          startTime: T0 + 13,
        });
        fanIn.finish(T0 + 14);
        const other = tracer.startSpan('other-root', { startTime: T0 + 20 });
        const crossTrace = tracer.startSpan('cross-trace', {
          references: [opentracing.childOf(other.context()), opentracing.followsFrom(root.context())],
          startTime: T0 + 21,
        });
        crossTrace.finish(T0 + 22);
        other.finish(T0 + 23);
        root.finish(T0 + 100);
        Object.assign(js, { root, query, render, audit, fanIn, other, crossTrace });
      },
    );

    assert.equal(captured.url, '/api/traces');
    assert.equal(captured.headers['content-type'], 'application/x-thrift');
    const spans = decodeJaegerThriftBatch(captured.body);
    assert.equal(spans.length, 7);

    // Ids, parents, times and flags against jaeger-client's own span contexts.
    const durationsMs: Record<string, [number, number]> = {
      root: [T0, T0 + 100],
      query: [T0 + 3, T0 + 8],
      render: [T0 + 9, T0 + 10],
      audit: [T0 + 11, T0 + 12],
      fanIn: [T0 + 13, T0 + 14],
      other: [T0 + 20, T0 + 23],
      crossTrace: [T0 + 21, T0 + 22],
    };
    for (const [label, j] of Object.entries(js)) {
      const ctx = j.context();
      const s = findSpan(spans, j);
      assert.equal(ctx.traceId.length, 16, 'the tracer made 128-bit trace ids');
      assert.equal(s.traceId, hexOf(ctx.traceId, 32), label);
      assert.equal(s.parentSpanId, ctx.parentId === null ? '' : hexOf(ctx.parentId, 16), label);
      const [start, end] = durationsMs[label] as [number, number];
      assert.equal(s.startTimeUnixNano, ns(start), label);
      assert.equal(s.endTimeUnixNano, ns(end), label);
      assert.equal(s.flags, 1, `${label} is sampled`);
      assert.equal(s.droppedAttributesCount + s.droppedEventsCount + s.droppedLinksCount, 0);
    }

    // One resource object for the whole batch, from the process.
    const root = findSpan(spans, js.root as JaegerSpan);
    for (const s of spans) assert.equal(s.resource, root.resource);
    const version = (
      JSON.parse(readFileSync(require.resolve('jaeger-client/package.json'), 'utf8')) as { version: string }
    ).version;
    const resourceAttrs = new Map(root.resource.attributes.map((kv) => [kv.key, kv.value]));
    assert.equal(root.resource.attributes[0]?.key, 'service.name');
    assert.equal(resourceAttrs.get('service.name'), 'checkout');
    assert.equal(resourceAttrs.get('deployment'), 'eu-1');
    assert.equal(resourceAttrs.get('shards'), 4, 'jaeger-client sends JS numbers as DOUBLE tags');
    assert.equal(resourceAttrs.get('canary'), true);
    assert.equal(resourceAttrs.get('host.name'), hostname(), 'the collector renames `hostname`');
    assert.equal(resourceAttrs.get('opencensus.exporterversion'), `Jaeger-Node-${version}`);
    assert.equal(typeof resourceAttrs.get('ip'), 'string');
    assert.match(String(resourceAttrs.get('client-uuid')), /^[0-9a-f-]{36}$/);
    assert.equal(resourceAttrs.has('hostname'), false);
    assert.equal(resourceAttrs.has('jaeger.version'), false);
    assert.equal(root.resource.attributes.length, 8);

    // Every tag type jaeger-client produces; span.kind lifted out.
    assert.equal(root.name, 'GET /cart');
    assert.equal(root.kind, 2);
    assert.deepEqual(root.attributes, [
      { key: 'sampler.type', value: 'const' },
      { key: 'sampler.param', value: true },
      { key: 'http.method', value: 'GET' },
      { key: 'ratio', value: 0.25 },
      { key: 'count', value: 7 },
      { key: 'cached', value: false },
      { key: 'payload', value: new Uint8Array([0, 1, 254, 255]) },
      { key: 'obj', value: '{"a":1}' },
    ]);
    assert.ok(getAttribute(root.attributes, 'payload') instanceof Uint8Array);
    assert.deepEqual(root.status, { code: 0, message: '' });
    assert.equal(root.scope.name, '');
    assert.equal(root.traceState, '');
    assert.deepEqual(root.links, []);

    // Logs: µs -> ns, `event` names the event, the rest stay attributes.
    assert.deepEqual(root.events, [
      {
        timeUnixNano: ns(T0 + 1),
        name: 'cache.miss',
        attributes: [
          { key: 'message', value: 'not found' },
          { key: 'key', value: 'cart:1' },
          { key: 'attempt', value: 2 },
        ],
        droppedAttributesCount: 0,
      },
      {
        timeUnixNano: ns(T0 + 2),
        name: '',
        attributes: [{ key: 'message', value: 'hello' }],
        droppedAttributesCount: 0,
      },
    ]);

    // error=true with a description; the scope tags become a shared scope.
    const query = findSpan(spans, js.query as JaegerSpan);
    assert.equal(query.parentSpanId, root.spanId);
    assert.equal(query.kind, 3);
    assert.deepEqual(query.status, { code: 2, message: 'connection reset' });
    assert.deepEqual(query.scope, {
      name: 'pg',
      version: '8.11.0',
      attributes: [],
      droppedAttributesCount: 0,
      schemaUrl: '',
    });
    assert.deepEqual(
      query.attributes.map((kv) => kv.key),
      [],
      'error, kind, scope and description tags are all lifted out',
    );
    const render = findSpan(spans, js.render as JaegerSpan);
    assert.equal(render.scope, query.scope, 'spans of one scope share the object');
    assert.equal(render.traceState, 'rojo=00f067aa0ba902b7');
    assert.deepEqual(render.status, { code: 1, message: '' });
    assert.equal(render.kind, 0);
    assert.deepEqual(render.attributes, []);

    // FOLLOWS_FROM only: jaeger-client makes it the parent too, and the reference stays a link.
    const audit = findSpan(spans, js.audit as JaegerSpan);
    assert.equal(audit.parentSpanId, root.spanId);
    assert.deepEqual(audit.links, [
      {
        traceId: root.traceId,
        spanId: root.spanId,
        traceState: '',
        attributes: [{ key: 'opentracing.ref_type', value: 'follows_from' }],
        droppedAttributesCount: 0,
        flags: 0,
      },
    ]);

    // CHILD_OF wins as the parent even after a FOLLOWS_FROM; the other reference is a link.
    const fanIn = findSpan(spans, js.fanIn as JaegerSpan);
    assert.equal(fanIn.parentSpanId, render.spanId);
    assert.deepEqual(
      fanIn.links.map((l) => [l.spanId, getAttribute(l.attributes, 'opentracing.ref_type')]),
      [[query.spanId, 'follows_from']],
    );

    // A reference into another trace is a link with that trace's id.
    const other = findSpan(spans, js.other as JaegerSpan);
    const cross = findSpan(spans, js.crossTrace as JaegerSpan);
    assert.notEqual(other.traceId, root.traceId);
    assert.equal(cross.traceId, other.traceId);
    assert.equal(cross.parentSpanId, other.spanId);
    assert.deepEqual(
      cross.links.map((l) => [l.traceId, l.spanId, getAttribute(l.attributes, 'opentracing.ref_type')]),
      [[root.traceId, root.spanId, 'follows_from']],
    );
  });

  it('keeps 64-bit trace ids as 32 hex digits with a zero high half', async () => {
    let span: JaegerSpan | undefined;
    const captured = await captureFromJaegerClient({}, (tracer) => {
      span = tracer.startSpan('one', { startTime: T0 });
      span.finish(T0 + 1);
    });
    const [s] = decodeJaegerThriftBatch(captured.body);
    assert.ok(s && span);
    assert.equal(span.context().traceId.length, 8);
    assert.equal(s.traceId, `0000000000000000${span.context().traceId.toString('hex')}`);
    assert.equal(s.spanId, span.context().spanId.toString('hex'));
    assert.equal(s.parentSpanId, '');
  });
});

// ---------------------------------------------------------------------------
// thriftrw with jaeger-client's jaeger.thrift
// ---------------------------------------------------------------------------

interface ThriftrwStruct {
  rw: { toBuffer(value: unknown): { err: Error | null; value: Buffer } };
}
type Thriftrw = { Batch: ThriftrwStruct & (new (v: object) => object) };

let thriftrw: Thriftrw | undefined;
/** Encodes a batch with thriftrw, the library jaeger-client's HTTPSender serializes with. */
function thriftrwEncode(batch: object): Uint8Array {
  if (thriftrw === undefined) {
    const { Thrift } = require('thriftrw') as { Thrift: new (o: object) => Thriftrw };
    const idl = require.resolve('jaeger-client/dist/src/jaeger-idl/thrift/jaeger.thrift');
    thriftrw = new Thrift({ source: readFileSync(idl, 'ascii'), allowOptionalArguments: true });
  }
  const r = thriftrw.Batch.rw.toBuffer(new thriftrw.Batch(batch));
  if (r.err) throw r.err;
  return new Uint8Array(r.value);
}

/** An i64 as thriftrw takes it: 8 big-endian bytes. */
function i64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  return b;
}

function thriftrwSpan(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceIdLow: i64(0x0102030405060708n),
    traceIdHigh: i64(0x1112131415161718n),
    spanId: i64(0x2122232425262728n),
    parentSpanId: i64(0n),
    operationName: 'op',
    flags: 1,
    startTime: i64(1_700_000_000_123_456n),
    duration: i64(789n),
    ...over,
  };
}

describe('decodeJaegerThriftBatch: thriftrw payloads', () => {
  it('decodes LONG tags over the whole int64 range and every other tag type', () => {
    const body = thriftrwEncode({
      process: {
        serviceName: 'svc',
        tags: [
          { key: 'p.long', vType: 'LONG', vLong: i64(-42n) },
          { key: 'p.double', vType: 'DOUBLE', vDouble: -0.5 },
        ],
      },
      spans: [
        thriftrwSpan({
          tags: [
            { key: 'max', vType: 'LONG', vLong: i64(9223372036854775807n) },
            { key: 'min', vType: 'LONG', vLong: i64(-9223372036854775808n) },
            { key: 'big', vType: 'LONG', vLong: i64(2n ** 53n + 1n) },
            { key: 'neg', vType: 'LONG', vLong: i64(-1n) },
            { key: 'str', vType: 'STRING', vStr: 'héllo ✓' },
            { key: 'dbl', vType: 'DOUBLE', vDouble: 1e300 },
            { key: 'bool', vType: 'BOOL', vBool: true },
            { key: 'bin', vType: 'BINARY', vBinary: Buffer.from('00ff10', 'hex') },
            // Every value field set, as jaeger-client writes them: only vType's one counts.
            {
              key: 'all',
              vType: 'LONG',
              vStr: 'x',
              vDouble: 1,
              vBool: true,
              vLong: i64(5n),
              vBinary: Buffer.from([1]),
            },
          ],
        }),
      ],
    });
    const [s] = decodeJaegerThriftBatch(body);
    assert.ok(s);
    assert.deepEqual(s.resource.attributes, [
      { key: 'service.name', value: 'svc' },
      { key: 'p.long', value: -42n },
      { key: 'p.double', value: -0.5 },
    ]);
    assert.deepEqual(s.attributes, [
      { key: 'max', value: 9223372036854775807n },
      { key: 'min', value: -9223372036854775808n },
      { key: 'big', value: 9007199254740993n },
      { key: 'neg', value: -1n },
      { key: 'str', value: 'héllo ✓' },
      { key: 'dbl', value: 1e300 },
      { key: 'bool', value: true },
      { key: 'bin', value: new Uint8Array([0, 0xff, 0x10]) },
      { key: 'all', value: 5n },
    ]);
  });

  it('reads ids as unsigned and converts µs to ns exactly, past 2^53 ns', () => {
    const body = thriftrwEncode({
      process: { serviceName: 'svc' },
      spans: [
        thriftrwSpan({
          traceIdHigh: i64(-1n),
          traceIdLow: i64(-2n),
          spanId: i64(-0x7fffffffffffffffn),
          parentSpanId: i64(0x00000000000000abn),
          startTime: i64(1_700_000_000_123_457n),
          duration: i64(1n),
          logs: [{ timestamp: i64(1_700_000_000_123_458n), fields: [{ key: 'event', vType: 'STRING', vStr: 'x' }] }],
        }),
      ],
    });
    const [s] = decodeJaegerThriftBatch(body);
    assert.ok(s);
    assert.equal(s.traceId, 'fffffffffffffffffffffffffffffffe');
    assert.equal(s.spanId, '8000000000000001');
    assert.equal(s.parentSpanId, '00000000000000ab');
    assert.equal(s.startTimeUnixNano, 1_700_000_000_123_457_000n);
    assert.equal(s.endTimeUnixNano, 1_700_000_000_123_458_000n);
    assert.equal(s.events[0]?.timeUnixNano, 1_700_000_000_123_458_000n);
    assert.equal(s.events[0]?.name, 'x');
    assert.deepEqual(s.events[0]?.attributes, []);
  });

  it('takes the parent from references when parentSpanId is 0, as Jaeger does', () => {
    const ref = (refType: string, spanId: bigint, traceIdLow = 0x0102030405060708n) => ({
      refType,
      traceIdLow: i64(traceIdLow),
      traceIdHigh: i64(0x1112131415161718n),
      spanId: i64(spanId),
    });
    const body = thriftrwEncode({
      process: { serviceName: 'svc' },
      spans: [
        // A CHILD_OF in another trace does not count; a later one in this trace does.
        thriftrwSpan({
          spanId: i64(1n),
          references: [ref('CHILD_OF', 0xa1n, 99n), ref('FOLLOWS_FROM', 0xa2n), ref('CHILD_OF', 0xa3n)],
        }),
        // Only FOLLOWS_FROM: the first one in the trace becomes the parent and stays a link.
        thriftrwSpan({ spanId: i64(2n), references: [ref('FOLLOWS_FROM', 0xb1n), ref('FOLLOWS_FROM', 0xb2n)] }),
        // A single CHILD_OF is the parent and no link.
        thriftrwSpan({ spanId: i64(3n), references: [ref('CHILD_OF', 0xc1n)] }),
        // parentSpanId set: a CHILD_OF to another span stays a link.
        thriftrwSpan({ spanId: i64(4n), parentSpanId: i64(0xd0n), references: [ref('CHILD_OF', 0xd1n)] }),
        // Nothing in this trace: a root with a link.
        thriftrwSpan({ spanId: i64(5n), references: [ref('CHILD_OF', 0xe1n, 7n)] }),
      ],
    });
    const spans = decodeJaegerThriftBatch(body);
    const view = spans.map((s) => ({
      parent: s.parentSpanId,
      links: s.links.map(
        (l) => `${l.traceId.slice(16)}/${l.spanId}/${getAttribute(l.attributes, 'opentracing.ref_type')}`,
      ),
    }));
    assert.deepEqual(view, [
      {
        parent: '00000000000000a3',
        links: ['0000000000000063/00000000000000a1/child_of', '0102030405060708/00000000000000a2/follows_from'],
      },
      {
        parent: '00000000000000b1',
        links: ['0102030405060708/00000000000000b1/follows_from', '0102030405060708/00000000000000b2/follows_from'],
      },
      { parent: '00000000000000c1', links: [] },
      { parent: '00000000000000d0', links: ['0102030405060708/00000000000000d1/child_of'] },
      { parent: '', links: ['0000000000000007/00000000000000e1/child_of'] },
    ]);
  });
});

// ---------------------------------------------------------------------------
// Hand-built payloads: the collector's mapping rules
// ---------------------------------------------------------------------------

const str = (key: string, v: string): TagSpec => ({ key, vType: 0, vStr: v });
const long = (key: string, v: bigint): TagSpec => ({ key, vType: 3, vLong: v });
const bool = (key: string, v: boolean): TagSpec => ({ key, vType: 2, vBool: v });
const dbl = (key: string, v: number): TagSpec => ({ key, vType: 1, vDouble: v });

function one(over: Partial<SpanSpec>): Span {
  const spans = decodeJaegerThriftBatch(batchOf(baseSpan(over)));
  assert.equal(spans.length, 1);
  return spans[0] as Span;
}

describe('decodeJaegerThriftBatch: mapping rules', () => {
  it('maps span.kind values and drops the tag whatever its value', () => {
    const kinds = ['client', 'server', 'producer', 'consumer', 'internal', 'CLIENT', 'rpc'];
    assert.deepEqual(
      kinds.map((k) => one({ tags: [str('span.kind', k)] }).kind),
      [3, 2, 4, 5, 1, 0, 0],
    );
    const s = one({ tags: [long('span.kind', 3n), str('a', 'b')] });
    assert.equal(s.kind, 0);
    assert.deepEqual(s.attributes, [{ key: 'a', value: 'b' }]);
  });

  it('derives the status as the collector does', () => {
    const status = (...tags: TagSpec[]) => {
      const s = one({ tags });
      return [s.status.code, s.status.message, s.attributes.map((kv) => kv.key).join(',')];
    };
    // error=true wins; its message comes from otel.status_description, else http.status_message.
    assert.deepEqual(status(bool('error', true), str('otel.status_description', 'boom')), [2, 'boom', '']);
    assert.deepEqual(status(bool('error', true), str('http.status_message', 'Bad')), [2, 'Bad', 'http.status_message']);
    assert.deepEqual(status(bool('error', true), str('otel.status_code', 'OK')), [2, '', '']);
    // error=false and non-boolean error tags are plain attributes.
    assert.deepEqual(status(bool('error', false)), [0, '', 'error']);
    assert.deepEqual(status(str('error', 'true')), [0, '', 'error']);
    // otel.status_code, case-insensitive; an unknown value still sets (UNSET) status and is dropped.
    assert.deepEqual(status(str('otel.status_code', 'ok')), [1, '', '']);
    assert.deepEqual(status(str('otel.status_code', 'ERROR'), str('otel.status_description', 'x')), [2, 'x', '']);
    assert.deepEqual(status(str('otel.status_code', 'weird'), bool('error', false)), [0, '', 'error']);
    // http.status_code fallback: LONG or decimal string, never DOUBLE.
    assert.deepEqual(status(long('http.status_code', 500n), str('http.status_message', 'oops')), [
      2,
      'oops',
      'http.status_code,http.status_message',
    ]);
    assert.deepEqual(status(str('http.status_code', '503')), [2, '', 'http.status_code']);
    assert.deepEqual(status(dbl('http.status_code', 500)), [0, '', 'http.status_code']);
    assert.deepEqual(status(long('http.status_code', 200n)), [0, '', 'http.status_code']);
    assert.deepEqual(status(long('http.status_code', 399n)), [2, '', 'http.status_code']);
    assert.deepEqual(status(str('http.status_code', 'abc')), [0, '', 'http.status_code']);
    assert.deepEqual(status(str('http.status_code', '99999999999999999999')), [0, '', 'http.status_code']);
    // 4xx: an error for clients, unset for servers, an error when the kind is unknown.
    assert.deepEqual(status(long('http.status_code', 404n), str('span.kind', 'client')), [2, '', 'http.status_code']);
    assert.deepEqual(status(long('http.status_code', 404n), str('span.kind', 'server')), [0, '', 'http.status_code']);
    assert.deepEqual(status(long('http.status_code', 404n)), [2, '', 'http.status_code']);
  });

  it('takes the scope from otel.scope.* first, then otel.library.*', () => {
    const a = one({
      tags: [str('otel.scope.name', 'a'), str('otel.library.name', 'b'), str('otel.scope.version', '1')],
    });
    assert.equal(a.scope.name, 'a');
    assert.equal(a.scope.version, '1');
    assert.deepEqual(a.attributes, [{ key: 'otel.library.name', value: 'b' }]);
    const b = one({ tags: [str('otel.library.version', '2'), str('otel.library.name', 'b')] });
    assert.deepEqual([b.scope.name, b.scope.version, b.attributes.length], ['b', '2', 0]);
    // A version without a name is an ordinary attribute.
    const c = one({ tags: [str('otel.scope.version', '3')] });
    assert.equal(c.scope.name, '');
    assert.deepEqual(c.attributes, [{ key: 'otel.scope.version', value: '3' }]);
    // Scopes are shared within a batch only by (name, version).
    const spans = decodeJaegerThriftBatch(
      batchOf(
        baseSpan({ spanId: 1n, tags: [str('otel.scope.name', 'x')] }),
        baseSpan({ spanId: 2n, tags: [str('otel.scope.name', 'x')] }),
        baseSpan({ spanId: 3n, tags: [str('otel.scope.name', 'x'), str('otel.scope.version', '1')] }),
      ),
    );
    assert.equal(spans[0]?.scope, spans[1]?.scope);
    assert.notEqual(spans[1]?.scope, spans[2]?.scope);
  });

  it('collapses repeated keys like pdata: last value, first position', () => {
    const s = one({ tags: [str('a', '1'), str('b', '2'), long('a', 3n), str('c', '4'), str('b', '5')] });
    assert.deepEqual(s.attributes, [
      { key: 'a', value: 3n },
      { key: 'b', value: '5' },
      { key: 'c', value: '4' },
    ]);
    // Also past the small-list path.
    const many: TagSpec[] = [];
    for (let i = 0; i < 40; i++) many.push(long(`k${i % 20}`, BigInt(i)));
    const m = one({ tags: many });
    assert.equal(m.attributes.length, 20);
    assert.deepEqual(m.attributes[0], { key: 'k0', value: 20n });
    assert.deepEqual(m.attributes[19], { key: 'k19', value: 39n });
    // Lists without repeats are kept as they are, in order.
    const distinct: TagSpec[] = [];
    for (let i = 0; i < 30; i++) distinct.push(long(`d${i}`, BigInt(i)));
    assert.deepEqual(
      one({ tags: distinct }).attributes.map((kv) => kv.key),
      distinct.map((t) => t.key),
    );
  });

  it('maps process tags: service.name first, a service.name tag overrides it, renames apply only without the target', () => {
    const decode = (serviceName: string, tags: TagSpec[] | undefined): readonly KeyValue[] =>
      (decodeJaegerThriftBatch(encodeBatch({ process: { serviceName, tags }, spans: [baseSpan()] }))[0] as Span)
        .resource.attributes;
    assert.deepEqual(decode('svc', [str('service.name', 'other'), long('n', 1n)]), [
      { key: 'service.name', value: 'other' },
      { key: 'n', value: 1n },
    ]);
    assert.deepEqual(decode('', undefined), []);
    assert.deepEqual(decode('', [str('x', 'y')]), [{ key: 'x', value: 'y' }]);
    assert.deepEqual(decode('svc', [str('hostname', 'h1'), str('jaeger.version', 'Go-2.30'), str('z', 'z')]), [
      { key: 'service.name', value: 'svc' },
      { key: 'z', value: 'z' },
      { key: 'host.name', value: 'h1' },
      { key: 'opencensus.exporterversion', value: 'Jaeger-Go-2.30' },
    ]);
    assert.deepEqual(
      decode('svc', [
        str('hostname', 'h1'),
        str('host.name', 'h2'),
        str('jaeger.version', 'v'),
        str('opencensus.exporterversion', 'e'),
      ]),
      [
        { key: 'service.name', value: 'svc' },
        { key: 'hostname', value: 'h1' },
        { key: 'host.name', value: 'h2' },
        { key: 'jaeger.version', value: 'v' },
        { key: 'opencensus.exporterversion', value: 'e' },
      ],
    );
  });

  it('names events from a string `event` field only, and drops that field whatever its type', () => {
    const s = one({
      logs: [
        { timestamp: 5n, fields: [long('event', 1n), str('message', 'm')] },
        { timestamp: 6n, fields: [] },
        { timestamp: 7n, fields: [str('message', 'only')] },
      ],
    });
    assert.deepEqual(
      s.events.map((e) => [e.timeUnixNano, e.name, e.attributes]),
      [
        [5000n, '', [{ key: 'message', value: 'm' }]],
        [6000n, '', []],
        [7000n, '', [{ key: 'message', value: 'only' }]],
      ],
    );
  });

  it('fills a missing value field with the zero of vType, and keeps an unknown vType as a string', () => {
    const s = one({
      tags: [
        { key: 's', vType: 0 },
        { key: 'd', vType: 1 },
        { key: 'b', vType: 2 },
        { key: 'l', vType: 3 },
        { key: 'x', vType: 4 },
        { key: 'u', vType: 9, vStr: 'ignored' },
        { key: 'n', vType: -1 },
      ],
    });
    assert.deepEqual(s.attributes, [
      { key: 's', value: '' },
      { key: 'd', value: 0 },
      { key: 'b', value: false },
      { key: 'l', value: 0n },
      { key: 'x', value: new Uint8Array(0) },
      { key: 'u', value: '<Unknown Jaeger TagType 9>' },
      { key: 'n', value: '<Unknown Jaeger TagType -1>' },
    ]);
  });

  it('treats an unknown reference type as FOLLOWS_FROM for links but never as the parent', () => {
    const s = one({
      references: [{ refType: 7, traceIdLow: 0x0102030405060708n, traceIdHigh: 0x1112131415161718n, spanId: 9n }],
    });
    assert.equal(s.parentSpanId, '');
    assert.deepEqual(
      s.links.map((l) => [l.spanId, getAttribute(l.attributes, 'opentracing.ref_type')]),
      [['0000000000000009', 'follows_from']],
    );
  });

  it('copies binary values out of the body, so the body can be reused', () => {
    const body = batchOf(baseSpan({ tags: [{ key: 'b', vType: 4, vBinary: new Uint8Array([1, 2, 3]) }] }));
    const [s] = decodeJaegerThriftBatch(body);
    body.fill(0);
    assert.deepEqual(getAttribute(s?.attributes ?? [], 'b'), new Uint8Array([1, 2, 3]));
  });

  it('keeps only the sampled bit of the Jaeger flags', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 5, -1].map((flags) => one({ flags }).flags),
      [0, 1, 0, 1, 1, 1],
    );
  });

  it('wraps times as the collector’s uint64 arithmetic does', () => {
    const a = one({ startTime: -1n, duration: 2n });
    assert.equal(a.startTimeUnixNano, 2n ** 64n - 1000n);
    assert.equal(a.endTimeUnixNano, 1000n);
    const b = one({ startTime: 2n ** 62n, duration: 2n ** 62n });
    assert.equal(b.startTimeUnixNano, BigInt.asUintN(64, 2n ** 62n * 1000n));
    assert.equal(b.endTimeUnixNano, BigInt.asUintN(64, 2n ** 63n * 1000n));
    // Both below 2^53 µs, their sum an odd number just past it: not representable as a double.
    const c = one({ startTime: 2n ** 53n - 1n, duration: 2n });
    assert.equal(c.endTimeUnixNano, (2n ** 53n + 1n) * 1000n);
    const d = one({ startTime: 10n, duration: -20n });
    assert.equal(d.endTimeUnixNano, BigInt.asUintN(64, -10_000n), 'a negative duration wraps, as in the collector');
  });

  it('skips all-zero spans as the collector does, but not a span with an empty tag list', () => {
    const zero = baseSpan({
      traceIdLow: 0n,
      traceIdHigh: 0n,
      spanId: 0n,
      operationName: '',
      flags: 0,
      startTime: 0n,
      duration: 0n,
    });
    assert.equal(decodeJaegerThriftBatch(batchOf(zero, baseSpan())).length, 1);
    assert.equal(decodeJaegerThriftBatch(batchOf({ ...zero, tags: [] })).length, 1);
  });

  it('returns no spans for an empty batch', () => {
    assert.deepEqual(decodeJaegerThriftBatch(batchOf()), []);
  });

  it('accepts fields in any order and shares the resource even when the process comes last', () => {
    const w = new ThriftWriter();
    w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 2);
    // A span written with its fields reversed.
    w.field(ThriftType.I64, 9).i64(5n);
    w.field(ThriftType.I64, 8).i64(10n);
    w.field(ThriftType.I32, 7).i32(1);
    w.field(ThriftType.STRING, 5).string('reversed');
    w.field(ThriftType.I64, 4).i64(0n);
    w.field(ThriftType.I64, 3).i64(3n);
    w.field(ThriftType.I64, 2).i64(2n);
    w.field(ThriftType.I64, 1).i64(1n);
    w.stop();
    writeSpan(w, baseSpan());
    w.field(ThriftType.STRUCT, 1);
    writeProcess(w, { serviceName: 'late' });
    w.stop();
    const spans = decodeJaegerThriftBatch(w.toBytes());
    assert.equal(spans.length, 2);
    assert.equal(spans[0]?.resource, spans[1]?.resource);
    assert.equal(getAttribute(spans[0]?.resource.attributes ?? [], 'service.name'), 'late');
    assert.deepEqual(
      [spans[0]?.name, spans[0]?.traceId, spans[0]?.spanId, spans[0]?.startTimeUnixNano, spans[0]?.endTimeUnixNano],
      ['reversed', '00000000000000020000000000000001', '0000000000000003', 10_000n, 15_000n],
    );
  });

  it('skips unknown fields of every type in every struct, Batch.seqNo and Batch.stats included', () => {
    const unknowns = (w: ThriftWriter): void => {
      w.field(ThriftType.BOOL, 90).bool(true);
      w.field(ThriftType.BYTE, 91).byte(7);
      w.field(ThriftType.DOUBLE, 92).double(1.5);
      w.field(ThriftType.I16, 93).i16(-2);
      w.field(ThriftType.I32, 94).i32(3);
      w.field(ThriftType.I64, 95).i64(4n);
      w.field(ThriftType.STRING, 96).string('skip me');
      w.field(ThriftType.STRUCT, 97).field(ThriftType.STRING, 1).string('inner').stop();
      w.field(ThriftType.MAP, 98)
        .map(ThriftType.STRING, ThriftType.LIST, 1)
        .string('k')
        .list(ThriftType.I32, 2)
        .i32(1)
        .i32(2);
      w.field(ThriftType.SET, 99).list(ThriftType.I64, 1).i64(9n);
      w.field(ThriftType.LIST, -1).list(ThriftType.STRUCT, 1).stop();
    };
    const w = new ThriftWriter();
    unknowns(w);
    w.field(ThriftType.I64, 3).i64(17n); // Batch.seqNo
    w.field(ThriftType.STRUCT, 4).field(ThriftType.I64, 1).i64(3n).stop(); // Batch.stats
    w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('svc');
    w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
    unknowns(w);
    writeTag(w, str('p', 'q')); // the tag's own fields end with its STOP...
    w.stop(); // ...and this ends the Process
    w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
    unknowns(w);
    w.field(ThriftType.I64, 1).i64(1n).field(ThriftType.I64, 2).i64(0n).field(ThriftType.I64, 3).i64(2n);
    w.field(ThriftType.I64, 4).i64(0n).field(ThriftType.STRING, 5).string('op').field(ThriftType.I32, 7).i32(1);
    w.field(ThriftType.I64, 8).i64(1n).field(ThriftType.I64, 9).i64(1n);
    w.field(ThriftType.LIST, 6).list(ThriftType.STRUCT, 1);
    unknowns(w);
    w.field(ThriftType.I32, 1).i32(1).field(ThriftType.I64, 2).i64(1n).field(ThriftType.I64, 3).i64(0n);
    w.field(ThriftType.I64, 4).i64(5n).stop();
    w.field(ThriftType.LIST, 10).list(ThriftType.STRUCT, 1);
    unknowns(w);
    writeTag(w, long('t', 1n));
    w.field(ThriftType.LIST, 11).list(ThriftType.STRUCT, 1);
    unknowns(w);
    w.field(ThriftType.I64, 1).i64(2n).field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
    unknowns(w);
    writeTag(w, str('event', 'e'));
    w.stop(); // Log
    w.stop(); // Span
    w.stop(); // Batch
    const [s] = decodeJaegerThriftBatch(w.toBytes());
    assert.ok(s);
    assert.deepEqual(s.resource.attributes, [
      { key: 'service.name', value: 'svc' },
      { key: 'p', value: 'q' },
    ]);
    assert.deepEqual(s.attributes, [{ key: 't', value: 1n }]);
    assert.deepEqual(
      s.links.map((l) => [l.spanId, getAttribute(l.attributes, 'opentracing.ref_type')]),
      [['0000000000000005', 'follows_from']],
    );
    assert.deepEqual(
      s.events.map((e) => [e.name, e.timeUnixNano]),
      [['e', 2000n]],
    );
    assert.equal(s.name, 'op');
  });

  it('takes the last of a repeated field, as Thrift readers do', () => {
    const w = new ThriftWriter();
    w.field(ThriftType.STRUCT, 1);
    writeProcess(w, { serviceName: 'first' });
    w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
    writeSpan(w, baseSpan({ operationName: 'dropped' }));
    w.field(ThriftType.STRUCT, 1);
    writeProcess(w, { serviceName: 'second' });
    w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
    writeSpan(w, baseSpan({ operationName: 'kept' }));
    w.stop();
    const spans = decodeJaegerThriftBatch(w.toBytes());
    assert.deepEqual(
      spans.map((s) => [s.name, getAttribute(s.resource.attributes, 'service.name')]),
      [['kept', 'second']],
    );
  });

  it('accepts an empty list whatever element type it declares', () => {
    const w = new ThriftWriter();
    w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('svc');
    w.field(ThriftType.LIST, 2).list(ThriftType.I32, 0).stop();
    w.field(ThriftType.LIST, 2).list(ThriftType.BOOL, 0).stop();
    const spans = decodeJaegerThriftBatch(w.toBytes());
    assert.deepEqual(spans, []);
  });
});

// ---------------------------------------------------------------------------
// Hand-built payloads: bad input
// ---------------------------------------------------------------------------

function decodeError(bytes: Uint8Array): { code: string; offset: number; message: string } {
  try {
    decodeJaegerThriftBatch(bytes);
  } catch (e) {
    assert.ok(isWireDecodeError(e), `a WireDecodeError, got ${String(e)}`);
    return { code: e.code, offset: e.offset, message: e.message };
  }
  assert.fail('expected a WireDecodeError');
}

describe('decodeJaegerThriftBatch: bad input', () => {
  it('rejects an empty body and a body cut anywhere', () => {
    assert.deepEqual(decodeError(new Uint8Array(0)).code, WireErrorCode.TRUNCATED);
    const good = batchOf(baseSpan({ tags: [str('k', 'v'), dbl('d', 1)], logs: [{ timestamp: 1n, fields: [] }] }));
    for (let n = 0; n < good.length; n++) {
      const e = decodeError(good.subarray(0, n));
      assert.ok(e.code === WireErrorCode.TRUNCATED || e.code === WireErrorCode.BAD_LENGTH, `cut at ${n}: ${e.code}`);
      assert.ok(e.offset >= 0 && e.offset <= n, `cut at ${n}: offset ${e.offset}`);
    }
  });

  it('names the byte offset of a cut-off fixed-size value', () => {
    const good = batchOf(baseSpan());
    // The Batch ends with: Span.duration (header + 8 bytes), Span STOP, Batch STOP.
    const durationAt = good.length - 2 - 8;
    const e = decodeError(good.subarray(0, durationAt + 4));
    assert.deepEqual([e.code, e.offset], [WireErrorCode.TRUNCATED, durationAt]);
    assert.match(e.message, new RegExp(`byte ${durationAt}`));
  });

  it('rejects string lengths that are negative or past the end, before reading them', () => {
    const w = new ThriftWriter();
    encodeBatch({ process: { serviceName: 'svc' }, spans: [] }, w);
    const at = w.stringLengths[0] as number;
    const pastEnd = w.length - (at + 4) + 1;
    for (const len of [-1, pastEnd, 0x7fffffff]) {
      const bad = w.toBytes();
      new DataView(bad.buffer).setInt32(at, len);
      const e = decodeError(bad);
      assert.deepEqual([e.code, e.offset], [WireErrorCode.BAD_LENGTH, at], `length ${len}`);
    }
  });

  it('rejects list counts that are negative or that the bytes left cannot hold', () => {
    const w = new ThriftWriter();
    encodeBatch({ process: { serviceName: 'svc' }, spans: [baseSpan()] }, w);
    const at = w.listHeaders[0] as number; // Batch.spans
    for (const count of [-1, 2, 1000, 0x7fffffff, -0x80000000]) {
      const bad = w.toBytes();
      new DataView(bad.buffer).setInt32(at + 1, count);
      const e = decodeError(bad);
      if (count === 2) {
        // Two spans could fit by size alone; the second one runs into the Batch STOP and the end.
        assert.ok(e.code === WireErrorCode.TRUNCATED || e.code === WireErrorCode.BAD_FIELD, `${count}: ${e.code}`);
      } else {
        assert.deepEqual([e.code, e.offset], [WireErrorCode.BAD_LENGTH, at], `count ${count}`);
      }
    }
    // A huge count of an unknown list of i64 in a tiny body.
    const w2 = new ThriftWriter().field(ThriftType.LIST, 50).list(ThriftType.I64, 1_000_000).i64(1n).stop();
    assert.equal(decodeError(w2.toBytes()).code, WireErrorCode.BAD_LENGTH);
    const w3 = new ThriftWriter().field(ThriftType.MAP, 50).map(ThriftType.I64, ThriftType.DOUBLE, 2).i64(1n).double(1);
    w3.i64(2n).stop();
    assert.deepEqual([decodeError(w3.toBytes()).code, decodeError(w3.toBytes()).offset], [WireErrorCode.BAD_LENGTH, 3]);
  });

  it('rejects unknown type ids and known fields of the wrong type', () => {
    for (const t of [1, 5, 7, 9, 16, 17, 255]) {
      const e = decodeError(new ThriftWriter().field(t, 40).i32(0).stop().toBytes());
      assert.deepEqual([e.code, e.offset], [WireErrorCode.BAD_THRIFT_TYPE, 0], `type ${t}`);
    }
    // Batch.process as a string.
    const e1 = decodeError(new ThriftWriter().field(ThriftType.STRING, 1).string('x').stop().toBytes());
    assert.deepEqual([e1.code, e1.offset], [WireErrorCode.BAD_THRIFT_TYPE, 0]);
    assert.match(e1.message, /Batch\.process/);
    // Span.spanId as an i32, deep inside.
    const w = new ThriftWriter();
    w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('svc').stop();
    w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
    const at = w.length;
    w.field(ThriftType.I32, 3).i32(5).stop().stop();
    const e2 = decodeError(w.toBytes());
    assert.deepEqual([e2.code, e2.offset], [WireErrorCode.BAD_THRIFT_TYPE, at]);
    assert.match(e2.message, /Span\.spanId/);
    // A non-empty list of the wrong element type.
    const w3 = new ThriftWriter().field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('svc').stop();
    w3.field(ThriftType.LIST, 2).list(ThriftType.I64, 1).i64(1n).stop();
    assert.equal(decodeError(w3.toBytes()).code, WireErrorCode.BAD_THRIFT_TYPE);
  });

  it('rejects nesting deeper than 32 levels, and accepts 32', () => {
    const nested = (levels: number, kind: 'struct' | 'list' | 'map'): Uint8Array => {
      const w = new ThriftWriter();
      // The Batch is level 1; its unknown field 50 is level 2.
      if (kind === 'struct') {
        w.field(ThriftType.STRUCT, 50);
        for (let i = 3; i <= levels; i++) w.field(ThriftType.STRUCT, 1);
        for (let i = 2; i <= levels; i++) w.stop();
      } else if (kind === 'list') {
        w.field(ThriftType.LIST, 50);
        for (let i = 2; i < levels; i++) w.list(ThriftType.LIST, 1);
        w.list(ThriftType.I32, 0);
      } else {
        w.field(ThriftType.MAP, 50);
        for (let i = 2; i < levels; i++) w.map(ThriftType.BOOL, ThriftType.MAP, 1).bool(true);
        w.map(ThriftType.I32, ThriftType.I32, 0);
      }
      w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('svc').stop();
      w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 0).stop();
      return w.toBytes();
    };
    for (const kind of ['struct', 'list', 'map'] as const) {
      assert.deepEqual(decodeJaegerThriftBatch(nested(32, kind)), [], `${kind} at 32 levels`);
      assert.equal(decodeError(nested(33, kind)).code, WireErrorCode.TOO_DEEP, `${kind} at 33 levels`);
      assert.equal(decodeError(nested(100_000, kind)).code, WireErrorCode.TOO_DEEP, `${kind} at 100000 levels`);
    }
  });

  it('rejects missing required fields with BAD_FIELD, naming the field', () => {
    const cases: [string, Uint8Array][] = [
      ['Batch.process', new ThriftWriter().field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 0).stop().toBytes()],
      [
        'Batch.spans',
        new ThriftWriter().field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('s').stop().stop().toBytes(),
      ],
      [
        'Process.serviceName',
        new ThriftWriter()
          .field(ThriftType.STRUCT, 1)
          .stop()
          .field(ThriftType.LIST, 2)
          .list(ThriftType.STRUCT, 0)
          .stop()
          .toBytes(),
      ],
    ];
    const spanWithout = (field: number): Uint8Array => {
      const w = new ThriftWriter();
      w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('s').stop();
      w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
      if (field !== 1) w.field(ThriftType.I64, 1).i64(1n);
      if (field !== 2) w.field(ThriftType.I64, 2).i64(1n);
      if (field !== 3) w.field(ThriftType.I64, 3).i64(1n);
      if (field !== 4) w.field(ThriftType.I64, 4).i64(1n);
      if (field !== 5) w.field(ThriftType.STRING, 5).string('op');
      if (field !== 7) w.field(ThriftType.I32, 7).i32(1);
      if (field !== 8) w.field(ThriftType.I64, 8).i64(1n);
      if (field !== 9) w.field(ThriftType.I64, 9).i64(1n);
      return w.stop().stop().toBytes();
    };
    const names = { 1: 'traceIdLow', 2: 'traceIdHigh', 3: 'spanId', 4: 'parentSpanId', 5: 'operationName' } as const;
    for (const [id, name] of Object.entries(names)) cases.push([`Span ${name}`, spanWithout(Number(id))]);
    cases.push(['Span flags', spanWithout(7)], ['Span startTime', spanWithout(8)], ['Span duration', spanWithout(9)]);
    const withTag = (build: (w: ThriftWriter) => void): Uint8Array => {
      const w = new ThriftWriter();
      w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('s');
      w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
      build(w);
      return w.stop().field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 0).stop().toBytes();
    };
    cases.push(['Tag key', withTag((w) => w.field(ThriftType.I32, 2).i32(0).stop())]);
    cases.push(['Tag vType', withTag((w) => w.field(ThriftType.STRING, 1).string('k').stop())]);
    const spanWith = (extra: (w: ThriftWriter) => void): Uint8Array => {
      const w = new ThriftWriter();
      w.field(ThriftType.STRUCT, 1).field(ThriftType.STRING, 1).string('s').stop();
      w.field(ThriftType.LIST, 2).list(ThriftType.STRUCT, 1);
      extra(w);
      writeSpan(w, baseSpan());
      return w.stop().toBytes();
    };
    cases.push([
      'Log fields',
      spanWith((w) => w.field(ThriftType.LIST, 11).list(ThriftType.STRUCT, 1).field(ThriftType.I64, 1).i64(1n).stop()),
    ]);
    cases.push([
      'Log timestamp',
      spanWith((w) =>
        w
          .field(ThriftType.LIST, 11)
          .list(ThriftType.STRUCT, 1)
          .field(ThriftType.LIST, 2)
          .list(ThriftType.STRUCT, 0)
          .stop(),
      ),
    ]);
    cases.push([
      'SpanRef refType',
      spanWith((w) =>
        w
          .field(ThriftType.LIST, 6)
          .list(ThriftType.STRUCT, 1)
          .field(ThriftType.I64, 2)
          .i64(1n)
          .field(ThriftType.I64, 3)
          .i64(1n)
          .field(ThriftType.I64, 4)
          .i64(1n)
          .stop(),
      ),
    ]);
    cases.push([
      'SpanRef spanId',
      spanWith((w) =>
        w
          .field(ThriftType.LIST, 6)
          .list(ThriftType.STRUCT, 1)
          .field(ThriftType.I32, 1)
          .i32(0)
          .field(ThriftType.I64, 2)
          .i64(1n)
          .field(ThriftType.I64, 3)
          .i64(1n)
          .stop(),
      ),
    ]);
    for (const [label, bytes] of cases) {
      const e = decodeError(bytes);
      assert.equal(e.code, WireErrorCode.BAD_FIELD, label);
      const [struct, field] = label.includes('.') ? label.split('.') : label.split(' ');
      assert.match(e.message, new RegExp(`^${struct} .*required field ${field}$`), label);
      assert.ok(e.offset > 0 && e.offset < bytes.length, label);
    }
  });

  it('rejects bytes left over after the Batch', () => {
    const good = batchOf(baseSpan());
    const bad = new Uint8Array(good.length + 3);
    bad.set(good);
    const e = decodeError(bad);
    assert.deepEqual([e.code, e.offset], [WireErrorCode.BAD_LENGTH, good.length]);
  });
});
