/**
 * SimNetwork: a deterministic discrete-event network on a virtual clock.
 *
 * Hosts (which are PacketIo links for a TCP Host) and routers are joined by point-to-point links.
 * Each link direction is a FIFO transmitter: a packet waits in a bounded drop-tail queue, occupies
 * the wire for size*8/rate seconds, then propagates for `delay` ms (plus jitter) and is delivered to
 * the node at the other end. Loss, duplication and reordering are drawn from the link direction's
 * own seeded PRNG, so a run is reproducible bit for bit from the network's seed, and adding a link
 * does not change the draws of the others.
 *
 * Cost per packet: one copy at the sending host (the PacketIo contract lets the caller reuse its
 * buffer), one heap event (O(log n)) per hop, no closures. Serialisation does not need an event of
 * its own: a direction keeps `busyUntil` and a small ring of the start times of queued packets.
 */
import type { Clock, PacketIo, TimerHandle } from '@tcpls/tcp';
import { addressKey, packetDstKey, packetSrcKey, packetVersion, parsePrefix, prefixMatches, type AddrKey, type Prefix } from './addr.js';
import { setWord16 } from './csum.js';
import { SimError } from './errors.js';
import { EventHeap, SimEventKind, type SimEvent } from './heap.js';
import { buildTimeExceeded } from './icmp.js';
import type { Middlebox, MiddleboxContext, SimDirection } from './middlebox-types.js';
import { SimRandom, seedToU32 } from './random.js';

/** Parameters of one direction of a link. */
export interface LinkParams {
  /** Bits per second; Infinity (the default) means no serialisation time and no queueing. */
  rate?: number;
  /** One-way propagation delay in ms (default 0). */
  delay?: number;
  /** Extra delay drawn uniformly from [0, jitter) ms per packet. Jitter alone never reorders (FIFO). */
  jitter?: number;
  /** Probability that a packet is lost on the wire (after it has used its transmission time). */
  loss?: number;
  /**
   * Bursty loss (Gilbert-Elliott, as netem's `loss gemodel`): a two-state chain advanced once per
   * packet. In the good state packets are lost with probability `loss`; in the bad state with
   * `lossInBad` (default 1). `enter` is P(good→bad), `exit` is P(bad→good), so bursts last 1/exit
   * packets on average and the long-run loss rate is
   * (exit·loss + enter·lossInBad) / (enter + exit).
   */
  burstLoss?: { enter: number; exit: number; lossInBad?: number } | null;
  /** Probability that a delivered packet arrives twice. */
  duplicate?: number;
  /** Probability that a packet is held back by `reorderDelay` ms, so that later packets overtake it. */
  reorder?: number;
  /** Extra delay of reordered packets in ms (default: max(delay, 1)). */
  reorderDelay?: number;
  /** Largest IP packet the link carries (default 1500); larger ones are dropped and counted. */
  mtu?: number;
  /** Drop-tail queue bound in bytes (packets waiting, not the one on the wire). Default unbounded. */
  queueBytes?: number;
  /** Drop-tail queue bound in packets (default 1000, like a txqueuelen). */
  queuePackets?: number;
}

export interface ConnectOptions extends LinkParams {
  /** Link name for stats and logs (default "a-b"). */
  name?: string;
  /** Overrides for the a→b direction. */
  forward?: LinkParams;
  /** Overrides for the b→a direction. */
  reverse?: LinkParams;
  /** Middleboxes applied, in order, to every packet entering the link (both directions; see ctx.direction). */
  middleboxes?: Middlebox[];
  /**
   * Addresses of `a` reachable through this link in particular (a's address on this "interface").
   * Routing prefers this link for them, which is how a multihomed host picks a path per address.
   * They are added to a's addresses if missing.
   */
  aAddresses?: string[];
  /** Same for `b`. */
  bAddresses?: string[];
}

export type DropReason = 'loss' | 'queue' | 'mtu' | 'middlebox' | 'down';

export interface LinkDirectionStats {
  /** Packets offered to the link (before middleboxes). */
  sent: number;
  bytesSent: number;
  delivered: number;
  bytesDelivered: number;
  /** Extra copies created by `duplicate`. */
  duplicated: number;
  /** Packets held back by `reorder`. */
  reordered: number;
  dropped: Record<DropReason, number>;
  /** Largest queue occupancy seen, in bytes. */
  maxQueueBytes: number;
}

/** Link taps see packets as they enter the link (before middleboxes) or as they are delivered. */
export type TapPoint = 'ingress' | 'delivery';
export type LinkTap = (direction: SimDirection, packet: Uint8Array, time: number) => void;
export type HostTap = (direction: 'in' | 'out', packet: Uint8Array, time: number) => void;

