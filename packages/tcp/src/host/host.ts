/**
 * The Host: owns one link (PacketIo) and one clock, demultiplexes incoming segments by 4-tuple to
 * connections, answers for listeners (with a bounded SYN queue and SYN cookies when it is full),
 * allocates ephemeral ports, keeps one timer armed for the earliest connection deadline, and
 * flushes every connection's output after each input.
 *
 * The Host is a driver, not an engine: it is the one place where the sans-IO TcpConnection meets a
 * link and a clock. Everything it does is synchronous, so on the simulator (a virtual clock whose
 * run() delivers packets and fires timers) a whole transfer is reproducible from the seed.
 */
import type { Clock, PacketIo, TimerHandle } from '../io.js';
import {
  buildTcpPacket,
  parseTcpPacket,
  formatIpAddress,
  parseIpAddress,
  ipVersionOf,
  DEFAULT_TTL,
  IPV4_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  TCP_HEADER_LENGTH,
  TcpFlag,
  WireError,
  type TcpRepr,
  type IpRepr,
} from '../wire/index.js';
import { TcpConnection } from '../connection/connection.js';
import { isnRfc6528 } from '../connection/isn.js';
import { DEFAULT_TCP_CONFIG, type Endpoint, type TcpConfig, type TcpEvent, type TraceRecord } from '../connection/types.js';
import { SynCookieJar } from './syn-cookies.js';

export interface HostOptions {
  /** The link. */
  io: PacketIo;
  clock: Clock;
  /** Addresses this host answers for (IPv4 and/or IPv6), e.g. the link's own address. */
  addresses: string[];
  /** Key of the RFC 6528 ISN function and of SYN cookies; random when absent. */
  secret?: Uint8Array;
  /** Randomness for ports and timestamp offsets [node:crypto's getRandomValues]. */
  random?: (n: number) => Uint8Array;
  /** Defaults for every connection of this host. */
  tcp?: Partial<TcpConfig>;
  /** Ephemeral port range, inclusive [49152, 65535]. */
  ephemeralPorts?: [number, number];
  /** Verify TCP checksums of incoming segments [true]. */
  verifyChecksums?: boolean;
  /** Trace sink for every connection (JSON-able records, tagged with the connection's 4-tuple). */
  trace?: (rec: TraceRecord & { conn: string }) => void;
  /** IP TTL / hop limit of outgoing packets [64]. */
  ttl?: number;
  /**
   * Which segments for no connection get a RST (RFC 9293 3.10.7.1) ['all']. 'bound': only those
   * to a port this host listens on or has used. Use 'bound' when the host shares its address with
   * the kernel (a raw-socket link): segments for the kernel's own sockets must be left alone.
   */
  resetScope?: 'all' | 'bound';
}

/**
 * Optional capability of a link (structural, so `tcp` still never imports `link`): it receives in
 * bursts (e.g. a raw socket drained until EAGAIN) and calls `fn` after the last packet of each
 * burst. A Host on such a link processes every segment of the burst first and only then polls the
 * connections it touched for output and events, so one ACK answers a whole burst of in-order
 * segments (what Linux's GRO achieves in the kernel), the ACKs of a burst release one batch of
 * data, and the application reads once per burst.
 */
export interface ReceiveBurstSource {
  onReceiveBatchEnd(fn: () => void): void;
}

/** Segments a connection may take within one burst before it is serviced anyway (bounds ACK delay). */
export const BURST_SERVICE_SEGMENTS = 32;

function isBurstSource(io: PacketIo): io is PacketIo & ReceiveBurstSource {
  return typeof (io as Partial<ReceiveBurstSource>).onReceiveBatchEnd === 'function';
}

export interface ListenOptions {
  /** Local address to accept on [any of the host's addresses]. */
  address?: string;
  /** Bound on connections in SYN-RECEIVED; when full, SYN cookies answer [128]. */
  backlog?: number;
  /** Per-connection configuration for accepted connections. */
  tcp?: Partial<TcpConfig>;
}

export interface ConnectOptions {
  remote: Endpoint;
  /** Local address [the host's first address of the remote's family] and port [ephemeral]. */
  local?: Partial<Endpoint>;
  tcp?: Partial<TcpConfig>;
}

