/**
 * Address keys for the simulator's routing: an IPv4 address is its u32 value (a number), an IPv6
 * address is its 32 lower-case hex digits (a string). Keys are read straight from packet bytes, so
 * routing a packet never builds a dotted or colon string.
 */
import { parseIpAddress } from '@tcpls/tcp/wire';
import { getU32 } from './csum.js';

export type AddrKey = number | string;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The routing key of a textual address, or null when it is not an IPv4/IPv6 address. The text is
 * parsed by the stack's own codec (strict: see parseIpAddress), then keyed like a packet's bytes.
 */
export function addressKey(address: string): AddrKey | null {
  let b: Uint8Array;
  try {
    b = parseIpAddress(address);
  } catch {
    return null;
  }
  return b.length === 4 ? getU32(b, 0) : v6At(b, 0);
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

function v6At(p: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[p[o + i]];
  return s;
}

/** Destination address key of a raw IP packet, or null when malformed. */
export function packetDstKey(p: Uint8Array): AddrKey | null {
  const v = packetVersion(p);
  if (v === 4) return getU32(p, 16);
  if (v === 6) return v6At(p, 24);
  return null;
}

/** Source address key of a raw IP packet, or null when malformed. */
export function packetSrcKey(p: Uint8Array): AddrKey | null {
  const v = packetVersion(p);
  if (v === 4) return getU32(p, 12);
  if (v === 6) return v6At(p, 8);
  return null;
}
