/**
 * The RFC 9293 section 3.10 rules that states.test.ts and per-state.test.ts do not script yet:
 * user calls in CLOSED and the handshake states, RECEIVE and STATUS in every state, the four
 * acceptability cases of the first check, the window-update rule of the fifth check, the eighth
 * check (FIN) in the states that only acknowledge it, and SYN-ACKs that carry text or a FIN.
 * docs/status/issue-3-engine.md maps every rule of 3.10 to the test that checks it.
 */
import { TcpError, type TcpState } from '../../src/connection/types.js';
import { F, LOCAL_ISS, PLAIN, REMOTE_ISS, acceptedScript, passiveOpen, closedWith, established, inState, synSent, tcp, text } from './harness.js';

const L = LOCAL_ISS + 1;
const R = REMOTE_ISS + 1;

const accepted = acceptedScript;

const ALL_BUT_LISTEN: TcpState[] = [
  'CLOSED',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

describe('STATUS (3.10.6)', () => {
  test.each(ALL_BUT_LISTEN)('%s: STATUS (state, stats().state) names the RFC state', (state) => {
    const { s } = inState(state);
    expect(s.conn.state).toBe(state);
    expect(s.conn.stats().state).toBe(state);
  });
});

describe('user calls in CLOSED and in the handshake states (3.10.2 - 3.10.5)', () => {
  test('CLOSED: SEND fails with "connection does not exist" (TcpError invalid-state)', () => {
    const { s } = inState('CLOSED');
    expect(() => s.conn.write(new Uint8Array(1))).toThrow(TcpError);
    expect(s.conn.writableBytes).toBe(0);
  });

  test('CLOSED: RECEIVE returns nothing', () => {
    const { s } = inState('CLOSED');
    expect(s.conn.read()).toBeNull();
  });

  test('CLOSED: CLOSE and ABORT do nothing (no segment, no second closed event)', () => {
    const { s } = inState('CLOSED');
    s.conn.shutdown();
    s.conn.abort();
    s.noSend();
    expect(s.events()).toEqual([]);
    expect(s.conn.state).toBe('CLOSED');
  });

  test('SYN-RECEIVED: SEND queues the data until ESTABLISHED (3.10.2)', () => {
    const s = accepted();
    expect(s.conn.write(new TextEncoder().encode('early'))).toBe(5);
    s.noSend();
    s.recv({ seq: R, ack: L, flags: F.ACK });
    s.send({ seq: L, ack: R, flags: F.ACK | F.PSH, payload: 'early' });
  });

  test('SYN-SENT and SYN-RECEIVED: RECEIVE has nothing before ESTABLISHED (3.10.3)', () => {
    expect(synSent().conn.read()).toBeNull();
    expect(accepted().conn.read()).toBeNull();
  });
});

describe('RECEIVE (3.10.3) in the synchronized states', () => {
  test('ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: RECEIVE returns the in-order text', () => {
    for (const st of ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2'] as const) {
      const { s, sndNxt, rcvNxt } = inState(st);
      s.recv({ seq: rcvNxt, ack: sndNxt, flags: F.ACK, payload: 'abc' });
      expect(text(s.conn.read()!)).toBe('abc');
      expect(s.conn.read()).toBeNull();
      expect(s.conn.readEnded).toBe(false);
    }
  });

  test('CLOSE-WAIT: RECEIVE returns the text on hand, then "connection closing" (readEnded)', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN, payload: 'tail' });
    s.send({ ack: R + 5 });
    expect(s.conn.state).toBe('CLOSE-WAIT');
    expect(s.conn.readEnded).toBe(false);
    expect(text(s.conn.read()!)).toBe('tail');
    expect(s.conn.read()).toBeNull();
    expect(s.conn.readEnded).toBe(true);
  });

  test('CLOSING, LAST-ACK, TIME-WAIT: RECEIVE reports "connection closing" (readEnded, no data)', () => {
    for (const st of ['CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) {
      const { s } = inState(st);
      expect(s.conn.read()).toBeNull();
      expect(s.conn.readEnded).toBe(true);
    }
  });
});

