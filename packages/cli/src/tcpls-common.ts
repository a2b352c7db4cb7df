/**
 * Shared pieces of `tcpls demo`, `tcpls serve` and `tcpls get`: the tiny file protocol over TCPLS
 * streams (docs/packages/tcpls-cli.md), its HTTP/1.0 fallback over plain TLS, and the report of what
 * the session negotiated and detected.
 *
 * Protocol on one client-opened stream: the client writes `GET <path>[ <start>-<end>]\n` and ends its
 * side; the server answers on the same stream with `OK <start> <length> <total>\n` and the bytes, or
 * `ERR <reason>\n`, then ends its side. Several requests run in parallel on several streams.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { type LinkParams, type Middlebox, SimNetwork } from '@tcpls/link';
import { Host, type TcpConfig } from '@tcpls/tcp';
import type { TcpOption } from '@tcpls/tcp/wire';
import {
  type ApplyPolicy,
  type JsonTrace,
  type OptionDifference,
  type TcplsEndpoint,
  type TcplsEvent,
  type TcplsStream,
  connectOverHost,
  listenOverHost,
  seededRandom,
  selfSignedCertificate,
} from '@tcpls/tcpls';
import { UsageError } from './args.js';
import { type UserStack, openUserStack } from './user-stack.js';

/**
 * An RFC 6994 experimental option (kind 254, ExID 0x7c15, two data bytes) that `tcpls demo` and
 * `tcpls get --exp-option` add to the SYN, so that a middlebox stripping unknown options has
 * something to strip and the cross-check something to detect.
 */
export const EXPERIMENT_OPTION: TcpOption = { kind: 'experimental', code: 254, exid: 0x7c15, data: new Uint8Array([0x01, 0x02]) };

/** Longest request line accepted (hostile input: bounded). */
export const MAX_REQUEST = 4096;
const CHUNK = 64 * 1024;

/** A file (or any byte source) served by ranges. */
export interface FileSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close?(): void;
}

export function bufferSource(data: Uint8Array): FileSource {
  return { size: data.length, read: (o, n) => data.subarray(o, o + n) };
}

/** Opens `path` under `dir`, refusing anything that escapes it (.., symlinks out). */
export function fileUnder(dir: string, path: string): FileSource | string {
  let clean: string;
  try {
    clean = decodeURIComponent(path.split('?')[0]).replace(/^\/+/, '');
  } catch {
    return 'bad path'; // malformed %-escape (URIError): the client's path, so an answer, not a throw
  }
  if (clean === '' || clean.split('/').includes('..')) return 'bad path';
  let root: string;
  let full: string;
  try {
    root = realpathSync(dir);
    full = realpathSync(resolve(root, clean));
  } catch {
    return 'not found';
  }
  if (!full.startsWith(root + sep)) return 'bad path';
  try {
    if (!statSync(full).isFile()) return 'not a file';
    const fd = openSync(full, 'r');
    const size = fstatSync(fd).size;
    return {
      size,
      read(o, n) {
        const b = Buffer.allocUnsafe(n);
        const got = readSync(fd, b, 0, n, o);
        return new Uint8Array(b.buffer, b.byteOffset, got);
      },
      close: () => closeSync(fd),
    };
  } catch {
    return 'not readable';
  }
}

export type Lookup = (path: string) => FileSource | string;

interface Request {
  path: string;
  start: number | null;
  end: number | null;
}

export function parseRequest(line: string): Request | string {
  const m = /^GET (\S{1,2048})(?: (\d{1,15})-(\d{1,15}))?$/.exec(line);
  if (!m) return 'bad request';
  const start = m[2] !== undefined ? Number(m[2]) : null;
  const end = m[3] !== undefined ? Number(m[3]) : null;
  if (start !== null && end !== null && end < start) return 'bad range';
  return { path: m[1], start, end };
}

