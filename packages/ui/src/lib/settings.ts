/**
 * User settings (theme, time zone), kept in localStorage under
 * {@link SETTINGS_KEY} as JSON. The theme is reflected on `<html data-theme>`
 * so CSS variables switch; a `traceloom:settings` window event (or a change in
 * another tab) makes every component re-read them.
 */
import { useSyncExternalStore } from 'react';
import type { TimeZoneSetting } from './format.ts';

export type Theme = 'light' | 'dark';

/** The settings the user can change. */
export interface Settings {
  readonly theme: Theme;
  readonly timeZone: TimeZoneSetting;
}

/** localStorage key. */
export const SETTINGS_KEY = 'traceloom.settings';
/** Window event that makes the UI re-read the settings. */
export const SETTINGS_EVENT = 'traceloom:settings';

function systemTheme(): Theme {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches
    ? 'dark'
    : 'light';
}

function read(): Settings {
  let raw: unknown;
  try {
    raw = JSON.parse(window.localStorage.getItem(SETTINGS_KEY) ?? 'null');
  } catch {
    raw = null;
  }
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  return {
    theme: o.theme === 'dark' || o.theme === 'light' ? o.theme : systemTheme(),
    timeZone: o.timeZone === 'utc' ? 'utc' : 'local',
  };
}

let current: Settings = read();
const listeners = new Set<() => void>();

function apply(): void {
  document.documentElement.dataset.theme = current.theme;
  document.documentElement.style.colorScheme = current.theme;
}

function reload(): void {
  const next = read();
  if (next.theme === current.theme && next.timeZone === current.timeZone) return;
  current = next;
  apply();
  for (const l of listeners) l();
}

apply();
window.addEventListener(SETTINGS_EVENT, reload);
window.addEventListener('storage', (e) => {
  if (e.key === SETTINGS_KEY) reload();
});

/** The settings now. */
export function getSettings(): Settings {
  return current;
}

/** Changes some settings, stores them and tells every component. */
export function updateSettings(change: Partial<Settings>): void {
  current = { ...current, ...change };
  try {
    window.localStorage.setItem(SETTINGS_KEY, JSON.stringify(current));
  } catch {
    // Private mode or a full quota: the setting still applies to this page.
  }
  apply();
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The settings, re-rendering the component when they change. */
export function useSettings(): Settings {
  return useSyncExternalStore(subscribe, getSettings);
}
