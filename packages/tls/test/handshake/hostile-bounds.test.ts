/**
 * Hostile floods: input that never ends or repeats forever must keep memory bounded and must not
 * amplify into unbounded output. Each row says what is fed and what must hold afterwards.
 */
import { nodeCrypto } from '../../src/crypto/node.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { TlsServer } from '../../src/handshake/server.js';
import { AlertDescription as A } from '../../src/errors.js';
import { identity } from '../support/pki.js';
import { drain, pump, rnd } from '../support/pair.js';

const NOW = Date.now() + 60_000;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function server(extra: Partial<ConstructorParameters<typeof TlsServer>[0]> = {}): TlsServer {
  const id = identity('ec');
  return new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key, ...extra });
}
function client(): TlsClient {
  return new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: null });
}
function connected(): { c: TlsClient; s: TlsServer } {
  const c = client();
  const s = server();
  c.start(NOW);
  pump(c, s, NOW);
  expect(c.isHandshakeComplete && s.isHandshakeComplete).toBe(true);
  return { c, s };
}
function record(type: number, body: Uint8Array): Uint8Array {
  const r = new Uint8Array(5 + body.length);
  r.set([type, 3, 3, body.length >> 8, body.length & 0xff]);
  r.set(body, 5);
  return r;
}
const alertOf = (evs: TlsEvent[]) => {
  const e = evs.find((x) => x.type === 'error');
  return e && e.type === 'error' ? e.alertSent : undefined;
};
const text = (evs: TlsEvent[]) => evs.filter((e): e is { type: 'data'; data: Uint8Array } => e.type === 'data').map((e) => dec(e.data)).join('');
/** Data still flows both ways: the flood left the connection usable. */
function stillWorks(c: TlsClient, s: TlsServer): void {
  c.write(enc('ping'));
  const { b } = pump(c, s, NOW);
  expect(text(b)).toBe('ping');
}

