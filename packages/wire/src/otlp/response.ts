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

export function encodeExportTraceResponse(_r: ExportTraceServiceResponse): Uint8Array {
  throw new Error('not implemented');
}
export function decodeExportTraceResponse(_buf: Uint8Array): ExportTraceServiceResponse {
  throw new Error('not implemented');
}
export function encodeExportTraceResponseJson(_r: ExportTraceServiceResponse): string {
  throw new Error('not implemented');
}
export function encodeRpcStatus(_s: RpcStatus): Uint8Array {
  throw new Error('not implemented');
}
export function decodeRpcStatus(_buf: Uint8Array): RpcStatus {
  throw new Error('not implemented');
}
export function encodeRpcStatusJson(_s: RpcStatus): string {
  throw new Error('not implemented');
}
