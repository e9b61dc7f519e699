/**
 * Service colours: each service name maps to one hue, stable across pages and
 * reloads (a hash of the name), chosen from a palette that reads on both the
 * light and the dark theme.
 */

/** Hues spaced so that neighbours differ clearly; red (errors) is left out. */
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#b07aa1',
  '#76b7b2',
  '#e0b531',
  '#9c755f',
  '#ff8a9a',
  '#3f9fd8',
  '#499894',
  '#b6992d',
  '#d37295',
  '#8f6cd8',
  '#2f8f5b',
  '#c4663a',
  '#5a6fc0',
] as const;

const cache = new Map<string, string>();

/** FNV-1a over UTF-16 code units: fast and well spread for short names. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The colour of a service (a CSS hex colour). */
export function serviceColor(service: string): string {
  let c = cache.get(service);
  if (c === undefined) {
    c = PALETTE[hash(service) % PALETTE.length] as string;
    cache.set(service, c);
  }
  return c;
}

/** The colour that marks errors. */
export const ERROR_COLOR = '#e15759';
