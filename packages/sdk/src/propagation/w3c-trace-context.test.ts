import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpanContext } from '@opentelemetry/api';
import { createTraceState, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import {
  TraceState as OtelTraceState,
  W3CTraceContextPropagator as OtelW3C,
  suppressTracing,
} from '@opentelemetry/core';
import {
  asRemote,
  assertSameSpanContext,
  contextWith,
  extractSpanContext,
  inject,
  SAMPLE_CONTEXTS,
  SPAN_ID,
  TRACE_ID,
} from './internal/testing.ts';
import { parseTraceState, W3CTraceState } from './trace-state.ts';
import { parseTraceparent, W3CTraceContextPropagator } from './w3c-trace-context.ts';

const ours = new W3CTraceContextPropagator();
const theirs = new OtelW3C();
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('W3C traceparent interop with @opentelemetry/core', () => {
  const withState: SpanContext[] = [
    ...SAMPLE_CONTEXTS,
    { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0x03, isRemote: false },
    {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
      isRemote: false,
      traceState: createTraceState('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,tenant@vendor=a b'),
    },
  ];

  it('inject with ours, extract with theirs', () => {
    for (const sc of withState) {
      const carrier = inject(ours, contextWith(sc));
      assertSameSpanContext(extractSpanContext(theirs, carrier), asRemote(sc), JSON.stringify(carrier));
    }
  });

  it('inject with theirs, extract with ours', () => {
    for (const sc of withState) {
      const carrier = inject(theirs, contextWith(sc));
      const got = extractSpanContext(ours, carrier);
      assertSameSpanContext(got, asRemote(sc), JSON.stringify(carrier));
      if (sc.traceState) assert.ok(got?.traceState instanceof W3CTraceState);
    }
  });

  it('writes the same headers as the official propagator', () => {
    for (const sc of withState) {
      assert.deepEqual(inject(ours, contextWith(sc)), inject(theirs, contextWith(sc)));
    }
    assert.deepEqual(ours.fields(), theirs.fields());
  });

  it('injects nothing without a valid span context or when tracing is suppressed', () => {
    assert.deepEqual(inject(ours, ROOT_CONTEXT), {});
    assert.deepEqual(inject(ours, contextWith({ ...SAMPLE_CONTEXTS[0]!, traceId: '0'.repeat(32) })), {});
    assert.deepEqual(inject(ours, suppressTracing(contextWith(SAMPLE_CONTEXTS[0]!))), {});
  });

  it('keeps an existing context when nothing valid is found', () => {
    const base = contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    assert.equal(ours.extract(base, { traceparent: 'garbage' }, { get: (c, k) => c[k], keys: Object.keys }), base);
  });
});

describe('W3C traceparent validation', () => {
  // [name, header, valid for us, what the official propagator does when it differs]
  const table: [string, string | string[], boolean, boolean?][] = [
    ['valid', VALID, true],
    ['unsampled', `00-${TRACE_ID}-${SPAN_ID}-00`, true],
    ['surrounding whitespace', ` ${VALID}\t`, true],
    ['empty', '', false],
    ['upper-case trace id', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`, false],
    ['upper-case span id', `00-${TRACE_ID}-00F067AA0BA902B7-01`, false],
    ['upper-case flags', `00-${TRACE_ID}-${SPAN_ID}-0A`, false],
    ['upper-case version', `0A-${TRACE_ID}-${SPAN_ID}-01`, false],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`, false],
    ['version not hex', `0g-${TRACE_ID}-${SPAN_ID}-01`, false],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`, false],
    ['all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`, false],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`, false],
    ['long trace id', `00-${TRACE_ID}a-${SPAN_ID}-01`, false],
    ['short span id', `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`, false],
    ['non-hex in trace id', `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`, false],
    ['non-hex flags', `00-${TRACE_ID}-${SPAN_ID}-0x`, false],
    ['one-digit flags', `00-${TRACE_ID}-${SPAN_ID}-1`, false],
    ['wrong separator', `00_${TRACE_ID}_${SPAN_ID}_01`, false],
    ['version 00 with more parts', `${VALID}-extra`, false],
    ['version 00 too long', `${VALID}0`, false],
    ['future version with more parts', `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`, true],
    ['future version, 55 chars', `01-${TRACE_ID}-${SPAN_ID}-01`, true],
    ['future version without dash after flags', `cc-${TRACE_ID}-${SPAN_ID}-01x`, false],
    ['future version with bad trace id', `cc-${'0'.repeat(32)}-${SPAN_ID}-01-x`, false],
    ['two traceparent headers', [VALID, VALID], false, true],
    ['joined duplicate headers', `${VALID}, ${VALID}`, false],
  ];
  for (const [name, header, valid, officialValid = valid] of table) {
    it(`${name}: ${valid ? 'accepted' : 'ignored'}`, () => {
      const got = extractSpanContext(ours, { traceparent: header });
      assert.equal(got !== undefined, valid);
      if (valid) assert.equal(got?.traceId, TRACE_ID);
      assert.equal(extractSpanContext(theirs, { traceparent: header }) !== undefined, officialValid);
    });
  }

  it('keeps unknown flag bits as the official propagator does', () => {
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-ff`)?.traceFlags, 0xff);
    assert.equal(
      inject(ours, contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0x1f, isRemote: false })).traceparent,
      `00-${TRACE_ID}-${SPAN_ID}-1f`,
    );
  });

  it('ignores tracestate when traceparent is invalid', () => {
    assert.equal(extractSpanContext(ours, { traceparent: 'x', tracestate: 'a=b' }), undefined);
  });
});

