import fc from 'fast-check';
import {
  TcpFlag,
  buildTcpPacket,
  emitTcp,
  parseIpPacket,
  parseTcp,
  parseTcpPacket,
  tcpHeaderLength,
  verifyTcpChecksum,
  type TcpPacketIp,
  type TcpRepr,
} from '../../src/wire/index.js';
import { arbOptionList, arbTcpRepr } from './arbitraries.js';
import { bytesToHex, wireErrorCode } from './helpers.js';

const u8 = fc.integer({ min: 0, max: 255 });
const arbEndpoints = fc.oneof(
  fc.tuple(fc.tuple(u8, u8, u8, u8), fc.tuple(u8, u8, u8, u8)).map(([a, b]) => ({ src: a.join('.'), dst: b.join('.') })),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([a, b]) => ({
    src: `fd00::${a.toString(16)}:1`,
    dst: `2001:db8:${b.toString(16)}::2`,
  })),
);

function emitted(repr: TcpRepr, ip: { src: string; dst: string }): Uint8Array {
  const out = new Uint8Array(tcpHeaderLength(repr) + repr.payload.length);
  expect(emitTcp(repr, out, 0, ip)).toBe(out.length);
  return out;
}

const synRepr: TcpRepr = {
  srcPort: 40000,
  dstPort: 443,
  seq: 0xfffffff0,
  ack: 0,
  flags: TcpFlag.SYN,
  window: 65535,
  urgent: 0,
  options: [{ kind: 'mss', mss: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }, { kind: 'sackPermitted' }, { kind: 'eol', padding: new Uint8Array(1) }],
  payload: new Uint8Array(0),
};

describe('TCP header codec', () => {
  test('random reprs emit, verify and parse back equal (reserved bits and options included)', () => {
    fc.assert(
      fc.property(arbTcpRepr, arbEndpoints, (repr, ip) => {
        const seg = emitted(repr, ip);
        expect(verifyTcpChecksum(ip, seg)).toBe(true);
        expect(parseTcp(seg, ip)).toEqual(repr);
      }),
      { numRuns: 500 },
    );
  });

  test('emitting into a dirty buffer gives the same bytes as into a zeroed one', () => {
    fc.assert(
      fc.property(arbTcpRepr, arbEndpoints, fc.integer({ min: 0, max: 7 }), (repr, ip, off) => {
        const clean = emitted(repr, ip);
        const dirty = new Uint8Array(off + clean.length + 3).fill(0xaa);
        expect(emitTcp(repr, dirty, off, ip)).toBe(clean.length);
        expect(bytesToHex(dirty.subarray(off, off + clean.length))).toBe(bytesToHex(clean));
        expect(Array.from(dirty.subarray(off + clean.length))).toEqual([0xaa, 0xaa, 0xaa]);
      }),
      { numRuns: 300 },
    );
  });

  test('a dirty buffer gets zero header padding when the options are not a multiple of 4', () => {
    fc.assert(
      fc.property(arbTcpRepr, arbOptionList(40), arbEndpoints, (repr, options, ip) => {
        const r = { ...repr, options };
        const clean = emitted(r, ip);
        const dirty = new Uint8Array(clean.length + 1).fill(0xaa);
        emitTcp(r, dirty, 1, ip);
        expect(bytesToHex(dirty.subarray(1))).toBe(bytesToHex(clean));
      }),
      { numRuns: 300 },
    );
  });

  test('unpadded options are followed by zero padding, read back as a trailing EOL', () => {
    const repr = { ...synRepr, options: [{ kind: 'wscale' as const, shift: 7 }] };
    expect(tcpHeaderLength(repr)).toBe(24);
    const seg = emitted(repr, { src: '10.0.0.1', dst: '10.0.0.2' });
    expect(bytesToHex(seg.subarray(20, 24))).toBe('03030700');
    expect(parseTcp(seg).options).toEqual([{ kind: 'wscale', shift: 7 }, { kind: 'eol', padding: new Uint8Array(0) }]);
  });

  test('tcpHeaderLength: 20 + options padded to 4; more than 40 option bytes is too-large', () => {
    expect(tcpHeaderLength({ ...synRepr, options: [] })).toBe(20);
    expect(tcpHeaderLength(synRepr)).toBe(32);
    const full = { ...synRepr, options: [{ kind: 'unknown' as const, code: 99, data: new Uint8Array(38) }] };
    expect(tcpHeaderLength(full)).toBe(60);
    const over = { ...synRepr, options: [{ kind: 'unknown' as const, code: 99, data: new Uint8Array(39) }] };
    expect(wireErrorCode(() => tcpHeaderLength(over))).toBe('too-large');
    expect(wireErrorCode(() => emitTcp(over, new Uint8Array(200), 0, { src: '10.0.0.1', dst: '10.0.0.2' }))).toBe('too-large');
  });

  test('sequence numbers near 2^32 and all flags survive the round trip unsigned', () => {
    const repr = { ...synRepr, seq: 0xffffffff, ack: 0x80000000, flags: 0xff, urgent: 0xffff };
    const parsed = parseTcp(emitted(repr, { src: 'fd00::1', dst: 'fd00::2' }));
    expect(parsed.seq).toBe(0xffffffff);
    expect(parsed.ack).toBe(0x80000000);
    expect(parsed.flags).toBe(0xff);
  });

  test('the payload is a view into the input, not a copy', () => {
    const seg = emitted({ ...synRepr, payload: new Uint8Array([1, 2, 3]) }, { src: '10.0.0.1', dst: '10.0.0.2' });
    const parsed = parseTcp(seg);
    expect(parsed.payload.buffer).toBe(seg.buffer);
    expect(parsed.payload.byteOffset).toBe(seg.byteOffset + 32);
  });

  test.each<[string, Partial<TcpRepr>, string]>([
    ['a port above 65535', { srcPort: 65536 }, 'bad-field'],
    ['a negative sequence number', { seq: -1 }, 'bad-field'],
    ['an ack number of 2^32', { ack: 2 ** 32 }, 'bad-field'],
    ['flags above 8 bits', { flags: 0x100 }, 'bad-field'],
    ['a window of 65536 (scaling is the engine\'s job)', { window: 65536 }, 'bad-field'],
    ['reserved bits above 4 bits', { reserved: 16 }, 'bad-field'],
  ])('emit refuses %s', (_why, patch, code) => {
    expect(wireErrorCode(() => emitTcp({ ...synRepr, ...patch }, new Uint8Array(100), 0, { src: '10.0.0.1', dst: '10.0.0.2' }))).toBe(code);
  });

  test('emit refuses an output buffer without room', () => {
    expect(wireErrorCode(() => emitTcp(synRepr, new Uint8Array(31), 0, { src: '10.0.0.1', dst: '10.0.0.2' }))).toBe('truncated');
  });

  test('parse checks the checksum only when addresses are given', () => {
    const ip = { src: '10.0.0.1', dst: '10.0.0.2' };
    const seg = emitted(synRepr, ip);
    seg[17] ^= 0x40;
    expect(parseTcp(seg)).toEqual(synRepr);
    expect(wireErrorCode(() => parseTcp(seg, ip))).toBe('bad-checksum');
    seg[17] ^= 0x40;
    expect(wireErrorCode(() => parseTcp(seg, { src: '10.0.0.1', dst: '10.0.0.3' }))).toBe('bad-checksum');
  });
});

