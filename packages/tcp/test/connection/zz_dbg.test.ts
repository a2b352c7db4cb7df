import { bytes } from './harness.js';
import { transfer } from './vlink.js';
test('dbg', () => {
  for (const cc of ['newreno', 'cubic'] as const) {
    const cfg = { congestionControl: cc, mss: 1460 };
    const r = transfer(bytes(2 << 20), { delayMs: 10, rate: Infinity, queueMs: 0, loss: 0.05, seed: 42 }, cfg, cfg);
    const st = r.a.stats();
    console.log(cc, r.ok, r.now.toFixed(0), st.rtoCount, st.retransmits, st.fastRecoveries, r.dropped, st.segmentsSent, r.b.stats().segmentsSent);
  }
});
