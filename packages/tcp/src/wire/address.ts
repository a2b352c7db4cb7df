/**
 * IPv4 and IPv6 address text <-> bytes.
 *
 * Parsing is strict, as node:net's isIP is: IPv4 is exactly four decimal parts 0..255 without
 * leading zeros (a leading zero is octal to inet_aton, so "010.0.0.1" is ambiguous and refused);
 * IPv6 is RFC 4291 section 2.2 text (hex groups of 1..4 digits, at most one "::", an optional
 * dotted IPv4 tail). Zone identifiers ("fe80::1%eth0") are refused: a zone is not part of the
 * 16 address bytes a packet carries. Anything else throws WireError('bad-address').
 *
 * Formatting follows RFC 5952 section 4 (lower case, no leading zeros, the longest run of two or
 * more zero groups compressed, the first one on a tie) and prints the dotted IPv4 tail exactly
 * where node:net (libuv's inet_ntop) does: "::a.b.c.d" when the first six groups are zero, and
 * "::ffff:a.b.c.d" for IPv4-mapped addresses (RFC 5952 section 5).
 */
import { WireError } from './types.js';

/** Longest legal text: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is 45 characters. */
const MAX_ADDRESS_TEXT = 45;

function badAddress(s: unknown, why: string): WireError {
  const shown = typeof s === 'string' ? JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s) : String(s);
  return new WireError('bad-address', `bad IP address ${shown}: ${why}`);
}

/**
 * Parses dotted-quad text from s[start, end) into out[off..off+4). Returns false instead of
 * throwing so that the IPv6 parser can reuse it for its tail.
 */
function parseDotted(s: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let part = 0;
  let i = start;
  while (part < 4) {
    let value = 0;
    let digits = 0;
    const first = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      digits++;
      i++;
      if (digits > 3) return false;
    }
    if (digits === 0 || value > 255) return false;
    if (digits > 1 && s.charCodeAt(first) === 0x30) return false; // leading zero: octal to inet_aton
    out[off + part] = value;
    part++;
    if (part < 4) {
      if (i >= end || s.charCodeAt(i) !== 0x2e) return false;
      i++;
    }
  }
  return i === end;
}

/** Parses "a.b.c.d" into 4 fresh bytes. */
export function parseIpv4Address(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length > 15) throw badAddress(s, 'not dotted-quad IPv4 text');
  const out = new Uint8Array(4);
  if (!parseDotted(s, 0, s.length, out, 0)) throw badAddress(s, 'expected four decimal parts 0..255 without leading zeros');
  return out;
}

/** Formats the 4 bytes at b[off] as "a.b.c.d". */
export function formatIpv4Address(b: Uint8Array, off = 0): string {
  if (off < 0 || off + 4 > b.length) throw badAddress(`<${b.length} bytes at ${off}>`, 'fewer than 4 bytes');
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20; // ASCII lower case
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Parses IPv6 text (RFC 4291 section 2.2, incl. "::" and a dotted IPv4 tail) into 16 fresh bytes. */
export function parseIpv6Address(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length < 2 || s.length > MAX_ADDRESS_TEXT) throw badAddress(s, 'not IPv6 text');
  const out = new Uint8Array(16);
  const n = s.length;
  // Groups before "::" go to words[0..], groups after it are collected and moved to the end.
  const words = new Array<number>(8);
  let count = 0;
  let gap = -1; // index in words where "::" stands
  let i = 0;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) throw badAddress(s, 'a leading ":" must be part of "::"');
    gap = 0;
    i = 2;
  }
  while (i < n) {
    if (count >= 8) throw badAddress(s, 'more than 8 groups');
    let value = 0;
    let digits = 0;
    const start = i;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      digits++;
      i++;
      if (digits > 4) throw badAddress(s, 'a group has more than 4 hex digits');
    }
    if (i < n && s.charCodeAt(i) === 0x2e) {
      // Dotted IPv4 tail: it must be the last thing and take the place of two groups.
      if (count > 6) throw badAddress(s, 'no room for an IPv4 tail');
      const tmp = new Uint8Array(4);
      if (!parseDotted(s, start, n, tmp, 0)) throw badAddress(s, 'bad embedded IPv4 address');
      words[count++] = (tmp[0] << 8) | tmp[1];
      words[count++] = (tmp[2] << 8) | tmp[3];
      i = n;
      break;
    }
    if (digits === 0) throw badAddress(s, 'empty group');
    words[count++] = value;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) throw badAddress(s, `unexpected character ${JSON.stringify(s[i])}`);
    i++;
    if (i < n && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) throw badAddress(s, 'more than one "::"');
      gap = count;
      i++;
    } else if (i === n) {
      throw badAddress(s, 'a trailing ":" must be part of "::"');
    }
  }
  if (gap < 0) {
    if (count !== 8) throw badAddress(s, `expected 8 groups, got ${count}`);
  } else if (count > 7) {
    // "::" stands for at least one zero group (RFC 4291 section 2.2, item 2).
    throw badAddress(s, '"::" with 8 other groups');
  }
  // Place words: before the gap as they are, after the gap right-aligned.
  const after = gap < 0 ? 0 : count - gap;
  for (let w = 0; w < count; w++) {
    const pos = gap < 0 || w < gap ? w : 8 - after + (w - gap);
    out[pos * 2] = words[w] >>> 8;
    out[pos * 2 + 1] = words[w] & 0xff;
  }
  return out;
}

