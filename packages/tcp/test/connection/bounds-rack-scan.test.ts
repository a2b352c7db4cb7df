/**
 * Two bounds of the engine's per-ACK work and queues: the control-segment queue (at most 16
 * segments wait for pollTransmit; the excess is counted) and the RACK loss scan (RFC 8985 6.2
 * step 5), which walks only entries that can be newly lost instead of the whole transmission log.
 * The RACK test checks, on a log of more than 10 000 entries under loss, that the engine behaves
 * exactly as a reference full scan of the log (the rule as RFC 8985 states it) does.
 */
import { TcpConnection } from '../../src/connection/connection.js';
import type { SegmentOut, TcpConfig, TcpStats, TraceRecord } from '../../src/connection/types.js';
import type { TcpOption } from '../../src/wire/types.js';
import { F, LOCAL_ISS, PLAIN, REMOTE_ISS, established, synSent } from './harness.js';
import { mulberry32, sha256 } from './vlink.js';

const L = LOCAL_ISS + 1;

describe('control segment queue bound', () => {
  test('SYN-SENT: 20 unacceptable ACKs queue 16 RSTs; the other 4 are dropped and counted in controlSegmentsDropped', () => {
    const s = synSent();
    expect(s.conn.stats().controlSegmentsDropped).toBe(0);
    // RFC 9293 3.10.7.3: an ACK for something never sent is answered with <SEQ=SEG.ACK><CTL=RST>.
    for (let i = 0; i < 20; i++) s.recv({ seq: 7000, ack: L + 1000 + i, flags: F.ACK });
    const out = s.drain();
    expect(out.map((o) => o.tcp.flags)).toEqual(new Array(16).fill(F.RST));
    expect(out.map((o) => o.tcp.seq)).toEqual(Array.from({ length: 16 }, (_, i) => L + 1000 + i));
    expect(s.conn.stats().controlSegmentsDropped).toBe(4);
    expect(s.conn.state).toBe('SYN-SENT');
    // The bound is on segments waiting, not a total: once drained, the next one is queued again.
    s.recv({ seq: 7000, ack: L + 2000, flags: F.ACK });
    expect(s.drain().map((o) => o.tcp.seq)).toEqual([L + 2000]);
    expect(s.conn.stats().controlSegmentsDropped).toBe(4);
  });

  test('nothing is dropped while the driver polls between segments', () => {
    const s = synSent();
    for (let i = 0; i < 40; i++) {
      s.recv({ seq: 7000, ack: L + 1000 + i, flags: F.ACK });
      s.send({ seq: L + 1000 + i, flags: F.RST });
    }
    expect(s.conn.stats().controlSegmentsDropped).toBe(0);
  });
});

// ---- RACK on a large transmission log ----

/** The engine's private log state, as the reference scan and the invariant check read it. */
interface TxRecView {
  start: number;
  end: number;
  xmitTs: number;
  sacked: boolean;
  lost: boolean;
  pending: boolean;
  tsNext: TxRecView | null;
}
interface EngineView {
  txLog: TxRecView[];
  txHead: number;
  pendHead: TxRecView | null;
  rackXmitTs: number;
  rackEndSeq: number;
  rackRtt: number;
  minRtt: number | null;
  srtt: number | null;
  reorderingSeen: boolean;
  recovery: unknown;
  timers: { reorder: number | null };
  counters: { rackLosses: number };
  setLost(r: TxRecView, v: boolean): void;
}

const seqLt = (a: number, b: number) => ((a - b) | 0) < 0;

/**
 * RFC 8985 6.2 step 5 as written, over the whole log: every segment neither SACKed nor lost, sent
 * before the most recently delivered one, is lost once RTT + reo_wnd has passed since it was sent.
 * (This is the scan the engine did before; the test keeps it as the reference.)
 */
