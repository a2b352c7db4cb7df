import fc from 'fast-check';
import {
  SimNetwork,
  dropIf,
  dropSynOptions,
  ecnBleach,
  isnShift,
  locateTcp,
  mssClamp,
  oneWay,
  SimRandom,
  stripOptions,
  windowRewrite,
  type Middlebox,
  type MiddleboxContext,
  type SimDirection,
} from '@tcpls/link';
import { TcpFlag, buildTcpPacket, internetChecksum, parseTcpPacket, type TcpOption, type TcpRepr } from '@tcpls/tcp/wire';

const SYN_OPTIONS: TcpOption[] = [
  { kind: 'mss', mss: 1460 },
  { kind: 'sackPermitted' },
  { kind: 'timestamps', tsVal: 0x01020304, tsEcr: 0 },
  { kind: 'nop' },
  { kind: 'wscale', shift: 7 },
];

function tcp(over: Partial<TcpRepr> = {}): TcpRepr {
  return {
    srcPort: 40000,
    dstPort: 443,
    seq: 1000,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 64240,
    urgent: 0,
    options: SYN_OPTIONS,
    payload: new Uint8Array(0),
    ...over,
  };
}

function pkt(over: Partial<TcpRepr> = {}, v6 = false, ecn = 0): Uint8Array {
  return buildTcpPacket(v6 ? { src: 'fd00::1', dst: 'fd00::2', ecn } : { src: '10.0.0.1', dst: '10.0.0.2', ecn }, tcp(over));
}

function ctx(direction: SimDirection = 'forward', seed = 1): MiddleboxContext {
  return { direction, now: 0, random: new SimRandom(seed) };
}

/** Runs a middlebox on a copy; returns the single output packet. */
function apply(mb: Middlebox, p: Uint8Array, c = ctx()): Uint8Array {
  const out = mb(p.slice(), c);
  if (out === null || Array.isArray(out)) throw new Error('expected one packet');
  return out;
}

