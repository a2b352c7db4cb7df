import { nodeCrypto } from '../../src/crypto/node.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import type { CryptoProvider, NamedGroup } from '../../src/crypto/provider.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { ClientConfig, ServerConfig, SessionTicket } from '../../src/handshake/config.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { TlsServer } from '../../src/handshake/server.js';
import { chainVerifier } from '../../src/handshake/certs.js';
import type { CipherSuiteName } from '../../src/wire/constants.js';
import { identity, type KeyKind } from '../support/pki.js';
import { pump, rnd } from '../support/pair.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
// A minute ahead: test certificates are made during the run with notBefore = now.
const NOW = Date.now() + 60_000;

function pair(c: Partial<ClientConfig> = {}, s: Partial<ServerConfig> = {}, kind: KeyKind = 'ec', provider: CryptoProvider = nodeCrypto) {
  const id = identity(kind);
  const client = new TlsClient({ provider, random: rnd, serverName: 'localhost', verifier: chainVerifier(id.chain, provider), ...c });
  const server = new TlsServer({ provider, random: rnd, certificateChain: id.chain, privateKey: id.key, ...s });
  client.start(NOW);
  const ev = pump(client, server, NOW);
  return { client, server, ev };
}
const errors = (evs: TlsEvent[]) => evs.filter((e) => e.type === 'error');
const data = (evs: TlsEvent[]) => evs.filter((e): e is { type: 'data'; data: Uint8Array } => e.type === 'data').map((e) => dec(e.data)).join('');

describe('handshake matrix: suite x group x signature scheme, both providers', () => {
  const suites: CipherSuiteName[] = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
  const groups: NamedGroup[] = ['x25519', 'secp256r1'];
  const kinds: [KeyKind, string][] = [
    ['ec', 'ecdsa_secp256r1_sha256'],
    ['rsa', 'rsa_pss_rsae_sha256'],
    ['ed25519', 'ed25519'],
  ];
  for (const [pname, provider] of [['node', nodeCrypto], ['noble', nobleCrypto]] as [string, CryptoProvider][]) {
    for (const suite of suites)
      for (const group of groups)
        for (const [kind, scheme] of kinds) {
          // noble RSA signing is slow: one RSA case per suite is enough there.
          if (pname === 'noble' && kind === 'rsa' && group !== 'x25519') continue;
          test(`${pname}: ${suite} ${group} ${scheme}`, () => {
            const { client, server, ev } = pair({ cipherSuites: [suite], groups: [group] }, {}, kind, provider);
            expect(errors(ev.a)).toEqual([]);
            expect(errors(ev.b)).toEqual([]);
            expect(client.handshakeInfo).toMatchObject({ suite, group, peerSignatureScheme: scheme, peerVerified: true });
            expect(server.handshakeInfo.signatureScheme).toBe(scheme);
            client.write(enc('ping'));
            server.write(enc('pong'));
            const e2 = pump(client, server, NOW);
            expect(data(e2.b)).toBe('ping');
            expect(data(e2.a)).toBe('pong');
          });
        }
  }
});

describe('HelloRetryRequest', () => {
  test('client shares x25519, server wants secp256r1 only: HRR with cookie, then success', () => {
    const { client, server, ev } = pair({ groups: ['x25519', 'secp256r1'] }, { groups: ['secp256r1'] });
    expect(errors(ev.a)).toEqual([]);
    expect(client.handshakeInfo.helloRetry).toBe(true);
    expect(client.handshakeInfo.group).toBe('secp256r1');
    expect(server.handshakeInfo.helloRetry).toBe(true);
  });
  test('forced HRR (cookie only) completes', () => {
    const { client, ev } = pair({}, { forceHelloRetry: true });
    expect(errors(ev.a)).toEqual([]);
    expect(errors(ev.b)).toEqual([]);
    expect(client.isHandshakeComplete).toBe(true);
    expect(client.handshakeInfo.helloRetry).toBe(true);
  });
  test('no common group: handshake_failure', () => {
    const { ev } = pair({ groups: ['x25519'] }, { groups: ['secp256r1'] });
    expect(ev.b.find((e) => e.type === 'error')).toMatchObject({ alertSent: 40 });
  });
});