function referenceRackDetectLoss(this: EngineView, now: number): void {
  if (this.rackXmitTs === -Infinity) return;
  const minRtt = this.minRtt ?? 0;
  const reoWnd = this.reorderingSeen ? Math.min(minRtt / 4, this.srtt ?? Infinity) : this.recovery !== null ? 0 : minRtt / 4;
  let earliest = Infinity;
  for (let i = this.txHead; i < this.txLog.length; i++) {
    const r = this.txLog[i];
    if (r.sacked || r.lost) continue;
    if (r.xmitTs < this.rackXmitTs || (r.xmitTs === this.rackXmitTs && seqLt(r.end, this.rackEndSeq))) {
      const remaining = r.xmitTs + this.rackRtt + reoWnd - now;
      if (remaining <= 0) {
        this.setLost(r, true);
        this.counters.rackLosses++;
      } else if (remaining < earliest) earliest = remaining;
    }
  }
  this.timers.reorder = Number.isFinite(earliest) ? now + earliest : null;
}

/** The pending list holds exactly the live entries neither SACKed nor lost, in xmitTs order. */
function checkPendingList(e: EngineView): string | null {
  const want = new Set<TxRecView>();
  for (let i = e.txHead; i < e.txLog.length; i++) {
    const r = e.txLog[i];
    if (r.pending !== (!r.sacked && !r.lost)) return `entry ${i}: pending=${r.pending} sacked=${r.sacked} lost=${r.lost}`;
    if (r.pending) want.add(r);
  }
  let n = 0;
  let prevTs = -Infinity;
  for (let r = e.pendHead; r !== null; r = r.tsNext) {
    if (!want.has(r)) return 'pending list holds an entry that is not live and pending';
    if (r.xmitTs < prevTs) return 'pending list out of xmitTs order';
    prevTs = r.xmitTs;
    if (++n > want.size) return 'pending list longer than the pending entries';
  }
  return n === want.size ? null : `pending list has ${n} entries, want ${want.size}`;
}

interface RunResult {
  ok: boolean;
  digest: string;
  stats: TcpStats;
  trace: TraceRecord[];
  sent: number;
  maxLog: number;
  rackCalls: number;
  invariantError: string | null;
}

/**
 * A bulk transfer over a serialising bottleneck (per-direction FIFO, `rate` bytes/ms, fixed delay)
 * with seeded random loss. The bottleneck spreads the ACKs out, so the sender handles them one by
 * one with retransmissions outstanding, over a log of more than 10 000 entries.
 */
interface Scenario {
  bytes: number;
  loss: number;
  /** Extra random delay per packet in [0, jitterMs): reorders packets (RACK's reo_wnd grows). */
  jitterMs: number;
  initialWindowSegments: number;
  /** Check the pending-list invariant every this many scans (every scan is quadratic on a big log). */
  checkEvery: number;
}

