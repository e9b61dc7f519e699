/**
 * The Zipkin <-> model mapping, field by field, on hand-written payloads.
 * Decoding goes through the JSON codec (the proto codec shares the mapping;
 * proto.test.ts checks that both codecs agree).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { SpanKind as OtelKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  EMPTY_RESOURCE,
  EMPTY_SCOPE,
  getAttribute,
  type KeyValue,
  type Resource,
  type Span,
  UNSET_STATUS,
} from '@traceloom/model';
import { decodeZipkinJson, encodeZipkinJson } from './json.ts';

const require = createRequire(import.meta.url);

type Json = Record<string, unknown>;

/** Decodes one span; a timestamp is added unless the span says `timestamp: null`. */
function decodeOne(span: Json): Span {
  const spans = decodeZipkinJson(JSON.stringify([{ timestamp: 1_700_000_000_000_000, ...span }]));
  assert.equal(spans.length, 1);
  return spans[0] as Span;
}

function encodeOne(span: Span): Json {
  const out = JSON.parse(encodeZipkinJson([span])) as Json[];
  assert.equal(out.length, 1);
  return out[0] as Json;
}

const TRACE = '5af7183fb1d4cf5f';
const ID = '352bff9a74ca9ad2';
const PARENT = '6b221d5bc9e6496c';

