/**
 * Opening the right real link for a command's `--link raw|pcap` with sensible defaults, so that
 * every command that runs our userspace stack on a real network (tcp, tls --stack user, serve,
 * get, probe) picks addresses and devices the same way.
 *
 * - raw (RawSocketLink): an address the kernel of this namespace owns. Default: the source address
 *   of the route to the remote host (`ip route get HOST`), or for a server the first global address
 *   of the namespace (IPv4 first). The link installs its RST guard and reserves our ports.
 * - pcap (PcapLink): an address the kernel does NOT own, given with --local; the device is the one
 *   of the route to the remote (or, for a server, the route to that address), the prefix length that
 *   of the device's address in the same family. The PcapLink sends on-link destinations (within
 *   that prefix) directly and everything else to one gateway: the gateway of the route to the
 *   remote when there is one, else the namespace's default gateway on that device. (A server has
 *   no remote: the route to its own on-link address has no gateway, so without the default route
 *   its replies to clients behind a router would be lost.)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { PacketIo } from '@tcpls/tcp';
import { PcapLink, RawSocketLink, RealLinkError } from '@tcpls/link';

export type LinkKind = 'raw' | 'pcap';
export const LINK_KINDS: readonly LinkKind[] = ['raw', 'pcap'];

/** What went wrong while choosing or opening a link, in words a user can act on. */
export class LinkSetupError extends Error {
  constructor(
    readonly code: 'not-root' | 'no-route' | 'no-address' | 'bad-address' | 'needs-local' | 'open-failed',
    message: string,
  ) {
    super(message);
    this.name = 'LinkSetupError';
  }
}

export interface OpenLinkOptions {
  kind: LinkKind;
  /** The peer (client side): picks the route, the local address and the device. */
  remote?: string;
  /** --local ADDR. Required for pcap. */
  local?: string;
  /** Local ports our stack uses (raw: reserved from the kernel and covered by the RST guard). */
  ports?: number[];
  /** Preferred family when neither remote nor local says (server side) [4]. */
  family?: 4 | 6;
}

export interface OpenedLink {
  kind: LinkKind;
  io: PacketIo & { stats(): unknown };
  /** The local address our Host uses. */
  address: string;
  device: string;
  /** One line for logs: "raw 10.0.0.1 on veth0 (mtu 1500)". */
  description: string;
}

interface RouteInfo {
  dev?: string;
  prefsrc?: string;
  gateway?: string;
  type?: string;
}

function ipJson(args: string[]): unknown {
  const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out || '[]');
}

/** `ip route get ADDR` → device, preferred source, gateway; null when there is no route. */
export function routeTo(address: string): RouteInfo | null {
  try {
    const r = ipJson(['route', 'get', address]) as RouteInfo[];
    return r[0] ?? null;
  } catch {
    return null;
  }
}

/** The gateway of the default route of one family on `dev` (the first one), if any. */
export function defaultGateway(family: 4 | 6, dev: string): string | undefined {
  try {
    const r = ipJson([family === 6 ? '-6' : '-4', 'route', 'show', 'default']) as RouteInfo[];
    return (r.find((x) => x.dev === dev && x.gateway) ?? undefined)?.gateway;
  } catch {
    return undefined;
  }
}

interface AddrInfo {
  ifname: string;
  family: 4 | 6;
  local: string;
  prefixlen: number;
}

/** Global-scope addresses of this namespace, in `ip addr` order. */
export function globalAddresses(): AddrInfo[] {
  const out: AddrInfo[] = [];
  try {
    const links = ipJson(['addr', 'show', 'scope', 'global']) as Array<{ ifname: string; addr_info?: Array<{ family: string; local: string; prefixlen: number; tentative?: boolean }> }>;
    for (const l of links) {
      for (const a of l.addr_info ?? []) {
        out.push({ ifname: l.ifname, family: a.family === 'inet6' ? 6 : 4, local: a.local, prefixlen: a.prefixlen });
      }
    }
  } catch {
    // no `ip`: the caller reports "no address"
  }
  return out;
}

export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LinkSetupError(
      'not-root',
      `${what} sends and captures raw packets and needs root (or CAP_NET_RAW + CAP_NET_ADMIN); run it as root inside the network namespace, e.g. sudo ip netns exec NS tcpls ...`,
    );
  }
}