function run(sc: Scenario, reference: boolean): RunResult {
  const mss = 100;
  const cfg: Partial<TcpConfig> = {
    mss,
    sendBufferBytes: 2 * 1024 * 1024,
    recvBufferBytes: 2 * 1024 * 1024,
    maxReassemblySegments: 4096,
    maxSackScoreboard: 4096,
    nagle: false,
    congestionControl: 'newreno',
    // One large first flight fills the log at once (slow start would need many round trips).
    congestionParams: { initialWindowSegments: sc.initialWindowSegments },
  };
  const bytes = sc.bytes;
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 131 + (i >>> 9)) & 0xff;
  const rnd = mulberry32(42);
  const loss = sc.loss;
  const rate = 12_500;
  const delayMs = 20;
  const trace: TraceRecord[] = [];
  let now = 0;
  const a = TcpConnection.connect({
    local: { address: '10.0.0.1', port: 40000 },
    remote: { address: '10.0.0.2', port: 443 },
    iss: 0xfff00000, // the sequence space wraps during the transfer
    now,
    config: cfg,
    trace: (r) => trace.push(r),
  });
  const view = a as unknown as EngineView;
  let rackCalls = 0;
  let invariantError: string | null = null;
  const engineScan = (TcpConnection.prototype as unknown as { rackDetectLoss(now: number): void }).rackDetectLoss;
  // Instance-level replacement: the reference run swaps the scan; both runs count the calls and
  // check the pending-list invariant every sc.checkEvery calls.
  (a as unknown as { rackDetectLoss(now: number): void }).rackDetectLoss = function (this: EngineView, t: number) {
    rackCalls++;
    if (reference) referenceRackDetectLoss.call(this, t);
    else engineScan.call(this, t);
    if (invariantError === null && rackCalls % sc.checkEvery === 0) invariantError = checkPendingList(this);
  };
  let b: TcpConnection | null = null;
  const queues: Record<'a' | 'b', { at: number; seg: SegmentOut }[]> = { a: [], b: [] };
  const head = { a: 0, b: 0 };
  const busy = { a: 0, b: 0 };
  const chunks: Uint8Array[] = [];
  let received = 0;
  let written = 0;
  let sent = 0;
  let maxLog = 0;
  const send = (to: 'a' | 'b', s: SegmentOut) => {
    if (to === 'b') sent++;
    if (rnd() < loss) return;
    busy[to] = Math.max(now, busy[to]) + (s.tcp.payload.length + 40) / rate;
    const at = busy[to] + delayMs + (sc.jitterMs > 0 ? rnd() * sc.jitterMs : 0);
    const q = queues[to];
    // Kept ordered by arrival time (jitter only moves a packet a little: walk from the end).
    let i = q.length;
    while (i > head[to] && q[i - 1].at > at) i--;
    q.splice(i, 0, { at, seg: { ecn: s.ecn, tcp: { ...s.tcp, payload: s.tcp.payload.slice() } } });
  };
  const headAt = (d: 'a' | 'b') => (head[d] < queues[d].length ? queues[d][head[d]].at : Infinity);
  for (let steps = 0; steps < 400_000 && received < bytes; steps++) {
    while (written < bytes && a.writableBytes > 0) written += a.write(data.subarray(written, Math.min(bytes, written + 65536)));
    if (b) {
      for (let r = b.read(); r !== null; r = b.read()) {
        chunks.push(r.slice());
        received += r.length;
      }
    }
    for (let s = a.pollTransmit(now); s !== null; s = a.pollTransmit(now)) send('b', s);
    if (b) for (let s = b.pollTransmit(now); s !== null; s = b.pollTransmit(now)) send('a', s);
    while (a.pollEvent() !== null);
    if (b) while (b.pollEvent() !== null);
    maxLog = Math.max(maxLog, view.txLog.length - view.txHead);
    let next = Math.min(headAt('a'), headAt('b'));
    const ta = a.pollTimeout();
    if (ta !== null) next = Math.min(next, ta);
    const tb = b?.pollTimeout() ?? null;
    if (tb !== null) next = Math.min(next, tb);
    if (!Number.isFinite(next)) break;
    now = Math.max(now, next);
    for (;;) {
      const d = headAt('a') <= headAt('b') ? 'a' : 'b';
      if (headAt(d) > now) break;
      const p = queues[d][head[d]++];
      if (d === 'a') a.handleSegment(p.seg, now);
      else if (b === null) {
        b = TcpConnection.accept({ local: { address: '10.0.0.2', port: 443 }, remote: { address: '10.0.0.1', port: 40000 }, iss: 7, now, config: cfg, syn: p.seg });
      } else b.handleSegment(p.seg, now);
    }
    if (ta !== null && ta <= now) a.handleTimeout(now);
    if (b && tb !== null && tb <= now) b.handleTimeout(now);
  }
  const all = new Uint8Array(received);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  const ok = received === bytes && sha256(all) === sha256(data);
  if (invariantError === null) invariantError = checkPendingList(view);
  return { ok, digest: sha256(all), stats: a.stats(), trace, sent, maxLog, rackCalls, invariantError };
}

