/**
 * In-place field rewriting with incremental Internet-checksum update (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')), the way routers and middleboxes adjust TTLs, MSS values and sequence
 * numbers without summing the whole packet again. A packet whose checksum was wrong stays wrong by
 * the same amount, as through a real middlebox.
 */

function fold(x: number): number {
  while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
  return x;
}

/** Adjusts the checksum stored at `csumOff` for a 16-bit word changing from `oldWord` to `newWord`. */
function adjustChecksum16(p: Uint8Array, csumOff: number, oldWord: number, newWord: number): void {
  const hc = (p[csumOff] << 8) | p[csumOff + 1];
  const sum = fold((~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff));
  const out = ~sum & 0xffff;
  p[csumOff] = out >> 8;
  p[csumOff + 1] = out & 0xff;
}

/**
 * Writes a 16-bit big-endian word at `off` and updates the checksum at `csumOff`. Words are
 * aligned relative to the start of the checksummed area; `aligned` false means `off` is odd
 * relative to it, and the update is done byte-swapped (RFC 1071 §2(B): byte order independence).
 */
export function setWord16(p: Uint8Array, off: number, value: number, csumOff: number, aligned = true): void {
  const old = (p[off] << 8) | p[off + 1];
  if (old === value) return;
  p[off] = (value >> 8) & 0xff;
  p[off + 1] = value & 0xff;
  if (aligned) adjustChecksum16(p, csumOff, old, value);
  else adjustChecksum16(p, csumOff, swap16(old), swap16(value));
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >> 8);
}

/** Writes one byte and updates the checksum; `evenOffset` tells whether it is the high byte of its word. */
export function setByte(p: Uint8Array, off: number, value: number, csumOff: number, evenOffset: boolean): void {
  const old = p[off];
  if (old === value) return;
  p[off] = value & 0xff;
  if (evenOffset) adjustChecksum16(p, csumOff, old << 8, (value & 0xff) << 8);
  else adjustChecksum16(p, csumOff, old, value & 0xff);
}

export function getU32(p: Uint8Array, off: number): number {
  return p[off] * 0x1000000 + ((p[off + 1] << 16) | (p[off + 2] << 8) | p[off + 3]);
}

/** Writes a 32-bit word at an even offset (relative to the checksummed area) and updates the checksum. */
export function setU32(p: Uint8Array, off: number, value: number, csumOff: number, aligned = true): void {
  const v = value >>> 0;
  setWord16(p, off, v >>> 16, csumOff, aligned);
  setWord16(p, off + 2, v & 0xffff, csumOff, aligned);
}
