/**
 * The CLI's file protocol faces hostile input: request lines, paths and responses are bounded and
 * checked (docs/packages/tcpls-cli.md). Runs on the simulator with a raw TcplsStream for the client.
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_REQUEST, OrderedHasher, bufferSource, fileUnder, parseRequest, serveFiles } from '../../packages/cli/src/tcpls-common';
import { parseUrl } from '../../packages/cli/src/commands/get';
import { createHash } from 'node:crypto';
import { StreamApp, simSession } from './harness';

describe('file protocol: parsing', () => {
  test('request lines: path and optional range; anything else is a bad request', () => {
    expect(parseRequest('GET /a/b.bin')).toEqual({ path: '/a/b.bin', start: null, end: null });
    expect(parseRequest('GET /f 10-20')).toEqual({ path: '/f', start: 10, end: 20 });
    expect(parseRequest('GET /f 20-10')).toBe('bad range');
    for (const bad of ['', 'GET', 'GET ', 'PUT /f', 'GET /f 1-', 'GET /f -1-2', 'GET /f 1-2 x', `GET /${'a'.repeat(3000)}`, 'GET /f 1234567890123456-1234567890123457']) {
      expect(typeof parseRequest(bad)).toBe('string');
    }
  });

  test('paths cannot leave the served directory (.., absolute tricks, symlinks out)', () => {
    const root = mkdtempSync(join(tmpdir(), 'tcpls-files-'));
    const outside = mkdtempSync(join(tmpdir(), 'tcpls-outside-'));
    try {
      writeFileSync(join(root, 'ok.txt'), 'ok');
      mkdirSync(join(root, 'sub'));
      writeFileSync(join(outside, 'secret'), 'no');
      symlinkSync(join(outside, 'secret'), join(root, 'link'));
      const ok = fileUnder(root, '/ok.txt');
      expect(typeof ok).toBe('object');
      expect(Buffer.from((ok as { read(o: number, n: number): Uint8Array }).read(0, 2)).toString()).toBe('ok');
      expect(fileUnder(root, '/../' + outside.split('/').pop() + '/secret')).toBe('bad path');
      expect(fileUnder(root, '/sub/../../etc/passwd')).toBe('bad path');
      expect(fileUnder(root, '/link')).toBe('bad path');
      expect(fileUnder(root, '/sub')).toBe('not a file');
      expect(fileUnder(root, '/missing')).toBe('not found');
      expect(fileUnder(root, '/')).toBe('bad path');
      expect(fileUnder(root, '/%')).toBe('bad path'); // malformed %-escape: an answer, not a URIError
      const escaped = fileUnder(root, '/ok%2etxt');
      expect(typeof escaped).toBe('object');
      (escaped as { close?(): void }).close?.();
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('tcpls:// URLs: host, IPv6 literal, default port 4443, path', () => {
    expect(parseUrl('tcpls://10.0.0.2:4443/f.bin')).toEqual({ host: '10.0.0.2', port: 4443, path: '/f.bin' });
    expect(parseUrl('tcpls://[fd00::2]/x')).toEqual({ host: 'fd00::2', port: 4443, path: '/x' });
    expect(parseUrl('tcpls://example.org')).toEqual({ host: 'example.org', port: 4443, path: '/' });
    for (const bad of ['http://x/', 'tcpls://', 'tcpls://h:99999/', 'tcpls://h:/x']) expect(() => parseUrl(bad)).toThrow();
  });

  test('ordered hashing of out-of-order pieces equals hashing the whole', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const h = new OrderedHasher();
    h.add(600, data.subarray(600));
    h.add(0, data.subarray(0, 300));
    h.add(300, data.subarray(300, 600));
    expect(h.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

describe('file protocol: a hostile client on a TCPLS stream', () => {
  function serverWith(file: Uint8Array) {
    const logs: string[] = [];
    const t = simSession({ seed: 21, onServer: (ep) => serveFiles(ep, (p) => (p === '/f' ? bufferSource(file) : 'not found'), (l) => logs.push(l)) });
    const client = new StreamApp(t.client, () => t.sim.now);
    t.runUntil(() => client.ready, 5000);
    return { t, client, logs };
  }

  test('a request line longer than the limit without a newline is answered ERR, not buffered forever', () => {
    const { t, client } = serverWith(new Uint8Array(10));
    const id = client.send(new Uint8Array(MAX_REQUEST + 100).fill(0x41));
    t.runUntil(() => client.finished.has(id), 10_000);
    expect(Buffer.from(client.bytesOf(id)).toString()).toBe('ERR bad request\n');
  });

  test('a range past the end is clipped; an empty range returns OK with 0 bytes', () => {
    const file = new Uint8Array(100).map((_, i) => i);
    const { t, client } = serverWith(file);
    const a = client.send(Buffer.from('GET /f 90-500\n'));
    const b = client.send(Buffer.from('GET /f 50-50\n'));
    t.runUntil(() => client.finished.has(a) && client.finished.has(b), 10_000);
    const ra = Buffer.from(client.bytesOf(a));
    expect(ra.subarray(0, ra.indexOf(10) + 1).toString()).toBe('OK 90 10 100\n');
    expect([...ra.subarray(ra.indexOf(10) + 1)]).toEqual([...file.subarray(90)]);
    expect(Buffer.from(client.bytesOf(b)).toString()).toBe('OK 50 0 100\n');
  });

  test('a session that ends in the middle of a transfer releases the file it was sending', () => {
    let closes = 0;
    const big = { size: 4 << 20, read: (_o: number, n: number) => new Uint8Array(n), close: () => void closes++ };
    const t = simSession({ seed: 22, link: { rate: 10e6, delay: 5 }, onServer: (ep) => serveFiles(ep, () => big, () => undefined) });
    const client = new StreamApp(t.client, () => t.sim.now);
    t.runUntil(() => client.ready, 5000);
    const id = client.send(Buffer.from('GET /f\n'));
    t.runUntil(() => client.bytesOf(id).length > 0, 10_000);
    expect(client.finished.has(id)).toBe(false);
    t.connection.abort();
    t.runUntil(() => t.servers[0].mode === 'closed', 10_000);
    expect(t.servers[0].mode).toBe('closed');
    expect(closes).toBe(1);
  });

  test('a stream closed without any request gets ERR bad request', () => {
    const { t, client } = serverWith(new Uint8Array(10));
    const id = client.send(new Uint8Array(0));
    t.runUntil(() => client.finished.has(id), 10_000);
    expect(Buffer.from(client.bytesOf(id)).toString()).toBe('ERR bad request\n');
  });
});
