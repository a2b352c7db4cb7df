/**
 * The TCP header (RFC 9293 section 3.1): parse a segment into a TcpRepr, emit a repr with its
 * checksum.
 *
 * - parseTcp refuses a segment shorter than 20 bytes ('truncated'), a data offset below 5 or past
 *   the end of the segment ('bad-header-length'), malformed options (see tcp-options.ts,
 *   'bad-option') and, only when addresses are given to verify against, a wrong checksum
 *   ('bad-checksum'). The payload is a view into the input.
 * - emitTcp writes header, options, zero padding up to the next multiple of 4 (zero bytes are EOL
 *   and padding, RFC 9293 section 3.2) and the payload, then the checksum. A repr whose options are
 *   not a multiple of 4 therefore parses back with an extra trailing EOL entry; pass options
 *   through padTcpOptions to choose the padding yourself.
 */
import { onesComplementSum, pseudoHeaderSum, type IpEndpoints } from './checksum.js';
import { emitTcpOptions, parseTcpOptions, tcpOptionsLength, MAX_TCP_OPTIONS_LENGTH } from './tcp-options.js';
import { WireError, type TcpOption, type TcpRepr } from './types.js';

export const TCP_HEADER_LENGTH = 20;
const TCP_PROTOCOL = 6;

/**
 * Parses the fixed header, options and payload of `segment` (which must hold exactly one TCP
 * segment: the IP layer has already cut it to its length). With `verify` (the IP addresses), the
 * checksum is checked first.
 */
export function parseTcp(segment: Uint8Array, verify?: IpEndpoints): TcpRepr {
  if (segment.length < TCP_HEADER_LENGTH) {
    throw new WireError('truncated', `TCP segment of ${segment.length} bytes is shorter than the 20-byte header`);
  }
  if (verify !== undefined) {
    const pseudo = pseudoHeaderSum(verify.src, verify.dst, TCP_PROTOCOL, segment.length);
    if (onesComplementSum(segment, pseudo) !== 0xffff) throw new WireError('bad-checksum', 'TCP checksum mismatch');
  }
  return parseTcpUnchecked(segment);
}

/** parseTcp without the checksum check; for callers that verified it another way. */
export function parseTcpUnchecked(segment: Uint8Array): TcpRepr {
  if (segment.length < TCP_HEADER_LENGTH) {
    throw new WireError('truncated', `TCP segment of ${segment.length} bytes is shorter than the 20-byte header`);
  }
  const dataOffset = segment[12] >>> 4;
  const headerLength = dataOffset * 4;
  if (dataOffset < 5) {
    throw new WireError('bad-header-length', `TCP data offset ${dataOffset} is below the minimum of 5`);
  }
  if (headerLength > segment.length) {
    throw new WireError('bad-header-length', `TCP data offset ${dataOffset} (${headerLength} bytes) runs past the ${segment.length}-byte segment`);
  }
  const options: TcpOption[] =
    headerLength > TCP_HEADER_LENGTH ? parseTcpOptions(segment.subarray(TCP_HEADER_LENGTH, headerLength)) : [];
  const repr: TcpRepr = {
    srcPort: (segment[0] << 8) | segment[1],
    dstPort: (segment[2] << 8) | segment[3],
    seq: segment[4] * 0x1000000 + ((segment[5] << 16) | (segment[6] << 8) | segment[7]),
    ack: segment[8] * 0x1000000 + ((segment[9] << 16) | (segment[10] << 8) | segment[11]),
    flags: segment[13],
    window: (segment[14] << 8) | segment[15],
    urgent: (segment[18] << 8) | segment[19],
    options,
    payload: segment.subarray(headerLength),
  };
  const reserved = segment[12] & 0x0f;
  if (reserved !== 0) repr.reserved = reserved;
  return repr;
}

