/**
 * HyStart++ driven by the real connection engine over the in-package virtual link (which passes
 * no SND.UNA/SND.NXT to the controller, so rounds come from acked bytes vs. bytes in flight).
 * A 10 Mbit/s bottleneck with a deep tail-drop queue: the RTT rises long before the queue
 * overflows, so HyStart++ must enter CSS and end slow start (ssthresh = cwnd) without a loss.
 */
import { bytes } from '../connection/harness.js';
import { sha256, transfer } from '../connection/vlink.js';
import type { TcpConfig } from '../../src/connection/types.js';

interface Rec {
  t: number;
  event: string;
  cwnd: number;
  ssthresh: number | null;
  rtt?: number | null;
  hystartRounds?: number;
  hystartExits?: number;
  cssEntries?: number;
  inCss?: number;
}

describe('HyStart++ through the engine', () => {
  test('HyStart++ (engine): rounds last about one RTT, a queue build-up enters CSS and CSS ends slow start with ssthresh = cwnd before any loss', () => {
    const data = bytes(3 * 1024 * 1024, 5);
    const cfg: Partial<TcpConfig> = { congestionControl: 'cubic', mss: 1448 };
    const r = transfer(data, { delayMs: 10, rate: 1250, queueMs: 400, loss: 0, seed: 7 }, cfg, cfg);
    expect(sha256(r.received)).toBe(sha256(data));
    const recs = r.traceA as unknown as Rec[];
    const exitAt = recs.findIndex((x) => x.event === 'ack' && x.hystartExits === 1);
    expect(exitAt).toBeGreaterThan(0);
    const firstLoss = recs.findIndex((x) => x.event === 'loss' || x.event === 'rto');
    if (firstLoss >= 0) expect(firstLoss).toBeGreaterThan(exitAt);
    const exit = recs[exitAt];
    expect(exit.ssthresh).toBe(exit.cwnd);
    expect(exit.cssEntries).toBeGreaterThanOrEqual(1);
    // Every earlier ACK was in slow start (ssthresh still unset).
    for (const x of recs.slice(0, exitAt)) if (x.event === 'ack') expect(Number.isFinite(x.ssthresh)).toBe(false);
    // Round boundaries: each round (after the first two) lasts between 0.5 and 1.5 RTT.
    const ends = recs.slice(0, exitAt + 1).filter((x, i, a) => x.event === 'ack' && i > 0 && x.hystartRounds !== a[i - 1].hystartRounds);
    expect(ends.length).toBeGreaterThanOrEqual(6);
    for (let i = 2; i < ends.length; i++) {
      const dur = ends[i].t - ends[i - 1].t;
      const rtt = ends[i].rtt ?? 0;
      expect(dur).toBeGreaterThan(0.5 * rtt);
      expect(dur).toBeLessThan(1.5 * rtt);
    }
  });
});
