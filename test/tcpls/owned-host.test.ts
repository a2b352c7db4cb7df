/**
 * A Host the driver builds from `link` (no tcpHost given) is the driver's to close: for a client
 * once its session is over and TCP finished the graceful close (close_notify + FIN, no RST); for a
 * TcplsServer in close() once its connections are closed. Seen through a link wrapper: Host.close()
 * detaches by replacing the link's packet handler; the wrapper also counts FIN/RST segments sent.
 */
import { SimNetwork } from '@tcpls/link';
import type { PacketIo } from '@tcpls/tcp';
import { type TcplsConnection, type TcplsDuplex, connect, createServer, selfSignedCertificate } from '@tcpls/tcpls';
import { collect, seeded } from './harness';

interface LinkSpy {
  link: PacketIo;
  /** How many times a packet handler was set: 1 = the Host attached, 2 = Host.close() detached it. */
  handlers: number;
  fins: number;
  rsts: number;
}

function spyLink(io: PacketIo): LinkSpy {
  const spy: LinkSpy = {
    handlers: 0,
    fins: 0,
    rsts: 0,
    link: {
      name: `spy:${io.name}`,
      mtu: io.mtu,
      send(p: Uint8Array): boolean {
        if ((p[0] >> 4) === 4 && p[9] === 6) {
          const flags = p[(p[0] & 0x0f) * 4 + 13];
          if (flags & 0x01) spy.fins++;
          if (flags & 0x04) spy.rsts++;
        }
        return io.send(p);
      },
      onPacket(h: (p: Uint8Array) => void): void {
        spy.handlers++;
        io.onPacket(h);
      },
      close: () => io.close(),
    },
  };
  return spy;
}

function simLinks() {
  const sim = new SimNetwork({ seed: 11 });
  const ch = sim.addHost('c', { addresses: ['10.0.0.1'] });
  const sh = sim.addHost('s', { addresses: ['10.0.0.2'] });
  sim.connect(ch, sh, { delay: 1 });
  let running = true;
  const tick = (): void => {
    if (!running) return;
    const next = sim.nextEventTime;
    if (next !== null) sim.run(next);
    setImmediate(tick);
  };
  setImmediate(tick);
  return { client: spyLink(ch), server: spyLink(sh), stop: () => (running = false) };
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cert = selfSignedCertificate();

function echoServer(link: PacketIo) {
  return createServer({ cert: cert.certPem, key: cert.keyPem, link, localAddress: '10.0.0.2', random: seeded(3) }, (s: TcplsConnection) => {
    s.on('stream', (d: TcplsDuplex) => void collect(d).then((b) => d.end(b)));
  });
}

test('link-built Hosts: the client Host closes after the graceful close (FIN, no RST); the server Host on close()', async () => {
  const { client, server: srv, stop } = simLinks();
  try {
    const server = echoServer(srv.link);
    server.listen(443);
    const s = await connect({ host: '10.0.0.2', port: 443, link: client.link, localAddress: '10.0.0.1', insecure: true, random: seeded(4) });
    const d = s.openStream();
    d.end(Buffer.alloc(20_000, 0x62));
    expect((await collect(d)).length).toBe(20_000);
    // Session open: the Host is still attached.
    expect(client.handlers).toBe(1);
    const closed = new Promise<unknown>((ok) => s.once('close', ok));
    s.close();
    expect(await closed).toBeFalsy();
    await until('the client Host to detach', () => client.handlers === 2);
    expect(client.fins).toBeGreaterThanOrEqual(1);
    expect(client.rsts).toBe(0);
    // The server Host stays while the server is open, even with no connection left.
    await until('the server side to close', () => server.connections.size === 0);
    expect(srv.handlers).toBe(1);
    server.close();
    expect(srv.handlers).toBe(2);
    expect(srv.rsts).toBe(0);
  } finally {
    stop();
  }
});

test('TcplsServer.close() with a live session: the server Host closes only after that session closed gracefully', async () => {
  const { client, server: srv, stop } = simLinks();
  try {
    const server = echoServer(srv.link);
    server.listen(443);
    const s = await connect({ host: '10.0.0.2', port: 443, link: client.link, localAddress: '10.0.0.1', insecure: true, random: seeded(5) });
    const d = s.openStream();
    d.end(Buffer.from('hello'));
    expect((await collect(d)).toString()).toBe('hello');
    await until('the server session', () => server.connections.size === 1);
    const clientClosed = new Promise<unknown>((ok) => s.once('close', ok));
    server.close();
    // close() started the graceful close; the Host must not be torn down (RST) before it ends.
    expect(srv.handlers).toBe(1);
    expect(await clientClosed).toBeFalsy();
    await until('the server Host to detach', () => srv.handlers === 2);
    await until('the client Host to detach', () => client.handlers === 2);
    expect(srv.fins).toBeGreaterThanOrEqual(1);
    expect(srv.rsts).toBe(0);
    expect(client.rsts).toBe(0);
  } finally {
    stop();
  }
});