/** What a capture knows about a packet besides its bytes and time. */
export interface PacketSinkInfo {
  /** For host captures: received ('in') or sent ('out'). */
  direction?: 'in' | 'out';
}

/** Anything that records packets with their times, e.g. PcapWriter or PcapngWriter.sink(id). */
export interface PacketSink {
  writePacket(packet: Uint8Array, timeMs: number, info?: PacketSinkInfo): void;
}

export interface SimNetworkOptions {
  /** Seed of every random draw in the network (number or string). */
  seed: number | string;
  /** Virtual time at start, ms (default 0). */
  startTime?: number;
}

function newStats(): LinkDirectionStats {
  return {
    sent: 0,
    bytesSent: 0,
    delivered: 0,
    bytesDelivered: 0,
    duplicated: 0,
    reordered: 0,
    dropped: { loss: 0, queue: 0, mtu: 0, middlebox: 0, down: 0 },
    maxQueueBytes: 0,
  };
}

function checkProb(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new SimError('bad-config', `${name} must be a probability in [0, 1], got ${v}`);
  return v;
}

function checkNonNeg(name: string, v: number, allowInf = false): number {
  if (!(v >= 0) || (!allowInf && !Number.isFinite(v))) throw new SimError('bad-config', `${name} must be >= 0${allowInf ? '' : ' and finite'}, got ${v}`);
  return v;
}

interface ResolvedParams {
  rate: number;
  delay: number;
  jitter: number;
  loss: number;
  burstLoss: { enter: number; exit: number; lossInBad: number } | null;
  duplicate: number;
  reorder: number;
  reorderDelay: number;
  mtu: number;
  queueBytes: number;
  queuePackets: number;
}

function resolveParams(p: LinkParams): ResolvedParams {
  const rate = p.rate ?? Infinity;
  if (!(rate > 0)) throw new SimError('bad-config', `rate must be > 0 bit/s (Infinity for none), got ${rate}`);
  const delay = checkNonNeg('delay', p.delay ?? 0);
  const mtu = p.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 20 || mtu > 1 << 24) throw new SimError('bad-config', `mtu must be an integer 20..2^24, got ${mtu}`);
  return {
    rate,
    delay,
    jitter: checkNonNeg('jitter', p.jitter ?? 0),
    loss: checkProb('loss', p.loss ?? 0),
    burstLoss: p.burstLoss
      ? {
          enter: checkProb('burstLoss.enter', p.burstLoss.enter),
          exit: checkProb('burstLoss.exit', p.burstLoss.exit),
          lossInBad: checkProb('burstLoss.lossInBad', p.burstLoss.lossInBad ?? 1),
        }
      : null,
    duplicate: checkProb('duplicate', p.duplicate ?? 0),
    reorder: checkProb('reorder', p.reorder ?? 0),
    reorderDelay: checkNonNeg('reorderDelay', p.reorderDelay ?? Math.max(delay, 1)),
    mtu,
    queueBytes: checkNonNeg('queueBytes', p.queueBytes ?? Infinity, true),
    queuePackets: checkNonNeg('queuePackets', p.queuePackets ?? 1000, true),
  };
}

/** One direction of a link: queue, transmitter, wire. */
export class SimLinkDirection {
  readonly stats: LinkDirectionStats = newStats();
  private params: ResolvedParams;
  /** Time at which the transmitter finishes the last accepted packet. */
  private busyUntil = -Infinity;
  /** Gilbert-Elliott state: in the bad (bursty loss) state. */
  private bad = false;
  /** Latest arrival time handed out to a non-reordered packet (keeps jitter FIFO). */
  private lastArrival = -Infinity;
  // Ring of queued packets (those whose transmission has not started): start times and sizes.
  private qStart = new Float64Array(64);
  private qSize = new Float64Array(64);
  private qHead = 0;
  private qLen = 0;
  private qBytes = 0;
  readonly ingressTaps: LinkTap[] = [];
  readonly deliveryTaps: LinkTap[] = [];
  private readonly ctx: MiddleboxContext;

  constructor(
    readonly net: SimNetwork,
    readonly link: SimLink,
    readonly direction: SimDirection,
    readonly from: SimNode,
    readonly to: SimNode,
    params: LinkParams,
    readonly random: SimRandom,
    private readonly middleboxes: readonly Middlebox[],
  ) {
    this.params = resolveParams(params);
    this.ctx = { direction, now: 0, random };
  }

