/**
 * Interop on loopback with kernel TCP: our client against `openssl s_server` and a node:tls
 * server; `openssl s_client` and a node:tls client against our server. Every suite x group x
 * signature scheme, HRR, mTLS, KeyUpdate both ways, resumption, 0-RTT. More cells and the 100 MB
 * transfer: matrix-more.test.ts.
 */
import * as nodeTls from 'node:tls';
import { connect, createServer, type TLSSocket } from '../../src/node/socket.js';
import type { SessionTicket } from '../../src/handshake/config.js';
import type { NamedGroup } from '../../src/crypto/provider.js';
import type { CipherSuiteName } from '../../src/wire/constants.js';
import { hasCommand } from '../../../../test/support/env.js';
import { identity, type KeyKind } from '../support/pki.js';
import { freePort, killAll, run, waitFor, type Proc } from '../support/procs.js';
import { listen, secure } from '../support/net.js';

const SUITES: CipherSuiteName[] = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const GROUPS: [NamedGroup, string][] = [
  ['x25519', 'X25519'],
  ['secp256r1', 'P-256'],
];
const KINDS: [KeyKind, string][] = [
  ['ec', 'ecdsa_secp256r1_sha256'],
  ['rsa', 'rsa_pss_rsae_sha256'],
  ['ed25519', 'ed25519'],
];

const haveOpenssl = hasCommand('openssl');
const d = haveOpenssl ? describe : describe.skip;
if (!haveOpenssl) process.stderr.write('SKIPPED openssl interop: no openssl command\n');

afterAll(() => killAll());

/** Starts openssl s_server and waits for its ACCEPT line. */
async function sServer(kind: KeyKind, extra: string[]): Promise<{ port: number; proc: Proc }> {
  const id = identity(kind);
  const port = await freePort();
  const proc = run('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-tls1_3', '-cert', id.certFile, '-key', id.keyFile, ...extra]);
  await waitFor(() => proc.stdout().includes('ACCEPT'), 5000, 's_server ACCEPT');
  return { port, proc };
}

function collect(sock: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    sock.on('data', (b: Buffer) => (s += b.toString('latin1')));
    sock.on('end', () => resolve(s));
    sock.on('close', () => resolve(s));
    sock.on('error', reject);
  });
}

async function getPage(port: number, kind: KeyKind, opts: Parameters<typeof connect>[0] = {}): Promise<{ page: string; sock: TLSSocket }> {
  const id = identity(kind);
  const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, ...opts });
  await secure(sock);
  const page = collect(sock);
  sock.write('GET / HTTP/1.0\r\n\r\n');
  return { page: await page, sock };
}

