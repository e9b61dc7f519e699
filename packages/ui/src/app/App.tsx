/**
 * The app shell: the top bar (pages, settings) and the router that picks the
 * page. Pages other than Search load on demand, so the first paint of a
 * search only pays for the search code.
 */
import { type ComponentType, lazy, Suspense, useEffect } from 'react';
import { type Theme, updateSettings, useSettings } from '../lib/settings.ts';
import { SearchPage } from '../search/SearchPage.tsx';
import { Link, matchRoute, type Route, useLocation } from './router.tsx';

const TracePage = lazy(() => import('../trace/TracePage.tsx').then((m) => ({ default: m.TracePage })));
const ComparePage = lazy(() => import('../compare/ComparePage.tsx').then((m) => ({ default: m.ComparePage })));
const ServicesPage = lazy(() => import('../services/ServicesPage.tsx').then((m) => ({ default: m.ServicesPage })));
const ServicePage = lazy(() => import('../services/ServicePage.tsx').then((m) => ({ default: m.ServicePage })));
const ServiceMapPage = lazy(() =>
  import('../services/ServiceMapPage.tsx').then((m) => ({ default: m.ServiceMapPage })),
);

// The "open a trace JSON file" page belongs to the trace view; it is routed only once it exists.
const openModules = import.meta.glob<{ OpenTracePage: ComponentType }>('../trace/OpenTracePage.tsx');
const openLoader = Object.values(openModules)[0];
const OpenTracePage =
  openLoader === undefined ? undefined : lazy(() => openLoader().then((m) => ({ default: m.OpenTracePage })));

function section(route: Route): string {
  switch (route.page) {
    case 'search':
    case 'trace':
      return 'search';
    case 'compare':
      return 'compare';
    case 'services':
    case 'service':
      return 'services';
    case 'map':
      return 'map';
    default:
      return '';
  }
}

function TopBar(props: { readonly active: string }) {
  const settings = useSettings();
  const nextTheme: Theme = settings.theme === 'dark' ? 'light' : 'dark';
  const links: [string, string, string][] = [
    ['search', '/search', 'Search'],
    ['compare', '/compare', 'Compare'],
    ['services', '/services', 'Services'],
    ['map', '/map', 'Map'],
  ];
  return (
    <header className="topbar">
      <Link href="/" className="brand" aria-label="Traceloom home">
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
          <path d="M3 6h18M6 12h15M9 18h12" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" />
        </svg>
        Traceloom
      </Link>
      <nav className="nav">
        {links.map(([key, href, label]) => (
          <Link key={key} href={href} className={props.active === key ? 'active' : undefined}>
            {label}
          </Link>
        ))}
        {OpenTracePage !== undefined && (
          <Link href="/open" className={props.active === 'open' ? 'active' : undefined}>
            Open JSON
          </Link>
        )}
      </nav>
      <div className="settings">
        <fieldset className="segmented" aria-label="Time zone">
          {(['local', 'utc'] as const).map((tz) => (
            <button
              key={tz}
              type="button"
              className={settings.timeZone === tz ? 'on' : undefined}
              aria-pressed={settings.timeZone === tz}
              onClick={() => updateSettings({ timeZone: tz })}
            >
              {tz === 'utc' ? 'UTC' : 'Local'}
            </button>
          ))}
        </fieldset>
        <button
          type="button"
          className="icon-button"
          data-testid="theme-toggle"
          title={`Switch to the ${nextTheme} theme`}
          aria-label={`Switch to the ${nextTheme} theme`}
          onClick={() => updateSettings({ theme: nextTheme })}
        >
          {settings.theme === 'dark' ? (
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
              <circle cx="12" cy="12" r="4.5" fill="currentColor" />
              <path
                d="M12 2v2.5M12 19.5V22M2 12h2.5M19.5 12H22M4.9 4.9l1.8 1.8M17.3 17.3l1.8 1.8M4.9 19.1l1.8-1.8M17.3 6.7l1.8-1.8"
                stroke="currentColor"
                strokeWidth="2"
                strokeLinecap="round"
              />
            </svg>
          ) : (
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
              <path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z" fill="currentColor" />
            </svg>
          )}
        </button>
      </div>
    </header>
  );
}

function ComparePicker() {
  return (
    <div className="page narrow">
      <h1>Compare traces</h1>
      <p className="muted">
        Pick two traces on the <Link href="/search">Search</Link> page (tick the boxes in the result list, then press
        Compare), or open <code>/compare/&lt;traceId&gt;/&lt;traceId&gt;</code>.
      </p>
    </div>
  );
}

function NotFound(props: { readonly path: string }) {
  return (
    <div className="page narrow">
      <h1>Page not found</h1>
      <p className="muted">
        Nothing lives at <code>{props.path}</code>. Go to <Link href="/search">Search</Link>.
      </p>
    </div>
  );
}

function Page(props: { readonly route: Route; readonly path: string }) {
  const r = props.route;
  switch (r.page) {
    case 'search':
      return <SearchPage />;
    case 'trace':
      return <TracePage key={r.traceId} traceId={r.traceId} />;
    case 'compare':
      return <ComparePage key={`${r.left}/${r.right}`} left={r.left} right={r.right} />;
    case 'services':
      return <ServicesPage />;
    case 'service':
      return <ServicePage key={r.service} service={r.service} />;
    case 'map':
      return <ServiceMapPage />;
    case 'open':
      return OpenTracePage === undefined ? <NotFound path={props.path} /> : <OpenTracePage />;
    default:
      return props.path === '/compare' ? <ComparePicker /> : <NotFound path={props.path} />;
  }
}

const TITLES: Record<Route['page'], string> = {
  search: 'Search',
  trace: 'Trace',
  compare: 'Compare',
  services: 'Services',
  service: 'Service',
  map: 'Service map',
  open: 'Open trace file',
  'not-found': 'Not found',
};

function titleOf(route: Route): string {
  if (route.page === 'trace') return `Trace ${route.traceId.slice(0, 8)}`;
  if (route.page === 'service') return route.service;
  return TITLES[route.page];
}

/** The whole app. */
export function App() {
  const location = useLocation();
  const route = matchRoute(location.pathname);
  const title = titleOf(route);
  useEffect(() => {
    document.title = `${title} · Traceloom`;
  }, [title]);
  const active = route.page === 'open' ? 'open' : location.pathname === '/compare' ? 'compare' : section(route);
  return (
    <>
      <TopBar active={active} />
      <main className="main">
        <Suspense fallback={<div className="loading">Loading…</div>}>
          <Page route={route} path={location.pathname} />
        </Suspense>
      </main>
    </>
  );
}
