import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip-address.ts';

describe('IPv4 text', () => {
  it('parses dotted quads and formats them back', () => {
    assert.deepEqual(parseIpv4('192.168.99.1'), Uint8Array.of(192, 168, 99, 1));
    assert.deepEqual(parseIpv4('0.0.0.0'), Uint8Array.of(0, 0, 0, 0));
    assert.equal(formatIpv4(Uint8Array.of(10, 0, 255, 7)), '10.0.255.7');
  });

  it('refuses what is not a dotted quad', () => {
    for (const s of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1..3.4',
      '1.2.3.4.',
      'a.b.c.d',
      '::1',
      ' 1.2.3.4',
    ]) {
      assert.equal(parseIpv4(s), undefined, s);
    }
  });
});

describe('IPv6 text', () => {
  it('writes RFC 5952 text', () => {
    const b = (s: string) => parseIpv6(s) as Uint8Array;
    assert.equal(formatIpv6(b('2001:0db8:0000:0000:0000:0000:0000:c001')), '2001:db8::c001');
    assert.equal(formatIpv6(b('0:0:0:0:0:0:0:1')), '::1');
    assert.equal(formatIpv6(b('0:0:0:0:0:0:0:0')), '::');
    assert.equal(formatIpv6(b('1:0:0:2:0:0:0:3')), '1:0:0:2::3', 'the longest zero run is shortened');
    assert.equal(formatIpv6(b('1:0:0:2:3:0:0:4')), '1::2:3:0:0:4', 'the first of equal runs is shortened');
    assert.equal(formatIpv6(b('1:0:2:3:4:5:6:7')), '1:0:2:3:4:5:6:7', 'a single zero group stays');
    assert.equal(formatIpv6(b('::ffff:10.1.2.3')), '::ffff:10.1.2.3', 'IPv4-mapped keeps its dotted tail');
    assert.equal(formatIpv6(b('FE80::ABCD')), 'fe80::abcd');
  });

  it('parses every RFC 4291 text form', () => {
    assert.deepEqual(parseIpv6('::'), new Uint8Array(16));
    assert.deepEqual(parseIpv6('1::'), Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(parseIpv6('::2:3.4.5.6'), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 4, 5, 6));
    assert.deepEqual(parseIpv6('1:2:3:4:5:6:7:8')?.[15], 8);
  });

  it('refuses what is not an IPv6 address', () => {
    const bad = [
      '',
      ':',
      ':::',
      '1:2',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4::5:6:7:8',
      '12345::',
      '1:',
      ':1',
      'fe80::1%eth0',
      '::1.2.3',
      '::256.0.0.1',
      'g::1',
      '1.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
    ];
    for (const s of bad) assert.equal(parseIpv6(s), undefined, s);
  });

  it('parse(format(bytes)) gives the bytes back, for any 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        assert.deepEqual(parseIpv6(formatIpv6(bytes)), bytes);
      }),
    );
  });

  it('parse(format(bytes)) gives the bytes back, for any 4 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        assert.deepEqual(parseIpv4(formatIpv4(bytes)), bytes);
      }),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%x ') }), (s) => {
        const v6 = parseIpv6(s);
        if (v6 !== undefined) assert.equal(v6.length, 16);
        const v4 = parseIpv4(s);
        if (v4 !== undefined) assert.equal(v4.length, 4);
      }),
      { numRuns: 2000 },
    );
  });
});
