/**
 * Child-process probe: sends `count` SYNs (one per source port) in one synchronous burst through a
 * link and counts the distinct SYN-ACKs that come back, exercising batch send and the drain loop.
 * Every delivered packet is kept and read again at the end: a packet that were only a view of the
 * link's reused receive buffer would by then show a later packet's bytes.
 */
import { PcapLink, RawSocketLink } from '../../src/index.js';
import { buildSyn, readSegment } from './packets.js';

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { link: 'raw' | 'pcap'; local: string; peer: string; dport: number; sport: number; count: number; device?: string };
  const ports = Array.from({ length: a.count }, (_, i) => a.sport + i);
  const link = a.link === 'raw' ? await RawSocketLink.open({ localAddress: a.local, ports }) : await PcapLink.open({ device: a.device!, address: a.local });
  const seen = new Set<number>();
  const kept: Uint8Array[] = [];
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    link.onPacket((p) => {
      const s = readSegment(p);
      if (s !== null && s.sport === a.dport && (s.flags & 0x12) === 0x12) {
        seen.add(s.dport);
        kept.push(p);
      }
      if (seen.size === a.count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const syns = ports.map((sport) => buildSyn({ src: a.local, dst: a.peer, sport, dport: a.dport, seq: 1000, tsVal: 1 }));
  const t0 = performance.now();
  let accepted = 0;
  if (link instanceof RawSocketLink) accepted = link.sendBatch(syns);
  else for (const p of syns) if (link.send(p)) accepted++;
  const sendMs = performance.now() - t0;
  await done;
  const stats = link.stats();
  await link.close();
  const intactAfterwards = new Set(kept.map((p) => readSegment(p)?.dport)).size;
  process.stdout.write(JSON.stringify({ event: 'done', accepted, answered: seen.size, intactAfterwards, sendMs, stats }) + '\n');
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stdout.write(JSON.stringify({ event: 'error', message: e.message }) + '\n');
    process.exit(1);
  },
);