describe('SYN-SENT: SEGMENT ARRIVES, fourth check (3.10.7.3)', () => {
  test('SYN-SENT: a SYN-ACK carrying text delivers it ("continue processing at the sixth step")', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, payload: 'hello' });
    expect(s.conn.state).toBe('ESTABLISHED');
    expect(text(s.conn.read()!)).toBe('hello');
    s.send({ seq: L, ack: R + 5, flags: F.ACK });
  });

  test('SYN-SENT: a SYN-ACK carrying FIN -> ESTABLISHED then CLOSE-WAIT (eighth step)', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK | F.FIN });
    expect(s.conn.state).toBe('CLOSE-WAIT');
    expect(s.events().map((e) => e.type)).toEqual(['connected', 'peer-closed']);
    s.send({ seq: L, ack: R + 1, flags: F.ACK });
  });

  test('SYN-SENT: the SYN-ACK sets SND.WND (unscaled), SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK, SND.UNA = SEG.ACK', () => {
    const s = synSent({ ...PLAIN, windowScale: true });
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, window: 1234, options: [{ kind: 'wscale', shift: 4 }] });
    expect(s.conn.tcb()).toMatchObject({ sndWnd: 1234, sndWl1: REMOTE_ISS, sndWl2: L, sndUna: L, irs: REMOTE_ISS, rcvNxt: R });
  });

  test('SYN-SENT: a FIN without SYN is not processed (eighth check: drop)', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.ACK | F.FIN });
    expect(s.conn.state).toBe('SYN-SENT');
    s.noSend();
    expect(s.conn.stats().ignoredSegments).toBe(1);
  });
});

describe('SEGMENT ARRIVES, first check: the four acceptability cases (3.10.7.4)', () => {
  test('len = 0, RCV.WND > 0: acceptable when RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND (the ACK is processed)', () => {
    const s = established();
    s.conn.write(new TextEncoder().encode('abcd'));
    s.send({ len: 4 });
    s.recv({ seq: R + 100, ack: L + 4, flags: F.ACK });
    expect(s.conn.tcb().sndUna).toBe(L + 4);
    s.noSend();
  });

  test('len = 0, RCV.WND > 0: SEG.SEQ at or beyond RCV.NXT + RCV.WND is unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
    const s = established();
    const wnd = s.conn.tcb().rcvWnd;
    s.conn.write(new TextEncoder().encode('abcd'));
    s.send({ len: 4 });
    s.recv({ seq: R + wnd, ack: L + 4, flags: F.ACK });
    s.send({ seq: L + 4, ack: R, flags: F.ACK });
    expect(s.conn.tcb().sndUna).toBe(L); // dropped: the ACK field was not used
    expect(s.conn.stats().outOfWindowSegments).toBe(1);
  });

  test('len = 0, RCV.WND = 0: acceptable only when SEG.SEQ = RCV.NXT', () => {
    const s = established({ ...PLAIN, recvBufferBytes: 536 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: new Uint8Array(536) });
    s.send({ ack: R + 536, window: 0 });
    s.recv({ seq: R + 1, ack: L, flags: F.ACK });
    s.send({ ack: R + 536, window: 0 });
    expect(s.conn.stats().outOfWindowSegments).toBe(1);
    s.recv({ seq: R + 536, ack: L, flags: F.ACK, window: 999 });
    s.noSend();
    expect(s.conn.tcb().sndWnd).toBe(999);
  });

  test('len > 0, RCV.WND > 0: a segment that starts in the window but ends beyond it is trimmed to the window', () => {
    const s = established({ ...PLAIN, recvBufferBytes: 1000 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: new Uint8Array(1500).fill(7) });
    expect(s.conn.readableBytes).toBe(1000);
    s.send({ ack: R + 1000, window: 0 });
  });

  test('len > 0, RCV.WND > 0: a segment wholly before RCV.NXT is unacceptable: ACK, text not delivered again', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'one' });
    s.send({ ack: R + 3 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'one' });
    s.send({ ack: R + 3 });
    expect(s.conn.readableBytes).toBe(3);
  });
});