/** Counters of what the host dropped or answered, by reason. */
export interface HostStats {
  packetsIn: number;
  packetsOut: number;
  malformed: Record<string, number>;
  notForUs: number;
  noConnection: number;
  rstSent: number;
  synQueueFull: number;
  synCookiesSent: number;
  synCookiesAccepted: number;
  synCookiesRejected: number;
  connectionsOpened: number;
  connectionsClosed: number;
  sendFailures: number;
}

/**
 * One connection as the host manages it: the engine plus a listener for its events.
 *
 * Events are never delivered re-entrantly: a read(), write(), shutdown() or abort() made inside an
 * event handler only flushes output, and the host's dispatch loop delivers the events it caused
 * after the handler returns; the same calls made outside a handler (e.g. from a stdin callback)
 * have their events delivered from a zero-delay clock timer. So a loop like
 * `for (let d = c.read(); d; d = c.read()) sink.push(d)` never sees 'peer-closed' in the middle.
 */
export class HostConnection {
  onEvent: ((ev: TcpEvent, c: HostConnection) => void) | null = null;
  /** Set once the connection reached CLOSED and left the host's table. */
  released = false;
  /** Events taken from the engine, not yet delivered. */
  readonly queued: TcpEvent[] = [];
  /** The listener to tell (onConnection) just before 'connected' is delivered. */
  acceptBy: Listener | null = null;
  constructor(
    readonly host: Host,
    readonly conn: TcpConnection,
    readonly key: string,
  ) {}
  get local(): Endpoint {
    return this.conn.local;
  }
  get remote(): Endpoint {
    return this.conn.remote;
  }
  get state() {
    return this.conn.state;
  }
  /** Queues data and sends what the windows allow; returns the bytes accepted. */
  write(data: Uint8Array): number {
    const n = this.conn.write(data);
    this.host.service(this, true);
    return n;
  }
  read(maxBytes?: number): Uint8Array | null {
    const d = this.conn.read(maxBytes);
    // Reading opens the receive window: let the engine send a window update if it wants to.
    if (d) this.host.service(this, true);
    return d;
  }
  shutdown(): void {
    this.conn.shutdown();
    this.host.service(this, true);
  }
  abort(): void {
    this.conn.abort();
    this.host.service(this, true);
  }
}

export class Listener {
  synReceived = 0;
  constructor(
    readonly port: number,
    readonly address: string | null,
    readonly backlog: number,
    readonly tcp: Partial<TcpConfig> | undefined,
    readonly onConnection: (c: HostConnection) => void,
  ) {}
}

interface TimerEntry {
  at: number;
  c: HostConnection;
}

function tupleKey(localAddr: string, localPort: number, remoteAddr: string, remotePort: number): string {
  return `${localAddr}|${localPort}|${remoteAddr}|${remotePort}`;
}

/**
 * The text the codecs give a packet's addresses (RFC 5952 for IPv6): tuple keys and the address
 * list are compared with what parseTcpPacket returns, so "FD00:0::1" must become "fd00::1".
 * Throws WireError('bad-address') on anything that is not an address.
 */
function canonicalAddress(a: string): string {
  return formatIpAddress(parseIpAddress(a));
}

