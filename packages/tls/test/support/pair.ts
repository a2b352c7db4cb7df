/** Drives an in-memory client/server pair until idle, with a step bound that reports livelock. */
import { randomBytes } from 'node:crypto';
import type { TlsConnection, TlsEvent } from '../../src/handshake/connection.js';

export const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** A deterministic random source from a seed (xorshift), for reproducible handshakes. */
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

export function drain(c: TlsConnection): TlsEvent[] {
  const out: TlsEvent[] = [];
  for (let e = c.pollEvent(); e; e = c.pollEvent()) out.push(e);
  return out;
}

/** Moves bytes both ways until neither side has output; collects events. */
export function pump(a: TlsConnection, b: TlsConnection, now = Date.now(), maxSteps = 100): { a: TlsEvent[]; b: TlsEvent[] } {
  const ev = { a: [] as TlsEvent[], b: [] as TlsEvent[] };
  for (let i = 0; i < maxSteps; i++) {
    const x = a.pollOutput();
    const y = b.pollOutput();
    if (!x && !y) {
      ev.a.push(...drain(a));
      ev.b.push(...drain(b));
      return ev;
    }
    if (x) b.receive(x, now);
    if (y) a.receive(y, now);
    ev.a.push(...drain(a));
    ev.b.push(...drain(b));
  }
  throw new Error('pump: no quiescence (livelock)');
}
