/**
 * The same SEGMENT ARRIVES / user-call rules checked in every synchronized state
 * (RFC 9293 3.10.7.4 and 3.10.4/3.10.5), plus the handshake timeouts.
 */
import type { TcpState } from '../../src/connection/types.js';
import { TcpError } from '../../src/connection/types.js';
import { F, LOCAL_ISS, PLAIN, REMOTE_ISS, closedWith, inState, synSent } from './harness.js';

const L = LOCAL_ISS + 1;
const R = REMOTE_ISS + 1;

const SYNCHRONIZED: TcpState[] = ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'];

describe.each(SYNCHRONIZED)('%s', (state) => {
  test(`${state}: the builder reaches the state`, () => {
    expect(inState(state).s.conn.state).toBe(state);
  });

  test(`${state}: a segment outside the window is answered with an ACK`, () => {
    const { s, sndNxt, rcvNxt } = inState(state);
    s.recv({ seq: rcvNxt + 500_000, ack: sndNxt, flags: F.ACK, payload: 'x' });
    s.send({ seq: sndNxt, ack: rcvNxt, flags: F.ACK });
    expect(s.conn.state).toBe(state);
  });

  test(`${state}: RFC 5961 in-window RST not at RCV.NXT gets a challenge ACK`, () => {
    const { s, sndNxt, rcvNxt } = inState(state);
    s.recv({ seq: rcvNxt + 3, flags: F.RST });
    s.send({ seq: sndNxt, ack: rcvNxt, flags: F.ACK });
    expect(s.conn.state).toBe(state);
  });

  test(`${state}: RFC 5961 SYN gets a challenge ACK`, () => {
    const { s, sndNxt, rcvNxt } = inState(state);
    s.recv({ seq: rcvNxt, flags: F.SYN });
    s.send({ seq: sndNxt, ack: rcvNxt, flags: F.ACK });
    expect(s.conn.state).toBe(state);
  });

  test(`${state}: RST at RCV.NXT closes the connection`, () => {
    const { s, rcvNxt } = inState(state);
    s.recv({ seq: rcvNxt, flags: F.RST });
    expect(s.conn.state).toBe('CLOSED');
    const err = closedWith(s);
    // 3.10.7.4 second check: reset in ESTABLISHED / FIN-WAIT-* / CLOSE-WAIT; plain close otherwise.
    if (['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'].includes(state)) expect(err?.code).toBe('connection-reset');
    else expect(err).toBeNull();
    s.noSend();
  });

  test(`${state}: ACK for unsent data is answered with an ACK and ignored`, () => {
    const { s, sndNxt, rcvNxt } = inState(state);
    s.recv({ seq: rcvNxt, ack: sndNxt + 1000, flags: F.ACK });
    s.send({ seq: sndNxt, ack: rcvNxt, flags: F.ACK });
    expect(s.conn.state).toBe(state);
  });

  test(`${state}: ABORT sends a RST only where the peer may still have state`, () => {
    const { s, sndNxt } = inState(state);
    s.conn.abort();
    const out = s.drain();
    if (['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'].includes(state)) {
      expect(out).toHaveLength(1);
      expect(out[0].tcp).toMatchObject({ seq: sndNxt, flags: F.RST });
    } else {
      expect(out).toHaveLength(0);
    }
    expect(s.conn.state).toBe('CLOSED');
    expect(closedWith(s)?.code).toBe('aborted');
  });

  test(`${state}: SEND is allowed only before our FIN`, () => {
    const { s } = inState(state);
    if (state === 'ESTABLISHED' || state === 'CLOSE-WAIT') expect(s.conn.write(new Uint8Array(3))).toBe(3);
    else expect(() => s.conn.write(new Uint8Array(3))).toThrow(TcpError);
  });

  test(`${state}: segment text is delivered only before the peer's FIN (3.10.7.4 seventh)`, () => {
    const { s, rcvNxt } = inState(state);
    s.recv({ seq: rcvNxt, ack: L, flags: F.ACK, payload: 'data' });
    if (['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2'].includes(state)) {
      expect(s.conn.readableBytes).toBe(4);
      expect(s.drain().some((x) => x.tcp.ack === rcvNxt + 4)).toBe(true);
    } else {
      expect(s.conn.readableBytes).toBe(0);
    }
    expect(s.conn.state).toBe(state);
  });

  test(`${state}: CLOSE moves on as 3.10.4 says (or is a no-op once closing)`, () => {
    const { s } = inState(state);
    s.conn.shutdown();
    const next: Record<string, TcpState> = { ESTABLISHED: 'FIN-WAIT-1', 'CLOSE-WAIT': 'LAST-ACK' };
    expect(s.conn.state).toBe(next[state] ?? state);
  });
});

describe('text after the peer FIN', () => {
  test('CLOSE-WAIT: new data after the FIN is not delivered (3.10.7.4 seventh)', () => {
    const { s, rcvNxt } = inState('CLOSE-WAIT');
    s.recv({ seq: rcvNxt, ack: L, flags: F.ACK, payload: 'late' });
    expect(s.conn.readableBytes).toBe(0);
  });
});

describe('handshake timeouts and simultaneous open', () => {
  test('SYN-RECEIVED (simultaneous open): RST at RCV.NXT is connection-refused', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, flags: F.SYN });
    s.send({ flags: F.SYN | F.ACK });
    s.recv({ seq: R, flags: F.RST });
    expect(closedWith(s)?.code).toBe('connection-refused');
  });

  test('SYN-RECEIVED: no ACK after synRetries retransmissions of the SYN-ACK ends with timeout', () => {
    const s = synSent({ ...PLAIN, synRetries: 1 });
    s.recv({ seq: REMOTE_ISS, flags: F.SYN });
    s.send({ flags: F.SYN | F.ACK });
    s.advance();
    s.send({ flags: F.SYN | F.ACK });
    s.advance();
    expect(s.conn.state).toBe('CLOSED');
    expect(closedWith(s)?.code).toBe('timeout');
  });

  test('TIME-WAIT: acceptsNewSyn allows a new incarnation only with a higher sequence number (RFC 1122 4.2.2.13)', () => {
    const { s, rcvNxt } = inState('TIME-WAIT');
    const syn = (seq: number) => ({ tcp: { srcPort: 80, dstPort: 49152, seq: seq >>> 0, ack: 0, flags: F.SYN, window: 1000, urgent: 0, options: [], payload: new Uint8Array(0) }, ecn: 0 });
    expect(s.conn.acceptsNewSyn(syn(rcvNxt + 1000))).toBe(true);
    expect(s.conn.acceptsNewSyn(syn(rcvNxt - 1000))).toBe(false);
    const est = inState('ESTABLISHED');
    expect(est.s.conn.acceptsNewSyn(syn(rcvNxt + 1000))).toBe(false);
  });

  test('SYN-SENT: after a SYN timeout without an RTT sample, data starts with RTO = 3 s (RFC 6298 5.7)', () => {
    const s = synSent();
    s.advance();
    s.send({ flags: F.SYN });
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK });
    expect(s.conn.stats()).toMatchObject({ srtt: null, rto: 3000 });
  });

  test('TIME-WAIT lasts timeWaitMs and then CLOSED without error', () => {
    const { s } = inState('TIME-WAIT');
    expect(s.conn.pollTimeout()).toBe(10_000);
    s.advance(9_999);
    expect(s.conn.state).toBe('TIME-WAIT');
    s.advance();
    expect(s.conn.state).toBe('CLOSED');
    expect(closedWith(s)).toBeNull();
  });
});
