import { SimError, SimNetwork, type ConnectOptions, type SimHost } from '@tcpls/link';
import { internetChecksum, ipv4Packet, ipv6Packet, tagOf } from './helpers.js';

interface Arrival {
  tag: number;
  time: number;
}

/** client —link— server; the server records (tag, time) of everything it receives. */
function pair(params: ConnectOptions, seed: number | string = 1) {
  const sim = new SimNetwork({ seed });
  const client = sim.addHost('client', { addresses: ['10.0.0.1'] });
  const server = sim.addHost('server', { addresses: ['10.0.0.2'] });
  const link = sim.connect(client, server, params);
  const arrivals: Arrival[] = [];
  server.onPacket((p) => arrivals.push({ tag: tagOf(p), time: sim.now }));
  return { sim, client, server, link, arrivals };
}

/** Sends n packets of `size` bytes from the client at time `at` (all at once). */
function burst(sim: SimNetwork, host: SimHost, n: number, size: number, at = 0, dst = '10.0.0.2'): boolean[] {
  const results: boolean[] = [];
  sim.clock.setTimer(at, () => {
    for (let i = 0; i < n; i++) results.push(host.send(ipv4Packet('10.0.0.1', dst, size, i)));
  });
  return results;
}

/** Binomial tolerance: |observed - n p| <= k standard deviations. */
function withinBinomial(observed: number, n: number, p: number, k = 5): boolean {
  const sd = Math.sqrt(n * p * (1 - p));
  return Math.abs(observed - n * p) <= k * sd;
}

