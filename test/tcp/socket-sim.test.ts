/**
 * TcpSocket / TcpServer (net.Socket / net.Server look-alikes over a Host) on the simulator. The
 * streams use process.nextTick, so the virtual network is advanced in small steps with the event
 * loop turning in between.
 */
import { TcpError, TcpServer, TcpSocket } from '@tcpls/tcp';
import { B4, makePair, pseudoRandomBytes, sha256, type Pair } from './helpers.js';

async function runUntil(p: Pair, cond: () => boolean, maxVirtualMs = 120_000): Promise<void> {
  const end = p.net.now + maxVirtualMs;
  while (!cond()) {
    if (p.net.now > end) throw new Error(`condition not met after ${maxVirtualMs} virtual ms`);
    p.net.run(p.net.now + 2);
    await new Promise((r) => setImmediate(r));
  }
}

function collect(s: TcpSocket): { chunks: Buffer[]; ended: boolean } {
  const st = { chunks: [] as Buffer[], ended: false };
  s.on('data', (d: Buffer) => st.chunks.push(d));
  s.on('end', () => (st.ended = true));
  return st;
}

describe('TcpSocket and TcpServer on the simulator', () => {
  test('request/response with half-close: the server answers after the client end(), both sockets close cleanly', async () => {
    const p = makePair({ link: { rate: 50e6, delay: 2 } });
    const request = pseudoRandomBytes(300_000, 1);
    const response = pseudoRandomBytes(500_000, 2);
    const server = new TcpServer(p.b);
    let serverGot: { chunks: Buffer[]; ended: boolean } | null = null;
    let serverClosed = false;
    let listening = false;
    server.on('connection', (s: TcpSocket) => {
      serverGot = collect(s);
      s.on('end', () => s.end(response));
      s.on('close', () => (serverClosed = true));
    });
    server.listen(80, B4, () => (listening = true));
    const c = TcpSocket.connect(p.a, { host: B4, port: 80 });
    let connected = false;
    let clientClosed = false;
    c.on('connect', () => (connected = true));
    c.on('close', () => (clientClosed = true));
    const got = collect(c);
    c.end(request);
    await runUntil(p, () => clientClosed && serverClosed);
    expect(listening).toBe(true);
    expect(connected).toBe(true);
    expect(sha256(Buffer.concat(serverGot!.chunks))).toBe(sha256(request));
    expect(got.ended).toBe(true);
    expect(sha256(Buffer.concat(got.chunks))).toBe(sha256(response));
    expect(c.bytesWritten).toBe(request.length);
    expect(c.bytesRead).toBe(response.length);
    expect(c.remoteAddress).toBe(B4);
    expect(c.remotePort).toBe(80);
    server.close();
  });

  test('echo through pipe(): what the client sends comes back', async () => {
    const p = makePair({ link: { delay: 1, loss: 0.01 } });
    const server = new TcpServer(p.b);
    server.on('connection', (s: TcpSocket) => s.pipe(s));
    server.listen(7);
    const data = pseudoRandomBytes(200_000, 3);
    const c = TcpSocket.connect(p.a, { host: B4, port: 7 });
    const got = collect(c);
    c.end(data);
    await runUntil(p, () => got.ended);
    expect(sha256(Buffer.concat(got.chunks))).toBe(sha256(data));
  });

  test('a refused connection emits error with TcpError code connection-refused', async () => {
    const p = makePair({ link: { delay: 1 } });
    const c = TcpSocket.connect(p.a, { host: B4, port: 81 });
    let err: unknown = null;
    c.on('error', (e) => (err = e));
    await runUntil(p, () => err !== null);
    expect(err).toBeInstanceOf(TcpError);
    expect((err as TcpError).code).toBe('connection-refused');
  });

  test('destroy() before end() aborts with RST: the peer socket errors with connection-reset', async () => {
    const p = makePair({ link: { delay: 1 } });
    const server = new TcpServer(p.b);
    let peerErr: unknown = null;
    server.on('connection', (s: TcpSocket) => {
      s.on('error', (e) => (peerErr = e));
      s.resume();
    });
    server.listen(80);
    const c = TcpSocket.connect(p.a, { host: B4, port: 80 });
    let connected = false;
    c.on('connect', () => (connected = true));
    await runUntil(p, () => connected);
    c.write(pseudoRandomBytes(1000, 4));
    await runUntil(p, () => p.net.now > 50);
    c.destroy();
    await runUntil(p, () => peerErr !== null);
    expect((peerErr as TcpError).code).toBe('connection-reset');
  });

  test('backpressure: a paused reader closes the window, write() returns false, nothing is lost on resume', async () => {
    const p = makePair({ link: { rate: 20e6, delay: 2 } });
    const server = new TcpServer(p.b, { tcp: { recvBufferBytes: 65536 } });
    let sock: TcpSocket | null = null;
    let got: { chunks: Buffer[]; ended: boolean } | null = null;
    server.on('connection', (s: TcpSocket) => {
      sock = s;
      s.pause();
    });
    server.listen(80);
    const c = TcpSocket.connect(p.a, { host: B4, port: 80, tcp: { sendBufferBytes: 65536 } });
    const data = pseudoRandomBytes(2_000_000, 5);
    let off = 0;
    let blocked = false;
    const writeMore = () => {
      while (off < data.length) {
        const chunk = data.subarray(off, off + 16384);
        off += chunk.length;
        if (!c.write(chunk)) {
          blocked = true;
          c.once('drain', writeMore);
          return;
        }
      }
      c.end();
    };
    writeMore();
    await runUntil(p, () => p.net.now > 3000);
    expect(blocked).toBe(true);
    // Bounded by the receiver's buffer, the stream buffers and the sender's ring, not the 2 MB.
    expect(c.bytesWritten).toBeLessThan(400_000);
    expect(sock!.connection!.conn.tcb().rcvWnd).toBe(0);
    got = collect(sock!);
    sock!.resume();
    await runUntil(p, () => got!.ended);
    expect(sha256(Buffer.concat(got.chunks))).toBe(sha256(data));
  });
});
