/**
 * The speed-ups in the codec primitives (ASCII string building, the UTF-8
 * interning cache, reserved-length sub-messages, optimistic ASCII string
 * fields, bigint fast paths) must give exactly what the plain paths give.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProtoReader } from './proto-reader.ts';
import { ProtoWriter } from './proto-writer.ts';
import { readUtf8, Utf8Cache } from './utf8.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

describe('readUtf8', () => {
  it('matches TextDecoder on ASCII of every length around the fast-path limits', () => {
    for (let n = 0; n <= 300; n++) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');
      const bytes = encoder.encode(`xx${s}yy`);
      assert.equal(readUtf8(bytes, 2, 2 + n), s);
    }
  });

  it('matches TextDecoder on random bytes, valid UTF-8 or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % bytes.length;
        const end = start + (b % (bytes.length - start + 1));
        assert.equal(readUtf8(bytes, start, end), decoder.decode(bytes.subarray(start, end)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Utf8Cache', () => {
  it('returns what readUtf8 returns, through hits, misses and evictions', () => {
    // Four slots: nearly every lookup collides with another string.
    const cache = new Utf8Cache(4, 12);
    const words = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.constantFrom('GET', 'POST', 'abcd', 'abce'),
    );
    fc.assert(
      fc.property(fc.array(words, { maxLength: 40 }), (list) => {
        for (const w of list) {
          const bytes = encoder.encode(`::${w}::`);
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          assert.equal(cache.read(bytes, view, 2, bytes.length - 2), w);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('tells apart strings that share their first, middle and last bytes', () => {
    const cache = new Utf8Cache(1024, 60);
    const a = encoder.encode('aaaaXbbbbYccccZdddd');
    const b = encoder.encode('aaaaQbbbbYccccRdddd');
    for (let i = 0; i < 3; i++) {
      assert.equal(cache.read(a, new DataView(a.buffer), 0, a.length), 'aaaaXbbbbYccccZdddd');
      assert.equal(cache.read(b, new DataView(b.buffer), 0, b.length), 'aaaaQbbbbYccccRdddd');
    }
  });
});

describe('ProtoWriter fast paths', () => {
  it('stringField writes what ProtoReader.string reads, for every length class and any text', () => {
    const lengths = [0, 1, 42, 43, 127, 128, 200, 16383, 16384, 20000];
    const texts = lengths.flatMap((n) => ['a'.repeat(n), `${'a'.repeat(Math.max(0, n - 1))}é`, `é${'a'.repeat(n)}`]);
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...texts), fc.string({ unit: 'binary', maxLength: 300 })), (s) => {
        const w = new ProtoWriter(16);
        w.stringField(3, s);
        w.stringField(4, 'end');
        const r = new ProtoReader(w.finish());
        assert.equal(r.tag(), (3 << 3) | 2);
        assert.equal(r.string(), s);
        assert.equal(r.tag(), (4 << 3) | 2);
        assert.equal(r.string(), 'end');
        assert.equal(r.pos, r.end);
      }),
      { numRuns: 500 },
    );
  });

  it('forkReserved/joinReserved write canonical lengths whatever the body size', () => {
    for (const reserve of [1, 2, 3, 4, 5]) {
      for (const size of [0, 1, 127, 128, 300, 16383, 16384, 2097151, 2097152]) {
        const w = new ProtoWriter(64);
        const mark = w.forkReserved(2, reserve);
        w.ensure(size);
        w.buf.fill(0x5a, w.pos, w.pos + size);
        w.pos += size;
        w.joinReserved(mark, reserve);
        w.stringField(1, 'after');
        const bytes = w.finish();
        let varint = 1;
        for (let v = size >>> 7; v > 0; v >>>= 7) varint++;
        assert.equal(bytes.length, 1 + varint + size + 7, `reserve ${reserve}, size ${size}`);
        const r = new ProtoReader(bytes);
        assert.equal(r.tag(), (2 << 3) | 2);
        const end = r.lengthEnd();
        assert.equal(end - r.pos, size);
        assert.ok(bytes.subarray(r.pos, end).every((b) => b === 0x5a));
        r.pos = end;
        r.tag();
        assert.equal(r.string(), 'after');
      }
    }
  });

  it('int64 and fixed64 round-trip the full range', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (i, u) => {
          const w = new ProtoWriter(8);
          w.int64(i);
          w.fixed64(u);
          w.fixed64(i);
          const r = new ProtoReader(w.finish());
          assert.equal(r.int64(), i);
          assert.equal(r.fixed64(), u);
          assert.equal(r.sfixed64(), i);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