describe('Zipkin -> model', () => {
  it('maps every field of a Brave-style client span', () => {
    const s = decodeOne({
      traceId: TRACE,
      parentId: PARENT,
      id: ID,
      kind: 'CLIENT',
      name: 'get /api',
      timestamp: 1556604172355737,
      duration: 1431,
      localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1', port: 3306 },
      remoteEndpoint: { serviceName: 'backend', ipv4: '172.19.0.2', port: 9000 },
      annotations: [
        { timestamp: 1556604172355800, value: 'ws' },
        { timestamp: 1556604172357100, value: 'wr' },
      ],
      tags: { 'http.method': 'GET', 'http.path': '/api', 'clnt/finagle.version': '6.45.0' },
      debug: true,
      shared: true,
    });
    assert.equal(s.traceId, `0000000000000000${TRACE}`, '64-bit trace ids are left-padded to 32 hex');
    assert.equal(s.spanId, ID);
    assert.equal(s.parentSpanId, PARENT);
    assert.equal(s.traceState, '');
    assert.equal(s.flags, 0);
    assert.equal(s.name, 'get /api');
    assert.equal(s.kind, 3, 'CLIENT');
    assert.equal(s.startTimeUnixNano, 1556604172355737000n);
    assert.equal(s.endTimeUnixNano, 1556604172355737000n + 1431000n);
    assert.deepEqual(s.resource, {
      attributes: [{ key: 'service.name', value: 'frontend' }],
      droppedAttributesCount: 0,
      schemaUrl: '',
    });
    assert.equal(s.scope, EMPTY_SCOPE);
    assert.deepEqual(s.attributes, [
      { key: 'http.method', value: 'GET' },
      { key: 'http.path', value: '/api' },
      { key: 'clnt/finagle.version', value: '6.45.0' },
      { key: 'network.local.address', value: '192.168.99.1' },
      { key: 'network.local.port', value: 3306n },
      { key: 'service.peer.name', value: 'backend' },
      { key: 'network.peer.address', value: '172.19.0.2' },
      { key: 'network.peer.port', value: 9000n },
      { key: 'zipkin.debug', value: true },
      { key: 'zipkin.shared', value: true },
    ]);
    assert.deepEqual(s.events, [
      { timeUnixNano: 1556604172355800000n, name: 'ws', attributes: [], droppedAttributesCount: 0 },
      { timeUnixNano: 1556604172357100000n, name: 'wr', attributes: [], droppedAttributesCount: 0 },
    ]);
    assert.deepEqual(s.links, []);
    assert.equal(s.status, UNSET_STATUS);
    assert.equal(s.droppedAttributesCount + s.droppedEventsCount + s.droppedLinksCount, 0);
  });

  it('keeps 128-bit trace ids and lowercases hex', () => {
    const s = decodeOne({ traceId: '4BF92F3577B34DA6A3CE929D0E0E4736', id: 'ABCDEF0123456789' });
    assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(s.spanId, 'abcdef0123456789');
    assert.equal(s.parentSpanId, '');
  });

  it('reads an all-zero or self-referencing parent id as no parent', () => {
    assert.equal(decodeOne({ traceId: TRACE, id: ID, parentId: '0000000000000000' }).parentSpanId, '');
    assert.equal(decodeOne({ traceId: TRACE, id: ID, parentId: ID }).parentSpanId, '');
  });

  it('maps kinds; an absent or unknown kind is INTERNAL', () => {
    const kinds: [unknown, number][] = [
      ['CLIENT', 3],
      ['SERVER', 2],
      ['PRODUCER', 4],
      ['CONSUMER', 5],
      [undefined, 1],
      ['LOCAL', 1],
    ];
    for (const [kind, want] of kinds)
      assert.equal(decodeOne({ traceId: TRACE, id: ID, kind }).kind, want, String(kind));
  });

  it("removes the collector's span.kind=internal tag, keeps any other span.kind tag", () => {
    const a = decodeOne({ traceId: TRACE, id: ID, tags: { 'span.kind': 'internal' } });
    assert.equal(a.kind, 1);
    assert.deepEqual(a.attributes, []);
    const b = decodeOne({ traceId: TRACE, id: ID, tags: { 'span.kind': 'client' } });
    assert.deepEqual(b.attributes, [{ key: 'span.kind', value: 'client' }]);
  });

  it('shares one Resource per local service (and resource tags), one scope per name and version', () => {
    const spans = decodeZipkinJson(
      JSON.stringify(
        [
          { traceId: TRACE, id: '0000000000000001', localEndpoint: { serviceName: 'a' } },
          { traceId: TRACE, id: '0000000000000002', localEndpoint: { serviceName: 'b' } },
          { traceId: TRACE, id: '0000000000000003', localEndpoint: { serviceName: 'a', ipv4: '10.0.0.1' } },
          { traceId: TRACE, id: '0000000000000004', localEndpoint: { serviceName: 'a' }, tags: { 'host.name': 'h1' } },
          { traceId: TRACE, id: '0000000000000005', localEndpoint: { serviceName: 'a' }, tags: { 'host.name': 'h1' } },
          { traceId: TRACE, id: '0000000000000006', tags: { 'otel.scope.name': 'lib', 'otel.scope.version': '1' } },
          { traceId: TRACE, id: '0000000000000007', tags: { 'otel.scope.name': 'lib', 'otel.scope.version': '1' } },
          { traceId: TRACE, id: '0000000000000008' },
        ].map((z) => ({ timestamp: 1, ...z })),
      ),
    );
    const [a1, b, a2, h1, h2, l1, l2, none] = spans as [Span, Span, Span, Span, Span, Span, Span, Span];
    assert.equal(a1.resource, a2.resource, 'same service: same object');
    assert.notEqual(a1.resource, b.resource);
    assert.equal(h1.resource, h2.resource);
    assert.notEqual(h1.resource, a1.resource, 'resource tags make a different resource');
    assert.deepEqual(h1.resource.attributes, [
      { key: 'service.name', value: 'a' },
      { key: 'host.name', value: 'h1' },
    ]);
    assert.equal(getAttribute(h1.attributes, 'host.name'), undefined, 'resource tags leave the span');
    assert.equal(l1.scope, l2.scope);
    assert.deepEqual(l1.scope, { name: 'lib', version: '1', attributes: [], droppedAttributesCount: 0, schemaUrl: '' });
    assert.deepEqual(l1.attributes, []);
    assert.equal(none.resource, EMPTY_RESOURCE, 'no local endpoint: the empty resource');
    assert.equal(none.scope, EMPTY_SCOPE);
  });

  it('reads the older otel.library.* scope tags and otlp.service.name.source', () => {
    const s = decodeOne({
      traceId: TRACE,
      id: ID,
      localEndpoint: { serviceName: 'fn' },
      tags: { 'otel.library.name': 'old', 'otel.library.version': '0.1', 'otlp.service.name.source': 'faas.name' },
    });
    assert.deepEqual([s.scope.name, s.scope.version], ['old', '0.1']);
    assert.deepEqual(s.resource.attributes, [{ key: 'faas.name', value: 'fn' }]);
    assert.deepEqual(s.attributes, []);
  });

  it('drops a service.name tag that repeats the local service (OTel SDK exporters send one)', () => {
    const s = decodeOne({ traceId: TRACE, id: ID, localEndpoint: { serviceName: 'x' }, tags: { 'service.name': 'x' } });
    assert.deepEqual(s.attributes, []);
    const t = decodeOne({ traceId: TRACE, id: ID, localEndpoint: { serviceName: 'x' }, tags: { 'service.name': 'y' } });
    assert.deepEqual(t.attributes, [{ key: 'service.name', value: 'y' }]);
    assert.equal(getAttribute(t.resource.attributes, 'service.name'), 'x');
  });

  it('maps status tags', () => {
    const status = (tags: Json) => decodeOne({ traceId: TRACE, id: ID, tags });
    const cases: [Json, number, string, KeyValue[]][] = [
      [{ error: 'true' }, 2, '', []],
      [{ error: 'timeout' }, 2, 'timeout', [{ key: 'error', value: 'timeout' }]],
      [{ error: '' }, 2, '', [{ key: 'error', value: '' }]],
      [{ 'otel.status_code': 'STATUS_CODE_OK' }, 1, '', []],
      [{ 'otel.status_code': 'Ok' }, 1, '', []],
      [{ 'otel.status_code': 'OK', 'otel.status_description': 'fine' }, 1, 'fine', []],
      [{ 'otel.status_code': 'STATUS_CODE_ERROR', 'otel.status_description': 'boom', error: 'true' }, 2, 'boom', []],
      [{ 'otel.status_code': 'ERROR', error: 'declined' }, 2, 'declined', [{ key: 'error', value: 'declined' }]],
      [{ 'otel.status_code': 'STATUS_CODE_UNSET' }, 0, '', []],
      [
        { 'otel.status_code': 'WEIRD', 'otel.status_description': 'x' },
        0,
        '',
        [
          { key: 'otel.status_code', value: 'WEIRD' },
          { key: 'otel.status_description', value: 'x' },
        ],
      ],
    ];
    for (const [tags, code, message, attributes] of cases) {
      const s = status(tags);
      assert.deepEqual([s.status.code, s.status.message], [code, message], JSON.stringify(tags));
      assert.deepEqual(s.attributes, attributes, JSON.stringify(tags));
    }
  });

  it('maps trace state, dropped counts, links and annotation attributes', () => {
    const s = decodeOne({
      traceId: TRACE,
      id: ID,
      annotations: [
        { timestamp: 1700000000000001, value: 'cart.loaded|{"cart.items":3,"cart.currency":"EUR","ratio":0.5}|2' },
        { timestamp: 1700000000000002, value: 'a|b|c' },
        { timestamp: 1700000000000003, value: 'bad json|{oops}|0' },
      ],
      tags: {
        'w3c.tracestate': 'vendor1=abc,vendor2=x:y',
        'otel.dropped_attributes_count': '3',
        'otel.dropped_events_count': '4',
        'otel.dropped_links_count': 'many',
        'otlp.link.0': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbb|k=v|{"link.reason":"retry-of","n":2}|1',
        'otlp.link.1': 'not a link',
      },
    });
    assert.equal(s.traceState, 'vendor1=abc,vendor2=x:y');
    assert.deepEqual([s.droppedAttributesCount, s.droppedEventsCount, s.droppedLinksCount], [3, 4, 0]);
    assert.deepEqual(s.links, [
      {
        traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        spanId: 'bbbbbbbbbbbbbbbb',
        traceState: 'k=v',
        attributes: [
          { key: 'link.reason', value: 'retry-of' },
          { key: 'n', value: 2n },
        ],
        droppedAttributesCount: 1,
        flags: 0,
      },
    ]);
    assert.deepEqual(s.events[0], {
      timeUnixNano: 1700000000000001000n,
      name: 'cart.loaded',
      attributes: [
        { key: 'cart.items', value: 3n },
        { key: 'cart.currency', value: 'EUR' },
        { key: 'ratio', value: 0.5 },
      ],
      droppedAttributesCount: 2,
    });
    assert.equal(s.events[1]?.name, 'a|b|c', 'not the attribute form: the whole value is the name');
    assert.equal(s.events[2]?.name, 'bad json|{oops}|0');
    // What could not be read stays as it was sent.
    assert.deepEqual(s.attributes, [
      { key: 'otel.dropped_links_count', value: 'many' },
      { key: 'otlp.link.1', value: 'not a link' },
    ]);
  });

  it('starts a span without timestamp at the epoch and marks it, as the collector does', () => {
    const s = decodeOne({ traceId: TRACE, id: ID, timestamp: null, duration: 250 });
    assert.equal(s.startTimeUnixNano, 0n);
    assert.equal(s.endTimeUnixNano, 250000n);
    assert.deepEqual(s.attributes, [{ key: 'otel.zipkin.absentField.startTime', value: true }]);
    const z = encodeOne(s);
    assert.equal(z.timestamp, undefined);
    assert.equal(z.duration, 250);
    assert.equal(z.tags, undefined, 'the marker is not sent back as a tag');
  });

  it('keeps both addresses of a dual-stack endpoint', () => {
    const s = decodeOne({
      traceId: TRACE,
      id: ID,
      localEndpoint: { ipv4: '10.0.0.1', ipv6: '2001:db8::1' },
      remoteEndpoint: { ipv6: '2001:db8::2', port: 443 },
    });
    assert.deepEqual(s.attributes, [
      { key: 'network.local.address', value: '10.0.0.1' },
      { key: 'zipkin.local_endpoint.ipv6', value: '2001:db8::1' },
      { key: 'network.peer.address', value: '2001:db8::2' },
      { key: 'network.peer.port', value: 443n },
    ]);
    assert.equal(s.resource, EMPTY_RESOURCE);
  });

  it('maps what the OpenTelemetry JS Zipkin exporter sends', () => {
    const { toZipkinSpan } = require('@opentelemetry/exporter-zipkin/build/src/transform.js') as {
      toZipkinSpan: (span: unknown, serviceName: string, codeTag: string, errorTag: string) => Json;
    };
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': 'checkout',
        'host.name': 'box-1',
        'telemetry.sdk.language': 'nodejs',
        'app.tier': 'web',
      }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('t');
    const span = tracer.startSpan('charge', {
      kind: OtelKind.CLIENT,
      attributes: { 'http.response.status_code': 503 },
    });
    span.addEvent('retry');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
    span.end();
    const readable = memory.getFinishedSpans()[0];
    const z = toZipkinSpan(readable, 'checkout', 'otel.status_code', 'error');
    const s = decodeOne(JSON.parse(JSON.stringify(z)) as Json);
    assert.equal(s.kind, 3);
    assert.deepEqual([s.status.code, s.status.message], [2, 'payment declined']);
    assert.equal(getAttribute(s.resource.attributes, 'service.name'), 'checkout');
    assert.equal(getAttribute(s.resource.attributes, 'host.name'), 'box-1');
    assert.equal(getAttribute(s.resource.attributes, 'telemetry.sdk.language'), 'nodejs');
    assert.equal(getAttribute(s.attributes, 'http.response.status_code'), '503');
    assert.equal(getAttribute(s.attributes, 'app.tier'), 'web', 'unknown resource keys stay on the span');
    assert.equal(getAttribute(s.attributes, 'service.name'), undefined);
    assert.equal(getAttribute(s.attributes, 'otel.status_code'), undefined);
    assert.deepEqual(
      s.events.map((e) => e.name),
      ['retry'],
    );
  });
});

