import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  EMPTY_SCOPE,
  type InstrumentationScope,
  type Resource,
  type Span,
  SpanBatch,
  spanDiff,
} from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import { decodeOtlpTracesJson } from '@traceloom/wire';
import { QueryEngine } from '../query/engine.ts';
import type { TraceJson, TraceSummaryJson } from '../query/trace-json.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { NATIVE_API_ROUTES, parseAttributeCondition, type RunningApiServer, startApiServer } from './native.ts';

// The store and the API run against a fixed clock, ten minutes after T0.
const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;
const NOW = T0 + 600_000n * MS;

const TA = '4bf92f3577b34da6a3ce929d0e0e4736';
const TB = '0af7651916cd43dd8448eb211c80319c';
const TC = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const TD = (i: number): string => `d${String(i).padStart(31, '0')}`;

const frontend = testResource('frontend');
const cart = testResource('cart', [{ key: 'host.name', value: 'h1' }]);
const checkout = testResource('checkout', [{ key: 'deployment.environment', value: 'prod' }]);
const batchRes = testResource('batch');
const scope: InstrumentationScope = { ...EMPTY_SCOPE, name: 'test-lib', version: '1.0.0' };

function sp(
  traceId: string,
  id: string,
  parent: string,
  startMs: number,
  endMs: number,
  over: Partial<Span> & { resource: Resource },
): Span {
  return testSpan({
    traceId,
    spanId: id.padStart(16, '0'),
    parentSpanId: parent === '' ? '' : parent.padStart(16, '0'),
    name: `op-${id}`,
    startTimeUnixNano: T0 + BigInt(startMs) * MS,
    endTimeUnixNano: T0 + BigInt(endMs) * MS,
    scope,
    ...over,
  });
}

const ERROR = { code: 2, message: 'boom' };
const traceA = [
  sp(TA, '1', '', 0, 100, {
    resource: frontend,
    name: 'GET /cart',
    kind: 2,
    attributes: [{ key: 'http.route', value: '/cart' }],
  }),
  sp(TA, '2', '1', 10, 90, { resource: frontend, name: 'GET cart', kind: 3 }),
  sp(TA, '3', '2', 12, 88, {
    resource: cart,
    name: 'GET /api/cart',
    kind: 2,
    attributes: [
      { key: 'http.route', value: '/api/cart' },
      { key: 'http.status_code', value: 200n },
    ],
    events: [{ timeUnixNano: T0 + 15n * MS, name: 'cache.miss', attributes: [], droppedAttributesCount: 0 }],
  }),
  sp(TA, '4', '3', 20, 50, {
    resource: cart,
    name: 'SELECT',
    kind: 3,
    status: ERROR,
    attributes: [
      { key: 'db.system', value: 'postgresql' },
      { key: 'db.rows', value: 3.5 },
      { key: 'blob', value: new Uint8Array([1, 2, 3]) },
    ],
  }),
  // Its parent never arrived.
  sp(TA, '5', 'dead', 60, 70, { resource: cart, name: 'late-work' }),
];
const traceB = [
  sp(TB, 'b1', '', 1000, 3000, {
    resource: checkout,
    name: 'POST /checkout',
    kind: 2,
    status: ERROR,
    attributes: [{ key: 'http.status_code', value: 500n }],
  }),
];
// Two hours before T0: outside the default one-hour look-back.
const traceC = [sp(TC, 'c1', '', -7_200_000, -7_199_995, { resource: frontend, name: 'GET /', kind: 2 })];
const traceD = [1, 2, 3, 4, 5].map((i) =>
  sp(TD(i), `e${i}`, '', i * 60_000, i * 60_000 + i * 10, { resource: batchRes, name: 'job', kind: 5 }),
);

let api: RunningApiServer;
let base: string;

