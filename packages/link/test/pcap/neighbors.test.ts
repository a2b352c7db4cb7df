import { NeighborTable } from '../../src/pcap/neighbors.js';

const mac = (n: number): Uint8Array => new Uint8Array([2, 0, 0, 0, 0, n]);
const pkt = (n: number): Uint8Array => new Uint8Array([n]);

describe('NeighborTable', () => {
  test('the first packet to an unknown hop asks for a solicitation; later ones just queue; learning releases them in order', () => {
    const t = new NeighborTable();
    expect(t.enqueue('a', pkt(1), 0)).toBe('solicit');
    expect(t.enqueue('a', pkt(2), 1)).toBe('queued');
    expect(t.queuedPackets).toBe(2);
    const out = t.learn('a', mac(1), 5);
    expect(out.map((p) => p[0])).toEqual([1, 2]);
    expect(t.queuedPackets).toBe(0);
    expect(t.lookup('a', 6)).toEqual(mac(1));
  });

  test('entries expire after ttlMs', () => {
    const t = new NeighborTable({ ttlMs: 100 });
    t.learn('a', mac(1), 0);
    expect(t.lookup('a', 99)).toBeDefined();
    expect(t.lookup('a', 100)).toBeUndefined();
  });

  test('the cache is bounded: the oldest entry is evicted', () => {
    const t = new NeighborTable({ maxEntries: 2 });
    t.learn('a', mac(1), 0);
    t.learn('b', mac(2), 0);
    t.learn('c', mac(3), 0);
    expect(t.size).toBe(2);
    expect(t.lookup('a', 1)).toBeUndefined();
    expect(t.lookup('c', 1)).toBeDefined();
  });

  test('queues are bounded per hop and overall', () => {
    const t = new NeighborTable({ maxQueued: 3, maxQueuedPerHop: 2 });
    expect(t.enqueue('a', pkt(1), 0)).toBe('solicit');
    expect(t.enqueue('a', pkt(2), 0)).toBe('queued');
    expect(t.enqueue('a', pkt(3), 0)).toBe('queueFull');
    expect(t.enqueue('b', pkt(4), 0)).toBe('solicit');
    expect(t.enqueue('c', pkt(5), 0)).toBe('queueFull');
  });

  test('retries every retryMs, then gives up and returns the dropped packets', () => {
    const t = new NeighborTable({ maxSolicits: 3, retryMs: 1000 });
    t.enqueue('a', pkt(1), 0);
    expect(t.nextDeadline()).toBe(1000);
    expect(t.poll(999)).toEqual({ solicit: [], failed: [] });
    expect(t.poll(1000).solicit).toEqual(['a']);
    expect(t.poll(2000).solicit).toEqual(['a']);
    const r = t.poll(3000);
    expect(r.solicit).toEqual([]);
    expect(r.failed.map((f) => [f.key, f.dropped.length])).toEqual([['a', 1]]);
    expect(t.pendingHops).toBe(0);
    expect(t.nextDeadline()).toBeUndefined();
  });
});
