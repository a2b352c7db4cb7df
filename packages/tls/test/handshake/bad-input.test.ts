/**
 * Hostile input: each case ends with the RFC 8446 alert (6.2), never a crash, a hang or unbounded
 * buffering.
 */
import fc from 'fast-check';
import { nodeCrypto } from '../../src/crypto/node.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { KeySchedule } from '../../src/handshake/keyschedule.js';
import { TlsServer } from '../../src/handshake/server.js';
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

/**
 * The bad-input table: bytes a fresh server receives first, and the alert RFC 8446 prescribes
 * (section in the name). Cases that need a handshake in progress follow as separate tests.
 */
const TABLE: [string, () => Uint8Array, number][] = [
  ['truncated ClientHello, lengths consistent (4.1.2: decode_error)', () => {
    const ch = clientHello().subarray(5);
    return record(22, handshake(1, ch.subarray(4, ch.length - 10)));
  }, A.decodeError],
  ['record header announcing 2^14+257 bytes (5.2: record_overflow, before buffering)', () => new Uint8Array([22, 3, 3, (16384 + 257) >> 8, (16384 + 257) & 0xff]), A.recordOverflow],
  ['plaintext record of 2^14+1 bytes (5.1: record_overflow)', () => record(22, new Uint8Array(16385)), A.recordOverflow],
  ['handshake message announcing 65537 bytes, over the bound (decode_error at once; our choice)', () => record(22, new Uint8Array([1, 0x01, 0x00, 0x01])), A.decodeError],
  ['handshake message announcing 2^24-1 bytes (decode_error at once)', () => record(22, new Uint8Array([1, 0xff, 0xff, 0xff])), A.decodeError],
  ['reordered: Finished before ClientHello (6.2: unexpected_message)', () => record(22, handshake(20, new Uint8Array(32))), A.unexpectedMessage],
  ['reordered: a well-formed ServerHello sent to a server (unexpected_message)', () => {
    const body = new Uint8Array(40); // legacy_version 0x0303, random, empty session id, suite 0x1301, null compression, no extensions
    body.set([3, 3], 0);
    body.set([0, 0x13, 0x01, 0, 0, 0], 34);
    return record(22, handshake(2, body));
  }, A.unexpectedMessage],
  ['duplicated extension in ClientHello (4.2: illegal_parameter)', () => clientHello({ customExtensions: [{ type: 10, clientHello: () => new Uint8Array([0, 2, 0, 0x1d]) }] }), A.illegalParameter],
  ['unknown record content type 99 (5: unexpected_message)', () => record(99, new Uint8Array(3)), A.unexpectedMessage],
  ['alert record of 3 bytes (decode_error)', () => record(21, new Uint8Array([2, 40, 0])), A.decodeError],
  ['zero-length handshake record (5.1: unexpected_message)', () => record(22, new Uint8Array(0)), A.unexpectedMessage],
  ['application data before any key (5.1: unexpected_message)', () => record(23, new Uint8Array(20)), A.unexpectedMessage],
  ['change_cipher_spec before ClientHello (5, D.4: unexpected_message)', () => record(20, new Uint8Array([1])), A.unexpectedMessage],
  ['record version not 3.x (5.1: decode_error)', () => new Uint8Array([22, 2, 0, 0, 4, 1, 0, 0, 0]), A.decodeError],
  ['ClientHello without supported_versions: not TLS 1.3 (4.2.1: protocol_version)', () => clientHello({ editClientHelloExtensions: (e) => e.filter((x) => x.type !== 43) }), A.protocolVersion],
  ['ClientHello without key_share (9.2: missing_extension)', () => clientHello({ editClientHelloExtensions: (e) => e.filter((x) => x.type !== 51) }), A.missingExtension],
];

describe('bad-input table: what a fresh server is sent, and the alert it answers with', () => {
  test.each(TABLE)('%s', (_name, input, alert) => {
    const s = server();
    s.receive(input(), NOW);
    expect(alertOf(drain(s))).toBe(alert);
    expect(s.isClosed).toBe(true);
    // The alert goes out as a plaintext record: 21, 3, 3, 0, 2, level 2, description.
    expect(Array.from(s.pollOutput()!)).toEqual([21, 3, 3, 0, 2, 2, alert]);
  });
});

describe('bad input ends with the right alert', () => {
  test('reordered: the client gets EncryptedExtensions before ServerHello: unexpected_message', () => {
    const c = client();
    c.start(NOW);
    c.pollOutput();
    c.receive(record(22, handshake(8, new Uint8Array([0, 0]))), NOW);
    expect(alertOf(drain(c))).toBe(A.unexpectedMessage);
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
