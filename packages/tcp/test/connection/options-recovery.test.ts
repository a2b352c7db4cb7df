/**
 * Options (MSS, window scale, SACK, timestamps/PAWS, user timeout, ECN) and loss recovery
 * (fast retransmit, RFC 6582 partial ACKs, RFC 6675 SACK recovery), plus hostile input.
 */
import fc from 'fast-check';
import { TcpConnection } from '../../src/connection/connection.js';
import { isnRfc6528 } from '../../src/connection/isn.js';
import type { TcpOption } from '../../src/wire/types.js';
import { F, LOCAL, LOCAL_ISS, PLAIN, REMOTE, REMOTE_ISS, Script, bytes, established, synSent, tcp } from './harness.js';

const L = LOCAL_ISS + 1;
const R = REMOTE_ISS + 1;
const MSS = 536;

function sackOpt(...blocks: Array<[number, number]>): TcpOption[] {
  return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: blocks.map(([l, r]) => ({ left: l >>> 0, right: r >>> 0 })) }];
}

describe('delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2)', () => {
  test('one segment is ACKed when the delayed-ACK timer fires; a second full segment forces the ACK', () => {
    const s = established({ ...PLAIN, delayedAckMs: 40 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: bytes(MSS) });
    s.noSend();
    expect(s.conn.pollTimeout()).toBe(40);
    s.advance();
    s.send({ ack: R + MSS });
    s.recv({ seq: R + MSS, ack: L, flags: F.ACK, payload: bytes(MSS) });
    s.noSend();
    s.recv({ seq: R + 2 * MSS, ack: L, flags: F.ACK, payload: bytes(MSS) });
    s.send({ ack: R + 3 * MSS });
    expect(s.conn.pollTimeout()).toBeNull();
  });
});

describe('fast retransmit and NewReno (RFC 5681 3.2, RFC 6582)', () => {
  test('three duplicate ACKs retransmit the first unacknowledged segment; a partial ACK retransmits the next hole', () => {
    const s = established(PLAIN);
    s.conn.write(bytes(MSS * 10));
    const sent = s.drain();
    expect(sent).toHaveLength(10);
    for (let i = 0; i < 3; i++) s.recv({ seq: R, ack: L, flags: F.ACK });
    s.send({ seq: L, len: MSS });
    expect(s.conn.stats().fastRetransmits).toBe(1);
    expect(s.conn.stats().ssthresh).toBe(5 * MSS);
    // Partial ACK up to the second hole (segment 4 lost too).
    s.recv({ seq: R, ack: L + 4 * MSS, flags: F.ACK });
    s.send({ seq: L + 4 * MSS, len: MSS });
    s.recv({ seq: R, ack: L + 10 * MSS, flags: F.ACK });
    expect(s.traces.some((t) => t.event === 'recovery-end')).toBe(true);
    expect(s.conn.stats().bytesInFlight).toBe(0);
  });

  test('a duplicate ACK that changes the window is not counted', () => {
    const s = established(PLAIN);
    s.conn.write(bytes(MSS * 4));
    s.drain();
    s.recv({ seq: R, ack: L, flags: F.ACK, window: 60000 });
    s.recv({ seq: R, ack: L, flags: F.ACK, window: 50000 });
    s.recv({ seq: R, ack: L, flags: F.ACK, window: 40000 });
    s.noSend();
    expect(s.conn.stats().dupAcks).toBe(0);
  });
});

