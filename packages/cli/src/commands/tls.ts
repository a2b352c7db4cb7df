/**
 * `tcpls tls connect|serve`: our TLS 1.3 engine as an openssl s_client / s_server look-alike.
 *   tcpls tls connect HOST PORT [--servername N] [--alpn P] [--ca F | --insecure] [--keylog F]
 *                               [--cert F --key F] [--stack kernel|user] [--json]
 *   tcpls tls serve PORT --cert F --key F [--www | --echo] [--alpn P] [--host A] [--keylog F]
 *                        [--stack kernel|user]
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { certificateNames, connect, createServer, nobleCrypto, nodeCrypto, type TLSSocket, type HandshakeInfo } from '@tcpls/tls';
import { UsageError, intOption, parseArgs } from '../args.js';

export const summary = 'TLS 1.3 client/server like openssl s_client/s_server (connect, serve)';

const HELP = `usage:
  tcpls tls connect HOST PORT [--servername N] [--alpn P] [--ca F | --insecure] [--keylog F]
                              [--cert F --key F] [--provider node|noble] [--stack kernel|user] [--json]
      Prints what was negotiated to stderr (or a JSON summary to stdout with --json), then copies
      stdin to the connection and the connection to stdout.
  tcpls tls serve PORT --cert F --key F [--www | --echo] [--alpn P] [--host ADDR] [--keylog F]
                       [--provider node|noble] [--stack kernel|user]
      --www answers "GET / HTTP/1.0" with a page describing the connection ("GET /keyupdate"
      sends a KeyUpdate first); --echo (default) echoes what it receives.
`;

/** `--stack user` needs our userspace TCP Host; it is wired in later. */
async function checkStack(stack: string | undefined): Promise<void> {
  if (stack === undefined || stack === 'kernel') return;
  if (stack !== 'user') throw new UsageError(`--stack must be kernel or user, got '${stack}'`);
  let tcp: Record<string, unknown>;
  try {
    tcp = (await import('@tcpls/tcp')) as Record<string, unknown>;
  } catch {
    throw new StackUnavailable();
  }
  if (typeof tcp.Host !== 'function') throw new StackUnavailable();
  throw new StackUnavailable('--stack user: the userspace TCP stack is not wired into `tcpls tls` yet (not available yet)');
}

class StackUnavailable extends Error {
  constructor(msg = '--stack user: our userspace TCP Host is not available yet; use --stack kernel') {
    super(msg);
  }
}

function describe(info: HandshakeInfo): Record<string, unknown> {
  let subject: string | null = null;
  let issuer: string | null = null;
  if (info.peerCertificates.length) {
    try {
      const c = certificateNames(info.peerCertificates[0]);
      subject = c.subject;
      issuer = c.issuer;
    } catch {
      subject = '(unparsable)';
    }
  }
  return {
    protocol: info.version,
    cipherSuite: info.suite,
    group: info.group,
    peerSignatureScheme: info.peerSignatureScheme,
    signatureScheme: info.signatureScheme,
    alpn: info.alpn,
    serverName: info.serverName,
    peerCertificateSubject: subject,
    peerCertificateIssuer: issuer,
    resumed: info.resumed,
    helloRetryRequest: info.helloRetry,
  };
}

