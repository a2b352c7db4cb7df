/**
 * Human-readable and JSON forms of TCP options and flags, for traces, logs and probe reports.
 */
import { TcpFlag, WireError, type TcpOption } from './types.js';

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

/**
 * One option for people: "mss 1460", "ws 7", "sackOK", "sack {1000:2000}{3000:4000}", "ts 123/0",
 * "uto 30s" / "uto 5min", "tfo cookie-request" / "tfo cookie 0a0b0c0d", "exp 254 exid 0x1234 (4 bytes)",
 * "opt 99 (3 bytes)", "nop", "eol" / "eol +3 padding" (the byte counts are the data after the header
 * fields).
 */
export function describeTcpOption(o: TcpOption): string {
  switch (o.kind) {
    case 'eol':
      return o.padding.length === 0 ? 'eol' : `eol +${o.padding.length} padding`;
    case 'nop':
      return 'nop';
    case 'mss':
      return `mss ${o.mss}`;
    case 'wscale':
      return `ws ${o.shift}`;
    case 'sackPermitted':
      return 'sackOK';
    case 'sack':
      return 'sack ' + o.blocks.map((b) => `{${b.left}:${b.right}}`).join('');
    case 'timestamps':
      return `ts ${o.tsVal}/${o.tsEcr}`;
    case 'userTimeout':
      return `uto ${o.timeout}${o.granularity === 'minutes' ? 'min' : 's'}`;
    case 'fastOpen':
      return o.cookie.length === 0 ? 'tfo cookie-request' : `tfo cookie ${hex(o.cookie)}`;
    case 'experimental':
      return `exp ${o.code} exid 0x${o.exid.toString(16).padStart(4, '0')} (${o.data.length} bytes)`;
    case 'unknown':
      return `opt ${o.code} (${o.data.length} bytes)`;
    default:
      return `? ${JSON.stringify(o)}`;
  }
}

/** A TCP option as plain JSON: numbers stay numbers, byte fields become lower-case hex strings. */
export type TcpOptionJson =
  | { kind: 'eol'; padding: string }
  | { kind: 'nop' }
  | { kind: 'mss'; mss: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackPermitted' }
  | { kind: 'sack'; blocks: { left: number; right: number }[] }
  | { kind: 'timestamps'; tsVal: number; tsEcr: number }
  | { kind: 'userTimeout'; granularity: 'seconds' | 'minutes'; timeout: number }
  | { kind: 'fastOpen'; cookie: string }
  | { kind: 'experimental'; code: 253 | 254; exid: number; data: string }
  | { kind: 'unknown'; code: number; data: string };

/** Converts an option to plain JSON (byte fields as hex), e.g. for reports and golden files. */
export function tcpOptionToJson(o: TcpOption): TcpOptionJson {
  switch (o.kind) {
    case 'eol':
      return { kind: 'eol', padding: hex(o.padding) };
    case 'nop':
      return { kind: 'nop' };
    case 'mss':
      return { kind: 'mss', mss: o.mss };
    case 'wscale':
      return { kind: 'wscale', shift: o.shift };
    case 'sackPermitted':
      return { kind: 'sackPermitted' };
    case 'sack':
      return { kind: 'sack', blocks: o.blocks.map((b) => ({ left: b.left, right: b.right })) };
    case 'timestamps':
      return { kind: 'timestamps', tsVal: o.tsVal, tsEcr: o.tsEcr };
    case 'userTimeout':
      return { kind: 'userTimeout', granularity: o.granularity, timeout: o.timeout };
    case 'fastOpen':
      return { kind: 'fastOpen', cookie: hex(o.cookie) };
    case 'experimental':
      return { kind: 'experimental', code: o.code, exid: o.exid, data: hex(o.data) };
    case 'unknown':
      return { kind: 'unknown', code: o.code, data: hex(o.data) };
    default:
      throw new TypeError(`not a TCP option: ${JSON.stringify(o)}`);
  }
}

/** Flag letters in header bit order from FIN up; "SA" is SYN+ACK, "FA" FIN+ACK, "PA" PSH+ACK. */
const FLAG_LETTERS: readonly (readonly [number, string])[] = [
  [TcpFlag.FIN, 'F'],
  [TcpFlag.SYN, 'S'],
  [TcpFlag.RST, 'R'],
  [TcpFlag.PSH, 'P'],
  [TcpFlag.ACK, 'A'],
  [TcpFlag.URG, 'U'],
  [TcpFlag.ECE, 'E'],
  [TcpFlag.CWR, 'C'],
];

/** Flags for traces: "S", "SA", "A", "PA", "FA", "R", "RA"...; "-" when no flag is set. */
export function tcpFlagsToString(flags: number): string {
  let s = '';
  for (let k = 0; k < FLAG_LETTERS.length; k++) if ((flags & FLAG_LETTERS[k][0]) !== 0) s += FLAG_LETTERS[k][1];
  return s === '' ? '-' : s;
}

function fromHex(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || s.length > 2 * 255 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new WireError('bad-option', `${what} must be an even-length hex string of at most 255 bytes`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function num(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('bad-option', `${what} must be an integer 0..${max}`);
  }
  return v;
}

/**
 * The inverse of tcpOptionToJson, for reports that come from elsewhere (e.g. a peer's view of the
 * options it received): validates every field and throws WireError('bad-option') on anything else.
 */
export function tcpOptionFromJson(j: unknown): TcpOption {
  if (typeof j !== 'object' || j === null) throw new WireError('bad-option', 'a TCP option must be an object');
  const o = j as Record<string, unknown>;
  switch (o.kind) {
    case 'eol':
      return { kind: 'eol', padding: fromHex(o.padding, 'eol padding') };
    case 'nop':
      return { kind: 'nop' };
    case 'mss':
      return { kind: 'mss', mss: num(o.mss, 'mss', 0xffff) };
    case 'wscale':
      return { kind: 'wscale', shift: num(o.shift, 'shift', 255) };
    case 'sackPermitted':
      return { kind: 'sackPermitted' };
    case 'sack': {
      if (!Array.isArray(o.blocks) || o.blocks.length > 4) throw new WireError('bad-option', 'sack blocks must be an array of at most 4');
      const blocks = (o.blocks as unknown[]).map((b) => {
        const r = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
        return { left: num(r.left, 'sack left edge', 0xffffffff), right: num(r.right, 'sack right edge', 0xffffffff) };
      });
      return { kind: 'sack', blocks };
    }
    case 'timestamps':
      return { kind: 'timestamps', tsVal: num(o.tsVal, 'tsVal', 0xffffffff), tsEcr: num(o.tsEcr, 'tsEcr', 0xffffffff) };
    case 'userTimeout':
      if (o.granularity !== 'seconds' && o.granularity !== 'minutes') throw new WireError('bad-option', 'granularity must be seconds or minutes');
      return { kind: 'userTimeout', granularity: o.granularity, timeout: num(o.timeout, 'timeout', 0x7fff) };
    case 'fastOpen':
      return { kind: 'fastOpen', cookie: fromHex(o.cookie, 'cookie') };
    case 'experimental': {
      const code = o.code;
      if (code !== 253 && code !== 254) throw new WireError('bad-option', 'experimental code must be 253 or 254');
      return { kind: 'experimental', code, exid: num(o.exid, 'exid', 0xffff), data: fromHex(o.data, 'data') };
    }
    case 'unknown':
      return { kind: 'unknown', code: num(o.code, 'code', 255), data: fromHex(o.data, 'data') };
    default:
      throw new WireError('bad-option', `unknown TCP option kind ${JSON.stringify(o.kind)}`);
  }
}