  get mtu(): number {
    return this.params.mtu;
  }

  /** Current settings (a copy). */
  get settings(): Required<LinkParams> {
    return { ...this.params };
  }

  /** Changes settings from now on; packets already accepted keep their timing. */
  update(p: LinkParams): void {
    this.params = resolveParams({ ...this.params, ...p });
  }

  /** Bytes waiting in the queue at the current time. */
  get queuedBytes(): number {
    this.releaseStarted(this.net.now);
    return this.qBytes;
  }

  /** A packet enters the link. Returns false when it was dropped here (mtu, queue, middlebox, down). */
  ingress(packet: Uint8Array): boolean {
    const now = this.net.now;
    const st = this.stats;
    st.sent++;
    st.bytesSent += packet.length;
    for (let i = 0; i < this.ingressTaps.length; i++) this.ingressTaps[i](this.direction, packet, now);
    if (!this.link.up) {
      st.dropped.down++;
      return false;
    }
    if (this.middleboxes.length === 0) return this.enqueue(packet, now);
    // Middleboxes rewrite in place; when someone tapped the packet before this point (a link or host
    // tap that may keep it), they get to keep the original bytes.
    const tapped = this.ingressTaps.length > 0 || (this.from instanceof SimHost && this.from.taps.length > 0);
    this.ctx.now = now;
    // The common case (every box returns one packet) allocates nothing; a split switches to a list.
    let one: Uint8Array | null = tapped ? new Uint8Array(packet) : packet;
    let many: Uint8Array[] | null = null;
    for (let m = 0; m < this.middleboxes.length; m++) {
      const mb = this.middleboxes[m];
      if (many === null) {
        const r = mb(one!, this.ctx);
        if (r === null) {
          one = null;
          break;
        }
        if (Array.isArray(r)) many = r.slice();
        else one = r;
      } else {
        const next: Uint8Array[] = [];
        for (const p of many) {
          const r = mb(p, this.ctx);
          if (r === null) continue;
          if (Array.isArray(r)) next.push(...r);
          else next.push(r);
        }
        many = next;
      }
      if (many !== null && many.length === 0) break;
    }
    if (many === null ? one === null : many.length === 0) {
      st.dropped.middlebox++;
      return true; // dropped in the network, not by the sender's own interface
    }
    if (many === null) return this.enqueue(one!, now);
    let ok = true;
    for (const p of many) ok = this.enqueue(p, now) && ok;
    return ok;
  }

  private releaseStarted(now: number): void {
    while (this.qLen > 0 && this.qStart[this.qHead] <= now) {
      this.qBytes -= this.qSize[this.qHead];
      this.qHead = (this.qHead + 1) & (this.qStart.length - 1);
      this.qLen--;
    }
  }

  private pushQueue(start: number, size: number): void {
    if (this.qLen === this.qStart.length) {
      const n = this.qStart.length * 2;
      const s = new Float64Array(n);
      const z = new Float64Array(n);
      for (let i = 0; i < this.qLen; i++) {
        const j = (this.qHead + i) & (this.qStart.length - 1);
        s[i] = this.qStart[j];
        z[i] = this.qSize[j];
      }
      this.qStart = s;
      this.qSize = z;
      this.qHead = 0;
    }
    const j = (this.qHead + this.qLen) & (this.qStart.length - 1);
    this.qStart[j] = start;
    this.qSize[j] = size;
    this.qLen++;
    this.qBytes += size;
    if (this.qBytes > this.stats.maxQueueBytes) this.stats.maxQueueBytes = this.qBytes;
  }

  private enqueue(packet: Uint8Array, now: number): boolean {
    const p = this.params;
    const size = packet.length;
    const st = this.stats;
    if (size > p.mtu) {
      st.dropped.mtu++;
      return false;
    }
    this.releaseStarted(now);
    const start = this.busyUntil > now ? this.busyUntil : now;
    if (start > now) {
      // The transmitter is busy: the packet waits in the drop-tail queue.
      if (this.qLen + 1 > p.queuePackets || this.qBytes + size > p.queueBytes) {
        st.dropped.queue++;
        return false;
      }
      this.pushQueue(start, size);
    }
    const txEnd = p.rate === Infinity ? start : start + (size * 8000) / p.rate;
    this.busyUntil = txEnd;
    // The packet has used its transmission time; now the wire may lose it.
    let lossP = p.loss;
    const ge = p.burstLoss;
    if (ge !== null) {
      if (this.bad) {
        if (this.random.float() < ge.exit) this.bad = false;
      } else if (this.random.float() < ge.enter) {
        this.bad = true;
      }
      if (this.bad) lossP = ge.lossInBad;
    }
    if (lossP > 0 && this.random.float() < lossP) {
      st.dropped.loss++;
      return true;
    }
    let arrival = txEnd + p.delay;
    if (p.jitter > 0) arrival += this.random.float() * p.jitter;
    if (p.reorder > 0 && this.random.float() < p.reorder) {
      arrival += p.reorderDelay;
      st.reordered++;
    } else {
      if (arrival < this.lastArrival) arrival = this.lastArrival;
      this.lastArrival = arrival;
    }
    this.net.scheduleArrival(arrival, this, packet);
    if (p.duplicate > 0 && this.random.float() < p.duplicate) {
      st.duplicated++;
      this.net.scheduleArrival(arrival, this, new Uint8Array(packet));
    }
    return true;
  }

