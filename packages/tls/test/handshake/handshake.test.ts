import { nodeCrypto } from '../../src/crypto/node.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import { TlsClient } from '../../src/handshake/client.js';
import { TlsServer } from '../../src/handshake/server.js';
import { identity } from '../support/pki.js';
import { pump, rnd } from '../support/pair.js';

describe('in-memory handshake', () => {
  test('full 1-RTT handshake, then data both ways (node provider, EC cert)', () => {
    const id = identity('ec');
    const client = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: null });
    const server = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key });
    client.start(Date.now());
    const ev = pump(client, server);
    expect(ev.a.find((e) => e.type === 'error')).toBeUndefined();
    expect(ev.b.find((e) => e.type === 'error')).toBeUndefined();
    expect(client.isHandshakeComplete).toBe(true);
    expect(server.isHandshakeComplete).toBe(true);
    client.write(new TextEncoder().encode('hello'));
    const ev2 = pump(client, server);
    const d = ev2.b.find((e) => e.type === 'data');
    expect(d && d.type === 'data' && new TextDecoder().decode(d.data)).toBe('hello');
  });
});
