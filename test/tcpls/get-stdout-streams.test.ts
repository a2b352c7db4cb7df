/**
 * `tcpls get --streams 16` to stdout over Linux TCP on loopback (no root): a file larger than
 * IN_ORDER_WINDOW arrives on stdout whole and in order (sha256), the ranges went out in chunks of at
 * most IN_ORDER_WINDOW / 16 (so what was held back stayed under the window), and the JSON-less
 * report names the same sha256.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { endpointOverSocket, selfSignedCertificate } from '@tcpls/tcpls';
import { IN_ORDER_WINDOW, bufferSource, serveFiles } from '../../packages/cli/src/tcpls-common.js';
import { run as get } from '../../packages/cli/src/commands/get.js';
import { seeded } from './harness';

test('tcpls get --streams 16 to stdout: a file past the in-order window arrives intact, fetched in window-bounded chunks', async () => {
  const file = seeded(31)(IN_ORDER_WINDOW + 1_000_003);
  const cert = selfSignedCertificate();
  const ranges: { start: number; end: number }[] = [];
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    socks.add(sock);
    sock.once('close', () => socks.delete(sock));
    const ep = endpointOverSocket(sock, {
      role: 'server',
      random: (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
      tls: { certificateChain: cert.chain, privateKey: cert.key },
    });
    serveFiles(ep, (p) => (p === '/f.bin' ? bufferSource(file) : 'not found'), (l) => {
      const m = / (\d+)-(\d+)/.exec(l);
      if (m) ranges.push({ start: Number(m[1]), end: Number(m[2]) });
    });
    ep.start();
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as net.AddressInfo).port;
  const h = createHash('sha256');
  let outBytes = 0;
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    h.update(b);
    outBytes += b.length;
    return true;
  });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  let code: number;
  try {
    code = await get([`tcpls://127.0.0.1:${port}/f.bin`, '--streams', '16', '--insecure', '--stack', 'kernel', '--timeout', '60']);
  } finally {
    o.mockRestore();
    e.mockRestore();
    for (const s of socks) s.destroy();
    await new Promise<void>((ok) => srv.close(() => ok()));
  }
  const want = createHash('sha256').update(file).digest('hex');
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  expect(outBytes).toBe(file.length);
  expect(h.digest('hex')).toBe(want);
  expect(err).toContain(`sha256 ${want}`);
  // The server saw chunked range requests, none longer than window / streams.
  expect(ranges.length).toBeGreaterThan(16);
  for (const r of ranges) expect(r.end - r.start).toBeLessThanOrEqual(IN_ORDER_WINDOW / 16);
}, 30_000);
