/**
 * ICMP Time Exceeded messages that simulated routers send when a TTL / hop limit runs out, so that
 * TTL-limited probing (traceroute-style middlebox localisation) works on the simulator.
 */
import { internetChecksum, pseudoHeaderSum } from '@tcpls/tcp/wire';

/** RFC 1812 §4.3.2.3: the whole ICMP error datagram stays within 576 bytes. */
const V4_LIMIT = 576;
/** RFC 4443 §2.4(c): the ICMPv6 error packet must not exceed the minimum IPv6 MTU. */
const V6_LIMIT = 1280;

/** ICMPv4 error types (RFC 792): no error is sent about one of these (RFC 1122 §3.2.2). */
const V4_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

/**
 * Builds the Time Exceeded error about `original` (which expired at the router) from `from`
 * (4 or 16 address bytes of the router). Returns null when no error may be sent: the packet is
 * itself an ICMP error, a non-first fragment, or its family does not match `from`.
 */
export function buildTimeExceeded(original: Uint8Array, from: Uint8Array): Uint8Array | null {
  const v = original[0] >> 4;
  if (v === 4 && from.length === 4 && original.length >= 20) {
    const ihl = (original[0] & 0x0f) * 4;
    if (((original[6] & 0x1f) << 8 | original[7]) !== 0) return null; // not the first fragment
    if (original[9] === 1 && original.length > ihl && V4_ERROR_TYPES.has(original[ihl])) return null;
    const quote = original.subarray(0, Math.min(original.length, V4_LIMIT - 28));
    const p = new Uint8Array(28 + quote.length);
    p[0] = 0x45;
    p[2] = p.length >> 8;
    p[3] = p.length & 0xff;
    p[8] = 64;
    p[9] = 1; // ICMP
    p.set(from, 12);
    p.set(original.subarray(12, 16), 16); // back to the sender
    const hc = internetChecksum(p.subarray(0, 20));
    p[10] = hc >> 8;
    p[11] = hc & 0xff;
    p[20] = 11; // Time Exceeded
    p[21] = 0; // time to live exceeded in transit
    p.set(quote, 28);
    const ic = internetChecksum(p.subarray(20));
    p[22] = ic >> 8;
    p[23] = ic & 0xff;
    return p;
  }
  if (v === 6 && from.length === 16 && original.length >= 40) {
    if (original[6] === 58 && original.length > 40 && original[40] < 128) return null; // an ICMPv6 error (RFC 4443 §2.4(e))
    const quote = original.subarray(0, Math.min(original.length, V6_LIMIT - 48));
    const icmpLen = 8 + quote.length;
    const p = new Uint8Array(40 + icmpLen);
    p[0] = 0x60;
    p[4] = icmpLen >> 8;
    p[5] = icmpLen & 0xff;
    p[6] = 58; // ICMPv6
    p[7] = 64;
    p.set(from, 8);
    p.set(original.subarray(8, 24), 24);
    p[40] = 3; // Time Exceeded (RFC 4443 §3.3)
    p[41] = 0; // hop limit exceeded in transit
    p.set(quote, 48);
    const c = internetChecksum(p.subarray(40), pseudoHeaderSum(p.subarray(8, 24), p.subarray(24, 40), 58, icmpLen));
    p[42] = c >> 8;
    p[43] = c & 0xff;
    return p;
  }
  return null;
}
