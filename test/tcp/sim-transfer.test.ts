/**
 * Bulk transfers between two TCP Hosts on the simulator: integrity under loss, reordering and
 * duplication with both congestion controllers; the shape of the cwnd traces (slow start, fast
 * recovery, NewReno's linear growth, CUBIC's concave-then-convex curve); reproducibility of traces
 * and pcap captures from the seed.
 */
import { PcapWriter } from '@tcpls/link';
import type { CongestionControlName, TraceRecord } from '@tcpls/tcp';
import { bulkTransfer, makePair, pseudoRandomBytes, sha256, type PairOptions } from './helpers.js';

const MB = 1_000_000;
const BIG = pseudoRandomBytes(20 * MB, 42);
const BIG_SHA = sha256(BIG);

type Rec = TraceRecord & { conn: string; wMax?: number; k?: number };

/** Runs one transfer and returns its trace as JSON lines (what a trace file would hold). */
function tracedTransfer(seed: number | string, data: Uint8Array, cc: CongestionControlName, link: PairOptions['link'], pcap?: PcapWriter) {
  const lines: string[] = [];
  const p = makePair({ seed, link, hostA: { trace: (r) => lines.push(JSON.stringify(r)) } });
  if (pcap) p.net.capture(p.link, pcap);
  const r = bulkTransfer(p, data, { tcp: { congestionControl: cc, recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20 } });
  return { r, p, lines };
}

function parse(lines: string[]): Rec[] {
  return lines.map((l) => JSON.parse(l) as Rec);
}

describe('simulated bulk transfers', () => {
  const grid: Array<[number, CongestionControlName]> = [];
  for (const loss of [0, 0.01, 0.05, 0.1]) for (const cc of ['newreno', 'cubic'] as const) grid.push([loss, cc]);

  test.each(grid)('20 MB arrive intact (sha256) at %p loss, 1%% reordering, 1%% duplication, with %s', (loss, cc) => {
    const p = makePair({ seed: `grid-${loss}-${cc}`, link: { rate: 100e6, delay: 10, loss, reorder: 0.01, duplicate: 0.01, queuePackets: 300 } });
    const r = bulkTransfer(p, BIG, { tcp: { congestionControl: cc, recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 } });
    expect(r.received.length).toBe(BIG.length);
    expect(sha256(r.received)).toBe(BIG_SHA);
    expect(r.clientClosedError).toBeNull();
    const st = r.client.conn.stats();
    expect(st.congestionControl).toBe(cc);
    if (loss > 0) expect(st.retransmits).toBeGreaterThan(0);
    const fwd = p.link.stats().forward;
    expect(fwd.duplicated).toBeGreaterThan(0);
    expect(fwd.reordered).toBeGreaterThan(0);
  });

  test('IPv6: 2 MB intact at 5% loss with cubic', () => {
    const p = makePair({ ipv6: true, seed: 'v6', link: { rate: 50e6, delay: 10, loss: 0.05, reorder: 0.01, duplicate: 0.01 } });
    const data = pseudoRandomBytes(2 * MB, 9);
    const r = bulkTransfer(p, data);
    expect(sha256(r.received)).toBe(sha256(data));
  });
});

