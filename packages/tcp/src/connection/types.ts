import type { TcpOption, TcpRepr } from '../wire/types.js';
import type { CongestionControlName } from '../congestion/types.js';

/** RFC 9293 section 3.3.2 connection states. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export interface Endpoint {
  address: string;
  port: number;
}

export interface SegmentIn {
  tcp: TcpRepr;
  /** IP ECN codepoint 0..3 of the packet that carried the segment. */
  ecn: number;
}

export interface SegmentOut {
  tcp: TcpRepr;
  /** ECN codepoint to put in the IP header (2 = ECT(0) on data when ECN was negotiated). */
  ecn: number;
}

export interface TcpConfig {
  /** Our MSS to announce (the host sets it from the link MTU). */
  mss: number;
  recvBufferBytes: number;
  sendBufferBytes: number;
  windowScale: boolean;
  sack: boolean;
  timestamps: boolean;
  ecn: boolean;
  nagle: boolean;
  delayedAckMs: number | false;
  congestionControl: CongestionControlName;
  congestionParams?: Record<string, number>;
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  synRetries: number;
  dataRetries: number;
  /** RFC 5482 / RFC 9293 section 3.8.3: drop the connection when sent data stays unacknowledged this long. */
  userTimeoutMs: number | null;
  /** 2*MSL. */
  timeWaitMs: number;
  keepAlive: { enabled: boolean; idleMs: number; intervalMs: number; count: number };
  /** Bound on the number of disjoint out-of-order ranges held for reassembly. */
  maxReassemblySegments: number;
  /** Appended to our SYN / SYN-ACK as given (experiments; TCPLS uses this). */
  extraSynOptions: TcpOption[];
  /** Send the RFC 5482 User Timeout option with this many seconds (null: do not send). */
  announceUserTimeout: number | null;
  /** RFC 5482 section 3: adopt the peer's announced user timeout (bounded by the two limits below). */
  acceptPeerUserTimeout: boolean;
  userTimeoutLowerMs: number;
  userTimeoutUpperMs: number;
  /** RFC 5961 section 7: challenge ACKs allowed per second (per connection). */
  challengeAckPerSecond: number;
  /** Bound on SACK scoreboard ranges kept by the sender. */
  maxSackScoreboard: number;
  /** RFC 8985 RACK loss detection and tail loss probes (used only when SACK was negotiated). */
  rack: boolean;
}

/**
 * Defaults. The values follow Linux where the RFCs leave a choice; each is overridable.
 * - mss 1460 (Ethernet IPv4), buffers 256 KiB (window scale shift 3),
 * - windowScale, sack, timestamps on; ecn off (RFC 3168 negotiation only when asked),
 * - nagle on, delayed ACK 40 ms (RFC 9293 3.8.6.3 allows up to 500 ms),
 * - cubic; RTO initial 1 s (RFC 6298 2.1), min 200 ms (Linux; RFC 6298 says 1 s), max 60 s (the
 *   RFC 6298 2.5 floor for a maximum),
 * - synRetries 6, dataRetries 15 (Linux tcp_syn_retries / tcp_retries2),
 * - TIME-WAIT 60 s (2*MSL with MSL = 30 s, as Linux),
 * - keepalive off, 2 h idle, 75 s interval, 9 probes (RFC 9293 3.8.4 / Linux),
 * - 64 reassembly ranges, 10 challenge ACKs per second.
 */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  mss: 1460,
  recvBufferBytes: 256 * 1024,
  sendBufferBytes: 256 * 1024,
  windowScale: true,
  sack: true,
  timestamps: true,
  ecn: false,
  nagle: true,
  delayedAckMs: 40,
  congestionControl: 'cubic',
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 60000,
  synRetries: 6,
  dataRetries: 15,
  userTimeoutMs: null,
  timeWaitMs: 60000,
  keepAlive: { enabled: false, idleMs: 7_200_000, intervalMs: 75_000, count: 9 },
  maxReassemblySegments: 64,
  extraSynOptions: [],
  announceUserTimeout: null,
  acceptPeerUserTimeout: false,
  userTimeoutLowerMs: 10_000,
  userTimeoutUpperMs: 600_000,
  challengeAckPerSecond: 10,
  maxSackScoreboard: 64,
  rack: true,
} satisfies TcpConfig);