describe('SACK (RFC 2018, RFC 6675)', () => {
  const SACK = { ...PLAIN, sack: true };
  const synAck: TcpOption[] = [{ kind: 'sackPermitted' }];

  test('SACK blocks above a hole trigger recovery (DupThresh rule); only the holes are retransmitted', () => {
    const s = established({ ...SACK, rack: false }, 65535, synAck);
    expect(s.conn.negotiated().sack).toBe(true);
    s.conn.write(bytes(MSS * 10));
    expect(s.drain()).toHaveLength(10);
    // Segments 1 and 5 lost: the receiver SACKs 2-4, then 6-10.
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + MSS, L + 2 * MSS]) });
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + MSS, L + 3 * MSS]) });
    s.noSend();
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + MSS, L + 4 * MSS]) });
    s.send({ seq: L, len: MSS });
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + 5 * MSS, L + 8 * MSS], [L + MSS, L + 4 * MSS]) });
    s.send({ seq: L + 4 * MSS, len: MSS });
    s.noSend();
    s.recv({ seq: R, ack: L + 4 * MSS, flags: F.ACK, options: sackOpt([L + 5 * MSS, L + 10 * MSS]) });
    s.recv({ seq: R, ack: L + 10 * MSS, flags: F.ACK });
    const st = s.conn.stats();
    expect(st.sackRecoveries).toBe(1);
    expect(st.retransmits).toBe(2);
    expect(st.bytesRetransmitted).toBe(2 * MSS);
  });

  /** ESTABLISHED with SACK after a handshake that measured a 100 ms RTT. */
  function sackRtt100(): Script {
    const s = synSent({ ...SACK, minRtoMs: 1000 });
    s.now = 100;
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, options: synAck });
    s.send({ ack: R });
    return s;
  }

  test('RACK (RFC 8985): a segment sent before a SACKed one is lost once RTT + reo_wnd has passed', () => {
    const s = sackRtt100();
    s.conn.write(bytes(MSS * 4));
    expect(s.drain()).toHaveLength(4);
    s.now = 200;
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + MSS, L + 2 * MSS]) });
    s.noSend(); // within reo_wnd = min_RTT / 4: could be reordering
    expect(s.conn.pollTimeout()).toBe(225);
    s.advance();
    s.send({ seq: L, len: MSS });
    const st = s.conn.stats();
    expect(st.rackLosses).toBe(1);
    expect(st.sackRecoveries).toBe(1);
    expect(st.rtoCount).toBe(0);
  });

  test('TLP (RFC 8985 7): a tail loss is probed after 2*SRTT and repaired without an RTO', () => {
    const s = sackRtt100();
    s.conn.write(bytes(MSS * 3));
    expect(s.drain()).toHaveLength(3);
    // Nothing comes back: the probe timeout (2 * SRTT = 200 ms) fires before the RTO (1 s).
    expect(s.conn.pollTimeout()).toBe(300);
    s.advance();
    s.send({ seq: L + 2 * MSS, len: MSS }); // no new data: the last segment again
    expect(s.conn.stats().tlpProbes).toBe(1);
    // The probe is SACKed: the first two segments are then lost by RACK.
    s.now = 400;
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + 2 * MSS, L + 3 * MSS]) });
    s.send({ seq: L, len: MSS });
    s.send({ seq: L + MSS, len: MSS });
    s.recv({ seq: R, ack: L + 3 * MSS, flags: F.ACK });
    expect(s.conn.stats()).toMatchObject({ rtoCount: 0, bytesInFlight: 0 });
  });

  test('SACK blocks outside the window are counted and ignored', () => {
    const s = established(SACK, 65535, synAck);
    s.conn.write(bytes(MSS * 2));
    s.drain();
    s.recv({ seq: R, ack: L, flags: F.ACK, options: sackOpt([L + 5000, L + 6000], [L + 300, L + 100], [L - 1_000_000, L - 999_000]) });
    expect(s.conn.stats().invalidSackBlocks).toBe(3);
    s.noSend();
  });

  test('out-of-order data is answered with SACK blocks, most recent first', () => {
    const s = established(SACK, 65535, synAck);
    s.recv({ seq: R + 10, ack: L, flags: F.ACK, payload: 'x'.repeat(10) });
    let ack = s.send({ ack: R });
    expect(ack.tcp.options).toEqual(sackOpt([R + 10, R + 20]));
    s.recv({ seq: R + 30, ack: L, flags: F.ACK, payload: 'y'.repeat(10) });
    ack = s.send({ ack: R });
    expect(ack.tcp.options).toEqual(sackOpt([R + 30, R + 40], [R + 10, R + 20]));
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'z'.repeat(10) });
    ack = s.send({ ack: R + 20 });
    expect(ack.tcp.options).toEqual(sackOpt([R + 30, R + 40]));
  });

  test('reassembly is bounded: a new out-of-order range beyond maxReassemblySegments is dropped', () => {
    const s = established({ ...SACK, maxReassemblySegments: 2 }, 65535, synAck);
    s.recv({ seq: R + 10, ack: L, flags: F.ACK, payload: 'a' });
    s.recv({ seq: R + 20, ack: L, flags: F.ACK, payload: 'b' });
    s.recv({ seq: R + 30, ack: L, flags: F.ACK, payload: 'c' });
    s.recv({ seq: R + 21, ack: L, flags: F.ACK, payload: 'd' }); // extends an existing range: kept
    expect(s.conn.stats().reassemblyDrops).toBe(1);
    s.drain();
  });
});

