/**
 * RFC 9293 section 3.10 event processing, state by state (OPEN, SEND, RECEIVE, CLOSE, ABORT,
 * SEGMENT ARRIVES, timeouts), scripted as segments in and segments out.
 */
import { TcpConnection } from '../../src/connection/connection.js';
import { TcpError } from '../../src/connection/types.js';
import {
  F,
  LOCAL,
  LOCAL_ISS,
  PLAIN,
  REMOTE,
  REMOTE_ISS,
  Script,
  established,
  synSent,
  connectScript,
  passiveOpen,
  tcp,
  text,
} from './harness.js';

const L = LOCAL_ISS + 1; // our first data sequence number
const R = REMOTE_ISS + 1; // the peer's first data sequence number

function closedError(s: Script): TcpError | null | undefined {
  const e = s.events().find((x) => x.type === 'closed');
  return e && e.type === 'closed' ? e.error : undefined;
}

describe('OPEN / SYN-SENT (3.10.1, 3.10.7.3)', () => {
  test('CLOSED -> SYN-SENT: connect emits one SYN carrying ISS and our options', () => {
    const s = connectScript({ mss: 1460, recvBufferBytes: 256 * 1024 });
    expect(s.conn.state).toBe('SYN-SENT');
    const syn = s.send({ seq: LOCAL_ISS, ack: 0, flags: F.SYN });
    const kinds = syn.tcp.options.map((o) => o.kind);
    expect(kinds).toEqual(['mss', 'sackPermitted', 'timestamps', 'nop', 'wscale']);
    expect(syn.tcp.options[0]).toEqual({ kind: 'mss', mss: 1460 });
    expect(syn.tcp.options[4]).toEqual({ kind: 'wscale', shift: 3 });
    s.noSend();
    expect(s.conn.synInfo().sent?.seq).toBe(LOCAL_ISS);
  });

  test('SYN-SENT: SYN-ACK with acceptable ACK -> ESTABLISHED, ACK sent, connected event', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK, options: [{ kind: 'mss', mss: 1000 }] });
    expect(s.conn.state).toBe('ESTABLISHED');
    s.send({ seq: L, ack: R, flags: F.ACK });
    expect(s.events()).toEqual([{ type: 'connected' }]);
    expect(s.conn.negotiated().mss).toBe(536); // min(peer 1000, ours 536)
    expect(s.conn.pollTimeout()).toBeNull(); // nothing outstanding
  });

  test('SYN-SENT: without an MSS option the peer MSS is taken as 536 (IPv4) or 1220 (IPv6) (RFC 9293 3.7.1)', () => {
    const s = synSent({ ...PLAIN, mss: 1460 });
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK });
    expect(s.conn.negotiated().mss).toBe(536);
    const v6 = TcpConnection.connect({
      local: { address: 'fd00::1', port: 1 },
      remote: { address: 'fd00::2', port: 2 },
      iss: LOCAL_ISS,
      now: 0,
      config: { ...PLAIN, mss: 1440 },
    });
    v6.pollTransmit(0);
    v6.handleSegment({ tcp: tcp({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK }, { address: 'fd00::2', port: 2 }, { address: 'fd00::1', port: 1 }), ecn: 0 }, 0);
    expect(v6.negotiated().mss).toBe(1220);
  });

  test('SYN-SENT: RST with acceptable ACK closes with connection-refused', () => {
    const s = synSent();
    s.recv({ seq: 0, ack: L, flags: F.RST | F.ACK });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)?.code).toBe('connection-refused');
    s.noSend();
  });

  test('SYN-SENT: RST without ACK is ignored', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, flags: F.RST });
    expect(s.conn.state).toBe('SYN-SENT');
    s.noSend();
  });

  test('SYN-SENT: RST with an unacceptable ACK is ignored without reply', () => {
    const s = synSent();
    s.recv({ seq: 0, ack: LOCAL_ISS + 77, flags: F.RST | F.ACK });
    expect(s.conn.state).toBe('SYN-SENT');
    s.noSend();
  });

  test('SYN-SENT: ACK for unsent data is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, ack: LOCAL_ISS + 100, flags: F.SYN | F.ACK });
    s.send({ seq: LOCAL_ISS + 100, flags: F.RST });
    expect(s.conn.state).toBe('SYN-SENT');
    expect(s.conn.stats().ackForUnsentData).toBe(1);
  });

  test('SYN-SENT: segment with neither SYN nor RST is dropped', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, flags: 0, payload: 'x' });
    expect(s.conn.state).toBe('SYN-SENT');
    s.noSend();
  });

  test('SYN-SENT: SYN without ACK (simultaneous open) -> SYN-RECEIVED, SYN-ACK with our ISS, then ESTABLISHED', () => {
    const s = synSent();
    s.recv({ seq: REMOTE_ISS, flags: F.SYN });
    expect(s.conn.state).toBe('SYN-RECEIVED');
    s.send({ seq: LOCAL_ISS, ack: R, flags: F.SYN | F.ACK });
    s.recv({ seq: R, ack: L, flags: F.ACK });
    expect(s.conn.state).toBe('ESTABLISHED');
    expect(s.events()).toEqual([{ type: 'connected' }]);
  });

  test('SYN-SENT: SYN is retransmitted with exponential backoff and the connection times out after synRetries', () => {
    const s = synSent({ ...PLAIN, synRetries: 2, initialRtoMs: 1000 });
    expect(s.conn.pollTimeout()).toBe(1000);
    s.advance();
    s.send({ seq: LOCAL_ISS, flags: F.SYN });
    expect(s.conn.pollTimeout()).toBe(1000 + 2000);
    s.advance();
    s.send({ seq: LOCAL_ISS, flags: F.SYN });
    expect(s.conn.pollTimeout()).toBe(3000 + 4000);
    s.advance();
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)?.code).toBe('timeout');
    s.noSend();
  });

  test('SYN-SENT: handleTimeout early or repeated is harmless', () => {
    const s = synSent();
    s.conn.handleTimeout(10);
    s.conn.handleTimeout(10);
    s.noSend();
    expect(s.conn.pollTimeout()).toBe(1000);
  });

  test('SYN-SENT: CLOSE deletes the TCB', () => {
    const s = synSent();
    s.conn.shutdown();
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)).toBeNull();
  });

  test('SYN-SENT: ABORT closes without a RST', () => {
    const s = synSent();
    s.conn.abort();
    s.noSend();
    expect(closedError(s)?.code).toBe('aborted');
  });

  test('SYN-SENT: SEND queues data that goes out after ESTABLISHED', () => {
    const s = synSent();
    expect(s.conn.write(new TextEncoder().encode('early'))).toBe(5);
    s.noSend();
    s.recv({ seq: REMOTE_ISS, ack: L, flags: F.SYN | F.ACK });
    s.send({ seq: L, ack: R, flags: F.ACK | F.PSH, payload: 'early' });
  });
});

