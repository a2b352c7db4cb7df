/**
 * Built-in middleboxes for simulated links. Each rewrites packets in place the way deployed boxes do
 * (Linux TCPMSS / TCPOPTSTRIP, nftables `tcp option … set/reset`, sequence-number randomising
 * firewalls, ECN bleaching routers) and fixes the checksums incrementally (RFC 1624), so every byte
 * that the box does not mean to change stays identical.
 *
 * They locate the TCP header by offsets instead of parsing the packet into a repr: a middlebox runs
 * on every packet of 100 MB transfers, and a full parse would build address strings and option
 * objects each time. Packets they do not understand (not TCP, fragments, malformed headers or
 * options) pass unchanged, as through a box that only handles what it recognises.
 */
import { getU32, setByte, setU32, setWord16 } from './csum.js';
import { packetDstKey, packetSrcKey } from './addr.js';
import type { Middlebox, MiddleboxContext, SimDirection } from './middlebox-types.js';
import type { SimRandom } from './random.js';

const TCP = 6;
const FLAG_SYN = 0x02;
const FLAG_ACK = 0x10;
const FLAG_ECE = 0x40;
const FLAG_CWR = 0x80;

/**
 * Offset of the TCP header in an IPv4/IPv6 packet, or -1 when the packet is not a complete,
 * unfragmented TCP segment with a sane data offset.
 */
export function locateTcp(p: Uint8Array): number {
  if (p.length < 1) return -1;
  const version = p[0] >> 4;
  let off: number;
  let end: number;
  if (version === 4) {
    if (p.length < 20) return -1;
    const ihl = (p[0] & 0x0f) * 4;
    const total = (p[2] << 8) | p[3];
    if (ihl < 20 || total < ihl || total > p.length) return -1;
    if (p[9] !== TCP) return -1;
    // More-fragments flag or a fragment offset: not a whole segment (RFC 791 §3.1).
    if ((p[6] & 0x20) !== 0 || (((p[6] & 0x1f) << 8) | p[7]) !== 0) return -1;
    off = ihl;
    end = total;
  } else if (version === 6) {
    if (p.length < 40) return -1;
    end = 40 + ((p[4] << 8) | p[5]);
    if (end > p.length) return -1;
    let next = p[6];
    off = 40;
    // Skip Hop-by-Hop (0), Routing (43) and Destination Options (60) headers (RFC 8200 §4); a
    // Fragment header (44) or anything else ends the search.
    for (let n = 0; n < 8 && (next === 0 || next === 43 || next === 60); n++) {
      if (off + 8 > end) return -1;
      const len = (p[off + 1] + 1) * 8;
      next = p[off];
      off += len;
    }
    if (next !== TCP) return -1;
  } else {
    return -1;
  }
  if (off + 20 > end) return -1;
  const doff = (p[off + 12] >> 4) * 4;
  if (doff < 20 || off + doff > end) return -1;
  return off;
}

/**
 * Scans the options of the TCP header at `t` into OPT_STARTS / OPT_KINDS / OPT_LENS (module-level
 * scratch arrays, so the per-packet path allocates nothing) and returns how many there are. NOP and
 * EOL are skipped; the scan stops at EOL or at a malformed option (what follows is not trusted).
 * At most 20 options fit in the 40-byte option space.
 */
