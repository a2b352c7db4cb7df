/**
 * Golden bytes: real Linux TCP segments (SYN, SYN-ACK, ACK, request and response data, FIN) over
 * IPv4 and IPv6, captured between two namespaces by test/vectors/wire/capture-linux.sh, with
 * tshark's independent decode of each. Our parser must read every field as tshark did, and our
 * emitters must write the very same bytes back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildTcpPacket,
  emitIpHeader,
  emitTcp,
  ipHeaderLength,
  parseIpPacket,
  parseTcp,
  parseTcpPacket,
  tcpHeaderLength,
  tcpOptionKind,
} from '../../src/wire/index.js';
import { bytesToHex, hexToBytes } from './helpers.js';

interface TsharkFields {
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  ttl?: number;
  ident?: number;
  dontFragment?: boolean;
  hopLimit?: number;
  flowLabel?: number;
  dscp: number;
  ecn: number;
  ipChecksumStatus?: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent: number;
  tcpHeaderLength: number;
  payloadLength: number;
  tcpChecksumStatus: number;
  optionKinds: number[];
  mss?: number;
  wscale?: number;
  tsVal?: number;
  tsEcr?: number;
}

interface VectorFile {
  note: string;
  packets: { name: string; hex: string; tshark: TsharkFields }[];
}

const vectorDir = join(__dirname, '../../../../test/vectors/wire');
const files = ['linux-tcp-ipv4.json', 'linux-tcp-ipv6.json'];
const cases = files.flatMap((f) => {
  const v = JSON.parse(readFileSync(join(vectorDir, f), 'utf8')) as VectorFile;
  return v.packets.map((p) => [`${f} ${p.name}`, p.hex, p.tshark] as const);
});

/** The wire kind number of a parsed option, to compare with tshark's list of kinds. */
const kindNumber = tcpOptionKind;

describe('golden Linux segments', () => {
  test('the vector files hold the six segment kinds for both IP versions', () => {
    expect(cases.map((c) => c[0])).toEqual(
      files.flatMap((f) => ['syn', 'syn-ack', 'ack', 'data-request', 'data-response', 'fin'].map((n) => `${f} ${n}`)),
    );
    // tshark judged every checksum good (status 1), so a parse that verifies them must pass too.
    for (const [, , t] of cases) expect(t.tcpChecksumStatus).toBe(1);
  });

  test.each(cases)('%s: every field reads as tshark decoded it', (_name, hex, t) => {
    const packet = hexToBytes(hex);
    const { ip, tcp } = parseTcpPacket(packet);
    expect(ip.version).toBe(t.ipVersion);
    expect(ip.src).toBe(t.src);
    expect(ip.dst).toBe(t.dst);
    expect(ip.protocol).toBe(6);
    expect(ip.dscp).toBe(t.dscp);
    expect(ip.ecn).toBe(t.ecn);
    if (ip.version === 4) {
      expect(ip.ttl).toBe(t.ttl);
      expect(ip.ident).toBe(t.ident);
      expect(ip.dontFragment).toBe(t.dontFragment);
      expect(ip.options.length).toBe(0);
    } else {
      expect(ip.hopLimit).toBe(t.hopLimit);
      expect(ip.flowLabel).toBe(t.flowLabel);
    }
    expect(tcp.srcPort).toBe(t.srcPort);
    expect(tcp.dstPort).toBe(t.dstPort);
    expect(tcp.seq).toBe(t.seq);
    expect(tcp.ack).toBe(t.ack);
    expect(tcp.flags).toBe(t.flags);
    expect(tcp.window).toBe(t.window);
    expect(tcp.urgent).toBe(t.urgent);
    expect(tcp.reserved).toBeUndefined();
    expect(tcpHeaderLength(tcp)).toBe(t.tcpHeaderLength);
    expect(tcp.payload.length).toBe(t.payloadLength);
    expect(tcp.options.map(kindNumber)).toEqual(t.optionKinds);
    const mss = tcp.options.find((o) => o.kind === 'mss');
    expect(mss && mss.kind === 'mss' ? mss.mss : undefined).toBe(t.mss);
    const ws = tcp.options.find((o) => o.kind === 'wscale');
    expect(ws && ws.kind === 'wscale' ? ws.shift : undefined).toBe(t.wscale);
    const ts = tcp.options.find((o) => o.kind === 'timestamps');
    expect(ts && ts.kind === 'timestamps' ? [ts.tsVal, ts.tsEcr] : undefined).toEqual(
      t.tsVal === undefined ? undefined : [t.tsVal, t.tsEcr],
    );
    // The separate layers agree with the one-step parser.
    const layered = parseIpPacket(packet);
    expect(layered.ip).toEqual(ip);
    expect(parseTcp(layered.payload, ip)).toEqual(tcp);
  });

  test.each(cases)('%s: buildTcpPacket re-emits the captured bytes exactly', (_name, hex) => {
    const { ip, tcp } = parseTcpPacket(hexToBytes(hex));
    const rebuilt =
      ip.version === 4
        ? buildTcpPacket({ src: ip.src, dst: ip.dst, ttl: ip.ttl, ident: ip.ident, dontFragment: ip.dontFragment, dscp: ip.dscp, ecn: ip.ecn }, tcp)
        : buildTcpPacket({ src: ip.src, dst: ip.dst, hopLimit: ip.hopLimit, flowLabel: ip.flowLabel, dscp: ip.dscp, ecn: ip.ecn }, tcp);
    expect(bytesToHex(rebuilt)).toBe(hex);
  });

  test.each(cases)('%s: emitting into a dirty buffer (0xAA) at an odd offset gives the same bytes', (_name, hex) => {
    const { ip, tcp } = parseTcpPacket(hexToBytes(hex));
    const off = 3;
    const out = new Uint8Array(off + hex.length / 2 + 5).fill(0xaa);
    const segmentLength = tcpHeaderLength(tcp) + tcp.payload.length;
    const h = emitIpHeader(ip, segmentLength, out, off);
    expect(h).toBe(ipHeaderLength(ip));
    const n = emitTcp(tcp, out, off + h, ip);
    expect(n).toBe(segmentLength);
    expect(bytesToHex(out.subarray(off, off + h + n))).toBe(hex);
    // Nothing outside the packet was touched.
    expect(Array.from(out.subarray(0, off))).toEqual([0xaa, 0xaa, 0xaa]);
    expect(Array.from(out.subarray(off + h + n))).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
  });
});
