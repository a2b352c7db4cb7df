/**
 * The simulator's seeded pseudo-random numbers: xoshiro128** (Blackman and Vigna, 2018), seeded
 * through splitmix32 so that nearby seeds (1, 2, 3 …) give unrelated streams.
 *
 * Nothing in the simulator uses Math.random: every draw comes from a SimRandom derived from the
 * network's seed, so a run is reproducible bit for bit.
 */

/** One step of splitmix32: advances `state` and returns a well-mixed u32. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any finite number or string into a u32 seed (numbers beyond 2^32 keep their high part). */
export function seedToU32(seed: number | string): number {
  if (typeof seed === 'string') {
    // FNV-1a over the UTF-16 code units: stable across platforms.
    let h = 0x811c9dc5;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  }
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
  const n = Math.trunc(Math.abs(seed));
  const lo = n % 2 ** 32;
  const hi = Math.floor(n / 2 ** 32) % 2 ** 32;
  return (lo ^ Math.imul(hi, 0x9e3779b1) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0;
}

export class SimRandom {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number | string) {
    const st = { s: seedToU32(seed) };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    // xoshiro's all-zero state is a fixed point; splitmix32 cannot produce four zeros in a row, but be explicit.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness (enough for probabilities down to 2^-32). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32, without modulo bias. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296) || !Number.isInteger(n)) throw new RangeError(`int(n) needs an integer 1..2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const v = this.u32();
      if (v < limit) return v % n;
    }
  }

  /** Fills `out` with random bytes (e.g. for ISNs or TLS randoms inside simulated endpoints). */
  fill(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff;
      if (i + 1 < out.length) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < out.length) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < out.length) out[i + 3] = v >>> 24;
    }
    return out;
  }

  /** An independent stream derived from this one and a label (e.g. one per link direction). */
  fork(label: number | string): SimRandom {
    return new SimRandom((this.u32() ^ seedToU32(label)) >>> 0);
  }
}
