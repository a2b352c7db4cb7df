import { PcapReader, PcapWriter, SimNetwork, capturePacketIo } from '@tcpls/link';
import { internetChecksum, parseIpPacket, pseudoHeaderSum } from '@tcpls/tcp/wire';
import { ipv4Packet, ipv6Packet, tagOf } from './helpers.js';

/** c —— r1 —— r2 —— s, routers with addresses; c records what comes back. */
function chain(icmp = true) {
  const sim = new SimNetwork({ seed: 1 });
  const c = sim.addHost('c', { addresses: ['10.0.0.1', 'fd00::1'] });
  const r1 = sim.addRouter('r1', { addresses: ['10.255.0.1', 'fd00:ff::1'], icmp });
  const r2 = sim.addRouter('r2', { addresses: ['10.255.0.2'] });
  const s = sim.addHost('s', { addresses: ['10.0.9.1', 'fd00:9::1'] });
  sim.connect(c, r1, { delay: 1 });
  sim.connect(r1, r2, { delay: 1 });
  sim.connect(r2, s, { delay: 1 });
  const back: Uint8Array[] = [];
  c.onPacket((p) => back.push(p));
  const atServer: Uint8Array[] = [];
  s.onPacket((p) => atServer.push(p));
  return { sim, c, r1, r2, s, back, atServer };
}

describe('TTL expiry and ICMP Time Exceeded', () => {
  test('traceroute: TTL 1 and 2 are answered by r1 and r2 (RFC 792 type 11), TTL 3 reaches the server', () => {
    const { sim, c, r1, r2, back, atServer } = chain();
    for (const ttl of [1, 2, 3]) c.send(ipv4Packet('10.0.0.1', '10.0.9.1', 100, ttl, ttl));
    sim.runUntilIdle();
    expect(atServer.map(tagOf)).toEqual([3]);
    expect(back).toHaveLength(2);
    const [a, b] = back.map((p) => parseIpPacket(p)); // checks the IPv4 header checksum
    expect([a.ip.src, b.ip.src]).toEqual(['10.255.0.1', '10.255.0.2']);
    for (const m of [a, b]) {
      expect(m.ip.dst).toBe('10.0.0.1');
      expect(m.ip.protocol).toBe(1);
      expect(m.payload[0]).toBe(11);
      expect(m.payload[1]).toBe(0);
      expect(internetChecksum(m.payload)).toBe(0);
      // The quote is the expired packet as the router received it (TTL 1), whole (it is short).
      const quoted = m.payload.subarray(8);
      expect(quoted.length).toBe(100);
      expect(quoted[8]).toBe(1);
    }
    expect(tagOf(a.payload.subarray(8))).toBe(1);
    expect(tagOf(b.payload.subarray(8))).toBe(2);
    expect(r1.stats.icmpSent).toBe(1);
    expect(r2.stats.icmpSent).toBe(1);
  });

  test('the quote is cut so the ICMP datagram stays within 576 bytes (RFC 1812 §4.3.2.3)', () => {
    const { sim, c, back } = chain();
    c.send(ipv4Packet('10.0.0.1', '10.0.9.1', 1400, 9, 1));
    sim.runUntilIdle();
    expect(back[0].length).toBe(576);
  });

  test('IPv6: hop limit expiry gives ICMPv6 type 3 with a valid pseudo-header checksum', () => {
    const { sim, c, r2, back } = chain();
    c.send(ipv6Packet('fd00::1', 'fd00:9::1', 80, 5));
    sim.runUntilIdle();
    expect(back).toHaveLength(0); // hop limit 64: delivered
    const p = ipv6Packet('fd00::1', 'fd00:9::1', 80, 6);
    p[7] = 1;
    c.send(p);
    const q = ipv6Packet('fd00::1', 'fd00:9::1', 80, 7);
    q[7] = 2; // expires at r2, which has no IPv6 address: dropped silently
    c.send(q);
    sim.runUntilIdle();
    expect(back).toHaveLength(1);
    const m = parseIpPacket(back[0]);
    expect(m.ip.src).toBe('fd00:ff::1');
    expect(m.ip.protocol).toBe(58);
    expect(m.payload[0]).toBe(3);
    expect(internetChecksum(m.payload, pseudoHeaderSum(m.ip.src, m.ip.dst, 58, m.payload.length))).toBe(0);
    expect(tagOf(m.payload.subarray(8))).toBe(6);
    expect(r2.stats.ttlExpired).toBe(1);
    expect(r2.stats.icmpSent).toBe(0);
  });

  test('no ICMP when disabled, and none about an ICMP error (RFC 1122 §3.2.2)', () => {
    const off = chain(false);
    off.c.send(ipv4Packet('10.0.0.1', '10.0.9.1', 100, 1, 1));
    off.sim.runUntilIdle();
    expect(off.back).toHaveLength(0);
    expect(off.r1.stats.ttlExpired).toBe(1);

    const { sim, c, r1, back } = chain();
    const err = ipv4Packet('10.0.0.1', '10.0.9.1', 56, 0, 1);
    err[9] = 1; // ICMP
    err[20] = 3; // Destination Unreachable: an error message
    err[10] = 0;
    err[11] = 0;
    const hc = internetChecksum(err.subarray(0, 20));
    err[10] = hc >> 8;
    err[11] = hc & 0xff;
    c.send(err);
    sim.runUntilIdle();
    expect(back).toHaveLength(0);
    expect(r1.stats.ttlExpired).toBe(1);
    expect(r1.stats.icmpSent).toBe(0);
  });

  test('packets addressed to a router are absorbed by it', () => {
    const { sim, c, r2, atServer } = chain();
    c.send(ipv4Packet('10.0.0.1', '10.255.0.2', 64, 0));
    sim.runUntilIdle();
    expect(r2.stats.received).toBe(1);
    expect(atServer).toHaveLength(0);
  });
});

