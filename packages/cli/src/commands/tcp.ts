/**
 * `tcpls tcp connect|listen`: our userspace TCP on a real link, like netcat.
 *   tcpls tcp connect HOST PORT [--link raw|pcap] [--cc newreno|cubic] [--local ADDR] [--json]
 *   tcpls tcp listen PORT [--link raw|pcap] [--file F | --echo] [--local ADDR] [--once]
 * stdout carries only connection data; messages and --json go to stderr.
 */
import { createReadStream, statSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  type Host,
  TcpError,
  TcpServer,
  TcpSocket,
  tcpFlagsToString,
  tcpOptionToJson,
  type CongestionControlName,
  type SynRecord,
  type TcpConfig,
} from '@tcpls/tcp';
import { UsageError, parseArgs, type ParsedArgs } from '../args.js';
import { LINK_KINDS, type LinkKind, type OpenedLink } from '../links.js';
import { type UserStack, openUserStack, pickUserStackPort } from '../user-stack.js';

export const summary = 'userspace TCP client/server on a raw-socket or pcap link, like netcat (connect, listen)';

const HELP = `usage:
  tcpls tcp connect HOST PORT [--link raw|pcap] [--cc newreno|cubic] [--local ADDR] [--json]
      Connects with our userspace TCP, copies stdin to the connection and the connection to
      stdout. stdin EOF sends our FIN; exits 0 once the peer's FIN arrived and ours was
      acknowledged, 1 on reset, refusal or timeout. --json prints the connection's statistics,
      negotiated parameters and SYN options as JSON on stderr at the end.
  tcpls tcp listen PORT [--link raw|pcap] [--file F | --echo] [--local ADDR] [--once]
                        [--cc newreno|cubic] [--json]
      Accepts any number of clients: --file sends F to each client and then closes (what the
      client sends is read and dropped); --echo (the default) sends back what it receives.
      --once exits after the first client is done. --json prints one JSON line per client
      on stderr when it closes (the same report as connect --json).

Common options:
  --link raw    (default) raw IP sockets on an address the kernel of this namespace owns; the
                link drops the kernel's RSTs for our ports with an nftables table and reserves
                the ports. Local address: --local, else the source of the route to HOST
                (ip route get HOST), else (listen) the first global address of the namespace.
  --link pcap   libpcap on an Ethernet device with an address the kernel does NOT own: --local
                ADDR is required (an unused address in the device's subnet); the device is the one
                of the route to HOST (listen: to ADDR); ARP / neighbour discovery are answered by us.
  --no-checksum-check   accept segments whose TCP checksum is wrong (only for a kernel peer whose
                veth still has tx checksum offload on; better: ethtool -K DEV tx off)
  --quiet       no progress messages on stderr

Both need root (raw sockets, nftables, pcap) and must run inside the network namespace they use
(ip netns exec NS tcpls tcp ...).
`;

const SPEC = { values: ['link', 'cc', 'local', 'file'], flags: ['json', 'echo', 'once', 'no-checksum-check', 'quiet'] } as const;

interface Common {
  link: LinkKind;
  cc: CongestionControlName | undefined;
  local: string | undefined;
  verifyChecksums: boolean;
  quiet: boolean;
}

function common(a: ParsedArgs): Common {
  const link = a.values.get('link') ?? 'raw';
  if (!(LINK_KINDS as readonly string[]).includes(link)) throw new UsageError(`--link must be raw or pcap, got '${link}'`);
  const cc = a.values.get('cc');
  if (cc !== undefined && cc !== 'newreno' && cc !== 'cubic') throw new UsageError(`--cc must be newreno or cubic, got '${cc}'`);
  const local = a.values.get('local');
  if (local !== undefined && isIP(local) === 0) throw new UsageError(`--local must be an IPv4 or IPv6 address, got '${local}'`);
  return { link: link as LinkKind, cc: cc as CongestionControlName | undefined, local, verifyChecksums: !a.flags.has('no-checksum-check'), quiet: a.flags.has('quiet') };
}

