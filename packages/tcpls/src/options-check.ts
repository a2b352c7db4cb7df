/**
 * The TCP-options cross-check (docs/wire-format.md §3.8): what one TCP sent, as reported inside TLS,
 * against what the other TCP parsed off the wire for the SAME segment. Only the same segment is
 * compared: a SYN-ACK legitimately carries other options than the SYN it answers.
 */
import type { TcpOption } from '@tcpls/tcp/wire';
import type { ReportedSegment } from './frames.js';
import type { SynSegmentInfo } from './interfaces.js';
import { emitTcpOptions, optionKindNumber, parseTcpOptions } from './tcp-options.js';
import { toHex } from './bytes.js';

export type DifferenceValue = number | boolean | string | null | Readonly<Record<string, number | string>>;

export interface OptionDifference {
  /** Connection id of the TCP connection the segment belongs to. */
  connection: number;
  /** 'peer-to-me': the peer's segment changed on its way to us; 'me-to-peer': ours, on its way there. */
  direction: 'peer-to-me' | 'me-to-peer';
  /** 'isn' | 'window' | 'ecn' | 'flags' | 'mss' | 'wscale' | 'sackPermitted' | 'timestamps' |
   * 'userTimeout' | 'option:<kind>' | 'options-order' | 'nop-padding' */
  field: string;
  sent: DifferenceValue;
  seen: DifferenceValue;
}

/** Our TCP's view of a segment, as it goes into a TCP Options Report. */
export function toReportedSegment(s: SynSegmentInfo): ReportedSegment {
  return {
    flags: (s.flags | ((s.ecnFlags ?? 0) & 0xc0)) & 0xff,
    seq: s.seq >>> 0,
    window: s.window & 0xffff,
    ipEcn: s.ipEcn & 3,
    options: emitTcpOptions(s.options),
  };
}

const DEDICATED = new Set([0, 1, 2, 3, 4, 8, 28]);

function first<K extends TcpOption['kind']>(opts: TcpOption[], kind: K): Extract<TcpOption, { kind: K }> | undefined {
  return opts.find((o) => o.kind === kind) as Extract<TcpOption, { kind: K }> | undefined;
}

function otherKinds(opts: TcpOption[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const o of opts) {
    const k = optionKindNumber(o);
    if (DEDICATED.has(k)) continue;
    const hex = toHex(emitTcpOptions([o]));
    m.set(k, m.has(k) ? `${m.get(k)},${hex}` : hex);
  }
  return m;
}

function same(a: DifferenceValue, b: DifferenceValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One difference per field that changed between `sent` and `seen` (the same segment). */
export function compareSegments(
  connection: number,
  direction: OptionDifference['direction'],
  sent: ReportedSegment,
  seen: ReportedSegment,
): OptionDifference[] {
  const out: OptionDifference[] = [];
  const diff = (field: string, a: DifferenceValue, b: DifferenceValue): void => {
    if (!same(a, b)) out.push({ connection, direction, field, sent: a, seen: b });
  };
  diff('isn', sent.seq, seen.seq);
  diff('window', sent.window, seen.window);
  const ecn = (s: ReportedSegment) => ({ ece: (s.flags >> 6) & 1, cwr: (s.flags >> 7) & 1, ip: s.ipEcn });
  diff('ecn', ecn(sent), ecn(seen));
  diff('flags', sent.flags & 0x3f, seen.flags & 0x3f);

  const a = parseTcpOptions(sent.options);
  const b = parseTcpOptions(seen.options);
  diff('mss', first(a, 'mss')?.mss ?? null, first(b, 'mss')?.mss ?? null);
  diff('wscale', first(a, 'wscale')?.shift ?? null, first(b, 'wscale')?.shift ?? null);
  diff('sackPermitted', first(a, 'sackPermitted') !== undefined, first(b, 'sackPermitted') !== undefined);
  const ts = (o: TcpOption[]) => {
    const t = first(o, 'timestamps');
    return t ? { tsVal: t.tsVal, tsEcr: t.tsEcr } : null;
  };
  diff('timestamps', ts(a), ts(b));
  const uto = (o: TcpOption[]) => {
    const u = first(o, 'userTimeout');
    return u ? { granularity: u.granularity, timeout: u.timeout } : null;
  };
  diff('userTimeout', uto(a), uto(b));
  const oa = otherKinds(a);
  const ob = otherKinds(b);
  for (const k of [...new Set([...oa.keys(), ...ob.keys()])].sort((x, y) => x - y)) {
    diff(`option:${k}`, oa.get(k) ?? null, ob.get(k) ?? null);
  }
  // Order of the options present on both sides (NOP/EOL aside): a reordering middlebox.
  const kindsA = a.map(optionKindNumber).filter((k) => k > 1);
  const kindsB = b.map(optionKindNumber).filter((k) => k > 1);
  const inB = new Set(kindsB);
  const inA = new Set(kindsA);
  const commonA = kindsA.filter((k) => inB.has(k));
  const commonB = kindsB.filter((k) => inA.has(k));
  if (commonA.join(',') !== commonB.join(',')) {
    out.push({ connection, direction, field: 'options-order', sent: kindsA.join(','), seen: kindsB.join(',') });
  }
  // Options overwritten with NOPs (TCPOPTSTRIP, nftables "reset tcp option") leave more NOPs.
  const nops = (o: TcpOption[]) => o.filter((x) => x.kind === 'nop').length;
  if (nops(b) > nops(a)) out.push({ connection, direction, field: 'nop-padding', sent: nops(a), seen: nops(b) });
  return out;
}
