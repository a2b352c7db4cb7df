/**
 * Hostile input: each case ends with the RFC 8446 alert (6.2), never a crash, a hang or unbounded
 * buffering.
 */
import fc from 'fast-check';
import { nodeCrypto } from '../../src/crypto/node.js';
import { TlsClient } from '../../src/engine/client.js';
import type { TlsEvent } from '../../src/engine/connection.js';
import { KeySchedule } from '../../src/engine/keyschedule.js';
import { TlsServer } from '../../src/engine/server.js';
import { AlertDescription as A } from '../../src/errors.js';
import { identity } from '../support/pki.js';
import { drain, pump, rnd } from '../support/pair.js';

const NOW = Date.now() + 60_000;

function server(): TlsServer {
  const id = identity('ec');
  return new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key });
}
function client(extra: Partial<ConstructorParameters<typeof TlsClient>[0]> = {}): TlsClient {
  return new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: null, ...extra });
}
function record(type: number, body: Uint8Array): Uint8Array {
  const r = new Uint8Array(5 + body.length);
  r.set([type, 3, 3, body.length >> 8, body.length & 0xff]);
  r.set(body, 5);
  return r;
}
function handshake(type: number, body: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + body.length);
  h.set([type, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]);
  h.set(body, 4);
  return h;
}
/** The alert an engine sent, from its error event. */
function alertOf(evs: TlsEvent[]): number | null | undefined {
  const e = evs.find((x) => x.type === 'error');
  return e && e.type === 'error' ? e.alertSent : undefined;
}
/** The first ClientHello record a fresh client sends, split into parts for editing. */
function clientHello(extra: Partial<ConstructorParameters<typeof TlsClient>[0]> = {}): Uint8Array {
  const c = client(extra);
  c.start(NOW);
  return c.pollOutput()!;
}