describe('timestamps and PAWS (RFC 7323)', () => {
  const TS = { ...PLAIN, timestamps: true };
  const synAck = (tsVal: number): TcpOption[] => [{ kind: 'timestamps', tsVal, tsEcr: 0 }];

  test('timestamps are echoed, and data payload leaves room for the option', () => {
    const s = established(TS, 65535, synAck(500));
    expect(s.conn.negotiated().timestamps).toBe(true);
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'a', options: [{ kind: 'timestamps', tsVal: 501, tsEcr: 0 }] });
    const a = s.send({ ack: R + 1 });
    expect(a.tcp.options).toContainEqual({ kind: 'timestamps', tsVal: 0, tsEcr: 501 });
    s.conn.write(bytes(2000));
    expect(s.send().tcp.payload.length).toBe(MSS - 12);
  });

  test('PAWS: a segment with an older TSval is dropped with an ACK and counted', () => {
    const s = established(TS, 65535, synAck(1000));
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'new', options: [{ kind: 'timestamps', tsVal: 1001, tsEcr: 0 }] });
    s.send({ ack: R + 3 });
    s.recv({ seq: R + 3, ack: L, flags: F.ACK, payload: 'old', options: [{ kind: 'timestamps', tsVal: 900, tsEcr: 0 }] });
    s.send({ ack: R + 3 });
    expect(s.conn.readableBytes).toBe(3);
    expect(s.conn.stats().pawsRejected).toBe(1);
  });

  test('RTT is measured from the echoed timestamp and sets the RTO (RFC 6298)', () => {
    const s = established({ ...TS, minRtoMs: 1 }, 65535, synAck(7));
    s.now = 5;
    s.conn.write(bytes(10));
    const seg = s.send();
    const tsVal = (seg.tcp.options.find((o) => o.kind === 'timestamps') as { tsVal: number }).tsVal;
    s.now = 125;
    s.recv({ seq: R, ack: L + 10, flags: F.ACK, options: [{ kind: 'timestamps', tsVal: 8, tsEcr: tsVal }] });
    const st = s.conn.stats();
    // The handshake sample (0 ms) then 120 ms.
    expect(st.srtt).toBeCloseTo(0.875 * 0 + 0.125 * 120);
    expect(st.minRtt).toBe(0);
  });
});

