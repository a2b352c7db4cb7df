import type { TcpOption } from '../wire/types.js';
import { tcpOptionLength, tcpOptionsLength } from '../wire/tcp-options.js';

/** The options of a SYN as the connection understands them (RFC 9293 3.7.1, RFC 7323, RFC 2018, RFC 5482). */
export interface SynOptionSummary {
  mss: number | null;
  wscale: number | null;
  sackPermitted: boolean;
  timestamps: { tsVal: number; tsEcr: number } | null;
  /** RFC 5482 user timeout in milliseconds. */
  userTimeoutMs: number | null;
}

/** Reads the negotiable options of a SYN / SYN-ACK (the first occurrence of each kind counts). */
export function summarizeSynOptions(opts: readonly TcpOption[]): SynOptionSummary {
  const s: SynOptionSummary = { mss: null, wscale: null, sackPermitted: false, timestamps: null, userTimeoutMs: null };
  for (const o of opts) {
    switch (o.kind) {
      case 'mss':
        if (s.mss === null) s.mss = o.mss;
        break;
      case 'wscale':
        if (s.wscale === null) s.wscale = o.shift;
        break;
      case 'sackPermitted':
        s.sackPermitted = true;
        break;
      case 'timestamps':
        if (s.timestamps === null) s.timestamps = { tsVal: o.tsVal, tsEcr: o.tsEcr };
        break;
      case 'userTimeout':
        if (s.userTimeoutMs === null) s.userTimeoutMs = o.timeout * (o.granularity === 'minutes' ? 60_000 : 1000);
        break;
      default:
        break;
    }
  }
  return s;
}

/** Smallest shift that fits `bytes` into the 16-bit window field (RFC 7323 2.3: at most 14). */
export function windowScaleFor(bytes: number): number {
  let s = 0;
  while (s < 14 && bytes >>> s > 0xffff) s++;
  return s;
}

/**
 * The option list for our SYN or SYN-ACK, in the order Linux uses (MSS, SACK-permitted +
 * timestamps, NOP + window scale), then the user-timeout option and any extra options, padded
 * with NOPs to a multiple of 4. Options that would overflow the 40-byte option space are left out
 * (their count is returned).
 */
export function buildSynOptions(p: {
  mss: number;
  sackPermitted: boolean;
  timestamps: { tsVal: number; tsEcr: number } | null;
  wscale: number | null;
  userTimeoutSeconds: number | null;
  extra: readonly TcpOption[];
}): { options: TcpOption[]; dropped: number } {
  const o: TcpOption[] = [{ kind: 'mss', mss: Math.min(0xffff, Math.max(0, Math.floor(p.mss))) }];
  if (p.sackPermitted && p.timestamps) {
    o.push({ kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: p.timestamps.tsVal, tsEcr: p.timestamps.tsEcr });
  } else if (p.timestamps) {
    o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: p.timestamps.tsVal, tsEcr: p.timestamps.tsEcr });
  } else if (p.sackPermitted) {
    o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sackPermitted' });
  }
  if (p.wscale !== null) o.push({ kind: 'nop' }, { kind: 'wscale', shift: p.wscale });
  if (p.userTimeoutSeconds !== null) {
    const secs = Math.max(0, Math.floor(p.userTimeoutSeconds));
    o.push(
      secs <= 0x7fff
        ? { kind: 'userTimeout', granularity: 'seconds', timeout: secs }
        : { kind: 'userTimeout', granularity: 'minutes', timeout: Math.min(0x7fff, Math.ceil(secs / 60)) },
    );
  }
  let len = tcpOptionsLength(o);
  let dropped = 0;
  for (const x of p.extra) {
    const l = tcpOptionLength(x);
    if (len + l > 40) {
      dropped++;
      continue;
    }
    o.push(x);
    len += l;
  }
  while (len % 4 !== 0) {
    o.push({ kind: 'nop' });
    len++;
  }
  return { options: o, dropped };
}