describe('cwnd traces (10 Mbit/s, 100 ms RTT, 50-packet drop-tail queue, 20 MB)', () => {
  const link = { rate: 10e6, delay: 50, queuePackets: 50 };
  const runs = new Map<CongestionControlName, Rec[]>();
  beforeAll(() => {
    for (const cc of ['newreno', 'cubic'] as const) {
      const { r, lines } = tracedTransfer('shape', BIG, cc, link);
      expect(sha256(r.received)).toBe(BIG_SHA);
      runs.set(cc, parse(lines));
    }
  });

  /** Fast-recovery episodes after the first one (the first ends slow start's overshoot). */
  function laterLosses(recs: Rec[]): Array<{ before: Rec; loss: Rec; end: Rec; next: Rec | undefined }> {
    const out = [];
    let seenRecoveryEnd = false;
    for (let i = 0; i < recs.length; i++) {
      const x = recs[i];
      if (x.event === 'recovery-end') seenRecoveryEnd = true;
      if (x.event !== 'loss' || !seenRecoveryEnd) continue;
      let b = i - 1;
      while (b >= 0 && recs[b].event !== 'ack') b--;
      let e = i + 1;
      while (e < recs.length && recs[e].event !== 'recovery-end') e++;
      let n = e + 1;
      while (n < recs.length && recs[n].event !== 'loss' && recs[n].event !== 'rto') n++;
      out.push({ before: recs[b], loss: x, end: recs[e], next: recs[n] });
    }
    return out;
  }

  test.each(['newreno', 'cubic'] as const)('%s: slow start doubles cwnd per RTT until the first loss, with ssthresh unset', (cc) => {
    const recs = runs.get(cc)!;
    const firstLoss = recs.findIndex((x) => x.event === 'loss' || x.event === 'rto');
    expect(firstLoss).toBeGreaterThan(0);
    const ss = recs.slice(0, firstLoss).filter((x) => x.event === 'ack');
    // Infinity serialises as null in JSON: no congestion event yet.
    for (const x of ss) expect(x.ssthresh).toBeNull();
    const iw = ss[0].cwnd;
    const t0 = ss[0].t;
    // Exponential growth: over 5 RTTs (100 ms each) cwnd grows more than 16-fold (2^5 = 32 ideal).
    const at5 = ss.filter((x) => x.t <= t0 + 500).pop()!;
    expect(at5.cwnd / iw).toBeGreaterThan(16);
    for (let i = 1; i < ss.length; i++) expect(ss[i].cwnd).toBeGreaterThanOrEqual(ss[i - 1].cwnd);
  });

  test.each([
    ['newreno', 0.5],
    ['cubic', 0.7],
  ] as const)('%s: each fast recovery sets ssthresh to %p of the window, keeps it until recovery ends, and exits with cwnd = ssthresh', (cc, beta) => {
    const eps = laterLosses(runs.get(cc)!);
    expect(eps.length).toBeGreaterThanOrEqual(1);
    for (const { before, loss, end } of eps) {
      expect(loss.ssthresh! / before.cwnd).toBeGreaterThan(beta - 0.06);
      expect(loss.ssthresh! / before.cwnd).toBeLessThan(beta + 0.06);
      expect(end).toBeDefined();
      expect(end.ssthresh).toBe(loss.ssthresh);
      expect(end.cwnd).toBe(loss.ssthresh);
    }
  });

  test('newreno: congestion avoidance grows about one MSS per RTT (linear)', () => {
    const recs = runs.get('newreno')!;
    const [ep] = laterLosses(recs);
    const acks = recs.filter((x) => x.event === 'ack' && x.t > ep.end.t && ep.next !== undefined && x.t < ep.next.t);
    const a = acks[0];
    const b = acks[acks.length - 1];
    const rtts = (b.t - a.t) / ((a.srtt! + b.srtt!) / 2);
    const perRtt = (b.cwnd - a.cwnd) / 1448 / rtts;
    expect(perRtt).toBeGreaterThan(0.6);
    expect(perRtt).toBeLessThan(1.4);
  });

  test('cubic: within an epoch cwnd rises fast, plateaus at W_max around t = K, then accelerates (RFC 9438 4.2)', () => {
    const recs = runs.get('cubic')!;
    const eps = laterLosses(recs).filter((e) => e.next !== undefined);
    // The longest epoch shows the whole curve.
    const ep = eps.sort((x, y) => y.next!.t - y.end.t - (x.next!.t - x.end.t))[0];
    const epochStart = ep.loss.t;
    const kMs = ep.loss.k! * 1000;
    const wMaxBytes = ep.loss.wMax! * 1460;
    const acks = recs.filter((x) => x.event === 'ack' && x.t > ep.end.t && x.t < ep.next!.t);
    const cwndAt = (t: number) => acks.filter((x) => x.t <= t).pop()!.cwnd;
    const slope = (t1: number, t2: number) => (cwndAt(t2) - cwndAt(t1)) / (t2 - t1);
    const plateau = epochStart + kMs;
    expect(plateau - 1000).toBeGreaterThan(acks[0].t);
    expect(plateau + 1000).toBeLessThan(acks[acks.length - 1].t);
    const early = slope(acks[0].t, acks[0].t + 600);
    const mid = slope(plateau - 500, plateau + 500);
    const late = slope(acks[acks.length - 1].t - 600, acks[acks.length - 1].t);
    expect(mid).toBeLessThan(early / 4); // concave: growth slows down approaching W_max
    expect(mid).toBeLessThan(late / 4); // convex: growth speeds up past W_max
    expect(Math.abs(cwndAt(plateau) - wMaxBytes) / wMaxBytes).toBeLessThan(0.08);
  });
});

describe('reproducibility', () => {
  const link = { rate: 50e6, delay: 5, loss: 0.03, reorder: 0.02, duplicate: 0.01, queuePackets: 100 };
  const data = pseudoRandomBytes(2 * MB, 5);

  function run(seed: string) {
    const pcap = PcapWriter.inMemory();
    const { r, lines } = tracedTransfer(seed, data, 'cubic', link, pcap);
    expect(sha256(r.received)).toBe(sha256(data));
    return { trace: lines.join('\n'), pcap: Buffer.from(pcap.toBuffer()) };
  }

  test('two runs with one seed give identical traces and identical pcap files; another seed does not', () => {
    const a = run('same');
    const b = run('same');
    expect(a.trace.length).toBeGreaterThan(10_000);
    expect(a.pcap.length).toBeGreaterThan(2 * MB);
    expect(b.trace === a.trace).toBe(true);
    expect(b.pcap.equals(a.pcap)).toBe(true);
    const c = run('other');
    expect(c.trace === a.trace).toBe(false);
    expect(c.pcap.equals(a.pcap)).toBe(false);
  });
});