describe('mutual TLS', () => {
  test('server requires a certificate, client presents one: both verified', () => {
    const cid = identity('ec', 'client');
    const { client, server, ev } = pair(
      { certificateChain: cid.chain, privateKey: cid.key },
      { clientAuth: 'require', verifier: chainVerifier(cid.chain, nodeCrypto) },
    );
    expect(errors(ev.a)).toEqual([]);
    expect(errors(ev.b)).toEqual([]);
    expect(server.handshakeInfo.peerVerified).toBe(true);
    expect(server.handshakeInfo.peerSignatureScheme).toBe('ecdsa_secp256r1_sha256');
    expect(client.handshakeInfo.signatureScheme).toBe('ecdsa_secp256r1_sha256');
  });
  test('server requires a certificate, client has none: certificate_required', () => {
    const { ev } = pair({}, { clientAuth: 'require', verifier: null });
    expect(ev.b.find((e) => e.type === 'error')).toMatchObject({ alertSent: 116 });
    expect(ev.a.find((e) => e.type === 'error')).toMatchObject({ error: { code: 'alert-received', alert: 116 } });
  });
  test('client certificate from an unknown CA: unknown_ca', () => {
    const cid = identity('ec', 'client');
    const other = identity('rsa', 'other');
    const { ev } = pair({ certificateChain: cid.chain, privateKey: cid.key }, { clientAuth: 'require', verifier: chainVerifier(other.chain, nodeCrypto) });
    expect(ev.b.find((e) => e.type === 'error')).toMatchObject({ alertSent: 48 });
  });
});

describe('certificate verification', () => {
  test('wrong host name: certificate_unknown alert, no traffic keys', () => {
    const { client, ev } = pair({ serverName: 'example.org' });
    expect(ev.a.find((e) => e.type === 'error')).toMatchObject({ alertSent: 46 });
    expect(client.isHandshakeComplete).toBe(false);
  });
  test('expired at the injected wall clock: certificate_expired', () => {
    const id = identity('ec');
    const client = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: chainVerifier(id.chain, nodeCrypto) });
    const server = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key });
    const later = NOW + 10 * 86400_000;
    client.start(later);
    const ev = pump(client, server, later);
    expect(ev.a.find((e) => e.type === 'error')).toMatchObject({ alertSent: 45 });
  });
});

describe('KeyUpdate', () => {
  test('client updates and requests: both directions rotate, data still flows', () => {
    const { client, server } = pair();
    const before = client.clientApplicationTrafficSecret!.slice();
    client.keyUpdate(true);
    const ev = pump(client, server, NOW);
    expect(ev.b.filter((e) => e.type === 'key-update').map((e) => (e as { direction: string }).direction)).toEqual(['read', 'write']);
    expect(ev.a.filter((e) => e.type === 'key-update').map((e) => (e as { direction: string }).direction)).toEqual(['write', 'read']);
    expect(client.clientApplicationTrafficSecret).not.toEqual(before);
    client.write(enc('after'));
    server.write(enc('back'));
    const e2 = pump(client, server, NOW);
    expect(data(e2.b)).toBe('after');
    expect(data(e2.a)).toBe('back');
  });
  test('server-initiated update', () => {
    const { client, server } = pair();
    server.keyUpdate(false);
    server.write(enc('x'));
    const ev = pump(client, server, NOW);
    expect(data(ev.a)).toBe('x');
    expect(ev.a.filter((e) => e.type === 'key-update')).toHaveLength(1);
  });
  test('automatic KeyUpdate before the configured record limit', () => {
    const { client, server } = pair({ keyUpdateAfterRecords: 3 });
    for (let i = 0; i < 10; i++) client.write(enc(`m${i};`));
    const ev = pump(client, server, NOW);
    expect(data(ev.b)).toBe('m0;m1;m2;m3;m4;m5;m6;m7;m8;m9;');
    expect(ev.b.filter((e) => e.type === 'key-update').length).toBeGreaterThanOrEqual(2);
  });
});

