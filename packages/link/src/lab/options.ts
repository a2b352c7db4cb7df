/**
 * Parsing and validation of the lab's inputs (topology, prefix, rates, loss, delay, MTU, subnet,
 * middlebox rules). Pure functions: everything is checked here, before anything is created, so a
 * bad value never leaves a half-built lab behind.
 */

/** Error codes of the lab. `usage` errors are the caller's input; the others are the machine. */
export const LabErrorCode = {
  usage: 'usage',
  notRoot: 'not-root',
  missingTool: 'missing-tool',
  exists: 'exists',
  notFound: 'not-found',
  commandFailed: 'command-failed',
  bridgeFailed: 'bridge-failed',
  aborted: 'aborted',
} as const;
export type LabErrorCode = (typeof LabErrorCode)[keyof typeof LabErrorCode];

export class LabError extends Error {
  readonly code: LabErrorCode;
  constructor(code: LabErrorCode, message: string) {
    super(message);
    this.name = 'LabError';
    this.code = code;
  }
}

function usage(msg: string): LabError {
  return new LabError(LabErrorCode.usage, msg);
}

export const TOPOLOGIES = ['two-hosts', 'router', 'multipath'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

export function parseTopology(s: string | undefined): Topology {
  if (s === undefined) throw usage(`missing topology: one of ${TOPOLOGIES.join(', ')}`);
  if (!(TOPOLOGIES as readonly string[]).includes(s)) {
    throw usage(`unknown topology '${s}': valid topologies are ${TOPOLOGIES.join(', ')}`);
  }
  return s as Topology;
}

export const DEFAULT_PREFIX = 'tl';
/**
 * Interface names are `<prefix>-<role>` with roles of up to 4 characters, and Linux allows 15
 * (IFNAMSIZ - 1), so the prefix is at most 10. No '-' inside the prefix: names of one lab then never
 * start with another lab's prefix plus '-'. Letters and digits only, so it is also a valid nftables
 * identifier.
 */
export const PREFIX_MAX = 10;

export function parsePrefix(s: string | undefined): string {
  const p = s ?? DEFAULT_PREFIX;
  if (!/^[a-zA-Z][a-zA-Z0-9]*$/.test(p) || p.length > PREFIX_MAX) {
    throw usage(`bad prefix '${p}': 1 to ${PREFIX_MAX} letters or digits, starting with a letter`);
  }
  return p;
}

/** Rates in bit/s. Units as in tc: bit, kbit, mbit, gbit (SI, 1000); a bare k/m/g means the same. */
const RATE_UNITS: Readonly<Record<string, number>> = {
  '': 1, bit: 1, k: 1e3, kbit: 1e3, m: 1e6, mbit: 1e6, g: 1e9, gbit: 1e9,
};
export const RATE_MIN = 8_000;
export const RATE_MAX = 40_000_000_000;

export function parseRate(s: string, name = 'rate'): number {
  const m = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(s.trim());
  const unit = m ? m[2].toLowerCase() : '';
  if (!m || RATE_UNITS[unit] === undefined) {
    throw usage(`--${name} '${s}' is not a rate: use e.g. 30mbit, 500kbit, 1gbit (units bit, kbit, mbit, gbit)`);
  }
  const bits = Math.round(Number(m[1]) * RATE_UNITS[unit]);
  if (!(bits >= RATE_MIN && bits <= RATE_MAX)) {
    throw usage(`--${name} '${s}' is out of range: between 8kbit and 40gbit`);
  }
  return bits;
}

/** Loss in percent, 0 < loss <= 100, resolution 0.001 % (the nftables rule draws mod 100000). */
export function parseLoss(s: string, name = 'loss'): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(s.trim());
  const v = m ? Number(m[1]) : NaN;
  if (!m || !(v >= 0 && v <= 100)) throw usage(`--${name} '${s}' is not a percentage between 0 and 100 (e.g. 2 or 0.5%)`);
  return Math.round(v * 1000) / 1000;
}

export const DELAY_MAX_MS = 10_000;

