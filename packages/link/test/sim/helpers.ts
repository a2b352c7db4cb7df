/** Packet builders for the simulator tests: minimal, hand-assembled IPv4/IPv6 packets. */
import { parseIpAddress } from '@tcpls/tcp/wire';

/** RFC 1071 Internet checksum over `buf` with an initial 32-bit partial sum (test-local, independent of src). */
export function internetChecksum(buf: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (buf.length & 1) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}


/** TCP checksum with the pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1), computed with the field as zero. */
export function tcpChecksum(ip: { src: string; dst: string }, seg: Uint8Array): number {
  const s = parseIpAddress(ip.src);
  const d = parseIpAddress(ip.dst);
  let sum = 6 + (seg.length >>> 16) + (seg.length & 0xffff);
  for (const a of [s, d]) for (let i = 0; i < a.length; i += 2) sum += (a[i] << 8) | a[i + 1];
  const copy = seg.slice();
  copy[16] = 0;
  copy[17] = 0;
  return internetChecksum(copy, sum);
}

/** An IPv4 packet of exactly `size` bytes (>= 24) with protocol 253 (RFC 3692 experimental) and a u32 tag. */
export function ipv4Packet(src: string, dst: string, size: number, tag: number, ttl = 64): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[4] = (tag >> 8) & 0xff;
  p[5] = tag & 0xff;
  p[8] = ttl;
  p[9] = 253;
  p.set(parseIpAddress(src), 12);
  p.set(parseIpAddress(dst), 16);
  const c = internetChecksum(p.subarray(0, 20));
  p[10] = c >> 8;
  p[11] = c & 0xff;
  new DataView(p.buffer, p.byteOffset).setUint32(20, tag >>> 0);
  return p;
}

/** An IPv6 packet of exactly `size` bytes (>= 44), next header 253, with a u32 tag. */
export function ipv6Packet(src: string, dst: string, size: number, tag: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x60;
  const plen = size - 40;
  p[4] = plen >> 8;
  p[5] = plen & 0xff;
  p[6] = 253;
  p[7] = 64;
  p.set(parseIpAddress(src), 8);
  p.set(parseIpAddress(dst), 24);
  new DataView(p.buffer, p.byteOffset).setUint32(40, tag >>> 0);
  return p;
}

export function tagOf(p: Uint8Array): number {
  const off = p[0] >> 4 === 6 ? 40 : (p[0] & 0x0f) * 4;
  return new DataView(p.buffer, p.byteOffset).getUint32(off);
}

export interface TcpSpec {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** Raw option bytes (padded here to a multiple of 4 with EOL zeros). */
  options?: number[];
  payload?: Uint8Array;
  ecn?: number;
}

/** A TCP packet over IPv4 or IPv6 (by address family) with correct checksums, assembled byte by byte. */
export function tcpPacket(s: TcpSpec): Uint8Array {
  const opts = s.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const tcpLen = 20 + optLen + (s.payload?.length ?? 0);
  const v6 = s.src.includes(':');
  const ipLen = v6 ? 40 : 20;
  const p = new Uint8Array(ipLen + tcpLen);
  const dv = new DataView(p.buffer);
  if (v6) {
    p[0] = 0x60;
    p[1] = (s.ecn ?? 0) << 4;
    dv.setUint16(4, tcpLen);
    p[6] = 6;
    p[7] = 64;
    p.set(parseIpAddress(s.src), 8);
    p.set(parseIpAddress(s.dst), 24);
  } else {
    p[0] = 0x45;
    p[1] = s.ecn ?? 0;
    dv.setUint16(2, p.length);
    dv.setUint16(4, 0x1234);
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    p.set(parseIpAddress(s.src), 12);
    p.set(parseIpAddress(s.dst), 16);
    dv.setUint16(10, internetChecksum(p.subarray(0, 20)));
  }
  const t = ipLen;
  dv.setUint16(t, s.srcPort);
  dv.setUint16(t + 2, s.dstPort);
  dv.setUint32(t + 4, s.seq >>> 0);
  dv.setUint32(t + 8, s.ack >>> 0);
  p[t + 12] = ((20 + optLen) / 4) << 4;
  p[t + 13] = s.flags;
  dv.setUint16(t + 14, s.window);
  p.set(opts, t + 20);
  if (s.payload) p.set(s.payload, t + 20 + optLen);
  const seg = p.subarray(t);
  dv.setUint16(t + 16, tcpChecksum({ src: s.src, dst: s.dst }, seg));
  return p;
}
