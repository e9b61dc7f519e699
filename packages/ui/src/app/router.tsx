/**
 * A tiny router on the History API: the location as a hook, `navigate()` and
 * a `<Link>` that navigates without a reload (modifier clicks still open a
 * new tab).
 */
import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from 'react';

/** The current path and query string. */
export interface AppLocation {
  readonly pathname: string;
  /** With the leading `?`, or ''. */
  readonly search: string;
}

const NAVIGATE_EVENT = 'traceloom:navigate';

let snapshot: AppLocation = { pathname: window.location.pathname, search: window.location.search };

function refresh(): void {
  const { pathname, search } = window.location;
  if (pathname !== snapshot.pathname || search !== snapshot.search) snapshot = { pathname, search };
}

function subscribe(listener: () => void): () => void {
  const on = () => {
    refresh();
    listener();
  };
  window.addEventListener('popstate', on);
  window.addEventListener(NAVIGATE_EVENT, on);
  return () => {
    window.removeEventListener('popstate', on);
    window.removeEventListener(NAVIGATE_EVENT, on);
  };
}

/** The location, re-rendering on every navigation. */
export function useLocation(): AppLocation {
  return useSyncExternalStore(subscribe, () => snapshot);
}

/** Goes to `url` (a path with optional query) without reloading; `replace` keeps history short. */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  const current = window.location.pathname + window.location.search;
  if (url === current) {
    // Same URL: still tell listeners (a search submitted twice runs again).
    window.dispatchEvent(new Event(NAVIGATE_EVENT));
    return;
  }
  if (options.replace === true) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo(0, 0);
}

/** An `<a>` that navigates inside the app. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { readonly href: string }) {
  const { onClick, href, ...rest } = props;
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (props.target !== undefined && props.target !== '_self') return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} {...rest} onClick={click} />;
}

/** A matched route. */
export type Route =
  | { readonly page: 'search' }
  | { readonly page: 'trace'; readonly traceId: string }
  | { readonly page: 'compare'; readonly left: string; readonly right: string }
  | { readonly page: 'services' }
  | { readonly page: 'service'; readonly service: string }
  | { readonly page: 'map' }
  | { readonly page: 'open' }
  | { readonly page: 'not-found' };

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The route of a path. */
export function matchRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '');
  const [a, b, c] = parts;
  if (parts.length === 0 || (a === 'search' && parts.length === 1)) return { page: 'search' };
  if (a === 'trace' && b !== undefined && parts.length === 2) return { page: 'trace', traceId: decode(b) };
  if (a === 'compare' && b !== undefined && c !== undefined && parts.length === 3)
    return { page: 'compare', left: decode(b), right: decode(c) };
  if (a === 'services' && parts.length === 1) return { page: 'services' };
  if (a === 'services' && b !== undefined && parts.length === 2) return { page: 'service', service: decode(b) };
  if (a === 'map' && parts.length === 1) return { page: 'map' };
  if (a === 'open' && parts.length === 1) return { page: 'open' };
  return { page: 'not-found' };
}
