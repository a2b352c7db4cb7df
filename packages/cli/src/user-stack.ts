/**
 * Our userspace TCP as a transport for commands that otherwise use node:net (`tcpls tls ...
 * --stack user`, serve, get): opens a real link (`--link raw|pcap`, see links.ts), puts a Host on
 * it, and hands back a TcpSocket (a Duplex shaped like net.Socket) for a client or a TcpServer
 * (shaped like net.Server) for a server. Whatever runs over a Duplex (our TLS driver, pipes) then
 * runs over our TCP unchanged.
 *
 * Lifetime: the link and the Host belong to the returned object. A client's stack closes itself
 * shortly after its socket closes (so the process can exit: the link holds native handles); a
 * server's stack closes with server.close(). `close()` on the returned handle does it at once.
 */
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { Host, TcpServer, TcpSocket, systemClock, type HostOptions, type TcpConfig } from '@tcpls/tcp';
import { LINK_KINDS, openLink, type LinkKind, type OpenedLink } from './links.js';

/**
 * Ports our stack picks for its own active opens: the top of the IANA dynamic range, which Linux's
 * default ip_local_port_range (32768-60999) never hands out, so a raw link shares the address with
 * the kernel's own sockets without colliding (the link reserves the chosen port as well).
 */
export const USER_STACK_EPHEMERAL: readonly [number, number] = [61000, 65535];

/** A random port in USER_STACK_EPHEMERAL, for our stack's active opens. */
export function pickUserStackPort(): number {
  return randomInt(USER_STACK_EPHEMERAL[0], USER_STACK_EPHEMERAL[1] + 1);
}

/** How long a client's stack lingers after its socket closed, so final ACKs and FINs still go out. */
const CLIENT_LINGER_MS = 200;

export class UserStackError extends Error {
  constructor(
    readonly code: 'bad-option' | 'connect-timeout' | 'connect-failed',
    message: string,
  ) {
    super(message);
    this.name = 'UserStackError';
  }
}

/** Parses a `--link` value (default raw). */
export function parseLinkKind(s: string | undefined): LinkKind {
  const v = s ?? 'raw';
  if (!(LINK_KINDS as readonly string[]).includes(v)) throw new UserStackError('bad-option', `--link must be one of ${LINK_KINDS.join(', ')}, got '${v}'`);
  return v as LinkKind;
}

export interface UserStackOptions {
  /** `--link raw|pcap`. */
  link: LinkKind;
  /** `--local ADDR`: our address (required for pcap; raw picks the route's source or the first global address). */
  local?: string;
  /** TCP settings for the connections of this stack. */
  tcp?: Partial<TcpConfig>;
  /** Verify incoming TCP checksums [true]. */
  verifyChecksums?: boolean;
  /** Per-connection trace records (JSON-able). */
  trace?: HostOptions['trace'];
}

/** A link with a Host on it. */
export interface UserStack {
  readonly host: Host;
  readonly link: OpenedLink;
  /** Aborts what is left on the Host and closes the link. Idempotent. */
  close(): Promise<void>;
}

/** Where the link goes: the ports it reserves for us, and the peer or family that picks our address. */
export interface UserStackLinkOptions extends UserStackOptions {
  /** Our ports: a raw link delivers only segments for them, reserves them and drops the kernel's RSTs from them. */
  ports: number[];
  /** The peer (a client's server): our address and device are those of the route to it. */
  remote?: string;
  /** Address family to pick an address in when neither `local` nor `remote` is given (raw link) [4]. */
  family?: 4 | 6;
}

/** Opens the link and puts a Host on it (the one place the CLI builds a real-time Host on a real link). */
export async function openUserStack(o: UserStackLinkOptions): Promise<UserStack> {
  const link = await openLink({ kind: o.link, remote: o.remote, local: o.local, ports: o.ports, family: o.family });
  return makeStack(link, o);
}

function makeStack(link: OpenedLink, o: UserStackOptions): UserStack {
  const host = new Host({
    io: link.io,
    clock: systemClock,
    addresses: [link.address],
    tcp: o.tcp,
    verifyChecksums: o.verifyChecksums,
    trace: o.trace,
    ephemeralPorts: [...USER_STACK_EPHEMERAL],
    // A raw link shares its address with the kernel: segments for ports that are not ours are the
    // kernel's business and must not be answered with our RST.
    resetScope: link.kind === 'raw' ? 'bound' : 'all',
  });
  let closing: Promise<void> | null = null;
  return {
    host,
    link,
    close(): Promise<void> {
      closing ??= (async () => {
        host.close();
        await link.io.close();
      })();
      return closing;
    },
  };
}