describe('ALPN, SNI, record_size_limit, custom extensions, exporters', () => {
  test('ALPN: server preference among the client offer', () => {
    const { client, server } = pair({ alpn: ['http/1.1', 'h2'] }, { alpn: ['h2', 'http/1.1'] });
    expect(client.handshakeInfo.alpn).toBe('h2');
    expect(server.handshakeInfo.alpn).toBe('h2');
  });
  test('ALPN without overlap: no_application_protocol', () => {
    const { ev } = pair({ alpn: ['x'] }, { alpn: ['y'] });
    expect(ev.b.find((e) => e.type === 'error')).toMatchObject({ alertSent: 120 });
  });
  test('SNI reaches the server; an unknown name is unrecognized_name', () => {
    const ok = pair({}, { acceptServerName: (n) => n === 'localhost' });
    expect(ok.server.handshakeInfo.serverName).toBe('localhost');
    const bad = pair({}, { acceptServerName: () => false });
    expect(bad.ev.b.find((e) => e.type === 'error')).toMatchObject({ alertSent: 112 });
  });
  test('record_size_limit: the server never sends records larger than the client limit', () => {
    const { client, server } = pair({ recordSizeLimit: 256 }, { recordSizeLimit: 1024 });
    server.write(new Uint8Array(5000).fill(65));
    const out = server.pollOutput()!;
    let off = 0;
    let n = 0;
    while (off < out.length) {
      const len = (out[off + 3] << 8) | out[off + 4];
      // 256 limit: at most 255 content + 1 type + 16 tag.
      expect(len).toBeLessThanOrEqual(256 + 16);
      off += 5 + len;
      n++;
    }
    expect(n).toBeGreaterThanOrEqual(20);
    client.receive(out, NOW);
    let got = 0;
    for (let e = client.pollEvent(); e; e = client.pollEvent()) if (e.type === 'data') got += e.data.length;
    expect(got).toBe(5000);
  });
  test('custom extension: server sees the client value and answers in EncryptedExtensions', () => {
    const seen: (Uint8Array | undefined)[] = [];
    const echoed: (Uint8Array | undefined)[] = [];
    const { client, server } = pair(
      { customExtensions: [{ type: 0xff42, clientHello: () => enc('join-token'), onEncryptedExtensions: (d) => echoed.push(d) }] },
      { customExtensions: [{ type: 0xff42, onClientHello: (d) => (seen.push(d), enc('ack:' + dec(d!))) }] },
    );
    expect(dec(seen[0]!)).toBe('join-token');
    expect(dec(echoed[0]!)).toBe('ack:join-token');
    expect(dec(client.peerCustomExtensions.get(0xff42)!)).toBe('ack:join-token');
    expect(dec(server.peerCustomExtensions.get(0xff42)!)).toBe('join-token');
  });
  test('an unsolicited extension in EncryptedExtensions is unsupported_extension', () => {
    const { ev } = pair({}, { customExtensions: [{ type: 0xff43, onClientHello: () => enc('x') }] });
    expect(ev.a.find((e) => e.type === 'error')).toMatchObject({ alertSent: 110 });
  });
  test('exporters and transcript hash agree on both sides; record streams interoperate with nonce control', () => {
    const { client, server } = pair();
    expect(client.exportKeyingMaterial('EXPORTER-tcpls', enc('ctx'), 32)).toEqual(server.exportKeyingMaterial('EXPORTER-tcpls', enc('ctx'), 32));
    expect(client.handshakeTranscriptHash).toEqual(server.handshakeTranscriptHash);
    const w = client.createRecordProtection('client');
    const r = server.createRecordProtection('client');
    w.connectionId = 7;
    r.connectionId = 7;
    w.sequenceNumber = 1000n;
    r.sequenceNumber = 1000n;
    const rec = w.seal(23, enc('stream data'));
    expect(dec(r.open(rec.subarray(0, 5), rec.subarray(5)).content)).toBe('stream data');
    // A different connection id gives a different nonce: authentication fails.
    const r2 = server.createRecordProtection('client');
    r2.sequenceNumber = 1000n;
    const rec2 = w.seal(23, enc('x'));
    expect(() => r2.open(rec2.subarray(0, 5), rec2.subarray(5))).toThrow(/authentication/);
  });
});

