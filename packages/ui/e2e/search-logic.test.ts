/**
 * The search page's pure logic, without a browser: the form <-> URL round
 * trip (what makes a shared search URL restore the form), attribute condition
 * parsing in step with the server's parser, and duration/time formatting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAttributeCondition } from '../../server/src/api/native.ts';
import {
  formatAgo,
  formatDuration,
  formatTimestamp,
  fromDateTimeInput,
  parseDuration,
  toDateTimeInput,
} from '../src/lib/format.ts';
import {
  type AttrFilter,
  EMPTY_FORM,
  formatAttr,
  formFromQuery,
  formToParams,
  OPERATORS,
  parseAttr,
  type SearchForm,
  searchUrl,
} from '../src/search/query.ts';

/** Keys as the server allows them: no `=`, `<`, `>`, and no `!` that could start `!=` / `!~`. */
const keyArb = fc
  .string({ minLength: 1, maxLength: 20 })
  .filter((k) => !/[=<>!~]/.test(k) && !k.startsWith('exists:') && k.trim() !== '' && k === k.trim());

const filterArb: fc.Arbitrary<AttrFilter> = fc
  .record({
    scope: fc.constantFrom('any', 'span', 'resource'),
    key: keyArb.filter((k) => !k.startsWith('span.') && !k.startsWith('resource.')),
    op: fc.constantFrom(...OPERATORS),
    value: fc.string({ maxLength: 20 }),
  })
  // fast-check builds records without a prototype; spread them into plain objects for deepEqual.
  .map((f) => (f.op === 'exists' || f.op === '!exists' ? { ...f, value: '' } : { ...f }))
  // The API's syntax takes the first operator after the key, so `k=~x` is always a regex match:
  // an exact match on a value starting with `~` (or `<`/`>` followed by `=`) cannot be written.
  .filter(
    (f) => !((f.op === '=' && f.value.startsWith('~')) || ((f.op === '<' || f.op === '>') && f.value.startsWith('='))),
  );

const formArb: fc.Arbitrary<SearchForm> = fc
  .record({
    service: fc.string({ maxLength: 12 }),
    operation: fc.string({ maxLength: 12 }),
    spanKind: fc.constantFrom('', 'server', 'client', 'internal', 'producer', 'consumer'),
    attrs: fc.array(filterArb, { maxLength: 4 }),
    minDuration: fc.constantFrom('', '5ms', '1.5s', '250us'),
    maxDuration: fc.constantFrom('', '2s', '1m'),
    errorsOnly: fc.boolean(),
    lookback: fc.constantFrom('5m', '1h', '168h', 'custom'),
    start: fc.constant('2024-05-01T12:00:00.000Z'),
    end: fc.constantFrom('', '2024-05-01T13:00:00.000Z'),
    limit: fc.integer({ min: 1, max: 10_000 }),
    sort: fc.constantFrom('recent', 'longest'),
  })
  .map((f) => ({ ...f }));

/** What a form means for the search (empty texts trimmed away, custom range only with a start). */
function normalized(f: SearchForm): SearchForm {
  const custom = f.lookback === 'custom';
  return {
    ...f,
    start: custom ? f.start : '',
    end: custom ? f.end : '',
  };
}

describe('search URL', () => {
  it('restores every form from its URL (property)', () => {
    fc.assert(
      fc.property(formArb, (form) => {
        const url = searchUrl(form);
        const back = formFromQuery(url.slice(url.indexOf('?') < 0 ? url.length : url.indexOf('?')));
        assert.deepEqual(back, normalized(form));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves defaults out of the URL', () => {
    assert.equal(searchUrl(EMPTY_FORM), '/search');
    assert.equal(
      searchUrl({
        ...EMPTY_FORM,
        service: 'cart',
        attrs: [{ scope: 'resource', key: 'k8s.ns', op: '=', value: 'prod' }],
      }),
      '/search?service=cart&attr=resource.k8s.ns%3Dprod',
    );
  });

  it('drops incomplete attribute rows and ignores unknown or bad parameters', () => {
    const p = formToParams({ ...EMPTY_FORM, attrs: [{ scope: 'any', key: '  ', op: '=', value: 'x' }] });
    assert.equal(p.toString(), '');
    const f = formFromQuery('?limit=0&attr=novalue&sort=sideways&x=1');
    assert.equal(f.limit, EMPTY_FORM.limit);
    assert.deepEqual(f.attrs, []);
    assert.equal(f.sort, 'recent');
  });

  it('parses attribute conditions the way the server does (property)', () => {
    fc.assert(
      fc.property(filterArb, (f) => {
        const text = formatAttr(f);
        const ui = parseAttr(text);
        assert.deepEqual(ui, f);
        // The server must read the same key, operator and scope from the same text.
        let server: ReturnType<typeof parseAttributeCondition>;
        try {
          server = parseAttributeCondition(text);
        } catch {
          // Numeric operators with a non-number value are refused by the server: the UI shows that error.
          assert.ok(['<', '<=', '>', '>=', '=~', '!~'].includes(f.op), `server refused ${text}`);
          return;
        }
        assert.equal(server.key, f.key);
        assert.equal(server.op, f.op);
        assert.equal(server.scope, f.scope);
      }),
      { numRuns: 500 },
    );
  });
});

describe('formatting', () => {
  it('writes durations in readable units', () => {
    const cases: [number, string][] = [
      [0, '0µs'],
      [0.85, '850ns'],
      [12.345, '12.3µs'],
      [999.7, '1ms'],
      [1234, '1.23ms'],
      [45_600, '45.6ms'],
      [1_234_567, '1.23s'],
      [59_999_000, '1m'],
      [125_000_000, '2m 5s'],
      [3_720_000_000, '1h 2m'],
      [-1500, '-1.5ms'],
    ];
    for (const [us, text] of cases) assert.equal(formatDuration(us), text, `${us} µs`);
  });

  it('parses the durations the form accepts', () => {
    assert.equal(parseDuration('250'), 250_000, 'a bare number is milliseconds');
    assert.equal(parseDuration('1.5s'), 1_500_000);
    assert.equal(parseDuration('1h30m'), 5_400_000_000);
    assert.equal(parseDuration('800us'), 800);
    assert.equal(parseDuration('fast'), undefined);
    assert.equal(parseDuration('5 ms'), undefined);
    assert.equal(parseDuration(''), undefined);
  });

  it('shows timestamps in UTC or local time', () => {
    const us = Date.UTC(2024, 4, 1, 12, 0, 3, 123) * 1000 + 456;
    assert.equal(formatTimestamp(us, 'utc'), '2024-05-01 12:00:03.123 UTC');
    const d = new Date(Date.UTC(2024, 4, 1, 12, 0, 3, 123));
    const pad = (n: number) => String(n).padStart(2, '0');
    assert.equal(
      formatTimestamp(us, 'local'),
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:03.123`,
    );
    assert.equal(formatAgo(us, Date.UTC(2024, 4, 1, 12, 5, 3)), '5m ago');
  });

  it('round-trips custom range inputs in both zones', () => {
    const ms = Date.UTC(2024, 4, 1, 12, 34);
    for (const tz of ['utc', 'local'] as const) {
      assert.equal(fromDateTimeInput(toDateTimeInput(ms, tz), tz), ms, tz);
    }
    assert.equal(toDateTimeInput(ms, 'utc'), '2024-05-01T12:34');
  });
});
