import fc from 'fast-check';
import { ArpOperation, buildArp, parseArp } from '../../src/pcap/arp.js';
import { FrameError } from '../../src/pcap/errors.js';
import {
  EtherType,
  buildEthernetFrame,
  formatMac,
  isGroupMac,
  localMacFrom,
  parseEthernet,
  parseMac,
} from '../../src/pcap/ethernet.js';
import { NaFlag, buildNdPacket, icmpv6Checksum, ipv6MulticastMac, parseNdPacket, solicitedNodeAddress } from '../../src/pcap/ndp.js';
import { ipToBytes } from '../../src/real/addr.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('Ethernet II', () => {
  test('parses destination, source and EtherType; the payload is a view after 14 bytes', () => {
    const f = hex('ffffffffffff 020000000001 0806 aabb');
    const { eth, payload } = parseEthernet(f);
    expect(formatMac(eth.dst)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(eth.src)).toBe('02:00:00:00:00:01');
    expect(eth.etherType).toBe(EtherType.ARP);
    expect(toHex(payload)).toBe('aabb');
  });

  test('a frame shorter than its header is "truncated"; an 802.3 length field is "unsupported"', () => {
    expect(() => parseEthernet(new Uint8Array(13))).toThrow(expect.objectContaining({ code: 'truncated' }));
    expect(() => parseEthernet(hex('ffffffffffff 020000000001 05dc'))).toThrow(expect.objectContaining({ code: 'unsupported' }));
  });

  test('build then parse round-trips (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.integer({ min: 0x600, max: 0xffff }), fc.uint8Array({ maxLength: 100 }), (dst, src, type, payload) => {
        const { eth, payload: p } = parseEthernet(buildEthernetFrame({ dst, src, etherType: type }, payload));
        expect([...eth.dst]).toEqual([...dst]);
        expect([...eth.src]).toEqual([...src]);
        expect(eth.etherType).toBe(type);
        expect([...p]).toEqual([...payload]);
      }),
    );
  });

  test('MAC text: parse/format, bad text rejected; random local MACs are unicast and locally administered', () => {
    expect(formatMac(parseMac('02:AB:cd:00:11:ff'))).toBe('02:ab:cd:00:11:ff');
    expect(() => parseMac('02:ab:cd:00:11')).toThrow(FrameError);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (r) => {
        const m = localMacFrom(r);
        expect(isGroupMac(m)).toBe(false);
        expect(m[0] & 0x02).toBe(0x02);
        expect([...m.subarray(1)]).toEqual([...r.subarray(1)]);
      }),
    );
  });
});

describe('ARP (RFC 826)', () => {
  // who-has 10.0.0.2 tell 10.0.0.1, as tcpdump -xx shows it (after the Ethernet header).
  const request = hex('0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');

  test('golden request parses field by field', () => {
    const a = parseArp(request);
    expect(a.operation).toBe(ArpOperation.REQUEST);
    expect(formatMac(a.sha)).toBe('02:00:00:00:00:01');
    expect([...a.spa]).toEqual([10, 0, 0, 1]);
    expect([...a.tpa]).toEqual([10, 0, 0, 2]);
  });

  test('emits exactly the golden bytes', () => {
    const a = parseArp(request);
    expect(toHex(buildArp({ operation: 1, sha: a.sha, spa: a.spa, tha: a.tha, tpa: a.tpa }))).toBe(toHex(request));
  });

  test('Ethernet padding after the 28 bytes is accepted', () => {
    const padded = new Uint8Array(46);
    padded.set(request);
    expect(parseArp(padded).operation).toBe(1);
  });

  test('truncated, non-Ethernet/IPv4 and unknown operations are typed errors', () => {
    expect(() => parseArp(request.subarray(0, 27))).toThrow(expect.objectContaining({ code: 'truncated' }));
    const hw = request.slice();
    hw[1] = 6;
    expect(() => parseArp(hw)).toThrow(expect.objectContaining({ code: 'unsupported' }));
    const op = request.slice();
    op[7] = 9;
    expect(() => parseArp(op)).toThrow(expect.objectContaining({ code: 'unsupported' }));
  });

  test('random bytes never throw anything but FrameError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          parseArp(b);
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }),
    );
  });
});

