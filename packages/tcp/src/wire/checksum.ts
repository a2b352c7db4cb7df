/**
 * The Internet checksum (RFC 1071) and the TCP pseudo-header (RFC 9293 section 3.1 for IPv4,
 * RFC 8200 section 8.1 for IPv6).
 *
 * Conventions used by every function here:
 * - `internetChecksum(buf, initial)` returns the value to WRITE into a checksum field: the one's
 *   complement of the one's complement sum of `initial` and buf's 16-bit big-endian words (an odd
 *   last byte is padded with a zero byte). Over a buffer that already holds a correct checksum it
 *   returns 0, which is how verification works.
 * - `pseudoHeaderSum(...)` returns a folded, NOT complemented 16-bit sum, meant as `initial`.
 * - `tcpChecksum(ip, segment)` treats the segment's checksum field (bytes 16..17) as zero, whatever
 *   it holds, so it can be called on a segment before or after the field is filled in.
 *
 * Speed: the sum runs over 32-bit host-order words of an aligned Uint32Array view and folds once at
 * the end (RFC 1071 section 2: the sum is independent of byte order up to a final swap, and may be
 * accumulated in a wider register). A double holds the running sum exactly up to 2^53, i.e. for
 * inputs up to 8 MB before a fold is needed; longer inputs are folded every MAX_WORDS_BEFORE_FOLD.
 */
import { addressBytes } from './address.js';
import { WireError } from './types.js';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the view allocation costs more than the byte loop. */
const SMALL = 64;
/** 2^20 words of at most 2^32 each stay below 2^53. */
const MAX_WORDS_BEFORE_FOLD = 1 << 20;

/** Folds a non-negative sum (exact in a double) to 16 bits with end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/**
 * The folded one's complement sum (not complemented) of buf's bytes, as if buf[0] were the high byte
 * of a 16-bit word. Exported for codecs that combine partial sums; most callers want
 * internetChecksum.
 */
export function onesComplementSum(buf: Uint8Array, initial = 0): number {
  const len = buf.length;
  let sum = initial;
  if (len < SMALL || !(buf.buffer instanceof ArrayBuffer || isShared(buf.buffer))) {
    let i = 0;
    const even = len & ~1;
    for (; i < even; i += 2) sum += (buf[i] << 8) | buf[i + 1];
    if (i < len) sum += buf[i] << 8;
    return fold(sum);
  }
  // Bytes before the first 4-aligned address, one by one; their parity decides the word half.
  const base = buf.byteOffset;
  let head = (4 - (base & 3)) & 3;
  let i = 0;
  for (; i < head; i++) sum += (i & 1) === 0 ? buf[i] << 8 : buf[i];
  const words = (len - head) >>> 2;
  let mid = 0;
  if (words > 0) {
    const view = new Uint32Array(buf.buffer, base + head, words);
    let acc = 0;
    let w = 0;
    while (w < words) {
      const stop = Math.min(words, w + MAX_WORDS_BEFORE_FOLD);
      // Unrolled by 4: the loop overhead is a large part of the cost on V8.
      const stop4 = stop - ((stop - w) & 3);
      for (; w < stop4; w += 4) acc += view[w] + view[w + 1] + view[w + 2] + view[w + 3];
      for (; w < stop; w++) acc += view[w];
      acc = fold(acc);
    }
    mid = fold(acc);
    // A host-order (little-endian) read sees each 16-bit pair with its first byte as the LOW byte.
    // When the middle starts at an even position of buf, the first byte should be HIGH: swap. When it
    // starts at an odd position, the first byte belongs to the low half already: keep.
    if (LITTLE_ENDIAN_HOST === ((head & 1) === 0)) mid = swap16(mid);
  }
  sum += mid;
  for (i = head + words * 4; i < len; i++) sum += (i & 1) === 0 ? buf[i] << 8 : buf[i];
  return fold(sum);
}

function isShared(b: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer;
}

/**
 * RFC 1071 Internet checksum of buf, starting from a partial sum `initial` (e.g. a pseudo-header
 * sum): the value to write into a checksum field; 0 over data that includes a correct checksum.
 */
export function internetChecksum(buf: Uint8Array, initial = 0): number {
  if (!Number.isInteger(initial) || initial < 0) {
    throw new WireError('bad-field', `checksum initial value must be a non-negative integer, got ${initial}`);
  }
  return ~onesComplementSum(buf, fold(initial)) & 0xffff;
}

/** Sum of the 16-bit words of an address (4 or 16 bytes). */
function addressSum(a: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 2) sum += (a[i] << 8) | a[i + 1];
  return sum;
}

/**
 * The folded 16-bit sum of the TCP/UDP pseudo-header: for IPv4 (RFC 9293 section 3.1) source,
 * destination, zero, protocol, 16-bit length; for IPv6 (RFC 8200 section 8.1) source, destination,
 * 32-bit upper-layer length, 3 zero bytes, next header. Both addresses must be the same family.
 */
export function pseudoHeaderSum(
  src: string | Uint8Array,
  dst: string | Uint8Array,
  protocol: number,
  length: number,
): number {
  const s = addressBytes(src);
  const d = addressBytes(dst);
  if (s.length !== d.length) throw new WireError('bad-address', 'source and destination are of different IP versions');
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) {
    throw new WireError('bad-field', `protocol must be 0..255, got ${protocol}`);
  }
  const maxLength = s.length === 4 ? 0xffff : 0xffffffff;
  if (!Number.isInteger(length) || length < 0 || length > maxLength) {
    throw new WireError('bad-field', `upper-layer length out of range: ${length}`);
  }
  // The 32-bit IPv6 length contributes its two halves; for IPv4 the high half is zero.
  return fold(addressSum(s) + addressSum(d) + protocol + (length >>> 16) + (length & 0xffff));
}

/** Where a TCP segment lives: its IP source and destination (text or 4/16 bytes). */
export interface IpEndpoints {
  src: string | Uint8Array;
  dst: string | Uint8Array;
}

const TCP_PROTOCOL = 6;

/**
 * The TCP checksum of `segment` (header + options + payload) for the given addresses, computed as if
 * the checksum field (bytes 16..17) were zero, whatever it holds. Write the result there.
 */
export function tcpChecksum(ip: IpEndpoints, segment: Uint8Array): number {
  if (segment.length < 18) throw new WireError('truncated', `TCP segment of ${segment.length} bytes has no checksum field`);
  const pseudo = pseudoHeaderSum(ip.src, ip.dst, TCP_PROTOCOL, segment.length);
  const field = (segment[16] << 8) | segment[17];
  // Summing the field and its complement adds 0xffff, which is zero in one's complement arithmetic:
  // this removes the field without copying or modifying the segment.
  return ~onesComplementSum(segment, pseudo + (~field & 0xffff)) & 0xffff;
}

/** True when the segment's checksum field is correct for these addresses (0 and 0xffff alike). */
export function verifyTcpChecksum(ip: IpEndpoints, segment: Uint8Array): boolean {
  if (segment.length < 18) return false;
  return internetChecksum(segment, pseudoHeaderSum(ip.src, ip.dst, TCP_PROTOCOL, segment.length)) === 0;
}
