// Helper for capture-linux.sh: turns a pcap of two HTTP-over-TCP exchanges (IPv4, then IPv6)
// plus tshark's decoded fields into the golden-vector JSON files. Not used by the tests.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [pcapPath, fieldsPath, outDir] = process.argv.slice(2);
const pcap = readFileSync(pcapPath);
const magic = pcap.readUInt32LE(0);
const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
const u32 = (o) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
const linkType = u32(20);
if (linkType !== 1) throw new Error(`expected Ethernet link type 1, got ${linkType}`);
const frames = [];
for (let off = 24; off + 16 <= pcap.length; ) {
  const incl = u32(off + 8);
  const frame = pcap.subarray(off + 16, off + 16 + incl);
  off += 16 + incl;
  const etherType = frame.readUInt16BE(12);
  if (etherType !== 0x0800 && etherType !== 0x86dd) throw new Error(`unexpected ethertype ${etherType}`);
  frames.push(Buffer.from(frame.subarray(14)));
}

const names = ['frame', 'ipVersion', 'ipSrc', 'ipDst', 'ttl', 'ident', 'df', 'dscp', 'ecn', 'ipChecksumStatus',
  'ip6Src', 'ip6Dst', 'hopLimit', 'flowLabel', 'dscp6', 'ecn6', 'srcPort', 'dstPort', 'seq', 'ack', 'flags',
  'window', 'urgent', 'tcpHeaderLength', 'payloadLength', 'tcpChecksumStatus', 'optionKinds', 'mss', 'wscale',
  'tsVal', 'tsEcr'];
const num = (s) => (s === '' ? undefined : Number(s));
const rows = readFileSync(fieldsPath, 'utf8').trim().split('\n').map((line) => {
  const f = Object.fromEntries(line.split('|').map((v, i) => [names[i], v]));
  const v6 = f.ip6Src !== '';
  return {
    frame: Number(f.frame),
    ipVersion: v6 ? 6 : 4,
    src: v6 ? f.ip6Src : f.ipSrc,
    dst: v6 ? f.ip6Dst : f.ipDst,
    ...(v6
      ? { hopLimit: num(f.hopLimit), flowLabel: Number(f.flowLabel), dscp: num(f.dscp6), ecn: num(f.ecn6) }
      : { ttl: num(f.ttl), ident: Number(f.ident), dontFragment: f.df === 'True' || f.df === '1', dscp: num(f.dscp),
          ecn: num(f.ecn), ipChecksumStatus: num(f.ipChecksumStatus) }),
    srcPort: num(f.srcPort), dstPort: num(f.dstPort), seq: num(f.seq), ack: num(f.ack), flags: Number(f.flags),
    window: num(f.window), urgent: num(f.urgent), tcpHeaderLength: num(f.tcpHeaderLength),
    payloadLength: num(f.payloadLength), tcpChecksumStatus: num(f.tcpChecksumStatus),
    optionKinds: f.optionKinds === '' ? [] : f.optionKinds.split(',').map(Number),
    mss: num(f.mss), wscale: num(f.wscale), tsVal: num(f.tsVal), tsEcr: num(f.tsEcr),
  };
});
if (rows.length !== frames.length) throw new Error(`tshark saw ${rows.length} frames, pcap has ${frames.length}`);

const note = 'Captured by test/vectors/wire/capture-linux.sh: two network namespaces joined by a veth pair ' +
  '(offloads off), python3 -m http.server on [::]:8080 in one, curl GET /hello.txt from the other, ' +
  'tcpdump -w on the server side veth. "hex" is the IP packet (Ethernet header removed); "tshark" holds ' +
  "tshark 4.0's independent decode of the same frame (checksum status 1 = good, 0 = bad).";
for (const version of [4, 6]) {
  const picks = [];
  const idx = rows.map((r, i) => [r, i]).filter(([r]) => r.ipVersion === version);
  const client = idx.find(([r]) => r.flags === 0x002)?.[0];
  if (!client) throw new Error(`no SYN over IPv${version}`);
  const pick = (name, pred) => {
    const hit = idx.find(([r]) => pred(r));
    if (!hit) throw new Error(`no ${name} over IPv${version}`);
    picks.push({ name, hex: frames[hit[1]].toString('hex'), tshark: hit[0] });
  };
  const fromClient = (r) => r.srcPort === client.srcPort;
  pick('syn', (r) => r.flags === 0x002);
  pick('syn-ack', (r) => r.flags === 0x012);
  pick('ack', (r) => r.flags === 0x010 && r.payloadLength === 0 && fromClient(r));
  pick('data-request', (r) => r.payloadLength > 0 && fromClient(r));
  pick('data-response', (r) => r.payloadLength > 0 && !fromClient(r));
  pick('fin', (r) => (r.flags & 0x001) !== 0);
  const file = join(outDir, `linux-tcp-ipv${version}.json`);
  writeFileSync(file, JSON.stringify({ note, kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    packets: picks }, null, 2) + '\n');
  console.log(`wrote ${file} (${picks.length} packets)`);
}