/** Chooses addresses and opens the link. Throws LinkSetupError with a clear message. */
export async function openLink(o: OpenLinkOptions): Promise<OpenedLink> {
  for (const [name, v] of [
    ['remote', o.remote],
    ['--local', o.local],
  ] as const) {
    if (v !== undefined && isIP(v) === 0) throw new LinkSetupError('bad-address', `${name} '${v}' is not an IPv4 or IPv6 address`);
  }
  if (o.remote && o.local && isIP(o.remote) !== isIP(o.local)) {
    throw new LinkSetupError('bad-address', `--local ${o.local} and ${o.remote} are of different IP families`);
  }
  if (o.kind === 'pcap' && o.local === undefined) {
    throw new LinkSetupError(
      'needs-local',
      '--link pcap needs --local ADDR: an unused address on the link that the kernel does not own (the pcap link answers ARP / neighbour discovery for it itself)',
    );
  }
  requireRoot(`--link ${o.kind}`);
  try {
    return o.kind === 'raw' ? await openRaw(o) : await openPcap(o);
  } catch (e) {
    if (e instanceof LinkSetupError) throw e;
    const code = e instanceof RealLinkError ? ` [${e.code}]` : '';
    throw new LinkSetupError('open-failed', `cannot open the ${o.kind} link${code}: ${(e as Error).message}`);
  }
}

async function openRaw(o: OpenLinkOptions): Promise<OpenedLink> {
  let address = o.local;
  if (address === undefined && o.remote !== undefined) {
    const r = routeTo(o.remote);
    if (!r || !r.prefsrc) throw new LinkSetupError('no-route', `no route to ${o.remote} in this network namespace (ip route get ${o.remote}); pass --local ADDR`);
    if (r.type === 'local' || r.dev === 'lo') throw new LinkSetupError('no-route', `${o.remote} is an address of this namespace; the raw link cannot talk to itself`);
    address = r.prefsrc;
  }
  if (address === undefined) {
    const all = globalAddresses();
    const fam = o.family ?? 4;
    const pick = all.find((a) => a.family === fam) ?? all[0];
    if (!pick) throw new LinkSetupError('no-address', 'no global address in this network namespace; pass --local ADDR');
    address = pick.local;
  }
  const link = await RawSocketLink.open({ localAddress: address, ports: o.ports, rcvBufBytes: 8 << 20, sndBufBytes: 8 << 20 });
  return { kind: 'raw', io: link, address, device: link.device, description: `raw ${address} on ${link.device} (mtu ${link.mtu})` };
}

/**
 * A locally administered unicast MAC derived from the device and the address: the same address
 * keeps the same MAC from one run to the next. With a random MAC per run, peers whose neighbour
 * cache still holds the previous run's MAC keep sending to it until their entry goes stale and is
 * re-probed (up to ~40 s with Linux's defaults); we saw exactly that in back-to-back tests.
 */
export function stableMac(device: string, address: string): string {
  const h = createHash('sha256').update(`tcpls-pcap|${device}|${address}`).digest();
  h[0] = (h[0] & 0xfc) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

async function openPcap(o: OpenLinkOptions): Promise<OpenedLink> {
  const address = o.local!;
  const target = o.remote ?? address;
  const r = routeTo(target);
  if (!r || !r.dev) throw new LinkSetupError('no-route', `no route to ${target} in this network namespace (ip route get ${target})`);
  if (r.dev === 'lo') throw new LinkSetupError('bad-address', `${target} routes through lo: the pcap link needs an Ethernet device`);
  const fam = isIP(address) as 4 | 6;
  const onDev = globalAddresses().filter((a) => a.ifname === r.dev && a.family === fam);
  const prefixLength = onDev[0]?.prefixlen;
  const gateway = r.gateway ?? defaultGateway(fam, r.dev);
  const link = await PcapLink.open({ device: r.dev, address, prefixLength, gateway, mac: stableMac(r.dev, address) });
  return { kind: 'pcap', io: link, address, device: r.dev, description: `pcap ${address} (${link.mac}) on ${r.dev} (mtu ${link.mtu})` };
}
