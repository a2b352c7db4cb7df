/**
 * Running the system tools (ip, tc, nft, ethtool, sysctl) without a shell: arguments are passed as
 * an array, so names never get interpreted, and failures carry the command and its stderr.
 */
import { spawn } from 'node:child_process';
import { whichCommand } from '../util/which.js';
import { LabError, LabErrorCode } from './options.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (see `runOk`). */
export function runCmd(cmd: string, args: readonly string[], input?: string, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: 127, stdout: '', stderr: String((e as Error).message) });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < 4_000_000) stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 100_000) stderr += d; });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(e.message) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => { /* the tool may exit before reading everything */ });
    child.stdin.end(input ?? '');
  });
}

/** Runs a command and throws a LabError with its stderr when it fails. */
export async function runOk(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await runCmd(cmd, args, input);
  if (r.code !== 0) {
    const what = [cmd, ...args].join(' ');
    const detail = (r.stderr || r.stdout).trim().split('\n').slice(0, 6).join('\n');
    throw new LabError(LabErrorCode.commandFailed, `'${what}' failed (exit ${r.code}): ${detail}`);
  }
  return r.stdout;
}

/** Runs `cmd args` inside network namespace `ns`. */
export function nsRunOk(ns: string, cmd: string, args: readonly string[], input?: string): Promise<string> {
  return runOk('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

export { whichCommand };

const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: 'iproute2', tc: 'iproute2', nft: 'nftables', ethtool: 'ethtool', sysctl: 'procps',
};

/** Throws a clear error for the first tool that is missing. */
export function requireTools(tools: readonly string[]): void {
  for (const t of tools) {
    if (whichCommand(t) === null) {
      throw new LabError(LabErrorCode.missingTool, `needs the '${t}' command, which is not on PATH (Debian: apt-get install ${TOOL_PACKAGES[t] ?? t})`);
    }
  }
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError(LabErrorCode.notRoot, 'needs root: run with sudo');
  }
}
