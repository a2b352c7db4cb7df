/**
 * A small two-namespace fixture for the real-link tests: client and server namespaces joined by
 * one veth pair, with IPv4 and IPv6 (nodad) addresses, plus helpers to run commands and child
 * processes inside them. Everything carries the caller's prefix and a uniqueTag(), and destroy()
 * removes it (also after failures; deleting a namespace removes its veth, nft tables and sysctls).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { uniqueTag } from '../../../../test/support/env.js';

export interface NsPair {
  tag: string;
  client: string;
  server: string;
  clientIf: string;
  serverIf: string;
  v4: { client: string; server: string; spare: string; prefixLength: number };
  v6: { client: string; server: string; spare: string; prefixLength: number };
  /** Whether TSO/GSO/checksum offload could be turned off on the server's veth (needs ethtool). */
  serverOffloadsOff: boolean;
  /** Runs a command in a namespace and returns its stdout. */
  exec(ns: string, cmd: string, args: string[], input?: string): string;
  /** Starts a long-running process in a namespace; destroy() ends it (by PID) if still running. */
  spawnIn(ns: string, cmd: string, args: string[]): ChildProcess;
  destroy(): void;
}

/** Path of the child-process runner that executes a .ts file with plain node. */
export const RUN_TS = join(__dirname, 'run-ts.cjs');

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

/** spawnIn / destroy for a pair: children started in its namespaces, ended (by PID) on destroy. */
function trackedChildren(): { spawnIn: NsPair['spawnIn']; killAll: () => void } {
  const children: ChildProcess[] = [];
  return {
    spawnIn(ns, cmd, args) {
      const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      return c;
    },
    killAll() {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    },
  };
}

export function createNsPair(prefix: string): NsPair {
  const tag = uniqueTag();
  const client = `${prefix}-c-${tag}`;
  const server = `${prefix}-s-${tag}`;
  const clientIf = `${prefix}c${tag}`;
  const serverIf = `${prefix}s${tag}`;
  const octet = 1 + Math.floor(Math.random() * 250);
  const children = trackedChildren();
  const pair: NsPair = {
    tag,
    client,
    server,
    clientIf,
    serverIf,
    v4: { client: `10.77.${octet}.1`, server: `10.77.${octet}.2`, spare: `10.77.${octet}.77`, prefixLength: 24 },
    v6: { client: `fd00:77:${octet.toString(16)}::1`, server: `fd00:77:${octet.toString(16)}::2`, spare: `fd00:77:${octet.toString(16)}::77`, prefixLength: 64 },
    serverOffloadsOff: false,
    exec: (ns, cmd, args, input) => sh('ip', ['netns', 'exec', ns, cmd, ...args], input),
    spawnIn: children.spawnIn,
    destroy() {
      children.killAll();
      for (const ns of [client, server]) {
        try {
          sh('ip', ['netns', 'del', ns]);
        } catch {
          // never created or already deleted
        }
      }
    },
  };
  try {
    sh('ip', ['netns', 'add', client]);
    sh('ip', ['netns', 'add', server]);
    sh('ip', ['link', 'add', clientIf, 'netns', client, 'type', 'veth', 'peer', 'name', serverIf, 'netns', server]);
    for (const [ns, dev, a4, a6] of [
      [client, clientIf, pair.v4.client, pair.v6.client],
      [server, serverIf, pair.v4.server, pair.v6.server],
    ] as const) {
      pair.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
      pair.exec(ns, 'ip', ['addr', 'add', `${a4}/24`, 'dev', dev]);
      pair.exec(ns, 'ip', ['-6', 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
      pair.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    }
    // The server's kernel would otherwise hand us TSO/GSO super-segments with partial checksums
    // (environment.md, "Offloads on veth"): these tests want complete, checksummed segments.
    try {
      pair.exec(server, 'ethtool', ['-K', serverIf, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
      pair.serverOffloadsOff = true;
    } catch {
      // ethtool missing: segments from the server may carry partial checksums; tests say so
    }
  } catch (e) {
    pair.destroy();
    throw e;
  }
  return pair;
}

/** Waits until `child` prints a line matching `re` on stdout or stderr (or fails after `ms`). */
export function waitForOutput(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${re} (saw: ${seen.slice(-500)})`));
    }, ms);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (re.test(seen)) {
        cleanup();
        resolve(seen);
      }
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`process exited before ${re} (saw: ${seen.slice(-500)})`));
    };
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Runs a .ts file with node inside a namespace and returns its exit code, stdout and stderr. */
export function runTsIn(ns: string, file: string, args: string[], timeoutMs = 15000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, process.execPath, RUN_TS, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.pid !== undefined && process.kill(c.pid, 'SIGKILL'), timeoutMs);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** JSON lines printed by a child probe, parsed. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Why the SYN/SYN-ACK namespace tests cannot run here, or null. */
export function probeUnavailableReason(base: string | null): string | null {
  if (base !== null) return base;
  try {
    execFileSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' });
    return null;
  } catch {
    return "needs the 'tcpdump' command (scripts/setup.sh installs it)";
  }
}

/** What nsPairFromLab needs of a lab's state (a subset of LabState, to keep this file lab-free). */
export interface LabLike {
  namespaces: { name: string; role: string; interfaces: { name: string; v4: string[]; v6: string[] }[] }[];
}

/**
 * The client and server of a running `tcpls lab` as an NsPair, so the real-link probes run in a
 * lab as users build it. The spare addresses (.77 / ::77) lie in the client's subnet and are
 * owned by no interface. destroy() ends the processes started through spawnIn; the lab itself
 * is removed by its owner (labDown).
 */
export function nsPairFromLab(state: LabLike): NsPair {
  const client = state.namespaces.find((n) => n.role === 'client')!;
  const server = state.namespaces.find((n) => n.role === 'server')!;
  const c = client.interfaces[0];
  const s = server.interfaces[0];
  const addr = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));
  const spare4 = addr(c.v4[0]).replace(/\.\d+$/, '.77');
  const spare6 = addr(c.v6[0]).replace(/::[0-9a-f]+$/, '::77');
  const children = trackedChildren();
  return {
    tag: client.name,
    client: client.name,
    server: server.name,
    clientIf: c.name,
    serverIf: s.name,
    v4: { client: addr(c.v4[0]), server: addr(s.v4[0]), spare: spare4, prefixLength: Number(c.v4[0].split('/')[1]) },
    v6: { client: addr(c.v6[0]), server: addr(s.v6[0]), spare: spare6, prefixLength: Number(c.v6[0].split('/')[1]) },
    serverOffloadsOff: true, // the lab turns tso/gso/gro/tx offloads off on every veth
    exec: (ns, cmd, args, input) => sh('ip', ['netns', 'exec', ns, cmd, ...args], input),
    spawnIn: children.spawnIn,
    destroy: children.killAll,
  };
}
