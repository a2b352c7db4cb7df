/**
 * The plan of a lab: which namespaces, veth pairs, addresses, routes, shaping and rules a topology
 * needs. Pure data built from the options, so names, subnets and the placement of every qdisc and
 * rule can be checked without root; `lab.ts` then carries a plan out.
 *
 * Naming (prefix P, at most 10 characters; interface names stay within 15):
 *   namespaces  P-client, P-server, P-router (router), P-router1/P-router2 (multipath),
 *               P-bridge1/P-bridge2 (the delay bridge of path 1/2, only with a delay)
 *   interfaces  P-c<i> (client, path i), P-s<i> (server), P-r<i>a / P-r<i>b (router of path i,
 *               client side / server side), P-b<i>a / P-b<i>b (bridge, client side / server side)
 *   nftables    table netdev P_loss (random loss), table inet P_mbox (middlebox), in the namespace
 *               where they act
 */
import {
  LabError,
  LabErrorCode,
  type DelayMode,
  type LabSubnet,
  type LabUpOptions,
  type MiddleboxRule,
  type PathShaping,
  type Topology,
  parsePrefix,
  subnetForPrefix,
  v4Net,
  v6Net,
} from './options.js';

export const IFNAME_MAX = 15;

export type NsRole = 'client' | 'server' | 'router' | 'bridge';

export interface PlanNamespace {
  name: string;
  role: NsRole;
  /** The path this namespace belongs to (routers and bridges); 0 for the end hosts. */
  path: number;
}

export interface PlanIface {
  ns: string;
  name: string;
  /** Address with prefix length, e.g. "10.180.4.2/24". */
  v4?: string;
  v6?: string;
  mtu: number;
}

export interface PlanLink {
  a: PlanIface;
  b: PlanIface;
  path: number;
}

export interface PlanRoute {
  ns: string;
  family: 4 | 6;
  via: string;
  dev: string;
}

export interface PlanTbf {
  ns: string;
  dev: string;
  /** bit/s */
  rate: number;
  path: number;
}

export interface PlanLoss {
  ns: string;
  dev: string;
  /** percent */
  loss: number;
  path: number;
}

export interface PlanBridge {
  ns: string;
  /** Client-side and server-side interfaces of the bridge. */
  a: string;
  b: string;
  delay: number;
  path: number;
}

export interface PlanPath {
  id: number;
  families: (4 | 6)[];
  shaping: PathShaping;
  /** Interfaces whose egress carries the tbf (one per direction). */
  bottleneck: string[];
}

export interface LabPlan {
  topology: Topology;
  prefix: string;
  subnet: LabSubnet;
  namespaces: PlanNamespace[];
  links: PlanLink[];
  routes: PlanRoute[];
  tbf: PlanTbf[];
  loss: PlanLoss[];
  bridges: PlanBridge[];
  /** Router namespaces: where the middlebox chain runs. */
  routers: string[];
  middlebox: MiddleboxRule[];
  paths: PlanPath[];
  delayMode: DelayMode;
  /** Addresses the end hosts reach each other on, for the summary and for tests. */
  endpoints: { client: { v4?: string; v6?: string }; server: { v4?: string; v6?: string } };
}

export const DEFAULT_MTU = 1500;