describe('LISTEN -> SYN-RECEIVED (passive OPEN, 3.10.7.2)', () => {
  const accepted = passiveOpen;

  test('accept: SYN -> SYN-RECEIVED and a SYN-ACK acknowledging the SYN', () => {
    const s = accepted();
    expect(s.conn.state).toBe('SYN-RECEIVED');
    s.send({ seq: LOCAL_ISS, ack: R, flags: F.SYN | F.ACK });
    s.noSend();
  });

  test('accept: SYN-ACK offers only the options the SYN offered (RFC 7323, RFC 2018)', () => {
    const full = { ...PLAIN, sack: true, timestamps: true, windowScale: true };
    const a = accepted([{ kind: 'mss', mss: 1400 }], full);
    expect(a.send().tcp.options.map((o) => o.kind).filter((k) => k !== 'nop')).toEqual(['mss']);
    const b = accepted(
      [{ kind: 'mss', mss: 1400 }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 77, tsEcr: 0 }, { kind: 'wscale', shift: 2 }],
      full,
    );
    const synAck = b.send();
    const ts = synAck.tcp.options.find((o) => o.kind === 'timestamps');
    expect(ts).toMatchObject({ tsEcr: 77 });
    expect(synAck.tcp.options.map((o) => o.kind).filter((k) => k !== 'nop')).toEqual(['mss', 'sackPermitted', 'timestamps', 'wscale']);
    expect(b.conn.negotiated()).toMatchObject({ sack: true, timestamps: true, sndWscale: 2 });
  });

  test('accept: a segment that is not a bare SYN is refused', () => {
    expect(() =>
      TcpConnection.accept({
        local: LOCAL,
        remote: REMOTE,
        iss: 1,
        now: 0,
        syn: { tcp: tcp({ seq: 1, ack: 2, flags: F.SYN | F.ACK }), ecn: 0 },
      }),
    ).toThrow(TcpError);
  });

  test('SYN-RECEIVED: acceptable ACK -> ESTABLISHED and connected', () => {
    const s = accepted();
    s.send();
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'hi' });
    expect(s.conn.state).toBe('ESTABLISHED');
    expect(s.events().map((e) => e.type)).toEqual(['connected', 'readable']);
    expect(text(s.conn.read()!)).toBe('hi');
  });

  test('SYN-RECEIVED: unacceptable ACK is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const s = accepted();
    s.send();
    s.recv({ seq: R, ack: LOCAL_ISS + 50, flags: F.ACK });
    s.send({ seq: LOCAL_ISS + 50, flags: F.RST });
    expect(s.conn.state).toBe('SYN-RECEIVED');
  });

  test('SYN-RECEIVED: a retransmitted SYN gets the SYN-ACK again', () => {
    const s = accepted();
    s.send();
    s.recv({ seq: REMOTE_ISS, flags: F.SYN });
    s.send({ seq: LOCAL_ISS, ack: R, flags: F.SYN | F.ACK });
  });

  test('SYN-RECEIVED: SYN-ACK retransmitted on timeout', () => {
    const s = accepted();
    s.send();
    s.advance();
    s.send({ seq: LOCAL_ISS, ack: R, flags: F.SYN | F.ACK });
    expect(s.conn.stats().retransmits).toBe(1);
  });

  test('SYN-RECEIVED: RST at RCV.NXT closes a passive connection with connection-reset', () => {
    const s = accepted();
    s.send();
    s.recv({ seq: R, flags: F.RST });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)?.code).toBe('connection-reset');
  });

  test('SYN-RECEIVED: CLOSE queues the FIN until ESTABLISHED, then FIN-WAIT-1', () => {
    const s = accepted();
    s.send();
    s.conn.shutdown();
    s.noSend();
    s.recv({ seq: R, ack: L, flags: F.ACK });
    expect(s.conn.state).toBe('FIN-WAIT-1');
    s.send({ seq: L, ack: R, flags: F.FIN | F.ACK });
  });

  test('SYN-RECEIVED: ABORT sends a RST', () => {
    const s = accepted();
    s.send();
    s.conn.abort();
    s.send({ seq: L, flags: F.RST });
    expect(closedError(s)?.code).toBe('aborted');
  });

  test('acceptEstablished: SYN-cookie parameters give ESTABLISHED and the ACK is processed', () => {
    const conn = TcpConnection.acceptEstablished({
      local: LOCAL,
      remote: REMOTE,
      iss: LOCAL_ISS,
      now: 0,
      config: { ...PLAIN, windowScale: true },
      irs: REMOTE_ISS,
      peerMss: 1200,
      sndWscale: 2,
      rcvWscale: 7,
      sack: false,
      timestamps: false,
      ack: { tcp: tcp({ seq: R, ack: L, flags: F.ACK, window: 1000, payload: 'data' }), ecn: 0 },
    });
    const s = new Script(conn);
    expect(conn.state).toBe('ESTABLISHED');
    expect(conn.tcb().sndWnd).toBe(4000);
    expect(s.events().map((e) => e.type)).toEqual(['connected', 'readable']);
    s.send({ seq: L, ack: R + 4, flags: F.ACK });
  });
});

