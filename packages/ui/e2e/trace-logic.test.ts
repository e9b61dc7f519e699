/**
 * The trace and compare pages' computations under Node (no browser): the
 * compact view the browser builds from an OTLP/JSON file equals the one the
 * server sends, the typed-array model's subtrees, collapsing, find-in-trace,
 * per-operation statistics and the merged compare tree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembleTrace, criticalPath, type Span } from '@traceloom/model';
import { encodeOtlpTracesJson } from '@traceloom/wire';
import { traceToCompactJson } from '../../server/src/query/trace-json.ts';
import { mergeTraces, presence } from '../src/compare/merge.ts';
import { compactFromOtlpJson } from '../src/trace/compact-from-otlp.ts';
import { attributesOf, modelFromCompact, nameOf, spanIdOf, type TraceModel } from '../src/trace/model.ts';
import { findMatches, operationStats, parseFind, visibleRows } from '../src/trace/view-logic.ts';
import { buildSpans, type SpanSpec } from './fixtures/traceloom.ts';

const SPANS: SpanSpec[] = [
  { id: 'a', service: 'web', name: 'GET /', durationMs: 100, attributes: { 'http.route': '/', n: 7 } },
  { id: 'b', parent: 'a', service: 'api', name: 'list', offsetMs: 10, durationMs: 50, attributes: { ok: true } },
  { id: 'c', parent: 'b', service: 'db', name: 'SELECT', offsetMs: 12, durationMs: 20, error: 'timeout' },
  { id: 'd', parent: 'b', service: 'db', name: 'SELECT', offsetMs: 35, durationMs: 10, attributes: { rows: 3.5 } },
  { id: 'e', parent: 'a', service: 'api', name: 'render', offsetMs: 70, durationMs: 25 },
];

function model(specs: readonly SpanSpec[]): { m: TraceModel; spans: Span[]; ids: Readonly<Record<string, string>> } {
  const { spans, sent } = buildSpans({ spans: specs });
  return { m: modelFromCompact(compactFromOtlpJson(encodeOtlpTracesJson(spans))), spans, ids: sent.spanIds };
}

describe('trace page logic', () => {
  it('builds in the browser the same compact view the server sends', () => {
    const { spans } = buildSpans({
      spans: [
        ...SPANS,
        {
          parent: 'e',
          service: 'web',
          name: 'odd values',
          durationMs: 1,
          attributes: { nan: Number.NaN, big: 2 ** 40 },
        },
      ],
    });
    const trace = assembleTrace(spans);
    const server = traceToCompactJson({ trace, criticalPath: criticalPath(trace) });
    const browser = compactFromOtlpJson(encodeOtlpTracesJson(spans));
    assert.deepEqual(JSON.parse(JSON.stringify(browser)), JSON.parse(JSON.stringify(server)));
  });

  it('knows subtrees, children and attributes', () => {
    const { m, ids } = model(SPANS);
    assert.equal(m.spanCount, 5);
    assert.deepEqual(
      Array.from({ length: 5 }, (_, i) => spanIdOf(m, i)),
      [ids.a, ids.b, ids.c, ids.d, ids.e],
    );
    assert.deepEqual([...m.subtreeEnd], [5, 4, 3, 4, 5]);
    assert.deepEqual([...m.childCount], [2, 2, 0, 0, 0]);
    assert.deepEqual([...m.parent], [-1, 0, 1, 1, 0]);
    assert.deepEqual(attributesOf(m, 0), [
      { key: 'http.route', type: 'string', value: '/' },
      { key: 'n', type: 'int', value: '7' },
    ]);
    assert.deepEqual(attributesOf(m, 3), [{ key: 'rows', type: 'double', value: 3.5 }]);
  });

  it('hides collapsed subtrees', () => {
    const { m } = model(SPANS);
    const collapsed = new Uint8Array(m.spanCount);
    assert.deepEqual([...visibleRows(m, collapsed)], [0, 1, 2, 3, 4]);
    collapsed[1] = 1;
    assert.deepEqual([...visibleRows(m, collapsed)], [0, 1, 4]);
    collapsed[0] = 1;
    assert.deepEqual([...visibleRows(m, collapsed)], [0]);
  });

  it('finds by text, by key=value, and errors', () => {
    const { m } = model(SPANS);
    const find = (q: string) => {
      const parsed = parseFind(q);
      assert.ok(parsed !== undefined);
      const { flags } = findMatches(m, parsed);
      return [...flags].flatMap((f, i) => (f === 1 ? [nameOf(m, i)] : []));
    };
    assert.deepEqual(find('select'), ['SELECT', 'SELECT']);
    assert.deepEqual(find('API'), ['list', 'render']);
    assert.deepEqual(find('n=7'), ['GET /']);
    assert.deepEqual(find('ok=TRUE'), ['list']);
    assert.deepEqual(find('rows=3.5'), ['SELECT']);
    assert.deepEqual(find('rows=3'), []);
    assert.deepEqual(find('service.name=db'), ['SELECT', 'SELECT']);
    assert.deepEqual(find('timeout'), ['SELECT']);
    assert.deepEqual(find('error'), ['SELECT']);
    assert.equal(parseFind('  '), undefined);
  });

  it('sums per-operation statistics with self time', () => {
    const { m } = model(SPANS);
    const stats = operationStats(m);
    const select = stats.find((s) => s.name === 'SELECT');
    assert.deepEqual(
      { ...select },
      { service: 'db', name: 'SELECT', count: 2, errors: 1, total: 30e6, self: 30e6, max: 20e6, min: 10e6 },
    );
    const list = stats.find((s) => s.name === 'list');
    assert.equal(list?.self, 20e6);
    // Sorted by self time, largest first (GET / keeps 100 - 50 - 25 ms; ties keep tree order).
    assert.deepEqual(
      stats.map((s) => [s.name, s.self / 1e6]),
      [
        ['SELECT', 30],
        ['GET /', 25],
        ['render', 25],
        ['list', 20],
      ],
    );
  });

  it('merges two traces by service and operation path', () => {
    const left = model(SPANS).m;
    const right = model([
      ...SPANS.filter((s) => s.id !== 'e'),
      { parent: 'b', service: 'cache', name: 'GET', offsetMs: 11, durationMs: 1 },
      { parent: 'b', service: 'db', name: 'SELECT', offsetMs: 47, durationMs: 2 },
    ]).m;
    const tree = mergeTraces(left, right);
    assert.deepEqual(
      tree.nodes.map(
        (n) => `${'  '.repeat(n.depth)}${n.service}:${n.name}:${presence(n)}:${n.left.count}/${n.right.count}`,
      ),
      [
        'web:GET /:both:1/1',
        '  api:list:both:1/1',
        '    db:SELECT:both:2/3',
        '    cache:GET:right:0/1',
        '  api:render:left:1/0',
      ],
    );
    assert.equal(tree.onlyLeft, 1);
    assert.equal(tree.onlyRight, 1);
    const select = tree.nodes[2];
    assert.equal(select?.left.total, 30e6);
    assert.equal(select?.right.total, 32e6);
  });
});
