import type { AckSequenceInfo, CongestionController, CongestionEventKind, CongestionInit } from './types.js';
import { initialWindow } from './types.js';
import { HyStartPlusPlus } from './hystart.js';

/**
 * CUBIC (RFC 9438). Windows in the formulas are in segments (cwnd / SMSS), time in seconds.
 *   W_cubic(t) = C (t - K)^3 + W_max, K = cbrt((W_max - cwnd_epoch) / C)     (section 4.2, eq. 1-2)
 * In congestion avoidance each ACK moves cwnd toward W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd]
 * (section 4.4), unless the Reno-friendly estimate W_est is larger (section 4.3). On a congestion
 * event W_max = cwnd (reduced further with fast convergence, section 4.7), ssthresh = cwnd * beta
 * (section 4.6). After a timeout the first epoch uses K = 0 and W_max = cwnd at its start
 * (section 4.8). The cwnd is kept with fractions of a byte, so the many tiny per-ACK increments
 * near W_max are not rounded away; `window` reports whole bytes.
 *
 * The initial slow start uses HyStart++ (RFC 9406, see hystart.ts): rounds delimited by sequence
 * numbers, an RTT rise of RttThresh enters Conservative Slow Start (a quarter of the growth),
 * CSS_ROUNDS rounds of CSS end slow start with ssthresh = cwnd, an RTT back below the CSS
 * baseline resumes slow start. Later slow starts (after any congestion event) are standard.
 * Params: c (0.4), beta (0.7), fastConvergence (1), hystart (1), hystartL (8, RFC 9406 L for an
 * unpaced sender), initialWindowSegments.
 */
