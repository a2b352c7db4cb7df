import type { CongestionController, CongestionEventKind, CongestionInit } from './types.js';
import { initialWindow } from './types.js';

/**
 * CUBIC (RFC 9438). Windows in the formulas are in segments (cwnd / SMSS), time in seconds.
 *   W_cubic(t) = C (t - K)^3 + W_max, K = cbrt((W_max - cwnd_epoch) / C)     (section 4.2, eq. 1-2)
 * In congestion avoidance each ACK moves cwnd toward W_cubic(t + RTT), clamped to at most 1.5 cwnd
 * (section 4.4), unless the Reno-friendly estimate W_est is larger (section 4.3). On a congestion
 * event W_max = cwnd (reduced further with fast convergence, section 4.7), ssthresh = cwnd * beta
 * (section 4.6). The initial slow start uses HyStart++ (RFC 9406): when the minimum RTT of a round
 * rises by RttThresh over the previous round's, Conservative Slow Start (CSS) grows cwnd at a
 * quarter of the slow-start rate for CSS_ROUNDS rounds, then slow start ends (ssthresh = cwnd);
 * if the RTT falls back below the CSS baseline, the rise was jitter and slow start resumes.
 * Simplification: the controller sees no sequence numbers, so a round is timed as one minimum
 * RTT of wall time instead of ending when the ACK for the round's first segment arrives.
 * Params: c (0.4), beta (0.7), fastConvergence (1), hystart (1), initialWindowSegments.
 */
// RFC 9406 section 4.3 constants (L, the per-ACK increase limit, stays 2 SMSS as in RFC 3465).
const MIN_RTT_THRESH = 4;
const MAX_RTT_THRESH = 16;
const MIN_RTT_DIVISOR = 8;
const N_RTT_SAMPLE = 8;
const CSS_GROWTH_DIVISOR = 4;
const CSS_ROUNDS = 5;
/** Like Linux (hystart_low_window): no delay-based exit below 16 segments. */
const HYSTART_LOW_WINDOW = 16;
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
  /** CSS baseline minimum RTT; Infinity when not in Conservative Slow Start. */
  private cssBaselineMinRtt = Infinity;
  private cssRounds = 0;
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
    const inc = Math.min(ackedBytes, 2 * this.mss);
    // RFC 9406 4.3: HyStart++ only in the initial slow start (ssthresh still "arbitrarily high").
    if (!this.hystart || this.ssth !== Infinity) {
      this.cwnd += inc;
      return;
    }
    const inCss = this.cssBaselineMinRtt !== Infinity;
    this.cwnd += inCss ? Math.floor(inc / CSS_GROWTH_DIVISOR) : inc;
    if (rttMs === null) return;
    const roundLen = Number.isFinite(this.lastRoundMinRtt) ? this.lastRoundMinRtt : rttMs;
    if (this.roundStart === null || now - this.roundStart >= roundLen) {
      // A new round (RFC 9406 4.2).
      this.roundStart = now;
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Infinity;
      this.rttSamples = 0;
      if (inCss && ++this.cssRounds >= CSS_ROUNDS) {
        // CSS lasted CSS_ROUNDS rounds: leave slow start for congestion avoidance.
        this.ssth = this.cwnd;
        this.cssBaselineMinRtt = Infinity;
        this.hystartExits++;
        return;
      }
    }
    this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, rttMs);
    this.rttSamples++;
    if (this.rttSamples < N_RTT_SAMPLE) return;
    if (inCss) {
      // The RTT went back below the baseline: the rise was not congestion, resume slow start.
      if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
        this.cssBaselineMinRtt = Infinity;
        this.cssRounds = 0;
      }
      return;
    }
    if (this.cwnd < HYSTART_LOW_WINDOW * this.mss || !Number.isFinite(this.lastRoundMinRtt)) return;
    const rttThresh = Math.max(MIN_RTT_THRESH, Math.min(this.lastRoundMinRtt / MIN_RTT_DIVISOR, MAX_RTT_THRESH));
    if (this.currentRoundMinRtt >= this.lastRoundMinRtt + rttThresh) {
      this.cssBaselineMinRtt = this.currentRoundMinRtt;
      this.cssRounds = 0;
      this.cssEntries++;
    }
  }

  onCongestionEvent(_kind: CongestionEventKind, _now: number, _inflight: number): void {
    this.reduce();
    this.cwnd = this.ssth;
  }

  private reduce(): void {
    // RFC 9406 4.2: a congestion signal in CSS ends it like one in slow start.
    this.cssBaselineMinRtt = Infinity;
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
    return {
      wMax: this.wMax,
      k: this.k,
      wEst: this.wEst,
      hystartExits: this.hystartExits,
      cssEntries: this.cssEntries,
      inCss: this.cssBaselineMinRtt === Infinity ? 0 : 1,
    };
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : dflt;
}