describe('Neighbour discovery (RFC 4861)', () => {
  const me = ipToBytes('fd00::77')!;
  const peer = ipToBytes('fd00::2')!;
  const mac = parseMac('02:00:00:00:00:77');

  test('solicited-node address and its multicast MAC (RFC 4291 §2.7.1, RFC 2464 §7)', () => {
    const g = solicitedNodeAddress(ipToBytes('fd00::12:3456')!);
    expect(toHex(g)).toBe('ff0200000000000000000001ff123456');
    expect(formatMac(ipv6MulticastMac(g))).toBe('33:33:ff:12:34:56');
  });

  // Captured with tcpdump -xx between two Linux 6.18 namespaces (veth, MACs set to 02:..:01/02).
  const linuxNs = hex(`3333ff000002 020000000001 86dd 6000 0000 0020 3aff fd00000000000000 0000000000000001
    ff020000000000000000 0001ff000002 8700 7d97 00000000 fd00000000000000 0000000000000002 0101 020000000001`);
  const linuxDad = hex(`3333ff000002 020000000002 86dd 6000 0000 0020 3aff 0000000000000000 0000000000000000
    ff020000000000000000 0001ff000002 8700 e520 00000000 fe80000000000000 000000fffe000002 0e01 ea90b2feec69`);

  test('golden: a Linux NS "who has fd00::2" from fd00::1 parses with its source LLA', () => {
    const { eth, payload } = parseEthernet(linuxNs);
    expect(eth.etherType).toBe(EtherType.IPV6);
    const nd = parseNdPacket(payload)!;
    expect(nd.type).toBe('ns');
    expect(toHex(nd.src)).toBe(toHex(ipToBytes('fd00::1')!));
    expect(toHex(nd.target)).toBe(toHex(ipToBytes('fd00::2')!));
    expect(formatMac(nd.lla!)).toBe('02:00:00:00:00:01');
    // and our builder produces the same bytes for the same message
    expect(toHex(buildNdPacket(nd))).toBe(toHex(payload));
  });

  test('golden: a Linux DAD probe (from ::, with a nonce option) is valid and carries no LLA', () => {
    const nd = parseNdPacket(parseEthernet(linuxDad).payload)!;
    expect(nd.type).toBe('ns');
    expect(nd.src.every((b) => b === 0)).toBe(true);
    expect(nd.lla).toBeNull();
  });

  test('an NS we build carries hop limit 255, a valid checksum and our source LLA, and parses back', () => {
    const pkt = buildNdPacket({ type: 'ns', src: me, dst: solicitedNodeAddress(peer), target: peer, flags: 0, lla: mac });
    expect(pkt[7]).toBe(255);
    expect(icmpv6Checksum(pkt.subarray(8, 24), pkt.subarray(24, 40), pkt.subarray(40))).toBe(0);
    const nd = parseNdPacket(pkt)!;
    expect(nd.type).toBe('ns');
    expect(toHex(nd.target)).toBe(toHex(peer));
    expect(formatMac(nd.lla!)).toBe('02:00:00:00:00:77');
  });

  test('an NA we build (solicited + override, target LLA) parses back with its flags and LLA', () => {
    const na = buildNdPacket({ type: 'na', src: peer, dst: me, target: peer, flags: NaFlag.SOLICITED | NaFlag.OVERRIDE, lla: parseMac('02:00:00:00:00:02') });
    const nd = parseNdPacket(na)!;
    expect(nd.type).toBe('na');
    expect(nd.flags).toBe(NaFlag.SOLICITED | NaFlag.OVERRIDE);
    expect(formatMac(nd.lla!)).toBe('02:00:00:00:00:02');
  });

  test('validity checks of §7.1: hop limit, checksum, code, short message, zero-length option, multicast target, solicited NA to multicast', () => {
    const ns = (): Uint8Array => buildNdPacket({ type: 'ns', src: peer, dst: solicitedNodeAddress(me), target: me, flags: 0, lla: mac });
    const fix = (p: Uint8Array): Uint8Array => {
      p[42] = 0;
      p[43] = 0;
      const ck = icmpv6Checksum(p.subarray(8, 24), p.subarray(24, 40), p.subarray(40));
      p[42] = ck >> 8;
      p[43] = ck & 0xff;
      return p;
    };
    const hop = ns();
    hop[7] = 64;
    expect(() => parseNdPacket(hop)).toThrow(expect.objectContaining({ code: 'malformed' }));
    const sum = ns();
    sum[50] ^= 1;
    expect(() => parseNdPacket(sum)).toThrow(expect.objectContaining({ code: 'bad-checksum' }));
    const code = ns();
    code[41] = 1;
    expect(() => parseNdPacket(fix(code))).toThrow(expect.objectContaining({ code: 'malformed' }));
    const zero = ns();
    zero[65] = 0;
    expect(() => parseNdPacket(fix(zero))).toThrow(expect.objectContaining({ code: 'malformed' }));
    const mcast = ns();
    mcast[48] = 0xff;
    expect(() => parseNdPacket(fix(mcast))).toThrow(expect.objectContaining({ code: 'malformed' }));
    const short = ns().slice(0, 60);
    short[5] = 20;
    expect(() => parseNdPacket(short)).toThrow(expect.objectContaining({ code: 'truncated' }));
    const na = buildNdPacket({ type: 'na', src: peer, dst: ipToBytes('ff02::1')!, target: peer, flags: NaFlag.SOLICITED, lla: mac });
    expect(() => parseNdPacket(na)).toThrow(expect.objectContaining({ code: 'malformed' }));
  });

  test('other ICMPv6 types and other next headers are "not ND" (null), not errors', () => {
    const echo = buildNdPacket({ type: 'ns', src: peer, dst: me, target: me, flags: 0, lla: null });
    echo[40] = 128;
    expect(parseNdPacket(echo)).toBeNull();
    echo[6] = 6;
    expect(parseNdPacket(echo)).toBeNull();
  });

  test('random ICMPv6 bodies never throw anything but FrameError and never hang (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(135, 136), (body, type) => {
        const p = new Uint8Array(40 + body.length);
        p[0] = 0x60;
        p[4] = body.length >> 8;
        p[5] = body.length & 0xff;
        p[6] = 58;
        p[7] = 255;
        p.set(body, 40);
        if (body.length > 0) p[40] = type;
        try {
          parseNdPacket(p);
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }),
    );
  });
});
