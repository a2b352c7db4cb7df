/**
 * RawSocketLink: whole IP packets on and off the wire through raw IP sockets (the `raw-socket`
 * addon), for an address the kernel of this namespace owns.
 *
 * IPv4: one IPPROTO_TCP raw socket with IP_HDRINCL. It receives every TCP packet of the namespace
 * with its IPv4 header; we keep those for our address. It sends our own header (TTL, ECN, DSCP and
 * ID are ours; the kernel fills the header checksum and, when zero, the ID).
 *
 * IPv6: a raw IPv6 socket never shows the IPv6 header on receive, and raw-socket cannot bind() it,
 * so a received packet's destination (and traffic class, hop limit, flow label) would be unknown.
 * We therefore send through an AF_INET6 IPPROTO_RAW socket (Linux implies IPV6_HDRINCL for it, so
 * the whole header is ours) and receive with a libpcap capture (`cap`) on the interface that owns
 * the address, filtered to TCP for our address: whole IPv6 packets, nothing lost.
 *
 * The kernel's RSTs for our address are dropped by an nftables table of ours (see real/rst-guard.ts);
 * our own packets carry SO_MARK so they pass.
 */
import type { PacketIo } from '@tcpls/tcp';
import { isIPv4, isIPv6 } from 'node:net';
import { bytesEqualAt, bytesToIp, ipToBytes } from '../real/addr.js';
import { RealLinkError, RealLinkErrorCode } from '../real/errors.js';
import {
  type CapHandle,
  type RawSocket,
  type RawSocketWrap,
  SockOpt,
  isPermissionError,
  isTryAgain,
  keepFailedCapture,
  loadCap,
  loadRawSocket,
} from '../real/native.js';
import { findInterfaceForAddress, readMtu } from '../real/netinfo.js';
import { RstGuard } from '../real/rst-guard.js';
import { RealLinkCounters, type RealLinkStats, type RealLinkTap, wallClockMs } from '../real/stats.js';
import { refuseOutgoing } from '../real/outgoing.js';

/** The SO_MARK our packets carry unless the caller picks another one. */
export const DEFAULT_RAW_LINK_MARK = 0x7c15;

/** Packets drained per readable event before yielding to the event loop (fairness bound). */
const MAX_DRAIN = 512;
const RECV_BUFFER_BYTES = 65536;
/**
 * Received packets live in slabs of this size, each packet a view of its own region: IPv4 packets
 * are received straight into the slab (no copy; a packet that is filtered out leaves its space
 * free), captured IPv6 packets are copied in. That is a small view object per packet instead of a
 * fresh ArrayBuffer (a native allocation and GC-tracked external memory) and a copy for every
 * packet. A slab lives as long as a view of it does.
 */
const SLAB_BYTES = 2 << 20;
const IPPROTO_TCP = 6;
const IPPROTO_RAW = 255;

export interface RawSocketLinkOptions {
  /** An address configured on an interface of this namespace. */
  localAddress: string;
  /** SO_MARK for our packets; the RST guard lets marked RSTs through. Default DEFAULT_RAW_LINK_MARK. */
  mark?: number;
  /**
   * Local ports the stack uses: reserved from the kernel, the only ones the RST guard covers, and
   * the only destination ports delivered (so the stack never sees, and never resets, the kernel's
   * own connections on the same address). Without it every TCP packet for the address is delivered.
   */
  ports?: number[];
  /** SO_RCVBUFFORCE (IPv4 socket). */
  rcvBufBytes?: number;
  /** SO_SNDBUFFORCE. */
  sndBufBytes?: number;
  /** Install the nftables RST guard and reserve ports (default true). */
  suppressRst?: boolean;
  /** Observer for a pcap-file writer. */
  tap?: RealLinkTap;
}

function permissionError(e: unknown): RealLinkError {
  return new RealLinkError(
    RealLinkErrorCode.permission,
    `RawSocketLink needs root or CAP_NET_RAW: ${(e as Error).message ?? String(e)}`,
  );
}

export class RawSocketLink implements PacketIo {
  readonly name: string;
  readonly mtu: number;
  readonly family: 4 | 6;
  /** The interface that owns the address. */
  readonly device: string;
  /** The tap may be set or cleared at any time. */
  tap: RealLinkTap | undefined;