function parsePort(s: string | undefined, what: string): number {
  if (s === undefined) throw new UsageError(`${what} needs PORT`);
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new UsageError(`bad port '${s}' (1-65535)`);
  return Number(s);
}

/** The link and our Host on it; null (after a one-line message) when the link cannot be opened. */
async function openStack(c: Common, where: { remote?: string; ports: number[] }): Promise<UserStack | null> {
  try {
    return await openUserStack({ link: c.link, local: c.local, tcp: tcpConfig(c), verifyChecksums: c.verifyChecksums, ...where });
  } catch (e) {
    process.stderr.write(`tcpls tcp: ${(e as Error).message}\n`);
    return null;
  }
}

function tcpConfig(c: Common): Partial<TcpConfig> {
  // Larger buffers than the engine's default: a real path of a few Gbit/s and ms needs more window.
  const cfg: Partial<TcpConfig> = { recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20 };
  if (c.cc) cfg.congestionControl = c.cc;
  return cfg;
}

function say(c: Common, msg: string): void {
  if (!c.quiet) process.stderr.write(`tcpls tcp: ${msg}\n`);
}

function synJson(s: SynRecord | null): unknown {
  if (!s) return null;
  return { flags: tcpFlagsToString(s.flags), seq: s.seq, window: s.window, options: s.options.map(tcpOptionToJson), ecnFlags: s.ecnFlags, ipEcn: s.ipEcn };
}

/** What --json prints: the connection as our stack saw it. */
export function connectionReport(sock: TcpSocket, link: OpenedLink, host: Host): Record<string, unknown> {
  const hc = sock.connection;
  if (!hc) return { link: link.description };
  const syn = hc.conn.synInfo();
  return {
    link: link.description,
    local: hc.local,
    remote: hc.remote,
    state: hc.state,
    bytesWritten: sock.bytesWritten,
    bytesRead: sock.bytesRead,
    negotiated: hc.conn.negotiated(),
    stats: hc.conn.stats(),
    synSent: synJson(syn.sent),
    synReceived: synJson(syn.received),
    host: host.stats,
    linkStats: link.io.stats(),
  };
}

function errorText(e: Error): string {
  if (e instanceof TcpError) {
    switch (e.code) {
      case 'connection-refused':
        return 'connection refused: the peer answered our SYN with RST (nothing listens on that port?)';
      case 'connection-reset':
        return `connection reset by the peer (${e.message})`;
      case 'timeout':
      case 'user-timeout':
      case 'keepalive-timeout':
        return `connection timed out (${e.message})`;
      default:
        return `${e.code}: ${e.message}`;
    }
  }
  return e.message;
}

