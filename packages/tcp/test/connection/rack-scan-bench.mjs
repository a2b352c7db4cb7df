// Measures the sender's cost under loss with a large transmission log (RFC 8985 RACK scan).
// Not a test: run by hand against the built dist, e.g.
//   npx tsc -b packages/tcp && node packages/tcp/test/connection/rack-scan-bench.mjs
// An optional argument names another build's index.js (to compare before / after a change).
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const distIndex = process.argv[2] ?? new URL('../../dist/index.js', import.meta.url).pathname;
const { TcpConnection } = await import(pathToFileURL(resolve(distIndex)).href);

// Time spent inside the RACK loss scan itself (a TypeScript-private method is an ordinary
// prototype method in the emitted JavaScript), beside the wall time of the whole transfer.
let rackMs = 0;
let rackCalls = 0;
const proto = TcpConnection.prototype;
const rackDetectLoss = proto.rackDetectLoss;
proto.rackDetectLoss = function (now) {
  const t = performance.now();
  rackDetectLoss.call(this, now);
  rackMs += performance.now() - t;
  rackCalls++;
};

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One bulk transfer a -> b over a link with a fixed delay and seeded random loss. */
function run({ bytes, mss, loss, lossFromLog, delayMs, rate, seed }) {
  const cfg = {
    mss,
    sendBufferBytes: 2 * 1024 * 1024,
    recvBufferBytes: 2 * 1024 * 1024,
    maxReassemblySegments: 4096,
    maxSackScoreboard: 4096,
    nagle: false,
    congestionControl: 'newreno',
    // A large initial window: this loop delivers a window's segments at one instant, so the receiver
    // acknowledges them with few ACKs and slow start alone would take long to fill a big log.
    congestionParams: { initialWindowSegments: 12_000 },
  };
  const rnd = mulberry32(seed);
  const data = new Uint8Array(bytes);
  let now = 0;
  const a = TcpConnection.connect({ local: { address: '10.0.0.1', port: 40000 }, remote: { address: '10.0.0.2', port: 443 }, iss: 1, now, config: cfg });
  let b = null;
  // One FIFO per direction: a constant delay after a serialising bottleneck (`rate` bytes/ms)
  // keeps each ordered by arrival time. The bottleneck spreads a window's ACKs out in time, so
  // the sender handles them one by one, with its retransmissions outstanding, as on a real path.
  const queues = { a: [], b: [] };
  const qHead = { a: 0, b: 0 };
  const busy = { a: 0, b: 0 };
  let written = 0;
  let received = 0;
  let maxLog = 0;
  const send = (to, s) => {
    // Loss starts once the sender's log is large (slow start first fills a big window).
    if (maxLog >= lossFromLog && rnd() < loss) return;
    busy[to] = Math.max(now, busy[to]) + (s.tcp.payload.length + 40) / rate;
    queues[to].push({ at: busy[to] + delayMs, to, seg: { ecn: s.ecn, tcp: { ...s.tcp, payload: s.tcp.payload.slice() } } });
  };
  const t0 = performance.now();
  for (let steps = 0; steps < 5_000_000; steps++) {
    while (written < bytes && a.writableBytes > 0) written += a.write(data.subarray(written, Math.min(bytes, written + 65536)));
    if (b) for (let r = b.read(); r !== null; r = b.read()) received += r.length;
    if (received === bytes) break;
    for (let s = a.pollTransmit(now); s !== null; s = a.pollTransmit(now)) send('b', s);
    if (b) for (let s = b.pollTransmit(now); s !== null; s = b.pollTransmit(now)) send('a', s);
    while (a.pollEvent() !== null);
    if (b) while (b.pollEvent() !== null);
    maxLog = Math.max(maxLog, a.stats().txLogEntries);
    const headAt = (d) => (qHead[d] < queues[d].length ? queues[d][qHead[d]].at : Infinity);
    let next = Math.min(headAt('a'), headAt('b'));
    const ta = a.pollTimeout();
    if (ta !== null) next = Math.min(next, ta);
    const tb = b ? b.pollTimeout() : null;
    if (tb !== null) next = Math.min(next, tb);
    if (!Number.isFinite(next)) break;
    now = Math.max(now, next);
    for (;;) {
      const d = headAt('a') <= headAt('b') ? 'a' : 'b';
      if (headAt(d) > now) break;
      const p = queues[d][qHead[d]++];
      if (p.to === 'b') {
        if (b === null) b = TcpConnection.accept({ local: { address: '10.0.0.2', port: 443 }, remote: { address: '10.0.0.1', port: 40000 }, iss: 7, now, config: cfg, syn: p.seg });
        else b.handleSegment(p.seg, now);
      } else a.handleSegment(p.seg, now);
    }
    for (const d of ['a', 'b']) {
      if (qHead[d] > 4096 && qHead[d] * 2 > queues[d].length) {
        queues[d].splice(0, qHead[d]);
        qHead[d] = 0;
      }
    }
    if (ta !== null && ta <= now) a.handleTimeout(now);
    if (b && tb !== null && tb <= now) b.handleTimeout(now);
  }
  const ms = performance.now() - t0;
  const rack = { rackCalls, rackMs: Math.round(rackMs * 10) / 10 };
  rackMs = 0;
  rackCalls = 0;
  const st = a.stats();
  return { ok: received === bytes, ms: Math.round(ms), ...rack, maxLog, rackLosses: st.rackLosses, retransmits: st.retransmits, rtoCount: st.rtoCount, virtualMs: now };
}

const scenarios = [
  { bytes: 4_000_000, mss: 100, loss: 0.001, lossFromLog: 10_000, delayMs: 20, rate: 12_500, seed: 1 },
  { bytes: 4_000_000, mss: 100, loss: 0.01, lossFromLog: 10_000, delayMs: 20, rate: 12_500, seed: 2 },
];
for (const s of scenarios) {
  const r = run(s);
  console.log(JSON.stringify({ ...s, ...r }));
}
