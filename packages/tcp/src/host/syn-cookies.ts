/**
 * SYN cookies (RFC 4987 section 3.6): when a listener's SYN queue is full, the host answers a SYN
 * without keeping state, encoding what it must remember in its ISN, and rebuilds the connection
 * from the returning ACK.
 *
 * Our cookie (32 bits, the SYN-ACK's sequence number):
 *   bits 31..28  t       a 64-second counter, mod 16 (a cookie is accepted for two periods)
 *   bits 27..26  mssIdx  index into MSS_TABLE (the largest entry not above the peer's MSS)
 *   bits 25..22  wscale  the peer's window-scale shift, 15 = not offered
 *   bit  21      sack    the peer offered SACK-permitted
 *   bit  20      ts      the peer offered timestamps
 *   bits 19..0   a keyed hash (HMAC-SHA-256) of the 4-tuple, the peer's ISN, t and bits 27..20
 * A forged ACK passes with probability 2^-20 per try, like Linux's 24-bit check order of magnitude;
 * that is the classic SYN-cookie trade-off. Our window-scale shift and timestamp clock offset are
 * fixed per host for cookie connections, so they need not be encoded.
 */
import { createHmac } from 'node:crypto';
import { summarizeSynOptions } from '../connection/options.js';
import type { Endpoint } from '../connection/types.js';
import { tcpOptionsLength } from '../wire/tcp-options.js';
import { TcpFlag, type TcpOption, type TcpRepr } from '../wire/types.js';

const MSS_TABLE = [536, 1220, 1440, 1460] as const;
const PERIOD_MS = 64_000;

export interface CookieParams {
  iss: number;
  irs: number;
  mss: number;
  /** The peer's shift, or null when the peer did not offer window scaling. */
  sndWscale: number | null;
  /** Our shift (announced in the SYN-ACK), or null when not negotiated. */
  rcvWscale: number | null;
  sack: boolean;
  timestamps: boolean;
  /** Our timestamp clock offset used in the SYN-ACK. */
  tsOffset: number;
}

export class SynCookieJar {
  /** Our window-scale shift in cookie SYN-ACKs (fits a 256 KiB..4 MiB buffer). */
  readonly ourWscale = 7;
  readonly tsOffset: number;

  constructor(private readonly secret: Uint8Array) {
    const h = this.mac('ts-offset');
    this.tsOffset = h.readUInt32BE(0);
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }

  private hash20(local: Endpoint, remote: Endpoint, irs: number, t: number, bits: number): number {
    const h = this.mac(`${local.address}|${local.port}|${remote.address}|${remote.port}|${irs}|${t}|${bits}`);
    return ((h[0] << 12) | (h[1] << 4) | (h[2] >>> 4)) & 0xfffff;
  }

  /**
   * The stateless SYN-ACK answering `syn`. `window` is the unscaled window it advertises (RFC 7323
   * 2.2): min(receive buffer, 65535), which is what TcpConnection.acceptEstablished assumes.
   */
  synAck(local: Endpoint, remote: Endpoint, syn: TcpRepr, now: number, ourMss: number, window = 0xffff): TcpRepr {
    // The same reading of the SYN's options as a connection's (the first of each kind counts).
    const s = summarizeSynOptions(syn.options);
    const peerMss = s.mss ?? 536;
    const peerWs = s.wscale === null ? null : Math.min(s.wscale, 14);
    const sack = s.sackPermitted;
    const tsVal = s.timestamps?.tsVal ?? null;
    let mssIdx = 0;
    for (let i = 0; i < MSS_TABLE.length; i++) if (MSS_TABLE[i] <= Math.min(peerMss, ourMss)) mssIdx = i;
    const t = Math.floor(now / PERIOD_MS) & 0xf;
    const bits = (mssIdx << 6) | ((peerWs ?? 15) << 2) | (sack ? 2 : 0) | (tsVal !== null ? 1 : 0);
    const cookie = ((t << 28) | (bits << 20) | this.hash20(local, remote, syn.seq, t, bits)) >>> 0;
    const options: TcpOption[] = [{ kind: 'mss', mss: ourMss }];
    if (sack) options.push({ kind: 'sackPermitted' });
    if (tsVal !== null) options.push({ kind: 'timestamps', tsVal: (Math.floor(now) + this.tsOffset) >>> 0, tsEcr: tsVal });
    if (peerWs !== null) options.push({ kind: 'nop' }, { kind: 'wscale', shift: this.ourWscale });
    while (tcpOptionsLength(options) % 4 !== 0) options.push({ kind: 'nop' });
    return {
      srcPort: local.port,
      dstPort: remote.port,
      seq: cookie,
      ack: (syn.seq + 1) >>> 0,
      flags: TcpFlag.SYN | TcpFlag.ACK,
      window: Math.min(0xffff, window),
      urgent: 0,
      options,
      payload: new Uint8Array(0),
    };
  }

  /** Validates the ACK of a cookie SYN-ACK; returns what the cookie remembered, or null. */
  check(local: Endpoint, remote: Endpoint, ack: TcpRepr, now: number): CookieParams | null {
    const cookie = (ack.ack - 1) >>> 0;
    const irs = (ack.seq - 1) >>> 0;
    const t = cookie >>> 28;
    const bits = (cookie >>> 20) & 0xff;
    const nowT = Math.floor(now / PERIOD_MS) & 0xf;
    const age = (nowT - t) & 0xf;
    if (age > 1) return null;
    if ((cookie & 0xfffff) !== this.hash20(local, remote, irs, t, bits)) return null;
    const ws = (bits >>> 2) & 0xf;
    return {
      iss: cookie,
      irs,
      mss: MSS_TABLE[bits >>> 6],
      sndWscale: ws === 15 ? null : ws,
      rcvWscale: ws === 15 ? null : this.ourWscale,
      sack: (bits & 2) !== 0,
      timestamps: (bits & 1) !== 0,
      tsOffset: this.tsOffset,
    };
  }
}