describe('window scale and flow control (RFC 7323, RFC 9293 3.8.6)', () => {
  test('window scaling applies to the peer window after the handshake, never in the SYN-ACK', () => {
    const s = established({ ...PLAIN, windowScale: true, recvBufferBytes: 1 << 20 }, 1000, [{ kind: 'wscale', shift: 3 }]);
    expect(s.conn.tcb().sndWnd).toBe(1000);
    s.recv({ seq: R, ack: L, flags: F.ACK, window: 1000 });
    expect(s.conn.tcb().sndWnd).toBe(8000);
    expect(s.conn.negotiated()).toMatchObject({ sndWscale: 3, rcvWscale: 5 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'a' });
    expect(s.send().tcp.window).toBe(((1 << 20) - 1) >>> 5);
  });

  test('a window-scale shift above 14 is treated as 14 and a huge window does not break anything', () => {
    const s = established({ ...PLAIN, windowScale: true }, 65535, [{ kind: 'wscale', shift: 200 }]);
    s.recv({ seq: R, ack: L, flags: F.ACK, window: 65535 });
    expect(s.conn.tcb().sndWnd).toBe(65535 * 2 ** 14);
    s.conn.write(bytes(3000));
    expect(s.drain().length).toBe(Math.ceil(3000 / MSS));
  });

  test('unread data shrinks the advertised window; reading sends a window update', () => {
    const s = established({ ...PLAIN, recvBufferBytes: 4 * MSS });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: bytes(2 * MSS) });
    s.send({ ack: R + 2 * MSS, window: 2 * MSS });
    s.recv({ seq: R + 2 * MSS, ack: L, flags: F.ACK, payload: bytes(2 * MSS) });
    s.send({ ack: R + 4 * MSS, window: 0 });
    s.conn.read(10);
    s.noSend(); // a 10-byte window would be silly (RFC 9293 3.8.6.2.2)
    s.conn.read();
    s.send({ ack: R + 4 * MSS, window: 4 * MSS });
  });
});

describe('ECN (RFC 3168)', () => {
  const ECN = { ...PLAIN, ecn: true, mss: 1000 };

  function ecnEstablished(): Script {
    const s = synSent(ECN);
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK | F.ECE });
    s.drain();
    return s;
  }

  test('an ECN-setup SYN carries ECE|CWR; an ECN-setup SYN-ACK (ECE, no CWR) enables ECN', () => {
    const s0 = TcpConnection.connect({ local: LOCAL, remote: REMOTE, iss: 1, now: 0, config: ECN });
    const syn = s0.pollTransmit(0)!;
    expect(syn.tcp.flags & (F.ECE | F.CWR)).toBe(F.ECE | F.CWR);
    expect(syn.ecn).toBe(0);
    const s = ecnEstablished();
    expect(s.conn.negotiated().ecn).toBe(true);
    s.conn.write(bytes(10));
    expect(s.send().ecn).toBe(2); // ECT(0) on data
    const s2 = synSent(ECN);
    s2.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK | F.ECE | F.CWR });
    expect(s2.conn.negotiated().ecn).toBe(false);
  });

  test('CE received: ACKs carry ECE until a CWR arrives', () => {
    const s = ecnEstablished();
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'a' }, 3);
    expect(s.send().tcp.flags & F.ECE).toBe(F.ECE);
    s.recv({ seq: R + 1, ack: L, flags: F.ACK, payload: 'b' });
    expect(s.send().tcp.flags & F.ECE).toBe(F.ECE);
    s.recv({ seq: R + 2, ack: L, flags: F.ACK | F.CWR, payload: 'c' });
    expect(s.send().tcp.flags & F.ECE).toBe(0);
    expect(s.conn.stats().ecnCeReceived).toBe(1);
  });

  test('ECE reduces cwnd once per window of data and the next new segment carries CWR', () => {
    const s = ecnEstablished();
    s.conn.write(bytes(4000));
    s.drain();
    const before = s.conn.stats().cwnd;
    s.recv({ seq: R, ack: L + 1000, flags: F.ACK | F.ECE });
    expect(s.conn.stats().cwnd).toBeLessThan(before);
    s.recv({ seq: R, ack: L + 2000, flags: F.ACK | F.ECE });
    expect(s.conn.stats().ecnReductions).toBe(1);
    s.recv({ seq: R, ack: L + 4000, flags: F.ACK });
    s.conn.write(bytes(1000));
    const seg = s.drain().find((x) => x.tcp.payload.length > 0)!;
    expect(seg.tcp.flags & F.CWR).toBe(F.CWR);
    expect(seg.ecn).toBe(2);
  });
});

