/**
 * `tcpls serve` / `tcpls get` over our TCP on RawSocketLink, across a Linux router in network
 * namespaces (client — router — server), with each nftables middlebox rule on the router and with
 * none: the file arrives intact and the client reports exactly the differences the rule causes.
 * Also the plain-TLS fallbacks against openssl both ways. Needs root, ip, nft, ethtool, openssl.
 *
 * Offloads: TSO/GSO/GRO and checksum offload are turned off on every veth (as the acceptance check
 * does), so our stack sees real, checksummed segments.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeIf, hasCommand, netnsUnavailableReason, uniqueTag } from '../support/env';

const repo = resolve(__dirname, '../..');
const cli = join(repo, 'packages/cli/bin/tcpls.js');

function reason(): string | null {
  const r = netnsUnavailableReason();
  if (r) return r;
  for (const c of ['ethtool', 'openssl']) if (!hasCommand(c)) return `needs the '${c}' command`;
  return null;
}

function sh(args: string[], input?: string): string {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function buildDist(): void {
  try {
    execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-b', 'packages/cli'], { cwd: repo, stdio: 'ignore' });
  } catch {
    // tsc -b emits even with type errors elsewhere; the check below decides.
  }
  if (!existsSync(join(repo, 'packages/cli/dist/commands/get.js'))) throw new Error('packages/cli/dist is missing: run npx tsc -b');
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runIn(ns: string, args: string[], timeoutMs = 45_000): Promise<Run> {
  return new Promise((ok) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      ok({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running process in a namespace; resolves once `ready` matches its stderr/stdout. */
function startIn(ns: string, args: string[], ready: RegExp): Promise<{ proc: ChildProcess; log: () => string }> {
  return new Promise((ok, ko) => {
    const proc = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => ko(new Error(`not ready: ${log}`)), 15_000);
    const on = (d: Buffer) => {
      log += d.toString();
      if (ready.test(log)) {
        clearTimeout(timer);
        ok({ proc, log: () => log });
      }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.on('exit', (c) => {
      clearTimeout(timer);
      ko(new Error(`${args.join(' ')} exited (${c}): ${log}`));
    });
  });
}

