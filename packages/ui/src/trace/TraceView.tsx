/**
 * The trace view shared by the trace page and the "open a JSON file" page:
 * header, toolbar (find-in-trace, critical path, views, download), and the
 * waterfall, flame graph or span table with the span detail beside them.
 */
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { serviceColor } from '../lib/colors.ts';
import { formatDuration, formatTimestamp } from '../lib/format.ts';
import { useSettings } from '../lib/settings.ts';
import { FlameGraph } from './FlameGraph.tsx';
import { nameOf, parentSpanIdOf, serviceOf, spanIdOf, type TraceModel } from './model.ts';
import { SpanDetail } from './SpanDetail.tsx';
import { SpanTable } from './SpanTable.tsx';
import { collapseFromDepth, criticalBySpan, findMatches, parseFind, revealSpan, visibleRows } from './view-logic.ts';
import { Waterfall } from './Waterfall.tsx';
import './trace.css';

type ViewName = 'waterfall' | 'flame' | 'table';

/** What the debug hook on `window.__traceloomTrace` answers (for browser tests and the benchmark). */
export interface TraceDebugHook {
  readonly traceId: string;
  readonly spanCount: number;
  /** Attributes, events and links are still loading (a large trace's first view). */
  readonly partial: boolean;
  readonly visibleRowCount: number;
  readonly matchCount: number;
  readonly currentMatch: string | undefined;
  readonly criticalPathShown: boolean;
  readonly selectedSpanId: string | undefined;
  /** Visible rows from `from`, at most `count`: span id, parent span id, depth, service and name. */
  rows(
    from?: number,
    count?: number,
  ): { spanId: string; parentSpanId: string; depth: number; service: string; name: string; matched: boolean }[];
  /** Span ids on the critical path, in tree order. */
  criticalSpanIds(): string[];
}

declare global {
  interface Window {
    __traceloomTrace?: TraceDebugHook;
  }
}

/** Props of {@link TraceView}. */
export interface TraceViewProps {
  readonly model: TraceModel;
  /** Where "Download OTLP/JSON" points, and the file name. */
  readonly download: { readonly href: string; readonly filename: string };
  /** A note under the title (e.g. the file a trace came from). */
  readonly source?: string;
}

