import {
  Cubic,
  HyStartPlusPlus,
  HYSTART_CSS_GROWTH_DIVISOR,
  HYSTART_CSS_ROUNDS,
  HYSTART_MAX_RTT_THRESH,
  HYSTART_MIN_RTT_DIVISOR,
  HYSTART_MIN_RTT_THRESH,
  HYSTART_NON_PACED_L,
  HYSTART_N_RTT_SAMPLE,
  hystartRttThresh,
} from '../../src/congestion/index.js';
import type { AckSequenceInfo, CongestionController } from '../../src/congestion/index.js';

const MSS = 1000;

/**
 * A scripted ACK-clocked sender: every ACK acknowledges one MSS, and the sender then fills the
 * window again (so SND.NXT grows by what the window allows after each ACK, as a real sender's
 * would). The RTT of each ACK comes from `rtt(i)` (i = ACK index). `useSeq` passes SND.UNA /
 * SND.NXT to the controller; without it the controller derives its rounds from bytes.
 * Returns, per ACK, the controller's completed-round count and the state after it.
 */
class Sender {
  sndUna: number;
  sndNxt: number;
  now = 0;
  acks = 0;
  constructor(
    readonly cc: Cubic,
    isn = 1000,
    readonly useSeq = true,
  ) {
    this.sndUna = isn >>> 0;
    this.sndNxt = isn >>> 0;
    this.fill();
  }
  get inflight(): number {
    return (this.sndNxt - this.sndUna) >>> 0;
  }
  fill(): void {
    while (this.inflight + MSS <= this.cc.window) this.sndNxt = (this.sndNxt + MSS) >>> 0;
  }
  /**
   * The test's own RFC 9406 round bookkeeping, independent of the controller's: windowEnd is
   * SND.NXT when the round starts (the first ACK, or the ACK that ended the previous round,
   * before the data that ACK lets the sender send).
   */
  windowEnd: number | null = null;
  /** One ACK of one MSS; `appLimited` leaves the window unfilled afterwards. Returns true when it ended a round. */
  ack(rttMs: number | null, opts: { dtMs?: number; appLimited?: boolean } = {}): boolean {
    this.now += opts.dtMs ?? 1;
    const inflight = this.inflight;
    this.sndUna = (this.sndUna + MSS) >>> 0;
    if (this.windowEnd === null) this.windowEnd = this.sndNxt;
    const seq: AckSequenceInfo | undefined = this.useSeq ? { sndUna: this.sndUna, sndNxt: this.sndNxt } : undefined;
    this.cc.onAck(MSS, rttMs, this.now, inflight, seq);
    this.acks++;
    const ended = ((this.sndUna - this.windowEnd) | 0) >= 0;
    if (ended) this.windowEnd = this.sndNxt;
    if (!opts.appLimited) this.fill();
    return ended;
  }
  /** ACKs until the current round ends (rtt as a constant or per ACK index in the round). */
  round(rttMs: number | ((i: number) => number | null), opts: { dtMs?: number; appLimited?: boolean } = {}): void {
    let i = 0;
    while (!this.ack(typeof rttMs === 'number' ? rttMs : rttMs(i++), opts));
  }
  get state(): Record<string, number> {
    return this.cc.traceState();
  }
}