async function stop(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

const fieldsOf = (diffs: { direction: string; field: string }[]) => diffs.map((d) => `${d.direction} ${d.field}`).sort();

describeIf(reason(), 'tcpls serve/get over RawSocketLink across a Linux router with nftables middleboxes', () => {
  const P = `hq${uniqueTag()}`;
  const C = `${P}-c`;
  const R = `${P}-r`;
  const S = `${P}-s`;
  const table = `${P}mbox`;
  const serverIp = '10.77.2.2';
  let dir = '';
  let want = '';
  let server: { proc: ChildProcess; log: () => string } | null = null;

  beforeAll(async () => {
    buildDist();
    dir = mkdtempSync(join(tmpdir(), 'tcpls-lab-'));
    const file = randomBytes(1_000_000);
    writeFileSync(join(dir, 'f.bin'), file);
    writeFileSync(join(dir, 'small.txt'), 'hello over plain TLS\n');
    want = createHash('sha256').update(file).digest('hex');
    sh(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost']);
    for (const n of [C, R, S]) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', 'link', 'add', `${P}c0`, 'netns', C, 'type', 'veth', 'peer', 'name', `${P}r0`, 'netns', R]);
    sh(['ip', 'link', 'add', `${P}s0`, 'netns', S, 'type', 'veth', 'peer', 'name', `${P}r1`, 'netns', R]);
    sh(['ip', '-n', C, 'addr', 'add', '10.77.1.2/24', 'dev', `${P}c0`]);
    sh(['ip', '-n', R, 'addr', 'add', '10.77.1.1/24', 'dev', `${P}r0`]);
    sh(['ip', '-n', S, 'addr', 'add', `${serverIp}/24`, 'dev', `${P}s0`]);
    sh(['ip', '-n', R, 'addr', 'add', '10.77.2.1/24', 'dev', `${P}r1`]);
    for (const [n, d] of [[C, `${P}c0`], [R, `${P}r0`], [R, `${P}r1`], [S, `${P}s0`]]) {
      sh(['ip', '-n', n, 'link', 'set', d, 'up']);
      sh(['ip', 'netns', 'exec', n, 'ethtool', '-K', d, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
    }
    sh(['ip', '-n', C, 'route', 'add', 'default', 'via', '10.77.1.1']);
    sh(['ip', '-n', S, 'route', 'add', 'default', 'via', '10.77.2.1']);
    sh(['ip', 'netns', 'exec', R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    server = await startIn(S, ['node', cli, 'serve', '--port', '4443', '--cert', join(dir, 'c.pem'), '--key', join(dir, 'k.pem'), '--dir', dir, '--link', 'raw'], /serving/);
  }, 60_000);

  afterAll(async () => {
    await stop(server?.proc ?? null);
    for (const n of [C, R, S]) {
      try {
        sh(['ip', 'netns', 'del', n]);
      } catch {
        /* already gone */
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  function setRules(rules: string[]): void {
    try {
      sh(['ip', 'netns', 'exec', R, 'nft', 'delete', 'table', 'inet', table]);
    } catch {
      /* none yet */
    }
    if (rules.length === 0) return;
    sh(['ip', 'netns', 'exec', R, 'nft', '-f', '-'], `table inet ${table} {\n chain fw {\n  type filter hook forward priority mangle; policy accept;\n  ${rules.join('\n  ')}\n }\n}\n`);
  }

  async function get(): Promise<{ sha256: string; bytes: number; optionDifferences: { direction: string; field: string; sent: unknown; seen: unknown }[]; mode: string }> {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}.bin`);
    const r = await runIn(C, ['node', cli, 'get', `tcpls://${serverIp}:4443/f.bin`, '-o', out, '--insecure', '--json', '--link', 'raw']);
    if (r.code !== 0) throw new Error(`get failed (${r.code}): ${r.stderr}\nserver: ${server?.log().slice(-500)}`);
    const j = JSON.parse(r.stdout);
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(want);
    rmSync(out, { force: true });
    return j;
  }

  const cases: { name: string; rules: string[]; expect: string[] }[] = [
    { name: 'no rule: no difference', rules: [], expect: [] },
    { name: 'MSS set to 1200 on SYN and SYN-ACK', rules: ['tcp flags syn tcp option maxseg size set 1200'], expect: ['me-to-peer mss', 'peer-to-me mss'] },
    // Stripped from our SYN, so the server's SYN-ACK never carries it: only our SYN differs.
    { name: 'reset tcp option sack-perm', rules: ['reset tcp option sack-perm'], expect: ['me-to-peer nop-padding', 'me-to-peer sackPermitted'] },
    { name: 'reset tcp option timestamp', rules: ['reset tcp option timestamp'], expect: ['me-to-peer nop-padding', 'me-to-peer timestamps'] },
    {
      name: 'all three (the acceptance middlebox)',
      rules: ['tcp flags syn tcp option maxseg size set 1200', 'reset tcp option sack-perm', 'reset tcp option timestamp'],
      expect: ['me-to-peer mss', 'me-to-peer nop-padding', 'me-to-peer sackPermitted', 'me-to-peer timestamps', 'peer-to-me mss'],
    },
  ];
  for (const c of cases) {
    test(`router rule ${c.name}: file intact, exactly the differences the rule causes`, async () => {
      setRules(c.rules);
      const j = await get();
      expect(j.mode).toBe('tcpls');
      expect(j.bytes).toBe(1_000_000);
      expect(j.sha256).toBe(want);
      expect(fieldsOf(j.optionDifferences)).toEqual([...c.expect].sort());
      for (const d of j.optionDifferences) if (d.field === 'mss') expect([d.sent, d.seen]).toEqual([1460, 1200]);
    }, 60_000);
  }

  test('fallback: tcpls get (raw link) against openssl s_server -www works as plain TLS and says so', async () => {
    setRules([]);
    const o = await startIn(S, ['openssl', 's_server', '-accept', '4444', '-cert', join(dir, 'c.pem'), '-key', join(dir, 'k.pem'), '-www', '-tls1_3'], /ACCEPT/);
    try {
      const r = await runIn(C, ['node', cli, 'get', `tcpls://${serverIp}:4444/`, '--insecure', '--json', '--link', 'raw']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.mode).toBe('tls');
      expect(j.fallback).toMatch(/plain TLS/);
      expect(j.httpStatus).toMatch(/^HTTP\/1\.[01] 200/);
      expect(j.bytes).toBeGreaterThan(0);
      expect(r.stderr).toMatch(/did not echo the tcpls extension/);
    } finally {
      await stop(o.proc);
    }
  }, 60_000);

  test('fallback: openssl s_client against tcpls serve (raw link) gets the file over HTTP/1.0', async () => {
    setRules([]);
    const r = await runIn(C, ['sh', '-c', `(printf 'GET /small.txt HTTP/1.0\\r\\n\\r\\n'; sleep 2) | timeout 10 openssl s_client -connect ${serverIp}:4443 -quiet -tls1_3 2>/dev/null`]);
    expect(r.stdout).toMatch(/^HTTP\/1\.0 200 OK/);
    expect(r.stdout).toContain('hello over plain TLS');
    expect(server!.log()).toMatch(/did not offer TCPLS: serving it as plain TLS/);
  }, 60_000);
});
