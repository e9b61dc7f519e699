/**
 * The Zipkin proto3 codec, checked against protobufjs reading and writing
 * zipkin.proto (openzipkin/zipkin-api), so that field numbers and wire types
 * are verified by an implementation other than ours.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { type Span, spanDiff } from '@traceloom/model';
import fc from 'fast-check';
import { isWireDecodeError, WireDecodeError, WireErrorCode } from '../errors.ts';
import { zipkinJsonSpan, zipkinShapedSpan } from './fixtures/arbitraries.ts';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip-address.ts';
import { decodeZipkinJson, encodeZipkinJson } from './json.ts';
import { decodeZipkinProto, encodeZipkinProto } from './proto.ts';

const require = createRequire(import.meta.url);
// protobufjs arrives with @grpc/proto-loader (a dependency of the OTLP gRPC exporter).
const protobuf = require('protobufjs') as typeof import('protobufjs');

/** zipkin.proto's messages, field numbers and types (openzipkin/zipkin-api). */
const ZIPKIN_PROTO = `
syntax = "proto3";
package zipkin.proto3;
message Span {
  bytes trace_id = 1;
  bytes parent_id = 2;
  bytes id = 3;
  enum Kind { SPAN_KIND_UNSPECIFIED = 0; CLIENT = 1; SERVER = 2; PRODUCER = 3; CONSUMER = 4; }
  Kind kind = 4;
  string name = 5;
  fixed64 timestamp = 6;
  uint64 duration = 7;
  Endpoint local_endpoint = 8;
  Endpoint remote_endpoint = 9;
  repeated Annotation annotations = 10;
  map<string, string> tags = 11;
  bool debug = 12;
  bool shared = 13;
}
message Endpoint { string service_name = 1; bytes ipv4 = 2; bytes ipv6 = 3; int32 port = 4; }
message Annotation { fixed64 timestamp = 1; string value = 2; }
message ListOfSpans { repeated Span spans = 1; }
`;
const root = protobuf.parse(ZIPKIN_PROTO).root;
const ListOfSpans = root.lookupType('zipkin.proto3.ListOfSpans');

type Json = Record<string, unknown>;
type JsonEndpoint = { serviceName?: string; ipv4?: string; ipv6?: string; port?: number };

const BRAVE = readFileSync(new URL('./fixtures/brave-spans.json', import.meta.url), 'utf8');

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A Zipkin JSON span as the protobufjs object of the same span. */
function jsonToProtoObject(z: Json): Json {
  const ep = (e: JsonEndpoint | undefined) =>
    e === undefined
      ? undefined
      : {
          serviceName: e.serviceName,
          ipv4: e.ipv4 === undefined ? undefined : parseIpv4(e.ipv4),
          ipv6: e.ipv6 === undefined ? undefined : parseIpv6(e.ipv6),
          port: e.port,
        };
  return {
    traceId: hexBytes(z.traceId as string),
    parentId: z.parentId === undefined ? undefined : hexBytes(z.parentId as string),
    id: hexBytes(z.id as string),
    kind: z.kind,
    name: z.name,
    timestamp: z.timestamp,
    duration: z.duration,
    localEndpoint: ep(z.localEndpoint as JsonEndpoint | undefined),
    remoteEndpoint: ep(z.remoteEndpoint as JsonEndpoint | undefined),
    annotations: z.annotations,
    tags: z.tags,
    debug: z.debug,
    shared: z.shared,
  };
}

