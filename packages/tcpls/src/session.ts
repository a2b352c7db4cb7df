/**
 * The sans-IO TCPLS session core (draft-piraux-tcpls-04 + docs/wire-format.md).
 *
 * Input: records (connection id, record sequence, plaintext) handed in by the driver, API calls and
 * `now`. Output: records pushed to each connection's RecordChannel during `flush(now)`, and events
 * polled with `pollEvent()`. No timers, sockets or clocks inside; randomness (tokens) is injected.
 * Designed for several TCP connections from the start: each has its id, its channel, its record
 * sequence numbers and ACK state; joins themselves come in a later issue.
 */
import { TcplsError, TlsAlert, type TcplsErrorCode } from './errors.js';
import {
  ApplyRefuseReason,
  type Frame,
  type ReportedSegment,
  type TcpSetting,
  STREAM_FRAME_OVERHEAD,
  TOKEN_LENGTH,
  isAckEliciting,
  refuseReasonName,
} from './frames.js';
import { type TcplsProfile, draftProfile } from './profile.js';
import type { RecordChannel, TcpControl } from './interfaces.js';
import { type OptionDifference, compareSegments, toReportedSegment } from './options-check.js';
import { toHex } from './bytes.js';
import { EXTENSION_TOKEN_SEQUENCE } from './extensions.js';

export type Role = 'client' | 'server';

/** Local rules for TCP Options Apply requests from the peer (docs/wire-format.md §3.9). */
export interface ApplyPolicy {
  /** Accepted user-timeout range in ms; null refuses every user timeout. */
  userTimeout: { minMs: number; maxMs: number } | null;
  /** Congestion controllers the peer may select (empty: none). */
  congestionControllers: readonly string[];
}

export const defaultApplyPolicy: ApplyPolicy = {
  userTimeout: { minMs: 1000, maxMs: 10 * 60 * 1000 },
  congestionControllers: [],
};

/**
 * Chooses the connection that carries stream data and session frames at each flush (the
 * multipath scheduler's hook; per-connection frames always stay on their own connection).
 * Gets the open connections' statistics, sorted by id; returns one of their ids.
 */
export type ConnectionScheduler = (open: readonly ConnectionStats[], now: number) => number;

/** The default: the lowest-id open connection (all traffic on the first path). */
export const lowestIdScheduler: ConnectionScheduler = (open) => open[0].id;

export interface TcplsSessionOptions {
  role: Role;
  /** Which connection carries stream data (default: lowest id). */
  scheduler?: ConnectionScheduler;
  /** Injected randomness (tokens). */
  random: (n: number) => Uint8Array;
  profile?: TcplsProfile;
  policy?: ApplyPolicy;
  /** Server: tokens handed out in New Token frames after the handshake (default 4). */
  tokensInAdvance?: number;
  /** Bytes `write` accepts per stream before it returns short (default 1 MiB). */
  sendBufferLimit?: number;
  /**
   * Our receive window per stream (default 1 MiB): how far past what the application has read the
   * peer may send. Announced to the peer in a Max Stream Data frame when a stream opens (when it is
   * above the profile's initial credit) and refreshed as the application reads
   * (docs/wire-format.md §3.11). Bounded below by the initial credit.
   */
  receiveWindow?: number;
  /**
   * Record ACK policy (docs/wire-format.md §3.3): acknowledge after this many ack-eliciting records
   * on a connection (default 16), or at the latest `maxAckDelay` ms after the first unacknowledged
   * one (default 25); a Ping is acknowledged at once, and a pending ACK rides along on any record
   * the connection sends anyway. 1 acknowledges every record.
   */
  ackEveryRecords?: number;
  maxAckDelay?: number;
}

/** Default receive window per stream (bytes). */
export const DEFAULT_RECEIVE_WINDOW = 1024 * 1024;

export type TcplsEvent =
  | { type: 'stream-opened'; streamId: number }
  /** New bytes are readable on the stream (`readable` of them in all). */
  | { type: 'stream-data'; streamId: number; readable: number }
  /** The peer's FIN arrived and every byte before it is in the receive buffer. */
  | { type: 'stream-finished'; streamId: number }
  | { type: 'option-differences'; connection: number; differences: OptionDifference[] }
  /** Our Apply request was applied by the peer. */
  | { type: 'option-applied'; requestId: number; connection: number; setting: TcpSetting }
  | { type: 'option-refused'; requestId: number; connection: number; setting: TcpSetting; reason: number; reasonName: string }
  /** The peer asked us to apply a setting; what we did. */
  | {
      type: 'option-request';
      requestId: number;
      connection: number;
      setting: TcpSetting;
      applied: boolean;
      reason?: number;
      reasonName?: string;
    }
  | { type: 'ping-ack'; connection: number; rtt: number }
  | { type: 'token'; sequence: number }
  | { type: 'address-added'; addressId: number; version: 4 | 6; address: Uint8Array; port: number }
  | { type: 'address-removed'; addressId: number }
  | { type: 'connection-reset'; connection: number }
  /** The session ended: cleanly (no error), by our error, or by the peer's. */
  | { type: 'closed'; error?: TcplsError };

