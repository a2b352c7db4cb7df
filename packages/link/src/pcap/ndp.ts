/**
 * IPv6 neighbour discovery (RFC 4861), the two messages a host needs to resolve and be resolved:
 * Neighbor Solicitation (§4.3) and Neighbor Advertisement (§4.4), with the source/target
 * link-layer address options (§4.6.1). Parsing applies the validity checks of §7.1.1 and §7.1.2.
 * Packets are whole IPv6 packets whose next header is ICMPv6 (no extension headers: ND messages
 * are sent without them, and anything else is not ND for our purposes).
 */
import { internetChecksum, pseudoHeaderSum } from '@tcpls/tcp/wire';
import { FrameError } from './errors.js';

export const Icmpv6Type = {
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
} as const;

export const NdOptionType = { SOURCE_LLA: 1, TARGET_LLA: 2 } as const;

/** NA flags in the first byte after the ICMPv6 header (RFC 4861 §4.4). */
export const NaFlag = { ROUTER: 0x80, SOLICITED: 0x40, OVERRIDE: 0x20 } as const;

const IPPROTO_ICMPV6 = 58;
const IPV6_HEADER = 40;
/** ICMPv6 header (4) + reserved/flags (4) + target (16). */
const ND_MIN_LENGTH = 24;
/** RFC 4861 §7.1: ND messages must arrive with hop limit 255 (proof they were not forwarded). */
const ND_HOP_LIMIT = 255;

export interface NdRepr {
  type: 'ns' | 'na';
  src: Uint8Array;
  dst: Uint8Array;
  target: Uint8Array;
  /** NA flags (NaFlag bits); 0 for NS. */
  flags: number;
  /** Source LLA (NS) or target LLA (NA), when the option is present. */
  lla: Uint8Array | null;
}

/** ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and the message (RFC 4443 §2.3). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  return internetChecksum(message, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, message.length));
}

function isUnspecified(a: Uint8Array): boolean {
  return a.every((v) => v === 0);
}

function isMulticast(a: Uint8Array): boolean {
  return a[0] === 0xff;
}

/** ff02::1:ffXX:XXXX, the solicited-node multicast address of `target` (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(target: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xff;
  a[1] = 0x02;
  a[11] = 0x01;
  a[12] = 0xff;
  a[13] = target[13];
  a[14] = target[14];
  a[15] = target[15];
  return a;
}

/** 33:33 + the low 32 bits of an IPv6 multicast address (RFC 2464 §7). */
export function ipv6MulticastMac(group: Uint8Array): Uint8Array {
  return new Uint8Array([0x33, 0x33, group[12], group[13], group[14], group[15]]);
}

/**
 * Parses an IPv6 packet as NS/NA. Returns null when it is not an NS or NA at all (another next
 * header or ICMPv6 type); throws FrameError when it is one but fails a validity check.
 */
