import fc from 'fast-check';
import { DEFAULT_RECEIVE_WINDOW, type Frame, type TcplsEvent, type TcplsSession, TcplsError, draftProfile } from '../src/index.js';
import { sessionFrameArb } from './arbitraries.js';
import { FakeChannel, FakeTcp, clientSyn, makePair, serverSynAck } from './fakes.js';

const enc = (frames: Frame[]) => draftProfile.encodeFrames(frames);
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function readAll(s: TcplsSession, id: number): Uint8Array {
  const st = s.stream(id);
  const parts: Uint8Array[] = [];
  for (let b = st?.read() ?? null; b; b = st?.read() ?? null) parts.push(b);
  return Buffer.concat(parts);
}

function connected(clientOpts = {}, serverOpts = {}) {
  const p = makePair(clientOpts, serverOpts);
  const ch = p.addConnection(0);
  p.pump();
  p.events(p.client);
  p.events(p.server);
  return { ...p, ch };
}

function closedError(events: TcplsEvent[]): TcplsError | undefined {
  const e = events.find((x) => x.type === 'closed');
  return e && e.type === 'closed' ? e.error : undefined;
}

describe('TcplsSession streams, end to end over fake record channels', () => {
  test('streams opened by both sides get even (client) and odd (server) ids, data interleaved both ways', () => {
    const p = connected();
    const a = p.client.openStream();
    const b = p.client.openStream();
    const c = p.server.openStream();
    expect([a.id, b.id, c.id]).toEqual([0, 2, 1]);
    a.write(text('a1 '));
    c.write(text('c1 '));
    b.write(text('b1 '));
    p.pump();
    a.write(text('a2'));
    c.write(text('c2'));
    b.write(text('b2'));
    p.pump();
    const se = p.events(p.server);
    expect(se.filter((e) => e.type === 'stream-opened').map((e) => (e.type === 'stream-opened' ? e.streamId : -1))).toEqual([0, 2]);
    expect(p.events(p.client).filter((e) => e.type === 'stream-opened')).toEqual([{ type: 'stream-opened', streamId: 1 }]);
    expect(str(readAll(p.server, 0))).toBe('a1 a2');
    expect(str(readAll(p.server, 2))).toBe('b1 b2');
    expect(str(readAll(p.client, 1))).toBe('c1 c2');
    // peer-opened streams are bidirectional
    p.server.stream(0)!.write(text('reply'));
    p.pump();
    expect(str(readAll(p.client, 0))).toBe('reply');
  });

  test('FIN: the reader sees stream-finished, reads the rest, then readableEnded; both ends done → forgotten', () => {
    const p = connected();
    const s = p.client.openStream();
    s.write(text('last words'));
    s.end();
    p.pump();
    const ev = p.events(p.server);
    expect(ev.map((e) => e.type)).toEqual(['stream-opened', 'stream-data', 'stream-finished']);
    const peer = p.server.stream(0)!;
    expect(peer.readableEnded).toBe(false);
    expect(str(peer.read())).toBe('last words');
    expect(peer.readableEnded).toBe(true);
    expect(peer.read()).toBeNull();
    peer.end();
    p.pump();
    expect(p.server.stream(0)).toBeUndefined(); // FIN sent and FIN read
    expect(p.events(p.client).map((e) => e.type)).toEqual(['stream-finished']);
    expect(s.readableEnded).toBe(true);
    expect(p.client.stream(0)).toBeUndefined();
  });

  test('backpressure: a reader that does not read stops the sender at one window; reading frees credit', () => {
    const p = connected({}, { receiveWindow: 65536 });
    const s = p.client.openStream();
    const data = pattern(200_000, 7);
    const accepted = s.write(data);
    expect(accepted).toBe(200_000);
    p.pump();
    const peer = p.server.stream(0)!;
    expect(peer.readable).toBe(65536); // the initial window, no more
    expect(s.sendCredit).toBe(0);
    expect(s.queued).toBe(200_000 - 65536);
    const got: Uint8Array[] = [];
    for (let i = 0; i < 100 && got.reduce((n, b) => n + b.length, 0) < data.length; i++) {
      const b = peer.read(40_000);
      if (b) got.push(b);
      p.pump();
      expect(peer.readable).toBeLessThanOrEqual(65536 + 40_000); // bounded by granted credit
    }
    expect(Buffer.concat(got).equals(Buffer.from(data))).toBe(true);
  });

  test('the sender uses the window the receiver announced, not its own (1 MiB default vs 64 KiB)', () => {
    // Small sender window, default (1 MiB) receiver: the receiver's announcement lets 200 kB through.
    const a = connected({ receiveWindow: 65536 }, {});
    const s = a.client.openStream();
    s.write(pattern(200_000, 3));
    a.pump();
    expect(a.server.stream(0)!.readable).toBe(200_000);
    // Large sender window, small receiver: the sender stops at the receiver's 64 KiB.
    const b = connected({ receiveWindow: 4 << 20 }, { receiveWindow: 65536 });
    const t = b.client.openStream();
    t.write(pattern(200_000, 4));
    b.pump();
    expect(b.server.stream(0)!.readable).toBe(65536);
    expect(t.sendCredit).toBe(0);
  });

  test('a stalled stream does not block another stream on the same connection', () => {
    const p = connected();
    const slow = p.client.openStream();
    const fast = p.client.openStream();
    slow.write(pattern(100_000, 1));
    p.pump();
    fast.write(text('urgent'));
    p.pump();
    expect(str(p.server.stream(2)!.read())).toBe('urgent');
  });

  test('write accepts at most the send-buffer limit and returns the count (backpressure to the app)', () => {
    const p = connected({ sendBufferLimit: 1000 });
    const s = p.client.openStream();
    expect(s.write(pattern(1500, 0))).toBe(1000);
    expect(s.write(pattern(10, 0))).toBe(0);
    p.pump();
    expect(s.write(pattern(10, 0))).toBe(10);
  });

  test('records never exceed the channel limit and 2^14 bytes', () => {
    const p = makePair();
    const ch = p.addConnection(0);
    ch.c.maxPlaintext = 1000;
    const s = p.client.openStream();
    s.write(pattern(50_000, 3));
    p.client.flush(0);
    expect(ch.c.outbox.length).toBeGreaterThan(1);
    for (const r of ch.c.outbox) expect(r.plaintext.length).toBeLessThanOrEqual(1000);
    p.pump();
    expect(Buffer.from(readAll(p.server, 0)).equals(Buffer.from(pattern(50_000, 3)))).toBe(true);
  });

  test('channel capacity limits how much stream data one flush sends', () => {
    const p = makePair();
    const ch = p.addConnection(0);
    p.pump();
    ch.c.capacity = 3000;
    p.client.openStream().write(pattern(20_000, 3));
    p.client.flush(0);
    const bytes = ch.c.outbox.reduce((n, r) => n + r.plaintext.length + 22, 0);
    expect(bytes).toBeLessThanOrEqual(3000);
    expect(bytes).toBeGreaterThan(2000);
  });

  test('implicit opening: a frame on stream 4 opens 0, 2 and 4', () => {
    const p = connected();
    p.server.receiveRecord(0, 0n, enc([{ type: 'stream', streamId: 4, offset: 0n, data: text('x'), fin: false }]), 0);
    expect(p.events(p.server).filter((e) => e.type === 'stream-opened')).toEqual([
      { type: 'stream-opened', streamId: 0 },
      { type: 'stream-opened', streamId: 2 },
      { type: 'stream-opened', streamId: 4 },
    ]);
  });

  test('stream data arriving out of order over two connections is reassembled', () => {
    const p = makePair();
    p.addConnection(0);
    p.addConnection(1);
    p.server.receiveRecord(1, 0n, enc([{ type: 'stream', streamId: 0, offset: 5n, data: text('world'), fin: true }]), 0);
    expect(p.server.stream(0)!.readable).toBe(0);
    p.server.receiveRecord(0, 0n, enc([{ type: 'stream', streamId: 0, offset: 0n, data: text('hello'), fin: false }]), 0);
    expect(str(readAll(p.server, 0))).toBe('helloworld');
    expect(p.events(p.server).map((e) => e.type)).toEqual(['stream-opened', 'stream-data', 'stream-finished']);
  });

  test('out-of-order chunks in any order, overlapping or repeated, are reassembled exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(299), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 60 }),
        fc.nat(),
        (cuts, seed) => {
          const data = pattern(300, seed & 0xff);
          const p = connected();
          // Random (possibly overlapping) pieces, then pieces that cover everything, in reverse.
          const pieces = cuts.map(([o, n]) => [o, Math.min(300, o + n)] as const);
          for (let o = 280; o >= 0; o -= 20) pieces.push([o, o + 20]);
          let seq = 0n;
          for (const [a, b] of pieces) {
            const frame: Frame = { type: 'stream', streamId: 0, offset: BigInt(a), data: data.subarray(a, b), fin: false };
            p.server.receiveRecord(0, seq++, enc([frame]), 0);
          }
          expect(p.server.closed).toBe(false);
          expect(Buffer.from(readAll(p.server, 0))).toEqual(Buffer.from(data));
        },
      ),
      { numRuns: 50 },
    );
  });

  test('thousands of one-byte chunks arriving in reverse order are reassembled', () => {
    const p = connected();
    const n = 4096;
    const data = pattern(n, 7);
    for (let o = n - 1; o >= 0; o--) {
      p.server.receiveRecord(0, BigInt(n - 1 - o), enc([{ type: 'stream', streamId: 0, offset: BigInt(o), data: data.subarray(o, o + 1), fin: false }]), 0);
    }
    expect(Buffer.from(readAll(p.server, 0))).toEqual(Buffer.from(data));
  });

  test('duplicated stream data (replayed record) is delivered once', () => {
    const p = connected();
    const rec = enc([{ type: 'stream', streamId: 0, offset: 0n, data: text('abc'), fin: false }]);
    p.server.receiveRecord(0, 0n, rec, 0);
    p.server.receiveRecord(0, 1n, rec, 0);
    expect(str(p.server.stream(0)!.read())).toBe('abc');
    expect(p.server.closed).toBe(false);
  });
});