/** A stream handle (draft §4.3). Reads and writes are non-blocking; flush the session to send. */
export interface TcplsStream {
  readonly id: number;
  /** Queues up to the free send-buffer room; returns the bytes accepted (backpressure). */
  write(data: Uint8Array): number;
  /** Queues a FIN after the queued data. */
  end(): void;
  /**
   * Takes up to `max` contiguous received bytes, without copying: at most one received chunk per
   * call (loop until null to drain). Null when none are buffered. Frees credit.
   */
  read(max?: number): Uint8Array | null;
  /** Bytes buffered for reading. */
  readonly readable: number;
  /** The peer's FIN was read: no more data will come. */
  readonly readableEnded: boolean;
  readonly writableEnded: boolean;
  /** Bytes we may still send before the peer grants more credit. */
  readonly sendCredit: number;
  /** Bytes queued but not yet sent. */
  readonly queued: number;
}

export interface ConnectionStats {
  id: number;
  closed: boolean;
  recordsSent: number;
  recordsReceived: number;
  /** Highest record sequence we sent on it (-1n: none). */
  highestSentSeq: bigint;
  /** Highest of our records the peer acknowledged (-1n: none). */
  highestAckedSeq: bigint;
  /** Highest record sequence we processed from the peer (-1n: none). */
  highestReceivedSeq: bigint;
  /** Differences found by the last TCP Options Report comparison (null: no comparison yet). */
  differences: OptionDifference[] | null;
  /** Settings the peer made us apply to this connection's TCP. */
  applied: TcpSetting[];
}

export interface SessionStats {
  role: Role;
  state: 'open' | 'closing' | 'closed';
  streams: number;
  tokensHeld: number;
  tokensIssued: number;
  connections: ConnectionStats[];
}

/** A connection's state: its public statistics (ConnectionStats) plus what the session works with. */
interface Connection extends ConnectionStats {
  channel: RecordChannel;
  tcp: TcpControl | undefined;
  ackPending: boolean;
  /** Ack-eliciting records received since our last ACK on this connection. */
  unackedRecords: number;
  /** When the pending ACK must go at the latest (ms; Infinity when none is pending). */
  ackDeadline: number;
  /** An ACK must go with the next flush (a Ping arrived, or the threshold or deadline was reached). */
  ackNow: boolean;
  /** Frames that must go on this connection (reports, pings). */
  control: Frame[];
  pings: { seq: bigint; sentAt: number }[];
  lastReport: string | null;
  peerReport: { sent: ReportedSegment | null; received: ReportedSegment | null } | null;
}

class StreamState {
  // send side
  sendQueue: Uint8Array[] = [];
  queued = 0;
  sendOffset = 0;
  sendMax: number;
  endRequested = false;
  finSent = false;
  // receive side
  ready: Uint8Array[] = [];
  readableBytes = 0;
  /** Out-of-order chunks (several connections), by offset. */
  pending = new Map<number, Uint8Array>();
  /** The keys of `pending`, smallest first: draining takes O(log n) per chunk, even on hostile input. */
  pendingOffsets = new MinHeap();
  pendingBytes = 0;
  recvContig = 0;
  recvHighest = 0;
  readOffset = 0;
  finalSize: number | null = null;
  maxGranted: number;
  finishedSignalled = false;
  forgotten = false;
  constructor(
    readonly id: number,
    /** Credit the peer has before any Max Stream Data (the profile's initial window). */
    initialCredit: number,
  ) {
    this.sendMax = initialCredit;
    this.maxGranted = initialCredit;
  }
  get readEnded(): boolean {
    return this.finalSize !== null && this.readOffset === this.finalSize;
  }
}

export class TcplsSession {
  readonly role: Role;
  readonly profile: TcplsProfile;
  private readonly random: (n: number) => Uint8Array;
  private readonly policy: ApplyPolicy;
  private readonly tokensInAdvance: number;
  private readonly sendBufferLimit: number;
  /** The profile's initial per-stream credit: what each side may send before any announcement. */
  private readonly initialCredit: number;
  /** Our receive window per stream (announced; ≥ initialCredit). */
  private readonly window: number;
  private readonly ackEvery: number;
  private readonly maxAckDelay: number;
  private readonly ackSize: number;
  private readonly scheduler: ConnectionScheduler;

  private state: 'open' | 'closing' | 'closed' = 'open';
  private error: TcplsError | undefined;
  private readonly conns = new Map<number, Connection>();
  private readonly streams = new Map<number, StreamState>();
  private readonly events: TcplsEvent[] = [];
  /** Session-level frames, sent on the primary connection. */
  private control: Frame[] = [];
  private nextLocalStream: number;
  private nextPeerStream: number;
  private rrStart = 0;
  private nextRequestId = 1;
  private readonly outstanding = new Map<number, { connection: number; setting: TcpSetting }>();
  // tokens: server side issued (hex → sequence), client side held (sequence → token)
  private readonly issuedTokens = new Map<string, number>();
  private nextTokenSeq = EXTENSION_TOKEN_SEQUENCE + 1;
  private extensionToken: Uint8Array | undefined;
  private readonly heldTokens = new Map<number, Uint8Array>();
  private readonly seenTokenSeqs = new Set<number>();
  private tokensIssuedCount = 0;
  private readonly peerAddresses = new Map<number, { version: 4 | 6; address: Uint8Array; port: number }>();

  constructor(opts: TcplsSessionOptions) {
    this.role = opts.role;
    this.profile = opts.profile ?? draftProfile;
    this.random = opts.random;
    this.policy = opts.policy ?? defaultApplyPolicy;
    this.tokensInAdvance = opts.tokensInAdvance ?? 4;
    this.sendBufferLimit = opts.sendBufferLimit ?? 1024 * 1024;
    this.initialCredit = this.profile.limits.initialStreamWindow;
    this.window = Math.max(this.initialCredit, Math.floor(opts.receiveWindow ?? DEFAULT_RECEIVE_WINDOW));
    this.ackEvery = Math.max(1, Math.floor(opts.ackEveryRecords ?? 16));
    this.maxAckDelay = Math.max(0, opts.maxAckDelay ?? 25);
    this.ackSize = this.profile.frameSize({ type: 'ack', connectionId: 0, highestSeq: 0n });
    this.scheduler = opts.scheduler ?? lowestIdScheduler;
    // draft §4.3: client-opened streams are even, server-opened odd.
    this.nextLocalStream = this.role === 'client' ? 0 : 1;
    this.nextPeerStream = this.role === 'client' ? 1 : 0;
  }

