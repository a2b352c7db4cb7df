import type { AckSequenceInfo } from './types.js';

/**
 * HyStart++ (RFC 9406), the delay-based exit from the initial slow start, as a small state
 * machine a controller drives once per ACK while it is in its initial slow start.
 *
 * Rounds (RFC 9406 section 4.2) are delimited by sequence numbers, never by wall-clock time:
 * windowEnd is SND.NXT when a round starts, and the round ends with the first ACK that covers
 * windowEnd; the next round then starts at once with windowEnd = the SND.NXT of that moment.
 * When the caller passes `seq` ({sndUna, sndNxt}) this is done literally. Without it the same
 * boundary is derived from byte counts: at a round start the bytes still outstanding
 * (inflight before the ACK minus the bytes it acknowledged) are exactly SND.NXT - SND.UNA, so
 * the round ends once that many more bytes have been acknowledged. Both views agree as long as
 * no loss occurred, which is all HyStart++ needs: the first loss ends the initial slow start.
 *
 * Per ACK, in the RFC's order: cwnd grows by min(N, L*SMSS) (divided by CSS_GROWTH_DIVISOR in
 * CSS); the RTT sample updates currentRoundMinRTT; once a round has N_RTT_SAMPLE samples the
 * delay-increase test (slow start) or the spurious-exit test (CSS) runs; then the round-end
 * check, which counts CSS rounds and ends slow start after CSS_ROUNDS of them.
 */
// RFC 9406 section 4.3 constants.
export const HYSTART_MIN_RTT_THRESH = 4; // ms
export const HYSTART_MAX_RTT_THRESH = 16; // ms
export const HYSTART_MIN_RTT_DIVISOR = 8;
export const HYSTART_N_RTT_SAMPLE = 8;
export const HYSTART_CSS_GROWTH_DIVISOR = 4;
export const HYSTART_CSS_ROUNDS = 5;
/** L for a sender that does not pace (RFC 9406 section 4.3: paced senders use L = infinity). */
export const HYSTART_NON_PACED_L = 8;

/** RttThresh = clamp(lastRoundMinRTT / MIN_RTT_DIVISOR, MIN_RTT_THRESH, MAX_RTT_THRESH) (section 4.2). */
export function hystartRttThresh(lastRoundMinRtt: number): number {
  return Math.max(HYSTART_MIN_RTT_THRESH, Math.min(lastRoundMinRtt / HYSTART_MIN_RTT_DIVISOR, HYSTART_MAX_RTT_THRESH));
}

export interface HyStartAckResult {
  /** Bytes by which cwnd may grow for this ACK (already divided by CSS_GROWTH_DIVISOR in CSS). */
  increase: number;
  /** CSS_ROUNDS rounds of CSS completed: the caller ends slow start with ssthresh = cwnd. */
  exitSlowStart: boolean;
}

export class HyStartPlusPlus {
  lastRoundMinRtt = Infinity;
  currentRoundMinRtt = Infinity;
  rttSampleCount = 0;
  /** Infinity while in standard slow start; the minimum RTT that triggered CSS while in CSS. */
  cssBaselineMinRtt = Infinity;
  /** Rounds ended while in CSS (the round in which CSS was entered counts). */
  cssRounds = 0;
  /** Completed rounds, and how often CSS was entered / ended slow start (for traces). */
  rounds = 0;
  cssEntries = 0;
  exits = 0;
  private roundActive = false;
  /** windowEnd as a sequence number (when the caller passes `seq`), else null. */
  private windowEndSeq: number | null = null;
  /** windowEnd in the byte-count view: total acknowledged bytes at which the round ends. */
  private windowEndBytes = 0;
  private ackedTotal = 0;
  private readonly limitSegments: number;

  /** `limitSegments` is L (RFC 9406 section 4.3); Infinity for a paced sender. */
  constructor(limitSegments: number = HYSTART_NON_PACED_L) {
    this.limitSegments = limitSegments > 0 ? limitSegments : HYSTART_NON_PACED_L;
  }