async function runConnect(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC);
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.values.has('file') || a.flags.has('echo') || a.flags.has('once')) throw new UsageError('--file, --echo and --once are for listen');
  const [host, portStr, ...extra] = a.positionals;
  if (host === undefined) throw new UsageError('connect needs HOST PORT');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (isIP(host) === 0) throw new UsageError(`HOST must be an IPv4 or IPv6 address, got '${host}'`);
  const port = parsePort(portStr, 'connect');
  const c = common(a);
  const localPort = pickUserStackPort();
  const stack = await openStack(c, { remote: host, ports: [localPort] });
  if (!stack) return 1;
  const { link, host: h } = stack;
  say(c, `${link.description}: connecting to ${host} port ${port}`);
  const sock = TcpSocket.connect(h, { host, port, localAddress: link.address, localPort });
  const code = await new Promise<number>((resolve) => {
    let ended = false; // peer FIN received and all its data written to stdout
    let finished = false; // stdin ended and our FIN queued
    let settled = false;
    let stdinDone = false;
    const finish = (n: number) => {
      if (settled) return;
      settled = true;
      process.stdin.pause();
      resolve(n);
    };
    const check = () => {
      const st = sock.connection?.state;
      if (ended && finished && (st === 'TIME-WAIT' || st === 'CLOSED')) finish(0);
    };
    sock.on('connect', () => say(c, `connected ${sock.localAddress}:${sock.localPort} -> ${host}:${port}`));
    sock.on('tcpEvent', check);
    sock.on('error', (e: Error) => {
      process.stderr.write(`tcpls tcp: ${errorText(e)}\n`);
      finish(1);
    });
    // Connection -> stdout, with backpressure both ways (the receive window closes when stdout is slow).
    sock.on('data', (d: Buffer) => {
      if (!process.stdout.write(d)) {
        sock.pause();
        process.stdout.once('drain', () => sock.resume());
      }
    });
    sock.on('end', () => {
      process.stdout.write('', () => {
        ended = true;
        check();
      });
      // The peer is done; if stdin is a terminal nobody will close it: our side closes too only
      // when stdin ends, as netcat does.
    });
    sock.on('finish', () => {
      finished = true;
      check();
    });
    // stdin -> connection.
    const stdinEnd = () => {
      if (stdinDone) return;
      stdinDone = true;
      sock.end();
    };
    process.stdin.on('data', (d: Buffer) => {
      if (!sock.write(d)) {
        process.stdin.pause();
        sock.once('drain', () => process.stdin.resume());
      }
    });
    process.stdin.on('end', stdinEnd);
    process.stdin.on('error', stdinEnd);
  });
  if (a.flags.has('json')) process.stderr.write(JSON.stringify(connectionReport(sock, link, h), null, 2) + '\n');
  else if (code === 0) {
    const st = sock.connection?.conn.stats();
    if (st) say(c, `done: ${sock.bytesWritten} bytes sent, ${sock.bytesRead} received, ${st.retransmits} retransmissions`);
  }
  await stack.close();
  process.stdin.destroy();
  return code;
}

async function runListen(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC);
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  const json = a.flags.has('json');
  const [portStr, ...extra] = a.positionals;
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const port = parsePort(portStr, 'listen');
  const c = common(a);
  const file = a.values.get('file');
  if (file !== undefined && a.flags.has('echo')) throw new UsageError('--file and --echo exclude each other');
  if (file !== undefined) {
    let ok = false;
    try {
      ok = statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--file ${file}: no such regular file`);
  }
  const stack = await openStack(c, { ports: [port] });
  if (!stack) return 1;
  const { link, host: h } = stack;
  const server = new TcpServer(h, { backlog: 128 });
  const once = a.flags.has('once');
  const code = await new Promise<number>((resolve) => {
    let clients = 0;
    const stop = (n: number) => {
      server.close();
      resolve(n);
    };
    process.once('SIGINT', () => stop(0));
    process.once('SIGTERM', () => stop(0));
    server.on('connection', (sock: TcpSocket) => {
      const id = ++clients;
      const who = `${sock.remoteAddress} port ${sock.remotePort}`;
      say(c, `client ${id}: ${who}`);
      let failed = false;
      sock.on('error', (e: Error) => {
        failed = true;
        say(c, `client ${id}: ${errorText(e)}`);
      });
      sock.on('close', () => {
        say(c, `client ${id}: closed (${sock.bytesWritten} bytes sent, ${sock.bytesRead} received)`);
        if (json) process.stderr.write(JSON.stringify({ client: id, ...connectionReport(sock, link, h) }) + '\n');
        if (once) stop(failed ? 1 : 0);
      });
      if (file !== undefined) {
        sock.on('data', () => {}); // what the client sends is read and dropped
        const rs = createReadStream(file, { highWaterMark: 256 * 1024 });
        rs.on('error', (e) => {
          say(c, `client ${id}: ${file}: ${e.message}`);
          sock.destroy(e);
        });
        rs.pipe(sock);
      } else {
        sock.pipe(sock);
      }
    });
    server.listen(port, link.address, () => say(c, `${link.description}: listening on port ${port}${file ? ` (serving ${file})` : ' (echo)'}`));
  });
  await stack.close();
  return code;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('missing subcommand: connect or listen');
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (sub === 'connect') return await runConnect(rest);
  if (sub === 'listen') return await runListen(rest);
  throw new UsageError(`unknown subcommand '${sub}' (connect or listen)`);
}
