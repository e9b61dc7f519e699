import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Span as ApiSpan, type DiagLogger, DiagLogLevel, diag, SpanStatusCode } from '@opentelemetry/api';
import type { Span } from '@traceloom/model';
import { AlwaysOnSampler } from '../sampling/basic.ts';
import type { SpanLimits } from './span-limits.ts';
import { resolveSpanLimits } from './span-limits.ts';
import { TracerProvider } from './tracer-provider.ts';
import type { SpanProcessor } from './types.ts';

function setup(spanLimits: SpanLimits = {}): { start: (name?: string) => ApiSpan; ended: Span[] } {
  const ended: Span[] = [];
  const processor: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      ended.push(span);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const tracer = new TracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [processor],
    spanLimits,
    env: {},
  }).getTracer('span-test');
  return { start: (name = 'span') => tracer.startSpan(name), ended };
}

function finish(span: ApiSpan, ended: Span[]): Span {
  span.end();
  const s = ended.at(-1);
  assert.ok(s !== undefined);
  return s;
}

/** Collects diag messages for the duration of `fn`. */
function withDiag(fn: () => void): string[] {
  const messages: string[] = [];
  const log = (m: string) => messages.push(m);
  const logger: DiagLogger = { error: log, warn: log, info: log, debug: log, verbose: log };
  diag.setLogger(logger, DiagLogLevel.ALL);
  try {
    fn();
  } finally {
    diag.disable();
  }
  return messages;
}

describe('attributes', () => {
  it('types values as OTLP does and drops invalid ones', () => {
    const { start, ended } = setup();
    const span = start();
    span.setAttribute('str', 's');
    span.setAttribute('int', 7);
    span.setAttribute('negative', -3);
    span.setAttribute('double', 1.5);
    span.setAttribute('huge', 1e300);
    span.setAttribute('bool', false);
    span.setAttribute('strings', ['a', null, 'b'] as string[]);
    span.setAttribute('mixed', [1, 'a'] as unknown as string[]);
    span.setAttribute('object', { a: 1 } as unknown as string);
    span.setAttribute('', 'empty key');
    span.setAttribute('undef', undefined as unknown as string);
    span.setAttribute('nil', null as unknown as string);
    span.setAttribute('fn', (() => 1) as unknown as string);
    span.setAttributes({ many: 1, 'many.more': [true, false] });
    const s = finish(span, ended);
    assert.deepEqual(s.attributes, [
      { key: 'str', value: 's' },
      { key: 'int', value: 7n },
      { key: 'negative', value: -3n },
      { key: 'double', value: 1.5 },
      { key: 'huge', value: 1e300 },
      { key: 'bool', value: false },
      { key: 'strings', value: ['a', null, 'b'] },
      { key: 'many', value: 1n },
      { key: 'many.more', value: [true, false] },
    ]);
    assert.equal(s.droppedAttributesCount, 0, 'invalid values are not counted as dropped');
  });

  it('copies arrays, so later changes by the caller do not reach the span', () => {
    const { start, ended } = setup();
    const span = start();
    const tags = ['a'];
    span.setAttribute('tags', tags);
    tags.push('b');
    assert.deepEqual(finish(span, ended).attributes, [{ key: 'tags', value: ['a'] }]);
  });

  it('a repeated key keeps its first position and its last value', () => {
    const { start, ended } = setup();
    const span = start();
    span.setAttribute('a', 1).setAttribute('b', 2).setAttribute('a', 'x');
    assert.deepEqual(finish(span, ended).attributes, [
      { key: 'a', value: 'x' },
      { key: 'b', value: 2n },
    ]);
  });

  it('counts attributes past the limit as dropped, but still updates existing keys', () => {
    const { start, ended } = setup({ attributeCountLimit: 3 });
    const span = start();
    span.setAttributes({ a: 1, b: 2 });
    span.setAttribute('a', 10);
    span.setAttribute('a', 11);
    span.setAttribute('c', 3);
    span.setAttribute('d', 4);
    span.setAttribute('b', 20);
    span.setAttribute('e', 5);
    const s = finish(span, ended);
    assert.deepEqual(s.attributes, [
      { key: 'a', value: 11n },
      { key: 'b', value: 20n },
      { key: 'c', value: 3n },
    ]);
    assert.equal(s.droppedAttributesCount, 2);
  });

  it('handles many attributes and duplicates past the linear scan', () => {
    const { start, ended } = setup();
    const span = start();
    for (let round = 0; round < 3; round++) for (let i = 0; i < 40; i++) span.setAttribute(`k${i}`, round * 100 + i);
    const s = finish(span, ended);
    assert.equal(s.attributes.length, 40);
    assert.deepEqual(s.attributes[39], { key: 'k39', value: 239n });
  });

  it('cuts string values, also in arrays, to the length limit', () => {
    const { start, ended } = setup({ attributeValueLengthLimit: 3 });
    const span = start();
    span.setAttribute('s', 'abcdef');
    span.setAttribute('arr', ['abcdef', 'ab']);
    span.setAttribute('n', 123456);
    span.addEvent('e', { s: 'abcdef' });
    const s = finish(span, ended);
    assert.deepEqual(s.attributes, [
      { key: 's', value: 'abc' },
      { key: 'arr', value: ['abc', 'ab'] },
      { key: 'n', value: 123456n },
    ]);
    assert.deepEqual(s.events[0]?.attributes, [{ key: 's', value: 'abc' }]);
  });
});

