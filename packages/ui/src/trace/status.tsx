/** Loading and failure states of the trace and compare pages. */
import { TraceLoadError } from './worker-protocol.ts';

/** Shown while a trace loads. */
export function Loading(props: { readonly what: string }) {
  return (
    <div className="tlt-state" role="status" data-testid="trace-loading">
      <span className="tlt-spinner" aria-hidden="true" /> Loading {props.what}…
    </div>
  );
}

/** A failed load, with the server's code and hint when there is one. */
export function LoadError(props: { readonly error: unknown; readonly what: string }) {
  const e = props.error;
  const message = e instanceof Error ? e.message : String(e);
  const load = e instanceof TraceLoadError ? e : undefined;
  const notFound = load?.code === 'TL_ERR_TRACE_NOT_FOUND';
  return (
    <div className="tlt-state tlt-error-box" role="alert" data-testid="trace-error">
      <strong>{notFound ? 'Trace not found' : `Could not load ${props.what}`}</strong>
      <p>{message}</p>
      {notFound && (
        <p className="tlt-muted">
          It may have expired (retention), not arrived yet, or the id may be mistyped. Search for it on the{' '}
          <a href="/search">Search</a> page.
        </p>
      )}
      {load !== undefined && load.hint !== '' && <p className="tlt-muted">{load.hint}</p>}
      {load !== undefined && load.status > 0 && (
        <p className="tlt-muted">
          {load.code} · HTTP {load.status}
        </p>
      )}
    </div>
  );
}