describe('ESTABLISHED: SEGMENT ARRIVES (3.10.7.4)', () => {
  test('ESTABLISHED: in-order data becomes readable and is ACKed', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK | F.PSH, payload: 'hello' });
    expect(s.events()).toEqual([{ type: 'readable' }]);
    s.send({ seq: L, ack: R + 5, flags: F.ACK });
    expect(s.conn.readableBytes).toBe(5);
    expect(text(s.conn.read(3)!)).toBe('hel');
    expect(text(s.conn.read()!)).toBe('lo');
    expect(s.conn.read()).toBeNull();
  });

  test('ESTABLISHED: segment outside the window is answered with an ACK', () => {
    const s = established();
    s.recv({ seq: R + 100000, ack: L, flags: F.ACK, payload: 'zzz' });
    s.send({ seq: L, ack: R, flags: F.ACK });
    expect(s.conn.readableBytes).toBe(0);
    expect(s.conn.stats().outOfWindowSegments).toBe(1);
  });

  test('ESTABLISHED: an old duplicate segment is answered with an ACK and not delivered twice', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abc' });
    s.send({ ack: R + 3 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abc' });
    s.send({ seq: L, ack: R + 3, flags: F.ACK });
    expect(s.conn.readableBytes).toBe(3);
  });

  test('ESTABLISHED: a segment overlapping RCV.NXT is trimmed to the new bytes', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abc' });
    s.send();
    s.recv({ seq: R + 1, ack: L, flags: F.ACK, payload: 'bcdef' });
    s.send({ ack: R + 6 });
    expect(text(s.conn.read()!)).toBe('abcdef');
  });

  test('ESTABLISHED: segment without ACK bit is dropped', () => {
    const s = established();
    s.recv({ seq: R, flags: 0, payload: 'x' });
    s.noSend();
    expect(s.conn.readableBytes).toBe(0);
  });

  test('ESTABLISHED: ACK for unsent data is answered with an ACK and the segment dropped', () => {
    const s = established();
    s.recv({ seq: R, ack: L + 999, flags: F.ACK, payload: 'data' });
    s.send({ seq: L, ack: R, flags: F.ACK });
    expect(s.conn.readableBytes).toBe(0);
    expect(s.conn.stats().ackForUnsentData).toBe(1);
  });

  test('ESTABLISHED: an old ACK below SND.UNA - MAX.SND.WND is dropped with an ACK (RFC 5961 5.2)', () => {
    const s = established();
    s.recv({ seq: R, ack: (L - 200000) >>> 0, flags: F.ACK, payload: 'data' });
    s.send({ ack: R });
    expect(s.conn.readableBytes).toBe(0);
  });

  test('ESTABLISHED: out-of-order data is held and delivered when the gap fills', () => {
    const s = established();
    s.recv({ seq: R + 3, ack: L, flags: F.ACK, payload: 'def' });
    s.send({ ack: R }); // immediate duplicate ACK
    expect(s.conn.readableBytes).toBe(0);
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abc' });
    s.send({ ack: R + 6 });
    expect(text(s.conn.read()!)).toBe('abcdef');
  });

  test('ESTABLISHED: zero receive window accepts the ACK of a data segment but not its data', () => {
    const s = established({ ...PLAIN, recvBufferBytes: 4 });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'abcd' });
    s.send({ ack: R + 4, window: 0 });
    s.conn.write(new TextEncoder().encode('x'));
    s.send({ seq: L, payload: 'x' });
    s.recv({ seq: R + 4, ack: L + 1, flags: F.ACK, payload: 'efgh' });
    expect(s.conn.tcb().sndUna).toBe(L + 1);
    s.send({ ack: R + 4, window: 0 });
    expect(s.conn.readableBytes).toBe(4);
  });
});

