/** ARP for IPv4 over Ethernet (RFC 826): the only hardware/protocol pair we speak. */
import { FrameError } from './errors.js';

export const ArpOperation = { REQUEST: 1, REPLY: 2 } as const;
export const ARP_PACKET_LENGTH = 28;
const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;

export interface ArpRepr {
  operation: number;
  /** Sender hardware address (6 bytes). */
  sha: Uint8Array;
  /** Sender protocol address (4 bytes). */
  spa: Uint8Array;
  tha: Uint8Array;
  tpa: Uint8Array;
}

/**
 * Parses an Ethernet/IPv4 ARP packet. Bytes after the 28 are accepted: Ethernet pads short frames
 * to 60 bytes, so ARP in a frame normally carries 18 bytes of padding.
 */
export function parseArp(buf: Uint8Array): ArpRepr {
  if (buf.length < ARP_PACKET_LENGTH) throw new FrameError('truncated', `ARP packet of ${buf.length} bytes`);
  const htype = (buf[0] << 8) | buf[1];
  const ptype = (buf[2] << 8) | buf[3];
  if (htype !== HTYPE_ETHERNET || ptype !== PTYPE_IPV4 || buf[4] !== 6 || buf[5] !== 4) {
    throw new FrameError('unsupported', `ARP for hardware ${htype}/${buf[4]}, protocol 0x${ptype.toString(16)}/${buf[5]}`);
  }
  const operation = (buf[6] << 8) | buf[7];
  if (operation !== ArpOperation.REQUEST && operation !== ArpOperation.REPLY) {
    throw new FrameError('unsupported', `ARP operation ${operation}`);
  }
  return {
    operation,
    sha: buf.subarray(8, 14),
    spa: buf.subarray(14, 18),
    tha: buf.subarray(18, 24),
    tpa: buf.subarray(24, 28),
  };
}

export function emitArp(repr: ArpRepr, out: Uint8Array, off = 0): number {
  if (off + ARP_PACKET_LENGTH > out.length) throw new FrameError('truncated', 'no room for the ARP packet');
  if (repr.sha.length !== 6 || repr.tha.length !== 6 || repr.spa.length !== 4 || repr.tpa.length !== 4) {
    throw new FrameError('bad-address', 'ARP addresses must be 6-byte MACs and 4-byte IPv4 addresses');
  }
  out[off] = 0;
  out[off + 1] = HTYPE_ETHERNET;
  out[off + 2] = PTYPE_IPV4 >> 8;
  out[off + 3] = PTYPE_IPV4 & 0xff;
  out[off + 4] = 6;
  out[off + 5] = 4;
  out[off + 6] = repr.operation >> 8;
  out[off + 7] = repr.operation & 0xff;
  out.set(repr.sha, off + 8);
  out.set(repr.spa, off + 14);
  out.set(repr.tha, off + 18);
  out.set(repr.tpa, off + 24);
  return off + ARP_PACKET_LENGTH;
}

export function buildArp(repr: ArpRepr): Uint8Array {
  const out = new Uint8Array(ARP_PACKET_LENGTH);
  emitArp(repr, out, 0);
  return out;
}
