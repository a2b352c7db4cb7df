/**
 * Two engines over a tiny virtual link: bulk transfers with random loss arrive intact
 * (sha256) with both congestion controllers, and the cwnd trace has the expected shape.
 */
import { bytes } from './harness.js';
import { sha256, transfer } from './vlink.js';
import type { SegmentOut, TcpConfig } from '../../src/connection/types.js';
import { TcpConnection } from '../../src/connection/connection.js';

const MB2 = bytes(2 * 1024 * 1024, 7);

describe('pair over a virtual link', () => {
  for (const cc of ['newreno', 'cubic'] as const) {
    test(`${cc}: 2 MB with 5 % random loss arrives intact (SACK + timestamps)`, () => {
      const cfg: Partial<TcpConfig> = { congestionControl: cc, mss: 1460 };
      const r = transfer(MB2, { delayMs: 10, rate: Infinity, queueMs: 0, loss: 0.05, seed: 42 }, cfg, cfg);
      expect(r.received.length).toBe(MB2.length);
      expect(sha256(r.received)).toBe(sha256(MB2));
      const st = r.a.stats();
      expect(st.retransmits).toBeGreaterThan(0);
      expect(st.sackRecoveries).toBeGreaterThan(0);
      // RACK-TLP repairs most losses without waiting for the retransmission timer.
      expect(st.rackLosses).toBeGreaterThan(0);
      expect(st.rtoCount).toBeLessThan(8);
      expect(st.negotiated).toMatchObject({ sack: true, timestamps: true });
      // Trace shape: slow start first (cwnd grows before the first loss), then loss and recovery.
      const firstLoss = r.traceA.findIndex((t) => t.event === 'loss' || t.event === 'rto');
      expect(firstLoss).toBeGreaterThan(0);
      const cw0 = r.traceA.find((t) => t.event === 'send')!.cwnd;
      expect(r.traceA[firstLoss - 1].cwnd).toBeGreaterThan(cw0);
      expect(r.traceA.some((t) => t.event === 'recovery-end')).toBe(true);
      expect(r.a.state === 'TIME-WAIT' || r.a.state === 'CLOSED').toBe(true);
    });
  }

  test('through the wire codecs (emit + parse with checksums): 1 MB with 5 % loss, every option the engine emits is valid', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'cubic', ecn: true, announceUserTimeout: 60 };
    const data = MB2.subarray(0, 1024 * 1024);
    const r = transfer(data, { delayMs: 10, rate: Infinity, queueMs: 0, loss: 0.05, seed: 11, jitterMs: 4, wire: true }, cfg, cfg);
    expect(sha256(r.received)).toBe(sha256(data));
    expect(r.a.stats().negotiated).toMatchObject({ sack: true, timestamps: true, ecn: true, peerUserTimeoutSeconds: 60 });
    expect(r.a.synInfo().received?.options.some((o) => o.kind === 'userTimeout')).toBe(true);
  });

  test('SACK without RACK (RFC 6675 DupThresh only): 1 MB with 3 % loss arrives intact', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'cubic', rack: false };
    const data = MB2.subarray(0, 1024 * 1024);
    const r = transfer(data, { delayMs: 5, rate: Infinity, queueMs: 0, loss: 0.03, seed: 5 }, cfg, cfg);
    expect(sha256(r.received)).toBe(sha256(data));
    expect(r.a.stats()).toMatchObject({ rackLosses: 0, tlpProbes: 0 });
    expect(r.a.stats().sackRecoveries).toBeGreaterThan(0);
  });

  test('newreno without SACK or timestamps (RFC 6582 partial ACKs): 1 MB with 3 % loss arrives intact', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'newreno', sack: false, timestamps: false, mss: 1000 };
    const data = MB2.subarray(0, 1024 * 1024);
    const r = transfer(data, { delayMs: 5, rate: Infinity, queueMs: 0, loss: 0.03, seed: 9 }, cfg, cfg);
    expect(sha256(r.received)).toBe(sha256(data));
    expect(r.a.stats().fastRetransmits).toBeGreaterThan(0);
    expect(r.a.stats().sackRecoveries).toBe(0);
  });

  test('cubic over a bottleneck: after a loss cwnd climbs back concave toward W_max (RFC 9438 4.4)', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'cubic', mss: 1460, sendBufferBytes: 4 << 20, recvBufferBytes: 4 << 20 };
    const data = bytes(6 * 1024 * 1024, 3);
    // 20 Mbit/s, 25 ms one way, 25 ms of queue: tail-drop losses once the queue fills.
    const r = transfer(data, { delayMs: 25, rate: 2500, queueMs: 25, loss: 0, seed: 1 }, cfg, cfg);
    expect(sha256(r.received)).toBe(sha256(data));
    const lossIdx = r.traceA.map((t, i) => (t.event === 'loss' ? i : -1)).filter((i) => i >= 0);
    expect(lossIdx.length).toBeGreaterThanOrEqual(1);
    // The congestion-avoidance epochs that follow each loss; take the longest.
    const epochs = lossIdx.map((from, k) =>
      r.traceA
        .slice(from, lossIdx[k + 1] ?? r.traceA.length)
        .filter((t) => t.event === 'ack' && t.cwnd >= t.ssthresh && typeof t.wMax === 'number' && (t.k as number) > 0),
    );
    const epoch = epochs.reduce((a, b) => (b.length > a.length ? b : a));
    const wMax = (epoch[epoch.length - 1].wMax as number) * 1460;
    const below = epoch.filter((t) => t.cwnd < wMax * 0.99);
    expect(below.length).toBeGreaterThan(100);
    const rate = (xs: typeof epoch) => (xs[xs.length - 1].cwnd - xs[0].cwnd) / Math.max(1, xs[xs.length - 1].t - xs[0].t);
    const third = Math.floor(below.length / 3);
    // Concave region: growth per ms slows while cwnd approaches W_max.
    const early = rate(below.slice(0, third));
    const late = rate(below.slice(2 * third));
    expect(early).toBeGreaterThan(0);
    expect(early).toBeGreaterThan(2 * late);
    // The approach plateaus close to W_max.
    expect(below[below.length - 1].cwnd).toBeGreaterThan(0.9 * wMax);
  });

  test('seeded grid: loss 0-20 %, reordering, small buffers, four configurations, every transfer intact', () => {
    const data = bytes(100_000, 5);
    const want = sha256(data);
    const variants: Array<Partial<TcpConfig>> = [
      { congestionControl: 'cubic' },
      { congestionControl: 'newreno', sack: false, timestamps: false },
      { congestionControl: 'cubic', recvBufferBytes: 8000, sendBufferBytes: 5000, mss: 500, windowScale: false },
      { congestionControl: 'newreno', rack: false, delayedAckMs: false, nagle: false, ecn: true },
    ];
    const failures: string[] = [];
    for (const loss of [0, 0.05, 0.2])
      for (const seed of [1, 2])
        for (const jitterMs of [0, 30])
          variants.forEach((cfg, v) => {
            const r = transfer(data, { delayMs: 10, rate: v === 3 ? 500 : Infinity, queueMs: 20, loss, seed, jitterMs }, cfg, cfg, 200_000);
            if (sha256(r.received) !== want) failures.push(`loss=${loss} seed=${seed} jitter=${jitterMs} variant=${v}: ${r.received.length} bytes`);
          });
    expect(failures).toEqual([]);
  });

  test('ECN over a marking bottleneck: CE marks reduce cwnd instead of losses (RFC 3168)', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'newreno', ecn: true };
    const data = MB2.subarray(0, 1024 * 1024);
    // 10 Mbit/s, a deep queue (no drops) that marks CE beyond 5 ms of queueing.
    const r = transfer(data, { delayMs: 10, rate: 1250, queueMs: 1000, loss: 0, seed: 3, ecnMarkMs: 5 }, cfg, cfg);
    expect(sha256(r.received)).toBe(sha256(data));
    const a = r.a.stats();
    expect(a.negotiated.ecn).toBe(true);
    expect(r.b.stats().ecnCeReceived).toBeGreaterThan(0);
    expect(a.ecnReductions).toBeGreaterThan(0);
    expect(a.retransmits).toBe(0);
    expect(r.dropped).toBe(0);
    expect(r.traceA.filter((t) => t.event === 'ecn').length).toBe(a.ecnReductions);
  });

  test('simultaneous open and simultaneous close between two engines (RFC 9293 figures 8 and 13)', () => {
    const ea = { address: '10.0.0.1', port: 5000 };
    const eb = { address: '10.0.0.2', port: 6000 };
    const cfg: Partial<TcpConfig> = { timeWaitMs: 1000 };
    const a = TcpConnection.connect({ local: ea, remote: eb, iss: 100, now: 0, config: cfg });
    const b = TcpConnection.connect({ local: eb, remote: ea, iss: 300, now: 0, config: cfg });
    let now = 0;
    const exchange = () => {
      for (let round = 0; round < 20; round++) {
        const fromA: SegmentOut[] = [];
        const fromB: SegmentOut[] = [];
        for (let x = a.pollTransmit(now); x; x = a.pollTransmit(now)) fromA.push(x);
        for (let x = b.pollTransmit(now); x; x = b.pollTransmit(now)) fromB.push(x);
        if (fromA.length + fromB.length === 0) return;
        now += 1;
        for (const x of fromA) b.handleSegment(x, now);
        for (const x of fromB) a.handleSegment(x, now);
      }
      throw new Error('no quiescence');
    };
    exchange();
    expect([a.state, b.state]).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    a.write(new TextEncoder().encode('from a'));
    b.write(new TextEncoder().encode('from b'));
    exchange();
    expect(new TextDecoder().decode(a.read()!)).toBe('from b');
    expect(new TextDecoder().decode(b.read()!)).toBe('from a');
    a.shutdown();
    b.shutdown();
    exchange();
    expect([a.state, b.state]).toEqual(['TIME-WAIT', 'TIME-WAIT']);
    now += 1000;
    a.handleTimeout(now);
    b.handleTimeout(now);
    expect([a.state, b.state]).toEqual(['CLOSED', 'CLOSED']);
  });
});
