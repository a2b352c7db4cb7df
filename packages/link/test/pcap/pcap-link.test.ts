import { describeIf, netnsUnavailableReason } from '../../../../test/support/env.js';
import { ipToBytes } from '../../src/real/addr.js';
import { type NsPair, createNsPair, probeUnavailableReason, jsonLines, runTsIn } from '../support/netns.js';
import { readSegment } from '../support/packets.js';
import { event, expectLinkCapture, expectOwnCodecAgrees, rstLinesFrom, runProbe, startListener } from '../support/probe-helpers.js';
import { join } from 'node:path';

describeIf(probeUnavailableReason(netnsUnavailableReason()), 'PcapLink against a Linux listener in namespaces', () => {
  let ns: NsPair;
  beforeAll(() => {
    ns = createNsPair('hr');
  });
  afterAll(() => ns?.destroy());

  for (const family of [4, 6] as const) {
    test(`IPv${family}: on an address the kernel does not own, the server resolves us through our ${family === 4 ? 'ARP replies' : 'neighbour advertisements'}, answers our SYN with the expected options, and nobody sends a RST`, async () => {
      const a = family === 4 ? ns.v4 : ns.v6;
      const dport = 20000 + Math.floor(Math.random() * 10000);
      const sport = 40000 + Math.floor(Math.random() * 10000);
      await startListener(ns, a.server, dport);
      const run = await runProbe(ns, { link: 'pcap', local: a.spare, peer: a.server, dport, sport, device: ns.clientIf, prefixLength: a.prefixLength, inbound: { ns: ns.server, port: 9 }, recordLinkPcap: true });

      const opened = event(run, 'opened');
      expect(opened.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(parseInt((opened.mac as string).slice(0, 2), 16) & 0x03).toBe(0x02); // locally administered unicast

      const hex = event(run, 'synack').hex as string | null;
      expect(hex).not.toBeNull();
      const s = readSegment(Uint8Array.from(Buffer.from(hex!, 'hex')))!;
      expect(s.flags & 0x3f).toBe(0x12);
      expect(ipToBytes(s.src)).toEqual(ipToBytes(a.server));
      expect(ipToBytes(s.dst)).toEqual(ipToBytes(a.spare));
      expect(s.ack).toBe(0x01020305);
      // With offloads off on the server's veth its segments carry complete checksums; without
      // ethtool they may be partial (environment.md), so the check only applies when they are off.
      if (ns.serverOffloadsOff) expect(s.checksumOk).toBe(true);
      expect(s.mss).toBe(family === 4 ? 1460 : 1440);
      expect(s.sackPermitted).toBe(true);
      expect(s.tsEcr).toBe(0x11223344);
      expect(s.wscale).toBeDefined();
      // The stack's own codec reads the same SYN-ACK: the checksum over the pseudo-header verifies
      // and the options come out as the independent parser saw them.
      expectOwnCodecAgrees(hex!, s, ns.serverOffloadsOff);

      // The server's kernel, its neighbour cache flushed, reached us: it resolved our address
      // through the link's answer and its SYN arrived.
      const ib = event(run, 'inbound');
      expect(ib.synFrom).not.toBeNull();
      expect(ipToBytes(ib.synFrom as string)).toEqual(ipToBytes(a.server));
      expect(ipToBytes(ib.synTo as string)).toEqual(ipToBytes(a.spare));

      const closed = event(run, 'closed');
      // stats() and the tap saw our SYN go out and the SYN-ACK come in, with wall-clock times.
      const st = closed.stats as { packetsOut: number; packetsIn: number; bytesOut: number };
      expect(st.packetsOut).toBeGreaterThanOrEqual(1);
      expect(st.packetsIn).toBeGreaterThanOrEqual(1);
      const tapped = closed.tapped as { dir: string; len: number; t: number }[];
      expect(tapped.some((x) => x.dir === 'out' && x.len === (family === 4 ? 60 : 80))).toBe(true);
      expect(tapped.some((x) => x.dir === 'in' && x.len === hexLen(hex!))).toBe(true);
      for (const x of tapped) expect(Math.abs(x.t - Date.now())).toBeLessThan(60_000);
      const stats = closed.stats as { neighbor: { answered: number; solicited: number; learnt: number }; packetsOut: number };
      expect(stats.neighbor.solicited).toBeGreaterThanOrEqual(1); // we resolved the server ourselves
      expect(stats.neighbor.answered).toBeGreaterThanOrEqual(1); // and the server resolved us through our answer
      expect(stats.neighbor.learnt).toBeGreaterThanOrEqual(1);

      expect(run.capture.some((l) => l.includes(`${a.spare}.${sport} >`) && l.includes('Flags [S]'))).toBe(true);
      expect(rstLinesFrom(run, a.spare, sport)).toEqual([]);
      // capturePacketIo(link, PcapWriter.toFile(...)) recorded the same exchange, with wall-clock
      // times, in a file tshark reads.
      expectLinkCapture(run, sport, dport, s.mss);
      expect(rstLinesFrom(run, a.client, sport)).toEqual([]);
      // The link installs nothing in the kernel.
      expect(closed.nftTables).toBe('');
    });
  }

  test('a burst of 50 SYNs (within the 64-packet queue for one unresolved hop) is answered whole; each delivered packet is a copy that later captures do not overwrite', async () => {
    const dport = 20000 + Math.floor(Math.random() * 10000);
    const sport = 42000 + Math.floor(Math.random() * 1000);
    await startListener(ns, ns.v4.server, dport);
    const r = await runTsIn(ns.client, join(__dirname, '../support/burst-probe.ts'), [
      JSON.stringify({ link: 'pcap', local: ns.v4.spare, peer: ns.v4.server, dport, sport, count: 50, device: ns.clientIf }),
    ]);
    const d = jsonLines(r.stdout).find((l) => l.event === 'done');
    if (d === undefined) throw new Error(`burst probe failed: ${r.stdout} ${r.stderr.slice(-1500)}`);
    expect(d.accepted).toBe(50);
    expect(d.answered).toBe(50);
    expect(d.intactAfterwards).toBe(50);
  });

  test('bad input on the wire: malformed Ethernet, ARP, IPv4 and neighbour-discovery frames are counted and dropped, and the link keeps working', async () => {
    const r = await runTsIn(ns.client, join(__dirname, '../support/bad-frames-probe.ts'), [
      JSON.stringify({ device: ns.clientIf, v4: ns.v4.spare, v6: ns.v6.spare, peer4: ns.v4.server }),
    ]);
    const lines = jsonLines(r.stdout);
    const done = lines.find((l) => l.event === 'done');
    if (done === undefined) throw new Error(`probe failed: ${r.stdout} ${r.stderr.slice(-1500)}`);
    if (process.env.HR_DEBUG) console.log(JSON.stringify(done));
    const d4 = done.v4 as Record<string, number>;
    const d6 = done.v6 as Record<string, number>;
    expect(d4.malformedFrame).toBeGreaterThanOrEqual(1);
    expect(d4.malformedArp).toBeGreaterThanOrEqual(2);
    expect(d4.unsupportedArp).toBeGreaterThanOrEqual(1);
    expect(d4.malformedIp).toBeGreaterThanOrEqual(2);
    expect(d6.malformedNd).toBeGreaterThanOrEqual(4);
    expect(d6.malformedIp).toBeGreaterThanOrEqual(1);
    // After all that, a valid ARP request for our address is still answered.
    expect(done.answeredAfter).toBe(true);
  });
});

function hexLen(h: string): number {
  return h.length / 2;
}
