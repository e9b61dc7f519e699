/**
 * The answers of an OTLP trace receiver: `ExportTraceServiceResponse`
 * (opentelemetry-proto `collector/trace/v1/trace_service.proto`) and, for
 * failures, `google.rpc.Status` (googleapis `google/rpc/status.proto`), in
 * protobuf and in JSON (OTLP specification, "OTLP/HTTP Response").
 */

import { encodeBase64 } from '@traceloom/model';
import { ProtoReader } from '../internal/proto-reader.ts';
import { ProtoWriter } from '../internal/proto-writer.ts';

/** OTLP `ExportTracePartialSuccess`: spans the server rejected and why. */
export interface ExportTracePartialSuccess {
  readonly rejectedSpans: bigint;
  readonly errorMessage: string;
}

/** OTLP `ExportTraceServiceResponse`. `partialSuccess` absent means full success. */
export interface ExportTraceServiceResponse {
  readonly partialSuccess?: ExportTracePartialSuccess;
}

/** `google.rpc.Status`. `details` are kept as raw `google.protobuf.Any` bytes. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly details?: readonly { readonly typeUrl: string; readonly value: Uint8Array }[];
}

const VARINT = 0;
const LEN = 2;

/**
 * Encodes an `ExportTraceServiceResponse`. A present `partialSuccess` is
 * written even when it holds only defaults (message fields have presence);
 * a full success is the empty message.
 *
 * @example
 * res.end(encodeExportTraceResponse({ partialSuccess: { rejectedSpans: 2n, errorMessage: 'invalid trace id' } }));
 */
export function encodeExportTraceResponse(r: ExportTraceServiceResponse): Uint8Array {
  const w = new ProtoWriter(64);
  const p = r.partialSuccess;
  if (p !== undefined) {
    const m = w.fork(1);
    if (p.rejectedSpans !== 0n) {
      w.tag(1, VARINT);
      w.int64(p.rejectedSpans);
    }
    if (p.errorMessage !== '') w.stringField(2, p.errorMessage);
    w.join(m);
  }
  return w.finish();
}

/**
 * Decodes an `ExportTraceServiceResponse` (what an OTLP exporter reads back).
 * Throws {@link WireDecodeError} on bad input; unknown fields are skipped.
 */
export function decodeExportTraceResponse(buf: Uint8Array): ExportTraceServiceResponse {
  const r = new ProtoReader(buf);
  let partialSuccess: ExportTracePartialSuccess | undefined;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === ((1 << 3) | LEN)) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      // A repeated singular message merges into the earlier one (protobuf encoding spec, "Last One Wins").
      let rejectedSpans = partialSuccess?.rejectedSpans ?? 0n;
      let errorMessage = partialSuccess?.errorMessage ?? '';
      while (r.pos < r.end) {
        const u = r.tag();
        if (u === ((1 << 3) | VARINT)) rejectedSpans = r.int64();
        else if (u === ((2 << 3) | LEN)) errorMessage = r.string();
        else if (u >>> 3 === 1) r.wrongType('ExportTracePartialSuccess.rejected_spans', u, VARINT);
        else if (u >>> 3 === 2) r.wrongType('ExportTracePartialSuccess.error_message', u, LEN);
        else r.skip(u & 7);
      }
      r.end = outer;
      partialSuccess = { rejectedSpans, errorMessage };
    } else if (t >>> 3 === 1) r.wrongType('ExportTraceServiceResponse.partial_success', t, LEN);
    else r.skip(t & 7);
  }
  return partialSuccess === undefined ? {} : { partialSuccess };
}

/**
 * Encodes an `ExportTraceServiceResponse` as OTLP/JSON:
 * `{}` for full success, else
 * `{"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}`
 * (int64 as a decimal string; default members left out).
 */
export function encodeExportTraceResponseJson(r: ExportTraceServiceResponse): string {
  const p = r.partialSuccess;
  if (p === undefined) return '{}';
  const parts: string[] = [];
  if (p.rejectedSpans !== 0n) parts.push(`"rejectedSpans":"${p.rejectedSpans}"`);
  if (p.errorMessage !== '') parts.push(`"errorMessage":${JSON.stringify(p.errorMessage)}`);
  return `{"partialSuccess":{${parts.join(',')}}}`;
}

/**
 * Encodes a `google.rpc.Status`, the body of an OTLP/HTTP error response and
 * the `grpc-status-details-bin` trailer.
 */
export function encodeRpcStatus(s: RpcStatus): Uint8Array {
  const w = new ProtoWriter(64);
  if (s.code !== 0) {
    w.tag(1, VARINT);
    w.int32(s.code);
  }
  if (s.message !== '') w.stringField(2, s.message);
  const details = s.details ?? [];
  for (const d of details) {
    const m = w.fork(3);
    if (d.typeUrl !== '') w.stringField(1, d.typeUrl);
    if (d.value.length > 0) w.bytesField(2, d.value);
    w.join(m);
  }
  return w.finish();
}

/**
 * Decodes a `google.rpc.Status`; `details` is always present (possibly
 * empty), each entry a `google.protobuf.Any` with its raw bytes. Throws
 * {@link WireDecodeError} on bad input; unknown fields are skipped.
 */
export function decodeRpcStatus(buf: Uint8Array): RpcStatus {
  const r = new ProtoReader(buf);
  let code = 0;
  let message = '';
  const details: { typeUrl: string; value: Uint8Array }[] = [];
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === ((1 << 3) | VARINT)) code = r.int32();
    else if (t === ((2 << 3) | LEN)) message = r.string();
    else if (t === ((3 << 3) | LEN)) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      let typeUrl = '';
      let value: Uint8Array = new Uint8Array(0);
      while (r.pos < r.end) {
        const u = r.tag();
        if (u === ((1 << 3) | LEN)) typeUrl = r.string();
        else if (u === ((2 << 3) | LEN)) value = r.bytes();
        else if (u >>> 3 === 1) r.wrongType('google.protobuf.Any.type_url', u, LEN);
        else if (u >>> 3 === 2) r.wrongType('google.protobuf.Any.value', u, LEN);
        else r.skip(u & 7);
      }
      r.end = outer;
      details.push({ typeUrl, value });
    } else if (t >>> 3 === 1) r.wrongType('google.rpc.Status.code', t, VARINT);
    else if (t >>> 3 === 2) r.wrongType('google.rpc.Status.message', t, LEN);
    else if (t >>> 3 === 3) r.wrongType('google.rpc.Status.details', t, LEN);
    else r.skip(t & 7);
  }
  return { code, message, details };
}

/**
 * Encodes a `google.rpc.Status` as JSON: `{"code":3,"message":"...","details":[]}`,
 * every member always present. A detail is written as
 * `{"@type":"<type url>","value":"<base64>"}`: without the message type at
 * hand its fields cannot be spelled out, so the bytes travel as they are.
 */
export function encodeRpcStatusJson(s: RpcStatus): string {
  const details = (s.details ?? []).map(
    (d) => `{"@type":${JSON.stringify(d.typeUrl)},"value":"${encodeBase64(d.value)}"}`,
  );
  return `{"code":${s.code | 0},"message":${JSON.stringify(s.message)},"details":[${details.join(',')}]}`;
}
