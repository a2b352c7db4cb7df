/**
 * Key rules of the RFCs beside RFC 9293 that states/options tests do not pin yet (RFC 6298 RTO
 * arithmetic and clamps, RFC 7323 PAWS details, RFC 5482, RFC 3168 on retransmissions), hostile
 * option values (MSS 0 / tiny, wscale > 14, absurd timestamps and UTO), the bound of the
 * transmission log, determinism of a seeded transfer, and the cwnd trace shape of NewReno.
 */
import type { TcpOption } from '../../src/wire/types.js';
import type { TcpConfig, TraceRecord } from '../../src/connection/types.js';
import { F, LOCAL_ISS, PLAIN, REMOTE_ISS, Script, bytes, established, passiveOpen, synSent } from './harness.js';
import { sha256, transfer } from './vlink.js';

const L = LOCAL_ISS + 1;
const R = REMOTE_ISS + 1;
const TS: Partial<TcpConfig> = { ...PLAIN, timestamps: true };

function tsOpt(tsVal: number, tsEcr = 0): TcpOption[] {
  return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal, tsEcr }];
}

describe('RFC 6298: RTO computation', () => {
  test('2.2 / 2.3: first sample SRTT = R, RTTVAR = R/2; then RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R', () => {
    // No timestamps: one timed segment at a time (RFC 6298 3).
    const s = established({ ...PLAIN, minRtoMs: 1 });
    expect(s.conn.stats().srtt).toBe(0); // the SYN / SYN-ACK exchange at t = 0
    const s2 = synSent({ ...PLAIN, minRtoMs: 1 });
    s2.now = 100;
    s2.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK });
    s2.drain();
    expect(s2.conn.stats()).toMatchObject({ srtt: 100, rttvar: 50, rto: 300 });
    s2.conn.write(bytes(10));
    s2.send({ len: 10 });
    s2.now = 300; // R = 200
    s2.recv({ seq: R, ack: L + 10, flags: F.ACK });
    const st = s2.conn.stats();
    expect(st.rttvar).toBeCloseTo(0.75 * 50 + 0.25 * 100);
    expect(st.srtt).toBeCloseTo(0.875 * 100 + 0.125 * 200);
    expect(st.rto).toBeCloseTo(st.srtt! + 4 * st.rttvar!);
  });

  test('2.4: an RTO below the minimum is rounded up to minRtoMs', () => {
    const s = synSent({ ...PLAIN, minRtoMs: 1000 });
    s.now = 10;
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK });
    expect(s.conn.stats()).toMatchObject({ srtt: 10, rto: 1000 });
  });

  test('5.5 / 2.5: each timeout doubles the RTO up to maxRtoMs, where it stays', () => {
    const s = established({ ...PLAIN, initialRtoMs: 1000, minRtoMs: 1000, maxRtoMs: 5000, dataRetries: 10 });
    s.conn.write(bytes(10));
    s.send({ len: 10 });
    const gaps: number[] = [];
    let last = s.now;
    for (let i = 0; i < 5; i++) {
      s.advance();
      gaps.push(s.now - last);
      last = s.now;
      s.send({ seq: L, len: 10 });
    }
    expect(gaps).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(s.conn.stats().rto).toBe(5000);
  });

  test("Karn (RFC 6298 3 / 5.7): after a retransmission the backed-off RTO is kept until a new sample", () => {
    const s = established({ ...PLAIN, initialRtoMs: 1000, minRtoMs: 200 });
    s.conn.write(bytes(10));
    s.send({ len: 10 });
    s.advance();
    s.send({ seq: L, len: 10 });
    const backedOff = s.conn.stats().rto;
    s.now += 50;
    s.recv({ seq: R, ack: L + 10, flags: F.ACK }); // ambiguous: no sample
    expect(s.conn.stats().rto).toBe(backedOff);
    s.conn.write(bytes(5));
    s.send({ len: 5 });
    s.now += 40;
    s.recv({ seq: R, ack: L + 15, flags: F.ACK }); // unambiguous: a sample of 40 ms
    expect(s.conn.stats().rto).toBeLessThan(backedOff);
  });
});