/** protobufjs's view of a span (toObject with defaults off) as Zipkin JSON. */
function protoObjectToJson(p: Json): Json {
  const ep = (e: Json | undefined): JsonEndpoint | undefined => {
    if (e === undefined) return undefined;
    const out: JsonEndpoint = {};
    if (e.serviceName !== undefined) out.serviceName = e.serviceName as string;
    if (e.ipv4 !== undefined) out.ipv4 = formatIpv4(e.ipv4 as Uint8Array);
    if (e.ipv6 !== undefined) out.ipv6 = formatIpv6(e.ipv6 as Uint8Array);
    if (e.port !== undefined) out.port = e.port as number;
    return out;
  };
  const out: Json = { traceId: toHex(p.traceId as Uint8Array) };
  if (p.parentId !== undefined) out.parentId = toHex(p.parentId as Uint8Array);
  out.id = toHex(p.id as Uint8Array);
  for (const k of ['kind', 'name', 'timestamp', 'duration'] as const) if (p[k] !== undefined) out[k] = p[k];
  if (p.localEndpoint !== undefined) out.localEndpoint = ep(p.localEndpoint as Json);
  if (p.remoteEndpoint !== undefined) out.remoteEndpoint = ep(p.remoteEndpoint as Json);
  if (Array.isArray(p.annotations) && p.annotations.length > 0) {
    // proto3 leaves out an empty value; JSON writes it.
    out.annotations = (p.annotations as Json[]).map((a) => ({ timestamp: a.timestamp, value: a.value ?? '' }));
  }
  if (p.tags !== undefined && Object.keys(p.tags as Json).length > 0) out.tags = { ...(p.tags as Json) };
  if (p.debug === true) out.debug = true;
  if (p.shared === true) out.shared = true;
  return out;
}

/** Bytes protobufjs writes for these Zipkin JSON spans. */
function protobufjsEncode(spans: Json[]): Uint8Array {
  const msg = ListOfSpans.fromObject({ spans: spans.map(jsonToProtoObject) });
  return ListOfSpans.encode(msg).finish();
}

/** Zipkin JSON spans as protobufjs reads these bytes. */
function protobufjsDecode(bytes: Uint8Array): Json[] {
  const o = ListOfSpans.toObject(ListOfSpans.decode(bytes), { longs: Number, enums: String, bytes: Uint8Array }) as {
    spans?: Json[];
  };
  return (o.spans ?? []).map(protoObjectToJson);
}

function decodesOrRejects(buf: Uint8Array): void {
  try {
    const spans = decodeZipkinProto(buf);
    for (const s of spans) {
      assert.equal(s.traceId.length, 32);
      assert.equal(s.spanId.length, 16);
      assert.ok(s.endTimeUnixNano >= s.startTimeUnixNano);
    }
  } catch (e) {
    if (!isWireDecodeError(e)) throw e;
  }
}

