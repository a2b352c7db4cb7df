/**
 * Engine options from issue 4's list that had no engine-level test: the record padding policy,
 * middlebox-compatibility mode (RFC 8446 D.4), a handshake between the two crypto providers, and
 * the system trust store as the default anchors.
 */
import { nodeCrypto } from '../../src/crypto/node.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { ClientConfig, ServerConfig } from '../../src/handshake/config.js';
import { chainVerifier, systemTrustAnchors } from '../../src/handshake/certs.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { TlsServer } from '../../src/handshake/server.js';
import { AlertDescription as A } from '../../src/errors.js';
import { padToMultiple } from '../../src/record/protection.js';
import { identity } from '../support/pki.js';
import { drain, pump, rnd } from '../support/pair.js';

const NOW = Date.now() + 60_000;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const text = (evs: TlsEvent[]) => evs.filter((e): e is { type: 'data'; data: Uint8Array } => e.type === 'data').map((e) => dec(e.data)).join('');

function make(c: Partial<ClientConfig> = {}, s: Partial<ServerConfig> = {}, cp: CryptoProvider = nodeCrypto, sp: CryptoProvider = nodeCrypto) {
  const id = identity('ec');
  const client = new TlsClient({ provider: cp, random: rnd, serverName: 'localhost', verifier: chainVerifier(id.chain, cp), ...c });
  const server = new TlsServer({ provider: sp, random: rnd, certificateChain: id.chain, privateKey: id.key, ...s });
  return { client, server };
}
/** Splits a byte string into [type, length] per record. */
function recordShapes(bytes: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let o = 0; o < bytes.length; ) {
    const len = (bytes[o + 3] << 8) | bytes[o + 4];
    out.push([bytes[o], len]);
    o += 5 + len;
  }
  return out;
}

describe('record padding policy (RFC 8446 5.4)', () => {
  test('padToMultiple(256): every protected record is 256-aligned on the wire, content intact', () => {
    const { client, server } = make({ padding: padToMultiple(256) });
    client.start(NOW);
    pump(client, server, NOW);
    for (const msg of ['a', 'hello world', 'x'.repeat(300)]) {
      client.write(enc(msg));
      const out = client.pollOutput()!;
      for (const [type, len] of recordShapes(out)) {
        expect(type).toBe(23);
        expect((len - 16) % 256).toBe(0); // inner plaintext (content + type + zeros) is padded
      }
      server.receive(out, NOW);
      expect(text(drain(server))).toBe(msg);
    }
  });
});

describe('middlebox compatibility mode (RFC 8446 D.4)', () => {
  test('on (default): 32-byte legacy_session_id echoed, one CCS from each side, handshake completes', () => {
    const { client, server } = make();
    client.start(NOW);
    const ch = client.pollOutput()!;
    expect(ch[5 + 4 + 2 + 32]).toBe(32); // legacy_session_id length after version and random
    server.receive(ch, NOW);
    const flight = server.pollOutput()!;
    const shapes = recordShapes(flight);
    expect(shapes[0][0]).toBe(22); // ServerHello
    expect(shapes[1]).toEqual([20, 1]); // then one CCS
    client.receive(flight, NOW);
    const second = recordShapes(client.pollOutput()!);
    expect(second[0]).toEqual([20, 1]); // the client's CCS before its encrypted Finished
    expect(second.filter(([t]) => t === 20)).toHaveLength(1);
  });

  test('off: empty legacy_session_id, no CCS in either direction', () => {
    const { client, server } = make({ middleboxCompat: false });
    client.start(NOW);
    const ch = client.pollOutput()!;
    expect(ch[5 + 4 + 2 + 32]).toBe(0);
    server.receive(ch, NOW);
    const flight = server.pollOutput()!;
    expect(recordShapes(flight).some(([t]) => t === 20)).toBe(false);
    client.receive(flight, NOW);
    expect(recordShapes(client.pollOutput()!).some(([t]) => t === 20)).toBe(false);
    expect(client.isHandshakeComplete).toBe(true);
  });
});

describe('the two providers together', () => {
  test.each([
    ['noble client, node server', nobleCrypto, nodeCrypto],
    ['node client, noble server', nodeCrypto, nobleCrypto],
  ] as [string, CryptoProvider, CryptoProvider][])('%s: every suite completes and data crosses', (_n, cp, sp) => {
    for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const) {
      const { client, server } = make({ cipherSuites: [suite] }, {}, cp, sp);
      client.start(NOW);
      pump(client, server, NOW);
      expect(client.handshakeInfo.suite).toBe(suite);
      client.write(enc(`via ${suite}`));
      const ev = pump(client, server, NOW);
      expect(text(ev.b)).toBe(`via ${suite}`);
    }
  });
});

describe('trust store', () => {
  test('the system trust store loads, and does not vouch for our self-signed test certificate: unknown_ca', () => {
    const anchors = systemTrustAnchors();
    expect(anchors.length).toBeGreaterThan(10);
    const { client, server } = make({ verifier: chainVerifier(anchors, nodeCrypto) });
    client.start(NOW);
    const ev = pump(client, server, NOW);
    const err = ev.a.find((e) => e.type === 'error');
    expect(err && err.type === 'error' && err.alertSent).toBe(A.unknownCa);
  });
});
