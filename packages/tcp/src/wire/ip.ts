/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers: parse a whole packet into a repr and its upper-layer
 * payload; emit a header for a repr and a payload length.
 *
 * What parseIpPacket refuses, and why:
 * - a buffer shorter than the header or than the IPv4 total length / IPv6 payload length says:
 *   'truncated' (a longer buffer is fine: the payload is cut to the stated length, since Ethernet
 *   pads short frames to 60 bytes);
 * - IPv4 IHL < 5: 'bad-header-length'; total length smaller than the header: 'bad-total-length';
 *   a wrong header checksum: 'bad-checksum' (RFC 791 section 3.1: such datagrams are discarded);
 * - fragments (IPv4 MF set or fragment offset non-zero; an IPv6 Fragment header, 44): 'fragment'.
 *   This stack does not reassemble: TCP sets DF, and PMTUD/MSS keep segments whole. A fragment is
 *   not a segment, and the first fragment's TCP checksum cannot be checked anyway;
 * - IPv6 payload length 0 (a jumbogram, RFC 2675, or garbage): 'bad-total-length';
 * - IPv6 extension headers: Hop-by-Hop (0, only directly after the fixed header, RFC 8200 section
 *   4.1), Routing (43) and Destination Options (60) are skipped, at most 8 of them
 *   (MAX_IPV6_EXTENSION_HEADERS), each within the payload: otherwise 'bad-extension-header'.
 *   Routing headers are skipped without being processed: the stack is an end host, and a packet with
 *   segments left that reached us is delivered as the kernel would see it at its final hop.
 *   Any other next header (TCP, UDP, ICMPv6, No Next Header 59, ...) ends the chain and is
 *   reported as `protocol`, with the rest of the payload.
 * - a version nibble other than 4 or 6: 'bad-version'.
 */
import { formatIpv4Address, formatIpv6Address, addressBytes } from './address.js';
import { onesComplementSum } from './checksum.js';
import { WireError, type IpPacket, type IpRepr, type Ipv4Repr, type Ipv6Repr } from './types.js';

export const IPV4_HEADER_LENGTH = 20;
export const IPV6_HEADER_LENGTH = 40;
export const MAX_IPV6_EXTENSION_HEADERS = 8;

/** IP protocol / IPv6 next-header numbers used here (IANA "Assigned Internet Protocol Numbers"). */
export const IpProtocol = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
} as const;

/** Parses an IPv4 or IPv6 packet (no link-layer header). Throws WireError; never reads past buf. */
export function parseIpPacket(buf: Uint8Array): IpPacket {
  if (buf.length < 1) throw new WireError('truncated', 'empty packet');
  const version = buf[0] >>> 4;
  if (version === 4) return parseIpv4(buf);
  if (version === 6) return parseIpv6(buf);
  throw new WireError('bad-version', `IP version ${version} is neither 4 nor 6`);
}

/** Parses an IPv4 header; shared by parseIpPacket and the TCP fast path. */
export function parseIpv4(buf: Uint8Array): IpPacket {
  if (buf.length < IPV4_HEADER_LENGTH) {
    throw new WireError('truncated', `IPv4 packet of ${buf.length} bytes is shorter than the 20-byte header`);
  }
  if (buf[0] >>> 4 !== 4) throw new WireError('bad-version', `IP version ${buf[0] >>> 4} is not 4`);
  const headerLength = (buf[0] & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) {
    throw new WireError('bad-header-length', `IPv4 IHL ${headerLength / 4} is below the minimum of 5`);
  }
  if (headerLength > buf.length) {
    throw new WireError('truncated', `IPv4 header of ${headerLength} bytes, packet of ${buf.length}`);
  }
  const totalLength = (buf[2] << 8) | buf[3];
  if (totalLength < headerLength) {
    throw new WireError('bad-total-length', `IPv4 total length ${totalLength} is below the header length ${headerLength}`);
  }
  if (totalLength > buf.length) {
    throw new WireError('truncated', `IPv4 total length ${totalLength}, but only ${buf.length} bytes`);
  }
  // RFC 791 section 3.1: the header checksum covers the header only; a correct one sums to 0xffff.
  if (onesComplementSum(buf.subarray(0, headerLength)) !== 0xffff) {
    throw new WireError('bad-checksum', 'IPv4 header checksum mismatch');
  }
  const flags = buf[6] >>> 5;
  const fragmentOffset = ((buf[6] & 0x1f) << 8) | buf[7];
  if ((flags & 0x1) !== 0 || fragmentOffset !== 0) {
    throw new WireError(
      'fragment',
      `IPv4 fragment (MF=${flags & 1}, offset ${fragmentOffset * 8} bytes): reassembly is not supported`,
    );
  }
  const ip: Ipv4Repr = {
    version: 4,
    src: formatIpv4Address(buf, 12),
    dst: formatIpv4Address(buf, 16),
    protocol: buf[9],
    ttl: buf[8],
    dscp: buf[1] >>> 2,
    ecn: buf[1] & 0x03,
    ident: (buf[4] << 8) | buf[5],
    dontFragment: (flags & 0x2) !== 0,
    options: buf.subarray(IPV4_HEADER_LENGTH, headerLength),
  };
  return { ip, payload: buf.subarray(headerLength, totalLength) };
}