  // ---------------------------------------------------------------- connections

  /**
   * Registers a TCP connection whose handshake (or join) completed. Connection 0 is the first.
   * With a TcpControl, a TCP Options Report for it is queued; on the server, the first
   * connection also queues `tokensInAdvance` New Token frames.
   */
  addConnection(id: number, channel: RecordChannel, tcp?: TcpControl): void {
    this.assertUsable();
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new TcplsError('api-misuse', `bad connection id ${id}`);
    if (this.conns.has(id)) throw new TcplsError('api-misuse', `connection ${id} already exists`);
    this.conns.set(id, {
      id,
      channel,
      tcp,
      closed: false,
      recordsSent: 0,
      recordsReceived: 0,
      highestSentSeq: -1n,
      highestAckedSeq: -1n,
      highestReceivedSeq: -1n,
      ackPending: false,
      unackedRecords: 0,
      ackDeadline: Infinity,
      ackNow: false,
      control: [],
      pings: [],
      lastReport: null,
      peerReport: null,
      differences: null,
      applied: [],
    });
    if (tcp) this.refreshTcpInfo(id);
    if (this.role === 'server' && this.conns.size === 1) {
      for (let i = 0; i < this.tokensInAdvance; i++) this.issueToken();
    }
  }

  /**
   * Re-reads the connection's SYN info and queues a new TCP Options Report when it changed (and
   * re-runs the comparison with the peer's last report).
   */
  refreshTcpInfo(id: number): void {
    const c = this.conn(id);
    if (!c.tcp) return;
    const info = c.tcp.synInfo();
    const sent = info.sent ? toReportedSegment(info.sent) : null;
    const received = info.received ? toReportedSegment(info.received) : null;
    const frame: Frame = { type: 'tcp-options-report', connectionId: id, sent, received };
    const key = toHex(this.profile.encodeFrames([frame]));
    if (key !== c.lastReport) {
      c.lastReport = key;
      c.control.push(frame);
      if (c.peerReport) this.compareReport(c);
    }
  }

  /** The peer closed one connection with TLS close_notify (or its TCP ended): forget it. */
  connectionClosed(id: number): void {
    const c = this.conns.get(id);
    if (!c || c.closed) return;
    c.closed = true;
    if (this.state !== 'closed') {
      // Answer close_notify with ours when this ends the session (RFC 8446 §6.1).
      const last = this.openConnections().length === 0;
      c.channel.close(last ? { kind: 'close_notify' } : { kind: 'fin' });
      if (last) this.finish(undefined);
    }
  }

  // ---------------------------------------------------------------- tokens

  /** Server: the token for `tcpls_token` in EncryptedExtensions (sequence 1). */
  serverExtensionToken(): Uint8Array {
    if (this.role !== 'server') throw new TcplsError('api-misuse', 'only a server issues tokens');
    if (!this.extensionToken) {
      this.extensionToken = this.freshToken();
      this.issuedTokens.set(toHex(this.extensionToken), EXTENSION_TOKEN_SEQUENCE);
      this.tokensIssuedCount++;
    }
    return this.extensionToken.slice();
  }

  /** Client: the token received in `tcpls_token` (EncryptedExtensions). */
  acceptExtensionToken(token: Uint8Array): void {
    if (this.role !== 'client') throw new TcplsError('api-misuse', 'only a client receives tokens');
    if (token.length !== TOKEN_LENGTH) throw new TcplsError('bad-extension', 'token must be 32 bytes');
    this.storeToken(EXTENSION_TOKEN_SEQUENCE, token);
  }

  /** Client: takes one unused token (for a join), lowest sequence first. */
  takeToken(): { sequence: number; token: Uint8Array } | undefined {
    const seqs = [...this.heldTokens.keys()].sort((a, b) => a - b);
    if (seqs.length === 0) return undefined;
    const token = this.heldTokens.get(seqs[0])!;
    this.heldTokens.delete(seqs[0]);
    return { sequence: seqs[0], token };
  }

  /**
   * Server: checks a join token (single use). Returns the connection id it names, or undefined
   * for an unknown or reused token (the handshake then fails with illegal_parameter). A
   * replacement token is queued.
   */
  consumeToken(token: Uint8Array): number | undefined {
    const key = toHex(token);
    const seq = this.issuedTokens.get(key);
    if (seq === undefined) return undefined;
    this.issuedTokens.delete(key);
    this.issueToken();
    return seq;
  }

  // ---------------------------------------------------------------- streams

  openStream(): TcplsStream {
    this.assertOpen();
    const id = this.nextLocalStream;
    if (id > 0xffffffff) throw new TcplsError('api-misuse', 'stream ids exhausted');
    this.nextLocalStream += 2;
    const s = new StreamState(id, this.initialCredit);
    this.streams.set(id, s);
    this.announceWindow(s);
    return this.handle(s);
  }

  /** The handle of an open stream (e.g. after a stream-opened event), or undefined. */
  stream(id: number): TcplsStream | undefined {
    const s = this.streams.get(id);
    return s ? this.handle(s) : undefined;
  }