describe('capturePacketIo', () => {
  /** Hosts a (10.0.0.1) and b (10.0.0.2) joined by a 4 ms link, and an in-memory pcap writer. */
  function setup() {
    const sim = new SimNetwork({ seed: 1 });
    const a = sim.addHost('a', { addresses: ['10.0.0.1'] });
    const b = sim.addHost('b', { addresses: ['10.0.0.2'] });
    sim.connect(a, b, { delay: 4 });
    return { sim, a, b, w: PcapWriter.inMemory() };
  }

  test('records what a PacketIo sends and receives, with the clock time, and passes everything on', () => {
    const { sim, a, b, w } = setup();
    const io = capturePacketIo(a, w, sim.clock);
    expect(io.mtu).toBe(1500);
    expect(io.name).toBe('a');
    const got: number[] = [];
    io.onPacket((p) => got.push(tagOf(p)));
    b.onPacket((p) => b.send(ipv4Packet('10.0.0.2', '10.0.0.1', 64, tagOf(p) + 100)));
    sim.clock.setTimer(1, () => io.send(ipv4Packet('10.0.0.1', '10.0.0.2', 64, 1)));
    sim.runUntilIdle();
    expect(got).toEqual([101]);
    const recs = new PcapReader(w.toBuffer()).readAll();
    expect(recs.map((r) => [r.timeMs, tagOf(r.data)])).toEqual([
      [1, 1],
      [9, 101],
    ]);
  });

  test('without a clock (real links: capturePacketIo(link, writer)) packets are stamped with wall-clock time', () => {
    const { a, w } = setup();
    const before = Date.now();
    capturePacketIo(a, w).send(ipv4Packet('10.0.0.1', '10.0.0.2', 64, 7));
    const after = Date.now();
    const [rec] = new PcapReader(w.toBuffer()).readAll();
    expect(tagOf(rec.data)).toBe(7);
    // Microsecond resolution floors the time; allow 1 ms for that.
    expect(rec.timeMs).toBeGreaterThanOrEqual(before - 1);
    expect(rec.timeMs).toBeLessThanOrEqual(after + 1);
  });
});