describe('floods stay bounded', () => {
  test('a never-ending handshake message: refused at the bound (default 64 KiB), the other ~100 MB ignored', () => {
    const s = server();
    // A ClientHello announcing 2^24-1 bytes is refused from its header alone.
    s.receive(record(22, new Uint8Array([1, 0xff, 0xff, 0xff])), NOW);
    expect(alertOf(drain(s))).toBe(A.decodeError);

    // One exactly at the bound (65536) is buffered, then rejected as a ClientHello: the engine
    // never holds more than the bound plus one record, and stops reading once it has failed.
    const s2 = server();
    s2.receive(record(22, new Uint8Array([1, 0x01, 0x00, 0x00])), NOW);
    const chunk = record(22, new Uint8Array(16384).fill(0x41));
    let fed = 0;
    for (let i = 0; i < 6400 && !s2.isClosed; i++) {
      s2.receive(chunk, NOW); // 6400 x 16 KiB would be 100 MiB
      fed += chunk.length;
    }
    expect(s2.isClosed).toBe(true);
    expect(fed).toBeLessThanOrEqual(5 * chunk.length);
    // 'AAAA…' starts with legacy_version 0x4141: not TLS (RFC 8446 4.1.2, D.2).
    expect(alertOf(drain(s2))).toBe(A.protocolVersion);
  });

  test('a 60 KB handshake message in 1-byte records is reassembled in linear time', () => {
    const s = server();
    const body = new Uint8Array(60_000).fill(0x41);
    const msg = new Uint8Array([1, 0, (60_000 >> 8) & 0xff, 60_000 & 0xff, ...body]);
    const t0 = Date.now();
    for (let i = 0; i < msg.length && !s.isClosed; i++) s.receive(record(22, msg.subarray(i, i + 1)), NOW);
    // Quadratic re-concatenation would copy ~1.8 GB here.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(alertOf(drain(s))).toBe(A.protocolVersion); // legacy_version 0x4141 is not TLS
  });

  test('20 000 empty protected application-data records: no events, no output, connection intact', () => {
    const { c, s } = connected();
    const w = c.recordProtection.write!;
    const batch: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) batch.push(w.seal(23, new Uint8Array(0)));
    const one = Buffer.concat(batch);
    for (let i = 0; i < 20; i++) {
      s.receive(one, NOW);
      if (i < 19) {
        // Records must be resealed: the sequence number moves on.
        batch.length = 0;
        for (let j = 0; j < 1000; j++) batch.push(w.seal(23, new Uint8Array(0)));
        one.set(Buffer.concat(batch));
      }
    }
    expect(drain(s)).toEqual([]);
    expect(s.pollOutput()).toBeNull();
    stillWorks(c, s);
  });

  test('10 000 change_cipher_spec records during the handshake are dropped without output', () => {
    const c = client();
    const s = server();
    c.start(NOW);
    s.receive(c.pollOutput()!, NOW);
    const serverFlight = s.pollOutput()!;
    const ccs = record(20, new Uint8Array([1]));
    for (let i = 0; i < 10_000; i++) s.receive(ccs, NOW);
    expect(s.pollOutput()).toBeNull();
    expect(drain(s).filter((e) => e.type === 'error')).toEqual([]);
    c.receive(serverFlight, NOW);
    pump(c, s, NOW);
    expect(s.isHandshakeComplete).toBe(true);
  });

  test('change_cipher_spec before any ClientHello: unexpected_message (RFC 8446 5, D.4)', () => {
    const s = server();
    s.receive(record(20, new Uint8Array([1])), NOW);
    expect(alertOf(drain(s))).toBe(A.unexpectedMessage);
  });

  test('10 000 user_canceled alerts: ignored, no output, connection intact', () => {
    const { c, s } = connected();
    const w = c.recordProtection.write!;
    const recs: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) recs.push(w.seal(21, new Uint8Array([1, A.userCanceled])));
    s.receive(Buffer.concat(recs), NOW);
    expect(s.pollOutput()).toBeNull();
    expect(drain(s)).toEqual([]);
    stillWorks(c, s);
  });

  test('1000 KeyUpdates with update_requested in one read: one KeyUpdate answers them all (RFC 8446 4.6.3)', () => {
    const { c, s } = connected();
    for (let i = 0; i < 1000; i++) c.keyUpdate(true);
    const flood = c.pollOutput()!;
    s.receive(flood, NOW);
    const evs = drain(s);
    expect(evs.filter((e) => e.type === 'key-update' && e.direction === 'read')).toHaveLength(1000);
    expect(evs.filter((e) => e.type === 'key-update' && e.direction === 'write')).toHaveLength(1);
    const out = s.pollOutput()!;
    expect(out.length).toBe(5 + ((out[3] << 8) | out[4])); // exactly one record
    c.receive(out, NOW);
    expect(drain(c).filter((e) => e.type === 'error')).toEqual([]);
    stillWorks(c, s);
    s.write(enc('pong'));
    c.receive(s.pollOutput()!, NOW);
    expect(text(drain(c))).toBe('pong');
  });

  test('an alert between the fragments of a handshake message: unexpected_message (RFC 8446 5.1)', () => {
    const c = client();
    c.start(NOW);
    const ch = c.pollOutput()!.subarray(5);
    const s = server();
    s.receive(record(22, ch.subarray(0, 20)), NOW);
    s.receive(record(21, new Uint8Array([1, A.userCanceled])), NOW);
    expect(alertOf(drain(s))).toBe(A.unexpectedMessage);
  });

  test('a driver reusing its receive buffer cannot corrupt a partly received record', () => {
    const c = client();
    const s = server();
    c.start(NOW);
    const hello = c.pollOutput()!;
    const buf = new Uint8Array(hello.length);
    buf.set(hello);
    const half = hello.length >> 1;
    s.receive(buf.subarray(0, half), NOW);
    buf.fill(0xee, 0, half); // the driver reuses its buffer for the next read
    buf.set(hello.subarray(half), half);
    s.receive(buf.subarray(half), NOW);
    expect(drain(s).filter((e) => e.type === 'error')).toEqual([]);
    pump(c, s, NOW);
    expect(c.isHandshakeComplete && s.isHandshakeComplete).toBe(true);
  });
});
