import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { isValidSpanId, isValidTraceId, type Span, spanDiff } from '@traceloom/model';
import fc from 'fast-check';
import { isWireDecodeError, WireDecodeError, WireErrorCode } from '../errors.ts';
import { zipkinJsonSpan, zipkinShapedSpan } from './fixtures/arbitraries.ts';
import { decodeZipkinJson, encodeZipkinJson } from './json.ts';

const require = createRequire(import.meta.url);

const BRAVE = readFileSync(new URL('./fixtures/brave-spans.json', import.meta.url), 'utf8');

function roundTripJson(text: string): unknown {
  return JSON.parse(encodeZipkinJson(decodeZipkinJson(text)));
}

/** Every decoded span is well formed: valid ids, bigint times, a resource and a scope. */
function assertWellFormed(spans: Span[]): void {
  for (const s of spans) {
    assert.ok(isValidTraceId(s.traceId), s.traceId);
    assert.ok(isValidSpanId(s.spanId), s.spanId);
    assert.ok(s.parentSpanId === '' || isValidSpanId(s.parentSpanId), s.parentSpanId);
    assert.equal(typeof s.startTimeUnixNano, 'bigint');
    assert.ok(s.endTimeUnixNano >= s.startTimeUnixNano);
    assert.ok(s.resource !== undefined && s.scope !== undefined);
  }
}

/** Runs `f`; it must return or throw a WireDecodeError, nothing else. */
function decodesOrRejects(text: string): void {
  try {
    assertWellFormed(decodeZipkinJson(text));
  } catch (e) {
    if (!isWireDecodeError(e)) throw e;
  }
}

function rejects(text: string, code: string, message: string | RegExp): WireDecodeError {
  try {
    decodeZipkinJson(text);
  } catch (e) {
    assert.ok(e instanceof WireDecodeError, `threw ${String(e)}`);
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return e;
  }
  assert.fail(`accepted ${text}`);
}