describe('close_notify', () => {
  test('each side closes; both see close-notify', () => {
    const { client, server } = pair();
    client.close();
    const ev = pump(client, server, NOW);
    expect(ev.b.some((e) => e.type === 'close-notify')).toBe(true);
    server.close();
    const ev2 = pump(client, server, NOW);
    expect(ev2.a.some((e) => e.type === 'close-notify')).toBe(true);
    expect(client.isClosed && server.isClosed).toBe(true);
  });
});

describe('resumption and 0-RTT', () => {
  const ticketKey = new Uint8Array(32).fill(9);
  function firstSession(s: Partial<ServerConfig> = {}): SessionTicket {
    const { ev } = pair({}, { ticketKey, ...s });
    const sess = ev.a.find((e) => e.type === 'session');
    expect(sess).toBeDefined();
    return (sess as { session: SessionTicket }).session;
  }
  test('PSK resumption (psk_dhe_ke) skips the certificate', () => {
    const session = firstSession();
    const { client, server, ev } = pair({ session }, { ticketKey });
    expect(errors(ev.a)).toEqual([]);
    expect(client.handshakeInfo.resumed).toBe(true);
    expect(server.handshakeInfo.resumed).toBe(true);
    expect(client.handshakeInfo.peerCertificates).toEqual([]);
  });
  test('a ticket under another key falls back to a full handshake', () => {
    const session = firstSession();
    const { client, ev } = pair({ session }, { ticketKey: new Uint8Array(32).fill(1) });
    expect(errors(ev.a)).toEqual([]);
    expect(client.handshakeInfo.resumed).toBe(false);
  });
  test('a ticket is not used for another server name (RFC 8446 4.6.1): client leaves it out', () => {
    const session = firstSession();
    expect(session.serverName).toBe('localhost');
    const { client, ev } = pair({ session, serverName: 'other.localhost', verifier: null }, { ticketKey });
    expect(errors(ev.a)).toEqual([]);
    expect(client.handshakeInfo.resumed).toBe(false);
  });
  test('a ticket is not used for another server name: the server declines it, full handshake', () => {
    // A client that does not record the name offers the ticket anyway; the server checks.
    const session = { ...firstSession(), serverName: undefined };
    const { client, server, ev } = pair({ session, serverName: 'other.localhost', verifier: null }, { ticketKey });
    expect(errors(ev.a)).toEqual([]);
    expect(server.handshakeInfo.resumed).toBe(false);
    expect(client.handshakeInfo.resumed).toBe(false);
    const again = pair({ session }, { ticketKey }); // same name: resumed
    expect(again.server.handshakeInfo.resumed).toBe(true);
  });
  test('0-RTT accepted once; a replay of the same ClientHello is refused by anti-replay', () => {
    const seen = new Set<string>();
    const antiReplay = { checkAndRemember: (k: Uint8Array) => (seen.has(k.toString()) ? false : (seen.add(k.toString()), true)) };
    const session = firstSession({ maxEarlyData: 16384 });
    const id = identity('ec');
    const mk = () => new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key, ticketKey, maxEarlyData: 16384, antiReplay });
    const client = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: null, session, earlyData: enc('early hello') });
    client.start(NOW);
    const flight = client.pollOutput()!;
    const s1 = mk();
    s1.receive(flight, NOW);
    const ev1 = pump(client, s1, NOW);
    expect(ev1.b.filter((e) => e.type === 'early-data').map((e) => dec((e as { data: Uint8Array }).data)).join('')).toBe('early hello');
    expect(client.handshakeInfo.earlyDataAccepted).toBe(true);
    expect(errors(ev1.a)).toEqual([]);
    expect(errors(ev1.b)).toEqual([]);
    // Replay the same first flight to a new server instance: handshake may proceed, early data must not be delivered.
    const s2 = mk();
    s2.receive(flight, NOW);
    const evs: TlsEvent[] = [];
    for (let e = s2.pollEvent(); e; e = s2.pollEvent()) evs.push(e);
    expect(evs.some((e) => e.type === 'early-data')).toBe(false);
    expect(errors(evs)).toEqual([]);
  });
  test('early data over max_early_data_size: the server aborts with unexpected_message', () => {
    const session = { ...firstSession({ maxEarlyData: 16 }), maxEarlyData: 100000 };
    const id = identity('ec');
    const s = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key, ticketKey, maxEarlyData: 16 });
    const c = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: null, session, earlyData: new Uint8Array(1000) });
    c.start(NOW);
    const ev = pump(c, s, NOW);
    expect(ev.b.find((e) => e.type === 'error')).toMatchObject({ alertSent: 10 });
  });
  test('rejected 0-RTT (server takes no early data): records skipped, handshake completes without it', () => {
    const session = firstSession({ maxEarlyData: 16384 });
    const { client, server, ev } = pair({ session, earlyData: enc('too early') }, { ticketKey, maxEarlyData: 0 });
    expect(errors(ev.a)).toEqual([]);
    expect(errors(ev.b)).toEqual([]);
    expect(client.handshakeInfo.resumed).toBe(true);
    expect(client.handshakeInfo.earlyDataAccepted).toBe(false);
    expect(ev.b.some((e) => e.type === 'early-data' || e.type === 'data')).toBe(false);
    expect(server.isHandshakeComplete).toBe(true);
  });
});