  /** Called by the network when an arrival event fires. */
  deliver(packet: Uint8Array): void {
    if (!this.link.up) {
      // Packets in flight when the link went down are lost with it.
      this.stats.dropped.down++;
      return;
    }
    const st = this.stats;
    st.delivered++;
    st.bytesDelivered += packet.length;
    const now = this.net.now;
    for (let i = 0; i < this.deliveryTaps.length; i++) this.deliveryTaps[i](this.direction, packet, now);
    this.to.receive(packet, this);
  }
}

/** A bidirectional link between two nodes. */
export class SimLink {
  readonly forward: SimLinkDirection;
  readonly reverse: SimLinkDirection;
  /** A link that is down drops everything entering it and everything in flight (reason 'down'). */
  up = true;
  /** Addresses of a / b bound to this link (see ConnectOptions.aAddresses). */
  readonly aKeys = new Set<AddrKey>();
  readonly bKeys = new Set<AddrKey>();

  constructor(
    net: SimNetwork,
    readonly name: string,
    readonly a: SimNode,
    readonly b: SimNode,
    opts: ConnectOptions,
    seedU32: number,
  ) {
    const { forward, reverse, middleboxes, name: _n, aAddresses: _a, bAddresses: _b, ...common } = opts;
    const mbs = middleboxes ?? [];
    this.forward = new SimLinkDirection(net, this, 'forward', a, b, { ...common, ...forward }, new SimRandom(`${seedU32}/link/${name}/forward`), mbs);
    this.reverse = new SimLinkDirection(net, this, 'reverse', b, a, { ...common, ...reverse }, new SimRandom(`${seedU32}/link/${name}/reverse`), mbs);
  }

  /** Per-direction counters. */
  stats(): { forward: LinkDirectionStats; reverse: LinkDirectionStats } {
    return { forward: this.forward.stats, reverse: this.reverse.stats };
  }

  /** The direction that leaves `node`. */
  from(node: SimNode): SimLinkDirection {
    if (node === this.a) return this.forward;
    if (node === this.b) return this.reverse;
    throw new SimError('unknown-node', `${node.name} is not an end of link ${this.name}`);
  }

  /** Adds a tap; returns a function that removes it. */
  addTap(tap: LinkTap, at: TapPoint = 'delivery'): () => void {
    const lists = at === 'ingress' ? [this.forward.ingressTaps, this.reverse.ingressTaps] : [this.forward.deliveryTaps, this.reverse.deliveryTaps];
    for (const l of lists) l.push(tap);
    return () => {
      for (const l of lists) {
        const i = l.indexOf(tap);
        if (i >= 0) l.splice(i, 1);
      }
    };
  }

  /** Changes settings of one or both directions. */
  update(p: LinkParams, which: SimDirection | 'both' = 'both'): void {
    if (which !== 'reverse') this.forward.update(p);
    if (which !== 'forward') this.reverse.update(p);
  }

  setUp(up: boolean): void {
    this.up = up;
  }
}

export interface RouteEntry {
  /** Destination prefix ("10.0.2.0/24", "fd00::2", "0.0.0.0/0"); omitted: any destination. */
  dst?: string;
  /** Source prefix (policy routing for multihomed hosts); omitted: any source. */
  src?: string;
  /** The link to send on. */
  via: SimLink;
}

interface ParsedRoute {
  dst: Prefix | null;
  src: Prefix | null;
  via: SimLinkDirection;
}

