import type { CongestionController, CongestionEventKind, CongestionInit } from './types.js';
import { initialWindow } from './types.js';

/**
 * NewReno window arithmetic (RFC 5681 + RFC 6582). Slow start grows by the bytes acknowledged,
 * at most 2 SMSS per ACK (appropriate byte counting, RFC 3465 with L = 2); congestion avoidance
 * adds one SMSS per cwnd of acknowledged bytes (RFC 5681 section 3.1, byte-counting variant).
 * On loss: ssthresh = max(FlightSize/2, 2 SMSS) and cwnd = ssthresh (the connection runs the
 * RFC 6675 pipe algorithm during recovery instead of RFC 6582 cwnd inflation).
 * Params: initialWindowSegments.
 */
export class NewReno implements CongestionController {
  readonly name = 'newreno' as const;
  private cwnd: number;
  private ssth: number;
  private mss: number;
  private bytesAckedCa = 0;

  constructor(init: CongestionInit) {
    this.mss = init.mss;
    this.cwnd = init.cwnd ?? initialWindow(init.mss, init.params);
    this.ssth = init.ssthresh ?? Infinity;
  }

  get window(): number {
    return this.cwnd;
  }
  get ssthresh(): number {
    return this.ssth;
  }
  setMss(mss: number): void {
    this.mss = mss;
  }
  onPacketSent(): void {}

  onAck(ackedBytes: number, _rtt: number | null, _now: number, inflight: number): void {
    // RFC 7661 flavour: do not grow a window the sender is not using.
    if (inflight + 2 * this.mss < this.cwnd) return;
    if (this.cwnd < this.ssth) {
      this.cwnd += Math.min(ackedBytes, 2 * this.mss);
      return;
    }
    this.bytesAckedCa += ackedBytes;
    if (this.bytesAckedCa >= this.cwnd) {
      this.bytesAckedCa -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  onCongestionEvent(_kind: CongestionEventKind, _now: number, inflight: number): void {
    this.ssth = Math.max(Math.floor(inflight / 2), 2 * this.mss);
    this.cwnd = this.ssth;
    this.bytesAckedCa = 0;
  }

  onRecoveryEnd(): void {
    // RFC 6582 section 3.2 step 3: deflate to ssthresh (we never inflated, so nothing to do
    // beyond making sure the window is not above it).
    this.cwnd = Math.min(this.cwnd, Math.max(this.ssth, this.mss));
  }

  onRetransmissionTimeout(_now: number, inflight: number): void {
    this.ssth = Math.max(Math.floor(inflight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.bytesAckedCa = 0;
  }

  traceState(): Record<string, number> {
    return { bytesAckedCa: this.bytesAckedCa };
  }
}
