import fc from 'fast-check';
import {
  WireError,
  emitTcpOptions,
  padTcpOptions,
  parseTcpOptions,
  tcpOptionsLength,
  type TcpOption,
} from '../../src/wire/index.js';
import { arbOption, arbOptionList } from './arbitraries.js';
import { bytesToHex, hexToBytes, wireErrorCode } from './helpers.js';

function emit(options: TcpOption[]): Uint8Array {
  const out = new Uint8Array(tcpOptionsLength(options));
  expect(emitTcpOptions(options, out, 0)).toBe(out.length);
  return out;
}

describe('TCP options: known kinds', () => {
  test('Linux SYN options (mss, sackOK, ts, nop, ws) parse to their values', () => {
    const b = hexToBytes('020405b40402080a7c7f79c9000000000103030a');
    expect(parseTcpOptions(b)).toEqual([
      { kind: 'mss', mss: 1460 },
      { kind: 'sackPermitted' },
      { kind: 'timestamps', tsVal: 0x7c7f79c9, tsEcr: 0 },
      { kind: 'nop' },
      { kind: 'wscale', shift: 10 },
    ]);
  });

  test('SACK blocks, user timeout (both granularities), Fast Open and experimental options decode', () => {
    const b = hexToBytes('0101050a0000000100000002' + '1c04800a' + '1c04000b' + '2202' + '22060a0b0c0d' + 'fe061234abcd');
    expect(parseTcpOptions(b)).toEqual([
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'sack', blocks: [{ left: 1, right: 2 }] },
      { kind: 'userTimeout', granularity: 'minutes', timeout: 10 },
      { kind: 'userTimeout', granularity: 'seconds', timeout: 11 },
      { kind: 'fastOpen', cookie: new Uint8Array(0) },
      { kind: 'fastOpen', cookie: hexToBytes('0a0b0c0d') },
      { kind: 'experimental', code: 254, exid: 0x1234, data: hexToBytes('abcd') },
    ]);
  });

  test('sequence numbers at and above 2^31 stay unsigned', () => {
    const [ts] = parseTcpOptions(hexToBytes('080afffffffe80000000'));
    expect(ts).toEqual({ kind: 'timestamps', tsVal: 0xfffffffe, tsEcr: 0x80000000 });
  });

  test('a window-scale shift above 14 is kept as sent (RFC 7323 2.3: the receiver clamps)', () => {
    expect(parseTcpOptions(hexToBytes('03030f'))).toEqual([{ kind: 'wscale', shift: 15 }]);
  });

  test('EOL keeps every byte after it as padding, even non-zero ones', () => {
    const b = hexToBytes('020405b400ff0001');
    expect(parseTcpOptions(b)).toEqual([{ kind: 'mss', mss: 1460 }, { kind: 'eol', padding: hexToBytes('ff0001') }]);
    expect(bytesToHex(emit(parseTcpOptions(b)))).toBe('020405b400ff0001');
  });
});

describe('TCP options: malformed input', () => {
  test.each([
    ['a kind with no length byte at the end', '0101 02'],
    ['length 0 (would loop forever)', '0200'],
    ['length 1', '1e01'],
    ['length running past the option space', '020405'],
    ['SACK running past the option space', '050a00000001'],
    ['an unknown kind running past the end', '0101 c8 08 aabb'],
  ])('%s is refused with bad-option', (_why, hex) => {
    expect(wireErrorCode(() => parseTcpOptions(hexToBytes(hex.replace(/ /g, ''))))).toBe('bad-option');
  });

  test.each([
    ['MSS of length 3', '020305', 2],
    ['MSS of length 6', '020605b40000', 2],
    ['window scale of length 4', '0304000a', 3],
    ['SACK-permitted of length 3', '040300', 4],
    ['timestamps of length 8', '0808000000010000', 8],
    ['user timeout of length 3', '1c0300', 28],
    ['SACK with no block (length 2)', '0502', 5],
    ['SACK of length 11 (not 2 + 8n)', '050b0000000100000002ff', 5],
    ['Fast Open with a 2-byte cookie', '22040102', 34],
    ['Fast Open with a 17-byte cookie', '2213' + '11'.repeat(17), 34],
    ['experimental option without a full ExID', 'fe03aa', 254],
  ])('%s is kept byte-exact as an unknown option of its kind', (_why, hex, code) => {
    const b = hexToBytes(hex);
    const parsed = parseTcpOptions(b);
    expect(parsed).toEqual([{ kind: 'unknown', code, data: b.subarray(2) }]);
    expect(bytesToHex(emit(parsed))).toBe(hex);
  });
});