/** Options length rounded up to 4; throws 'too-large' past the 40-byte option space. */
function paddedOptionsLength(options: readonly TcpOption[]): number {
  const n = tcpOptionsLength(options);
  if (n > MAX_TCP_OPTIONS_LENGTH) {
    throw new WireError('too-large', `TCP options of ${n} bytes exceed the ${MAX_TCP_OPTIONS_LENGTH}-byte option space`);
  }
  return (n + 3) & ~3;
}

/** Header length of a repr: 20 + options padded to a multiple of 4 (at most 60). */
export function tcpHeaderLength(repr: TcpRepr): number {
  return TCP_HEADER_LENGTH + paddedOptionsLength(repr.options);
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new WireError('bad-field', `TCP ${name} must be an integer 0..${max}, got ${value}`);
  }
}

/**
 * Writes header + options (+ zero padding) + payload at out[off..] without the checksum (the field
 * is left zero). Returns the segment length. Used by emitTcp and by buildTcpPacket, which adds the
 * checksum itself.
 */
export function emitTcpNoChecksum(repr: TcpRepr, out: Uint8Array, off: number): number {
  checkField('source port', repr.srcPort, 0xffff);
  checkField('destination port', repr.dstPort, 0xffff);
  checkField('sequence number', repr.seq, 0xffffffff);
  checkField('acknowledgment number', repr.ack, 0xffffffff);
  checkField('flags', repr.flags, 0xff);
  checkField('window', repr.window, 0xffff);
  checkField('urgent pointer', repr.urgent, 0xffff);
  const reserved = repr.reserved ?? 0;
  checkField('reserved bits', reserved, 0x0f);
  const headerLength = tcpHeaderLength(repr);
  const total = headerLength + repr.payload.length;
  if (!Number.isInteger(off) || off < 0 || off + total > out.length) {
    throw new WireError('truncated', `output buffer of ${out.length} bytes has no room for a ${total}-byte segment at ${off}`);
  }
  out[off] = repr.srcPort >>> 8;
  out[off + 1] = repr.srcPort & 0xff;
  out[off + 2] = repr.dstPort >>> 8;
  out[off + 3] = repr.dstPort & 0xff;
  const seq = repr.seq;
  out[off + 4] = seq >>> 24;
  out[off + 5] = (seq >>> 16) & 0xff;
  out[off + 6] = (seq >>> 8) & 0xff;
  out[off + 7] = seq & 0xff;
  const ack = repr.ack;
  out[off + 8] = ack >>> 24;
  out[off + 9] = (ack >>> 16) & 0xff;
  out[off + 10] = (ack >>> 8) & 0xff;
  out[off + 11] = ack & 0xff;
  out[off + 12] = ((headerLength >>> 2) << 4) | reserved;
  out[off + 13] = repr.flags;
  out[off + 14] = repr.window >>> 8;
  out[off + 15] = repr.window & 0xff;
  out[off + 16] = 0;
  out[off + 17] = 0;
  out[off + 18] = repr.urgent >>> 8;
  out[off + 19] = repr.urgent & 0xff;
  let i = off + TCP_HEADER_LENGTH;
  if (repr.options.length > 0) i += emitTcpOptions(repr.options, out, i);
  // Header padding is zeros (EOL), whatever the buffer held before.
  const headerEnd = off + headerLength;
  while (i < headerEnd) out[i++] = 0;
  out.set(repr.payload, headerEnd);
  return total;
}

/**
 * Writes the whole segment (header, options, padding, payload) at out[off..] and its checksum for the
 * given IP addresses. Returns the segment length.
 */
export function emitTcp(repr: TcpRepr, out: Uint8Array, off: number, ip: IpEndpoints): number {
  const total = emitTcpNoChecksum(repr, out, off);
  const pseudo = pseudoHeaderSum(ip.src, ip.dst, TCP_PROTOCOL, total);
  const sum = ~onesComplementSum(out.subarray(off, off + total), pseudo) & 0xffff;
  out[off + 16] = sum >>> 8;
  out[off + 17] = sum & 0xff;
  return total;
}