describe('TcplsSession record ACKs and Ping', () => {
  test('ACKs are delayed: none before the deadline, one at it (25 ms); ACK-only records are not acknowledged (quiescence)', () => {
    const p = connected({}, { receiveWindow: 65536 }); // no window announcement to piggyback on
    p.client.openStream().write(text('x'));
    p.client.flush(0);
    const { c: cc, s: sc } = p.channels.get(0)!;
    for (const r of cc.outbox.splice(0)) p.server.receiveRecord(0, r.seq, r.plaintext, 0);
    expect(p.server.nextTimeout()).toBe(25);
    p.server.flush(10);
    expect(sc.outbox).toHaveLength(0); // not yet due, and nothing to piggyback on
    p.server.flush(25);
    expect(sc.outbox).toHaveLength(1);
    expect(p.server.nextTimeout()).toBeNull();
    for (const r of sc.outbox.splice(0)) p.client.receiveRecord(0, r.seq, r.plaintext, 30);
    p.client.flush(100);
    expect(cc.outbox).toHaveLength(0); // the ACK-only record elicits nothing
    const c = p.client.stats().connections[0];
    expect(c.highestSentSeq).toBeGreaterThanOrEqual(0n);
    expect(c.highestAckedSeq).toBe(c.highestSentSeq);
    expect(p.server.stats().connections[0].highestReceivedSeq).toBe(c.highestSentSeq);
  });

  test('one ACK per ackEveryRecords (16) ack-eliciting records, not one per record', () => {
    // receiveWindow = the initial credit: the server announces nothing, so it has no record of its own to piggyback on.
    const p = connected({}, { receiveWindow: 65536 });
    const { c: cc, s: sc } = p.channels.get(0)!;
    const st = p.client.openStream();
    for (let i = 0; i < 48; i++) {
      st.write(text('y'));
      p.client.flush(0);
    }
    const recs = cc.outbox.splice(0);
    expect(recs.length).toBeGreaterThanOrEqual(48);
    let acks = 0;
    for (const r of recs) {
      p.server.receiveRecord(0, r.seq, r.plaintext, 0);
      p.server.flush(0);
      for (const out of sc.outbox.splice(0)) if (draftProfile.decodeFrames(out.plaintext).some((f) => f.type === 'ack')) acks++;
    }
    expect(acks).toBe(Math.floor(recs.length / 16));
  });

  test('a pending ACK rides along in a record the receiver sends anyway', () => {
    const p = connected();
    const { c: cc, s: sc } = p.channels.get(0)!;
    p.client.openStream().write(text('q'));
    p.client.flush(0);
    for (const r of cc.outbox.splice(0)) p.server.receiveRecord(0, r.seq, r.plaintext, 0);
    p.server.stream(0)!.write(text('answer'));
    p.server.flush(1);
    const out = sc.outbox.splice(0);
    expect(out).toHaveLength(1);
    const types = draftProfile.decodeFrames(out[0].plaintext).map((f) => f.type);
    expect(types).toContain('ack');
    expect(types).toContain('stream');
  });

  test('Ping is answered by an ACK; ping-ack reports the RTT', () => {
    const p = connected();
    p.client.ping(0);
    p.client.flush(100);
    const { c, s } = p.channels.get(0)!;
    for (const r of c.outbox.splice(0)) p.server.receiveRecord(0, r.seq, r.plaintext, 110);
    p.server.flush(110);
    for (const r of s.outbox.splice(0)) p.client.receiveRecord(0, r.seq, r.plaintext, 130);
    expect(p.events(p.client)).toEqual([{ type: 'ping-ack', connection: 0, rtt: 30 }]);
  });

  test('Ping on a second connection is sent and acknowledged on that connection', () => {
    const p = makePair();
    p.addConnection(0);
    const ch1 = p.addConnection(1);
    p.pump();
    p.events(p.client);
    p.client.ping(1);
    p.client.flush(0);
    expect(ch1.c.outbox).toHaveLength(1);
    p.pump();
    expect(p.events(p.client)).toEqual([{ type: 'ping-ack', connection: 1, rtt: 0 }]);
    expect(p.client.stats().connections[1].highestAckedSeq).toBe(0n);
  });
});