describe('model -> Zipkin', () => {
  const resource: Resource = {
    attributes: [
      { key: 'service.name', value: 'checkout' },
      { key: 'host.name', value: 'box-1' },
      { key: 'host.cores', value: 2n },
    ],
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  const base: Span = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'op',
    kind: 2,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_000_124_456_789n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: UNSET_STATUS,
    resource,
    scope: { name: 'lib', version: '2.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };

  it('writes ids, kind, name, µs times, local endpoint and resource/scope tags', () => {
    assert.deepEqual(encodeOne(base), {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      id: '00f067aa0ba902b7',
      kind: 'SERVER',
      name: 'op',
      timestamp: 1_700_000_000_123_456,
      duration: 1000,
      localEndpoint: { serviceName: 'checkout' },
      tags: { 'host.name': 'box-1', 'host.cores': '2', 'otel.scope.name': 'lib', 'otel.scope.version': '2.0' },
    });
  });

  it('writes a 128-bit id whose upper half is zero as 64-bit, as Zipkin tracers sent it', () => {
    const z = encodeOne({ ...base, traceId: `0000000000000000${TRACE}`, parentSpanId: PARENT });
    assert.equal(z.traceId, TRACE);
    assert.equal(z.parentId, PARENT);
  });

  it('maps kinds back; INTERNAL and UNSPECIFIED have no Zipkin kind', () => {
    const names: [number, string | undefined][] = [
      [0, undefined],
      [1, undefined],
      [2, 'SERVER'],
      [3, 'CLIENT'],
      [4, 'PRODUCER'],
      [5, 'CONSUMER'],
    ];
    for (const [kind, want] of names) assert.equal(encodeOne({ ...base, kind }).kind, want, String(kind));
  });

  it('turns attributes of every type into string tags', () => {
    const z = encodeOne({
      ...base,
      resource: EMPTY_RESOURCE,
      scope: EMPTY_SCOPE,
      attributes: [
        { key: 's', value: 'text' },
        { key: 'b', value: true },
        { key: 'i', value: -42n },
        { key: 'd', value: 2.5 },
        { key: 'bytes', value: Uint8Array.of(1, 2, 3, 250) },
        { key: 'arr', value: ['a', 1n, 0.5, false, null] },
        { key: 'map', value: { kvlist: [{ key: 'k', value: 'v' }] } },
        { key: 'empty', value: null },
      ],
    });
    assert.deepEqual(z.tags, {
      s: 'text',
      b: 'true',
      i: '-42',
      d: '2.5',
      bytes: 'AQID+g==',
      arr: '["a",1,0.5,false,null]',
      map: '{"k":"v"}',
      empty: '',
    });
    assert.equal(z.localEndpoint, undefined, 'no service name, no address: no local endpoint');
  });

  it('maps status to tags', () => {
    const tags = (status: Span['status'], attributes: KeyValue[] = []) =>
      encodeOne({ ...base, resource: EMPTY_RESOURCE, scope: EMPTY_SCOPE, status, attributes }).tags;
    assert.equal(tags(UNSET_STATUS), undefined);
    assert.equal(tags(UNSET_STATUS, [{ key: 'error', value: false }]), undefined, 'error is dropped unless ERROR');
    assert.deepEqual(tags({ code: 1, message: '' }), { 'otel.status_code': 'STATUS_CODE_OK' });
    assert.deepEqual(tags({ code: 2, message: '' }), { error: 'true' });
    assert.deepEqual(tags({ code: 2, message: 'boom' }), {
      error: 'true',
      'otel.status_code': 'STATUS_CODE_ERROR',
      'otel.status_description': 'boom',
    });
    assert.deepEqual(tags({ code: 2, message: 'boom' }, [{ key: 'error', value: 'boom' }]), { error: 'boom' });
  });

  it('maps events, links, trace state and dropped counts', () => {
    const z = encodeOne({
      ...base,
      resource: EMPTY_RESOURCE,
      scope: EMPTY_SCOPE,
      traceState: 'a=1',
      droppedAttributesCount: 1,
      droppedEventsCount: 2,
      droppedLinksCount: 3,
      events: [
        { timeUnixNano: 1_700_000_000_000_001_999n, name: 'plain', attributes: [], droppedAttributesCount: 0 },
        {
          timeUnixNano: 1_700_000_000_000_002_000n,
          name: 'rich',
          attributes: [
            { key: 'n', value: 3n },
            { key: 'ok', value: true },
          ],
          droppedAttributesCount: 1,
        },
      ],
      links: [
        {
          traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
          spanId: 'bbbbbbbbbbbbbbbb',
          traceState: 'k=v',
          attributes: [{ key: 'why', value: 'retry' }],
          droppedAttributesCount: 0,
          flags: 1,
        },
      ],
    });
    assert.deepEqual(z.annotations, [
      { timestamp: 1_700_000_000_000_001, value: 'plain' },
      { timestamp: 1_700_000_000_000_002, value: 'rich|{"n":3,"ok":true}|1' },
    ]);
    assert.deepEqual(z.tags, {
      'w3c.tracestate': 'a=1',
      'otel.dropped_attributes_count': '1',
      'otel.dropped_events_count': '2',
      'otel.dropped_links_count': '3',
      'otlp.link.0': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbb|k=v|{"why":"retry"}|0',
    });
  });

  it('builds endpoints from current and older network attributes', () => {
    const z = encodeOne({
      ...base,
      scope: EMPTY_SCOPE,
      resource: { attributes: [{ key: 'service.name', value: 'web' }], droppedAttributesCount: 0, schemaUrl: '' },
      attributes: [
        { key: 'peer.service', value: 'db' },
        { key: 'net.peer.ip', value: '10.1.1.1' },
        { key: 'network.peer.port', value: 5432n },
        { key: 'net.host.ip', value: '::1' },
        { key: 'network.local.port', value: '8080' },
      ],
    });
    assert.deepEqual(z.localEndpoint, { serviceName: 'web', ipv6: '::1', port: 8080 });
    assert.deepEqual(z.remoteEndpoint, { serviceName: 'db', ipv4: '10.1.1.1', port: 5432 });
    assert.equal(z.tags, undefined);
  });

  it('leaves attributes that do not make an endpoint as tags', () => {
    const z = encodeOne({
      ...base,
      scope: EMPTY_SCOPE,
      resource: EMPTY_RESOURCE,
      attributes: [
        { key: 'network.peer.address', value: 'db.internal' },
        { key: 'network.peer.port', value: 5432n },
        { key: 'network.local.port', value: 99999n },
      ],
    });
    assert.equal(z.remoteEndpoint, undefined);
    assert.equal(z.localEndpoint, undefined);
    assert.deepEqual(z.tags, {
      'network.peer.address': 'db.internal',
      'network.peer.port': '5432',
      'network.local.port': '99999',
    });
  });

  it('writes debug and shared from their attributes', () => {
    const z = encodeOne({
      ...base,
      attributes: [
        { key: 'zipkin.debug', value: true },
        { key: 'zipkin.shared', value: true },
      ],
    });
    assert.equal(z.debug, true);
    assert.equal(z.shared, true);
    assert.equal((z.tags as Json)['zipkin.debug'], undefined);
  });

  it('falls back from service.name to faas.name and says so', () => {
    const z = encodeOne({
      ...base,
      scope: EMPTY_SCOPE,
      resource: { attributes: [{ key: 'faas.name', value: 'resize' }], droppedAttributesCount: 0, schemaUrl: '' },
    });
    assert.deepEqual(z.localEndpoint, { serviceName: 'resize' });
    assert.deepEqual(z.tags, { 'otlp.service.name.source': 'faas.name' });
  });

  it('truncates ns to µs, rounds a sub-µs duration up to 1, omits a zero or negative one', () => {
    assert.equal(encodeOne({ ...base, endTimeUnixNano: base.startTimeUnixNano + 1999n }).duration, 1);
    assert.equal(encodeOne({ ...base, endTimeUnixNano: base.startTimeUnixNano + 1n }).duration, 1);
    assert.equal(encodeOne({ ...base, endTimeUnixNano: base.startTimeUnixNano }).duration, undefined);
    assert.equal(encodeOne({ ...base, endTimeUnixNano: 0n }).duration, undefined);
  });
});
