/**
 * The search form's state and its URL. The URL is the single source of truth:
 * submitting the form navigates to `/search?<params>`, and the page reads the
 * form back from the URL and runs the search, so any search can be shared or
 * bookmarked. The parameter names are the search API's (`/api/v1/search`),
 * which keeps the URL readable and the translation trivial.
 */

/** Attribute comparison operators the API accepts. */
export const OPERATORS = ['=', '!=', '=~', '!~', '<', '<=', '>', '>=', 'exists', '!exists'] as const;
export type Operator = (typeof OPERATORS)[number];

export type AttrScope = 'any' | 'span' | 'resource';

/** One attribute condition of the form. */
export interface AttrFilter {
  readonly scope: AttrScope;
  readonly key: string;
  readonly op: Operator;
  readonly value: string;
}

/** Time range presets (Go durations, as the API's `lookback` takes them). */
export const RANGE_PRESETS: readonly { readonly value: string; readonly label: string }[] = [
  { value: '5m', label: 'Last 5 minutes' },
  { value: '15m', label: 'Last 15 minutes' },
  { value: '30m', label: 'Last 30 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '3h', label: 'Last 3 hours' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '12h', label: 'Last 12 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '48h', label: 'Last 2 days' },
  { value: '168h', label: 'Last 7 days' },
];

/** The lookback used when the URL names none. */
export const DEFAULT_LOOKBACK = '1h';
/** The result count used when the URL names none. */
export const DEFAULT_LIMIT = 20;
/** The largest limit the API takes. */
export const MAX_LIMIT = 10_000;

/** Everything the search form holds. */
export interface SearchForm {
  readonly service: string;
  readonly operation: string;
  /** A span kind name (`server`) or ''. */
  readonly spanKind: string;
  readonly attrs: readonly AttrFilter[];
  /** Durations as typed (`150ms`, `1.5s`). */
  readonly minDuration: string;
  readonly maxDuration: string;
  readonly errorsOnly: boolean;
  /** A preset's value, or `custom` for `start`/`end`. */
  readonly lookback: string;
  /** RFC 3339, only with `lookback` `custom`. */
  readonly start: string;
  readonly end: string;
  readonly limit: number;
  readonly sort: 'recent' | 'longest';
}

/** An empty form: every service, the last hour, 20 results. */
export const EMPTY_FORM: SearchForm = {
  service: '',
  operation: '',
  spanKind: '',
  attrs: [],
  minDuration: '',
  maxDuration: '',
  errorsOnly: false,
  lookback: DEFAULT_LOOKBACK,
  start: '',
  end: '',
  limit: DEFAULT_LIMIT,
  sort: 'recent',
};

const TWO_CHAR: readonly Operator[] = ['!=', '=~', '!~', '<=', '>='];
const ONE_CHAR: readonly Operator[] = ['=', '<', '>'];

/**
 * Parses one `attr` parameter (`resource.k8s.namespace=prod`,
 * `http.status_code>=500`, `exists:error.type`) the way the server does: the
 * operator is the first one after the key.
 */
export function parseAttr(text: string): AttrFilter | undefined {
  let op: Operator | undefined;
  let key: string;
  let value = '';
  if (text.startsWith('exists:') || text.startsWith('!exists:')) {
    op = text.startsWith('!') ? '!exists' : 'exists';
    key = text.slice(text.indexOf(':') + 1);
  } else {
    let at = -1;
    for (let i = 1; i < text.length && op === undefined; i++) {
      const two = text.slice(i, i + 2) as Operator;
      if (TWO_CHAR.includes(two)) {
        op = two;
        at = i;
      } else if (ONE_CHAR.includes(text[i] as Operator)) {
        op = text[i] as Operator;
        at = i;
      }
    }
    if (op === undefined) return undefined;
    key = text.slice(0, at);
    value = text.slice(at + op.length);
  }
  let scope: AttrScope = 'any';
  if (key.startsWith('resource.')) {
    scope = 'resource';
    key = key.slice('resource.'.length);
  } else if (key.startsWith('span.')) {
    scope = 'span';
    key = key.slice('span.'.length);
  }
  if (key === '') return undefined;
  return { scope, key, op, value };
}

/** The `attr` parameter of one filter; '' when the filter is incomplete. */
export function formatAttr(f: AttrFilter): string {
  const key = f.key.trim();
  if (key === '') return '';
  const scoped = f.scope === 'any' ? key : `${f.scope}.${key}`;
  if (f.op === 'exists' || f.op === '!exists') return `${f.op}:${scoped}`;
  return `${scoped}${f.op}${f.value}`;
}

/** The form held by a URL's query string. */
export function formFromQuery(search: string): SearchForm {
  const p = new URLSearchParams(search);
  const attrs: AttrFilter[] = [];
  for (const a of p.getAll('attr')) {
    const f = parseAttr(a);
    if (f !== undefined) attrs.push(f);
  }
  const limitText = p.get('limit');
  const limit = limitText === null ? Number.NaN : Number(limitText);
  const start = p.get('start') ?? '';
  const end = p.get('end') ?? '';
  const lookback = start !== '' ? 'custom' : (p.get('lookback') ?? DEFAULT_LOOKBACK);
  return {
    service: p.get('service') ?? '',
    operation: p.get('operation') ?? '',
    spanKind: p.get('spanKind') ?? '',
    attrs,
    minDuration: p.get('minDuration') ?? '',
    maxDuration: p.get('maxDuration') ?? '',
    errorsOnly: p.get('errors') === 'true',
    lookback,
    start,
    end,
    limit: Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT ? limit : DEFAULT_LIMIT,
    sort: p.get('sort') === 'longest' ? 'longest' : 'recent',
  };
}

/**
 * The query parameters of a form: both the page URL's and the search API's.
 * Defaults are left out so that URLs stay short.
 */
export function formToParams(form: SearchForm): URLSearchParams {
  const p = new URLSearchParams();
  if (form.service !== '') p.set('service', form.service);
  if (form.operation !== '') p.set('operation', form.operation);
  if (form.spanKind !== '') p.set('spanKind', form.spanKind);
  for (const a of form.attrs) {
    const text = formatAttr(a);
    if (text !== '') p.append('attr', text);
  }
  if (form.minDuration.trim() !== '') p.set('minDuration', form.minDuration.trim());
  if (form.maxDuration.trim() !== '') p.set('maxDuration', form.maxDuration.trim());
  if (form.errorsOnly) p.set('errors', 'true');
  if (form.lookback === 'custom' && form.start !== '') {
    p.set('start', form.start);
    if (form.end !== '') p.set('end', form.end);
  } else if (form.lookback !== DEFAULT_LOOKBACK && form.lookback !== 'custom') {
    p.set('lookback', form.lookback);
  }
  if (form.limit !== DEFAULT_LIMIT) p.set('limit', String(form.limit));
  if (form.sort !== 'recent') p.set('sort', form.sort);
  return p;
}

/** The page URL of a form. */
export function searchUrl(form: SearchForm): string {
  const q = formToParams(form).toString();
  return q === '' ? '/search' : `/search?${q}`;
}

/**
 * Durations in the form may be typed as a bare number of milliseconds (`250`);
 * the API wants a unit.
 */
export function normalizeDurationText(text: string): string {
  const t = text.trim();
  return /^\d+(\.\d+)?$/.test(t) ? `${t}ms` : t;
}
