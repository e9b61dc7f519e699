/**
 * The span detail panel: identity (ids with copy buttons), timing, status,
 * warnings (clock-skew adjustments and other repairs), attributes, resource,
 * scope, events and links (a link opens the linked trace).
 */
import { useState } from 'react';
import { Link } from '../app/router.tsx';
import { formatDuration, formatTimestamp } from '../lib/format.ts';
import { useSettings } from '../lib/settings.ts';
import {
  attributesOf,
  eventsOf,
  isError,
  KIND_NAMES,
  nameOf,
  parentSpanIdOf,
  serviceOf,
  spanIdOf,
  type TraceModel,
  valueText,
} from './model.ts';
import type { AttributeJson } from './trace-json.ts';

function CopyButton(props: { readonly text: string; readonly label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="tlt-copy"
      title={`Copy ${props.label}`}
      aria-label={`Copy ${props.label}`}
      onClick={() => {
        void navigator.clipboard?.writeText(props.text).then(
          () => {
            setDone(true);
            setTimeout(() => setDone(false), 1200);
          },
          () => undefined,
        );
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

function Attributes(props: { readonly list: readonly AttributeJson[]; readonly testId?: string }) {
  if (props.list.length === 0) return <p className="tlt-muted">None.</p>;
  return (
    <table className="tlt-kv" data-testid={props.testId}>
      <tbody>
        {props.list.map((a, k) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: OTLP allows repeated keys; the position is the identity
          <tr key={`${a.key}/${k}`} data-key={a.key}>
            <th>{a.key}</th>
            <td>
              <span className="tlt-kv-value">{valueText(a)}</span>
              <span className="tlt-kv-type">{a.type}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Props of {@link SpanDetail}. */
export interface SpanDetailProps {
  readonly model: TraceModel;
  readonly span: number;
  readonly color: string;
  onClose(): void;
  onSelectSpan(span: number): void;
}

/** The detail panel of one span. */
export function SpanDetail(props: SpanDetailProps) {
  const { model: m, span: i } = props;
  const settings = useSettings();
  const startMicros = m.startMicros + (m.start[i] as number) / 1000;
  const resource = m.resources[m.resource[i] as number];
  const scope = m.scopes[m.scope[i] as number];
  const events = eventsOf(m, i);
  const links = m.links.get(i) ?? [];
  const warnings = m.spanWarnings.get(i) ?? [];
  const skew = m.skews.get(i);
  const dropped = m.dropped.get(i);
  const parent = m.parent[i] as number;
  const status = m.status[i] as number;
  const statusMessage = m.strings[m.statusMessage[i] as number] ?? '';
  const spanId = spanIdOf(m, i);
  const parentId = parentSpanIdOf(m, i);
  return (
    <aside className="tlt-detail" data-testid="span-detail" data-span-id={spanId} aria-label="Span detail">
      <header className="tlt-detail-head">
        <span className="tlt-swatch" style={{ background: props.color }} />
        <div className="tlt-detail-title">
          <strong>{nameOf(m, i)}</strong>
          <span className="tlt-muted">{serviceOf(m, i)}</span>
        </div>
        <button type="button" className="tlt-close" onClick={props.onClose} aria-label="Close the detail">
          ×
        </button>
      </header>
      <dl className="tlt-facts">
        <dt>Duration</dt>
        <dd>{formatDuration((m.duration[i] as number) / 1000)}</dd>
        <dt>Self time</dt>
        <dd>{formatDuration((m.selfTime[i] as number) / 1000)}</dd>
        <dt>Start</dt>
        <dd>
          {formatTimestamp(startMicros, settings.timeZone)}{' '}
          <span className="tlt-muted">(+{formatDuration((m.start[i] as number) / 1000)})</span>
        </dd>
        <dt>Kind</dt>
        <dd>{KIND_NAMES[m.kind[i] as number] ?? String(m.kind[i])}</dd>
        <dt>Status</dt>
        <dd className={isError(m, i) ? 'tlt-err' : undefined} data-testid="span-status">
          {status === 2 ? 'error' : status === 1 ? 'ok' : 'unset'}
          {statusMessage !== '' && `: ${statusMessage}`}
        </dd>
        <dt>Span id</dt>
        <dd>
          <code>{spanId}</code> <CopyButton text={spanId} label="span id" />
        </dd>
        <dt>Parent</dt>
        <dd>
          {parentId === '' ? (
            <span className="tlt-muted">none (root)</span>
          ) : (
            <>
              {parent >= 0 ? (
                <button type="button" className="tlt-link" onClick={() => props.onSelectSpan(parent)}>
                  <code>{parentId}</code>
                </button>
              ) : (
                <code>{parentId}</code>
              )}{' '}
              {parent < 0 && <span className="tlt-warn">not in the trace</span>}
            </>
          )}
        </dd>
        <dt>Trace id</dt>
        <dd>
          <code>{m.traceId}</code> <CopyButton text={m.traceId} label="trace id" />
        </dd>
        {((m.bits[i] as number) & 2) !== 0 && (
          <>
            <dt>Critical path</dt>
            <dd>on the critical path</dd>
          </>
        )}
      </dl>
      {(warnings.length > 0 || skew !== undefined || dropped !== undefined) && (
        <section className="tlt-section">
          <h3>Warnings</h3>
          <ul className="tlt-warnings" data-testid="span-warnings">
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
            {skew !== undefined && warnings.length === 0 && (
              <li>clock skew adjusted by {formatDuration(Number(skew) / 1000)}</li>
            )}
            {dropped !== undefined && (
              <li>
                the sender dropped {dropped.attributes} attributes, {dropped.events} events and {dropped.links} links
              </li>
            )}
          </ul>
        </section>
      )}
      <section className="tlt-section">
        <h3>Attributes</h3>
        {m.partial ? (
          <p className="tlt-muted" data-testid="details-loading">
            Loading attributes, events and links of this large trace…
          </p>
        ) : (
          <Attributes list={attributesOf(m, i)} testId="span-attributes" />
        )}
      </section>
      {events.length > 0 && (
        <section className="tlt-section">
          <h3>Events ({events.length})</h3>
          {events.map((e, k) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: events have no id; their order is fixed
            <div key={k} className="tlt-event">
              <div>
                <strong>{e.name}</strong>{' '}
                <span className="tlt-muted">+{formatDuration(e.timeMicros - startMicros)} into the span</span>
              </div>
              <Attributes list={e.attributes} />
            </div>
          ))}
        </section>
      )}
      {links.length > 0 && (
        <section className="tlt-section">
          <h3>Links ({links.length})</h3>
          <ul className="tlt-links">
            {links.map((l) => (
              <li key={`${l.traceId}/${l.spanId}`}>
                <Link href={`/trace/${l.traceId}`} data-testid="span-link">
                  trace <code>{l.traceId.slice(0, 16)}…</code> span <code>{l.spanId}</code>
                </Link>
                {l.attributes.length > 0 && <Attributes list={l.attributes} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      {resource !== undefined && (
        <section className="tlt-section">
          <h3>Resource</h3>
          <Attributes list={resource.attributes} testId="resource-attributes" />
        </section>
      )}
      {scope !== undefined && (scope.name !== '' || scope.version !== '') && (
        <section className="tlt-section">
          <h3>Instrumentation scope</h3>
          <p>
            <code>{scope.name}</code> {scope.version !== '' && <span className="tlt-muted">{scope.version}</span>}
          </p>
        </section>
      )}
    </aside>
  );
}
