/**
 * Malformed packets: each kind of damage gives its own WireError code. Packets start from a real
 * Linux SYN (golden vectors) or a built one, are damaged, and where the damage is not itself a
 * checksum error the IPv4 header checksum is fixed up, so the code under test is the one meant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildTcpPacket,
  parseIpPacket,
  parseTcp,
  parseTcpPacket,
  tcpChecksum,
  type TcpRepr,
} from '../../src/wire/index.js';
import { hexToBytes, ipv6WithExtensions, wireErrorCode } from './helpers.js';

const vectorDir = join(__dirname, '../../../../test/vectors/wire');
function golden(file: string, name: string): Uint8Array {
  const v = JSON.parse(readFileSync(join(vectorDir, file), 'utf8')) as { packets: { name: string; hex: string }[] };
  const p = v.packets.find((x) => x.name === name);
  if (!p) throw new Error(`no ${name} in ${file}`);
  return hexToBytes(p.hex);
}

const goldenPackets = ['syn', 'syn-ack', 'data-request', 'fin'].flatMap((n) => [
  [`IPv4 ${n}`, golden('linux-tcp-ipv4.json', n)] as const,
  [`IPv6 ${n}`, golden('linux-tcp-ipv6.json', n)] as const,
]);

/** Recomputes the IPv4 header checksum after a deliberate change to another header field. */
function fixIpv4Checksum(pkt: Uint8Array): Uint8Array {
  const hl = Math.max(20, (pkt[0] & 0x0f) * 4);
  pkt[10] = 0;
  pkt[11] = 0;
  let s = 0;
  for (let i = 0; i < hl && i + 1 < pkt.length; i += 2) s += (pkt[i] << 8) | pkt[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  pkt[10] = (~s >>> 8) & 0xff;
  pkt[11] = ~s & 0xff;
  return pkt;
}

/** Rewrites the TCP checksum of a v4 packet with a 20-byte IP header, so only the intended damage shows. */
function fixTcpChecksum4(pkt: Uint8Array): Uint8Array {
  const c = tcpChecksum({ src: pkt.subarray(12, 16), dst: pkt.subarray(16, 20) }, pkt.subarray(20));
  pkt[36] = c >>> 8;
  pkt[37] = c & 0xff;
  return pkt;
}

const base: TcpRepr = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: 0x12, window: 5, urgent: 0, options: [], payload: new Uint8Array([0x61, 0x62]) };

describe('truncation', () => {
  test.each(goldenPackets)('%s cut at every length is refused as truncated', (_name, pkt) => {
    for (let n = 0; n < pkt.length; n++) {
      expect([n, wireErrorCode(() => parseTcpPacket(pkt.subarray(0, n)))]).toEqual([n, 'truncated']);
      expect([n, wireErrorCode(() => parseIpPacket(pkt.subarray(0, n)))]).toEqual([n, 'truncated']);
    }
  });

  test('a TCP segment cut inside its header: truncated below 20 bytes, bad-header-length inside the options', () => {
    const seg = parseIpPacket(golden('linux-tcp-ipv4.json', 'syn')).payload; // 40-byte header
    for (let n = 0; n < seg.length; n++) {
      expect([n, wireErrorCode(() => parseTcp(seg.subarray(0, n)))]).toEqual([n, n < 20 ? 'truncated' : 'bad-header-length']);
    }
    expect(parseTcp(seg).options.length).toBe(5);
  });
});

describe('IPv4 header damage', () => {
  const pkt = () => golden('linux-tcp-ipv4.json', 'syn');

  test('IHL below 5 is bad-header-length', () => {
    const p = pkt();
    p[0] = 0x44;
    expect(wireErrorCode(() => parseIpPacket(fixIpv4Checksum(p)))).toBe('bad-header-length');
  });

  test('IHL past the end of the packet is truncated', () => {
    const p = pkt().subarray(0, 40);
    p[0] = 0x4f;
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('truncated');
  });

  test('a total length below the header length is bad-total-length', () => {
    const p = pkt();
    p[2] = 0;
    p[3] = 19;
    expect(wireErrorCode(() => parseIpPacket(fixIpv4Checksum(p)))).toBe('bad-total-length');
  });

  test('a total length past the buffer is truncated', () => {
    const p = pkt();
    p[3] += 1;
    expect(wireErrorCode(() => parseIpPacket(fixIpv4Checksum(p)))).toBe('truncated');
  });

  test('a wrong header checksum is bad-checksum', () => {
    const p = pkt();
    p[8] -= 1; // TTL changed without fixing the checksum, as a broken router would
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('bad-checksum');
  });

  test.each([
    ['MF set', 0x20, 0x00],
    ['a non-zero fragment offset', 0x00, 0xb9],
    ['DF and an offset', 0x40, 0x01],
  ])('a fragment (%s) is refused with fragment', (_why, b6, b7) => {
    const p = pkt();
    p[6] = b6;
    p[7] = b7;
    expect(wireErrorCode(() => parseTcpPacket(fixIpv4Checksum(p)))).toBe('fragment');
  });

  test('version 5 is bad-version', () => {
    const p = pkt();
    p[0] = 0x55;
    expect(wireErrorCode(() => parseTcpPacket(p))).toBe('bad-version');
  });
});