/** The whole trace view (see the file comment). */
export function TraceView(props: TraceViewProps) {
  const m = props.model;
  const settings = useSettings();
  const collapsed = useRef<Uint8Array>(new Uint8Array(m.spanCount));
  const [collapseVersion, setCollapseVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `collapsed` changes in place; its version says when
  const rows = useMemo(() => visibleRows(m, collapsed.current), [m, collapseVersion]);
  const [selected, setSelected] = useState(-1);
  const [detailOpen, setDetailOpen] = useState(false);
  const [view, setView] = useState<ViewName>('waterfall');
  const [showCritical, setShowCritical] = useState(false);
  const [findText, setFindText] = useState('');
  const [findQuery, setFindQuery] = useState('');
  const [matchPos, setMatchPos] = useState(-1);
  const [reveal, setReveal] = useState<{ span: number; seq: number } | undefined>(undefined);
  const [showWarnings, setShowWarnings] = useState(false);
  const colors = useMemo(() => m.services.map((s) => serviceColor(s.service)), [m]);
  const cpBySpan = useMemo(() => criticalBySpan(m), [m]);

  // Find runs after typing pauses: one linear pass over the spans and the distinct strings.
  useEffect(() => {
    const t = setTimeout(() => setFindQuery(findText), 150);
    return () => clearTimeout(t);
  }, [findText]);
  const found = useMemo(() => {
    const q = parseFind(findQuery);
    if (q === undefined) return undefined;
    const { flags, count } = findMatches(m, q);
    const list = new Int32Array(count);
    let k = 0;
    for (let i = 0; i < m.spanCount; i++) if (flags[i] === 1) list[k++] = i;
    return { flags, list };
  }, [m, findQuery]);
  useEffect(() => setMatchPos(found === undefined || found.list.length === 0 ? -1 : 0), [found]);
  const currentMatch = found !== undefined && matchPos >= 0 ? (found.list[matchPos] ?? -1) : -1;

  const bump = useCallback(() => setCollapseVersion((v) => v + 1), []);
  const showSpan = useCallback(
    (i: number) => {
      if (revealSpan(m, collapsed.current, i)) bump();
      setReveal((r) => ({ span: i, seq: (r?.seq ?? 0) + 1 }));
    },
    [m, bump],
  );
  useEffect(() => {
    if (currentMatch >= 0) showSpan(currentMatch);
  }, [currentMatch, showSpan]);

  const toggle = useCallback(
    (i: number) => {
      collapsed.current[i] = collapsed.current[i] === 1 ? 0 : 1;
      bump();
    },
    [bump],
  );
  const select = useCallback(
    (i: number, open: boolean) => {
      setSelected(i);
      if (open) setDetailOpen(true);
      showSpan(i);
    },
    [showSpan],
  );

  const step = (delta: number) => {
    if (found === undefined || found.list.length === 0) return;
    const n = found.list.length;
    setMatchPos((p) => (((p < 0 ? 0 : p + delta) % n) + n) % n);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (rows.length === 0) return;
    let row = -1;
    if (selected >= 0) {
      for (let k = 0; k < rows.length; k++) {
        if (rows[k] === selected) {
          row = k;
          break;
        }
      }
    }
    const cur = row >= 0 ? selected : -1;
    switch (e.key) {
      case 'ArrowDown':
        select(rows[Math.min(rows.length - 1, row + 1)] as number, false);
        break;
      case 'ArrowUp':
        select(rows[Math.max(0, row - 1)] as number, false);
        break;
      case 'Home':
        select(rows[0] as number, false);
        break;
      case 'End':
        select(rows[rows.length - 1] as number, false);
        break;
      case 'ArrowLeft':
        if (cur < 0) return;
        if ((m.childCount[cur] as number) > 0 && collapsed.current[cur] === 0) toggle(cur);
        else if ((m.parent[cur] as number) >= 0) select(m.parent[cur] as number, false);
        break;
      case 'ArrowRight':
        if (cur < 0) return;
        if (collapsed.current[cur] === 1) toggle(cur);
        else if ((m.childCount[cur] as number) > 0) select(cur + 1, false);
        break;
      case 'Enter':
        if (cur >= 0) setDetailOpen(true);
        break;
      case 'Escape':
        setDetailOpen(false);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  // The read-only debug hook for tests and the benchmark (canvas content is not in the DOM).
  useEffect(() => {
    window.__traceloomTrace = {
      traceId: m.traceId,
      spanCount: m.spanCount,
      partial: m.partial,
      visibleRowCount: rows.length,
      matchCount: found?.list.length ?? 0,
      currentMatch: currentMatch >= 0 ? spanIdOf(m, currentMatch) : undefined,
      criticalPathShown: showCritical,
      selectedSpanId: selected >= 0 ? spanIdOf(m, selected) : undefined,
      rows(from = 0, count = 1000) {
        const out = [];
        for (let k = from; k < Math.min(rows.length, from + count); k++) {
          const i = rows[k] as number;
          out.push({
            spanId: spanIdOf(m, i),
            parentSpanId: parentSpanIdOf(m, i),
            depth: m.spanDepth[i] as number,
            service: serviceOf(m, i),
            name: nameOf(m, i),
            matched: found?.flags[i] === 1,
          });
        }
        return out;
      },
      criticalSpanIds() {
        const out: string[] = [];
        for (let i = 0; i < m.spanCount; i++) if (((m.bits[i] as number) & 2) !== 0) out.push(spanIdOf(m, i));
        return out;
      },
    };
  }, [m, rows, found, currentMatch, showCritical, selected]);
  useEffect(
    () => () => {
      window.__traceloomTrace = undefined;
    },
    [],
  );

  const root = m.rootName === '' ? '(root span missing)' : m.rootName;
  return (
    <div className="tlt-page" data-testid="trace-view" data-trace-id={m.traceId}>
      <header className="tlt-header">
        <div className="tlt-title-row">
          <h1 className="tlt-title">
            <span className="tlt-swatch" style={{ background: serviceColor(m.rootServiceName) }} />
            <span className="tlt-root-service">{m.rootServiceName || 'unknown'}</span>
            <span className="tlt-root-name">{root}</span>
          </h1>
          <code className="tlt-trace-id" title="Trace id">
            {m.traceId}
          </code>
        </div>
        {props.source !== undefined && <p className="tlt-muted tlt-source">{props.source}</p>}
        <dl className="tlt-stats" data-testid="trace-stats">
          <div>
            <dt>Start</dt>
            <dd>{formatTimestamp(m.startMicros, settings.timeZone)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-testid="trace-duration">{formatDuration(m.durationNano / 1000)}</dd>
          </div>
          <div>
            <dt>Spans</dt>
            <dd data-testid="trace-span-count">{m.spanCount.toLocaleString('en-US')}</dd>
          </div>
          <div>
            <dt>Depth</dt>
            <dd data-testid="trace-depth">{m.depth}</dd>
          </div>
          <div>
            <dt>Services</dt>
            <dd>{m.services.length}</dd>
          </div>
          <div>
            <dt>Errors</dt>
            <dd className={m.errorCount > 0 ? 'tlt-err' : undefined} data-testid="trace-errors">
              {m.errorCount}
            </dd>
          </div>
          <div>
            <dt>Warnings</dt>
            <dd>
              {m.warningCount === 0 ? (
                '0'
              ) : (
                <button type="button" className="tlt-link tlt-warn" onClick={() => setShowWarnings((s) => !s)}>
                  {m.warningCount}
                </button>
              )}
            </dd>
          </div>
        </dl>
        <ul className="tlt-services" aria-label="Services">
          {m.services.map((s, k) => (
            <li key={s.service}>
              <button
                type="button"
                className="tlt-chip"
                title={`Find the spans of ${s.service}`}
                onClick={() => setFindText(s.service)}
              >
                <span className="tlt-swatch" style={{ background: colors[k] }} />
                {s.service} <span className="tlt-muted">{s.spanCount.toLocaleString('en-US')}</span>
                {s.errorCount > 0 && <span className="tlt-err"> · {s.errorCount} err</span>}
              </button>
            </li>
          ))}
        </ul>
        {showWarnings && <TraceWarnings model={m} onSelect={(i) => select(i, true)} />}
      </header>
      <div className="tlt-toolbar">
        <div className="tlt-tabs" role="tablist" aria-label="View">
          {(
            [
              ['waterfall', 'Waterfall'],
              ['flame', 'Flame graph'],
              ['table', 'Span table'],
            ] as const
          ).map(([k, label]) => (
            <button
              key={k}
              type="button"
              role="tab"
              aria-selected={view === k}
              className={view === k ? 'on' : undefined}
              data-testid={`view-${k}`}
              onClick={() => setView(k)}
            >
              {label}
            </button>
          ))}
        </div>
        <search className="tlt-find">
          <input
            type="search"
            placeholder="Find: text or key=value"
            aria-label="Find in trace"
            data-testid="find-input"
            value={findText}
            onChange={(e) => setFindText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                setFindQuery(findText);
                step(e.shiftKey ? -1 : 1);
              }
            }}
          />
          <span className="tlt-find-count" data-testid="find-count">
            {found === undefined ? '' : found.list.length === 0 ? 'no match' : `${matchPos + 1} / ${found.list.length}`}
          </span>
          <button type="button" aria-label="Previous match" onClick={() => step(-1)} disabled={!found?.list.length}>
            ▲
          </button>
          <button type="button" aria-label="Next match" onClick={() => step(1)} disabled={!found?.list.length}>
            ▼
          </button>
        </search>
        <label className="tlt-toggle">
          <input
            type="checkbox"
            data-testid="critical-toggle"
            checked={showCritical}
            onChange={(e) => setShowCritical(e.target.checked)}
          />
          Critical path
        </label>
        {view === 'waterfall' && (
          <div className="tlt-tree-actions">
            <button
              type="button"
              onClick={() => {
                collapsed.current = collapseFromDepth(m, 1);
                bump();
              }}
            >
              Collapse all
            </button>
            <button
              type="button"
              onClick={() => {
                collapsed.current = new Uint8Array(m.spanCount);
                bump();
              }}
            >
              Expand all
            </button>
          </div>
        )}
        <a className="tlt-button" href={props.download.href} download={props.download.filename} data-testid="download">
          Download OTLP/JSON
        </a>
      </div>
      <div className={detailOpen && selected >= 0 ? 'tlt-main with-detail' : 'tlt-main'}>
        <div className="tlt-view">
          {view === 'waterfall' && (
            <Waterfall
              model={m}
              rows={rows}
              collapsed={collapsed.current}
              collapseVersion={collapseVersion}
              selected={selected}
              matches={found?.flags}
              currentMatch={currentMatch}
              showCritical={showCritical}
              criticalBySpan={cpBySpan}
              colors={colors}
              themeKey={settings.theme}
              reveal={reveal}
              onSelect={select}
              onToggle={toggle}
              onKeyDown={onKeyDown}
            />
          )}
          {view === 'flame' && (
            <FlameGraph
              model={m}
              colors={colors}
              selected={selected}
              matches={found?.flags}
              showCritical={showCritical}
              themeKey={settings.theme}
              onSelect={(i) => select(i, true)}
            />
          )}
          {view === 'table' && (
            <SpanTable
              model={m}
              colors={colors}
              onFind={(q) => {
                setFindText(q);
                setView('waterfall');
              }}
            />
          )}
        </div>
        {detailOpen && selected >= 0 && (
          <SpanDetail
            model={m}
            span={selected}
            color={colors[m.service[selected] as number] ?? '#888'}
            onClose={() => setDetailOpen(false)}
            onSelectSpan={(i) => select(i, true)}
          />
        )}
      </div>
    </div>
  );
}

function TraceWarnings(props: { readonly model: TraceModel; onSelect(i: number): void }) {
  const m = props.model;
  const items: { span: number; text: string }[] = [];
  for (const w of m.warnings) items.push({ span: -1, text: w });
  for (const [span, list] of m.spanWarnings)
    for (const w of list) if (items.length < 200) items.push({ span, text: w });
  return (
    <ul className="tlt-warnings tlt-trace-warnings" data-testid="trace-warnings">
      {items.map((w, k) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: warnings can repeat; the position is the identity
        <li key={k}>
          {w.span >= 0 && (
            <button type="button" className="tlt-link" onClick={() => props.onSelect(w.span)}>
              {serviceOf(m, w.span)} · {nameOf(m, w.span)}
            </button>
          )}{' '}
          {w.text}
        </li>
      ))}
    </ul>
  );
}