describe('W3C tracestate', () => {
  const get = (header: string | string[]): string | undefined =>
    extractSpanContext(ours, { traceparent: VALID, tracestate: header })?.traceState?.serialize();

  it('parses keys and values of the grammar, including multi-tenant keys', () => {
    const header = 'a=1,b_-*/9=x y,tenant@system=v,1tenant@s=w,0@a=z,k=!~';
    assert.equal(get(header), header);
    // The official TraceState accepts the same members.
    assert.equal(new OtelTraceState(header).serialize(), header);
  });

  it('combines several headers and drops empty members', () => {
    assert.equal(get(['a=1', 'b=2 , ,', ' c=3']), 'a=1,b=2,c=3');
    assert.equal(get(', a=1 ,\t,'), 'a=1');
  });

  it('an empty header gives no tracestate', () => {
    assert.equal(get(''), undefined);
    assert.equal(get(' , '), undefined);
  });

  const invalid: [string, string][] = [
    ['upper-case key', 'Foo=bar'],
    ['key starting with a digit', '1abc=x'],
    ['key with a dot', 'a.b=x'],
    ['two @ in a key', 'a@b@c=x'],
    ['system id starting with a digit', 'a@1b=x'],
    ['system id of 15 chars', `a@${'b'.repeat(15)}=x`],
    ['tenant id of 242 chars', `${'t'.repeat(242)}@s=x`],
    ['simple key of 257 chars', `${'k'.repeat(257)}=x`],
    ['value of 257 chars', `k=${'v'.repeat(257)}`],
    ['value with =', 'k=a=b'],
    ['empty value', 'k='],
    ['value with a control char', 'k=a\u0001b'],
    ['value with non-ASCII', 'k=é'],
    ['member without =', 'a=1,b'],
    ['duplicated key', 'a=1,b=2,a=3'],
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
  ];
  for (const [name, header] of invalid) {
    it(`${name}: the whole tracestate is dropped, the traceparent kept`, () => {
      const sc = extractSpanContext(ours, { traceparent: VALID, tracestate: `ok=1,${header}` });
      assert.equal(sc?.traceId, TRACE_ID);
      assert.equal(sc?.traceState, undefined);
    });
  }

  it('accepts the longest valid keys and values', () => {
    for (const header of [`${'k'.repeat(256)}=v`, `${'t'.repeat(241)}@${'s'.repeat(14)}=v`, `k=${'v'.repeat(256)}`]) {
      assert.equal(parseTraceState(header)?.serialize(), header);
    }
  });

  it('accepts 32 members', () => {
    const header = Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',');
    assert.equal(get(header), header);
  });

  it('truncates past 512 characters: long members first, then from the end', () => {
    const long = `big=${'x'.repeat(200)}`;
    const members = [long, ...Array.from({ length: 20 }, (_, i) => `k${i}=${'v'.repeat(20)}`)];
    const ts = parseTraceState(members.join(','));
    assert.ok(ts !== undefined);
    const out = ts.serialize();
    assert.ok(out.length <= 512, `length ${out.length}`);
    assert.equal(ts.get('big'), undefined);
    assert.equal(ts.get('k0'), 'v'.repeat(20));
    // 20 members of 24 chars + 19 commas = 499 fit once the long one is gone.
    assert.equal(ts.size, 20);

    const many = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}=${'v'.repeat(30)}`);
    const cut = parseTraceState(many.join(','));
    assert.ok(cut !== undefined && cut.serialize().length <= 512);
    assert.equal(cut.get('k00'), 'v'.repeat(30));
    assert.equal(cut.get('k29'), undefined);
    assert.equal(many.join(',').startsWith(cut.serialize()), true);
  });

  it('set moves a key to the front; unset and get work; invalid input is ignored', () => {
    const ts = parseTraceState('a=1,b=2,c=3')!;
    assert.equal(ts.set('c', '9').serialize(), 'c=9,a=1,b=2');
    assert.equal(ts.set('new', 'x').serialize(), 'new=x,a=1,b=2,c=3');
    assert.equal(ts.unset('b').serialize(), 'a=1,c=3');
    assert.equal(ts.unset('zz'), ts);
    assert.equal(ts.get('b'), '2');
    assert.equal(ts.set('Bad', 'x'), ts);
    assert.equal(ts.set('k', 'a,b'), ts);
    let full = W3CTraceState.empty();
    for (let i = 0; i < 32; i++) full = full.set(`k${i}`, 'v');
    assert.equal(full.size, 32);
    assert.equal(full.set('one-more', 'v'), full);
  });

  it('a tracestate extracted by ours is injected unchanged by theirs', () => {
    const header = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';
    const ctx = ours.extract(
      ROOT_CONTEXT,
      { traceparent: VALID, tracestate: header },
      {
        get: (c: Record<string, string>, k) => c[k],
        keys: Object.keys,
      },
    );
    const sc = trace.getSpanContext(ctx);
    assert.equal(sc?.traceFlags, TraceFlags.SAMPLED);
    assert.equal(inject(theirs, ctx).tracestate, header);
  });
});

describe('W3C trace context over real node:http headers', () => {
  async function headersSent(raw: Record<string, string | string[]>): Promise<import('node:http').IncomingHttpHeaders> {
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
      res.end(JSON.stringify(req.headers));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      return await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/', headers: raw, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve(JSON.parse(body) as import('node:http').IncomingHttpHeaders));
        });
        req.on('error', reject);
        req.end();
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  it('combines repeated tracestate headers as Node joins them', async () => {
    const headers = await headersSent({ traceparent: VALID, tracestate: ['a=1,b=2', 'c=3'] });
    assert.equal(headers.tracestate, 'a=1,b=2, c=3');
    const sc = extractSpanContext(ours, headers as Record<string, string>);
    assert.equal(sc?.traceState?.serialize(), 'a=1,b=2,c=3');
    assertSameSpanContext(sc, extractSpanContext(theirs, headers as Record<string, string>));
  });

  it('ignores repeated traceparent headers', async () => {
    const other = `00-${'a'.repeat(32)}-${SPAN_ID}-01`;
    const headers = await headersSent({ traceparent: [VALID, other] });
    assert.equal(typeof headers.traceparent, 'string');
    assert.equal(extractSpanContext(ours, headers as Record<string, string>), undefined);
  });
});