describe('buildTcpPacket / parseTcpPacket', () => {
  const arbIpExtras = fc.record({
    ttl: fc.option(u8, { nil: undefined }),
    hopLimit: fc.option(u8, { nil: undefined }),
    dscp: fc.option(fc.integer({ min: 0, max: 63 }), { nil: undefined }),
    ecn: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    ident: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    dontFragment: fc.option(fc.boolean(), { nil: undefined }),
    flowLabel: fc.option(fc.integer({ min: 0, max: 0xfffff }), { nil: undefined }),
  });

  test('random packets build and parse back: IP fields (defaults filled) and the TCP repr', () => {
    fc.assert(
      fc.property(arbTcpRepr, arbEndpoints, arbIpExtras, (tcp, ends, extras) => {
        const ipIn: TcpPacketIp = { ...ends, ...extras };
        const pkt = buildTcpPacket(ipIn, tcp);
        const { ip, tcp: back } = parseTcpPacket(pkt);
        expect(back).toEqual(tcp);
        expect(ip.protocol).toBe(6);
        expect(ip.dscp).toBe(extras.dscp ?? 0);
        expect(ip.ecn).toBe(extras.ecn ?? 0);
        if (ip.version === 4) {
          expect(ends.src.includes(':')).toBe(false);
          expect(ip.ttl).toBe(extras.ttl ?? 64);
          expect(ip.ident).toBe(extras.ident ?? 0);
          expect(ip.dontFragment).toBe(extras.dontFragment ?? true);
        } else {
          expect(ip.hopLimit).toBe(extras.hopLimit ?? 64);
          expect(ip.flowLabel).toBe(extras.flowLabel ?? 0);
        }
        // The one-step checksum agrees with the layered codec.
        expect(verifyTcpChecksum(ip, parseIpPacket(pkt).payload)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('addresses given as bytes build the same packet as text', () => {
    const a = buildTcpPacket({ src: 'fd00::1', dst: 'fd00::2' }, synRepr);
    const src = new Uint8Array(16);
    src[0] = 0xfd;
    src[15] = 1;
    const dst = Uint8Array.from(src);
    dst[15] = 2;
    expect(bytesToHex(buildTcpPacket({ src, dst }, synRepr))).toBe(bytesToHex(a));
  });

  test('IPv4 options are carried and the TCP header follows them', () => {
    const pkt = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', ipv4Options: new Uint8Array([1, 1, 1, 0]) }, synRepr);
    expect(pkt[0]).toBe(0x46);
    const { ip, tcp } = parseTcpPacket(pkt);
    expect(ip.version === 4 && Array.from(ip.options)).toEqual([1, 1, 1, 0]);
    expect(tcp).toEqual(synRepr);
  });

  test('mixed address families are refused with bad-address', () => {
    expect(wireErrorCode(() => buildTcpPacket({ src: '10.0.0.1', dst: 'fd00::1' }, synRepr))).toBe('bad-address');
    expect(wireErrorCode(() => buildTcpPacket({ src: '10.0.0.1', dst: 'nonsense' }, synRepr))).toBe('bad-address');
  });

  test('a wrong TCP checksum is refused unless verifyChecksum is false', () => {
    const pkt = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, synRepr);
    pkt[pkt.length - 1] ^= 1;
    expect(wireErrorCode(() => parseTcpPacket(pkt))).toBe('bad-checksum');
    expect(parseTcpPacket(pkt, { verifyChecksum: false }).tcp.options.length).toBe(5);
  });

  test('a packet that is not TCP is refused with not-tcp', () => {
    const pkt = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, synRepr);
    pkt[9] = 17;
    pkt[10] = 0;
    pkt[11] = 0;
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += (pkt[i] << 8) | pkt[i + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    pkt[10] = (~s >>> 8) & 0xff;
    pkt[11] = ~s & 0xff;
    expect(wireErrorCode(() => parseTcpPacket(pkt))).toBe('not-tcp');
  });
});
