/**
 * The host's timer heap: service() pushes an entry only when a connection's deadline changed,
 * so API calls that leave it unchanged (writes held back by Nagle, reads) add no stale entries;
 * the deadline still fires, and after it fired the next one is scheduled again.
 */
import { Host, type HostConnection } from '../../src/host/host.js';
import { ManualClock, QueueIo } from './support.js';
import { parseTcpPacket } from '../../src/wire/packet.js';

const A = '10.1.0.1';
const B = '10.1.0.2';

/** The host's private heap, read to show how many entries it holds. */
const heapSize = (h: Host) => (h as unknown as { heap: unknown[] }).heap.length;

function setup() {
  const clock = new ManualClock();
  const ioA = new QueueIo('a');
  const ioB = new QueueIo('b');
  const hostA = new Host({ io: ioA, clock, addresses: [A], secret: new Uint8Array(32).fill(1) });
  const hostB = new Host({ io: ioB, clock, addresses: [B], secret: new Uint8Array(32).fill(2) });
  const deliver = (from: QueueIo, to: QueueIo) => {
    for (const p of from.sent.splice(0)) to.handler(p);
    clock.fireDue();
  };
  const settle = () => {
    for (let i = 0; i < 50 && (ioA.sent.length > 0 || ioB.sent.length > 0); i++) {
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
  return { clock, ioA, ioB, hostA, hostB, client, server: server as unknown as HostConnection, settle };
}

describe('Host: timer heap entries', () => {
  test('calls that leave the deadline unchanged push no heap entry; the deadline still fires and is rescheduled', () => {
    const s = setup();
    s.clock.t = 1000;
    // One segment in flight, lost: the engine arms a deadline (PTO / RTO).
    expect(s.client.write(new Uint8Array(100).fill(7))).toBe(100);
    s.clock.fireDue();
    expect(s.ioA.sent.length).toBe(1);
    s.ioA.sent.length = 0;
    const deadline = s.client.conn.pollTimeout();
    expect(deadline).not.toBeNull();
    const before = heapSize(s.hostA);
    expect(before).toBeGreaterThan(0);
    // 300 one-byte writes, each serviced by the host: Nagle holds them (data is outstanding), so
    // neither a segment nor a new deadline results, and the heap does not grow.
    for (let i = 0; i < 300; i++) {
      expect(s.client.write(new Uint8Array([i & 0xff]))).toBe(1);
      s.hostA.service(s.client, true);
    }
    s.clock.fireDue();
    expect(s.ioA.sent.length).toBe(0);
    expect(s.client.conn.pollTimeout()).toBe(deadline);
    expect(heapSize(s.hostA)).toBe(before);
    // The deadline fires: the sender probes / retransmits, and a new deadline is scheduled for
    // what is still outstanding.
    s.clock.t = deadline!;
    s.clock.fireDue();
    const out = s.ioA.sent.map((p) => parseTcpPacket(p).tcp).filter((t) => t.payload.length > 0);
    expect(out.length).toBeGreaterThan(0);
    expect(heapSize(s.hostA)).toBeGreaterThan(0);
    // Everything arrives once the path delivers again.
    s.settle();
    let got = 0;
    for (let d = s.server.read(); d; d = s.server.read()) got += d.length;
    for (let i = 0; i < 40 && got < 400; i++) {
      s.clock.t += 250;
      s.clock.fireDue();
      s.settle();
      for (let d = s.server.read(); d; d = s.server.read()) got += d.length;
    }
    expect(got).toBe(400);
  });

  test('many connections: the heap stays within the compaction bound while they are serviced', () => {
    const s = setup();
    const extra: HostConnection[] = [];
    for (let i = 0; i < 5; i++) extra.push(s.hostA.connect({ remote: { address: B, port: 80 } }));
    s.settle();
    for (const c of extra) expect(c.state).toBe('ESTABLISHED');
    const conns = [s.client, ...extra];
    for (let round = 0; round < 200; round++) {
      s.clock.t += 1;
      for (const c of conns) c.write(new Uint8Array(10));
      s.clock.fireDue();
      if (round % 20 === 0) s.settle();
      expect(heapSize(s.hostA)).toBeLessThanOrEqual(Math.max(65, 4 * conns.length + 1));
    }
  });
});
