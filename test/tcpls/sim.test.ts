/**
 * TCPLS end to end on the simulator: our TCP (Host on a SimNetwork) + TLS 1.3 + TCPLS, driven by
 * the synchronous TcplsEndpoint on the virtual clock. Everything is seeded, so each run is the same.
 */
import { dropIf, dropSynOptions, ecnBleach, isnShift, mssClamp, stripOptions, windowRewrite, type Middlebox } from '@tcpls/link';
import type { TcpOption } from '@tcpls/tcp';
import type { OptionDifference } from '@tcpls/tcpls';
import { StreamApp, seeded, simSession } from './harness';

const EXPERIMENT: TcpOption = { kind: 'experimental', code: 254, exid: 0x1234, data: new Uint8Array([9, 9]) };

function fields(d: OptionDifference[] | null): string[] {
  return (d ?? []).map((x) => `${x.direction} ${x.field}`).sort();
}
const mirror = (f: string[]): string[] => f.map((x) => x.replace(/^(me-to-peer|peer-to-me)/, (m) => (m === 'me-to-peer' ? 'peer-to-me' : 'me-to-peer'))).sort();

describe('TCPLS over our TCP on the simulator', () => {
  test('several streams interleaved both ways with 1 % loss arrive intact', () => {
    const t = simSession({ seed: 7, link: { rate: 20e6, delay: 5, loss: 0.01 } });
    const rnd = seeded(99);
    const up = [rnd(48_000), rnd(40_000), rnd(56_000)];
    const down = [rnd(50_000), rnd(30_000)];
    const client = new StreamApp(t.client, () => t.sim.now, (app) => up.forEach((d) => app.send(d)));
    let server: StreamApp | null = null;
    t.runUntil(() => t.servers.length > 0, 5000);
    server = new StreamApp(t.servers[0], () => t.sim.now, (app) => down.forEach((d) => app.send(d)));
    t.runUntil(() => client.finished.size === 2 && server!.finished.size === 3, 120_000);
    expect(server.opened).toEqual([0, 2, 4]);
    expect(client.opened).toEqual([1, 3]);
    up.forEach((d, i) => expect(Buffer.compare(server!.bytesOf(2 * i), Buffer.from(d))).toBe(0));
    down.forEach((d, i) => expect(Buffer.compare(client.bytesOf(2 * i + 1), Buffer.from(d))).toBe(0));
    // The loss was real: both directions dropped packets and TCP retransmitted.
    expect(t.link.forward.stats.dropped.loss + t.link.reverse.stats.dropped.loss).toBeGreaterThan(0);
    const retrans = (t.client.stats().tcp as { retransmits: number }).retransmits + (t.servers[0].stats().tcp as { retransmits: number }).retransmits;
    expect(retrans).toBeGreaterThan(0);
  });

  test('no rewrite on the path: no option difference on either side', () => {
    const t = simSession({ seed: 2 });
    t.runUntil(() => t.client.stats().optionDifferences !== null && t.servers[0]?.stats().optionDifferences !== null, 5000);
    expect(t.client.stats().optionDifferences).toEqual([]);
    expect(t.servers[0].stats().optionDifferences).toEqual([]);
  });

  const cases: { name: string; mb: Middlebox[]; client?: object; server?: object; expect: string[]; check?: (d: OptionDifference[]) => void }[] = [
    {
      name: 'mssClamp(1200) on SYN and SYN-ACK: MSS in both directions',
      mb: [mssClamp(1200)],
      expect: ['me-to-peer mss', 'peer-to-me mss'],
      check: (d) => d.forEach((x) => expect([x.sent, x.seen]).toEqual([1460, 1200])),
    },
    {
      name: 'stripOptions SACK-permitted: our SYN loses it (NOPs instead); the SYN-ACK then carries none',
      mb: [stripOptions([4])],
      expect: ['me-to-peer nop-padding', 'me-to-peer sackPermitted'],
    },
    {
      name: 'stripOptions timestamps: our SYN loses them; the SYN-ACK then carries none',
      mb: [stripOptions([8])],
      expect: ['me-to-peer nop-padding', 'me-to-peer timestamps'],
    },
    {
      name: 'stripOptions experimental 254: both SYN and SYN-ACK lose it',
      mb: [stripOptions([254])],
      client: { extraSynOptions: [EXPERIMENT] },
      server: { extraSynOptions: [EXPERIMENT] },
      expect: ['me-to-peer nop-padding', 'me-to-peer option:254', 'peer-to-me nop-padding', 'peer-to-me option:254'],
    },
    {
      name: 'stripOptions window scale: our SYN loses it (NOPs instead); the SYN-ACK then carries none',
      mb: [stripOptions([3])],
      expect: ['me-to-peer nop-padding', 'me-to-peer wscale'],
    },
    {
      name: 'isnShift: the sequence number of our SYN (the SYN-ACK only has its ACK number shifted back)',
      mb: [isnShift(100_000)],
      expect: ['me-to-peer isn'],
      check: (d) => expect(((d[0].seen as number) - (d[0].sent as number)) >>> 0).toBe(100_000),
    },
    {
      name: 'windowRewrite: the window field of SYN and SYN-ACK',
      mb: [windowRewrite(4000)],
      expect: ['me-to-peer window', 'peer-to-me window'],
      check: (d) => d.forEach((x) => expect(x.seen).toBe(4000)),
    },
    {
      name: 'ecnBleach with TCP flags: ECE/CWR of our ECN-setup SYN',
      mb: [ecnBleach({ tcpFlags: true })],
      client: { ecn: true },
      expect: ['me-to-peer ecn'],
    },
  ];
  for (const c of cases) {
    test(`middlebox ${c.name} — exactly these differences, seen the same from both ends`, () => {
      const t = simSession({ seed: 3, middleboxes: c.mb, clientTcp: c.client, serverTcp: c.server });
      t.runUntil(() => t.client.stats().optionDifferences !== null && t.servers[0]?.stats().optionDifferences !== null, 5000);
      const cd = t.client.stats().optionDifferences!;
      expect(fields(cd)).toEqual([...c.expect].sort());
      expect(fields(t.servers[0].stats().optionDifferences)).toEqual(mirror(c.expect));
      c.check?.(cd);
    });
  }

  test('middlebox dropSynOptions (SYNs carrying SACK-permitted are dropped): no connection, so no session and no claimed difference', () => {
    // Our TCP retransmits its SYN unchanged (it does not retry without options), so nothing gets through.
    const t = simSession({ seed: 3, middleboxes: [dropSynOptions([4])] });
    t.runUntil(() => false, 5000);
    expect(t.client.mode).toBe('handshake');
    expect(t.client.stats().optionDifferences).toBeNull();
    expect(t.servers).toHaveLength(0);
  });

  test('an applied user timeout ends a blackholed connection at the stated time (RFC 5482 via TCPLS)', () => {
    let blackhole = false;
    const t = simSession({ seed: 5, link: { delay: 5 }, middleboxes: [dropIf(() => blackhole)] });
    const client = new StreamApp(t.client, () => t.sim.now);
    t.runUntil(() => client.ready && t.servers.length > 0, 5000);
    const server = new StreamApp(t.servers[0], () => t.sim.now);
    // The client asks the server's TCP for a 5 s user timeout.
    t.client.requestOption({ kind: 'userTimeout', granularity: 'seconds', timeout: 5 });
    t.runUntil(() => client.events.some((e) => e.type === 'option-applied'), 5000);
    expect((t.servers[0].stats().tcp as { negotiated: { userTimeout: number } }).negotiated.userTimeout).toBe(5000);
    t.sim.run(t.sim.now + 1000); // everything acknowledged: nothing outstanding
    blackhole = true;
    const t0 = t.sim.now;
    server.send(seeded(1)(20_000));
    t.runUntil(() => server.closedWith !== undefined, 30_000);
    expect(server.closedAt).not.toBeNull();
    const elapsed = server.closedAt! - t0;
    expect(elapsed).toBeGreaterThanOrEqual(5000);
    expect(elapsed).toBeLessThanOrEqual(5000 + 1); // the deadline, not the next RTO
    expect((server.closedWith as { code?: string } | null)?.code).toBe('user-timeout');
  });

  test('a requested congestion-controller switch shows in the sender’s trace and stats', () => {
    const t = simSession({ seed: 6, serverPolicy: { userTimeout: null, congestionControllers: ['newreno', 'cubic'] } });
    const client = new StreamApp(t.client, () => t.sim.now);
    t.runUntil(() => client.ready && t.servers.length > 0, 5000);
    const server = new StreamApp(t.servers[0], () => t.sim.now);
    expect((t.servers[0].stats().tcp as { congestionControl: string }).congestionControl).toBe('cubic');
    t.client.requestOption({ kind: 'congestionControl', name: 'newreno', params: {} });
    t.runUntil(() => client.events.some((e) => e.type === 'option-applied' || e.type === 'option-refused'), 5000);
    expect(client.events.filter((e) => e.type === 'option-applied')).toHaveLength(1);
    server.send(seeded(2)(100_000));
    t.runUntil(() => client.finished.size === 1, 30_000);
    // The sender (server) TCP's trace records the switch, and its session trace the applied request.
    expect(t.serverTcpTrace.records.filter((r) => r.event === 'cc-switch').map((r) => [r.from, r.to])).toEqual([['cubic', 'newreno']]);
    expect(t.serverTrace.records.some((r) => r.event === 'session-option-request' && r.applied === true)).toBe(true);
    expect((t.servers[0].stats().tcp as { congestionControl: string }).congestionControl).toBe('newreno');
    // Not in the client's: its own TCP never switched.
    expect(t.clientTcpTrace.records.some((r) => r.event === 'cc-switch')).toBe(false);
  });

  test('delayed record ACKs: a lone record is acknowledged when the 25 ms ACK delay runs out (driver timer on the virtual clock)', () => {
    const t = simSession({ seed: 10, link: { delay: 1 } });
    const client = new StreamApp(t.client, () => t.sim.now);
    t.runUntil(() => client.ready && t.servers.length > 0, 5000);
    new StreamApp(t.servers[0], () => t.sim.now);
    t.sim.run(t.sim.now + 500); // handshake-time reports and tokens acknowledged: quiet
    const conn = () => t.client.stats().session.connections[0];
    // Open the stream first: the server's window announcement for it would carry the ACK at once.
    const s = t.client.openStream();
    s.write(new TextEncoder().encode('open'));
    t.sim.run(t.sim.now + 500);
    s.write(new TextEncoder().encode('one record'));
    const t0 = t.sim.now;
    const sent = conn().highestSentSeq;
    t.runUntil(() => conn().highestAckedSeq >= sent, 1000);
    const elapsed = t.sim.now - t0;
    expect(conn().highestAckedSeq).toBe(sent);
    // one-way 1 ms there, 25 ms ACK delay at the server, 1 ms back (+ TCP's own ACK pacing: small)
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(elapsed).toBeLessThan(40);
  });

  test('a controller the policy does not allow is refused and nothing switches', () => {
    const t = simSession({ seed: 8 });
    const client = new StreamApp(t.client, () => t.sim.now);
    t.runUntil(() => client.ready && t.servers.length > 0, 5000);
    t.client.requestOption({ kind: 'congestionControl', name: 'newreno', params: {} });
    t.runUntil(() => client.events.some((e) => e.type === 'option-refused'), 5000);
    expect(client.events.find((e) => e.type === 'option-refused')).toMatchObject({ reasonName: expect.any(String) });
    expect(t.serverTcpTrace.records.some((r) => r.event === 'cc-switch')).toBe(false);
  });
});