export interface NodeStats {
  /** Packets the node sent itself (hosts) or forwarded (routers). */
  sent: number;
  forwarded: number;
  received: number;
  /** Packets dropped because no route reached their destination. */
  noRoute: number;
  /** Packets that reached a host that does not own their destination and does not forward. */
  notForMe: number;
  /** Packets dropped by a router because the TTL / hop limit ran out. */
  ttlExpired: number;
  /** ICMP Time Exceeded messages sent about them. */
  icmpSent: number;
  /** Packets that are not IPv4/IPv6 (too short, other version). */
  malformed: number;
  /** Packets that arrived after close() (hosts). */
  closedDrops: number;
}

/** A node: a host or a router. */
export abstract class SimNode {
  readonly links: SimLink[] = [];
  readonly stats: NodeStats = { sent: 0, forwarded: 0, received: 0, noRoute: 0, notForMe: 0, ttlExpired: 0, icmpSent: 0, malformed: 0, closedDrops: 0 };
  /** Address keys this node owns. */
  readonly keys = new Set<AddrKey>();
  /** Addresses this node owns, as given. */
  readonly addresses: string[] = [];
  /** Send ICMP Time Exceeded when a forwarded packet's TTL runs out (needs an address of the family). */
  icmp = true;
  protected readonly routes: ParsedRoute[] = [];
  private routeCache = new Map<AddrKey, SimLinkDirection | null>();
  private cacheVersion = -1;
  private hasSrcRoutes = false;

  constructor(
    readonly net: SimNetwork,
    readonly name: string,
    readonly forwarding: boolean,
  ) {}

  abstract receive(packet: Uint8Array, from: SimLinkDirection): void;

  /** Adds a static route; routes are tried in the order added, before automatic routing. */
  addRoute(route: RouteEntry): void {
    const parse = (s: string | undefined, what: string): Prefix | null => {
      if (s === undefined) return null;
      const p = parsePrefix(s);
      if (!p) throw new SimError('bad-config', `bad ${what} prefix '${s}'`);
      return p;
    };
    this.routes.push({ dst: parse(route.dst, 'destination'), src: parse(route.src, 'source'), via: route.via.from(this) });
    if (route.src !== undefined) this.hasSrcRoutes = true;
    this.net.topologyChanged();
  }

  /** The link direction a packet to `dst` (from `src`) leaves by, or null. */
  route(dst: AddrKey, src: AddrKey | null): SimLinkDirection | null {
    if (this.hasSrcRoutes) {
      for (const r of this.routes) {
        if (r.dst && !prefixMatches(r.dst, dst)) continue;
        if (r.src && (src === null || !prefixMatches(r.src, src))) continue;
        return r.via;
      }
    }
    if (this.cacheVersion !== this.net.topologyVersion) {
      this.routeCache.clear();
      this.cacheVersion = this.net.topologyVersion;
    }
    let d = this.routeCache.get(dst);
    if (d === undefined) {
      d = this.computeRoute(dst);
      this.routeCache.set(dst, d);
    }
    return d;
  }

  private computeRoute(dst: AddrKey): SimLinkDirection | null {
    for (const r of this.routes) {
      if (r.src) continue;
      if (r.dst && !prefixMatches(r.dst, dst)) continue;
      return r.via;
    }
    // A link whose far end bound the address to itself wins (multihoming).
    for (const l of this.links) {
      const farKeys = l.a === this ? l.bKeys : l.aKeys;
      if (farKeys.has(dst)) return l.from(this);
    }
    // Otherwise breadth-first search for the fewest hops, through nodes that forward; ties go to the
    // link connected first, which keeps the choice deterministic.
    const owner = this.net.ownerOf(dst);
    if (!owner) return null;
    const firstHop = new Map<SimNode, SimLinkDirection>();
    const queue: SimNode[] = [];
    for (const l of this.links) {
      const dir = l.from(this);
      if (!firstHop.has(dir.to)) {
        firstHop.set(dir.to, dir);
        queue.push(dir.to);
      }
    }
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i];
      const hop = firstHop.get(n)!;
      if (n === owner) return hop;
      if (!n.forwarding) continue;
      for (const l of n.links) {
        const next = l.from(n).to;
        if (next !== this && !firstHop.has(next)) {
          firstHop.set(next, hop);
          queue.push(next);
        }
      }
    }
    return null;
  }

  /** Sends a packet this node originates or forwards. */
  protected output(packet: Uint8Array): boolean {
    const dst = packetDstKey(packet);
    if (dst === null) {
      this.stats.malformed++;
      return false;
    }
    const dir = this.route(dst, this.hasSrcRoutes ? packetSrcKey(packet) : null);
    if (!dir) {
      this.stats.noRoute++;
      return false;
    }
    return dir.ingress(packet);
  }

  /** Forwarding as a router: decrement TTL / hop limit (RFC 791 §3.2, RFC 8200 §3), then route. */
  protected forward(packet: Uint8Array, from: SimLinkDirection): void {
    const v = packetVersion(packet);
    if (v === 0) {
      this.stats.malformed++;
      return;
    }
    if (this.net.decrementTtl) {
      const off = v === 4 ? 8 : 7;
      const ttl = packet[off];
      if (ttl <= 1) {
        this.stats.ttlExpired++;
        if (this.icmp) this.sendTimeExceeded(packet, from, v);
        return;
      }
      if (v === 4) setWord16(packet, 8, ((ttl - 1) << 8) | packet[9], 10);
      else packet[7] = ttl - 1;
    }
    this.stats.forwarded++;
    this.output(packet);
  }

  /** RFC 792 / RFC 4443 §3.3; the source is the address bound to the incoming link if any, as a router answers from that interface. */
  private sendTimeExceeded(packet: Uint8Array, from: SimLinkDirection, v: 4 | 6): void {
    const bound = from.link.a === this ? from.link.aKeys : from.link.bKeys;
    let src: AddrKey | undefined;
    for (const k of bound) if ((typeof k === 'number') === (v === 4)) src = src ?? k;
    if (src === undefined) for (const k of this.keys) if ((typeof k === 'number') === (v === 4)) src = src ?? k;
    if (src === undefined) return;
    const msg = buildTimeExceeded(packet, keyBytes(src));
    if (!msg) return;
    this.stats.icmpSent++;
    this.output(msg);
  }
}

