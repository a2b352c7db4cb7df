/**
 * Keeping the kernel out of a userspace TCP's way on an address the kernel owns:
 * - an nftables table of our own drops every outgoing RST from that address that does not carry
 *   our SO_MARK (the kernel answers segments for ports it does not know with RST, RFC 9293 §3.10.7.1,
 *   which would kill our connections); our own packets carry the mark and pass;
 * - our local ports go into net.ipv4.ip_local_reserved_ports so the kernel never picks them as
 *   ephemeral ports for its own sockets (the sysctl covers IPv6 too).
 * Everything is undone synchronously on close, on exit and on SIGINT/SIGTERM (see cleanup.ts).
 * What a process killed outright (SIGKILL, the OOM killer) leaves is swept by the next install in
 * the namespace: tables named after a PID that no longer runs are deleted (sweepStaleTables).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { registerCleanup } from './cleanup.js';
import { RealLinkError, RealLinkErrorCode } from './errors.js';
import { whichCommand } from '../util/which.js';
import { pidAlive } from '../util/pid.js';

export const RESERVED_PORTS_PATH = '/proc/sys/net/ipv4/ip_local_reserved_ports';
export const NFT_TABLE_PREFIX = 'tcpls_rst_';

let tableCounter = 0;

/** Parses the sysctl's "8080,9000-9010" form. Malformed parts are ignored. */
export function parsePortList(text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(part);
    if (m === null) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 65535 || hi > 65535 || lo > hi) continue;
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  return out;
}

/** Formats a port set back into the sysctl's compact range form. */
export function formatPortList(ports: Iterable<number>): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Ports this process reserved, with a count of links using each (two links may share a port). */
const reservedByUs = new Map<number, number>();

/**
 * Adds `ports` to the reserved list; returns the ones this call must later release. A port that was
 * already reserved before us (by someone else) is left alone on release.
 */
export function reservePorts(ports: readonly number[], path = RESERVED_PORTS_PATH): number[] {
  if (ports.length === 0) return [];
  const current = parsePortList(readFileSync(path, 'utf8'));
  const mine: number[] = [];
  for (const p of new Set(ports)) {
    const held = reservedByUs.get(p) ?? 0;
    if (held > 0) {
      reservedByUs.set(p, held + 1);
      mine.push(p);
    } else if (!current.has(p)) {
      current.add(p);
      reservedByUs.set(p, 1);
      mine.push(p);
    }
  }
  writeFileSync(path, formatPortList(current) + '\n');
  return mine;
}

/** Removes only the entries `reservePorts` added (re-reading the file: others may have changed it). */
export function releasePorts(mine: readonly number[], path = RESERVED_PORTS_PATH): void {
  if (mine.length === 0) return;
  const current = parsePortList(readFileSync(path, 'utf8'));
  for (const p of mine) {
    const held = reservedByUs.get(p) ?? 0;
    if (held > 1) {
      reservedByUs.set(p, held - 1);
    } else {
      reservedByUs.delete(p);
      current.delete(p);
    }
  }
  writeFileSync(path, formatPortList(current) + '\n');
}

export interface RstGuardOptions {
  address: string;
  /** The SO_MARK our own packets carry. */
  mark: number;
  /** When given, only RSTs from these source ports are dropped (and these ports are reserved). */
  ports?: readonly number[];
}

