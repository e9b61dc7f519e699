/**
 * The search page: the form on the left, results (scatter and list) on the
 * right. The URL holds the form (see `query.ts`): submitting navigates, and
 * every URL change re-reads the form and runs the search.
 */
import { type FormEvent, useCallback, useEffect, useMemo, useState } from 'react';
import {
  fetchAttributeKeys,
  fetchAttributeValues,
  fetchOperations,
  fetchServices,
  isAbort,
  type Operation,
  type SearchResult,
  searchTraces,
} from '../api/client.ts';
import { navigate, useLocation } from '../app/router.tsx';
import { Combobox } from '../components/Combobox.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import { formatCount, fromDateTimeInput, parseDuration, toDateTimeInput } from '../lib/format.ts';
import { useSettings } from '../lib/settings.ts';
import { EmptyState } from './EmptyState.tsx';
import {
  type AttrFilter,
  type AttrScope,
  formFromQuery,
  formToParams,
  MAX_LIMIT,
  normalizeDurationText,
  OPERATORS,
  type Operator,
  RANGE_PRESETS,
  type SearchForm,
  searchUrl,
} from './query.ts';
import { ResultsTable } from './ResultsTable.tsx';
import { Scatter } from './Scatter.tsx';

type Load<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'done'; readonly value: T }
  | { readonly state: 'error'; readonly error: unknown };

const NEW_FILTER: AttrFilter = { scope: 'any', key: '', op: '=', value: '' };

function uniqueSorted(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort();
}

