import { Cubic, NewReno, createCongestionController, initialWindow } from '../../src/congestion/index.js';

const MSS = 1000;

describe('NewReno (RFC 5681, RFC 6582)', () => {
  test('initial window follows RFC 6928: min(10*MSS, max(2*MSS, 14600))', () => {
    expect(initialWindow(1460)).toBe(14600);
    expect(initialWindow(536)).toBe(5360);
    expect(initialWindow(9000)).toBe(18000);
    expect(initialWindow(1000, { initialWindowSegments: 4 })).toBe(4000);
  });

  test('slow start: cwnd grows by the bytes acknowledged, at most 2 SMSS per ACK', () => {
    const c = new NewReno({ mss: MSS });
    const w0 = c.window;
    c.onAck(MSS, 10, 0, w0);
    expect(c.window).toBe(w0 + MSS);
    c.onAck(5 * MSS, 10, 0, c.window);
    expect(c.window).toBe(w0 + 3 * MSS);
  });

  test('congestion avoidance: one SMSS per cwnd of acknowledged bytes', () => {
    const c = new NewReno({ mss: MSS, cwnd: 10 * MSS, ssthresh: 5 * MSS });
    for (let i = 0; i < 9; i++) c.onAck(MSS, 10, 0, c.window);
    expect(c.window).toBe(10 * MSS);
    c.onAck(MSS, 10, 0, c.window);
    expect(c.window).toBe(11 * MSS);
  });

  test('an application-limited sender does not grow cwnd (RFC 7661 flavour)', () => {
    const c = new NewReno({ mss: MSS });
    const w0 = c.window;
    c.onAck(MSS, 10, 0, MSS);
    expect(c.window).toBe(w0);
  });

  test('loss: ssthresh = max(FlightSize/2, 2 SMSS), cwnd = ssthresh; RTO: cwnd = 1 SMSS', () => {
    const c = new NewReno({ mss: MSS, cwnd: 20 * MSS });
    c.onCongestionEvent('loss', 0, 20 * MSS);
    expect(c.ssthresh).toBe(10 * MSS);
    expect(c.window).toBe(10 * MSS);
    c.onCongestionEvent('loss', 0, 3 * MSS);
    expect(c.ssthresh).toBe(2 * MSS);
    c.onRetransmissionTimeout(0, 8 * MSS);
    expect(c.ssthresh).toBe(4 * MSS);
    expect(c.window).toBe(MSS);
  });
});

describe('CUBIC (RFC 9438)', () => {
  test('loss: multiplicative decrease by beta = 0.7 and W_max = cwnd at the loss', () => {
    const c = new Cubic({ mss: MSS, cwnd: 100 * MSS, params: { fastConvergence: 0 } });
    c.onCongestionEvent('loss', 0, 100 * MSS);
    expect(c.window).toBe(70 * MSS);
    expect(c.ssthresh).toBe(70 * MSS);
    expect(c.traceState().wMax).toBeCloseTo(100);
  });

  test('fast convergence: a loss below the previous W_max lowers W_max further (section 4.7)', () => {
    const c = new Cubic({ mss: MSS, cwnd: 100 * MSS });
    c.onCongestionEvent('loss', 0, 100 * MSS);
    c.onCongestionEvent('loss', 0, 70 * MSS);
    expect(c.traceState().wMax).toBeCloseTo((70 * 1.7) / 2);
  });

  test('W_cubic: concave up to W_max at t = K, convex after; K = cbrt(W_max (1 - beta) / C)', () => {
    const c = new Cubic({ mss: MSS, cwnd: 100 * MSS, params: { fastConvergence: 0 } });
    c.onCongestionEvent('loss', 0, 100 * MSS);
    // Drive congestion avoidance with one full window of ACKs per 100 ms RTT.
    const rtt = 100;
    const samples: Array<{ t: number; w: number }> = [];
    let now = 0;
    for (let round = 0; round < 80; round++) {
      const segs = Math.floor(c.window / MSS);
      for (let i = 0; i < segs; i++) c.onAck(MSS, rtt, now + (i * rtt) / segs, c.window);
      now += rtt;
      samples.push({ t: now, w: c.window / MSS });
    }
    const k = c.traceState().k;
    expect(k).toBeCloseTo(Math.cbrt((100 * 0.3) / 0.4), 5);
    const at = (t: number) => samples.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a)).w;
    const kMs = k * 1000;
    // Near W_max around K (within a few segments), below it before, above it after.
    expect(Math.abs(at(kMs) - 100)).toBeLessThan(6);
    expect(at(kMs / 2)).toBeLessThan(100);
    expect(at(kMs + 3000)).toBeGreaterThan(105);
    // Concave before K: the first second gains more than the second before K.
    const g1 = at(1000) - at(100);
    const g2 = at(kMs - 100) - at(kMs - 1000);
    expect(g1).toBeGreaterThan(g2);
    // Convex after K: the later second gains more than the first after K.
    const g3 = at(kMs + 1000) - at(kMs + 100);
    const g4 = at(kMs + 3000) - at(kMs + 2100);
    expect(g4).toBeGreaterThan(g3);
  });

  test('Reno-friendly region: with a small W_max cwnd grows at least like Reno (section 4.3)', () => {
    const c = new Cubic({ mss: MSS, cwnd: 10 * MSS, params: { fastConvergence: 0 } });
    c.onCongestionEvent('loss', 0, 10 * MSS);
    let now = 0;
    for (let round = 0; round < 20; round++) {
      const segs = Math.floor(c.window / MSS);
      for (let i = 0; i < segs; i++) c.onAck(MSS, 10, now, c.window);
      now += 10; // 10 ms RTT: CUBIC's own curve is very slow here
    }
    // 20 RTTs at alpha = 3(1-0.7)/(1+0.7) ~ 0.53 segment per RTT at least.
    expect(c.window / MSS).toBeGreaterThan(7 + 20 * 0.5);
  });

  // HyStart++ (RFC 9406) has its own file: hystart.test.ts.

  test('createCongestionController keeps cwnd and ssthresh for a live switch', () => {
    const a = createCongestionController('cubic', { mss: MSS, cwnd: 50 * MSS });
    a.onCongestionEvent('loss', 0, 50 * MSS);
    const b = createCongestionController('newreno', { mss: MSS, cwnd: a.window, ssthresh: a.ssthresh });
    expect(b.name).toBe('newreno');
    expect(b.window).toBe(a.window);
    expect(b.ssthresh).toBe(a.ssthresh);
  });
});
