import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Span, SpanKind, StatusCode, serviceNameOf, spanEquals } from '@traceloom/model';
import { decodeOtlpTraces } from '@traceloom/wire';
import { DEMO_SHAPES } from './demo-shapes.ts';
import { encodeOtlpBatch, generateLargeTrace, generateTraces, SHOP_SERVICES, spanChunks } from './generator.ts';
import { shapeOfSpan, shapesOf } from './shapes.ts';

function take(n: number, options: Parameters<typeof generateTraces>[0]): Span[][] {
  const out: Span[][] = [];
  for (const t of generateTraces(options)) {
    out.push(t);
    if (out.length === n) break;
  }
  return out;
}

const sample = take(3000, { seed: 42 });
const flat = sample.flat();

describe('generateTraces', () => {
  it('is reproducible: the same seed gives the same spans', () => {
    const again = take(3000, { seed: 42 }).flat();
    assert.equal(again.length, flat.length);
    for (let i = 0; i < flat.length; i++) assert.ok(spanEquals(flat[i] as Span, again[i] as Span), `span ${i}`);
  });

  it('gives different spans for a different seed', () => {
    const other = take(50, { seed: 43 }).flat();
    assert.notEqual(other[0]?.traceId, flat[0]?.traceId);
    const ours = new Set(flat.map((s) => s.spanId));
    assert.ok(other.every((s) => !ours.has(s.spanId)));
  });

  it('builds valid trees: one root, known parents, children inside parents except consumers', () => {
    for (const trace of sample) {
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      assert.equal(byId.size, trace.length, 'span ids are unique');
      assert.equal(trace.filter((s) => s.parentSpanId === '').length, 1);
      for (const s of trace) {
        assert.equal(s.traceId, trace[0]?.traceId);
        assert.ok(s.endTimeUnixNano > s.startTimeUnixNano);
        if (s.parentSpanId === '') continue;
        const p = byId.get(s.parentSpanId);
        assert.ok(p !== undefined, `parent of ${s.name} is in the trace`);
        assert.ok(s.startTimeUnixNano >= p.startTimeUnixNano, `${s.name} starts inside ${p.name}`);
        if (s.kind !== SpanKind.CONSUMER)
          assert.ok(s.endTimeUnixNano <= p.endTimeUnixNano, `${s.name} ends inside ${p.name}`);
      }
    }
  });

  it('gives kinds consistent with the tree', () => {
    let server = 0;
    let consumer = 0;
    for (const trace of sample) {
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      for (const s of trace) {
        const p = s.parentSpanId === '' ? undefined : byId.get(s.parentSpanId);
        const svc = serviceNameOf(s.resource);
        if (p === undefined) {
          assert.equal(s.kind, SpanKind.SERVER);
          assert.equal(svc, 'frontend');
          continue;
        }
        const parentSvc = serviceNameOf(p.resource);
        if (s.kind === SpanKind.SERVER) {
          server++;
          assert.equal(p.kind, SpanKind.CLIENT, 'a server span is the child of a client span');
          assert.notEqual(svc, parentSvc, 'in another service');
        } else if (s.kind === SpanKind.CONSUMER) {
          consumer++;
          assert.equal(p.kind, SpanKind.PRODUCER);
          assert.notEqual(svc, parentSvc);
        } else {
          assert.equal(svc, parentSvc, `${s.name} (kind ${s.kind}) stays in its parent's service`);
        }
        if (p.kind === SpanKind.CLIENT)
          assert.equal(s.kind, SpanKind.SERVER, 'a client span has only the server span under it');
      }
    }
    assert.ok(server > 1000 && consumer > 50);
  });

  it('fails as often as the demo does by default, or as asked, each failure with an exception event', () => {
    const rateOf = (spans: Span[]) => spans.filter((x) => x.status.code === StatusCode.ERROR).length / spans.length;
    const rate = rateOf(flat);
    assert.ok(
      rate >= DEMO_SHAPES.errorSpanRate / 2 && rate <= DEMO_SHAPES.errorSpanRate * 2,
      `error rate ${rate}, the demo's ${DEMO_SHAPES.errorSpanRate}`,
    );
    const many = take(3000, { seed: 42, errorRate: 0.03 }).flat();
    const asked = rateOf(many);
    assert.ok(asked >= 0.02 && asked <= 0.04, `asked 3%, got ${asked}`);
    const errors = many.filter((x) => x.status.code === StatusCode.ERROR);
    assert.ok(errors.every((x) => x.events.some((e) => e.name === 'exception')));
    assert.throws(() => generateTraces({ errorRate: 0.9 }).next(), RangeError);
  });

  it("has the shapes measured on the demo's traces", () => {
    const g = shapesOf(sample.map((t) => t.map(shapeOfSpan)));
    const d = DEMO_SHAPES;
    const near = (what: string, got: number, want: number, tolerance: number) =>
      assert.ok(
        Math.abs(got - want) <= tolerance * want,
        `${what}: generated ${got}, demo ${want} (±${tolerance * 100}%)`,
      );
    near('median spans per trace', g.spansPerTrace.p50, d.spansPerTrace.p50, 0.35);
    near('median depth', g.depth.p50, d.depth.p50, 0.34);
    near('median fan-out', g.fanOut.p50, d.fanOut.p50, 0);
    near('median services per trace', g.servicesPerTrace.p50, d.servicesPerTrace.p50, 0.34);
    near('attributes per span', g.attributesPerSpan.mean, d.attributesPerSpan.mean, 0.2);
    near('server span attributes', g.attributesByKind.server ?? 0, d.attributesByKind.server ?? 0, 0.2);
    near('attribute value length', g.attributeValueLength.mean, d.attributeValueLength.mean, 0.3);
    near('server span share', g.kindShare.server ?? 0, d.kindShare.server ?? 0, 0.45);
    assert.ok(g.eventsPerSpan <= 0.1, `events per span ${g.eventsPerSpan}`);
  });

  it('gives the same bytes for the same seed, and spans that decode cleanly', () => {
    const bytes = (seed: number) => [...spanChunks(take(400, { seed }), 512)].map((c) => encodeOtlpBatch(c));
    const a = bytes(9);
    const b = bytes(9);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `batch ${i}`);
    assert.notDeepEqual(bytes(10)[0], a[0]);
    for (const batch of a) {
      const decoded = decodeOtlpTraces(batch);
      assert.ok(decoded.length > 0 && decoded.length <= 512);
      for (const span of decoded) {
        assert.match(span.traceId, /^[0-9a-f]{32}$/);
        assert.match(span.spanId, /^[0-9a-f]{16}$/);
        assert.ok(span.endTimeUnixNano >= span.startTimeUnixNano);
      }
    }
  });

  it('gives realistic sizes, attributes and shared resources', () => {
    const sizes = sample.map((t) => t.length).sort((a, b) => a - b);
    const median = sizes[sizes.length >> 1] as number;
    assert.ok(median >= 5 && median <= 50, `median trace size ${median}`);
    const perSpan = flat.reduce((a, s) => a + s.attributes.length, 0) / flat.length;
    assert.ok(perSpan >= 5 && perSpan <= 12, `attributes per span ${perSpan}`);
    assert.equal(new Set(flat.map((s) => serviceNameOf(s.resource))).size, SHOP_SERVICES.length);
    assert.ok(new Set(flat.map((s) => s.resource)).size <= 3 * SHOP_SERVICES.length);
    const db = flat.filter((s) => s.attributes.some((a) => a.key === 'db.system'));
    assert.ok(db.length > 0 && db.every((s) => s.attributes.some((a) => a.key === 'db.statement')));
    const status = flat.flatMap((s) => s.attributes.filter((a) => a.key === 'http.response.status_code'));
    assert.ok(status.length > 0 && status.every((a) => typeof a.value === 'bigint'));
    assert.ok(flat.some((s) => s.links.length > 0));
  });

  it('makes one large trace of the size asked, deep and reproducible', () => {
    const big = generateLargeTrace({ seed: 8, spans: 12_000 });
    assert.ok(Math.abs(big.length - 12_000) <= 4, `${big.length} spans`);
    assert.equal(new Set(big.map((s) => s.traceId)).size, 1);
    assert.equal(new Set(big.map((s) => s.spanId)).size, big.length);
    const shapes = shapesOf([big.map(shapeOfSpan)]);
    assert.ok(shapes.depth.max >= 6, `depth ${shapes.depth.max}`);
    assert.ok(shapes.fanOut.max <= 200, `widest fan-out ${shapes.fanOut.max}`);
    const again = generateLargeTrace({ seed: 8, spans: 12_000 });
    assert.deepEqual(encodeOtlpBatch(again), encodeOtlpBatch(big));
    assert.throws(() => generateLargeTrace({ spans: 3 }), RangeError);
  });

  it('makes a huge trace about once in a thousand', () => {
    const big = take(20_000, { seed: 5 }).filter((t) => t.length >= 1000);
    assert.ok(big.length >= 5 && big.length <= 40, `${big.length} huge traces in 20,000`);
  });

  it('keeps to the services asked for and to the span budget over the window', () => {
    const window = 3_600_000_000_000n;
    const start = 1_000_000_000_000_000_000n;
    const traces = [...generateTraces({ seed: 3, services: 2, spans: 5000, windowNano: window, startUnixNano: start })];
    const spans = traces.flat();
    assert.ok(spans.length >= 5000 && spans.length < 5000 + 5000);
    assert.deepEqual([...new Set(spans.map((s) => serviceNameOf(s.resource)))].sort(), ['catalog', 'frontend']);
    const last = traces.at(-1)?.[0] as Span;
    assert.ok(last.startTimeUnixNano > start + (window * 9n) / 10n && last.startTimeUnixNano < start + window);
    assert.throws(() => generateTraces({ services: 9 }).next(), RangeError);
  });
});

describe('spanChunks and encodeOtlpBatch', () => {
  it('regroups into fixed-size chunks that round-trip through OTLP protobuf', () => {
    const chunks = [...spanChunks(sample.slice(0, 100), 512)];
    const total = sample.slice(0, 100).reduce((a, t) => a + t.length, 0);
    assert.equal(
      chunks.reduce((a, c) => a + c.length, 0),
      total,
    );
    assert.ok(chunks.slice(0, -1).every((c) => c.length === 512));
    const first = chunks[0] as Span[];
    const decoded = decodeOtlpTraces(encodeOtlpBatch(first));
    assert.equal(decoded.length, first.length);
    // The encoder groups by resource, so compare as sets keyed by span id.
    const byId = new Map(decoded.map((s) => [s.spanId, s]));
    for (const s of first) assert.ok(spanEquals(s, byId.get(s.spanId) as Span), s.name);
  });
});