export type TcpErrorCode =
  | 'connection-refused'
  | 'connection-reset'
  | 'timeout'
  | 'user-timeout'
  | 'keepalive-timeout'
  | 'aborted'
  | 'invalid-state';

/** Why a connection ended, or why an API call was refused. */
export class TcpError extends Error {
  constructor(
    readonly code: TcpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TcpError';
  }
}

export type TcpEvent =
  | { type: 'connected' }
  | { type: 'readable' }
  | { type: 'writable' }
  | { type: 'peer-closed' }
  /** The peer announced urgent data ahead of what was read (RFC 9293 3.8.5); see `urgentBytes`. */
  | { type: 'urgent' }
  | { type: 'closed'; error: TcpError | null };

/** A SYN or SYN-ACK exactly as sent or as parsed (TCPLS compares these across its channel). */
export interface SynRecord {
  flags: number;
  seq: number;
  window: number;
  options: TcpOption[];
  /** The ECE|CWR bits of the TCP header. */
  ecnFlags: number;
  /** The IP ECN codepoint. */
  ipEcn: number;
}

export interface NegotiatedParams {
  /** Effective send MSS (peer's MSS option, bounded by ours; before per-segment option space). */
  mss: number;
  /** Shift applied to the peer's window field (0 when not negotiated). */
  sndWscale: number;
  /** Shift applied to our window field. */
  rcvWscale: number;
  sack: boolean;
  timestamps: boolean;
  ecn: boolean;
  /** The user timeout in force (ms), from config, setUserTimeout or the peer's UTO option. */
  userTimeout: number | null;
  /** The peer's UTO option (seconds) when received. */
  peerUserTimeoutSeconds: number | null;
}

export interface TcpStats {
  state: TcpState;
  srtt: number | null;
  rttvar: number | null;
  rto: number;
  minRtt: number | null;
  cwnd: number;
  ssthresh: number;
  congestionControl: CongestionControlName;
  bytesInFlight: number;
  sndWnd: number;
  rcvWnd: number;
  retransmits: number;
  fastRetransmits: number;
  rtoCount: number;
  sackRecoveries: number;
  fastRecoveries: number;
  bytesSent: number;
  bytesRetransmitted: number;
  bytesAcked: number;
  bytesReceived: number;
  segmentsSent: number;
  segmentsReceived: number;
  dupAcks: number;
  challengeAcks: number;
  challengeAcksSuppressed: number;
  pawsRejected: number;
  outOfWindowSegments: number;
  ackForUnsentData: number;
  invalidSackBlocks: number;
  reassemblyDrops: number;
  zeroWindowProbes: number;
  keepAlivesSent: number;
  ecnCeReceived: number;
  ecnReductions: number;
  rstReceived: number;
  ignoredSegments: number;
  droppedSynOptions: number;
  /** RFC 8985 tail loss probes sent. */
  tlpProbes: number;
  /** Segments that RACK marked lost. */
  rackLosses: number;
  /**
   * SYN / SYN-ACK option values outside what the RFCs allow, clamped rather than obeyed: a window
   * scale shift above 14 (RFC 7323 2.3) or an MSS below the floor of 64 bytes (0 included).
   */
  clampedSynOptions: number;
  /**
   * Control segments (ACK, RST, challenge ACK) not queued because 16 were already waiting for
   * pollTransmit: the queue is bounded so a peer cannot grow it between two polls.
   */
  controlSegmentsDropped: number;
  /** Entries in the transmission log now (bounded: tiny segments are coalesced past a limit). */
  txLogEntries: number;
  /** Counts by option kind of unknown / experimental options seen on any segment. */
  unknownOptions: Record<number, number>;
  negotiated: NegotiatedParams;
}

/** A JSON-able trace record (one per send / ack / loss / state change / cc switch). */
export interface TraceRecord {
  t: number;
  event: string;
  state: TcpState;
  cwnd: number;
  ssthresh: number;
  srtt: number | null;
  inflight: number;
  sndUna: number;
  sndNxt: number;
  [k: string]: unknown;
}
