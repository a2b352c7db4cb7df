/**
 * Classic libpcap capture files ("pcap", as documented in draft-ietf-opsawg-pcap): a 24-byte file
 * header, then per packet a 16-byte record header and the captured bytes. We write LINKTYPE_RAW
 * (101) by default, so IPv4 and IPv6 packets go in without a link-layer header, and read any link
 * type back. All fields little-endian on write; both byte orders accepted on read.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const PcapLinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  IPV4: 228,
  IPV6: 229,
} as const;

/** Magic numbers (as a little-endian u32 read gives them when the file's byte order matches). */
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
/** Largest snaplen we write or accept: the libpcap maximum for most link types. */
export const PCAP_MAX_SNAPLEN = 262144;

export type PcapErrorCode = 'truncated' | 'bad-magic' | 'bad-version' | 'too-large' | 'bad-argument' | 'closed';

export class PcapError extends Error {
  constructor(
    readonly code: PcapErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PcapError';
  }
}

export interface PcapWriterOptions {
  /** Timestamp resolution (default 'micro'). */
  resolution?: 'micro' | 'nano';
  /** Bytes kept per packet (default 65535, at most 262144); longer packets are cut, orig_len kept. */
  snaplen?: number;
  /** Link type (default LINKTYPE_RAW, 101). */
  linkType?: number;
  /**
   * Wall-clock time in ms that virtual time 0 stands for (default 0: 1970-01-01). Timestamps are
   * epochMs + the time passed to writePacket.
   */
  epochMs?: number;
}

/**
 * Writes a pcap stream into memory (`toBuffer()`) or a file (`PcapWriter.toFile`). Writing is
 * synchronous and buffered: a simulation is not slowed by awaiting I/O, and the file is complete
 * after close().
 */
export class PcapWriter {
  private chunks: Uint8Array[] = [];
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;
  private closed = false;
  private readonly nano: boolean;
  readonly snaplen: number;
  readonly linkType: number;
  private readonly epochMs: number;
  /** Packets written. */
  packets = 0;
  /** Bytes of the file so far. */
  bytes = 0;

  private constructor(
    opts: PcapWriterOptions,
    private readonly fd: number | null,
  ) {
    this.nano = (opts.resolution ?? 'micro') === 'nano';
    this.snaplen = opts.snaplen ?? 65535;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > PCAP_MAX_SNAPLEN) {
      throw new PcapError('bad-argument', `snaplen must be an integer 1..${PCAP_MAX_SNAPLEN}, got ${this.snaplen}`);
    }
    this.linkType = opts.linkType ?? PcapLinkType.RAW;
    if (!Number.isInteger(this.linkType) || this.linkType < 0 || this.linkType > 0xffff) throw new PcapError('bad-argument', `bad link type ${this.linkType}`);
    this.epochMs = opts.epochMs ?? 0;
    this.buf = new Uint8Array(1 << 16);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const h = this.reserve(FILE_HEADER_LEN);
    const v = this.view;
    v.setUint32(h, this.nano ? MAGIC_NSEC : MAGIC_USEC, true);
    v.setUint16(h + 4, 2, true); // version 2.4
    v.setUint16(h + 6, 4, true);
    v.setInt32(h + 8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(h + 12, 0, true); // sigfigs
    v.setUint32(h + 16, this.snaplen, true);
    v.setUint32(h + 20, this.linkType, true);
    this.used += FILE_HEADER_LEN;
  }

  /** A writer that collects the file in memory. */
  static inMemory(opts: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(opts, null);
  }

  /** A writer that writes to `path` (created or truncated). Call close() to flush. */
  static toFile(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    const fd = openSync(path, 'w');
    return new PcapWriter(opts, fd);
  }

  /** Appends one packet; `timeMs` is on the writer's time line (virtual ms for the simulator). */
  writePacket(packet: Uint8Array, timeMs: number): void {
    if (this.closed) throw new PcapError('closed', 'writePacket after close');
    if (!Number.isFinite(timeMs)) throw new PcapError('bad-argument', `time must be finite, got ${timeMs}`);
    // Whole units of the resolution; floor, so packets never appear later than they happened.
    const unitsPerMs = this.nano ? 1e6 : 1e3;
    const perSec = this.nano ? 1e9 : 1e6;
    // Whole seconds of the epoch are kept apart from the small remainder, so that nanoseconds since
    // 1970 (~2^60) never pass through a float that cannot hold them.
    const epochSec = Math.floor(this.epochMs / 1000);
    const relUnits = Math.floor((this.epochMs - epochSec * 1000 + timeMs) * unitsPerMs + 1e-6);
    const carry = Math.floor(relUnits / perSec);
    const sec = epochSec + carry;
    const frac = relUnits - carry * perSec;
    if (sec < 0 || sec >= 2 ** 32) throw new PcapError('bad-argument', `time ${timeMs} ms is outside the pcap range (1970..2106)`);
    const incl = Math.min(packet.length, this.snaplen);
    const h = this.reserve(RECORD_HEADER_LEN + incl);
    const v = this.view;
    v.setUint32(h, sec, true);
    v.setUint32(h + 4, frac, true);
    v.setUint32(h + 8, incl, true);
    v.setUint32(h + 12, packet.length, true);
    this.buf.set(incl === packet.length ? packet : packet.subarray(0, incl), h + RECORD_HEADER_LEN);
    this.used += RECORD_HEADER_LEN + incl;
    this.packets++;
  }

  /** Offset in `buf` where `n` bytes can be written (flushing or growing first). */
  private reserve(n: number): number {
    if (this.used + n > this.buf.length) {
      this.flushBuffer();
      if (n > this.buf.length) {
        this.buf = new Uint8Array(n);
        this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      }
    }
    return this.used;
  }