describe('RFC 7323: timestamps and PAWS', () => {
  function tsEstablished(peerTsVal = 1000): Script {
    return established(TS, 65535, tsOpt(peerTsVal));
  }

  test('5.3 R1: a RST is not subject to PAWS (an old TSval at RCV.NXT still resets)', () => {
    const s = tsEstablished();
    s.recv({ seq: R, ack: L, flags: F.ACK, options: tsOpt(2000) });
    s.recv({ seq: R, flags: F.RST, options: tsOpt(5) });
    expect(s.conn.state).toBe('CLOSED');
    expect(s.conn.stats().pawsRejected).toBe(0);
  });

  test('5.5: TS.Recent older than 24 days is not used for PAWS', () => {
    const s = tsEstablished();
    s.now = 25 * 24 * 3600 * 1000;
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'late', options: tsOpt(10) });
    expect(s.conn.readableBytes).toBe(4);
    expect(s.conn.stats().pawsRejected).toBe(0);
  });

  test('4.3: TS.Recent is taken only from a segment that covers Last.ACK.sent', () => {
    const s = tsEstablished(1000);
    // Out-of-order data (SEG.SEQ > Last.ACK.sent) must not advance TS.Recent.
    s.recv({ seq: R + 100, ack: L, flags: F.ACK, payload: 'ooo', options: tsOpt(5000) });
    expect(s.conn.tcb().tsRecent).toBe(1000);
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'x', options: tsOpt(1001) });
    expect(s.conn.tcb().tsRecent).toBe(1001);
  });

  test('segments sent in the same millisecond share one frozen option list; a new TSval gives a new list', () => {
    const s = tsEstablished();
    s.conn.write(bytes(3 * 536));
    const [a, b, c] = s.drain();
    expect(b.tcp.options).toBe(a.tcp.options);
    expect(c.tcp.options).toBe(a.tcp.options);
    expect(Object.isFrozen(a.tcp.options)).toBe(true);
    s.now = 7;
    s.conn.write(bytes(10));
    const d = s.send();
    expect(d.tcp.options).not.toBe(a.tcp.options);
    expect(d.tcp.options.find((o) => o.kind === 'timestamps')).toMatchObject({ tsVal: 7, tsEcr: 1000 });
  });

  test('a TSecr from the future gives no RTT sample (hostile timestamps)', () => {
    const s = tsEstablished();
    s.conn.write(bytes(10));
    s.send({ len: 10 });
    const before = s.conn.stats().srtt;
    s.now = 50;
    s.recv({ seq: R, ack: L + 10, flags: F.ACK, options: tsOpt(1001, 0x7fff0000) });
    expect(s.conn.stats().srtt).toBe(before);
    expect(s.conn.tcb().sndUna).toBe(L + 10);
  });
});

