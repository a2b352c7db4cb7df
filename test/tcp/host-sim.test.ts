/**
 * The TCP Host on the simulator: two Hosts on a SimNetwork, real TcpConnections, virtual time.
 */
import { SimNetwork } from '@tcpls/link';
import { Host, TcpFlag, buildTcpPacket, parseTcpPacket, type HostConnection, type TcpRepr } from '@tcpls/tcp';
import { A4, B4, bulkTransfer, drain, makePair, pseudoRandomBytes, sha256 } from './helpers.js';

function concat(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat(chunks);
}

describe('Host on the simulator', () => {
  test('connect/accept: a 200 kB transfer arrives intact and both sides reach CLOSED', () => {
    const p = makePair({ link: { rate: 50e6, delay: 2 } });
    const data = pseudoRandomBytes(200_000, 7);
    const r = bulkTransfer(p, data);
    expect(sha256(r.received)).toBe(sha256(data));
    expect(r.clientClosed).toBe(true);
    expect(r.serverClosed).toBe(true);
    expect(r.clientClosedError).toBeNull();
    expect(p.a.connectionCount()).toBe(0);
    expect(p.b.connectionCount()).toBe(0);
    expect(p.a.stats.connectionsOpened).toBe(1);
    expect(p.b.stats.connectionsClosed).toBe(1);
  });

  test('IPv6: connect/accept and data over an IPv6 link', () => {
    const p = makePair({ ipv6: true, link: { rate: 50e6, delay: 2 } });
    const data = pseudoRandomBytes(100_000, 8);
    const r = bulkTransfer(p, data);
    expect(sha256(r.received)).toBe(sha256(data));
    expect(r.client.conn.negotiated().mss).toBe(1500 - 40 - 20);
  });

  test('IPv6 addresses in any valid spelling: a host given "FD00:0::2" and a client dialling "FD00:0:0::2" still find each other', () => {
    const p = makePair({ ipv6: true, link: { delay: 2 }, hostB: { addresses: ['FD00:0::2'] } });
    expect(p.b.addresses).toEqual(['fd00::2']);
    let accepted: HostConnection | null = null;
    p.b.listen(80, { address: 'fd00:0:0:0::2' }, (s) => {
      accepted = s;
    });
    const c = p.a.connect({ remote: { address: 'FD00:0:0::2', port: 80 } });
    let connected = false;
    c.onEvent = (ev) => {
      if (ev.type === 'connected') connected = true;
    };
    p.net.run(1000);
    expect(connected).toBe(true);
    expect(accepted).not.toBeNull();
    expect(c.remote.address).toBe('fd00::2');
  });

  test('data both ways and half-close: the server answers after the client FIN, the client still reads it', () => {
    const p = makePair({ link: { delay: 3 } });
    const request = pseudoRandomBytes(30_000, 1);
    const response = pseudoRandomBytes(90_000, 2);
    const gotReq: Uint8Array[] = [];
    const gotResp: Uint8Array[] = [];
    const serverStates: string[] = [];
    p.b.listen(80, {}, (s) => {
      s.onEvent = (ev) => {
        if (ev.type === 'readable') drain(s, gotReq);
        if (ev.type === 'peer-closed') {
          drain(s, gotReq);
          serverStates.push(s.state); // CLOSE-WAIT: our side may still send
          expect(s.write(response)).toBe(response.length);
          s.shutdown();
        }
      };
    });
    const c = p.a.connect({ remote: { address: B4, port: 80 } });
    let peerClosed = false;
    let closedErr: unknown = 'not closed';
    c.onEvent = (ev) => {
      if (ev.type === 'connected') {
        expect(c.write(request)).toBe(request.length);
        c.shutdown(); // half-close: FIN-WAIT-1, reading continues
      }
      if (ev.type === 'readable') drain(c, gotResp);
      if (ev.type === 'peer-closed') peerClosed = true;
      if (ev.type === 'closed') closedErr = ev.error;
    };
    p.net.runUntilIdle();
    expect(serverStates).toEqual(['CLOSE-WAIT']);
    expect(sha256(concat(gotReq))).toBe(sha256(request));
    expect(sha256(concat(gotResp))).toBe(sha256(response));
    expect(peerClosed).toBe(true);
    expect(closedErr).toBeNull();
  });

  test('events are not re-entrant: a drain loop inside the readable handler never sees peer-closed in its middle', () => {
    const p = makePair({ link: { delay: 2 } });
    const log: string[] = [];
    let inDrain = false;
    p.b.listen(80, {}, (s) => {
      s.onEvent = (ev) => {
        if (inDrain) log.push(`re-entrant ${ev.type}`);
        log.push(ev.type);
        if (ev.type === 'readable' || ev.type === 'peer-closed') {
          inDrain = true;
          for (let d = s.read(100); d !== null; d = s.read(100)) log.push(`read ${d.length}`);
          inDrain = false;
        }
      };
    });
    const c = p.a.connect({ remote: { address: B4, port: 80 } });
    c.onEvent = (ev) => {
      if (ev.type === 'connected') {
        c.write(new Uint8Array(1000));
        c.shutdown();
      }
    };
    p.net.runUntilIdle();
    expect(log.filter((l) => l.startsWith('re-entrant'))).toEqual([]);
    const reads = log.filter((l) => l.startsWith('read ')).reduce((n, l) => n + Number(l.slice(5)), 0);
    expect(reads).toBe(1000);
    expect(log).toContain('peer-closed');
  });

  test('a SYN to a port without a listener is answered with RST,ACK and the client sees connection-refused', () => {
    const p = makePair({ link: { delay: 1 } });
    const c = p.a.connect({ remote: { address: B4, port: 4444 } });
    let err: string | null | undefined;
    c.onEvent = (ev) => {
      if (ev.type === 'closed') err = ev.error?.code ?? null;
    };
    const seen: TcpRepr[] = [];
    p.simA.addTap((d, pkt) => {
      if (d === 'in') seen.push(parseTcpPacket(pkt).tcp);
    });
    p.net.runUntilIdle();
    expect(err).toBe('connection-refused');
    expect(p.b.stats.rstSent).toBe(1);
    expect(seen).toHaveLength(1);
    // RFC 9293 3.10.7.1: no ACK in the SYN -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    expect(seen[0].flags).toBe(TcpFlag.RST | TcpFlag.ACK);
    expect(seen[0].seq).toBe(0);
    expect(seen[0].ack).toBe((c.conn.tcb().iss + 1) >>> 0);
    expect(p.a.connectionCount()).toBe(0);
  });

  test('listener backlog full: SYN cookies answer, the connection is restored from the ACK and carries data both ways', () => {
    const p = makePair({ link: { delay: 2 } });
    const got: Uint8Array[] = [];
    let server: HostConnection | null = null;
    p.b.listen(80, { backlog: 0 }, (s) => {
      server = s;
      s.onEvent = (ev) => {
        if (ev.type === 'readable') drain(s, got);
        if (ev.type === 'peer-closed') {
          s.write(new TextEncoder().encode('bye'));
          s.shutdown();
        }
      };
    });
    const req = pseudoRandomBytes(300_000, 3);
    const c = p.a.connect({ remote: { address: B4, port: 80 } });
    const back: Uint8Array[] = [];
    let off = 0;
    c.onEvent = (ev) => {
      if (ev.type === 'connected' || ev.type === 'writable') {
        while (off < req.length) {
          const n = c.write(req.subarray(off));
          if (n === 0) return;
          off += n;
        }
        c.shutdown();
      }
      if (ev.type === 'readable') drain(c, back);
    };
    p.net.runUntilIdle();
    expect(p.b.stats.synQueueFull).toBe(1);
    expect(p.b.stats.synCookiesSent).toBe(1);
    expect(p.b.stats.synCookiesAccepted).toBe(1);
    expect(server).not.toBeNull();
    expect(sha256(concat(got))).toBe(sha256(req));
    expect(Buffer.from(concat(back)).toString()).toBe('bye');
    // What the cookie remembered: the client's options are in force on the restored connection.
    const n = server!.conn.negotiated();
    expect(n.sack).toBe(true);
    expect(n.timestamps).toBe(true);
    expect(n.mss).toBe(1460);
    expect(n.sndWscale).toBe(c.conn.negotiated().rcvWscale);
    expect(n.rcvWscale).toBe(c.conn.negotiated().sndWscale);
  });

  test('a bare ACK with a forged cookie is rejected and answered with RST', () => {
    const p = makePair();
    p.b.listen(80, { backlog: 0 }, () => {
      throw new Error('no connection may be accepted');
    });
    const ack: TcpRepr = { srcPort: 40000, dstPort: 80, seq: 1000, ack: 123456, flags: TcpFlag.ACK, window: 1000, urgent: 0, options: [], payload: new Uint8Array(0) };
    p.simA.send(buildTcpPacket({ src: A4, dst: B4 }, ack));
    p.net.runUntilIdle();
    expect(p.b.stats.synCookiesRejected).toBe(1);
    expect(p.b.stats.rstSent).toBe(1);
    expect(p.b.connectionCount()).toBe(0);
  });

  test('port allocation: ephemeral ports are distinct, in range, and exhaustion is an error', () => {
    const p = makePair({ hostA: { ephemeralPorts: [50000, 50007] } });
    const ports = new Set<number>();
    for (let i = 0; i < 8; i++) ports.add(p.a.connect({ remote: { address: B4, port: 9 } }).local.port);
    expect(ports.size).toBe(8);
    for (const port of ports) expect(port >= 50000 && port <= 50007).toBe(true);
    expect(() => p.a.connect({ remote: { address: B4, port: 9 } })).toThrow(/no free ephemeral port/);
    // Another remote endpoint has its own 4-tuples: the same ports are available again.
    expect(() => p.a.connect({ remote: { address: B4, port: 10 } })).not.toThrow();
    // An explicit duplicate 4-tuple is refused.
    const taken = [...ports][0];
    expect(() => p.a.connect({ remote: { address: B4, port: 9 }, local: { port: taken } })).toThrow(/already exists/);
  });

  test('one timer: with 20 connections in flight the host never has more than one clock timer armed', () => {
    const p = makePair({ link: { rate: 20e6, delay: 5, loss: 0.02 } });
    const done: number[] = [];
    p.b.listen(80, {}, (s) => {
      const sink: Uint8Array[] = [];
      s.onEvent = (ev) => {
        if (ev.type === 'readable') drain(s, sink);
        if (ev.type === 'peer-closed') {
          drain(s, sink);
          done.push(concat(sink).length);
          s.shutdown();
        }
      };
    });
    for (let i = 0; i < 20; i++) {
      const c = p.a.connect({ remote: { address: B4, port: 80 } });
      const data = pseudoRandomBytes(20_000, i + 1);
      c.onEvent = (ev) => {
        if (ev.type === 'connected') {
          c.write(data);
          c.shutdown();
        }
      };
    }
    p.net.runUntilIdle();
    expect(done.sort()).toEqual(new Array(20).fill(20_000));
    expect(p.clockA.armed).toBeGreaterThan(20);
    expect(p.clockA.maxLive).toBe(1);
    expect(p.clockB.maxLive).toBe(1);
    expect(p.clockA.live).toBe(0);
  });

  test('malformed packets are counted by reason and never reach a connection', () => {
    const p = makePair();
    p.b.listen(80, {}, () => {
      throw new Error('no connection expected');
    });
    const syn: TcpRepr = { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 1000, urgent: 0, options: [], payload: new Uint8Array(0) };
    const good = buildTcpPacket({ src: A4, dst: B4 }, syn);
    const badSum = good.slice();
    badSum[good.length - 1] ^= 0xff; // TCP header byte changes: checksum mismatch
    badSum[36] ^= 0x01; // the urgent pointer: inside the checksummed TCP header
    p.b.receive(badSum);
    p.b.receive(good.subarray(0, 30)); // truncated
    p.b.receive(new Uint8Array([0x45]));
    p.b.receive(new Uint8Array(0));
    const garbage = new Uint8Array(60);
    garbage[0] = 0x75; // IP version 7
    p.b.receive(garbage);
    const m = p.b.stats.malformed;
    const total = Object.values(m).reduce((a, b) => a + b, 0);
    expect(total).toBe(5);
    expect(m['bad-checksum']).toBe(1);
    expect(m['bad-version']).toBe(1);
    expect(p.b.connectionCount()).toBe(0);
    expect(p.b.stats.packetsIn).toBe(5);
  });

  test('a packet for another address is counted as not for us', () => {
    const p = makePair();
    const syn: TcpRepr = { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 1000, urgent: 0, options: [], payload: new Uint8Array(0) };
    p.b.receive(buildTcpPacket({ src: A4, dst: '10.9.9.9' }, syn));
    expect(p.b.stats.notForUs).toBe(1);
    expect(p.b.stats.rstSent).toBe(0);
  });

  test('SYN flood from 5000 spoofed ports: the SYN queue stays at the backlog, cookies answer the rest, the heap stays bounded', () => {
    const net = new SimNetwork({ seed: 'flood' });
    const att = net.addHost('att', { addresses: [A4] });
    const srv = net.addHost('srv', { addresses: [B4] });
    net.connect(att, srv, { delay: 1 });
    const r = net.deriveRandom('srv');
    const host = new Host({ io: srv, clock: net.clock, addresses: [B4], random: (n) => r.fill(new Uint8Array(n)) });
    let accepted = 0;
    host.listen(80, { backlog: 16 }, () => accepted++);
    let synAcks = 0;
    att.onPacket((pkt) => {
      const t = parseTcpPacket(pkt).tcp;
      if ((t.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) synAcks++;
    });
    let maxConns = 0;
    let maxHeap = 0;
    for (let i = 0; i < 5000; i++) {
      const syn: TcpRepr = {
        srcPort: 1024 + i,
        dstPort: 80,
        seq: (i * 2654435761) >>> 0,
        ack: 0,
        flags: TcpFlag.SYN,
        window: 65535,
        urgent: 0,
        options: [{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }],
        payload: new Uint8Array(0),
      };
      att.send(buildTcpPacket({ src: A4, dst: B4 }, syn));
      if (i % 100 === 99) {
        net.run(net.now + 10);
        maxConns = Math.max(maxConns, host.connectionCount());
        maxHeap = Math.max(maxHeap, (host as unknown as { heap: unknown[] }).heap.length);
      }
    }
    net.run(net.now + 10);
    expect(maxConns).toBe(16);
    expect(host.stats.synQueueFull).toBe(5000 - 16);
    expect(host.stats.synCookiesSent).toBe(5000 - 16);
    expect(synAcks).toBeGreaterThanOrEqual(5000);
    expect(accepted).toBe(0);
    expect(maxHeap).toBeLessThanOrEqual(80);
    // The half-open connections give up after their SYN-ACK retries; the table empties.
    net.run(net.now + 400_000);
    expect(host.connectionCount()).toBe(0);
  });
});
