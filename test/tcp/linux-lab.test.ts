/**
 * Our TCP against Linux TCP in network namespaces, through the real CLI (`tcpls tcp connect` and
 * `tcpls tcp listen`, run from source in child processes):
 *  - our client fetches a file from a Linux HTTP server (kernel TCP, python),
 *  - a Linux client (python) fetches a file from `tcpls tcp listen --file`,
 * over RawSocketLink and PcapLink, IPv4 and IPv6, 50 MB each, on a clean path (~1 s a run) and on
 * a path with 2 % random loss each way and a 50 Mbit/s tbf rate limit (~9 s a run); ~80 s in all.
 * LOSSY_BYTES sets the size on the lossy path if that is ever too slow. On the Linux side,
 * `ss -ti` / TCP_INFO must show SACK, timestamps and window scaling negotiated.
 *
 * Offloads: TSO/GSO/GRO and tx checksum offload are turned off on both veths (ethtool), so our
 * stack sees real MSS-sized segments with real checksums, and checksums are verified.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, hasCommand, netnsUnavailableReason, uniqueTag } from '../support/env.js';
import { sha256 } from './helpers.js';

/** The runner that executes a .ts file with plain node (shared with the link package's namespace tests). */
const RUN_TS = join(__dirname, '..', '..', 'packages', 'link', 'test', 'support', 'run-ts.cjs');
const CLI = join(__dirname, 'support', 'tcpls-cli.ts');
const PEER = join(__dirname, 'support', 'linux_peer.py');
/** File size on the lossy, rate-limited path. */
const LOSSY_BYTES = 50_000_000;

function reason(): string | null {
  const r = netnsUnavailableReason();
  if (r) return r;
  for (const c of ['python3', 'ethtool', 'tc', 'ss']) if (!hasCommand(c)) return `needs '${c}' (scripts/setup.sh installs it)`;
  return null;
}

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

interface Done {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function runIn(ns: string, cmd: string[], opts: { input?: string | Buffer; timeoutMs: number }): Promise<Done> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    p.stdin.end(opts.input ?? '');
  });
}