describe('RFC 2883: D-SACK', () => {
  const SACK: Partial<TcpConfig> = { ...PLAIN, sack: true };
  const sackBlocks = (o: { tcp: { options: TcpOption[] } }) =>
    o.tcp.options.flatMap((x) => (x.kind === 'sack' ? x.blocks.map((b) => [b.left, b.right]) : []));

  test('4: a wholly duplicate segment is reported once, as the first SACK block of the next ACK', () => {
    const s = established(SACK, 65535, [{ kind: 'sackPermitted' }]);
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abcd' });
    expect(sackBlocks(s.send({ ack: R + 4 }))).toEqual([]);
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abcd' }); // a spurious retransmission
    expect(sackBlocks(s.send({ ack: R + 4 }))).toEqual([[R, R + 4]]);
    s.recv({ seq: R + 4, ack: L, flags: F.ACK, payload: 'ef' });
    expect(sackBlocks(s.send({ ack: R + 6 }))).toEqual([]);
  });

  test('4: a partly duplicate segment reports the duplicate part, before the SACK blocks of out-of-order data', () => {
    const s = established(SACK, 65535, [{ kind: 'sackPermitted' }]);
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abcd' });
    s.send({ ack: R + 4 });
    s.recv({ seq: R + 10, ack: L, flags: F.ACK, payload: 'zz' });
    expect(sackBlocks(s.send({ ack: R + 4 }))).toEqual([[R + 10, R + 12]]);
    s.recv({ seq: R + 2, ack: L, flags: F.ACK, payload: 'cdef' }); // "cd" again, "ef" new
    expect(sackBlocks(s.send({ ack: R + 6 }))).toEqual([[R + 2, R + 4], [R + 10, R + 12]]);
  });

  test('no D-SACK block without SACK negotiated', () => {
    const s = established(SACK); // the peer did not send SACK-permitted
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abcd' });
    s.send({ ack: R + 4 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abcd' });
    expect(s.send({ ack: R + 4 }).tcp.options).toEqual([]);
  });
});

describe('RFC 5482: user timeout option', () => {
  test('3.1: the peer UTO is recorded but not adopted unless the application allows it', () => {
    const s = synSent(PLAIN);
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, options: [{ kind: 'userTimeout', granularity: 'minutes', timeout: 5 }] });
    expect(s.conn.negotiated()).toMatchObject({ userTimeout: null, peerUserTimeoutSeconds: 300 });
  });

  test('3: absurd peer values (0 s, 32767 min) are bounded by userTimeoutLowerMs / userTimeoutUpperMs', () => {
    const cfg = { ...PLAIN, acceptPeerUserTimeout: true, userTimeoutLowerMs: 10_000, userTimeoutUpperMs: 600_000 };
    const lo = synSent(cfg);
    lo.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, options: [{ kind: 'userTimeout', granularity: 'seconds', timeout: 0 }] });
    expect(lo.conn.negotiated().userTimeout).toBe(10_000);
    const hi = synSent(cfg);
    hi.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, options: [{ kind: 'userTimeout', granularity: 'minutes', timeout: 0x7fff }] });
    expect(hi.conn.negotiated().userTimeout).toBe(600_000);
  });
});

describe('RFC 3168: ECN on retransmissions', () => {
  test('6.1.5: a retransmitted data segment is not ECN-capable (no ECT)', () => {
    const s = synSent({ ...PLAIN, ecn: true });
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK | F.ECE });
    s.drain();
    s.conn.write(bytes(10));
    expect(s.send({ len: 10 }).ecn).toBe(2);
    s.advance();
    const rtx = s.send({ seq: L, len: 10 });
    expect(rtx.ecn).toBe(0);
  });

  test('6.1.1: without ECN requested locally, an ECN-setup SYN-ACK does not enable ECN', () => {
    const s = synSent(PLAIN);
    expect(s.conn.synInfo().sent!.ecnFlags).toBe(0);
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK | F.ECE });
    expect(s.conn.negotiated().ecn).toBe(false);
  });
});