describe('IPv6 header damage', () => {
  const pkt = () => golden('linux-tcp-ipv6.json', 'syn');

  test('payload length 0 (a jumbogram) is bad-total-length', () => {
    const p = pkt();
    p[4] = 0;
    p[5] = 0;
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('bad-total-length');
  });

  test('a payload length past the buffer is truncated', () => {
    const p = pkt();
    p[5] += 1;
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('truncated');
  });

  test('a Fragment header is refused with fragment, first or after other headers', () => {
    expect(wireErrorCode(() => parseIpPacket(ipv6WithExtensions([44], 6, new Uint8Array(20))))).toBe('fragment');
    expect(wireErrorCode(() => parseTcpPacket(ipv6WithExtensions([0, 60, 44], 6, new Uint8Array(20))))).toBe('fragment');
  });

  test('nine extension headers are too many: bad-extension-header', () => {
    const p = ipv6WithExtensions([0, 60, 60, 60, 60, 60, 60, 60, 60], 6, new Uint8Array(20));
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('bad-extension-header');
  });

  test('an extension header running past the payload is bad-extension-header', () => {
    const p = ipv6WithExtensions([60], 6, new Uint8Array(4), [1]); // 16-byte header, then 4 bytes
    p[41] = 3; // now claims 32 bytes
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('bad-extension-header');
    const q = ipv6WithExtensions([], 60, new Uint8Array([6])); // a 1-byte "header"
    expect(wireErrorCode(() => parseIpPacket(q))).toBe('bad-extension-header');
  });

  test('a Hop-by-Hop header after another extension header is bad-extension-header (RFC 8200 4.1)', () => {
    const p = ipv6WithExtensions([60, 0], 6, new Uint8Array(20));
    expect(wireErrorCode(() => parseIpPacket(p))).toBe('bad-extension-header');
  });

  test('an IPv6 packet carrying UDP is not-tcp', () => {
    expect(wireErrorCode(() => parseTcpPacket(ipv6WithExtensions([60], 17, new Uint8Array(20))))).toBe('not-tcp');
  });
});

describe('TCP header damage', () => {
  test('data offset below 5 is bad-header-length', () => {
    const p = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, base);
    p[32] = 0x40;
    expect(wireErrorCode(() => parseTcpPacket(fixTcpChecksum4(p)))).toBe('bad-header-length');
  });

  test('data offset past the segment is bad-header-length', () => {
    const p = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, base); // 22-byte segment
    p[32] = 0x60;
    expect(wireErrorCode(() => parseTcpPacket(fixTcpChecksum4(p)))).toBe('bad-header-length');
  });

  test('an option running past the header is bad-option', () => {
    const p = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, { ...base, options: [{ kind: 'mss', mss: 1460 }] });
    p[41] = 5; // MSS length 5 in a 4-byte option space
    expect(wireErrorCode(() => parseTcpPacket(fixTcpChecksum4(p)))).toBe('bad-option');
  });

  test('a zero-length option is bad-option', () => {
    const p = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, { ...base, options: [{ kind: 'unknown', code: 99, data: new Uint8Array(2) }] });
    p[41] = 0;
    expect(wireErrorCode(() => parseTcpPacket(fixTcpChecksum4(p)))).toBe('bad-option');
  });

  test('damage to the payload is bad-checksum', () => {
    const p = golden('linux-tcp-ipv6.json', 'data-request');
    p[p.length - 3] ^= 0x20;
    expect(wireErrorCode(() => parseTcpPacket(p))).toBe('bad-checksum');
  });
});