/** Parses an IPv6 header and its extension-header chain. */
export function parseIpv6(buf: Uint8Array): IpPacket {
  if (buf.length < IPV6_HEADER_LENGTH) {
    throw new WireError('truncated', `IPv6 packet of ${buf.length} bytes is shorter than the 40-byte header`);
  }
  if (buf[0] >>> 4 !== 6) throw new WireError('bad-version', `IP version ${buf[0] >>> 4} is not 6`);
  const payloadLength = (buf[4] << 8) | buf[5];
  if (payloadLength === 0) {
    // RFC 2675 jumbograms carry 0 here and a Jumbo Payload option; we never send or accept them.
    throw new WireError('bad-total-length', 'IPv6 payload length 0 (jumbogram): not supported');
  }
  const end = IPV6_HEADER_LENGTH + payloadLength;
  if (end > buf.length) {
    throw new WireError('truncated', `IPv6 payload length ${payloadLength}, but only ${buf.length - IPV6_HEADER_LENGTH} bytes follow the header`);
  }
  let next = buf[6];
  let off = IPV6_HEADER_LENGTH;
  let count = 0;
  while (next === IpProtocol.HOP_BY_HOP || next === IpProtocol.ROUTING || next === IpProtocol.DESTINATION_OPTIONS || next === IpProtocol.FRAGMENT) {
    if (next === IpProtocol.FRAGMENT) {
      throw new WireError('fragment', 'IPv6 Fragment header (44): reassembly is not supported');
    }
    if (next === IpProtocol.HOP_BY_HOP && count > 0) {
      throw new WireError('bad-extension-header', 'IPv6 Hop-by-Hop Options header not directly after the fixed header (RFC 8200 section 4.1)');
    }
    if (count >= MAX_IPV6_EXTENSION_HEADERS) {
      throw new WireError('bad-extension-header', `more than ${MAX_IPV6_EXTENSION_HEADERS} IPv6 extension headers`);
    }
    if (off + 2 > end) {
      throw new WireError('bad-extension-header', `IPv6 extension header ${next} runs past the payload`);
    }
    // RFC 8200 section 4.3/4.4/4.6: Hdr Ext Len counts 8-octet units beyond the first 8 octets.
    const length = (buf[off + 1] + 1) * 8;
    if (off + length > end) {
      throw new WireError('bad-extension-header', `IPv6 extension header ${next} of ${length} bytes runs past the payload`);
    }
    next = buf[off];
    off += length;
    count++;
  }
  const ip: Ipv6Repr = {
    version: 6,
    src: formatIpv6Address(buf, 8),
    dst: formatIpv6Address(buf, 24),
    protocol: next,
    hopLimit: buf[7],
    dscp: ((buf[0] & 0x0f) << 2) | (buf[1] >>> 6),
    ecn: (buf[1] >>> 4) & 0x03,
    flowLabel: ((buf[1] & 0x0f) << 16) | (buf[2] << 8) | buf[3],
  };
  return { ip, payload: buf.subarray(off, end) };
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new WireError('bad-field', `${name} must be an integer 0..${max}, got ${value}`);
  }
}

/** Header length of an IPv4 repr: 20 plus its options (a multiple of 4, at most 40). */
export function ipv4HeaderLength(repr: Ipv4Repr): number {
  const n = repr.options ? repr.options.length : 0;
  if (n % 4 !== 0) throw new WireError('bad-field', `IPv4 options must be a multiple of 4 bytes, got ${n}`);
  if (n > 40) throw new WireError('too-large', `IPv4 options of ${n} bytes exceed the 40-byte limit`);
  return IPV4_HEADER_LENGTH + n;
}

/** Header length for any IP repr (IPv6: the fixed 40 bytes; this codec emits no extension headers). */
export function ipHeaderLength(repr: IpRepr): number {
  return repr.version === 4 ? ipv4HeaderLength(repr) : IPV6_HEADER_LENGTH;
}

function checkRoom(out: Uint8Array, off: number, n: number): void {
  if (!Number.isInteger(off) || off < 0 || off + n > out.length) {
    throw new WireError('truncated', `output buffer of ${out.length} bytes has no room for ${n} bytes at ${off}`);
  }
}

/**
 * Writes an IPv4 header (with options and a computed header checksum) for a payload of
 * `payloadLength` bytes into out[off..]. Fragment offset and MF are always 0. Returns the bytes written.
 */
export function emitIpv4Header(repr: Ipv4Repr, payloadLength: number, out: Uint8Array, off: number): number {
  const src = addressBytes(repr.src);
  const dst = addressBytes(repr.dst);
  if (src.length !== 4 || dst.length !== 4) throw new WireError('bad-address', 'IPv4 header needs IPv4 addresses');
  return writeIpv4Header(out, off, src, dst, repr.protocol, repr.ttl, repr.dscp, repr.ecn, repr.ident,
    repr.dontFragment, repr.options, payloadLength);
}

