import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KeyValue, type Span, SpanBatch, SpanKind } from '@traceloom/model';
import { testResource, testSpan } from '@traceloom/model/testing';
import fc from 'fast-check';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { QueryInputError, type TimeRange } from '../storage/types.ts';
import {
  normalizeTraceId,
  parseDurationNano,
  parseSpanKind,
  parseTimeHint,
  parseTimeNano,
  QueryEngine,
  spanKindName,
} from './engine.ts';
import { rfc3339Micros, summaryToJson, traceToJson, valueToJson } from './trace-json.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

function sp(id: string, parent: string, startMs: number, endMs: number, over: Partial<Span> = {}): Span {
  return testSpan({
    traceId: TRACE,
    spanId: id.padStart(16, '0'),
    parentSpanId: parent === '' ? '' : parent.padStart(16, '0'),
    name: `op-${id}`,
    kind: SpanKind.SERVER,
    startTimeUnixNano: T0 + BigInt(startMs) * MS,
    endTimeUnixNano: T0 + BigInt(endMs) * MS,
    resource: testResource('svc'),
    ...over,
  });
}

function rejectsParam(fn: () => unknown, parameter: string): void {
  assert.throws(fn, (e: unknown) => e instanceof QueryInputError && e.parameter === parameter);
}

describe('normalizeTraceId', () => {
  it('lowercases and left-pads 16-hex ids as Jaeger does', () => {
    assert.equal(normalizeTraceId('0AF7651916CD43DD8448EB211C80319C'), TRACE);
    assert.equal(normalizeTraceId('8448eb211c80319c'), '00000000000000008448eb211c80319c');
  });
  it('refuses non-hex, too long and all-zero ids, naming the parameter', () => {
    rejectsParam(() => normalizeTraceId('xyz', 'id'), 'id');
    rejectsParam(() => normalizeTraceId(`${TRACE}00`), 'traceId');
    rejectsParam(() => normalizeTraceId(''), 'traceId');
    rejectsParam(() => normalizeTraceId('0'.repeat(32)), 'traceId');
  });
});

describe('parseDurationNano', () => {
  it('reads Go durations and integer nanoseconds', () => {
    assert.equal(parseDurationNano('150ms', 'd'), 150n * MS);
    assert.equal(parseDurationNano('1.5s', 'd'), 1_500n * MS);
    assert.equal(parseDurationNano('2m', 'd'), 120_000n * MS);
    assert.equal(parseDurationNano('1h30m', 'd'), 5_400_000n * MS);
    assert.equal(parseDurationNano('250us', 'd'), 250_000n);
    assert.equal(parseDurationNano('250µs', 'd'), 250_000n);
    assert.equal(parseDurationNano('.5ms', 'd'), 500_000n);
    assert.equal(parseDurationNano('12345', 'd'), 12345n);
  });
  it('refuses units it does not know, negatives and junk', () => {
    for (const bad of ['', '+', '-1s', '5d', '1.5', 'ms', '1s2', 'abc', '1 s']) {
      rejectsParam(() => parseDurationNano(bad, 'minDuration'), 'minDuration');
    }
  });
});

describe('parseTimeNano', () => {
  const now = T0;
  it('reads RFC 3339 with fractions and offsets, ns integers and now-relative times', () => {
    assert.equal(parseTimeNano('2023-11-14T22:13:20Z', 't', now), T0);
    assert.equal(parseTimeNano('2023-11-14T22:13:20.000000123Z', 't', now), T0 + 123n);
    assert.equal(parseTimeNano('2023-11-15T00:13:20+02:00', 't', now), T0);
    assert.equal(parseTimeNano(T0.toString(), 't', now), T0);
    assert.equal(parseTimeNano('now', 't', now), T0);
    assert.equal(parseTimeNano('now-1h', 't', now), T0 - 3_600_000n * MS);
    assert.equal(parseTimeNano('now+5m', 't', now), T0 + 300_000n * MS);
  });
  it('refuses impossible dates and junk', () => {
    for (const bad of ['2023-02-30T00:00:00Z', '2023-11-14', 'yesterday', 'now-1x', '2023-11-14T25:00:00Z']) {
      rejectsParam(() => parseTimeNano(bad, 'start', now), 'start');
    }
  });
  it('builds open-ended hints and refuses an end before the start', () => {
    assert.equal(parseTimeHint(undefined, undefined, now), undefined);
    const h = parseTimeHint('now-1h', undefined, now);
    assert.equal(h?.startUnixNano, T0 - 3_600_000n * MS);
    assert.ok((h?.endUnixNano ?? 0n) > T0);
    rejectsParam(() => parseTimeHint('now', 'now-1h', now), 'end');
  });
});