/** Every namespace name a prefix can own, so `down` finds leftovers even without a state file. */
export function ownedNamespacePattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}-(client|server|router|router[12]|bridge[12])$`);
}

function addrOnly(cidr: string | undefined): string | undefined {
  return cidr === undefined ? undefined : cidr.slice(0, cidr.indexOf('/'));
}

export function buildPlan(opts: LabUpOptions): LabPlan {
  const prefix = parsePrefix(opts.prefix);
  const subnet = opts.subnet ?? subnetForPrefix(prefix);
  const topology = opts.topology;
  const p1: PathShaping = { ...(opts.path1 ?? {}) };
  const p2: PathShaping = { ...(opts.path2 ?? {}) };
  if (topology !== 'multipath' && Object.values(p2).some((v) => v !== undefined)) {
    throw new LabError(LabErrorCode.usage, `per-path options for path 2 (--rate2, --loss2, --delay2, --mtu2) need the multipath topology`);
  }
  const middlebox = [...(opts.middlebox ?? [])];
  if (middlebox.length > 0 && topology === 'two-hosts') {
    throw new LabError(LabErrorCode.usage, `--middlebox needs a router: use the router or multipath topology`);
  }
  const delayMode = opts.delayMode ?? 'auto';
  for (const [i, s] of [p1, p2].entries()) {
    // The userspace bridge captures at most 65535 bytes a frame (cap); keep a whole frame.
    if (s.delay !== undefined && s.delay > 0 && (s.mtu ?? DEFAULT_MTU) > 65535 - 14 && delayMode !== 'netem') {
      throw new LabError(LabErrorCode.usage, `path ${i + 1}: with a delay the MTU must be at most ${65535 - 14} (the delay bridge captures whole frames of at most 65535 bytes)`);
    }
  }

  const n = (s: string): string => `${prefix}-${s}`;
  const plan: LabPlan = {
    topology, prefix, subnet,
    namespaces: [], links: [], routes: [], tbf: [], loss: [], bridges: [],
    routers: [], middlebox, paths: [], delayMode,
    endpoints: { client: {}, server: {} },
  };
  const client = n('client');
  const server = n('server');
  plan.namespaces.push({ name: client, role: 'client', path: 0 }, { name: server, role: 'server', path: 0 });

  /**
   * Joins `x` to `y` directly or, with a delay, through a bridge namespace that forwards frames
   * both ways after the delay; the two outer interfaces then share one subnet as if joined by a wire.
   */
  const join = (path: number, s: PathShaping, x: PlanIface, y: PlanIface): void => {
    const mtu = s.mtu ?? DEFAULT_MTU;
    if (s.delay !== undefined && s.delay > 0) {
      const br = n(`bridge${path}`);
      plan.namespaces.push({ name: br, role: 'bridge', path });
      const ba: PlanIface = { ns: br, name: n(`b${path}a`), mtu };
      const bb: PlanIface = { ns: br, name: n(`b${path}b`), mtu };
      plan.links.push({ a: x, b: ba, path }, { a: bb, b: y, path });
      plan.bridges.push({ ns: br, a: ba.name, b: bb.name, delay: s.delay, path });
    } else {
      plan.links.push({ a: x, b: y, path });
    }
  };

  if (topology === 'two-hosts') {
    const mtu = p1.mtu ?? DEFAULT_MTU;
    const c: PlanIface = { ns: client, name: n('c1'), v4: `${v4Net(subnet, 0)}.1/24`, v6: `${v6Net(subnet, 0)}::1/64`, mtu };
    const s: PlanIface = { ns: server, name: n('s1'), v4: `${v4Net(subnet, 0)}.2/24`, v6: `${v6Net(subnet, 0)}::2/64`, mtu };
    join(1, p1, c, s);
    plan.paths.push({ id: 1, families: [4, 6], shaping: p1, bottleneck: [c.name, s.name] });
    if (p1.rate !== undefined) plan.tbf.push({ ns: client, dev: c.name, rate: p1.rate, path: 1 }, { ns: server, dev: s.name, rate: p1.rate, path: 1 });
    // Loss on the receiver's ingress: the sender's output path may still see GSO packets.
    if (p1.loss) plan.loss.push({ ns: server, dev: s.name, loss: p1.loss, path: 1 }, { ns: client, dev: c.name, loss: p1.loss, path: 1 });
    plan.endpoints = { client: { v4: addrOnly(c.v4), v6: addrOnly(c.v6) }, server: { v4: addrOnly(s.v4), v6: addrOnly(s.v6) } };
  } else {
    const multipath = topology === 'multipath';
    const pathDefs: { id: number; s: PathShaping; families: (4 | 6)[] }[] = multipath
      ? [{ id: 1, s: p1, families: [4] }, { id: 2, s: p2, families: [6] }]
      : [{ id: 1, s: p1, families: [4, 6] }];
    for (const pd of pathDefs) {
      const id = pd.id;
      const mtu = pd.s.mtu ?? DEFAULT_MTU;
      const router = multipath ? n(`router${id}`) : n('router');
      plan.namespaces.push({ name: router, role: 'router', path: id });
      plan.routers.push(router);
      // Subnets: path 1 uses /24s 0 (client side) and 1 (server side), path 2 uses 2 and 3.
      const left = (id - 1) * 2;
      const right = left + 1;
      const has4 = pd.families.includes(4);
      const has6 = pd.families.includes(6);
      const mk = (ns: string, name: string, sub: number, host: number): PlanIface => ({
        ns, name, mtu,
        v4: has4 ? `${v4Net(subnet, sub)}.${host}/24` : undefined,
        v6: has6 ? `${v6Net(subnet, sub)}::${host}/64` : undefined,
      });
      const c = mk(client, n(`c${id}`), left, 2);
      const ra = mk(router, n(`r${id}a`), left, 1);
      const rb = mk(router, n(`r${id}b`), right, 1);
      const s = mk(server, n(`s${id}`), right, 2);
      join(id, pd.s, c, ra);
      plan.links.push({ a: rb, b: s, path: id });
      for (const fam of pd.families) {
        const gwC = addrOnly(fam === 4 ? ra.v4 : ra.v6)!;
        const gwS = addrOnly(fam === 4 ? rb.v4 : rb.v6)!;
        plan.routes.push({ ns: client, family: fam, via: gwC, dev: c.name }, { ns: server, family: fam, via: gwS, dev: s.name });
      }
      plan.paths.push({ id, families: pd.families, shaping: pd.s, bottleneck: [ra.name, rb.name] });
      // The router shapes both directions: toward the client on `a`, toward the server on `b`, so
      // the end hosts' own interfaces stay plain (a pcap-based stack there sees the shaped traffic).
      if (pd.s.rate !== undefined) plan.tbf.push({ ns: router, dev: ra.name, rate: pd.s.rate, path: id }, { ns: router, dev: rb.name, rate: pd.s.rate, path: id });
      if (pd.s.loss) plan.loss.push({ ns: router, dev: ra.name, loss: pd.s.loss, path: id }, { ns: router, dev: rb.name, loss: pd.s.loss, path: id });
      if (has4) {
        plan.endpoints.client.v4 = addrOnly(c.v4);
        plan.endpoints.server.v4 = addrOnly(s.v4);
      }
      if (has6) {
        plan.endpoints.client.v6 = addrOnly(c.v6);
        plan.endpoints.server.v6 = addrOnly(s.v6);
      }
    }
  }
  for (const l of plan.links) {
    for (const e of [l.a, l.b]) {
      if (e.name.length > IFNAME_MAX) throw new LabError(LabErrorCode.usage, `interface name ${e.name} is longer than ${IFNAME_MAX}`);
    }
  }
  return plan;
}

/** tbf burst: 4 ms at the rate, at least two full frames (tbf drops frames larger than the bucket). */
export function tbfBurstBytes(rate: number, mtu: number): number {
  return Math.max(Math.ceil(rate / 8 / 250), 2 * (mtu + 14), 4000);
}