  private handler: ((packet: Uint8Array) => void) | undefined;
  private batchEnd: (() => void) | undefined;
  private slab: ArrayBuffer = new ArrayBuffer(SLAB_BYTES);
  private slabBytes = new Uint8Array(this.slab);
  private slabOff = 0;
  /** The last destination address sent to, as bytes and as the text the addon wants. */
  private lastDstBytes = new Uint8Array(16);
  private lastDstText = '';
  private closed = false;
  private readonly counters = new RealLinkCounters();
  private readonly localBytes: Uint8Array;
  /** Destination ports delivered (null: all). */
  private readonly portFilter: Set<number> | null;
  // Strong references to the native objects for as long as the link lives (a collected raw-socket
  // stops delivering, a collected Cap corrupts the heap).
  private sock: RawSocket | null;
  private wrap: RawSocketWrap | null;
  /** Where the next IPv4 packet is received: a view of the current slab's free space. */
  private recvTarget: Buffer | null = null;
  private cap: CapHandle | null;
  private capBuf: Buffer | null;
  private capLinkType: string;
  private guard: RstGuard | null;

  private constructor(init: {
    opts: RawSocketLinkOptions;
    family: 4 | 6;
    device: string;
    mtu: number;
    sock: RawSocket;
    cap: CapHandle | null;
    capBuf: Buffer | null;
    capLinkType: string;
    guard: RstGuard | null;
  }) {
    this.name = `raw:${init.opts.localAddress}`;
    this.mtu = init.mtu;
    this.family = init.family;
    this.device = init.device;
    this.tap = init.opts.tap;
    this.localBytes = ipToBytes(init.opts.localAddress)!;
    this.portFilter = init.opts.ports !== undefined && init.opts.ports.length > 0 ? new Set(init.opts.ports) : null;
    this.sock = init.sock;
    this.wrap = init.sock.wrap;
    this.cap = init.cap;
    this.capBuf = init.capBuf;
    this.capLinkType = init.capLinkType;
    this.guard = init.guard;
  }

  /** Opens the link; throws RealLinkError (permission, nft-missing, address-not-local, bad-option). */
  static async open(opts: RawSocketLinkOptions): Promise<RawSocketLink> {
    const addr = opts.localAddress;
    if (!isIPv4(addr) && !isIPv6(addr)) throw new RealLinkError(RealLinkErrorCode.badOption, `not an IP address: ${addr}`);
    const family: 4 | 6 = isIPv4(addr) ? 4 : 6;
    const mark = opts.mark ?? DEFAULT_RAW_LINK_MARK;
    const where = findInterfaceForAddress(addr);
    if (where === null) {
      throw new RealLinkError(
        RealLinkErrorCode.addressNotLocal,
        `RawSocketLink: ${addr} is not configured on any interface in this network namespace`,
      );
    }
    const mtu = readMtu(where.ifname);
    const raw = await loadRawSocket();

    let sock: RawSocket;
    try {
      sock = raw.createSocket({
        protocol: family === 4 ? IPPROTO_TCP : IPPROTO_RAW,
        addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
        bufferSize: RECV_BUFFER_BYTES,
      });
    } catch (e) {
      throw isPermissionError(e) ? permissionError(e) : e;
    }
    let cap: CapHandle | null = null;
    let capBuf: Buffer | null = null;
    let capLinkType = '';
    let guard: RstGuard | null = null;
    try {
      const w = sock.wrap;
      if (family === 4) w.setOption(SockOpt.IPPROTO_IP, SockOpt.IP_HDRINCL, 1);
      w.setOption(SockOpt.SOL_SOCKET, SockOpt.SO_MARK, mark >>> 0);
      if (opts.rcvBufBytes !== undefined) w.setOption(SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUFFORCE, opts.rcvBufBytes);
      if (opts.sndBufBytes !== undefined) w.setOption(SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUFFORCE, opts.sndBufBytes);
      if (family === 6) {
        // Receive side for IPv6: a capture on the owning interface (see the file comment).
        const capMod = await loadCap();
        cap = new capMod.Cap();
        capBuf = Buffer.alloc(RECV_BUFFER_BYTES);
        try {
          capLinkType = cap.open(where.ifname, `ip6 dst ${addr} and tcp`, 4 * 1024 * 1024, capBuf);
        } catch (e) {
          keepFailedCapture(cap, capBuf);
          cap = null;
          throw isPermissionError(e) ? permissionError(e) : e;
        }
      }
      if (opts.suppressRst !== false) guard = RstGuard.install({ address: addr, mark, ports: opts.ports });
    } catch (e) {
      sock.close();
      cap?.close();
      throw e;
    }
    const link = new RawSocketLink({ opts, family, device: where.ifname, mtu, sock, cap, capBuf, capLinkType, guard });
    link.start();
    return link;
  }

