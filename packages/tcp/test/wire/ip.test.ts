import fc from 'fast-check';
import {
  emitIpv4Header,
  emitIpv6Header,
  internetChecksum,
  ipv4HeaderLength,
  parseIpPacket,
  type Ipv4Repr,
  type Ipv6Repr,
} from '../../src/wire/index.js';
import { bytesToHex, ipv6WithExtensions, wireErrorCode } from './helpers.js';

const u8 = fc.integer({ min: 0, max: 255 });
const v4addr = fc.tuple(u8, u8, u8, u8).map((b) => b.join('.'));
const v6addr = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((w) => w.map((x) => x.toString(16)).join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:::+/, '::'));

const arbIpv4: fc.Arbitrary<Ipv4Repr> = fc.record({
  version: fc.constant(4 as const),
  src: v4addr,
  dst: v4addr,
  protocol: u8,
  ttl: u8,
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: fc.integer({ min: 0, max: 0xffff }),
  dontFragment: fc.boolean(),
  options: fc.integer({ min: 0, max: 10 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
});

const arbIpv6: fc.Arbitrary<Ipv6Repr> = fc.record({
  version: fc.constant(6 as const),
  src: v6addr,
  dst: v6addr,
  protocol: u8.filter((p) => p !== 0 && p !== 43 && p !== 44 && p !== 60),
  hopLimit: u8,
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
});

function normalise(repr: Ipv4Repr | Ipv6Repr): Ipv4Repr | Ipv6Repr {
  // Parsed addresses are canonical text; compare through a canonical re-format.
  const p = parseIpPacket(packetOf(repr, new Uint8Array([1]))).ip;
  return { ...repr, src: p.src, dst: p.dst };
}

function packetOf(repr: Ipv4Repr | Ipv6Repr, payload: Uint8Array): Uint8Array {
  const hl = repr.version === 4 ? ipv4HeaderLength(repr) : 40;
  const out = new Uint8Array(hl + payload.length);
  const n = repr.version === 4 ? emitIpv4Header(repr, payload.length, out, 0) : emitIpv6Header(repr, payload.length, out, 0);
  expect(n).toBe(hl);
  out.set(payload, hl);
  return out;
}

describe('IPv4 header', () => {
  test('random reprs (options included) emit and parse back equal, with a valid header checksum', () => {
    fc.assert(
      fc.property(arbIpv4, fc.uint8Array({ minLength: 1, maxLength: 64 }), (repr, payload) => {
        const pkt = packetOf(repr, payload);
        expect(internetChecksum(pkt.subarray(0, ipv4HeaderLength(repr)))).toBe(0);
        const parsed = parseIpPacket(pkt);
        expect(parsed.ip).toEqual(normalise(repr));
        expect(bytesToHex(parsed.payload)).toBe(bytesToHex(payload));
      }),
      { numRuns: 300 },
    );
  });

  test('emitting into a dirty buffer gives the same bytes as into a zeroed one', () => {
    fc.assert(
      fc.property(arbIpv4, fc.integer({ min: 0, max: 1000 }), (repr, payloadLength) => {
        const hl = ipv4HeaderLength(repr);
        const clean = new Uint8Array(hl);
        const dirty = new Uint8Array(hl + 2).fill(0xaa);
        emitIpv4Header(repr, payloadLength, clean, 0);
        emitIpv4Header(repr, payloadLength, dirty, 1);
        expect(bytesToHex(dirty.subarray(1, 1 + hl))).toBe(bytesToHex(clean));
      }),
    );
  });

  test('Ethernet padding after the total length is trimmed from the payload', () => {
    const repr: Ipv4Repr = { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, ttl: 64, dscp: 0, ecn: 0, ident: 1, dontFragment: true, options: new Uint8Array(0) };
    const pkt = packetOf(repr, new Uint8Array([1, 2, 3]));
    const padded = new Uint8Array(46);
    padded.set(pkt);
    const { payload } = parseIpPacket(padded);
    expect(Array.from(payload)).toEqual([1, 2, 3]);
  });

  test('refuses options that are not a multiple of 4 or longer than 40 bytes', () => {
    const base: Ipv4Repr = { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, ttl: 64, dscp: 0, ecn: 0, ident: 0, dontFragment: true, options: new Uint8Array(3) };
    expect(wireErrorCode(() => ipv4HeaderLength(base))).toBe('bad-field');
    expect(wireErrorCode(() => ipv4HeaderLength({ ...base, options: new Uint8Array(44) }))).toBe('too-large');
  });

  test.each<[string, Partial<Ipv4Repr>, number, string]>([
    ['ttl 256', { ttl: 256 }, 10, 'bad-field'],
    ['dscp 64', { dscp: 64 }, 10, 'bad-field'],
    ['an IPv6 source', { src: 'fd00::1' }, 10, 'bad-address'],
    ['a payload past 65535 - 20', {}, 65516, 'too-large'],
  ])('emit refuses %s', (_why, patch, payloadLength, code) => {
    const repr: Ipv4Repr = { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, ttl: 64, dscp: 0, ecn: 0, ident: 0, dontFragment: true, options: new Uint8Array(0), ...patch } as Ipv4Repr;
    expect(wireErrorCode(() => emitIpv4Header(repr, payloadLength, new Uint8Array(60), 0))).toBe(code);
  });

  test('emit refuses an output buffer without room', () => {
    const repr: Ipv4Repr = { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, ttl: 64, dscp: 0, ecn: 0, ident: 0, dontFragment: true, options: new Uint8Array(0) };
    expect(wireErrorCode(() => emitIpv4Header(repr, 0, new Uint8Array(25), 6))).toBe('truncated');
  });
});

describe('IPv6 header', () => {
  test('random reprs emit and parse back equal', () => {
    fc.assert(
      fc.property(arbIpv6, fc.uint8Array({ minLength: 1, maxLength: 64 }), (repr, payload) => {
        const parsed = parseIpPacket(packetOf(repr, payload));
        expect(parsed.ip).toEqual(normalise(repr));
        expect(bytesToHex(parsed.payload)).toBe(bytesToHex(payload));
      }),
      { numRuns: 300 },
    );
  });

  test('emitting into a dirty buffer gives the same bytes as into a zeroed one', () => {
    fc.assert(
      fc.property(arbIpv6, fc.integer({ min: 1, max: 0xffff }), (repr, n) => {
        const clean = new Uint8Array(40);
        const dirty = new Uint8Array(43).fill(0xaa);
        emitIpv6Header(repr, n, clean, 0);
        emitIpv6Header(repr, n, dirty, 3);
        expect(bytesToHex(dirty.subarray(3))).toBe(bytesToHex(clean));
      }),
    );
  });

  test('hop-by-hop, routing and destination options headers are skipped to the upper layer', () => {
    const payload = new Uint8Array([9, 8, 7, 6, 5]);
    const pkt = ipv6WithExtensions([0, 43, 60], 6, payload, [0, 2, 1]);
    const parsed = parseIpPacket(pkt);
    expect(parsed.ip.protocol).toBe(6);
    expect(Array.from(parsed.payload)).toEqual([9, 8, 7, 6, 5]);
  });

  test('exactly 8 extension headers are accepted', () => {
    const pkt = ipv6WithExtensions([0, 60, 60, 60, 43, 60, 60, 60], 6, new Uint8Array([1]));
    expect(parseIpPacket(pkt).ip.protocol).toBe(6);
  });

  test('an unknown next header ends the chain and is reported as the protocol', () => {
    expect(parseIpPacket(ipv6WithExtensions([60], 17, new Uint8Array(8))).ip.protocol).toBe(17);
    expect(parseIpPacket(ipv6WithExtensions([], 253, new Uint8Array(3))).ip.protocol).toBe(253);
    const none = parseIpPacket(ipv6WithExtensions([60], 59, new Uint8Array(2)));
    expect(none.ip.protocol).toBe(59);
    expect(none.payload.length).toBe(2);
  });

  test('trailing bytes after the payload length are trimmed', () => {
    const pkt = ipv6WithExtensions([], 6, new Uint8Array([1, 2]));
    const padded = new Uint8Array(pkt.length + 10);
    padded.set(pkt);
    expect(Array.from(parseIpPacket(padded).payload)).toEqual([1, 2]);
  });

  test.each<[string, Partial<Ipv6Repr>, number, string]>([
    ['a flow label above 20 bits', { flowLabel: 0x100000 }, 10, 'bad-field'],
    ['hop limit 256', { hopLimit: 256 }, 10, 'bad-field'],
    ['an IPv4 destination', { dst: '10.0.0.1' }, 10, 'bad-address'],
    ['payload length 0 (would read as a jumbogram)', {}, 0, 'too-large'],
    ['payload length 65536', {}, 65536, 'too-large'],
  ])('emit refuses %s', (_why, patch, payloadLength, code) => {
    const repr = { version: 6, src: 'fd00::1', dst: 'fd00::2', protocol: 6, hopLimit: 64, dscp: 0, ecn: 0, flowLabel: 0, ...patch } as Ipv6Repr;
    expect(wireErrorCode(() => emitIpv6Header(repr, payloadLength, new Uint8Array(60), 0))).toBe(code);
  });
});