/** emitIpv4Header on address bytes (4 each), for the packet builder's hot path. */
export function writeIpv4Header(
  out: Uint8Array,
  off: number,
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  ttl: number,
  dscp: number,
  ecn: number,
  ident: number,
  dontFragment: boolean,
  options: Uint8Array | undefined,
  payloadLength: number,
): number {
  const optionsLength = options ? options.length : 0;
  if (optionsLength % 4 !== 0) throw new WireError('bad-field', `IPv4 options must be a multiple of 4 bytes, got ${optionsLength}`);
  if (optionsLength > 40) throw new WireError('too-large', `IPv4 options of ${optionsLength} bytes exceed the 40-byte limit`);
  const headerLength = IPV4_HEADER_LENGTH + optionsLength;
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > 0xffff - headerLength) {
    throw new WireError('too-large', `IPv4 payload of ${payloadLength} bytes does not fit the 16-bit total length`);
  }
  checkField('ttl', ttl, 255);
  checkField('dscp', dscp, 63);
  checkField('ecn', ecn, 3);
  checkField('ident', ident, 0xffff);
  checkField('protocol', protocol, 255);
  checkRoom(out, off, headerLength);
  const total = headerLength + payloadLength;
  out[off] = 0x40 | (headerLength >>> 2);
  out[off + 1] = (dscp << 2) | ecn;
  out[off + 2] = total >>> 8;
  out[off + 3] = total & 0xff;
  out[off + 4] = ident >>> 8;
  out[off + 5] = ident & 0xff;
  out[off + 6] = dontFragment ? 0x40 : 0;
  out[off + 7] = 0;
  out[off + 8] = ttl;
  out[off + 9] = protocol;
  out[off + 10] = 0;
  out[off + 11] = 0;
  out.set(src, off + 12);
  out.set(dst, off + 16);
  if (options && optionsLength > 0) out.set(options, off + IPV4_HEADER_LENGTH);
  const sum = ~onesComplementSum(out.subarray(off, off + headerLength)) & 0xffff;
  out[off + 10] = sum >>> 8;
  out[off + 11] = sum & 0xff;
  return headerLength;
}

/**
 * Writes the fixed 40-byte IPv6 header (next header = repr.protocol, no extension headers) for a
 * payload of `payloadLength` bytes (1..65535: no jumbograms) into out[off..]. Returns 40.
 */
export function emitIpv6Header(repr: Ipv6Repr, payloadLength: number, out: Uint8Array, off: number): number {
  const src = addressBytes(repr.src);
  const dst = addressBytes(repr.dst);
  if (src.length !== 16 || dst.length !== 16) throw new WireError('bad-address', 'IPv6 header needs IPv6 addresses');
  return writeIpv6Header(out, off, src, dst, repr.protocol, repr.hopLimit, repr.dscp, repr.ecn, repr.flowLabel, payloadLength);
}

/** emitIpv6Header on address bytes (16 each), for the packet builder's hot path. */
export function writeIpv6Header(
  out: Uint8Array,
  off: number,
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  hopLimit: number,
  dscp: number,
  ecn: number,
  flowLabel: number,
  payloadLength: number,
): number {
  if (!Number.isInteger(payloadLength) || payloadLength < 1 || payloadLength > 0xffff) {
    // 0 would read as a jumbogram (RFC 2675), more does not fit the 16-bit field.
    throw new WireError('too-large', `IPv6 payload length must be 1..65535, got ${payloadLength}`);
  }
  checkField('hop limit', hopLimit, 255);
  checkField('dscp', dscp, 63);
  checkField('ecn', ecn, 3);
  checkField('flow label', flowLabel, 0xfffff);
  checkField('protocol', protocol, 255);
  checkRoom(out, off, IPV6_HEADER_LENGTH);
  const trafficClass = (dscp << 2) | ecn;
  out[off] = 0x60 | (trafficClass >>> 4);
  out[off + 1] = ((trafficClass & 0x0f) << 4) | (flowLabel >>> 16);
  out[off + 2] = (flowLabel >>> 8) & 0xff;
  out[off + 3] = flowLabel & 0xff;
  out[off + 4] = payloadLength >>> 8;
  out[off + 5] = payloadLength & 0xff;
  out[off + 6] = protocol;
  out[off + 7] = hopLimit;
  out.set(src, off + 8);
  out.set(dst, off + 24);
  return IPV6_HEADER_LENGTH;
}

/** Emits either header kind. */
export function emitIpHeader(repr: IpRepr, payloadLength: number, out: Uint8Array, off: number): number {
  return repr.version === 4
    ? emitIpv4Header(repr, payloadLength, out, off)
    : emitIpv6Header(repr, payloadLength, out, off);
}