describe('Zipkin JSON round trips', () => {
  it('encode(decode(x)) gives back a typical Brave payload', () => {
    assert.deepEqual(roundTripJson(BRAVE), JSON.parse(BRAVE));
  });

  it('encode(decode(x)) gives back what zipkin-js (JSON v2) sends', () => {
    const zipkin = require('zipkin') as typeof import('zipkin');
    const sent: string[] = [];
    const recorder = new zipkin.BatchRecorder({
      logger: { logSpan: (span: import('zipkin').model.Span) => sent.push(zipkin.jsonEncoder.JSON_V2.encode(span)) },
    });
    const tracer = new zipkin.Tracer({
      ctxImpl: new zipkin.ExplicitContext(),
      recorder,
      localServiceName: 'inventory',
    });
    const root = tracer.createRootId();
    tracer.setId(root);
    tracer.recordServiceName('inventory');
    tracer.recordRpc('GET /stock');
    tracer.recordAnnotation(new zipkin.Annotation.ServerRecv());
    tracer.recordAnnotation(new zipkin.Annotation.LocalAddr({ host: new zipkin.InetAddress('10.1.2.3'), port: 8080 }));
    tracer.recordBinary('sku', 'A-123');
    tracer.recordMessage('cache miss');
    const child = tracer.createChildId();
    tracer.setId(child);
    tracer.recordServiceName('inventory');
    tracer.recordRpc('SELECT stock');
    tracer.recordAnnotation(new zipkin.Annotation.ClientSend());
    tracer.recordAnnotation(new zipkin.Annotation.ServerAddr({ serviceName: 'postgres', port: 5432 }));
    tracer.recordBinary('error', 'connection reset');
    tracer.recordAnnotation(new zipkin.Annotation.ClientRecv());
    tracer.setId(root);
    tracer.recordAnnotation(new zipkin.Annotation.ServerSend());
    // A debug span and a shared (server-side, same id) span, built directly.
    const debugId = new zipkin.TraceId({
      traceId: 'a2fb4a1d1a96d312',
      spanId: '0f2b27d2c9a1e5b8',
      parentId: new zipkin.option.Some('a2fb4a1d1a96d312'),
      debug: true,
      shared: true,
    });
    const s = new zipkin.model.Span(debugId);
    s.setName('handle');
    s.setKind('SERVER');
    s.setTimestamp(1_700_000_000_000_001);
    s.setDuration(42);
    s.setLocalEndpoint(new zipkin.model.Endpoint({ serviceName: 'api', ipv4: '10.0.0.7', port: 443 }));
    s.addAnnotation(1_700_000_000_000_010, 'parsed');
    s.putTag('http.route', '/v1/items/:id');
    sent.push(zipkin.jsonEncoder.JSON_V2.encode(s));

    assert.equal(sent.length, 3);
    for (const one of sent) {
      const text = `[${one}]`;
      assert.deepEqual(roundTripJson(text), JSON.parse(text), one);
    }
  });

  it('encode(decode(x)) gives back any Zipkin-shaped JSON array (property)', () => {
    fc.assert(
      fc.property(fc.array(zipkinJsonSpan, { maxLength: 4 }), (spans) => {
        const text = JSON.stringify(spans);
        assert.deepEqual(roundTripJson(text), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('decode(encode(spans)) gives back Zipkin-shaped model spans (property)', () => {
    fc.assert(
      fc.property(fc.array(zipkinShapedSpan, { maxLength: 4 }), (spans) => {
        const back = decodeZipkinJson(encodeZipkinJson(spans));
        assert.equal(back.length, spans.length);
        spans.forEach((s, i) => {
          assert.equal(spanDiff(back[i] as Span, s), undefined, `span ${i}`);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('encodes an empty list as [] and decodes it to no spans', () => {
    assert.equal(encodeZipkinJson([]), '[]');
    assert.deepEqual(decodeZipkinJson('[]'), []);
    assert.deepEqual(decodeZipkinJson('\ufeff [ ] '), [], 'a byte order mark and whitespace are accepted');
  });

  it('accepts fractional microseconds (the OTel JS exporter sends them) and truncates them', () => {
    const [s] = decodeZipkinJson(
      '[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","timestamp":1700000000123456.75,"duration":10.5}]',
    );
    assert.equal(s?.startTimeUnixNano, 1700000000123456000n);
    assert.equal(s?.endTimeUnixNano, 1700000000123466000n);
  });

  it('reads numeric and boolean tag values as their JSON text, skips null ones', () => {
    const [s] = decodeZipkinJson(
      '[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","timestamp":1,"tags":{"n":200,"b":false,"z":null}}]',
    );
    assert.deepEqual(s?.attributes, [
      { key: 'n', value: '200' },
      { key: 'b', value: 'false' },
    ]);
  });
});

describe('Zipkin JSON errors', () => {
  it('reports syntax errors with the character position', () => {
    const e = rejects(
      '[{"traceId": "ab",}]',
      WireErrorCode.BAD_JSON,
      'invalid JSON at character 18: expected a property name',
    );
    assert.equal(e.offset, 18);
    assert.equal(rejects('[1 2]', WireErrorCode.BAD_JSON, /character 3: expected ',' or '\]'/).offset, 3);
    assert.equal(rejects('[{"a":tru}]', WireErrorCode.BAD_JSON, /character 9/).offset, 9);
    assert.equal(rejects('', WireErrorCode.BAD_JSON, /character 0: unexpected end of input/).offset, 0);
    assert.equal(rejects('[', WireErrorCode.BAD_JSON, /character 1: unexpected end of input/).offset, 1);
    assert.equal(rejects('["\\x"]', WireErrorCode.BAD_JSON, /character 3: invalid string/).offset, 3);
    assert.equal(rejects('[-]', WireErrorCode.BAD_JSON, /character 2: invalid number/).offset, 2);
    assert.equal(
      rejects('[] x', WireErrorCode.BAD_JSON, /character 3: unexpected data after the JSON value/).offset,
      3,
    );
    assert.equal(rejects('\ufeff[,]', WireErrorCode.BAD_JSON, /character 2/).offset, 2, 'counted from before the BOM');
  });

  it('names the JSON path of a value of the wrong type', () => {
    const span = (extra: string) =>
      `[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2"},{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2"${extra}}]`;
    const cases: [string, string][] = [
      ['{"spans":[]}', '(top level): expected a JSON array of spans'],
      ['[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2"},7]', '[1]: expected a span object, got a number'],
      ['[{"id":"352bff9a74ca9ad2"}]', '[0].traceId: required'],
      ['[{"traceId":"abc","id":"352bff9a74ca9ad2"}]', '[0].traceId: expected 16 or 32 hex characters, got "abc"'],
      [
        '[{"traceId":"5af7183fb1d4cf5g","id":"352bff9a74ca9ad2"}]',
        '[0].traceId: expected 16 or 32 hex characters, got "5af7183fb1d4cf5g"',
      ],
      ['[{"traceId":"0000000000000000","id":"352bff9a74ca9ad2"}]', '[0].traceId: must not be all zeros'],
      ['[{"traceId":12,"id":"352bff9a74ca9ad2"}]', '[0].traceId: expected a string, got a number'],
      ['[{"traceId":"5af7183fb1d4cf5f"}]', '[0].id: required'],
      ['[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a"}]', '[0].id: expected 16 hex characters, got "352bff9a"'],
      ['[{"traceId":"5af7183fb1d4cf5f","id":"0000000000000000"}]', '[0].id: must not be all zeros'],
      [span(',"parentId":"xyz"'), '[1].parentId: expected 16 hex characters, got "xyz"'],
      [span(',"kind":1'), '[1].kind: expected a string, got a number'],
      [span(',"name":["a"]'), '[1].name: expected a string, got an array'],
      [span(',"timestamp":"1"'), '[1].timestamp: expected a number of microseconds, got a string'],
      [span(',"timestamp":-1'), '[1].timestamp: expected a non-negative number of microseconds up to 2^53, got -1'],
      [
        span(',"duration":1e300'),
        '[1].duration: expected a non-negative number of microseconds up to 2^53, got 1e+300',
      ],
      [span(',"localEndpoint":"x"'), '[1].localEndpoint: expected an endpoint object, got a string'],
      [
        span(',"localEndpoint":{"port":70000}'),
        '[1].localEndpoint.port: expected an integer from 0 to 65535, got 70000',
      ],
      [span(',"remoteEndpoint":{"ipv4":4}'), '[1].remoteEndpoint.ipv4: expected a string, got a number'],
      [span(',"annotations":{}'), '[1].annotations: expected an array, got an object'],
      [span(',"annotations":[{"value":"x"}]'), '[1].annotations[0].timestamp: required'],
      [span(',"annotations":[{"timestamp":1}]'), '[1].annotations[0].value: required'],
      [span(',"annotations":[{"timestamp":1,"value":2}]'), '[1].annotations[0].value: expected a string, got a number'],
      [span(',"tags":[]'), '[1].tags: expected an object of strings, got an array'],
      [span(',"tags":{"http.path":{}}'), '[1].tags["http.path"]: expected a string, got an object'],
      [span(',"debug":"yes"'), '[1].debug: expected true or false, got a string'],
      [span(',"shared":1'), '[1].shared: expected true or false, got a number'],
    ];
    for (const [text, message] of cases) rejects(text, WireErrorCode.BAD_FIELD, message);
  });
});

describe('Zipkin JSON decoder robustness', () => {
  const valid = JSON.stringify(JSON.parse(BRAVE));

  it('returns spans or throws WireDecodeError for arbitrary text', () => {
    fc.assert(fc.property(fc.string(), decodesOrRejects), { numRuns: 1000 });
    fc.assert(fc.property(fc.json(), decodesOrRejects), { numRuns: 1000 });
  });

  it('returns spans or throws WireDecodeError for any truncation of a valid payload', () => {
    for (let cut = 0; cut <= valid.length; cut++) decodesOrRejects(valid.slice(0, cut));
  });

  it('returns spans or throws WireDecodeError for valid payloads with characters replaced or inserted', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string({ minLength: 1, maxLength: 3 }), fc.boolean(), (at, s, insert) => {
        const i = at % valid.length;
        decodesOrRejects(valid.slice(0, i) + s + valid.slice(insert ? i : i + s.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('returns spans or throws WireDecodeError when any field holds any JSON value', () => {
    const base = JSON.parse(BRAVE) as Record<string, unknown>[];
    const fields = [
      'traceId',
      'parentId',
      'id',
      'kind',
      'name',
      'timestamp',
      'duration',
      'localEndpoint',
      'remoteEndpoint',
      'annotations',
      'tags',
      'debug',
      'shared',
    ];
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.constantFrom(...fields), fc.jsonValue(), (i, field, value) => {
        const copy = structuredClone(base);
        (copy[i] as Record<string, unknown>)[field] = value;
        decodesOrRejects(JSON.stringify(copy));
      }),
      { numRuns: 2000 },
    );
  });

  it('maps a span with tens of thousands of tags and links (no quadratic work)', () => {
    const tags: Record<string, string> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      tags[`otlp.link.${i}`] = `${'a'.repeat(31)}1|${'b'.repeat(15)}1|k=v|{"i":${i}}|0`;
      tags[`app.tag.${i}`] = String(i);
    }
    const [s] = decodeZipkinJson(
      JSON.stringify([{ traceId: '5af7183fb1d4cf5f', id: '352bff9a74ca9ad2', timestamp: 1, tags }]),
    );
    assert.equal(s?.links.length, n);
    assert.deepEqual(s?.links[n - 1]?.attributes, [{ key: 'i', value: BigInt(n - 1) }]);
    assert.equal(s?.attributes.length, n);
  });

  it('survives deep nesting without recursion', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    decodesOrRejects(deep);
    decodesOrRejects(`[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","tags":{"a":${deep}}}]`);
    rejects(`${'['.repeat(200_000)}`, WireErrorCode.BAD_JSON, /character 200000: unexpected end of input/);
    // The attribute form of annotation values nests too; past 32 levels it stays the plain name.
    const nested = `${'['.repeat(100)}1${']'.repeat(100)}`;
    const [s] = decodeZipkinJson(
      `[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","annotations":[{"timestamp":1,"value":${JSON.stringify(`e|{"a":${nested}}|0`)}}]}]`,
    );
    assert.equal(s?.events[0]?.name, `e|{"a":${nested}}|0`);
  });
});