before(async () => {
  const store = new MemoryStore();
  await store.write(SpanBatch.from([...traceA.slice(0, 3), ...traceB]));
  // The rest arrives in another batch, with resources as new (equal) objects.
  await store.write(
    SpanBatch.from([
      ...traceA.slice(3).map((s) => ({ ...s, resource: testResource('cart', [{ key: 'host.name', value: 'h1' }]) })),
      ...traceC,
      ...traceD,
    ]),
  );
  api = await startApiServer(new QueryEngine(store), { port: 0, now: () => NOW });
  base = `http://localhost:${api.port}`;
});

after(async () => {
  await api.close();
});

async function getJson<T>(path: string, status = 200): Promise<{ body: T; res: Response }> {
  const res = await fetch(base + path);
  assert.equal(res.status, status, `${path}: ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return { body: (await res.json()) as T, res };
}

interface ErrorJson {
  error: { code: string; message: string; hint: string; parameter?: string };
}

async function badParameter(path: string, parameter: string): Promise<ErrorJson> {
  const { body, res } = await getJson<ErrorJson>(path, 400);
  assert.equal(res.headers.get('x-traceloom-error-code'), 'TL_ERR_BAD_PARAMETER', path);
  assert.equal(body.error.code, 'TL_ERR_BAD_PARAMETER', path);
  assert.equal(body.error.parameter, parameter, `${path}: ${body.error.message}`);
  assert.ok(body.error.hint.length > 0);
  return body;
}

async function searchIds(query: string): Promise<string[]> {
  const { body } = await getJson<{ traces: TraceSummaryJson[] }>(`/api/v1/search?${query}`);
  return body.traces.map((t) => t.traceId);
}

describe('GET /api/v1/traces/{traceId}', () => {
  it('returns the assembled tree with critical path, orphans, tables and header figures', async () => {
    const { body: t } = await getJson<TraceJson>(`/api/v1/traces/${TA.toUpperCase()}`);
    assert.equal(t.traceId, TA);
    assert.equal(t.rootServiceName, 'frontend');
    assert.equal(t.rootName, 'GET /cart');
    assert.equal(t.spanCount, 5);
    assert.equal(t.errorCount, 1);
    assert.equal(t.orphanCount, 1);
    assert.equal(t.durationNano, (100n * MS).toString());
    assert.equal(t.startUnixNano, T0.toString());
    assert.equal(t.durationMicros, 100_000);
    const byName = new Map(t.spans.map((s) => [s.name, s]));
    const root = byName.get('GET /cart')!;
    const client = byName.get('GET cart')!;
    const server = byName.get('GET /api/cart')!;
    const db = byName.get('SELECT')!;
    const orphan = byName.get('late-work')!;
    assert.equal(root.parentIndex, -1);
    assert.equal(root.depth, 0);
    assert.deepEqual(root.children, [client.index]);
    assert.equal(server.parentIndex, client.index);
    assert.equal(db.parentIndex, server.index);
    assert.equal(db.depth, 3);
    assert.equal(orphan.orphan, true);
    assert.equal(orphan.parentIndex, -1);
    assert.equal(root.orphan, false);
    assert.deepEqual(t.roots, [root.index, orphan.index]);
    // Self time: the server span (76 ms) minus its child (30 ms).
    assert.equal(server.selfTimeNano, (46n * MS).toString());
    assert.equal(db.status.codeName, 'error');
    assert.equal(server.kindName, 'server');
    assert.deepEqual(server.attributes, [
      { key: 'http.route', type: 'string', value: '/api/cart' },
      { key: 'http.status_code', type: 'int', value: '200' },
    ]);
    assert.deepEqual(
      db.attributes.map((a) => [a.type, a.value]),
      [
        ['string', 'postgresql'],
        ['double', 3.5],
        ['bytes', 'AQID'],
      ],
    );
    assert.equal(server.events[0]?.name, 'cache.miss');
    // Two services' resources, each listed once though cart's arrived as two objects.
    assert.equal(t.resources.length, 2);
    assert.equal(server.resourceIndex, db.resourceIndex);
    assert.equal(t.resources[db.resourceIndex]?.serviceName, 'cart');
    assert.deepEqual(t.scopes, [
      { name: 'test-lib', version: '1.0.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    ]);
    assert.deepEqual(t.services, [
      { service: 'cart', spanCount: 3, errorCount: 1 },
      { service: 'frontend', spanCount: 2, errorCount: 0 },
    ]);
    // The path runs root -> client -> server -> db and back; it never enters the orphan.
    assert.ok(t.criticalPath.length > 0);
    assert.equal(t.criticalPath[0]?.spanId, root.spanId);
    assert.ok(t.criticalPath.some((s) => s.index === db.index));
    assert.equal(db.onCriticalPath, true);
    assert.equal(orphan.onCriticalPath, false);
    const covered = t.criticalPath.reduce((n, s) => n + BigInt(s.endUnixNano) - BigInt(s.startUnixNano), 0n);
    assert.equal(covered, 100n * MS);
  });

  it('accepts a time hint in RFC 3339 or nanoseconds', async () => {
    await getJson(`/api/v1/traces/${TA}?start=2023-11-14T22:00:00Z&end=${NOW}`);
  });

  it('answers 404 with TL_ERR_TRACE_NOT_FOUND for an unknown trace', async () => {
    const { body, res } = await getJson<ErrorJson>(`/api/v1/traces/${'1'.repeat(32)}`, 404);
    assert.equal(body.error.code, 'TL_ERR_TRACE_NOT_FOUND');
    assert.equal(res.headers.get('x-traceloom-error-code'), 'TL_ERR_TRACE_NOT_FOUND');
    assert.ok(body.error.hint.length > 0);
  });

  it('answers 400 naming the parameter for a bad id, format or hint', async () => {
    await badParameter('/api/v1/traces/not-a-trace-id', 'traceId');
    await badParameter(`/api/v1/traces/${'0'.repeat(32)}`, 'traceId');
    await badParameter(`/api/v1/traces/${TA}?format=xml`, 'format');
    await badParameter(`/api/v1/traces/${TA}?start=yesterday`, 'start');
    await badParameter(`/api/v1/traces/${TA}?start=now&end=now-1h`, 'end');
    await badParameter(`/api/v1/traces/${TA}?download=1`, 'download');
  });

  it('leaves the details out of a compact trace larger than maxDetailedSpans, and says so', async () => {
    const small = await getJson<{ partial?: boolean; spanCount: number }>(
      `/api/v1/traces/${TA}?format=compact&maxDetailedSpans=1000`,
    );
    assert.equal(small.body.partial, undefined);
    const big = await getJson<{ partial?: boolean; spanCount: number }>(
      `/api/v1/traces/${TA}?format=compact&maxDetailedSpans=2`,
    );
    assert.equal(big.body.partial, true);
    assert.equal(big.body.spanCount, small.body.spanCount);
    await badParameter(`/api/v1/traces/${TA}?maxDetailedSpans=2`, 'maxDetailedSpans');
    await badParameter(`/api/v1/traces/${TA}?format=compact&maxDetailedSpans=-1`, 'maxDetailedSpans');
  });

  it('downloads OTLP/JSON that decodes back to the same spans', async () => {
    const res = await fetch(`${base}/api/v1/traces/${TA}?format=otlp`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="trace-${TA}.json"`);
    const decoded = decodeOtlpTracesJson(await res.text());
    assert.equal(decoded.length, traceA.length);
    const want = new Map(traceA.map((s) => [s.spanId, s]));
    for (const got of decoded) {
      const w = want.get(got.spanId);
      assert.ok(w, got.spanId);
      assert.equal(spanDiff(got, w), undefined, got.name);
    }
  });
});

