import { ApiError } from '../api/client.ts';

/** Shows a failure with the server's message and hint. */
export function ErrorBox(props: { readonly error: unknown; readonly title?: string }) {
  const e = props.error;
  const message = e instanceof Error ? e.message : String(e);
  const api = e instanceof ApiError ? e : undefined;
  return (
    <div className="error-box" role="alert">
      <strong>{props.title ?? 'Something went wrong'}</strong>
      <p className="error-message">{message}</p>
      {api !== undefined && api.hint !== '' && <p className="error-hint">{api.hint}</p>}
      {api !== undefined && api.status > 0 && (
        <p className="error-code">
          {api.code} · HTTP {api.status}
          {api.parameter !== undefined && ` · parameter ${api.parameter}`}
        </p>
      )}
    </div>
  );
}