/** Starts a long-running process in `ns` and resolves once its stderr/stdout shows `ready`. */
function startIn(ns: string, cmd: string[], ready: RegExp, timeoutMs = 15000): Promise<{ proc: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let ok = false;
    const onData = (d: Buffer) => {
      log += d.toString();
      if (!ok && ready.test(log)) {
        ok = true;
        clearTimeout(t);
        resolve({ proc: p, log: () => log });
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.on('close', (code) => {
      if (!ok) {
        clearTimeout(t);
        reject(new Error(`${cmd.join(' ')} exited ${code} before it was ready: ${log}`));
      }
    });
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd.join(' ')} not ready after ${timeoutMs} ms: ${log}`));
    }, timeoutMs);
  });
}

function waitExit(p: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      resolve(null);
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

interface LinuxInfo {
  ss: string;
  options: number;
  snd_wscale: number;
  rcv_wscale: number;
}

/**
 * Checks what Linux negotiated: TCP_INFO's tcpi_options has timestamps (1), SACK (2) and window
 * scaling (4), and `ss -ti` shows the same shifts. (The ss of this machine, iproute2 6.1 on kernel
 * 6.18, prints "wscale:" but not the "ts" / "sack" words, so those two are read from TCP_INFO,
 * which is where ss takes them from.) Returns the shifts.
 */
function expectOptions(i: LinuxInfo): { snd: number; rcv: number } {
  expect(i.options & 7).toBe(7);
  const m = /\bwscale:(\d+),(\d+)/.exec(i.ss);
  expect(m).not.toBeNull();
  expect([Number(m![1]), Number(m![2])]).toEqual([i.snd_wscale, i.rcv_wscale]);
  return { snd: i.snd_wscale, rcv: i.rcv_wscale };
}

describeIf(reason(), 'tcpls tcp against Linux TCP (namespaces, raw socket and pcap links)', () => {
  const tag = uniqueTag();
  const nsA = `ht${tag}a`; // our client / Linux client
  const nsB = `ht${tag}b`; // Linux server / our listener
  const devA = `ht${tag}a0`;
  const devB = `ht${tag}b0`;
  const table = `ht${tag}loss`;
  const addr = { 4: { a: '10.88.0.1', b: '10.88.0.2', pcapA: '10.88.0.61', pcapB: '10.88.0.62' }, 6: { a: 'fd88::1', b: 'fd88::2', pcapA: 'fd88::61', pcapB: 'fd88::62' } } as const;
  const HTTP_PORT = 8080;
  const work = mkdtempSync(join(tmpdir(), 'ht-lab-'));
  const ssDir = join(work, 'ss');
  const files = { big: join(work, 'big.bin'), small: join(work, 'small.bin') };
  const sums: Record<string, string> = {};
  const procs: ChildProcess[] = [];
  let listenPort = 9100;

  beforeAll(async () => {
    sh('mkdir', ['-p', ssDir]);
    for (const [k, n] of [
      ['big', 50_000_000],
      ['small', LOSSY_BYTES],
    ] as const) {
      const b = randomBytes(n);
      writeFileSync(files[k], b);
      sums[k] = sha256(b);
    }
    sh('ip', ['netns', 'add', nsA]);
    sh('ip', ['netns', 'add', nsB]);
    sh('ip', ['link', 'add', devA, 'netns', nsA, 'type', 'veth', 'peer', 'name', devB, 'netns', nsB]);
    for (const [ns, dev, side] of [
      [nsA, devA, 'a'],
      [nsB, devB, 'b'],
    ] as const) {
      sh('ip', ['-n', ns, 'addr', 'add', `${addr[4][side]}/24`, 'dev', dev]);
      sh('ip', ['-n', ns, 'addr', 'add', `${addr[6][side]}/64`, 'dev', dev, 'nodad']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
    }
    const srv = await startIn(nsB, ['python3', PEER, 'serve', String(HTTP_PORT), files.big, ssDir], /ready/);
    procs.push(srv.proc);
    // The lossy path's file (LOSSY_BYTES) is served by a second server (same script) on the next port.
    const srv2 = await startIn(nsB, ['python3', PEER, 'serve', String(HTTP_PORT + 1), files.small, ssDir], /ready/);
    procs.push(srv2.proc);
  }, 60_000);

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const ns of [nsA, nsB]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    rmSync(work, { recursive: true, force: true });
  });

  function shape(on: boolean): void {
    for (const [ns, dev] of [
      [nsA, devA],
      [nsB, devB],
    ] as const) {
      if (on) {
        sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', '50mbit', 'burst', '32kb', 'latency', '50ms']);
        // 2 % random loss of TCP packets on each receiver's ingress (RFC-free: just a lossy path).
        sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `table netdev ${table} {\n chain ingr {\n  type filter hook ingress device "${dev}" priority 0;\n  meta l4proto tcp numgen random mod 100 < 2 counter drop\n }\n}\n`);
      } else {
        try {
          sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
        } catch {
          // none
        }
        try {
          sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'netdev', table]);
        } catch {
          // none
        }
      }
    }
  }

  const cases: Array<['raw' | 'pcap', 4 | 6, 'clean' | 'lossy']> = [];
  for (const path of ['clean', 'lossy'] as const) for (const link of ['raw', 'pcap'] as const) for (const fam of [4, 6] as const) cases.push([link, fam, path]);

  describe.each(['clean', 'lossy'] as const)('%s path', (path) => {
    beforeAll(() => shape(path === 'lossy'));
    afterAll(() => shape(false));
    const which = path === 'clean' ? 'big' : 'small';
    const port = path === 'clean' ? HTTP_PORT : HTTP_PORT + 1;
    const size = `${(path === 'clean' ? 50_000_000 : LOSSY_BYTES) / 1e6} MB`;

    test.each(cases.filter((c) => c[2] === path).map(([l, f]) => [l, f] as const))(
      `our client (%s link, IPv%p) fetches ${size} from a Linux HTTP server intact; Linux shows sack, ts, wscale negotiated`,
      async (link, fam) => {
        const local = link === 'pcap' ? ['--local', addr[fam].pcapA] : [];
        const r = await runIn(nsA, [process.execPath, RUN_TS, CLI, 'tcp', 'connect', addr[fam].b, String(port), '--link', link, ...local, '--json', '--quiet'], {
          input: 'GET /f HTTP/1.0\r\n\r\n',
          timeoutMs: 60_000,
        });
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
        const body = r.stdout.subarray(r.stdout.indexOf('\r\n\r\n') + 4);
        expect(body.length).toBe(which === 'big' ? 50_000_000 : LOSSY_BYTES);
        expect(sha256(body)).toBe(sums[which]);
        const report = JSON.parse(r.stderr) as { local: { port: number }; negotiated: { sack: boolean; timestamps: boolean; rcvWscale: number; sndWscale: number }; stats: { retransmits: number } };
        expect(report.negotiated.sack && report.negotiated.timestamps).toBe(true);
        const w = expectOptions(JSON.parse(readFileSync(join(ssDir, `${report.local.port}.json`), 'utf8')) as LinuxInfo);
        // Linux's snd_wscale is the shift we announced, its rcv_wscale the one we apply.
        expect(w.snd).toBe(report.negotiated.rcvWscale);
        expect(w.rcv).toBe(report.negotiated.sndWscale);
      },
      90_000,
    );

    test.each(cases.filter((c) => c[2] === path).map(([l, f]) => [l, f] as const))(
      `a Linux client fetches ${size} from tcpls tcp listen (%s link, IPv%p) intact; Linux shows sack, ts, wscale negotiated`,
      async (link, fam) => {
        const lport = listenPort++;
        const ours = link === 'pcap' ? addr[fam].pcapB : addr[fam].b;
        const server = await startIn(
          nsB,
          [process.execPath, RUN_TS, CLI, 'tcp', 'listen', String(lport), '--link', link, '--local', ours, '--file', files[which], '--once'],
          /listening on port/,
        );
        procs.push(server.proc);
        const r = await runIn(nsA, ['python3', PEER, 'fetch', ours, String(lport)], { timeoutMs: 60_000 });
        const exit = await waitExit(server.proc, 20_000);
        expect({ code: r.code, err: r.code === 0 ? '' : r.stderr + server.log() }).toEqual({ code: 0, err: '' });
        const got = JSON.parse(r.stdout.toString()) as { sha256: string; bytes: number; info: LinuxInfo };
        expect(got.bytes).toBe(which === 'big' ? 50_000_000 : LOSSY_BYTES);
        expect(got.sha256).toBe(sums[which]);
        expectOptions(got.info);
        expect({ exit, log: exit === 0 ? '' : server.log() }).toEqual({ exit: 0, log: '' });
      },
      90_000,
    );

    if (path === 'lossy') {
      test('the loss rules dropped TCP packets in both directions', () => {
        for (const ns of [nsA, nsB]) {
          const text = sh('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'netdev', table]);
          const m = /counter packets (\d+)/.exec(text);
          expect(Number(m?.[1] ?? 0)).toBeGreaterThan(50);
        }
      });
    }
  });

  test('the Linux server recorded one connection per fetch of our client', () => {
    expect(readdirSync(ssDir).length).toBe(8);
  });
});