  private handle(s: StreamState): TcplsStream {
    return {
      id: s.id,
      write: (data) => this.streamWrite(s, data),
      end: () => this.streamEnd(s),
      read: (max) => this.streamRead(s, max),
      get readable() {
        return s.readableBytes;
      },
      get readableEnded() {
        return s.readEnded;
      },
      get writableEnded() {
        return s.endRequested;
      },
      get sendCredit() {
        return s.sendMax - s.sendOffset;
      },
      get queued() {
        return s.queued;
      },
    };
  }

  private streamWrite(s: StreamState, data: Uint8Array): number {
    this.assertUsable();
    if (s.endRequested) throw new TcplsError('api-misuse', `stream ${s.id}: write after end`);
    if (s.forgotten) throw new TcplsError('api-misuse', `stream ${s.id} is closed`);
    const n = Math.min(data.length, this.sendBufferLimit - s.queued);
    if (n <= 0) return 0;
    s.sendQueue.push(data.slice(0, n));
    s.queued += n;
    return n;
  }

  private streamEnd(s: StreamState): void {
    this.assertUsable();
    if (s.forgotten) throw new TcplsError('api-misuse', `stream ${s.id} is closed`);
    s.endRequested = true;
  }

  /**
   * docs/wire-format.md §3.11: a receive window above the profile's initial credit is announced as
   * soon as the stream exists, so the peer's sender never has to assume our window equals its own.
   */
  private announceWindow(s: StreamState): void {
    if (this.window <= s.maxGranted) return;
    s.maxGranted = this.window;
    this.control.push({ type: 'max-stream-data', streamId: s.id, maxOffset: BigInt(s.maxGranted) });
  }

  private streamRead(s: StreamState, max = Infinity): Uint8Array | null {
    if (s.readableBytes === 0) return null;
    // Zero-copy: hands out (a prefix of) the oldest buffered chunk; callers loop until null.
    const head = s.ready[0];
    const n = Math.min(max, head.length);
    if (n <= 0) return null;
    const out = n === head.length ? head : head.subarray(0, n);
    if (n === head.length) s.ready.shift();
    else s.ready[0] = head.subarray(n);
    s.readableBytes -= n;
    s.readOffset += n;
    // docs/wire-format.md §3.11: grant more credit once half a window has been consumed.
    if (s.finalSize === null && s.readOffset + this.window - s.maxGranted >= this.window / 2 && this.state !== 'closed') {
      s.maxGranted = s.readOffset + this.window;
      this.control.push({ type: 'max-stream-data', streamId: s.id, maxOffset: BigInt(s.maxGranted) });
    }
    this.maybeForget(s);
    return out;
  }

  // ---------------------------------------------------------------- control API

  /** Queues a Ping on a connection; a ping-ack event reports the RTT when its record is ACKed. */
  ping(connection = this.primary()?.id ?? 0): void {
    this.assertOpen();
    this.conn(connection).control.push({ type: 'ping' });
  }

  /** Asks the peer to apply a setting to its TCP on `connection`; returns the request id. */
  requestOption(connection: number, setting: TcpSetting): number {
    this.assertOpen();
    this.conn(connection);
    const requestId = this.nextRequestId++ >>> 0;
    const frame: Frame = { type: 'tcp-options-apply', requestId, connectionId: connection, setting };
    this.profile.encodeFrames([frame]); // validate now: misuse is thrown to the caller, not sent
    this.outstanding.set(requestId, { connection, setting });
    this.control.push(frame);
    return requestId;
  }

  /** Advertises one of our addresses (New Address frame). */
  advertiseAddress(addressId: number, version: 4 | 6, address: Uint8Array, port: number): void {
    this.assertOpen();
    const f: Frame = { type: 'new-address', addressId, version, address: address.slice(), port };
    this.profile.encodeFrames([f]);
    this.control.push(f);
  }

  removeAddress(addressId: number): void {
    this.assertOpen();
    this.control.push({ type: 'remove-address', addressId });
  }

  /**
   * Abandons one connection: Connection Reset on another connection, TCP FIN on this one
   * (draft §5.3). The last open connection cannot be reset: `close()` ends the session.
   */
  resetConnection(id: number): void {
    this.assertOpen();
    const c = this.conn(id);
    if (c.closed) return;
    if (this.openConnections().length === 1) {
      throw new TcplsError('api-misuse', 'cannot reset the last connection; use close()');
    }
    c.closed = true;
    c.channel.close({ kind: 'fin' });
    this.control.push({ type: 'connection-reset', connectionId: id });
  }