describe('hostile option values', () => {
  test('MSS 0 in the SYN-ACK is raised to the 64-byte floor and counted', () => {
    const s = established(PLAIN, 65535, [{ kind: 'mss', mss: 0 }]);
    expect(s.conn.negotiated().mss).toBe(64);
    expect(s.conn.stats().clampedSynOptions).toBe(1);
    s.conn.write(bytes(640));
    const segs = s.drain();
    expect(segs.every((x) => x.tcp.payload.length <= 64)).toBe(true);
    expect(segs.reduce((n, x) => n + x.tcp.payload.length, 0)).toBe(640);
  });

  test('a SYN with MSS 1 and wscale 200 is accepted with MSS 64 and shift 14; both are counted', () => {
    const { conn } = passiveOpen([{ kind: 'mss', mss: 1 }, { kind: 'wscale', shift: 200 }], { ...PLAIN, windowScale: true }, 100);
    expect(conn.negotiated()).toMatchObject({ mss: 64, sndWscale: 14 });
    expect(conn.stats().clampedSynOptions).toBe(2);
  });

  test('out-of-window RST and SYN, and ACKs for unsent data, are counted and change nothing', () => {
    const s = established();
    s.recv({ seq: R + 1_000_000, flags: F.RST });
    s.noSend();
    // RFC 5961 4.2: a SYN gets a (rate-limited) challenge ACK whatever its sequence number.
    s.recv({ seq: R + 1_000_000, flags: F.SYN });
    s.send({ seq: L, ack: R, flags: F.ACK });
    s.recv({ seq: R, ack: L + 5000, flags: F.ACK });
    s.send({ seq: L, ack: R, flags: F.ACK });
    expect(s.conn.state).toBe('ESTABLISHED');
    expect(s.conn.stats()).toMatchObject({ outOfWindowSegments: 2, ackForUnsentData: 1, rstReceived: 0, challengeAcks: 2 });
  });

  test('RFC 5961 5.2 / 7: ACKs for unsent data are answered at most challengeAckPerSecond times a second', () => {
    const s = established({ ...PLAIN, challengeAckPerSecond: 5 });
    let answers = 0;
    for (let i = 0; i < 50; i++) {
      s.now = i * 10; // 50 bogus ACKs within 0.5 s
      s.recv({ seq: R, ack: L + 10_000 + i, flags: F.ACK });
      answers += s.drain().length;
    }
    expect(answers).toBe(5);
    expect(s.conn.stats()).toMatchObject({ ackForUnsentData: 50, challengeAcks: 5, challengeAcksSuppressed: 45 });
    s.now = 1000; // a new second: answered again
    s.recv({ seq: R, ack: L + 20_000, flags: F.ACK });
    expect(s.drain()).toHaveLength(1);
  });

  test('unknown options on data segments are counted by kind and otherwise ignored', () => {
    const s = established();
    const odd: TcpOption[] = [{ kind: 'unknown', code: 77, data: new Uint8Array(30) }, { kind: 'fastOpen', cookie: new Uint8Array(8) }];
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'x', options: odd });
    expect(s.conn.readableBytes).toBe(1);
    expect(s.conn.stats().unknownOptions).toEqual({ 77: 1, 34: 1 });
  });
});

describe('bounded transmission log', () => {
  test('a flood of 1-byte segments (tiny MSS, Nagle off) keeps the log bounded; a timeout still repairs from SND.UNA', () => {
    const cfg: Partial<TcpConfig> = { ...TS, congestionParams: { initialWindowSegments: 200 } };
    const s = established(cfg, 65535, [{ kind: 'mss', mss: 64 }, ...tsOpt(1)]);
    const one = new Uint8Array([42]);
    let sent = 0;
    for (let i = 0; i < 5000; i++) {
      s.conn.write(one);
      for (const o of s.drain()) sent += o.tcp.payload.length;
    }
    expect(sent).toBe(5000);
    const st = s.conn.stats();
    expect(st.segmentsSent).toBeGreaterThan(5000);
    // One entry per maximum-sized payload at most (64 - 12 timestamp bytes), plus the first 256.
    expect(st.txLogEntries).toBeLessThanOrEqual(256 + Math.ceil(5000 / 52) + 1);
    // RTO: everything is lost; the retransmission starts at SND.UNA (the first, uncoalesced entry).
    s.advance(s.conn.pollTimeout()! - s.now);
    const rtx = s.send({ seq: L });
    expect(rtx.tcp.payload.length).toBe(1);
    // Cumulative ACK of everything empties the log.
    s.recv({ seq: R, ack: L + 5000, flags: F.ACK, options: tsOpt(2) });
    expect(s.conn.stats().txLogEntries).toBe(0);
    expect(s.conn.tcb().sndUna).toBe(L + 5000);
  });
});

