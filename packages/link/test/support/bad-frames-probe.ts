/**
 * Child-process probe (client namespace): opens an IPv4 and an IPv6 PcapLink on one device, then
 * injects malformed frames addressed to them through a second capture handle on the same device
 * (Linux shows a packet socket's outgoing frames to the other captures of the device), and prints
 * each link's drop counters. Finally checks that a valid ARP request is still answered.
 */
import { PcapLink } from '../../src/index.js';
import { loadCap, type CapHandle } from '../../src/real/native.js';
import { ipToBytes } from '../../src/real/addr.js';
import { buildNdPacket, ipv6MulticastMac, solicitedNodeAddress } from '../../src/pcap/ndp.js';
import { parseMac } from '../../src/pcap/ethernet.js';

interface Args {
  device: string;
  v4: string;
  v6: string;
  peer4: string;
}

// Strong references for the life of the process (a collected Cap aborts it).
let injector: CapHandle | null = null;
let injectorBuf: Buffer | null = null;

const OTHER_MAC = [0x02, 0x42, 0x42, 0x42, 0x42, 0x42];

function frame(dst: number[] | Uint8Array, type: number, payload: number[] | Uint8Array): Buffer {
  return Buffer.from([...dst, ...OTHER_MAC, type >> 8, type & 0xff, ...payload]);
}

function arp(op: number, sha: number[], spa: Uint8Array, tpa: Uint8Array, htype = 1): number[] {
  return [0, htype, 8, 0, 6, 4, 0, op, ...sha, ...spa, 0, 0, 0, 0, 0, 0, ...tpa];
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const l4 = await PcapLink.open({ device: a.device, address: a.v4, prefixLength: 24 });
  const l6 = await PcapLink.open({ device: a.device, address: a.v6, prefixLength: 64 });
  const cap = await loadCap();
  injector = new cap.Cap();
  injectorBuf = Buffer.alloc(65536);
  injector.open(a.device, 'ether proto 0x88b5', 1024 * 1024, injectorBuf);
  const send = (b: Buffer): void => injector!.send(b, b.length);
  const m4 = [...parseMac(l4.mac)];
  const m6 = [...parseMac(l6.mac)];
  const me4 = ipToBytes(a.v4)!;
  const peer4 = ipToBytes(a.peer4)!;
  const me6 = ipToBytes(a.v6)!;
  const bcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

  // Ethernet: an 802.3 length field where the EtherType should be.
  send(frame(m4, 0x0040, new Array(46).fill(0)));
  // ARP: truncated; sender MAC a group address; a hardware type we do not speak; our own address claimed.
  send(frame(bcast, 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 1, 2]));
  send(frame(bcast, 0x0806, arp(1, [0x01, 0, 0x5e, 0, 0, 1], peer4, me4)));
  send(frame(bcast, 0x0806, arp(1, OTHER_MAC, peer4, me4, 6)));
  send(frame(bcast, 0x0806, arp(2, OTHER_MAC, me4, me4)));
  // IPv4: total length beyond the frame; header length below 20.
  const ip = [0x45, 0, 0x05, 0xdc, 0, 0, 0, 0, 64, 6, 0, 0, ...peer4, ...me4];
  send(frame(m4, 0x0800, ip));
  send(frame(m4, 0x0800, [0x43, ...ip.slice(1)]));

  // Neighbour solicitations for our IPv6 address, each broken in one way.
  const group = solicitedNodeAddress(me6);
  const gmac = ipv6MulticastMac(group);
  const peer6 = ipToBytes('fd00::99')!;
  const ns = (): Uint8Array => buildNdPacket({ type: 'ns', src: peer6, dst: group, target: me6, flags: 0, lla: Uint8Array.from(OTHER_MAC) });
  const hop = ns();
  hop[7] = 64; // not 255: may have been forwarded (RFC 4861 §7.1.1)
  send(frame(gmac, 0x86dd, hop));
  const sum = ns();
  sum[42] ^= 0xff; // checksum
  send(frame(gmac, 0x86dd, sum));
  const zeroOpt = ns();
  zeroOpt[40 + 25] = 0; // option length 0 (checksum fixed below)
  fixIcmp6(zeroOpt);
  send(frame(gmac, 0x86dd, zeroOpt));
  const short = ns().slice(0, 40 + 10);
  short[4] = 0;
  short[5] = 10;
  send(frame(gmac, 0x86dd, short));
  // IPv6: payload length beyond the frame.
  const long = ns();
  long[4] = 0x05;
  send(frame(m6, 0x86dd, long));
  // Garbage of every length up to 80 bytes to both MACs: nothing may throw.
  for (let n = 0; n <= 66; n++) {
    const junk = Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    send(frame(m4, 0x0800, junk));
    send(frame(m6, 0x86dd, junk));
    send(frame(bcast, 0x0806, junk));
    send(frame(gmac, 0x86dd, [0x60, 0, 0, 0, 0, n, 58, 255, ...peer6, ...group, ...junk]));
  }
  await new Promise((r) => setTimeout(r, 300));
  const before = l4.stats().neighbor.answered;
  send(frame(bcast, 0x0806, arp(1, OTHER_MAC, peer4, me4)));
  await new Promise((r) => setTimeout(r, 200));
  const answeredAfter = l4.stats().neighbor.answered === before + 1;
  process.stdout.write(JSON.stringify({ event: 'done', v4: l4.stats().drops, v6: l6.stats().drops, answeredAfter, stats4: l4.stats(), stats6: l6.stats() }) + '\n');
  await l4.close();
  await l6.close();
  injector.close();
}

function fixIcmp6(pkt: Uint8Array): void {
  pkt[42] = 0;
  pkt[43] = 0;
  const plen = (pkt[4] << 8) | pkt[5];
  let s = 58 + plen;
  for (let i = 8; i < 40; i += 2) s += (pkt[i] << 8) | pkt[i + 1];
  for (let i = 40; i < 40 + plen; i += 2) s += (pkt[i] << 8) | (pkt[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const ck = ~s & 0xffff;
  pkt[42] = ck >> 8;
  pkt[43] = ck & 0xff;
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stdout.write(JSON.stringify({ event: 'error', message: e.message, stack: e.stack }) + '\n');
    process.exit(1);
  },
);
