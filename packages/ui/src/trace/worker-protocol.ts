/** Messages between the trace pages and `trace-worker.ts`. */
import type { TraceModel } from './model.ts';

/** Load a trace from the API (`url` of the compact view) or from OTLP/JSON text. */
export type WorkerRequest =
  | { readonly id: number; readonly kind: 'fetch'; readonly url: string }
  | { readonly id: number; readonly kind: 'body'; readonly body: ArrayBuffer }
  | { readonly id: number; readonly kind: 'otlp'; readonly text: string };

/** The model, or what went wrong (the API's error code and hint when there was one). */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly model: TraceModel }
  | {
      readonly id: number;
      readonly ok: false;
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly hint: string;
    };

/** A failed load. */
export class TraceLoadError extends Error {
  override readonly name = 'TraceLoadError';
  readonly status: number;
  readonly code: string;
  readonly hint: string;
  constructor(status: number, code: string, message: string, hint: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (m: TraceModel) => void; reject: (e: TraceLoadError) => void }>();

function getWorker(): Worker {
  if (worker === undefined) {
    worker = new Worker(new URL('./trace-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const r = e.data;
      const p = pending.get(r.id);
      if (p === undefined) return;
      pending.delete(r.id);
      if (r.ok) p.resolve(r.model);
      else p.reject(new TraceLoadError(r.status, r.code, r.message, r.hint));
    };
  }
  return worker;
}

function ask(
  req: { kind: 'fetch'; url: string } | { kind: 'body'; body: ArrayBuffer } | { kind: 'otlp'; text: string },
): Promise<TraceModel> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    getWorker().postMessage({ ...req, id } as WorkerRequest, req.kind === 'body' ? [req.body] : []);
  });
}

/**
 * Loads a stored trace: the page fetches the compact view (the network and
 * the body's bytes stay off the main thread) while the worker starts, then
 * hands the bytes over without copying for parsing and model building.
 */
export async function loadTrace(traceId: string, options: { maxDetailedSpans?: number } = {}): Promise<TraceModel> {
  const max = options.maxDetailedSpans;
  const url = `/api/v1/traces/${encodeURIComponent(traceId)}?format=compact${max === undefined ? '' : `&maxDetailedSpans=${max}`}`;
  const request = fetch(url, { headers: { accept: 'application/json' } });
  getWorker();
  let res: Response;
  try {
    res = await request;
  } catch (e) {
    throw new TraceLoadError(
      0,
      'TL_UI_NETWORK',
      `could not reach the Traceloom server (${e instanceof Error ? e.message : String(e)})`,
      'Check that the server is running and reload the page.',
    );
  }
  if (!res.ok) throw errorOf(res.status, await res.text());
  return ask({ kind: 'body', body: await res.arrayBuffer() });
}

/** An API error body (`{"error":{code,message,hint}}`) or anything else as a {@link TraceLoadError}. */
function errorOf(status: number, text: string): TraceLoadError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; hint?: string } };
    if (body.error?.code !== undefined) {
      return new TraceLoadError(status, body.error.code, body.error.message ?? '', body.error.hint ?? '');
    }
  } catch {
    // Not an API error body: a proxy's page or another server.
  }
  return new TraceLoadError(
    status,
    'TL_UI_BAD_RESPONSE',
    `the server answered HTTP ${status}`,
    'Check that this page is served by a Traceloom server.',
  );
}

/** Decodes and assembles an OTLP/JSON file's text through the worker. */
export function loadOtlpText(text: string): Promise<TraceModel> {
  return ask({ kind: 'otlp', text });
}
