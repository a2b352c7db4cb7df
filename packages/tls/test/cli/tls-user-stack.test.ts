/**
 * `tcpls tls serve|connect --stack user`: the CLI's TLS over our userspace TCP (raw link) between two
 * namespaces of our own, against OpenSSL on Linux TCP in both roles. Runs the BUILT command
 * (packages/cli/bin/tcpls.js → dist), so beforeAll builds the CLI; needs root.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, hasCommand, netnsUnavailableReason, uniqueTag } from '../../../../test/support/env.js';
import { waitFor } from '../support/procs.js';

const repo = join(__dirname, '..', '..', '..', '..');
const bin = join(repo, 'packages/cli/bin/tcpls.js');

function reason(): string | null {
  const r = netnsUnavailableReason();
  if (r) return r;
  for (const c of ['openssl', 'ethtool']) if (!hasCommand(c)) return `needs the '${c}' command`;
  return null;
}

const tag = uniqueTag();
const nsA = `hb${tag}a`; // server side
const nsB = `hb${tag}b`; // client side
const A = '10.250.41.1';
const B = '10.250.41.2';
const procs: ChildProcess[] = [];
let dir = '';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}
function nsRun(ns: string, cmd: string, args: string[], input?: string): { proc: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const proc = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (input !== undefined) proc.stdin!.write(input);
  return { proc, out: () => out, err: () => err, exited: new Promise((r) => proc.once('exit', (c) => r(c))) };
}

describeIf(reason(), 'tcpls tls --stack user (namespaces, raw link)', () => {
  beforeAll(() => {
    try {
      execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-b', 'packages/cli'], { cwd: repo, stdio: 'ignore' });
    } catch {
      // tsc -b still emits what compiles; the check below decides.
    }
    if (!existsSync(join(repo, 'packages/cli/dist/commands/tls.js'))) throw new Error('packages/cli/dist is missing: run npx tsc -b');
    dir = mkdtempSync(join(tmpdir(), 'tlshb-us-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', `hb${tag}x`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `hb${tag}y`, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${A}/24`, 'dev', `hb${tag}x`);
    ip('-n', nsB, 'addr', 'add', `${B}/24`, 'dev', `hb${tag}y`);
    for (const [ns, dev] of [[nsA, `hb${tag}x`], [nsB, `hb${tag}y`]]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
      // Offloads off on both sides: the kernel peer then sends real, fully checksummed segments.
      execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off'], { stdio: 'ignore' });
    }
  }, 120_000);

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('our server on our TCP (--www) answers openssl s_client on Linux TCP, KeyUpdate included', async () => {
    const server = nsRun(nsA, process.execPath, [bin, 'tls', 'serve', '4433', '--cert', join(dir, 'c.pem'), '--key', join(dir, 'k.pem'), '--www', '--stack', 'user', '--local', A]);
    try {
      await waitFor(() => server.err().includes('listening on'), 10_000, 'tcpls tls serve to listen');
      expect(server.err()).toContain('userspace TCP, raw link');
      const c = nsRun(nsB, 'openssl', ['s_client', '-connect', `${A}:4433`, '-tls1_3', '-CAfile', join(dir, 'c.pem'), '-servername', 'localhost', '-ign_eof'], 'GET /keyupdate HTTP/1.0\r\n\r\n');
      expect(await c.exited).toBe(0);
      expect(c.out()).toContain('Verify return code: 0 (ok)');
      expect(c.out()).toContain('HTTP/1.0 200 ok');
      expect(c.out()).toContain('keyUpdate: sent before this page');
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  }, 30_000);

  test('our client on our TCP fetches a page from openssl s_server on Linux TCP', async () => {
    const server = nsRun(nsA, 'openssl', ['s_server', '-accept', `${A}:4434`, '-tls1_3', '-cert', join(dir, 'c.pem'), '-key', join(dir, 'k.pem'), '-www']);
    try {
      await waitFor(() => server.out().includes('ACCEPT'), 10_000, 's_server ACCEPT');
      const c = nsRun(nsB, process.execPath, [bin, 'tls', 'connect', A, '4434', '--ca', join(dir, 'c.pem'), '--servername', 'localhost', '--stack', 'user', '--local', B], 'GET / HTTP/1.0\r\n\r\n');
      c.proc.stdin!.end();
      expect(await c.exited).toBe(0);
      expect(c.err()).toContain('Cipher is TLS_AES_128_GCM_SHA256');
      expect(c.err()).toContain('TCP: userspace (raw link)');
      expect(c.out()).toContain('HTTP/1.0 200 ok');
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  }, 30_000);
});
