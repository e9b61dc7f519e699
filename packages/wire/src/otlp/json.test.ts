import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_RESOURCE, EMPTY_SCOPE, UNSET_STATUS } from '@traceloom/model';
import fc from 'fast-check';
import { WireDecodeError, WireErrorCode } from '../errors.ts';
import { assertSameSpans, assertSharing, decodesOrRejects, groupedOrder, rejects } from './fixtures/assert.ts';
import { arbSpans, baseSpan, EVERY_VALUE, sampleSpans } from './fixtures/spans.ts';
import { decodeOtlpTracesJson, encodeOtlpTracesJson } from './json.ts';

/** One span's JSON inside the usual envelope. */
function withSpan(span: Record<string, unknown>): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
}

const IDS = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };

describe('OTLP/JSON round trip', () => {
  it('keeps every field of the sample spans', () => {
    const spans = sampleSpans();
    const decoded = decodeOtlpTracesJson(encodeOtlpTracesJson(spans));
    assertSameSpans(decoded, spans);
    assertSharing(spans, decoded);
  });

  it('round-trips random spans', () => {
    fc.assert(
      fc.property(arbSpans, (spans) => {
        const decoded = decodeOtlpTracesJson(encodeOtlpTracesJson(spans));
        const expected = groupedOrder(spans);
        assertSameSpans(decoded, expected);
        assertSharing(expected, decoded);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the OTLP/JSON spelling: camelCase, hex ids, int64 as strings, enums as integers, base64 bytes', () => {
    const json = JSON.parse(
      encodeOtlpTracesJson([
        baseSpan({
          parentSpanId: '00f067aa0ba902b7',
          kind: 2,
          startTimeUnixNano: 1768478400000000000n,
          attributes: [
            { key: 'i', value: -5n },
            { key: 'd', value: Number.NaN },
            { key: 'inf', value: Number.NEGATIVE_INFINITY },
            { key: 'b', value: new Uint8Array([0xfb, 0xff]) },
            { key: 'a', value: [1.5, true] },
            { key: 'kv', value: { kvlist: [{ key: 'x', value: null }] } },
          ],
          status: { code: 2, message: 'boom' },
        }),
      ]),
    );
    assert.deepEqual(json, {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  parentSpanId: '00f067aa0ba902b7',
                  kind: 2,
                  startTimeUnixNano: '1768478400000000000',
                  attributes: [
                    { key: 'i', value: { intValue: '-5' } },
                    { key: 'd', value: { doubleValue: 'NaN' } },
                    { key: 'inf', value: { doubleValue: '-Infinity' } },
                    { key: 'b', value: { bytesValue: '+/8=' } },
                    { key: 'a', value: { arrayValue: { values: [{ doubleValue: 1.5 }, { boolValue: true }] } } },
                    { key: 'kv', value: { kvlistValue: { values: [{ key: 'x' }] } } },
                  ],
                  status: { message: 'boom', code: 2 },
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('writes resource, scope and schema URLs', () => {
    const [first] = sampleSpans();
    assert.ok(first);
    const json = JSON.parse(encodeOtlpTracesJson([first]));
    const rs = json.resourceSpans[0];
    assert.equal(rs.schemaUrl, 'https://opentelemetry.io/schemas/1.26.0');
    assert.equal(rs.resource.droppedAttributesCount, 2);
    assert.deepEqual(rs.resource.attributes[0], { key: 'service.name', value: { stringValue: 'checkout' } });
    assert.equal(rs.scopeSpans[0].schemaUrl, 'https://opentelemetry.io/schemas/1.24.0');
    assert.equal(rs.scopeSpans[0].scope.name, '@opentelemetry/instrumentation-http');
    assert.equal(rs.scopeSpans[0].scope.version, '0.223.1');
  });

  it('encodes an empty batch as an empty list', () => {
    assert.equal(encodeOtlpTracesJson([]), '{"resourceSpans":[]}');
    assert.deepEqual(decodeOtlpTracesJson('{"resourceSpans":[]}'), []);
    assert.deepEqual(decodeOtlpTracesJson('{}'), []);
  });
});

describe('OTLP/JSON decoding leniency', () => {
  it('accepts the proto (snake_case) field names', () => {
    const text = JSON.stringify({
      resource_spans: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { string_value: 'svc' } }],
            dropped_attributes_count: 1,
          },
          schema_url: 'r',
          scope_spans: [
            {
              scope: { name: 'lib', dropped_attributes_count: 2 },
              schema_url: 's',
              spans: [
                {
                  trace_id: IDS.traceId,
                  span_id: IDS.spanId,
                  parent_span_id: '00f067aa0ba902b7',
                  trace_state: 'a=b',
                  start_time_unix_nano: '10',
                  end_time_unix_nano: 20,
                  dropped_attributes_count: 3,
                  dropped_events_count: 4,
                  dropped_links_count: 5,
                  attributes: [
                    { key: 'i', value: { int_value: '7' } },
                    { key: 'd', value: { double_value: 0.5 } },
                    { key: 'b', value: { bool_value: true } },
                    { key: 'y', value: { bytes_value: 'AQI=' } },
                    { key: 'a', value: { array_value: { values: [{ string_value: 'x' }] } } },
                    { key: 'k', value: { kvlist_value: { values: [{ key: 'z', value: { int_value: 1 } }] } } },
                  ],
                  events: [{ time_unix_nano: '30', name: 'e', dropped_attributes_count: 6 }],
                  links: [
                    { trace_id: IDS.traceId, span_id: IDS.spanId, trace_state: 't', dropped_attributes_count: 7 },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const [s] = decodeOtlpTracesJson(text);
    assert.ok(s);
    assert.equal(s.traceId, IDS.traceId);
    assert.equal(s.parentSpanId, '00f067aa0ba902b7');
    assert.equal(s.traceState, 'a=b');
    assert.equal(s.startTimeUnixNano, 10n);
    assert.equal(s.endTimeUnixNano, 20n);
    assert.deepEqual([s.droppedAttributesCount, s.droppedEventsCount, s.droppedLinksCount], [3, 4, 5]);
    assert.deepEqual(s.attributes, [
      { key: 'i', value: 7n },
      { key: 'd', value: 0.5 },
      { key: 'b', value: true },
      { key: 'y', value: new Uint8Array([1, 2]) },
      { key: 'a', value: ['x'] },
      { key: 'k', value: { kvlist: [{ key: 'z', value: 1n }] } },
    ]);
    assert.deepEqual(s.events, [{ timeUnixNano: 30n, name: 'e', attributes: [], droppedAttributesCount: 6 }]);
    assert.equal(s.links[0]?.traceState, 't');
    assert.equal(s.links[0]?.droppedAttributesCount, 7);
    assert.deepEqual(s.resource, {
      attributes: [{ key: 'service.name', value: 'svc' }],
      droppedAttributesCount: 1,
      schemaUrl: 'r',
    });
    assert.equal(s.scope.name, 'lib');
    assert.equal(s.scope.droppedAttributesCount, 2);
    assert.equal(s.scope.schemaUrl, 's');
  });

  it('accepts upper-case hex ids and returns them in lower case', () => {
    const [s] = decodeOtlpTracesJson(withSpan({ traceId: IDS.traceId.toUpperCase(), spanId: 'B7AD6B7169203331' }));
    assert.equal(s?.traceId, IDS.traceId);
    assert.equal(s?.spanId, IDS.spanId);
  });

  it('takes an absent, null or empty parent as no parent', () => {
    for (const parentSpanId of [undefined, null, '']) {
      const [s] = decodeOtlpTracesJson(withSpan({ ...IDS, parentSpanId }));
      assert.equal(s?.parentSpanId, '');
    }
  });

  it('accepts int64 values as strings or numbers, and enum names', () => {
    const [s] = decodeOtlpTracesJson(
      withSpan({
        ...IDS,
        kind: 'SPAN_KIND_SERVER',
        startTimeUnixNano: 1768478400000000000,
        endTimeUnixNano: '18446744073709551615',
        status: { code: 'STATUS_CODE_ERROR' },
        attributes: [
          { key: 'n', value: { intValue: 42 } },
          { key: 's', value: { intValue: '-9223372036854775808' } },
        ],
      }),
    );
    assert.equal(s?.kind, 2);
    assert.equal(s?.startTimeUnixNano, 1768478400000000000n);
    assert.equal(s?.endTimeUnixNano, 2n ** 64n - 1n);
    assert.deepEqual(s?.status, { code: 2, message: '' });
    assert.deepEqual(s?.attributes, [
      { key: 'n', value: 42n },
      { key: 's', value: -(2n ** 63n) },
    ]);
    const [k] = decodeOtlpTracesJson(withSpan({ kind: 'SPAN_KIND_CONSUMER', status: { code: 'STATUS_CODE_OK' } }));
    assert.equal(k?.kind, 5);
    assert.equal(k?.status.code, 1);
  });

  it('accepts doubles as numbers or the strings NaN, Infinity, -Infinity and numeric strings', () => {
    const [s] = decodeOtlpTracesJson(
      withSpan({
        attributes: ['NaN', 'Infinity', '-Infinity', 2.5, '1e3', '-0.25'].map((d, i) => ({
          key: String(i),
          value: { doubleValue: d },
        })),
      }),
    );
    const values = s?.attributes.map((a) => a.value);
    assert.ok(Number.isNaN(values?.[0]));
    assert.deepEqual(values?.slice(1), [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2.5, 1000, -0.25]);
  });

  it('ignores unknown fields and treats null as absent', () => {
    const [s] = decodeOtlpTracesJson(
      JSON.stringify({
        extra: [1, 2],
        resourceSpans: [
          {
            somethingNew: { deep: true },
            resource: null,
            scopeSpans: [
              { scope: null, spans: [{ ...IDS, name: null, attributes: null, futureField: 'x', status: null }] },
            ],
          },
        ],
      }),
    );
    assert.equal(s?.name, '');
    assert.deepEqual(s?.attributes, []);
    assert.equal(s?.resource, EMPTY_RESOURCE);
    assert.equal(s?.scope, EMPTY_SCOPE);
    assert.equal(s?.status, UNSET_STATUS);
  });

  it('decodes an AnyValue with no member set as null', () => {
    const [s] = decodeOtlpTracesJson(withSpan({ attributes: [{ key: 'a', value: {} }, { key: 'b' }] }));
    assert.deepEqual(s?.attributes, [
      { key: 'a', value: null },
      { key: 'b', value: null },
    ]);
  });

  it('accepts URL-safe and unpadded base64', () => {
    const [s] = decodeOtlpTracesJson(withSpan({ attributes: [{ key: 'b', value: { bytesValue: '-_8' } }] }));
    assert.deepEqual(s?.attributes[0]?.value, new Uint8Array([0xfb, 0xff]));
  });

  it('decodes what it encodes for every value kind', () => {
    const [s] = decodeOtlpTracesJson(encodeOtlpTracesJson([baseSpan({ attributes: EVERY_VALUE })]));
    assertSameSpans(s ? [s] : [], [baseSpan({ attributes: EVERY_VALUE })]);
  });
});

describe('OTLP/JSON errors', () => {
  it('reports invalid JSON as BAD_JSON with the character position', () => {
    const cases: [string, number][] = [
      ['{"resourceSpans": [}', 19],
      ['{"resourceSpans": []', 20],
      ['', 0],
      ['{"a": tru}', 6 + 3],
      ['{"a": 1,}', 8],
      ['[1, 2] x', 7],
      ['{"a": "\u0001"}', 7],
    ];
    for (const [text, position] of cases) {
      assert.throws(
        () => decodeOtlpTracesJson(text),
        (e: unknown) => {
          assert.ok(e instanceof WireDecodeError);
          assert.equal(e.code, WireErrorCode.BAD_JSON);
          assert.equal(e.offset, position, `position for ${JSON.stringify(text)}`);
          assert.match(e.message, new RegExp(`at character ${position}`));
          return true;
        },
      );
    }
  });

  it('locates a syntax error after deep nesting without recursion', () => {
    const deep = `{"resourceSpans":${'['.repeat(200_000)}`;
    rejects(() => decodeOtlpTracesJson(deep), WireErrorCode.BAD_JSON, /at character 200017: unexpected end of input$/);
    assert.throws(
      () => decodeOtlpTracesJson(`${deep}}`),
      (e: unknown) => {
        assert.ok(e instanceof WireDecodeError);
        assert.equal(e.offset, 200_017);
        assert.match(e.message, /at character 200017: unexpected character "}"$/);
        return true;
      },
    );
  });

  it('names the JSON path of a field with the wrong type', () => {
    const spans = Array.from({ length: 4 }, () => ({ ...IDS, startTimeUnixNano: '1' }));
    (spans[3] as Record<string, unknown>).startTimeUnixNano = 'soon';
    const text = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [] }, { spans }] }] });
    rejects(
      () => decodeOtlpTracesJson(text),
      WireErrorCode.BAD_FIELD,
      /^resourceSpans\[0\]\.scopeSpans\[1\]\.spans\[3\]\.startTimeUnixNano: expected an integer string$/,
    );
  });

  it('rejects wrong types with their paths', () => {
    const cases: [unknown, RegExp][] = [
      [[], /^\(root\): expected an object$/],
      [{ resourceSpans: {} }, /^resourceSpans: expected an array$/],
      [{ resourceSpans: [3] }, /^resourceSpans\[0\]: expected an object$/],
      [{ resourceSpans: [{ resource: [] }] }, /^resourceSpans\[0\]\.resource: expected an object$/],
      [
        { resourceSpans: [{ resource: { attributes: [{ key: 1 }] } }] },
        /^resourceSpans\[0\]\.resource\.attributes\[0\]\.key: expected a string$/,
      ],
      [
        { resourceSpans: [{ scopeSpans: [{ scope: { name: 5 } }] }] },
        /scopeSpans\[0\]\.scope\.name: expected a string/,
      ],
      [JSON.parse(withSpan({ name: 1 })), /spans\[0\]\.name: expected a string/],
      [JSON.parse(withSpan({ kind: 'SERVER' })), /spans\[0\]\.kind: expected an enum/],
      [JSON.parse(withSpan({ kind: 1.5 })), /spans\[0\]\.kind: expected an enum/],
      [JSON.parse(withSpan({ flags: -1 })), /spans\[0\]\.flags: expected an unsigned 32-bit integer/],
      [JSON.parse(withSpan({ droppedEventsCount: 2 ** 32 })), /droppedEventsCount: expected an unsigned/],
      [JSON.parse(withSpan({ startTimeUnixNano: '1.5' })), /startTimeUnixNano: expected an integer string/],
      [JSON.parse(withSpan({ startTimeUnixNano: ' 1' })), /startTimeUnixNano: expected an integer string/],
      [JSON.parse(withSpan({ startTimeUnixNano: '0x10' })), /startTimeUnixNano: expected an integer string/],
      [JSON.parse(withSpan({ startTimeUnixNano: '-1' })), /startTimeUnixNano: integer out of range for uint64/],
      [JSON.parse(withSpan({ endTimeUnixNano: '18446744073709551616' })), /out of range for uint64/],
      [JSON.parse(withSpan({ events: [{}, { name: [] }] })), /spans\[0\]\.events\[1\]\.name: expected a string/],
      [JSON.parse(withSpan({ links: [{ spanId: 'xyz0' }] })), /spans\[0\]\.links\[0\]\.spanId: expected a hex string/],
      [JSON.parse(withSpan({ status: { code: true } })), /spans\[0\]\.status\.code: expected an enum/],
      [
        JSON.parse(withSpan({ attributes: [{ key: 'a', value: { intValue: '9223372036854775808' } }] })),
        /spans\[0\]\.attributes\[0\]\.value\.intValue: integer out of range for int64/,
      ],
      [
        JSON.parse(withSpan({ attributes: [{ key: 'a', value: { boolValue: 'yes' } }] })),
        /attributes\[0\]\.value\.boolValue: expected a boolean/,
      ],
      [
        JSON.parse(withSpan({ attributes: [{ key: 'a', value: { doubleValue: 'lots' } }] })),
        /attributes\[0\]\.value\.doubleValue: expected a number/,
      ],
      [
        JSON.parse(withSpan({ attributes: [{ key: 'a', value: { bytesValue: 'a=b' } }] })),
        /attributes\[0\]\.value\.bytesValue: expected a base64 string/,
      ],
      [
        JSON.parse(
          withSpan({ attributes: [{ key: 'a', value: { arrayValue: { values: [{}, { intValue: 'x' }] } } }] }),
        ),
        /attributes\[0\]\.value\.arrayValue\.values\[1\]\.intValue: expected an integer string/,
      ],
      [
        JSON.parse(withSpan({ attributes: [{ key: 'a', value: { kvlistValue: { values: [{ key: 2 }] } } }] })),
        /attributes\[0\]\.value\.kvlistValue\.values\[0\]\.key: expected a string/,
      ],
    ];
    for (const [doc, message] of cases) {
      rejects(() => decodeOtlpTracesJson(JSON.stringify(doc)), WireErrorCode.BAD_FIELD, message);
    }
  });

  it('rejects ids that are not hex', () => {
    for (const traceId of ['0af7651916cd43dd8448eb211c80319g', 'abc', 12, ' 0af7']) {
      rejects(
        () => decodeOtlpTracesJson(withSpan({ traceId })),
        WireErrorCode.BAD_FIELD,
        /traceId: expected a hex string/,
      );
    }
    rejects(
      () => decodeOtlpTracesJson(withSpan({ parentSpanId: '-1' })),
      WireErrorCode.BAD_FIELD,
      /parentSpanId: expected a hex string/,
    );
  });

  it('accepts 32 levels of nested values and rejects 33, however deep the JSON goes', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = { stringValue: 'leaf' };
      for (let i = 1; i < levels; i++) v = { arrayValue: { values: [v] } };
      return v;
    };
    const ok = decodeOtlpTracesJson(withSpan({ attributes: [{ key: 'k', value: nest(32) }] }));
    assert.equal(ok.length, 1);
    rejects(
      () => decodeOtlpTracesJson(withSpan({ attributes: [{ key: 'k', value: nest(33) }] })),
      WireErrorCode.TOO_DEEP,
    );
    const deep = `${'{"arrayValue":{"values":['.repeat(20000)}{}${']}}'.repeat(20000)}`;
    rejects(
      () =>
        decodeOtlpTracesJson(
          `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":${deep}}]}]}]}]}`,
        ),
      WireErrorCode.TOO_DEEP,
    );
  });
});

describe('OTLP/JSON decoder robustness (fast-check)', () => {
  it('random text decodes or throws WireDecodeError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => decodesOrRejects(() => decodeOtlpTracesJson(text))),
      { numRuns: 1000 },
    );
  });

  it('random JSON values decode or throw WireDecodeError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => decodesOrRejects(() => decodeOtlpTracesJson(JSON.stringify(value)))),
      { numRuns: 1000 },
    );
  });

  it('valid payloads with a field replaced by any JSON value decode or throw WireDecodeError', () => {
    const base = JSON.parse(encodeOtlpTracesJson(sampleSpans())) as unknown;
    /** Every [container, key] pair in the document. */
    const slots: [Record<string, unknown> | unknown[], string | number][] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) {
        v.forEach((x, i) => {
          slots.push([v, i]);
          walk(x);
        });
      } else if (typeof v === 'object' && v !== null) {
        for (const [k, x] of Object.entries(v)) {
          slots.push([v as Record<string, unknown>, k]);
          walk(x);
        }
      }
    };
    walk(base);
    fc.assert(
      fc.property(fc.nat(), fc.jsonValue({ maxDepth: 3 }), (n, replacement) => {
        const [container, key] = slots[n % slots.length] as [Record<string | number, unknown>, string | number];
        const saved = container[key];
        container[key] = replacement;
        try {
          decodesOrRejects(() => decodeOtlpTracesJson(JSON.stringify(base)));
        } finally {
          container[key] = saved;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('truncated and byte-flipped payloads decode or throw WireDecodeError', () => {
    const text = encodeOtlpTracesJson(sampleSpans());
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 127 }), (at, c) => {
        const i = at % text.length;
        decodesOrRejects(() => decodeOtlpTracesJson(text.slice(0, i)));
        decodesOrRejects(() => decodeOtlpTracesJson(text.slice(0, i) + String.fromCharCode(c) + text.slice(i + 1)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('OTLP/JSON before 0.15 (instrumentationLibrarySpans)', () => {
  it('reads instrumentationLibrarySpans when scopeSpans is absent, and ignores it otherwise', () => {
    const legacy = {
      instrumentationLibrary: { name: 'old-lib', version: '0.9' },
      spans: [{ name: 'legacy' }],
    };
    const [s] = decodeOtlpTracesJson(JSON.stringify({ resourceSpans: [{ instrumentationLibrarySpans: [legacy] }] }));
    assert.deepEqual([s?.name, s?.scope.name, s?.scope.version], ['legacy', 'old-lib', '0.9']);
    const both = decodeOtlpTracesJson(
      JSON.stringify({
        resourceSpans: [{ instrumentationLibrarySpans: [legacy], scopeSpans: [{ spans: [{ name: 'current' }] }] }],
      }),
    );
    assert.deepEqual(
      both.map((x) => x.name),
      ['current'],
    );
    rejects(
      () => decodeOtlpTracesJson(JSON.stringify({ resourceSpans: [{ instrumentationLibrarySpans: [{ spans: 1 }] }] })),
      WireErrorCode.BAD_FIELD,
      /^resourceSpans\[0\]\.instrumentationLibrarySpans\[0\]\.spans: expected an array$/,
    );
  });
});
