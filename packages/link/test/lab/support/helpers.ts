/**
 * Helpers for the namespace lab tests: running probes inside namespaces, checking that nothing of a
 * lab is left behind, making sure the built JS (delay bridge, CLI) is current, and reading TCP
 * options out of a pcap file.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '../../../../..');
export const netprobe = join(__dirname, 'netprobe.mjs');

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = execFile(cmd, args, { env: opts.env ?? process.env, maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a netprobe client in `ns` and returns its JSON result. */
export async function probe<T>(ns: string, mode: string, args: (string | number)[]): Promise<T> {
  const r = await run('ip', ['netns', 'exec', ns, process.execPath, netprobe, mode, ...args.map(String)]);
  if (r.code !== 0) throw new Error(`netprobe ${mode} in ${ns} failed (${r.code}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

export interface Server {
  child: ChildProcess;
  /** JSON lines printed after "ready". */
  results(): unknown[];
  stop(): Promise<void>;
}

const started = new Set<ChildProcess>();

/** Starts a netprobe server in `ns` and waits for "ready". */
export function startServer(ns: string, mode: string, args: (string | number)[]): Promise<Server> {
  return new Promise((res, rej) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, netprobe, mode, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    let buf = '';
    let ready = false;
    const timer = setTimeout(() => rej(new Error(`${mode} in ${ns} did not get ready: ${buf}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (!ready && buf.includes('ready\n')) {
        ready = true;
        clearTimeout(timer);
        res(server);
      }
    });
    child.stderr!.resume();
    child.on('exit', () => {
      started.delete(child);
      if (!ready) {
        clearTimeout(timer);
        rej(new Error(`${mode} in ${ns} exited: ${buf}`));
      }
    });
    const server: Server = {
      child,
      results: () => buf.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as unknown),
      stop: () =>
        new Promise((r) => {
          if (child.exitCode !== null || child.signalCode !== null) return r();
          child.once('exit', () => r());
          child.kill('SIGTERM');
        }),
    };
  });
}

/** Waits until a server has printed `n` results. */
export async function waitResults(srv: Server, n: number, timeoutMs: number): Promise<unknown[]> {
  const end = Date.now() + timeoutMs;
  while (srv.results().length < n) {
    if (Date.now() > end) throw new Error(`server printed ${srv.results().length} of ${n} results`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return srv.results();
}

/** Ends every probe server still running (afterAll). */
export async function stopAllServers(): Promise<void> {
  for (const c of [...started]) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces whose names start with `${prefix}-`. */
export function namespacesOf(prefix: string): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((n) => n && n.startsWith(`${prefix}-`));
}

/** Everything of a lab still present: namespaces, state file, bridge logs. */
export function leftovers(prefix: string, stateDir = '/run/tcpls-lab'): string[] {
  const files = existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.startsWith(`${prefix}.`) || f.startsWith(`${prefix}-`)) : [];
  return [...namespacesOf(prefix), ...files];
}

function newestMtime(dir: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Makes sure the built JS of the lab (link) and of the CLI is newer than the sources. Builds with
 * `tsc -b` and, when another package's unfinished code stops that, emits the two packages alone
 * with `tsc -p` (which writes output despite type errors elsewhere).
 */
export function ensureBuilt(): void {
  const pairs: [string, string, string][] = [
    ['packages/link/src/lab', 'packages/link/dist/lab', 'packages/link'],
    ['packages/cli/src', 'packages/cli/dist', 'packages/cli'],
  ];
  const stale = (): boolean =>
    pairs.some(([src, dist]) => {
      const d = join(repoRoot, dist);
      return !existsSync(d) || newestMtime(join(repoRoot, src), '.ts') > newestMtime(d, '.js');
    });
  if (!stale()) return;
  const tsc = join(repoRoot, 'node_modules/.bin/tsc');
  try {
    execFileSync(tsc, ['-b', 'packages/link', 'packages/cli'], { cwd: repoRoot, stdio: 'ignore' });
  } catch {
    for (const [, , p] of pairs) {
      try {
        execFileSync(tsc, ['-p', p], { cwd: repoRoot, stdio: 'ignore' });
      } catch {
        /* type errors elsewhere; the emit still happened */
      }
    }
  }
  if (stale()) throw new Error('could not build packages/link and packages/cli (run npx tsc -b)');
}

export interface SynInfo {
  src: string;
  dst: string;
  synAck: boolean;
  /** Option kinds in order (1 = NOP). */
  kinds: number[];
  mss: number | null;
}

/** Reads the SYN and SYN-ACK segments of a pcap file (Ethernet link type, IPv4/IPv6, no IPv6 extension headers). */
export function readSyns(file: string): SynInfo[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: SynInfo[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = u32(off + 8);
    const start = off + 16;
    off = start + incl;
    if (off > b.length || incl < 14) break;
    const f = b.subarray(start, start + incl);
    const etherType = f.readUInt16BE(12);
    let l4 = -1;
    let src = '';
    let dst = '';
    if (etherType === 0x0800 && f.length >= 34 && f[23] === 6) {
      l4 = 14 + (f[14] & 0x0f) * 4;
      src = Array.from(f.subarray(26, 30)).join('.');
      dst = Array.from(f.subarray(30, 34)).join('.');
    } else if (etherType === 0x86dd && f.length >= 54 && f[20] === 6) {
      l4 = 54;
      src = f.subarray(22, 38).toString('hex');
      dst = f.subarray(38, 54).toString('hex');
    }
    if (l4 < 0 || f.length < l4 + 20) continue;
    const flags = f[l4 + 13];
    if ((flags & 0x02) === 0) continue;
    const hdr = (f[l4 + 12] >> 4) * 4;
    const kinds: number[] = [];
    let mss: number | null = null;
    for (let i = l4 + 20; i < Math.min(l4 + hdr, f.length); ) {
      const k = f[i];
      if (k === 0) break;
      kinds.push(k);
      if (k === 1) {
        i++;
        continue;
      }
      const len = f[i + 1];
      if (len === undefined || len < 2) break;
      if (k === 2 && len === 4) mss = f.readUInt16BE(i + 2);
      i += len;
    }
    out.push({ src, dst, synAck: (flags & 0x10) !== 0, kinds, mss });
  }
  return out;
}
