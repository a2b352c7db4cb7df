/** What the links need to know about this network namespace's interfaces (via `ip -j`, /sys). */
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { ipToBytes } from './addr.js';

export interface InterfaceAddress {
  ifname: string;
  prefixLength: number;
}

interface IpJsonLink {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

function listAddresses(): IpJsonLink[] {
  const out = execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out) as IpJsonLink[];
}

/** The interface that carries `address` in this namespace, or null when none does. */
export function findInterfaceForAddress(address: string): InterfaceAddress | null {
  const want = ipToBytes(address);
  if (want === null) return null;
  for (const link of listAddresses()) {
    for (const a of link.addr_info ?? []) {
      if (a.local === undefined || link.ifname === undefined) continue;
      const got = ipToBytes(a.local);
      if (got !== null && got.length === want.length && got.every((v, i) => v === want[i])) {
        return { ifname: link.ifname, prefixLength: a.prefixlen ?? (want.length === 4 ? 32 : 128) };
      }
    }
  }
  return null;
}

export function deviceExists(dev: string): boolean {
  return /^[A-Za-z0-9_.@:-]{1,15}$/.test(dev) && existsSync(`/sys/class/net/${dev}`);
}

/** The device's MTU from /sys (the IP MTU: largest IP packet without the link header). */
export function readMtu(dev: string): number {
  const v = Number(readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8').trim());
  if (!Number.isInteger(v) || v < 68) throw new Error(`unexpected MTU for ${dev}: ${v}`);
  return v;
}
