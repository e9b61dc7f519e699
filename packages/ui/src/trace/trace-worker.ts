/**
 * The trace page's Web Worker: fetches and parses the compact trace view (or
 * decodes and assembles an OTLP/JSON file) and builds the typed-array model,
 * so that a 100,000-span trace never blocks the page's main thread; the
 * arrays move to the page without copying.
 */
import { compactFromOtlpJson } from './compact-from-otlp.ts';
import { modelFromCompact, transferables } from './model.ts';
import type { TraceCompactJson } from './trace-json.ts';
import type { WorkerReply, WorkerRequest } from './worker-protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

function reply(r: WorkerReply, transfer: Transferable[] = []): void {
  scope.postMessage(r, transfer);
}

async function load(req: WorkerRequest): Promise<void> {
  let compact: TraceCompactJson;
  if (req.kind === 'fetch') {
    let res: Response;
    try {
      res = await fetch(req.url, { headers: { accept: 'application/json' } });
    } catch (e) {
      reply({
        id: req.id,
        ok: false,
        status: 0,
        code: 'TL_UI_NETWORK',
        message: `could not reach the Traceloom server (${e instanceof Error ? e.message : String(e)})`,
        hint: 'Check that the server is running and reload the page.',
      });
      return;
    }
    const text = await res.text();
    if (!res.ok) {
      let code = 'TL_UI_BAD_RESPONSE';
      let message = `the server answered HTTP ${res.status}`;
      let hint = '';
      try {
        const body = JSON.parse(text) as { error?: { code?: string; message?: string; hint?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
        hint = body.error?.hint ?? '';
      } catch {
        // Not an API error body.
      }
      reply({ id: req.id, ok: false, status: res.status, code, message, hint });
      return;
    }
    compact = JSON.parse(text) as TraceCompactJson;
  } else if (req.kind === 'body') {
    compact = JSON.parse(new TextDecoder().decode(req.body)) as TraceCompactJson;
  } else {
    try {
      compact = compactFromOtlpJson(req.text);
    } catch (e) {
      reply({
        id: req.id,
        ok: false,
        status: 0,
        code: (e as { code?: string }).code ?? 'TL_UI_BAD_FILE',
        message: e instanceof Error ? e.message : String(e),
        hint: 'Open an OTLP/JSON file, such as the one the trace page downloads.',
      });
      return;
    }
  }
  const model = modelFromCompact(compact);
  reply({ id: req.id, ok: true, model }, transferables(model));
}

scope.onmessage = (e: MessageEvent<WorkerRequest>) => {
  load(e.data).catch((err: unknown) => {
    reply({
      id: e.data.id,
      ok: false,
      status: 0,
      code: 'TL_UI_BAD_RESPONSE',
      message: err instanceof Error ? err.message : String(err),
      hint: '',
    });
  });
};
