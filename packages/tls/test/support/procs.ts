/** Child processes for interop tests: spawned, awaited, and always killed by PID. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

const started = new Set<ChildProcess>();

export function killAll(): void {
  for (const p of started) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
  started.clear();
}

/** A free loopback TCP port (bind 0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function run(cmd: string, args: string[], input?: string | Buffer): Proc {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d.toString('latin1')));
  child.stderr!.on('data', (d) => (err += d.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => started.delete(child));
  if (input !== undefined) {
    child.stdin!.write(input);
  }
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `pred` holds (polling), or fails after `ms`. */
export async function waitFor(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitListening(port: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}
