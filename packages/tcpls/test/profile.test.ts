import fc from 'fast-check';
import { frameArb } from './arbitraries.js';
import {
  type Frame,
  TcplsError,
  draftProfile,
  makeDraftProfile,
  decodeTcplsExtension,
  decodeTokenExtension,
  encodeTokenExtension,
  encodeTcplsExtension,
} from '../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const token = Uint8Array.from({ length: 32 }, (_, i) => i + 0xa0);

/** Golden encodings, written by hand from docs/wire-format.md §3 (type byte last). */
const golden: [string, Frame, string][] = [
  ['Padding x3', { type: 'padding', length: 3 }, '000000'],
  ['Ping', { type: 'ping' }, '01'],
  [
    'Stream',
    { type: 'stream', streamId: 4, offset: 0x0102030405n, data: hex('aabbcc'), fin: false },
    'aabbcc 0003 0000000102030405 00000004 02',
  ],
  ['Stream+FIN (empty)', { type: 'stream', streamId: 7, offset: 10n, data: new Uint8Array(0), fin: true }, '0000 000000000000000a 00000007 03'],
  ['ACK', { type: 'ack', connectionId: 2, highestSeq: 0x1122334455667788n }, '1122334455667788 00000002 04'],
  ['New Token', { type: 'new-token', sequence: 3, token }, `${toHex(token)} 03 05`],
  ['Connection Reset', { type: 'connection-reset', connectionId: 0xdeadbeef }, 'deadbeef 06'],
  [
    'New Address v4',
    { type: 'new-address', addressId: 9, version: 4, address: hex('0a000001'), port: 443 },
    '01bb 0a000001 04 09 07',
  ],
  [
    'New Address v6',
    { type: 'new-address', addressId: 1, version: 6, address: hex('fd000000000000000000000000000001'), port: 8443 },
    '20fb fd000000000000000000000000000001 06 01 07',
  ],
  ['Remove Address', { type: 'remove-address', addressId: 5 }, '05 08'],
  ['Stream Change', { type: 'stream-change', streamId: 6, offset: 256n }, '00000006 0000000000000100 09'],
  [
    'TCP Options Report (sent only)',
    {
      type: 'tcp-options-report',
      connectionId: 0,
      sent: { flags: 0x02, seq: 0x01020304, window: 65535, ipEcn: 0, options: hex('020405b4 0402 0103 0307') },
      received: null,
    },
    // body: conn 00000000, present 01, flags 02, seq 01020304, window ffff, ecn 00, optlen 0a, options
    '00000000 01 02 01020304 ffff 00 0a 020405b404020103 0307 0018 0a',
  ],
  [
    'TCP Options Apply: user timeout 30 s',
    { type: 'tcp-options-apply', requestId: 1, connectionId: 0, setting: { kind: 'userTimeout', granularity: 'seconds', timeout: 30 } },
    '00000001 00000000 01 001e 000b 0b',
  ],
  [
    'TCP Options Apply: user timeout 2 min',
    { type: 'tcp-options-apply', requestId: 2, connectionId: 1, setting: { kind: 'userTimeout', granularity: 'minutes', timeout: 2 } },
    '00000002 00000001 01 8002 000b 0b',
  ],
  [
    'TCP Options Apply: congestion controller',
    { type: 'tcp-options-apply', requestId: 3, connectionId: 0, setting: { kind: 'congestionControl', name: 'cubic', params: { beta: 0.5 } } },
    // name len 05 "cubic", 1 param, key len 04 "beta", 0.5 as binary64
    '00000003 00000000 02 05 6375626963 01 04 62657461 3fe0000000000000 001d 0b',
  ],
  ['Apply Ack', { type: 'apply-ack', requestId: 0x01000000 }, '01000000 0c'],
  ['Apply Refuse', { type: 'apply-refuse', requestId: 7, reason: 2 }, '00000007 02 0d'],
  ['Max Stream Data', { type: 'max-stream-data', streamId: 3, maxOffset: 131072n }, '0000000000020000 00000003 0e'],
];

