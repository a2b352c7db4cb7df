/**
 * Address keys for the simulator's routing: an IPv4 address is its u32 value (a number), an IPv6
 * address is its 32 lower-case hex digits (a string). Keys are read straight from packet bytes, so
 * routing a packet never builds a dotted or colon string.
 */

export type AddrKey = number | string;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function parseV4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

function parseV6Hex(s: string): string | null {
  let str = s;
  let tail: string[] = [];
  // An embedded IPv4 tail ("::ffff:10.0.0.1") counts as two groups.
  const lastColon = str.lastIndexOf(':');
  if (str.includes('.', lastColon)) {
    const v4 = parseV4(str.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [((v4 >>> 16) & 0xffff).toString(16), (v4 & 0xffff).toString(16)];
    str = str.slice(0, lastColon + 1) + '0'; // placeholder group, replaced below
  }
  const dbl = str.indexOf('::');
  if (dbl !== str.lastIndexOf('::')) return null;
  let groups: string[];
  const splitGroups = (x: string): string[] => (x === '' ? [] : x.split(':'));
  if (dbl >= 0) {
    const head = splitGroups(str.slice(0, dbl));
    const rest = splitGroups(str.slice(dbl + 2));
    const missing = 8 - head.length - rest.length - (tail.length ? 1 : 0);
    if (missing < 1) return null;
    groups = [...head, ...Array(missing).fill('0'), ...rest];
  } else {
    groups = splitGroups(str);
    if (groups.length !== 8 - (tail.length ? 1 : 0)) return null;
  }
  if (tail.length) groups = [...groups.slice(0, groups.length - 1), ...tail];
  if (groups.length !== 8) return null;
  let out = '';
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    out += g.toLowerCase().padStart(4, '0');
  }
  return out;
}

/** The routing key of a textual address, or null when it is not an IPv4/IPv6 address. */
export function addressKey(address: string): AddrKey | null {
  if (address.includes(':')) return parseV6Hex(address);
  return parseV4(address);
}

/** A prefix (CIDR) as used by route entries. */
export interface Prefix {
  family: 4 | 6;
  key: AddrKey;
  bits: number;
}

export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const key = addressKey(addr);
  if (key === null) return null;
  const family = typeof key === 'number' ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) return null;
    bits = Number(b);
  }
  return { family, key, bits };
}

export function prefixMatches(p: Prefix, key: AddrKey): boolean {
  if (typeof key === 'number') {
    if (p.family !== 4) return false;
    if (p.bits === 0) return true;
    const shift = 32 - p.bits;
    // Division instead of >>> so that a /0..32 shift never wraps (x >>> 32 === x).
    return Math.floor(key / 2 ** shift) === Math.floor((p.key as number) / 2 ** shift);
  }
  if (p.family !== 6) return false;
  const pk = p.key as string;
  const nibbles = p.bits >> 2;
  if (key.slice(0, nibbles) !== pk.slice(0, nibbles)) return false;
  const rem = p.bits & 3;
  if (rem === 0) return true;
  const mask = (0xf << (4 - rem)) & 0xf;
  return (parseInt(key[nibbles], 16) & mask) === (parseInt(pk[nibbles], 16) & mask);
}

/** IP version of a raw packet (4 or 6), or 0 when the packet is too short for its header. */
export function packetVersion(p: Uint8Array): 0 | 4 | 6 {
  if (p.length < 1) return 0;
  const v = p[0] >> 4;
  if (v === 4) return p.length >= 20 ? 4 : 0;
  if (v === 6) return p.length >= 40 ? 6 : 0;
  return 0;
}

function v4At(p: Uint8Array, o: number): number {
  return p[o] * 0x1000000 + ((p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3]);
}

function v6At(p: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[p[o + i]];
  return s;
}

/** Destination address key of a raw IP packet, or null when malformed. */
export function packetDstKey(p: Uint8Array): AddrKey | null {
  const v = packetVersion(p);
  if (v === 4) return v4At(p, 16);
  if (v === 6) return v6At(p, 24);
  return null;
}

/** Source address key of a raw IP packet, or null when malformed. */
export function packetSrcKey(p: Uint8Array): AddrKey | null {
  const v = packetVersion(p);
  if (v === 4) return v4At(p, 12);
  if (v === 6) return v6At(p, 8);
  return null;
}
