/**
 * `tcpls tls connect|serve`: our TLS 1.3 engine as an openssl s_client / s_server look-alike, over
 * Linux TCP (`--stack kernel`, default) or our userspace TCP on a real link (`--stack user`,
 * `--link raw|pcap`, root).
 *   tcpls tls connect HOST PORT [--servername N] [--alpn P] [--ca F | --insecure] [--keylog F]
 *                               [--cert F --key F] [--provider node|noble]
 *                               [--stack kernel|user] [--link raw|pcap] [--local ADDR] [--json]
 *   tcpls tls serve PORT --cert F --key F [--www | --echo] [--alpn P] [--host ADDR] [--keylog F]
 *                        [--provider node|noble] [--stack kernel|user] [--link raw|pcap] [--local ADDR]
 */
import { accessSync, appendFileSync, constants as fsConstants, readFileSync } from 'node:fs';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { certificateNames, connect, createServer, loadKeyPem, nobleCrypto, nodeCrypto, pemCertificates, type CryptoProvider, type TLSSocket, type HandshakeInfo } from '@tcpls/tls';
import { UsageError, parseArgs, type ParsedArgs } from '../args.js';
import { parseStack, type StackChoice } from '../tcpls-common.js';
import { untilStopSignal, userConnect, userListen } from '../user-stack.js';

export const summary = 'TLS 1.3 client/server like openssl s_client/s_server (connect, serve)';

const HELP = `usage:
  tcpls tls connect HOST PORT [options]
      A TLS 1.3 client like "openssl s_client": prints what was negotiated to stderr (or one JSON
      object to stdout with --json), then copies stdin to the connection and the connection to
      stdout. At the end of stdin it waits 1.5 s for the answer, then sends close_notify.
  tcpls tls serve PORT --cert F --key F [options]
      A TLS 1.3 server like "openssl s_server": logs each connection to stderr and serves it with
      --echo (default) or --www. Runs until SIGINT/SIGTERM.

connect options:
  --servername N     server name sent as SNI and checked against the certificate
                     (default: HOST when it is a name; none for an IP address)
  --ca F             PEM file of trust anchors (default: the system trust store)
  --insecure         do not abort on a certificate that fails verification (still reported)
  --cert F --key F   client certificate chain and private key (PEM) for mutual TLS
  --json             print the negotiated parameters as one JSON line on stdout
serve options:
  --cert F --key F   server certificate chain and private key (PEM; EC P-256, RSA or Ed25519)
  --www              answer "GET / HTTP/1.0" with a page describing the connection;
                     "GET /keyupdate" sends a KeyUpdate (update_requested) before the page
  --echo             echo every byte received (the default)
  --host ADDR        address to listen on with --stack kernel (default 0.0.0.0)
common options:
  --alpn P           offer/accept ALPN protocol P; repeat or use commas for several (h2,http/1.1)
  --keylog F         append the session secrets to F in SSLKEYLOGFILE format (for Wireshark)
  --provider node|noble
                     crypto provider: node:crypto (default, fast) or @noble (pure JavaScript)
  --stack kernel|user
                     kernel: Linux TCP via node:net (default); user: our userspace TCP (root)
  --link raw|pcap    with --stack user: raw IP socket (default) or pcap link (implies --stack user)
  --local ADDR       with --stack user: our IP address (required for pcap; raw picks the route's
                     source address); with --stack kernel: the address to connect from (connect)
                     or to listen on (serve, like --host)
  -h, --help         this help

exit status: 0 on a clean close, 1 on a TLS or connection error, 2 on a usage error.
`;

