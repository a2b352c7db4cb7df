/**
 * pcapng capture files (draft-ietf-opsawg-pcapng): one Section Header Block, one Interface
 * Description Block per capture point (a link, a host, a real interface), and an Enhanced Packet
 * Block per packet with the direction flag (inbound / outbound) and an optional comment. Useful
 * when one file should hold several capture points of a simulation, told apart by interface name.
 * Little-endian throughout. Writing only; tshark/Wireshark read it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { PacketSink } from '../sim/network.js';
import { PCAP_MAX_SNAPLEN, PcapError, PcapLinkType } from './pcap.js';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

export interface PcapngWriterOptions {
  /** Timestamp resolution (default 'micro'). */
  resolution?: 'micro' | 'nano';
  /** Wall-clock ms that time 0 stands for (default 0). */
  epochMs?: number;
  /** Application name in the section header (default "tcpls-ts"). */
  application?: string;
}

export interface PcapngInterfaceOptions {
  /** Link type (default LINKTYPE_RAW, 101). */
  linkType?: number;
  /** Bytes kept per packet (default 65535, at most 262144). */
  snaplen?: number;
}

export interface PcapngPacketInfo {
  /** Direction relative to the capture point: recorded in the EPB flags word. */
  direction?: 'in' | 'out';
  /** A comment shown by Wireshark. */
  comment?: string;
}

const encoder = new TextEncoder();

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Encodes options (code, value) plus opt_endofopt; empty list gives no bytes at all. */
function encodeOptions(opts: [number, Uint8Array][]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  let len = 4;
  for (const [, v] of opts) len += 4 + pad4(v.length);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const [code, v] of opts) {
    if (v.length > 0xffff) throw new PcapError('bad-argument', 'pcapng option value longer than 65535 bytes');
    dv.setUint16(o, code, true);
    dv.setUint16(o + 2, v.length, true);
    out.set(v, o + 4);
    o += 4 + pad4(v.length);
  }
  dv.setUint16(o, OPT_ENDOFOPT, true);
  dv.setUint16(o + 2, 0, true);
  return out;
}

export class PcapngWriter {
  private chunks: Uint8Array[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private closed = false;
  private readonly nano: boolean;
  private readonly epochMs: number;
  private readonly snaplens: number[] = [];
  /** Packets written. */
  packets = 0;

  private constructor(
    opts: PcapngWriterOptions,
    private readonly fd: number | null,
  ) {
    this.nano = (opts.resolution ?? 'micro') === 'nano';
    this.epochMs = opts.epochMs ?? 0;
    const body = new Uint8Array(16);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, BYTE_ORDER_MAGIC, true);
    dv.setUint16(4, 1, true); // version 1.0
    dv.setUint16(6, 0, true);
    dv.setInt32(8, -1, true); // section length unknown (-1 as a 64-bit value)
    dv.setInt32(12, -1, true);
    this.block(SHB, body, encodeOptions([[SHB_USERAPPL, encoder.encode(opts.application ?? 'tcpls-ts')]]));
  }

  static inMemory(opts: PcapngWriterOptions = {}): PcapngWriter {
    return new PcapngWriter(opts, null);
  }

  static toFile(path: string, opts: PcapngWriterOptions = {}): PcapngWriter {
    return new PcapngWriter(opts, openSync(path, 'w'));
  }

  /** Declares a capture point; returns its interface id for writePacket / sink. */
  addInterface(name: string, opts: PcapngInterfaceOptions = {}): number {
    if (this.closed) throw new PcapError('closed', 'addInterface after close');
    const linkType = opts.linkType ?? PcapLinkType.RAW;
    const snaplen = opts.snaplen ?? 65535;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > PCAP_MAX_SNAPLEN) throw new PcapError('bad-argument', `snaplen must be 1..${PCAP_MAX_SNAPLEN}`);
    const body = new Uint8Array(8);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, linkType, true);
    dv.setUint32(4, snaplen, true);
    // if_tsresol: a power of ten, 6 (µs, the default) or 9 (ns).
    this.block(IDB, body, encodeOptions([[IF_NAME, encoder.encode(name)], [IF_TSRESOL, Uint8Array.of(this.nano ? 9 : 6)]]));
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  /** Appends a packet seen on interface `iface` at `timeMs`. */
  writePacket(packet: Uint8Array, timeMs: number, iface = 0, info: PcapngPacketInfo = {}): void {
    if (this.closed) throw new PcapError('closed', 'writePacket after close');
    if (iface === 0 && this.snaplens.length === 0) this.addInterface('capture');
    const snaplen = this.snaplens[iface];
    if (snaplen === undefined) throw new PcapError('bad-argument', `no interface ${iface}`);
    if (!Number.isFinite(timeMs)) throw new PcapError('bad-argument', `time must be finite, got ${timeMs}`);
    const perSec = this.nano ? 1e9 : 1e6;
    const epochSec = Math.floor(this.epochMs / 1000);
    const rel = Math.floor((this.epochMs - epochSec * 1000 + timeMs) * (perSec / 1000) + 1e-6);
    if (epochSec * perSec + rel < 0) throw new PcapError('bad-argument', `time ${timeMs} ms is before 1970`);
    // 64-bit timestamp in resolution units; BigInt because ns since 1970 exceed 2^53.
    const ts = BigInt(epochSec) * BigInt(perSec) + BigInt(rel);
    const incl = Math.min(packet.length, snaplen);
    const body = new Uint8Array(20 + pad4(incl));
    const dv = new DataView(body.buffer);
    dv.setUint32(0, iface, true);
    dv.setUint32(4, Number(ts >> 32n), true);
    dv.setUint32(8, Number(ts & 0xffffffffn), true);
    dv.setUint32(12, incl, true);
    dv.setUint32(16, packet.length, true);
    body.set(packet.subarray(0, incl), 20);
    const opts: [number, Uint8Array][] = [];
    if (info.direction) opts.push([EPB_FLAGS, Uint8Array.of(info.direction === 'in' ? 1 : 2, 0, 0, 0)]);
    if (info.comment !== undefined) opts.push([OPT_COMMENT, encoder.encode(info.comment)]);
    this.block(EPB, body, encodeOptions(opts));
    this.packets++;
  }

  /** A PacketSink for sim.capture() that writes to one interface. */
  sink(iface: number, info: PcapngPacketInfo = {}): PacketSink {
    return { writePacket: (p, t, extra) => this.writePacket(p, t, iface, extra?.direction ? { ...info, direction: extra.direction } : info) };
  }

  private block(type: number, body: Uint8Array, options: Uint8Array): void {
    const total = 12 + body.length + options.length;
    const b = new Uint8Array(total);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, total, true);
    b.set(body, 8);
    b.set(options, 8 + body.length);
    dv.setUint32(total - 4, total, true);
    this.pending.push(b);
    this.pendingBytes += total;
    if (this.pendingBytes >= 1 << 16) this.flushPending();
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd !== null) {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } else {
      this.chunks.push(data);
    }
  }

  flush(): void {
    if (!this.closed) this.flushPending();
  }

  toBuffer(): Buffer {
    if (this.fd !== null) throw new PcapError('bad-argument', 'toBuffer() is for in-memory writers');
    this.flushPending();
    return Buffer.concat(this.chunks);
  }

  close(): void {
    if (this.closed) return;
    this.flushPending();
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
  }
}