  get inCss(): boolean {
    return this.cssBaselineMinRtt !== Infinity;
  }

  /**
   * One ACK during the initial slow start. `inflight` is the bytes in flight before the ACK,
   * `seq` SND.UNA after it and SND.NXT now (optional, see the class comment).
   */
  onAck(ackedBytes: number, rttMs: number | null, inflight: number, mss: number, seq?: AckSequenceInfo): HyStartAckResult {
    const acked = Math.max(0, ackedBytes);
    this.ackedTotal += acked;
    if (!this.roundActive) this.startRound(acked, inflight, seq);
    // Section 4.2: cwnd = cwnd + min(N, L*SMSS), divided by CSS_GROWTH_DIVISOR in CSS.
    let increase = Math.min(acked, this.limitSegments * mss);
    if (this.inCss) increase /= HYSTART_CSS_GROWTH_DIVISOR;
    // Section 4.2: currentRoundMinRTT = min(currentRoundMinRTT, currRTT); rttSampleCount += 1.
    if (rttMs !== null && rttMs >= 0 && Number.isFinite(rttMs)) {
      this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, rttMs);
      this.rttSampleCount++;
    }
    if (this.rttSampleCount >= HYSTART_N_RTT_SAMPLE) {
      if (this.inCss) {
        // Section 4.2: the RTT fell below the CSS baseline, so the exit was spurious (jitter):
        // resume slow start, HyStart++ included.
        if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
          this.cssBaselineMinRtt = Infinity;
          this.cssRounds = 0;
        }
      } else if (this.currentRoundMinRtt !== Infinity && this.lastRoundMinRtt !== Infinity) {
        // Section 4.2: a delay increase of RttThresh over the last round exits slow start into CSS.
        if (this.currentRoundMinRtt >= this.lastRoundMinRtt + hystartRttThresh(this.lastRoundMinRtt)) {
          this.cssBaselineMinRtt = this.currentRoundMinRtt;
          this.cssRounds = 0;
          this.cssEntries++;
        }
      }
    }
    // Section 4.2: "When windowEnd is ACKed, the current round ends and windowEnd is set to SND.NXT".
    const covered =
      seq !== undefined && this.windowEndSeq !== null
        ? ((seq.sndUna - this.windowEndSeq) | 0) >= 0
        : this.ackedTotal >= this.windowEndBytes;
    let exitSlowStart = false;
    if (covered) {
      this.rounds++;
      if (this.inCss && ++this.cssRounds >= HYSTART_CSS_ROUNDS) {
        // Section 4.2: CSS_ROUNDS rounds complete: enter congestion avoidance (ssthresh = cwnd).
        exitSlowStart = true;
        this.cssBaselineMinRtt = Infinity;
        this.exits++;
      }
      this.startRound(acked, inflight, seq);
    }
    return { increase, exitSlowStart };
  }

  /** A congestion signal (loss, ECN, RTO) ends slow start and CSS (section 4.2). */
  onCongestion(): void {
    this.cssBaselineMinRtt = Infinity;
    this.cssRounds = 0;
  }

  /**
   * Section 4.2: at the start of each round lastRoundMinRTT = currentRoundMinRTT,
   * currentRoundMinRTT = infinity, rttSampleCount = 0, windowEnd = SND.NXT.
   * `ackedTotal` already includes this ACK, so the byte view of windowEnd is ackedTotal plus
   * what is still outstanding after this ACK (inflight before it minus what it acknowledged).
   */
  private startRound(acked: number, inflight: number, seq: AckSequenceInfo | undefined): void {
    this.roundActive = true;
    this.lastRoundMinRtt = this.currentRoundMinRtt;
    this.currentRoundMinRtt = Infinity;
    this.rttSampleCount = 0;
    this.windowEndSeq = seq !== undefined ? seq.sndNxt >>> 0 : null;
    this.windowEndBytes = this.ackedTotal + Math.max(0, inflight - acked);
  }
}