describe('GET /api/v1/search', () => {
  it('defaults to the last hour, newest first, with summaries in JSON form', async () => {
    const { body } = await getJson<{ traces: TraceSummaryJson[]; total: number; nextCursor?: string }>(
      '/api/v1/search',
    );
    assert.deepEqual(
      body.traces.map((t) => t.traceId),
      [TD(5), TD(4), TD(3), TD(2), TD(1), TB, TA],
    );
    assert.equal(body.total, 7);
    assert.equal(body.nextCursor, undefined);
    const a = body.traces.find((t) => t.traceId === TA)!;
    assert.deepEqual(a, {
      traceId: TA,
      rootServiceName: 'frontend',
      rootName: 'GET /cart',
      startUnixNano: T0.toString(),
      startTime: '2023-11-14T22:13:20.000000Z',
      startMicros: Number(T0 / 1000n),
      durationNano: (100n * MS).toString(),
      durationMicros: 100_000,
      spanCount: 5,
      errorCount: 1,
      services: [
        { service: 'cart', spanCount: 3, errorCount: 1 },
        { service: 'frontend', spanCount: 2, errorCount: 0 },
      ],
    });
  });

  it('filters by service, operation, span kind, errors and durations', async () => {
    assert.deepEqual(await searchIds('service=cart'), [TA]);
    assert.deepEqual(await searchIds('service=frontend&operation=GET%20cart'), [TA]);
    assert.deepEqual(await searchIds('spanKind=client'), [TA]);
    assert.deepEqual(await searchIds('spanKind=SPAN_KIND_CONSUMER&limit=2'), [TD(5), TD(4)]);
    assert.deepEqual(await searchIds('errors=true'), [TB, TA]);
    assert.deepEqual(await searchIds('minDuration=1.5s'), [TB]);
    assert.deepEqual(await searchIds('service=batch&minDuration=25ms&maxDuration=40000000'), [TD(4), TD(3)]);
    assert.deepEqual(await searchIds('service=nobody'), []);
  });

  it('filters by attributes with every operator and scope', async () => {
    const q = (attr: string) => searchIds(`attr=${encodeURIComponent(attr)}`);
    assert.deepEqual(await q('http.route=/api/cart'), [TA]);
    assert.deepEqual(await q('span.http.route=/api/cart'), [TA]);
    assert.deepEqual(await q('resource.http.route=/api/cart'), []);
    assert.deepEqual(await q('resource.deployment.environment=prod'), [TB]);
    assert.deepEqual(await q('http.status_code>=500'), [TB]);
    assert.deepEqual(await q('http.status_code<500'), [TA]);
    assert.deepEqual(await q('http.status_code!=200'), [TB]);
    assert.deepEqual(await q('http.route=~/api/.*'), [TA]);
    assert.deepEqual(await q('http.route!~/api/.*'), [TA]);
    assert.deepEqual(await q('exists:db.system'), [TA]);
    assert.deepEqual(await q('db.rows>3'), [TA]);
    // Several attr parameters: all must hold (on one span, by default).
    assert.deepEqual(
      await searchIds(
        `attr=${encodeURIComponent('http.route=/api/cart')}&attr=${encodeURIComponent('http.status_code=200')}`,
      ),
      [TA],
    );
  });

  it('matches conditions on one span, or across the trace with match=trace', async () => {
    const q = `service=frontend&attr=${encodeURIComponent('db.system=postgresql')}`;
    assert.deepEqual(await searchIds(q), []);
    assert.deepEqual(await searchIds(`${q}&match=trace`), [TA]);
  });

  it('takes the range from start/end (RFC 3339, ns, now-relative) or lookback', async () => {
    assert.deepEqual(await searchIds('service=frontend'), [TA]);
    assert.deepEqual(await searchIds('service=frontend&lookback=3h'), [TA, TC]);
    assert.deepEqual(await searchIds('service=frontend&start=2023-11-14T19:00:00Z&end=2023-11-14T21:00:00Z'), [TC]);
    assert.deepEqual(await searchIds(`service=frontend&start=${T0 - 3_600_000n * MS * 3n}&end=now-1h`), [TC]);
    assert.deepEqual(await searchIds('service=frontend&start=now-3h&end=now'), [TA, TC]);
  });

  it('sorts by duration and pages with the cursor', async () => {
    assert.deepEqual((await searchIds('sort=longest&limit=3')).slice(0, 2), [TB, TA]);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { body } = await getJson<{ traces: TraceSummaryJson[]; total: number; nextCursor?: string }>(
        `/api/v1/search?service=batch&limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      assert.equal(body.total, 5);
      seen.push(...body.traces.map((t) => t.traceId));
      cursor = body.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [TD(5), TD(4), TD(3), TD(2), TD(1)]);
  });

  it('answers 400 naming the parameter for each kind of bad parameter', async () => {
    const s = '/api/v1/search?';
    await badParameter(`${s}minDuration=abc`, 'minDuration');
    await badParameter(`${s}maxDuration=1x`, 'maxDuration');
    await badParameter(`${s}minDuration=2s&maxDuration=1s`, 'maxDuration');
    await badParameter(`${s}spanKind=server2`, 'spanKind');
    await badParameter(`${s}attr=justakey`, 'attr');
    await badParameter(`${s}attr=${encodeURIComponent('=value')}`, 'attr');
    await badParameter(`${s}attr=${encodeURIComponent('http.status_code>=abc')}`, 'attr');
    await badParameter(`${s}attr=${encodeURIComponent('http.route=~(')}`, 'attr');
    await badParameter(`${s}attr=exists:`, 'attr');
    await badParameter(`${s}errors=maybe`, 'errors');
    await badParameter(`${s}start=yesterday`, 'start');
    await badParameter(`${s}end=2023-13-01T00:00:00Z`, 'end');
    await badParameter(`${s}start=now&end=now-1h`, 'end');
    await badParameter(`${s}lookback=forever`, 'lookback');
    await badParameter(`${s}match=some`, 'match');
    await badParameter(`${s}sort=oldest`, 'sort');
    await badParameter(`${s}limit=0`, 'limit');
    await badParameter(`${s}limit=10001`, 'limit');
    await badParameter(`${s}limit=ten`, 'limit');
    await badParameter(`${s}cursor=not!a!cursor`, 'cursor');
    await badParameter(`${s}service=a&service=b`, 'service');
    const unknown = await badParameter(`${s}minduration=1s`, 'minduration');
    assert.match(unknown.error.message, /minDuration/);
  });
});

describe('attr syntax', () => {
  it('splits at the first operator and reads numbers for the numeric operators', () => {
    assert.deepEqual(parseAttributeCondition('url.query=a=b'), {
      scope: 'any',
      key: 'url.query',
      op: '=',
      value: 'a=b',
    });
    assert.deepEqual(parseAttributeCondition('resource.k<=1e3'), {
      scope: 'resource',
      key: 'k',
      op: '<=',
      value: 1000,
    });
    assert.deepEqual(parseAttributeCondition('k='), { scope: 'any', key: 'k', op: '=', value: '' });
    assert.deepEqual(parseAttributeCondition('!exists:span.error'), { scope: 'span', key: 'error', op: '!exists' });
  });
});

describe('services, operations, attribute keys and values', () => {
  it('lists services and the operations of one', async () => {
    const { body } = await getJson<{ services: string[] }>('/api/v1/services');
    assert.deepEqual(body.services, ['batch', 'cart', 'checkout', 'frontend']);
    const ops = await getJson<{ operations: { name: string; spanKind: number; spanKindName: string }[] }>(
      '/api/v1/services/cart/operations',
    );
    assert.deepEqual(ops.body.operations, [
      { name: 'GET /api/cart', spanKind: 2, spanKindName: 'server' },
      { name: 'SELECT', spanKind: 3, spanKindName: 'client' },
      { name: 'late-work', spanKind: 1, spanKindName: 'internal' },
    ]);
    const none = await getJson<{ operations: unknown[] }>('/api/v1/services/nobody/operations');
    assert.deepEqual(none.body.operations, []);
    await badParameter('/api/v1/services?x=1', 'x');
  });

  it('lists attribute keys and values by scope, service and prefix', async () => {
    const keys = async (q: string) => (await getJson<{ keys: string[] }>(`/api/v1/attributes/keys?${q}`)).body.keys;
    const values = async (q: string) =>
      (await getJson<{ values: string[] }>(`/api/v1/attributes/values?${q}`)).body.values;
    assert.deepEqual(await keys(''), ['blob', 'db.rows', 'db.system', 'http.route', 'http.status_code']);
    assert.deepEqual(await keys('scope=resource&service=checkout'), ['deployment.environment', 'service.name']);
    assert.deepEqual(await keys('prefix=http.&limit=1'), ['http.route']);
    assert.deepEqual(await values('key=http.status_code'), ['200', '500']);
    assert.deepEqual(await values('key=http.route&service=frontend'), ['/cart']);
    assert.deepEqual(await values('scope=resource&key=service.name&prefix=c'), ['cart', 'checkout']);
    await badParameter('/api/v1/attributes/keys?scope=event', 'scope');
    await badParameter('/api/v1/attributes/keys?limit=-1', 'limit');
    await badParameter('/api/v1/attributes/values', 'key');
  });
});

describe('summaries', () => {
  it('answers GET and POST in the order asked, listing ids not stored', async () => {
    const { body } = await getJson<{ traces: TraceSummaryJson[]; missing: string[] }>(
      `/api/v1/summaries?traceId=${TB}&traceId=${TA.toUpperCase()},${'2'.repeat(32)}`,
    );
    assert.deepEqual(
      body.traces.map((t) => t.traceId),
      [TB, TA],
    );
    assert.deepEqual(body.missing, ['2'.repeat(32)]);
    assert.equal(body.traces[0]?.durationNano, (2000n * MS).toString());
    const res = await fetch(`${base}/api/v1/summaries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ traceIds: [TA, TC] }),
    });
    assert.equal(res.status, 200);
    const posted = (await res.json()) as { traces: TraceSummaryJson[]; missing: string[] };
    assert.deepEqual(
      posted.traces.map((t) => t.traceId),
      [TA, TC],
    );
    assert.deepEqual(posted.missing, []);
  });

  it('answers 400 for bad ids and bodies', async () => {
    await badParameter('/api/v1/summaries', 'traceId');
    await badParameter('/api/v1/summaries?traceId=xyz', 'traceId');
    for (const [body, parameter] of [
      ['{"traceIds":"abc"}', 'traceIds'],
      ['{"traceIds":[1]}', 'traceIds'],
      ['{"traceIds":["nope"]}', 'traceIds'],
      ['not json', 'body'],
    ] as const) {
      const res = await fetch(`${base}/api/v1/summaries`, { method: 'POST', body });
      assert.equal(res.status, 400, body);
      const json = (await res.json()) as ErrorJson;
      assert.equal(json.error.parameter, parameter, body);
    }
  });
});

