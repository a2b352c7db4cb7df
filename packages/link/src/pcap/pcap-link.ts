/**
 * PcapLink: a host of its own on an Ethernet device, through libpcap (the `cap` addon).
 * It has its own MAC and an IP address the kernel does NOT own, answers ARP requests and IPv6
 * neighbour solicitations for that address, resolves next hops itself (ARP / NS, bounded cache
 * and queue), and injects and captures whole frames. The kernel drops frames addressed to a MAC
 * that is not its own, so it never answers our peers with RSTs and needs no firewall rule.
 */
import type { PacketIo } from '@tcpls/tcp';
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { bytesEqualAt, ipToBytes, samePrefix } from '../real/addr.js';
import { RealLinkError, RealLinkErrorCode } from '../real/errors.js';
import { type CapHandle, isPermissionError, keepFailedCapture, loadCap } from '../real/native.js';
import { deviceExists, findInterfaceForAddress, readMtu } from '../real/netinfo.js';
import { RealLinkCounters, type RealLinkStats, type RealLinkTap, wallClockMs } from '../real/stats.js';
import { ArpOperation, buildArp, parseArp } from './arp.js';
import { FrameError } from './errors.js';
import {
  BROADCAST_MAC,
  EtherType,
  buildEthernetFrame,
  formatMac,
  isGroupMac,
  localMacFrom,
  macEquals,
  parseEthernet,
  parseMac,
} from './ethernet.js';
import { NaFlag, buildNdPacket, ipv6MulticastMac, parseNdPacket, solicitedNodeAddress } from './ndp.js';
import { NeighborTable, type NeighborTableOptions } from './neighbors.js';
import { refuseOutgoing } from '../real/outgoing.js';

export interface PcapLinkOptions {
  /** Ethernet device to capture on and inject into (e.g. a veth). */
  device: string;
  /** Our IPv4 or IPv6 address: must NOT be configured on any interface of this namespace. */
  address: string;
  /** Our MAC ("02:11:22:33:44:55"); default a random locally administered one. */
  mac?: string;
  /** Next hop for destinations outside the prefix. */
  gateway?: string;
  /** On-link prefix length. Default: everything on-link without a gateway, nothing with one. */
  prefixLength?: number;
  /** Neighbour table limits and timers. */
  neighbor?: Partial<NeighborTableOptions>;
  /** libpcap buffer size in bytes (default 4 MiB). */
  captureBufferBytes?: number;
  tap?: RealLinkTap;
}

export interface PcapLinkStats extends RealLinkStats {
  neighbor: {
    /** ARP requests / neighbour solicitations for our address that we answered. */
    answered: number;
    /** ARP requests / neighbour solicitations we sent. */
    solicited: number;
    /** Mappings learnt. */
    learnt: number;
    cached: number;
    pendingHops: number;
    queuedPackets: number;
  };
}

const SNAP_BYTES = 65536;

function keyOf(addr: Uint8Array): string {
  return Buffer.from(addr.buffer, addr.byteOffset, addr.length).toString('hex');
}

export class PcapLink implements PacketIo {
  readonly name: string;
  readonly mtu: number;
  readonly family: 4 | 6;
  readonly device: string;
  /** Our MAC, "xx:xx:xx:xx:xx:xx". */
  readonly mac: string;
  readonly address: string;
  tap: RealLinkTap | undefined;

  private handler: ((packet: Uint8Array) => void) | undefined;
  private closed = false;
  private readonly counters = new RealLinkCounters();
  private readonly neighborCounts = { answered: 0, solicited: 0, learnt: 0 };
  private readonly macBytes: Uint8Array;
  private readonly addrBytes: Uint8Array;
  private readonly gatewayBytes: Uint8Array | null;
  private readonly prefixLength: number | undefined;
  private readonly neighbors: NeighborTable;
  private readonly solicitedNode: Uint8Array | null;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  // Strong references for the life of the link: a collected Cap aborts the process.
  private cap: CapHandle | null;
  private capBuf: Buffer | null;