describe('bad input ends with the right alert', () => {
  test('truncated ClientHello (lengths made consistent): decode_error, plaintext alert on the wire', () => {
    const ch = clientHello().subarray(5);
    const cut = handshake(1, ch.subarray(4, ch.length - 10));
    const s = server();
    s.receive(record(22, cut), NOW);
    expect(alertOf(drain(s))).toBe(A.decodeError);
    expect(Array.from(s.pollOutput()!)).toEqual([21, 3, 3, 0, 2, 2, A.decodeError]);
  });

  test('record longer than 2^14+256: record_overflow before buffering it', () => {
    const s = server();
    const len = 16384 + 257;
    s.receive(new Uint8Array([22, 3, 3, len >> 8, len & 0xff]), NOW);
    expect(alertOf(drain(s))).toBe(A.recordOverflow);
  });

  test('plaintext record longer than 2^14: record_overflow', () => {
    const s = server();
    s.receive(record(22, new Uint8Array(16385)), NOW);
    expect(alertOf(drain(s))).toBe(A.recordOverflow);
  });

  test('handshake message announcing more than the configured maximum: decode_error at once', () => {
    const s = server();
    s.receive(record(22, new Uint8Array([1, 0x01, 0x00, 0x01])), NOW); // 65537 bytes announced
    expect(alertOf(drain(s))).toBe(A.decodeError);
  });

  test('reordered: a Finished before the ClientHello is unexpected_message', () => {
    const s = server();
    s.receive(record(22, handshake(20, new Uint8Array(32))), NOW);
    expect(alertOf(drain(s))).toBe(A.unexpectedMessage);
  });

  test('reordered: the client gets EncryptedExtensions before ServerHello: unexpected_message', () => {
    const c = client();
    c.start(NOW);
    c.pollOutput();
    c.receive(record(22, handshake(8, new Uint8Array([0, 0]))), NOW);
    expect(alertOf(drain(c))).toBe(A.unexpectedMessage);
  });

  test('duplicated extension in ClientHello: illegal_parameter', () => {
    // A custom extension using the supported_groups codepoint duplicates that extension.
    const rec = clientHello({ customExtensions: [{ type: 10, clientHello: () => new Uint8Array([0, 2, 0, 0x1d]) }] });
    const s = server();
    s.receive(rec, NOW);
    expect(alertOf(drain(s))).toBe(A.illegalParameter);
  });

  test('bad server Finished: the client answers decrypt_error', () => {
    const real = KeySchedule.prototype.finishedVerifyData;
    let calls = 0;
    const spy = jest.spyOn(KeySchedule.prototype, 'finishedVerifyData').mockImplementation(function (this: KeySchedule, k, h) {
      const v = real.call(this, k, h);
      // The server's own Finished is the first one computed in this handshake: corrupt it.
      if (calls++ === 0) v[0] ^= 1;
      return v;
    });
    try {
      const c = client();
      const s = server();
      c.start(NOW);
      const ev = pump(c, s, NOW);
      expect(alertOf(ev.a)).toBe(A.decryptError);
      expect(ev.b.find((e) => e.type === 'error')).toMatchObject({ error: { code: 'alert-received', alert: A.decryptError } });
      expect(c.isHandshakeComplete).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  test('tampered encrypted record: bad_record_mac', () => {
    const c = client();
    const s = server();
    c.start(NOW);
    s.receive(c.pollOutput()!, NOW);
    const flight = s.pollOutput()!;
    flight[flight.length - 3] ^= 0x40;
    c.receive(flight, NOW);
    expect(alertOf(drain(c))).toBe(A.badRecordMac);
  });

  test('unknown record content type: unexpected_message', () => {
    const s = server();
    s.receive(record(99, new Uint8Array(3)), NOW);
    expect(alertOf(drain(s))).toBe(A.unexpectedMessage);
  });

  test('alert record of the wrong length: decode_error', () => {
    const s = server();
    s.receive(record(21, new Uint8Array([2, 40, 0])), NOW);
    expect(alertOf(drain(s))).toBe(A.decodeError);
  });

  test('a second HelloRetryRequest is unexpected_message', () => {
    const c = client({ groups: ['x25519', 'secp256r1'] });
    const s = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: identity('ec').chain, privateKey: identity('ec').key, groups: ['secp256r1'] });
    c.start(NOW);
    s.receive(c.pollOutput()!, NOW);
    const hrr = s.pollOutput()!;
    c.receive(hrr, NOW);
    drain(c);
    c.pollOutput();
    // Feed the same HRR again (without its CCS record).
    const hrrRecord = hrr.subarray(0, 5 + ((hrr[3] << 8) | hrr[4]));
    c.receive(hrrRecord, NOW);
    expect(alertOf(drain(c))).toBe(A.unexpectedMessage);
  });

  test('change_cipher_spec after the handshake: unexpected_message', () => {
    const c = client();
    const s = server();
    c.start(NOW);
    pump(c, s, NOW);
    s.receive(record(20, new Uint8Array([1])), NOW);
    expect(alertOf(drain(s))).toBe(A.unexpectedMessage);
  });

  test('a protected record over our record_size_limit: record_overflow', () => {
    const c = client({ recordSizeLimit: 256 });
    const s = server();
    c.start(NOW);
    pump(c, s, NOW);
    // A misbehaving server that ignores the limit.
    s.recordProtection.write!.maxPlaintext = 16384;
    s.write(new Uint8Array(1000));
    c.receive(s.pollOutput()!, NOW);
    expect(alertOf(drain(c))).toBe(A.recordOverflow);
  });

  test('random garbage never throws, and buffering stays bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), (chunks) => {
        const s = server();
        for (const ch of chunks) s.receive(ch, NOW);
        const evs = drain(s);
        // Either waiting for more bytes (bounded by one maximal record) or failed with an alert.
        const buffered = chunks.reduce((n, c) => n + c.length, 0);
        if (!evs.some((e) => e.type === 'error')) expect(buffered).toBeLessThanOrEqual(5 + 16384 + 256 + 65536);
        return true;
      }),
      { numRuns: 200 },
    );
  });
});
