/**
 * The real links inside a lab as `tcpls lab up` builds it: client — router (nftables middlebox
 * clamping the MSS to 1200) — server. From the client namespace each link sends a hand-built SYN
 * to a Linux listener in the server namespace, across the router; the SYN-ACK is parsed with its
 * options (the clamp proves it crossed the router's middlebox), and a capture on the client's veth
 * shows no RST from the client. IPv4 and IPv6, RawSocketLink and PcapLink (on an address the
 * kernel does not own, reaching the router through its own ARP / neighbour discovery).
 * Then the simulator's built-in middleboxes are held against the router's nftables rules: the SYN
 * the server received must be, byte for byte, the SYN run through mssClamp + stripOptions.
 */
import { parseTcpPacket } from '@tcpls/tcp/wire';
import { describeIf, netnsUnavailableReason, uniqueTag } from '../../../../test/support/env.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapReader, SimRandom, mssClamp, stripOptions } from '@tcpls/link';
import { type LabState, labDown, labMiddlebox, labUp } from '../../src/lab/lab.js';
import { parseMiddlebox } from '../../src/lab/options.js';
import { type NsPair, nsPairFromLab, probeUnavailableReason, waitForOutput } from '../support/netns.js';
import { buildSyn } from '../support/packets.js';
import { event, rstLinesFrom, runProbe, startListener } from '../support/probe-helpers.js';
import { leftovers } from './support/helpers.js';

describeIf(probeUnavailableReason(netnsUnavailableReason()), 'real links in a router lab with an MSS-clamping middlebox', () => {
  jest.setTimeout(30_000);
  const prefix = `hk${uniqueTag()}`;
  let state: LabState;
  let ns: NsPair;
  /** The router's address on the client's subnet: the PcapLink's gateway. */
  let gateway: { 4: string; 6: string };

  beforeAll(async () => {
    state = await labUp({ topology: 'router', prefix, middlebox: parseMiddlebox('mss=1200') });
    ns = nsPairFromLab(state);
    const r = state.namespaces.find((n) => n.role === 'router')!.interfaces.find((i) => i.peer === `${ns.client}/${ns.clientIf}`)!;
    gateway = { 4: r.v4[0].split('/')[0], 6: r.v6[0].split('/')[0] };
  });
  afterAll(async () => {
    ns?.destroy();
    await labDown(prefix);
    expect(leftovers(prefix)).toEqual([]);
  });

  for (const link of ['raw', 'pcap'] as const) {
    for (const family of [4, 6] as const) {
      test(`${link === 'raw' ? 'RawSocketLink' : 'PcapLink'} IPv${family}: SYN across the router gets a SYN-ACK whose MSS the middlebox clamped to 1200; no RST from the client`, async () => {
        const a = family === 4 ? ns.v4 : ns.v6;
        const local = link === 'raw' ? a.client : a.spare;
        const dport = 20000 + Math.floor(Math.random() * 10000);
        const sport = 40000 + Math.floor(Math.random() * 10000);
        await startListener(ns, a.server, dport);
        const extra = link === 'pcap' ? { device: ns.clientIf, prefixLength: a.prefixLength, gateway: gateway[family] } : {};
        const run = await runProbe(ns, { link, local, peer: a.server, dport, sport, ...extra });
        const hex = event(run, 'synack').hex as string | null;
        expect(hex).not.toBeNull();
        const { ip, tcp } = parseTcpPacket(Uint8Array.from(Buffer.from(hex!, 'hex')));
        expect(ip.version).toBe(family);
        expect(tcp.flags & 0x12).toBe(0x12);
        expect(tcp.ack).toBe(0x01020305);
        const opts = Object.fromEntries(tcp.options.map((o) => [o.kind, o]));
        expect(opts.mss).toEqual({ kind: 'mss', mss: 1200 });
        expect(opts.sackPermitted).toBeDefined();
        expect(opts.timestamps).toMatchObject({ tsEcr: 0x11223344 });
        expect(opts.wscale).toBeDefined();
        expect(run.capture.some((l) => l.includes(`${local}.${sport} >`) && l.includes('Flags [S]'))).toBe(true);
        expect(rstLinesFrom(run, local, sport)).toEqual([]);
        expect(rstLinesFrom(run, a.client, sport)).toEqual([]);
      });
    }
  }

  for (const family of [4, 6] as const) {
    test(`IPv${family}: the simulator's mssClamp + stripOptions rewrite a SYN into the same TCP bytes as the router's nftables (mss=1200, strip sack-perm, timestamp, wscale)`, async () => {
      await labMiddlebox(prefix, parseMiddlebox('mss=1200,strip=sack-perm,strip=timestamp,strip=wscale'));
      const a = family === 4 ? ns.v4 : ns.v6;
      const dport = 20000 + Math.floor(Math.random() * 10000);
      const sport = 40000 + Math.floor(Math.random() * 10000);
      await startListener(ns, a.server, dport);
      const dir = mkdtempSync(join(tmpdir(), 'hk-mbox-'));
      try {
        const file = join(dir, 'server.pcap');
        const dump = ns.spawnIn(ns.server, 'tcpdump', ['--immediate-mode', '-Z', 'root', '-i', ns.serverIf, '-n', '-U', '-w', file, `tcp dst port ${dport}`]);
        await waitForOutput(dump, /listening on/, 5000);
        const run = await runProbe(ns, { link: 'raw', local: a.client, peer: a.server, dport, sport });
        expect(event(run, 'synack').hex).not.toBeNull();
        await new Promise((res) => setTimeout(res, 100));
        const exited = new Promise((res) => dump.once('exit', res));
        process.kill(dump.pid!, 'SIGINT');
        await exited;
        // What arrived at the server, after the router (Ethernet frames: strip the 14-byte header).
        const arrived = new PcapReader(readFileSync(file)).readAll().map((r) => r.data.subarray(14))
          .find((p) => (parseTcpPacket(p).tcp.flags & 0x12) === 0x02)!;
        expect(arrived).toBeDefined();
        // The same SYN as the probe sent it, through the simulator's built-ins.
        let sim = buildSyn({ src: a.client, dst: a.server, sport, dport, seq: 0x01020304, tsVal: 0x11223344, ttl: 37 });
        const ctx = { direction: 'forward' as const, now: 0, random: new SimRandom(1) };
        for (const mb of [mssClamp(1200), stripOptions([4, 8, 3])]) sim = mb(sim, ctx) as Uint8Array;
        // Byte for byte, checksum included (both fix it incrementally): the TCP segments agree.
        const segment = (p: Uint8Array): string => Buffer.from(p.subarray(family === 4 ? 20 : 40)).toString('hex');
        expect(segment(sim)).toBe(segment(arrived));
        // MSS 1460 -> 1200; SACK-permitted (2), timestamps (10), the NOP and window scale (3) -> 16 NOPs.
        const { tcp } = parseTcpPacket(sim);
        expect(tcp.options).toEqual([{ kind: 'mss', mss: 1200 }, ...Array.from({ length: 16 }, () => ({ kind: 'nop' }))]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await labMiddlebox(prefix, parseMiddlebox('mss=1200'));
      }
    });
  }
});