  private constructor(init: {
    opts: PcapLinkOptions;
    family: 4 | 6;
    mtu: number;
    mac: Uint8Array;
    cap: CapHandle;
    capBuf: Buffer;
  }) {
    const o = init.opts;
    this.family = init.family;
    this.mtu = init.mtu;
    this.device = o.device;
    this.address = o.address;
    this.macBytes = init.mac;
    this.mac = formatMac(init.mac);
    this.name = `pcap:${o.device}:${o.address}`;
    this.tap = o.tap;
    this.addrBytes = ipToBytes(o.address)!;
    this.gatewayBytes = o.gateway === undefined ? null : ipToBytes(o.gateway);
    this.prefixLength = o.prefixLength;
    this.neighbors = new NeighborTable(o.neighbor);
    this.solicitedNode = init.family === 6 ? solicitedNodeAddress(this.addrBytes) : null;
    this.cap = init.cap;
    this.capBuf = init.capBuf;
  }

  static async open(opts: PcapLinkOptions): Promise<PcapLink> {
    const { device, address } = opts;
    if (!isIPv4(address) && !isIPv6(address)) throw new RealLinkError(RealLinkErrorCode.badOption, `not an IP address: ${address}`);
    const family: 4 | 6 = isIPv4(address) ? 4 : 6;
    if (opts.gateway !== undefined && (family === 4 ? !isIPv4(opts.gateway) : !isIPv6(opts.gateway))) {
      throw new RealLinkError(RealLinkErrorCode.badOption, `gateway ${opts.gateway} is not an IPv${family} address`);
    }
    const maxPrefix = family === 4 ? 32 : 128;
    if (opts.prefixLength !== undefined && !(Number.isInteger(opts.prefixLength) && opts.prefixLength >= 0 && opts.prefixLength <= maxPrefix)) {
      throw new RealLinkError(RealLinkErrorCode.badOption, `prefixLength must be 0..${maxPrefix}`);
    }
    let mac: Uint8Array;
    try {
      mac = opts.mac === undefined ? localMacFrom(randomBytes(6)) : parseMac(opts.mac);
    } catch (e) {
      throw new RealLinkError(RealLinkErrorCode.badOption, (e as Error).message);
    }
    if (isGroupMac(mac)) throw new RealLinkError(RealLinkErrorCode.badOption, `MAC ${opts.mac} is a group address`);
    if (!deviceExists(device)) {
      throw new RealLinkError(RealLinkErrorCode.deviceNotFound, `PcapLink: no device '${device}' in this network namespace`);
    }
    const owner = findInterfaceForAddress(address);
    if (owner !== null) {
      throw new RealLinkError(
        RealLinkErrorCode.addressOwnedByKernel,
        `PcapLink: ${address} is configured on ${owner.ifname}; the pcap link needs an address the kernel does not own (use RawSocketLink for that one)`,
      );
    }
    const mtu = readMtu(device);
    const capMod = await loadCap();
    const cap = new capMod.Cap();
    const capBuf = Buffer.alloc(SNAP_BYTES);
    const macText = formatMac(mac);
    // Our unicast frames, plus what resolution needs: ARP broadcasts (IPv4) or frames to our
    // solicited-node group (IPv6). pcap also captures what we inject: skip our own source MAC.
    let wanted = `ether dst ${macText}`;
    if (family === 4) wanted += ' or (arp and ether broadcast)';
    else wanted += ` or ether dst ${formatMac(ipv6MulticastMac(solicitedNodeAddress(ipToBytes(address)!)))}`;
    const filter = `not ether src ${macText} and (${wanted})`;
    let linkType: string;
    try {
      linkType = cap.open(device, filter, opts.captureBufferBytes ?? 4 * 1024 * 1024, capBuf);
    } catch (e) {
      keepFailedCapture(cap, capBuf);
      const m = (e as Error).message;
      if (isPermissionError(e)) {
        throw new RealLinkError(RealLinkErrorCode.permission, `PcapLink needs root or CAP_NET_RAW: ${m}`);
      }
      throw new RealLinkError(RealLinkErrorCode.setupFailed, `PcapLink: cannot capture on ${device}: ${m}`);
    }
    if (linkType !== 'ETHERNET') {
      cap.close();
      throw new RealLinkError(RealLinkErrorCode.badOption, `PcapLink: ${device} is not an Ethernet device (${linkType})`);
    }
    const link = new PcapLink({ opts, family, mtu, mac, cap, capBuf });
    cap.on('packet', (nbytes, truncated) => link.onCapture(nbytes, truncated));
    return link;
  }

