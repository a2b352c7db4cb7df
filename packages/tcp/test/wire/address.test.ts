import { SocketAddress, isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  formatIpAddress,
  formatIpv4Address,
  formatIpv6Address,
  ipVersionOf,
  parseIpAddress,
  parseIpv4Address,
  parseIpv6Address,
} from '../../src/wire/index.js';
import { bytesToHex, wireErrorCode } from './helpers.js';

/** node:net's own canonical text for an IPv6 address (libuv inet_pton + inet_ntop). */
function nodeCanonical(text: string): string {
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

function expandedText(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16).padStart(4, '0'));
  return groups.join(':');
}

describe('IPv4 address text', () => {
  test('parses dotted quads into 4 bytes and formats them back', () => {
    expect(Array.from(parseIpv4Address('10.77.0.255'))).toEqual([10, 77, 0, 255]);
    expect(Array.from(parseIpv4Address('0.0.0.0'))).toEqual([0, 0, 0, 0]);
    expect(formatIpv4Address(new Uint8Array([9, 9, 192, 168, 1, 200]), 2)).toBe('192.168.1.200');
  });

  test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.04', ' 1.2.3.4', '1.2.3.4 ', '1..2.3',
    '0x1.2.3.4', '1.2.3.-4', '1.2.3.4.', '1111.2.3.4', '１.2.3.4'])('refuses %j with bad-address', (s) => {
    expect(wireErrorCode(() => parseIpv4Address(s))).toBe('bad-address');
  });

  test('accepts exactly what node:net isIPv4 accepts, for random near-IPv4 strings', () => {
    const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '00', '01', '0', 'a', '-1'));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
        const s = parts.join('.');
        let ok = true;
        try {
          parseIpv4Address(s);
        } catch {
          ok = false;
        }
        expect(ok).toBe(isIPv4(s));
      }),
      { numRuns: 500 },
    );
  });

  test('formatting refuses a range shorter than 4 bytes', () => {
    expect(wireErrorCode(() => formatIpv4Address(new Uint8Array(5), 2))).toBe('bad-address');
  });
});

describe('IPv6 address text', () => {
  test.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['fd77::2', 'fd770000000000000000000000000002'],
    ['FD77:0:0:0:0:0:0:2', 'fd770000000000000000000000000002'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::10.0.0.1', '0064ff9b00000000000000000a000001'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ])('parses %s', (text, hex) => {
    expect(bytesToHex(parseIpv6Address(text))).toBe(hex);
  });

  test.each(['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '1::2:', '12345::1',
    '1:2:3:4:5:6:7::8', 'g::1', '::1.2.3', '::01.2.3.4', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0',
    '::ffff:256.1.1.1', '1.2.3.4'])('refuses %j with bad-address', (s) => {
    expect(wireErrorCode(() => parseIpv6Address(s))).toBe('bad-address');
  });

  test.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00010000000000010000000000000001', '1:0:0:1::1'],
    ['00010000000000020000000000030004', '1::2:0:0:3:4'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['00000000000000000000000001020304', '::1.2.3.4'],
    ['00000000000000000000000000000002', '::2'],
    ['00000000000000000000000100000000', '::1:0:0'],
    ['00000000000000000001000000000000', '::1:0:0:0'],
  ])('formats %s as %s (RFC 5952, as node prints it)', (hex, text) => {
    const b = Uint8Array.from(Buffer.from(hex, 'hex'));
    expect(formatIpv6Address(b)).toBe(text);
    expect(nodeCanonical(text)).toBe(text);
  });

  test('formatting matches node:net for random addresses, zero-heavy included, and parses back', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 3 }), (words, off) => {
        const b = new Uint8Array(16 + off).fill(0xaa);
        words.forEach((w, i) => {
          b[off + 2 * i] = w >>> 8;
          b[off + 2 * i + 1] = w & 0xff;
        });
        const addr = b.subarray(off);
        const text = formatIpv6Address(b, off);
        expect(text).toBe(nodeCanonical(expandedText(addr)));
        expect(isIPv6(text)).toBe(true);
        expect(bytesToHex(parseIpv6Address(text))).toBe(bytesToHex(addr));
      }),
      { numRuns: 1000 },
    );
  });

  test('parsing agrees with node:net isIPv6 on random group soups', () => {
    const token = fc.constantFrom('', '0', '1', 'ff', 'FFFF', '12345', 'g', '1.2.3.4', '1.2.3');
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 10 }), (tokens) => {
        const s = tokens.join(':');
        let ok = true;
        try {
          parseIpv6Address(s);
        } catch {
          ok = false;
        }
        expect(ok).toBe(isIPv6(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('either family', () => {
  test('ipVersionOf and parseIpAddress pick the family from the text', () => {
    expect(ipVersionOf('10.0.0.1')).toBe(4);
    expect(ipVersionOf('fd00::1')).toBe(6);
    expect(parseIpAddress('10.0.0.1').length).toBe(4);
    expect(parseIpAddress('::ffff:10.0.0.1').length).toBe(16);
    expect(formatIpAddress(parseIpAddress('fd00:0::1'))).toBe('fd00::1');
    expect(wireErrorCode(() => ipVersionOf('fd00::g'))).toBe('bad-address');
    expect(wireErrorCode(() => ipVersionOf('localhost'))).toBe('bad-address');
    expect(wireErrorCode(() => formatIpAddress(new Uint8Array(5)))).toBe('bad-address');
  });
});
