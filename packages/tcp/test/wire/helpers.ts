/** Shared helpers for the wire codec tests. */
import { WireError, emitIpv6Header, type Ipv6Repr, type WireErrorCode } from '../../src/wire/index.js';

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new Error(`bad hex ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The WireError code `fn` throws; fails the test when it throws anything else or nothing. */
export function wireErrorCode(fn: () => unknown): WireErrorCode {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw new Error(`expected a WireError, got ${String(e)}`);
  }
  throw new Error('expected a WireError, nothing was thrown');
}

/** RFC 1071 written the obvious way, as a reference: 16-bit big-endian words, fold at each step. */
export function referenceChecksum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < data.length; i += 2) {
    const word = (data[i] << 8) | (i + 1 < data.length ? data[i + 1] : 0);
    sum += word;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An IPv6 packet (fd00::1 -> fd00::2) with the extension headers `chain` (types), each
 * (lengths[k] + 1) * 8 bytes long and filled with a PadN option, then `upper` and the payload.
 */
export function ipv6WithExtensions(chain: number[], upper: number, payload: Uint8Array, lengths?: number[]): Uint8Array {
  const exts = chain.map((_, k) => 8 * ((lengths?.[k] ?? 0) + 1));
  const extTotal = exts.reduce((a, b) => a + b, 0);
  const pkt = new Uint8Array(40 + extTotal + payload.length);
  const repr: Ipv6Repr = { version: 6, src: 'fd00::1', dst: 'fd00::2', protocol: chain.length > 0 ? chain[0] : upper, hopLimit: 64, dscp: 0, ecn: 0, flowLabel: 0 };
  emitIpv6Header(repr, extTotal + payload.length, pkt, 0);
  let off = 40;
  chain.forEach((_, k) => {
    pkt[off] = k + 1 < chain.length ? chain[k + 1] : upper;
    pkt[off + 1] = lengths?.[k] ?? 0;
    // Body: a PadN option (type 1) so the header would also be valid to a real stack.
    pkt[off + 2] = 1;
    pkt[off + 3] = exts[k] - 4;
    off += exts[k];
  });
  pkt.set(payload, off);
  return pkt;
}