  onPacket(handler: (packet: Uint8Array) => void): void {
    this.handler = handler;
  }

  stats(): PcapLinkStats {
    return {
      ...this.counters.snapshot(),
      neighbor: {
        ...this.neighborCounts,
        cached: this.neighbors.size,
        pendingHops: this.neighbors.pendingHops,
        queuedPackets: this.neighbors.queuedPackets,
      },
    };
  }

  // ---- receive -------------------------------------------------------------------------------

  private onCapture(nbytes: number, truncated: boolean): void {
    const buf = this.capBuf;
    if (buf === null || this.closed) return;
    if (truncated || nbytes > buf.length) {
      this.counters.drop('truncated');
      return;
    }
    this.receiveFrame(buf.subarray(0, nbytes));
  }

  /**
   * Handles one captured Ethernet frame (a view into the shared capture buffer: anything kept is
   * copied). Public for tests that feed hand-made frames; never throws on bad input.
   */
  receiveFrame(frame: Uint8Array): void {
    let parsed;
    try {
      parsed = parseEthernet(frame);
    } catch {
      this.counters.drop('malformedFrame');
      return;
    }
    const { eth, payload } = parsed;
    if (macEquals(eth.src, this.macBytes)) {
      this.counters.filtered++; // our own injected frame
      return;
    }
    if (!macEquals(eth.dst, this.macBytes) && !isGroupMac(eth.dst)) {
      this.counters.filtered++;
      return;
    }
    const now = performance.now();
    if (eth.etherType === EtherType.ARP && this.family === 4) this.receiveArp(eth.src, payload, now);
    else if (eth.etherType === EtherType.IPV4 && this.family === 4) this.receiveIpv4(payload);
    else if (eth.etherType === EtherType.IPV6 && this.family === 6) this.receiveIpv6(eth.src, payload, now);
    else this.counters.filtered++;
  }

  private receiveArp(ethSrc: Uint8Array, payload: Uint8Array, now: number): void {
    let arp;
    try {
      arp = parseArp(payload);
    } catch (e) {
      this.counters.drop(e instanceof FrameError && e.code === 'unsupported' ? 'unsupportedArp' : 'malformedArp');
      return;
    }
    if (bytesEqualAt(this.addrBytes, arp.spa, 0)) {
      // Someone else claims our address.
      this.counters.drop('addressConflict');
      return;
    }
    if (isGroupMac(arp.sha)) {
      this.counters.drop('malformedArp');
      return;
    }
    const forUs = bytesEqualAt(this.addrBytes, arp.tpa, 0);
    const senderKey = keyOf(arp.spa);
    // RFC 826 "Packet Reception": update a known sender; add it when we are the target.
    if (forUs || this.neighbors.knows(senderKey)) this.learn(senderKey, arp.sha, now);
    if (!forUs) {
      this.counters.filtered++;
      return;
    }
    if (arp.operation === ArpOperation.REQUEST) {
      const reply = buildArp({ operation: ArpOperation.REPLY, sha: this.macBytes, spa: this.addrBytes, tha: arp.sha, tpa: arp.spa });
      this.inject(ethSrc, EtherType.ARP, reply);
      this.neighborCounts.answered++;
    }
  }

