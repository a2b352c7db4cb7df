import fc from 'fast-check';
import { describeTcpOption, parseTcpOptions, tcpFlagsToString, tcpOptionFromJson, tcpOptionToJson, TcpFlag } from '../../src/wire/index.js';
import { arbOption } from './arbitraries.js';
import { hexToBytes, wireErrorCode } from './helpers.js';

describe('human-readable options and flags', () => {
  test('describeTcpOption gives short trace strings', () => {
    const opts = parseTcpOptions(hexToBytes(
      '020405b4' + '030307' + '0402' + '080a0000007b00000000' + '050a000003e8000007d0' + '1c04001e' + '1c048005' +
      '2202' + '22060a0b0c0d' + 'fe081234aabbccdd' + 'c803ff' + '01' + '00000000',
    ));
    expect(opts.map(describeTcpOption)).toEqual([
      'mss 1460', 'ws 7', 'sackOK', 'ts 123/0', 'sack {1000:2000}', 'uto 30s', 'uto 5min', 'tfo cookie-request',
      'tfo cookie 0a0b0c0d', 'exp 254 exid 0x1234 (4 bytes)', 'opt 200 (1 bytes)', 'nop', 'eol +3 padding',
    ]);
    expect(describeTcpOption({ kind: 'eol', padding: new Uint8Array(0) })).toBe('eol');
  });

  test('tcpOptionToJson gives plain JSON with byte fields as hex', () => {
    const opts = parseTcpOptions(hexToBytes('020405b4' + '050a000003e8000007d0' + 'fd06beef0102' + '22060a0b0c0d' + '0000'));
    const json = opts.map(tcpOptionToJson);
    expect(JSON.parse(JSON.stringify(json))).toEqual([
      { kind: 'mss', mss: 1460 },
      { kind: 'sack', blocks: [{ left: 1000, right: 2000 }] },
      { kind: 'experimental', code: 253, exid: 0xbeef, data: '0102' },
      { kind: 'fastOpen', cookie: '0a0b0c0d' },
      { kind: 'eol', padding: '00' },
    ]);
  });

  test('tcpOptionFromJson inverts tcpOptionToJson through JSON text', () => {
    fc.assert(
      fc.property(arbOption, (o) => {
        expect(tcpOptionFromJson(JSON.parse(JSON.stringify(tcpOptionToJson(o))))).toEqual(o);
      }),
      { numRuns: 500 },
    );
  });

  test.each([
    ['not an object', 'mss'],
    ['an unknown kind', { kind: 'bogus' }],
    ['an MSS above 65535', { kind: 'mss', mss: 65536 }],
    ['odd-length hex', { kind: 'unknown', code: 99, data: 'abc' }],
    ['non-hex data', { kind: 'fastOpen', cookie: 'zz' }],
    ['five SACK blocks', { kind: 'sack', blocks: [1, 2, 3, 4, 5].map(() => ({ left: 0, right: 1 })) }],
    ['experimental code 200', { kind: 'experimental', code: 200, exid: 1, data: '' }],
  ])('tcpOptionFromJson refuses %s with bad-option', (_why, j) => {
    expect(wireErrorCode(() => tcpOptionFromJson(j))).toBe('bad-option');
  });

  test.each([
    [TcpFlag.SYN, 'S'],
    [TcpFlag.SYN | TcpFlag.ACK, 'SA'],
    [TcpFlag.FIN | TcpFlag.ACK, 'FA'],
    [TcpFlag.PSH | TcpFlag.ACK, 'PA'],
    [TcpFlag.RST, 'R'],
    [TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR, 'SEC'],
    [0xff, 'FSRPAUEC'],
    [0, '-'],
  ])('tcpFlagsToString(0x%s) is %s', (flags, text) => {
    expect(tcpFlagsToString(flags)).toBe(text);
  });
});
