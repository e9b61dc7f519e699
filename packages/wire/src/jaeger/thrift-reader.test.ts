import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWireDecodeError, WireErrorCode } from '../errors.ts';
import { ThriftWriter } from './fixtures/thrift-builder.ts';
import { MAX_THRIFT_DEPTH, ThriftReader, ThriftType, thriftTypeName } from './thrift-reader.ts';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(isWireDecodeError(e), String(e));
    return e.code;
  }
  return 'none';
}

const reader = (w: ThriftWriter): ThriftReader => new ThriftReader(w.toBytes());

describe('ThriftReader', () => {
  it('reads field headers, big-endian ids included, and STOP', () => {
    const r = reader(new ThriftWriter().field(ThriftType.I64, 300).field(ThriftType.BOOL, -2).stop());
    assert.equal(r.fieldHeader(), ThriftType.I64);
    assert.equal(r.fieldId, 300);
    assert.equal(r.fieldHeader(), ThriftType.BOOL);
    assert.equal(r.fieldId, -2);
    assert.equal(r.fieldHeader(), ThriftType.STOP);
    assert.equal(r.pos, 7);
    assert.equal(
      codeOf(() => r.fieldHeader()),
      WireErrorCode.TRUNCATED,
    );
    assert.equal(
      codeOf(() => new ThriftReader(Uint8Array.of(11, 0)).fieldHeader()),
      WireErrorCode.TRUNCATED,
    );
  });

  it('reads scalars big-endian', () => {
    const w = new ThriftWriter()
      .bool(true)
      .byte(7)
      .i32(-5)
      .double(-2.5)
      .i64(-3n)
      .i64(2n ** 63n + 5n);
    const r = reader(w);
    assert.equal(r.bool(), true);
    // Any non-zero byte is true.
    assert.equal(r.bool(), true);
    assert.equal(r.i32(), -5);
    assert.equal(r.double(), -2.5);
    const a = r.i64Pos();
    const b = r.i64Pos();
    assert.equal(r.i64At(a), -3n);
    assert.equal(r.hexAt(a), 'fffffffffffffffd');
    assert.equal(r.i64At(b), -(2n ** 63n) + 5n);
    assert.equal(r.hexAt(b), '8000000000000005');
    assert.equal(r.isZeroAt(a), false);
    assert.equal(
      codeOf(() => r.bool()),
      WireErrorCode.TRUNCATED,
    );
  });

  it('reads i64 exactly on both sides of 2^53', () => {
    for (const v of [
      0n,
      1n,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 53n + 1n,
      2n ** 63n - 1n,
      -1n,
      -(2n ** 63n),
      -(2n ** 32n),
    ]) {
      const r = reader(new ThriftWriter().i64(v));
      assert.equal(r.i64At(r.i64Pos()), v);
    }
  });

  it('checks string lengths against the bytes left', () => {
    const r = reader(new ThriftWriter().string('héllo'));
    assert.equal(r.string(), 'héllo');
    assert.equal(r.pos, 10);
    assert.equal(
      codeOf(() => reader(new ThriftWriter().i32(4).raw([1, 2, 3])).string()),
      WireErrorCode.BAD_LENGTH,
    );
    assert.equal(
      codeOf(() => reader(new ThriftWriter().i32(-1)).string()),
      WireErrorCode.BAD_LENGTH,
    );
    assert.equal(
      codeOf(() => reader(new ThriftWriter().raw([0, 0])).string()),
      WireErrorCode.TRUNCATED,
    );
  });

  it('checks list counts by the smallest size of their element type', () => {
    const sizes: [number, number][] = [
      [ThriftType.BOOL, 1],
      [ThriftType.BYTE, 1],
      [ThriftType.DOUBLE, 8],
      [ThriftType.I16, 2],
      [ThriftType.I32, 4],
      [ThriftType.I64, 8],
      [ThriftType.STRING, 4],
      [ThriftType.STRUCT, 1],
      [ThriftType.MAP, 6],
      [ThriftType.SET, 5],
      [ThriftType.LIST, 5],
    ];
    for (const [type, min] of sizes) {
      const fits = reader(new ThriftWriter().list(type, 3).raw(new Uint8Array(3 * min)));
      assert.equal(fits.listHeader(type, 'x'), 3, thriftTypeName(type));
      const short = reader(new ThriftWriter().list(type, 3).raw(new Uint8Array(3 * min - 1)));
      assert.equal(
        codeOf(() => short.listHeader(type, 'x')),
        WireErrorCode.BAD_LENGTH,
        thriftTypeName(type),
      );
    }
  });

  it('lets an empty list declare any valid element type, but not a non-empty one', () => {
    assert.equal(reader(new ThriftWriter().list(ThriftType.I32, 0)).listHeader(ThriftType.STRUCT, 'x'), 0);
    assert.equal(
      codeOf(() => reader(new ThriftWriter().list(ThriftType.I32, 1).i32(0)).listHeader(ThriftType.STRUCT, 'x')),
      WireErrorCode.BAD_THRIFT_TYPE,
    );
    assert.equal(
      codeOf(() => reader(new ThriftWriter().list(9, 0)).listHeader(ThriftType.STRUCT, 'x')),
      WireErrorCode.BAD_THRIFT_TYPE,
    );
  });

  it('skips every type by exactly its encoded size', () => {
    const cases: [number, ThriftWriter][] = [
      [ThriftType.BOOL, new ThriftWriter().bool(false)],
      [ThriftType.BYTE, new ThriftWriter().byte(1)],
      [ThriftType.DOUBLE, new ThriftWriter().double(1)],
      [ThriftType.I16, new ThriftWriter().i16(1)],
      [ThriftType.I32, new ThriftWriter().i32(1)],
      [ThriftType.I64, new ThriftWriter().i64(1n)],
      [ThriftType.STRING, new ThriftWriter().string('abc')],
      [
        ThriftType.STRUCT,
        new ThriftWriter().field(ThriftType.STRING, 1).string('x').field(ThriftType.I32, 2).i32(1).stop(),
      ],
      [
        ThriftType.MAP,
        new ThriftWriter()
          .map(ThriftType.STRING, ThriftType.SET, 2)
          .string('a')
          .list(ThriftType.I16, 1)
          .i16(1)
          .string('b'),
      ],
      [ThriftType.SET, new ThriftWriter().list(ThriftType.DOUBLE, 2).double(1).double(2)],
      [
        ThriftType.LIST,
        new ThriftWriter().list(ThriftType.STRUCT, 2).stop().field(ThriftType.BOOL, 1).bool(true).stop(),
      ],
    ];
    for (const [type, w] of cases) {
      // The map case is one entry short of its declared two: finish it.
      if (type === ThriftType.MAP) w.list(ThriftType.I16, 0);
      const bytes = w.raw([0xee]).toBytes();
      const r = new ThriftReader(bytes);
      r.skip(type, 1);
      assert.equal(r.pos, bytes.length - 1, thriftTypeName(type));
    }
  });

  it('rejects type ids that are not value types, when skipping and in headers', () => {
    for (const t of [0, 1, 5, 7, 9, 16, 17, 200]) {
      assert.equal(
        codeOf(() => new ThriftReader(new Uint8Array(16)).skip(t, 1)),
        WireErrorCode.BAD_THRIFT_TYPE,
      );
    }
    assert.equal(
      codeOf(() => reader(new ThriftWriter().map(ThriftType.I32, 1, 0)).skip(ThriftType.MAP, 1)),
      WireErrorCode.BAD_THRIFT_TYPE,
    );
    assert.equal(
      codeOf(() => reader(new ThriftWriter().raw([7, 0, 1])).fieldHeader()),
      WireErrorCode.BAD_THRIFT_TYPE,
    );
  });

  it(`stops at ${MAX_THRIFT_DEPTH} levels of nesting`, () => {
    const struct = (): ThriftReader => reader(new ThriftWriter().stop());
    const ok = struct();
    ok.skip(ThriftType.STRUCT, MAX_THRIFT_DEPTH);
    assert.equal(ok.pos, 1);
    assert.equal(
      codeOf(() => struct().skip(ThriftType.STRUCT, MAX_THRIFT_DEPTH + 1)),
      WireErrorCode.TOO_DEEP,
    );
    const list = (): ThriftReader => reader(new ThriftWriter().list(ThriftType.I32, 0));
    assert.equal(
      codeOf(() => list().skip(ThriftType.LIST, MAX_THRIFT_DEPTH + 1)),
      WireErrorCode.TOO_DEEP,
    );
    const map = (): ThriftReader => reader(new ThriftWriter().map(ThriftType.I32, ThriftType.I32, 0));
    assert.equal(
      codeOf(() => map().skip(ThriftType.MAP, MAX_THRIFT_DEPTH + 1)),
      WireErrorCode.TOO_DEEP,
    );
  });

  it('reports the offset of the failing value', () => {
    const r = reader(new ThriftWriter().i32(1).raw([0, 0, 0]));
    r.i32();
    try {
      r.i32();
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(isWireDecodeError(e));
      assert.equal(e.offset, 4);
      assert.match(e.message, /i32 at byte 4/);
    }
  });
});