describe('SimNetwork link timing', () => {
  test('serialisation: a burst leaves at exactly the configured rate (±1 %), first packet after tx + delay', () => {
    const rate = 8_000_000; // 1000-byte packets take exactly 1 ms
    const { sim, client, arrivals } = pair({ rate, delay: 10, queuePackets: 10_000 });
    burst(sim, client, 1000, 1000);
    sim.runUntilIdle();
    expect(arrivals).toHaveLength(1000);
    expect(arrivals[0].time).toBeCloseTo(1 + 10, 9);
    const span = arrivals[999].time - arrivals[0].time;
    const measured = (999 * 1000 * 8) / (span / 1000);
    expect(Math.abs(measured - rate) / rate).toBeLessThan(0.01);
    // FIFO: tags arrive in order.
    expect(arrivals.map((a) => a.tag)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  test('propagation delay is exact with an infinite rate', () => {
    const { sim, client, arrivals } = pair({ delay: 37.5 });
    burst(sim, client, 3, 100, 5);
    sim.runUntilIdle();
    expect(arrivals.map((a) => a.time)).toEqual([42.5, 42.5, 42.5]);
  });

  test('per-direction settings: forward and reverse delays differ', () => {
    const { sim, client, server, link } = pair({ delay: 5, reverse: { delay: 20 } });
    const back: number[] = [];
    client.onPacket(() => back.push(sim.now));
    server.onPacket((p) => server.send(ipv4Packet('10.0.0.2', '10.0.0.1', p.length, 0)));
    burst(sim, client, 1, 100);
    sim.runUntilIdle();
    expect(back).toEqual([25]);
    expect(link.stats().forward.delivered).toBe(1);
    expect(link.stats().reverse.delivered).toBe(1);
  });

  test('jitter stays within [delay, delay + jitter) and never reorders', () => {
    const { sim, client, arrivals } = pair({ delay: 10, jitter: 5 });
    sim.clock.setTimer(0, () => {
      for (let i = 0; i < 500; i++) sim.clock.setTimer(i * 0.5, () => client.send(ipv4Packet('10.0.0.1', '10.0.0.2', 100, i)));
    });
    sim.runUntilIdle();
    expect(arrivals).toHaveLength(500);
    let spread = 0;
    for (let i = 0; i < 500; i++) {
      const sentAt = i * 0.5;
      expect(arrivals[i].tag).toBe(i);
      expect(arrivals[i].time).toBeGreaterThanOrEqual(sentAt + 10);
      spread = Math.max(spread, arrivals[i].time - sentAt - 10);
    }
    expect(spread).toBeGreaterThan(1); // jitter is actually applied
  });

  test('queue overflow: drop-tail by packets, drops counted and reported by send()', () => {
    const { sim, client, link, arrivals } = pair({ rate: 1_000_000, queuePackets: 10 });
    const results = burst(sim, client, 100, 500);
    sim.runUntilIdle();
    // One packet on the wire, ten waiting; the rest are dropped at the tail.
    expect(results.filter((r) => r)).toHaveLength(11);
    expect(results.slice(0, 11).every((r) => r)).toBe(true);
    expect(link.forward.stats.dropped.queue).toBe(89);
    expect(arrivals.map((a) => a.tag)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(link.forward.stats.maxQueueBytes).toBe(5000);
  });

  test('queue overflow: drop-tail by bytes, and the queue drains at the link rate', () => {
    const { sim, client, link, arrivals } = pair({ rate: 8_000_000, queueBytes: 3000 });
    const first = burst(sim, client, 10, 1000, 0);
    // 2.5 ms later two packets have left the queue (one finished, one on the wire), so two more fit.
    const second = burst(sim, client, 5, 1000, 2.5);
    sim.runUntilIdle();
    expect(first.filter((r) => r)).toHaveLength(4);
    expect(second.filter((r) => r)).toHaveLength(2);
    expect(link.forward.stats.dropped.queue).toBe(6 + 3);
    expect(arrivals).toHaveLength(6);
  });

  test('oversize packets are dropped and counted (mtu)', () => {
    const { sim, client, link, arrivals } = pair({ mtu: 1280 });
    const r = burst(sim, client, 1, 1281);
    const ok = burst(sim, client, 1, 1280);
    sim.runUntilIdle();
    expect(r).toEqual([false]);
    expect(ok).toEqual([true]);
    expect(link.forward.stats.dropped.mtu).toBe(1);
    expect(arrivals).toHaveLength(1);
    expect(client.mtu).toBe(1280);
  });
});

describe('SimNetwork random impairments (binomial tolerance, 5 sd)', () => {
  const N = 20000;

  test('loss rate matches the setting and every packet is accounted for', () => {
    const { sim, client, link, arrivals } = pair({ loss: 0.1 }, 42);
    burst(sim, client, N, 64);
    sim.runUntilIdle();
    const s = link.forward.stats;
    expect(s.sent).toBe(N);
    expect(s.delivered + s.dropped.loss).toBe(N);
    expect(arrivals).toHaveLength(s.delivered);
    expect(withinBinomial(s.dropped.loss, N, 0.1)).toBe(true);
    expect(s.dropped.loss).toBeGreaterThan(0);
  });

  test('bursty loss (Gilbert-Elliott): long-run rate and mean burst length match the chain', () => {
    const M = 50000;
    const { sim, client, link, arrivals } = pair({ burstLoss: { enter: 0.01, exit: 0.25 } }, 21);
    burst(sim, client, M, 64);
    sim.runUntilIdle();
    const lost = link.forward.stats.dropped.loss;
    expect(lost + arrivals.length).toBe(M);
    // Stationary bad-state share enter / (enter + exit) = 0.0385; losses are correlated, so the
    // tolerance is wider than a binomial one (and the run is deterministic).
    expect(Math.abs(lost / M - 0.01 / 0.26)).toBeLessThan(0.006);
    // Bursts: runs of consecutive missing tags; geometric with mean 1 / exit = 4.
    const got = new Uint8Array(M);
    for (const a of arrivals) got[a.tag] = 1;
    let bursts = 0;
    for (let i = 0; i < M; i++) if (!got[i] && (i === 0 || got[i - 1])) bursts++;
    expect(lost / bursts).toBeGreaterThan(3.4);
    expect(lost / bursts).toBeLessThan(4.6);
    // Independent loss at the same rate would give bursts of ~1.04 packets.
  });

  test('duplication rate matches the setting; duplicates are separate buffers with the same bytes', () => {
    const { sim, client, server, link } = pair({ duplicate: 0.05 }, 7);
    const seen = new Map<number, Uint8Array[]>();
    server.onPacket((p) => {
      const t = tagOf(p);
      seen.set(t, [...(seen.get(t) ?? []), p]);
    });
    burst(sim, client, N, 64);
    sim.runUntilIdle();
    const s = link.forward.stats;
    expect(s.delivered).toBe(N + s.duplicated);
    expect(withinBinomial(s.duplicated, N, 0.05)).toBe(true);
    const dups = [...seen.values()].filter((v) => v.length === 2);
    expect(dups).toHaveLength(s.duplicated);
    expect(dups[0][0]).not.toBe(dups[0][1]);
    expect(Buffer.from(dups[0][0]).equals(Buffer.from(dups[0][1]))).toBe(true);
  });

  test('reordering rate matches the setting: held-back packets are overtaken', () => {
    const { sim, client, link, arrivals } = pair({ delay: 5, reorder: 0.02, reorderDelay: 3 }, 9);
    sim.clock.setTimer(0, () => {
      for (let i = 0; i < N; i++) sim.clock.setTimer(i * 0.1, () => client.send(ipv4Packet('10.0.0.1', '10.0.0.2', 64, i)));
    });
    sim.runUntilIdle();
    expect(arrivals).toHaveLength(N);
    // A packet is overtaken when some later-sent packet arrived before it.
    let maxTagBefore = -1;
    let overtaken = 0;
    for (const a of arrivals) {
      if (a.tag < maxTagBefore) overtaken++;
      maxTagBefore = Math.max(maxTagBefore, a.tag);
    }
    expect(overtaken).toBeGreaterThan(0);
    expect(overtaken).toBe(link.forward.stats.reordered);
    expect(withinBinomial(overtaken, N, 0.02)).toBe(true);
  });
});

describe('SimNetwork event loop', () => {
  test('timers and packets run in time order; ties in scheduling order; cancel removes a timer', () => {
    const { sim, client, server } = pair({ delay: 10 });
    const log: string[] = [];
    server.onPacket((p) => log.push(`pkt${tagOf(p)}@${sim.now}`));
    sim.clock.setTimer(10, () => log.push('t10a'));
    burst(sim, client, 1, 64, 0); // arrives at 10, scheduled after t10a... but the send happens at 0
    sim.clock.setTimer(10, () => log.push('t10b'));
    const h = sim.clock.setTimer(5, () => log.push('cancelled'));
    sim.clock.setTimer(20, () => log.push('t20'));
    h.cancel();
    h.cancel(); // idempotent
    sim.runUntilIdle();
    expect(log).toEqual(['t10a', 't10b', 'pkt0@10', 't20']);
  });

  test('a timer in the past fires at the current time', () => {
    const sim = new SimNetwork({ seed: 1 });
    const at: number[] = [];
    sim.clock.setTimer(50, () => sim.clock.setTimer(10, () => at.push(sim.clock.now())));
    sim.runUntilIdle();
    expect(at).toEqual([50]);
  });

  test('run(until) stops at the bound and advances the clock to it; step() runs one event', () => {
    const sim = new SimNetwork({ seed: 1 });
    const fired: number[] = [];
    for (const t of [1, 2, 3, 10]) sim.clock.setTimer(t, () => fired.push(t));
    expect(sim.run(2.5)).toBe(2);
    expect(sim.now).toBe(2.5);
    expect(fired).toEqual([1, 2]);
    expect(sim.step()).toBe(true);
    expect(sim.now).toBe(3);
    expect(sim.pending).toBe(1);
    sim.runUntilIdle();
    expect(sim.step()).toBe(false);
    expect(fired).toEqual([1, 2, 3, 10]);
  });

  test('runUntilIdle reports livelock with a SimError past maxEvents', () => {
    const sim = new SimNetwork({ seed: 1 });
    const spin = (): void => void sim.clock.setTimer(sim.now, spin);
    sim.clock.setTimer(0, spin);
    let err: unknown;
    try {
      sim.runUntilIdle({ maxEvents: 1000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimError);
    expect((err as SimError).code).toBe('livelock');
    expect((err as SimError).message).toMatch(/not idle after 1000 events/);
    // The simulation is still usable afterwards.
    expect(() => sim.run(0, { maxEvents: 10 })).toThrow(/more than 10 events/);
  });

  test('run() from inside a handler is refused', () => {
    const { sim, client, server } = pair({});
    let err: unknown;
    server.onPacket(() => {
      try {
        sim.run(100);
      } catch (e) {
        err = e;
      }
    });
    burst(sim, client, 1, 64);
    sim.runUntilIdle();
    expect((err as SimError).code).toBe('reentrant-run');
  });

  test('the sender may reuse its buffer: the link copied it', () => {
    const { sim, client, arrivals } = pair({ delay: 1 });
    const buf = ipv4Packet('10.0.0.1', '10.0.0.2', 64, 5);
    client.send(buf);
    buf.fill(0);
    sim.runUntilIdle();
    expect(arrivals).toEqual([{ tag: 5, time: 1 }]);
  });

  test('a link that goes down loses what is in flight and refuses new packets', () => {
    const { sim, client, link, arrivals } = pair({ delay: 10 });
    burst(sim, client, 3, 64, 0);
    sim.clock.setTimer(5, () => link.setUp(false));
    const later = burst(sim, client, 1, 64, 6);
    sim.clock.setTimer(20, () => link.setUp(true));
    const after = burst(sim, client, 1, 64, 21);
    sim.runUntilIdle();
    expect(later).toEqual([false]);
    expect(after).toEqual([true]);
    expect(link.forward.stats.dropped.down).toBe(4);
    expect(arrivals.map((a) => a.time)).toEqual([31]);
  });

  test('close() stops delivery to the handler', async () => {
    const { sim, client, server, arrivals } = pair({ delay: 1 });
    await server.close();
    burst(sim, client, 2, 64);
    sim.runUntilIdle();
    expect(arrivals).toHaveLength(0);
    expect(server.stats.closedDrops).toBe(2);
  });
});

describe('SimNetwork routing', () => {
  function triangle() {
    const sim = new SimNetwork({ seed: 3 });
    const c = sim.addHost('c', { addresses: ['10.0.1.1', 'fd00:1::1'] });
    const r = sim.addRouter('r');
    const s = sim.addHost('s', { addresses: ['10.0.2.1', 'fd00:2::1'] });
    const l1 = sim.connect(c, r, { delay: 1 });
    const l2 = sim.connect(r, s, { delay: 2 });
    const got: Uint8Array[] = [];
    s.onPacket((p) => got.push(p));
    return { sim, c, r, s, l1, l2, got };
  }

  test('a router forwards by destination, decrementing the TTL with a valid IPv4 header checksum', () => {
    const { sim, c, r, got } = triangle();
    c.send(ipv4Packet('10.0.1.1', '10.0.2.1', 64, 1, 64));
    sim.runUntilIdle();
    expect(got).toHaveLength(1);
    expect(got[0][8]).toBe(63);
    expect(internetChecksum(got[0].subarray(0, 20))).toBe(0);
    expect(sim.now).toBe(3);
    expect(r.stats.forwarded).toBe(1);
  });

  test('IPv6 is routed the same way and the hop limit decremented', () => {
    const { sim, c, got } = triangle();
    c.send(ipv6Packet('fd00:1::1', 'fd00:2::1', 80, 2));
    sim.runUntilIdle();
    expect(got).toHaveLength(1);
    expect(got[0][7]).toBe(63);
    expect(tagOf(got[0])).toBe(2);
  });

  test('TTL 1 expires at the router; unknown destinations count as no route', () => {
    const { sim, c, r, got } = triangle();
    c.send(ipv4Packet('10.0.1.1', '10.0.2.1', 64, 1, 1));
    expect(c.send(ipv4Packet('10.0.1.1', '192.0.2.9', 64, 1))).toBe(false);
    sim.runUntilIdle();
    expect(got).toHaveLength(0);
    expect(r.stats.ttlExpired).toBe(1);
    expect(c.stats.noRoute).toBe(1);
  });

  test('a multihomed host uses the link its peer bound the destination address to', () => {
    const sim = new SimNetwork({ seed: 1 });
    const c = sim.addHost('c', { addresses: [] });
    const s = sim.addHost('s', { addresses: [] });
    const a = sim.connect(c, s, { name: 'pathA', delay: 5, aAddresses: ['10.1.0.1'], bAddresses: ['10.1.0.2'] });
    const b = sim.connect(c, s, { name: 'pathB', delay: 50, aAddresses: ['10.2.0.1'], bAddresses: ['10.2.0.2'] });
    const times: number[] = [];
    s.onPacket(() => times.push(sim.now));
    c.send(ipv4Packet('10.2.0.1', '10.2.0.2', 64, 0));
    c.send(ipv4Packet('10.1.0.1', '10.1.0.2', 64, 0));
    sim.runUntilIdle();
    expect(times).toEqual([5, 50]);
    expect(a.forward.stats.delivered).toBe(1);
    expect(b.forward.stats.delivered).toBe(1);
    expect(s.addresses).toEqual(['10.1.0.2', '10.2.0.2']);
  });

  test('static routes, including source-based ones, take precedence over automatic routing', () => {
    const sim = new SimNetwork({ seed: 1 });
    const c = sim.addHost('c', { addresses: ['10.1.0.1', '10.2.0.1'] });
    const s = sim.addHost('s', { addresses: ['10.9.0.1'] });
    const a = sim.connect(c, s, { name: 'a' });
    const b = sim.connect(c, s, { name: 'b' });
    c.addRoute({ src: '10.2.0.0/16', via: b });
    c.send(ipv4Packet('10.1.0.1', '10.9.0.1', 64, 0));
    c.send(ipv4Packet('10.2.0.1', '10.9.0.1', 64, 0));
    sim.runUntilIdle();
    expect(a.forward.stats.sent).toBe(1);
    expect(b.forward.stats.sent).toBe(1);
  });

  test('a packet to the host itself is delivered through the event queue (loopback)', () => {
    const sim = new SimNetwork({ seed: 1 });
    const h = sim.addHost('h', { addresses: ['10.0.0.1'] });
    const got: number[] = [];
    h.onPacket((p) => got.push(tagOf(p)));
    h.send(ipv4Packet('10.0.0.1', '10.0.0.1', 64, 77));
    expect(got).toEqual([]);
    sim.runUntilIdle();
    expect(got).toEqual([77]);
  });

  test('malformed packets (too short, unknown IP version) are refused by send() and counted', () => {
    const sim = new SimNetwork({ seed: 1 });
    const h = sim.addHost('h', { addresses: ['10.0.0.1'] });
    const o = sim.addHost('o', { addresses: ['10.0.0.2'] });
    sim.connect(h, o);
    expect(h.send(new Uint8Array(0))).toBe(false);
    expect(h.send(Uint8Array.of(0x45, 0, 0, 10))).toBe(false);
    expect(h.send(new Uint8Array(60).fill(0x50))).toBe(false);
    expect(h.send(new Uint8Array(30).fill(0x60))).toBe(false); // IPv6 needs 40 bytes
    expect(h.stats.malformed).toBe(4);
    expect(sim.runUntilIdle()).toBe(0);
  });

  test('configuration errors are typed', () => {
    const sim = new SimNetwork({ seed: 1 });
    const a = sim.addHost('a', { addresses: ['10.0.0.1'] });
    const b = sim.addHost('b', { addresses: ['10.0.0.2'] });
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as SimError).code;
      }
      return undefined;
    };
    expect(code(() => sim.addHost('c', { addresses: ['10.0.0.1'] }))).toBe('duplicate-address');
    expect(code(() => sim.addHost('a', { addresses: [] }))).toBe('duplicate-name');
    expect(code(() => sim.addHost('d', { addresses: ['10.0.0.300'] }))).toBe('bad-config');
    expect(code(() => sim.connect(a, b, { loss: 1.5 }))).toBe('bad-config');
    expect(code(() => sim.connect(a, b, { rate: 0 }))).toBe('bad-config');
    expect(code(() => sim.connect(a, a))).toBe('bad-config');
  });
});

describe('SimNetwork determinism', () => {
  function trace(seed: number): string {
    const { sim, client, arrivals } = pair({ rate: 10_000_000, delay: 3, jitter: 2, loss: 0.05, duplicate: 0.02, reorder: 0.05, queuePackets: 50 }, seed);
    sim.clock.setTimer(0, () => {
      for (let i = 0; i < 2000; i++) sim.clock.setTimer(i * 0.3, () => client.send(ipv4Packet('10.0.0.1', '10.0.0.2', 200 + (i % 1000), i)));
    });
    sim.runUntilIdle();
    return arrivals.map((a) => `${a.tag}@${a.time}`).join(',');
  }

  test('one seed gives the same trace twice; another seed gives a different one', () => {
    const a = trace(1234);
    expect(trace(1234)).toBe(a);
    expect(trace(1235)).not.toBe(a);
  });
});

describe('SimNetwork clock edge cases', () => {
  test('a timer at Infinity never fires and does not keep the network busy', () => {
    const sim = new SimNetwork({ seed: 1 });
    let fired = false;
    sim.clock.setTimer(Infinity, () => (fired = true));
    expect(sim.pending).toBe(0);
    expect(sim.runUntilIdle()).toBe(0);
    expect(fired).toBe(false);
    expect(() => sim.clock.setTimer(NaN, () => {})).toThrow(SimError);
  });

  test('nodes can be named in connect(); unknown names are typed errors', () => {
    const sim = new SimNetwork({ seed: 1 });
    sim.addHost('a', { addresses: ['10.0.0.1'] });
    sim.addHost('b', { addresses: ['10.0.0.2'] });
    const l = sim.connect('a', 'b', { delay: 1 });
    expect(l.name).toBe('a-b');
    expect(() => sim.connect('a', 'nope')).toThrow(expect.objectContaining({ code: 'unknown-node' }));
  });
});

describe('ready-made topologies', () => {
  test('simPair: one link with the given settings, IPv4 and IPv6 both routed', async () => {
    const { simPair } = await import('@tcpls/link');
    const { sim, client, server, link } = simPair({ seed: 1, link: { delay: 7 } });
    const t: number[] = [];
    server.onPacket(() => t.push(sim.now));
    client.send(ipv4Packet('10.0.0.1', '10.0.0.2', 64, 0));
    client.send(ipv6Packet('fd00::1', 'fd00::2', 64, 0));
    sim.runUntilIdle();
    expect(t).toEqual([7, 7]);
    expect(link.name).toBe('link');
  });

  test('dumbbell: flows of every pair cross the shared bottleneck queue', async () => {
    const { dumbbell } = await import('@tcpls/link');
    const d = dumbbell({ seed: 1, pairs: 3, bottleneck: { rate: 8e6, delay: 10, queuePackets: 5 } });
    const got = [0, 0, 0];
    d.servers.forEach((s, i) => s.onPacket(() => got[i]++));
    d.sim.clock.setTimer(0, () => {
      for (let k = 0; k < 10; k++) d.clients.forEach((c, i) => c.send(ipv4Packet(`10.1.0.${i + 1}`, `10.2.0.${i + 1}`, 1000, k)));
    });
    d.sim.runUntilIdle();
    const st = d.bottleneck.forward.stats;
    expect(st.sent).toBe(30);
    // One on the wire and five queued at a time: the rest of the simultaneous burst is dropped.
    expect(st.dropped.queue).toBe(24);
    expect(got.reduce((a, b) => a + b, 0)).toBe(6);
  });
});
