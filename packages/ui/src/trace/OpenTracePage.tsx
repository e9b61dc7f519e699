/**
 * `/open`: shows a trace from a local OTLP/JSON file (the trace page's
 * download, or any OTLP exporter's JSON) without sending it anywhere: the
 * worker decodes and assembles it with the same code the server runs.
 */
import { type DragEvent, useEffect, useState } from 'react';
import type { TraceModel } from './model.ts';
import { LoadError, Loading } from './status.tsx';
import { TraceView } from './TraceView.tsx';
import { loadOtlpText } from './worker-protocol.ts';
import './trace.css';

/** The "open a trace from a JSON file" page. */
export function OpenTracePage() {
  const [state, setState] = useState<{ model?: TraceModel; error?: unknown; loading?: string; file?: File }>({});
  const [href, setHref] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (state.file === undefined) return;
    const url = URL.createObjectURL(state.file);
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [state.file]);

  const open = (file: File) => {
    setState({ loading: file.name });
    file.text().then(
      (text) =>
        loadOtlpText(text).then(
          (model) => setState({ model, file }),
          (error: unknown) => setState({ error }),
        ),
      (error: unknown) => setState({ error }),
    );
  };
  const onDrop = (e: DragEvent<HTMLElement>) => {
    e.preventDefault();
    const f = e.dataTransfer.files[0];
    if (f !== undefined) open(f);
  };

  if (state.model !== undefined && state.file !== undefined) {
    return (
      // biome-ignore lint/a11y/noStaticElementInteractions: dropping another file is a shortcut; the Open JSON page's file input is the accessible way
      <div onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
        <TraceView
          model={state.model}
          source={`Opened from ${state.file.name} (not stored on the server). Drop another file to replace it.`}
          download={{ href: href ?? '#', filename: state.file.name }}
        />
      </div>
    );
  }
  return (
    <div className="tlt-open">
      <h1>Open a trace from a file</h1>
      <p className="tlt-muted">
        An OTLP/JSON file (<code>{'{"resourceSpans":[...]}'}</code>), such as the trace page's{' '}
        <em>Download OTLP/JSON</em>. The file is read in your browser and never sent to the server.
      </p>
      <label className="tlt-drop" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="open-drop">
        <input
          type="file"
          accept=".json,application/json"
          data-testid="open-file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f !== undefined) open(f);
          }}
        />
        <span>Drop a file here or click to choose one</span>
      </label>
      {state.loading !== undefined && <Loading what={state.loading} />}
      {state.error !== undefined && <LoadError error={state.error} what="the file" />}
    </div>
  );
}