/** Sends a byte range on a stream as room allows (call `step` after every pump). */
class RangeSender {
  done = false;
  constructor(
    private readonly s: TcplsStream,
    private readonly src: FileSource | null,
    private pos: number,
    private readonly end: number,
    private head: Uint8Array | null,
  ) {}
  step(): void {
    if (this.done) return;
    for (;;) {
      if (this.head) {
        const n = this.s.write(this.head);
        this.head = n === this.head.length ? null : this.head.subarray(n);
        if (this.head) return;
      }
      if (this.pos >= this.end || !this.src) {
        this.done = true;
        this.s.end();
        this.src?.close?.();
        return;
      }
      this.head = this.src.read(this.pos, Math.min(CHUNK, this.end - this.pos));
      if (this.head.length === 0) {
        this.pos = this.end; // file shrank: end here
        this.head = null;
        continue;
      }
      this.pos += this.head.length;
    }
  }
  /** The session ended before the range was sent: release the source (its file descriptor). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.src?.close?.();
  }
}

export interface ServeLog {
  (line: string): void;
}

/**
 * Serves files on one endpoint: TCPLS streams with the protocol above, or HTTP/1.0 GET when the
 * client turned out to be a plain TLS client (fallback).
 */
export function serveFiles(ep: TcplsEndpoint, lookup: Lookup, log: ServeLog): void {
  const reqBuf = new Map<number, string>();
  const senders = new Set<RangeSender>();
  let httpBuf = '';
  let httpDone = false;
  let plainSender: { src: FileSource; pos: number } | null = null;
  const answer = (id: number, line: string): void => {
    const s = ep.stream(id);
    if (!s) return;
    const req = parseRequest(line);
    if (typeof req === 'string') {
      senders.add(new RangeSender(s, null, 0, 0, enc(`ERR ${req}\n`)));
      log(`stream ${id}: ${req}`);
      return;
    }
    const src = lookup(req.path);
    if (typeof src === 'string') {
      senders.add(new RangeSender(s, null, 0, 0, enc(`ERR ${src}\n`)));
      log(`stream ${id}: GET ${req.path}: ${src}`);
      return;
    }
    const start = Math.min(req.start ?? 0, src.size);
    const end = Math.min(req.end ?? src.size, src.size);
    log(`stream ${id}: GET ${req.path} bytes ${start}-${end} of ${src.size}`);
    senders.add(new RangeSender(s, src, start, end, enc(`OK ${start} ${end - start} ${src.size}\n`)));
  };
  const stepPlain = (): void => {
    while (plainSender && ep.queuedOutput < 256 * 1024) {
      const p = plainSender;
      const n = Math.min(CHUNK, p.src.size - p.pos);
      if (n <= 0) {
        plainSender = null;
        p.src.close?.();
        ep.endPlain();
        return;
      }
      const chunk = p.src.read(p.pos, n);
      p.pos += n;
      ep.writePlain(chunk);
    }
  };
  ep.handlers = {
    onReady: (mode, info) => {
      log(mode === 'tcpls' ? `TCPLS session (${info.suite}, ${info.group})` : `client did not offer TCPLS: serving it as plain TLS 1.3 (HTTP/1.0) (${info.suite})`);
    },
    onSessionEvent: (ev: TcplsEvent) => {
      if (ev.type === 'stream-opened') reqBuf.set(ev.streamId, '');
      else if (ev.type === 'stream-data' || ev.type === 'stream-finished') {
        const cur = reqBuf.get(ev.streamId);
        if (cur === undefined) return;
        const s = ep.stream(ev.streamId);
        let text = cur;
        for (let d = s?.read(); d; d = s?.read()) text += Buffer.from(d).toString('latin1');
        const nl = text.indexOf('\n');
        if (nl >= 0 || text.length > MAX_REQUEST || ev.type === 'stream-finished') {
          reqBuf.delete(ev.streamId);
          answer(ev.streamId, (nl >= 0 ? text.slice(0, nl) : text.slice(0, MAX_REQUEST)).replace(/\r$/, ''));
        } else reqBuf.set(ev.streamId, text);
      } else if (ev.type === 'option-differences') {
        log(`option differences: ${ev.differences.length === 0 ? 'none' : ev.differences.map((d) => formatDifference(d, 'server')).join('; ')}`);
      } else if (ev.type === 'option-request') {
        log(`peer asked us to apply ${JSON.stringify(ev.setting)}: ${ev.applied ? 'applied' : `refused (${ev.reasonName})`}`);
      }
    },
    onPlainData: (d) => {
      if (httpDone) return;
      httpBuf += Buffer.from(d).toString('latin1');
      const end = httpBuf.indexOf('\r\n\r\n') >= 0 ? httpBuf.indexOf('\r\n\r\n') : httpBuf.indexOf('\n\n');
      if (end < 0 && httpBuf.length <= MAX_REQUEST) return;
      httpDone = true;
      const m = /^GET (\S+) HTTP\/1\.[01]\r?$/m.exec(httpBuf.split('\n')[0] + '\n');
      if (!m) {
        ep.writePlain(enc('HTTP/1.0 400 Bad Request\r\n\r\n'));
        ep.endPlain();
        return;
      }
      const src = lookup(m[1]);
      if (typeof src === 'string') {
        log(`plain TLS GET ${m[1]}: ${src}`);
        ep.writePlain(enc(`HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\n${src}\r\n`));
        ep.endPlain();
        return;
      }
      log(`plain TLS GET ${m[1]}: ${src.size} bytes (HTTP/1.0 over TLS, no TCPLS)`);
      ep.writePlain(enc(`HTTP/1.0 200 OK\r\nContent-Length: ${src.size}\r\nContent-Type: application/octet-stream\r\nX-Tcpls: plain TLS fallback\r\n\r\n`));
      plainSender = { src, pos: 0 };
      stepPlain();
    },
    onPumped: () => {
      for (const s of senders) {
        s.step();
        if (s.done) senders.delete(s);
      }
      stepPlain();
    },
    onClosed: (err) => {
      // Sources of unfinished ranges hold open files: close them, or a long-running server leaks one
      // descriptor per interrupted transfer.
      for (const s of senders) s.abort();
      senders.clear();
      plainSender?.src.close?.();
      plainSender = null;
      if (err) log(`session ended: ${err.message}`);
    },
  };
}

function enc(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Where fetched bytes go: at their offset in the file. */
export interface FetchSink {
  write(offset: number, data: Uint8Array): void;
}

export interface FetchResult {
  mode: 'tcpls' | 'tls';
  bytes: number;
  total: number;
  /** Per stream: id, range, bytes. */
  streams: { id: number; start: number; length: number; bytes: number }[];
  /** Plain TLS: the HTTP status line. */
  httpStatus?: string;
}

/**
 * Default in-order window of `tcpls get --streams N` (docs/packages/tcpls-cli.md): the bytes it
 * reads never lie more than this past the first byte still missing, so what an in-order consumer
 * (stdout, the sha256) has to hold back stays under it.
 */
export const IN_ORDER_WINDOW = 8 * 1024 * 1024;

/** Largest range one stream asks for in windowed mode (smaller when window / streams is). */
const MAX_CHUNK = 1024 * 1024;

/**
 * Fetches `path` over an endpoint that is starting: in TCPLS mode on `streams` parallel streams (the
 * first asks for the size, then the rest is split), in plain TLS mode with HTTP/1.0.
 *
 * With `window` (and more than one stream) the file is fetched in chunks of at most
 * min(window / streams, 1 MiB), each on a fresh stream, at most `streams` at a time, lowest offset
 * first; a chunk is only asked for when it ends within `window` bytes of the first byte still
 * missing. Every byte read therefore lies in [missing, missing + window): an in-order consumer holds
 * back less than `window` bytes, whatever the streams' relative speeds. `blocked` / `waitUnblocked`
 * add the consumer's backpressure: while blocked no stream is read, so the session's per-stream
 * credit (draft-04 §4.4 flow control) stops the server.
 */
export function fetchFile(
  ep: TcplsEndpoint,
  path: string,
  sink: FetchSink,
  opts: {
    streams?: number;
    size?: number;
    onProgress?: (bytes: number, total: number) => void;
    onReady?: (mode: 'tcpls' | 'tls') => void;
    hostName?: string;
    /** Called synchronously when the fetch ends (the simulator loop polls it; promises settle later). */
    onSettled?: (r: FetchResult | Error) => void;
    /** In-order window in bytes (see above); without it the ranges are split once, unbounded. */
    window?: number;
    /** The consumer cannot take more now (e.g. stdout's buffer is full). */
    blocked?: () => boolean;
    /** Called when fetchFile stopped reading because `blocked()`; call `resume` once it is not. */
    waitUnblocked?: (resume: () => void) => void;
  },
): Promise<FetchResult> {
  const want = Math.max(1, opts.streams ?? 1);
  const windowed = want > 1 && opts.window !== undefined;
  const window = Math.max(1, Math.floor(opts.window ?? 1));
  const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.floor(window / want)));
  return new Promise<FetchResult>((resolvePromise, reject) => {
    let bytes = 0;
    let total = opts.size ?? -1;
    interface St {
      id: number;
      handle: TcplsStream;
      header: string | null;
      start: number;
      length: number;
      got: number;
      done: boolean;
      /** The range asked for (null: the whole file). */
      asked: [number, number] | null;
    }
    const st = new Map<number, St>();
    let settled = false;
    /** Windowed mode: the next offset no stream was asked for yet. */
    let nextStart = 0;
    let parked = false;
    /** Streams still delivering. */
    const active = new Set<St>();
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      opts.onSettled?.(e);
      reject(e);
    };
    const succeed = (r: FetchResult): void => {
      opts.onSettled?.(r);
      resolvePromise(r);
    };
    const request = (start: number | null, end: number | null): void => {
      const h = ep.openStream();
      const s: St = { id: h.id, handle: h, header: '', start: start ?? 0, length: -1, got: 0, done: false, asked: start !== null && end !== null ? [start, end] : null };
      st.set(h.id, s);
      active.add(s);
      h.write(enc(`GET ${path}${start !== null ? ` ${start}-${end}` : ''}\n`));
      h.end();
    };
    const splitRest = (from: number): void => {
      // The first stream carries [0, first) ; split [from, total) over the others.
      const n = want - 1;
      const span = total - from;
      for (let i = 0; i < n; i++) {
        const a = from + Math.floor((span * i) / n);
        const b = from + Math.floor((span * (i + 1)) / n);
        if (b > a) request(a, b);
      }
    };
    /** Windowed mode: the first byte not received yet (all before it went to the sink). */
    const missing = (): number => {
      let m = nextStart;
      for (const s of active) if (s.start + s.got < m) m = s.start + s.got;
      return m;
    };
    /** Windowed mode: asks for the next chunks while streams are free and they fit in the window. */
    const fill = (): void => {
      if (settled || total < 0) return;
      let busy = active.size;
      const limit = missing() + window;
      while (busy < want && nextStart < total) {
        const end = Math.min(total, nextStart + chunk);
        if (end > limit) break;
        request(nextStart, end);
        nextStart = end;
        busy++;
      }
    };
    const finishIfDone = (): void => {
      if (settled || st.size === 0) return;
      if (windowed && nextStart < total) return;
      for (const s of st.values()) if (!s.done) return;
      settled = true;
      succeed({ mode: 'tcpls', bytes, total, streams: [...st.values()].map((s) => ({ id: s.id, start: s.start, length: s.length, bytes: s.got })) });
    };
    const readAll = (): void => {
      parked = false;
      for (const s of [...active]) if (!s.done && !settled) onData(s);
    };
    const onData = (s: St): void => {
      if (s.done) return;
      for (;;) {
        if (opts.blocked?.()) {
          // Leave the bytes in the session: its per-stream credit holds the server back.
          if (!parked && opts.waitUnblocked) {
            parked = true;
            opts.waitUnblocked(readAll);
          }
          return;
        }
        const d = s.handle.read();
        if (!d) break;
        let data = d;
        if (s.header !== null) {
          const text = s.header + Buffer.from(d).toString('latin1');
          const nl = text.indexOf('\n');
          if (nl < 0) {
            if (text.length > 256) return fail(new Error('bad response header'));
            s.header = text;
            continue;
          }
          const line = text.slice(0, nl);
          const consumed = nl + 1 - s.header.length;
          s.header = null;
          const m = /^OK (\d+) (\d+) (\d+)$/.exec(line);
          if (!m) return fail(new Error(`server: ${line.replace(/^ERR /, '')}`));
          s.start = Number(m[1]);
          s.length = Number(m[2]);
          // The window's bound rests on each stream carrying what it asked for (clipped at the end).
          if (windowed && s.asked && (s.start !== s.asked[0] || s.start + s.length > s.asked[1])) {
            return fail(new Error(`stream ${s.id}: server sent range ${s.start}+${s.length}, asked for ${s.asked[0]}-${s.asked[1]}`));
          }
          if (total < 0) {
            total = Number(m[3]);
            if (windowed) {
              nextStart = Math.max(nextStart, s.start + s.length);
              fill();
            } else if (want > 1) splitRest(s.start + s.length);
          }
          data = d.subarray(consumed);
        }
        if (data.length) {
          if (s.got + data.length > s.length) return fail(new Error(`stream ${s.id}: more bytes than announced`));
          sink.write(s.start + s.got, data);
          s.got += data.length;
          bytes += data.length;
          opts.onProgress?.(bytes, total);
          if (windowed && active.size < want) fill();
        }
      }
      if (s.handle.readableEnded) {
        if (s.header !== null || s.got !== s.length) return fail(new Error(`stream ${s.id}: ended after ${s.got} of ${s.length} bytes`));
        s.done = true;
        active.delete(s);
        if (windowed) fill();
        finishIfDone();
      }
    };
    // Plain TLS fallback: HTTP/1.0.
    let head: string | null = '';
    let status = '';
    let length = -1;
    ep.handlers = {
      onReady: (mode) => {
        opts.onReady?.(mode);
        if (mode === 'tcpls') {
          if (windowed) {
            if (opts.size !== undefined) {
              total = opts.size;
              if (total === 0) request(0, 0);
              fill();
            } else {
              // The first chunk also tells the size; the window is filled once it is known.
              request(0, chunk);
              nextStart = chunk;
            }
          } else if (want > 1 && opts.size !== undefined) {
            // Size known (demo): split the whole file at once.
            total = opts.size;
            for (let i = 0; i < want; i++) {
              const a = Math.floor((total * i) / want);
              const b = Math.floor((total * (i + 1)) / want);
              request(a, b);
            }
          } else {
            // First stream: the first slice if we split, else everything; it tells the size.
            request(want > 1 ? 0 : null, want > 1 ? 0 : null);
          }
        } else {
          ep.writePlain(enc(`GET ${path} HTTP/1.0\r\nHost: ${opts.hostName ?? 'localhost'}\r\nUser-Agent: tcpls-get\r\n\r\n`));
        }
      },
      onSessionEvent: (ev) => {
        if (ev.type === 'stream-data' || ev.type === 'stream-finished') {
          const s = st.get(ev.streamId);
          if (s) onData(s);
        } else if (ev.type === 'closed' && ev.error) fail(ev.error);
      },
      onPlainData: (d) => {
        let data = d;
        if (head !== null) {
          const text = head + Buffer.from(d).toString('latin1');
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) {
            if (text.length > 65536) return fail(new Error('HTTP response header too long'));
            head = text;
            return;
          }
          const hdr = text.slice(0, end);
          status = hdr.split('\r\n')[0];
          const cl = /^content-length:\s*(\d+)/im.exec(hdr);
          if (cl) length = Number(cl[1]);
          data = d.subarray(end + 4 - head.length);
          head = null;
        }
        if (data.length) {
          sink.write(bytes, data);
          bytes += data.length;
          opts.onProgress?.(bytes, length);
        }
      },
      onPlainEnd: () => {
        if (settled) return;
        settled = true;
        succeed({ mode: 'tls', bytes, total: length >= 0 ? length : bytes, streams: [], httpStatus: status });
      },
      onClosed: (err) => {
        if (settled) return;
        if (ep.handshakeInfo && ep.stats().mode !== 'tcpls' && head === null && !err) {
          // A plain server that closed TCP without close_notify: keep what came.
          settled = true;
          succeed({ mode: 'tls', bytes, total: length >= 0 ? length : bytes, streams: [], httpStatus: status });
          return;
        }
        fail(err ?? new Error('connection closed before the transfer finished'));
      },
    };
    // Already past the handshake (the endpoint ran before we were called): start now.
    if ((ep.mode === 'tcpls' || ep.mode === 'tls') && ep.handshakeInfo) ep.handlers.onReady?.(ep.mode, ep.handshakeInfo);
    ep.pump();
  });
}

