/**
 * The Node driver's write path on loopback (kernel TCP): writes queued while the transport is busy
 * are joined into full records (_writev), large writes under backpressure arrive intact and in
 * order, and a node:tls peer reads what the batched path sends.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as nodeTls from 'node:tls';
import { connect, createServer, defaultRandom, type TLSSocket } from '../../src/node/socket.js';
import { identity } from '../support/pki.js';
import { listen, secure } from '../support/net.js';

/** Counts the records on a raw byte stream (5.1 headers), whatever the read boundaries. */
function recordCounter(): { feed(b: Buffer): void; lengths: number[] } {
  let pending = Buffer.alloc(0);
  const lengths: number[] = [];
  return {
    lengths,
    feed(b: Buffer) {
      pending = Buffer.concat([pending, b]);
      while (pending.length >= 5) {
        const len = pending.readUInt16BE(3);
        if (pending.length < 5 + len) break;
        if (pending[0] === 23) lengths.push(len);
        pending = pending.subarray(5 + len);
      }
    },
  };
}

describe('Node driver write batching', () => {
  const id = identity('ec');
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  /** Our server behind a plain net server, so the test sees the client's records on the wire. */
  async function serverWithWireCounter(): Promise<{ port: number; counter: ReturnType<typeof recordCounter>; received: Promise<Buffer> }> {
    const tls = createServer({ cert: id.certPem, key: id.keyPem, tickets: 0 });
    const counter = recordCounter();
    let resolveReceived!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => (resolveReceived = r));
    const raw = net.createServer((sock) => {
      sock.on('data', (b: Buffer) => counter.feed(b));
      const s = tls.accept(sock);
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => resolveReceived(Buffer.concat(chunks)));
      s.on('error', () => {});
    });
    const port = await listen(raw);
    closers.push(() => raw.close());
    return { port, counter, received };
  }

  test('small writes made while corked go out as full records, not one record each', async () => {
    const { port, counter, received } = await serverWithWireCounter();
    const c = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
    closers.push(() => c.destroy());
    await secure(c);
    const before = counter.lengths.length;
    c.cork();
    const parts: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const p = Buffer.alloc(100, i & 0xff);
      parts.push(p);
      c.write(p);
    }
    c.uncork();
    c.end();
    const got = await received;
    expect(got.equals(Buffer.concat(parts))).toBe(true);
    // 30000 bytes: two records (16384 + 13616 content) rather than 300, plus close_notify.
    const appRecords = counter.lengths.slice(before).filter((l) => l > 100);
    expect(appRecords.length).toBe(2);
    expect(counter.lengths.slice(before).length).toBeLessThanOrEqual(4);
  });

  test('large writes without waiting for drain arrive intact and in order (backpressure)', async () => {
    const { port, received } = await serverWithWireCounter();
    const c = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
    closers.push(() => c.destroy());
    await secure(c);
    const want = createHash('sha256');
    let total = 0;
    for (let i = 0; i < 64; i++) {
      // Mixed sizes: whole records, partial ones, and chunks bigger than a record.
      const size = [65536, 100, 16384, 20000, 1][i % 5];
      const b = Buffer.alloc(size, (i * 13) & 0xff);
      want.update(b);
      total += size;
      c.write(b);
    }
    c.end();
    const got = await received;
    expect(got.length).toBe(total);
    expect(createHash('sha256').update(got).digest('hex')).toBe(want.digest('hex'));
  });

  test('node:tls reads what our batched client sends (2 MB in 10 KB writes)', async () => {
    let resolveDigest!: (s: string) => void;
    const digest = new Promise<string>((r) => (resolveDigest = r));
    const server = nodeTls.createServer({ cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3' }, (s) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', () => {
        resolveDigest(h.digest('hex'));
        s.end();
      });
    });
    const port = await listen(server);
    closers.push(() => server.close());
    const c: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: id.certPem });
    closers.push(() => c.destroy());
    await secure(c);
    const want = createHash('sha256');
    for (let i = 0; i < 200; i++) {
      const b = Buffer.alloc(10240, i & 0xff);
      want.update(b);
      if (!c.write(b)) await new Promise((r) => c.once('drain', r));
    }
    c.end();
    expect(await digest).toBe(want.digest('hex'));
  });
});

describe('defaultRandom (pooled CSPRNG)', () => {
  test('right lengths, never the same bytes twice, outputs independent of each other', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = [32, 1, 0, 12, 255, 256, 257, 5000][i % 8];
      const r = defaultRandom(n);
      expect(r.length).toBe(n);
      expect(r).toBeInstanceOf(Uint8Array);
      if (n >= 12) {
        const h = Buffer.from(r).toString('hex');
        expect(seen.has(h)).toBe(false);
        seen.add(h);
      }
    }
    const a = defaultRandom(32);
    const keep = Buffer.from(a).toString('hex');
    const b = defaultRandom(32);
    b.fill(0);
    expect(Buffer.from(a).toString('hex')).toBe(keep);
    // Not all zero (the pool is wiped behind what it hands out, never ahead).
    expect(defaultRandom(64).some((x) => x !== 0)).toBe(true);
  });

  test('lengths the pool cannot serve go to randomBytes, which validates them', () => {
    expect(() => defaultRandom(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(defaultRandom(1.5).length).toBe(1); // randomBytes' own rounding, as before the pool
  });
});