/** One-way delay in milliseconds: "20", "20ms", "1.5ms" or "0.2s"; 0 < delay <= 10 s. */
export function parseDelay(s: string, name = 'delay'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(s.trim());
  if (!m) throw usage(`--${name} '${s}' is not a delay: milliseconds, e.g. 20 or 20ms or 0.5s`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (!(ms >= 0 && ms <= DELAY_MAX_MS)) throw usage(`--${name} '${s}' is out of range: 0 to ${DELAY_MAX_MS} ms`);
  return ms;
}

/** IPv6 needs 1280 (RFC 8200 section 5); veth allows up to 65535. */
export const MTU_MIN = 1280;
export const MTU_MAX = 65535;

export function parseMtu(s: string, name = 'mtu'): number {
  if (!/^\d+$/.test(s.trim())) throw usage(`--${name} '${s}' is not an integer`);
  const n = Number(s);
  if (n < MTU_MIN || n > MTU_MAX) throw usage(`--${name} ${n} is out of range: ${MTU_MIN} to ${MTU_MAX}`);
  return n;
}

/**
 * The addresses of one lab: four consecutive IPv4 /24s 10.x.(y..y+3).0 and the IPv6 /64s
 * fd00:x:y+i::/64 (x and y+i written in hex), derived from the prefix unless overridden.
 */
export interface LabSubnet {
  /** Second octet. */
  x: number;
  /** Third octet of the first /24 (a multiple of 4). */
  y: number;
}

/** Second octets the hash may choose: 160..223, away from the 10.231-10.240 ranges of the smoke checks. */
export const SUBNET_X_MIN = 160;
export const SUBNET_X_COUNT = 64;

/** FNV-1a, 32 bits: a stable hash of the prefix (not security relevant). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function subnetForPrefix(prefix: string): LabSubnet {
  const h = fnv1a32(prefix);
  return { x: SUBNET_X_MIN + (h % SUBNET_X_COUNT), y: ((h >>> 8) % 64) * 4 };
}

/** `--subnet 10.X.Y.0[/22]` with Y a multiple of 4 (the lab uses Y..Y+3). */
export function parseSubnet(s: string): LabSubnet {
  const m = /^10\.(\d{1,3})\.(\d{1,3})\.0(?:\/22)?$/.exec(s.trim());
  const x = m ? Number(m[1]) : NaN;
  const y = m ? Number(m[2]) : NaN;
  if (!m || x > 255 || y > 252 || y % 4 !== 0) {
    throw usage(`--subnet '${s}' must be 10.X.Y.0 or 10.X.Y.0/22 with Y a multiple of 4 (the lab uses four /24s: Y to Y+3)`);
  }
  return { x, y };
}

export function v4Net(sn: LabSubnet, i: number): string {
  return `10.${sn.x}.${sn.y + i}`;
}

/**
 * The /64's first groups, written so that appending `::host` gives the canonical RFC 5952 text
 * (trailing zero groups dropped: fd00:a0:0 + ::1 would not be canonical, fd00:a0 + ::1 is), which
 * is how `ip` and node print the address back.
 */
export function v6Net(sn: LabSubnet, i: number): string {
  const groups = ['fd00', sn.x.toString(16), (sn.y + i).toString(16)];
  while (groups.length > 1 && groups[groups.length - 1] === '0') groups.pop();
  return groups.join(':');
}

/** Middlebox rules, applied by nftables in the router's forward chain. */
export type MiddleboxRule = { kind: 'mss'; mss: number } | { kind: 'strip'; option: number; name: string };

/** Option names accepted by `strip=`, with their TCP option kinds (IANA "TCP Option Kind Numbers"). */
export const STRIP_NAMES: Readonly<Record<string, number>> = {
  mss: 2, // RFC 9293 section 3.2
  wscale: 3, // RFC 7323 section 2
  'sack-perm': 4, // RFC 2018 section 2
  sack: 5, // RFC 2018 section 3
  timestamp: 8, // RFC 7323 section 3
  md5: 19, // RFC 2385
  'user-timeout': 28, // RFC 5482
  'tcp-ao': 29, // RFC 5925
  mptcp: 30, // RFC 8684
  fastopen: 34, // RFC 7413
  exp1: 253, // RFC 4727 / RFC 6994
  exp2: 254,
};

export const MIDDLEBOX_HELP =
  'valid rules: mss=N (clamp the MSS option of SYN and SYN-ACK to N, 88..65535), ' +
  `strip=NAME or strip=KIND (turn an option into NOPs; NAME one of ${Object.keys(STRIP_NAMES).join(', ')}; KIND 2..254)`;

/** Parses `mss=1200,strip=sack-perm,strip=254`; "none" or "" gives no rules. */
export function parseMiddlebox(s: string): MiddleboxRule[] {
  const rules: MiddleboxRule[] = [];
  const t = s.trim();
  if (t === '' || t === 'none') return rules;
  for (const part of t.split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    const key = eq >= 0 ? p.slice(0, eq) : p;
    const val = eq >= 0 ? p.slice(eq + 1) : '';
    if (key === 'mss') {
      if (!/^\d+$/.test(val) || Number(val) < 88 || Number(val) > 65535) {
        throw usage(`middlebox rule '${p}': mss needs an integer 88..65535; ${MIDDLEBOX_HELP}`);
      }
      rules.push({ kind: 'mss', mss: Number(val) });
    } else if (key === 'strip') {
      let kind: number | undefined = STRIP_NAMES[val];
      if (kind === undefined && /^\d+$/.test(val)) kind = Number(val);
      if (kind === undefined || kind < 2 || kind > 254) {
        throw usage(`middlebox rule '${p}': unknown option '${val}'; ${MIDDLEBOX_HELP}`);
      }
      rules.push({ kind: 'strip', option: kind, name: STRIP_NAMES[val] !== undefined ? val : String(kind) });
    } else {
      throw usage(`unknown middlebox rule '${p}'; ${MIDDLEBOX_HELP}`);
    }
  }
  return rules;
}

/** The nftables statements of a rule set (one line each), for the `forward priority mangle` chain. */
export function middleboxNftLines(rules: readonly MiddleboxRule[]): string[] {
  return rules.map((r) =>
    r.kind === 'mss'
      ? // `tcp flags syn` also matches SYN-ACK, so both directions' MSS is clamped (RFC 9293 section 3.7.1).
        `tcp flags syn tcp option maxseg size > ${r.mss} tcp option maxseg size set ${r.mss}`
      : // nftables overwrites the option with NOPs (kind 1), keeping the header length.
        `reset tcp option ${r.option}`,
  );
}

export function describeMiddlebox(rules: readonly MiddleboxRule[]): string {
  return rules.map((r) => (r.kind === 'mss' ? `mss=${r.mss}` : `strip=${r.name}`)).join(',');
}

/** Shaping of one path (both directions). Absent fields mean "not shaped". */
export interface PathShaping {
  /** tbf rate in bit/s on the egress of both ends of the bottleneck link. */
  rate?: number;
  /** Random loss in percent, on the receiving side of each direction. */
  loss?: number;
  /** One-way delay in ms, added in each direction. */
  delay?: number;
  /** MTU of every interface of the path. */
  mtu?: number;
}

export const DELAY_MODES = ['auto', 'netem', 'userspace'] as const;
export type DelayMode = (typeof DELAY_MODES)[number];

export function parseDelayMode(s: string | undefined): DelayMode {
  const v = s ?? 'auto';
  if (!(DELAY_MODES as readonly string[]).includes(v)) {
    throw usage(`--delay-mode '${v}': one of ${DELAY_MODES.join(', ')}`);
  }
  return v as DelayMode;
}

export interface LabUpOptions {
  topology: Topology;
  prefix?: string;
  /** Shaping of path 1 (and the only path of two-hosts and router). */
  path1?: PathShaping;
  /** Shaping of path 2 (multipath only). */
  path2?: PathShaping;
  middlebox?: readonly MiddleboxRule[];
  subnet?: LabSubnet;
  /** How to add delay: netem where the kernel has it (auto), or the userspace bridge. */
  delayMode?: DelayMode;
  /** Tear down an existing lab of the same prefix first instead of refusing. */
  force?: boolean;
  /** Aborting (e.g. on Ctrl-C) stops `labUp` at the next step and rolls back what it created. */
  signal?: AbortSignal;
}