describe('HyStart++ (RFC 9406) rounds', () => {
  test('HyStart++: the constants are the RFC 9406 section 4.3 values', () => {
    expect([HYSTART_MIN_RTT_THRESH, HYSTART_MAX_RTT_THRESH, HYSTART_MIN_RTT_DIVISOR]).toEqual([4, 16, 8]);
    expect([HYSTART_N_RTT_SAMPLE, HYSTART_CSS_GROWTH_DIVISOR, HYSTART_CSS_ROUNDS, HYSTART_NON_PACED_L]).toEqual([8, 4, 5, 8]);
  });

  test('HyStart++: a round ends when an ACK covers windowEnd = SND.NXT at the round start, not after a span of wall-clock time', () => {
    for (const dtMs of [0, 1, 5000]) {
      const s = new Sender(new Cubic({ mss: MSS, cwnd: 10 * MSS }));
      // The first ACK starts round 1 with windowEnd = SND.NXT = ISN + 10 MSS.
      for (let i = 0; i < 9; i++) s.ack(50, { dtMs });
      expect(s.state.hystartRounds).toBe(0);
      s.ack(50, { dtMs }); // covers ISN + 10 MSS
      expect(s.state.hystartRounds).toBe(1);
      // Round 2's windowEnd is SND.NXT when round 1 ended: 10 + 2 * 9 (slow start, before the
      // 10th ACK's own sends) segments past the ISN, i.e. 18 more ACKs.
      for (let i = 0; i < 17; i++) s.ack(50, { dtMs });
      expect(s.state.hystartRounds).toBe(1);
      s.ack(50, { dtMs });
      expect(s.state.hystartRounds).toBe(2);
    }
  });

  test('HyStart++: round boundaries are compared modulo 2^32 (windowEnd across the sequence wrap)', () => {
    const s = new Sender(new Cubic({ mss: MSS, cwnd: 10 * MSS }), 0xffffffff - 4 * MSS);
    for (let i = 0; i < 9; i++) s.ack(50);
    expect(s.state.hystartRounds).toBe(0);
    s.ack(50);
    expect(s.state.hystartRounds).toBe(1);
    expect(s.sndUna).toBeLessThan(10 * MSS); // the window did wrap
  });

  test('HyStart++: without SND.UNA/SND.NXT the rounds derived from acked bytes vs. bytes in flight end on the same ACKs', () => {
    const a = new Sender(new Cubic({ mss: MSS, cwnd: 10 * MSS }), 77, true);
    const b = new Sender(new Cubic({ mss: MSS, cwnd: 10 * MSS }), 77, false);
    const rtt = (i: number) => 40 + ((i * 7) % 13);
    for (let i = 0; i < 600; i++) {
      a.ack(rtt(i));
      b.ack(rtt(i));
      expect(b.state.hystartRounds).toBe(a.state.hystartRounds);
      expect(b.cc.window).toBe(a.cc.window);
    }
    expect(a.state.hystartRounds).toBeGreaterThan(5);
  });

  test('HyStart++: lastRoundMinRTT / currentRoundMinRTT: each round starts with the previous round minimum and an empty current one', () => {
    const h = new HyStartPlusPlus();
    // Round 1: windowEnd = 4000 (SND.NXT); samples 30, 20, 25, 22.
    const rtts = [30, 20, 25, 22];
    // The sender sent 4 more segments before the 4th ACK: round 2's windowEnd is 8 MSS.
    rtts.forEach((r, i) => h.onAck(MSS, r, 4 * MSS - i * MSS, MSS, { sndUna: (i + 1) * MSS, sndNxt: i === 3 ? 8 * MSS : 4 * MSS }));
    // The ACK covering windowEnd closed round 1 and opened round 2.
    expect(h.rounds).toBe(1);
    expect(h.lastRoundMinRtt).toBe(20);
    expect(h.currentRoundMinRtt).toBe(Infinity);
    expect(h.rttSampleCount).toBe(0);
    h.onAck(MSS, 35, MSS, MSS, { sndUna: 5 * MSS, sndNxt: 8 * MSS });
    expect(h.currentRoundMinRtt).toBe(35);
    expect(h.rttSampleCount).toBe(1);
    // ACKs without an RTT sample do not count as samples.
    h.onAck(MSS, null, MSS, MSS, { sndUna: 6 * MSS, sndNxt: 8 * MSS });
    expect(h.rttSampleCount).toBe(1);
  });
});