/** Offsets where a and b differ (same length required). */
function diff(a: Uint8Array, b: Uint8Array): number[] {
  expect(b.length).toBe(a.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Offset of the first option of a kind in a packet (for the expected-diff sets). */
function optionOffset(p: Uint8Array, kind: number): number {
  const t = locateTcp(p);
  let i = t + 20;
  while (p[i] !== kind) i += p[i] === 1 ? 1 : p[i + 1];
  return i;
}

function range(from: number, len: number): number[] {
  return Array.from({ length: len }, (_, i) => from + i);
}

/** Checks that only bytes in `allowed` (plus the TCP checksum) changed. */
function expectOnlyChanged(before: Uint8Array, after: Uint8Array, allowed: number[]): void {
  const t = locateTcp(before);
  const ok = new Set([...allowed, t + 16, t + 17]);
  for (const i of diff(before, after)) expect(ok.has(i) ? i : `unexpected change at ${i}`).toBe(i);
}

describe('mssClamp', () => {
  test('lowers a larger MSS on SYN, checksum stays valid, nothing else changes', () => {
    const before = pkt();
    const after = apply(mssClamp(1200), before);
    const parsed = parseTcpPacket(after); // verifies the TCP checksum
    expect(parsed.tcp.options[0]).toEqual({ kind: 'mss', mss: 1200 });
    expect(parsed.tcp.options.slice(1)).toEqual(parseTcpPacket(before).tcp.options.slice(1));
    const mssAt = optionOffset(before, 2);
    expectOnlyChanged(before, after, [mssAt + 2, mssAt + 3]);
    expect(diff(before, after).length).toBeGreaterThan(0);
  });

  test('clamps SYN-ACK too, over IPv6, with the MSS option at an odd offset', () => {
    const before = pkt({ flags: TcpFlag.SYN | TcpFlag.ACK, ack: 5, options: [{ kind: 'nop' }, { kind: 'mss', mss: 9000 }, { kind: 'nop' }, { kind: 'wscale', shift: 2 }] }, true);
    expect((optionOffset(before, 2) - locateTcp(before)) % 2).toBe(1);
    const after = apply(mssClamp(1400), before);
    expect(parseTcpPacket(after).tcp.options[1]).toEqual({ kind: 'mss', mss: 1400 });
    const mssAt = optionOffset(before, 2);
    expectOnlyChanged(before, after, [mssAt + 2, mssAt + 3]);
  });

  test('never raises a smaller MSS and ignores segments without SYN', () => {
    const small = pkt({ options: [{ kind: 'mss', mss: 536 }] });
    expect(diff(small, apply(mssClamp(1200), small))).toEqual([]);
    const ack = pkt({ flags: TcpFlag.ACK, options: [{ kind: 'mss', mss: 1460 }] });
    expect(diff(ack, apply(mssClamp(1200), ack))).toEqual([]);
  });
});

describe('stripOptions', () => {
  test('replaces SACK-permitted and timestamps with NOPs, keeping the header length', () => {
    const before = pkt();
    const after = apply(stripOptions([4, 8]), before);
    const p = parseTcpPacket(after);
    const kinds = p.tcp.options.map((o) => o.kind);
    expect(kinds).toEqual(['mss', ...Array(2 + 10).fill('nop'), 'nop', 'wscale']); // 20 option bytes: no padding
    const sp = optionOffset(before, 4);
    const ts = optionOffset(before, 8);
    expectOnlyChanged(before, after, [...range(sp, 2), ...range(ts, 10)]);
    for (const i of [...range(sp, 2), ...range(ts, 10)]) expect(after[i]).toBe(1);
  });

  test('strips an experimental option (254) from a data segment; payload untouched', () => {
    const payload = Uint8Array.from({ length: 33 }, (_, i) => i * 7);
    const before = pkt({ flags: TcpFlag.ACK | TcpFlag.PSH, ack: 77, payload, options: [{ kind: 'nop' }, { kind: 'experimental', code: 254, exid: 0x1234, data: Uint8Array.of(9, 9, 9) }] });
    const after = apply(stripOptions([254]), before);
    const p = parseTcpPacket(after);
    expect(p.tcp.options.filter((o) => o.kind === 'experimental')).toEqual([]);
    expect(Buffer.from(p.tcp.payload).equals(Buffer.from(payload))).toBe(true);
    const at = optionOffset(before, 254);
    expectOnlyChanged(before, after, range(at, 7));
  });
});

describe('dropSynOptions', () => {
  test('drops SYNs carrying a listed option, passes others; drops counted on the link', () => {
    const sim = new SimNetwork({ seed: 1 });
    const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
    const s = sim.addHost('s', { addresses: ['10.0.0.2'] });
    const link = sim.connect(c, s, { delay: 1, middleboxes: [dropSynOptions([254])] });
    const got: Uint8Array[] = [];
    s.onPacket((p) => got.push(p));
    const exp: TcpOption = { kind: 'experimental', code: 254, exid: 0xabcd, data: new Uint8Array(0) };
    c.send(pkt({ options: [{ kind: 'mss', mss: 1460 }, exp] }));
    c.send(pkt({ options: [{ kind: 'mss', mss: 1460 }] }));
    c.send(pkt({ flags: TcpFlag.ACK, options: [exp] }));
    sim.runUntilIdle();
    expect(got).toHaveLength(2);
    expect(link.forward.stats.dropped.middlebox).toBe(1);
  });
});

describe('isnShift', () => {
  test('fixed delta: +delta on forward seq, -delta on reverse ack and SACK blocks, with wrap-around', () => {
    const delta = 0x200;
    const mb = isnShift(delta);
    const syn = pkt({ seq: 0xffffff00 });
    const synOut = apply(mb, syn, ctx('forward'));
    expect(parseTcpPacket(synOut).tcp.seq).toBe(0x100);
    expectOnlyChanged(syn, synOut, range(locateTcp(syn) + 4, 4));

    const reply = buildTcpPacket(
      { src: '10.0.0.2', dst: '10.0.0.1' },
      tcp({
        srcPort: 443,
        dstPort: 40000,
        seq: 5555,
        ack: 0x101,
        flags: TcpFlag.ACK,
        options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [{ left: 0x300, right: 0x400 }, { left: 0x150, right: 0x160 }] }],
      }),
    );
    const replyOut = apply(mb, reply, ctx('reverse'));
    const r = parseTcpPacket(replyOut).tcp;
    expect(r.seq).toBe(5555);
    expect(r.ack).toBe(0xffffff01);
    expect(r.options[2]).toEqual({ kind: 'sack', blocks: [{ left: 0x100, right: 0x200 }, { left: 0xffffff50, right: 0xffffff60 }] });
    const t = locateTcp(reply);
    const sackAt = optionOffset(reply, 5);
    expectOnlyChanged(reply, replyOut, [...range(t + 8, 4), ...range(sackAt + 2, 16)]);
  });

  test('reverse segments without ACK keep their ack field', () => {
    const rst = buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1' }, tcp({ srcPort: 443, dstPort: 40000, flags: TcpFlag.RST, ack: 1234, options: [] }));
    expect(diff(rst, apply(isnShift(99), rst, ctx('reverse')))).toEqual([]);
  });

  test('per-connection deltas from the PRNG: connections differ, both ends stay consistent end to end', () => {
    const sim = new SimNetwork({ seed: 11 });
    const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
    const s = sim.addHost('s', { addresses: ['10.0.0.2'] });
    sim.connect(c, s, { delay: 1, middleboxes: [isnShift((r) => r.u32())] });
    const atServer: TcpRepr[] = [];
    const atClient: TcpRepr[] = [];
    s.onPacket((p) => {
      const seg = parseTcpPacket(p).tcp;
      atServer.push(seg);
      // The server acknowledges what it saw: seq + 1.
      s.send(buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1' }, tcp({ srcPort: 443, dstPort: seg.srcPort, seq: 7, ack: (seg.seq + 1) >>> 0, flags: TcpFlag.SYN | TcpFlag.ACK, options: [] })));
    });
    c.onPacket((p) => atClient.push(parseTcpPacket(p).tcp));
    c.send(pkt({ srcPort: 40001, seq: 100 }));
    c.send(pkt({ srcPort: 40002, seq: 100 }));
    // A reverse-direction flow never seen forward is not touched.
    s.send(buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1' }, tcp({ srcPort: 443, dstPort: 50000, ack: 42, flags: TcpFlag.ACK, options: [] })));
    sim.runUntilIdle();
    expect(atServer).toHaveLength(2);
    const d1 = (atServer[0].seq - 100) >>> 0;
    const d2 = (atServer[1].seq - 100) >>> 0;
    expect(d1).not.toBe(0);
    expect(d1).not.toBe(d2);
    const byPort = new Map(atClient.map((x) => [x.dstPort, x.ack]));
    expect(byPort.get(40001)).toBe(101);
    expect(byPort.get(40002)).toBe(101);
    expect(byPort.get(50000)).toBe(42);
  });
});

describe('windowRewrite', () => {
  test('sets the window by function with a valid checksum; other bytes identical', () => {
    const before = pkt({ flags: TcpFlag.ACK, window: 50000, options: [] });
    const after = apply(windowRewrite((w) => w >> 1), before);
    expect(parseTcpPacket(after).tcp.window).toBe(25000);
    expectOnlyChanged(before, after, range(locateTcp(before) + 14, 2));
  });

  test('oneWay restricts a box to one direction', () => {
    const before = pkt({ flags: TcpFlag.ACK, window: 50000, options: [] });
    const mb = oneWay('reverse', windowRewrite(1000));
    expect(diff(before, apply(mb, before, ctx('forward')))).toEqual([]);
    expect(parseTcpPacket(apply(mb, before, ctx('reverse'))).tcp.window).toBe(1000);
  });
});

describe('ecnBleach', () => {
  test('IPv4: ECN set to Not-ECT, IP header checksum fixed, TCP untouched', () => {
    const before = pkt({ flags: TcpFlag.ACK, options: [] }, false, 3);
    const after = apply(ecnBleach(), before);
    const p = parseTcpPacket(after); // checks the IPv4 header checksum
    expect(p.ip.ecn).toBe(0);
    expect(internetChecksum(after.subarray(0, 20))).toBe(0);
    expect(diff(before, after)).toContain(1);
    expect(diff(before, after).every((i) => [1, 10, 11].includes(i))).toBe(true);
  });

  test('IPv6: ECN cleared; with tcpFlags, ECE and CWR cleared with a valid TCP checksum', () => {
    const before = pkt({ flags: TcpFlag.ACK | TcpFlag.ECE | TcpFlag.CWR, options: [] }, true, 2);
    const after = apply(ecnBleach({ tcpFlags: true }), before);
    const p = parseTcpPacket(after);
    expect(p.ip.ecn).toBe(0);
    expect(p.tcp.flags).toBe(TcpFlag.ACK);
    expectOnlyChanged(before, after, [1, locateTcp(before) + 13]);
  });
});

describe('middleboxes on the wire', () => {
  test('a split middlebox delivers both parts; dropIf drops and counts', () => {
    const sim = new SimNetwork({ seed: 1 });
    const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
    const s = sim.addHost('s', { addresses: ['10.0.0.2'] });
    const twice: Middlebox = (p) => [p, p.slice()];
    const link = sim.connect(c, s, { middleboxes: [twice, dropIf((p) => parseTcpPacket(p).tcp.seq === 13)] });
    let n = 0;
    s.onPacket(() => n++);
    c.send(pkt({ seq: 12 }));
    c.send(pkt({ seq: 13 }));
    sim.runUntilIdle();
    expect(n).toBe(2);
    expect(link.forward.stats.dropped.middlebox).toBe(1);
    expect(link.forward.stats.delivered).toBe(2);
  });

  test('a host tap keeps the bytes as sent even when a middlebox rewrites them', () => {
    const sim = new SimNetwork({ seed: 1 });
    const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
    const s = sim.addHost('s', { addresses: ['10.0.0.2'] });
    sim.connect(c, s, { middleboxes: [mssClamp(1000)] });
    const sent: Uint8Array[] = [];
    const seen: Uint8Array[] = [];
    c.addTap((d, p) => d === 'out' && sent.push(p));
    s.onPacket((p) => seen.push(p));
    c.send(pkt());
    sim.runUntilIdle();
    expect(parseTcpPacket(sent[0]).tcp.options[0]).toEqual({ kind: 'mss', mss: 1460 });
    expect(parseTcpPacket(seen[0]).tcp.options[0]).toEqual({ kind: 'mss', mss: 1000 });
  });

  test('hostile input: every built-in passes or rewrites arbitrary bytes without throwing', () => {
    const boxes: Middlebox[] = [mssClamp(1000), stripOptions([2, 3, 4, 5, 8, 254]), isnShift(77), isnShift((r) => r.u32()), windowRewrite(5), ecnBleach({ tcpFlags: true }), dropSynOptions([8])];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, fwd) => {
        // Make many inputs look like IPv4/TCP so the interesting paths run.
        if (bytes.length > 0 && bytes[0] & 1) bytes[0] = 0x45;
        if (bytes.length > 9) bytes[9] = 6;
        for (const mb of boxes) mb(bytes.slice(), ctx(fwd ? 'forward' : 'reverse'));
      }),
      { numRuns: 2000 },
    );
  });
});