export interface UserConnectOptions extends UserStackOptions {
  /** The server's address (an IP address: our stack has no resolver). */
  host: string;
  port: number;
  /** Our port [random in USER_STACK_EPHEMERAL]. */
  localPort?: number;
}

export interface UserClient {
  /** Connecting: emits 'connect' (or 'error') like the socket net.connect() returns. */
  socket: TcpSocket;
  stack: UserStack;
}

function checkPort(p: number, what: string): void {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UserStackError('bad-option', `${what} must be a port number 1..65535, got ${p}`);
}

/**
 * Opens the link and starts a connection, like net.connect(): the socket is returned at once, still
 * connecting. The stack closes CLIENT_LINGER_MS after the socket's 'close'.
 */
export async function openUserClient(o: UserConnectOptions): Promise<UserClient> {
  if (isIP(o.host) === 0) throw new UserStackError('bad-option', `--stack user needs an IP address to connect to, got '${o.host}'`);
  checkPort(o.port, 'port');
  const localPort = o.localPort ?? pickUserStackPort();
  checkPort(localPort, 'local port');
  // The link learns our port up front: a raw link delivers only segments for it, reserves it from the
  // kernel and drops the kernel's RSTs from it (the kernel has no socket there and would reset us).
  const stack = await openUserStack({ ...o, remote: o.host, ports: [localPort] });
  const link = stack.link;
  let socket: TcpSocket;
  try {
    socket = TcpSocket.connect(stack.host, { host: o.host, port: o.port, localAddress: link.address, localPort, tcp: o.tcp });
  } catch (e) {
    await stack.close();
    throw e;
  }
  socket.once('close', () => {
    setTimeout(() => void stack.close(), CLIENT_LINGER_MS);
  });
  return { socket, stack };
}

/**
 * Like openUserClient, but resolves once the connection is established (rejects on failure or
 * after `timeoutMs`, closing the stack).
 */
export async function userConnect(o: UserConnectOptions & { timeoutMs?: number }): Promise<UserClient> {
  const c = await openUserClient(o);
  const timeoutMs = o.timeoutMs ?? 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup();
        reject(new UserStackError('connect-timeout', `no connection to ${o.host} port ${o.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = (): void => {
        cleanup();
        resolve();
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(new UserStackError('connect-failed', `connection to ${o.host} port ${o.port} failed: ${e.message}`));
      };
      const onClose = (): void => onError(new Error('closed'));
      const cleanup = (): void => {
        clearTimeout(t);
        c.socket.off('connect', onConnect);
        c.socket.off('error', onError);
        c.socket.off('close', onClose);
      };
      c.socket.once('connect', onConnect);
      c.socket.once('error', onError);
      c.socket.once('close', onClose);
    });
  } catch (e) {
    c.socket.destroy();
    await c.stack.close();
    throw e;
  }
  return c;
}

export interface UserListenOptions extends UserStackOptions {
  port: number;
  /** Address family to pick an address in when `local` is not given (raw link) [4]. */
  family?: 4 | 6;
  backlog?: number;
}

export interface UserServer {
  /** Listening on the stack's address; emits 'connection' with a TcpSocket. */
  server: TcpServer;
  stack: UserStack;
  /** The address we accept on. */
  address: string;
}

/** Opens the link and listens on `port`; server.close() also closes the stack. */
export async function userListen(o: UserListenOptions): Promise<UserServer> {
  checkPort(o.port, 'port');
  const stack = await openUserStack({ ...o, ports: [o.port] });
  const link = stack.link;
  const server = new TcpServer(stack.host, { backlog: o.backlog, tcp: o.tcp });
  server.once('close', () => void stack.close());
  try {
    await new Promise<void>((resolve) => server.listen(o.port, link.address, resolve));
  } catch (e) {
    await stack.close();
    throw e;
  }
  return { server, stack, address: link.address };
}

/**
 * For a command's `--stack user` server side: listens on our stack, hands every accepted TcpSocket
 * to `onConnection` (e.g. a TLS server's accept()), runs until SIGINT/SIGTERM, then closes the
 * listener and the link.
 */
export async function serveOnUserStack(o: UserListenOptions, onConnection: (s: TcpSocket) => void, log: (line: string) => void = () => {}): Promise<void> {
  const u = await userListen(o);
  u.server.on('connection', onConnection);
  log(`listening on ${u.address}:${o.port} (our TCP: ${u.stack.link.description})`);
  await untilStopSignal();
  u.server.close();
  await u.stack.close();
}

/** Resolves at the first SIGINT or SIGTERM (a server's "run until stopped"); removes both listeners then. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