/** One attribute condition row. */
function AttributeRow(props: {
  readonly filter: AttrFilter;
  readonly service: string;
  readonly index: number;
  readonly onChange: (f: AttrFilter) => void;
  readonly onRemove: () => void;
}) {
  const { filter, service } = props;
  const scopes = useMemo(
    (): ('span' | 'resource')[] => (filter.scope === 'any' ? ['span', 'resource'] : [filter.scope]),
    [filter.scope],
  );
  const suggestKeys = useCallback(
    async (prefix: string, signal: AbortSignal) =>
      uniqueSorted(
        await Promise.all(scopes.map((scope) => fetchAttributeKeys({ scope, service, prefix, limit: 50 }, signal))),
      ),
    [scopes, service],
  );
  const suggestValues = useCallback(
    async (prefix: string, signal: AbortSignal) => {
      if (filter.key.trim() === '') return [];
      return uniqueSorted(
        await Promise.all(
          scopes.map((scope) => fetchAttributeValues(filter.key.trim(), { scope, service, prefix, limit: 50 }, signal)),
        ),
      );
    },
    [scopes, service, filter.key],
  );
  const noValue = filter.op === 'exists' || filter.op === '!exists';
  return (
    <div className="attr-row" data-testid="attr-row">
      <select
        className="attr-scope"
        aria-label={`Attribute ${props.index + 1} scope`}
        value={filter.scope}
        onChange={(e) => props.onChange({ ...filter, scope: e.target.value as AttrScope })}
      >
        <option value="any">span or resource</option>
        <option value="span">span</option>
        <option value="resource">resource</option>
      </select>
      <Combobox
        className="attr-key"
        ariaLabel={`Attribute ${props.index + 1} key`}
        testId="attr-key"
        placeholder="key, e.g. http.route"
        value={filter.key}
        onChange={(key) => props.onChange({ ...filter, key })}
        suggest={suggestKeys}
      />
      <select
        aria-label={`Attribute ${props.index + 1} operator`}
        className="attr-op"
        value={filter.op}
        onChange={(e) => props.onChange({ ...filter, op: e.target.value as Operator })}
      >
        {OPERATORS.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      {!noValue && (
        <Combobox
          className="attr-value"
          ariaLabel={`Attribute ${props.index + 1} value`}
          testId="attr-value"
          placeholder="value"
          value={filter.value}
          onChange={(value) => props.onChange({ ...filter, value })}
          suggest={suggestValues}
        />
      )}
      <button
        type="button"
        className="icon-button small attr-remove"
        aria-label={`Remove attribute ${props.index + 1}`}
        onClick={props.onRemove}
      >
        ×
      </button>
    </div>
  );
}

/** The form; calls `onSubmit` with the draft. */
function SearchFormView(props: {
  readonly initial: SearchForm;
  readonly services: readonly string[];
  readonly onSubmit: (form: SearchForm) => void;
}) {
  const { timeZone } = useSettings();
  const [form, setForm] = useState(props.initial);
  const [operations, setOperations] = useState<readonly Operation[]>([]);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  useEffect(() => setForm(props.initial), [props.initial]);

  useEffect(() => {
    if (form.service === '') {
      setOperations([]);
      return undefined;
    }
    const ctl = new AbortController();
    fetchOperations(form.service, ctl.signal).then(setOperations, (e: unknown) => {
      if (!isAbort(e)) setOperations([]);
    });
    return () => ctl.abort();
  }, [form.service]);

  const set = (change: Partial<SearchForm>) => setForm((f) => ({ ...f, ...change }));
  const opValue = form.operation === '' ? '' : `${form.spanKind}\u0000${form.operation}`;
  // The URL may name an operation that the list does not hold (yet), or no span kind: keep it selectable.
  const opInList = operations.some((o) => `${o.spanKindName}\u0000${o.name}` === opValue);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    for (const [label, text] of [
      ['Min duration', form.minDuration],
      ['Max duration', form.maxDuration],
    ] as const) {
      if (text.trim() !== '' && parseDuration(text) === undefined) {
        setProblem(`${label} '${text}' is not a duration: write e.g. 250ms, 1.5s, 2m or 800us.`);
        return;
      }
    }
    const min = parseDuration(form.minDuration);
    const max = parseDuration(form.maxDuration);
    if (min !== undefined && max !== undefined && min > max) {
      setProblem('Min duration is larger than max duration.');
      return;
    }
    if (form.lookback === 'custom' && form.start === '') {
      setProblem('Pick a start time for the custom range.');
      return;
    }
    setProblem(undefined);
    props.onSubmit({
      ...form,
      minDuration: normalizeDurationText(form.minDuration),
      maxDuration: normalizeDurationText(form.maxDuration),
      attrs: form.attrs.filter((a) => a.key.trim() !== ''),
    });
  };

  const customStart = form.start === '' ? '' : toDateTimeInput(Date.parse(form.start), timeZone);
  const customEnd = form.end === '' ? '' : toDateTimeInput(Date.parse(form.end), timeZone);

  return (
    <form className="search-form" onSubmit={submit} data-testid="search-form">
      <label className="field">
        <span>Service</span>
        <select
          name="service"
          value={form.service}
          onChange={(e) => set({ service: e.target.value, operation: '', spanKind: '' })}
        >
          <option value="">All services</option>
          {form.service !== '' && !props.services.includes(form.service) && (
            <option value={form.service}>{form.service}</option>
          )}
          {props.services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Operation</span>
        <select
          name="operation"
          value={opValue}
          disabled={form.service === '' && form.operation === ''}
          onChange={(e) => {
            const v = e.target.value;
            const at = v.indexOf('\u0000');
            set(at < 0 ? { operation: '', spanKind: '' } : { spanKind: v.slice(0, at), operation: v.slice(at + 1) });
          }}
        >
          <option value="">{form.service === '' ? 'Pick a service first' : 'All operations'}</option>
          {form.operation !== '' && !opInList && (
            <option value={opValue}>
              {form.operation} · {form.spanKind === '' ? 'any kind' : form.spanKind}
            </option>
          )}
          {operations.map((o) => (
            <option key={`${o.spanKind}:${o.name}`} value={`${o.spanKindName}\u0000${o.name}`}>
              {o.name} · {o.spanKindName}
            </option>
          ))}
        </select>
      </label>

      <fieldset className="field">
        <legend>Attributes</legend>
        {form.attrs.map((a, i) => (
          <AttributeRow
            // Rows have no identity of their own; the index is stable while editing.
            // biome-ignore lint/suspicious/noArrayIndexKey: see above
            key={i}
            index={i}
            filter={a}
            service={form.service}
            onChange={(f) => set({ attrs: form.attrs.map((x, j) => (j === i ? f : x)) })}
            onRemove={() => set({ attrs: form.attrs.filter((_, j) => j !== i) })}
          />
        ))}
        <button
          type="button"
          className="link-button"
          data-testid="add-attr"
          onClick={() => set({ attrs: [...form.attrs, NEW_FILTER] })}
        >
          + Add attribute filter
        </button>
      </fieldset>

      <div className="field-row">
        <label className="field">
          <span>Min duration</span>
          <input
            name="minDuration"
            type="text"
            placeholder="e.g. 100ms"
            value={form.minDuration}
            onChange={(e) => set({ minDuration: e.target.value })}
          />
        </label>
        <label className="field">
          <span>Max duration</span>
          <input
            name="maxDuration"
            type="text"
            placeholder="e.g. 2s"
            value={form.maxDuration}
            onChange={(e) => set({ maxDuration: e.target.value })}
          />
        </label>
      </div>

      <label className="check-field">
        <input
          type="checkbox"
          name="errors"
          checked={form.errorsOnly}
          onChange={(e) => set({ errorsOnly: e.target.checked })}
        />
        Only traces with errors
      </label>

      <label className="field">
        <span>Time range</span>
        <select
          name="lookback"
          value={form.lookback}
          onChange={(e) => {
            const v = e.target.value;
            if (v === 'custom' && form.start === '') {
              const now = Date.now();
              set({
                lookback: v,
                start: new Date(now - 3_600_000).toISOString(),
                end: new Date(now).toISOString(),
              });
            } else set({ lookback: v });
          }}
        >
          {RANGE_PRESETS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
          {!RANGE_PRESETS.some((p) => p.value === form.lookback) && form.lookback !== 'custom' && (
            <option value={form.lookback}>Last {form.lookback}</option>
          )}
          <option value="custom">Custom range…</option>
        </select>
      </label>
      {form.lookback === 'custom' && (
        <div className="field-row">
          <label className="field">
            <span>From {timeZone === 'utc' ? '(UTC)' : ''}</span>
            <input
              type="datetime-local"
              name="start"
              value={customStart}
              onChange={(e) => {
                const ms = fromDateTimeInput(e.target.value, timeZone);
                set({ start: Number.isNaN(ms) ? '' : new Date(ms).toISOString() });
              }}
            />
          </label>
          <label className="field">
            <span>To {timeZone === 'utc' ? '(UTC)' : ''}</span>
            <input
              type="datetime-local"
              name="end"
              value={customEnd}
              onChange={(e) => {
                const ms = fromDateTimeInput(e.target.value, timeZone);
                set({ end: Number.isNaN(ms) ? '' : new Date(ms).toISOString() });
              }}
            />
          </label>
        </div>
      )}

      <div className="field-row">
        <label className="field">
          <span>Limit</span>
          <input
            name="limit"
            type="number"
            min={1}
            max={MAX_LIMIT}
            value={form.limit}
            onChange={(e) => {
              const n = Math.trunc(Number(e.target.value));
              set({ limit: Number.isFinite(n) ? Math.min(MAX_LIMIT, Math.max(1, n)) : form.limit });
            }}
          />
        </label>
        <label className="field">
          <span>Show first</span>
          <select
            name="sort"
            value={form.sort}
            onChange={(e) => set({ sort: e.target.value === 'longest' ? 'longest' : 'recent' })}
          >
            <option value="recent">Most recent</option>
            <option value="longest">Longest</option>
          </select>
        </label>
      </div>

      {problem !== undefined && (
        <p className="form-problem" role="alert">
          {problem}
        </p>
      )}
      <button type="submit" className="primary" data-testid="search-button">
        Find traces
      </button>
    </form>
  );
}

/** The search page. */
export function SearchPage() {
  const location = useLocation();
  const form = useMemo(() => formFromQuery(location.search), [location.search]);
  const [services, setServices] = useState<Load<string[]>>({ state: 'loading' });
  const [result, setResult] = useState<Load<SearchResult>>({ state: 'loading' });
  const [more, setMore] = useState<{ loading: boolean; error?: unknown }>({ loading: false });
  const [selected, setSelected] = useState<readonly string[]>([]);
  // Bumped by every navigation, also to the same URL: a repeated submit searches again.
  const [runs, setRuns] = useState(0);

  useEffect(() => {
    const bump = () => setRuns((n) => n + 1);
    window.addEventListener('traceloom:navigate', bump);
    return () => window.removeEventListener('traceloom:navigate', bump);
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `runs` re-runs the search on a repeated submit
  useEffect(() => {
    const ctl = new AbortController();
    setResult({ state: 'loading' });
    setSelected([]);
    fetchServices(ctl.signal).then(
      (list) => setServices({ state: 'done', value: list }),
      (e: unknown) => {
        if (!isAbort(e)) setServices({ state: 'error', error: e });
      },
    );
    searchTraces(formToParams(form), ctl.signal).then(
      (value) => setResult({ state: 'done', value }),
      (error: unknown) => {
        if (!isAbort(error)) setResult({ state: 'error', error });
      },
    );
    return () => ctl.abort();
  }, [form, runs]);

  const loadMore = () => {
    if (result.state !== 'done' || result.value.nextCursor === undefined) return;
    const params = formToParams(form);
    params.set('cursor', result.value.nextCursor);
    const prev = result.value;
    setMore({ loading: true });
    searchTraces(params).then(
      (next) => {
        setResult({
          state: 'done',
          value: {
            traces: [...prev.traces, ...next.traces],
            total: next.total,
            ...(next.nextCursor === undefined ? {} : { nextCursor: next.nextCursor }),
          },
        });
        setMore({ loading: false });
      },
      (error: unknown) => setMore({ loading: false, error }),
    );
  };

  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id].slice(-2)));

  const serviceList = services.state === 'done' ? services.value : [];
  const storeEmpty = services.state === 'done' && services.value.length === 0;

  return (
    <div className="search-page">
      <aside className="search-side">
        <h1 className="side-title">Search</h1>
        <SearchFormView initial={form} services={serviceList} onSubmit={(f) => navigate(searchUrl(f))} />
        {services.state === 'error' && <ErrorBox title="Could not load the services" error={services.error} />}
      </aside>
      <section className="search-results">
        {storeEmpty ? (
          <EmptyState />
        ) : result.state === 'loading' ? (
          <div className="loading" data-testid="loading">
            Searching…
          </div>
        ) : result.state === 'error' ? (
          <ErrorBox title="The search failed" error={result.error} />
        ) : result.value.traces.length === 0 ? (
          <div className="no-results" data-testid="no-results">
            <h2>No traces match</h2>
            <p className="muted">
              Nothing in the chosen time range meets every condition. Widen the time range, remove a filter, or check
              the attribute spelling (keys and values are suggested as you type).
            </p>
          </div>
        ) : (
          <>
            <div className="results-head">
              <h2 data-testid="result-count">
                {formatCount(result.value.traces.length)} trace{result.value.traces.length === 1 ? '' : 's'}
                {result.value.total > result.value.traces.length && (
                  <span className="muted"> of {formatCount(result.value.total)}</span>
                )}
              </h2>
              <div className="compare-bar">
                <span className="muted small">
                  {selected.length === 0
                    ? 'Tick two traces to compare them'
                    : selected.length === 1
                      ? 'Tick one more trace to compare'
                      : '2 traces selected'}
                </span>
                <button
                  type="button"
                  className="primary"
                  data-testid="compare-button"
                  disabled={selected.length !== 2}
                  onClick={() => navigate(`/compare/${selected[0]}/${selected[1]}`)}
                >
                  Compare
                </button>
              </div>
            </div>
            <div className="card">
              <Scatter traces={result.value.traces} />
            </div>
            <div className="card flush">
              <ResultsTable traces={result.value.traces} selected={selected} onToggle={toggle} />
            </div>
            {result.value.nextCursor !== undefined && (
              <div className="more">
                <button type="button" onClick={loadMore} disabled={more.loading}>
                  {more.loading ? 'Loading…' : 'Load more'}
                </button>
              </div>
            )}
            {more.error !== undefined && <ErrorBox title="Loading more failed" error={more.error} />}
          </>
        )}
      </section>
    </div>
  );
}
