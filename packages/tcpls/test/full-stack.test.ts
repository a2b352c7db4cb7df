/**
 * The whole stack in memory: our TCP engine (packages/tcp) ↔ a middlebox function ↔ our TCP
 * engine, TLS 1.3 (packages/tls) on top, TCPLS on top of that. The TCP connections are the real
 * TcpControl: the TCP Options Report is built from their synInfo(), and a middlebox rewriting the
 * SYN / SYN-ACK is detected from inside TLS. A TCP Options Apply changes the peer TCP's settings.
 */
import { type SegmentOut, TcpConnection, type TcpConfig } from '@tcpls/tcp';
import type { TcpOption } from '@tcpls/tcp/wire';
import { TlsClient, TlsServer, loadKeyPem, nodeCrypto, pemCertificates } from '@tcpls/tls';
import {
  type AlertErrorFactory,
  type OptionDifference,
  type TcplsEvent,
  TcplsSession,
  TlsRecordChannel,
  tlsAlertError,
  clientTcplsExtensions,
  serverTcplsExtensions,
} from '../src/index.js';
import { ed25519Certificate, seededRandom } from './fakes.js';

/** TCPLS errors become the TLS engine's alert errors (the drivers' mapping). */
const makeError: AlertErrorFactory = tlsAlertError;
const SYN = 0x02;

let certPem = '';
let keyPem = '';
beforeAll(() => {
  ({ certPem, keyPem } = ed25519Certificate());
});

type Middlebox = (seg: SegmentOut) => SegmentOut;
const clone = (s: SegmentOut): SegmentOut => ({ ecn: s.ecn, tcp: { ...s.tcp, options: s.tcp.options.slice(), payload: s.tcp.payload.slice() } });
const onSyn = (f: (o: TcpOption[]) => TcpOption[]): Middlebox => (s) => (s.tcp.flags & SYN ? { ...s, tcp: { ...s.tcp, options: f(s.tcp.options) } } : s);
const clampMss = (mss: number) => onSyn((o) => o.map((x) => (x.kind === 'mss' ? { kind: 'mss', mss } : x)));
/** TCPOPTSTRIP / nft "reset tcp option": the option's bytes become NOPs. */
const stripToNops = (kind: TcpOption['kind'], len: number) =>
  onSyn((o) => o.flatMap((x): TcpOption[] => (x.kind === kind ? Array.from({ length: len }, () => ({ kind: 'nop' as const })) : [x])));

function run(toServer: Middlebox, toClient: Middlebox, serverPolicy?: ConstructorParameters<typeof TcplsSession>[0]['policy']) {
  const cfg: Partial<TcpConfig> = { delayedAckMs: false, nagle: false };
  const now = 0;
  const a = TcpConnection.connect({ local: { address: '10.0.0.1', port: 40000 }, remote: { address: '10.0.0.2', port: 443 }, iss: 0x11111111, now, config: cfg, tsOffset: 5 });
  let b: TcpConnection | null = null;
  const client = new TcplsSession({ role: 'client', random: seededRandom(31) });
  const server = new TcplsSession({ role: 'server', random: seededRandom(32), ...(serverPolicy ? { policy: serverPolicy } : {}) });
  const cx = clientTcplsExtensions(makeError);
  const sx = serverTcplsExtensions(makeError, () => server.serverExtensionToken());
  const tlsC = new TlsClient({ provider: nodeCrypto, random: seededRandom(41), serverName: 'localhost', verifier: null, customExtensions: cx.extensions });
  const tlsS = new TlsServer({ provider: nodeCrypto, random: seededRandom(42), certificateChain: pemCertificates(certPem), privateKey: loadKeyPem(keyPem), tickets: 0, customExtensions: sx.extensions });
  const chC: TlsRecordChannel = new TlsRecordChannel({
    tls: tlsC,
    makeError,
    onTlsEvent: (e) => {
      if (e.type === 'handshake-done' && cx.result().negotiated) {
        chC.attach(client, 0);
        client.addConnection(0, chC, a);
      }
    },
  });
  const chS: TlsRecordChannel = new TlsRecordChannel({
    tls: tlsS,
    makeError,
    onTlsEvent: (e) => {
      if (e.type === 'handshake-done' && sx.result().negotiated) {
        chS.attach(server, 0);
        server.addConnection(0, chS, b!);
      }
    },
  });
  const pendingA: Uint8Array[] = [];
  const pendingB: Uint8Array[] = [];
  let tlsStarted = false;
  const writeAll = (c: TcpConnection, q: Uint8Array[]) => {
    while (q.length > 0) {
      const n = c.write(q[0]);
      if (n === q[0].length) q.shift();
      else {
        q[0] = q[0].subarray(n);
        return;
      }
    }
  };
  const pump = () => {
    for (let step = 0; step < 10_000; step++) {
      let moved = false;
      for (let s = a.pollTransmit(now); s; s = a.pollTransmit(now)) {
        moved = true;
        const seg = toServer(clone(s));
        if (!b) b = TcpConnection.accept({ local: { address: '10.0.0.2', port: 443 }, remote: { address: '10.0.0.1', port: 40000 }, iss: 0x22222222, now, config: cfg, tsOffset: 9, syn: seg });
        else b.handleSegment(seg, now);
      }
      if (b) for (let s = b.pollTransmit(now); s; s = b.pollTransmit(now)) (moved = true), a.handleSegment(toClient(clone(s)), now);
      while (a.pollEvent());
      if (b) while (b.pollEvent());
      if (!tlsStarted && a.state === 'ESTABLISHED') {
        tlsStarted = true;
        tlsC.start(now);
      }
      if (client.stats().connections.length) client.flush(now);
      if (server.stats().connections.length) server.flush(now);
      for (let o = tlsC.pollOutput(); o; o = tlsC.pollOutput()) (moved = true), pendingA.push(o);
      for (let o = tlsS.pollOutput(); o; o = tlsS.pollOutput()) (moved = true), pendingB.push(o);
      writeAll(a, pendingA);
      if (b) writeAll(b, pendingB);
      for (let r = a.read(); r; r = a.read()) (moved = true), chC.receiveBytes(r, now);
      if (b) for (let r = b.read(); r; r = b.read()) (moved = true), chS.receiveBytes(r, now);
      if (!moved) return;
    }
    throw new Error('no quiescence');
  };
  pump();
  return { a, b: b as TcpConnection | null, client, server, pump };
}