function keyBytes(k: AddrKey): Uint8Array {
  if (typeof k === 'number') return Uint8Array.of(k >>> 24, (k >>> 16) & 0xff, (k >>> 8) & 0xff, k & 0xff);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(k.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export interface RouterOptions {
  /** Addresses of the router (used as the source of its ICMP errors; packets to them are absorbed). */
  addresses?: string[];
  /** Send ICMP Time Exceeded (default true; needs an address of the packet's family). */
  icmp?: boolean;
}

/** A router: forwards everything not addressed to itself. */
export class SimRouter extends SimNode {
  receive(packet: Uint8Array, from: SimLinkDirection): void {
    const dst = packetDstKey(packet);
    if (dst !== null && this.keys.has(dst)) {
      // Addressed to the router itself: absorbed (routers run no transport here).
      this.stats.received++;
      return;
    }
    this.forward(packet, from);
  }
}

export interface HostOptions {
  /** IPv4/IPv6 addresses the host owns. */
  addresses: string[];
  /** Forward packets for other addresses, like a router (default false). */
  forwarding?: boolean;
}

/** A simulated host; it is itself the PacketIo a TCP Host runs on (also reachable as `.io`). */
export class SimHost extends SimNode implements PacketIo {
  private handler: ((packet: Uint8Array) => void) | null = null;
  private closed = false;
  readonly taps: HostTap[] = [];

  constructor(net: SimNetwork, name: string, opts: HostOptions) {
    super(net, name, opts.forwarding ?? false);
  }

  get io(): PacketIo {
    return this;
  }

  get mtu(): number {
    // The smallest MTU of the host's links: what its first hop carries whichever link is chosen.
    let m = Infinity;
    for (const l of this.links) m = Math.min(m, l.from(this).mtu);
    return m === Infinity ? 1500 : m;
  }

  /** Sends one IP packet (copied). False when dropped at this host's interface (no route, queue, mtu, closed). */
  send(packet: Uint8Array): boolean {
    if (this.closed) {
      this.stats.closedDrops++;
      return false;
    }
    const p = new Uint8Array(packet);
    this.stats.sent++;
    const now = this.net.now;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]('out', p, now);
    const dst = packetDstKey(p);
    if (dst !== null && this.keys.has(dst)) {
      // Loopback: delivered through the event queue, never re-entrantly.
      this.net.scheduleLoopback(this, p);
      return true;
    }
    return this.output(p);
  }

  onPacket(handler: (packet: Uint8Array) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
  }

  /** Adds a tap on everything this host sends and receives; returns a function that removes it. */
  addTap(tap: HostTap): () => void {
    this.taps.push(tap);
    return () => {
      const i = this.taps.indexOf(tap);
      if (i >= 0) this.taps.splice(i, 1);
    };
  }

  receive(packet: Uint8Array, from: SimLinkDirection): void {
    const dst = packetDstKey(packet);
    if (dst === null) {
      this.stats.malformed++;
      return;
    }
    if (!this.keys.has(dst)) {
      if (this.forwarding) this.forward(packet, from);
      else this.stats.notForMe++;
      return;
    }
    this.deliverLocal(packet);
  }

  /** @internal */
  deliverLocal(packet: Uint8Array): void {
    if (this.closed) {
      this.stats.closedDrops++;
      return;
    }
    this.stats.received++;
    const now = this.net.now;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]('in', packet, now);
    if (this.handler) this.handler(packet);
  }
}

