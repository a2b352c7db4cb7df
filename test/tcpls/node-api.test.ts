/**
 * The researcher API (connect / createServer, Duplex streams, events) over Linux TCP on loopback
 * (`stack: 'kernel'`, no root), including both fallbacks against Node's own TLS 1.3.
 */
import { once } from 'node:events';
import * as tls from 'node:tls';
import { type TcplsConnection, type TcplsDuplex, connect, createServer, memoryTrace, selfSignedCertificate } from '@tcpls/tcpls';
import { collect } from './harness';

const cert = selfSignedCertificate();

describe('Node API over Linux TCP (stack: kernel)', () => {
  // Servers and sockets are closed here as well as in the tests, so a failed expectation does not
  // leave a listening socket that keeps jest from exiting (close() twice is harmless).
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0).reverse()) c();
  });

  test('client and server streams both ways; the kernel side reports which fields it cannot see', async () => {
    const serverSessions: TcplsConnection[] = [];
    const server = createServer({ cert: cert.certPem, key: cert.keyPem, stack: 'kernel' }, (s) => {
      serverSessions.push(s);
      // Echo each client stream back reversed-case, and open one stream of our own.
      s.on('stream', (d: TcplsDuplex) => {
        void collect(d).then((b) => d.end(Buffer.from(b.toString().toUpperCase())));
      });
      s.openStream().end('from the server');
    });
    closers.push(() => server.close());
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = server.address()!.port;
    const tr = memoryTrace();
    const s = await connect({ host: '127.0.0.1', port, ca: cert.certPem, servername: 'localhost', stack: 'kernel', trace: tr.trace });
    closers.push(() => s.close());
    expect(s.mode).toBe('tcpls');
    const peerStream = new Promise<TcplsDuplex>((ok) => s.once('stream', ok));
    const a = s.openStream();
    const b = s.openStream();
    a.end('hello a');
    b.end('x'.repeat(200_000));
    const [ra, rb, ps] = await Promise.all([collect(a), collect(b), peerStream]);
    expect(ra.toString()).toBe('HELLO A');
    expect(rb.toString()).toBe('X'.repeat(200_000));
    expect(ps.id % 2).toBe(1); // server-opened streams are odd (draft §4.3)
    expect((await collect(ps)).toString()).toBe('from the server');
    const st = s.stats();
    expect(st.tcpls).toBe(true);
    expect(st.handshake?.peerVerified).toBe(true);
    expect(st.optionDifferences).toBeNull(); // nothing to compare: neither TCP is ours
    expect(st.unseenFields).toContain('mss');
    expect(tr.records.some((r) => r.event === 'tls-handshake-done' && r.tcpls === true)).toBe(true);
    s.close();
    server.close();
  });

  test('fallback: our client against node:tls (TLS 1.3, no tcpls extension) runs as plain TLS', async () => {
    const srv = tls.createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.3' }, (sock) => {
      sock.on('data', (d) => sock.end(`echo:${d}`));
    });
    closers.push(() => srv.close());
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    const port = (srv.address() as { port: number }).port;
    const s = await connect({ host: '127.0.0.1', port, insecure: true, stack: 'kernel' });
    closers.push(() => s.close());
    expect(s.mode).toBe('tls');
    const p = s.plain();
    p.write('ping');
    const got = await collect(p);
    expect(got.toString()).toBe('echo:ping');
    srv.close();
  });

  test('fallback: node:tls client against our server gets plain TLS', async () => {
    const server = createServer({ cert: cert.certPem, key: cert.keyPem, stack: 'kernel' }, (s) => {
      const p = s.plain();
      p.on('data', (d: Buffer) => p.end(`plain:${d}`));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    closers.push(() => server.close());
    const port = server.address()!.port;
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    closers.push(() => c.destroy());
    await once(c, 'secureConnect');
    c.write('hi');
    const got = await collect(c);
    expect(got.toString()).toBe('plain:hi');
    server.close();
  });
});
