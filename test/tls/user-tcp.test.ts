/**
 * Issue 4, "the same client and server complete handshakes and a transfer over our userspace TCP in
 * a lab": our TLS 1.3 engine running over our own TCP (packages/cli/src/user-stack.ts: a
 * RawSocketLink + Host per process) between two network namespaces, against itself and against
 * OpenSSL on Linux's TCP.
 *
 * Each end is a child process inside its namespace (a link must be opened inside the namespace), a
 * small script under fixtures/ that imports the BUILT packages (dist/); beforeAll builds them.
 * The lab (`labUp`, two-hosts topology) turns TSO/GSO/checksum offloads off on both veths, so the
 * kernel peer of the OpenSSL cases sends real MSS-sized segments with full checksums.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp } from '@tcpls/link';
import { describeIf, hasCommand, netnsUnavailableReason, uniqueTag } from '../support/env';
import { USER_STACK_EPHEMERAL } from '../../packages/cli/src/user-stack';
// @ts-ignore -- a plain .mjs helper shared with the child scripts (no type declarations)
import { pattern, patternSha256 } from './fixtures/data.mjs';

const repo = join(__dirname, '..', '..');
const fixtures = join(__dirname, 'fixtures');

function reason(): string | null {
  const r = netnsUnavailableReason();
  if (r) return r;
  for (const c of ['openssl', 'ethtool', 'tc', 'sysctl']) if (!hasCommand(c)) return `needs the '${c}' command (scripts/setup.sh installs it)`;
  return null;
}

interface Child {
  proc: ChildProcess;
  out: Buffer[];
  err: string[];
  exited: Promise<number | null>;
  lines(): Record<string, unknown>[];
}

const children: ChildProcess[] = [];

/** Runs `cmd args` inside namespace `ns` (ip netns exec execs, so the PID is the command's). */
function nsSpawn(ns: string, cmd: string, args: string[], stdin: 'pipe' | number = 'pipe'): Child {
  const proc = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: repo, stdio: [stdin, 'pipe', 'pipe'] });
  children.push(proc);
  const c: Child = {
    proc,
    out: [],
    err: [],
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
    lines: () =>
      Buffer.concat(c.out)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
  proc.stdout!.on('data', (d: Buffer) => c.out.push(d));
  proc.stderr!.on('data', (d: Buffer) => c.err.push(d.toString()));
  return c;
}

