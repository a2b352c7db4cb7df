/**
 * Plain validated representations ("reprs", as in smoltcp) of the packets the stack handles.
 * The codecs in this folder parse bytes into these and emit these into bytes.
 *
 * Conventions: numbers are unsigned (u32 sequence numbers are 0..2^32-1, never negative);
 * addresses are strings in canonical form ("10.0.0.1", "fd00::1" as node:net formats it, lower case,
 * compressed); byte fields are Uint8Array views (parse returns subarrays of the input, no copies).
 */

/** TCP header flag bits, as in the 13th/14th header bytes (CWR..FIN). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** TCP option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
  USER_TIMEOUT: 28,
  FAST_OPEN: 34,
  EXP1: 253,
  EXP2: 254,
} as const;

export interface SackBlock {
  /** Left edge (first sequence number of the block). */
  left: number;
  /** Right edge (sequence number after the last byte of the block). */
  right: number;
}

/**
 * One TCP option as it appeared on the wire. A list of these, including NOP/EOL entries and
 * trailing padding, re-emits to exactly the bytes it was parsed from.
 */
export type TcpOption =
  | { kind: 'eol'; /** bytes after the EOL up to the end of the option space (all zero normally) */ padding: Uint8Array }
  | { kind: 'nop' }
  | { kind: 'mss'; mss: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackPermitted' }
  | { kind: 'sack'; blocks: SackBlock[] }
  | { kind: 'timestamps'; tsVal: number; tsEcr: number }
  /** RFC 5482: granularity 'minutes' when the G bit is set; timeout is the 15-bit value. */
  | { kind: 'userTimeout'; granularity: 'seconds' | 'minutes'; timeout: number }
  /** RFC 7413: an empty cookie is a cookie request. */
  | { kind: 'fastOpen'; cookie: Uint8Array }
  /** RFC 6994: kind 253 or 254 with a 16-bit ExID, then data. */
  | { kind: 'experimental'; code: 253 | 254; exid: number; data: Uint8Array }
  /** Any other kind (or a known kind with a length we do not accept), kept byte-exact. */
  | { kind: 'unknown'; code: number; data: Uint8Array };

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Bitwise OR of TcpFlag values (also the NS bit is ignored). */
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  urgent: number;
  options: TcpOption[];
  payload: Uint8Array;
  /**
   * The 4 bits between the data offset and CWR (RFC 9293 "Rsrvd"; the lowest is the former NS bit,
   * AccECN's AE). Parse sets it only when non-zero, so a normal segment's repr has no such key;
   * emit writes 0 when absent. Kept so that a segment re-emits byte-exact and middlebox probes see it.
   */
  reserved?: number;
}

export interface Ipv4Repr {
  version: 4;
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  /** DSCP (6 bits). */
  dscp: number;
  /** ECN codepoint (2 bits): 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. */
  ecn: number;
  ident: number;
  dontFragment: boolean;
  /** IPv4 options, raw (length a multiple of 4, at most 40). */
  options: Uint8Array;
}

export interface Ipv6Repr {
  version: 6;
  src: string;
  dst: string;
  /** The upper-layer protocol after any extension headers (6 for TCP). */
  protocol: number;
  hopLimit: number;
  dscp: number;
  ecn: number;
  flowLabel: number;
}

export type IpRepr = Ipv4Repr | Ipv6Repr;

/** A parsed IP packet: the header repr and the upper-layer payload (a view into the input). */
export interface IpPacket {
  ip: IpRepr;
  payload: Uint8Array;
}

export type WireErrorCode =
  | 'truncated'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-total-length'
  | 'bad-checksum'
  | 'fragment'
  | 'bad-option'
  | 'bad-extension-header'
  | 'bad-address'
  | 'too-large'
  /** An IP packet whose upper-layer protocol is not TCP (6), given to a TCP-only parser. */
  | 'not-tcp'
  /** A repr field out of range on emit (e.g. ttl 300, mss 70000, port -1). */
  | 'bad-field';

/** Every codec error: a code a caller can switch on, and a message a person can read. */
export class WireError extends Error {
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}