describe('resumption after HelloRetryRequest', () => {
  const ticketKey = new Uint8Array(32).fill(4);
  test('PSK binder over message_hash + HRR + ClientHello2 verifies; 0-RTT sent before the HRR is skipped', () => {
    const first = pair({}, { ticketKey, maxEarlyData: 1000 });
    const session = (first.ev.a.find((e) => e.type === 'session') as { session: SessionTicket }).session;
    const { client, server, ev } = pair({ session, earlyData: enc('early') }, { ticketKey, maxEarlyData: 1000, forceHelloRetry: true });
    expect(errors(ev.a)).toEqual([]);
    expect(errors(ev.b)).toEqual([]);
    expect(client.handshakeInfo).toMatchObject({ resumed: true, helloRetry: true, earlyDataAccepted: false });
    expect(server.handshakeInfo.resumed).toBe(true);
    expect(ev.b.some((e) => e.type === 'early-data')).toBe(false);
  });
});

describe('key log', () => {
  test('SSLKEYLOGFILE lines: both sides log the same five secrets for the same client random', () => {
    const { ev } = pair();
    const lines = (evs: TlsEvent[]) => evs.filter((e): e is { type: 'keylog'; line: string } => e.type === 'keylog').map((e) => e.line).sort();
    const a = lines(ev.a);
    expect(a).toHaveLength(5);
    for (const l of a) expect(l).toMatch(/^(CLIENT|SERVER)_(HANDSHAKE_)?TRAFFIC_SECRET(_0)? [0-9a-f]{64} [0-9a-f]{64}\n$|^EXPORTER_SECRET [0-9a-f]{64} [0-9a-f]{64}\n$/);
    expect(lines(ev.b)).toEqual(a);
  });
});

describe('fragmentation', () => {
  test('every flight delivered one byte at a time still completes', () => {
    const id = identity('rsa');
    const client = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: chainVerifier(id.chain, nodeCrypto) });
    const server = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key });
    client.start(NOW);
    for (let i = 0; i < 10; i++) {
      const a = client.pollOutput();
      const b = server.pollOutput();
      if (!a && !b) break;
      if (a) for (let j = 0; j < a.length; j++) server.receive(a.subarray(j, j + 1), NOW);
      if (b) for (let j = 0; j < b.length; j++) client.receive(b.subarray(j, j + 1), NOW);
    }
    expect(client.isHandshakeComplete && server.isHandshakeComplete).toBe(true);
  });
  test('handshake messages split over many small records (record_size_limit 64) are reassembled', () => {
    const { client, server, ev } = pair({ recordSizeLimit: 64 }, {}, 'rsa');
    expect(errors(ev.a)).toEqual([]);
    expect(client.isHandshakeComplete && server.isHandshakeComplete).toBe(true);
    expect(client.handshakeInfo.peerCertificates[0].length).toBeGreaterThan(500);
  });
});
