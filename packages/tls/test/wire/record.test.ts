import { nodeCrypto } from '../../src/crypto/node.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import { RecordProtection, RecordReader, padToMultiple } from '../../src/record/protection.js';
import { toHex } from '../../src/wire/codec.js';
import { CipherSuites } from '../../src/wire/constants.js';

const keys = { key: new Uint8Array(16).fill(3), iv: Uint8Array.from({ length: 12 }, (_, i) => i * 17) };
const suite = CipherSuites.TLS_AES_128_GCM_SHA256;

describe('record protection', () => {
  test('nonce = IV XOR (connectionId << 64 | seq) (RFC 8446 5.3, draft-piraux-tcpls)', () => {
    const p = new RecordProtection(nodeCrypto, suite, keys);
    expect(toHex(p.nonce(0n))).toBe(toHex(keys.iv));
    p.connectionId = 0x01020304;
    const n = p.nonce(0x0a0b0c0d0e0f1011n);
    const want = keys.iv.slice();
    [1, 2, 3, 4].forEach((b, i) => (want[i] ^= b));
    [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11].forEach((b, i) => (want[4 + i] ^= b));
    expect(toHex(n)).toBe(toHex(want));
    p.connectionId = 0xffffffff;
    expect(p.nonce(0n)[0]).toBe(keys.iv[0] ^ 0xff);
  });

  test.each(Object.values(CipherSuites))('%s: sealed with node, opened with noble (and back), with a settable sequence number', (s) => {
    const k = { key: new Uint8Array(s.keyLength).fill(5), iv: new Uint8Array(12).fill(6) };
    const a = new RecordProtection(nodeCrypto, s, k);
    const b = new RecordProtection(nobleCrypto, s, k);
    a.sequenceNumber = 41n;
    b.sequenceNumber = 41n;
    const rec = a.seal(23, new TextEncoder().encode('hi'));
    const r = b.open(rec.subarray(0, 5), rec.subarray(5));
    expect(new TextDecoder().decode(r.content)).toBe('hi');
    expect(b.sequenceNumber).toBe(42n);
    const back = b.seal(22, new Uint8Array([1, 2, 3]));
    expect(Array.from(a.open(back.subarray(0, 5), back.subarray(5)).content)).toEqual([1, 2, 3]);
    // Wrong sequence number: authentication fails, the sequence does not advance.
    const c = new RecordProtection(nobleCrypto, s, k);
    expect(() => c.open(rec.subarray(0, 5), rec.subarray(5))).toThrow(expect.objectContaining({ code: 'bad-record-mac' }));
    expect(c.sequenceNumber).toBe(0n);
  });

  test('padding policy pads records; padding is stripped on open; limit respected', () => {
    const a = new RecordProtection(nodeCrypto, suite, keys);
    const b = new RecordProtection(nodeCrypto, suite, keys);
    a.padding = padToMultiple(64);
    const rec = a.seal(23, new Uint8Array(10).fill(1));
    expect(rec.length - 5 - 16).toBe(64);
    expect(b.open(rec.subarray(0, 5), rec.subarray(5)).content.length).toBe(10);
    a.maxPlaintext = 100;
    const rec2 = a.seal(23, new Uint8Array(90));
    expect(rec2.length - 5 - 16).toBeLessThanOrEqual(101);
  });

  test('RecordReader reassembles records split anywhere and refuses oversized headers', () => {
    const a = new RecordProtection(nodeCrypto, suite, keys);
    const all = new Uint8Array([...a.seal(23, new Uint8Array(100)), ...a.seal(23, new Uint8Array(5))]);
    const rr = new RecordReader();
    const got: number[] = [];
    for (let i = 0; i < all.length; i += 7) {
      rr.push(all.subarray(i, i + 7));
      for (let r = rr.next(); r; r = rr.next()) got.push(r.fragment.length);
    }
    expect(got).toEqual([100 + 1 + 16, 5 + 1 + 16]);
    const bad = new RecordReader();
    bad.push(new Uint8Array([23, 3, 3, 0x41, 0x01]));
    expect(() => bad.next()).toThrow(expect.objectContaining({ code: 'record-overflow' }));
  });
});