function drain(s: TcplsSession): TcplsEvent[] {
  const out: TcplsEvent[] = [];
  for (let e = s.pollEvent(); e; e = s.pollEvent()) out.push(e);
  return out;
}
const diffs = (ev: TcplsEvent[]): OptionDifference[][] =>
  ev.flatMap((e) => (e.type === 'option-differences' ? [e.differences.map((d) => ({ ...d }))] : []));
const short = (d: OptionDifference[]) => d.map((x) => `${x.direction} ${x.field} ${JSON.stringify(x.sent)}→${JSON.stringify(x.seen)}`);

describe('full stack: TCP engine + TLS 1.3 + TCPLS, middlebox on the path', () => {
  test('clean path: TCPLS negotiated over our TCP, data flows, no option difference', () => {
    const t = run((s) => s, (s) => s);
    expect(t.a.state).toBe('ESTABLISHED');
    const s = t.client.openStream();
    s.write(new TextEncoder().encode('over real TCP'));
    t.pump();
    expect(new TextDecoder().decode(t.server.stream(0)!.read()!)).toBe('over real TCP');
    expect(diffs(drain(t.client))).toEqual([[]]);
    expect(diffs(drain(t.server))).toEqual([[]]);
  });

  test('MSS clamped on the SYN is detected by the server (peer-to-me) and the client (me-to-peer)', () => {
    const t = run(clampMss(1200), (s) => s);
    expect(diffs(drain(t.server)).map(short)).toEqual([['peer-to-me mss 1460→1200']]);
    expect(diffs(drain(t.client)).map(short)).toEqual([['me-to-peer mss 1460→1200']]);
  });

  test('SACK-permitted stripped to NOPs on the SYN-ACK: the options difference and the NOPs, nothing else', () => {
    // (Stripped on the SYN, the server would not answer with SACK-permitted at all: RFC 2018.)
    const t = run((s) => s, stripToNops('sackPermitted', 2));
    const fieldsOf = (ev: TcplsEvent[]) => diffs(ev).map((d) => d.map((x) => `${x.direction} ${x.field}`).sort());
    expect(fieldsOf(drain(t.server))).toEqual([['me-to-peer nop-padding', 'me-to-peer sackPermitted']]);
    expect(fieldsOf(drain(t.client))).toEqual([['peer-to-me nop-padding', 'peer-to-me sackPermitted']]);
  });

  test('MSS clamped on SYN and SYN-ACK (nft "tcp flags syn" matches both): one difference per direction', () => {
    const t = run(clampMss(1000), clampMss(1000));
    expect(diffs(drain(t.server)).map(short)).toEqual([['peer-to-me mss 1460→1000', 'me-to-peer mss 1460→1000']]);
    expect(diffs(drain(t.client)).map(short)).toEqual([['peer-to-me mss 1460→1000', 'me-to-peer mss 1460→1000']]);
  });

  test('TCP Options Apply: the client sets the server TCP user timeout (policy allows 30 s)', () => {
    const t = run((s) => s, (s) => s);
    drain(t.client);
    t.client.requestOption(0, { kind: 'userTimeout', granularity: 'seconds', timeout: 30 });
    t.pump();
    expect(t.b!.stats().negotiated.userTimeout).toBe(30000);
    expect(drain(t.client).map((e) => e.type)).toContain('option-applied');
  });
});