describe('HTTP behaviour', () => {
  it('answers unknown paths and methods with JSON errors', async () => {
    const { body } = await getJson<ErrorJson>('/api/v1/nothing', 404);
    assert.equal(body.error.code, 'TL_ERR_NOT_FOUND');
    assert.match(body.error.hint, /\/api\/v1\//);
    const res = await fetch(`${base}/api/v1/services`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(((await res.json()) as ErrorJson).error.code, 'TL_ERR_METHOD_NOT_ALLOWED');
  });

  it('allows cross-origin GETs', async () => {
    const res = await fetch(`${base}/api/v1/services`, { headers: { origin: 'http://ui.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    await res.arrayBuffer();
  });
});

describe('openapi.yaml', () => {
  it('documents exactly the routes the server registers', () => {
    const text = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');
    // Paths are the two-space-indented keys under `paths:`; methods the four-space ones under each.
    const documented: string[] = [];
    let inPaths = false;
    let path = '';
    for (const line of text.split('\n')) {
      if (/^\S/.test(line)) inPaths = line.startsWith('paths:');
      if (!inPaths) continue;
      const p = /^ {2}(\/\S+):\s*$/.exec(line);
      if (p !== null) path = p[1]!;
      const m = /^ {4}(get|post|put|delete|patch):/.exec(line);
      if (m !== null) documented.push(`${m[1]!.toUpperCase()} ${path}`);
    }
    const registered = NATIVE_API_ROUTES.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    assert.deepEqual([...documented].sort(), [...registered].sort());
    assert.match(text, /^openapi: 3\.1\.\d+$/m);
  });
});