describe('draftProfile frame codec: golden bytes', () => {
  for (const [name, frame, bytes] of golden) {
    test(`${name} encodes to the documented bytes and decodes back`, () => {
      const enc = draftProfile.encodeFrames([frame]);
      expect(toHex(enc)).toBe(toHex(hex(bytes)));
      expect(draftProfile.frameSize(frame)).toBe(enc.length);
      expect(draftProfile.decodeFrames(enc)).toEqual([frame]);
    });
  }

  test('several frames in one record come back in record order, parsed from the end', () => {
    const frames: Frame[] = [
      { type: 'ping' },
      { type: 'stream', streamId: 0, offset: 0n, data: hex('0000000102'), fin: false }, // data that looks like frames
      { type: 'ack', connectionId: 0, highestSeq: 5n },
      { type: 'padding', length: 2 },
    ];
    const rec = draftProfile.encodeFrames(frames);
    expect(draftProfile.decodeFrames(rec)).toEqual(frames);
  });

  test('decoded stream data is a view into the record (zero-copy)', () => {
    const rec = draftProfile.encodeFrames([{ type: 'stream', streamId: 0, offset: 0n, data: hex('010203'), fin: false }]);
    const [f] = draftProfile.decodeFrames(rec);
    expect(f.type === 'stream' && f.data.buffer).toBe(rec.buffer);
  });

  test('decoding honours byteOffset of a view inside a larger buffer', () => {
    const rec = draftProfile.encodeFrames([{ type: 'ack', connectionId: 3, highestSeq: 9n }]);
    const big = new Uint8Array(rec.length + 7);
    big.fill(0xee);
    big.set(rec, 5);
    expect(draftProfile.decodeFrames(big.subarray(5, 5 + rec.length))).toEqual([{ type: 'ack', connectionId: 3, highestSeq: 9n }]);
  });

  test('codepoints are configurable: a profile with other frame types decodes its own records only', () => {
    const p = makeDraftProfile({ frameTypes: { tcpOptionsReport: 0x40, ping: 0x41 } });
    const rec = p.encodeFrames([{ type: 'ping' }]);
    expect(toHex(rec)).toBe('41');
    expect(p.decodeFrames(rec)).toEqual([{ type: 'ping' }]);
    expect(() => draftProfile.decodeFrames(rec)).toThrow(expect.objectContaining({ code: 'unknown-frame' }));
  });

  test('a profile with two frames on one codepoint is rejected', () => {
    expect(() => makeDraftProfile({ frameTypes: { ping: 0x00 } })).toThrow(TcplsError);
  });
});

// ------------------------------------------------------------------ property tests