describe('option bookkeeping (RFC 5482, experiments)', () => {
  test('extraSynOptions and the user-timeout option are appended to our SYN; synInfo records both SYNs', () => {
    const exp: TcpOption = { kind: 'experimental', code: 253, exid: 0x1234, data: new Uint8Array([1, 2]) };
    const s = synSent({ ...PLAIN, extraSynOptions: [exp], announceUserTimeout: 120 });
    const sent = s.conn.synInfo().sent!;
    expect(sent.options).toContainEqual(exp);
    expect(sent.options).toContainEqual({ kind: 'userTimeout', granularity: 'seconds', timeout: 120 });
    const opts: TcpOption[] = [{ kind: 'mss', mss: 1200 }, { kind: 'unknown', code: 99, data: new Uint8Array([7]) }];
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, options: opts });
    expect(s.conn.synInfo().received).toMatchObject({ seq: REMOTE_ISS, options: opts, flags: F.SYN | F.ACK });
    expect(s.conn.stats().unknownOptions).toEqual({ 99: 1 });
  });

  test('a peer user-timeout option is adopted within bounds when acceptPeerUserTimeout is set', () => {
    const s = synSent({ ...PLAIN, acceptPeerUserTimeout: true, userTimeoutLowerMs: 30_000 });
    s.recv({
      seq: REMOTE_ISS,
      ack: L,
      flags: F.SYN | F.ACK,
      options: [{ kind: 'userTimeout', granularity: 'seconds', timeout: 5 }],
    });
    expect(s.conn.negotiated()).toMatchObject({ userTimeout: 30_000, peerUserTimeoutSeconds: 5 });
  });

  test('setCongestionControl switches live, keeps cwnd and ssthresh, and is traced', () => {
    const s = established({ ...PLAIN, congestionControl: 'cubic' });
    const before = s.conn.stats();
    s.conn.setCongestionControl('newreno');
    const after = s.conn.stats();
    expect(after.congestionControl).toBe('newreno');
    expect(after.cwnd).toBe(before.cwnd);
    expect(after.ssthresh).toBe(before.ssthresh);
    expect(s.traces.some((t) => t.event === 'cc-switch' && t.from === 'cubic' && t.to === 'newreno')).toBe(true);
  });
});

describe('hostile input', () => {
  test('random segments never throw and never grow buffers past their bounds', () => {
    const optArb: fc.Arbitrary<TcpOption> = fc.oneof(
      fc.record({ kind: fc.constant('sack' as const), blocks: fc.array(fc.record({ left: fc.nat(), right: fc.nat() }), { maxLength: 4 }) }),
      fc.record({ kind: fc.constant('timestamps' as const), tsVal: fc.nat(), tsEcr: fc.nat() }),
      fc.record({ kind: fc.constant('wscale' as const), shift: fc.nat(255) }),
      fc.record({ kind: fc.constant('mss' as const), mss: fc.nat(65535) }),
    );
    const segArb = fc.record({
      dseq: fc.integer({ min: -70000, max: 70000 }),
      dack: fc.integer({ min: -70000, max: 70000 }),
      flags: fc.nat(255),
      window: fc.nat(65535),
      len: fc.nat(1500),
      options: fc.array(optArb, { maxLength: 3 }),
      ecn: fc.nat(3),
      dt: fc.nat(2000),
      urgent: fc.nat(65535),
    });
    fc.assert(
      fc.property(fc.array(segArb, { maxLength: 60 }), fc.boolean(), (segs, full) => {
        const cfg = full ? { ...PLAIN, sack: true, timestamps: true, windowScale: true, ecn: true, recvBufferBytes: 4096 } : { ...PLAIN, recvBufferBytes: 4096 };
        const s = established(cfg, 65535, full ? [{ kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 1, tsEcr: 0 }, { kind: 'wscale', shift: 2 }] : []);
        s.conn.write(bytes(3000));
        for (const g of segs) {
          s.now += g.dt;
          const t = s.conn.tcb();
          const seg = tcp({ seq: t.rcvNxt + g.dseq, ack: t.sndUna + g.dack, flags: g.flags, window: g.window, options: g.options, payload: new Uint8Array(g.len) });
          seg.urgent = g.urgent;
          s.conn.handleSegment({ tcp: seg, ecn: g.ecn }, s.now);
          if (s.conn.pollTimeout() !== null && s.conn.pollTimeout()! <= s.now) s.conn.handleTimeout(s.now);
          s.drain();
          s.events();
          expect(s.conn.readableBytes).toBeLessThanOrEqual(4096);
          expect(s.conn.stats().bytesInFlight).toBeGreaterThanOrEqual(0);
          expect(s.conn.stats().txLogEntries).toBeLessThanOrEqual(3001);
          expect(s.conn.urgentBytes).toBeLessThanOrEqual(65535 + 2 * 4096); // SEG.UP <= window + 16 bits ahead
          // No livelock: after the timers ran, the next deadline lies in the future.
          const to = s.conn.pollTimeout();
          if (to !== null) expect(to).toBeGreaterThan(s.now);
        }
      }),
      { numRuns: 150, seed: 12345 },
    );
  });
});

