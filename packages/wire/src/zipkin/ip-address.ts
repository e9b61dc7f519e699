/**
 * IP address text <-> bytes for Zipkin endpoints. Zipkin JSON carries
 * addresses as text and Zipkin proto3 as 4 or 16 raw bytes (`Endpoint.ipv4`,
 * `Endpoint.ipv6`), so the proto codec converts both ways. No `node:net`: the
 * wire package also runs in browsers.
 */

/** Dotted-quad text of 4 bytes. */
export function formatIpv4(b: Uint8Array, start = 0): string {
  return `${b[start]}.${b[start + 1]}.${b[start + 2]}.${b[start + 3]}`;
}

/**
 * RFC 5952 text of 16 bytes: lowercase, no leading zeros, the longest run of
 * two or more zero groups (the first one on a tie) shortened to `::`, and an
 * IPv4-mapped address (`::ffff:0:0/96`) written with a dotted tail (RFC 5952
 * section 5).
 */
export function formatIpv6(b: Uint8Array, start = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[start + 2 * i] as number) << 8) | (b[start + 2 * i + 1] as number));
  let mapped = groups[5] === 0xffff;
  for (let i = 0; i < 5 && mapped; i++) if (groups[i] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIpv4(b, start + 12)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}

function hex(n: number): string {
  return n.toString(16);
}

/**
 * The 4 bytes of a dotted-quad IPv4 address, or `undefined` when `s` is not
 * one. Leading zeros are refused, as Go's `net.ParseIP` does since Go 1.17,
 * because some parsers read them as octal.
 */
export function parseIpv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return parseIpv4Into(s, 0, s.length, out, 0) ? out : undefined;
}

function parseIpv4Into(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46; // a virtual '.' closes the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits > 0 && value === 0) return false; // leading zero
    value = value * 10 + (c - 48);
    if (++digits > 3 || value > 255) return false;
  }
  return part === 4;
}

/**
 * The 16 bytes of an IPv6 address in any RFC 4291 text form (`::`
 * shortening, a dotted IPv4 tail), or `undefined` when `s` is not one. Zone
 * suffixes (`%eth0`) are refused: Zipkin's 16 bytes cannot carry them.
 */
export function parseIpv6(s: string): Uint8Array | undefined {
  const n = s.length;
  if (n < 2 || n > 45) return undefined;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
    if (i === n) return new Uint8Array(16);
  }
  const out = new Uint8Array(16);
  while (i < n) {
    if (groups.length >= 8) return undefined;
    let j = i;
    let v = 0;
    while (j < n && j - i < 5) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // A dotted IPv4 tail takes the last two groups.
      if (groups.length > 6 || !parseIpv4Into(s, i, n, out, 12)) return undefined;
      groups.push(((out[12] as number) << 8) | (out[13] as number), ((out[14] as number) << 8) | (out[15] as number));
      i = n;
      break;
    }
    if (j === i || j - i > 4) return undefined;
    groups.push(v);
    i = j;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i++;
    } else if (i === n) return undefined; // trailing single ':'
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  const fill = 8 - groups.length;
  for (let g = 0, k = 0; g < 8; g++) {
    const v = gap >= 0 && g >= gap && g < gap + fill ? 0 : (groups[k++] as number);
    out[2 * g] = v >> 8;
    out[2 * g + 1] = v & 0xff;
  }
  return out;
}