/** Formats the 16 bytes at b[off] in RFC 5952 canonical form, as node:net prints addresses. */
export function formatIpv6Address(b: Uint8Array, off = 0): string {
  if (off < 0 || off + 16 > b.length) throw badAddress(`<${b.length} bytes at ${off}>`, 'fewer than 16 bytes');
  // Find the longest run of zero groups (first on a tie), RFC 5952 section 4.2.
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let w = 0; w <= 8; w++) {
    const zero = w < 8 && b[off + 2 * w] === 0 && b[off + 2 * w + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = w;
    } else if (runStart >= 0) {
      if (w - runStart > bestLen) {
        bestLen = w - runStart;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1; // a single zero group is never compressed (section 4.2.2)
  // Dotted tail where libuv prints one: ::a.b.c.d and ::ffff:a.b.c.d.
  const dotted =
    bestStart === 0 &&
    (bestLen === 6 || (bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff));
  const lastWord = dotted ? 6 : 8;
  let text = '';
  let w = 0;
  while (w < lastWord) {
    if (w === bestStart) {
      text += '::';
      w += bestLen;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    text += ((b[off + 2 * w] << 8) | b[off + 2 * w + 1]).toString(16);
    w++;
  }
  if (dotted) {
    if (!text.endsWith(':')) text += ':';
    text += `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  return text;
}

/** 4 or 6, by the text's shape (a ":" means IPv6); the text is fully validated. */
export function ipVersionOf(s: string): 4 | 6 {
  if (typeof s !== 'string') throw badAddress(s, 'not a string');
  if (s.indexOf(':') >= 0) {
    parseIpv6Address(s);
    return 6;
  }
  parseIpv4Address(s);
  return 4;
}

/** Parses IPv4 (4 bytes) or IPv6 (16 bytes) text. */
export function parseIpAddress(s: string): Uint8Array {
  if (typeof s !== 'string') throw badAddress(s, 'not a string');
  return s.indexOf(':') >= 0 ? parseIpv6Address(s) : parseIpv4Address(s);
}

/** Formats 4 bytes as IPv4 or 16 bytes as IPv6 text. */
export function formatIpAddress(b: Uint8Array): string {
  if (b.length === 4) return formatIpv4Address(b, 0);
  if (b.length === 16) return formatIpv6Address(b, 0);
  throw badAddress(`<${b.length} bytes>`, 'an IP address is 4 or 16 bytes');
}

/**
 * Address bytes for the hot path (build/emit), memoised: stacks talk to few peers, and parsing the
 * same text for every packet would dominate the cost of building small segments. The returned
 * array is shared and must not be modified. The cache is bounded and simply restarts when full.
 */
const addressCache = new Map<string, Uint8Array>();
const ADDRESS_CACHE_MAX = 1024;

export function addressBytes(a: string | Uint8Array): Uint8Array {
  if (typeof a !== 'string') {
    if (a instanceof Uint8Array && (a.length === 4 || a.length === 16)) return a;
    throw badAddress(a instanceof Uint8Array ? `<${a.length} bytes>` : a, 'an IP address is text, or 4 or 16 bytes');
  }
  let bytes = addressCache.get(a);
  if (bytes === undefined) {
    bytes = parseIpAddress(a);
    if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
    addressCache.set(a, bytes);
  }
  return bytes;
}