describe('TcplsSession tokens', () => {
  test('the server hands out tokens in advance (New Token 2..5) after the EE token (1)', () => {
    const p = makePair({}, { tokensInAdvance: 4 });
    const eeToken = p.server.serverExtensionToken();
    p.client.acceptExtensionToken(eeToken);
    p.addConnection(0);
    p.pump();
    expect(p.events(p.client).filter((e) => e.type === 'token')).toEqual([1, 2, 3, 4, 5].map((sequence) => ({ type: 'token', sequence })));
    expect(p.client.stats().tokensHeld).toBe(5);
    const t1 = p.client.takeToken()!;
    expect(t1.sequence).toBe(1);
    expect(t1.token).toEqual(eeToken);
    const t2 = p.client.takeToken()!;
    expect(t2.sequence).toBe(2);
    // single use on the server; a consumed token is replaced
    expect(p.server.consumeToken(t2.token)).toBe(2);
    expect(p.server.consumeToken(t2.token)).toBeUndefined();
    expect(p.server.consumeToken(new Uint8Array(32))).toBeUndefined();
    p.pump();
    expect(p.events(p.client)).toContainEqual({ type: 'token', sequence: 6 });
  });

  test('tokens are distinct and come from the injected random source (reproducible)', () => {
    const run = () => {
      const p = makePair({}, { tokensInAdvance: 3 });
      p.addConnection(0);
      p.pump();
      return [p.client.takeToken()!, p.client.takeToken()!, p.client.takeToken()!].map((t) => Buffer.from(t.token).toString('hex'));
    };
    const a = run();
    expect(new Set(a).size).toBe(3);
    expect(run()).toEqual(a);
  });
});

