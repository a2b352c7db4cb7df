import fc from 'fast-check';
import {
  internetChecksum,
  parseIpAddress,
  pseudoHeaderSum,
  tcpChecksum,
  verifyTcpChecksum,
} from '../../src/wire/index.js';
import { referenceChecksum, wireErrorCode } from './helpers.js';

describe('internetChecksum (RFC 1071)', () => {
  test('RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum to ddf2', () => {
    const data = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(data)).toBe(~0xddf2 & 0xffff);
  });

  test('equals a simple reference on random data, any length and byteOffset (odd ones included)', () => {
    fc.assert(
      fc.property(
        // size 'max': without it fast-check keeps arrays short and never reaches the word-wise path.
        fc.uint8Array({ minLength: 0, maxLength: 3000, size: 'max' }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 0xffff }),
        (data, off, initial) => {
          const backing = new Uint8Array(data.length + off + 3).fill(0x5a);
          backing.set(data, off);
          const view = backing.subarray(off, off + data.length);
          expect(internetChecksum(view, initial)).toBe(referenceChecksum(data, initial));
        },
      ),
      { numRuns: 600 },
    );
  });

  test('sums beyond the periodic fold (5 MB of 0xff) still match the reference', () => {
    const big = new Uint8Array(5 * 1024 * 1024 + 3).fill(0xff);
    big[12345] = 0x12;
    expect(internetChecksum(big.subarray(1))).toBe(referenceChecksum(big.subarray(1)));
  });

  test('works on Buffers from the pool and on SharedArrayBuffer views', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps');
    expect(internetChecksum(data)).toBe(referenceChecksum(new Uint8Array(data)));
    const shared = new Uint8Array(new SharedArrayBuffer(301));
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 31) & 0xff;
    expect(internetChecksum(shared.subarray(3))).toBe(referenceChecksum(Uint8Array.from(shared.subarray(3))));
  });

  test('a buffer that includes its own correct checksum sums to 0', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), (data) => {
        const b = Uint8Array.from(data);
        b[0] = 0;
        b[1] = 0;
        const c = internetChecksum(b);
        b[0] = c >>> 8;
        b[1] = c & 0xff;
        expect(internetChecksum(b)).toBe(0);
      }),
    );
  });

  test('refuses a negative or fractional initial sum', () => {
    expect(wireErrorCode(() => internetChecksum(new Uint8Array(4), -1))).toBe('bad-field');
    expect(wireErrorCode(() => internetChecksum(new Uint8Array(4), 1.5))).toBe('bad-field');
  });
});

/** The pseudo-header as explicit bytes, to check pseudoHeaderSum against. */
function pseudoHeaderBytes(src: string, dst: string, protocol: number, length: number): Uint8Array {
  const s = parseIpAddress(src);
  const d = parseIpAddress(dst);
  if (s.length === 4) {
    // RFC 9293 section 3.1: src, dst, zero, PTCL, TCP length.
    return Uint8Array.from([...s, ...d, 0, protocol, length >>> 8, length & 0xff]);
  }
  // RFC 8200 section 8.1: src, dst, 32-bit upper-layer length, 3 zero bytes, next header.
  return Uint8Array.from([...s, ...d, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff,
    0, 0, 0, protocol]);
}

describe('pseudo-header and TCP checksum', () => {
  test.each([
    ['10.77.0.1', '10.77.0.2', 6, 40],
    ['255.255.255.255', '0.0.0.0', 6, 65535],
    ['fd77::1', 'fd77::2', 6, 1480],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::', 6, 0x12345],
  ])('pseudoHeaderSum(%s, %s, %d, %d) equals the sum of the explicit pseudo-header', (src, dst, proto, len) => {
    const folded = ~referenceChecksum(pseudoHeaderBytes(src, dst, proto, len)) & 0xffff;
    const sum = pseudoHeaderSum(src, dst, proto, len);
    // 0 and 0xffff are the same one's complement value.
    expect(sum % 0xffff).toBe(folded % 0xffff);
    expect(pseudoHeaderSum(parseIpAddress(src), parseIpAddress(dst), proto, len)).toBe(sum);
  });

  test('pseudoHeaderSum refuses mixed families and out-of-range fields', () => {
    expect(wireErrorCode(() => pseudoHeaderSum('10.0.0.1', 'fd00::1', 6, 20))).toBe('bad-address');
    expect(wireErrorCode(() => pseudoHeaderSum('10.0.0.1', '10.0.0.2', 6, 70000))).toBe('bad-field');
    expect(wireErrorCode(() => pseudoHeaderSum('10.0.0.1', '10.0.0.2', 256, 20))).toBe('bad-field');
  });

  test('tcpChecksum treats the checksum field as zero, whatever it holds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 300 }), fc.boolean(), (seg, v6) => {
        const ip = v6 ? { src: 'fd77::1', dst: 'fd77::2' } : { src: '10.77.0.1', dst: '10.77.0.2' };
        const zeroed = Uint8Array.from(seg);
        zeroed[16] = 0;
        zeroed[17] = 0;
        const pseudo = pseudoHeaderBytes(ip.src, ip.dst, 6, seg.length);
        const joined = new Uint8Array(pseudo.length + seg.length);
        joined.set(pseudo);
        joined.set(zeroed, pseudo.length);
        const expected = referenceChecksum(joined);
        expect(tcpChecksum(ip, seg)).toBe(expected);
        expect(tcpChecksum(ip, zeroed)).toBe(expected);
        zeroed[16] = expected >>> 8;
        zeroed[17] = expected & 0xff;
        expect(verifyTcpChecksum(ip, zeroed)).toBe(true);
        zeroed[25 % zeroed.length] ^= 0x01;
        expect(verifyTcpChecksum(ip, zeroed)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  test('verifyTcpChecksum accepts 0xffff where the computed checksum is 0 (one\'s complement -0)', () => {
    const ip = { src: '10.0.0.1', dst: '10.0.0.2' };
    const seg = new Uint8Array(24);
    seg[0] = 0x12;
    // Choose the last word so that the total sum is 0xffff: then the checksum to write is 0.
    const c = tcpChecksum(ip, seg);
    seg[22] = c >>> 8;
    seg[23] = c & 0xff;
    expect(tcpChecksum(ip, seg)).toBe(0);
    expect(verifyTcpChecksum(ip, seg)).toBe(true);
    seg[16] = 0xff;
    seg[17] = 0xff;
    expect(verifyTcpChecksum(ip, seg)).toBe(true);
  });

  test('a segment too short for a checksum field: tcpChecksum throws truncated, verify says false', () => {
    expect(wireErrorCode(() => tcpChecksum({ src: '10.0.0.1', dst: '10.0.0.2' }, new Uint8Array(17)))).toBe('truncated');
    expect(verifyTcpChecksum({ src: '10.0.0.1', dst: '10.0.0.2' }, new Uint8Array(17))).toBe(false);
  });
});