export interface RunOptions {
  /** Bound on events processed; exceeding it throws SimError('livelock'). */
  maxEvents?: number;
}

const NEVER: TimerHandle = { cancel() {} };

/** The simulated network. */
export class SimNetwork {
  private readonly heap = new EventHeap();
  private seq = 0;
  private _now: number;
  private running = false;
  private readonly seedU32: number;
  private readonly owners = new Map<AddrKey, SimNode>();
  private readonly nodes = new Map<string, SimNode>();
  readonly links: SimLink[] = [];
  /** Bumped on every topology or route change; nodes use it to invalidate their route caches. */
  topologyVersion = 0;
  /** Routers (and forwarding hosts) decrement TTL / hop limit and drop at zero. */
  decrementTtl = true;
  /** Free random stream for scenarios (separate from the links' streams). */
  readonly random: SimRandom;
  /** Events processed since creation. */
  eventsProcessed = 0;
  /** The virtual clock a TCP Host uses. */
  readonly clock: Clock;

  constructor(opts: SimNetworkOptions) {
    this.seedU32 = seedToU32(opts.seed);
    this._now = opts.startTime ?? 0;
    if (!Number.isFinite(this._now)) throw new SimError('bad-config', 'startTime must be finite');
    this.random = new SimRandom(`${this.seedU32}/scenario`);
    const self = this;
    this.clock = {
      now: () => self._now,
      setTimer: (at: number, fn: () => void): TimerHandle => self.setTimer(at, fn),
    };
  }

  /** Current virtual time in ms. */
  get now(): number {
    return this._now;
  }

  /** Events waiting. */
  get pending(): number {
    return this.heap.size;
  }

  /** Time of the next event, or null when idle. */
  get nextEventTime(): number | null {
    const e = this.heap.peek();
    return e ? e.time : null;
  }

  /** Schedules `fn` at absolute virtual time `at` (a past time runs at the current time, after what is already due). */
  setTimer(at: number, fn: () => void): TimerHandle {
    if (Number.isNaN(at)) throw new SimError('bad-config', 'timer time is NaN');
    // "Never": nothing is queued, so an idle network stays idle (runUntilIdle would otherwise run to Infinity).
    if (at === Infinity) return NEVER;
    const t = at > this._now ? at : this._now;
    return this.heap.push(t, this.seq++, SimEventKind.TIMER, fn, null, null);
  }

  /** Creates a per-purpose random stream derived from the seed and a label (stable across topology changes). */
  deriveRandom(label: string): SimRandom {
    return new SimRandom(`${this.seedU32}/user/${label}`);
  }

  addHost(name: string, opts: HostOptions): SimHost {
    const h = new SimHost(this, name, opts);
    this.register(h);
    for (const a of opts.addresses) this.claim(h, a);
    return h;
  }

  addRouter(name: string, opts: RouterOptions = {}): SimRouter {
    const r = new SimRouter(this, name, true);
    r.icmp = opts.icmp ?? true;
    this.register(r);
    for (const a of opts.addresses ?? []) this.claim(r, a);
    return r;
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new SimError('unknown-node', `no node named '${name}'`);
    return n;
  }

  ownerOf(key: AddrKey): SimNode | undefined {
    return this.owners.get(key);
  }

  /** Joins two nodes with a link. */
  connect(aNode: SimNode | string, bNode: SimNode | string, opts: ConnectOptions = {}): SimLink {
    const a = typeof aNode === 'string' ? this.node(aNode) : aNode;
    const b = typeof bNode === 'string' ? this.node(bNode) : bNode;
    for (const n of [a, b]) if (this.nodes.get(n.name) !== n) throw new SimError('unknown-node', `${n.name} does not belong to this network`);
    if (a === b) throw new SimError('bad-config', 'a link needs two different nodes');
    const name = opts.name ?? `${a.name}-${b.name}`;
    if (this.links.some((l) => l.name === name)) throw new SimError('duplicate-name', `a link named '${name}' exists; pass a name`);
    const link = new SimLink(this, name, a, b, opts, this.seedU32);
    for (const [node, addrs, keys] of [
      [a, opts.aAddresses, link.aKeys],
      [b, opts.bAddresses, link.bKeys],
    ] as const) {
      for (const addr of addrs ?? []) {
        const k = this.claim(node, addr);
        keys.add(k);
      }
    }
    this.links.push(link);
    a.links.push(link);
    b.links.push(link);
    this.topologyChanged();
    return link;
  }