describe('SEGMENT ARRIVES, fifth check: ACK (3.10.7.4)', () => {
  test('ESTABLISHED: a duplicate ACK (SEG.ACK < SND.UNA) is ignored', () => {
    const s = established();
    s.conn.write(new TextEncoder().encode('abcdef'));
    s.send({ len: 6 });
    s.recv({ seq: R, ack: L + 6, flags: F.ACK });
    s.recv({ seq: R, ack: L + 2, flags: F.ACK, window: 10 });
    s.noSend();
    expect(s.conn.tcb()).toMatchObject({ sndUna: L + 6, sndWnd: 65535 });
  });

  test('ESTABLISHED: the window is updated only if SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'xy' }); // WL1 = R
    s.send({ ack: R + 2 });
    s.recv({ seq: R + 2, ack: L, flags: F.ACK, window: 3000 }); // newer SEG.SEQ: updates, WL1 = R + 2
    expect(s.conn.tcb()).toMatchObject({ sndWnd: 3000, sndWl1: R + 2, sndWl2: L });
    // An old segment (reordered, SEG.SEQ < SND.WL1) must not move the window back.
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'xy', window: 100 });
    expect(s.conn.tcb()).toMatchObject({ sndWnd: 3000, sndWl1: R + 2 });
  });

  test('CLOSE-WAIT: an ACK of sent data advances SND.UNA as in ESTABLISHED', () => {
    const { s, rcvNxt } = inState('CLOSE-WAIT');
    s.conn.write(new TextEncoder().encode('reply'));
    s.send({ seq: L, payload: 'reply' });
    s.recv({ seq: rcvNxt, ack: L + 5, flags: F.ACK });
    expect(s.conn.tcb().sndUna).toBe(L + 5);
    expect(s.conn.state).toBe('CLOSE-WAIT');
  });

  test('FIN-WAIT-2: the ACK of our FIN completes CLOSE but the TCB stays (no timer armed by the RFC)', () => {
    const { s } = inState('FIN-WAIT-2');
    expect(s.conn.state).toBe('FIN-WAIT-2');
    expect(s.conn.pollTimeout()).toBeNull();
  });

  test('CLOSING: an ACK that does not acknowledge our FIN is ignored', () => {
    const { s, rcvNxt } = inState('CLOSING');
    s.recv({ seq: rcvNxt, ack: L, flags: F.ACK });
    expect(s.conn.state).toBe('CLOSING');
    s.recv({ seq: rcvNxt, ack: L + 1, flags: F.ACK });
    expect(s.conn.state).toBe('TIME-WAIT');
  });

  test('LAST-ACK: an ACK that does not acknowledge our FIN keeps LAST-ACK', () => {
    const { s, rcvNxt } = inState('LAST-ACK');
    s.recv({ seq: rcvNxt, ack: L, flags: F.ACK });
    expect(s.conn.state).toBe('LAST-ACK');
    s.recv({ seq: rcvNxt, ack: L + 1, flags: F.ACK });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedWith(s)).toBeNull();
  });

  test('SYN-RECEIVED: ACK+FIN completes the handshake and the FIN moves on to CLOSE-WAIT', () => {
    const s = accepted();
    s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN, payload: 'bye' });
    expect(s.conn.state).toBe('CLOSE-WAIT');
    expect(s.events().map((e) => e.type)).toEqual(['connected', 'readable', 'peer-closed']);
    s.send({ seq: L, ack: R + 4, flags: F.ACK });
  });

  test('SYN-RECEIVED: the completing ACK sets SND.WND (scaled), SND.WL1 = SEG.SEQ and SND.WL2 = SEG.ACK', () => {
    const s = passiveOpen([{ kind: 'wscale', shift: 2 }], { ...PLAIN, windowScale: true }, 500);
    s.send({ flags: F.SYN | F.ACK });
    expect(s.conn.tcb().sndWnd).toBe(500); // the SYN's window is never scaled
    s.recv({ seq: R, ack: L, flags: F.ACK, window: 1000 });
    expect(s.conn.tcb()).toMatchObject({ sndWnd: 4000, sndWl1: R, sndWl2: L, sndUna: L });
  });

  test('SYN-RECEIVED: a segment without ACK is dropped and the state stays', () => {
    const s = accepted();
    s.recv({ seq: R, flags: 0, payload: 'x' });
    expect(s.conn.state).toBe('SYN-RECEIVED');
    expect(s.conn.read()).toBeNull();
  });
});