describe('RFC 5961 protections', () => {
  test('RFC 5961: RST at RCV.NXT closes with connection-reset', () => {
    const s = established();
    s.recv({ seq: R, flags: F.RST });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)?.code).toBe('connection-reset');
    s.noSend();
  });

  test('RFC 5961: in-window RST not at RCV.NXT sends a challenge ACK', () => {
    const s = established();
    s.recv({ seq: R + 10, flags: F.RST });
    expect(s.conn.state).toBe('ESTABLISHED');
    s.send({ seq: L, ack: R, flags: F.ACK });
    expect(s.conn.stats().challengeAcks).toBe(1);
  });

  test('RFC 5961: RST outside the window is silently dropped', () => {
    const s = established();
    s.recv({ seq: R + 1_000_000, flags: F.RST });
    s.recv({ seq: R - 10, flags: F.RST });
    expect(s.conn.state).toBe('ESTABLISHED');
    s.noSend();
  });

  test('RFC 5961: SYN in a synchronized state gets a challenge ACK whatever its sequence number', () => {
    const s = established();
    s.recv({ seq: R + 5, flags: F.SYN });
    s.send({ seq: L, ack: R, flags: F.ACK });
    expect(s.conn.state).toBe('ESTABLISHED');
  });

  test('RFC 5961 7: challenge ACKs are rate-limited per second', () => {
    const s = established({ ...PLAIN, challengeAckPerSecond: 3 });
    for (let i = 0; i < 10; i++) s.recv({ seq: R + 10 + i, flags: F.RST });
    expect(s.drain()).toHaveLength(3);
    expect(s.conn.stats().challengeAcksSuppressed).toBe(7);
    s.now += 1000;
    s.recv({ seq: R + 10, flags: F.RST });
    expect(s.drain()).toHaveLength(1);
  });
});