  private receiveIpv4(payload: Uint8Array): void {
    if (payload.length < 20 || payload[0] >> 4 !== 4) {
      this.counters.drop('malformedIp');
      return;
    }
    const ihl = (payload[0] & 0x0f) * 4;
    const totalLength = (payload[2] << 8) | payload[3];
    if (ihl < 20 || totalLength < ihl || totalLength > payload.length) {
      this.counters.drop('malformedIp');
      return;
    }
    if (!bytesEqualAt(this.addrBytes, payload, 16)) {
      this.counters.filtered++;
      return;
    }
    // Ethernet pads short frames: the IP total length says where the packet ends.
    this.deliver(payload.subarray(0, totalLength));
  }

  private receiveIpv6(ethSrc: Uint8Array, payload: Uint8Array, now: number): void {
    if (payload.length < 40 || payload[0] >> 4 !== 6) {
      this.counters.drop('malformedIp');
      return;
    }
    const total = 40 + ((payload[4] << 8) | payload[5]);
    if (total > payload.length) {
      this.counters.drop('malformedIp');
      return;
    }
    const toUs = bytesEqualAt(this.addrBytes, payload, 24);
    const toGroup = this.solicitedNode !== null && bytesEqualAt(this.solicitedNode, payload, 24);
    if (!toUs && !toGroup) {
      this.counters.filtered++;
      return;
    }
    let nd;
    try {
      nd = parseNdPacket(payload);
    } catch {
      this.counters.drop('malformedNd');
      return;
    }
    if (nd === null) {
      if (toUs) this.deliver(payload.subarray(0, total));
      else this.counters.filtered++;
      return;
    }
    const srcKey = keyOf(nd.src);
    if (nd.type === 'ns') {
      if (!bytesEqualAt(this.addrBytes, nd.target, 0)) {
        this.counters.filtered++;
        return;
      }
      if (nd.src.every((b) => b === 0)) {
        // Someone runs duplicate address detection on our address (RFC 4862 §5.4.3): we own it
        // only by convention here, so we stay silent and count it.
        this.counters.drop('dadProbe');
        return;
      }
      // RFC 4861 §7.2.3: learn the solicitor from its source LLA, answer unicast with S and O set.
      const peerMac = nd.lla ?? ethSrc;
      if (nd.lla !== null) this.learn(srcKey, nd.lla, now);
      const na = buildNdPacket({
        type: 'na',
        src: this.addrBytes,
        dst: new Uint8Array(nd.src),
        target: this.addrBytes,
        flags: NaFlag.SOLICITED | NaFlag.OVERRIDE,
        lla: this.macBytes,
      });
      this.inject(peerMac, EtherType.IPV6, na);
      this.neighborCounts.answered++;
      return;
    }
    // Neighbour advertisement: learn the target's LLA (RFC 4861 §7.2.5) if we asked or know it.
    if (bytesEqualAt(this.addrBytes, nd.target, 0)) {
      this.counters.drop('addressConflict');
      return;
    }
    const targetKey = keyOf(nd.target);
    if (nd.lla !== null && this.neighbors.knows(targetKey)) this.learn(targetKey, nd.lla, now);
    else this.counters.filtered++;
  }

  private deliver(view: Uint8Array): void {
    const packet = new Uint8Array(view); // a copy out of the shared capture buffer (Buffer#slice would be a view)
    this.counters.packetsIn++;
    this.counters.bytesIn += packet.length;
    this.tap?.('in', packet, wallClockMs());
    const h = this.handler;
    if (h === undefined) this.counters.drop('noHandler');
    else h(packet);
  }

  private learn(key: string, mac: Uint8Array, now: number): void {
    const waiting = this.neighbors.learn(key, mac, now);
    this.neighborCounts.learnt++;
    for (const p of waiting) this.transmitIp(mac, p);
    this.armTimer();
  }

