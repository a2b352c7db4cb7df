/**
 * Child-process probe run inside a test namespace (node run-ts.cjs syn-probe.ts '<json>'):
 * opens a RawSocketLink or PcapLink, sends a hand-built SYN to a Linux listener, waits for the
 * SYN-ACK, then closes the link. Prints one JSON line per step: opened (with the namespace's nft
 * tables and reserved ports), synack (packet hex), closed (same state again, stats), or error.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { PacketIo } from '@tcpls/tcp';
import { PcapLink, PcapWriter, RawSocketLink, capturePacketIo } from '../../src/index.js';
import { buildSyn, readSegment } from './packets.js';

interface ProbeArgs {
  link: 'raw' | 'pcap';
  local: string;
  peer: string;
  dport: number;
  sport: number;
  device?: string;
  prefixLength?: number;
  /** PcapLink only: next hop for a peer outside the prefix. */
  gateway?: string;
  /** ms to wait after the SYN-ACK before closing (time for a kernel RST to show up). */
  linger?: number;
  /** RawSocketLink only: false to leave the kernel's RSTs alone (the control case). */
  suppressRst?: boolean;
  /**
   * After the SYN/SYN-ACK: flush the server's neighbour cache and have its kernel connect to us,
   * so it must resolve our address (through the link's ARP/NA answers) to reach us.
   */
  inbound?: { ns: string; port: number; waitMs?: number };
  /** Record the link's traffic into this pcap file with capturePacketIo (wall-clock times). */
  pcapFile?: string;
}

function out(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function netState(): { nftTables: string; reservedPorts: string } {
  return {
    nftTables: execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }),
    reservedPorts: readFileSync('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8').trim(),
  };
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as ProbeArgs;
  let link: (PacketIo & { stats(): unknown }) | undefined;
  let extra: Record<string, unknown> = {};
  const tapped: { dir: string; len: number; t: number }[] = [];
  const tap = (dir: string, p: Uint8Array, t: number): void => {
    tapped.push({ dir, len: p.length, t });
  };
  if (a.link === 'raw') {
    const l = await RawSocketLink.open({ localAddress: a.local, ports: [a.sport], suppressRst: a.suppressRst, tap });
    extra = { rstTable: l.rstTable, reserved: l.reservedPorts, mtu: l.mtu };
    link = l;
  } else {
    const l = await PcapLink.open({ device: a.device!, address: a.local, prefixLength: a.prefixLength, gateway: a.gateway, tap });
    extra = { mac: l.mac, mtu: l.mtu };
    link = l;
  }
  out({ event: 'opened', ...extra, ...netState() });
  const writer = a.pcapFile === undefined ? null : PcapWriter.toFile(a.pcapFile);
  const stats = link.stats.bind(link);
  if (writer !== null) link = Object.assign(capturePacketIo(link, writer), { stats });
  const syn = buildSyn({ src: a.local, dst: a.peer, sport: a.sport, dport: a.dport, seq: 0x01020304, tsVal: 0x11223344, ttl: 37 });
  const got = new Promise<Uint8Array | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 4000);
    link!.onPacket((p) => {
      const s = readSegment(p);
      if (s !== null && s.sport === a.dport && s.dport === a.sport && (s.flags & 0x12) === 0x12) {
        clearTimeout(timer);
        resolve(p);
      }
    });
  });
  // Resend once a second until answered (the pcap link may first have to resolve the peer's MAC).
  link.send(syn);
  const resend = setInterval(() => link!.send(syn), 1000);
  const synack = await got;
  clearInterval(resend);
  out({ event: 'synack', hex: synack === null ? null : Buffer.from(synack).toString('hex') });
  await new Promise((r) => setTimeout(r, a.linger ?? 300));
  if (a.inbound !== undefined) out({ event: 'inbound', ...(await inbound(link, a, a.inbound)) });
  const finalStats = link.stats();
  await link.close();
  writer?.close();
  out({ event: 'closed', stats: finalStats, tapped, ...netState() });
}

async function inbound(link: PacketIo, a: ProbeArgs, ib: { ns: string; port: number; waitMs?: number }): Promise<Record<string, unknown>> {
  execFileSync('ip', ['netns', 'exec', ib.ns, 'ip', 'neigh', 'flush', 'all']);
  const got = new Promise<Uint8Array | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), ib.waitMs ?? 4000);
    link.onPacket((p) => {
      const s = readSegment(p);
      if (s !== null && s.dport === ib.port && (s.flags & 0x12) === 0x02) {
        clearTimeout(timer);
        resolve(p);
      }
    });
  });
  const script = `require('net').connect(${ib.port}, '${a.local}').on('error', () => {})`;
  const child = spawn('ip', ['netns', 'exec', ib.ns, process.execPath, '-e', script], { stdio: 'ignore' });
  const syn = await got;
  if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  const s = syn === null ? null : readSegment(syn);
  return { synFrom: s?.src ?? null, synTo: s?.dst ?? null };
}

main().then(
  () => process.exit(0),
  (e: Error & { code?: string }) => {
    out({ event: 'error', code: e.code, message: e.message });
    process.exit(1);
  },
);
