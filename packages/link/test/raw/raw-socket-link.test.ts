import { describeIf, netnsUnavailableReason } from '../../../../test/support/env.js';
import { join } from 'node:path';
import { type NsPair, createNsPair, jsonLines, probeUnavailableReason, runTsIn } from '../support/netns.js';
import { readSegment } from '../support/packets.js';
import { ipToBytes } from '../../src/real/addr.js';
import { event, expectLinkCapture, expectOwnCodecAgrees, rstLinesFrom, runProbe, startListener } from '../support/probe-helpers.js';

describeIf(probeUnavailableReason(netnsUnavailableReason()), 'RawSocketLink against a Linux listener in namespaces', () => {
  let ns: NsPair;
  beforeAll(() => {
    ns = createNsPair('hr');
  });
  afterAll(() => ns?.destroy());

  for (const family of [4, 6] as const) {
    test(`IPv${family}: a hand-built SYN gets a SYN-ACK with MSS, SACK-permitted, echoed timestamp and window scale; the kernel sends no RST; close() removes the nft table and reserved port`, async () => {
      const a = family === 4 ? ns.v4 : ns.v6;
      const dport = 20000 + Math.floor(Math.random() * 10000);
      const sport = 40000 + Math.floor(Math.random() * 10000);
      await startListener(ns, a.server, dport);
      const run = await runProbe(ns, { link: 'raw', local: a.client, peer: a.server, dport, sport, inbound: { ns: ns.server, port: 9, waitMs: 800 }, recordLinkPcap: true });

      const opened = event(run, 'opened');
      const table = (opened.rstTable as { name: string; family: string }).name;
      expect(table).toMatch(/^tcpls_rst_\d+_\d+$/);
      expect(opened.nftTables).toContain(`table ${family === 4 ? 'ip' : 'ip6'} ${table}`);
      expect((opened.reservedPorts as string).split(',')).toContain(String(sport));

      const hex = event(run, 'synack').hex as string | null;
      expect(hex).not.toBeNull();
      const s = readSegment(Uint8Array.from(Buffer.from(hex!, 'hex')))!;
      expect(s.flags & 0x3f).toBe(0x12); // SYN+ACK
      expect(s.ack).toBe(0x01020305);
      expect(ipToBytes(s.src)).toEqual(ipToBytes(a.server));
      expect(ipToBytes(s.dst)).toEqual(ipToBytes(a.client));
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

      // The capture saw the exchange (so it was working) and no RST from the client's address.
      expect(run.capture.some((l) => l.includes(`${a.client}.${sport} >`) && l.includes('Flags [S]'))).toBe(true);
      expect(run.capture.some((l) => l.includes(`${a.server}.${dport} >`) && l.includes('Flags [S.]'))).toBe(true);
      expect(rstLinesFrom(run, a.client, sport)).toEqual([]);
      // capturePacketIo(link, PcapWriter.toFile(...)) recorded the same exchange, with wall-clock
      // times, in a file tshark reads.
      expectLinkCapture(run, sport, dport, s.mss);
      // The IP header on the wire is the one we built (TTL / hop limit 37, not the kernel's 64).
      expect(run.verbose).toMatch(family === 4 ? /ttl 37\b/ : /hlim 37\b/);

      // The kernel's own traffic on the same address (a connection attempt to port 9, not one of
      // the link's ports) is not delivered to the stack, and its RST there is left alone.
      expect(event(run, 'inbound').synFrom).toBeNull();
      expect(rstLinesFrom(run, a.client, 9).length).toBeGreaterThan(0);

      const closed = event(run, 'closed');
      // stats() and the tap saw our SYN go out and the SYN-ACK come in, with wall-clock times.
      const st = closed.stats as { packetsOut: number; packetsIn: number; bytesOut: number };
      expect(st.packetsOut).toBeGreaterThanOrEqual(1);
      expect(st.packetsIn).toBeGreaterThanOrEqual(1);
      expect((closed.stats as { filtered: number }).filtered).toBeGreaterThanOrEqual(1);
      const tapped = closed.tapped as { dir: string; len: number; t: number }[];
      expect(tapped.some((x) => x.dir === 'out' && x.len === (family === 4 ? 60 : 80))).toBe(true);
      expect(tapped.some((x) => x.dir === 'in' && x.len === hexLen(hex!))).toBe(true);
      for (const x of tapped) expect(Math.abs(x.t - Date.now())).toBeLessThan(60_000);
      expect(closed.nftTables).not.toContain(table);
      expect((closed.reservedPorts as string).split(',')).not.toContain(String(sport));
    });
  }

  test('control: without RST suppression the client kernel does answer the SYN-ACK with a RST (so the capture above can see one)', async () => {
    const dport = 20000 + Math.floor(Math.random() * 10000);
    const sport = 40000 + Math.floor(Math.random() * 10000);
    await startListener(ns, ns.v4.server, dport);
    const run = await runProbe(ns, { link: 'raw', local: ns.v4.client, peer: ns.v4.server, dport, sport, suppressRst: false });
    expect(event(run, 'synack').hex).not.toBeNull();
    expect(rstLinesFrom(run, ns.v4.client, sport).length).toBeGreaterThan(0);
  });

  test('a burst of 400 SYNs sent in one go is accepted and every SYN-ACK is delivered (batch send, drain loop), each a copy that later receives do not overwrite', async () => {
    const dport = 20000 + Math.floor(Math.random() * 10000);
    const sport = 41000 + Math.floor(Math.random() * 1000);
    await startListener(ns, ns.v4.server, dport);
    const r = await runTsIn(ns.client, join(__dirname, '../support/burst-probe.ts'), [
      JSON.stringify({ link: 'raw', local: ns.v4.client, peer: ns.v4.server, dport, sport, count: 400 }),
    ]);
    const d = jsonLines(r.stdout).find((l) => l.event === 'done');
    if (d === undefined) throw new Error(`burst probe failed: ${r.stdout} ${r.stderr.slice(-1500)}`);
    expect(d.accepted).toBe(400);
    expect(d.answered).toBe(400);
    expect(d.intactAfterwards).toBe(400);
    expect((d.stats as { drops: Record<string, number> }).drops).toEqual({});
  });
});

function hexLen(h: string): number {
  return h.length / 2;
}