function defaultRandom(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

export class Host {
  readonly io: PacketIo;
  readonly clock: Clock;
  readonly addresses: string[];
  readonly stats: HostStats = {
    packetsIn: 0,
    packetsOut: 0,
    malformed: {},
    notForUs: 0,
    noConnection: 0,
    rstSent: 0,
    synQueueFull: 0,
    synCookiesSent: 0,
    synCookiesAccepted: 0,
    synCookiesRejected: 0,
    connectionsOpened: 0,
    connectionsClosed: 0,
    sendFailures: 0,
  };
  private readonly connections = new Map<string, HostConnection>();
  private readonly listeners = new Map<string, Listener>(); // key: `${address|*}|${port}`
  private lastHit: HostConnection | null = null;
  /** Connections that took segments in the current receive burst, with how many (see ReceiveBurstSource). */
  private readonly burst = new Map<HostConnection, number>();
  private readonly bursty: boolean;
  /** Listener that accepted each connection still in SYN-RECEIVED (for the SYN-queue count). */
  private readonly pendingAccept = new Map<HostConnection, Listener>();
  private readonly secret: Uint8Array;
  private readonly random: (n: number) => Uint8Array;
  private readonly tcpDefaults: Partial<TcpConfig>;
  private readonly ephemeral: [number, number];
  private readonly verifyChecksums: boolean;
  private readonly ttl: number;
  private readonly traceSink: HostOptions['trace'];
  private readonly resetScope: 'all' | 'bound';
  /** Local ports of listeners and connections, ever (for resetScope 'bound'). */
  private readonly boundPorts = new Set<number>();
  private readonly cookies: SynCookieJar;
  // One clock timer for the earliest deadline; a lazy min-heap of (deadline, connection).
  private heap: TimerEntry[] = [];
  /**
   * Per connection, the deadline of its newest entry in the heap (absent: none there). service()
   * pushes an entry only when the engine's deadline differs from it, so the calls that leave the
   * deadline unchanged (most reads and writes) add no stale entries.
   */
  private readonly heapAt = new Map<HostConnection, number>();
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private closed = false;
  /** Connections with undelivered events. */
  private readonly dirty = new Set<HostConnection>();
  private dispatching = false;
  private deferred: TimerHandle | null = null;

  constructor(opts: HostOptions) {
    if (opts.addresses.length === 0) throw new Error('Host needs at least one local address');
    this.io = opts.io;
    this.clock = opts.clock;
    this.addresses = opts.addresses.map(canonicalAddress);
    this.random = opts.random ?? defaultRandom;
    this.secret = opts.secret ?? this.random(32);
    this.tcpDefaults = opts.tcp ?? {};
    this.ephemeral = opts.ephemeralPorts ?? [49152, 65535];
    this.verifyChecksums = opts.verifyChecksums ?? true;
    this.ttl = opts.ttl ?? DEFAULT_TTL;
    this.traceSink = opts.trace;
    this.resetScope = opts.resetScope ?? 'all';
    this.cookies = new SynCookieJar(this.secret);
    this.io.onPacket((p) => this.receive(p));
    this.bursty = isBurstSource(this.io);
    if (isBurstSource(this.io)) this.io.onReceiveBatchEnd(() => this.endBurst());
  }

  /** The link's receive burst ended: poll every connection that took segments in it. */
  endBurst(): void {
    if (this.burst.size === 0) return;
    for (const hc of this.burst.keys()) {
      this.burst.delete(hc);
      this.service(hc);
    }
  }

  /** MSS for a connection over this link (MTU less the IP and TCP headers). */
  mssFor(address: string): number {
    return this.io.mtu - (ipVersionOf(address) === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH) - TCP_HEADER_LENGTH;
  }

  private configFor(address: string, extra?: Partial<TcpConfig>): Partial<TcpConfig> {
    return { mss: this.mssFor(address), ...this.tcpDefaults, ...extra };
  }

  private traceFor(key: string): ((rec: TraceRecord) => void) | undefined {
    const sink = this.traceSink;
    if (!sink) return undefined;
    return (rec) => sink({ ...rec, conn: key });
  }

  private tsOffset(): number {
    const b = this.random(4);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }

  /** Active open. The connection's 'connected' or 'closed' event tells how it went. */
  connect(opts: ConnectOptions): HostConnection {
    this.assertOpen();
    const remote = { address: canonicalAddress(opts.remote.address), port: opts.remote.port };
    const family = ipVersionOf(remote.address);
    const wantedLocal = opts.local?.address;
    const localAddress = wantedLocal !== undefined ? canonicalAddress(wantedLocal) : this.addresses.find((a) => ipVersionOf(a) === family);
    if (!localAddress) throw new Error(`no local IPv${family} address to reach ${remote.address}`);
    if (!this.addresses.includes(localAddress)) throw new Error(`${localAddress} is not an address of this host`);
    const localPort = opts.local?.port ?? this.allocatePort(localAddress, remote);
    const key = tupleKey(localAddress, localPort, remote.address, remote.port);
    if (this.connections.has(key)) throw new Error(`connection ${key} already exists`);
    const local = { address: localAddress, port: localPort };
    const now = this.clock.now();
    const conn = TcpConnection.connect({
      local,
      remote,
      iss: isnRfc6528(this.secret, local, remote, now),
      now,
      config: this.configFor(localAddress, opts.tcp),
      tsOffset: this.tsOffset(),
      trace: this.traceFor(key),
    });
    const hc = new HostConnection(this, conn, key);
    this.connections.set(key, hc);
    this.boundPorts.add(localPort);
    this.stats.connectionsOpened++;
    // Flush the SYN; events (none yet, normally) wait for the caller to set onEvent.
    this.service(hc, true);
    return hc;
  }

  /** Passive open on `port`. Returns the listener; close it with unlisten(). */
  listen(port: number, opts: ListenOptions, onConnection: (c: HostConnection) => void): Listener {
    this.assertOpen();
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
    const address = opts.address === undefined ? null : canonicalAddress(opts.address);
    const lkey = `${address ?? '*'}|${port}`;
    if (this.listeners.has(lkey)) throw new Error(`already listening on ${lkey}`);
    const l = new Listener(port, address, opts.backlog ?? 128, opts.tcp, onConnection);
    this.listeners.set(lkey, l);
    this.boundPorts.add(port);
    return l;
  }

  unlisten(l: Listener): void {
    this.listeners.delete(`${l.address ?? '*'}|${l.port}`);
  }

  connectionCount(): number {
    return this.connections.size;
  }

  allConnections(): HostConnection[] {
    return [...this.connections.values()];
  }

  private findListener(address: string, port: number): Listener | undefined {
    return this.listeners.get(`${address}|${port}`) ?? this.listeners.get(`*|${port}`);
  }

  private allocatePort(localAddress: string, remote: Endpoint): number {
    const [lo, hi] = this.ephemeral;
    const span = hi - lo + 1;
    const b = this.random(2);
    const start = ((b[0] << 8) | b[1]) % span;
    for (let i = 0; i < span; i++) {
      const p = lo + ((start + i) % span);
      if (!this.connections.has(tupleKey(localAddress, p, remote.address, remote.port)) && !this.findListener(localAddress, p)) return p;
    }
    throw new Error('no free ephemeral port');
  }

  /**
   * One IP packet from the link. On a link with receive bursts (ReceiveBurstSource) the touched
   * connection is polled at the burst's end: whoever feeds packets by hand calls endBurst() after.
   */
  receive(packet: Uint8Array): void {
    if (this.closed) return;
    this.stats.packetsIn++;
    let ip: IpRepr;
    let tcp: TcpRepr;
    try {
      ({ ip, tcp } = parseTcpPacket(packet, { verifyChecksum: this.verifyChecksums }));
    } catch (e) {
      const code = e instanceof WireError ? e.code : 'other';
      this.stats.malformed[code] = (this.stats.malformed[code] ?? 0) + 1;
      return;
    }
    if (!this.addresses.includes(ip.dst)) {
      this.stats.notForUs++;
      return;
    }
    // The last connection found: a burst is mostly segments of one connection, and comparing the
    // tuple is cheaper than building and hashing its key for every packet.
    let hc: HostConnection | undefined;
    let key: string;
    const last = this.lastHit;
    if (last !== null && !last.released && last.conn.local.port === tcp.dstPort && last.conn.remote.port === tcp.srcPort && last.conn.remote.address === ip.src && last.conn.local.address === ip.dst) {
      hc = last;
      key = last.key;
    } else {
      key = tupleKey(ip.dst, tcp.dstPort, ip.src, tcp.srcPort);
      hc = this.connections.get(key);
      if (hc !== undefined) this.lastHit = hc;
    }
    const seg = { tcp, ecn: ip.ecn };
    if (hc) {
      hc.conn.handleSegment(seg, this.clock.now());
      if (this.bursty) {
        // Service at the end of the burst, or now if the connection took many segments already.
        const n = (this.burst.get(hc) ?? 0) + 1;
        if (n < BURST_SERVICE_SEGMENTS) {
          this.burst.set(hc, n);
          return;
        }
        this.burst.delete(hc);
      }
      this.service(hc);
      return;
    }
    this.noConnection(ip, tcp, key, seg.ecn);
  }

  /** A segment for no connection: a listener's SYN or cookie ACK, or a reset (RFC 9293 3.10.7.1). */
  private noConnection(ip: IpRepr, tcp: TcpRepr, key: string, ecn: number): void {
    const f = tcp.flags;
    const listener = this.findListener(ip.dst, tcp.dstPort);
    if (listener && !(f & TcpFlag.RST)) {
      if ((f & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
        this.acceptSyn(listener, ip, tcp, key, ecn);
        return;
      }
      if ((f & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.ACK && this.acceptCookie(listener, ip, tcp, key)) return;
    }
    this.stats.noConnection++;
    if (f & TcpFlag.RST) return; // never answer a RST
    if (this.resetScope === 'bound' && !this.boundPorts.has(tcp.dstPort)) return; // the kernel's business
    // RFC 9293 3.10.7.1: if ACK is on, <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    const ackOn = (f & TcpFlag.ACK) !== 0;
    const segLen = tcp.payload.length + (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0);
    const rst: TcpRepr = {
      srcPort: tcp.dstPort,
      dstPort: tcp.srcPort,
      seq: ackOn ? tcp.ack : 0,
      ack: ackOn ? 0 : (tcp.seq + segLen) >>> 0,
      flags: ackOn ? TcpFlag.RST : TcpFlag.RST | TcpFlag.ACK,
      window: 0,
      urgent: 0,
      options: [],
      payload: new Uint8Array(0),
    };
    this.stats.rstSent++;
    this.emit(ip.dst, ip.src, rst, 0);
  }

  private acceptSyn(l: Listener, ip: IpRepr, tcp: TcpRepr, key: string, ecn: number): void {
    const now = this.clock.now();
    const local = { address: ip.dst, port: tcp.dstPort };
    const remote = { address: ip.src, port: tcp.srcPort };
    if (l.synReceived >= l.backlog) {
      // SYN queue full: answer statelessly with a SYN cookie (RFC 4987 3.6).
      this.stats.synQueueFull++;
      const rcvBuf = this.configFor(ip.dst, l.tcp).recvBufferBytes ?? DEFAULT_TCP_CONFIG.recvBufferBytes;
      const synAck = this.cookies.synAck(local, remote, tcp, now, this.mssFor(ip.dst), rcvBuf);
      this.stats.synCookiesSent++;
      this.emit(ip.dst, ip.src, synAck, 0);
      return;
    }
    const conn = TcpConnection.accept({
      local,
      remote,
      syn: { tcp, ecn },
      iss: isnRfc6528(this.secret, local, remote, now),
      now,
      config: this.configFor(ip.dst, l.tcp),
      tsOffset: this.tsOffset(),
      trace: this.traceFor(key),
    });
    const hc = new HostConnection(this, conn, key);
    this.connections.set(key, hc);
    this.stats.connectionsOpened++;
    l.synReceived++;
    this.pendingAccept.set(hc, l);
    this.service(hc);
  }

  private acceptCookie(l: Listener, ip: IpRepr, tcp: TcpRepr, key: string): boolean {
    const now = this.clock.now();
    const local = { address: ip.dst, port: tcp.dstPort };
    const remote = { address: ip.src, port: tcp.srcPort };
    const params = this.cookies.check(local, remote, tcp, now);
    if (!params) {
      this.stats.synCookiesRejected++;
      return false;
    }
    this.stats.synCookiesAccepted++;
    const conn = TcpConnection.acceptEstablished({
      local,
      remote,
      now,
      iss: params.iss,
      irs: params.irs,
      peerMss: params.mss,
      sndWscale: params.sndWscale,
      rcvWscale: params.rcvWscale,
      sack: params.sack,
      timestamps: params.timestamps,
      tsOffset: params.tsOffset,
      config: this.configFor(ip.dst, l.tcp),
      ack: { tcp, ecn: ip.ecn },
      trace: this.traceFor(key),
    });
    const hc = new HostConnection(this, conn, key);
    this.connections.set(key, hc);
    this.stats.connectionsOpened++;
    hc.acceptBy = l;
    this.service(hc);
    return true;
  }

  private emit(src: string, dst: string, tcp: TcpRepr, ecn: number): void {
    const pkt = buildTcpPacket({ src, dst, ecn, ttl: this.ttl, hopLimit: this.ttl }, tcp);
    if (this.io.send(pkt)) this.stats.packetsOut++;
    else this.stats.sendFailures++;
  }

  /**
   * Flushes a connection's output, takes its events (doing the host's own bookkeeping at once:
   * SYN-queue accounting, release on close), re-arms the timer, and delivers the events: right
   * away after a packet or a timeout, later (see HostConnection) after an API call.
   */
  service(hc: HostConnection, fromApi = false): void {
    const conn = hc.conn;
    const now = this.clock.now();
    const local = conn.local.address;
    const remote = conn.remote.address;
    for (let seg = conn.pollTransmit(now); seg !== null; seg = conn.pollTransmit(now)) {
      this.emit(local, remote, seg.tcp, seg.ecn);
    }
    let any = false;
    for (let ev = conn.pollEvent(); ev !== null; ev = conn.pollEvent()) {
      any = true;
      if (ev.type === 'connected' || ev.type === 'closed') {
        const l = this.pendingAccept.get(hc);
        if (l) {
          this.pendingAccept.delete(hc);
          l.synReceived--;
          if (ev.type === 'connected') hc.acceptBy = l;
        }
      }
      if (ev.type === 'closed' && !hc.released) {
        if (this.connections.get(hc.key) === hc) {
          this.connections.delete(hc.key);
          this.stats.connectionsClosed++;
        }
        hc.released = true;
        this.heapAt.delete(hc);
      }
      hc.queued.push(ev);
    }
    if (any) this.dirty.add(hc);
    if (!hc.released) {
      const at = conn.pollTimeout();
      // Most calls leave the deadline as it was (a read, a write that only queues): an entry for
      // it is still in the heap, so pushing another would only add a stale one.
      if (at !== null && at !== this.heapAt.get(hc)) this.schedule(at, hc);
    }
    if (this.dirty.size === 0 || this.dispatching) return;
    if (fromApi) {
      if (this.deferred === null) this.deferred = this.clock.setTimer(now, () => {
        this.deferred = null;
        this.dispatch();
      });
    } else {
      this.dispatch();
    }
  }

  /** Delivers queued events until none is left (handlers may cause more). */
  private dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.dirty.size > 0) {
        const hc: HostConnection = this.dirty.values().next().value!;
        this.dirty.delete(hc);
        for (let ev = hc.queued.shift(); ev !== undefined; ev = hc.queued.shift()) {
          if (ev.type === 'connected' && hc.acceptBy) {
            const l = hc.acceptBy;
            hc.acceptBy = null;
            l.onConnection(hc);
          }
          hc.onEvent?.(ev, hc);
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private schedule(at: number, c: HostConnection): void {
    const h = this.heap;
    h.push({ at, c });
    this.heapAt.set(c, at);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
    // Stale entries accumulate; rebuild when the heap is much larger than the table.
    if (h.length > 64 && h.length > 4 * this.connections.size) this.compactHeap();
    this.arm();
  }

  private compactHeap(): void {
    const fresh: TimerEntry[] = [];
    this.heapAt.clear();
    for (const c of this.connections.values()) {
      const at = c.conn.pollTimeout();
      if (at === null) continue;
      fresh.push({ at, c });
      this.heapAt.set(c, at);
    }
    fresh.sort((a, b) => a.at - b.at);
    this.heap = fresh;
  }

  private popHeap(): TimerEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  private arm(): void {
    const next = this.heap.length > 0 ? this.heap[0].at : Infinity;
    if (next === this.timerAt) return;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = next;
    if (next !== Infinity) this.timer = this.clock.setTimer(next, () => this.onTimer());
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    const due = new Set<HostConnection>();
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const e = this.popHeap()!;
      // Its entry has left the heap: the next service() must push one again, even if equal.
      if (this.heapAt.get(e.c) === e.at) this.heapAt.delete(e.c);
      if (!e.c.released) due.add(e.c);
    }
    for (const c of due) {
      // Extra or early timeouts are harmless to the engine.
      c.conn.handleTimeout(now);
      this.service(c);
    }
    this.arm();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('host is closed');
  }

  /** Aborts every connection (RST), stops the timer and detaches from the link (the link stays open). */
  close(): void {
    if (this.closed) return;
    for (const c of [...this.connections.values()]) c.abort();
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    this.deferred?.cancel();
    this.deferred = null;
    this.heap = [];
    this.heapAt.clear();
    this.burst.clear();
    this.lastHit = null;
    this.io.onPacket(() => {});
  }
}
