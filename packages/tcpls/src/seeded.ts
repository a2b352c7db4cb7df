/**
 * Deterministic "random" bytes from a seed (xorshift32), for the simulator, the demo and tests:
 * the same seed gives the same ISNs, TLS randoms, key shares and tokens, so a run can be replayed.
 * Never for real keys: real drivers inject crypto.getRandomValues.
 */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}
