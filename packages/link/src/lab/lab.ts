/**
 * The namespace lab: builds a plan (plan.ts) with ip/tc/nft/ethtool, records what it started in a
 * state file (/run/tcpls-lab/<prefix>.json), and removes exactly that again. A failure midway rolls
 * back everything created so far, so a lab is either complete or absent.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsRunOk, requireRoot, requireTools, runCmd, runOk } from './exec.js';
import {
  LabError,
  LabErrorCode,
  type LabUpOptions,
  type MiddleboxRule,
  type Topology,
  describeMiddlebox,
  middleboxNftLines,
  fnv1a32,
  parsePrefix,
  v4Net,
  v6Net,
} from './options.js';
import { type LabPlan, type NsRole, buildPlan, ownedNamespacePattern, tbfBurstBytes } from './plan.js';
import { pidAlive } from '../util/pid.js';

/** Where state files live; TCPLS_LAB_STATE_DIR overrides (tests, non-standard systems). */
export function labStateDir(): string {
  return process.env.TCPLS_LAB_STATE_DIR ?? '/run/tcpls-lab';
}

export function labStateFile(prefix: string): string {
  return join(labStateDir(), `${prefix}.json`);
}

export interface LabInterfaceInfo {
  name: string;
  /** The interface at the other end of the veth, as "namespace/interface". */
  peer: string | null;
  mac: string;
  mtu: number;
  /** Global addresses with prefix length. */
  v4: string[];
  v6: string[];
  linkLocal6: string | null;
  /** tbf rate (bit/s) on this interface's egress, loss (%) on its ingress, when shaped here. */
  rate: number | null;
  loss: number | null;
}

export interface LabNamespaceInfo {
  name: string;
  role: NsRole;
  path: number;
  /** How to run a command in it. */
  enter: string;
  interfaces: LabInterfaceInfo[];
}

export interface LabPathInfo {
  id: number;
  families: (4 | 6)[];
  /** bit/s, or null when not rate limited. */
  rate: number | null;
  /** percent each direction, or null. */
  loss: number | null;
  /** one-way ms each direction, or null. */
  delay: number | null;
  delayMode: 'netem' | 'userspace' | null;
  mtu: number;
  /** Interfaces whose egress carries the tbf. */
  bottleneck: string[];
}

export interface LabBridgeInfo {
  namespace: string;
  interfaces: [string, string];
  path: number;
  delayMs: number;
  mode: 'netem' | 'userspace';
  /** PID of the userspace bridge process (null for netem). */
  pid: number | null;
  log: string | null;
}

export interface LabState {
  version: 1;
  topology: Topology;
  prefix: string;
  createdAt: string;
  /** False while `up` is still building (a crash then leaves a state `down` can clean). */
  complete: boolean;
  subnet: { v4: string[]; v6: string[] };
  endpoints: LabPlan['endpoints'];
  namespaces: LabNamespaceInfo[];
  paths: LabPathInfo[];
  middlebox: { rules: string; nft: string[]; routers: string[] };
  bridges: LabBridgeInfo[];
  /** Every process the lab started (so `down` ends exactly these). */
  pids: number[];
  /** nftables tables, as "namespace:family name". */
  nftTables: string[];
  stateFile: string;
  /**
   * Fingerprint of the plan the lab was built from (topology, names, addresses, shaping,
   * middlebox): a second `up` with the same options finds it unchanged and succeeds.
   */
  planHash?: string;
}

function nftTable(prefix: string, what: 'loss' | 'mbox'): string {
  return `${prefix}_${what}`;
}