  /**
   * Graceful close (docs/wire-format.md §5): queued data and FINs are flushed, then every
   * connection but one is reset, and close_notify goes on the last one.
   */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    for (const s of this.streams.values()) s.endRequested = true;
  }

  pollEvent(): TcplsEvent | undefined {
    return this.events.shift();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** The error that closed the session, if any. */
  get closeError(): TcplsError | undefined {
    return this.error;
  }

  stats(): SessionStats {
    return {
      role: this.role,
      state: this.state,
      streams: this.streams.size,
      tokensHeld: this.heldTokens.size,
      tokensIssued: this.tokensIssuedCount,
      connections: [...this.conns.values()].map(connectionStats),
    };
  }

  // ---------------------------------------------------------------- input

  /**
   * One decrypted application-data record from connection `connection`, with its record
   * sequence number. Peer errors close the session (closed event, alert on every channel);
   * only driver misuse throws.
   */
  receiveRecord(connection: number, seq: bigint, plaintext: Uint8Array, now: number): void {
    if (this.state === 'closed') return;
    const c = this.conn(connection);
    if (c.closed) return;
    const touched = new Set<StreamState>();
    try {
      const frames = this.profile.decodeFrames(plaintext);
      c.recordsReceived++;
      if (seq > c.highestReceivedSeq) c.highestReceivedSeq = seq;
      let eliciting = false;
      let pinged = false;
      for (const f of frames) {
        if (isAckEliciting(f)) eliciting = true;
        if (f.type === 'ping') pinged = true;
        this.handleFrame(c, f, now, touched);
        if (this.closed) return; // a Connection Reset ended the session
      }
      if (eliciting) {
        // docs/wire-format.md §3.3: ACKs exist for failover, so they are batched; a Ping is
        // answered at once because its sender measures the RTT with it.
        c.ackPending = true;
        c.unackedRecords++;
        if (c.ackDeadline === Infinity) c.ackDeadline = now + this.maxAckDelay;
        if (pinged || c.unackedRecords >= this.ackEvery) c.ackNow = true;
      }
    } catch (e) {
      if (e instanceof TcplsError && e.alert !== undefined) {
        this.fail(e);
        return;
      }
      throw e;
    }
    for (const s of touched) {
      if (s.readableBytes > 0) this.events.push({ type: 'stream-data', streamId: s.id, readable: s.readableBytes });
      if (!s.finishedSignalled && s.finalSize !== null && s.recvContig === s.finalSize) {
        s.finishedSignalled = true;
        this.events.push({ type: 'stream-finished', streamId: s.id });
      }
      this.maybeForget(s);
    }
  }

  private peerError(code: TcplsErrorCode, message: string): never {
    throw new TcplsError(code, message);
  }

  private handleFrame(c: Connection, f: Frame, now: number, touched: Set<StreamState>): void {
    switch (f.type) {
      case 'padding':
      case 'ping':
        return;
      case 'stream': {
        const s = this.streamForPeerFrame(f.streamId);
        if (!s) return; // closed on both sides: a replayed record (failover) is discarded
        this.receiveStreamData(s, f.offset, f.data, f.fin);
        touched.add(s);
        return;
      }
      case 'max-stream-data': {
        const s = this.streamForPeerFrame(f.streamId);
        if (!s) return;
        const max = f.maxOffset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(f.maxOffset);
        if (max > s.sendMax) s.sendMax = max; // smaller values are stale: ignored (§3.11)
        return;
      }
      case 'ack': {
        const target = this.conns.get(f.connectionId);
        if (!target) this.peerError('bad-ack', `ACK for unknown connection ${f.connectionId}`);
        if (f.highestSeq > target.highestSentSeq) {
          this.peerError('bad-ack', `ACK of record ${f.highestSeq} on connection ${f.connectionId}, highest sent ${target.highestSentSeq}`);
        }
        if (f.highestSeq <= target.highestAckedSeq) return; // late ACK from another connection
        target.highestAckedSeq = f.highestSeq;
        while (target.pings.length > 0 && target.pings[0].seq <= f.highestSeq) {
          const p = target.pings.shift()!;
          this.events.push({ type: 'ping-ack', connection: target.id, rtt: now - p.sentAt });
        }
        return;
      }
      case 'new-token':
        // draft §5.1: only the server issues tokens.
        if (this.role === 'server') this.peerError('frame-not-allowed', 'New Token sent by a client');
        if (f.sequence === 0 || this.seenTokenSeqs.has(f.sequence)) this.peerError('bad-token', `token sequence ${f.sequence} reused`);
        this.storeToken(f.sequence, f.token);
        return;
      case 'connection-reset': {
        const target = this.conns.get(f.connectionId);
        if (!target || target.closed) return;
        target.closed = true;
        target.channel.close({ kind: 'fin' });
        this.events.push({ type: 'connection-reset', connection: target.id });
        if (this.openConnections().length === 0) this.finish(undefined);
        return;
      }
      case 'new-address':
        this.peerAddresses.set(f.addressId, { version: f.version, address: f.address.slice(), port: f.port });
        this.events.push({ type: 'address-added', addressId: f.addressId, version: f.version, address: f.address.slice(), port: f.port });
        return;
      case 'remove-address':
        if (this.peerAddresses.delete(f.addressId)) this.events.push({ type: 'address-removed', addressId: f.addressId });
        return;
      case 'stream-change':
        this.peerError('frame-not-allowed', 'Stream Change is not supported by this implementation');
        return;
      case 'tcp-options-report': {
        const target = this.conns.get(f.connectionId);
        if (!target) this.peerError('unknown-connection', `TCP Options Report for unknown connection ${f.connectionId}`);
        target.peerReport = { sent: f.sent, received: f.received };
        this.compareReport(target);
        return;
      }
      case 'tcp-options-apply':
        this.applyRequest(f.requestId, f.connectionId, f.setting);
        return;
      case 'apply-ack': {
        const r = this.outstanding.get(f.requestId);
        if (!r) return;
        this.outstanding.delete(f.requestId);
        this.events.push({ type: 'option-applied', requestId: f.requestId, connection: r.connection, setting: r.setting });
        return;
      }
      case 'apply-refuse': {
        const r = this.outstanding.get(f.requestId);
        if (!r) return;
        this.outstanding.delete(f.requestId);
        this.events.push({
          type: 'option-refused',
          requestId: f.requestId,
          connection: r.connection,
          setting: r.setting,
          reason: f.reason,
          reasonName: refuseReasonName(f.reason),
        });
        return;
      }
    }
  }

  /** Finds (or, for the peer's parity, implicitly opens) the stream a peer frame refers to. */
  private streamForPeerFrame(id: number): StreamState | undefined {
    const ours = (id & 1) === (this.role === 'client' ? 0 : 1);
    if (ours) {
      if (id >= this.nextLocalStream) this.peerError('stream-id', `stream ${id} has our parity but we never opened it`);
      return this.streams.get(id);
    }
    if (id < this.nextPeerStream) return this.streams.get(id);
    // draft §4.3: opened in sequence; a higher id opens the lower ones too (records may arrive
    // out of order over several connections).
    let open = 0;
    for (const s of this.streams.values()) if ((s.id & 1) !== (this.nextLocalStream & 1)) open++;
    const adding = (id - this.nextPeerStream) / 2 + 1;
    if (open + adding > this.profile.limits.maxPeerStreams) {
      this.peerError('stream-limit', `peer would have ${open + adding} streams open, limit ${this.profile.limits.maxPeerStreams}`);
    }
    for (let sid = this.nextPeerStream; sid <= id; sid += 2) {
      const s = new StreamState(sid, this.initialCredit);
      this.streams.set(sid, s);
      this.announceWindow(s);
      this.events.push({ type: 'stream-opened', streamId: sid });
    }
    this.nextPeerStream = id + 2;
    return this.streams.get(id);
  }

  private receiveStreamData(s: StreamState, bigOffset: bigint, data: Uint8Array, fin: boolean): void {
    const endBig = bigOffset + BigInt(data.length);
    if (endBig > BigInt(Number.MAX_SAFE_INTEGER) || endBig > BigInt(s.maxGranted)) {
      this.peerError('flow-control', `stream ${s.id}: data up to ${endBig} past the credit ${s.maxGranted}`);
    }
    // Safe integers from here on: the end is within the credit granted.
    const offset = Number(bigOffset);
    const end = offset + data.length;
    if (s.finalSize !== null && end > s.finalSize) this.peerError('stream-state', `stream ${s.id}: data past the final size ${s.finalSize}`);
    if (fin) {
      if (s.finalSize !== null && s.finalSize !== end) this.peerError('stream-state', `stream ${s.id}: final size changed`);
      if (end < s.recvHighest) this.peerError('stream-state', `stream ${s.id}: FIN at ${end} below data already received`);
      s.finalSize = end;
    }
    if (end > s.recvHighest) s.recvHighest = end;
    if (end <= s.recvContig) return; // duplicate
    let off = offset;
    let chunk = data;
    if (off < s.recvContig) {
      chunk = chunk.subarray(s.recvContig - off);
      off = s.recvContig;
    }
    if (off === s.recvContig) {
      this.deliver(s, chunk);
      // Drain out-of-order chunks that are now contiguous, lowest offset first.
      for (let o = s.pendingOffsets.peek(); o !== undefined && o <= s.recvContig; o = s.pendingOffsets.peek()) {
        s.pendingOffsets.pop();
        const d = s.pending.get(o)!;
        s.pending.delete(o);
        s.pendingBytes -= d.length;
        if (o + d.length > s.recvContig) this.deliver(s, d.subarray(s.recvContig - o));
      }
      return;
    }
    const prev = s.pending.get(off);
    if (prev && prev.length >= chunk.length) return;
    // Honest peers never overlap; bound what overlapping frames can make us hold.
    const added = chunk.length - (prev?.length ?? 0);
    if (s.pendingBytes + added > s.maxGranted - s.recvContig) {
      this.peerError('flow-control', `stream ${s.id}: overlapping out-of-order data beyond the window`);
    }
    s.pending.set(off, chunk.slice());
    if (!prev) s.pendingOffsets.push(off);
    s.pendingBytes += added;
  }

  private deliver(s: StreamState, chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    s.ready.push(chunk.slice()); // the record buffer belongs to the TLS layer: copy
    s.readableBytes += chunk.length;
    s.recvContig += chunk.length;
  }

  private compareReport(c: Connection): void {
    // Without our own TCP's view there is nothing to compare with: no event, rather than a
    // misleading "clean path".
    if (!c.peerReport || !c.tcp) return;
    const differences: OptionDifference[] = [];
    const mine = c.tcp.synInfo();
    // Only the same segment is compared: the peer's sent vs our received, and vice versa.
    if (c.peerReport.sent && mine.received) {
      differences.push(...compareSegments(c.id, 'peer-to-me', c.peerReport.sent, toReportedSegment(mine.received)));
    }
    if (c.peerReport.received && mine.sent) {
      differences.push(...compareSegments(c.id, 'me-to-peer', toReportedSegment(mine.sent), c.peerReport.received));
    }
    c.differences = differences;
    this.events.push({ type: 'option-differences', connection: c.id, differences });
  }

  private applyRequest(requestId: number, connection: number, setting: TcpSetting): void {
    const refuse = (reason: number): void => {
      this.control.push({ type: 'apply-refuse', requestId, reason });
      this.events.push({ type: 'option-request', requestId, connection, setting, applied: false, reason, reasonName: refuseReasonName(reason) });
    };
    const c = this.conns.get(connection);
    if (!c || c.closed || !c.tcp) return refuse(ApplyRefuseReason.unknownConnection);
    try {
      switch (setting.kind) {
        case 'userTimeout': {
          // RFC 5482 §3: the peer's value is advice; local limits decide.
          const ms = setting.timeout * (setting.granularity === 'minutes' ? 60_000 : 1000);
          const lim = this.policy.userTimeout;
          if (!lim) return refuse(ApplyRefuseReason.notAllowed);
          if (ms < lim.minMs || ms > lim.maxMs) return refuse(ApplyRefuseReason.outOfRange);
          c.tcp.setUserTimeout(ms);
          break;
        }
        case 'congestionControl':
          if (!this.policy.congestionControllers.includes(setting.name)) return refuse(ApplyRefuseReason.notAllowed);
          c.tcp.setCongestionControl(setting.name, { ...setting.params });
          break;
        case 'unknown':
          return refuse(ApplyRefuseReason.unsupportedSetting);
      }
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return refuse(code === 'unknown-controller' ? ApplyRefuseReason.unknownController : ApplyRefuseReason.failed);
    }
    c.applied.push(setting);
    this.control.push({ type: 'apply-ack', requestId });
    this.events.push({ type: 'option-request', requestId, connection, setting, applied: true });
  }

  // ---------------------------------------------------------------- output

  /**
   * Builds and sends records: per-connection frames (ACKs, reports, pings) on their own
   * connection; session frames and stream data on the connection the scheduler picks (default:
   * the lowest open id). Stream data respects peer credit and channel capacity.
   */
  flush(now: number): void {
    if (this.state === 'closed') return;
    const open = this.openConnections();
    if (open.length === 0) return;
    const pick = this.scheduler(open.map(connectionStats), now);
    const primary = open.find((c) => c.id === pick);
    if (!primary) throw new TcplsError('api-misuse', `scheduler picked connection ${pick}, which is not open`);
    for (const c of open) {
      const b = new RecordBuilder(this.recordLimit(c), (f) => this.profile.frameSize(f), (frames) => this.sendRecordOn(c, frames, now));
      if (c.ackPending && (c.ackNow || now >= c.ackDeadline || this.state === 'closing')) b.add(this.takeAck(c));
      for (const f of c.control) b.add(f);
      c.control = [];
      if (c === primary) {
        for (const f of this.control) b.add(f);
        this.control = [];
        this.addStreamData(b, c);
      }
      // A pending ACK rides along for free in a record that goes anyway (never a record of its own).
      if (c.ackPending && b.pendingBytes() > 0 && b.room() >= this.ackSize && this.capacityLeft(c, b) >= this.ackSize) b.add(this.takeAck(c));
      b.flushRecord();
    }
    for (const s of this.streams.values()) this.maybeForget(s); // deleting the current entry is safe in a Map loop
    if (this.state === 'closing' && this.nothingPending()) this.finishGracefulClose();
  }

  /** Frame bytes the connection's channel still takes in the record being built (Infinity: no limit). */
  private capacityLeft(c: Connection, b: RecordBuilder): number {
    // TLS 1.3 record overhead: 5-byte header, content type, 16-byte tag.
    return c.channel.sendCapacity ? c.channel.sendCapacity() - b.pendingBytes() - 22 : Infinity;
  }

  private takeAck(c: Connection): Frame {
    c.ackPending = false;
    c.ackNow = false;
    c.unackedRecords = 0;
    c.ackDeadline = Infinity;
    return { type: 'ack', connectionId: c.id, highestSeq: c.highestReceivedSeq };
  }

  /**
   * When `flush` next has timed work to do (a delayed ACK), in the caller's `now` units; null when
   * nothing waits. Drivers arm one timer for it and call `flush(now)` then.
   */
  nextTimeout(): number | null {
    if (this.state === 'closed') return null;
    let t = Infinity;
    for (const c of this.conns.values()) {
      if (c.closed || !c.ackPending) continue;
      t = Math.min(t, c.ackNow ? 0 : c.ackDeadline);
    }
    return t === Infinity ? null : t;
  }

  private sendRecordOn(c: Connection, frames: Frame[], now: number): void {
    const plaintext = this.profile.encodeFrames(frames);
    const seq = c.channel.sendRecord(plaintext);
    c.recordsSent++;
    if (seq > c.highestSentSeq) c.highestSentSeq = seq;
    for (const f of frames) if (f.type === 'ping') c.pings.push({ seq, sentAt: now });
  }

  private recordLimit(c: Connection): number {
    return Math.min(c.channel.maxPlaintext ?? Infinity, this.profile.limits.maxRecordPlaintext);
  }

  private addStreamData(b: RecordBuilder, c: Connection): void {
    const ids = [...this.streams.keys()].sort((x, y) => x - y);
    if (ids.length === 0) return;
    const start = this.rrStart++ % ids.length;
    const order = [...ids.slice(start), ...ids.slice(0, start)];
    const limit = this.recordLimit(c);
    let progress = true;
    while (progress) {
      progress = false;
      for (const id of order) {
        const s = this.streams.get(id)!;
        const wantsFin = s.endRequested && !s.finSent;
        if (s.queued === 0 && !wantsFin) continue;
        if (b.room() < STREAM_FRAME_OVERHEAD + 1) b.flushRecord();
        let n = Math.min(b.room() - STREAM_FRAME_OVERHEAD, s.sendMax - s.sendOffset, s.queued, 0xffff, limit);
        n = Math.max(0, Math.min(n, this.capacityLeft(c, b) - STREAM_FRAME_OVERHEAD));
        const fin = wantsFin && s.queued - n === 0;
        if (n === 0 && !fin) continue;
        const data = takeBytes(s, n);
        b.add({ type: 'stream', streamId: s.id, offset: BigInt(s.sendOffset), data, fin });
        s.sendOffset += n;
        if (fin) s.finSent = true;
        progress = true;
      }
    }
  }

  private nothingPending(): boolean {
    if (this.control.length > 0) return false;
    for (const c of this.conns.values()) if (!c.closed && (c.control.length > 0 || c.ackPending)) return false;
    for (const s of this.streams.values()) if (s.queued > 0 || !s.finSent) return false;
    return true;
  }

  private finishGracefulClose(): void {
    const open = this.openConnections();
    const last = open[0];
    // docs/wire-format.md §5: reset all but one connection, then close_notify on the last.
    const resets: Frame[] = open.slice(1).map((c) => ({ type: 'connection-reset', connectionId: c.id }));
    if (resets.length > 0) this.sendRecordOn(last, resets, 0);
    for (const c of open.slice(1)) {
      c.closed = true;
      c.channel.close({ kind: 'fin' });
    }
    last.closed = true;
    last.channel.close({ kind: 'close_notify' });
    this.finish(undefined);
  }

  // ---------------------------------------------------------------- helpers

  private fail(err: TcplsError): void {
    if (this.state === 'closed') return;
    const alert = err.alert ?? 'internal_error';
    for (const c of this.openConnections()) {
      c.closed = true;
      c.channel.close({ kind: 'alert', alert, code: TlsAlert[alert] });
    }
    this.finish(err);
  }

  private finish(err: TcplsError | undefined): void {
    this.state = 'closed';
    this.error = err;
    for (const s of this.streams.values()) s.forgotten = true;
    this.streams.clear();
    this.events.push(err ? { type: 'closed', error: err } : { type: 'closed' });
  }

  private maybeForget(s: StreamState): void {
    if (s.forgotten) return;
    if (s.finSent && s.readEnded) {
      s.forgotten = true;
      this.streams.delete(s.id);
    }
  }

  private issueToken(): void {
    if (this.nextTokenSeq > 0xff) return; // the sequence is a u8: no more tokens
    const token = this.freshToken();
    const sequence = this.nextTokenSeq++;
    this.issuedTokens.set(toHex(token), sequence);
    this.tokensIssuedCount++;
    this.control.push({ type: 'new-token', sequence, token });
  }

  private freshToken(): Uint8Array {
    const t = this.random(TOKEN_LENGTH);
    if (t.length !== TOKEN_LENGTH) throw new TcplsError('api-misuse', 'random() returned the wrong length');
    return t.slice();
  }

  private storeToken(sequence: number, token: Uint8Array): void {
    this.seenTokenSeqs.add(sequence);
    this.heldTokens.set(sequence, token.slice());
    this.events.push({ type: 'token', sequence });
  }

  private conn(id: number): Connection {
    const c = this.conns.get(id);
    if (!c) throw new TcplsError('api-misuse', `no connection ${id}`);
    return c;
  }

  private openConnections(): Connection[] {
    return [...this.conns.values()].filter((c) => !c.closed).sort((a, b) => a.id - b.id);
  }

  private primary(): Connection | undefined {
    return this.openConnections()[0];
  }

  private assertUsable(): void {
    if (this.state === 'closed') throw new TcplsError('closed', 'the session is closed');
  }

  private assertOpen(): void {
    this.assertUsable();
    if (this.state === 'closing') throw new TcplsError('closed', 'the session is closing');
  }
}

