/**
 * `tcpls lab`: network-namespace topologies for experiments and tests (up, down, status,
 * middlebox). The work is done by @tcpls/link's lab module; this file parses arguments and prints.
 */
import {
  LabError,
  LabErrorCode,
  type LabPathShaping,
  type LabUpOptions,
  LAB_DEFAULT_PREFIX,
  LAB_MIDDLEBOX_HELP,
  LAB_PREFIX_MAX,
  LAB_STRIP_OPTIONS,
  formatLabSummary,
  labDown,
  labMiddlebox,
  labStatus,
  labUp,
  parseLabDelay,
  parseLabDelayMode,
  parseLabLoss,
  parseLabMiddlebox,
  parseLabMtu,
  parseLabPrefix,
  parseLabRate,
  parseLabSubnet,
  parseLabTopology,
} from '@tcpls/link';
import { type ParsedArgs, UsageError, parseArgs } from '../args.js';

export const summary = 'create and remove namespace topologies (two-hosts, router, multipath) with shaping and middlebox rules';

const HELP_MAIN = `usage: tcpls lab <up|down|status|middlebox> [options]   (needs root)

  up <topology>      create a lab: two-hosts, router or multipath
  down               remove a lab (its namespaces, nftables tables, processes, state file)
  status             show one lab, or every lab with a state file
  middlebox RULES    replace the middlebox rules of a running lab (--clear removes them)

tcpls lab <subcommand> --help shows the options. State files live in /run/tcpls-lab/<prefix>.json.
`;

const HELP_UP = `usage: tcpls lab up <two-hosts|router|multipath> [options]

Topologies (P = prefix; every namespace, interface and nftables table carries it):
  two-hosts   P-client (P-c1) <-> P-server (P-s1): one veth pair, IPv4 and IPv6 in one subnet
  router      P-client (P-c1) <-> P-router (P-r1a | P-r1b) <-> P-server (P-s1), forwarding and
              default routes both ways, IPv4 and IPv6
  multipath   two disjoint paths: path 1 (IPv4) through P-router1, path 2 (IPv6) through
              P-router2; the client has P-c1 and P-c2, the server P-s1 and P-s2

Options:
  --prefix P         name prefix, 1-${LAB_PREFIX_MAX} letters/digits (default "${LAB_DEFAULT_PREFIX}")
  --rate R           tbf rate limit, both directions (e.g. 30mbit, 500kbit, 1gbit)
  --loss PCT         random loss in percent, each direction (e.g. 2 or 0.5%)
  --delay MS         one-way delay in ms, added in each direction (RTT grows by 2 x MS)
  --mtu N            MTU of the path's interfaces (1280-65535, default 1500)
  --rate1/--loss1/--delay1/--mtu1, --rate2/--loss2/--delay2/--mtu2
                     multipath only: the same for path 1 or path 2 alone; the plain options
                     apply to both paths and the numbered ones override them
  --middlebox RULES  router/multipath: nftables rules in the router(s), comma-separated:
                       mss=N          clamp the MSS of SYN and SYN-ACK to N (88..65535)
                       strip=NAME     turn an option into NOPs; NAME one of
                                      ${Object.keys(LAB_STRIP_OPTIONS).join(', ')}
                       strip=KIND     the same by option kind number (2..254)
  --subnet 10.X.Y.0/22
                     addresses to use (default: derived from the prefix in 10.160-223.x.0);
                     the lab uses the four /24s Y..Y+3 and fd00:X:Y+i::/64 (hex)
  --delay-mode M     auto (netem when the kernel has it, else the userspace bridge), netem or userspace
  --force            replace a lab with the same prefix (default: an identical, healthy lab
                     is left as it is and up succeeds; a different or broken one is refused)
  --json             print the lab as one JSON object

Where shaping goes: two-hosts shapes the hosts' own veths (tbf on egress, loss on ingress);
router and multipath shape on the router's interfaces. A delay inserts a bridge namespace
P-bridge<path> into the client's link; the hosts keep their subnet. Every veth has
tso/gso/gro/tx checksum offloads off.

Examples:
  sudo tcpls lab up two-hosts --rate 30mbit --delay 20
  sudo tcpls lab up router --prefix exp1 --middlebox mss=1200,strip=sack-perm --json
  sudo tcpls lab up multipath --rate 30mbit --rate2 20mbit --delay2 10 --loss1 1
  sudo ip netns exec tl-server iperf3 -s &  sudo ip netns exec tl-client iperf3 -c <server address>
`;