/** The built delay bridge (dist/lab/delay-bridge.js), also when this module runs from src/ (jest). */
export function delayBridgeScript(): string {
  const here = fileURLToPath(new URL('./delay-bridge.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = here.replace(/([\\/])src([\\/])lab([\\/])delay-bridge\.js$/, '$1dist$2lab$3delay-bridge.js');
  if (existsSync(built)) return built;
  throw new LabError(LabErrorCode.bridgeFailed, `the delay bridge is not built (${built} missing): run npx tsc -b packages/link`);
}

function writeState(state: LabState): void {
  mkdirSync(labStateDir(), { recursive: true, mode: 0o755 });
  const tmp = `${state.stateFile}.tmp${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, state.stateFile);
}

export function readLabState(prefix: string): LabState | null {
  try {
    const s = JSON.parse(readFileSync(labStateFile(prefix), 'utf8')) as LabState;
    return s && s.version === 1 && s.prefix === prefix ? s : null;
  } catch {
    return null;
  }
}

/** Names of the existing network namespaces. */
export async function listNamespaces(): Promise<string[]> {
  const out = await runOk('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((s) => s !== undefined && s !== '');
}

/** True when `pid` still runs our delay bridge (and not some process that reused the PID). */
function isOurBridge(pid: number, prefix: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.some((a) => a.endsWith('delay-bridge.js')) && cmd.some((a) => a.startsWith(`${prefix}-`));
  } catch {
    return false;
  }
}

async function endPid(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(20);
  if (pidAlive(pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(20);
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function formatRate(bits: number): string {
  if (bits % 1e9 === 0) return `${bits / 1e9}gbit`;
  if (bits % 1e6 === 0) return `${bits / 1e6}mbit`;
  if (bits % 1e3 === 0) return `${bits / 1e3}kbit`;
  return `${bits}bit`;
}

interface IpAddrJson {
  ifname: string;
  mtu: number;
  address?: string;
  link_type?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

async function collectNamespace(plan: LabPlan, ns: { name: string; role: NsRole; path: number }): Promise<LabNamespaceInfo> {
  const out = await runOk('ip', ['-n', ns.name, '-j', 'addr', 'show']);
  const links = JSON.parse(out) as IpAddrJson[];
  const peers = new Map<string, string>();
  for (const l of plan.links) {
    peers.set(`${l.a.ns}/${l.a.name}`, `${l.b.ns}/${l.b.name}`);
    peers.set(`${l.b.ns}/${l.b.name}`, `${l.a.ns}/${l.a.name}`);
  }
  const interfaces: LabInterfaceInfo[] = [];
  for (const l of links) {
    if (l.link_type === 'loopback') continue;
    const ai = l.addr_info ?? [];
    interfaces.push({
      name: l.ifname,
      peer: peers.get(`${ns.name}/${l.ifname}`) ?? null,
      mac: l.address ?? '',
      mtu: l.mtu,
      v4: ai.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      v6: ai.filter((a) => a.family === 'inet6' && a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
      linkLocal6: ai.find((a) => a.family === 'inet6' && a.scope === 'link')?.local ?? null,
      rate: plan.tbf.find((t) => t.ns === ns.name && t.dev === l.ifname)?.rate ?? null,
      loss: plan.loss.find((t) => t.ns === ns.name && t.dev === l.ifname)?.loss ?? null,
    });
  }
  return { name: ns.name, role: ns.role, path: ns.path, enter: `ip netns exec ${ns.name} <command>`, interfaces };
}

function middleboxNft(prefix: string, rules: readonly MiddleboxRule[]): string {
  const t = nftTable(prefix, 'mbox');
  // "declare, delete, recreate" in one transaction: replaces any previous rule set atomically.
  let s = `table inet ${t} {}\ndelete table inet ${t}\n`;
  if (rules.length > 0) {
    s += `table inet ${t} {\n  chain mbox {\n    type filter hook forward priority mangle; policy accept;\n`;
    for (const line of middleboxNftLines(rules)) s += `    ${line}\n`;
    s += '  }\n}\n';
  }
  return s;
}

/** Whether `tc` here can add a netem qdisc (this machine's kernel cannot). */
async function netemWorks(ns: string): Promise<boolean> {
  const r = await runCmd('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
  if (r.code !== 0) return false;
  await runCmd('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
  return true;
}

interface StartedBridge {
  pid: number;
  log: string;
  ns: string;
  exited: () => boolean;
}

function spawnUserspaceBridge(prefix: string, ns: string, a: string, b: string, delay: number, path: number): StartedBridge {
  const script = delayBridgeScript();
  const log = join(labStateDir(), `${prefix}-bridge${path}.log`);
  const fd = openSync(log, 'w');
  let child;
  try {
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, '--a', a, '--b', b, '--delay', String(delay)], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new LabError(LabErrorCode.bridgeFailed, `could not start the delay bridge in ${ns}`);
  let exited = false;
  child.on('exit', () => { exited = true; });
  child.unref();
  // `ip netns exec` execs node in place, so `pid` is the bridge itself.
  return { pid, log, ns, exited: () => exited };
}

async function waitBridgeReady(b: StartedBridge, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (signal?.aborted) throw new LabError(LabErrorCode.aborted, `interrupted while the delay bridge in ${b.ns} started; rolled back`);
    const text = existsSync(b.log) ? readFileSync(b.log, 'utf8') : '';
    if (/^ready /m.test(text)) return;
    if (b.exited() || !pidAlive(b.pid) || Date.now() > deadline) {
      throw new LabError(LabErrorCode.bridgeFailed, `the delay bridge in ${b.ns} did not start: ${text.trim().split('\n').slice(-4).join(' | ') || 'no output'}`);
    }
    await sleep(25);
  }
}

/** What `labUp` reports as it goes (for a CLI that wants progress); optional. */
export type LabProgress = (step: string) => void;

/** Tools `up` needs. */
export const LAB_UP_TOOLS = ['ip', 'tc', 'nft', 'ethtool', 'sysctl'] as const;

/** A plan is a pure function of the options, so equal fingerprints mean "the same lab". */
function planHash(plan: LabPlan): string {
  return fnv1a32(JSON.stringify(plan)).toString(16).padStart(8, '0');
}

/** Why the existing lab `prefix` is not already the lab `hash` describes, or null when it is. */
async function differsFrom(prefix: string, hash: string): Promise<string | null> {
  const [st] = await labStatus(prefix);
  if (st.state === null) return 'it has no state file';
  if (!st.state.complete) return 'it is incomplete (an earlier up was interrupted)';
  if (st.state.planHash !== hash) return 'it was built with other options';
  if (!st.healthy) return 'it is unhealthy (a namespace or bridge process is gone)';
  return null;
}

/**
 * Creates the lab; on failure removes whatever it created and rethrows. Idempotent: when a
 * complete, healthy lab with the same prefix and the same options exists, returns its state
 * unchanged; a different or broken one is refused unless `force` replaces it.
 */
export async function labUp(opts: LabUpOptions, progress: LabProgress = () => {}): Promise<LabState> {
  const plan = buildPlan(opts); // every usage error is thrown here, before anything exists
  requireRoot();
  requireTools(LAB_UP_TOOLS);
  const prefix = plan.prefix;
  const hash = planHash(plan);
  if (await labExists(prefix)) {
    if (!opts.force) {
      const why = await differsFrom(prefix, hash);
      if (why === null) {
        progress(`lab '${prefix}' is already up with these options: nothing to do`);
        return readLabState(prefix)!;
      }
      throw new LabError(LabErrorCode.exists, `a lab with prefix '${prefix}' already exists and ${why}: run 'tcpls lab down --prefix ${prefix}' first, or pass --force to replace it`);
    }
    progress(`replacing the existing lab '${prefix}'`);
    await labDown(prefix);
  }
  const sn = plan.subnet;
  const state: LabState = {
    version: 1,
    topology: plan.topology,
    prefix,
    createdAt: new Date().toISOString(),
    complete: false,
    subnet: { v4: [0, 1, 2, 3].map((i) => `${v4Net(sn, i)}.0/24`), v6: [0, 1, 2, 3].map((i) => `${v6Net(sn, i)}::/64`) },
    endpoints: plan.endpoints,
    namespaces: plan.namespaces.map((n) => ({ ...n, enter: `ip netns exec ${n.name} <command>`, interfaces: [] })),
    paths: [],
    middlebox: { rules: describeMiddlebox(plan.middlebox), nft: middleboxNftLines(plan.middlebox), routers: plan.routers },
    bridges: [],
    pids: [],
    nftTables: [],
    stateFile: labStateFile(prefix),
    planHash: hash,
  };
  const created: string[] = [];
  const bridgesStarting: StartedBridge[] = [];
  const step = (name: string): void => {
    if (opts.signal?.aborted) throw new LabError(LabErrorCode.aborted, `interrupted before step '${name}'; rolled back`);
    progress(name);
  };
  try {
    writeState(state);
    step('namespaces');
    for (const ns of plan.namespaces) {
      if (opts.signal?.aborted) step('namespaces');
      await runOk('ip', ['netns', 'add', ns.name]);
      created.push(ns.name);
      const sysctls = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
      if (ns.role === 'router') sysctls.push('net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
      // The bridge is a wire: its interfaces must not speak (router solicitations, DAD) themselves.
      if (ns.role === 'bridge') sysctls.push('net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      await nsRunOk(ns.name, 'sysctl', ['-qw', ...sysctls]);
      await runOk('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    }
    step('links');
    for (const l of plan.links) {
      await runOk('ip', ['link', 'add', l.a.name, 'netns', l.a.ns, 'type', 'veth', 'peer', 'name', l.b.name, 'netns', l.b.ns]);
    }
    const batches = new Map<string, string[]>();
    const add = (ns: string, line: string): void => {
      const b = batches.get(ns) ?? [];
      b.push(line);
      batches.set(ns, b);
    };
    for (const l of plan.links) {
      for (const e of [l.a, l.b]) {
        add(e.ns, `link set dev ${e.name} mtu ${e.mtu}`);
        add(e.ns, `link set dev ${e.name} up`);
        if (e.v4) add(e.ns, `addr add ${e.v4} dev ${e.name}`);
        if (e.v6) add(e.ns, `addr add ${e.v6} dev ${e.name} nodad`);
      }
    }
    for (const r of plan.routes) add(r.ns, `route add default via ${r.via} dev ${r.dev}`);
    for (const [ns, lines] of batches) await runOk('ip', ['-n', ns, '-batch', '-'], lines.join('\n') + '\n');
    step('offloads');
    // A userspace stack must see real segments with full checksums (docs/environment.md).
    for (const l of plan.links) {
      for (const e of [l.a, l.b]) await nsRunOk(e.ns, 'ethtool', ['-K', e.name, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
    }
    step('shaping');
    for (const t of plan.tbf) {
      const mtu = plan.links.flatMap((l) => [l.a, l.b]).find((e) => e.ns === t.ns && e.name === t.dev)?.mtu ?? 1500;
      await nsRunOk(t.ns, 'tc', ['qdisc', 'replace', 'dev', t.dev, 'root', 'tbf', 'rate', `${t.rate}bit`, 'burst', String(tbfBurstBytes(t.rate, mtu)), 'latency', '50ms']);
    }
    const lossByNs = new Map<string, typeof plan.loss>();
    for (const l of plan.loss) lossByNs.set(l.ns, [...(lossByNs.get(l.ns) ?? []), l]);
    for (const [ns, losses] of lossByNs) {
      const t = nftTable(prefix, 'loss');
      // Random drop on the receiving interface's ingress; numgen draws 0..99999 per packet.
      let s = `table netdev ${t} {\n`;
      losses.forEach((l, i) => {
        s += `  chain loss${i} { type filter hook ingress device "${l.dev}" priority filter; policy accept; numgen random mod 100000 < ${Math.round(l.loss * 1000)} drop; }\n`;
      });
      s += '}\n';
      await nsRunOk(ns, 'nft', ['-f', '-'], s);
      state.nftTables.push(`${ns}:netdev ${t}`);
    }
    if (plan.middlebox.length > 0) {
      step('middlebox');
      for (const r of plan.routers) {
        await nsRunOk(r, 'nft', ['-f', '-'], middleboxNft(prefix, plan.middlebox));
        state.nftTables.push(`${r}:inet ${nftTable(prefix, 'mbox')}`);
      }
    }
    for (const b of plan.bridges) {
      step(`delay bridge ${b.ns}`);
      const useNetem = plan.delayMode === 'netem' || (plan.delayMode === 'auto' && (await netemWorks(b.ns)));
      if (useNetem) {
        const br = `${prefix}-br${b.path}`;
        await runOk('ip', ['-n', b.ns, 'link', 'add', br, 'type', 'bridge']);
        for (const dev of [b.a, b.b]) {
          await runOk('ip', ['-n', b.ns, 'link', 'set', dev, 'master', br]);
          await nsRunOk(b.ns, 'tc', ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', `${b.delay}ms`, 'limit', '100000']);
        }
        await runOk('ip', ['-n', b.ns, 'link', 'set', br, 'up']);
        state.bridges.push({ namespace: b.ns, interfaces: [b.a, b.b], path: b.path, delayMs: b.delay, mode: 'netem', pid: null, log: null });
      } else {
        const started = spawnUserspaceBridge(prefix, b.ns, b.a, b.b, b.delay, b.path);
        state.pids.push(started.pid);
        state.bridges.push({ namespace: b.ns, interfaces: [b.a, b.b], path: b.path, delayMs: b.delay, mode: 'userspace', pid: started.pid, log: started.log });
        writeState(state);
        bridgesStarting.push(started);
      }
    }
    // The bridges settle in parallel (each waits about a second before it reports ready).
    await Promise.all(bridgesStarting.map((b) => waitBridgeReady(b, opts.signal)));
    step('collect');
    state.paths = plan.paths.map((p) => ({
      id: p.id,
      families: p.families,
      rate: p.shaping.rate ?? null,
      loss: p.shaping.loss ? p.shaping.loss : null,
      delay: p.shaping.delay ? p.shaping.delay : null,
      delayMode: state.bridges.find((b) => b.path === p.id)?.mode ?? null,
      mtu: p.shaping.mtu ?? 1500,
      bottleneck: p.bottleneck,
    }));
    state.namespaces = [];
    for (const ns of plan.namespaces) state.namespaces.push(await collectNamespace(plan, ns));
    state.complete = true;
    writeState(state);
    return state;
  } catch (e) {
    progress('failed: rolling back');
    for (const pid of state.pids) if (isOurBridge(pid, prefix)) await endPid(pid);
    for (const ns of created.reverse()) await runCmd('ip', ['netns', 'del', ns]);
    rmSync(state.stateFile, { force: true });
    for (const b of state.bridges) if (b.log) rmSync(b.log, { force: true });
    for (const p of [1, 2]) rmSync(join(labStateDir(), `${prefix}-bridge${p}.log`), { force: true });
    throw e;
  }
}

/** Whether anything of the lab `prefix` exists (state file or one of its namespaces). */
export async function labExists(prefix: string): Promise<boolean> {
  if (existsSync(labStateFile(prefix))) return true;
  const pat = ownedNamespacePattern(prefix);
  return (await listNamespaces()).some((n) => pat.test(n));
}

export interface LabDownResult {
  prefix: string;
  namespaces: string[];
  pids: number[];
  stateFile: string | null;
  /** Processes still inside the namespaces that the lab did not start (left running). */
  foreignPids: { namespace: string; pids: number[] }[];
  nothingToRemove: boolean;
}

/** Removes the lab: its processes, namespaces (with their interfaces and nftables tables), state. */
export async function labDown(prefixIn?: string): Promise<LabDownResult> {
  const prefix = parsePrefix(prefixIn);
  requireRoot();
  requireTools(['ip']);
  const state = readLabState(prefix);
  const result: LabDownResult = { prefix, namespaces: [], pids: [], stateFile: null, foreignPids: [], nothingToRemove: false };
  const pids = new Set<number>([...(state?.pids ?? []), ...(state?.bridges ?? []).map((b) => b.pid).filter((p): p is number => p !== null)]);
  for (const pid of pids) {
    if (isOurBridge(pid, prefix) && (await endPid(pid))) result.pids.push(pid);
  }
  const pat = ownedNamespacePattern(prefix);
  const existing = await listNamespaces();
  const targets = existing.filter((n) => pat.test(n) || (state?.namespaces ?? []).some((s) => s.name === n && n.startsWith(`${prefix}-`)));
  for (const ns of targets) {
    const r = await runCmd('ip', ['netns', 'pids', ns]);
    const left = r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
    if (left.length > 0) result.foreignPids.push({ namespace: ns, pids: left });
    await runOk('ip', ['netns', 'del', ns]);
    result.namespaces.push(ns);
  }
  const file = labStateFile(prefix);
  if (existsSync(file)) {
    rmSync(file, { force: true });
    result.stateFile = file;
  }
  for (const p of [1, 2]) rmSync(join(labStateDir(), `${prefix}-bridge${p}.log`), { force: true });
  result.nothingToRemove = result.namespaces.length === 0 && result.pids.length === 0 && result.stateFile === null;
  return result;
}

export interface LabStatus {
  prefix: string;
  state: LabState | null;
  /** Namespaces of this prefix that exist now. */
  namespacesPresent: string[];
  /** Recorded namespaces that are gone. */
  namespacesMissing: string[];
  pids: { pid: number; alive: boolean }[];
  /** Complete state, every namespace present, every process alive. */
  healthy: boolean;
}

/** Status of one lab, or of every lab with a state file when `prefix` is undefined. */
export async function labStatus(prefix?: string): Promise<LabStatus[]> {
  requireTools(['ip']);
  let prefixes: string[];
  if (prefix !== undefined) {
    prefixes = [parsePrefix(prefix)];
  } else {
    let files: string[] = [];
    try {
      files = readdirSync(labStateDir());
    } catch {
      files = [];
    }
    prefixes = files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter((p) => /^[a-zA-Z][a-zA-Z0-9]{0,9}$/.test(p)).sort();
  }
  const existing = await listNamespaces();
  const out: LabStatus[] = [];
  for (const p of prefixes) {
    const state = readLabState(p);
    const pat = ownedNamespacePattern(p);
    const present = existing.filter((n) => pat.test(n));
    const missing = (state?.namespaces ?? []).map((n) => n.name).filter((n) => !existing.includes(n));
    const pids = (state?.pids ?? []).map((pid) => ({ pid, alive: isOurBridge(pid, p) }));
    out.push({
      prefix: p, state, namespacesPresent: present, namespacesMissing: missing, pids,
      healthy: state !== null && state.complete && missing.length === 0 && pids.every((x) => x.alive),
    });
  }
  return out;
}

/** Replaces the middlebox rules of a running lab (an empty list clears them). */
export async function labMiddlebox(prefixIn: string | undefined, rules: readonly MiddleboxRule[]): Promise<LabState> {
  const prefix = parsePrefix(prefixIn);
  requireRoot();
  requireTools(['ip', 'nft']);
  const state = readLabState(prefix);
  if (state === null) throw new LabError(LabErrorCode.notFound, `no lab with prefix '${prefix}' (no state file ${labStateFile(prefix)})`);
  if (state.middlebox.routers.length === 0) {
    throw new LabError(LabErrorCode.usage, `the ${state.topology} topology has no router: middlebox rules need the router or multipath topology`);
  }
  const table = nftTable(prefix, 'mbox');
  for (const r of state.middlebox.routers) await nsRunOk(r, 'nft', ['-f', '-'], middleboxNft(prefix, rules));
  state.middlebox = { rules: describeMiddlebox(rules), nft: middleboxNftLines(rules), routers: state.middlebox.routers };
  // The lab no longer matches the options it was built from: a later `up` with them must not
  // take it for the same lab.
  delete state.planHash;
  state.nftTables = state.nftTables.filter((t) => !t.endsWith(`inet ${table}`));
  if (rules.length > 0) for (const r of state.middlebox.routers) state.nftTables.push(`${r}:inet ${table}`);
  writeState(state);
  return state;
}

/** A readable summary of a lab, with the commands to enter its namespaces. */
export function formatLabSummary(s: LabState): string {
  const lines: string[] = [];
  lines.push(`lab '${s.prefix}': ${s.topology}${s.complete ? '' : ' (INCOMPLETE)'}`);
  lines.push(`  subnets: ${s.subnet.v4.join(' ')}  ${s.subnet.v6.join(' ')}`);
  const ep = s.endpoints;
  lines.push(`  client ${[ep.client.v4, ep.client.v6].filter(Boolean).join(' ')}  ->  server ${[ep.server.v4, ep.server.v6].filter(Boolean).join(' ')}`);
  for (const p of s.paths) {
    const sh = [
      p.rate !== null ? `rate ${formatRate(p.rate)}` : null,
      p.loss !== null ? `loss ${p.loss}%` : null,
      p.delay !== null ? `delay ${p.delay}ms each way (${p.delayMode})` : null,
      `mtu ${p.mtu}`,
    ].filter(Boolean);
    lines.push(`  path ${p.id} (IPv${p.families.join('+IPv')}): ${sh.join(', ')}${p.rate !== null ? `; tbf on ${p.bottleneck.join(', ')}` : ''}`);
  }
  if (s.middlebox.rules) lines.push(`  middlebox on ${s.middlebox.routers.join(', ')}: ${s.middlebox.rules}`);
  for (const b of s.bridges) lines.push(`  delay bridge ${b.namespace} (${b.mode})${b.pid !== null ? ` pid ${b.pid}` : ''}`);
  lines.push('  namespaces:');
  for (const n of s.namespaces) {
    lines.push(`    ${n.name.padEnd(16)} ${n.role}`);
    for (const i of n.interfaces) {
      lines.push(`      ${i.name.padEnd(15)} ${[...i.v4, ...i.v6].join(' ') || '(no address)'}  mac ${i.mac} mtu ${i.mtu}${i.peer ? `  <-> ${i.peer}` : ''}`);
    }
  }
  lines.push('  enter with:');
  for (const n of s.namespaces.filter((x) => x.role === 'client' || x.role === 'server')) lines.push(`    ip netns exec ${n.name} bash`);
  lines.push(`  remove with: tcpls lab down --prefix ${s.prefix}`);
  return lines.join('\n') + '\n';
}