/** The nft script for one guard; exported so the doc and tests can show exactly what is installed. */
export function rstGuardRuleset(table: string, opts: RstGuardOptions): string {
  const v6 = isIPv6(opts.address);
  const fam = v6 ? 'ip6' : 'ip';
  const ports = opts.ports !== undefined && opts.ports.length > 0 ? ` tcp sport { ${[...new Set(opts.ports)].join(', ')} }` : '';
  return [
    `table ${fam} ${table} {`,
    `  chain out {`,
    `    type filter hook output priority filter; policy accept;`,
    `    ${fam} saddr ${opts.address}${ports} tcp flags & rst == rst meta mark != ${opts.mark >>> 0} drop`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** PID that owns a table named `tcpls_rst_<pid>_<n>`, or null for any other name. */
export function rstTableOwner(name: string): number | null {
  const m = new RegExp(`^${NFT_TABLE_PREFIX}(\\d{1,10})_\\d{1,10}$`).exec(name);
  return m === null ? null : Number(m[1]);
}

/**
 * Deletes the RST-guard tables of this namespace whose owning process is gone (killed before its
 * clean-up could run): a leftover table would keep dropping the kernel's RSTs for that address.
 * Tables of running processes, including ours, are left alone. Returns the tables deleted, as
 * "family name". The network namespace shares the PID namespace with its processes (`ip netns
 * exec` does not start a new one), so the PID in the name can be checked here.
 */
export function sweepStaleTables(): string[] {
  let listing: string;
  try {
    listing = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const line of listing.split('\n')) {
    const m = /^table (ip|ip6) (\S+)$/.exec(line.trim());
    if (m === null) continue;
    const pid = rstTableOwner(m[2]);
    if (pid === null || pid === process.pid || pidAlive(pid)) continue;
    deleteTable(m[1], m[2]);
    swept.push(`${m[1]} ${m[2]}`);
  }
  return swept;
}

/** An installed RST guard (nft table + reserved ports); `remove()` is idempotent and synchronous. */
export class RstGuard {
  private readonly unregister: () => void;
  private removed = false;

  private constructor(
    readonly table: string,
    readonly family: 'ip' | 'ip6',
    readonly reservedPorts: readonly number[],
  ) {
    this.unregister = registerCleanup(() => this.undo());
  }

  static install(opts: RstGuardOptions): RstGuard {
    if (!isIPv4(opts.address) && !isIPv6(opts.address)) {
      throw new RealLinkError(RealLinkErrorCode.badOption, `not an IP address: ${opts.address}`);
    }
    if (!Number.isInteger(opts.mark) || opts.mark <= 0 || opts.mark > 0xffffffff) {
      throw new RealLinkError(RealLinkErrorCode.badOption, `mark must be an integer in 1..2^32-1, got ${opts.mark}`);
    }
    for (const p of opts.ports ?? []) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RealLinkError(RealLinkErrorCode.badOption, `bad port ${p}`);
    }
    if (whichCommand('nft') === null) {
      throw new RealLinkError(
        RealLinkErrorCode.nftMissing,
        "the 'nft' command (nftables) is needed to stop the kernel's RSTs for the link's address; install nftables",
      );
    }
    sweepStaleTables();
    const table = `${NFT_TABLE_PREFIX}${process.pid}_${++tableCounter}`;
    const family = isIPv6(opts.address) ? 'ip6' : 'ip';
    try {
      execFileSync('nft', ['-f', '-'], { input: rstGuardRuleset(table, opts), stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (e) {
      const err = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message;
      throw new RealLinkError(RealLinkErrorCode.setupFailed, `nft could not install table ${family} ${table}: ${err}`);
    }
    let ports: number[] = [];
    try {
      ports = reservePorts(opts.ports ?? []);
    } catch (e) {
      deleteTable(family, table);
      throw new RealLinkError(RealLinkErrorCode.setupFailed, `cannot reserve ports in ${RESERVED_PORTS_PATH}: ${(e as Error).message}`);
    }
    return new RstGuard(table, family, ports);
  }

  private undo(): void {
    if (this.removed) return;
    this.removed = true;
    try {
      deleteTable(this.family, this.table);
    } finally {
      releasePorts(this.reservedPorts);
    }
  }

  remove(): void {
    this.unregister();
  }
}

function deleteTable(family: string, table: string): void {
  try {
    execFileSync('nft', ['delete', 'table', family, table], { stdio: 'ignore' });
  } catch {
    // Already gone (e.g. the namespace was deleted): nothing left to undo.
  }
}