/** The public statistics of a connection (copies, so callers cannot change the session's state). */
function connectionStats(c: Connection): ConnectionStats {
  return {
    id: c.id,
    closed: c.closed,
    recordsSent: c.recordsSent,
    recordsReceived: c.recordsReceived,
    highestSentSeq: c.highestSentSeq,
    highestAckedSeq: c.highestAckedSeq,
    highestReceivedSeq: c.highestReceivedSeq,
    differences: c.differences ? [...c.differences] : null,
    applied: [...c.applied],
  };
}

/** A binary min-heap of numbers (stream offsets of out-of-order chunks). */
class MinHeap {
  private readonly a: number[] = [];
  peek(): number | undefined {
    return this.a[0];
  }
  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }
  pop(): number | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1] < a[l] ? l + 1 : l;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function takeBytes(s: StreamState, n: number): Uint8Array {
  if (n === 0) return new Uint8Array(0);
  const head = s.sendQueue[0];
  let out: Uint8Array;
  if (head.length >= n) {
    out = head.subarray(0, n);
    if (head.length === n) s.sendQueue.shift();
    else s.sendQueue[0] = head.subarray(n);
  } else {
    out = new Uint8Array(n);
    let p = 0;
    while (p < n) {
      const h = s.sendQueue[0];
      const take = Math.min(h.length, n - p);
      out.set(h.subarray(0, take), p);
      p += take;
      if (take === h.length) s.sendQueue.shift();
      else s.sendQueue[0] = h.subarray(take);
    }
  }
  s.queued -= n;
  return out;
}

/** Packs frames into records of at most `limit` bytes of plaintext. */
class RecordBuilder {
  private frames: Frame[] = [];
  private size = 0;
  constructor(
    private readonly limit: number,
    private readonly frameSize: (f: Frame) => number,
    private readonly send: (frames: Frame[]) => void,
  ) {}
  room(): number {
    return this.limit - this.size;
  }
  pendingBytes(): number {
    return this.size;
  }
  add(f: Frame): void {
    const n = this.frameSize(f);
    if (n > this.room()) this.flushRecord();
    this.frames.push(f);
    this.size += n;
  }
  flushRecord(): void {
    if (this.frames.length === 0) return;
    const frames = this.frames;
    this.frames = [];
    this.size = 0;
    this.send(frames);
  }
}