export class Cubic implements CongestionController {
  readonly name = 'cubic' as const;
  private cwnd: number;
  private ssth: number;
  private mss: number;
  private readonly c: number;
  private readonly beta: number;
  private readonly fastConvergence: boolean;
  /** HyStart++ for the initial slow start; null once it ended or when disabled. */
  private hystart: HyStartPlusPlus | null;
  /** W_max and K of the current epoch (segments, seconds). */
  private wMax = 0;
  private k = 0;
  private tEpoch: number | null = null;
  private cwndEpoch = 0;
  private wEst = 0;
  /** cwnd (segments) just before the last congestion event: W_est reaching it switches alpha to 1. */
  private cwndPrior = 0;
  /** The next epoch is the first after a timeout (section 4.8). */
  private afterTimeout = false;
  private rttSmoothed: number | null = null;
  private lastAckAt: number | null = null;
  // Counters kept across HyStart++'s lifetime, for traces.
  private hystartRounds = 0;
  private cssEntries = 0;
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
    // RFC 9406 section 4.3: HyStart++ only in the initial slow start, i.e. while ssthresh still
    // has its initial "arbitrarily high" value.
    const useHystart = (p['hystart'] ?? 1) !== 0 && this.ssth === Infinity;
    this.hystart = useHystart ? new HyStartPlusPlus(positive(p['hystartL'], 8)) : null;
  }

  get window(): number {
    return Math.floor(this.cwnd);
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

  onAck(ackedBytes: number, rttMs: number | null, now: number, inflight: number, seq?: AckSequenceInfo): void {
    if (rttMs !== null && rttMs >= 0) {
      this.rttSmoothed = this.rttSmoothed === null ? rttMs : 0.875 * this.rttSmoothed + 0.125 * rttMs;
    }
    const lastAckAt = this.lastAckAt;
    this.lastAckAt = now;
    // RFC 7661 flavour: a window the sender does not fill is not grown.
    const cwndLimited = inflight + 2 * this.mss >= this.cwnd;
    if (this.cwnd < this.ssth) {
      this.slowStart(ackedBytes, rttMs, inflight, seq, cwndLimited);
      return;
    }
    if (!cwndLimited) {
      // RFC 9438 section 5.8: time spent application-limited does not count toward t, so the
      // curve does not jump ahead when the sender fills the window again.
      if (this.tEpoch !== null && lastAckAt !== null) this.tEpoch += now - lastAckAt;
      return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.tEpoch === null) {
      // Section 4.2: a new congestion-avoidance epoch starts.
      this.tEpoch = now;
      this.cwndEpoch = cwndSeg;
      // Section 4.8: the first epoch after a timeout uses W_max = cwnd (K = 0). Also when slow
      // start ended without a loss (HyStart++, or a switch), W_max is at most the current cwnd.
      if (this.afterTimeout || this.wMax < cwndSeg) this.wMax = cwndSeg;
      this.afterTimeout = false;
      this.k = Math.cbrt(Math.max(0, this.wMax - this.cwndEpoch) / this.c);
      this.wEst = this.cwndEpoch;
    }
    const rtt = (this.rttSmoothed ?? 100) / 1000;
    const t = (now - this.tEpoch) / 1000;
    // Section 4.4: target = W_cubic(t + RTT) clamped to [cwnd, 1.5 cwnd].
    let target = this.wCubic(t + rtt);
    if (target < cwndSeg) target = cwndSeg;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    const ackedSeg = ackedBytes / mss;
    // Section 4.3: Reno-friendly region, W_est += alpha * segments_acked / cwnd, with
    // alpha = 3 (1 - beta) / (1 + beta) until W_est reaches cwnd_prior, then 1.
    const alpha = this.wEst >= this.cwndPrior ? 1 : (3 * (1 - this.beta)) / (1 + this.beta);
    this.wEst += (alpha * ackedSeg) / cwndSeg;
    if (this.wCubic(t) < this.wEst) {
      this.cwnd = Math.max(this.cwnd, this.wEst * mss);
    } else {
      // Sections 4.4 / 4.5: concave and convex regions, (target - cwnd) / cwnd per segment acked.
      this.cwnd += ((target - cwndSeg) / cwndSeg) * ackedSeg * mss;
    }
  }

  private slowStart(ackedBytes: number, rttMs: number | null, inflight: number, seq: AckSequenceInfo | undefined, cwndLimited: boolean): void {
    const hs = this.hystart;
    if (hs === null) {
      // Standard slow start, byte counting with L = 2 (RFC 5681 section 3.1, RFC 3465).
      if (cwndLimited) this.cwnd += Math.min(ackedBytes, 2 * this.mss);
      return;
    }
    // HyStart++ tracks rounds and RTTs on every ACK (application-limited ones too, so CSS always
    // progresses to its end); the window itself only grows while the sender fills it.
    const roundsBefore = hs.rounds;
    const entriesBefore = hs.cssEntries;
    const r = hs.onAck(ackedBytes, rttMs, inflight, this.mss, seq);
    this.hystartRounds += hs.rounds - roundsBefore;
    this.cssEntries += hs.cssEntries - entriesBefore;
    if (cwndLimited) this.cwnd += r.increase;
    if (r.exitSlowStart) {
      // RFC 9406 section 4.2: CSS_ROUNDS rounds complete: ssthresh = cwnd, congestion avoidance.
      this.ssth = Math.max(Math.floor(this.cwnd), 2 * this.mss);
      this.hystartExits++;
      this.hystart = null;
    }
  }

  onCongestionEvent(_kind: CongestionEventKind, _now: number, _inflight: number): void {
    this.reduce();
    this.cwnd = this.ssth;
  }

  private reduce(): void {
    // RFC 9406 section 4.2: a loss or ECN mark in slow start or CSS ends HyStart++; the usual
    // response below sets ssthresh, and section 4.3 keeps HyStart++ out of later slow starts.
    if (this.hystart !== null) {
      this.hystart.onCongestion();
      this.hystart = null;
    }
    const cwndSeg = this.cwnd / this.mss;
    // Section 4.7 fast convergence: a loss below the previous W_max releases bandwidth.
    if (this.fastConvergence && cwndSeg < this.wMax) this.wMax = (cwndSeg * (1 + this.beta)) / 2;
    else this.wMax = cwndSeg;
    this.cwndPrior = cwndSeg;
    // Section 4.6: ssthresh = cwnd * beta, never below 2 SMSS (RFC 5681 eq. 4).
    this.ssth = Math.max(Math.floor(this.cwnd * this.beta), 2 * this.mss);
    this.tEpoch = null;
  }

  onRecoveryEnd(): void {
    this.cwnd = Math.min(this.cwnd, Math.max(this.ssth, this.mss));
  }

  onRetransmissionTimeout(): void {
    // Section 4.8: ssthresh reduced as for a congestion event, cwnd to the loss window (1 SMSS);
    // the next epoch starts with W_max = cwnd and K = 0.
    this.reduce();
    this.cwnd = this.mss;
    this.afterTimeout = true;
  }

  traceState(): Record<string, number> {
    const hs = this.hystart;
    return {
      wMax: this.wMax,
      k: this.k,
      wEst: this.wEst,
      hystartExits: this.hystartExits,
      hystartRounds: this.hystartRounds,
      cssEntries: this.cssEntries,
      inCss: hs !== null && hs.inCss ? 1 : 0,
      cssRounds: hs !== null ? hs.cssRounds : 0,
    };
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : dflt;
}