  private start(): void {
    const sock = this.sock!;
    // raw-socket's Socket re-emits native errors and then closes; a listener keeps an error from
    // being thrown as an unhandled 'error' event.
    (sock as unknown as { on(ev: string, fn: (e: Error) => void): void }).on('error', () => this.counters.drop('socketError'));
    if (this.family === 4) {
      const wrap = this.wrap!;
      // Replace the stock one-packet-per-event reader by a drain loop (recv until EAGAIN).
      wrap.removeAllListeners('recvReady');
      wrap.on('recvReady', () => this.drainV4());
    } else {
      // IPPROTO_RAW sockets receive nothing; stop polling for readability.
      this.wrap!.removeAllListeners('recvReady');
      this.wrap!.pause(true, true);
      this.cap!.on('packet', (nbytes, truncated) => this.onCapture(nbytes, truncated));
    }
  }

  private drainV4(): void {
    const wrap = this.wrap;
    if (wrap === null) return;
    const onRecv = this.onRecv;
    try {
      for (let i = 0; i < MAX_DRAIN && !this.closed; i++) {
        // Receive straight into the current slab (no copy afterwards): the target is a Buffer view
        // of the slab's free space, renewed only after a packet was kept there.
        let target = this.recvTarget;
        if (target === null) {
          if (this.slabOff + RECV_BUFFER_BYTES > SLAB_BYTES) this.newSlab();
          target = Buffer.from(this.slab, this.slabOff, RECV_BUFFER_BYTES);
          this.recvTarget = target;
        }
        this.got = -1;
        try {
          wrap.recv(target, onRecv);
        } catch (e) {
          if (!isTryAgain(e)) this.counters.drop('recvError');
          return;
        }
        if (this.got < 0) continue;
        const len = this.acceptV4(target, this.got);
        if (len > 0) {
          const packet = new Uint8Array(this.slab, this.slabOff, len);
          this.slabOff = (this.slabOff + len + 7) & ~7;
          this.recvTarget = null;
          this.hand(packet);
        }
      }
      // More may be waiting: libuv reports the socket readable again on the next turn.
    } finally {
      if (!this.closed) this.batchEnd?.();
    }
  }

  private got = -1;
  /** The recv callback, allocated once (the addon calls it synchronously). */
  private readonly onRecv = (_b: Buffer, bytes: number): void => {
    this.got = bytes;
  };

  /** Checks a received IPv4 packet: its length to deliver, or 0 when it is dropped or filtered. */
  private acceptV4(buf: Uint8Array, n: number): number {
    if (n < 20 || buf[0] >> 4 !== 4) {
      this.counters.drop('malformed');
      return 0;
    }
    if (!bytesEqualAt(this.localBytes, buf, 16)) {
      this.counters.filtered++;
      return 0;
    }
    const totalLength = (buf[2] << 8) | buf[3];
    const ihl = (buf[0] & 0x0f) * 4;
    if (totalLength < ihl || ihl < 20 || totalLength > n) {
      this.counters.drop(totalLength > n ? 'truncated' : 'malformed');
      return 0;
    }
    if (!this.portWanted(buf, ihl, totalLength)) {
      this.counters.filtered++;
      return 0;
    }
    return totalLength;
  }

