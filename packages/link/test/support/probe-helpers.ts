/** Shared steps of the SYN/SYN-ACK namespace tests for both real links. */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTcpPacket } from '@tcpls/tcp/wire';
import { hasCommand } from '../../../../test/support/env.js';
import { type NsPair, jsonLines, runTsIn, waitForOutput } from './netns.js';
import type { SegmentSummary } from './packets.js';

export const SYN_PROBE = join(__dirname, 'syn-probe.ts');

/** Starts a kernel TCP listener (node's net module) in the server namespace. */
export async function startListener(ns: NsPair, address: string, port: number): Promise<void> {
  const script = `require('net').createServer(()=>{}).listen(${port}, '${address}', () => console.log('listening'))`;
  const c = ns.spawnIn(ns.server, process.execPath, ['-e', script]);
  await waitForOutput(c, /listening/, 5000);
}

export interface ProbeRun {
  events: Record<string, unknown>[];
  stderr: string;
  /** tcpdump's text rendering of every TCP packet seen on the client's veth. */
  capture: string[];
  /** The same capture rendered with -v (IP header fields: ttl/hlim, tos/class). */
  verbose: string;
  /**
   * With `recordLinkPcap: true` in the args and tshark installed: tshark's reading of the file the
   * probe wrote with capturePacketIo(link, PcapWriter.toFile(...)); otherwise null.
   */
  linkPcap: TsharkTcp[] | null;
}

/** Runs syn-probe.ts in the client namespace while tcpdump records TCP on the client's veth. */
export async function runProbe(ns: NsPair, args: Record<string, unknown>): Promise<ProbeRun> {
  const dir = mkdtempSync(join(tmpdir(), 'hr-cap-'));
  const file = join(dir, 'c.pcap');
  try {
    const dump = ns.spawnIn(ns.client, 'tcpdump', ['--immediate-mode', '-Z', 'root', '-i', ns.clientIf, '-n', '-U', '-w', file, 'tcp']);
    await waitForOutput(dump, /listening on/, 5000);
    const { recordLinkPcap, ...probeArgs } = args;
    const linkFile = join(dir, 'link.pcap');
    const r = await runTsIn(ns.client, SYN_PROBE, [JSON.stringify(recordLinkPcap === true ? { ...probeArgs, pcapFile: linkFile } : probeArgs)]);
    await new Promise((res) => setTimeout(res, 100));
    const exited = new Promise((res) => dump.once('exit', res));
    if (dump.pid !== undefined) process.kill(dump.pid, 'SIGINT');
    await exited;
    if (process.env.HR_DEBUG) console.log(r.stdout, r.stderr);
    const text = execFileSync('tcpdump', ['-r', file, '-n'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (process.env.HR_DEBUG) console.log(text);
    const verbose = execFileSync('tcpdump', ['-r', file, '-n', '-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    let linkPcap: TsharkTcp[] | null = null;
    if (recordLinkPcap === true) {
      if (hasCommand('tshark')) linkPcap = tsharkTcp(linkFile);
      else process.stderr.write('SKIPPED the link pcap file check: needs tshark (scripts/setup.sh installs it)\n');
    }
    return { events: jsonLines(r.stdout), stderr: r.stderr, capture: text.split('\n').filter((l) => l.length > 0), verbose, linkPcap };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function event(run: ProbeRun, name: string): Record<string, unknown> {
  const e = run.events.find((x) => x.event === name);
  if (e === undefined) throw new Error(`probe printed no '${name}' event; events: ${JSON.stringify(run.events)}; stderr: ${run.stderr.slice(-1500)}`);
  return e;
}

/** tcpdump lines for packets from `addr.port` with the RST flag. */
export function rstLinesFrom(run: ProbeRun, addr: string, port: number): string[] {
  return run.capture.filter((l) => l.includes(` ${addr}.${port} >`) && /Flags \[R/.test(l));
}

export interface TsharkTcp {
  /** Seconds since the Unix epoch. */
  time: number;
  src: string;
  sport: number;
  dport: number;
  syn: boolean;
  ack: boolean;
  mss: number | null;
}

/** Reads a capture file with tshark: one row per TCP packet (needs the 'tshark' command). */
export function tsharkTcp(file: string): TsharkTcp[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ipv6.src',
    '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.options.mss_val', 'tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const flag = (s: string): boolean => s === '1' || s === 'True';
  return out.split('\n').filter((l) => l.length > 0).map((l) => {
    const [t, s4, s6, sp, dp, syn, ack, mss] = l.split('|');
    return { time: Number(t), src: s4 || s6, sport: Number(sp), dport: Number(dp), syn: flag(syn), ack: flag(ack), mss: mss ? Number(mss) : null };
  });
}

/** The stack's own codec (`@tcpls/tcp/wire`) reads the SYN-ACK as the independent test parser did. */
export function expectOwnCodecAgrees(hex: string, s: SegmentSummary, verifyChecksum: boolean): void {
  const own = parseTcpPacket(Uint8Array.from(Buffer.from(hex, 'hex')), { verifyChecksum });
  expect(own.tcp.options.map((o) => o.kind)).toEqual(expect.arrayContaining(['mss', 'sackPermitted', 'timestamps', 'wscale']));
  expect(own.tcp.options.find((o) => o.kind === 'mss')).toMatchObject({ mss: s.mss });
  expect(own.tcp.options.find((o) => o.kind === 'timestamps')).toMatchObject({ tsEcr: 0x11223344 });
  expect(own.tcp.options.find((o) => o.kind === 'wscale')).toMatchObject({ shift: s.wscale });
}

/**
 * The file written through capturePacketIo holds our SYN (MSS 1460) and the SYN-ACK (with
 * `synAckMss`), stamped with today's wall-clock time. No-op (with a SKIPPED line) without tshark.
 */
export function expectLinkCapture(run: ProbeRun, sport: number, dport: number, synAckMss: number | undefined): void {
  if (run.linkPcap === null) return;
  const synOut = run.linkPcap.find((r) => r.syn && !r.ack && r.sport === sport);
  const synAck = run.linkPcap.find((r) => r.syn && r.ack && r.dport === sport);
  expect(synOut).toMatchObject({ dport, mss: 1460 });
  expect(synAck).toMatchObject({ sport: dport, mss: synAckMss });
  expect(Math.abs(synAck!.time * 1000 - Date.now())).toBeLessThan(60_000);
}
