/**
 * The session over the real TLS 1.3 engine (packages/tls), in memory: negotiation by the `tcpls`
 * extension, the first token in EncryptedExtensions, records with exact sequence numbers, alerts.
 */
import { TlsClient, TlsServer, loadKeyPem, nodeCrypto, pemCertificates } from '@tcpls/tls';
import {
  type AlertErrorFactory,
  type TcplsEvent,
  TcplsSession,
  TlsRecordChannel,
  tlsAlertError,
  clientTcplsExtensions,
  draftProfile,
  serverTcplsExtensions,
} from '../src/index.js';
import { ed25519Certificate, seededRandom } from './fakes.js';

/** TCPLS errors become the TLS engine's alert errors (the drivers' mapping). */
const makeError: AlertErrorFactory = tlsAlertError;

let certPem = '';
let keyPem = '';
beforeAll(() => {
  ({ certPem, keyPem } = ed25519Certificate());
});

function setup(opts: { serverSpeaksTcpls?: boolean; piece?: number } = {}) {
  const clientSession = new TcplsSession({ role: 'client', random: seededRandom(11) });
  const serverSession = new TcplsSession({ role: 'server', random: seededRandom(12), tokensInAdvance: 2 });
  const cx = clientTcplsExtensions(makeError);
  const sx = serverTcplsExtensions(makeError, () => serverSession.serverExtensionToken());
  const tlsC = new TlsClient({ provider: nodeCrypto, random: seededRandom(21), serverName: 'localhost', verifier: null, customExtensions: cx.extensions });
  const tlsS = new TlsServer({
    provider: nodeCrypto,
    random: seededRandom(22),
    certificateChain: pemCertificates(certPem),
    privateKey: loadKeyPem(keyPem),
    tickets: 1,
    ticketKey: new Uint8Array(32).fill(9),
    customExtensions: opts.serverSpeaksTcpls === false ? [] : sx.extensions,
  });
  const tlsEvents: { c: string[]; s: string[] } = { c: [], s: [] };
  const serverErrors: unknown[] = [];
  const closes: { c: string[]; s: string[] } = { c: [], s: [] };
  const chC: TlsRecordChannel = new TlsRecordChannel({
    tls: tlsC,
    makeError,
    onTlsEvent: (e) => {
      tlsEvents.c.push(e.type);
      if (e.type === 'handshake-done' && cx.result().negotiated) {
        const t = cx.result().token;
        if (t) clientSession.acceptExtensionToken(t);
        chC.attach(clientSession, 0);
        clientSession.addConnection(0, chC);
      }
    },
    onClose: (how) => closes.c.push(how.kind),
  });
  const chS: TlsRecordChannel = new TlsRecordChannel({
    tls: tlsS,
    makeError,
    onTlsEvent: (e) => {
      tlsEvents.s.push(e.type);
      if (e.type === 'error') serverErrors.push((e as unknown as { error: unknown }).error);
      if (e.type === 'handshake-done' && sx.result().negotiated) {
        chS.attach(serverSession, 0);
        serverSession.addConnection(0, chS);
      }
    },
    onClose: (how) => closes.s.push(how.kind),
  });
  /** Moves TLS output both ways (as TCP would), flushing the sessions, until idle. */
  const pump = (now = 0) => {
    for (let i = 0; i < 1000; i++) {
      if (!clientSession.closed && clientSession.stats().connections.length) clientSession.flush(now);
      if (!serverSession.closed && serverSession.stats().connections.length) serverSession.flush(now);
      const a = tlsC.pollOutput();
      const b = tlsS.pollOutput();
      if (!a && !b) return;
      // TCP may hand over any split of the byte stream: feed it in pieces when asked
      const feed = (ch: TlsRecordChannel, bytes: Uint8Array) => {
        const n = opts.piece ?? bytes.length;
        for (let i = 0; i < bytes.length; i += n) ch.receiveBytes(bytes.subarray(i, i + n), 0);
      };
      if (a) feed(chS, a);
      if (b) feed(chC, b);
    }
    throw new Error('livelock');
  };
  tlsC.start(0);
  return { clientSession, serverSession, cx, sx, tlsC, tlsS, tlsEvents, serverErrors, closes, pump };
}

function events(s: TcplsSession): TcplsEvent[] {
  const out: TcplsEvent[] = [];
  for (let e = s.pollEvent(); e; e = s.pollEvent()) out.push(e);
  return out;
}