describe('parser properties', () => {
  it('reads every composed Go duration exactly', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(59), fc.nat(59), fc.nat(999), fc.nat(999), (h, m, sec, ms, us) => {
        const text = `${h}h${m}m${sec}s${ms}ms${us}us`;
        const want =
          ((((BigInt(h) * 60n + BigInt(m)) * 60n + BigInt(sec)) * 1000n + BigInt(ms)) * 1000n + BigInt(us)) * 1000n;
        assert.equal(parseDurationNano(text, 'd'), want);
      }),
    );
  });
  it('reads every RFC 3339 time that Date prints, and never throws anything but QueryInputError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_000_000_000_000 }), fc.nat(999_999), (ms, extraNs) => {
        const iso = new Date(ms).toISOString();
        const frac = String((ms % 1000) * 1_000_000 + extraNs).padStart(9, '0');
        const text = `${iso.slice(0, 19)}.${frac}Z`;
        assert.equal(parseTimeNano(text, 't', 0n), BigInt(ms) * MS + BigInt(extraNs));
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseTimeNano(text, 't', T0);
          parseDurationNano(text, 'd');
        } catch (e) {
          assert.ok(e instanceof QueryInputError);
        }
      }),
    );
  });
});

describe('span kinds', () => {
  it('reads names in any case, OTLP enum names and numbers', () => {
    assert.equal(parseSpanKind('server'), 2);
    assert.equal(parseSpanKind('SPAN_KIND_CLIENT'), 3);
    assert.equal(parseSpanKind('5'), 5);
    assert.equal(spanKindName(4), 'producer');
    rejectsParam(() => parseSpanKind('server2'), 'spanKind');
  });
});

describe('QueryEngine', () => {
  async function engineWith(spans: Span[]): Promise<QueryEngine> {
    const store = new MemoryStore();
    await store.write(SpanBatch.from(spans));
    return new QueryEngine(store);
  }

  it('assembles a trace by id with its critical path, ignoring a wrong time hint', async () => {
    /** A store that, like a real one, finds nothing outside the hinted range. */
    class StrictHintStore extends MemoryStore {
      override getTrace(traceId: string, hint?: TimeRange): Promise<Span[] | undefined> {
        return hint !== undefined && hint.endUnixNano < T0 ? Promise.resolve(undefined) : super.getTrace(traceId);
      }
    }
    const store = new StrictHintStore();
    await store.write(SpanBatch.from([sp('1', '', 0, 100), sp('2', '1', 10, 60), sp('3', '9', 20, 30)]));
    const engine = new QueryEngine(store);
    const found = await engine.trace(TRACE.toUpperCase(), { startUnixNano: 0n, endUnixNano: 1n });
    assert.ok(found);
    assert.equal(found.trace.nodes.length, 3);
    assert.equal(found.trace.orphanCount, 1);
    assert.deepEqual(
      found.criticalPath.map((s) => s.spanId.replace(/^0+/, '')),
      ['1', '2', '1'],
    );
    assert.equal(await engine.trace('1234'), undefined);
    await assert.rejects(engine.trace('nothex'), (e: unknown) => e instanceof QueryInputError);
  });

  it('checks limits, ranges and duration bounds before asking the store', async () => {
    const engine = await engineWith([sp('1', '', 0, 100)]);
    const range = { startUnixNano: T0 - MS, endUnixNano: T0 + 1000n * MS };
    assert.equal((await engine.search({ range, limit: 10 })).total, 1);
    rejectsParam(() => engine.search({ range, limit: 0 }), 'limit');
    rejectsParam(() => engine.search({ range, limit: 10_001 }), 'limit');
    rejectsParam(() => engine.search({ range: { startUnixNano: 2n, endUnixNano: 1n }, limit: 1 }), 'start');
    rejectsParam(() => engine.search({ range, limit: 1, minDurationNano: 2n, maxDurationNano: 1n }), 'maxDuration');
  });

  it('normalises and deduplicates ids of summaries', async () => {
    const engine = await engineWith([sp('1', '', 0, 100)]);
    const s = await engine.summaries([TRACE.toUpperCase(), TRACE, 'abc']);
    assert.deepEqual(
      s.map((x) => x.traceId),
      [TRACE],
    );
    rejectsParam(() => engine.summaries(['zz']), 'traceIds');
  });
});