const OPT_STARTS = new Int32Array(20);
const OPT_KINDS = new Uint8Array(20);
const OPT_LENS = new Uint8Array(20);
function scanOptions(p: Uint8Array, t: number): number {
  const end = t + (p[t + 12] >> 4) * 4;
  let i = t + 20;
  let n = 0;
  while (i < end) {
    const kind = p[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const len = p[i + 1];
    if (len < 2 || i + len > end) break;
    OPT_STARTS[n] = i;
    OPT_KINDS[n] = kind;
    OPT_LENS[n] = len;
    n++;
    i += len;
  }
  return n;
}

/** Whether `off` is the high byte of a 16-bit word of the segment starting at `t`. */
function even(off: number, t: number): boolean {
  return ((off - t) & 1) === 0;
}

/** Rewrites a 16-bit value anywhere in the TCP segment at `t` (any alignment), fixing the checksum. */
function setTcp16(p: Uint8Array, t: number, off: number, value: number): void {
  if (even(off, t)) setWord16(p, off, value, t + 16, true);
  else {
    setByte(p, off, (value >> 8) & 0xff, t + 16, false);
    setByte(p, off + 1, value & 0xff, t + 16, true);
  }
}

function setTcp32(p: Uint8Array, t: number, off: number, value: number): void {
  if (even(off, t)) setU32(p, off, value, t + 16, true);
  else {
    setTcp16(p, t, off, (value >>> 16) & 0xffff);
    setTcp16(p, t, off + 2, value & 0xffff);
  }
}

/**
 * MSS clamping on SYN and SYN-ACK: an MSS option larger than `mss` is lowered to it; smaller ones
 * stay (like nftables `tcp option maxseg size set rt mtu` / iptables TCPMSS --set-mss, which never
 * raise). A SYN without an MSS option is left alone (the nftables behaviour; TCPMSS would insert one).
 */
export function mssClamp(mss: number): Middlebox {
  if (!Number.isInteger(mss) || mss < 1 || mss > 0xffff) throw new RangeError(`mss must be 1..65535, got ${mss}`);
  return (p) => {
    const t = locateTcp(p);
    if (t < 0 || (p[t + 13] & FLAG_SYN) === 0) return p;
    const n = scanOptions(p, t);
    for (let k = 0; k < n; k++) {
      if (OPT_KINDS[k] !== 2 || OPT_LENS[k] !== 4) continue;
      const start = OPT_STARTS[k];
      const v = (p[start + 2] << 8) | p[start + 3];
      if (v > mss) setTcp16(p, t, start + 2, mss);
    }
    return p;
  };
}

/**
 * Replaces every option of the given kinds with NOPs, keeping the header length — what Linux
 * TCPOPTSTRIP and nftables `reset tcp option` do — on every segment, in both directions.
 */
export function stripOptions(kinds: readonly number[]): Middlebox {
  const strip = new Uint8Array(256);
  for (const k of kinds) {
    if (!Number.isInteger(k) || k < 2 || k > 255) throw new RangeError(`option kind must be 2..255 (EOL/NOP cannot be stripped), got ${k}`);
    strip[k] = 1;
  }
  return (p) => {
    const t = locateTcp(p);
    if (t < 0) return p;
    const n = scanOptions(p, t);
    for (let k = 0; k < n; k++) {
      if (!strip[OPT_KINDS[k]]) continue;
      const start = OPT_STARTS[k];
      const end = start + OPT_LENS[k];
      for (let i = start; i < end; i++) setByte(p, i, 1, t + 16, even(i, t));
    }
    return p;
  };
}

/**
 * Drops SYN and SYN-ACK segments that carry any option of the given kinds, like boxes that discard
 * connection attempts with options they do not know (the TCP client then retries without them).
 */
export function dropSynOptions(kinds: readonly number[]): Middlebox {
  const set = new Set(kinds);
  return (p) => {
    const t = locateTcp(p);
    if (t < 0 || (p[t + 13] & FLAG_SYN) === 0) return p;
    const n = scanOptions(p, t);
    for (let k = 0; k < n; k++) if (set.has(OPT_KINDS[k])) return null;
    return p;
  };
}

/** Per-connection delta chosen when the connection is first seen in the forward direction. */
export type IsnDelta = number | ((random: SimRandom) => number);

/** Bound on the connections an isnShift box remembers (oldest forgotten first). */
const MAX_TRACKED = 65536;

/** Key of a flow in its forward orientation: forward packets use (src,dst), reverse ones (dst,src). */
function flowKey(p: Uint8Array, t: number, dir: SimDirection): string {
  const s = packetSrcKey(p);
  const d = packetDstKey(p);
  const sp = (p[t] << 8) | p[t + 1];
  const dp = (p[t + 2] << 8) | p[t + 3];
  return dir === 'forward' ? `${s}/${sp}>${d}/${dp}` : `${d}/${dp}>${s}/${sp}`;
}

/**
 * Sequence-number shifting, as done by ISN-randomising firewalls: in the forward direction the
 * sequence number gets +delta, in the reverse direction the acknowledgment number (when ACK is set)
 * and the SACK blocks (RFC 2018) get -delta, so both ends keep a consistent view. The delta is a
 * number (the same for every connection) or a function drawing one per connection from the link's
 * PRNG; with a function, only connections first seen in the forward direction are shifted.
 */
export function isnShift(delta: IsnDelta): Middlebox {
  const perConn = new Map<string, number>();
  const fixed = typeof delta === 'number' ? delta >>> 0 : null;
  const lookup = (p: Uint8Array, t: number, ctx: MiddleboxContext): number | null => {
    if (fixed !== null) return fixed;
    const key = flowKey(p, t, ctx.direction);
    let d = perConn.get(key);
    if (d === undefined) {
      if (ctx.direction !== 'forward') return null;
      d = (delta as (r: SimRandom) => number)(ctx.random) >>> 0;
      if (perConn.size >= MAX_TRACKED) perConn.delete(perConn.keys().next().value as string);
      perConn.set(key, d);
    }
    return d;
  };
  return (p, ctx) => {
    const t = locateTcp(p);
    if (t < 0) return p;
    const d = lookup(p, t, ctx);
    if (d === null || d === 0) return p;
    if (ctx.direction === 'forward') {
      setTcp32(p, t, t + 4, (getU32(p, t + 4) + d) >>> 0);
      return p;
    }
    if ((p[t + 13] & FLAG_ACK) !== 0) setTcp32(p, t, t + 8, (getU32(p, t + 8) - d) >>> 0);
    const n = scanOptions(p, t);
    for (let k = 0; k < n; k++) {
      const len = OPT_LENS[k];
      if (OPT_KINDS[k] !== 5 || len < 10 || (len - 2) % 8 !== 0) continue;
      const start = OPT_STARTS[k];
      for (let b = start + 2; b < start + len; b += 4) setTcp32(p, t, b, (getU32(p, b) - d) >>> 0);
    }
    return p;
  };
}

export interface WindowInfo {
  /** TCP flags byte. */
  flags: number;
  direction: SimDirection;
}

/** Rewrites the 16-bit window field of every TCP segment: to a value, or to fn(window, info). */
export function windowRewrite(value: number | ((window: number, info: WindowInfo) => number)): Middlebox {
  const fn = typeof value === 'number' ? () => value : value;
  return (p, ctx) => {
    const t = locateTcp(p);
    if (t < 0) return p;
    const w = (p[t + 14] << 8) | p[t + 15];
    const nw = fn(w, { flags: p[t + 13], direction: ctx.direction });
    if (!Number.isInteger(nw) || nw < 0 || nw > 0xffff) throw new RangeError(`window must be 0..65535, got ${nw}`);
    setTcp16(p, t, t + 14, nw);
    return p;
  };
}

export interface EcnBleachOptions {
  /** Clear the IP ECN field (default true). */
  ip?: boolean;
  /** Also clear the TCP ECE and CWR flags (RFC 3168 §6.1), as some boxes do (default false). */
  tcpFlags?: boolean;
}

/** ECN bleaching: sets the IP ECN codepoint to Not-ECT (and optionally clears ECE/CWR). */
export function ecnBleach(opts: EcnBleachOptions = {}): Middlebox {
  const ip = opts.ip ?? true;
  const flags = opts.tcpFlags ?? false;
  return (p) => {
    if (ip && p.length >= 20 && p[0] >> 4 === 4) {
      // TOS is byte 1 (low byte of word 0 of the header); its checksum is at 10 (RFC 791 §3.1).
      const ihl = (p[0] & 0x0f) * 4;
      if (ihl >= 20 && p.length >= ihl) setByte(p, 1, p[1] & 0xfc, 10, false);
    } else if (ip && p.length >= 40 && p[0] >> 4 === 6) {
      // Traffic class straddles bytes 0 and 1; ECN is its low two bits (RFC 8200 §7). No header checksum.
      p[1] &= 0xcf;
    }
    if (flags) {
      const t = locateTcp(p);
      if (t >= 0) setByte(p, t + 13, p[t + 13] & ~(FLAG_ECE | FLAG_CWR) & 0xff, t + 16, false);
    }
    return p;
  };
}

/** Applies `mb` only to packets going in `direction`; others pass. */
export function oneWay(direction: SimDirection, mb: Middlebox): Middlebox {
  return (p, ctx) => (ctx.direction === direction ? mb(p, ctx) : p);
}

/** Drops the packets for which `pred` returns true (e.g. to black-hole a flow at some time). */
export function dropIf(pred: (packet: Uint8Array, ctx: MiddleboxContext) => boolean): Middlebox {
  return (p, ctx) => (pred(p, ctx) ? null : p);
}
