import { Cubic, NewReno } from '../../src/congestion/index.js';
import type { CongestionController } from '../../src/congestion/index.js';

/** Calls through the interface, as the connection does. */
const asCc = (c: CongestionController): CongestionController => c;

const MSS = 1000;

/** A CUBIC in congestion avoidance after a loss at `wMaxSeg` segments (fast convergence off). */
function afterLoss(wMaxSeg: number, params: Record<string, number> = {}): Cubic {
  const c = new Cubic({ mss: MSS, cwnd: wMaxSeg * MSS, params: { fastConvergence: 0, ...params } });
  c.onCongestionEvent('loss', 0, wMaxSeg * MSS);
  return c;
}

describe('CUBIC (RFC 9438) rules', () => {
  test('CUBIC 4.6: defaults beta_cubic = 0.7 and C = 0.4 (K = cbrt(W_max (1 - beta) / C))', () => {
    const c = afterLoss(100);
    expect(c.window).toBe(70 * MSS);
    c.onAck(MSS, 100, 0, c.window); // starts the epoch
    expect(c.traceState().k).toBeCloseTo(Math.cbrt((100 * 0.3) / 0.4), 9);
    expect(c.wCubic(c.traceState().k)).toBeCloseTo(100, 9);
    const p = afterLoss(100, { c: 0.8, beta: 0.5 });
    expect(p.window).toBe(50 * MSS);
    p.onAck(MSS, 100, 0, p.window);
    expect(p.traceState().k).toBeCloseTo(Math.cbrt((100 * 0.5) / 0.8), 9);
  });

  test('CUBIC 4.2: W_cubic(0) = cwnd_epoch at the start of an epoch', () => {
    const c = afterLoss(80);
    c.onAck(MSS, 100, 0, c.window);
    expect(c.wCubic(0)).toBeCloseTo(56, 9);
  });

  test('CUBIC 4.3: Reno-friendly W_est grows by alpha = 3(1-beta)/(1+beta) per cwnd of ACKs, and cwnd follows it while W_cubic is below', () => {
    const c = afterLoss(10);
    // t stays 0 (same `now`): W_cubic(0) = 7 segments, below W_est. The comparison uses W_cubic(t),
    // not the target W_cubic(t + RTT) (about 9.65 segments with this 1 s RTT).
    c.onAck(MSS, 1000, 0, c.window);
    const alpha = (3 * 0.3) / 1.7;
    expect(c.traceState().wEst).toBeCloseTo(7 + alpha / 7, 9);
    expect(c.window).toBe(Math.floor((7 + alpha / 7) * MSS));
  });

  test('CUBIC 4.3: once W_est reaches cwnd_prior, alpha becomes 1', () => {
    const c = afterLoss(10);
    let guard = 0;
    while (c.traceState().wEst < 10 && guard++ < 10_000) c.onAck(MSS, 10, 0, c.window);
    expect(c.traceState().wEst).toBeGreaterThanOrEqual(10);
    const before = c.traceState().wEst;
    const cwndSeg = c.window / MSS;
    c.onAck(MSS, 10, 0, c.window);
    expect(c.traceState().wEst - before).toBeCloseTo(1 / cwndSeg, 3);
  });

  test('CUBIC 4.4: the target W_cubic(t + RTT) is clamped to 1.5 cwnd: one ACK of 1 SMSS adds at most SMSS / 2', () => {
    const c = afterLoss(100);
    c.onAck(MSS, 100, 0, c.window); // epoch start
    const w = c.window;
    // 100 s later W_cubic is enormous; the clamp limits the step to (1.5 cwnd - cwnd) / cwnd segments.
    c.onAck(MSS, 100, 100_000, c.window);
    expect(c.window - w).toBe(Math.floor(MSS / 2));
  });

  test('CUBIC 4.4: the target is never below cwnd (no decrease in congestion avoidance)', () => {
    const c = afterLoss(100);
    let w = c.window;
    for (let i = 0; i < 500; i++) {
      c.onAck(MSS, 100, i * 10, c.window);
      expect(c.window).toBeGreaterThanOrEqual(w);
      w = c.window;
    }
  });

  test('CUBIC 4.4: per-ACK increments below one byte accumulate (cwnd keeps fractions)', () => {
    // cwnd = ssthresh = 1000 segments: congestion avoidance at once, W_max = cwnd, K = 0.
    const c = new Cubic({ mss: MSS, cwnd: 1000 * MSS, ssthresh: 1000 * MSS });
    c.onAck(MSS, 100, 0, c.window);
    const w = c.window;
    // At t = 1 s each ACK adds (W_cubic(1.1) - 1000) / 1000 segments, about 0.53 bytes.
    for (let i = 0; i < 100; i++) c.onAck(MSS, 100, 1000, c.window);
    // Rounding each step down to whole bytes would leave cwnd unchanged; the sum is about 50 bytes
    // (a little under 100 x 0.53, as cwnd itself approaches the target).
    const perAck = ((0.4 * 1.1 ** 3) / 1000) * MSS;
    expect(c.window - w).toBeGreaterThan(40);
    expect(c.window - w).toBeLessThanOrEqual(Math.ceil(100 * perAck));
  });

  test('CUBIC 4.7: fast convergence: W_max = cwnd (1 + beta) / 2 when the loss comes below the previous W_max', () => {
    const c = new Cubic({ mss: MSS, cwnd: 100 * MSS });
    c.onCongestionEvent('loss', 0, 100 * MSS);
    expect(c.traceState().wMax).toBeCloseTo(100, 9);
    c.onCongestionEvent('loss', 0, 70 * MSS);
    expect(c.traceState().wMax).toBeCloseTo((70 * 1.7) / 2, 9);
    // Without fast convergence W_max is simply cwnd at the loss.
    const n = new Cubic({ mss: MSS, cwnd: 100 * MSS, params: { fastConvergence: 0 } });
    n.onCongestionEvent('loss', 0, 100 * MSS);
    n.onCongestionEvent('loss', 0, 70 * MSS);
    expect(n.traceState().wMax).toBeCloseTo(70, 9);
  });

  test('CUBIC 4.6: ssthresh never goes below 2 SMSS', () => {
    const c = new Cubic({ mss: MSS, cwnd: 2 * MSS });
    c.onCongestionEvent('loss', 0, 2 * MSS);
    expect(c.ssthresh).toBe(2 * MSS);
  });

  test('CUBIC 4.8: a timeout sets cwnd = 1 SMSS and ssthresh = beta cwnd; the next epoch uses W_max = cwnd at its start and K = 0', () => {
    const c = new Cubic({ mss: MSS, cwnd: 100 * MSS, ssthresh: 200 * MSS });
    asCc(c).onRetransmissionTimeout(0, 100 * MSS);
    expect(c.window).toBe(MSS);
    expect(c.ssthresh).toBe(70 * MSS);
    // Standard slow start (L = 2) up to ssthresh.
    let now = 0;
    while (c.window < c.ssthresh) c.onAck(MSS, 10, (now += 1), c.window);
    const w = c.window;
    c.onAck(MSS, 10, (now += 1), c.window);
    expect(c.traceState().k).toBe(0);
    expect(c.traceState().wMax).toBeCloseTo(w / MSS, 9);
  });

  test('CUBIC 5.8: time spent application-limited does not advance t on the cubic curve', () => {
    const limited = afterLoss(100);
    const busy = afterLoss(100);
    limited.onAck(MSS, 100, 0, limited.window);
    busy.onAck(MSS, 100, 0, busy.window);
    // 10 s of ACKs while the application leaves the window mostly empty.
    for (let t = 100; t <= 10_000; t += 100) limited.onAck(MSS, 100, t, MSS);
    expect(limited.window).toBe(busy.window);
    limited.onAck(MSS, 100, 10_100, limited.window);
    busy.onAck(MSS, 100, 100, busy.window);
    expect(limited.window).toBe(busy.window);
  });

  test('CUBIC: the recovery end leaves cwnd at ssthresh', () => {
    const c = new Cubic({ mss: MSS, cwnd: 100 * MSS });
    c.onCongestionEvent('loss', 0, 100 * MSS);
    asCc(c).onRecoveryEnd(0);
    expect(c.window).toBe(c.ssthresh);
  });
});

