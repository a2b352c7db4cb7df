/**
 * The few address helpers the links need at run time (byte form for fast comparisons, text for
 * the native addons), on top of the stack's codecs in @tcpls/tcp/wire.
 */
import { formatIpAddress, parseIpAddress } from '@tcpls/tcp/wire';
import { isIPv4, isIPv6 } from 'node:net';

/** Address bytes (4 or 16) of a text address, or null when it is not one (zone ids rejected). */
export function ipToBytes(text: string): Uint8Array | null {
  if (!isIPv4(text) && !isIPv6(text)) return null;
  try {
    return parseIpAddress(text);
  } catch {
    return null;
  }
}

/** Canonical text of the 4 or 16 address bytes at `off`. */
export function bytesToIp(b: Uint8Array, off: number, len: 4 | 16): string {
  return formatIpAddress(b.subarray(off, off + len));
}

/** True when `b[off..off+a.length)` equals `a`. */
export function bytesEqualAt(a: Uint8Array, b: Uint8Array, off: number): boolean {
  if (off + a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

/** True when the first `prefixLength` bits of `a` and `b` agree (same length addresses). */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefixLength: number): boolean {
  if (a.length !== b.length) return false;
  let bits = prefixLength;
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}
