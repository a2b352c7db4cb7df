/**
 * `tcpls sim`: runs a seeded scenario on the simulated network and reports what the link did.
 *   client —[link (+ middleboxes)]— server; the client sends a SYN with common options, then a
 *   stream of data segments; the server answers each with an ACK. Prints per-direction counters,
 *   measured goodput and one-way delays; optionally writes a pcap file of the link.
 * The TCP stack itself is not used: this command checks link and middlebox settings.
 */
import { PcapWriter, SimNetwork, ecnBleach, isnShift, mssClamp, stripOptions, type Middlebox } from '@tcpls/link';
import { TcpFlag, buildTcpPacket, parseTcpPacket, type TcpOption } from '@tcpls/tcp/wire';
import { UsageError, intOption, parseArgs, type ParsedArgs } from '../args.js';

export const summary = 'run a seeded scenario on the simulated network (rate, delay, loss, middleboxes, pcap)';

const HELP = `usage: tcpls sim [options]
  link:        --rate R (bit/s, or 10kbit / 50mbit / 1gbit; default unlimited)  --delay MS
               --jitter MS  --loss P  --duplicate P  --reorder P  --mtu N
               (P is a probability 0..1, or a percentage with %: --loss 0.02 = --loss 2%)
               --queue-packets N  --queue-bytes N
  middleboxes: --mss-clamp N  --strip-options K[,K…]  --isn-shift D  --ecn-bleach
  traffic:     --packets N (default 1000)  --size BYTES (IP packet size, default 1500)
               --interval MS (between sends, default 0 = back to back)
  run:         --seed S (default 1)  --pcap FILE (capture of the link)  --json
`;

function floatOption(a: ParsedArgs, name: string, def: number, min: number, max: number): number {
  const v = a.values.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${v}'`);
  return n;
}

/** A probability: 0..1, or "N%" (as `tcpls lab --loss` takes it). */
function probabilityOption(a: ParsedArgs, name: string): number {
  const v = a.values.get(name);
  if (v === undefined) return 0;
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  const n = pct ? Number(pct[1]) / 100 : Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a probability in [0, 1] or a percentage 0%..100%, got '${v}'`);
  return n;
}

/** "10mbit", "1.5gbit", "800kbit", "1000000" → bit/s. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)?(bit|bps)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--rate: cannot read '${text}' (try 10mbit)`);
  const mult = { k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const r = Number(m[1]) * mult;
  if (!(r > 0)) throw new UsageError('--rate must be > 0');
  return r;
}