function rejects(buf: Uint8Array, code: string, message: RegExp): WireDecodeError {
  try {
    decodeZipkinProto(buf);
  } catch (e) {
    assert.ok(e instanceof WireDecodeError, `threw ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return e;
  }
  assert.fail('accepted');
}

/** A raw protobuf message built field by field with protobufjs's writer. */
function raw(build: (w: import('protobufjs').Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  build(w);
  return w.finish();
}

/** A ListOfSpans holding one span message of these bytes. */
function listOf(span: Uint8Array): Uint8Array {
  return raw((w) => w.uint32((1 << 3) | 2).bytes(span));
}

const TRACE = hexBytes('5af7183fb1d4cf5f');
const ID = hexBytes('352bff9a74ca9ad2');
/** The required fields of a span. */
const required = (w: import('protobufjs').Writer) =>
  w
    .uint32((1 << 3) | 2)
    .bytes(TRACE)
    .uint32((3 << 3) | 2)
    .bytes(ID);

describe('Zipkin proto3 against protobufjs', () => {
  const brave = JSON.parse(BRAVE) as Json[];

  it('decodes what protobufjs writes from zipkin.proto, as the JSON codec decodes the same spans', () => {
    const fromProto = decodeZipkinProto(protobufjsEncode(brave));
    const fromJson = decodeZipkinJson(BRAVE);
    assert.equal(fromProto.length, fromJson.length);
    fromProto.forEach((s, i) => {
      assert.equal(spanDiff(s, fromJson[i] as Span), undefined, `span ${i}`);
    });
    assert.deepEqual(JSON.parse(encodeZipkinJson(fromProto)), brave);
  });

  it('writes what protobufjs reads back as the original spans', () => {
    const bytes = encodeZipkinProto(decodeZipkinJson(BRAVE));
    assert.deepEqual(protobufjsDecode(bytes), brave);
  });

  it('round-trips any Zipkin-shaped span through both codecs and protobufjs (property)', () => {
    fc.assert(
      fc.property(fc.array(zipkinJsonSpan, { maxLength: 4 }), (spans) => {
        const json = JSON.parse(JSON.stringify(spans)) as Json[];
        const bytes = encodeZipkinProto(decodeZipkinJson(JSON.stringify(json)));
        assert.deepEqual(protobufjsDecode(bytes), json);
        assert.deepEqual(JSON.parse(encodeZipkinJson(decodeZipkinProto(bytes))), json);
        assert.deepEqual(JSON.parse(encodeZipkinJson(decodeZipkinProto(protobufjsEncode(json)))), json);
      }),
      { numRuns: 300 },
    );
  });

  it('decode(encode(spans)) gives back Zipkin-shaped model spans (property)', () => {
    fc.assert(
      fc.property(fc.array(zipkinShapedSpan, { maxLength: 4 }), (spans) => {
        const back = decodeZipkinProto(encodeZipkinProto(spans));
        assert.equal(back.length, spans.length);
        spans.forEach((s, i) => {
          assert.equal(spanDiff(back[i] as Span, s), undefined, `span ${i}`);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('encodes no spans as an empty message', () => {
    assert.deepEqual(encodeZipkinProto([]), new Uint8Array(0));
    assert.deepEqual(decodeZipkinProto(new Uint8Array(0)), []);
  });
});

describe('Zipkin proto3 decoding details', () => {
  it('skips unknown fields of every wire type, at every level', () => {
    const endpoint = raw((w) =>
      w
        .uint32((9 << 3) | 0)
        .uint32(7)
        .uint32((1 << 3) | 2)
        .string('svc'),
    );
    const span = raw((w) => {
      required(w);
      w.uint32((99 << 3) | 0).uint64(123);
      w.uint32((100 << 3) | 1).fixed64(1);
      w.uint32((101 << 3) | 2).bytes(Uint8Array.of(1, 2, 3));
      w.uint32((102 << 3) | 5).fixed32(4);
      w.uint32((8 << 3) | 2).bytes(endpoint);
    });
    const bytes = raw((w) => {
      w.uint32((2 << 3) | 2).string('not a span');
      w.uint32((1 << 3) | 2).bytes(span);
    });
    const [s] = decodeZipkinProto(bytes);
    assert.equal(s?.spanId, '352bff9a74ca9ad2');
    assert.deepEqual(s?.resource.attributes, [{ key: 'service.name', value: 'svc' }]);
  });

  it('reads an empty or all-zero parent id as no parent', () => {
    for (const parent of [new Uint8Array(0), new Uint8Array(8)]) {
      const [s] = decodeZipkinProto(
        listOf(
          raw((w) =>
            required(w)
              .uint32((2 << 3) | 2)
              .bytes(parent),
          ),
        ),
      );
      assert.equal(s?.parentSpanId, '');
    }
  });

  it('merges a repeated endpoint, keeps the last of a repeated tag, reads missing entry fields as empty', () => {
    const span = raw((w) => {
      required(w);
      w.uint32((8 << 3) | 2).bytes(raw((e) => e.uint32((1 << 3) | 2).string('svc')));
      w.uint32((8 << 3) | 2).bytes(raw((e) => e.uint32((4 << 3) | 0).int32(8080)));
      w.uint32((11 << 3) | 2).bytes(
        raw((e) =>
          e
            .uint32((1 << 3) | 2)
            .string('k')
            .uint32((2 << 3) | 2)
            .string('1'),
        ),
      );
      w.uint32((11 << 3) | 2).bytes(
        raw((e) =>
          e
            .uint32((1 << 3) | 2)
            .string('k')
            .uint32((2 << 3) | 2)
            .string('2'),
        ),
      );
      w.uint32((11 << 3) | 2).bytes(raw((e) => e.uint32((1 << 3) | 2).string('only-key')));
      w.uint32((6 << 3) | 1).fixed64(1);
    });
    const [s] = decodeZipkinProto(listOf(span));
    assert.deepEqual(s?.resource.attributes, [{ key: 'service.name', value: 'svc' }]);
    assert.deepEqual(s?.attributes, [
      { key: 'k', value: '2' },
      { key: 'only-key', value: '' },
      { key: 'network.local.port', value: 8080n },
    ]);
  });

  it('keeps the last value of a key repeated among many tags', () => {
    const span = raw((w) => {
      required(w);
      w.uint32((6 << 3) | 1).fixed64(1);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 40; i++) {
          const entry = raw((e) =>
            e
              .uint32((1 << 3) | 2)
              .string(`k${i}`)
              .uint32((2 << 3) | 2)
              .string(`${round}`),
          );
          w.uint32((11 << 3) | 2).bytes(entry);
        }
      }
    });
    const [s] = decodeZipkinProto(listOf(span));
    assert.equal(s?.attributes.length, 40);
    assert.deepEqual(s?.attributes[39], { key: 'k39', value: '1' });
    assert.ok(s?.attributes.every((kv) => kv.value === '1'));
  });

  it('reads an unknown kind as INTERNAL and ignores malformed addresses and ports', () => {
    const span = raw((w) => {
      required(w);
      w.uint32((4 << 3) | 0).uint32(9);
      w.uint32((6 << 3) | 1).fixed64(1);
      w.uint32((9 << 3) | 2).bytes(
        raw((e) =>
          e
            .uint32((1 << 3) | 2)
            .string('peer')
            .uint32((2 << 3) | 2)
            .bytes(Uint8Array.of(1, 2, 3))
            .uint32((3 << 3) | 2)
            .bytes(new Uint8Array(15))
            .uint32((4 << 3) | 0)
            .int32(-5),
        ),
      );
    });
    const [s] = decodeZipkinProto(listOf(span));
    assert.equal(s?.kind, 1);
    assert.deepEqual(s?.attributes, [{ key: 'service.peer.name', value: 'peer' }]);
  });

  it('reads full 64-bit microsecond times exactly', () => {
    const span = raw((w) =>
      required(w)
        .uint32((6 << 3) | 1)
        .fixed64('9007199254740993')
        .uint32((7 << 3) | 0)
        .uint64('123456789012'),
    );
    const [s] = decodeZipkinProto(listOf(span));
    assert.equal(s?.startTimeUnixNano, 9007199254740993000n);
    assert.equal(s?.endTimeUnixNano, 9007199254740993000n + 123456789012000n);
  });
});

describe('Zipkin proto3 errors', () => {
  it('refuses ids of the wrong size, naming the field', () => {
    const span = (trace: Uint8Array, id: Uint8Array) =>
      listOf(
        raw((w) =>
          w
            .uint32((1 << 3) | 2)
            .bytes(trace)
            .uint32((3 << 3) | 2)
            .bytes(id),
        ),
      );
    rejects(
      span(new Uint8Array(5).fill(1), ID),
      WireErrorCode.BAD_FIELD,
      /^spans\[0\]\.trace_id: expected 8 or 16 bytes, got 5/,
    );
    rejects(span(new Uint8Array(16), ID), WireErrorCode.BAD_FIELD, /^spans\[0\]\.trace_id: must not be all zeros/);
    rejects(
      span(TRACE, new Uint8Array(16).fill(1)),
      WireErrorCode.BAD_FIELD,
      /^spans\[0\]\.id: expected 8 bytes, got 16/,
    );
    rejects(
      listOf(raw((w) => w.uint32((1 << 3) | 2).bytes(TRACE))),
      WireErrorCode.BAD_FIELD,
      /^spans\[0\]\.id: required/,
    );
    rejects(
      listOf(raw((w) => w.uint32((3 << 3) | 2).bytes(ID))),
      WireErrorCode.BAD_FIELD,
      /^spans\[0\]\.trace_id: required/,
    );
    const parent = listOf(
      raw((w) =>
        required(w)
          .uint32((2 << 3) | 2)
          .bytes(Uint8Array.of(1, 2)),
      ),
    );
    rejects(parent, WireErrorCode.BAD_FIELD, /^spans\[0\]\.parent_id: expected 8 bytes, got 2/);
  });

  it('refuses wrong wire types for known fields', () => {
    rejects(
      raw((w) => w.uint32((1 << 3) | 0).uint32(1)),
      WireErrorCode.BAD_WIRE_TYPE,
      /ListOfSpans\.spans/,
    );
    rejects(listOf(raw((w) => w.uint32((1 << 3) | 0).uint32(1))), WireErrorCode.BAD_WIRE_TYPE, /trace_id/);
    rejects(
      listOf(
        raw((w) =>
          required(w)
            .uint32((6 << 3) | 0)
            .uint32(1),
        ),
      ),
      WireErrorCode.BAD_WIRE_TYPE,
      /timestamp/,
    );
    rejects(listOf(raw((w) => required(w).uint32((3 << 3) | 3))), WireErrorCode.BAD_WIRE_TYPE, /id/);
    rejects(listOf(raw((w) => required(w).uint32((50 << 3) | 3))), WireErrorCode.BAD_WIRE_TYPE, /wire type 3/);
  });

  it('refuses truncated input, lengths past the end and field number 0', () => {
    const good = encodeZipkinProto(decodeZipkinJson(BRAVE));
    rejects(good.subarray(0, good.length - 1), WireErrorCode.TRUNCATED, /past the end|truncated/);
    rejects(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), WireErrorCode.TRUNCATED, /length 4294967295/);
    rejects(Uint8Array.of(0x00, 0x00), WireErrorCode.BAD_FIELD_NUMBER, /field number 0/);
    rejects(
      Uint8Array.of(0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
      WireErrorCode.BAD_VARINT,
      /varint/,
    );
  });

  it('refuses times that overflow 64-bit nanoseconds', () => {
    const span = raw((w) =>
      required(w)
        .uint32((6 << 3) | 1)
        .fixed64('18446744073709551615'),
    );
    rejects(listOf(span), WireErrorCode.BAD_FIELD, /overflows 64-bit nanoseconds/);
  });
});

describe('Zipkin proto3 decoder robustness', () => {
  const valid = encodeZipkinProto(decodeZipkinJson(BRAVE));

  it('returns spans or throws WireDecodeError for random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrRejects), { numRuns: 3000 });
  });

  it('returns spans or throws WireDecodeError for every truncation of a valid payload', () => {
    for (let cut = 0; cut <= valid.length; cut++) decodesOrRejects(valid.subarray(0, cut));
  });

  it('returns spans or throws WireDecodeError for valid payloads with bytes flipped, inserted or removed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom(0, 1, 2) }), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          let b = Uint8Array.from(valid);
          for (const { at, byte, op } of edits) {
            const i = at % (b.length + 1);
            if (op === 0 && i < b.length) b[i] = byte;
            else if (op === 1) b = Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)]);
            else b = Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]);
          }
          decodesOrRejects(b);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('returns spans or throws WireDecodeError when a huge length is declared anywhere', () => {
    const huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
    for (let i = 0; i <= valid.length; i++) {
      decodesOrRejects(Uint8Array.from([...valid.subarray(0, i), ...huge, ...valid.subarray(i)]));
      decodesOrRejects(Uint8Array.from([...valid.subarray(0, i), 0x0a, ...huge, ...valid.subarray(i)]));
    }
  });
});