describe('events and links', () => {
  it('keeps the newest events past the event limit and counts the dropped', () => {
    const { start, ended } = setup({ eventCountLimit: 2, attributePerEventCountLimit: 1 });
    const span = start();
    span.addEvent('e1');
    span.addEvent('e2', { a: 1, b: 2 });
    span.addEvent('e3');
    const s = finish(span, ended);
    assert.deepEqual(
      s.events.map((e) => e.name),
      ['e2', 'e3'],
    );
    assert.equal(s.droppedEventsCount, 1);
    assert.deepEqual(s.events[0]?.attributes, [{ key: 'a', value: 1n }]);
    assert.equal(s.events[0]?.droppedAttributesCount, 1);
  });

  it('limits links and their attributes; links from start options count too', () => {
    const ended: Span[] = [];
    const tracer = new TracerProvider({
      spanProcessors: [
        { onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} },
      ],
      spanLimits: { linkCountLimit: 2, attributePerLinkCountLimit: 1 },
      env: {},
    }).getTracer('t');
    const ctx = (n: number) => ({
      traceId: `${'0'.repeat(31)}${n}`,
      spanId: `${'0'.repeat(15)}${n}`,
      traceFlags: 1,
      isRemote: true,
    });
    const span = tracer.startSpan('s', { links: [{ context: ctx(1), attributes: { a: 1, b: 2 } }] });
    span.addLinks([{ context: ctx(2) }, { context: ctx(3) }]);
    span.addLink({ context: ctx(4) });
    span.end();
    const s = ended[0];
    assert.ok(s !== undefined);
    assert.deepEqual(
      s.links.map((l) => l.spanId.at(-1)),
      ['1', '2'],
    );
    assert.equal(s.droppedLinksCount, 2);
    assert.equal(s.links[0]?.droppedAttributesCount, 1);
    assert.equal(s.links[0]?.flags, 0x301, 'sampled, remote');
  });

  it('recordException writes the semantic-convention exception event', () => {
    const { start, ended } = setup();
    const span = start();
    const err = new TypeError('bad input');
    span.recordException(err);
    span.recordException({ code: 'ECONNRESET', message: 'socket hang up' }, [1_700_000_000, 5]);
    span.recordException('plain message');
    const warnings = withDiag(() => span.recordException({} as Error));
    const s = finish(span, ended);
    assert.equal(s.events.length, 3);
    const [e1, e2, e3] = s.events;
    assert.equal(e1?.name, 'exception');
    assert.deepEqual(
      e1?.attributes.map((kv) => kv.key),
      ['exception.type', 'exception.message', 'exception.stacktrace'],
    );
    assert.equal(e1?.attributes[0]?.value, 'TypeError');
    assert.equal(e1?.attributes[1]?.value, 'bad input');
    assert.equal(e1?.attributes[2]?.value, err.stack);
    assert.deepEqual(e2?.attributes, [
      { key: 'exception.type', value: 'ECONNRESET' },
      { key: 'exception.message', value: 'socket hang up' },
    ]);
    assert.equal(e2?.timeUnixNano, 1_700_000_000_000_000_005n);
    assert.deepEqual(e3?.attributes, [{ key: 'exception.message', value: 'plain message' }]);
    assert.equal(s.status.code, 0, 'recording an exception does not set the status');
    assert.equal(warnings.filter((w) => w.includes('recordException')).length, 1);
  });
});