describe('hostile input during the handshake', () => {
  test('random segments against SYN-SENT and SYN-RECEIVED never throw and keep deadlines in the future', () => {
    const segArb = fc.record({
      seq: fc.nat(),
      dack: fc.integer({ min: -3, max: 3 }),
      flags: fc.nat(255),
      window: fc.nat(65535),
      len: fc.nat(100),
      ts: fc.option(fc.record({ tsVal: fc.nat(), tsEcr: fc.nat() })),
      dt: fc.nat(3000),
    });
    fc.assert(
      fc.property(fc.boolean(), fc.array(segArb, { maxLength: 30 }), (passive, segs) => {
        const cfg = { ...PLAIN, sack: true, timestamps: true, windowScale: true };
        const conn = passive
          ? TcpConnection.accept({ local: LOCAL, remote: REMOTE, iss: LOCAL_ISS, now: 0, config: cfg, syn: { tcp: tcp({ seq: REMOTE_ISS, flags: F.SYN }), ecn: 0 } })
          : TcpConnection.connect({ local: LOCAL, remote: REMOTE, iss: LOCAL_ISS, now: 0, config: cfg });
        const s = new Script(conn);
        s.drain();
        for (const g of segs) {
          s.now += g.dt;
          const options: TcpOption[] = g.ts ? [{ kind: 'timestamps', ...g.ts }] : [];
          s.conn.handleSegment({ tcp: tcp({ seq: g.seq, ack: LOCAL_ISS + 1 + g.dack, flags: g.flags, window: g.window, options, payload: new Uint8Array(g.len) }), ecn: 0 }, s.now);
          const due = s.conn.pollTimeout();
          if (due !== null && due <= s.now) s.conn.handleTimeout(s.now);
          s.drain();
          s.events();
          const to = s.conn.pollTimeout();
          if (to !== null) expect(to).toBeGreaterThan(s.now);
        }
      }),
      { numRuns: 200, seed: 777 },
    );
  });
});

describe('ISN (RFC 6528)', () => {
  const secret = new Uint8Array(16).fill(9);
  test('ISN = M + F(4-tuple, secret): stable per tuple, differs across tuples, advances 250 per ms', () => {
    const a = isnRfc6528(secret, LOCAL, REMOTE, 1000);
    expect(isnRfc6528(secret, LOCAL, REMOTE, 1000)).toBe(a);
    expect(isnRfc6528(secret, LOCAL, { ...REMOTE, port: 81 }, 1000)).not.toBe(a);
    expect(isnRfc6528(new Uint8Array(16).fill(1), LOCAL, REMOTE, 1000)).not.toBe(a);
    expect((isnRfc6528(secret, LOCAL, REMOTE, 1004) - a) >>> 0).toBe(1000);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(2 ** 32);
  });
});
