/**
 * `tcpls get tcpls://HOST:PORT/PATH [-o FILE] [--insecure | --ca F] [--link raw|pcap | --stack kernel]
 *  [--streams N] [--json]`: downloads a file from `tcpls serve` (docs/packages/tcpls-cli.md). Prints
 * what TLS, TCP and TCPLS negotiated and every TCP-option difference the session detected. Against a
 * plain TLS 1.3 server (openssl s_server -www, `tcpls tls serve --www`) it falls back to
 * `GET /path HTTP/1.0` over TLS and says so.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as net from 'node:net';
import { type CertificateVerifier, chainVerifier, nodeCrypto, pemCertificates, systemTrustAnchors } from '@tcpls/tls';
import { type TcplsEndpoint, connectOverHost, endpointOverSocket, fileTrace } from '@tcpls/tcpls';
import { UsageError, intOption, parseArgs } from '../args.js';
import { pickUserStackPort } from '../user-stack.js';
import { EXPERIMENT_OPTION, type FetchResult, IN_ORDER_WINDOW, InOrder, OrderedHasher, differenceLines, fetchFile, negotiatedSummary, openUserHost, parseStack, progressBar, textSummary } from '../tcpls-common.js';

export const summary = 'download a file from a TCPLS server and report the option differences (falls back to plain TLS)';

const HELP = `usage: tcpls get tcpls://HOST:PORT/PATH [-o FILE] [--insecure | --ca F] [--servername N]
                 [--link raw|pcap [--local ADDR] [--exp-option] | --stack kernel] [--streams N]
                 [--json] [--trace FILE] [--timeout S]
  Downloads PATH (default port 4443). Progress goes to stderr when it is a terminal; the negotiated
  parameters and the TCP-options cross-check are printed on stderr, or as one JSON object on stdout
  with --json (bytes, sha256, seconds, optionDifferences, streams, negotiated, mode).
  Without -o the file goes to stdout (discarded with --json).
  --link raw|pcap  our userspace TCP (root); --stack kernel: Linux TCP (default; no cross-check)
  --local ADDR     our address: raw, one this namespace owns (default: the route's source);
                   pcap (required), an unused address on the link that the kernel does not own
  --exp-option     our TCP adds an RFC 6994 experimental option (kind 254, ExID 0x7c15) to its SYN,
                   so a middlebox that strips unknown options shows as option:254 (needs --link)
  --streams N      fetch in N parallel TCPLS streams (default 1)
  --insecure       accept any certificate (the handshake signature is still checked); --ca F: trust F
  --trace FILE     append the JSON-lines event trace (TLS, session, option checks) to FILE
  --timeout S      give up after S seconds (default 120)
`;

export function parseUrl(u: string): { host: string; port: number; path: string } {
  const m = /^tcpls:\/\/(\[[0-9a-fA-F:.]+\]|[^/:[\]]+)(?::(\d{1,5}))?(\/.*)?$/.exec(u);
  if (!m) throw new UsageError(`not a tcpls://HOST:PORT/PATH URL: '${u}'`);
  const host = m[1].replace(/^\[|\]$/g, '');
  const port = m[2] ? Number(m[2]) : 4443;
  if (port < 1 || port > 65535) throw new UsageError(`bad port in '${u}'`);
  return { host, port, path: m[3] ?? '/' };
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: ['output', 'ca', 'servername', 'link', 'stack', 'local', 'streams', 'trace', 'timeout'],
    flags: ['insecure', 'json', 'exp-option'],
    aliases: { o: 'output' },
  });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.positionals.length !== 1) throw new UsageError('needs exactly one tcpls://HOST:PORT/PATH');
  const url = parseUrl(a.positionals[0]);
  if (a.values.has('ca') && a.flags.has('insecure')) throw new UsageError('--ca and --insecure exclude each other');
  const stack = parseStack(a.values);
  const streams = intOption(a, 'streams', 1, 1, 64);
  const timeoutMs = intOption(a, 'timeout', 120, 1, 86400) * 1000;
  const json = a.flags.has('json');
  const servername = a.values.get('servername') ?? (net.isIP(url.host) ? 'localhost' : url.host);
  let verifier: CertificateVerifier | null = null;
  if (!a.flags.has('insecure')) {
    const anchors = a.values.has('ca') ? pemCertificates(readFileSync(a.values.get('ca')!, 'utf8')) : systemTrustAnchors();
    verifier = chainVerifier(anchors, nodeCrypto);
  }
  const tr = a.values.has('trace') ? fileTrace(a.values.get('trace')!) : null;
  const base = {
    role: 'client' as const,
    random: (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    tls: { serverName: servername, verifier },
    trace: tr?.trace,
  };

  // Where the bytes go.
  // -o FILE: the bytes go to FILE.part, opened at the first byte and renamed to FILE once the
  // download is complete, so a failed download neither leaves a truncated FILE nor clobbers one.
  const outFile = a.values.get('output');
  const partFile = outFile ? `${outFile}.part` : null;
  let fd: number | null = null;
  const discardOutput = (): void => {
    if (fd !== null) closeSync(fd);
    fd = null;
    if (partFile && existsSync(partFile)) unlinkSync(partFile);
  };
  const finishOutput = (): void => {
    if (!outFile || !partFile) return;
    if (fd === null) fd = openSync(partFile, 'w');
    closeSync(fd);
    fd = null;
    renameSync(partFile, outFile);
  };
  const hasher = new OrderedHasher();
  const toStdout = !outFile && !json;
  const stdoutInOrder = new InOrder((p) => process.stdout.write(p));
  const sink = {
    write(off: number, d: Uint8Array) {
      hasher.add(off, d);
      if (partFile !== null) {
        if (fd === null) fd = openSync(partFile, 'w');
        writeSync(fd, d, 0, d.length, off);
      }
      else if (toStdout) stdoutInOrder.add(off, d);
    },
  };

  let ep: TcplsEndpoint;
  let cleanup: () => Promise<void>;
  let how: string;
  if (stack.kind === 'user') {
    if (net.isIP(url.host) === 0) throw new UsageError('--link needs an IP address (our stack has no resolver)');
    const localPort = pickUserStackPort();
    const u = await openUserHost({ link: stack.link!, local: stack.local, remote: url.host, ports: [localPort] });
    const tcp = a.flags.has('exp-option') ? { extraSynOptions: [EXPERIMENT_OPTION] } : {};
    ep = connectOverHost(u.host, { address: url.host, port: url.port }, { ...base, localAddress: u.link.address, localPort, tcp }).endpoint;
    // Ctrl-C / kill must still close the link: it removes its nftables RST guard and port reservation.
    const onSignal = (sig: NodeJS.Signals): void => {
      void u.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    cleanup = async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await u.close();
    };
    how = `our TCP, ${u.link.description}`;
  } else {
    if (a.flags.has('exp-option')) throw new UsageError('--exp-option needs our TCP (--link raw|pcap): Linux TCP cannot add SYN options');
    const sock = net.connect({ host: url.host, port: url.port, localAddress: stack.local });
    try {
      await new Promise<void>((ok, ko) => {
        const t = setTimeout(() => ko(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        sock.once('connect', () => {
          clearTimeout(t);
          ok();
        });
        sock.once('error', (e) => {
          clearTimeout(t);
          ko(e);
        });
      });
    } catch (e) {
      process.stderr.write(`tcpls get: cannot connect to ${url.host}:${url.port}: ${(e as Error).message}\n`);
      sock.destroy();
      discardOutput();
      return 1;
    }
    ep = endpointOverSocket(sock, base);
    cleanup = async () => {
      sock.destroy();
    };
    how = 'Linux TCP (--stack kernel)';
  }
  const bar = progressBar(url.path);
  const t0 = performance.now();
  let result: FetchResult;
  let timer: NodeJS.Timeout | undefined;
  try {
    const p = fetchFile(ep, url.path, sink, {
      streams,
      // Several streams: fetch in order within a window, so neither stdout's reordering nor the
      // sha256's holds more than IN_ORDER_WINDOW bytes; stdout's backpressure pauses the reading.
      window: IN_ORDER_WINDOW,
      blocked: toStdout ? () => process.stdout.writableNeedDrain : undefined,
      waitUnblocked: toStdout ? (resume) => process.stdout.once('drain', resume) : undefined,
      hostName: url.host,
      onProgress: (b, t) => bar.update(b, t),
      onReady: (mode) => {
        if (mode === 'tls') process.stderr.write(`tcpls get: the server did not echo the tcpls extension: plain TLS 1.3 fallback, fetching with GET ${url.path} HTTP/1.0\n`);
      },
    });
    ep.start();
    result = await Promise.race([
      p,
      new Promise<never>((_, ko) => {
        timer = setTimeout(() => ko(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    bar.done();
    process.stderr.write(`tcpls get: ${(e as Error).message}\n`);
    ep.close();
    await cleanup();
    discardOutput();
    await tr?.close();
    return 1;
  } finally {
    clearTimeout(timer);
  }
  const seconds = (performance.now() - t0) / 1000;
  bar.done();
  finishOutput();
  const st = ep.stats();
  const report = {
    url: a.positionals[0],
    mode: result.mode,
    fallback: result.mode === 'tls' ? 'plain TLS 1.3 (server did not negotiate TCPLS); HTTP/1.0 over TLS' : null,
    httpStatus: result.httpStatus,
    bytes: result.bytes,
    sha256: hasher.digest(),
    seconds,
    goodputMbitPerSec: seconds > 0 ? (result.bytes * 8) / seconds / 1e6 : 0,
    output: outFile ?? (json ? null : '-'),
    stack: how,
    // null when no comparison was possible (plain TLS, Linux TCP, or a peer whose TCP is not ours).
    optionDifferences: st.optionDifferences,
    unseenFields: st.unseenFields,
    streams: result.streams,
    negotiated: negotiatedSummary(ep),
  };
  // Graceful close: TCPLS close_notify / FIN, then the link.
  ep.close();
  await new Promise<void>((ok) => {
    const t = setTimeout(ok, 300);
    const prev = ep.handlers.onClosed;
    ep.handlers.onClosed = (err) => {
      prev?.(err);
      clearTimeout(t);
      ok();
    };
    if (ep.mode === 'closed') {
      clearTimeout(t);
      ok();
    }
  });
  await cleanup();
  await tr?.close();
  if (json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    const lines = [`fetched ${url.path}: ${result.bytes} bytes in ${seconds.toFixed(3)} s (${report.goodputMbitPerSec.toFixed(1)} Mbit/s) over ${how}; sha256 ${report.sha256}`];
    if (report.fallback) lines.push(`fallback: ${report.fallback}${result.httpStatus ? ` (${result.httpStatus})` : ''}`);
    lines.push(...textSummary(ep), ...differenceLines(ep));
    process.stderr.write(lines.join('\n') + '\n');
  }
  return 0;
}
