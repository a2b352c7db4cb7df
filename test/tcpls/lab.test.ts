/**
 * `tcpls serve` / `tcpls get` over our TCP across a Linux router built by `tcpls lab up router`
 * (client — router — server namespaces), with each kind of middlebox rule `tcpls lab middlebox`
 * installs (mss=N, strip=NAME, strip=KIND) and with none: the file arrives intact and the client
 * reports exactly the differences the rule causes. Over RawSocketLink, and over PcapLink on both
 * ends (foreign addresses answered by the link's own ARP; replies to the off-link client go through
 * the default gateway). Also the plain-TLS fallbacks against openssl both ways. Needs root, ip,
 * nft, ethtool, openssl.
 *
 * Offloads: the lab turns TSO/GSO/GRO and checksum offload off on every veth, so our stack sees
 * real, checksummed segments.
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

interface Lab {
  client: { ns: string; v4: string };
  server: { ns: string; v4: string };
}

describeIf(reason(), 'tcpls serve/get across `tcpls lab up router`, with each middlebox rule and with none', () => {
  const P = `hs${uniqueTag()}`;
  let lab: Lab;
  let C = '';
  let S = '';
  let serverIp = '';
  /** Foreign addresses for the pcap links (the kernel does not own them). */
  let pcapServerIp = '';
  let pcapClientIp = '';
  let dir = '';
  let want = '';
  let server: { proc: ChildProcess; log: () => string } | null = null;
  let pcapServer: { proc: ChildProcess; log: () => string } | null = null;

  beforeAll(async () => {
    buildDist();
    dir = mkdtempSync(join(tmpdir(), 'tcpls-lab-'));
    const file = randomBytes(1_000_000);
    writeFileSync(join(dir, 'f.bin'), file);
    writeFileSync(join(dir, 'small.txt'), 'hello over plain TLS\n');
    want = createHash('sha256').update(file).digest('hex');
    sh(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost']);
    const j = JSON.parse(sh(['node', cli, 'lab', 'up', 'router', '--prefix', P, '--json'])) as {
      endpoints: { client: { v4: string }; server: { v4: string } };
      namespaces: { name: string; role: string }[];
    };
    const ns = (role: string) => j.namespaces.find((n) => n.role === role)!.name;
    lab = { client: { ns: ns('client'), v4: j.endpoints.client.v4 }, server: { ns: ns('server'), v4: j.endpoints.server.v4 } };
    C = lab.client.ns;
    S = lab.server.ns;
    serverIp = lab.server.v4;
    // .2 is the host, .1 the router: .77 is free in both /24s.
    pcapServerIp = serverIp.replace(/\.\d+$/, '.77');
    pcapClientIp = lab.client.v4.replace(/\.\d+$/, '.77');
    const cert = ['--cert', join(dir, 'c.pem'), '--key', join(dir, 'k.pem'), '--dir', dir];
    server = await startIn(S, ['node', cli, 'serve', '--port', '4443', ...cert, '--link', 'raw'], /serving/);
    pcapServer = await startIn(S, ['node', cli, 'serve', '--port', '4443', ...cert, '--link', 'pcap', '--local', pcapServerIp], /serving/);
  }, 60_000);

  afterAll(async () => {
    await stop(server?.proc ?? null);
    await stop(pcapServer?.proc ?? null);
    try {
      sh(['node', cli, 'lab', 'down', '--prefix', P]);
    } catch {
      for (const n of [`${P}-client`, `${P}-router`, `${P}-server`]) {
        try {
          sh(['ip', 'netns', 'del', n]);
        } catch {
          /* already gone */
        }
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  function setRules(rules: string): void {
    sh(['node', cli, 'lab', 'middlebox', '--prefix', P, ...(rules === '' ? ['--clear'] : [rules])]);
  }

  type GetReport = { sha256: string; bytes: number; optionDifferences: { direction: string; field: string; sent: unknown; seen: unknown }[]; mode: string };

  async function get(extra: string[] = [], ip = serverIp, link = ['--link', 'raw']): Promise<GetReport> {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}.bin`);
    const r = await runIn(C, ['node', cli, 'get', `tcpls://${ip}:4443/f.bin`, '-o', out, '--insecure', '--json', ...link, ...extra]);
    if (r.code !== 0) throw new Error(`get failed (${r.code}): ${r.stderr}\nserver: ${(ip === serverIp ? server : pcapServer)?.log().slice(-500)}`);
    const j = JSON.parse(r.stdout) as GetReport;
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(want);
    rmSync(out, { force: true });
    return j;
  }

  // One case per kind of rule `tcpls lab middlebox` installs (see `tcpls lab up --help`).
  // Options stripped from our SYN never come back in the server's SYN-ACK (a TCP answers only what
  // it received), so only our SYN (me-to-peer) differs; `mss=N` rewrites SYN and SYN-ACK.
  const cases: { rules: string; extra?: string[]; expect: string[] }[] = [
    { rules: '', expect: [] },
    { rules: 'mss=1200', expect: ['me-to-peer mss', 'peer-to-me mss'] },
    { rules: 'strip=sack-perm', expect: ['me-to-peer nop-padding', 'me-to-peer sackPermitted'] },
    { rules: 'strip=timestamp', expect: ['me-to-peer nop-padding', 'me-to-peer timestamps'] },
    { rules: 'strip=wscale', expect: ['me-to-peer nop-padding', 'me-to-peer wscale'] },
    { rules: 'strip=254', extra: ['--exp-option'], expect: ['me-to-peer nop-padding', 'me-to-peer option:254'] },
    // MSS stripped from SYN and SYN-ACK: both ends see it gone (the peer then assumes 536, RFC 9293 §3.7.1).
    { rules: 'strip=mss', expect: ['me-to-peer mss', 'me-to-peer nop-padding', 'peer-to-me mss', 'peer-to-me nop-padding'] },
    // Options our TCP never puts in a SYN (SACK blocks only ride on data ACKs): nothing to detect, nothing reported.
    { rules: 'strip=sack,strip=md5,strip=user-timeout,strip=tcp-ao,strip=mptcp,strip=fastopen,strip=exp1,strip=exp2', expect: [] },
    // The experimental option crosses a clean router untouched: no difference.
    { rules: '', extra: ['--exp-option'], expect: [] },
    {
      rules: 'mss=1200,strip=sack-perm,strip=timestamp',
      expect: ['me-to-peer mss', 'me-to-peer nop-padding', 'me-to-peer sackPermitted', 'me-to-peer timestamps', 'peer-to-me mss'],
    },
  ];
  for (const c of cases) {
    const name = `${c.rules || 'no rule'}${c.extra ? ` (get ${c.extra.join(' ')})` : ''}`;
    test(`RawSocketLink, router rule ${name}: file intact, exactly the differences the rule causes`, async () => {
      setRules(c.rules);
      const j = await get(c.extra);
      expect(j.mode).toBe('tcpls');
      expect(j.bytes).toBe(1_000_000);
      expect(j.sha256).toBe(want);
      expect(fieldsOf(j.optionDifferences)).toEqual([...c.expect].sort());
      const mssSeen = c.rules.includes('mss=1200') ? 1200 : null; // clamped, or stripped
      for (const d of j.optionDifferences) if (d.field === 'mss') expect([d.sent, d.seen]).toEqual([1460, mssSeen]);
    }, 60_000);
  }

  for (const c of [cases[0], cases[1]]) {
    test(`PcapLink on both ends (foreign addresses, off-link via the gateway), router rule ${c.rules || 'no rule'}: file intact, exactly its differences`, async () => {
      setRules(c.rules);
      const j = await get([], pcapServerIp, ['--link', 'pcap', '--local', pcapClientIp]);
      expect(j.mode).toBe('tcpls');
      expect(j.sha256).toBe(want);
      expect(fieldsOf(j.optionDifferences)).toEqual([...c.expect].sort());
    }, 60_000);
  }

  test('fallback: tcpls get (raw link) against openssl s_server -www works as plain TLS and says so', async () => {
    setRules('');
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
    setRules('');
    const r = await runIn(C, ['sh', '-c', `(printf 'GET /small.txt HTTP/1.0\\r\\n\\r\\n'; sleep 2) | timeout 10 openssl s_client -connect ${serverIp}:4443 -quiet -tls1_3 2>/dev/null`]);
    expect(r.stdout).toMatch(/^HTTP\/1\.0 200 OK/);
    expect(r.stdout).toContain('hello over plain TLS');
    expect(server!.log()).toMatch(/did not offer TCPLS: serving it as plain TLS/);
  }, 60_000);
});
