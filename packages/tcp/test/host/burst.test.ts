/**
 * Host on a link that receives in bursts (ReceiveBurstSource, as RawSocketLink does): segments of
 * one burst are all processed before the connections are polled, so a burst of in-order data is
 * answered by one ACK (at most one per BURST_SERVICE_SEGMENTS), like Linux with GRO.
 */
import { BURST_SERVICE_SEGMENTS, Host, type HostConnection } from '../../src/host/host.js';
import { ManualClock, QueueIo, BurstIo } from './support.js';
import { parseTcpPacket } from '../../src/wire/packet.js';
import { TcpFlag } from '../../src/wire/types.js';

const A = '10.1.0.1';
const B = '10.1.0.2';

function setup(bursty: boolean) {
  const clock = new ManualClock();
  const ioA = bursty ? new BurstIo('a') : new QueueIo('a');
  const ioB = bursty ? new BurstIo('b') : new QueueIo('b');
  const tcp = { congestionParams: { initialWindowSegments: 64 }, recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 };
  const hostA = new Host({ io: ioA, clock, addresses: [A], tcp, secret: new Uint8Array(32).fill(1) });
  const hostB = new Host({ io: ioB, clock, addresses: [B], tcp, secret: new Uint8Array(32).fill(2) });
  /** Delivers everything `from` has sent to `to` as one burst; returns the packets delivered. */
  const deliver = (from: QueueIo, to: QueueIo): Uint8Array[] => {
    const pkts = from.sent.splice(0);
    for (const p of pkts) to.handler(p);
    if (pkts.length > 0) to.batchEnd?.();
    clock.fireDue();
    return pkts;
  };
  const settle = () => {
    for (let i = 0; i < 20 && (ioA.sent.length > 0 || ioB.sent.length > 0); i++) {
      deliver(ioA, ioB);
      deliver(ioB, ioA);
    }
  };
  let server: HostConnection | null = null;
  hostB.listen(80, {}, (c) => {
    server = c;
  });
  const client = hostA.connect({ remote: { address: B, port: 80 } });
  settle();
  expect(client.state).toBe('ESTABLISHED');
  expect(server).not.toBeNull();
  return { clock, ioA, ioB, hostA, hostB, client, server: server as unknown as HostConnection, deliver, settle };
}

function pureAcks(pkts: Uint8Array[]): number {
  return pkts.map((p) => parseTcpPacket(p).tcp).filter((t) => t.payload.length === 0 && t.flags === TcpFlag.ACK).length;
}

describe('Host: receive bursts (ReceiveBurstSource)', () => {
  test('a burst of in-order segments is answered by one ACK, sent when the burst ends', () => {
    const s = setup(true);
    const data = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 31) & 0xff);
    expect(s.server.write(data)).toBe(data.length);
    s.clock.fireDue();
    const segs = s.ioB.sent.map((p) => parseTcpPacket(p).tcp).filter((t) => t.payload.length > 0);
    expect(segs.length).toBeGreaterThanOrEqual(20); // MSS 1000 less the timestamps option
    // Deliver the burst without its end: nothing is sent back yet.
    const pkts = s.ioB.sent.splice(0);
    for (const p of pkts) s.ioA.handler(p);
    expect(s.ioA.sent.length).toBe(0);
    s.ioA.batchEnd!();
    expect(pureAcks(s.ioA.sent)).toBe(1);
    expect(s.ioA.sent.length).toBe(1);
    const ack = parseTcpPacket(s.ioA.sent[0]).tcp;
    const last = segs[segs.length - 1];
    expect(ack.ack).toBe((last.seq + last.payload.length) >>> 0); // everything acknowledged
    const got: number[] = [];
    for (let d = s.client.read(); d; d = s.client.read()) got.push(...d);
    s.settle(); // Nagle held the short tail until that ACK
    for (let d = s.client.read(); d; d = s.client.read()) got.push(...d);
    expect(got).toEqual(Array.from(data));
  });

  test(`a long burst still gets an ACK every ${BURST_SERVICE_SEGMENTS} segments`, () => {
    const s = setup(true);
    expect(s.server.write(new Uint8Array(40_000))).toBe(40_000);
    s.clock.fireDue();
    expect(s.ioB.sent.length).toBe(40);
    const pkts = s.ioB.sent.splice(0);
    for (const p of pkts.slice(0, BURST_SERVICE_SEGMENTS)) s.ioA.handler(p);
    expect(pureAcks(s.ioA.sent)).toBe(1); // serviced at the bound, inside the burst
    for (const p of pkts.slice(BURST_SERVICE_SEGMENTS)) s.ioA.handler(p);
    s.ioA.batchEnd!();
    expect(pureAcks(s.ioA.sent)).toBe(2);
    const payload = pkts.reduce((n, p) => n + parseTcpPacket(p).tcp.payload.length, 0);
    expect(s.client.conn.readableBytes).toBe(payload);
  });

  test('a link without bursts keeps per-segment processing: an ACK every second segment (RFC 5681 4.2)', () => {
    const s = setup(false);
    expect(s.server.write(new Uint8Array(20_000))).toBe(20_000);
    s.clock.fireDue();
    const pkts = s.deliver(s.ioB, s.ioA);
    expect(pkts.length).toBe(20);
    expect(pureAcks(s.ioA.sent)).toBe(10);
  });

  test('the ACKs of a burst release the next flight in one go, and a transfer completes', () => {
    const s = setup(true);
    const total = 300_000;
    let written = 0;
    const chunk = new Uint8Array(50_000).fill(9);
    const pump = () => {
      while (written < total) {
        const n = s.server.write(chunk.subarray(0, Math.min(chunk.length, total - written)));
        if (n === 0) break;
        written += n;
      }
    };
    s.server.onEvent = (ev) => {
      if (ev.type === 'writable') pump();
    };
    pump();
    s.clock.fireDue();
    let received = 0;
    for (let i = 0; i < 200 && received < total; i++) {
      s.deliver(s.ioB, s.ioA);
      for (let d = s.client.read(); d; d = s.client.read()) received += d.length;
      s.deliver(s.ioA, s.ioB);
    }
    expect(received).toBe(total);
    expect(s.client.conn.stats().segmentsSent).toBeLessThan(s.server.conn.stats().segmentsSent / 4);
  });
});
