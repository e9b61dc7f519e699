import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WireErrorCode } from '../errors.ts';
import { ProtoWriter } from '../internal/proto-writer.ts';
import { decodesOrRejects, rejects } from './fixtures/assert.ts';
import {
  decodeExportTraceResponse,
  decodeRpcStatus,
  encodeExportTraceResponse,
  encodeExportTraceResponseJson,
  encodeRpcStatus,
  encodeRpcStatusJson,
  type RpcStatus,
} from './response.ts';

describe('ExportTraceServiceResponse', () => {
  it('encodes full success as the empty message and {}', () => {
    assert.deepEqual(encodeExportTraceResponse({}), new Uint8Array(0));
    assert.equal(encodeExportTraceResponseJson({}), '{}');
    assert.deepEqual(decodeExportTraceResponse(new Uint8Array(0)), {});
  });

  it('encodes a partial success with the published field numbers', () => {
    const bytes = encodeExportTraceResponse({ partialSuccess: { rejectedSpans: 3n, errorMessage: 'bad' } });
    // partial_success (1, LEN) { rejected_spans (1, varint) = 3, error_message (2, LEN) = "bad" }
    assert.deepEqual(bytes, new Uint8Array([0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64]));
    assert.deepEqual(decodeExportTraceResponse(bytes), {
      partialSuccess: { rejectedSpans: 3n, errorMessage: 'bad' },
    });
  });

  it('keeps a present but empty partial success (message presence)', () => {
    const bytes = encodeExportTraceResponse({ partialSuccess: { rejectedSpans: 0n, errorMessage: '' } });
    assert.deepEqual(bytes, new Uint8Array([0x0a, 0x00]));
    assert.deepEqual(decodeExportTraceResponse(bytes), { partialSuccess: { rejectedSpans: 0n, errorMessage: '' } });
    assert.equal(
      encodeExportTraceResponseJson({ partialSuccess: { rejectedSpans: 0n, errorMessage: '' } }),
      '{"partialSuccess":{}}',
    );
  });

  it('writes JSON with int64 as a string and escaped messages', () => {
    assert.equal(
      encodeExportTraceResponseJson({ partialSuccess: { rejectedSpans: 3n, errorMessage: 'span "x" is bad' } }),
      '{"partialSuccess":{"rejectedSpans":"3","errorMessage":"span \\"x\\" is bad"}}',
    );
    assert.equal(
      encodeExportTraceResponseJson({ partialSuccess: { rejectedSpans: 2n ** 63n - 1n, errorMessage: '' } }),
      '{"partialSuccess":{"rejectedSpans":"9223372036854775807"}}',
    );
  });

  it('round-trips random responses', () => {
    fc.assert(
      fc.property(
        fc.option(
          fc
            .record({
              rejectedSpans: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
              errorMessage: fc.string({ unit: 'binary' }),
            })
            // fast-check records have a null prototype; deepEqual compares prototypes.
            .map((p) => ({ ...p })),
          { nil: undefined },
        ),
        (partialSuccess) => {
          const r = partialSuccess === undefined ? {} : { partialSuccess };
          assert.deepEqual(decodeExportTraceResponse(encodeExportTraceResponse(r)), r);
          const json = JSON.parse(encodeExportTraceResponseJson(r));
          if (partialSuccess === undefined) assert.deepEqual(json, {});
          else {
            assert.equal(BigInt(json.partialSuccess.rejectedSpans ?? '0'), partialSuccess.rejectedSpans);
            assert.equal(json.partialSuccess.errorMessage ?? '', partialSuccess.errorMessage);
          }
        },
      ),
    );
  });

  it('skips unknown fields and rejects wrong wire types', () => {
    const w = new ProtoWriter();
    w.tag(7, 0);
    w.uint(1);
    const m = w.fork(1);
    w.stringField(9, 'future');
    w.tag(1, 0);
    w.uint(5);
    w.join(m);
    assert.deepEqual(decodeExportTraceResponse(w.finish()), {
      partialSuccess: { rejectedSpans: 5n, errorMessage: '' },
    });
    rejects(
      () => decodeExportTraceResponse(new Uint8Array([0x08, 0x01])),
      WireErrorCode.BAD_WIRE_TYPE,
      /partial_success/,
    );
    rejects(() => decodeExportTraceResponse(new Uint8Array([0x0a, 0x02, 0x12, 0x05])), WireErrorCode.TRUNCATED);
    rejects(
      () => decodeExportTraceResponse(new Uint8Array([0x0a, 0x02, 0x0a, 0x00])),
      WireErrorCode.BAD_WIRE_TYPE,
      /rejected_spans/,
    );
  });

  it('random and mutated bytes decode or throw WireDecodeError', () => {
    const valid = encodeExportTraceResponse({ partialSuccess: { rejectedSpans: 300n, errorMessage: 'some spans' } });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(255), (bytes, at, byte) => {
        decodesOrRejects(() => decodeExportTraceResponse(bytes));
        const m = Uint8Array.from(valid);
        m[at % m.length] = byte;
        decodesOrRejects(() => decodeExportTraceResponse(m));
        decodesOrRejects(() => decodeExportTraceResponse(valid.subarray(0, at % valid.length)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('google.rpc.Status', () => {
  const status: RpcStatus = {
    code: 3,
    message: 'bad',
    details: [{ typeUrl: 't', value: new Uint8Array([1, 2]) }],
  };

  it('encodes with the published field numbers', () => {
    // code (1, varint) = 3, message (2, LEN) = "bad", details (3, LEN) Any { type_url (1) = "t", value (2) = [1, 2] }
    assert.deepEqual(
      encodeRpcStatus(status),
      new Uint8Array([0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64, 0x1a, 0x07, 0x0a, 0x01, 0x74, 0x12, 0x02, 0x01, 0x02]),
    );
    assert.deepEqual(decodeRpcStatus(encodeRpcStatus(status)), status);
    assert.deepEqual(encodeRpcStatus({ code: 0, message: '' }), new Uint8Array(0));
    assert.deepEqual(decodeRpcStatus(new Uint8Array(0)), { code: 0, message: '', details: [] });
  });

  it('writes negative codes as sign-extended varints', () => {
    const bytes = encodeRpcStatus({ code: -1, message: '' });
    assert.equal(bytes.length, 11);
    assert.equal(decodeRpcStatus(bytes).code, -1);
  });

  it('writes JSON with every member', () => {
    assert.equal(
      encodeRpcStatusJson({ code: 3, message: 'bad "input"' }),
      '{"code":3,"message":"bad \\"input\\"","details":[]}',
    );
    assert.equal(encodeRpcStatusJson(status), '{"code":3,"message":"bad","details":[{"@type":"t","value":"AQI="}]}');
  });

  it('round-trips random statuses', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        fc.string({ unit: 'binary' }),
        fc.array(
          fc
            .record({ typeUrl: fc.string({ unit: 'binary' }), value: fc.uint8Array({ maxLength: 20 }) })
            .map((d) => ({ ...d })),
          { maxLength: 3 },
        ),
        (code, message, details) => {
          const s = { code, message, details };
          assert.deepEqual(decodeRpcStatus(encodeRpcStatus(s)), s);
          const json = JSON.parse(encodeRpcStatusJson(s));
          assert.equal(json.code, code);
          assert.equal(json.message, message);
          assert.equal(json.details.length, details.length);
        },
      ),
    );
  });

  it('rejects wrong wire types and random or mutated bytes cleanly', () => {
    rejects(() => decodeRpcStatus(new Uint8Array([0x0a, 0x00])), WireErrorCode.BAD_WIRE_TYPE, /Status\.code/);
    rejects(() => decodeRpcStatus(new Uint8Array([0x1a, 0x02, 0x08, 0x00])), WireErrorCode.BAD_WIRE_TYPE, /type_url/);
    const valid = encodeRpcStatus(status);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(255), (bytes, at, byte) => {
        decodesOrRejects(() => decodeRpcStatus(bytes));
        const m = Uint8Array.from(valid);
        m[at % m.length] = byte;
        decodesOrRejects(() => decodeRpcStatus(m));
        decodesOrRejects(() => decodeRpcStatus(valid.subarray(0, at % valid.length)));
      }),
      { numRuns: 2000 },
    );
  });
});
