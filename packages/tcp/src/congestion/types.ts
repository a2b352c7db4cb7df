/**
 * The congestion-controller strategy interface (quinn/quiche style): the connection reports what
 * happened (bytes sent, bytes newly acknowledged with an RTT sample, a congestion event, an RTO)
 * and reads back `window` (cwnd) and `ssthresh`, both in bytes.
 *
 * Loss detection and the recovery episode (RFC 6675 pipe, RFC 6582 partial ACKs) live in the
 * connection; a controller only decides the window. During fast recovery the connection does not
 * call `onAck` (the window stays at ssthresh, RFC 6675 section 5), it calls `onRecoveryEnd` when
 * the recovery point is acknowledged.
 */
export type CongestionControlName = 'newreno' | 'cubic';

export const CongestionEventKind = {
  /** Loss detected by duplicate ACKs / SACK (fast retransmit). */
  loss: 'loss',
  /** ECN-Echo received (RFC 3168 section 6.1.2): react as to a loss, without retransmitting. */
  ecn: 'ecn',
} as const;
export type CongestionEventKind = (typeof CongestionEventKind)[keyof typeof CongestionEventKind];

export interface CongestionController {
  readonly name: CongestionControlName;
  /** Congestion window in bytes. */
  readonly window: number;
  /** Slow-start threshold in bytes (Infinity before the first congestion event). */
  readonly ssthresh: number;
  /** The sender MSS changed (after the handshake): windows counted in segments follow it. */
  setMss(mss: number): void;
  onPacketSent(bytes: number, now: number): void;
  /**
   * `ackedBytes` newly acknowledged (cumulatively or newly SACKed outside recovery); `rttMs` the
   * RTT sample taken from this ACK or null; `inflight` the bytes in flight before this ACK (for
   * RFC 7661 style "only grow when cwnd-limited"). `seq` (optional) lets HyStart++ delimit its
   * rounds by sequence numbers exactly as RFC 9406 section 4.2 says; without it the rounds are
   * derived from the acknowledged bytes and `inflight`.
   */
  onAck(ackedBytes: number, rttMs: number | null, now: number, inflight: number, seq?: AckSequenceInfo): void;
  /** Enter a reduction: sets ssthresh and cwnd. `inflight` = FlightSize (RFC 5681 eq. 4). */
  onCongestionEvent(kind: CongestionEventKind, now: number, inflight: number): void;
  /** The recovery point was acknowledged (RFC 6582 section 3.2 step 3 "full acknowledgment"). */
  onRecoveryEnd(now: number): void;
  /** RFC 5681 section 3.1 eq. 4 and "loss window": ssthresh = max(FlightSize/2, 2 SMSS), cwnd = 1 SMSS. */
  onRetransmissionTimeout(now: number, inflight: number): void;
  /** JSON-able internal state for traces (e.g. CUBIC's wMax, k). */
  traceState(): Record<string, number>;
}

/** Sequence numbers at an ACK, for round tracking (RFC 9406 section 4.2 windowEnd). */
export interface AckSequenceInfo {
  /** SND.UNA after this ACK was processed (the cumulative acknowledgment number). */
  sndUna: number;
  /** SND.NXT when the ACK is processed, before anything it allows is sent. */
  sndNxt: number;
}

export interface CongestionInit {
  mss: number;
  /** Carry over an existing window (live switch); otherwise the initial window is used. */
  cwnd?: number;
  ssthresh?: number;
  params?: Record<string, number>;
}

/** RFC 6928 initial window: min(10*MSS, max(2*MSS, 14600)), or `initialWindowSegments` segments. */
export function initialWindow(mss: number, params?: Record<string, number>): number {
  const segs = params?.['initialWindowSegments'];
  if (segs !== undefined && Number.isFinite(segs) && segs >= 1) return Math.floor(segs) * mss;
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}
