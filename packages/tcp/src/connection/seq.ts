/**
 * Modular u32 sequence-number arithmetic (RFC 9293 section 3.4: "all arithmetic dealing with
 * sequence numbers must be performed modulo 2**32"). Comparisons use the signed 32-bit
 * difference, valid while the two numbers are less than 2^31 apart.
 */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** Signed distance a - b (negative when a is before b). */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
/** a <= x < b in sequence space. */
export function seqInRange(x: number, a: number, b: number): boolean {
  return seqLe(a, x) && seqLt(x, b);
}
