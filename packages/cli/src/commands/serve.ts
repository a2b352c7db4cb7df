/**
 * `tcpls serve [--port P] [--cert F --key F] [--dir D] [--link raw|pcap [--local A] | --stack kernel]`
 * Serves the files of a directory over TCPLS (docs/packages/tcpls-cli.md has the protocol); a plain
 * TLS 1.3 client (openssl s_client, curl) gets them over HTTP/1.0 instead, and the log says so.
 */
import * as net from 'node:net';
import { resolve } from 'node:path';
import { type CertificateMaterial, type TcplsEndpoint, defaultApplyPolicy, endpointOverSocket, fileTrace, listenOverHost, loadCertificate, selfSignedCertificate } from '@tcpls/tcpls';
import { UsageError, intOption, parseArgs } from '../args.js';
import { fileUnder, openUserHost, parseStack, serveFiles } from '../tcpls-common.js';
import { untilStopSignal } from '../user-stack.js';

export const summary = 'serve files over TCPLS (our TCP on a raw/pcap link, or Linux TCP); plain TLS clients get HTTP/1.0';

const HELP = `usage: tcpls serve [--port P] [--cert F --key F] [--dir D] [--link raw|pcap [--local ADDR] | --stack kernel]
                   [--host ADDR] [--allow-cc LIST] [--trace FILE]
  Serves the files under --dir (default: the current directory) on port P (default 4443).
  --link raw|pcap  our userspace TCP on a raw-socket or pcap link (root); the TCP-options cross-check
                   then sees the SYN options exactly
  --local ADDR     our address: raw, one this namespace owns (default: its first global address);
                   pcap (required), an unused address on the link that the kernel does not own (the
                   link answers ARP for it; replies to off-link clients go via the default gateway)
  --host ADDR      --stack kernel: the address to listen on (default 0.0.0.0)
  --stack kernel   Linux TCP via node:net (default when --link is absent; no root needed); the
                   kernel's SYN options are not visible to Node, so there is no cross-check
  Without --cert/--key a self-signed certificate for CN=localhost is made with openssl (not saved).
  --allow-cc LIST  congestion controllers a client may select on our TCP (e.g. newreno,cubic)
  --trace FILE     append the JSON-lines event trace to FILE
`;

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['port', 'cert', 'key', 'dir', 'link', 'stack', 'local', 'host', 'allow-cc', 'trace'], flags: [] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.positionals.length) throw new UsageError(`unexpected argument '${a.positionals[0]}'`);
  const port = intOption(a, 'port', 4443, 1, 65535);
  const dir = resolve(a.values.get('dir') ?? '.');
  const stack = parseStack(a.values);
  if (a.values.has('cert') !== a.values.has('key')) throw new UsageError('--cert and --key go together');
  let cert: CertificateMaterial;
  if (a.values.has('cert')) cert = loadCertificate(a.values.get('cert')!, a.values.get('key')!);
  else {
    cert = selfSignedCertificate();
    process.stderr.write(`tcpls serve: no --cert/--key: using a ${cert.origin}\n`);
  }
  const tr = a.values.has('trace') ? fileTrace(a.values.get('trace')!) : null;
  const allowCc = (a.values.get('allow-cc') ?? '').split(',').filter((x) => x !== '');
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  };
  const base = {
    random: (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    tls: { certificateChain: cert.chain, privateKey: cert.key },
    policy: { ...defaultApplyPolicy, congestionControllers: allowCc },
    trace: tr?.trace,
  };
  const lookup = (p: string) => fileUnder(dir, p);
  const onEndpoint = (ep: TcplsEndpoint, who: string): void => {
    const tag = (l: string) => log(`${who}: ${l}`);
    tag('connected');
    serveFiles(ep, lookup, tag);
    const inner = ep.handlers.onClosed;
    ep.handlers.onClosed = (err) => {
      inner?.(err);
      tag('closed');
    };
  };
  let stop: () => Promise<void>;
  if (stack.kind === 'user') {
    const u = await openUserHost({ link: stack.link!, local: stack.local, ports: [port] });
    listenOverHost(u.host, port, { ...base, address: u.link.address }, (ep, hc) => onEndpoint(ep, `${hc.remote.address}:${hc.remote.port}`));
    log(`serving ${dir} on ${u.link.address}:${port} over our TCP (${u.link.description})`);
    stop = () => u.close();
  } else {
    const socks = new Set<net.Socket>();
    const srv = net.createServer((sock) => {
      socks.add(sock);
      sock.once('close', () => socks.delete(sock));
      const ep = endpointOverSocket(sock, { ...base, role: 'server' });
      onEndpoint(ep, `${sock.remoteAddress}:${sock.remotePort}`);
      ep.start();
    });
    await new Promise<void>((ok, ko) => {
      srv.once('error', ko);
      srv.listen(port, a.values.get('host') ?? stack.local ?? '0.0.0.0', () => {
        srv.off('error', ko);
        // Later errors (e.g. EMFILE on accept) are logged: without a listener they would end the server.
        srv.on('error', (e) => log(`server error: ${e.message}`));
        ok();
      });
    });
    log(`serving ${dir} on ${a.values.get('host') ?? stack.local ?? '0.0.0.0'}:${port} over Linux TCP (--stack kernel: no TCP-options cross-check)`);
    stop = () =>
      new Promise<void>((ok) => {
        srv.close(() => ok());
        for (const s of socks) s.destroy();
      });
  }
  await untilStopSignal();
  log('stopping');
  await stop();
  await tr?.close();
  return 0;
}