  /**
   * Records packets into a sink (e.g. a PcapWriter): on a link, every packet delivered (both
   * directions, as the receiver sees it); on a host, everything it sends and receives.
   * Returns a function that stops the capture.
   */
  capture(target: SimLink | SimHost, sink: PacketSink, at: TapPoint = 'delivery'): () => void {
    if (target instanceof SimLink) return target.addTap((_d, p, t) => sink.writePacket(p, t), at);
    return target.addTap((d, p, t) => sink.writePacket(p, t, { direction: d }));
  }

  /** Processes one event. Returns false when there was none. */
  step(): boolean {
    if (this.running) throw new SimError('reentrant-run', 'step() called from inside the simulation');
    this.running = true;
    try {
      return this.processOne();
    } finally {
      this.running = false;
    }
  }

  /** Runs every event due at or before `untilMs`, then sets the clock to `untilMs`. Returns events processed. */
  run(untilMs: number, opts: RunOptions = {}): number {
    if (this.running) throw new SimError('reentrant-run', 'run() called from inside the simulation');
    const max = opts.maxEvents ?? Infinity;
    this.running = true;
    let n = 0;
    try {
      for (;;) {
        const top = this.heap.peek();
        if (!top || top.time > untilMs) break;
        if (n >= max) throw new SimError('livelock', `more than ${max} events before t=${untilMs} ms (now ${this._now} ms): livelock or too small a bound`);
        this.processOne();
        n++;
      }
      if (untilMs > this._now) this._now = untilMs;
    } finally {
      this.running = false;
    }
    return n;
  }

  /** Runs until no event is left. Throws SimError('livelock') past `maxEvents` (default 10 000 000). */
  runUntilIdle(opts: RunOptions = {}): number {
    if (this.running) throw new SimError('reentrant-run', 'runUntilIdle() called from inside the simulation');
    const max = opts.maxEvents ?? 10_000_000;
    this.running = true;
    let n = 0;
    try {
      while (this.heap.size > 0) {
        if (n >= max) {
          throw new SimError('livelock', `not idle after ${max} events (now ${this._now} ms, ${this.heap.size} pending): livelock, or raise maxEvents`);
        }
        this.processOne();
        n++;
      }
    } finally {
      this.running = false;
    }
    return n;
  }

  private processOne(): boolean {
    const ev: SimEvent | undefined = this.heap.pop();
    if (!ev) return false;
    this._now = ev.time;
    this.eventsProcessed++;
    switch (ev.kind) {
      case SimEventKind.TIMER: {
        const fn = ev.fn;
        ev.fn = null;
        if (fn) fn();
        break;
      }
      case SimEventKind.ARRIVAL:
        (ev.target as SimLinkDirection).deliver(ev.packet!);
        break;
      case SimEventKind.LOOPBACK:
        (ev.target as SimHost).deliverLocal(ev.packet!);
        break;
    }
    return true;
  }

  /** @internal */
  scheduleArrival(time: number, dir: SimLinkDirection, packet: Uint8Array): void {
    this.heap.push(time, this.seq++, SimEventKind.ARRIVAL, null, packet, dir);
  }

  /** @internal */
  scheduleLoopback(host: SimHost, packet: Uint8Array): void {
    this.heap.push(this._now, this.seq++, SimEventKind.LOOPBACK, null, packet, host);
  }

  /** @internal */
  topologyChanged(): void {
    this.topologyVersion++;
  }

  private register(n: SimNode): void {
    if (this.nodes.has(n.name)) throw new SimError('duplicate-name', `a node named '${n.name}' exists`);
    this.nodes.set(n.name, n);
    this.topologyChanged();
  }

  private claim(n: SimNode, addr: string): AddrKey {
    const k = addressKey(addr);
    if (k === null) throw new SimError('bad-config', `'${addr}' is not an IPv4 or IPv6 address`);
    const owner = this.owners.get(k);
    if (owner && owner !== n) throw new SimError('duplicate-address', `${addr} already belongs to ${owner.name}`);
    this.owners.set(k, n);
    if (!n.keys.has(k)) n.addresses.push(addr);
    n.keys.add(k);
    this.topologyChanged();
    return k;
  }
}
