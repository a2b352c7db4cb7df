/**
 * The rest of the interop matrix (loopback, kernel TCP), beyond openssl-node.test.ts:
 *   openssl s_client vs our server: resumption, 0-RTT (-early_data), KeyUpdate requested by s_client;
 *   node:tls both ways: HelloRetryRequest, resumption, mutual TLS, KeyUpdate;
 *   a 100 MB transfer through a node:tls echo server, intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nodeTls from 'node:tls';
import type { SessionTicket } from '../../src/handshake/config.js';
import { connect, createServer, type TLSSocket } from '../../src/node/socket.js';
import { hasCommand } from '../../../../test/support/env.js';
import { identity } from '../support/pki.js';
import { killAll, run, waitFor } from '../support/procs.js';
import { echoOnce, listen, secure } from '../support/net.js';

const haveOpenssl = hasCommand('openssl');
const d = haveOpenssl ? describe : describe.skip;
if (!haveOpenssl) process.stderr.write('SKIPPED openssl s_client interop: no openssl command\n');

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tlshb-'));
});
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

d('openssl s_client vs our server: resumption, 0-RTT, KeyUpdate', () => {
  test('s_client resumes with our ticket (-sess_out / -sess_in), then sends 0-RTT we accept', async () => {
    const id = identity('ec');
    const seen: { resumed: boolean; early: boolean }[] = [];
    const server = createServer({ cert: id.certPem, key: id.keyPem, maxEarlyData: 16384 }, (s) => {
      seen.push({ resumed: s.handshakeInfo.resumed, early: s.handshakeInfo.earlyDataAccepted });
      let buf = '';
      s.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) s.end(`got:${buf}`);
      });
    });
    const port = await listen(server);
    try {
      const sess = join(dir, 'sess.pem');
      const common = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', id.certFile, '-servername', 'localhost', '-ign_eof'];
      const p1 = run('openssl', [...common, '-sess_out', sess], 'first\n');
      await p1.exited;
      expect(p1.stdout()).toContain('got:first');
      expect(p1.stdout()).toMatch(/Max Early Data: 16384/);

      const p2 = run('openssl', [...common, '-sess_in', sess], 'second\n');
      await p2.exited;
      expect(p2.stdout()).toContain('Reused, TLSv1.3');
      expect(p2.stdout()).toContain('got:second');

      const early = join(dir, 'early.txt');
      writeFileSync(early, 'zero-rtt\n');
      const p3 = run('openssl', [...common, '-sess_in', sess, '-early_data', early]);
      await p3.exited;
      expect(p3.stdout()).toContain('Early data was accepted');
      expect(p3.stdout()).toContain('got:zero-rtt');
      expect(seen).toEqual([
        { resumed: false, early: false },
        { resumed: true, early: false },
        { resumed: true, early: true },
      ]);
    } finally {
      server.close();
    }
  });

  test('s_client sends KeyUpdate with update_requested ("K"): our server rotates both keys, data flows', async () => {
    const id = identity('ec');
    const updates: string[] = [];
    const server = createServer({ cert: id.certPem, key: id.keyPem }, (s) => {
      s.on('keyUpdate', (dir: string) => updates.push(dir));
      s.pipe(s);
    });
    const port = await listen(server);
    try {
      // No -ign_eof: s_client then reads its stdin command letters ("K" = KeyUpdate, request peer).
      const p = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', id.certFile, '-servername', 'localhost']);
      await waitFor(() => p.stdout().includes('Verify return code'), 5000, 's_client handshake');
      p.child.stdin!.write('K\n');
      await waitFor(() => updates.includes('read') && updates.includes('write'), 5000, 'our server to see and answer the KeyUpdate');
      p.child.stdin!.write('after-update\n');
      await waitFor(() => p.stdout().includes('after-update'), 5000, 'echo after the KeyUpdate');
      p.child.stdin!.end();
      await p.exited;
      expect(updates).toEqual(['read', 'write']);
    } finally {
      server.close();
    }
  });
});

describe('node:tls interop: HRR, resumption, mutual TLS, KeyUpdate', () => {
  test('HRR: our client shares x25519, node:tls server takes only P-256', async () => {
    const id = identity('ec');
    const srv = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3', ecdhCurve: 'P-256' }, (s) => s.pipe(s));
    const port = await listen(srv);
    try {
      const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, keyShareGroups: ['x25519'] });
      await secure(sock);
      expect(sock.handshakeInfo).toMatchObject({ helloRetry: true, group: 'secp256r1' });
      expect(await echoOnce(sock, 'hrr')).toBe('hrr');
      sock.destroy();
    } finally {
      srv.close();
    }
  });

  test('HRR: a node:tls client shares X25519, our server takes only secp256r1', async () => {
    const id = identity('ec');
    let info: TLSSocket['handshakeInfo'] | undefined;
    const server = createServer({ cert: id.certPem, key: id.keyPem, groups: ['secp256r1'] }, (s) => {
      info = s.handshakeInfo;
      s.pipe(s);
    });
    const port = await listen(server);
    try {
      const c = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, ecdhCurve: 'X25519:P-256', minVersion: 'TLSv1.3' });
      await secure(c);
      expect(await echoOnce(c, 'hrr')).toBe('hrr');
      expect(info).toMatchObject({ helloRetry: true, group: 'secp256r1' });
      c.destroy();
    } finally {
      server.close();
    }
  });

  test('resumption: our client resumes with a node:tls server ticket', async () => {
    const id = identity('ec');
    const srv = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3' }, (s) => s.pipe(s));
    const port = await listen(srv);
    try {
      const first = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
      const session = await new Promise<SessionTicket>((resolve) => first.once('session', resolve));
      first.destroy();
      const again = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, session });
      await secure(again);
      expect(again.handshakeInfo.resumed).toBe(true);
      expect(await echoOnce(again, 'resumed')).toBe('resumed');
      again.destroy();
    } finally {
      srv.close();
    }
  });

  test('resumption: a node:tls client resumes with our ticket', async () => {
    const id = identity('ec');
    const resumed: boolean[] = [];
    const server = createServer({ cert: id.certPem, key: id.keyPem }, (s) => {
      resumed.push(s.handshakeInfo.resumed);
      s.pipe(s);
    });
    const port = await listen(server);
    try {
      const opts = { host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, minVersion: 'TLSv1.3' as const };
      const c1 = nodeTls.connect(opts);
      // Reading (the echo) lets node:tls process our NewSessionTicket.
      const gotSession = new Promise<Buffer>((resolve) => c1.once('session', resolve));
      await secure(c1);
      expect(await echoOnce(c1, 'one')).toBe('one');
      const session = await gotSession;
      c1.destroy();
      const c2 = nodeTls.connect({ ...opts, session });
      await secure(c2);
      expect(c2.isSessionReused()).toBe(true);
      expect(await echoOnce(c2, 'two')).toBe('two');
      c2.destroy();
      expect(resumed).toEqual([false, true]);
    } finally {
      server.close();
    }
  });

  test('mutual TLS: our client authenticates to a node:tls server', async () => {
    const id = identity('ec');
    const cid = identity('rsa', 'client');
    let authorized: boolean | undefined;
    const srv = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, ca: cid.certPem }, (s) => {
      authorized = s.authorized;
      s.pipe(s);
    });
    const port = await listen(srv);
    try {
      const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, cert: cid.certPem, key: cid.keyPem });
      await secure(sock);
      expect(await echoOnce(sock, 'mtls')).toBe('mtls');
      expect(authorized).toBe(true);
      expect(sock.handshakeInfo.signatureScheme).toBe('rsa_pss_rsae_sha256');
      sock.destroy();
    } finally {
      srv.close();
    }
  });

  test('mutual TLS: a node:tls client authenticates to our server', async () => {
    const id = identity('ec');
    const cid = identity('ed25519', 'client');
    let info: TLSSocket['handshakeInfo'] | undefined;
    const server = createServer({ cert: id.certPem, key: id.keyPem, requestCert: true, ca: cid.certPem }, (s) => {
      info = s.handshakeInfo;
      s.pipe(s);
    });
    const port = await listen(server);
    try {
      const c = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem, cert: cid.certPem, key: cid.keyPem, minVersion: 'TLSv1.3' });
      await secure(c);
      expect(await echoOnce(c, 'mtls')).toBe('mtls');
      expect(info).toMatchObject({ peerVerified: true, peerSignatureScheme: 'ed25519' });
      c.destroy();
    } finally {
      server.close();
    }
  });

  test('KeyUpdate both ways with node:tls: each side answers the other\'s update_requested', async () => {
    const id = identity('ec');
    // Our client -> node:tls server.
    const srv = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3' }, (s) => s.pipe(s));
    const port = await listen(srv);
    try {
      const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
      const updates: string[] = [];
      sock.on('keyUpdate', (dir: string) => updates.push(dir));
      await secure(sock);
      sock.keyUpdate(true);
      expect(await echoOnce(sock, 'after-ku')).toBe('after-ku');
      await waitFor(() => updates.includes('read'), 5000, 'node:tls to answer our KeyUpdate');
      expect(updates).toEqual(['write', 'read']);
      sock.destroy();
    } finally {
      srv.close();
    }
    // Our server -> node:tls client.
    const updates: string[] = [];
    const server = createServer({ cert: id.certPem, key: id.keyPem }, (s) => {
      s.on('keyUpdate', (dir: string) => updates.push(dir));
      s.once('data', (b: Buffer) => {
        s.keyUpdate(true);
        s.write(b);
        s.pipe(s);
      });
    });
    const port2 = await listen(server);
    try {
      const c = nodeTls.connect({ host: '127.0.0.1', port: port2, servername: 'localhost', ca: id.certPem, minVersion: 'TLSv1.3' });
      await secure(c);
      expect(await echoOnce(c, 'one')).toBe('one');
      // RFC 8446 4.6.3: the answer comes before the peer's next application data.
      expect(await echoOnce(c, 'two')).toBe('two');
      await waitFor(() => updates.includes('read'), 5000, 'the node:tls client to answer our KeyUpdate');
      expect(updates).toEqual(['write', 'read']);
      c.destroy();
    } finally {
      server.close();
    }
  });

  test('100 MB through a node:tls echo server arrives intact', async () => {
    const id = identity('ec');
    const srv = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3' }, (s) => s.pipe(s));
    const port = await listen(srv);
    try {
      const chunk = randomBytes(1024 * 1024);
      const total = 100;
      const want = createHash('sha256');
      for (let i = 0; i < total; i++) want.update(chunk);
      const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
      await secure(sock);
      const h = createHash('sha256');
      let n = 0;
      const done = new Promise<void>((resolve, reject) => {
        sock.on('data', (b: Buffer) => {
          h.update(b);
          n += b.length;
          if (n >= total * chunk.length) resolve();
        });
        sock.on('error', reject);
      });
      // Respect backpressure: write the next MiB when the previous one drained.
      for (let i = 0; i < total; i++) if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
      await done;
      expect(n).toBe(total * chunk.length);
      expect(h.digest('hex')).toBe(want.digest('hex'));
      sock.destroy();
    } finally {
      srv.close();
    }
  }, 60_000);
});
