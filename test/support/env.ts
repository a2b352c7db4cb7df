/**
 * Test-environment helpers shared by every package's tests.
 *
 * Tests that need root (raw sockets, pcap, network namespaces) or a system tool use `describeIf`,
 * which skips with a stated reason instead of failing or silently passing.
 */
import { execFileSync } from 'node:child_process';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why namespace tests cannot run here, or null when they can. */
export function netnsUnavailableReason(): string | null {
  if (!isRoot) return 'needs root (network namespaces, raw sockets); run the suite as root, as CI does';
  for (const c of ['ip', 'nft']) if (!hasCommand(c)) return `needs the '${c}' command (scripts/setup.sh installs it)`;
  return null;
}

/** `describe` that runs when `reason` is null and otherwise skips, printing the reason once. */
export function describeIf(reason: string | null, name: string, fn: () => void): void {
  if (reason === null) {
    describe(name, fn);
  } else {
    process.stderr.write(`SKIPPED "${name}": ${reason}\n`);
    describe.skip(`${name} [skipped: ${reason}]`, fn);
  }
}

/** A short unique suffix for namespace and interface names (interface names are at most 15 chars). */
export function uniqueTag(): string {
  return (process.pid % 10000).toString(36) + Math.floor(Math.random() * 36 ** 3).toString(36);
}