async function runConnect(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['servername', 'alpn', 'ca', 'keylog', 'stack', 'provider', 'cert', 'key'], flags: ['insecure', 'json'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  const [host, portStr] = a.positionals;
  if (!host || !portStr) throw new UsageError('connect needs HOST PORT');
  const port = Number(portStr);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port '${portStr}'`);
  if (a.values.has('ca') && a.flags.has('insecure')) throw new UsageError('--ca and --insecure exclude each other');
  try {
    await checkStack(a.values.get('stack'));
  } catch (e) {
    if (e instanceof StackUnavailable) {
      process.stderr.write(`tcpls tls: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const provider = a.values.get('provider') === 'noble' ? nobleCrypto : nodeCrypto;
  const ca = a.values.get('ca');
  const json = a.flags.has('json');
  const insecure = a.flags.has('insecure');
  return await new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      process.stdin.pause();
      resolve(code);
    };
    const tcp = net.connect({ host, port });
    tcp.on('error', (e) => {
      process.stderr.write(`tcpls tls: ${e.message}\n`);
      finish(1);
    });
    tcp.once('connect', () => {
      let sock: TLSSocket;
      try {
        sock = connect({
          socket: tcp,
          host,
          servername: a.values.get('servername') ?? (net.isIP(host) ? undefined : host),
          ca: ca ? readFileSync(ca) : undefined,
          rejectUnauthorized: !insecure,
          alpn: a.values.has('alpn') ? a.all.get('alpn')!.flatMap((p) => p.split(',')) : undefined,
          keylog: a.values.get('keylog'),
          provider,
          cert: a.values.has('cert') ? readFileSync(a.values.get('cert')!) : undefined,
          key: a.values.has('key') ? readFileSync(a.values.get('key')!) : undefined,
        });
      } catch (e) {
        process.stderr.write(`tcpls tls: ${(e as Error).message}\n`);
        finish(1);
        return;
      }
      sock.on('error', (e) => {
        process.stderr.write(`tcpls tls: ${e.message}\n`);
        finish(1);
      });
      sock.once('secureConnect', () => {
        const d = describe(sock.handshakeInfo);
        const verification = insecure ? (sock.authorizationError ? `not verified (${sock.authorizationError.message})` : 'not checked (--insecure)') : 'ok';
        if (json) {
          process.stdout.write(JSON.stringify({ ...d, verification }) + '\n');
        } else {
          process.stderr.write(
            [
              `Protocol: ${d.protocol}`,
              `Cipher is ${d.cipherSuite}`,
              `Group: ${d.group}${d.helloRetryRequest ? ' (after HelloRetryRequest)' : ''}`,
              `Peer signature scheme: ${d.peerSignatureScheme ?? '-'}`,
              `ALPN: ${d.alpn ?? '-'}`,
              `Server certificate subject: ${d.peerCertificateSubject ?? '-'}`,
              `Issuer: ${d.peerCertificateIssuer ?? '-'}`,
              `Verification: ${verification}`,
              '---',
            ].join('\n') + '\n',
          );
        }
        process.stdin.pipe(sock, { end: false });
        process.stdin.once('end', () => {
          // Like s_client -ign_eof for a moment: let the server answer, then close our side.
          setTimeout(() => sock.end(), 1500).unref();
        });
      });
      sock.on('data', (d: Buffer) => process.stdout.write(d));
      sock.on('end', () => {
        sock.end();
        finish(0);
      });
      sock.on('close', () => finish(0));
    });
  });
}

function page(sock: TLSSocket, keyUpdated: boolean): string {
  const d = describe(sock.handshakeInfo);
  const lines = Object.entries(d).map(([k, v]) => `${k}: ${v === null ? '-' : String(v)}`);
  if (keyUpdated) lines.push('keyUpdate: sent before this page (update_requested)');
  return `HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\n\r\n<tcpls tls serve>\r\n${lines.join('\r\n')}\r\n`;
}

async function runServe(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['cert', 'key', 'alpn', 'host', 'keylog', 'stack', 'provider'], flags: ['www', 'echo'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  const [portStr] = a.positionals;
  if (!portStr) throw new UsageError('serve needs PORT');
  const port = intOption({ ...a, values: new Map([['port', portStr]]) }, 'port', 0, 1, 65535);
  const certFile = a.values.get('cert');
  const keyFile = a.values.get('key');
  if (!certFile || !keyFile) throw new UsageError('serve needs --cert F --key F');
  if (a.flags.has('www') && a.flags.has('echo')) throw new UsageError('--www and --echo exclude each other');
  try {
    await checkStack(a.values.get('stack'));
  } catch (e) {
    if (e instanceof StackUnavailable) {
      process.stderr.write(`tcpls tls: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const www = a.flags.has('www');
  const provider = a.values.get('provider') === 'noble' ? nobleCrypto : nodeCrypto;
  const server = createServer({
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    alpn: a.values.has('alpn') ? a.all.get('alpn')!.flatMap((p) => p.split(',')) : undefined,
    keylog: a.values.get('keylog'),
    provider,
  });
  server.on('secureConnection', (sock: TLSSocket) => {
    const d = describe(sock.handshakeInfo);
    process.stderr.write(`connection: ${d.cipherSuite} ${d.group} ${d.signatureScheme}${d.alpn ? ' alpn=' + d.alpn : ''}\n`);
    if (www) serveWww(sock);
    else sock.pipe(sock as Duplex);
  });
  server.on('tlsClientError', (e: Error) => process.stderr.write(`tls error: ${e.message}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, a.values.get('host') ?? '0.0.0.0', () => resolve());
  });
  process.stderr.write(`listening on ${a.values.get('host') ?? '0.0.0.0'}:${port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      server.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function serveWww(sock: TLSSocket): void {
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1');
    if (buf.length > 16384) {
      sock.destroy();
      return;
    }
    const end = buf.indexOf('\r\n\r\n') >= 0 ? buf.indexOf('\r\n\r\n') : buf.indexOf('\n\n');
    if (end < 0) return;
    sock.off('data', onData);
    const first = buf.split(/\r?\n/)[0];
    const m = /^GET (\S+)/.exec(first);
    if (!m) {
      sock.end('HTTP/1.0 400 bad request\r\n\r\n');
      return;
    }
    const ku = m[1] === '/keyupdate';
    if (ku) sock.keyUpdate(true);
    sock.end(page(sock, ku));
  };
  sock.on('data', onData);
  sock.on('error', () => undefined);
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'connect') return runConnect(rest);
  if (sub === 'serve') return runServe(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown subcommand '${sub}' (connect, serve)`);
}