describe('TCP options: round trips', () => {
  test('every accepted byte string re-emits byte-exact; everything else is WireError(bad-option)', () => {
    // Bytes biased towards option kinds and small lengths, so that many strings are valid.
    const byte = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 10, 28, 34, 253, 254), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), (arr) => {
        const b = Uint8Array.from(arr);
        let parsed: TcpOption[];
        try {
          parsed = parseTcpOptions(b);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
          expect((e as WireError).code).toBe('bad-option');
          return;
        }
        expect(tcpOptionsLength(parsed)).toBe(b.length);
        expect(bytesToHex(emit(parsed))).toBe(bytesToHex(b));
      }),
      { numRuns: 3000 },
    );
  });

  test('valid option lists emit and parse back equal', () => {
    fc.assert(
      fc.property(arbOptionList(), (list) => {
        expect(parseTcpOptions(emit(list))).toEqual(list);
      }),
      { numRuns: 1000 },
    );
  });

  test('emitting into a dirty buffer writes exactly the option bytes and nothing else', () => {
    fc.assert(
      fc.property(arbOptionList(), fc.integer({ min: 0, max: 5 }), (list, off) => {
        const clean = emit(list);
        const dirty = new Uint8Array(off + clean.length + 2).fill(0xaa);
        expect(emitTcpOptions(list, dirty, off)).toBe(clean.length);
        expect(bytesToHex(dirty.subarray(off, off + clean.length))).toBe(bytesToHex(clean));
        expect(dirty[off + clean.length]).toBe(0xaa);
        if (off > 0) expect(dirty[off - 1]).toBe(0xaa);
      }),
    );
  });
});

describe('TCP options: lengths, padding and emit checks', () => {
  test('tcpOptionsLength counts each option as on the wire', () => {
    expect(tcpOptionsLength([])).toBe(0);
    expect(tcpOptionsLength([{ kind: 'nop' }, { kind: 'mss', mss: 1 }, { kind: 'wscale', shift: 7 }])).toBe(8);
    expect(tcpOptionsLength([{ kind: 'sack', blocks: [{ left: 1, right: 2 }, { left: 3, right: 4 }] }])).toBe(18);
    expect(tcpOptionsLength([{ kind: 'eol', padding: new Uint8Array(3) }])).toBe(4);
  });

  test('padTcpOptions pads to a multiple of 4 with EOL and zeros, extending a trailing EOL', () => {
    fc.assert(
      fc.property(arbOptionList(36), (list) => {
        const padded = padTcpOptions(list);
        const n = tcpOptionsLength(padded);
        expect(n % 4).toBe(0);
        expect(n - tcpOptionsLength(list)).toBeLessThan(4);
        expect(padded.slice(0, list.length - 1)).toEqual(list.slice(0, list.length - 1));
        if (n !== tcpOptionsLength(list)) {
          const tail = emit(padded).subarray(tcpOptionsLength(list));
          expect(Array.from(tail).every((x) => x === 0)).toBe(true);
        }
      }),
    );
    expect(padTcpOptions([{ kind: 'wscale', shift: 7 }])).toEqual([{ kind: 'wscale', shift: 7 }, { kind: 'eol', padding: new Uint8Array(0) }]);
    expect(padTcpOptions([{ kind: 'mss', mss: 1 }])).toEqual([{ kind: 'mss', mss: 1 }]);
  });

  test.each<[string, TcpOption, string]>([
    ['MSS above 65535', { kind: 'mss', mss: 70000 }, 'bad-field'],
    ['negative MSS', { kind: 'mss', mss: -1 }, 'bad-field'],
    ['window scale above 255', { kind: 'wscale', shift: 256 }, 'bad-field'],
    ['SACK with no block', { kind: 'sack', blocks: [] }, 'bad-option'],
    ['SACK with 5 blocks', { kind: 'sack', blocks: Array.from({ length: 5 }, () => ({ left: 0, right: 1 })) }, 'bad-option'],
    ['SACK edge above 2^32-1', { kind: 'sack', blocks: [{ left: 2 ** 32, right: 1 }] }, 'bad-field'],
    ['TSval as a fraction', { kind: 'timestamps', tsVal: 1.5, tsEcr: 0 }, 'bad-field'],
    ['user timeout above 15 bits', { kind: 'userTimeout', granularity: 'seconds', timeout: 0x8000 }, 'bad-field'],
    ['Fast Open cookie of 3 bytes', { kind: 'fastOpen', cookie: new Uint8Array(3) }, 'bad-option'],
    ['unknown option with kind NOP', { kind: 'unknown', code: 1, data: new Uint8Array(0) }, 'bad-option'],
    ['unknown option of 256 bytes', { kind: 'unknown', code: 99, data: new Uint8Array(254) }, 'too-large'],
  ])('emit refuses %s', (_why, option, code) => {
    const out = new Uint8Array(400);
    expect(wireErrorCode(() => emitTcpOptions([option], out, 0))).toBe(code);
  });

  test('emit refuses a buffer without room (truncated) and leaves it untouched', () => {
    const out = new Uint8Array(5).fill(0xaa);
    expect(wireErrorCode(() => emitTcpOptions([{ kind: 'timestamps', tsVal: 1, tsEcr: 2 }], out, 0))).toBe('truncated');
    expect(Array.from(out)).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
  });

  test('each single option round-trips through its own bytes', () => {
    fc.assert(fc.property(arbOption, (o) => expect(parseTcpOptions(emit([o]))).toEqual([o])), { numRuns: 500 });
  });
});
