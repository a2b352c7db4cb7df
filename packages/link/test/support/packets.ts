/**
 * Test-only helpers to build a SYN and read a SYN-ACK, kept small and independent of the stack's
 * own codecs so the link tests check the wire against an independent implementation.
 */
import { bytesToIp, ipToBytes } from '../../src/real/addr.js';

function sum16(b: Uint8Array, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length % 2 === 1) s += b[b.length - 1] << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export interface SynSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  tsVal: number;
  mss?: number;
  wscale?: number;
  ttl?: number;
}

/** A SYN with MSS, SACK-permitted, timestamps and window scale (the Linux option layout). */
export function buildSyn(spec: SynSpec): Uint8Array {
  const src = ipToBytes(spec.src)!;
  const dst = ipToBytes(spec.dst)!;
  const v6 = src.length === 16;
  const opts = [
    2, 4, (spec.mss ?? 1460) >> 8, (spec.mss ?? 1460) & 0xff, // MSS
    4, 2, // SACK permitted
    8, 10, ...u32(spec.tsVal), 0, 0, 0, 0, // timestamps
    1, // NOP
    3, 3, spec.wscale ?? 7, // window scale
  ];
  const tcp = new Uint8Array(20 + opts.length);
  tcp[0] = spec.sport >> 8;
  tcp[1] = spec.sport & 0xff;
  tcp[2] = spec.dport >> 8;
  tcp[3] = spec.dport & 0xff;
  tcp.set(u32(spec.seq), 4);
  tcp[12] = (tcp.length / 4) << 4;
  tcp[13] = 0x02; // SYN
  tcp[14] = 0xff; // window 65535
  tcp[15] = 0xff;
  tcp.set(opts, 20);
  const pseudo = sum16(src) + sum16(dst) + 6 + tcp.length;
  const ck = ~fold(sum16(tcp, pseudo)) & 0xffff;
  tcp[16] = ck >> 8;
  tcp[17] = ck & 0xff;
  const hl = v6 ? 40 : 20;
  const pkt = new Uint8Array(hl + tcp.length);
  if (v6) {
    pkt[0] = 0x60;
    pkt[4] = tcp.length >> 8;
    pkt[5] = tcp.length & 0xff;
    pkt[6] = 6;
    pkt[7] = spec.ttl ?? 64;
    pkt.set(src, 8);
    pkt.set(dst, 24);
  } else {
    pkt[0] = 0x45;
    pkt[2] = pkt.length >> 8;
    pkt[3] = pkt.length & 0xff;
    pkt[4] = 0x12;
    pkt[5] = 0x34;
    pkt[6] = 0x40; // DF
    pkt[8] = spec.ttl ?? 64;
    pkt[9] = 6;
    pkt.set(src, 12);
    pkt.set(dst, 16);
    const hck = ~fold(sum16(pkt.subarray(0, 20))) & 0xffff;
    pkt[10] = hck >> 8;
    pkt[11] = hck & 0xff;
  }
  pkt.set(tcp, hl);
  return pkt;
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export interface SegmentSummary {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  checksumOk: boolean;
  mss?: number;
  sackPermitted: boolean;
  tsVal?: number;
  tsEcr?: number;
  wscale?: number;
}

/** Reads an IPv4/IPv6 (no extension headers) TCP packet; null when it is not one. */
export function readSegment(pkt: Uint8Array): SegmentSummary | null {
  const v = pkt[0] >> 4;
  let off: number;
  let src: Uint8Array;
  let dst: Uint8Array;
  let end: number;
  if (v === 4) {
    off = (pkt[0] & 0xf) * 4;
    if (pkt[9] !== 6) return null;
    src = pkt.subarray(12, 16);
    dst = pkt.subarray(16, 20);
    end = (pkt[2] << 8) | pkt[3];
  } else if (v === 6) {
    off = 40;
    if (pkt[6] !== 6) return null;
    src = pkt.subarray(8, 24);
    dst = pkt.subarray(24, 40);
    end = 40 + ((pkt[4] << 8) | pkt[5]);
  } else return null;
  const tcp = pkt.subarray(off, end);
  if (tcp.length < 20) return null;
  const doff = (tcp[12] >> 4) * 4;
  const pseudo = sum16(src) + sum16(dst) + 6 + tcp.length;
  const s: SegmentSummary = {
    src: bytesToIp(src, 0, src.length as 4 | 16),
    dst: bytesToIp(dst, 0, dst.length as 4 | 16),
    sport: (tcp[0] << 8) | tcp[1],
    dport: (tcp[2] << 8) | tcp[3],
    seq: ((tcp[4] << 24) | (tcp[5] << 16) | (tcp[6] << 8) | tcp[7]) >>> 0,
    ack: ((tcp[8] << 24) | (tcp[9] << 16) | (tcp[10] << 8) | tcp[11]) >>> 0,
    flags: tcp[13],
    checksumOk: fold(sum16(tcp, pseudo)) === 0xffff,
    sackPermitted: false,
  };
  for (let i = 20; i < doff && i < tcp.length; ) {
    const kind = tcp[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = tcp[i + 1];
    if (len < 2 || i + len > doff) break;
    if (kind === 2 && len === 4) s.mss = (tcp[i + 2] << 8) | tcp[i + 3];
    if (kind === 4 && len === 2) s.sackPermitted = true;
    if (kind === 3 && len === 3) s.wscale = tcp[i + 2];
    if (kind === 8 && len === 10) {
      s.tsVal = ((tcp[i + 2] << 24) | (tcp[i + 3] << 16) | (tcp[i + 4] << 8) | tcp[i + 5]) >>> 0;
      s.tsEcr = ((tcp[i + 6] << 24) | (tcp[i + 7] << 16) | (tcp[i + 8] << 8) | tcp[i + 9]) >>> 0;
    }
    i += len;
  }
  return s;
}