describe('trace JSON', () => {
  it('types attribute values and keeps them JSON-safe', () => {
    assert.deepEqual(valueToJson(9_007_199_254_740_993n), { type: 'int', value: '9007199254740993' });
    assert.deepEqual(valueToJson(1.5), { type: 'double', value: 1.5 });
    assert.deepEqual(valueToJson(Number.NaN), { type: 'double', value: 'NaN' });
    assert.deepEqual(valueToJson(new Uint8Array([1, 2, 255])), { type: 'bytes', value: 'AQL/' });
    assert.deepEqual(valueToJson(null), { type: 'null', value: null });
    assert.deepEqual(valueToJson(['a', true]), {
      type: 'array',
      value: [
        { type: 'string', value: 'a' },
        { type: 'bool', value: true },
      ],
    });
    const kv: KeyValue = { key: 'k', value: 1n };
    assert.deepEqual(valueToJson({ kvlist: [kv] }), { type: 'kvlist', value: [{ key: 'k', type: 'int', value: '1' }] });
  });

  it('lists equal resources once even when they are different objects', async () => {
    const engine = new QueryEngine(new MemoryStore());
    const found = engine.assemble([
      sp('1', '', 0, 100, { resource: testResource('a') }),
      sp('2', '1', 10, 20, { resource: testResource('a') }),
      sp('3', '1', 30, 40, { resource: testResource('b'), status: { code: 2, message: 'boom' } }),
    ]);
    const json = traceToJson(found);
    assert.equal(json.resources.length, 2);
    assert.equal(json.scopes.length, 1);
    assert.deepEqual(
      json.spans.map((s) => s.resourceIndex),
      [0, 0, 1],
    );
    assert.deepEqual(json.services, [
      { service: 'a', spanCount: 2, errorCount: 0 },
      { service: 'b', spanCount: 1, errorCount: 1 },
    ]);
    assert.equal(json.durationNano, (100n * MS).toString());
    assert.equal(json.durationMicros, 100_000);
    assert.equal(json.startTime, '2023-11-14T22:13:20.000000Z');
    // Round trip through JSON text: nothing needs a replacer.
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });

  it('formats summaries and RFC 3339 with microseconds', () => {
    assert.equal(rfc3339Micros(T0 + 123_456_789n), '2023-11-14T22:13:20.123456Z');
    const j = summaryToJson({
      traceId: TRACE,
      rootServiceName: 's',
      rootName: 'n',
      startUnixNano: T0,
      durationNano: 1500n,
      spanCount: 2,
      errorCount: 0,
      services: [{ service: 's', spanCount: 2, errorCount: 0 }],
    });
    assert.equal(j.startUnixNano, T0.toString());
    assert.equal(j.durationMicros, 1.5);
    assert.equal(j.durationNano, '1500');
  });
});