describe('SEGMENT ARRIVES, seventh check: text (3.10.7.4)', () => {
  test('ESTABLISHED: the ACK for received text is piggybacked on outgoing data when there is some', () => {
    const s = established({ ...PLAIN, delayedAckMs: 40 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'question' });
    s.conn.write(new TextEncoder().encode('answer'));
    s.send({ seq: L, ack: R + 8, flags: F.ACK | F.PSH, payload: 'answer' });
    s.noSend();
    expect(s.conn.pollTimeout()).not.toBe(40); // no delayed ACK left pending
  });
});

describe('SEGMENT ARRIVES, fourth check: SYN in SYN-RECEIVED (3.10.7.4)', () => {
  test('SYN-RECEIVED (passive): a SYN other than the retransmitted one ends the connection ("return to LISTEN")', () => {
    const s = accepted();
    s.recv({ seq: R + 10, flags: F.SYN });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedWith(s)?.code).toBe('connection-reset');
  });

  test('SYN-RECEIVED (simultaneous open): an in-window SYN gets a challenge ACK (RFC 5961 4.2)', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, flags: F.SYN });
    s.send({ flags: F.SYN | F.ACK });
    s.recv({ seq: R + 10, flags: F.SYN });
    expect(s.conn.state).toBe('SYN-RECEIVED');
    expect(s.conn.stats().challengeAcks).toBe(1);
  });
});

describe('SEGMENT ARRIVES, sixth check: URG (3.10.7.4, 3.8.5)', () => {
  function urg(seq: number, payload: string, up: number) {
    const seg = tcp({ seq, ack: L, flags: F.ACK | F.URG, payload });
    seg.urgent = up;
    return { tcp: seg, ecn: 0 };
  }

  test('ESTABLISHED: URG sets RCV.UP, signals the user once per run of urgent data, and the text stays in line', () => {
    const s = established();
    s.conn.handleSegment(urg(R, 'ab!cd', 3), s.now); // urgent data "ab!", pointer at R + 3
    expect(s.events().map((e) => e.type)).toEqual(['urgent', 'readable']);
    expect(s.conn.urgentBytes).toBe(3);
    // A later segment of the same run moves RCV.UP on, without a second signal.
    s.conn.handleSegment(urg(R + 5, 'ef', 1), s.now);
    expect(s.events().map((e) => e.type)).toEqual(['readable']);
    expect(s.conn.urgentBytes).toBe(6);
    expect(text(s.conn.read(4)!)).toBe('ab!c');
    expect(s.conn.urgentBytes).toBe(2);
    expect(text(s.conn.read()!)).toBe('def');
    expect(s.conn.urgentBytes).toBe(0);
    // Consumed: a new run signals again; an older pointer never moves RCV.UP back.
    s.conn.handleSegment(urg(R + 7, 'g', 1), s.now);
    expect(s.events().map((e) => e.type)).toEqual(['urgent', 'readable']);
    s.conn.handleSegment(urg(R + 8, 'h', 0), s.now);
    expect(s.conn.urgentBytes).toBe(1);
  });

  test('CLOSE-WAIT: URG is ignored (a FIN was received)', () => {
    const { s, rcvNxt } = inState('CLOSE-WAIT');
    s.events();
    const seg = tcp({ seq: rcvNxt, ack: L, flags: F.ACK | F.URG });
    seg.urgent = 10;
    s.conn.handleSegment({ tcp: seg, ecn: 0 }, s.now);
    expect(s.conn.urgentBytes).toBe(0);
    expect(s.events()).toEqual([]);
  });

  test('SEND with the urgent flag: segments before SND.UP carry URG and the offset of the octet after the urgent data', () => {
    const s = established();
    s.conn.write(new TextEncoder().encode('12'));
    s.conn.write(new TextEncoder().encode('U!'), { urgent: true });
    const seg = s.send({ seq: L, payload: '12U!' });
    expect(seg.tcp.flags & F.URG).toBe(F.URG);
    expect(seg.tcp.urgent).toBe(4);
    s.recv({ seq: R, ack: L + 2, flags: F.ACK }); // SND.UP not yet acknowledged
    s.conn.write(new TextEncoder().encode('tail'));
    const next = s.send({ seq: L + 4, payload: 'tail' });
    expect(next.tcp.flags & F.URG).toBe(0);
    s.recv({ seq: R, ack: L + 8, flags: F.ACK });
    s.conn.write(new TextEncoder().encode('x'));
    expect(s.send({ seq: L + 8 }).tcp.flags & F.URG).toBe(0);
  });

  test('two engines: urgent data sent with write(data, {urgent}) is signalled to the reader', () => {
    const s = established();
    s.conn.write(new TextEncoder().encode('!'), { urgent: true });
    const out = s.send();
    // Fed to a fresh receiver in ESTABLISHED with the same sequence numbers.
    const r = established();
    r.conn.handleSegment({ tcp: { ...out.tcp, seq: R, ack: L }, ecn: 0 }, r.now);
    expect(r.events().map((e) => e.type)).toContain('urgent');
    expect(r.conn.urgentBytes).toBe(1);
  });
});