/**
 * Hands byte ranges that may arrive out of order (several streams, disjoint ranges) to `consume` in
 * file order: a range that is not next is copied and kept until the bytes before it came. What it
 * keeps is bounded by its producer: fetchFile's `window` keeps it under that many bytes.
 */
export class InOrder {
  private next = 0;
  private readonly pending = new Map<number, Uint8Array>();
  private held = 0;
  /** The most bytes held back at any time. */
  peakPendingBytes = 0;
  constructor(private readonly consume: (data: Uint8Array) => void) {}
  /** Bytes held back now, waiting for the bytes before them. */
  get pendingBytes(): number {
    return this.held;
  }
  add(offset: number, data: Uint8Array): void {
    if (offset !== this.next) {
      this.pending.set(offset, data.slice());
      this.held += data.length;
      if (this.held > this.peakPendingBytes) this.peakPendingBytes = this.held;
      return;
    }
    this.consume(data);
    this.next += data.length;
    for (let p = this.pending.get(this.next); p; p = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      this.held -= p.length;
      this.consume(p);
      this.next += p.length;
    }
  }
}

/** A sha256 over bytes that may arrive out of order (several streams): hashed in order as they fill. */
export class OrderedHasher {
  private readonly h: Hash = createHash('sha256');
  private readonly order = new InOrder((d) => this.h.update(d));
  add(offset: number, data: Uint8Array): void {
    this.order.add(offset, data);
  }
  digest(): string {
    return this.h.digest('hex');
  }
}