describe('TcplsSession peer errors close the session with the documented alert (docs/wire-format.md §4)', () => {
  const cases: [string, 'client' | 'server', Frame[] | Uint8Array, string, string][] = [
    ['New Token sent by a client', 'server', [{ type: 'new-token', sequence: 2, token: new Uint8Array(32) }], 'frame-not-allowed', 'unexpected_message'],
    ['New Token with a sequence already received', 'client', [{ type: 'new-token', sequence: 2, token: new Uint8Array(32) }, { type: 'new-token', sequence: 2, token: new Uint8Array(32) }], 'bad-token', 'illegal_parameter'],
    ['stream of the receiver parity it never opened (wrong parity opening)', 'server', [{ type: 'stream', streamId: 1, offset: 0n, data: text('x'), fin: false }], 'stream-id', 'illegal_parameter'],
    ['stream of the client parity it never opened', 'client', [{ type: 'stream', streamId: 0, offset: 0n, data: text('x'), fin: false }], 'stream-id', 'illegal_parameter'],
    ['Max Stream Data for a stream of ours never opened', 'server', [{ type: 'max-stream-data', streamId: 3, maxOffset: 1n }], 'stream-id', 'illegal_parameter'],
    [
      'data past FIN',
      'server',
      [
        { type: 'stream', streamId: 0, offset: 0n, data: text('abc'), fin: true },
        { type: 'stream', streamId: 0, offset: 3n, data: text('d'), fin: false },
      ],
      'stream-state',
      'illegal_parameter',
    ],
    [
      'a second FIN with another final size',
      'server',
      [
        { type: 'stream', streamId: 0, offset: 0n, data: text('abc'), fin: true },
        { type: 'stream', streamId: 0, offset: 0n, data: text('ab'), fin: true },
      ],
      'stream-state',
      'illegal_parameter',
    ],
    ['data past the granted credit', 'server', [{ type: 'stream', streamId: 0, offset: BigInt(DEFAULT_RECEIVE_WINDOW), data: text('x'), fin: false }], 'flow-control', 'illegal_parameter'],
    ['offset near 2^64', 'server', [{ type: 'stream', streamId: 0, offset: (1n << 64n) - 2n, data: text('x'), fin: false }], 'flow-control', 'illegal_parameter'],
    ['more streams than maxPeerStreams', 'server', [{ type: 'stream', streamId: 2 * 128, offset: 0n, data: text('x'), fin: false }], 'stream-limit', 'illegal_parameter'],
    ['ACK of records never sent', 'server', [{ type: 'ack', connectionId: 0, highestSeq: 1000n }], 'bad-ack', 'illegal_parameter'],
    ['ACK for an unknown connection', 'server', [{ type: 'ack', connectionId: 9, highestSeq: 0n }], 'bad-ack', 'illegal_parameter'],
    ['Stream Change (not supported)', 'client', [{ type: 'stream-change', streamId: 1, offset: 0n }], 'frame-not-allowed', 'unexpected_message'],
    ['report about an unknown connection', 'client', [{ type: 'tcp-options-report', connectionId: 5, sent: null, received: null }], 'unknown-connection', 'illegal_parameter'],
    ['unknown frame type', 'server', Uint8Array.of(0x7f), 'unknown-frame', 'unexpected_message'],
    ['truncated frame', 'server', Uint8Array.of(0, 0, 4), 'frame-encoding', 'decode_error'],
  ];
  for (const [name, victim, rec, code, alert] of cases) {
    test(`${name} → ${code}, ${alert} on every connection`, () => {
      const p = makePair();
      p.addConnection(0);
      p.addConnection(1);
      const target = victim === 'server' ? p.server : p.client;
      const plaintext = rec instanceof Uint8Array ? rec : enc(rec);
      target.receiveRecord(0, 0n, plaintext, 0);
      const err = closedError(p.events(target));
      expect(err).toBeInstanceOf(TcplsError);
      expect(err!.code).toBe(code);
      expect(err!.alert).toBe(alert);
      expect(target.closed).toBe(true);
      for (const { c, s } of p.channels.values()) {
        const ch: FakeChannel = victim === 'server' ? s : c;
        expect(ch.closedWith).toMatchObject({ kind: 'alert', alert });
      }
      // a closed session ignores further records and sends nothing
      target.receiveRecord(0, 1n, enc([{ type: 'ping' }]), 0);
      target.flush(0);
      for (const { c, s } of p.channels.values()) expect((victim === 'server' ? s : c).outbox).toHaveLength(0);
    });
  }

  test('a frame for a stream closed on both sides is discarded (failover may replay records)', () => {
    const p = connected();
    const s = p.client.openStream();
    s.write(text('a'));
    s.end();
    p.pump();
    p.server.stream(0)!.read();
    p.server.stream(0)!.end();
    p.pump();
    expect(p.server.stream(0)).toBeUndefined();
    p.server.receiveRecord(0, 99n, enc([{ type: 'stream', streamId: 0, offset: 0n, data: text('a'), fin: true }]), 0);
    expect(p.server.closed).toBe(false);
  });
});