describe('determinism and cwnd trace shapes', () => {
  const data = bytes(300 * 1024, 3);

  test('two transfers with one seed are identical (trace, segments, clock); another seed differs', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'cubic' };
    const link = { delayMs: 10, rate: 2000, queueMs: 30, loss: 0.02, seed: 77, jitterMs: 3 };
    const a = transfer(data, link, cfg, cfg);
    const b = transfer(data, link, cfg, cfg);
    expect(sha256(a.received)).toBe(sha256(data));
    expect(JSON.stringify(b.traceA)).toBe(JSON.stringify(a.traceA));
    expect(b.now).toBe(a.now);
    expect(b.a.stats()).toEqual(a.a.stats());
    const c = transfer(data, { ...link, seed: 78 }, cfg, cfg);
    expect(sha256(c.received)).toBe(sha256(data));
    expect(JSON.stringify(c.traceA)).not.toBe(JSON.stringify(a.traceA));
  });

  test('NewReno trace: slow start doubles cwnd per RTT, a loss halves it, congestion avoidance adds about one MSS per RTT', () => {
    const cfg: Partial<TcpConfig> = { congestionControl: 'newreno', delayedAckMs: false };
    // 10 ms each way, a 5 MB/s bottleneck with a short queue: the queue overflows in slow start.
    const r = transfer(bytes(1024 * 1024, 5), { delayMs: 10, rate: 5000, queueMs: 10, loss: 0, seed: 1 }, cfg, cfg);
    expect(r.ok).toBe(true);
    const tr: TraceRecord[] = r.traceA;
    const mss = r.a.negotiated().mss;
    const firstLoss = tr.findIndex((t) => t.event === 'loss' || t.event === 'rto');
    expect(firstLoss).toBeGreaterThan(0);
    expect(tr[firstLoss].event).toBe('loss'); // fast recovery, not a timeout
    // Slow start: once the first window is acknowledged (one RTT), cwnd has doubled, and again
    // after the second.
    const first = tr.find((t) => t.event === 'send')!;
    const iw = first.cwnd;
    const ackedSince = (t: TraceRecord) => (t.sndUna - first.sndUna) >>> 0;
    const rtt1 = tr.find((t) => t.event === 'ack' && ackedSince(t) >= iw)!;
    expect(rtt1.cwnd).toBeGreaterThanOrEqual(2 * iw);
    const rtt2 = tr.find((t) => t.event === 'ack' && ackedSince(t) >= 3 * iw)!;
    expect(tr.indexOf(rtt2)).toBeLessThan(firstLoss);
    expect(rtt2.cwnd).toBeGreaterThanOrEqual(4 * iw);
    // The loss: ssthresh = cwnd = about half the flight.
    const before = tr[firstLoss - 1].cwnd;
    expect(tr[firstLoss].cwnd).toBeLessThanOrEqual(before / 2 + mss);
    expect(tr[firstLoss].ssthresh).toBe(tr[firstLoss].cwnd);
    // Congestion avoidance after the recovery: growth of at most ~1 MSS per 20 ms RTT.
    const end = tr.findIndex((t, i) => i > firstLoss && t.event === 'recovery-end');
    expect(end).toBeGreaterThan(firstLoss);
    const ca = tr.slice(end).filter((t) => t.event === 'ack');
    const nextLoss = tr.findIndex((t, i) => i > end && (t.event === 'loss' || t.event === 'rto'));
    const caUntil = nextLoss < 0 ? ca : ca.filter((t) => tr.indexOf(t) < nextLoss);
    if (caUntil.length > 2) {
      const a0 = caUntil[0];
      const a1 = caUntil[caUntil.length - 1];
      const rtts = Math.max(1, (a1.t - a0.t) / 20);
      expect(a1.cwnd - a0.cwnd).toBeLessThanOrEqual((rtts + 2) * mss);
      expect(a1.cwnd).toBeGreaterThanOrEqual(a0.cwnd);
    }
  });
});