async function waitFor(pred: () => boolean, ms: number, what: string, c?: Child): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${c ? `; stderr: ${c.err.join('').slice(-2000)}` : ''}`);
    if (c && c.proc.exitCode !== null) throw new Error(`${what}: the process exited (${c.proc.exitCode}); stderr: ${c.err.join('').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function exitOf(c: Child, ms: number, what: string): Promise<number | null> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms; stderr: ${c.err.join('').slice(-2000)}`)), ms);
  });
  try {
    return await Promise.race([c.exited, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** Kills one child we started, by PID, and waits for it. */
async function stop(c: Child): Promise<void> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) {
    c.proc.kill('SIGTERM');
    const t = setTimeout(() => c.proc.kill('SIGKILL'), 2000);
    await c.exited;
    clearTimeout(t);
  }
}

/** Builds the packages the child scripts import; tolerates type errors elsewhere as long as dist/ exists. */
function buildDist(): void {
  try {
    execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-b', 'packages/cli'], { cwd: repo, stdio: 'ignore' });
  } catch {
    // tsc -b still emits; the check below decides.
  }
  for (const f of ['packages/cli/dist/user-stack.js', 'packages/cli/dist/links.js', 'packages/tls/dist/index.js', 'packages/tcp/dist/index.js', 'packages/link/dist/index.js']) {
    if (!existsSync(join(repo, f))) throw new Error(`${f} is missing: run npx tsc -b`);
  }
}

describeIf(reason(), 'TLS 1.3 over our userspace TCP in a namespace lab', () => {
  const prefix = `hu${uniqueTag()}`;
  const clientNs = `${prefix}-client`;
  const serverNs = `${prefix}-server`;
  let dir = '';
  let certFile = '';
  let keyFile = '';
  let clientAddr = '';
  let serverAddr = '';
  let ourServer: Child | null = null;
  const OUR_PORT = 4433;
  const OPENSSL_PORT = 4444;
  const REQUEST = 3_000_000; // client -> server
  const REPLY = 2_000_000; // server -> client

  beforeAll(async () => {
    buildDist();
    dir = mkdtempSync(join(tmpdir(), 'hu-tls-'));
    const lab = await labUp({ topology: 'two-hosts', prefix });
    clientAddr = lab.endpoints.client.v4!;
    serverAddr = lab.endpoints.server.v4!;
    certFile = join(dir, 'cert.pem');
    keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', `subjectAltName=DNS:localhost,IP:${serverAddr}`],
      { stdio: 'ignore' },
    );
    ourServer = nsSpawn(serverNs, 'node', [
      join(fixtures, 'tls-user-server.mjs'),
      '--link', 'raw', '--local', serverAddr, '--port', String(OUR_PORT),
      '--cert', certFile, '--key', keyFile,
      '--expect', String(REQUEST), '--reply', String(REPLY), '--seed', 'reply',
    ]);
    const srv = ourServer;
    await waitFor(() => srv.lines().some((l) => l.event === 'listening'), 15_000, 'our TLS server to listen', srv);
  }, 60_000);

  afterAll(async () => {
    // Our server closes its link on SIGTERM (removing its nftables table and reserved port).
    if (ourServer) await stop(ourServer);
    for (const p of children) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    try {
      await labDown(prefix);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  function clientArgs(port: number, extra: string[]): string[] {
    return [join(fixtures, 'tls-user-client.mjs'), '--link', 'raw', '--host', serverAddr, '--port', String(port), '--ca', certFile, '--servername', 'localhost', ...extra];
  }

  test('our client over our TCP <-> our server over our TCP: handshake, 3 MB up and 2 MB down intact (sha256)', async () => {
    const before = ourServer!.lines().filter((l) => l.event === 'connection').length;
    const c = nsSpawn(clientNs, 'node', clientArgs(OUR_PORT, ['--bytes', String(REQUEST), '--seed', 'request']));
    expect(await exitOf(c, 30_000, 'the TLS client')).toBe(0);
    const secure = c.lines().find((l) => l.event === 'secure')!;
    const done = c.lines().find((l) => l.event === 'done')!;
    expect(secure).toMatchObject({ suite: 'TLS_AES_128_GCM_SHA256', group: 'x25519', peerSignatureScheme: 'ecdsa_secp256r1_sha256', authorized: true });
    // It really ran on our stack: our address, a port from our stack's range, our TCP's counters.
    const [addr, port] = String(secure.local).split(':');
    expect(addr).toBe(clientAddr);
    expect(Number(port)).toBeGreaterThanOrEqual(USER_STACK_EPHEMERAL[0]);
    expect((done.tcp as { bytesSent: number }).bytesSent).toBeGreaterThan(REQUEST);
    expect((done.tcp as { bytesReceived: number }).bytesReceived).toBeGreaterThan(REPLY);
    // What the server received is what we sent; what we received is what it sent.
    expect(done.reply).toEqual({ bytes: REQUEST, sha256: patternSha256('request', REQUEST) });
    expect(done.receivedBytes).toBe(REPLY);
    expect(done.receivedSha256).toBe(patternSha256('reply', REPLY));
    await waitFor(() => ourServer!.lines().filter((l) => l.event === 'connection').length > before, 5000, 'the server to log the connection', ourServer!);
    const conn = ourServer!.lines().filter((l) => l.event === 'connection').at(-1)!;
    expect(conn.bytes).toBe(REQUEST);
  }, 40_000);

  test('noble client with ChaCha20-Poly1305 over our TCP <-> our server (node:crypto): cross-provider transfer intact', async () => {
    // noble's ChaCha runs at ~85 MB/s: the server still expects REQUEST bytes, so send them all.
    const c = nsSpawn(clientNs, 'node', clientArgs(OUR_PORT, ['--bytes', String(REQUEST), '--seed', 'request', '--provider', 'noble', '--suite', 'TLS_CHACHA20_POLY1305_SHA256']));
    expect(await exitOf(c, 30_000, 'the noble TLS client')).toBe(0);
    const secure = c.lines().find((l) => l.event === 'secure')!;
    const done = c.lines().find((l) => l.event === 'done')!;
    expect(secure).toMatchObject({ suite: 'TLS_CHACHA20_POLY1305_SHA256', authorized: true });
    expect(done.reply).toEqual({ bytes: REQUEST, sha256: patternSha256('request', REQUEST) });
    expect(done.receivedSha256).toBe(patternSha256('reply', REPLY));
  }, 40_000);

  // Skipped until PcapLink copies the MACs it learns: packages/link/src/pcap/neighbors.ts learn()
  // keeps `mac.slice(0, 6)`, and on a Buffer (cap's reused capture buffer) slice() is a view, so the
  // next captured frame overwrites the cached MAC and every later frame goes to a garbage address
  // (seen here: 40:06:... = the TTL and protocol bytes of the next IPv4 header). Whether it bites
  // depends on which frame is captured next: it failed in 4 of 4 runs in a lab that had seen the
  // address before, passed in 3 of 3 fresh-lab runs, and passed with a copying slice. Flip
  // PCAP_NEIGHBOR_COPY_FIXED to true once neighbors.ts copies (e.g. Uint8Array.from(mac.subarray(0, 6))).
  const PCAP_NEIGHBOR_COPY_FIXED = true;
  (PCAP_NEIGHBOR_COPY_FIXED ? test : test.skip)('our client over our TCP on a pcap link (an address the kernel does not own) <-> our server on a raw link', async () => {
    const pcapAddr = `${serverAddr.slice(0, serverAddr.lastIndexOf('.'))}.10`;
    const c = nsSpawn(clientNs, 'node', [
      join(fixtures, 'tls-user-client.mjs'), '--link', 'pcap', '--local', pcapAddr, '--host', serverAddr, '--port', String(OUR_PORT),
      '--ca', certFile, '--servername', 'localhost', '--bytes', String(REQUEST), '--seed', 'request',
    ]);
    expect(await exitOf(c, 30_000, 'the TLS client on the pcap link')).toBe(0);
    const secure = c.lines().find((l) => l.event === 'secure')!;
    const done = c.lines().find((l) => l.event === 'done')!;
    expect(String(secure.local).startsWith(`${pcapAddr}:`)).toBe(true);
    expect(done.reply).toEqual({ bytes: REQUEST, sha256: patternSha256('request', REQUEST) });
    expect(done.receivedSha256).toBe(patternSha256('reply', REPLY));
  }, 40_000);

  test('our client over our TCP -> openssl s_server on Linux TCP: handshake, 3 MB intact (sha256 of what s_server printed)', async () => {
    // s_server copies what it receives to stdout (-quiet: nothing else); its stdin stays open
    // (an EOF there would make it close the connection).
    const s = nsSpawn(serverNs, 'openssl', ['s_server', '-accept', String(OPENSSL_PORT), '-cert', certFile, '-key', keyFile, '-tls1_3', '-quiet', '-naccept', '1']);
    await waitFor(() => {
      try {
        return execFileSync('ip', ['netns', 'exec', serverNs, 'ss', '-Hltn', `sport = :${OPENSSL_PORT}`], { encoding: 'utf8' }).trim().length > 0;
      } catch {
        return false;
      }
    }, 10_000, 'openssl s_server to listen', s);
    const c = nsSpawn(clientNs, 'node', clientArgs(OPENSSL_PORT, ['--bytes', String(REQUEST), '--seed', 'request', '--no-reply']));
    expect(await exitOf(c, 30_000, 'the TLS client')).toBe(0);
    const secure = c.lines().find((l) => l.event === 'secure')!;
    expect(secure).toMatchObject({ suite: 'TLS_AES_128_GCM_SHA256', authorized: true });
    expect(String(secure.local).startsWith(`${clientAddr}:`)).toBe(true);
    // s_server ends after the close_notify exchange (-naccept 1).
    await exitOf(s, 10_000, 'openssl s_server');
    const got = Buffer.concat(s.out);
    expect(got.length).toBe(REQUEST);
    expect(createHash('sha256').update(got).digest('hex')).toBe(patternSha256('request', REQUEST));
  }, 45_000);

  test('openssl s_client on Linux TCP -> our server over our TCP: handshake, 3 MB up and 2 MB down intact', async () => {
    const reqFile = join(dir, 'request.bin');
    const fd = openSync(reqFile, 'w');
    for (const b of pattern('request', REQUEST) as Iterable<Buffer>) writeSync(fd, b);
    closeSync(fd);
    const input = openSync(reqFile, 'r');
    // -quiet implies -ign_eof: s_client keeps reading after its stdin ends, until our server closes.
    const c = nsSpawn(clientNs, 'openssl', ['s_client', '-connect', `${serverAddr}:${OUR_PORT}`, '-CAfile', certFile, '-servername', 'localhost', '-verify_return_error', '-tls1_3', '-quiet'], input);
    closeSync(input);
    expect(await exitOf(c, 30_000, 'openssl s_client')).toBe(0);
    const out = Buffer.concat(c.out);
    const nl = out.indexOf(10);
    expect(nl).toBeGreaterThan(0);
    expect(JSON.parse(out.subarray(0, nl).toString())).toEqual({ bytes: REQUEST, sha256: patternSha256('request', REQUEST) });
    const rest = out.subarray(nl + 1);
    expect(rest.length).toBe(REPLY);
    expect(createHash('sha256').update(rest).digest('hex')).toBe(patternSha256('reply', REPLY));
    expect(c.err.join('')).toMatch(/verify return:1/);
  }, 40_000);
});