describe('SEND (3.10.2) and the sender rules', () => {
  test('ESTABLISHED: write sends MSS-sized segments within the peer window', () => {
    const s = established(PLAIN, 1072);
    const data = new Uint8Array(2000).fill(65);
    expect(s.conn.write(data)).toBe(2000);
    s.send({ seq: L, len: 536, flags: F.ACK });
    s.send({ seq: L + 536, len: 536 });
    s.noSend(); // the window (1072) is full
    s.recv({ seq: R, ack: L + 1072, flags: F.ACK, window: 1072 });
    s.send({ seq: L + 1072, len: 536 });
    s.send({ seq: L + 1608, len: 392, flags: F.ACK | F.PSH });
    s.noSend();
  });

  test('sender SWS avoidance: a window sliver below MSS and below half the max window is not used', () => {
    const s = established(PLAIN, 1000);
    s.conn.write(new Uint8Array(2000));
    s.send({ seq: L, len: 536 });
    s.noSend(); // 464 left in the window: less than MSS and less than 1000/2 (RFC 9293 3.8.6.2.1)
    s.recv({ seq: R, ack: L + 536, flags: F.ACK, window: 1000 });
    s.send({ seq: L + 536, len: 536 });
  });

  test('Nagle: a small segment waits while data is unacknowledged; setNoDelay sends at once', () => {
    const s = established({ ...PLAIN, nagle: true });
    s.conn.write(new TextEncoder().encode('a'));
    s.send({ payload: 'a' });
    s.conn.write(new TextEncoder().encode('b'));
    s.noSend();
    s.recv({ seq: R, ack: L + 1, flags: F.ACK });
    s.send({ seq: L + 1, payload: 'b' });
    s.conn.setNoDelay(true);
    s.conn.write(new TextEncoder().encode('c'));
    s.send({ seq: L + 2, payload: 'c' });
  });

  test('write is bounded by the send buffer and writable fires when space frees', () => {
    const s = established({ ...PLAIN, sendBufferBytes: 1000 });
    expect(s.conn.write(new Uint8Array(1500))).toBe(1000);
    expect(s.conn.writableBytes).toBe(0);
    s.drain();
    s.recv({ seq: R, ack: L + 1000, flags: F.ACK });
    expect(s.events()).toEqual([{ type: 'writable' }]);
    expect(s.conn.writableBytes).toBe(1000);
  });

  test('writable also fires when a write filled the buffer exactly', () => {
    const s = established({ ...PLAIN, sendBufferBytes: 1000 });
    expect(s.conn.write(new Uint8Array(1000))).toBe(1000);
    s.drain();
    s.recv({ seq: R, ack: L + 600, flags: F.ACK });
    expect(s.events()).toEqual([{ type: 'writable' }]);
  });

  test('setKeepAlive and setUserTimeout act on a live connection', () => {
    const s = established();
    expect(s.conn.pollTimeout()).toBeNull();
    s.conn.setKeepAlive(true, 500);
    expect(s.conn.pollTimeout()).toBe(500);
    s.conn.setKeepAlive(false);
    expect(s.conn.pollTimeout()).toBeNull();
    s.conn.setUserTimeout(300);
    s.conn.write(new TextEncoder().encode('x'));
    s.send();
    s.advance(300);
    expect(closedError(s)?.code).toBe('user-timeout');
  });

  test('zero window: persist timer sends a 1-byte probe, and sending resumes when the window opens', () => {
    const s = established(PLAIN, 0);
    s.conn.write(new TextEncoder().encode('hello'));
    s.noSend();
    const t = s.conn.pollTimeout();
    expect(t).not.toBeNull();
    s.advance();
    s.send({ seq: L, payload: 'h' });
    expect(s.conn.stats().zeroWindowProbes).toBe(1);
    // The probe is refused (window still 0): the probe is repeated, the connection stays open.
    for (let i = 0; i < 20; i++) {
      s.recv({ seq: R, ack: L, flags: F.ACK, window: 0 });
      s.advance();
      s.send({ seq: L, payload: 'h' });
    }
    expect(s.conn.state).toBe('ESTABLISHED');
    s.recv({ seq: R, ack: L + 1, flags: F.ACK, window: 100 });
    s.send({ seq: L + 1, payload: 'ello' });
  });

  test('RTO: retransmission with backoff (RFC 6298 5.5) and timeout after dataRetries', () => {
    const s = established({ ...PLAIN, dataRetries: 3, initialRtoMs: 1000, minRtoMs: 1000 });
    s.conn.write(new TextEncoder().encode('data'));
    s.send({ payload: 'data' });
    const deadlines: number[] = [];
    for (let i = 0; i < 3; i++) {
      deadlines.push(s.conn.pollTimeout()!);
      s.advance();
      s.send({ seq: L, payload: 'data' });
    }
    expect(deadlines).toEqual([1000, 3000, 7000]);
    expect(s.conn.stats().rtoCount).toBe(3);
    s.advance();
    expect(closedError(s)?.code).toBe('timeout');
  });

  test("RTO: Karn's rule - an ACK for a retransmitted segment gives no RTT sample; the timer restarts on ACKs (RFC 6298 5.3)", () => {
    const s = established({ ...PLAIN, minRtoMs: 200 });
    expect(s.conn.stats().srtt).toBe(0); // the handshake took 0 ms
    s.conn.write(new Uint8Array(100));
    s.send({ seq: L, len: 100 });
    s.advance(); // RTO at 200
    s.send({ seq: L, len: 100 });
    s.now = 450;
    s.recv({ seq: R, ack: L + 100, flags: F.ACK });
    expect(s.conn.stats().srtt).toBe(0); // no sample from the ambiguous ACK
    expect(s.conn.stats().rto).toBe(400); // the backed-off RTO stays until a valid sample
    s.conn.write(new Uint8Array(200));
    s.send({ seq: L + 100, len: 200 });
    expect(s.conn.pollTimeout()).toBe(450 + 400);
    s.now = 500;
    s.recv({ seq: R, ack: L + 200, flags: F.ACK });
    expect(s.conn.pollTimeout()).toBe(500 + 400); // restarted by the ACK of new data
    expect(s.conn.stats().srtt).toBe(0); // the timed segment (ending at L+300) is not acked yet
    s.now = 550;
    s.recv({ seq: R, ack: L + 300, flags: F.ACK });
    expect(s.conn.stats().srtt).toBeCloseTo(0.875 * 0 + 0.125 * 100);
    expect(s.conn.pollTimeout()).toBeNull(); // RFC 6298 5.2: all data acknowledged
  });

  test('RTO: cwnd collapses to one segment, then grows again (RFC 5681 3.1)', () => {
    const s = established(PLAIN);
    s.conn.write(new Uint8Array(536 * 5));
    expect(s.drain()).toHaveLength(5);
    s.advance();
    expect(s.conn.stats().cwnd).toBe(536);
    expect(s.drain()).toHaveLength(1); // only the first segment is resent
    s.recv({ seq: R, ack: L + 536, flags: F.ACK });
    expect(s.drain().length).toBeGreaterThanOrEqual(1);
  });

  test('user timeout: unacknowledged data past userTimeoutMs closes with user-timeout', () => {
    const s = established({ ...PLAIN, userTimeoutMs: 2500 });
    s.conn.write(new TextEncoder().encode('x'));
    s.send();
    for (let i = 0; i < 5 && s.conn.state !== 'CLOSED'; i++) {
      s.advance();
      s.drain();
    }
    expect(s.conn.state).toBe('CLOSED');
    expect(s.now).toBe(2500);
    expect(closedError(s)?.code).toBe('user-timeout');
  });

  test('keepalive: probes <SEQ=SND.NXT-1> after idle, closes after count unanswered probes', () => {
    const s = established({ ...PLAIN, keepAlive: { enabled: true, idleMs: 1000, intervalMs: 100, count: 2 } });
    expect(s.conn.pollTimeout()).toBe(1000);
    s.advance();
    s.send({ seq: L - 1, ack: R, flags: F.ACK });
    // An answer resets the idle timer.
    s.recv({ seq: R, ack: L, flags: F.ACK });
    expect(s.conn.pollTimeout()).toBe(2000);
    s.advance();
    s.send({ seq: L - 1 });
    s.advance();
    s.send({ seq: L - 1 });
    s.advance();
    expect(closedError(s)?.code).toBe('keepalive-timeout');
  });
});

