/**
 * The hot path: whole IP+TCP packets in one step.
 *
 * buildTcpPacket allocates exactly one buffer, writes the IP header (IPv4 or IPv6 by the address
 * family), the TCP header, options and payload, and computes the TCP checksum once over the finished
 * segment (plus the IPv4 header checksum over 20 bytes). Address text is parsed once and memoised
 * (see addressBytes). parseTcpPacket checks the TCP checksum against the address bytes in the packet
 * itself, without re-parsing the formatted address strings.
 *
 * Checksum offload note: a kernel peer on a veth with tx checksum offload sends segments whose TCP
 * checksum is only partial; receivers that see such packets pass { verifyChecksum: false }.
 */
import { addressBytes } from './address.js';
import { onesComplementSum } from './checksum.js';
import { IPV6_HEADER_LENGTH, IPV4_HEADER_LENGTH, IpProtocol, parseIpPacket, writeIpv4Header, writeIpv6Header } from './ip.js';
import { emitTcpNoChecksum, parseTcpUnchecked, tcpHeaderLength } from './tcp.js';
import { WireError, type IpRepr, type TcpRepr } from './types.js';

/** The IP side of a packet to build: addresses plus optional header fields (defaults in brackets). */
export interface TcpPacketIp {
  /** Source address, text or 4/16 bytes; both addresses must be the same family. */
  src: string | Uint8Array;
  dst: string | Uint8Array;
  /** IPv4 TTL [64]. */
  ttl?: number;
  /** IPv6 hop limit [64]. */
  hopLimit?: number;
  /** DSCP, 6 bits [0]. */
  dscp?: number;
  /** ECN codepoint, 2 bits [0]. */
  ecn?: number;
  /** IPv4 identification [0]. */
  ident?: number;
  /** IPv4 DF bit [true]: TCP relies on PMTUD, and we do not reassemble fragments. */
  dontFragment?: boolean;
  /** IPv6 flow label, 20 bits [0]. */
  flowLabel?: number;
  /** IPv4 options, raw, a multiple of 4 bytes, at most 40 [none]. */
  ipv4Options?: Uint8Array;
}

export const DEFAULT_TTL = 64;

/** Sum of the 16-bit words of buf[from..to) (even length). */
function wordSum(buf: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  return sum;
}

/** Builds one IP packet carrying `tcp`, with every checksum filled in. */
export function buildTcpPacket(ip: TcpPacketIp, tcp: TcpRepr): Uint8Array {
  const src = addressBytes(ip.src);
  const dst = addressBytes(ip.dst);
  if (src.length !== dst.length) throw new WireError('bad-address', 'source and destination are of different IP versions');
  const v4 = src.length === 4;
  const ipOptions = v4 ? ip.ipv4Options : undefined;
  const ipHeaderLength = v4 ? IPV4_HEADER_LENGTH + (ipOptions ? ipOptions.length : 0) : IPV6_HEADER_LENGTH;
  const segmentLength = tcpHeaderLength(tcp) + tcp.payload.length;
  const buf = new Uint8Array(ipHeaderLength + segmentLength);
  if (v4) {
    writeIpv4Header(buf, 0, src, dst, IpProtocol.TCP, ip.ttl ?? DEFAULT_TTL, ip.dscp ?? 0, ip.ecn ?? 0, ip.ident ?? 0,
      ip.dontFragment ?? true, ipOptions, segmentLength);
  } else {
    writeIpv6Header(buf, 0, src, dst, IpProtocol.TCP, ip.hopLimit ?? DEFAULT_TTL, ip.dscp ?? 0, ip.ecn ?? 0,
      ip.flowLabel ?? 0, segmentLength);
  }
  emitTcpNoChecksum(tcp, buf, ipHeaderLength);
  // Pseudo-header (RFC 9293 section 3.1 / RFC 8200 section 8.1): the addresses were just written
  // into the IP header, so sum them from there; then protocol and length.
  const addrFrom = v4 ? 12 : 8;
  const pseudo = wordSum(buf, addrFrom, addrFrom + 2 * src.length) + IpProtocol.TCP + segmentLength;
  const sum = ~onesComplementSum(buf.subarray(ipHeaderLength), pseudo) & 0xffff;
  buf[ipHeaderLength + 16] = sum >>> 8;
  buf[ipHeaderLength + 17] = sum & 0xff;
  return buf;
}

export interface ParseTcpPacketOptions {
  /** Check the TCP checksum [true]. The IPv4 header checksum is always checked. */
  verifyChecksum?: boolean;
}

/**
 * Parses an IP packet that must carry TCP. Throws WireError: the IP codes (see ip.ts), 'not-tcp'
 * for another upper-layer protocol, the TCP codes (see tcp.ts), 'bad-checksum'.
 */
export function parseTcpPacket(buf: Uint8Array, opts?: ParseTcpPacketOptions): { ip: IpRepr; tcp: TcpRepr } {
  const { ip, payload } = parseIpPacket(buf);
  if (ip.protocol !== IpProtocol.TCP) {
    throw new WireError('not-tcp', `IPv${ip.version} packet carries protocol ${ip.protocol}, not TCP (6)`);
  }
  if (opts === undefined || opts.verifyChecksum !== false) {
    if (payload.length < 20) {
      throw new WireError('truncated', `TCP segment of ${payload.length} bytes is shorter than the 20-byte header`);
    }
    const pseudo = ip.version === 4
      ? wordSum(buf, 12, 20) + IpProtocol.TCP + payload.length
      : wordSum(buf, 8, 40) + IpProtocol.TCP + payload.length;
    if (onesComplementSum(payload, pseudo) !== 0xffff) throw new WireError('bad-checksum', 'TCP checksum mismatch');
  }
  return { ip, tcp: parseTcpUnchecked(payload) };
}
