import fc from 'fast-check';
import { TlsError } from '../../src/errors.js';
import { Reader, Writer, fromHex, toHex } from '../../src/wire/codec.js';
import { HandshakeType } from '../../src/wire/constants.js';
import { decodeHandshakeBody, encodeHandshake, ext, type HandshakeMessage } from '../../src/wire/handshake.js';

const decodeRaw = (raw: Uint8Array) => decodeHandshakeBody(raw[0], raw.subarray(4));

describe('codec: exact decoding', () => {
  test('Reader refuses to read past the end (decode_error) and leftover bytes (end())', () => {
    const r = new Reader(new Uint8Array([0, 5, 1, 2]));
    expect(() => r.vec(2)).toThrow(TlsError);
    const r2 = new Reader(new Uint8Array([1, 2, 3]));
    r2.u8();
    expect(() => r2.end()).toThrow(/leftover/);
  });
  test('Writer patches block lengths, including 3-byte ones', () => {
    const w = new Writer(1);
    w.block(3, (b) => b.block(2, (c) => c.bytes(new Uint8Array(300))));
    const out = w.finish();
    expect(toHex(out.subarray(0, 5))).toBe('00012e012c');
    expect(out.length).toBe(305);
  });
});

describe('handshake messages: golden bytes and round trips', () => {
  test('KeyUpdate golden bytes; value 2 is illegal_parameter; extra byte is decode_error', () => {
    expect(toHex(encodeHandshake({ type: HandshakeType.keyUpdate, body: { requestUpdate: true } }))).toBe('1800000101');
    expect(() => decodeRaw(fromHex('1800000102'))).toThrow(expect.objectContaining({ code: 'illegal-parameter' }));
    expect(() => decodeHandshakeBody(24, fromHex('0100'))).toThrow(expect.objectContaining({ code: 'decode-error' }));
  });
  test('RFC 8448 ServerHello decodes and re-encodes to the same bytes', () => {
    const sh = fromHex('020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304');
    const m = decodeRaw(sh);
    expect(m.type).toBe(HandshakeType.serverHello);
    expect(toHex(encodeHandshake(m))).toBe(toHex(sh));
  });
  test('EncryptedExtensions: a duplicated extension is illegal_parameter, a short block decode_error', () => {
    // extensions<0..2^16-1> holding server_name (type 0, empty) twice.
    expect(() => decodeHandshakeBody(8, fromHex('0008' + '00000000' + '00000000'))).toThrow(expect.objectContaining({ code: 'illegal-parameter' }));
    expect(() => decodeHandshakeBody(8, fromHex('0008' + '00000000'))).toThrow(expect.objectContaining({ code: 'decode-error' }));
  });
  test('round trip: Certificate, CertificateVerify, NewSessionTicket, EncryptedExtensions', () => {
    const bytes = fc.uint8Array({ minLength: 1, maxLength: 64 });
    const exts = fc.uniqueArray(fc.record({ type: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 20 }) }), { selector: (e) => e.type, maxLength: 5 });
    fc.assert(
      fc.property(bytes, bytes, exts, fc.integer({ min: 0, max: 0xffffffff }), (a, b, e, n) => {
        const msgs: HandshakeMessage[] = [
          { type: HandshakeType.certificate, body: { context: new Uint8Array(0), entries: [{ data: a, extensions: e }, { data: b, extensions: [] }] } },
          { type: HandshakeType.certificateVerify, body: { scheme: 0x0804, signature: a } },
          { type: HandshakeType.newSessionTicket, body: { lifetime: n, ageAdd: n, nonce: b, ticket: a, extensions: e } },
          { type: HandshakeType.encryptedExtensions, body: e },
        ];
        for (const m of msgs) {
          const raw = encodeHandshake(m);
          expect(toHex(encodeHandshake(decodeRaw(raw)))).toBe(toHex(raw));
          // Any truncation of the body is a decode error, never a crash.
          for (const cut of [1, 2, 5]) {
            if (raw.length - 4 - cut < 0) continue;
            try {
              decodeHandshakeBody(raw[0], raw.subarray(4, raw.length - cut));
            } catch (err) {
              expect(err).toBeInstanceOf(TlsError);
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });
  test('extension bodies: ALPN, SNI, key_share, record_size_limit', () => {
    expect(ext.decodeAlpn(ext.encodeAlpn(['h2', 'http/1.1']))).toEqual(['h2', 'http/1.1']);
    expect(ext.decodeServerName(ext.encodeServerName('example.com'))).toBe('example.com');
    const ks = [{ group: 0x1d, keyExchange: new Uint8Array(32).fill(1) }];
    expect(ext.decodeKeyShareCH(ext.encodeKeyShareCH(ks))).toEqual(ks);
    expect(() => ext.decodeKeyShareCH(ext.encodeKeyShareCH([...ks, ...ks]))).toThrow(expect.objectContaining({ code: 'illegal-parameter' }));
    expect(() => ext.decodeRecordSizeLimit(ext.encodeRecordSizeLimit(63))).toThrow(expect.objectContaining({ code: 'illegal-parameter' }));
    expect(() => ext.decodeAlpn(fromHex('0000'))).toThrow(expect.objectContaining({ code: 'decode-error' }));
  });
});
