/**
 * Shared pieces of the simulator tests: two TCP Hosts on a SimNetwork, seeded randomness, a
 * bulk transfer driver on HostConnection events, and a timer-counting clock wrapper.
 */
import { createHash } from 'node:crypto';
import { SimNetwork, type ConnectOptions as SimLinkOptions, type SimHost, type SimLink } from '@tcpls/link';
import { Host, type Clock, type HostConnection, type HostOptions, type TcpConfig, type TimerHandle } from '@tcpls/tcp';

export const A4 = '10.0.0.1';
export const B4 = '10.0.0.2';
export const A6 = 'fd00::1';
export const B6 = 'fd00::2';

export function sha256(u: Uint8Array): string {
  return createHash('sha256').update(u).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32), for payloads: cheap and seedable. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const w = new Uint32Array(out.buffer, 0, n >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    w[i] = x;
  }
  for (let i = w.length * 4; i < n; i++) out[i] = i & 0xff;
  return out;
}

/** A Clock wrapper that counts timers armed and not yet fired or cancelled. */
export class CountingClock implements Clock {
  live = 0;
  maxLive = 0;
  armed = 0;
  constructor(private readonly inner: Clock) {}
  now(): number {
    return this.inner.now();
  }
  setTimer(at: number, fn: () => void): TimerHandle {
    this.armed++;
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
    let done = false;
    const h = this.inner.setTimer(at, () => {
      if (done) return;
      done = true;
      this.live--;
      fn();
    });
    return {
      cancel: () => {
        if (done) return;
        done = true;
        this.live--;
        h.cancel();
      },
    };
  }
}

export interface Pair {
  net: SimNetwork;
  simA: SimHost;
  simB: SimHost;
  link: SimLink;
  a: Host;
  b: Host;
  clockA: CountingClock;
  clockB: CountingClock;
}

export interface PairOptions {
  seed?: number | string;
  link?: SimLinkOptions;
  ipv6?: boolean;
  hostA?: Partial<HostOptions>;
  hostB?: Partial<HostOptions>;
}

/** Two hosts "a" and "b" joined by one link; each TCP Host draws randomness from the network seed. */
export function makePair(o: PairOptions = {}): Pair {
  const net = new SimNetwork({ seed: o.seed ?? 1 });
  const addrA = o.ipv6 ? A6 : A4;
  const addrB = o.ipv6 ? B6 : B4;
  const simA = net.addHost('a', { addresses: [addrA] });
  const simB = net.addHost('b', { addresses: [addrB] });
  const link = net.connect(simA, simB, o.link ?? {});
  const rA = net.deriveRandom('host-a');
  const rB = net.deriveRandom('host-b');
  const clockA = new CountingClock(net.clock);
  const clockB = new CountingClock(net.clock);
  const a = new Host({ io: simA, clock: clockA, addresses: [addrA], random: (n) => rA.fill(new Uint8Array(n)), ...o.hostA });
  const b = new Host({ io: simB, clock: clockB, addresses: [addrB], random: (n) => rB.fill(new Uint8Array(n)), ...o.hostB });
  return { net, simA, simB, link, a, b, clockA, clockB };
}

/** Reads everything readable from a connection into `sink`. */
export function drain(c: HostConnection, sink: Uint8Array[]): number {
  let n = 0;
  for (let d = c.read(); d !== null; d = c.read()) {
    sink.push(d);
    n += d.length;
  }
  return n;
}

export interface BulkResult {
  received: Uint8Array;
  client: HostConnection;
  server: HostConnection | null;
  clientClosedError: string | null;
  serverClosed: boolean;
  clientClosed: boolean;
}

/**
 * `a` connects to `b`:port and sends `data`, then shuts down; `b` reads it all, answers the FIN
 * with its own. Runs the network until idle or `untilMs`.
 */
export function bulkTransfer(p: Pair, data: Uint8Array, opts: { port?: number; tcp?: Partial<TcpConfig>; untilMs?: number } = {}): BulkResult {
  const port = opts.port ?? 5001;
  const chunks: Uint8Array[] = [];
  const r: BulkResult = { received: new Uint8Array(0), client: null as unknown as HostConnection, server: null, clientClosedError: null, serverClosed: false, clientClosed: false };
  const listener = p.b.listen(port, { tcp: opts.tcp }, (s) => {
    r.server = s;
    s.onEvent = (ev) => {
      if (ev.type === 'readable' || ev.type === 'peer-closed') drain(s, chunks);
      if (ev.type === 'peer-closed') s.shutdown();
      if (ev.type === 'closed') r.serverClosed = true;
    };
  });
  const remote = p.b.addresses[0];
  const c = p.a.connect({ remote: { address: remote, port }, tcp: opts.tcp });
  r.client = c;
  let off = 0;
  let shut = false;
  const pump = (): void => {
    while (off < data.length) {
      const n = c.write(data.subarray(off, Math.min(data.length, off + 65536)));
      if (n === 0) return;
      off += n;
    }
    if (!shut) {
      shut = true;
      c.shutdown();
    }
  };
  c.onEvent = (ev) => {
    if (ev.type === 'connected' || ev.type === 'writable') pump();
    if (ev.type === 'closed') {
      r.clientClosed = true;
      r.clientClosedError = ev.error ? ev.error.code : null;
    }
  };
  if (opts.untilMs !== undefined) p.net.run(opts.untilMs);
  else p.net.runUntilIdle({ maxEvents: 50_000_000 });
  p.b.unlisten(listener);
  let total = 0;
  for (const ch of chunks) total += ch.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const ch of chunks) {
    out.set(ch, o);
    o += ch.length;
  }
  r.received = out;
  return r;
}