export function parseNdPacket(pkt: Uint8Array): NdRepr | null {
  if (pkt.length < IPV6_HEADER) throw new FrameError('truncated', `IPv6 packet of ${pkt.length} bytes`);
  if (pkt[0] >> 4 !== 6) throw new FrameError('malformed', `IP version ${pkt[0] >> 4} in an IPv6 frame`);
  if (pkt[6] !== IPPROTO_ICMPV6) return null;
  const payloadLength = (pkt[4] << 8) | pkt[5];
  if (IPV6_HEADER + payloadLength > pkt.length) {
    throw new FrameError('truncated', `IPv6 payload length ${payloadLength} exceeds the ${pkt.length - IPV6_HEADER} bytes present`);
  }
  const msg = pkt.subarray(IPV6_HEADER, IPV6_HEADER + payloadLength);
  if (msg.length < 1) throw new FrameError('truncated', 'empty ICMPv6 message');
  const icmpType = msg[0];
  if (icmpType !== Icmpv6Type.NEIGHBOR_SOLICITATION && icmpType !== Icmpv6Type.NEIGHBOR_ADVERTISEMENT) return null;
  const src = pkt.subarray(8, 24);
  const dst = pkt.subarray(24, 40);
  if (msg.length < ND_MIN_LENGTH) throw new FrameError('truncated', `ND message of ${msg.length} bytes`);
  if (pkt[7] !== ND_HOP_LIMIT) throw new FrameError('malformed', `ND hop limit ${pkt[7]}, must be 255 (RFC 4861 §7.1)`);
  if (msg[1] !== 0) throw new FrameError('malformed', `ND code ${msg[1]}, must be 0`);
  if (icmpv6Checksum(src, dst, msg) !== 0) throw new FrameError('bad-checksum', 'ICMPv6 checksum mismatch');
  const target = msg.subarray(8, 24);
  if (isMulticast(target)) throw new FrameError('malformed', 'ND target is a multicast address');
  const ns = icmpType === Icmpv6Type.NEIGHBOR_SOLICITATION;
  const flags = ns ? 0 : msg[4] & (NaFlag.ROUTER | NaFlag.SOLICITED | NaFlag.OVERRIDE);
  let lla: Uint8Array | null = null;
  const wanted = ns ? NdOptionType.SOURCE_LLA : NdOptionType.TARGET_LLA;
  // Options: type, length in units of 8 bytes; a zero length is invalid (§4.6) and would loop.
  for (let i = ND_MIN_LENGTH; i < msg.length; ) {
    if (i + 2 > msg.length) throw new FrameError('truncated', 'ND option header cut short');
    const len = msg[i + 1] * 8;
    if (len === 0) throw new FrameError('malformed', 'ND option with length 0');
    if (i + len > msg.length) throw new FrameError('truncated', 'ND option runs past the message');
    if (msg[i] === wanted && len === 8) lla = msg.subarray(i + 2, i + 8);
    i += len;
  }
  if (ns && isUnspecified(src)) {
    // §7.1.1: a DAD probe goes to a solicited-node group and carries no source LLA.
    if (!(dst[0] === 0xff && dst[1] === 0x02 && dst[11] === 0x01 && dst[12] === 0xff) || lla !== null) {
      throw new FrameError('malformed', 'NS from :: must go to a solicited-node address without a source LLA');
    }
  }
  if (!ns && isMulticast(dst) && (flags & NaFlag.SOLICITED) !== 0) {
    throw new FrameError('malformed', 'NA to a multicast address with the Solicited flag (RFC 4861 §7.1.2)');
  }
  return { type: ns ? 'ns' : 'na', src, dst, target, flags, lla };
}

/** Builds a whole IPv6 packet carrying an NS or NA with its link-layer address option. */
export function buildNdPacket(repr: NdRepr): Uint8Array {
  const optLen = repr.lla === null ? 0 : 8;
  const msgLen = ND_MIN_LENGTH + optLen;
  const pkt = new Uint8Array(IPV6_HEADER + msgLen);
  pkt[0] = 0x60;
  pkt[4] = msgLen >> 8;
  pkt[5] = msgLen & 0xff;
  pkt[6] = IPPROTO_ICMPV6;
  pkt[7] = ND_HOP_LIMIT;
  pkt.set(repr.src, 8);
  pkt.set(repr.dst, 24);
  const msg = pkt.subarray(IPV6_HEADER);
  msg[0] = repr.type === 'ns' ? Icmpv6Type.NEIGHBOR_SOLICITATION : Icmpv6Type.NEIGHBOR_ADVERTISEMENT;
  if (repr.type === 'na') msg[4] = repr.flags & 0xe0;
  msg.set(repr.target, 8);
  if (repr.lla !== null) {
    msg[24] = repr.type === 'ns' ? NdOptionType.SOURCE_LLA : NdOptionType.TARGET_LLA;
    msg[25] = 1;
    msg.set(repr.lla, 26);
  }
  const ck = icmpv6Checksum(repr.src, repr.dst, msg);
  msg[2] = ck >> 8;
  msg[3] = ck & 0xff;
  return pkt;
}
