/**
 * TCPLS over Linux TCP (node:net), as the C prototype runs. Node gives no access to the SYN or to
 * TCP_INFO, so the kernel side has no TcpControl: it sends no TCP Options Report and cannot compare
 * the peer's report with the wire; the peer's Apply requests are refused (unknown connection), since
 * Node can set neither TCP_USER_TIMEOUT nor TCP_CONGESTION. What the kernel does tell (addresses,
 * byte counts) is in the statistics, and `KERNEL_UNSEEN_FIELDS` lists what it cannot see.
 */
import * as net from 'node:net';
import type { ByteTransport, EndpointOptions } from './endpoint.js';
import { TcplsEndpoint } from './endpoint.js';

/** Cross-check fields a Node program cannot read from Linux TCP. */
export const KERNEL_UNSEEN_FIELDS = [
  'isn',
  'window',
  'ecn',
  'flags',
  'mss',
  'wscale',
  'sackPermitted',
  'timestamps',
  'userTimeout',
  'option:<kind>',
  'options-order',
  'nop-padding',
] as const;

/** Stop taking bytes while node:net holds this much unsent. */
const SOCKET_HIGH_WATER = 1024 * 1024;

/** A ByteTransport over a connected net.Socket; `onActivity` is called when data or room arrives. */
export function kernelTransport(sock: net.Socket, onActivity: () => void, onEnd: (err: Error | null) => void): ByteTransport {
  const inbox: Buffer[] = [];
  let ended = false;
  let corked = false;
  sock.on('data', (d: Buffer) => {
    inbox.push(d);
    onActivity();
  });
  sock.on('drain', onActivity);
  sock.on('end', () => {
    onActivity();
    if (!ended) {
      ended = true;
      onEnd(null);
    }
  });
  sock.on('error', (e) => {
    if (!ended) {
      ended = true;
      onEnd(e);
    }
  });
  sock.on('close', () => {
    if (!ended) {
      ended = true;
      onEnd(null);
    }
  });
  return {
    kind: 'kernel',
    write(d) {
      if (sock.destroyed || sock.writableEnded) return d.length;
      if (sock.writableLength > SOCKET_HIGH_WATER) return 0;
      // One record per write: cork until the end of this tick so a pump's records leave in one
      // writev instead of one syscall each.
      if (!corked) {
        corked = true;
        sock.cork();
        process.nextTick(() => {
          corked = false;
          sock.uncork();
        });
      }
      sock.write(d);
      return d.length;
    },
    read() {
      const d = inbox.shift();
      return d ? new Uint8Array(d.buffer, d.byteOffset, d.length) : null;
    },
    shutdown() {
      if (!sock.destroyed) sock.end();
    },
    abort() {
      // resetAndDestroy() on a socket that already ended spins in libuv (seen on Node 20): RST only
      // while the connection is still open both ways.
      if (sock.destroyed) return;
      if (!ended && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else sock.destroy();
    },
  };
}

export type KernelEndpointOptions = Omit<EndpointOptions, 'transport' | 'tcp' | 'now'> & { now?: () => number };

/** Runs a TCPLS endpoint over a connected Linux TCP socket (either role). */
export function endpointOverSocket(sock: net.Socket, opts: KernelEndpointOptions): TcplsEndpoint {
  let ep: TcplsEndpoint | null = null;
  const transport = kernelTransport(
    sock,
    () => ep?.pump(),
    (err) => ep?.transportClosed(err),
  );
  sock.setNoDelay(true);
  const now = opts.now ?? (() => performance.now());
  ep = new TcplsEndpoint({
    ...opts,
    transport,
    now,
    timer:
      opts.timer ??
      ((atMs, fn) => {
        const t = setTimeout(fn, Math.max(0, atMs - now()));
        return { cancel: () => clearTimeout(t) };
      }),
    label: opts.label ?? `${sock.localAddress}:${sock.localPort}-${sock.remoteAddress}:${sock.remotePort}`,
    unseenFields: KERNEL_UNSEEN_FIELDS,
    tcpStats: () => ({
      stack: 'kernel',
      localAddress: sock.localAddress,
      localPort: sock.localPort,
      remoteAddress: sock.remoteAddress,
      remotePort: sock.remotePort,
      bytesSent: sock.bytesWritten,
      bytesReceived: sock.bytesRead,
    }),
  });
  return ep;
}
