import type { CongestionController, CongestionEventKind, CongestionInit } from './types.js';
import { initialWindow } from './types.js';

/**
 * CUBIC (RFC 9438). Windows in the formulas are in segments (cwnd / SMSS), time in seconds.
 *   W_cubic(t) = C (t - K)^3 + W_max, K = cbrt((W_max - cwnd_epoch) / C)     (section 4.2, eq. 1-2)
 * In congestion avoidance each ACK moves cwnd toward W_cubic(t + RTT), clamped to at most 1.5 cwnd
 * (section 4.4), unless the Reno-friendly estimate W_est is larger (section 4.3). On a congestion
 * event W_max = cwnd (reduced further with fast convergence, section 4.7), ssthresh = cwnd * beta
 * (section 4.6). Slow start uses HyStart++ (RFC 9406, simplified: rounds are timed by the minimum
 * RTT, and when the RTT rises by eta the controller leaves slow start directly, without CSS).
 * Params: c (0.4), beta (0.7), fastConvergence (1), hystart (1), initialWindowSegments.
 */
export class Cubic implements CongestionController {
  readonly name = 'cubic' as const;
  private cwnd: number;
  private ssth: number;
  private mss: number;
  private readonly c: number;
  private readonly beta: number;
  private readonly fastConvergence: boolean;
  private readonly hystart: boolean;
  /** W_max and K of the current epoch (segments, seconds). */
  private wMax = 0;
  private k = 0;
  private tEpoch: number | null = null;
  private cwndEpoch = 0;
  private wEst = 0;
  /** cwnd (segments) when ssthresh was last set: W_est reaching it switches alpha to 1. */
  private cwndPrior = 0;
  private rttSmoothed: number | null = null;
  // HyStart++ round state.
  private roundStart: number | null = null;
  private lastRoundMinRtt = Infinity;
  private currentRoundMinRtt = Infinity;
  private rttSamples = 0;
  private hystartExits = 0;

  constructor(init: CongestionInit) {
    this.mss = init.mss;
    this.cwnd = init.cwnd ?? initialWindow(init.mss, init.params);
    this.ssth = init.ssthresh ?? Infinity;
    const p = init.params ?? {};
    this.c = positive(p['c'], 0.4);
    const beta = positive(p['beta'], 0.7);
    this.beta = beta < 1 ? beta : 0.7;
    this.fastConvergence = (p['fastConvergence'] ?? 1) !== 0;
    this.hystart = (p['hystart'] ?? 1) !== 0;
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

  /** W_cubic(t) in segments (RFC 9438 eq. 1). */
  wCubic(tSeconds: number): number {
    const d = tSeconds - this.k;
    return this.c * d * d * d + this.wMax;
  }

  onAck(ackedBytes: number, rttMs: number | null, now: number, inflight: number): void {
    if (rttMs !== null && rttMs >= 0) {
      this.rttSmoothed = this.rttSmoothed === null ? rttMs : 0.875 * this.rttSmoothed + 0.125 * rttMs;
    }
    if (inflight + 2 * this.mss < this.cwnd) return; // not cwnd-limited (RFC 7661 flavour)
    if (this.cwnd < this.ssth) {
      this.slowStart(ackedBytes, rttMs, now);
      return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.tEpoch === null) {
      // Section 4.2: a new congestion-avoidance epoch starts.
      this.tEpoch = now;
      this.cwndEpoch = cwndSeg;
      if (this.wMax < cwndSeg) this.wMax = cwndSeg;
      this.k = Math.cbrt(Math.max(0, this.wMax - this.cwndEpoch) / this.c);
      this.wEst = this.cwndEpoch;
    }
    const rtt = (this.rttSmoothed ?? 100) / 1000;
    const t = (now - this.tEpoch) / 1000;
    let target = this.wCubic(t + rtt);
    if (target < cwndSeg) target = cwndSeg;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    const ackedSeg = ackedBytes / mss;
    // Section 4.3: Reno-friendly region.
    const alpha = this.wEst >= this.cwndPrior ? 1 : (3 * (1 - this.beta)) / (1 + this.beta);
    this.wEst += (alpha * ackedSeg) / cwndSeg;
    if (this.wCubic(t) < this.wEst) {
      this.cwnd = Math.max(this.cwnd, Math.floor(this.wEst * mss));
    } else {
      // Section 4.4/4.5: concave and convex regions.
      this.cwnd += Math.floor(((target - cwndSeg) / cwndSeg) * ackedSeg * mss);
    }
  }

  private slowStart(ackedBytes: number, rttMs: number | null, now: number): void {
    this.cwnd += Math.min(ackedBytes, 2 * this.mss);
    if (!this.hystart || rttMs === null) return;
    // RFC 9406 section 4.2, with rounds approximated by one minimum RTT of wall time.
    const roundLen = Number.isFinite(this.lastRoundMinRtt) ? this.lastRoundMinRtt : rttMs;
    if (this.roundStart === null || now - this.roundStart >= roundLen) {
      this.roundStart = now;
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Infinity;
      this.rttSamples = 0;
    }
    this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, rttMs);
    this.rttSamples++;
    if (this.cwnd >= 16 * this.mss && this.rttSamples >= 8 && Number.isFinite(this.lastRoundMinRtt)) {
      const eta = Math.min(16, Math.max(4, this.lastRoundMinRtt / 8));
      if (this.currentRoundMinRtt >= this.lastRoundMinRtt + eta) {
        this.ssth = this.cwnd;
        this.hystartExits++;
      }
    }
  }

  onCongestionEvent(_kind: CongestionEventKind, _now: number, _inflight: number): void {
    this.reduce();
    this.cwnd = this.ssth;
  }

  private reduce(): void {
    const cwndSeg = this.cwnd / this.mss;
    // Section 4.7 fast convergence.
    if (this.fastConvergence && cwndSeg < this.wMax) this.wMax = (cwndSeg * (1 + this.beta)) / 2;
    else this.wMax = cwndSeg;
    this.cwndPrior = cwndSeg;
    this.ssth = Math.max(Math.floor(this.cwnd * this.beta), 2 * this.mss);
    this.tEpoch = null;
  }

  onRecoveryEnd(): void {
    this.cwnd = Math.min(this.cwnd, Math.max(this.ssth, this.mss));
  }

  onRetransmissionTimeout(): void {
    // Section 4.8: the ssthresh reduction as for a congestion event, cwnd to the loss window.
    this.reduce();
    this.cwnd = this.mss;
  }

  traceState(): Record<string, number> {
    return { wMax: this.wMax, k: this.k, wEst: this.wEst, hystartExits: this.hystartExits };
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : dflt;
}