describe('NewReno (RFC 5681, RFC 6582) rules', () => {
  test('NewReno: slow start ends where cwnd reaches ssthresh; congestion avoidance then adds one SMSS per cwnd of ACKed bytes', () => {
    const c = new NewReno({ mss: MSS, cwnd: 8 * MSS, ssthresh: 10 * MSS });
    c.onAck(2 * MSS, 10, 0, c.window);
    expect(c.window).toBe(10 * MSS);
    for (let i = 0; i < 9; i++) c.onAck(MSS, 10, 0, c.window);
    expect(c.window).toBe(10 * MSS);
    c.onAck(MSS, 10, 0, c.window);
    expect(c.window).toBe(11 * MSS);
  });

  test('NewReno: ECN-Echo reduces like a loss (RFC 3168 6.1.2): ssthresh = max(FlightSize / 2, 2 SMSS)', () => {
    const c = new NewReno({ mss: MSS, cwnd: 30 * MSS });
    c.onCongestionEvent('ecn', 0, 24 * MSS);
    expect(c.ssthresh).toBe(12 * MSS);
    expect(c.window).toBe(12 * MSS);
  });

  test('NewReno RFC 6582 3.2 step 3: a full acknowledgment leaves cwnd at no more than ssthresh', () => {
    const c = new NewReno({ mss: MSS, cwnd: 30 * MSS });
    c.onCongestionEvent('loss', 0, 30 * MSS);
    asCc(c).onRecoveryEnd(0);
    expect(c.window).toBe(15 * MSS);
  });

  test('NewReno: after an RTO, slow start from 1 SMSS up to the halved ssthresh, then linear growth', () => {
    const c = new NewReno({ mss: MSS, cwnd: 40 * MSS });
    c.onRetransmissionTimeout(0, 40 * MSS);
    expect(c.window).toBe(MSS);
    let acks = 0;
    while (c.window < c.ssthresh) {
      c.onAck(MSS, 10, 0, c.window);
      acks++;
    }
    expect(c.window).toBe(20 * MSS);
    expect(acks).toBe(19);
    c.onAck(MSS, 10, 0, c.window);
    expect(c.window).toBe(20 * MSS);
  });
});