describe('TCPLS over the TLS 1.3 engine (in memory)', () => {
  test('tcpls is offered in ClientHello, echoed in EncryptedExtensions with the first token', () => {
    const t = setup();
    t.pump();
    expect(t.tlsEvents.c).toContain('handshake-done');
    expect(t.cx.result().negotiated).toBe(true);
    expect(t.sx.result().negotiated).toBe(true);
    expect(t.cx.result().token).toEqual(t.serverSession.serverExtensionToken());
    // EE token (1) + 2 tokens in advance
    expect(events(t.clientSession).filter((e) => e.type === 'token').map((e) => (e.type === 'token' ? e.sequence : 0))).toEqual([1, 2, 3]);
    expect(t.tlsC.peerCustomExtensions.get(draftProfile.extensions.tcpls)).toEqual(new Uint8Array(0));
  });

  test('a server without TCPLS does not echo: the client stays plain TLS', () => {
    const t = setup({ serverSpeaksTcpls: false });
    t.pump();
    expect(t.tlsEvents.c).toContain('handshake-done');
    expect(t.cx.result()).toEqual({ negotiated: false, token: null });
    expect(t.clientSession.stats().connections).toHaveLength(0);
  });

  test('streams both ways; ACKs carry the TLS record sequence numbers', () => {
    const t = setup();
    t.pump();
    const s = t.clientSession.openStream();
    s.write(new TextEncoder().encode('hello over TLS'));
    s.end();
    t.pump();
    const peer = t.serverSession.stream(0)!;
    expect(new TextDecoder().decode(peer.read()!)).toBe('hello over TLS');
    peer.write(new TextEncoder().encode('and back'));
    peer.end();
    t.pump();
    expect(new TextDecoder().decode(t.clientSession.stream(0)!.read()!)).toBe('and back');
    // Delayed ACKs (docs/wire-format.md §3.3) go out once the 25 ms ACK delay has passed.
    t.pump(100);
    const c = t.clientSession.stats().connections[0];
    const sv = t.serverSession.stats().connections[0];
    // both sides number records the TLS way, so the receiver's view matches the sender's
    expect(c.highestReceivedSeq).toBe(sv.highestSentSeq);
    expect(sv.highestReceivedSeq).toBe(c.highestSentSeq);
    // the server's NewSessionTicket took a record sequence number too: exactly one non-TCPLS record
    expect(sv.highestSentSeq).toBe(BigInt(sv.recordsSent));
    // the last ack-eliciting record of each side was acknowledged (ACK-only records are not)
    expect(sv.highestAckedSeq).toBe(sv.highestSentSeq);
    expect(c.highestAckedSeq).toBeGreaterThanOrEqual(0n);
    expect(c.highestAckedSeq).toBeLessThanOrEqual(c.highestSentSeq);
  });

  for (const piece of [1, 7, 1000]) {
    test(`TCP bytes arriving in ${piece}-byte pieces: records reassembled, same data and numbering`, () => {
      const t = setup({ piece });
      t.pump();
      const s = t.clientSession.openStream();
      s.write(new Uint8Array(3000).fill(5));
      t.pump();
      expect(t.serverSession.stream(0)!.read()).toEqual(new Uint8Array(3000).fill(5));
      expect(t.clientSession.stats().connections[0].highestReceivedSeq).toBe(t.serverSession.stats().connections[0].highestSentSeq);
    });
  }

  test('a TCPLS error becomes the documented TLS alert at the peer', () => {
    const t = setup();
    t.pump();
    // a client-parity stream the client never opened, written raw by the server's TLS: stream-id → illegal_parameter
    const rec = draftProfile.encodeFrames([{ type: 'stream', streamId: 0, offset: 0n, data: Uint8Array.of(1), fin: false }]);
    t.tlsS.write(rec);
    t.pump();
    const ev = events(t.clientSession);
    const closed = ev.find((e) => e.type === 'closed');
    expect(closed && closed.type === 'closed' && closed.error?.code).toBe('stream-id');
    expect(t.closes.c).toEqual(['alert']);
    // the server's TLS received the fatal alert: illegal_parameter (47)
    expect(t.serverErrors).toHaveLength(1);
    expect(t.serverErrors[0]).toMatchObject({ code: 'alert-received', alert: 47 });
    expect(t.serverSession.closed).toBe(true);
  });

  test('graceful close: close_notify both ways', () => {
    const t = setup();
    t.pump();
    t.clientSession.openStream().write(Uint8Array.of(1, 2, 3));
    t.clientSession.close();
    t.pump();
    expect(t.clientSession.closed).toBe(true);
    expect(t.tlsEvents.s).toContain('close-notify');
    expect(t.serverSession.closed).toBe(true);
    expect(t.tlsEvents.c).toContain('close-notify');
    expect(t.closes).toEqual({ c: ['close_notify'], s: ['close_notify'] });
  });
});