  private newSlab(): void {
    // Not zero-filled: every packet view covers only bytes the kernel or a copy wrote.
    this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES).buffer as ArrayBuffer;
    this.slabBytes = new Uint8Array(this.slab);
    this.slabOff = 0;
  }

  private onCapture(nbytes: number, truncated: boolean): void {
    const buf = this.capBuf;
    if (buf === null || this.closed) return;
    if (truncated) {
      this.counters.drop('truncated');
      return;
    }
    let off: number;
    switch (this.capLinkType) {
      case 'ETHERNET':
        if (nbytes < 14 || ((buf[12] << 8) | buf[13]) !== 0x86dd) {
          this.counters.filtered++;
          return;
        }
        off = 14;
        break;
      case 'LINKTYPE_LINUX_SLL':
        off = 16;
        break;
      case 'NULL':
        off = 4;
        break;
      default:
        off = 0;
    }
    if (nbytes - off < 40 || buf[off] >> 4 !== 6) {
      this.counters.drop('malformed');
      return;
    }
    if (!bytesEqualAt(this.localBytes, buf, off + 24)) {
      this.counters.filtered++;
      return;
    }
    // Ethernet may pad short frames: the IPv6 payload length says where the packet ends.
    const total = 40 + ((buf[off + 4] << 8) | buf[off + 5]);
    if (total > nbytes - off) {
      this.counters.drop('truncated');
      return;
    }
    if (!this.portWanted(buf, off + 40, off + total)) {
      this.counters.filtered++;
      return;
    }
    this.deliver(buf, off, total);
    if (!this.closed) this.batchEnd?.(); // libpcap hands over one packet per event
  }

  /** Whether the TCP header at `tcpOff` goes to one of our ports (always, without a port list). */
  private portWanted(buf: Uint8Array, tcpOff: number, end: number): boolean {
    if (this.portFilter === null) return true;
    if (tcpOff + 4 > end) return false;
    return this.portFilter.has((buf[tcpOff + 2] << 8) | buf[tcpOff + 3]);
  }

  private deliver(buf: Uint8Array, off: number, len: number): void {
    // Copy out of the reused capture buffer (the handler owns what it gets), into the current slab.
    if (this.slabOff + len > SLAB_BYTES) this.newSlab();
    const at = this.slabOff;
    this.slabBytes.set(new Uint8Array(buf.buffer, buf.byteOffset + off, len), at);
    this.slabOff = (at + len + 7) & ~7;
    this.recvTarget = null; // the IPv4 receive target (unused with a capture) may overlap
    this.hand(new Uint8Array(this.slab, at, len));
  }

  /** Counts, taps and hands one received packet (a region of a slab nobody else writes) over. */
  private hand(packet: Uint8Array): void {
    const len = packet.length;
    this.counters.packetsIn++;
    this.counters.bytesIn += len;
    this.tap?.('in', packet, wallClockMs());
    const h = this.handler;
    if (h === undefined) {
      this.counters.drop('noHandler');
      return;
    }
    h(packet);
  }

  send(packet: Uint8Array): boolean {
    const wrap = this.wrap;
    if (refuseOutgoing(this.closed || wrap === null, packet, this.family, this.mtu, this.counters) || wrap === null) return false;
    const dst = this.destinationText(packet);
    // sendto() copies into the kernel before returning, so a view of the caller's bytes is enough.
    const view = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
    try {
      wrap.send(view, 0, packet.length, dst, () => {});
    } catch (e) {
      this.counters.drop(isTryAgain(e) ? 'sendBufferFull' : 'sendError');
      return false;
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += packet.length;
    this.tap?.('out', packet, wallClockMs());
    return true;
  }

  /** The packet's destination as text, cached: a connection sends to the same peer again and again. */
  private destinationText(packet: Uint8Array): string {
    const off = this.family === 4 ? 16 : 24;
    const n = this.family === 4 ? 4 : 16;
    const last = this.lastDstBytes;
    let same = this.lastDstText !== '';
    for (let i = 0; same && i < n; i++) same = last[i] === packet[off + i];
    if (same) return this.lastDstText;
    last.set(packet.subarray(off, off + n));
    this.lastDstText = bytesToIp(packet, off, n as 4 | 16);
    return this.lastDstText;
  }

  /** Sends several packets in one go; returns how many were accepted. */
  sendBatch(packets: readonly Uint8Array[]): number {
    let ok = 0;
    for (const p of packets) if (this.send(p)) ok++;
    return ok;
  }

  onPacket(handler: (packet: Uint8Array) => void): void {
    this.handler = handler;
  }

  /**
   * Called after the last packet of each receive burst (one drain of the socket until EAGAIN or
   * the fairness bound; one capture event for IPv6). A Host uses it to answer a burst of
   * segments with one ACK (see ReceiveBurstSource in @tcpls/tcp). Only one: setting another replaces it.
   */
  onReceiveBatchEnd(fn: () => void): void {
    this.batchEnd = fn;
  }

  stats(): RealLinkStats {
    return this.counters.snapshot();
  }

  /** The nftables table guarding our RSTs, or null when suppression is off or the link is closed. */
  get rstTable(): { family: 'ip' | 'ip6'; name: string } | null {
    return this.guard === null ? null : { family: this.guard.family, name: this.guard.table };
  }

  /** Ports this link added to net.ipv4.ip_local_reserved_ports. */
  get reservedPorts(): readonly number[] {
    return this.guard?.reservedPorts ?? [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.batchEnd = undefined;
    try {
      this.wrap?.removeAllListeners('recvReady');
      this.sock?.close();
    } catch {
      // already closed
    }
    if (this.cap !== null) {
      this.cap.removeAllListeners('packet');
      this.cap.close();
    }
    this.guard?.remove();
    this.guard = null;
    this.sock = null;
    this.wrap = null;
    this.cap = null;
    this.capBuf = null;
  }
}