  private flushBuffer(): void {
    if (this.used === 0) return;
    const data = this.buf.subarray(0, this.used);
    if (this.fd !== null) {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } else {
      this.chunks.push(new Uint8Array(data));
    }
    this.bytes += this.used;
    this.used = 0;
  }

  /** Writes buffered data to the file (no-op in memory). */
  flush(): void {
    if (this.fd !== null && !this.closed) this.flushBuffer();
  }

  /** The file so far (in-memory writers). */
  toBuffer(): Buffer {
    if (this.fd !== null) throw new PcapError('bad-argument', 'toBuffer() is for in-memory writers');
    this.flushBuffer();
    return Buffer.concat(this.chunks);
  }

  /** Flushes and closes the file; idempotent. */
  close(): void {
    if (this.closed) return;
    this.flushBuffer();
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
  }
}

export interface PcapRecord {
  /** Seconds and fraction as stored (fraction in µs or ns per `resolution`). */
  tsSec: number;
  tsFrac: number;
  /** Timestamp in ms since the epoch (float). */
  timeMs: number;
  /** Captured bytes (a view into the input). */
  data: Uint8Array;
  /** Length of the packet on the wire (>= data.length when cut by the snaplen). */
  origLen: number;
}

export interface PcapReaderOptions {
  /** Largest record accepted (default PCAP_MAX_SNAPLEN); bigger incl_len is an error, not an allocation. */
  maxRecordLength?: number;
}

/**
 * Reads a classic pcap file from memory. Hostile input is expected: every length is checked against
 * the bytes present and against a bound before use; records are views, nothing is allocated per
 * packet beyond the record object; errors are PcapError with a code.
 */
export class PcapReader {
  readonly littleEndian: boolean;
  readonly resolution: 'micro' | 'nano';
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly snaplen: number;
  readonly linkType: number;
  private readonly view: DataView;
  private readonly maxRecord: number;
  private offset = FILE_HEADER_LEN;

  constructor(
    private readonly bytes: Uint8Array,
    opts: PcapReaderOptions = {},
  ) {
    if (bytes.length < FILE_HEADER_LEN) throw new PcapError('truncated', `pcap file header needs ${FILE_HEADER_LEN} bytes, have ${bytes.length}`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = this.view.getUint32(0, true);
    const be = this.view.getUint32(0, false);
    if (le === MAGIC_USEC || le === MAGIC_NSEC) {
      this.littleEndian = true;
      this.resolution = le === MAGIC_NSEC ? 'nano' : 'micro';
    } else if (be === MAGIC_USEC || be === MAGIC_NSEC) {
      this.littleEndian = false;
      this.resolution = be === MAGIC_NSEC ? 'nano' : 'micro';
    } else if (le === 0x0a0d0d0a) {
      throw new PcapError('bad-magic', 'this is a pcapng file; only classic pcap is read');
    } else {
      throw new PcapError('bad-magic', `not a pcap file (magic 0x${be.toString(16).padStart(8, '0')})`);
    }
    const le2 = this.littleEndian;
    this.versionMajor = this.view.getUint16(4, le2);
    this.versionMinor = this.view.getUint16(6, le2);
    if (this.versionMajor !== 2) throw new PcapError('bad-version', `pcap version ${this.versionMajor}.${this.versionMinor} (want 2.x)`);
    this.snaplen = this.view.getUint32(16, le2);
    // The link type is the low 16 bits; the upper bits carry FCS information (draft-ietf-opsawg-pcap §4).
    this.linkType = this.view.getUint32(20, le2) & 0xffff;
    this.maxRecord = Math.min(opts.maxRecordLength ?? PCAP_MAX_SNAPLEN, PCAP_MAX_SNAPLEN);
  }

  /** The next record, or null at a clean end of file. */
  next(): PcapRecord | null {
    const b = this.bytes;
    if (this.offset === b.length) return null;
    if (b.length - this.offset < RECORD_HEADER_LEN) {
      throw new PcapError('truncated', `record header at offset ${this.offset} cut short (${b.length - this.offset} bytes left)`);
    }
    const le = this.littleEndian;
    const v = this.view;
    const o = this.offset;
    const tsSec = v.getUint32(o, le);
    const tsFrac = v.getUint32(o + 4, le);
    const incl = v.getUint32(o + 8, le);
    const orig = v.getUint32(o + 12, le);
    if (incl > this.maxRecord) throw new PcapError('too-large', `record at offset ${o} claims ${incl} bytes (limit ${this.maxRecord})`);
    if (b.length - o - RECORD_HEADER_LEN < incl) throw new PcapError('truncated', `record at offset ${o} claims ${incl} bytes, ${b.length - o - RECORD_HEADER_LEN} present`);
    const perSec = this.resolution === 'nano' ? 1e9 : 1e6;
    if (tsFrac >= perSec) throw new PcapError('bad-argument', `record at offset ${o}: timestamp fraction ${tsFrac} out of range`);
    const data = b.subarray(o + RECORD_HEADER_LEN, o + RECORD_HEADER_LEN + incl);
    this.offset = o + RECORD_HEADER_LEN + incl;
    return { tsSec, tsFrac, timeMs: tsSec * 1000 + (tsFrac * 1000) / perSec, data, origLen: Math.max(orig, incl) };
  }

  /** All remaining records (bounded by the input size). */
  readAll(): PcapRecord[] {
    const out: PcapRecord[] = [];
    for (let r = this.next(); r !== null; r = this.next()) out.push(r);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<PcapRecord> {
    for (let r = this.next(); r !== null; r = this.next()) yield r;
  }
}