d('our client vs openssl s_server', () => {
  for (const [kind, scheme] of KINDS) {
    test(`every suite x group with a ${kind} certificate (${scheme})`, async () => {
      const { proc } = await sServer(kind, ['-www']);
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(proc.child.spawnargs.join(' '))![1]);
      for (const suite of SUITES)
        for (const [group] of GROUPS) {
          const { page, sock } = await getPage(port, kind, { cipherSuites: [suite], groups: [group] });
          expect(sock.handshakeInfo).toMatchObject({ suite, group, peerSignatureScheme: scheme });
          expect(sock.authorized).toBe(true);
          expect(page).toContain('HTTP/1.0 200 ok');
          expect(page).toContain(`Cipher is ${suite}`);
        }
      proc.child.kill();
    });
  }

  test('HelloRetryRequest: we share x25519, s_server only takes P-256', async () => {
    const { port, proc } = await sServer('ec', ['-www', '-groups', 'P-256']);
    const { page, sock } = await getPage(port, 'ec', { keyShareGroups: ['x25519'] });
    expect(sock.handshakeInfo.helloRetry).toBe(true);
    expect(sock.handshakeInfo.group).toBe('secp256r1');
    expect(page).toContain('HTTP/1.0 200 ok');
    proc.child.kill();
  });

  test('mutual TLS: s_server -Verify checks our client certificate', async () => {
    const cid = identity('rsa', 'client');
    const { port, proc } = await sServer('ec', ['-www', '-Verify', '1', '-CAfile', cid.certFile]);
    const { page, sock } = await getPage(port, 'ec', { cert: cid.certPem, key: cid.keyPem });
    expect(sock.handshakeInfo.signatureScheme).toBe('rsa_pss_rsae_sha256');
    expect(page).toContain('HTTP/1.0 200 ok');
    proc.child.kill();
  });

  test('resumption with an openssl ticket (psk_dhe_ke)', async () => {
    const { port, proc } = await sServer('ec', ['-www']);
    const first = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: identity('ec').certPem });
    const got = new Promise<SessionTicket>((resolve) => first.once('session', resolve));
    first.once('secureConnect', () => first.write('GET / HTTP/1.0\r\n\r\n'));
    const session = await got;
    await collect(first);
    const resumed = await getPage(port, 'ec', { session });
    expect(resumed.sock.handshakeInfo.resumed).toBe(true);
    expect(resumed.sock.handshakeInfo.peerCertificates).toEqual([]);
    expect(resumed.page).toContain('HTTP/1.0 200 ok');
    proc.child.kill();
  });

  test('0-RTT early data accepted by openssl s_server -early_data', async () => {
    const { port, proc } = await sServer('ec', ['-early_data']);
    const ca = identity('ec').certPem;
    const first = connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
    const session = await new Promise<SessionTicket>((resolve) => first.once('session', resolve));
    expect(session.maxEarlyData).toBeGreaterThan(0);
    first.destroy();
    const early = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, session, earlyData: new TextEncoder().encode('early-hello\n') });
    await secure(early);
    expect(early.handshakeInfo.resumed).toBe(true);
    expect(early.handshakeInfo.earlyDataAccepted).toBe(true);
    await waitFor(() => proc.stdout().includes('early-hello'), 5000, 's_server to print the early data');
    early.write('late-hello\n');
    await waitFor(() => proc.stdout().includes('late-hello'), 5000, 's_server to print 1-RTT data');
    early.destroy();
    proc.child.kill();
  });

  test('KeyUpdate both ways with s_server (echo mode)', async () => {
    const { port, proc } = await sServer('ec', []);
    const id = identity('ec');
    const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
    const updates: string[] = [];
    sock.on('keyUpdate', (dir: string) => updates.push(dir));
    let got = '';
    sock.on('data', (b: Buffer) => (got += b.toString()));
    await new Promise<void>((resolve) => sock.once('secureConnect', () => resolve()));
    // We update and request: openssl must answer with its own KeyUpdate.
    sock.keyUpdate(true);
    sock.write('from-us-after-update\n');
    await waitFor(() => proc.stdout().includes('from-us-after-update'), 5000, 's_server to print our data');
    // s_server: "k" on stdin sends a KeyUpdate without request; "K" with request.
    // OpenSSL folds the answer to our request into its next KeyUpdate; "K" sends one with request.
    proc.child.stdin!.write('K\n');
    await waitFor(() => updates.includes('read'), 5000, 'a peer KeyUpdate');
    proc.child.stdin!.write('to-us-after-update\n');
    await waitFor(() => got.includes('to-us-after-update'), 5000, 'data after updates');
    expect(updates.filter((u) => u === 'write').length).toBeGreaterThanOrEqual(2);
    sock.destroy();
    proc.child.kill();
  });
});