describe('status, name and end', () => {
  it('follows the spec rules for setStatus', () => {
    const { start, ended } = setup();
    const a = start();
    a.setStatus({ code: SpanStatusCode.ERROR, message: 'first' });
    a.setStatus({ code: SpanStatusCode.UNSET });
    assert.deepEqual(finish(a, ended).status, { code: 2, message: 'first' }, 'UNSET is ignored');
    const b = start();
    b.setStatus({ code: SpanStatusCode.OK, message: 'ignored for OK' });
    b.setStatus({ code: SpanStatusCode.ERROR, message: 'too late' });
    assert.deepEqual(finish(b, ended).status, { code: 1, message: '' }, 'OK is final and carries no message');
    const c = start();
    c.setStatus({ code: SpanStatusCode.ERROR, message: 'x' });
    c.setStatus({ code: SpanStatusCode.ERROR });
    assert.deepEqual(finish(c, ended).status, { code: 2, message: '' });
    const d = start();
    d.setStatus({ code: SpanStatusCode.ERROR });
    d.setStatus({ code: SpanStatusCode.OK });
    assert.deepEqual(finish(d, ended).status, { code: 1, message: '' }, 'OK overrides ERROR');
  });

  it('updateName renames; end is idempotent, warns once, and freezes the span', () => {
    const { start, ended } = setup();
    const span = start('old');
    span.updateName('new');
    assert.equal(span.isRecording(), true);
    const s = finish(span, ended);
    assert.equal(span.isRecording(), false);
    const end = s.endTimeUnixNano;
    const warnings = withDiag(() => {
      span.end();
      span.end();
      span.setAttribute('late', 1);
      span.addEvent('late');
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.updateName('later');
    });
    assert.equal(ended.length, 1, 'processors see a span end once');
    assert.equal(warnings.filter((w) => w.includes('more than once')).length, 1);
    assert.equal(s.name, 'new');
    assert.equal(s.endTimeUnixNano, end);
    assert.deepEqual(s.attributes, []);
    assert.deepEqual(s.events, []);
    assert.equal(s.status.code, 0);
  });
});

describe('span limits from the environment', () => {
  it('reads OTEL_* variables, span-specific over general, options over both', () => {
    const env = {
      OTEL_ATTRIBUTE_COUNT_LIMIT: '50',
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '20',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100',
      OTEL_SPAN_EVENT_COUNT_LIMIT: '5',
      OTEL_SPAN_LINK_COUNT_LIMIT: 'not a number',
      OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '3',
      OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '4',
    };
    assert.deepEqual(resolveSpanLimits({}, env), {
      attributeCountLimit: 20,
      attributeValueLengthLimit: 100,
      eventCountLimit: 5,
      linkCountLimit: 128,
      attributePerEventCountLimit: 3,
      attributePerLinkCountLimit: 4,
    });
    assert.equal(resolveSpanLimits({ attributeCountLimit: 7 }, env).attributeCountLimit, 7);
    assert.equal(resolveSpanLimits({}, {}).attributeValueLengthLimit, Number.POSITIVE_INFINITY);
  });

  it('a provider applies the limit from OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', () => {
    const ended: Span[] = [];
    const tracer = new TracerProvider({
      spanProcessors: [
        { onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} },
      ],
      env: { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '2' },
    }).getTracer('t');
    tracer.startSpan('s', { attributes: { a: 1, b: 2, c: 3 } }).end();
    assert.equal(ended[0]?.attributes.length, 2);
    assert.equal(ended[0]?.droppedAttributesCount, 1);
  });
});

describe('a zero attribute limit', () => {
  it('drops every attribute and counts them', () => {
    const { start, ended } = setup({ attributeCountLimit: 0 });
    const span = start();
    span.setAttribute('a', 1).setAttribute('b', 2);
    const s = finish(span, ended);
    assert.deepEqual(s.attributes, []);
    assert.equal(s.droppedAttributesCount, 2);
  });
});

describe('a span that stays full', () => {
  it('keeps updating existing keys and counts each new one', () => {
    const { start, ended } = setup({ attributeCountLimit: 20 });
    const span = start();
    for (let i = 0; i < 30; i++) span.setAttribute(`k${i % 10}`, i);
    for (let i = 0; i < 500; i++) span.setAttribute(`new${i}`, i);
    span.setAttribute('k0', 'last');
    const s = finish(span, ended);
    assert.equal(s.attributes.length, 20);
    assert.deepEqual(s.attributes[0], { key: 'k0', value: 'last' });
    assert.deepEqual(s.attributes[9], { key: 'k9', value: 29n });
    assert.deepEqual(s.attributes[10], { key: 'new0', value: 0n });
    assert.equal(s.droppedAttributesCount, 490);
  });
});