describe('RFC 8985 6.2 step 5: RACK loss scan on a large log', () => {
  test('over 10 000 logged segments under loss, losses, timers and every segment sent match a full scan of the log', () => {
    const sc: Scenario = { bytes: 1_100_000, loss: 0.004, jitterMs: 0, initialWindowSegments: 12_000, checkEvery: 997 };
    const fast = run(sc, false);
    const ref = run(sc, true);
    // The scenario really exercises the scan: a big log, RACK losses, retransmissions.
    expect(fast.maxLog).toBeGreaterThan(10_000);
    expect(fast.stats.rackLosses).toBeGreaterThan(20);
    expect(fast.rackCalls).toBeGreaterThan(10_000);
    expect(fast.ok).toBe(true);
    expect(fast.invariantError).toBeNull();
    // Identical behaviour: the same segments, the same trace (sends, losses, cwnd), the same stats.
    expect(ref.ok).toBe(true);
    expect(fast.sent).toBe(ref.sent);
    expect(fast.rackCalls).toBe(ref.rackCalls);
    expect(fast.stats).toEqual(ref.stats);
    expect(fast.trace.length).toBe(ref.trace.length);
    expect(sha256(new TextEncoder().encode(JSON.stringify(fast.trace)))).toBe(sha256(new TextEncoder().encode(JSON.stringify(ref.trace))));
  });

  test('with reordering, losses and every segment sent match a full scan of the log (invariant checked after every scan)', () => {
    // Jitter reorders packets: RACK sees reordering and uses a non-zero reordering window
    // (RFC 8985 6.2 step 4), so entries wait for their deadline in the pending list.
    const sc: Scenario = { bytes: 200_000, loss: 0.01, jitterMs: 3, initialWindowSegments: 2_000, checkEvery: 1 };
    const fast = run(sc, false);
    const ref = run(sc, true);
    expect(fast.maxLog).toBeGreaterThan(1000);
    expect(fast.ok).toBe(true);
    expect(fast.invariantError).toBeNull();
    expect(fast.stats.rackLosses).toBeGreaterThan(0);
    expect(ref.ok).toBe(true);
    expect(fast.sent).toBe(ref.sent);
    expect(fast.stats).toEqual(ref.stats);
    expect(sha256(new TextEncoder().encode(JSON.stringify(fast.trace)))).toBe(sha256(new TextEncoder().encode(JSON.stringify(ref.trace))));
  });
});

describe('RACK pending list: entries change place when they are sent again', () => {
  const R = REMOTE_ISS + 1;
  const sackOpt = (l: number, r: number): TcpOption[] => [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [{ left: l >>> 0, right: r >>> 0 }] }];

  test('a coalesced log entry sent after a retransmission moves behind it (transmission-time order kept)', () => {
    const s = established({ ...PLAIN, sack: true }, 65535, [{ kind: 'sackPermitted' }]);
    const view = s.conn as unknown as EngineView;
    // 300 one-byte segments: past 256 live entries the log merges small sends into its last entry.
    for (let i = 0; i < 300; i++) {
      s.now = i;
      expect(s.conn.write(new Uint8Array([i & 0xff]))).toBe(1);
      s.send({ seq: L + i, len: 1 });
    }
    const live = view.txLog.length - view.txHead;
    expect(live).toBeLessThan(300);
    expect(checkPendingList(view)).toBeNull();
    // A SACK for bytes 1..200 marks byte 0 lost (RFC 6675 IsLost); it is retransmitted at t = 400.
    s.now = 400;
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt(L + 1, L + 201) });
    const rtx = s.drain().filter((o) => o.tcp.payload.length > 0);
    expect(rtx.map((o) => o.tcp.seq)).toEqual([L]);
    expect(checkPendingList(view)).toBeNull();
    // A new byte at t = 450 merges into the last entry (sent at t = 299): that entry is now younger
    // than the retransmission and must follow it in the list.
    s.now = 450;
    s.conn.write(new Uint8Array([9]));
    s.send({ seq: L + 300, len: 1 });
    expect(view.txLog.length - view.txHead).toBe(live);
    expect(checkPendingList(view)).toBeNull();
    let last: TxRecView | null = null;
    for (let r = view.pendHead; r !== null; r = r.tsNext) last = r;
    expect(last).toBe(view.txLog[view.txLog.length - 1]);
    expect(last!.xmitTs).toBe(450);
  });
});
