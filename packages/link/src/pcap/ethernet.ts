/**
 * Ethernet II frames (IEEE 802.3 with EtherType): 6-byte destination, 6-byte source, 2-byte type.
 * No FCS (capture and injection on Linux do not carry it); 802.1Q tags are reported as their
 * EtherType and not unwrapped.
 */
import { FrameError } from './errors.js';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
} as const;

export const ETHERNET_HEADER_LENGTH = 14;
/** Smallest EtherType value; anything below is an 802.3 length field, not a type. */
const MIN_ETHERTYPE = 0x0600;

export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  etherType: number;
}

export interface EthernetFrame {
  eth: EthernetRepr;
  /** Everything after the header (may include padding up to the 60-byte minimum frame). */
  payload: Uint8Array;
}

export function parseEthernet(frame: Uint8Array): EthernetFrame {
  if (frame.length < ETHERNET_HEADER_LENGTH) {
    throw new FrameError('truncated', `Ethernet frame of ${frame.length} bytes is shorter than its header`);
  }
  const etherType = (frame[12] << 8) | frame[13];
  if (etherType < MIN_ETHERTYPE) throw new FrameError('unsupported', `802.3 length field ${etherType}, not an EtherType`);
  return {
    eth: { dst: frame.subarray(0, 6), src: frame.subarray(6, 12), etherType },
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  };
}

/** Writes the 14-byte header at `off`; returns the offset after it. */
export function emitEthernetHeader(repr: EthernetRepr, out: Uint8Array, off = 0): number {
  if (repr.dst.length !== 6 || repr.src.length !== 6) throw new FrameError('bad-address', 'MAC addresses are 6 bytes');
  if (off + ETHERNET_HEADER_LENGTH > out.length) throw new FrameError('truncated', 'no room for the Ethernet header');
  out.set(repr.dst, off);
  out.set(repr.src, off + 6);
  out[off + 12] = (repr.etherType >> 8) & 0xff;
  out[off + 13] = repr.etherType & 0xff;
  return off + ETHERNET_HEADER_LENGTH;
}

/** A fresh frame: header plus a copy of `payload`. */
export function buildEthernetFrame(repr: EthernetRepr, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETHERNET_HEADER_LENGTH + payload.length);
  emitEthernetHeader(repr, out, 0);
  out.set(payload, ETHERNET_HEADER_LENGTH);
  return out;
}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (m === null) throw new FrameError('bad-address', `not a MAC address: ${text}`);
  return new Uint8Array(m.slice(1).map((h) => parseInt(h, 16)));
}

export function formatMac(b: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Group (multicast/broadcast) addresses have the I/G bit, the low bit of the first byte, set. */
export function isGroupMac(b: Uint8Array): boolean {
  return (b[0] & 1) === 1;
}

/** A unicast, locally administered MAC (IEEE 802: U/L bit set, I/G bit clear) from 6 random bytes. */
export function localMacFrom(random: Uint8Array): Uint8Array {
  if (random.length < 6) throw new FrameError('bad-address', 'need 6 random bytes');
  // A copy (the caller's bytes stay as they are): Buffer#slice would be a view of them.
  const mac = new Uint8Array(random.subarray(0, 6));
  mac[0] = (mac[0] & 0xfc) | 0x02;
  return mac;
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