/** A file option read up front, so a typo is reported before any connection is made. */
function readOption(a: ParsedArgs, name: string): Buffer | undefined {
  const file = a.values.get(name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read --${name} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function providerOption(a: ParsedArgs): CryptoProvider {
  const p = a.values.get('provider') ?? 'node';
  if (p === 'node') return nodeCrypto;
  if (p === 'noble') return nobleCrypto;
  throw new UsageError(`--provider must be node or noble, got '${p}'`);
}

function alpnOption(a: ParsedArgs): string[] | undefined {
  if (!a.all.has('alpn')) return undefined;
  const list = a.all.get('alpn')!.flatMap((p) => p.split(','));
  for (const p of list) {
    // RFC 7301 3.1: protocol names are 1..255 bytes.
    const n = Buffer.byteLength(p);
    if (n < 1 || n > 255) throw new UsageError(`--alpn protocol names must be 1..255 bytes, got '${p}'`);
  }
  return list;
}

function keylogOption(a: ParsedArgs): string | undefined {
  const f = a.values.get('keylog');
  if (f === undefined) return undefined;
  try {
    appendFileSync(f, '');
  } catch (e) {
    throw new UsageError(`cannot write --keylog ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return f;
}

/** PEM certificate chain and key, checked up front with clear errors. */
function identityOption(a: ParsedArgs, required: boolean): { cert: Buffer; key: Buffer } | undefined {
  const hasCert = a.values.has('cert');
  const hasKey = a.values.has('key');
  if (!hasCert && !hasKey) {
    if (required) throw new UsageError('serve needs --cert F --key F');
    return undefined;
  }
  if (hasCert !== hasKey) throw new UsageError('--cert and --key go together');
  const cert = readOption(a, 'cert')!;
  const key = readOption(a, 'key')!;
  let chain: Uint8Array[];
  try {
    chain = pemCertificates(cert.toString('utf8'));
  } catch (e) {
    throw new UsageError(`--cert ${a.values.get('cert')}: ${(e as Error).message}`);
  }
  if (chain.length === 0) throw new UsageError(`--cert ${a.values.get('cert')}: no PEM CERTIFICATE block`);
  try {
    loadKeyPem(key.toString('utf8'));
  } catch (e) {
    throw new UsageError(`--key ${a.values.get('key')}: ${(e as Error).message}`);
  }
  return { cert, key };
}

function stackOption(a: ParsedArgs): StackChoice {
  const s = parseStack(a.values);
  if (s.local !== undefined && net.isIP(s.local) === 0) throw new UsageError(`--local must be an IP address, got '${s.local}'`);
  return s;
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
  const a = parseArgs(argv, { values: ['servername', 'alpn', 'ca', 'keylog', 'stack', 'link', 'local', 'provider', 'cert', 'key'], flags: ['insecure', 'json'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.positionals.length > 2) throw new UsageError(`connect takes HOST PORT, got extra '${a.positionals[2]}'`);
  const [host, portStr] = a.positionals;
  if (!host || !portStr) throw new UsageError('connect needs HOST PORT');
  const port = Number(portStr);
  if (!/^\d+$/.test(portStr) || port < 1 || port > 65535) throw new UsageError(`PORT must be 1..65535, got '${portStr}'`);
  if (a.values.has('ca') && a.flags.has('insecure')) throw new UsageError('--ca and --insecure exclude each other');
  const servernameOpt = a.values.get('servername');
  if (servernameOpt !== undefined && (servernameOpt === '' || net.isIP(servernameOpt) !== 0)) throw new UsageError(`--servername must be a DNS name, got '${servernameOpt}'`);
  const provider = providerOption(a);
  const alpn = alpnOption(a);
  const ca = readOption(a, 'ca');
  const id = identityOption(a, false);
  const keylog = keylogOption(a);
  const stack = stackOption(a);
  const json = a.flags.has('json');
  const insecure = a.flags.has('insecure');

  let transport: Duplex;
  if (stack.kind === 'user') {
    if (net.isIP(host) === 0) throw new UsageError(`--stack user needs an IP address for HOST (our stack has no resolver), got '${host}'`);
    try {
      transport = (await userConnect({ link: stack.link ?? 'raw', local: stack.local, host, port })).socket;
    } catch (e) {
      process.stderr.write(`tcpls tls: ${(e as Error).message}\n`);
      return 1;
    }
  } else {
    const tcp = net.connect({ host, port, localAddress: stack.local });
    const ok = await new Promise<boolean>((resolve) => {
      const onError = (e: Error): void => {
        process.stderr.write(`tcpls tls: ${e.message}\n`);
        resolve(false);
      };
      tcp.once('error', onError);
      tcp.once('connect', () => {
        tcp.off('error', onError); // from here on the TLS socket reports errors
        resolve(true);
      });
    });
    if (!ok) return 1;
    transport = tcp;
  }
  return await new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      process.stdin.pause();
      resolve(code);
    };
    const sock = connect({
      socket: transport,
      host,
      servername: servernameOpt ?? (net.isIP(host) ? undefined : host),
      ca,
      rejectUnauthorized: !insecure,
      alpn,
      keylog,
      provider,
      cert: id?.cert,
      key: id?.key,
    });
    sock.on('error', (e) => {
      process.stderr.write(`tcpls tls: ${e.message}\n`);
      finish(1);
    });
    sock.once('secureConnect', () => {
      const d = describe(sock.handshakeInfo);
      const verification = insecure ? (sock.authorizationError ? `not verified (${sock.authorizationError.message})` : 'ok (--insecure)') : 'ok';
      if (json) {
        process.stdout.write(JSON.stringify({ ...d, stack: stack.kind, verification }) + '\n');
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
            `TCP: ${stack.kind === 'user' ? `userspace (${stack.link ?? 'raw'} link)` : 'kernel'}`,
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
}

function page(sock: TLSSocket, keyUpdated: boolean): string {
  const d = describe(sock.handshakeInfo);
  const lines = Object.entries(d).map(([k, v]) => `${k}: ${v === null ? '-' : String(v)}`);
  if (keyUpdated) lines.push('keyUpdate: sent before this page (update_requested)');
  return `HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\n\r\n<tcpls tls serve>\r\n${lines.join('\r\n')}\r\n`;
}

async function runServe(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['cert', 'key', 'alpn', 'host', 'keylog', 'stack', 'link', 'local', 'provider'], flags: ['www', 'echo'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.positionals.length > 1) throw new UsageError(`serve takes one PORT, got extra '${a.positionals[1]}'`);
  const [portStr] = a.positionals;
  if (!portStr) throw new UsageError('serve needs PORT');
  if (!/^\d+$/.test(portStr) || Number(portStr) < 1 || Number(portStr) > 65535) throw new UsageError(`PORT must be 1..65535, got '${portStr}'`);
  const port = Number(portStr);
  if (a.flags.has('www') && a.flags.has('echo')) throw new UsageError('--www and --echo exclude each other');
  const id = identityOption(a, true)!;
  const provider = providerOption(a);
  const alpn = alpnOption(a);
  const keylog = keylogOption(a);
  const stack = stackOption(a);
  if (a.values.has('host') && a.values.has('local')) throw new UsageError('--host and --local exclude each other');
  const bindHost = a.values.get('host') ?? (stack.kind === 'kernel' ? stack.local : undefined);
  if (bindHost !== undefined && net.isIP(bindHost) === 0) throw new UsageError(`--host must be an IP address, got '${bindHost}'`);
  if (bindHost !== undefined && stack.kind === 'user') throw new UsageError('--host is for --stack kernel; use --local ADDR with --stack user');
  const www = a.flags.has('www');
  const server = createServer({ cert: id.cert, key: id.key, alpn, keylog, provider });
  server.on('secureConnection', (sock: TLSSocket) => {
    const d = describe(sock.handshakeInfo);
    process.stderr.write(`connection: ${d.cipherSuite} ${d.group} ${d.signatureScheme}${d.alpn ? ' alpn=' + d.alpn : ''}${d.resumed ? ' resumed' : ''}\n`);
    // A client that resets mid-connection must not take the server down (an 'error' without a listener throws).
    sock.on('error', (e: Error) => process.stderr.write(`connection error: ${e.message}\n`));
    if (www) serveWww(sock);
    else sock.pipe(sock as Duplex);
  });
  server.on('tlsClientError', (e: Error) => process.stderr.write(`tls error: ${e.message}\n`));
  let stop: () => void;
  if (stack.kind === 'user') {
    let us: Awaited<ReturnType<typeof userListen>>;
    try {
      us = await userListen({ link: stack.link ?? 'raw', local: stack.local, port });
    } catch (e) {
      process.stderr.write(`tcpls tls: ${(e as Error).message}\n`);
      return 1;
    }
    us.server.on('connection', (raw: Duplex) => server.accept(raw));
    process.stderr.write(`listening on ${us.address}:${port} (userspace TCP, ${stack.link ?? 'raw'} link)\n`);
    stop = () => us.server.close();
  } else {
    const listenOk = await new Promise<boolean>((resolve) => {
      server.once('error', (e) => {
        process.stderr.write(`tcpls tls: cannot listen on ${bindHost ?? '0.0.0.0'}:${port}: ${e.message}\n`);
        resolve(false);
      });
      server.listen(port, bindHost ?? '0.0.0.0', () => resolve(true));
    });
    if (!listenOk) return 1;
    process.stderr.write(`listening on ${bindHost ?? '0.0.0.0'}:${port}\n`);
    stop = () => server.close();
  }
  await untilStopSignal();
  stop();
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
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'connect') return runConnect(rest);
  if (sub === 'serve') return runServe(rest);
  if (sub === undefined) throw new UsageError('missing subcommand: connect or serve');
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  throw new UsageError(`unknown subcommand '${sub}' (connect, serve)`);
}