  // ---- send ----------------------------------------------------------------------------------

  send(packet: Uint8Array): boolean {
    if (refuseOutgoing(this.closed || this.cap === null, packet, this.family, this.mtu, this.counters)) return false;
    const dst = this.family === 4 ? packet.subarray(16, 20) : packet.subarray(24, 40);
    if (this.family === 6 && dst[0] === 0xff) {
      this.transmitIp(ipv6MulticastMac(dst), packet);
      return true;
    }
    if (this.family === 4 && dst.every((b) => b === 0xff)) {
      this.transmitIp(BROADCAST_MAC, packet);
      return true;
    }
    const hop = this.nextHop(dst);
    if (hop === null) {
      this.counters.drop('noRoute');
      return false;
    }
    const key = keyOf(hop);
    const now = performance.now();
    const mac = this.neighbors.lookup(key, now);
    if (mac !== undefined) {
      this.transmitIp(mac, packet);
      return true;
    }
    const r = this.neighbors.enqueue(key, new Uint8Array(packet), now);
    if (r === 'queueFull') {
      this.counters.drop('queueFull');
      return false;
    }
    if (r === 'solicit') this.solicit(hop);
    this.armTimer();
    return true;
  }

  private nextHop(dst: Uint8Array): Uint8Array | null {
    const onLink =
      this.prefixLength !== undefined ? samePrefix(dst, this.addrBytes, this.prefixLength) : this.gatewayBytes === null;
    if (onLink) return new Uint8Array(dst);
    return this.gatewayBytes;
  }

  private solicit(hop: Uint8Array): void {
    this.neighborCounts.solicited++;
    if (this.family === 4) {
      const req = buildArp({ operation: ArpOperation.REQUEST, sha: this.macBytes, spa: this.addrBytes, tha: new Uint8Array(6), tpa: hop });
      this.inject(BROADCAST_MAC, EtherType.ARP, req);
    } else {
      const group = solicitedNodeAddress(hop);
      const ns = buildNdPacket({ type: 'ns', src: this.addrBytes, dst: group, target: hop, flags: 0, lla: this.macBytes });
      this.inject(ipv6MulticastMac(group), EtherType.IPV6, ns);
    }
  }

  private transmitIp(dstMac: Uint8Array, packet: Uint8Array): void {
    if (this.inject(dstMac, this.family === 4 ? EtherType.IPV4 : EtherType.IPV6, packet)) {
      this.counters.packetsOut++;
      this.counters.bytesOut += packet.length;
      this.tap?.('out', packet, wallClockMs());
    }
  }

  /** Builds and injects one frame (a fresh buffer: the caller's packet is copied). */
  private inject(dstMac: Uint8Array, etherType: number, payload: Uint8Array): boolean {
    const cap = this.cap;
    if (cap === null) return false;
    const frame = buildEthernetFrame({ dst: dstMac, src: this.macBytes, etherType }, payload);
    try {
      cap.send(Buffer.from(frame.buffer, frame.byteOffset, frame.length), frame.length);
      return true;
    } catch {
      this.counters.drop('injectError');
      return false;
    }
  }

  // ---- timers --------------------------------------------------------------------------------

  private armTimer(): void {
    const at = this.neighbors.nextDeadline();
    if (at === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - performance.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.closed) return;
    const r = this.neighbors.poll(performance.now());
    for (const key of r.solicit) this.solicit(Uint8Array.from(Buffer.from(key, 'hex')));
    for (const f of r.failed) this.counters.drop('unresolved', f.dropped.length);
    this.armTimer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const dropped = this.neighbors.clearPending();
    if (dropped > 0) this.counters.drop('closed', dropped);
    const cap = this.cap;
    if (cap !== null) {
      cap.removeAllListeners('packet');
      cap.close();
    }
    this.cap = null;
    this.capBuf = null;
  }
}