describe('TcplsSession API misuse is thrown locally (api-misuse / closed), nothing sent', () => {
  test('write after end', () => {
    const p = connected();
    const s = p.client.openStream();
    s.end();
    expect(() => s.write(text('x'))).toThrow(expect.objectContaining({ code: 'api-misuse', alert: undefined }));
  });
  test('write on a forgotten stream, unknown connection, use after close', () => {
    const p = connected();
    const s = p.client.openStream();
    s.end();
    p.pump();
    p.server.stream(0)!.end();
    p.pump();
    expect(p.client.stream(0)).toBeUndefined();
    expect(() => s.end()).toThrow(expect.objectContaining({ code: 'api-misuse' }));
    expect(() => p.client.ping(7)).toThrow(expect.objectContaining({ code: 'api-misuse' }));
    p.client.close();
    expect(() => p.client.openStream()).toThrow(expect.objectContaining({ code: 'closed' }));
  });
  test('a driver feeding a record for a connection never added is a programming error', () => {
    const p = connected();
    expect(() => p.server.receiveRecord(3, 0n, enc([{ type: 'ping' }]), 0)).toThrow(expect.objectContaining({ code: 'api-misuse' }));
  });
});

describe('TcplsSession close (docs/wire-format.md §5)', () => {
  test('graceful close flushes data, then close_notify on the last connection; the peer answers', () => {
    const p = connected();
    const s = p.client.openStream();
    s.write(pattern(100, 1));
    p.client.close();
    p.pump();
    expect(p.events(p.client)).toContainEqual({ type: 'closed' });
    expect(p.ch.c.closedWith).toEqual({ kind: 'close_notify' });
    expect(Buffer.from(readAll(p.server, 0))).toEqual(Buffer.from(pattern(100, 1)));
    expect(p.events(p.server).map((e) => e.type)).toContain('stream-finished');
    // the driver reports the peer's close_notify
    p.server.connectionClosed(0);
    expect(p.ch.s.closedWith).toEqual({ kind: 'close_notify' });
    expect(p.events(p.server)).toContainEqual({ type: 'closed' });
  });

  test('graceful close waits for credit before closing', () => {
    const p = connected({}, { receiveWindow: 65536 });
    p.client.openStream().write(pattern(100_000, 2));
    p.client.close();
    p.pump();
    expect(p.client.closed).toBe(false);
    expect(p.ch.c.closedWith).toBeUndefined();
    for (let i = 0; i < 10 && !p.client.closed; i++) {
      readAll(p.server, 0);
      p.pump();
    }
    expect(p.client.closed).toBe(true);
    expect(p.ch.c.closedWith).toEqual({ kind: 'close_notify' });
  });

  test('with two connections: Connection Reset for the other one, close_notify on the last', () => {
    const p = makePair();
    const ch0 = p.addConnection(0);
    const ch1 = p.addConnection(1);
    p.pump();
    p.events(p.server);
    p.client.close();
    p.pump();
    expect(ch1.c.closedWith).toEqual({ kind: 'fin' });
    expect(ch0.c.closedWith).toEqual({ kind: 'close_notify' });
    expect(p.events(p.server)).toContainEqual({ type: 'connection-reset', connection: 1 });
    expect(ch1.s.closedWith).toEqual({ kind: 'fin' });
    expect(p.server.closed).toBe(false);
    p.server.connectionClosed(0);
    expect(p.server.closed).toBe(true);
  });

  test('resetConnection abandons one path; the session carries on over the other', () => {
    const p = makePair();
    p.addConnection(0);
    const ch1 = p.addConnection(1);
    p.pump();
    p.client.resetConnection(0);
    const s = p.client.openStream();
    s.write(text('still here'));
    p.pump();
    expect(p.events(p.server)).toContainEqual({ type: 'connection-reset', connection: 0 });
    expect(str(p.server.stream(0)!.read())).toBe('still here');
    expect(ch1.c.sent).toBeGreaterThan(0);
    expect(() => p.client.resetConnection(1)).toThrow(expect.objectContaining({ code: 'api-misuse' }));
  });
});