const HELP_DOWN = `usage: tcpls lab down [--prefix P] [--json]

Ends the processes the lab started (recorded in /run/tcpls-lab/P.json), deletes its namespaces
(with their interfaces and nftables tables) and the state file. Succeeds and says "nothing to
remove" when there is no such lab. Processes you started yourself inside the namespaces are
listed, not killed.
  --prefix P   the lab (default "${LAB_DEFAULT_PREFIX}")
  --json       print what was removed as JSON
Example: sudo tcpls lab down --prefix exp1
`;

const HELP_STATUS = `usage: tcpls lab status [--prefix P] [--json]

Without --prefix, every lab that has a state file. Reports whether each namespace still exists and
each bridge process still runs. Exit code 1 when a named lab does not exist or is unhealthy.
Example: tcpls lab status --prefix exp1 --json
`;

const HELP_MIDDLEBOX = `usage: tcpls lab middlebox [--prefix P] RULES | --clear [--json]

Replaces the middlebox rules on the router(s) of a running router or multipath lab.
RULES: comma-separated; ${LAB_MIDDLEBOX_HELP}
Example: sudo tcpls lab middlebox --prefix exp1 mss=1000,strip=timestamp,strip=254
`;

function fromLabError(e: unknown): never {
  if (e instanceof LabError && e.code === LabErrorCode.usage) throw new UsageError(e.message);
  throw e;
}

function pathShaping(a: ParsedArgs, suffix: '' | '1' | '2', base: LabPathShaping): LabPathShaping {
  const get = (k: string): string | undefined => a.values.get(`${k}${suffix}`);
  const s: LabPathShaping = { ...base };
  const rate = get('rate');
  const loss = get('loss');
  const delay = get('delay');
  const mtu = get('mtu');
  if (rate !== undefined) s.rate = parseLabRate(rate, `rate${suffix}`);
  if (loss !== undefined) s.loss = parseLabLoss(loss, `loss${suffix}`);
  if (delay !== undefined) s.delay = parseLabDelay(delay, `delay${suffix}`);
  if (mtu !== undefined) s.mtu = parseLabMtu(mtu, `mtu${suffix}`);
  return s;
}

function upOptions(a: ParsedArgs): LabUpOptions {
  if (a.positionals.length > 1) throw new UsageError(`unexpected arguments: ${a.positionals.slice(1).join(' ')}`);
  const topology = parseLabTopology(a.positionals[0]);
  const both = pathShaping(a, '', {});
  const numbered = ['rate', 'loss', 'delay', 'mtu'].flatMap((k) => [`${k}1`, `${k}2`]).filter((k) => a.values.has(k));
  if (topology !== 'multipath' && numbered.length > 0) {
    throw new UsageError(`--${numbered[0]} is a per-path option of the multipath topology; use the plain option (--${numbered[0].slice(0, -1)})`);
  }
  const opts: LabUpOptions = {
    topology,
    prefix: parseLabPrefix(a.values.get('prefix')),
    path1: pathShaping(a, '1', both),
    middlebox: a.values.has('middlebox') ? parseLabMiddlebox(a.values.get('middlebox') ?? '') : [],
    delayMode: parseLabDelayMode(a.values.get('delay-mode')),
    force: a.flags.has('force'),
  };
  if (topology === 'multipath') opts.path2 = pathShaping(a, '2', both);
  const subnet = a.values.get('subnet');
  if (subnet !== undefined) opts.subnet = parseLabSubnet(subnet);
  return opts;
}

async function cmdUp(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: ['prefix', 'middlebox', 'subnet', 'delay-mode', ...['rate', 'loss', 'delay', 'mtu'].flatMap((k) => [k, `${k}1`, `${k}2`])],
    flags: ['json', 'force'],
  });
  if (a.flags.has('help')) {
    process.stdout.write(HELP_UP);
    return 0;
  }
  let opts: LabUpOptions;
  try {
    opts = upOptions(a);
  } catch (e) {
    fromLabError(e);
  }
  const json = a.flags.has('json');
  // Ctrl-C or a kill while building: labUp stops at its next step and removes what it created.
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let state;
  try {
    state = await labUp({ ...opts, signal: abort.signal }, json ? undefined : (s) => process.stderr.write(`lab: ${s}\n`)).catch(fromLabError);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(json ? JSON.stringify(state, null, 2) + '\n' : formatLabSummary(state));
  return 0;
}