describe('HyStart++ (RFC 9406) slow start and CSS', () => {
  /** Initial window 20 MSS: one round at 50 ms, then `rtt2` for the next round. */
  function twoRounds(rtt2: number | ((i: number) => number)): Sender {
    const s = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
    s.round(50);
    expect(s.state.hystartRounds).toBe(1);
    s.round(rtt2);
    return s;
  }

  test('HyStart++: the delay test needs N_RTT_SAMPLE = 8 samples in the round', () => {
    const s = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
    s.round(50);
    for (let i = 0; i < 7; i++) s.ack(80);
    expect(s.state.inCss).toBe(0);
    s.ack(80);
    expect(s.state).toMatchObject({ inCss: 1, cssEntries: 1 });
  });

  test('HyStart++: RttThresh = clamp(lastRoundMinRTT / 8, 4 ms, 16 ms)', () => {
    expect(hystartRttThresh(10)).toBe(4);
    expect(hystartRttThresh(80)).toBe(10);
    expect(hystartRttThresh(1000)).toBe(16);
    // Entering CSS needs currentRoundMinRTT >= lastRoundMinRTT + RttThresh, at each clamp.
    for (const [last, thresh] of [
      [20, 4],
      [80, 10],
      [400, 16],
    ]) {
      const below = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
      below.round(last);
      below.round(last + thresh - 0.5);
      expect(below.state.cssEntries).toBe(0);
      const at = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
      at.round(last);
      at.round(last + thresh);
      expect(at.state.cssEntries).toBe(1);
    }
  });

  test('HyStart++: only the minimum RTT of the round counts, one high sample does not enter CSS', () => {
    const s = twoRounds((i) => (i % 5 === 0 ? 50 : 200));
    expect(s.state.cssEntries).toBe(0);
  });

  test('HyStart++: slow start grows by min(N, L*SMSS) with L = 8 for an unpaced sender; CSS by a quarter (CSS_GROWTH_DIVISOR = 4)', () => {
    const s = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
    // A stretch ACK of 12 MSS in slow start: + 8 MSS.
    const w0 = s.cc.window;
    s.cc.onAck(12 * MSS, 50, 1, 20 * MSS, { sndUna: s.sndUna + 12 * MSS, sndNxt: s.sndNxt });
    expect(s.cc.window - w0).toBe(8 * MSS);

    const c = twoRounds(80);
    expect(c.state.inCss).toBe(1);
    const w1 = c.cc.window;
    c.ack(80);
    expect(c.cc.window - w1).toBe(MSS / 4);
    const w2 = c.cc.window;
    c.cc.onAck(12 * MSS, 80, c.now, c.cc.window, { sndUna: c.sndUna, sndNxt: c.sndNxt });
    expect(c.cc.window - w2).toBe((8 * MSS) / 4);
  });

  test('HyStart++: CSS ends after CSS_ROUNDS = 5 rounds and sets ssthresh = cwnd', () => {
    const s = twoRounds(80); // CSS entered in round 2, whose end is the first CSS round
    expect(s.state).toMatchObject({ inCss: 1, cssRounds: 1, cssEntries: 1 });
    for (let r = 2; r < 5; r++) {
      s.round(80);
      expect(s.state).toMatchObject({ inCss: 1, cssRounds: r, hystartExits: 0 });
      expect(s.cc.ssthresh).toBe(Infinity);
    }
    s.round(80);
    expect(s.state).toMatchObject({ inCss: 0, hystartExits: 1 });
    expect(s.cc.ssthresh).toBe(s.cc.window);
    // Congestion avoidance from here: CUBIC's epoch starts at W_max = cwnd with K = 0, and an
    // ACK grows cwnd by far less than CSS's quarter segment.
    const w = s.cc.window;
    s.ack(80);
    expect(s.state.k).toBe(0);
    expect(s.state.wMax).toBeCloseTo(w / MSS, 6);
    expect(s.cc.window - w).toBeLessThan(MSS / 4);
    // HyStart++ is over: further RTT rises do not enter CSS again.
    s.round(80);
    s.round(200);
    expect(s.state.cssEntries).toBe(1);
  });

  test('HyStart++: CSS falls back to slow start when currentRoundMinRTT < cssBaselineMinRtt (after N_RTT_SAMPLE samples)', () => {
    const s = twoRounds(80);
    expect(s.state.inCss).toBe(1);
    // Next round: the baseline is 80 ms; 7 samples at 60 ms are not enough to decide.
    for (let i = 0; i < 7; i++) s.ack(60);
    expect(s.state.inCss).toBe(1);
    s.ack(60);
    expect(s.state).toMatchObject({ inCss: 0, cssRounds: 0, hystartExits: 0 });
    expect(s.cc.ssthresh).toBe(Infinity);
    // Full slow-start growth again (1 MSS per ACK of 1 MSS).
    const w = s.cc.window;
    s.ack(60);
    expect(s.cc.window - w).toBe(MSS);
  });

  test('HyStart++: an RTT equal to the CSS baseline does not resume slow start', () => {
    const s = twoRounds(80);
    s.round(80);
    expect(s.state).toMatchObject({ inCss: 1, cssRounds: 2 });
  });

  test('HyStart++: CSS can be entered again after a spurious exit, and its round count restarts', () => {
    const s = twoRounds(80);
    s.round(60); // back below the baseline: slow start
    expect(s.state.inCss).toBe(0);
    s.round(90); // 60 + 4 <= 90: CSS again
    expect(s.state).toMatchObject({ inCss: 1, cssEntries: 2, cssRounds: 1 });
  });

  test('HyStart++: a loss during CSS ends CSS and slow start with the usual CUBIC reduction (ssthresh = 0.7 cwnd)', () => {
    const s = twoRounds(80);
    s.round(80);
    expect(s.state.inCss).toBe(1);
    const w = s.cc.window;
    s.cc.onCongestionEvent('loss', s.now, s.inflight);
    expect(s.cc.ssthresh).toBe(Math.floor(w * 0.7));
    expect(s.cc.window).toBe(s.cc.ssthresh);
    expect(s.state).toMatchObject({ inCss: 0, hystartExits: 0 });
  });

  test('HyStart++: an ECN mark during slow start ends HyStart++ too; the next slow start (after an RTO) is standard', () => {
    const s = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
    s.round(50);
    s.cc.onCongestionEvent('ecn', s.now, s.inflight);
    (s.cc as CongestionController).onRetransmissionTimeout(s.now, s.inflight);
    expect(s.cc.window).toBe(MSS);
    const ss = s.cc.ssthresh;
    s.sndUna = s.sndNxt;
    s.fill();
    // Slow start toward ssthresh with a sharp RTT rise: no CSS, full growth, L = 2 per ACK.
    s.round(50);
    s.round(200);
    expect(s.state.cssEntries).toBe(0);
    expect(s.cc.ssthresh).toBe(ss);
    const w = s.cc.window;
    if (w < ss) {
      s.cc.onAck(5 * MSS, 200, s.now + 1, s.cc.window, { sndUna: s.sndUna, sndNxt: s.sndNxt });
      expect(s.cc.window - w).toBe(2 * MSS);
    }
  });

  test('HyStart++ is used only in the initial slow start (RFC 9406 4.3): not with a finite ssthresh, not when disabled', () => {
    const finite = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS, ssthresh: 10_000 * MSS }));
    finite.round(50);
    finite.round(80);
    finite.round(80);
    expect(finite.state).toMatchObject({ cssEntries: 0, hystartRounds: 0 });
    expect(finite.cc.ssthresh).toBe(10_000 * MSS);
    const off = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS, params: { hystart: 0 } }));
    off.round(50);
    off.round(80);
    expect(off.state.cssEntries).toBe(0);
  });

  test('HyStart++: an application-limited sender still counts CSS rounds, so CSS ends (it no longer stalls in CSS)', () => {
    const s = twoRounds(80);
    expect(s.state.inCss).toBe(1);
    // The application stops filling the window: each round is whatever was outstanding.
    s.round(80, { appLimited: true });
    expect(s.state).toMatchObject({ inCss: 1, cssRounds: 2 });
    const w = s.cc.window;
    for (let r = 3; r <= 5; r++) {
      // A little new data, far below cwnd (not cwnd-limited), so the next round has ACKs.
      s.sndNxt = (s.sndNxt + 3 * MSS) >>> 0;
      s.round(80, { appLimited: true });
    }
    expect(s.state).toMatchObject({ inCss: 0, hystartExits: 1 });
    expect(s.cc.window).toBe(w); // no growth while application-limited (RFC 7661 flavour)
    expect(s.cc.ssthresh).toBe(w);
  });

  test('HyStart++: without RTT samples (no timestamps, one timed segment per round) slow start never leaves early', () => {
    const s = new Sender(new Cubic({ mss: MSS, cwnd: 20 * MSS }));
    let r = 50;
    for (let round = 0; round < 8; round++) {
      s.round((i) => (i === 0 ? r : null));
      r += 40;
    }
    expect(s.state.cssEntries).toBe(0);
    expect(s.cc.ssthresh).toBe(Infinity);
  });

  test('HyStart++: L is a parameter (hystartL) for paced senders', () => {
    const c = new Cubic({ mss: MSS, cwnd: 20 * MSS, params: { hystartL: 100 } });
    c.onAck(40 * MSS, 50, 1, 20 * MSS, { sndUna: 40 * MSS, sndNxt: 20 * MSS });
    expect(c.window).toBe(60 * MSS);
  });
});

describe('HyStartPlusPlus state machine', () => {
  test('HyStart++: a congestion signal (onCongestion) leaves CSS', () => {
    const h = new HyStartPlusPlus();
    // Round 1: 20 segments outstanding (windowEnd = SND.NXT = 20 MSS), all ACKed at 50 ms; the
    // sender had sent up to 40 MSS when the last one arrived.
    for (let i = 1; i <= 20; i++) h.onAck(MSS, 50, (21 - i) * MSS, MSS, { sndUna: i * MSS, sndNxt: i === 20 ? 40 * MSS : 20 * MSS });
    expect(h.rounds).toBe(1);
    expect(h.lastRoundMinRtt).toBe(50);
    for (let i = 21; i <= 28; i++) h.onAck(MSS, 100, (41 - i) * MSS, MSS, { sndUna: i * MSS, sndNxt: 40 * MSS });
    expect(h.inCss).toBe(true);
    expect(h.cssBaselineMinRtt).toBe(100);
    h.onCongestion();
    expect(h.inCss).toBe(false);
    expect(h.cssRounds).toBe(0);
  });
});
