/** Loopback helpers shared by the interop tests. */
import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';

/** Listens on 127.0.0.1 on a free port; returns the port. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** Resolves on the client socket's 'secureConnect', rejects on its 'error'. */
export function secure(sock: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('secureConnect', () => resolve());
    sock.once('error', reject);
  });
}

/** Writes `msg` and resolves with the next chunk read (an echo server's answer). */
export function echoOnce(sock: Duplex, msg: string): Promise<string> {
  const got = new Promise<string>((resolve) => sock.once('data', (b: Buffer) => resolve(b.toString())));
  sock.write(msg);
  return got;
}