d('openssl s_client vs our server', () => {
  for (const [kind, scheme] of KINDS) {
    test(`every suite x group with a ${kind} certificate (${scheme})`, async () => {
      const id = identity(kind);
      const server = createServer({ cert: id.certPem, key: id.keyPem }, (s) => {
        s.once('data', () => s.end(`HTTP/1.0 200 ok\r\n\r\n${s.handshakeInfo.suite} ${s.handshakeInfo.group}\r\n`));
      });
      const port = await listen(server);
      try {
        for (const suite of SUITES)
          for (const [group, ogroup] of GROUPS) {
            const p = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-ciphersuites', suite, '-groups', ogroup, '-CAfile', id.certFile, '-servername', 'localhost', '-ign_eof'], 'GET / HTTP/1.0\r\n\r\n');
            await p.exited;
            const out = p.stdout();
            expect(out).toContain('Verify return code: 0');
            expect(out).toContain(`HTTP/1.0 200 ok`);
            expect(out).toContain(`${suite} ${group}`);
            expect(out + p.stderr()).toMatch(new RegExp(`Peer signature type: (${kind === 'ec' ? 'ECDSA' : kind === 'rsa' ? 'RSA-PSS' : 'Ed25519'})`, 'i'));
          }
      } finally {
        server.close();
      }
    });
  }

  test('HRR: s_client shares P-256 first, our server prefers x25519 and asks for it', async () => {
    const id = identity('ec');
    const server = createServer({ cert: id.certPem, key: id.keyPem, groups: ['x25519', 'secp256r1'] }, (s) => {
      s.once('data', () => s.end(`HTTP/1.0 200 ok\r\n\r\nhrr=${s.handshakeInfo.helloRetry}\r\n`));
    });
    const port = await listen(server);
    // s_client sends a key share only for its first group; our server takes an existing share when
    // it has one, so force the HRR path through a group s_client supports but did not share.
    const p = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-groups', 'P-256:X25519', '-CAfile', id.certFile, '-servername', 'localhost', '-ign_eof'], 'GET / HTTP/1.0\r\n\r\n');
    await p.exited;
    expect(p.stdout()).toContain('HTTP/1.0 200 ok');
    server.close();
    const forced = createServer({ cert: id.certPem, key: id.keyPem, groups: ['x25519'] }, (s) => {
      s.once('data', () => s.end(`HTTP/1.0 200 ok\r\n\r\nhrr=${s.handshakeInfo.helloRetry}\r\n`));
    });
    const port2 = await listen(forced);
    const p2 = run('openssl', ['s_client', '-connect', `127.0.0.1:${port2}`, '-tls1_3', '-groups', 'P-256:X25519', '-CAfile', id.certFile, '-servername', 'localhost', '-ign_eof'], 'GET / HTTP/1.0\r\n\r\n');
    await p2.exited;
    expect(p2.stdout()).toContain('hrr=true');
    forced.close();
  });

  test('mutual TLS: s_client presents a certificate our server verifies', async () => {
    const id = identity('ec');
    const cid = identity('ed25519', 'client');
    let info: TLSSocket['handshakeInfo'] | undefined;
    const server = createServer({ cert: id.certPem, key: id.keyPem, requestCert: true, ca: cid.certPem }, (s) => {
      info = s.handshakeInfo;
      s.once('data', () => s.end('HTTP/1.0 200 ok\r\n\r\n'));
    });
    const port = await listen(server);
    const p = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-cert', cid.certFile, '-key', cid.keyFile, '-CAfile', id.certFile, '-servername', 'localhost', '-ign_eof'], 'GET / HTTP/1.0\r\n\r\n');
    await p.exited;
    expect(p.stdout()).toContain('HTTP/1.0 200 ok');
    expect(info?.peerVerified).toBe(true);
    expect(info?.peerSignatureScheme).toBe('ed25519');
    server.close();
  });

  test('KeyUpdate from our server reaches s_client (-msg shows it)', async () => {
    const id = identity('ec');
    const server = createServer({ cert: id.certPem, key: id.keyPem }, (s) => {
      s.once('data', () => {
        s.keyUpdate(true);
        s.end('HTTP/1.0 200 ok\r\n\r\nafter key update\r\n');
      });
    });
    const port = await listen(server);
    const p = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-msg', '-CAfile', id.certFile, '-servername', 'localhost', '-ign_eof'], 'GET / HTTP/1.0\r\n\r\n');
    await p.exited;
    expect(p.stdout()).toContain('after key update');
    expect(p.stdout()).toMatch(/KeyUpdate/);
    server.close();
  });
});

