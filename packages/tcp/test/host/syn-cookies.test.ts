import { SynCookieJar } from '../../src/host/syn-cookies.js';
import { TcpFlag, type TcpRepr } from '../../src/wire/types.js';

const local = { address: '10.0.0.2', port: 80 };
const remote = { address: '10.0.0.1', port: 40000 };
const secret = new Uint8Array(32).fill(7);

function syn(options: TcpRepr['options']): TcpRepr {
  return { srcPort: remote.port, dstPort: local.port, seq: 0xfffffff0, ack: 0, flags: TcpFlag.SYN, window: 64240, urgent: 0, options, payload: new Uint8Array(0) };
}

function ackFor(synAck: TcpRepr, s: TcpRepr): TcpRepr {
  return { srcPort: remote.port, dstPort: local.port, seq: (s.seq + 1) >>> 0, ack: (synAck.seq + 1) >>> 0, flags: TcpFlag.ACK, window: 502, urgent: 0, options: [], payload: new Uint8Array(0) };
}

describe('SYN cookies (RFC 4987 3.6)', () => {
  const jar = new SynCookieJar(secret);

  test('the ACK of a cookie SYN-ACK recovers the peer ISN, MSS bucket, window scale, SACK and timestamps', () => {
    const s = syn([{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 5, tsEcr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: 9 }]);
    const sa = jar.synAck(local, remote, s, 1000, 1460);
    expect(sa.flags).toBe(TcpFlag.SYN | TcpFlag.ACK);
    expect(sa.ack).toBe((s.seq + 1) >>> 0);
    const p = jar.check(local, remote, ackFor(sa, s), 2000);
    expect(p).toEqual({ iss: sa.seq, irs: s.seq, mss: 1460, sndWscale: 9, rcvWscale: jar.ourWscale, sack: true, timestamps: true, tsOffset: jar.tsOffset });
  });

  test('without options the cookie remembers none and the smallest MSS bucket', () => {
    const s = syn([]);
    const sa = jar.synAck(local, remote, s, 0, 1460);
    expect(sa.options.some((o) => o.kind === 'wscale' || o.kind === 'sackPermitted' || o.kind === 'timestamps')).toBe(false);
    const p = jar.check(local, remote, ackFor(sa, s), 0)!;
    expect(p.mss).toBe(536);
    expect(p.sndWscale).toBeNull();
    expect(p.rcvWscale).toBeNull();
    expect(p.sack).toBe(false);
    expect(p.timestamps).toBe(false);
  });

  test('an MSS between buckets rounds down (never announce more than the peer can take)', () => {
    const s = syn([{ kind: 'mss', mss: 1400 }]);
    const sa = jar.synAck(local, remote, s, 0, 1460);
    expect(jar.check(local, remote, ackFor(sa, s), 0)!.mss).toBe(1220);
  });

  test('the cookie SYN-ACK advertises min(receive buffer, 65535), unscaled (RFC 7323 2.2)', () => {
    const s = syn([{ kind: 'mss', mss: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }]);
    expect(jar.synAck(local, remote, s, 0, 1460).window).toBe(65535);
    expect(jar.synAck(local, remote, s, 0, 1460, 4096).window).toBe(4096);
    expect(jar.synAck(local, remote, s, 0, 1460, 1 << 20).window).toBe(65535);
  });

  test('the first of each SYN option counts, as for a connection (a second MSS is ignored)', () => {
    const s = syn([{ kind: 'mss', mss: 536 }, { kind: 'mss', mss: 1460 }]);
    const sa = jar.synAck(local, remote, s, 0, 1460);
    expect(jar.check(local, remote, ackFor(sa, s), 0)!.mss).toBe(536);
  });

  test('a cookie is rejected for another 4-tuple, a changed bit, another secret, or after two periods', () => {
    const s = syn([{ kind: 'mss', mss: 1460 }]);
    const sa = jar.synAck(local, remote, s, 0, 1460);
    const a = ackFor(sa, s);
    expect(jar.check(local, { ...remote, port: 40001 }, a, 0)).toBeNull();
    expect(jar.check(local, remote, { ...a, ack: (a.ack ^ (1 << 21)) >>> 0 }, 0)).toBeNull();
    expect(jar.check(local, remote, { ...a, seq: (a.seq + 1) >>> 0 }, 0)).toBeNull();
    expect(new SynCookieJar(new Uint8Array(32).fill(8)).check(local, remote, a, 0)).toBeNull();
    expect(jar.check(local, remote, a, 64_000 + 10)).not.toBeNull();
    expect(jar.check(local, remote, a, 2 * 64_000 + 10)).toBeNull();
  });
});
