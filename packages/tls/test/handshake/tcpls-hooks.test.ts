/**
 * The hooks TCPLS relies on: abort(alert) on the engine, and the per-connection nonce value
 * (RecordProtection.connectionId) surviving key changes (KeyUpdate, RFC 8446 4.6.3).
 */
import { nodeCrypto } from '../../src/crypto/node.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { TlsServer } from '../../src/handshake/server.js';
import { AlertDescription as A, TlsError, alertFromName } from '../../src/errors.js';
import { identity } from '../support/pki.js';
import { drain, pump, rnd } from '../support/pair.js';

const NOW = Date.now() + 60_000;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function connected(): { client: TlsClient; server: TlsServer } {
  const id = identity('ec');
  const client = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: null });
  const server = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key });
  client.start(NOW);
  pump(client, server, NOW);
  expect(client.isHandshakeComplete && server.isHandshakeComplete).toBe(true);
  return { client, server };
}
const errorOf = (evs: TlsEvent[]) => evs.find((e): e is Extract<TlsEvent, { type: 'error' }> => e.type === 'error');
const text = (evs: TlsEvent[]) => evs.filter((e): e is { type: 'data'; data: Uint8Array } => e.type === 'data').map((e) => dec(e.data)).join('');

describe('abort(alert)', () => {
  test('after the handshake: the chosen alert goes out protected, the peer reports it, both are closed', () => {
    const { client, server } = connected();
    server.abort('decode_error', 'TCPLS frame did not parse');
    const ev = errorOf(drain(server));
    expect(ev?.alertSent).toBe(A.decodeError);
    expect(ev?.error).toMatchObject({ code: 'aborted', alert: A.decodeError, message: 'TCPLS frame did not parse' });
    expect(server.isClosed).toBe(true);
    client.receive(server.pollOutput()!, NOW);
    expect(errorOf(drain(client))?.error).toMatchObject({ code: 'alert-received', alert: A.decodeError });
    expect(client.isClosed).toBe(true);
    expect(() => server.write(enc('x'))).toThrow(TlsError);
  });

  test('during the handshake the alert is a plaintext record', () => {
    const id = identity('ec');
    const server = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key });
    server.abort(A.illegalParameter);
    expect(Array.from(server.pollOutput()!)).toEqual([21, 3, 3, 0, 2, 2, A.illegalParameter]);
  });

  test('numbers and names are accepted; close_notify, user_canceled and unknown values are API misuse', () => {
    const { client } = connected();
    expect(() => client.abort(A.closeNotify)).toThrow(/not a fatal alert/);
    expect(() => client.abort('user_canceled')).toThrow(/close\(\)/);
    expect(() => client.abort(3)).toThrow(/not a fatal alert/);
    expect(() => client.abort('no_such_alert')).toThrow(/not a fatal alert/);
    expect(client.isClosed).toBe(false);
    client.abort(A.internalError);
    expect(errorOf(drain(client))?.alertSent).toBe(A.internalError);
    // A second abort is a no-op: one alert only.
    client.abort(A.decodeError);
    expect(drain(client)).toEqual([]);
  });

  test('alertFromName maps RFC names and camelCase keys', () => {
    expect(alertFromName('bad_record_mac')).toBe(A.badRecordMac);
    expect(alertFromName('certificateRequired')).toBe(A.certificateRequired);
    expect(alertFromName('nope')).toBeNull();
  });
});

describe('connectionId survives KeyUpdate', () => {
  test('both directions keep the per-connection value after updates requested by either side', () => {
    const { client, server } = connected();
    for (const p of [client.recordProtection, server.recordProtection]) {
      p.read!.connectionId = 7;
      p.write!.connectionId = 7;
    }
    client.write(enc('before '));
    server.receive(client.pollOutput()!, NOW);
    expect(text(drain(server))).toBe('before ');

    client.keyUpdate(true); // client write key, then server read+write, then client read
    const ev = pump(client, server, NOW);
    expect(errorOf(ev.a) ?? errorOf(ev.b)).toBeUndefined();
    server.keyUpdate(false);
    pump(client, server, NOW);
    for (const p of [client.recordProtection, server.recordProtection]) {
      expect(p.read!.connectionId).toBe(7);
      expect(p.write!.connectionId).toBe(7);
    }
    // Fresh keys restart the sequence number (RFC 8446 5.3) ...
    expect(client.recordProtection.write!.sequenceNumber).toBe(0n);
    client.write(enc('after'));
    const rec = client.pollOutput()!;
    server.receive(rec, NOW);
    expect(text(drain(server))).toBe('after');
    server.write(enc('back'));
    client.receive(server.pollOutput()!, NOW);
    expect(text(drain(client))).toBe('back');
  });

  test('the nonce after KeyUpdate really uses the connection id: a reader with id 0 fails', () => {
    const { client, server } = connected();
    client.recordProtection.write!.connectionId = 9;
    server.recordProtection.read!.connectionId = 9;
    client.keyUpdate(false);
    server.receive(client.pollOutput()!, NOW);
    expect(server.recordProtection.read!.connectionId).toBe(9);
    // A standalone reader on the same (updated) client secret but connection id 0 cannot open.
    const plain = server.createRecordProtection('client');
    client.write(enc('secret'));
    const rec = client.pollOutput()!;
    expect(() => plain.open(rec.subarray(0, 5), rec.subarray(5))).toThrow(/authentication/);
    const right = server.createRecordProtection('client');
    right.connectionId = 9;
    expect(dec(right.open(rec.subarray(0, 5), rec.subarray(5)).content)).toBe('secret');
  });
});