describe('CLOSE (3.10.4) and the closing states', () => {
  test('ESTABLISHED: shutdown -> FIN-WAIT-1 with the FIN after queued data; -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED', () => {
    const s = established({ ...PLAIN, timeWaitMs: 5000 });
    s.conn.write(new TextEncoder().encode('bye'));
    s.conn.shutdown();
    expect(s.conn.state).toBe('FIN-WAIT-1');
    s.send({ seq: L, flags: F.ACK | F.PSH | F.FIN, payload: 'bye' });
    expect(() => s.conn.write(new Uint8Array(1))).toThrow(TcpError);
    s.recv({ seq: R, ack: L + 4, flags: F.ACK });
    expect(s.conn.state).toBe('FIN-WAIT-2');
    // Half-close: we can still receive.
    s.recv({ seq: R, ack: L + 4, flags: F.ACK, payload: 'more' });
    s.send({ ack: R + 4 });
    s.recv({ seq: R + 4, ack: L + 4, flags: F.ACK | F.FIN });
    expect(s.conn.state).toBe('TIME-WAIT');
    s.send({ seq: L + 4, ack: R + 5, flags: F.ACK });
    expect(s.events().map((e) => e.type)).toEqual(['readable', 'peer-closed']);
    s.advance();
    expect(s.now).toBe(5000);
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)).toBeNull();
  });

  test('ESTABLISHED: FIN -> CLOSE-WAIT (peer-closed); writes still allowed; CLOSE -> LAST-ACK -> CLOSED', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN, payload: 'end' });
    expect(s.conn.state).toBe('CLOSE-WAIT');
    s.send({ ack: R + 4 });
    expect(s.events().map((e) => e.type)).toEqual(['readable', 'peer-closed']);
    expect(s.conn.readEnded).toBe(false);
    s.conn.read();
    expect(s.conn.readEnded).toBe(true);
    s.conn.write(new TextEncoder().encode('reply'));
    s.send({ seq: L, payload: 'reply' });
    s.conn.shutdown();
    expect(s.conn.state).toBe('LAST-ACK');
    s.send({ seq: L + 5, flags: F.ACK | F.FIN });
    s.recv({ seq: R + 4, ack: L + 6, flags: F.ACK });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)).toBeNull();
  });

  test('simultaneous close: FIN-WAIT-1 + FIN -> CLOSING, ACK of our FIN -> TIME-WAIT', () => {
    const s = established();
    s.conn.shutdown();
    s.send({ seq: L, flags: F.ACK | F.FIN });
    s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN });
    expect(s.conn.state).toBe('CLOSING');
    s.send({ seq: L + 1, ack: R + 1, flags: F.ACK });
    s.recv({ seq: R + 1, ack: L + 1, flags: F.ACK });
    expect(s.conn.state).toBe('TIME-WAIT');
  });

  test('FIN-WAIT-1: FIN that also acknowledges our FIN -> TIME-WAIT directly', () => {
    const s = established();
    s.conn.shutdown();
    s.send({ flags: F.ACK | F.FIN });
    s.recv({ seq: R, ack: L + 1, flags: F.ACK | F.FIN });
    expect(s.conn.state).toBe('TIME-WAIT');
    s.send({ seq: L + 1, ack: R + 1, flags: F.ACK });
  });

  test('FIN-WAIT-1: our FIN is retransmitted on timeout', () => {
    const s = established();
    s.conn.shutdown();
    s.send({ seq: L, flags: F.ACK | F.FIN });
    s.advance();
    s.send({ seq: L, flags: F.ACK | F.FIN });
  });

  test('TIME-WAIT: a retransmitted FIN is acknowledged and restarts the 2 MSL timer', () => {
    const s = established({ ...PLAIN, timeWaitMs: 1000 });
    s.conn.shutdown();
    s.send();
    s.recv({ seq: R, ack: L + 1, flags: F.ACK | F.FIN });
    s.send();
    s.now = 600;
    s.recv({ seq: R, ack: L + 1, flags: F.ACK | F.FIN });
    s.send({ seq: L + 1, ack: R + 1, flags: F.ACK });
    expect(s.conn.pollTimeout()).toBe(1600);
  });

  test('TIME-WAIT: RST at RCV.NXT closes without error', () => {
    const s = established();
    s.conn.shutdown();
    s.send();
    s.recv({ seq: R, ack: L + 1, flags: F.ACK | F.FIN });
    s.send();
    s.recv({ seq: R + 1, flags: F.RST });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)).toBeNull();
  });

  test('LAST-ACK: RST closes; FIN retransmitted on timeout before that', () => {
    const s = established();
    s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN });
    s.send();
    s.conn.shutdown();
    s.send({ seq: L, flags: F.ACK | F.FIN });
    s.advance();
    s.send({ seq: L, flags: F.ACK | F.FIN });
    s.recv({ seq: R + 1, flags: F.RST });
    expect(s.conn.state).toBe('CLOSED');
  });

  test('an out-of-order FIN is processed when the gap before it fills', () => {
    const s = established();
    s.recv({ seq: R + 2, ack: L, flags: F.ACK | F.FIN, payload: 'cd' });
    expect(s.conn.state).toBe('ESTABLISHED');
    s.send({ ack: R });
    s.recv({ seq: R, ack: L, flags: F.ACK, payload: 'ab' });
    expect(s.conn.state).toBe('CLOSE-WAIT');
    s.send({ ack: R + 5 });
    expect(text(s.conn.read()!)).toBe('abcd');
  });

  test('ABORT in ESTABLISHED sends <SEQ=SND.NXT><CTL=RST> and closes with aborted', () => {
    const s = established();
    s.conn.write(new TextEncoder().encode('x'));
    s.send();
    s.conn.abort();
    s.send({ seq: L + 1, flags: F.RST });
    expect(s.conn.state).toBe('CLOSED');
    expect(closedError(s)?.code).toBe('aborted');
    s.noSend();
  });

  test('CLOSED: a segment is answered with a RST (3.10.7.1)', () => {
    const s = established();
    s.conn.abort();
    s.drain();
    s.recv({ seq: R, ack: L + 5, flags: F.ACK, payload: 'x' });
    s.send({ seq: L + 5, flags: F.RST });
    s.recv({ seq: R, flags: 0, payload: 'xy' });
    s.send({ seq: 0, ack: R + 2, flags: F.RST | F.ACK });
    s.recv({ seq: R, flags: F.RST });
    s.noSend();
  });
});
