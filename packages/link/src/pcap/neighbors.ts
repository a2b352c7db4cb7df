/**
 * The pcap link's neighbour table (ARP cache / neighbour cache) with the packets waiting for a
 * resolution. Sans-IO: every call takes `now` (ms); the driver asks `nextDeadline()` and calls
 * `poll(now)`. Everything is bounded: entries (oldest evicted), queued packets overall and per
 * next hop, solicitation retries (then the queue is dropped and counted by the caller).
 */

export interface NeighborTableOptions {
  /** Most cached entries; the oldest is evicted when full. */
  maxEntries: number;
  /** How long a learnt mapping stays valid (ms). */
  ttlMs: number;
  /** Most packets waiting for resolution, over all next hops. */
  maxQueued: number;
  /** Most packets waiting for one next hop. */
  maxQueuedPerHop: number;
  /** Solicitations sent before giving up (the first included). */
  maxSolicits: number;
  /** Interval between solicitations (ms). */
  retryMs: number;
}

export const DEFAULT_NEIGHBOR_OPTIONS: NeighborTableOptions = {
  maxEntries: 256,
  ttlMs: 60_000,
  maxQueued: 256,
  maxQueuedPerHop: 64,
  maxSolicits: 3,
  retryMs: 1000,
};

interface Entry {
  mac: Uint8Array;
  expiresAt: number;
}

interface Pending {
  queue: Uint8Array[];
  solicits: number;
  nextSolicitAt: number;
}

export type EnqueueResult = 'solicit' | 'queued' | 'queueFull';

export interface PollResult {
  /** Next hops to solicit again now. */
  solicit: string[];
  /** Next hops given up on, with the packets that were waiting. */
  failed: { key: string; dropped: Uint8Array[] }[];
}

export class NeighborTable {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Pending>();
  private queued = 0;
  readonly opts: NeighborTableOptions;

  constructor(opts: Partial<NeighborTableOptions> = {}) {
    this.opts = { ...DEFAULT_NEIGHBOR_OPTIONS, ...opts };
  }

  get size(): number {
    return this.entries.size;
  }

  get pendingHops(): number {
    return this.pending.size;
  }

  get queuedPackets(): number {
    return this.queued;
  }

  lookup(key: string, now: number): Uint8Array | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (now >= e.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    return e.mac;
  }

  /** Whether `key` is cached or being resolved (RFC 826's "merge" only updates known entries). */
  knows(key: string): boolean {
    return this.entries.has(key) || this.pending.has(key);
  }

  /** Records `key` → `mac`; returns the packets that were waiting for it (to send now). */
  learn(key: string, mac: Uint8Array, now: number): Uint8Array[] {
    this.entries.delete(key); // re-insert: Map order is our age order
    if (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { mac: new Uint8Array(mac.subarray(0, 6)) /* a copy: mac may be a view of cap's reused buffer (Buffer#slice does not copy) */, expiresAt: now + this.opts.ttlMs });
    const p = this.pending.get(key);
    if (p === undefined) return [];
    this.pending.delete(key);
    this.queued -= p.queue.length;
    return p.queue;
  }

  /** Queues a copy-owned packet for `key`; 'solicit' means a first solicitation should go out now. */
  enqueue(key: string, packet: Uint8Array, now: number): EnqueueResult {
    let p = this.pending.get(key);
    if (this.queued >= this.opts.maxQueued || (p !== undefined && p.queue.length >= this.opts.maxQueuedPerHop)) {
      return 'queueFull';
    }
    if (p === undefined) {
      // A bounded number of hops can be pending: maxQueued also bounds it, as each holds a packet.
      p = { queue: [], solicits: 1, nextSolicitAt: now + this.opts.retryMs };
      this.pending.set(key, p);
      p.queue.push(packet);
      this.queued++;
      return 'solicit';
    }
    p.queue.push(packet);
    this.queued++;
    return 'queued';
  }

  nextDeadline(): number | undefined {
    let t: number | undefined;
    for (const p of this.pending.values()) if (t === undefined || p.nextSolicitAt < t) t = p.nextSolicitAt;
    return t;
  }

  poll(now: number): PollResult {
    const out: PollResult = { solicit: [], failed: [] };
    for (const [key, p] of this.pending) {
      if (now < p.nextSolicitAt) continue;
      if (p.solicits >= this.opts.maxSolicits) {
        this.pending.delete(key);
        this.queued -= p.queue.length;
        out.failed.push({ key, dropped: p.queue });
      } else {
        p.solicits++;
        p.nextSolicitAt = now + this.opts.retryMs;
        out.solicit.push(key);
      }
    }
    return out;
  }

  /** Drops everything waiting; returns how many packets that was. */
  clearPending(): number {
    const n = this.queued;
    this.pending.clear();
    this.queued = 0;
    return n;
  }
}