// ------------------------------------------------------------------ reporting

const FIELD_NAMES: Record<string, string> = {
  isn: 'initial sequence number',
  window: 'window field',
  ecn: 'ECN bits',
  flags: 'TCP flags',
  mss: 'MSS',
  wscale: 'window scale',
  sackPermitted: 'SACK-permitted',
  timestamps: 'timestamps',
  userTimeout: 'user timeout',
  'options-order': 'option order',
  'nop-padding': 'NOPs',
};

function show(v: unknown, field = ''): string {
  if (v === null || v === undefined) return 'absent';
  if (v === true) return 'present';
  if (v === false) return 'absent';
  if (field === 'timestamps' && typeof v === 'object' && 'tsVal' in (v as object)) return `present (TSval ${(v as { tsVal: number }).tsVal})`;
  if (field.startsWith('option:') && typeof v === 'string') return `present (bytes ${v})`;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** One difference in words: "our SYN: MSS 1460 → 1200". */
export function formatDifference(d: OptionDifference, role: 'client' | 'server' = 'client'): string {
  const ours = role === 'client' ? 'our SYN' : 'our SYN-ACK';
  const theirs = role === 'client' ? "the server's SYN-ACK" : "the client's SYN";
  const seg = d.direction === 'me-to-peer' ? ours : theirs;
  const name = d.field.startsWith('option:') ? `option ${d.field.slice(7)}` : (FIELD_NAMES[d.field] ?? d.field);
  const why = d.field === 'nop-padding' ? ' (removed options were overwritten with NOPs)' : '';
  return `${seg}: ${name} ${show(d.sent, d.field)} → ${show(d.seen, d.field)}${why}`;
}

/** The negotiated TCP / TLS / TCPLS parameters of an endpoint, for text and JSON. */
export function negotiatedSummary(ep: TcplsEndpoint): Record<string, unknown> {
  const st = ep.stats();
  const tcp = st.tcp as { negotiated?: Record<string, unknown>; congestionControl?: string; srtt?: number | null; retransmits?: number; stack?: string } | null;
  return {
    tcpls: st.tcpls,
    tls: st.handshake ? { cipherSuite: st.handshake.suite, group: st.handshake.group, certificateVerified: st.handshake.peerVerified } : null,
    tcp: tcp?.negotiated
      ? {
          stack: 'user',
          mss: tcp.negotiated.mss,
          windowScale: { send: tcp.negotiated.sndWscale, receive: tcp.negotiated.rcvWscale },
          sack: tcp.negotiated.sack,
          timestamps: tcp.negotiated.timestamps,
          ecn: tcp.negotiated.ecn,
          userTimeoutMs: tcp.negotiated.userTimeout,
          congestionControl: tcp.congestionControl,
          srttMs: tcp.srtt,
          retransmits: tcp.retransmits,
        }
      : tcp,
    unseenFields: st.unseenFields,
  };
}

export function textSummary(ep: TcplsEndpoint): string[] {
  const s = negotiatedSummary(ep) as {
    tcpls: boolean;
    tls: { cipherSuite: string; group: string | null; certificateVerified: boolean } | null;
    tcp: Record<string, unknown> | null;
  };
  const out: string[] = [];
  if (s.tls) out.push(`TLS 1.3: ${s.tls.cipherSuite}, ${s.tls.group ?? '-'}, certificate ${s.tls.certificateVerified ? 'verified' : 'not verified'}`);
  out.push(s.tcpls ? 'TCPLS: negotiated (tcpls extension echoed)' : 'TCPLS: not negotiated — plain TLS 1.3');
  const t = s.tcp;
  if (t && t.stack === 'user') {
    const ws = t.windowScale as { send: number; receive: number };
    out.push(
      `TCP (our stack): MSS ${t.mss}, window scale ${ws.send}/${ws.receive}, SACK ${t.sack ? 'on' : 'off'}, timestamps ${t.timestamps ? 'on' : 'off'}, ECN ${t.ecn ? 'on' : 'off'}, ${t.congestionControl}` +
        (t.userTimeoutMs ? `, user timeout ${t.userTimeoutMs} ms` : ''),
    );
  } else if (t) out.push('TCP: Linux kernel (its SYN options are not visible to Node)');
  return out;
}

/** Human-readable lines about the option differences of connection 0. */
export function differenceLines(ep: TcplsEndpoint): string[] {
  const st = ep.stats();
  if (!st.tcpls) return ['TCP options cross-check: not available (plain TLS)'];
  if (st.unseenFields.length > 0 && st.optionDifferences === null) {
    return [`TCP options cross-check: not possible on Linux TCP (cannot see: ${st.unseenFields.join(', ')})`];
  }
  if (st.optionDifferences === null) return ['TCP options cross-check: the peer sent no report (its TCP is not ours)'];
  if (st.optionDifferences.length === 0) return ['TCP options cross-check: no difference — the path left the SYN and SYN-ACK options intact'];
  return [`TCP options cross-check: ${st.optionDifferences.length} difference(s) — a middlebox changed the handshake:`, ...st.optionDifferences.map((d) => `  ${formatDifference(d, ep.role)}`)];
}

/** A progress bar on stderr, only when stderr is a terminal. */
export function progressBar(label: string): { update(bytes: number, total: number): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(bytes, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && bytes !== total) return;
      last = now;
      const w = 30;
      const frac = total > 0 ? Math.min(1, bytes / total) : 0;
      const bar = '#'.repeat(Math.round(frac * w)).padEnd(w, '.');
      process.stderr.write(`\r${label} [${bar}] ${(bytes / 1048576).toFixed(1)}${total > 0 ? `/${(total / 1048576).toFixed(1)}` : ''} MiB`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

// ------------------------------------------------------------------ stacks for serve / get

/** `--link raw|pcap` (our TCP on a real link) or `--stack kernel` (Linux TCP); default kernel. */
export interface StackChoice {
  kind: 'user' | 'kernel';
  link?: 'raw' | 'pcap';
  local?: string;
}

export function parseStack(values: Map<string, string>): StackChoice {
  const link = values.get('link');
  const stack = values.get('stack');
  if (link !== undefined && link !== 'raw' && link !== 'pcap') throw new UsageError(`--link must be raw or pcap, got '${link}'`);
  if (stack !== undefined && stack !== 'kernel' && stack !== 'user') throw new UsageError(`--stack must be kernel or user, got '${stack}'`);
  if (link && stack === 'kernel') throw new UsageError('--link and --stack kernel exclude each other');
  if (link || stack === 'user') return { kind: 'user', link: (link ?? 'raw') as 'raw' | 'pcap', local: values.get('local') };
  return { kind: 'kernel', local: values.get('local') };
}

/** Our TCP Host on a real link (raw socket or pcap), real time, tuned for bulk transfers (serve, get). */
export function openUserHost(o: { link: 'raw' | 'pcap'; local?: string; remote?: string; ports: number[] }): Promise<UserStack> {
  // Windows large enough for a LAN path (as scripts/bench/tcp.mjs uses).
  return openUserStack({ ...o, tcp: { recvBufferBytes: 4 << 20, sendBufferBytes: 1 << 20 } });
}

/** Addresses and port of the simulated client and server (`tcpls demo`, the simulator tests). */
export const SIM_CLIENT = '10.0.0.1';
export const SIM_SERVER = '10.0.0.2';
export const SIM_PORT = 443;

export interface SimPairOptions {
  /** Seeds the network, both TCPs (ISNs), both TLS ends and the tokens [1]. */
  seed?: number;
  /** The one link between client and server (rate, delay, loss, queue, ...). */
  link?: LinkParams;
  middleboxes?: Middlebox[];
  clientTcp?: Partial<TcpConfig>;
  serverTcp?: Partial<TcpConfig>;
  clientPolicy?: ApplyPolicy;
  serverPolicy?: ApplyPolicy;
  /** false: that end is a plain TLS 1.3 peer (no tcpls extension), for the fallback cases. */
  clientTcpls?: boolean;
  serverTcpls?: boolean;
  /** JSON-lines traces of the TCPLS endpoints and of the TCP hosts. */
  clientTrace?: JsonTrace;
  serverTrace?: JsonTrace;
  clientTcpTrace?: JsonTrace;
  serverTcpTrace?: JsonTrace;
  /** Called synchronously when the server accepts, before any byte is processed (set handlers here). */
  onServer?: (ep: TcplsEndpoint) => void;
}

/**
 * A TCPLS client and server over our TCP on the simulator: two Hosts joined by one simulated link
 * (with optional middleboxes), the server listening on SIM_PORT, the client connecting at once.
 * Everything is seeded and runs on the virtual clock; `runUntil` drives it.
 */
export function simPair(o: SimPairOptions = {}) {
  const seed = o.seed ?? 1;
  const rnd = (k: number) => seededRandom(seed * 7 + k);
  const sim = new SimNetwork({ seed });
  const ch = sim.addHost('client', { addresses: [SIM_CLIENT] });
  const sh = sim.addHost('server', { addresses: [SIM_SERVER] });
  const link = sim.connect(ch, sh, { name: 'path', ...o.link, middleboxes: o.middleboxes ?? [] });
  const clientHost = new Host({ io: ch, clock: sim.clock, addresses: [SIM_CLIENT], random: rnd(1), trace: o.clientTcpTrace });
  const serverHost = new Host({ io: sh, clock: sim.clock, addresses: [SIM_SERVER], random: rnd(2), trace: o.serverTcpTrace });
  const cert = selfSignedCertificate();
  const servers: TcplsEndpoint[] = [];
  listenOverHost(
    serverHost,
    SIM_PORT,
    {
      random: rnd(3),
      tls: { certificateChain: cert.chain, privateKey: cert.key, tcpls: o.serverTcpls },
      policy: o.serverPolicy,
      trace: o.serverTrace,
      tcp: o.serverTcp,
    },
    (ep) => {
      servers.push(ep);
      o.onServer?.(ep);
    },
  );
  const { endpoint: client, connection } = connectOverHost(
    clientHost,
    { address: SIM_SERVER, port: SIM_PORT },
    { random: rnd(4), tls: { serverName: 'localhost', verifier: null, tcpls: o.clientTcpls }, policy: o.clientPolicy, trace: o.clientTrace, tcp: o.clientTcp },
  );
  /** Runs the simulation until `done()` or `limitMs` of virtual time. */
  const runUntil = (done: () => boolean, limitMs = 60_000, maxEvents = 5_000_000): void => {
    const end = sim.now + limitMs;
    while (!done() && sim.now < end) {
      const next = sim.nextEventTime;
      if (next === null) break;
      sim.run(Math.min(next, end), { maxEvents });
    }
  };
  return { sim, link, client, connection, servers, clientHost, serverHost, runUntil };
}