async function cmdDown(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['prefix'], flags: ['json'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP_DOWN);
    return 0;
  }
  if (a.positionals.length > 0) throw new UsageError(`unexpected arguments: ${a.positionals.join(' ')}`);
  const prefix = (() => { try { return parseLabPrefix(a.values.get('prefix')); } catch (e) { return fromLabError(e); } })();
  const r = await labDown(prefix).catch(fromLabError);
  if (a.flags.has('json')) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  if (r.nothingToRemove) {
    process.stdout.write(`lab '${prefix}': nothing to remove\n`);
    return 0;
  }
  process.stdout.write(`lab '${prefix}' removed: namespaces ${r.namespaces.join(' ') || '(none)'}; processes ${r.pids.join(' ') || '(none)'}${r.stateFile ? `; ${r.stateFile}` : ''}\n`);
  for (const f of r.foreignPids) {
    process.stdout.write(`  note: processes still running from ${f.namespace} (not started by the lab, left alone): ${f.pids.join(' ')}\n`);
  }
  return 0;
}

async function cmdStatus(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['prefix'], flags: ['json'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP_STATUS);
    return 0;
  }
  if (a.positionals.length > 0) throw new UsageError(`unexpected arguments: ${a.positionals.join(' ')}`);
  const prefix = a.values.get('prefix');
  if (prefix !== undefined) {
    try { parseLabPrefix(prefix); } catch (e) { fromLabError(e); }
  }
  const all = await labStatus(prefix).catch(fromLabError);
  if (a.flags.has('json')) {
    const exists = (s: (typeof all)[number]): boolean => s.state !== null || s.namespacesPresent.length > 0;
    const out = prefix !== undefined ? { ...all[0], exists: exists(all[0]) } : { labs: all.map((s) => ({ ...s, exists: exists(s) })) };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return prefix !== undefined && !all[0].healthy ? 1 : 0;
  }
  if (all.length === 0) {
    process.stdout.write('no labs\n');
    return 0;
  }
  let bad = false;
  for (const s of all) {
    if (s.state === null) {
      if (s.namespacesPresent.length > 0) {
        process.stdout.write(`lab '${s.prefix}': no state file, but namespaces exist: ${s.namespacesPresent.join(' ')} (tcpls lab down --prefix ${s.prefix} removes them)\n`);
      } else {
        process.stdout.write(`lab '${s.prefix}': does not exist\n`);
      }
      bad = true;
      continue;
    }
    process.stdout.write(formatLabSummary(s.state));
    const problems = [
      ...(s.state.complete ? [] : ['up did not finish (interrupted or killed): tcpls lab down removes what it built']),
      ...s.namespacesMissing.map((n) => `namespace ${n} is gone`),
      ...s.pids.filter((p) => !p.alive).map((p) => `bridge process ${p.pid} is not running`),
    ];
    process.stdout.write(problems.length ? `  PROBLEMS: ${problems.join('; ')}\n` : '  status: healthy\n');
    if (!s.healthy) bad = true;
  }
  return prefix !== undefined && bad ? 1 : 0;
}

async function cmdMiddlebox(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['prefix'], flags: ['json', 'clear'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP_MIDDLEBOX);
    return 0;
  }
  let rules;
  try {
    if (a.flags.has('clear')) {
      if (a.positionals.length > 0) throw new UsageError('give either RULES or --clear');
      rules = parseLabMiddlebox('');
    } else {
      if (a.positionals.length !== 1) throw new UsageError(`give the rules as one argument (or --clear); ${LAB_MIDDLEBOX_HELP}`);
      rules = parseLabMiddlebox(a.positionals[0]);
    }
    parseLabPrefix(a.values.get('prefix'));
  } catch (e) {
    fromLabError(e);
  }
  const state = await labMiddlebox(a.values.get('prefix'), rules).catch(fromLabError);
  if (a.flags.has('json')) process.stdout.write(JSON.stringify(state.middlebox, null, 2) + '\n');
  else process.stdout.write(`lab '${state.prefix}': middlebox on ${state.middlebox.routers.join(', ')}: ${state.middlebox.rules || '(none)'}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'up':
        return await cmdUp(rest);
      case 'down':
        return await cmdDown(rest);
      case 'status':
        return await cmdStatus(rest);
      case 'middlebox':
        return await cmdMiddlebox(rest);
      case undefined:
        throw new UsageError('missing subcommand: up, down, status or middlebox');
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(HELP_MAIN);
        return 0;
      default:
        throw new UsageError(`unknown subcommand '${sub}': up, down, status or middlebox`);
    }
  } catch (e) {
    if (e instanceof LabError) {
      process.stderr.write(`tcpls lab: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