interface Report {
  seed: string;
  packets: number;
  forward: unknown;
  reverse: unknown;
  goodputBitPerSec: number;
  oneWayDelayMs: { min: number; avg: number; max: number } | null;
  synMssSeenByServer: number | null;
  simulatedMs: number;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: ['rate', 'delay', 'jitter', 'loss', 'duplicate', 'reorder', 'mtu', 'queue-packets', 'queue-bytes', 'mss-clamp', 'strip-options', 'isn-shift', 'packets', 'size', 'interval', 'seed', 'pcap'],
    flags: ['ecn-bleach', 'json'],
  });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.positionals.length) throw new UsageError(`unexpected argument '${a.positionals[0]}'`);
  const seed = a.values.get('seed') ?? '1';
  const mtu = intOption(a, 'mtu', 1500, 68, 65535);
  const size = intOption(a, 'size', Math.min(1500, mtu), 60, 65535);
  const packets = intOption(a, 'packets', 1000, 1, 10_000_000);
  const interval = floatOption(a, 'interval', 0, 0, 1e6);
  const middleboxes: Middlebox[] = [];
  if (a.values.has('mss-clamp')) middleboxes.push(mssClamp(intOption(a, 'mss-clamp', 1460, 1, 65535)));
  if (a.values.has('strip-options')) {
    const kinds = a.values.get('strip-options')!.split(',').map((k) => Number(k.trim()));
    if (kinds.some((k) => !Number.isInteger(k) || k < 2 || k > 255)) throw new UsageError('--strip-options takes option kinds 2..255, comma-separated');
    middleboxes.push(stripOptions(kinds));
  }
  if (a.values.has('isn-shift')) middleboxes.push(isnShift(intOption(a, 'isn-shift', 0, -(2 ** 31), 2 ** 32 - 1)));
  if (a.flags.has('ecn-bleach')) middleboxes.push(ecnBleach());

  const sim = new SimNetwork({ seed: /^\d+$/.test(seed) ? Number(seed) : seed });
  const client = sim.addHost('client', { addresses: ['10.0.0.1'] });
  const server = sim.addHost('server', { addresses: ['10.0.0.2'] });
  const link = sim.connect(client, server, {
    rate: a.values.has('rate') ? parseRate(a.values.get('rate')!) : Infinity,
    delay: floatOption(a, 'delay', 0, 0, 1e6),
    jitter: floatOption(a, 'jitter', 0, 0, 1e6),
    loss: probabilityOption(a, 'loss'),
    duplicate: probabilityOption(a, 'duplicate'),
    reorder: probabilityOption(a, 'reorder'),
    mtu,
    queuePackets: a.values.has('queue-packets') ? intOption(a, 'queue-packets', 0, 0, 1e9) : undefined,
    queueBytes: a.values.has('queue-bytes') ? intOption(a, 'queue-bytes', 0, 0, 2 ** 40) : undefined,
    middleboxes,
  });
  const pcapPath = a.values.get('pcap');
  let pcap: PcapWriter | null = null;
  if (pcapPath) {
    try {
      pcap = PcapWriter.toFile(pcapPath, { resolution: 'nano' });
    } catch (e) {
      throw new UsageError(`--pcap: cannot write '${pcapPath}': ${(e as Error).message}`);
    }
  }
  if (pcap) sim.capture(link, pcap);

  const synOptions: TcpOption[] = [{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 1, tsEcr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }];
  const payloadLen = size - 40;
  const isn = 1000;
  // Send time by packet index: the SYN is index 0, every data segment carries its index in its
  // first 4 payload bytes (no middlebox touches payloads; isnShift changes seq, and IPv4
  // identification would wrap after 65 536 packets). Delays are folded as they come, so a run of
  // millions of packets keeps no per-packet list.
  const sentAt = new Float64Array(packets);
  const delay = { n: 0, sum: 0, min: Infinity, max: -Infinity };
  let bytes = 0;
  let first = Infinity;
  let last = -Infinity;
  let synMss: number | null = null;
  server.onPacket((p) => {
    const { tcp } = parseTcpPacket(p);
    if (tcp.flags & TcpFlag.SYN) {
      const mssOpt = tcp.options.find((o) => o.kind === 'mss');
      synMss = mssOpt && mssOpt.kind === 'mss' ? mssOpt.mss : null;
    } else {
      bytes += tcp.payload.length;
      first = Math.min(first, sim.now);
      last = sim.now;
    }
    const pl = tcp.payload;
    const index = tcp.flags & TcpFlag.SYN ? 0 : pl.length >= 4 ? ((pl[0] << 24) | (pl[1] << 16) | (pl[2] << 8) | pl[3]) >>> 0 : -1;
    if (index >= 0 && index < packets) {
      const d = sim.now - sentAt[index];
      delay.n++;
      delay.sum += d;
      delay.min = Math.min(delay.min, d);
      delay.max = Math.max(delay.max, d);
    }
    const ack = (tcp.seq + tcp.payload.length + (tcp.flags & TcpFlag.SYN ? 1 : 0)) >>> 0;
    server.send(buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1' }, { srcPort: 80, dstPort: 40000, seq: 5000, ack, flags: TcpFlag.ACK, window: 65535, urgent: 0, options: [], payload: new Uint8Array(0) }));
  });
  const payload = new Uint8Array(Math.max(0, payloadLen)).fill(0x78);
  let seq = isn;
  const sendOne = (i: number): void => {
    const syn = i === 0;
    if (!syn && payload.length >= 4) {
      payload[0] = i >>> 24;
      payload[1] = (i >>> 16) & 0xff;
      payload[2] = (i >>> 8) & 0xff;
      payload[3] = i & 0xff;
    }
    const p = buildTcpPacket(
      { src: '10.0.0.1', dst: '10.0.0.2', ident: i & 0xffff },
      { srcPort: 40000, dstPort: 80, seq, ack: syn ? 0 : 5001, flags: syn ? TcpFlag.SYN : TcpFlag.ACK | TcpFlag.PSH, window: 65535, urgent: 0, options: syn ? synOptions : [], payload: syn ? new Uint8Array(0) : payload },
    );
    sentAt[i] = sim.now;
    client.send(p);
    seq = (seq + (syn ? 1 : payload.length)) >>> 0;
  };
  for (let i = 0; i < packets; i++) sim.clock.setTimer(i * interval, () => sendOne(i));
  sim.runUntilIdle({ maxEvents: 50_000_000 });
  pcap?.close();

  const span = last - first;
  // Goodput counts bytes after the first data segment over the time they took to arrive.
  const report: Report = {
    seed,
    packets,
    forward: link.forward.stats,
    reverse: link.reverse.stats,
    goodputBitPerSec: span > 0 ? Math.round(((bytes - payload.length) * 8) / (span / 1000)) : 0,
    oneWayDelayMs: delay.n > 0 ? { min: delay.min, avg: delay.sum / delay.n, max: delay.max } : null,
    synMssSeenByServer: synMss,
    simulatedMs: sim.now,
  };
  if (a.flags.has('json')) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const f = link.forward.stats;
  const r = link.reverse.stats;
  const lines = [
    `seed ${seed}: ${packets} packets of ${size} bytes, simulated ${sim.now.toFixed(3)} ms`,
    `forward: sent ${f.sent}, delivered ${f.delivered}, dropped loss ${f.dropped.loss} queue ${f.dropped.queue} mtu ${f.dropped.mtu} middlebox ${f.dropped.middlebox}, duplicated ${f.duplicated}, reordered ${f.reordered}, max queue ${f.maxQueueBytes} B`,
    `reverse: sent ${r.sent}, delivered ${r.delivered}, dropped loss ${r.dropped.loss} queue ${r.dropped.queue}`,
    `goodput ${(report.goodputBitPerSec / 1e6).toFixed(3)} Mbit/s` +
      (report.oneWayDelayMs ? `; one-way delay min ${report.oneWayDelayMs.min.toFixed(3)} avg ${report.oneWayDelayMs.avg.toFixed(3)} max ${report.oneWayDelayMs.max.toFixed(3)} ms` : ''),
    `server saw SYN MSS ${synMss ?? '(none / SYN lost)'}`,
  ];
  if (pcapPath) lines.push(`pcap written to ${pcapPath} (${pcap!.packets} packets)`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
