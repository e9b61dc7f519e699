/**
 * The trace page (`/trace/:id`): loads the trace's compact view through the
 * worker and shows it in the {@link TraceView}.
 */
import { useEffect, useState } from 'react';
import type { TraceModel } from './model.ts';
import { LoadError, Loading } from './status.tsx';
import { TraceView } from './TraceView.tsx';
import { loadTrace } from './worker-protocol.ts';

/**
 * A trace of more spans than this first loads without attributes, events and links
 * (`maxDetailedSpans`): the server reads and sends its tree in about half the time, the
 * waterfall paints, and the details follow in the background.
 */
export const FIRST_VIEW_DETAILED_SPANS = 20_000;

/**
 * Loads started during render, by trace id: the request leaves before React
 * commits and runs effects (a frame or more later), and StrictMode's second
 * render reuses it.
 */
const started = new Map<string, Promise<TraceModel>>();

/** The page URL may lower or raise the threshold (`?maxDetailedSpans=100`), for tests and slow links. */
function firstViewDetailedSpans(): number {
  const v = Number(new URLSearchParams(window.location.search).get('maxDetailedSpans') ?? Number.NaN);
  return Number.isInteger(v) && v >= 0 ? v : FIRST_VIEW_DETAILED_SPANS;
}

function startLoad(traceId: string): Promise<TraceModel> {
  let p = started.get(traceId);
  if (p === undefined) {
    p = loadTrace(traceId, { maxDetailedSpans: firstViewDetailedSpans() });
    started.set(traceId, p);
    // Forget it once settled, so that a later visit loads the trace afresh.
    const forget = () => setTimeout(() => started.delete(traceId), 1000);
    p.then(forget, forget);
  }
  return p;
}

/** The trace page. */
export function TracePage(props: { readonly traceId: string }) {
  startLoad(props.traceId);
  const [state, setState] = useState<{ model?: TraceModel; error?: unknown; detailsError?: unknown }>({});
  useEffect(() => {
    let live = true;
    setState({});
    startLoad(props.traceId).then(
      (model) => {
        if (!live) return;
        setState({ model });
        // Tests and the benchmark read whether the first view came without details.
        performance.mark('tl-trace-first-view', { detail: { partial: model.partial } });
        // The same tree in the same order, now with its details: the view keeps its state.
        if (model.partial) {
          loadTrace(props.traceId).then(
            (full) => live && setState({ model: full }),
            (detailsError: unknown) => live && setState({ model, detailsError }),
          );
        }
      },
      (error: unknown) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [props.traceId]);
  if (state.error !== undefined) return <LoadError error={state.error} what={`trace ${props.traceId}`} />;
  if (state.model === undefined) return <Loading what={`trace ${props.traceId}`} />;
  const id = state.model.traceId;
  return (
    <>
      {state.detailsError !== undefined && (
        <LoadError error={state.detailsError} what={`the attributes and events of trace ${props.traceId}`} />
      )}
      <TraceView
        model={state.model}
        download={{ href: `/api/v1/traces/${encodeURIComponent(id)}?format=otlp`, filename: `trace-${id}.json` }}
      />
    </>
  );
}