describe('node:tls interop', () => {
  for (const [kind, scheme] of KINDS) {
    test(`our client vs a node:tls server, every suite x group, ${kind} certificate (${scheme})`, async () => {
      const id = identity(kind);
      const srv = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3', ecdhCurve: 'X25519:P-256' }, (s) => s.pipe(s));
      const port = await listen(srv);
      try {
        for (const suite of SUITES)
          for (const [group] of GROUPS) {
            const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, cipherSuites: [suite], groups: [group] });
            await secure(sock);
            expect(sock.handshakeInfo).toMatchObject({ suite, group, peerSignatureScheme: scheme });
            const echoed = new Promise<string>((resolve) => sock.once('data', (b: Buffer) => resolve(b.toString())));
            sock.write('ping');
            expect(await echoed).toBe('ping');
            sock.destroy();
          }
      } finally {
        srv.close();
      }
    });

    test(`node:tls client vs our server, every suite x group, ${kind} certificate (${scheme}); exporter agrees`, async () => {
      const id = identity(kind);
      const server = createServer({ cert: id.certPem, key: id.keyPem, alpn: ['h2', 'http/1.1'] }, (s) => s.pipe(s));
      const port = await listen(server);
      const ours: TLSSocket[] = [];
      server.on('secureConnection', (s: TLSSocket) => ours.push(s));
      try {
        for (const suite of SUITES)
          for (const [group, curve] of GROUPS) {
            const c = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, ecdhCurve: curve, ciphers: suite, ALPNProtocols: ['http/1.1'], minVersion: 'TLSv1.3' });
            await secure(c);
            expect(c.authorized).toBe(true);
            expect(c.alpnProtocol).toBe('http/1.1');
            expect(c.getCipher().standardName).toBe(suite);
            const echoed = new Promise<string>((resolve) => c.once('data', (b: Buffer) => resolve(b.toString())));
            c.write('echo me');
            expect(await echoed).toBe('echo me');
            const mine = ours[ours.length - 1];
            expect(mine.handshakeInfo).toMatchObject({ suite, group, signatureScheme: scheme });
            expect(mine.exportKeyingMaterial(32, 'EXPORTER-test').toString('hex')).toBe(c.exportKeyingMaterial(32, 'EXPORTER-test', Buffer.alloc(0)).toString('hex'));
            c.destroy();
          }
      } finally {
        server.close();
      }
    });
  }
});

d('key log', () => {
  test('our SSLKEYLOGFILE lines equal the ones openssl s_server writes for the same connection', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tlshs-kl-'));
    try {
      const file = join(dir, 'server.keys');
      const { port, proc } = await sServer('ec', ['-www', '-keylogfile', file]);
      const lines: string[] = [];
      const { sock } = await getPage(port, 'ec');
      void sock;
      const again = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: identity('ec').certPem });
      again.on('keylog', (l: Buffer) => lines.push(l.toString()));
      await new Promise<void>((resolve) => again.once('secureConnect', () => resolve()));
      again.write('GET / HTTP/1.0\r\n\r\n');
      await collect(again);
      proc.child.kill();
      const theirs = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
      const random = lines[0].split(' ')[1];
      const mine = lines.map((l) => l.trim()).sort();
      expect(mine).toHaveLength(5);
      expect(theirs.filter((l) => l.includes(random)).sort()).toEqual(mine);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('driver: failures reach the peer as alerts', () => {
  test('our client rejects an unknown CA; our server hears unknown_ca', async () => {
    const id = identity('ec');
    const other = identity('rsa', 'other');
    const server = createServer({ cert: id.certPem, key: id.keyPem });
    const heard = new Promise<Error>((resolve) => server.once('tlsClientError', (e: Error) => resolve(e)));
    const port = await listen(server);
    try {
      const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: other.certPem });
      const err = await new Promise<Error>((resolve) => sock.once('error', resolve));
      expect(err.message).toMatch(/unknown_ca/);
      expect((await heard).message).toMatch(/peer sent alert unknown_ca/);
    } finally {
      server.close();
    }
  });
});
