import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Baggage, BaggageEntry, Context } from '@opentelemetry/api';
import { baggageEntryMetadataFromString, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CBaggagePropagator as OtelBaggage, suppressTracing } from '@opentelemetry/core';
import { type Carrier, extract, inject } from './internal/testing.ts';
import { BAGGAGE_MAX_MEMBERS, percentDecode, W3CBaggagePropagator } from './w3c-baggage.ts';

const ours = new W3CBaggagePropagator();
const theirs = new OtelBaggage();

function withBaggage(entries: Record<string, BaggageEntry>): Context {
  return propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage(entries));
}

function entriesOf(b: Baggage | undefined): Record<string, { value: string; metadata?: string }> {
  const out: Record<string, { value: string; metadata?: string }> = {};
  for (const [k, e] of b?.getAllEntries() ?? []) {
    out[k] = e.metadata === undefined ? { value: e.value } : { value: e.value, metadata: e.metadata.toString() };
  }
  return out;
}

function extracted(p: W3CBaggagePropagator | OtelBaggage, carrier: Carrier) {
  return entriesOf(propagation.getBaggage(extract(p, carrier)));
}

const SAMPLES: Record<string, BaggageEntry>[] = [
  { userId: { value: 'alice' } },
  { a: { value: '1' }, b: { value: 'two words' }, c: { value: 'x,y;z=w' } },
  { unicode: { value: 'ünï 😀 日本' }, percent: { value: '100%' }, quote: { value: '"q" \\ back' } },
  { 'key with space': { value: 'v' }, 'k(paren)': { value: 'v2' }, é: { value: 'e' } },
  { withMeta: { value: 'v', metadata: baggageEntryMetadataFromString('prop1;prop2=x') } },
];

describe('W3C baggage interop with @opentelemetry/core', () => {
  it('inject with ours, extract with theirs', () => {
    for (const entries of SAMPLES) {
      const carrier = inject(ours, withBaggage(entries));
      assert.deepEqual(extracted(theirs, carrier), entriesOf(propagation.createBaggage(entries)), carrier.baggage);
    }
  });

  it('inject with theirs, extract with ours', () => {
    for (const entries of SAMPLES) {
      const carrier = inject(theirs, withBaggage(entries));
      assert.deepEqual(extracted(ours, carrier), entriesOf(propagation.createBaggage(entries)), carrier.baggage);
    }
  });

  it('extracts headers the same as the official propagator', () => {
    const headers = [
      'a=1',
      'a = 1 , b=2',
      'key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue',
      'a=%F0%9F%98%80,b=%20x%20',
      ['a=1', 'b=2'],
      'a=1,,b=2',
    ];
    for (const h of headers)
      assert.deepEqual(extracted(ours, { baggage: h }), extracted(theirs, { baggage: h }), String(h));
  });

  it('writes values a strict parser accepts: only baggage-octets', () => {
    const carrier = inject(ours, withBaggage(SAMPLES[2]!));
    for (const member of carrier.baggage!.split(',')) {
      assert.match(member, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/);
    }
    assert.equal(inject(ours, withBaggage({ plain: { value: 'a-b.c_d~e' } })).baggage, 'plain=a-b.c_d~e');
  });

  it('injects nothing when tracing is suppressed or there is no baggage', () => {
    assert.deepEqual(inject(ours, suppressTracing(withBaggage(SAMPLES[0]!))), {});
    assert.deepEqual(inject(ours, ROOT_CONTEXT), {});
    assert.deepEqual(inject(ours, withBaggage({})), {});
  });
});

describe('W3C baggage parsing and limits', () => {
  it('skips malformed members and keeps the rest', () => {
    const got = extracted(ours, { baggage: 'good=1,noequals,=novalue, bad key=x,k=v"q,ok=2,k;p=1' });
    assert.deepEqual(got, { good: { value: '1' }, ok: { value: '2' } });
  });

  it('keeps a member named __proto__ as an entry', () => {
    const b = propagation.getBaggage(extract(ours, { baggage: '__proto__=x,constructor=y' }));
    assert.equal(b?.getEntry('__proto__')?.value, 'x');
    assert.equal(b?.getEntry('constructor')?.value, 'y');
  });

  it('returns the context unchanged when nothing is valid', () => {
    assert.equal(extract(ours, { baggage: 'garbage' }), ROOT_CONTEXT);
    assert.equal(extract(ours, { baggage: '' }), ROOT_CONTEXT);
    assert.equal(extract(ours, {}), ROOT_CONTEXT);
  });

  it('keeps a leading U+FEFF, as decodeURIComponent (the official propagator) does', () => {
    assert.equal(percentDecode('%EF%BB%BFx'), '\uFEFFx');
    assert.equal(percentDecode('%EF%BB%BFx'), decodeURIComponent('%EF%BB%BFx'));
  });

  it('replaces invalid UTF-8 with U+FFFD and keeps a stray %', () => {
    assert.equal(percentDecode('%FFa'), '\ufffda');
    assert.equal(percentDecode('50%'), '50%');
    assert.equal(percentDecode('%zz%4'), '%zz%4');
    assert.equal(percentDecode('%e6%97%a5'), '日');
    assert.deepEqual(extracted(ours, { baggage: 'k=%C3' }), { k: { value: '\ufffd' } });
  });

  it('stops at 180 members', () => {
    const header = Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',');
    const got = extracted(ours, { baggage: header });
    assert.equal(Object.keys(got).length, BAGGAGE_MAX_MEMBERS);
    assert.equal(Object.keys(got).length, Object.keys(extracted(theirs, { baggage: header })).length);
  });

  it('skips members over 4096 bytes and stops at 8192 bytes', () => {
    const big = `big=${'x'.repeat(4100)}`;
    assert.deepEqual(extracted(ours, { baggage: `${big},a=1` }), { a: { value: '1' } });
    const members = Array.from({ length: 5 }, (_, i) => `k${i}=${'v'.repeat(2000)}`);
    const got = extracted(ours, { baggage: members.join(',') });
    assert.deepEqual(Object.keys(got), ['k0', 'k1', 'k2', 'k3']);
    assert.deepEqual(Object.keys(got), Object.keys(extracted(theirs, { baggage: members.join(',') })));
  });

  it('limits what it injects the same way', () => {
    const entries: Record<string, BaggageEntry> = {};
    for (let i = 0; i < 5; i++) entries[`k${i}`] = { value: 'v'.repeat(2000) };
    entries.huge = { value: 'x'.repeat(5000) };
    entries.small = { value: 's' };
    const header = inject(ours, withBaggage(entries)).baggage!;
    assert.ok(header.length <= 8192);
    assert.ok(!header.includes('huge='));
    assert.ok(header.includes('small=s'));
    const many: Record<string, BaggageEntry> = {};
    for (let i = 0; i < 250; i++) many[`k${i}`] = { value: 'v' };
    assert.equal(inject(ours, withBaggage(many)).baggage!.split(',').length, BAGGAGE_MAX_MEMBERS);
  });

  it('drops metadata that would break the header', () => {
    const bad = baggageEntryMetadataFromString('p=1,q=2\n');
    assert.equal(inject(ours, withBaggage({ k: { value: 'v', metadata: bad } })).baggage, 'k=v');
  });

  it('skips entries that cannot be encoded (lone surrogates) instead of throwing', () => {
    const header = inject(ours, withBaggage({ bad: { value: '\ud800' }, ok: { value: '1' } })).baggage;
    assert.equal(header, 'ok=1');
  });
});