describe('draftProfile frame codec: round trips (fast-check)', () => {
  test('decode(encode(frames)) == frames for any list of non-padding frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), (frames) => {
        const rec = draftProfile.encodeFrames(frames);
        const back = draftProfile.decodeFrames(rec);
        expect(back).toEqual(frames);
        expect(draftProfile.encodeFrames(back)).toEqual(rec);
      }),
      { numRuns: 300 },
    );
  });

  test('decoding random bytes never throws anything but a TcplsError, and never hangs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          draftProfile.decodeFrames(junk);
        } catch (e) {
          expect(e).toBeInstanceOf(TcplsError);
          expect((e as TcplsError).alert).toBeDefined();
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('every truncation (prefix cut) of a valid record is rejected or decodes to a frame list', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 4 }), fc.nat(), (frames, cut) => {
        const rec = draftProfile.encodeFrames(frames);
        const start = 1 + (cut % rec.length);
        try {
          draftProfile.decodeFrames(rec.subarray(start));
        } catch (e) {
          expect(e).toBeInstanceOf(TcplsError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------ malformed input

const malformed: [string, Uint8Array, string, string][] = [
  ['unknown type byte', hex('7f'), 'unknown-frame', 'unexpected_message'],
  ['stream header runs past the record start', hex('0000000102'), 'frame-encoding', 'decode_error'],
  ['stream length past the record start', hex('aa 0005 0000000000000000 00000000 02'), 'frame-encoding', 'decode_error'],
  ['stream of length 0 without FIN', hex('0000 0000000000000000 00000000 02'), 'frame-encoding', 'decode_error'],
  ['ACK truncated', hex('0000000000000001 04'), 'frame-encoding', 'decode_error'],
  ['New Token truncated', hex('00'.repeat(31) + '01 05'), 'frame-encoding', 'decode_error'],
  ['New Address with version 5', hex('01bb 0a000001 05 09 07'), 'frame-encoding', 'decode_error'],
  ['New Address v6 with a v4-sized address', hex('01bb 0a000001 06 09 07'), 'frame-encoding', 'decode_error'],
  ['report body length past the record start', hex('00 0040 0a'), 'frame-encoding', 'decode_error'],
  ['report with trailing bytes in its body', hex('00000000 00 ff 0006 0a'), 'frame-encoding', 'decode_error'],
  ['report with reserved presence bits', hex('00000000 04 0005 0a'), 'frame-encoding', 'decode_error'],
  ['report with more than 40 option bytes', hex('00000000 01 02 00000000 0000 00 29' + '01'.repeat(41) + ' 0037 0a'), 'frame-encoding', 'decode_error'],
  ['report with option length running past the option space', hex('00000000 01 02 00000000 0000 00 02 0205 0010 0a'), 'frame-encoding', 'decode_error'],
  ['report with ECN reserved bits', hex('00000000 01 02 00000000 0000 04 00 000e 0a'), 'frame-encoding', 'decode_error'],
  ['apply with user timeout 0', hex('00000001 00000000 01 0000 000b 0b'), 'frame-encoding', 'decode_error'],
  ['apply with user timeout field truncated', hex('00000001 00000000 01 00 000a 0b'), 'frame-encoding', 'decode_error'],
  ['apply with upper-case controller name', hex('00000001 00000000 02 02 4142 00 000d 0b'), 'frame-encoding', 'decode_error'],
  ['apply with 17 parameters', hex('00000001 00000000 02 01 61 11 000c 0b'), 'frame-encoding', 'decode_error'],
  ['apply with a NaN parameter', hex('00000001 00000000 02 01 61 01 01 62 7ff8000000000000 0016 0b'), 'frame-encoding', 'decode_error'],
  [
    'apply with a duplicate parameter key',
    hex('00000001 00000000 02 01 61 02 01 62 3ff0000000000000 01 62 3ff0000000000000 0020 0b'),
    'frame-encoding',
    'decode_error',
  ],
  ['Apply Refuse truncated', hex('000007 02 0d'), 'frame-encoding', 'decode_error'],
  ['record longer than 2^14 bytes', new Uint8Array(16385).fill(1), 'record-overflow', 'record_overflow'],
  ['1025 Ping frames in one record', new Uint8Array(1025).fill(1), 'too-many-frames', 'decode_error'],
];

describe('draftProfile frame codec: malformed records', () => {
  for (const [name, rec, code, alert] of malformed) {
    test(`${name} → ${code} (${alert})`, () => {
      let err: unknown;
      try {
        draftProfile.decodeFrames(rec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TcplsError);
      expect((err as TcplsError).code).toBe(code);
      expect((err as TcplsError).alert).toBe(alert);
    });
  }

  test('16384 bytes of Padding decode as one Padding frame (not counted against the frame bound)', () => {
    expect(draftProfile.decodeFrames(new Uint8Array(16384))).toEqual([{ type: 'padding', length: 16384 }]);
  });

  test('an apply with an unknown setting kind is kept (to be refused), not rejected', () => {
    expect(draftProfile.decodeFrames(hex('00000001 00000000 09 abcd 000b 0b'))).toEqual([
      { type: 'tcp-options-apply', requestId: 1, connectionId: 0, setting: { kind: 'unknown', code: 9, data: hex('abcd') } },
    ]);
  });

  test('encoding refuses values that do not fit their fields (api-misuse, nothing sent)', () => {
    const bad: Frame[] = [
      { type: 'stream', streamId: -1, offset: 0n, data: hex('00'), fin: false },
      { type: 'stream', streamId: 0, offset: 1n << 64n, data: hex('00'), fin: false },
      { type: 'stream', streamId: 0, offset: 0n, data: new Uint8Array(0), fin: false },
      { type: 'new-token', sequence: 0, token },
      { type: 'new-token', sequence: 1, token: token.subarray(1) },
      { type: 'new-address', addressId: 0, version: 4, address: new Uint8Array(16), port: 1 },
      { type: 'tcp-options-apply', requestId: 1, connectionId: 0, setting: { kind: 'userTimeout', granularity: 'seconds', timeout: 0 } },
      { type: 'tcp-options-apply', requestId: 1, connectionId: 0, setting: { kind: 'congestionControl', name: 'Bad Name', params: {} } },
      { type: 'tcp-options-apply', requestId: 1, connectionId: 0, setting: { kind: 'congestionControl', name: 'x', params: { a: Infinity } } },
    ];
    for (const f of bad) expect(() => draftProfile.encodeFrames([f])).toThrow(expect.objectContaining({ code: 'api-misuse' }));
  });
});

describe('TLS extensions (docs/wire-format.md §1)', () => {
  test('tcpls is empty; data in it is a decode error', () => {
    expect(encodeTcplsExtension()).toEqual(new Uint8Array(0));
    expect(() => decodeTcplsExtension(new Uint8Array(0))).not.toThrow();
    expect(() => decodeTcplsExtension(hex('00'))).toThrow(expect.objectContaining({ code: 'bad-extension', alert: 'decode_error' }));
  });
  test('tokens are exactly 32 bytes, without a length prefix', () => {
    expect(encodeTokenExtension(token)).toEqual(token);
    expect(decodeTokenExtension(token)).toEqual(token);
    expect(() => decodeTokenExtension(new Uint8Array([32, ...token]))).toThrow(expect.objectContaining({ code: 'bad-extension' }));
    expect(() => decodeTokenExtension(token.subarray(0, 31))).toThrow(expect.objectContaining({ code: 'bad-extension' }));
  });
  test('default codepoints sit in the private-use range and avoid renegotiation_info', () => {
    const e = draftProfile.extensions;
    for (const v of [e.tcpls, e.tcplsJoin, e.tcplsToken]) {
      expect(v).toBeGreaterThanOrEqual(0xff00);
      expect(v).not.toBe(0xff01);
    }
  });
});