describe('TcplsSession connection scheduler hook', () => {
  test('a scheduler that picks connection 1 moves stream data there; per-connection frames stay put', () => {
    const p = makePair({ scheduler: (open) => open[open.length - 1].id });
    const ch0 = p.addConnection(0);
    const ch1 = p.addConnection(1);
    p.pump();
    const before0 = ch0.c.sent;
    p.client.openStream().write(pattern(5000, 1));
    p.client.flush(0);
    expect(ch0.c.sent).toBe(before0);
    expect(ch1.c.outbox.length).toBeGreaterThan(0);
    p.pump();
    expect(Buffer.from(readAll(p.server, 0)).equals(Buffer.from(pattern(5000, 1)))).toBe(true);
  });

  test('a scheduler that names a connection that is not open is a programming error', () => {
    const p = makePair({ scheduler: () => 7 });
    p.addConnection(0);
    expect(() => p.client.flush(0)).toThrow(expect.objectContaining({ code: 'api-misuse' }));
  });
});

describe('TcplsSession addresses', () => {
  test('New Address / Remove Address reach the peer as events', () => {
    const p = connected();
    p.server.advertiseAddress(1, 6, Uint8Array.from({ length: 16 }, (_, i) => i), 443);
    p.pump();
    expect(p.events(p.client)).toEqual([
      { type: 'address-added', addressId: 1, version: 6, address: Uint8Array.from({ length: 16 }, (_, i) => i), port: 443 },
    ]);
    p.server.removeAddress(1);
    p.server.removeAddress(2); // unknown: ignored by the peer
    p.pump();
    expect(p.events(p.client)).toEqual([{ type: 'address-removed', addressId: 1 }]);
  });
});

describe('TcplsSession under hostile input (fast-check)', () => {
  test('any sequence of records never throws out of receiveRecord/flush; a close always carries an alert; buffers stay bounded', () => {
    fc.assert(
      fc.property(fc.constantFrom('client' as const, 'server' as const), fc.array(fc.array(sessionFrameArb, { minLength: 1, maxLength: 6 }), { maxLength: 25 }), (victim, records) => {
        const p = makePair();
        p.addConnection(0, new FakeTcp({ sent: clientSyn(), received: serverSynAck() }), new FakeTcp({ sent: serverSynAck(), received: clientSyn() }));
        p.addConnection(1);
        p.client.openStream().write(text('hello'));
        p.server.openStream().write(text('hello'));
        p.pump();
        const target = victim === 'server' ? p.server : p.client;
        let seq = 100n;
        for (const frames of records) {
          target.receiveRecord(0, seq++, enc(frames), 0);
          target.flush(0);
          if (target.closed) break;
          for (let id = 0; id < 10; id++) expect(target.stream(id)?.readable ?? 0).toBeLessThanOrEqual(65536 + 64);
        }
        if (target.closed && target.closeError) expect(target.closeError.alert).toBeDefined();
      }),
      { numRuns: 400 },
    );
  });
});