describe('SEGMENT ARRIVES, eighth check: FIN in the states past it (3.10.7.4)', () => {
  test.each(['CLOSE-WAIT', 'CLOSING', 'LAST-ACK'] as const)(
    '%s: a retransmitted FIN is acknowledged and the state stays',
    (state) => {
      const { s, sndNxt, rcvNxt } = inState(state);
      s.events();
      s.recv({ seq: rcvNxt - 1, ack: L, flags: F.ACK | F.FIN });
      s.send({ seq: sndNxt, ack: rcvNxt, flags: F.ACK });
      expect(s.conn.state).toBe(state);
      expect(s.events().filter((e) => e.type === 'peer-closed')).toEqual([]);
    },
  );

  test('FIN-WAIT-2: FIN -> TIME-WAIT and only the 2 MSL timer stays armed', () => {
    const { s, rcvNxt } = inState('FIN-WAIT-2');
    s.now = 100;
    s.recv({ seq: rcvNxt, ack: L + 1, flags: F.ACK | F.FIN });
    expect(s.conn.state).toBe('TIME-WAIT');
    expect(s.conn.pollTimeout()).toBe(100 + 10_000);
  });
});

describe('timeouts (3.10.8)', () => {
  test('USER TIMEOUT in FIN-WAIT-1: our unacknowledged FIN ends the connection with user-timeout, no RST', () => {
    const s = established({ ...PLAIN, userTimeoutMs: 5000 });
    s.conn.shutdown();
    s.send({ flags: F.ACK | F.FIN });
    for (let i = 0; i < 20 && s.conn.state !== 'CLOSED'; i++) {
      s.advance();
      s.drain().forEach((o) => expect(o.tcp.flags & F.RST).toBe(0));
    }
    expect(s.now).toBe(5000);
    expect(closedWith(s)?.code).toBe('user-timeout');
  });

  test('RETRANSMISSION TIMEOUT: the front segment is sent again and the timer restarts', () => {
    const s = established();
    s.conn.write(new TextEncoder().encode('abc'));
    s.send({ seq: L, payload: 'abc' });
    const first = s.conn.pollTimeout()!;
    s.advance();
    s.send({ seq: L, payload: 'abc' });
    expect(s.conn.pollTimeout()).toBeGreaterThan(first);
  });
});
