import type { SackBlock, TcpOption, TcpRepr } from '../wire/types.js';
import { TcpFlag } from '../wire/types.js';
import { tcpFlagsToString } from '../wire/describe.js';
import type { AckSequenceInfo, CongestionControlName, CongestionController } from '../congestion/types.js';
import { createCongestionController } from '../congestion/index.js';
import { RecvRing, SendRing } from './buffers.js';
import { buildSynOptions, summarizeSynOptions, windowScaleFor } from './options.js';
import type { SynOptionSummary } from './options.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from './seq.js';
import {
  DEFAULT_TCP_CONFIG,
  TcpError,
  type Endpoint,
  type NegotiatedParams,
  type SegmentIn,
  type SegmentOut,
  type SynRecord,
  type TcpConfig,
  type TcpErrorCode,
  type TcpEvent,
  type TcpState,
  type TcpStats,
  type TraceRecord,
} from './types.js';

export type TraceSink = (rec: TraceRecord) => void;

export interface TcpConnectOptions {
  local: Endpoint;
  remote: Endpoint;
  /** Initial send sequence number (e.g. from isnRfc6528). */
  iss: number;
  now: number;
  config?: Partial<TcpConfig>;
  /** Added to `now` (ms) to form our TSval (RFC 7323 5.4: a per-connection random offset). */
  tsOffset?: number;
  trace?: TraceSink;
}

export interface TcpAcceptOptions extends TcpConnectOptions {
  /** The SYN that opened the connection (passive OPEN). */
  syn: SegmentIn;
}

/**
 * A connection restored from a SYN cookie: what the cookie recovered about the handshake (the
 * Host encodes and checks the cookie). `iss` is the cookie ISN of our SYN-ACK.
 */
export interface TcpAcceptEstablishedOptions extends TcpConnectOptions {
  /** The peer's ISN (the ACK's seq - 1). */
  irs: number;
  /** The peer's MSS as recovered (null = not announced: 536 / 1220 is used). */
  peerMss: number | null;
  /** The peer's window-scale shift, or null when it sent none (then no scaling either way). */
  sndWscale: number | null;
  /** The shift our SYN-ACK announced (null with sndWscale null). */
  rcvWscale: number | null;
  sack: boolean;
  timestamps: boolean;
  /** ECN was agreed in the SYN / SYN-ACK exchange (default false). */
  ecn?: boolean;
  /** The ACK that completed the handshake; processed like any segment (it may carry data). */
  ack?: SegmentIn;
}

const EMPTY = new Uint8Array(0);
const TS_SKEW_LIMIT_MS = 24 * 24 * 3600 * 1000; // RFC 7323 5.5: 24 days
const FLAG_ECE_CWR = TcpFlag.ECE | TcpFlag.CWR;
/** RFC 7323 2.3: a shift above 14 is used as 14. */
const MAX_WSCALE = 14;
/**
 * Floor for the send MSS whatever the peer announces (0 included): with 40 option bytes a data
 * segment still carries 24 bytes, so a hostile MSS cannot turn a transfer into a flood of
 * 1-byte segments (Linux has the same kind of floor, tcp_min_snd_mss).
 */
const MIN_SND_MSS = 64;
/** Past this many live transmission-log entries, small contiguous sends are coalesced. */
const TX_LOG_COALESCE_FROM = 256;
/** Control segments (ACK, RST, challenge ACK) queued for pollTransmit before new ones are dropped. */
const CTL_QUEUE_MAX = 16;
/**
 * Option lists of emitted segments are frozen and may be shared between segments (the same
 * timestamps in one millisecond, or no options at all): consumers treat them as read-only.
 */
const NOP: TcpOption = Object.freeze({ kind: 'nop' }) as TcpOption;
const NO_OPTIONS = Object.freeze([]) as unknown as TcpOption[];

type TimerName = 'rtx' | 'delack' | 'persist' | 'timeWait' | 'userTimeout' | 'reorder' | 'tlp';
const TIMER_NAMES: readonly TimerName[] = ['rtx', 'delack', 'persist', 'timeWait', 'userTimeout', 'reorder', 'tlp'];

/**
 * One transmitted segment still in [SND.UNA, SND.NXT): the per-segment state RFC 6675 and
 * RFC 8985 (RACK) need. `lost` = marked lost and not yet retransmitted since.
 */
interface TxRec {
  start: number;
  end: number;
  xmitTs: number;
  retrans: boolean;
  sacked: boolean;
  lost: boolean;
  /**
   * Links of the "pending" list: the live entries neither SACKed nor marked lost, ordered by
   * xmitTs. RACK (RFC 8985 6.2 step 5) only examines these, oldest first, so it can stop at the
   * first one sent after the reference segment instead of scanning the whole log.
   */
  pending: boolean;
  tsPrev: TxRec | null;
  tsNext: TxRec | null;
}

interface Recovery {
  kind: 'fast' | 'rto';
  /** RFC 6582 "recover" + 1: recovery ends when SND.UNA reaches it. */
  point: number;
}

function assertNever(x: never): never {
  throw new Error(`unexpected state ${String(x)}`);
}

/**
 * A sans-IO TCP connection: one flat TCB with RFC 9293 names. Feed it segments and time, poll it
 * for segments, the next deadline and events.
 *
 * Sequence space note: SND.NXT here is the highest sequence number sent so far (BSD "snd_max");
 * retransmissions are driven by a per-segment transmission log (RFC 6675 scoreboard, RFC 8985
 * RACK state) and never move SND.NXT backwards.
 *
 * Payload guarantee: the payload of a segment from pollTransmit is usually a view into the send
 * ring, not a copy. It stays valid until the next call of handleSegment() or write(); serialise
 * it before then (the Host does so within its pollTransmit loop).
 */
export class TcpConnection {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  private readonly cfg: TcpConfig;
  /** Reused for every ACK: the sequence numbers HyStart++ delimits its rounds with (RFC 9406 4.2). */
  private readonly seqInfo: AckSequenceInfo = { sndUna: 0, sndNxt: 0 };
  private readonly traceSink: TraceSink | undefined;
  private readonly tsOffset: number;
  private readonly passive: boolean;
  private readonly ipv6: boolean;

  // ---- TCB: state and send sequence variables (RFC 9293 3.3.1) ----
  private st: TcpState = 'CLOSED';
  private iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  private sndBuf: SendRing;
  /** Sequence number of the first byte in sndBuf. */
  private sndBufSeq: number;
  private finQueued = false;
  // ---- receive sequence variables ----
  private irs = 0;
  private rcvNxt = 0;
  private rcvBuf: RecvRing;
  /** Right edge of the window we last advertised (RFC 9293 3.8.6.2.2: never shrink it). */
  private rcvAdvRight = 0;
  private rcvFinSeq: number | null = null;
  private finReceived = false;
  // ---- negotiated options ----
  private sndMssBase: number;
  private sndWscale = 0;
  private rcvWscale = 0;
  private ourWscale: number | null;
  private sackOk = false;
  private tsOk = false;
  private ecnOk = false;
  private tsRecent = 0;
  private tsRecentAge = 0;
  private haveTsRecent = false;
  private lastAckSent = 0;
  private tsOptionsCache: { tsVal: number; tsEcr: number; list: TcpOption[] } | null = null;
  /** RCV.UP (RFC 9293 3.10.7.4 sixth): sequence number after the peer's urgent data, or null. */
  private rcvUp: number | null = null;
  private urgentSignaled = false;
  /** SND.UP (3.10.2): sequence number after our urgent data while it is unacknowledged, or null. */
  private sndUp: number | null = null;
  /** RFC 2883: a duplicate range received, reported as the first SACK block of the next ACK. */
  private dsack: [number, number] | null = null;
  private peerUtoSeconds: number | null = null;
  private userTimeoutMs: number | null;
  private nagle: boolean;
  private keepAliveOn: boolean;
  private keepAliveIdleMs: number;
  // ---- RTT (RFC 6298) ----
  private srtt: number | null = null;
  private rttvar: number | null = null;
  private rto: number;
  private minRtt: number | null = null;
  private rttSeq: number | null = null;
  private rttStart = 0;
  private retries = 0;
  // ---- loss recovery (RFC 5681, 6582, 6675) ----
  private recovery: Recovery | null = null;
  private recoverSeq: number;
  /** Transmission log, ordered by sequence number; entries before txHead are gone. */
  private txLog: TxRec[] = [];
  private txHead = 0;
  /** Live log entries beyond which every new send is merged into the last entry. */
  private readonly txLogHardCap: number;
  private logSackedBytes = 0;
  private logLostBytes = 0;
  private logRetransCount = 0;
  /** Ends of the pending list (see TxRec.pending): oldest and newest transmission time. */
  private pendHead: TxRec | null = null;
  private pendTail: TxRec | null = null;
  // RACK (RFC 8985 6.1): the most recently sent segment known delivered.
  private rackXmitTs = -Infinity;
  private rackEndSeq = 0;
  private rackRtt = 0;
  private rackFack = 0;
  private reorderingSeen = false;
  private tlpNow = false;
  private tlpFired = false;
  private dupAcks = 0;
  private rtxHeadNow = false;
  /** SACK scoreboard: sorted disjoint [left, right) ranges above SND.UNA. */
  private scoreboard: Array<[number, number]> = [];
  private cc: CongestionController;
  // ---- ECN (RFC 3168) ----
  private eceToSend = false;
  private cwrToSend = false;
  private ecnRecoverSeq: number;
  // ---- output control ----
  private synToSend = false;
  private ackNow = false;
  private probeNow = false;
  private rcvBytesSinceAck = 0;
  private rcvMssEst: number;
  private ctlQueue: SegmentOut[] = [];
  private events: TcpEvent[] = [];
  private readableQueued = false;
  private writableQueued = false;
  private writeBlocked = false;
  private closedEmitted = false;
  private timers: Record<TimerName, number | null> = {
    rtx: null,
    delack: null,
    persist: null,
    timeWait: null,
    userTimeout: null,
    reorder: null,
    tlp: null,
  };
  private persistBackoff = 0;
  private lastRecvAt: number;
  private kaProbes = 0;
  private kaLastProbeAt = 0;
  private utoStart: number | null = null;
  private challengeWindowStart = -Infinity;
  private challengeCount = 0;
  private now: number;
  private synSent: SynRecord | null = null;
  private synReceived: SynRecord | null = null;
  private readonly counters = {
    retransmits: 0,
    fastRetransmits: 0,
    rtoCount: 0,
    sackRecoveries: 0,
    fastRecoveries: 0,
    bytesSent: 0,
    bytesRetransmitted: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    segmentsSent: 0,
    segmentsReceived: 0,
    dupAcks: 0,
    challengeAcks: 0,
    challengeAcksSuppressed: 0,
    pawsRejected: 0,
    outOfWindowSegments: 0,
    ackForUnsentData: 0,
    invalidSackBlocks: 0,
    reassemblyDrops: 0,
    zeroWindowProbes: 0,
    keepAlivesSent: 0,
    ecnCeReceived: 0,
    ecnReductions: 0,
    rstReceived: 0,
    ignoredSegments: 0,
    droppedSynOptions: 0,
    tlpProbes: 0,
    rackLosses: 0,
    clampedSynOptions: 0,
    controlSegmentsDropped: 0,
  };
  private readonly unknownOptions: Record<number, number> = {};

  private constructor(o: TcpConnectOptions, passive: boolean) {
    this.local = { address: o.local.address, port: o.local.port };
    this.remote = { address: o.remote.address, port: o.remote.port };
    const cfg: TcpConfig = { ...DEFAULT_TCP_CONFIG, ...(o.config ?? {}) };
    cfg.keepAlive = { ...DEFAULT_TCP_CONFIG.keepAlive, ...(o.config?.keepAlive ?? {}) };
    cfg.mss = clampInt(cfg.mss, MIN_SND_MSS, 0xffff);
    cfg.recvBufferBytes = clampInt(cfg.recvBufferBytes, 1, 0x3fffffff);
    cfg.sendBufferBytes = clampInt(cfg.sendBufferBytes, 1, 0x3fffffff);
    cfg.maxReassemblySegments = clampInt(cfg.maxReassemblySegments, 1, 4096);
    cfg.maxSackScoreboard = clampInt(cfg.maxSackScoreboard, 1, 4096);
    this.cfg = cfg;
    this.traceSink = o.trace;
    this.tsOffset = o.tsOffset ?? 0;
    this.passive = passive;
    this.ipv6 = o.remote.address.includes(':');
    this.now = o.now;
    this.iss = o.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.recoverSeq = this.iss;
    this.rackFack = this.iss;
    this.ecnRecoverSeq = this.iss;
    this.sndBuf = new SendRing(cfg.sendBufferBytes);
    this.rcvBuf = new RecvRing(cfg.recvBufferBytes, cfg.maxReassemblySegments);
    this.ourWscale = cfg.windowScale ? windowScaleFor(cfg.recvBufferBytes) : null;
    this.sndMssBase = Math.min(cfg.mss, this.ipv6 ? 1220 : 536);
    this.txLogHardCap = Math.max(1024, Math.ceil((2 * cfg.sendBufferBytes) / cfg.mss));
    this.rcvMssEst = Math.min(cfg.mss, 536);
    this.rto = cfg.initialRtoMs;
    this.userTimeoutMs = cfg.userTimeoutMs;
    this.nagle = cfg.nagle;
    this.keepAliveOn = cfg.keepAlive.enabled;
    this.keepAliveIdleMs = cfg.keepAlive.idleMs;
    this.lastRecvAt = o.now;
    this.cc = createCongestionController(cfg.congestionControl, { mss: this.sndMssBase, params: cfg.congestionParams });
  }

  // =====================================================================================
  // OPEN (RFC 9293 3.10.1)
  // =====================================================================================

  /** Active OPEN: CLOSED -> SYN-SENT; the SYN comes out of pollTransmit. */
  static connect(o: TcpConnectOptions): TcpConnection {
    const c = new TcpConnection(o, false);
    c.setState('SYN-SENT');
    c.synToSend = true;
    return c;
  }

  /** Passive OPEN completed by a SYN that a listener received: LISTEN -> SYN-RECEIVED (3.10.7.2). */
  static accept(o: TcpAcceptOptions): TcpConnection {
    const t = o.syn.tcp;
    if ((t.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) !== TcpFlag.SYN) {
      throw new TcpError('invalid-state', 'accept() needs a segment with SYN set and ACK/RST clear');
    }
    const c = new TcpConnection(o, true);
    c.countOptions(t.options);
    c.counters.segmentsReceived++;
    c.irs = t.seq >>> 0;
    c.rcvNxt = seqAdd(c.irs, 1);
    c.rcvAdvRight = c.rcvNxt;
    c.lastAckSent = c.rcvNxt;
    c.synReceived = synRecord(t, o.syn.ecn);
    const s = summarizeSynOptions(t.options);
    c.negotiate(s, o.now);
    // RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR set.
    c.ecnOk = c.cfg.ecn && (t.flags & FLAG_ECE_CWR) === FLAG_ECE_CWR;
    // The SYN's window is never scaled (RFC 7323 2.2).
    c.sndWnd = t.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = c.irs;
    c.sndWl2 = c.iss;
    c.setState('SYN-RECEIVED');
    c.synToSend = true;
    return c;
  }

  /** A connection restored from a valid SYN-cookie ACK: straight to ESTABLISHED. */
  static acceptEstablished(o: TcpAcceptEstablishedOptions): TcpConnection {
    const c = new TcpConnection(o, true);
    c.irs = o.irs >>> 0;
    c.rcvNxt = seqAdd(c.irs, 1);
    // Our (stateless) SYN-ACK advertised the unscaled window min(buffer, 65535) (SynCookieJar.synAck).
    c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(0xffff, c.cfg.recvBufferBytes));
    c.lastAckSent = c.rcvNxt;
    c.sndUna = seqAdd(c.iss, 1);
    c.sndNxt = c.sndUna;
    c.recoverSeq = c.sndUna;
    c.rackFack = c.sndUna;
    c.ecnRecoverSeq = c.sndUna;
    c.sndWl1 = c.irs;
    c.sndWl2 = c.iss;
    const peerMss = o.peerMss ?? (c.ipv6 ? 1220 : 536);
    if (peerMss < MIN_SND_MSS) c.counters.clampedSynOptions++;
    c.sndMssBase = Math.max(MIN_SND_MSS, Math.min(peerMss, c.cfg.mss));
    // The cookie records what the (stateless) SYN-ACK really agreed to: honour it as is.
    if (o.sndWscale !== null) {
      if (o.sndWscale > MAX_WSCALE) c.counters.clampedSynOptions++;
      c.sndWscale = Math.min(MAX_WSCALE, o.sndWscale);
      c.rcvWscale = Math.min(MAX_WSCALE, o.rcvWscale ?? c.ourWscale ?? 0);
    }
    c.sackOk = o.sack;
    c.tsOk = o.timestamps;
    c.ecnOk = (o.ecn ?? false) && c.cfg.ecn;
    // Re-created so that the initial window follows the recovered MSS (RFC 6928).
    c.cc = createCongestionController(c.cfg.congestionControl, { mss: c.sndMssBase, params: c.cfg.congestionParams });
    c.setState('ESTABLISHED');
    c.pushEvent({ type: 'connected' });
    if (o.ack) c.handleSegment(o.ack, o.now);
    return c;
  }

  // =====================================================================================
  // Accessors
  // =====================================================================================

  get state(): TcpState {
    return this.st;
  }
  get readableBytes(): number {
    return this.rcvBuf.readable;
  }
  get writableBytes(): number {
    return this.canWrite() ? this.sndBuf.free : 0;
  }
  /**
   * Urgent data (RFC 9293 3.8.5): how many bytes, counted from the next byte read(), up to the end
   * of the urgent data the peer announced (0 when none is pending). May exceed readableBytes when
   * the pointer is ahead of the data received.
   */
  get urgentBytes(): number {
    if (this.rcvUp === null) return 0;
    const readSeq = seqAdd(this.rcvNxt, -this.rcvBuf.readable - (this.finReceived ? 1 : 0));
    const n = seqSub(this.rcvUp, readSeq);
    return n > 0 ? n : 0;
  }
  /** True once the peer's FIN was received and all data before it has been read. */
  get readEnded(): boolean {
    return this.finReceived && this.rcvBuf.readable === 0;
  }
  /**
   * TIME-WAIT: may this SYN open a new incarnation of the connection (the Host then closes this
   * one and accepts the SYN)? RFC 6191: with timestamps, the SYN's TSval must be newer than
   * TS.Recent; otherwise (RFC 1122 4.2.2.13) its sequence number must be beyond RCV.NXT.
   */
  acceptsNewSyn(seg: SegmentIn): boolean {
    const t = seg.tcp;
    if (this.st !== 'TIME-WAIT') return false;
    if ((t.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) !== TcpFlag.SYN) return false;
    const ts = findTimestamps(t.options);
    if (this.tsOk && this.haveTsRecent && ts !== null) return seqGt(ts.tsVal, this.tsRecent);
    return seqGt(t.seq, this.rcvNxt);
  }

  /** A snapshot of the sequence variables (tests, debugging, the host's TIME-WAIT logic). */
  tcb(): {
    iss: number;
    irs: number;
    sndUna: number;
    sndNxt: number;
    sndWnd: number;
    sndWl1: number;
    sndWl2: number;
    rcvNxt: number;
    rcvWnd: number;
    tsRecent: number | null;
  } {
    return {
      iss: this.iss,
      irs: this.irs,
      sndUna: this.sndUna,
      sndNxt: this.sndNxt,
      sndWnd: this.sndWnd,
      sndWl1: this.sndWl1,
      sndWl2: this.sndWl2,
      rcvNxt: this.rcvNxt,
      rcvWnd: Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt)),
      tsRecent: this.haveTsRecent ? this.tsRecent : null,
    };
  }

  // =====================================================================================
  // SEND / RECEIVE / CLOSE / ABORT (RFC 9293 3.10.2 - 3.10.5)
  // =====================================================================================

  private canWrite(): boolean {
    if (this.finQueued) return false;
    switch (this.st) {
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        return true;
      case 'CLOSED':
      case 'LISTEN':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        return false;
      default:
        return assertNever(this.st);
    }
  }

  /**
   * SEND: copies up to writableBytes of `data` into the send buffer and returns the count.
   * Before ESTABLISHED the data is queued (3.10.2). After shutdown() or close, throws
   * TcpError('invalid-state') ("connection closing").
   */
  write(data: Uint8Array, opts?: { urgent?: boolean }): number {
    if (!this.canWrite()) throw new TcpError('invalid-state', `write in state ${this.st}${this.finQueued ? ' after shutdown' : ''}`);
    const n = this.sndBuf.append(data);
    // 3.10.2: with the urgent flag, SND.UP points after the last byte of this SEND.
    if (opts?.urgent === true && n > 0) this.sndUp = seqAdd(this.sndBufSeq, this.sndBuf.length);
    // 'writable' follows once space frees after the buffer was full (or a write was cut short).
    if (n < data.length || this.sndBuf.free === 0) this.writeBlocked = true;
    return n;
  }

  /** RECEIVE: in-order data (owned by the caller: a copy, or storage the ring let go of), or null when none is buffered. */
  read(maxBytes?: number): Uint8Array | null {
    const avail = this.rcvBuf.readable;
    if (avail === 0) return null;
    const n = maxBytes === undefined ? avail : Math.max(0, Math.min(avail, Math.floor(maxBytes)));
    if (n === 0) return null;
    const out = this.rcvBuf.read(n);
    // Nothing more can arrive after the peer's FIN: give the receive storage back once read.
    if (this.finReceived) this.rcvBuf.release();
    if (this.urgentSignaled && this.urgentBytes === 0) this.urgentSignaled = false; // urgent mode over
    // Window update (RFC 9293 3.8.6.2.2 / 3.8.6.2.1): windowToAdvertise() already applies receiver
    // SWS avoidance; like Linux, send an update only when the advertised window is at most half
    // the buffer and would at least double, so a reading application does not cause ACK storms.
    if (this.isSynchronized() && !this.finReceived) {
      const after = this.windowToAdvertise();
      const cur = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
      if (after > cur && cur * 2 <= this.cfg.recvBufferBytes && after >= 2 * cur) this.ackNow = true;
    }
    return out;
  }

  /** CLOSE (3.10.4) as a half-close: our FIN goes out after all queued data. */
  shutdown(): void {
    switch (this.st) {
      case 'CLOSED':
      case 'LISTEN':
        return;
      case 'SYN-SENT':
        // "Delete the TCB, return 'error: closing' responses to any queued SENDs".
        this.enterClosed(null, 'close in SYN-SENT');
        return;
      case 'SYN-RECEIVED':
        // Queued until ESTABLISHED (then FIN-WAIT-1 once the FIN is sent).
        this.finQueued = true;
        return;
      case 'ESTABLISHED':
        this.finQueued = true;
        this.setState('FIN-WAIT-1');
        return;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.setState('LAST-ACK');
        return;
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        return; // "error: connection closing"; idempotent here
      default:
        assertNever(this.st);
    }
  }

  /** ABORT (3.10.5): RST where the peer has state, then CLOSED with TcpError('aborted'). */
  abort(): void {
    switch (this.st) {
      case 'CLOSED':
        return;
      case 'LISTEN':
      case 'SYN-SENT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        break;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.queueCtl(this.sndNxt, 0, TcpFlag.RST);
        break;
      default:
        assertNever(this.st);
    }
    this.enterClosed(new TcpError('aborted', 'connection aborted by the application'), 'abort');
  }

  setNoDelay(on: boolean): void {
    this.nagle = !on;
  }

  setKeepAlive(on: boolean, idleMs?: number): void {
    this.keepAliveOn = on;
    if (idleMs !== undefined && idleMs > 0) this.keepAliveIdleMs = idleMs;
    this.kaProbes = 0;
  }

  /** RFC 5482 local user timeout (ms) in force from now on; null disables it. */
  setUserTimeout(ms: number | null): void {
    this.userTimeoutMs = ms === null ? null : Math.max(1, ms);
  }

  /**
   * Live switch of the congestion controller. The new controller starts from the current cwnd
   * and ssthresh (so a switch does not restart slow start); its own state (e.g. CUBIC's W_max)
   * starts fresh. An ongoing recovery episode continues under the new controller.
   */
  setCongestionControl(name: CongestionControlName, params?: Record<string, number>): void {
    const old = this.cc;
    this.cc = createCongestionController(name, {
      mss: this.sndMssBase,
      cwnd: old.window,
      ssthresh: old.ssthresh,
      params: params ?? (name === this.cfg.congestionControl ? this.cfg.congestionParams : undefined),
    });
    this.trace('cc-switch', { from: old.name, to: name });
  }

  // =====================================================================================
  // Output
  // =====================================================================================

  pollEvent(): TcpEvent | null {
    const e = this.events.shift();
    if (e === undefined) return null;
    if (e.type === 'readable') this.readableQueued = false;
    if (e.type === 'writable') this.writableQueued = false;
    return e;
  }

  pollTimeout(): number | null {
    let best: number | null = null;
    for (const k of TIMER_NAMES) {
      const v = this.timers[k];
      if (v !== null && (best === null || v < best)) best = v;
    }
    const ka = this.keepAliveDeadline();
    if (ka !== null && (best === null || ka < best)) best = ka;
    const uto = this.userTimeoutDeadline();
    if (uto !== null && (best === null || uto < best)) best = uto;
    return best;
  }

  pollTransmit(now: number): SegmentOut | null {
    this.now = now;
    const ctl = this.ctlQueue.shift();
    if (ctl !== undefined) return ctl;
    switch (this.st) {
      case 'CLOSED':
      case 'LISTEN':
        return null;
      case 'SYN-SENT':
        return this.synToSend ? this.emitSyn(now) : null;
      case 'SYN-RECEIVED':
        if (this.synToSend) return this.emitSyn(now);
        return this.ackNow ? this.emitAck(now) : null;
      case 'TIME-WAIT':
      case 'FIN-WAIT-2':
        return this.ackNow ? this.emitAck(now) : null;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK': {
        const s = this.emitData(now);
        if (s !== null) return s;
        if (this.ackNow) return this.emitAck(now);
        this.updatePersist(now);
        return null;
      }
      default:
        return assertNever(this.st);
    }
  }

  // =====================================================================================
  // Timeouts
  // =====================================================================================

  handleTimeout(now: number): void {
    this.now = now;
    const t = this.timers;
    if (t.timeWait !== null && now >= t.timeWait) {
      t.timeWait = null;
      if (this.st === 'TIME-WAIT') this.enterClosed(null, 'time-wait expired');
      return;
    }
    const uto = this.userTimeoutDeadline();
    if (uto !== null && now >= uto) {
      // RFC 9293 3.10.8 USER TIMEOUT: flush, signal the user, CLOSED (no RST).
      this.enterClosed(new TcpError('user-timeout', `data unacknowledged for ${this.userTimeoutMs} ms`), 'user-timeout');
      return;
    }
    if (t.rtx !== null && now >= t.rtx) {
      t.rtx = null;
      this.onRetransmissionTimeout(now);
      if (this.st === 'CLOSED') return;
    }
    if (t.reorder !== null && now >= t.reorder) {
      t.reorder = null;
      this.detectLosses(now);
    }
    if (t.tlp !== null && now >= t.tlp) {
      // RFC 8985 7.3: the probe timeout fired; send one probe segment.
      t.tlp = null;
      if (seqSub(this.sndNxt, this.sndUna) > 0 && this.recovery === null) {
        this.tlpNow = true;
        this.tlpFired = true;
      }
    }
    if (t.delack !== null && now >= t.delack) {
      t.delack = null;
      this.ackNow = true;
    }
    if (t.persist !== null && now >= t.persist) {
      t.persist = null;
      this.probeNow = true;
      this.persistBackoff++;
    }
    const ka = this.keepAliveDeadline();
    if (ka !== null && now >= ka) {
      if (this.kaProbes >= this.cfg.keepAlive.count) {
        this.enterClosed(new TcpError('keepalive-timeout', `no answer to ${this.kaProbes} keepalive probes`), 'keepalive-timeout');
        return;
      }
      // RFC 9293 3.8.4: a segment with SEG.SEQ = SND.NXT - 1 and no data elicits an ACK.
      this.kaProbes++;
      this.kaLastProbeAt = now;
      this.counters.keepAlivesSent++;
      this.queueCtl(seqAdd(this.sndNxt, -1), this.rcvNxt, TcpFlag.ACK, true);
    }
  }

  private keepAliveDeadline(): number | null {
    if (!this.keepAliveOn) return null;
    if (this.st !== 'ESTABLISHED' && this.st !== 'CLOSE-WAIT') return null;
    if (this.sndNxt !== this.sndUna) return null;
    if (this.kaProbes === 0) return this.lastRecvAt + this.keepAliveIdleMs;
    return this.kaLastProbeAt + this.cfg.keepAlive.intervalMs;
  }

  private userTimeoutDeadline(): number | null {
    if (this.userTimeoutMs === null || this.utoStart === null) return null;
    if (this.st === 'CLOSED' || this.st === 'TIME-WAIT') return null;
    return this.utoStart + this.userTimeoutMs;
  }

  /** RFC 6298 5.4-5.7 (and 3.8.6.1 for zero-window probes). */
  private onRetransmissionTimeout(now: number): void {
    switch (this.st) {
      case 'CLOSED':
      case 'LISTEN':
      case 'TIME-WAIT':
        return;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        this.retries++;
        if (this.retries > this.cfg.synRetries) {
          this.enterClosed(new TcpError('timeout', `no answer to the SYN after ${this.cfg.synRetries} retransmissions`), 'syn-timeout');
          return;
        }
        this.counters.rtoCount++;
        this.rto = Math.min(this.rto * 2, this.cfg.maxRtoMs);
        this.synToSend = true;
        this.rttSeq = null;
        this.trace('rto', { retries: this.retries });
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
        break;
      default:
        assertNever(this.st);
    }
    const flight = seqSub(this.sndNxt, this.sndUna);
    if (flight <= 0) return;
    const zeroWindow = this.sndWnd === 0;
    if (!zeroWindow) {
      this.retries++;
      if (this.retries > this.cfg.dataRetries) {
        this.enterClosed(new TcpError('timeout', `retransmission limit (${this.cfg.dataRetries}) reached`), 'rtx-timeout');
        return;
      }
      // RFC 5681 eq. 4 on the first timeout of a series; later ones keep ssthresh.
      if (this.retries === 1) this.cc.onRetransmissionTimeout(now, this.pipe());
    }
    this.counters.rtoCount++;
    this.recovery = { kind: 'rto', point: this.sndNxt };
    this.recoverSeq = this.sndNxt;
    // RFC 2018 section 8: after a timeout, forget SACK information (the receiver may renege);
    // everything outstanding is then considered lost (RFC 6675 section 5.1, RFC 8985 6.3).
    this.scoreboard = [];
    for (let i = this.txHead; i < this.txLog.length; i++) {
      const r = this.txLog[i];
      if (r.sacked) this.setSacked(r, false);
      this.setLost(r, true);
    }
    this.timers.tlp = null;
    this.timers.reorder = null;
    this.dupAcks = 0;
    this.rttSeq = null;
    this.rto = Math.min(this.rto * 2, this.cfg.maxRtoMs);
    this.timers.rtx = now + this.rto;
    this.trace('rto', { retries: this.retries, zeroWindow });
  }

  // =====================================================================================
  // SEGMENT ARRIVES (RFC 9293 3.10.7)
  // =====================================================================================

  handleSegment(seg: SegmentIn, now: number): void {
    this.now = now;
    this.counters.segmentsReceived++;
    this.countOptions(seg.tcp.options);
    switch (this.st) {
      case 'CLOSED':
        this.segmentInClosed(seg);
        return;
      case 'LISTEN':
        // A TcpConnection never listens (the Host does); treat as CLOSED.
        this.segmentInClosed(seg);
        return;
      case 'SYN-SENT':
        this.segmentInSynSent(seg, now);
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        this.segmentInSynchronized(seg, now);
        return;
      default:
        assertNever(this.st);
    }
  }

  /** 3.10.7.1: CLOSED answers everything but a RST with a RST. */
  private segmentInClosed(seg: SegmentIn): void {
    const t = seg.tcp;
    if (t.flags & TcpFlag.RST) return;
    if (t.flags & TcpFlag.ACK) this.queueCtl(t.ack, 0, TcpFlag.RST);
    else this.queueCtl(0, seqAdd(t.seq, segLength(t)), TcpFlag.RST | TcpFlag.ACK);
  }

  /** 3.10.7.3 SYN-SENT. */
  private segmentInSynSent(seg: SegmentIn, now: number): void {
    const t = seg.tcp;
    const f = t.flags;
    // First: the ACK bit.
    if (f & TcpFlag.ACK) {
      if (seqLe(t.ack, this.iss) || seqGt(t.ack, this.sndNxt)) {
        this.counters.ackForUnsentData++;
        if (!(f & TcpFlag.RST)) this.queueCtl(t.ack, 0, TcpFlag.RST);
        return;
      }
    }
    // Second: RST. Acceptable only with an acceptable ACK (RFC 5961 3.2 / 9293 3.10.7.3).
    if (f & TcpFlag.RST) {
      this.counters.rstReceived++;
      if (f & TcpFlag.ACK) this.enterClosed(new TcpError('connection-refused', 'connection refused (RST)'), 'refused');
      else this.counters.ignoredSegments++;
      return;
    }
    // Fourth: SYN.
    if (!(f & TcpFlag.SYN)) {
      this.counters.ignoredSegments++;
      return;
    }
    this.irs = t.seq >>> 0;
    this.rcvNxt = seqAdd(this.irs, 1);
    // Our SYN advertised an unscaled window (RFC 7323 2.2); that is the right edge until our ACK.
    this.rcvAdvRight = seqAdd(this.rcvNxt, this.synSent?.window ?? 0);
    this.lastAckSent = this.rcvNxt;
    this.synReceived = synRecord(t, seg.ecn);
    const s = summarizeSynOptions(t.options);
    this.negotiate(s, now);
    if (f & TcpFlag.ACK) {
      // RFC 3168 6.1.1: an ECN-setup SYN-ACK has ECE set and CWR clear.
      this.ecnOk = this.cfg.ecn && (f & FLAG_ECE_CWR) === TcpFlag.ECE;
      this.lastRecvAt = now;
      this.onNewAck(t.ack, s.timestamps?.tsEcr ?? null, now, true);
      // Window of a SYN-ACK is not scaled (RFC 7323 2.2).
      this.sndWnd = t.window;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = t.seq;
      this.sndWl2 = t.ack;
      this.setState('ESTABLISHED');
      this.pushEvent({ type: 'connected' });
      this.ackNow = true;
      // "If there are other controls or text in the segment, continue processing at the sixth step."
      this.processUrg(t);
      this.processText(t, seg.ecn, now);
      return;
    }
    // Simultaneous open: SYN-RECEIVED, send SYN,ACK with our ISS (3.10.7.3 fourth, 'otherwise').
    this.ecnOk = false;
    this.sndWnd = t.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = t.seq;
    this.sndWl2 = this.iss;
    this.setState('SYN-RECEIVED');
    this.synToSend = true;
  }

  /** 3.10.7.4: the synchronized states (and SYN-RECEIVED). */
  private segmentInSynchronized(seg: SegmentIn, now: number): void {
    const t = seg.tcp;
    const f = t.flags;
    const len = segLength(t);
    const ts = findTimestamps(t.options);

    // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost, send it again.
    if (this.st === 'SYN-RECEIVED' && (f & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN && t.seq === this.irs) {
      this.synToSend = true;
      return;
    }
    // TIME-WAIT: a retransmitted FIN is acknowledged and restarts the 2 MSL timeout.
    if (this.st === 'TIME-WAIT' && f & TcpFlag.FIN && !(f & TcpFlag.RST) && seqAdd(t.seq, t.payload.length) === seqAdd(this.rcvNxt, -1)) {
      this.ackNow = true;
      this.timers.timeWait = now + this.cfg.timeWaitMs;
      return;
    }

    // RFC 7323 5.3 PAWS: reject an old TSval (before the sequence-number check).
    if (this.tsOk && ts !== null && !(f & TcpFlag.RST) && this.haveTsRecent) {
      if (seqLt(ts.tsVal, this.tsRecent) && now - this.tsRecentAge <= TS_SKEW_LIMIT_MS) {
        this.counters.pawsRejected++;
        this.ackNow = true;
        return;
      }
    }

    // First: sequence number acceptability (3.10.7.4, the four cases).
    const wnd = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
    let acceptable: boolean;
    let zeroWindowData = false;
    if (len === 0) {
      acceptable = wnd === 0 ? t.seq === this.rcvNxt : seqLe(this.rcvNxt, t.seq) && seqLt(t.seq, seqAdd(this.rcvNxt, wnd));
    } else if (wnd === 0) {
      // "Special allowance should be made to accept valid ACKs, URGs, and RSTs."
      acceptable = t.seq === this.rcvNxt;
      zeroWindowData = acceptable;
    } else {
      const end = seqAdd(t.seq, len - 1);
      const right = seqAdd(this.rcvNxt, wnd);
      acceptable =
        (seqLe(this.rcvNxt, t.seq) && seqLt(t.seq, right)) || (seqLe(this.rcvNxt, end) && seqLt(end, right));
    }
    if (!acceptable) {
      this.counters.outOfWindowSegments++;
      if (f & TcpFlag.RST) return; // RFC 5961 3.2: silently dropped
      // An old duplicate (all of its text already received): report it with a D-SACK block.
      if (!(f & TcpFlag.SYN) && t.payload.length > 0) {
        const end = seqAdd(t.seq, t.payload.length);
        if (seqLe(end, this.rcvNxt) && seqSub(this.rcvNxt, end) < 0x40000000) this.noteDuplicate(t.seq, end);
      }
      // RFC 5961 4.2: a SYN is answered with a challenge ACK whatever its sequence number, and
      // challenge ACKs are rate-limited (section 7), so a SYN flood cannot make us reflect ACKs.
      if (f & TcpFlag.SYN) this.challengeAck(now);
      else this.ackNow = true;
      return;
    }
    this.lastRecvAt = now;
    this.kaProbes = 0;

    // Second: RST (RFC 5961 3.2: exact match resets, anything else in window gets a challenge ACK).
    if (f & TcpFlag.RST) {
      this.counters.rstReceived++;
      if (t.seq !== this.rcvNxt) {
        this.challengeAck(now);
        return;
      }
      switch (this.st) {
        case 'SYN-RECEIVED':
          this.enterClosed(
            this.passive
              ? new TcpError('connection-reset', 'reset during the handshake')
              : new TcpError('connection-refused', 'connection refused (RST)'),
            'reset',
          );
          return;
        case 'ESTABLISHED':
        case 'FIN-WAIT-1':
        case 'FIN-WAIT-2':
        case 'CLOSE-WAIT':
          this.enterClosed(new TcpError('connection-reset', 'connection reset by peer'), 'reset');
          return;
        case 'CLOSING':
        case 'LAST-ACK':
        case 'TIME-WAIT':
          this.enterClosed(null, 'reset');
          return;
        default:
          return;
      }
    }

    // Fourth: SYN (RFC 5961 4.2: challenge ACK whatever the sequence number).
    if (f & TcpFlag.SYN) {
      if (this.st === 'SYN-RECEIVED' && this.passive) {
        // 3.10.7.4 fourth: "return this connection to the LISTEN state" - the listener lives in the Host.
        this.enterClosed(new TcpError('connection-reset', 'unexpected SYN during the handshake'), 'syn-in-syn-received');
        return;
      }
      this.challengeAck(now);
      return;
    }

    // Fifth: ACK.
    if (!(f & TcpFlag.ACK)) {
      this.counters.ignoredSegments++;
      return;
    }
    // RFC 7323 4.3: remember the TSval of a segment that covers Last.ACK.sent.
    if (this.tsOk && ts !== null && seqLe(t.seq, this.lastAckSent) && (!this.haveTsRecent || seqGe(ts.tsVal, this.tsRecent))) {
      this.tsRecent = ts.tsVal;
      this.tsRecentAge = now;
      this.haveTsRecent = true;
    }
    if (this.st === 'SYN-RECEIVED') {
      if (seqLt(this.sndUna, t.ack) && seqLe(t.ack, this.sndNxt)) {
        this.sndWnd = this.scaleWnd(t.window);
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = t.seq;
        this.sndWl2 = t.ack;
        this.onNewAck(t.ack, ts?.tsEcr ?? null, now, true);
        this.setState('ESTABLISHED');
        this.pushEvent({ type: 'connected' });
        if (this.finQueued) this.setState('FIN-WAIT-1');
      } else {
        this.counters.ackForUnsentData++;
        this.queueCtl(t.ack, 0, TcpFlag.RST);
        return;
      }
    } else if (!this.processAck(seg, ts?.tsEcr ?? null, now)) {
      return;
    }
    // State-specific ACK consequences.
    const finAcked = this.finQueued && this.sndBuf.length === 0 && seqGt(this.sndUna, this.sndBufSeq);
    switch (this.st) {
      case 'FIN-WAIT-1':
        if (finAcked) this.setState('FIN-WAIT-2');
        break;
      case 'CLOSING':
        if (finAcked) this.enterTimeWait(now);
        return;
      case 'LAST-ACK':
        if (finAcked) this.enterClosed(null, 'last-ack acknowledged');
        return;
      case 'TIME-WAIT':
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        break;
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        return;
      default:
        assertNever(this.st);
    }
    // Sixth: URG. Seventh: text.
    this.processUrg(t);
    if (zeroWindowData) {
      this.ackNow = true;
      this.noteCe(seg.ecn);
      this.processFin(t, null, now);
      return;
    }
    this.processText(t, seg.ecn, now);
  }

  /** The fifth step for synchronized states: returns false when the segment was dropped. */
  private processAck(seg: SegmentIn, tsEcr: number | null, now: number): boolean {
    const t = seg.tcp;
    const ack = t.ack;
    // RFC 5961 5.2: acceptable ACKs are in [SND.UNA - MAX.SND.WND, SND.NXT]; the others are
    // dropped and answered with an ACK that counts as a challenge ACK (rate-limited, section 7).
    if (seqGt(ack, this.sndNxt)) {
      this.counters.ackForUnsentData++;
      this.challengeAck(now);
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      this.counters.ignoredSegments++;
      this.challengeAck(now);
      return false;
    }
    const flightBefore = seqSub(this.sndNxt, this.sndUna);
    const newSacked = this.sackOk ? this.processSack(t.options) : 0;
    const windowField = this.scaleWnd(t.window);
    if (seqGt(ack, this.sndUna)) {
      this.onNewAck(ack, tsEcr, now, false);
    } else if (ack === this.sndUna && flightBefore > 0 && t.payload.length === 0 && !(t.flags & (TcpFlag.SYN | TcpFlag.FIN))) {
      // RFC 5681 section 2 duplicate ACK (RFC 6675: or one carrying new SACK information).
      if (windowField === this.sndWnd || newSacked > 0) {
        this.dupAcks++;
        this.counters.dupAcks++;
        if (this.traceSink && this.recovery === null && !this.sackOk) this.trace('dupack', { dupAcks: this.dupAcks });
      }
    }
    // Window update (3.10.7.4 fifth, ESTABLISHED: SND.WL1 / SND.WL2 rule).
    if (seqLe(this.sndUna, ack) && (seqLt(this.sndWl1, t.seq) || (this.sndWl1 === t.seq && seqLe(this.sndWl2, ack)))) {
      const wasZero = this.sndWnd === 0;
      this.sndWnd = windowField;
      this.sndWl1 = t.seq;
      this.sndWl2 = ack;
      if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
      if (wasZero && this.sndWnd > 0) {
        this.timers.persist = null;
        this.persistBackoff = 0;
      }
    }
    if (this.sndWnd === 0) this.retries = 0; // 3.8.6.1: the peer answers our probes
    // RFC 3168 6.1.2: ECN-Echo reduces the window at most once per window of data.
    if (this.ecnOk && t.flags & TcpFlag.ECE && this.recovery === null && seqGe(this.sndUna, this.ecnRecoverSeq) && flightBefore > 0) {
      this.cc.onCongestionEvent('ecn', now, flightBefore);
      this.counters.ecnReductions++;
      this.cwrToSend = true;
      this.ecnRecoverSeq = this.sndNxt;
      this.trace('ecn', {});
    }
    this.detectLosses(now, tsEcr);
    return true;
  }

  /** SND.UNA advances to `ack` (3.10.7.4 fifth; RFC 6298 5.2/5.3; RFC 6582 / 6675 recovery). */
  private onNewAck(ack: number, tsEcr: number | null, now: number, handshake: boolean): void {
    const acked = seqSub(ack, this.sndUna);
    if (acked <= 0) return;
    const flightBefore = this.pipe();
    // Drop acknowledged data from the send buffer.
    const dataAcked = Math.min(Math.max(seqSub(ack, this.sndBufSeq), 0), this.sndBuf.length);
    if (dataAcked > 0) {
      this.sndBuf.consume(dataAcked);
      this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
      this.counters.bytesAcked += dataAcked;
    }
    this.sndUna = ack;
    this.retries = 0;
    if (this.sndUp !== null && seqGe(ack, this.sndUp)) this.sndUp = null;
    this.ackLog(ack, tsEcr, now);
    this.tlpFired = false;
    // RTT sample: timestamps (RFC 7323 4.1) or a timed segment (Karn: never a retransmitted one).
    let rtt: number | null = null;
    if (this.tsOk && tsEcr !== null && tsEcr !== 0) {
      const d = (this.tsNow(now) - tsEcr) >>> 0;
      if (d < 0x7fffffff && d <= this.cfg.maxRtoMs * 4) rtt = d;
    } else if (this.rttSeq !== null && seqGe(ack, this.rttSeq)) {
      rtt = Math.max(0, now - this.rttStart);
      this.rttSeq = null;
    }
    if (rtt !== null) this.rttSample(rtt);
    else if (handshake && this.srtt === null && this.counters.rtoCount > 0) {
      // RFC 6298 5.7: the SYN timed out and no sample exists: start data with an RTO of 3 s.
      this.rto = Math.min(3000, this.cfg.maxRtoMs);
    }
    // SACK scoreboard: drop what is now cumulatively acknowledged.
    this.trimScoreboard();
    // Loss recovery bookkeeping.
    if (this.recovery !== null) {
      if (seqGe(ack, this.recovery.point)) {
        const kind = this.recovery.kind;
        this.recovery = null;
        this.dupAcks = 0;
        if (kind === 'fast') this.cc.onRecoveryEnd(now);
        this.trace('recovery-end', { kind });
      } else {
        if (!this.sackOk && this.recovery.kind === 'fast') {
          this.dupAcks = Math.max(0, this.dupAcks - Math.ceil(acked / this.sndMssBase));
          // RFC 6582 3.2 step 5: a partial ACK retransmits the first unacknowledged segment at once.
          const head = this.txLog[this.txHead];
          if (head !== undefined && !head.lost) {
            this.setLost(head, true);
            this.rtxHeadNow = true;
          }
        }
        if (this.recovery.kind === 'rto') this.cc.onAck(acked, rtt, now, flightBefore, this.ackSeqInfo());
        if (this.traceSink) this.trace('partial-ack', { acked });
      }
    } else {
      this.dupAcks = 0;
      if (!handshake) this.cc.onAck(dataAcked, rtt, now, flightBefore, this.ackSeqInfo());
    }
    // RFC 6298 5.2 / 5.3.
    const outstanding = seqSub(this.sndNxt, this.sndUna);
    this.timers.rtx = outstanding > 0 ? now + this.rto : null;
    this.armTlp(now);
    this.utoStart = outstanding > 0 ? now : null;
    if (this.writeBlocked && this.canWrite() && this.sndBuf.free >= (this.sndBuf.capacity >>> 1)) {
      this.writeBlocked = false;
      this.pushEvent({ type: 'writable' });
    }
    if (!handshake && this.traceSink) this.trace('ack', { acked, rtt });
  }

  /** RFC 6298 section 2 (G = 1 ms). */
  private rttSample(r: number): void {
    if (this.srtt === null || this.rttvar === null) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.minRtt = this.minRtt === null ? r : Math.min(this.minRtt, r);
    this.rto = Math.min(this.cfg.maxRtoMs, Math.max(this.cfg.minRtoMs, this.srtt + Math.max(1, 4 * this.rttvar)));
  }

  /** Reads SACK blocks (RFC 2018) into the scoreboard; returns newly SACKed bytes. */
  private processSack(opts: readonly TcpOption[]): number {
    let added = 0;
    for (const o of opts) {
      if (o.kind !== 'sack') continue;
      for (const b of o.blocks) {
        const l = b.left >>> 0;
        const r = b.right >>> 0;
        if (!seqLt(l, r) || seqGt(r, this.sndNxt) || seqLt(l, seqAdd(this.sndUna, -this.maxSndWnd - 1))) {
          this.counters.invalidSackBlocks++;
          continue;
        }
        if (seqLe(r, this.sndUna)) continue; // D-SACK or stale: nothing new
        added += this.addSacked(seqMax(l, this.sndUna), r);
      }
    }
    return added;
  }

  private addSacked(l: number, r: number): number {
    const sb = this.scoreboard;
    let i = 0;
    while (i < sb.length && seqLt(sb[i][1], l)) i++;
    let j = i;
    let covered = 0;
    while (j < sb.length && seqLe(sb[j][0], r)) {
      covered += Math.max(0, seqSub(seqMin(sb[j][1], r), seqMax(sb[j][0], l)));
      j++;
    }
    const nl = i < j ? seqMin(l, sb[i][0]) : l;
    const nr = i < j ? seqMax(r, sb[j - 1][1]) : r;
    sb.splice(i, j - i, [nl, nr]);
    // Bounded: forget the highest ranges first (they are the least useful for recovery).
    while (sb.length > this.cfg.maxSackScoreboard) sb.pop();
    return Math.max(0, seqSub(r, l) - covered);
  }

  private trimScoreboard(): void {
    const sb = this.scoreboard;
    while (sb.length > 0 && seqLe(sb[0][1], this.sndUna)) sb.shift();
    if (sb.length > 0 && seqLt(sb[0][0], this.sndUna)) sb[0][0] = this.sndUna;
  }

  // ---- transmission log (RFC 6675 scoreboard per segment, RFC 8985 RACK) ----

  private recLen(r: TxRec): number {
    return seqSub(r.end, r.start);
  }
  private setSacked(r: TxRec, v: boolean): void {
    if (r.sacked === v) return;
    r.sacked = v;
    this.logSackedBytes += v ? this.recLen(r) : -this.recLen(r);
    if (v) this.pendUnlink(r);
    if (v && r.lost) this.setLost(r, false);
  }
  /**
   * An entry only becomes pending again through a (re)transmission (logSend), which re-links it;
   * clearing `sacked` / `lost` elsewhere happens only to entries that leave the log (ackLog) or
   * that are marked lost at once (RTO).
   */
  private setLost(r: TxRec, v: boolean): void {
    if (r.lost === v) return;
    r.lost = v;
    this.logLostBytes += v ? this.recLen(r) : -this.recLen(r);
    if (v) this.pendUnlink(r);
  }

  private pendUnlink(r: TxRec): void {
    if (!r.pending) return;
    if (r.tsPrev !== null) r.tsPrev.tsNext = r.tsNext;
    else this.pendHead = r.tsNext;
    if (r.tsNext !== null) r.tsNext.tsPrev = r.tsPrev;
    else this.pendTail = r.tsPrev;
    r.tsPrev = null;
    r.tsNext = null;
    r.pending = false;
  }

  /** Links r into the pending list after `after` (null: at the head). */
  private pendLinkAfter(r: TxRec, after: TxRec | null): void {
    r.tsPrev = after;
    r.tsNext = after === null ? this.pendHead : after.tsNext;
    if (r.tsNext !== null) r.tsNext.tsPrev = r;
    else this.pendTail = r;
    if (after !== null) after.tsNext = r;
    else this.pendHead = r;
    r.pending = true;
  }

  /**
   * Links a just (re)transmitted entry at its place by xmitTs: the tail, unless the driver's clock
   * went backwards (then the walk keeps the list ordered, at a cost only in that case).
   */
  private pendInsert(r: TxRec): void {
    if (r.pending || r.sacked || r.lost) return;
    let after = this.pendTail;
    while (after !== null && after.xmitTs > r.xmitTs) after = after.tsPrev;
    this.pendLinkAfter(r, after);
  }

  /** Logs a transmission of [seq, end): a new segment, or a retransmission of logged ones. */
  private logSend(seq: number, end: number, now: number, isRtx: boolean): void {
    if (!isRtx) {
      // Bound the log against floods of tiny segments (Nagle off, a tiny peer MSS): past a limit a
      // small send joins the previous untouched entry (up to one MSS), and past the hard cap any
      // send does. A merged entry is younger (xmitTs = now), so RACK only marks it lost later, and
      // it must be SACKed whole; a retransmission splits it again (splitRec).
      const live = this.txLog.length - this.txHead;
      if (live >= TX_LOG_COALESCE_FROM) {
        const last = this.txLog[this.txLog.length - 1];
        if (
          last.end === seq &&
          !last.retrans &&
          !last.sacked &&
          !last.lost &&
          (live >= this.txLogHardCap || seqSub(end, last.start) <= this.maxPayload())
        ) {
          last.end = end;
          // Younger now: move it to its new place in the pending list.
          this.pendUnlink(last);
          last.xmitTs = now;
          this.pendInsert(last);
          return;
        }
      }
      const rec: TxRec = { start: seq, end, xmitTs: now, retrans: false, sacked: false, lost: false, pending: false, tsPrev: null, tsNext: null };
      this.txLog.push(rec);
      this.pendInsert(rec);
      return;
    }
    for (let i = this.txHead; i < this.txLog.length; i++) {
      const r = this.txLog[i];
      if (!seqLt(r.start, end)) break;
      if (!seqGt(r.end, seq)) continue;
      this.pendUnlink(r);
      r.xmitTs = now;
      if (!r.retrans) {
        r.retrans = true;
        this.logRetransCount++;
      }
      this.setLost(r, false);
      this.pendInsert(r);
    }
  }

  /** Splits the record at index i so that it is at most `len` bytes long. */
  private splitRec(i: number, len: number): void {
    const r = this.txLog[i];
    if (this.recLen(r) <= len) return;
    const tail: TxRec = { ...r, start: seqAdd(r.start, len), pending: false, tsPrev: null, tsNext: null };
    // Counters are per byte, so they stay right when a record is cut in two.
    r.end = tail.start;
    if (tail.retrans) this.logRetransCount++;
    this.txLog.splice(i + 1, 0, tail);
    // Same xmitTs: the tail goes right after r in the pending list.
    if (r.pending) this.pendLinkAfter(tail, r);
  }

  /** RFC 8985 6.2 step 2: remember the most recently sent segment that was delivered. */
  private rackUpdate(r: TxRec, tsEcr: number | null, now: number): void {
    if (r.retrans) {
      // Ambiguous: the ACK may be for the original. Skip when it cannot be for the retransmission.
      if (this.tsOk && tsEcr !== null && seqLt(tsEcr, this.tsNow(r.xmitTs))) return;
      if (this.minRtt !== null && now - r.xmitTs < this.minRtt) return;
    } else if (seqLt(r.end, this.rackFack)) {
      this.reorderingSeen = true; // RFC 8985 6.2 step 3
    }
    if (seqGt(r.end, this.rackFack)) this.rackFack = r.end;
    this.rackRtt = now - r.xmitTs;
    if (r.xmitTs > this.rackXmitTs || (r.xmitTs === this.rackXmitTs && seqGt(r.end, this.rackEndSeq))) {
      this.rackXmitTs = r.xmitTs;
      this.rackEndSeq = r.end;
    }
  }

  /** Cumulative ACK: drop logged segments below SND.UNA. */
  private ackLog(ack: number, tsEcr: number | null, now: number): void {
    const log = this.txLog;
    while (this.txHead < log.length) {
      const r = log[this.txHead];
      if (seqLe(r.end, ack)) {
        if (!r.sacked) this.rackUpdate(r, tsEcr, now);
        this.pendUnlink(r);
        this.setSacked(r, false);
        this.setLost(r, false);
        if (r.retrans) this.logRetransCount--;
        this.txHead++;
        continue;
      }
      if (seqLt(r.start, ack)) {
        const cut = seqSub(ack, r.start);
        if (r.sacked) this.logSackedBytes -= cut;
        if (r.lost) this.logLostBytes -= cut;
        r.start = ack;
      }
      break;
    }
    if (this.txHead > 256 && this.txHead * 2 > log.length) {
      this.txLog = log.slice(this.txHead);
      this.txHead = 0;
    }
  }

  /** Marks logged segments covered by the SACK scoreboard. */
  private sackLog(tsEcr: number | null, now: number): void {
    const sb = this.scoreboard;
    if (sb.length === 0) return;
    let j = 0;
    for (let i = this.txHead; i < this.txLog.length; i++) {
      const r = this.txLog[i];
      while (j < sb.length && seqLe(sb[j][1], r.start)) j++;
      if (j >= sb.length) break;
      if (r.sacked) continue;
      if (seqLe(sb[j][0], r.start) && seqLe(r.end, sb[j][1])) {
        this.rackUpdate(r, tsEcr, now);
        this.setSacked(r, true);
      }
    }
  }

  /** RFC 6675 IsLost(): DupThresh discontiguous SACKed ranges or > (DupThresh-1)*SMSS SACKed above. */
  private markIsLost(): void {
    const sb = this.scoreboard;
    if (sb.length === 0) return;
    const mss = this.sndMssBase;
    let sackedAbove = 0;
    for (const [l, r] of sb) sackedAbove += seqSub(r, l);
    let blocksAbove = sb.length;
    let j = 0;
    for (let i = this.txHead; i < this.txLog.length; i++) {
      const r = this.txLog[i];
      while (j < sb.length && seqLe(sb[j][1], r.end)) {
        sackedAbove -= seqSub(sb[j][1], sb[j][0]);
        blocksAbove--;
        j++;
      }
      if (!(sackedAbove > 2 * mss || blocksAbove >= 3)) break;
      if (!r.sacked && !r.retrans && !r.lost) this.setLost(r, true);
    }
  }

  /** RFC 8985 6.2 step 5: segments sent before the last delivered one and older than RTT + reo_wnd are lost. */
  private rackDetectLoss(now: number): void {
    if (this.rackXmitTs === -Infinity) return;
    const minRtt = this.minRtt ?? 0;
    const reoWnd = this.reorderingSeen ? Math.min(minRtt / 4, this.srtt ?? Infinity) : this.recovery !== null ? 0 : minRtt / 4;
    let earliest = Infinity;
    // Only entries neither SACKed nor lost can be newly lost: walk the pending list (oldest
    // transmission first) and stop at the first one sent after the reference segment, since all
    // later ones were sent later still. The cost is the number of entries that are still waiting
    // for their RACK deadline or are marked lost now, not the size of the log.
    for (let r = this.pendHead; r !== null; ) {
      const next = r.tsNext;
      if (r.xmitTs > this.rackXmitTs) break;
      if (r.xmitTs < this.rackXmitTs || seqLt(r.end, this.rackEndSeq)) {
        const remaining = r.xmitTs + this.rackRtt + reoWnd - now;
        if (remaining <= 0) {
          this.setLost(r, true); // unlinks r
          this.counters.rackLosses++;
        } else if (remaining < earliest) earliest = remaining;
      }
      r = next;
    }
    this.timers.reorder = Number.isFinite(earliest) ? now + earliest : null;
  }

  /** After ACK / SACK information: mark losses (RFC 6675, RFC 8985) and start recovery if needed. */
  private detectLosses(now: number, tsEcr: number | null = null): void {
    if (this.sackOk) {
      this.sackLog(tsEcr, now);
      this.markIsLost();
      if (this.cfg.rack) this.rackDetectLoss(now);
    }
    this.maybeEnterRecovery(now);
  }

  /**
   * RFC 6675 SetPipe(): logged bytes neither SACKed nor marked lost (a retransmitted segment counts
   * once). Without SACK each duplicate ACK stands for one segment that left the network.
   */
  private pipe(): number {
    const outstanding = seqSub(this.sndNxt, this.sndUna);
    if (outstanding <= 0) return 0;
    let p = outstanding - this.logSackedBytes - this.logLostBytes;
    if (!this.sackOk) p -= Math.min(this.dupAcks * this.sndMssBase, Math.max(0, p - this.sndMssBase));
    return Math.max(0, p);
  }

  /** RFC 5681 3.2 / RFC 6675 5 / RFC 8985: enter fast recovery on a detected loss. */
  private maybeEnterRecovery(now: number): void {
    if (this.recovery !== null) return;
    if (seqSub(this.sndNxt, this.sndUna) <= 0) return;
    if (!(this.logLostBytes > 0 || this.dupAcks >= 3)) return;
    // RFC 6582 step 2: no new recovery (and window reduction) until SND.UNA passes "recover";
    // segments marked lost meanwhile are still retransmitted.
    if (!seqGe(this.sndUna, this.recoverSeq)) return;
    const flight = seqSub(this.sndNxt, this.sndUna);
    this.recovery = { kind: 'fast', point: this.sndNxt };
    this.recoverSeq = this.sndNxt;
    const head = this.txLog[this.txHead];
    if (head !== undefined && !head.sacked && !head.lost && !(this.sackOk && head.retrans)) this.setLost(head, true);
    this.rtxHeadNow = true;
    this.timers.tlp = null;
    this.counters.fastRecoveries++;
    if (this.sackOk) this.counters.sackRecoveries++;
    this.cc.onCongestionEvent('loss', now, flight);
    // An ECN reduction in the same window would double-count (RFC 3168 6.1.2).
    this.ecnRecoverSeq = this.sndNxt;
    this.trace('loss', { dupAcks: this.dupAcks, sacked: this.logSackedBytes, lost: this.logLostBytes });
  }

  /** RFC 8985 7.2: arm the probe timeout (PTO) when a tail loss could otherwise wait for the RTO. */
  private armTlp(now: number): void {
    const outstanding = seqSub(this.sndNxt, this.sndUna);
    if (!this.cfg.rack || !this.sackOk || this.recovery !== null || outstanding <= 0 || this.srtt === null || this.tlpFired) {
      this.timers.tlp = null;
      return;
    }
    let pto = Math.max(2 * this.srtt, 10);
    if (outstanding <= this.sndMssBase) pto += 200; // WCDelAckT: the receiver may delay its ACK
    const at = now + pto;
    this.timers.tlp = this.timers.rtx !== null && at >= this.timers.rtx ? null : at;
  }

  /** Seventh and eighth steps: segment text and FIN. */
  private processText(t: TcpRepr, ecn: number, now: number): void {
    if (t.flags & TcpFlag.CWR) this.eceToSend = false; // RFC 3168 6.1.3
    this.noteCe(ecn);
    const acceptsData = this.st === 'ESTABLISHED' || this.st === 'FIN-WAIT-1' || this.st === 'FIN-WAIT-2';
    // The first data octet follows the SYN, if any.
    const start = t.flags & TcpFlag.SYN ? seqAdd(t.seq, 1) : t.seq;
    let seq = start;
    let data = t.payload;
    if (data.length > 0 && acceptsData) {
      // Trim the front (already received) and the back (beyond the advertised window).
      const d = seqSub(this.rcvNxt, seq);
      if (d > 0) {
        this.noteDuplicate(seq, seqAdd(seq, Math.min(d, data.length)));
        data = d >= data.length ? EMPTY : data.subarray(d);
        seq = this.rcvNxt;
      }
      const off = seqSub(seq, this.rcvNxt);
      const wnd = Math.min(Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt)), this.rcvBuf.free);
      if (off + data.length > wnd) data = off >= wnd ? EMPTY : data.subarray(0, wnd - off);
      if (data.length > 0) {
        if (data.length > this.rcvMssEst) this.rcvMssEst = Math.min(data.length, this.cfg.mss);
        const hadOoo = this.rcvBuf.oooIntervals.length > 0;
        const adv = this.rcvBuf.insert(off, data);
        if (adv < 0) {
          this.counters.reassemblyDrops++;
          this.ackNow = true;
        } else if (adv > 0) {
          this.rcvNxt = seqAdd(this.rcvNxt, adv);
          this.counters.bytesReceived += adv;
          if (!this.readableQueued) this.pushEvent({ type: 'readable' });
          this.rcvBytesSinceAck += adv;
          // RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK at least every second full-sized segment,
          // immediately when a gap is filled, else within the delayed-ACK time.
          if (hadOoo || this.cfg.delayedAckMs === false || this.rcvBytesSinceAck >= 2 * this.rcvMssEst) this.ackNow = true;
          else if (this.timers.delack === null) this.timers.delack = now + this.cfg.delayedAckMs;
        } else {
          this.ackNow = true; // out of order: immediate duplicate ACK with SACK (RFC 5681 4.2)
        }
      } else {
        this.ackNow = true; // duplicate data
      }
    } else if (t.payload.length > 0) {
      this.ackNow = true;
    }
    this.processFin(t, seqAdd(start, t.payload.length), now);
  }

  /** Eighth step: FIN (also one remembered from an out-of-order segment). */
  private processFin(t: TcpRepr, finSeq: number | null, now: number): void {
    if (t.flags & TcpFlag.FIN && finSeq !== null && !this.finReceived) {
      const off = seqSub(finSeq, this.rcvNxt);
      const wnd = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
      if (off >= 0 && off <= wnd) this.rcvFinSeq = finSeq;
      else if (off < 0) this.ackNow = true;
    }
    if (this.rcvFinSeq === null || this.finReceived || this.rcvFinSeq !== this.rcvNxt) return;
    this.rcvFinSeq = null;
    this.finReceived = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackNow = true;
    this.pushEvent({ type: 'peer-closed' });
    switch (this.st) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.setState('CLOSE-WAIT');
        break;
      case 'FIN-WAIT-1': {
        const finAcked = this.finQueued && this.sndBuf.length === 0 && seqGt(this.sndUna, this.sndBufSeq);
        if (finAcked) this.enterTimeWait(now);
        else this.setState('CLOSING');
        break;
      }
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        break;
      case 'TIME-WAIT':
        this.timers.timeWait = now + this.cfg.timeWaitMs;
        break;
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        break;
      default:
        assertNever(this.st);
    }
  }

  /**
   * Sixth check (RFC 9293 3.10.7.4, 3.8.5 / RFC 6093: the pointer names the octet after the
   * urgent data): RCV.UP <- max(RCV.UP, SEG.UP) in ESTABLISHED and FIN-WAIT-1/2, and signal the
   * user once per run of urgent data that is ahead of what it has read. The data itself stays
   * in line (no out-of-band byte).
   */
  private processUrg(t: TcpRepr): void {
    if (!(t.flags & TcpFlag.URG)) return;
    if (this.st !== 'ESTABLISHED' && this.st !== 'FIN-WAIT-1' && this.st !== 'FIN-WAIT-2') return;
    const start = t.flags & TcpFlag.SYN ? seqAdd(t.seq, 1) : t.seq;
    const up = seqAdd(start, t.urgent & 0xffff);
    if (this.rcvUp === null || seqGt(up, this.rcvUp)) this.rcvUp = up;
    if (this.urgentBytes > 0 && !this.urgentSignaled) {
      this.urgentSignaled = true;
      this.pushEvent({ type: 'urgent' });
    }
  }

  /** RFC 2883 4: remember the duplicate range for the next ACK (only with SACK negotiated). */
  private noteDuplicate(left: number, right: number): void {
    if (this.sackOk && seqLt(left, right)) this.dsack = [left, right];
  }

  /** RFC 3168 6.1.3: a CE mark makes us set ECE on ACKs until a CWR arrives. */
  private noteCe(ecn: number): void {
    if (!this.ecnOk) return;
    if (ecn === 3) {
      this.counters.ecnCeReceived++;
      this.eceToSend = true;
      this.ackNow = true;
    }
  }

  private challengeAck(now: number): void {
    // RFC 5961 section 7: rate-limit challenge ACKs.
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.cfg.challengeAckPerSecond) {
      this.counters.challengeAcksSuppressed++;
      return;
    }
    this.challengeCount++;
    this.counters.challengeAcks++;
    this.queueCtl(this.sndNxt, this.rcvNxt, TcpFlag.ACK, true);
  }

  // =====================================================================================
  // Segment construction
  // =====================================================================================

  private emitSyn(now: number): SegmentOut {
    this.synToSend = false;
    const isSynAck = this.st === 'SYN-RECEIVED';
    const peer = this.synReceived ? summarizeSynOptions(this.synReceived.options) : null;
    const cfg = this.cfg;
    const wantWs = isSynAck ? this.ourWscale !== null && peer?.wscale !== null && peer?.wscale !== undefined : this.ourWscale !== null;
    const wantSack = cfg.sack && (!isSynAck || peer?.sackPermitted === true);
    const wantTs = cfg.timestamps && (!isSynAck || peer?.timestamps !== null);
    const { options, dropped } = buildSynOptions({
      mss: cfg.mss,
      sackPermitted: wantSack,
      timestamps: wantTs ? { tsVal: this.tsNow(now), tsEcr: isSynAck && peer?.timestamps ? peer.timestamps.tsVal : 0 } : null,
      wscale: wantWs ? this.ourWscale : null,
      userTimeoutSeconds: cfg.announceUserTimeout,
      extra: cfg.extraSynOptions,
    });
    this.counters.droppedSynOptions += dropped;
    let flags: number = TcpFlag.SYN;
    if (isSynAck) {
      flags |= TcpFlag.ACK;
      if (this.ecnOk) flags |= TcpFlag.ECE; // RFC 3168 6.1.1
    } else if (cfg.ecn) {
      flags |= TcpFlag.ECE | TcpFlag.CWR;
    }
    const window = Math.min(0xffff, this.windowToAdvertise());
    const tcp: TcpRepr = {
      srcPort: this.local.port,
      dstPort: this.remote.port,
      seq: this.iss,
      ack: isSynAck ? this.rcvNxt : 0,
      flags,
      window,
      urgent: 0,
      options,
      payload: EMPTY,
    };
    if (isSynAck) {
      this.rcvAdvRight = seqAdd(this.rcvNxt, window);
      this.lastAckSent = this.rcvNxt;
      this.ackNow = false;
    }
    const retransmission = this.synSent !== null;
    if (retransmission) {
      this.counters.retransmits++;
      this.rttSeq = null;
    } else {
      this.rttSeq = seqAdd(this.iss, 1);
      this.rttStart = now;
    }
    this.synSent = synRecord(tcp, 0);
    if (seqLt(this.sndNxt, seqAdd(this.iss, 1))) this.sndNxt = seqAdd(this.iss, 1);
    if (this.timers.rtx === null) this.timers.rtx = now + this.rto;
    this.counters.segmentsSent++;
    this.trace(isSynAck ? 'send-synack' : 'send-syn', { retransmission });
    return { tcp, ecn: 0 };
  }

  /** Retransmissions (RFC 6675 NextSeg), new data under Nagle / SWS rules, FIN, probes. */
  private emitData(now: number): SegmentOut | null {
    const maxSeg = this.maxPayload();
    // 1. Retransmission of segments marked lost (RFC 6675 NextSeg rule 1).
    if (this.logLostBytes > 0) {
      for (let i = this.txHead; i < this.txLog.length; i++) {
        const r = this.txLog[i];
        if (!r.lost) continue;
        this.splitRec(i, maxSeg);
        const len = this.recLen(r);
        if (!this.rtxHeadNow && this.pipe() + len > this.cc.window) return null;
        this.rtxHeadNow = false;
        if (this.recovery !== null && this.recovery.kind === 'fast') this.counters.fastRetransmits++;
        return this.emitRange(r.start, len, now);
      }
    }
    this.rtxHeadNow = false;
    const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const unsent = Math.max(0, seqSub(dataEnd, this.sndNxt));
    const outstanding = seqSub(this.sndNxt, this.sndUna);
    // RFC 8985 7.3: a tail loss probe: new data if the window allows, else the last segment again.
    if (this.tlpNow) {
      this.tlpNow = false;
      if (outstanding > 0) {
        const wnd = seqSub(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
        this.counters.tlpProbes++;
        this.trace('tlp', {});
        let seg: SegmentOut | null = null;
        if (unsent > 0 && wnd > 0) seg = this.emitRange(this.sndNxt, Math.min(unsent, maxSeg, wnd), now);
        else {
          for (let i = this.txLog.length - 1; i >= this.txHead; i--) {
            const r = this.txLog[i];
            if (r.sacked) continue;
            let tail = r;
            if (this.recLen(r) > maxSeg) {
              this.splitRec(i, this.recLen(r) - maxSeg);
              tail = this.txLog[i + 1];
            }
            seg = this.emitRange(tail.start, this.recLen(tail), now);
            break;
          }
        }
        this.timers.rtx = now + this.rto;
        if (seg !== null) return seg;
      }
    }
    // 2. New data.
    if (unsent > 0) {
      const wndAvail = seqSub(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      const cwndAvail = this.cc.window - this.pipe();
      let len = Math.min(unsent, maxSeg, wndAvail, cwndAvail);
      if (this.probeNow && outstanding === 0) {
        // Zero-window probe / SWS override (RFC 9293 3.8.6.1, 3.8.6.2.1).
        this.probeNow = false;
        len = Math.max(1, Math.min(unsent, maxSeg, Math.max(wndAvail, 0)));
        this.counters.zeroWindowProbes++;
        this.trace('probe', { len });
        return this.emitRange(this.sndNxt, len, now);
      }
      if (len > 0) {
        // Sender SWS avoidance + Nagle (RFC 9293 3.8.6.2.1, 3.7.4).
        const ok =
          len === maxSeg ||
          (len === unsent && (!this.nagle || outstanding === 0)) ||
          (this.maxSndWnd > 0 && len >= this.maxSndWnd / 2 && (!this.nagle || outstanding === 0));
        if (ok) return this.emitRange(this.sndNxt, len, now);
      }
      return null;
    }
    // 3. A FIN on its own once all data has gone out.
    if (this.finQueued && this.sndNxt === dataEnd && this.st !== 'SYN-RECEIVED') {
      return this.emitRange(this.sndNxt, 0, now);
    }
    this.probeNow = false;
    return null;
  }

  /** Emits sequence range [seq, seq+len) of data, plus FIN if it reaches it. */
  private emitRange(seq: number, len: number, now: number): SegmentOut {
    const off = seqSub(seq, this.sndBufSeq);
    const dataLen = Math.max(0, Math.min(len, this.sndBuf.length - off));
    const payload = dataLen > 0 ? this.sndBuf.view(off, dataLen) : EMPTY;
    const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const fin = this.finQueued && seqAdd(seq, dataLen) === dataEnd;
    const end = seqAdd(seq, dataLen + (fin ? 1 : 0));
    const isRtx = seqLt(seq, this.sndNxt);
    let flags: number = TcpFlag.ACK;
    if (fin) flags |= TcpFlag.FIN;
    if (dataLen > 0 && seqAdd(seq, dataLen) === dataEnd) flags |= TcpFlag.PSH;
    let ipEcn = 0;
    if (this.ecnOk && dataLen > 0 && !isRtx) {
      ipEcn = 2; // ECT(0); never on retransmissions (RFC 3168 6.1.5)
      if (this.cwrToSend) {
        flags |= TcpFlag.CWR;
        this.cwrToSend = false;
      }
    }
    if (isRtx) {
      this.counters.retransmits++;
      this.counters.bytesRetransmitted += dataLen;
      if (this.rttSeq !== null && seqLt(seq, this.rttSeq)) this.rttSeq = null; // Karn
      this.logSend(seq, seqMin(end, this.sndNxt), now, true);
      if (seqGt(end, this.sndNxt)) this.logSend(this.sndNxt, end, now, false);
    } else {
      this.logSend(seq, end, now, false);
    }
    if (seqGt(end, this.sndNxt)) {
      this.timers.persist = null;
      if (seqSub(this.sndNxt, this.sndUna) === 0) this.utoStart = now;
      if (this.rttSeq === null && !this.tsOk && !isRtx) {
        this.rttSeq = end;
        this.rttStart = now;
      }
      this.sndNxt = end;
    }
    this.counters.bytesSent += dataLen;
    this.cc.onPacketSent(dataLen, now);
    if (this.timers.rtx === null) this.timers.rtx = now + this.rto; // RFC 6298 5.1
    if (!isRtx) this.armTlp(now); // RFC 8985 7.2: (re)start the PTO after new data
    const out = this.finish(seq, flags, payload, now, ipEcn);
    if (this.traceSink) this.trace(isRtx ? 'retransmit' : 'send', { seq, len: dataLen, flags: tcpFlagsToString(out.tcp.flags) });
    return out;
  }

  private emitAck(now: number): SegmentOut {
    return this.finish(this.sndNxt, TcpFlag.ACK, EMPTY, now, 0);
  }

  /** Fills in ACK, window and options; clears pending-ACK state. */
  private finish(seq: number, flags: number, payload: Uint8Array, now: number, ipEcn: number): SegmentOut {
    const options = this.segmentOptions(now, true);
    this.dsack = null; // reported once (RFC 2883 4)
    if (this.eceToSend) flags |= TcpFlag.ECE;
    let urgent = 0;
    if (this.sndUp !== null && seqLt(seq, this.sndUp)) {
      // 3.8.5: every segment before SND.UP carries URG and the offset of SND.UP (capped at 16 bits).
      flags |= TcpFlag.URG;
      urgent = Math.min(0xffff, seqSub(this.sndUp, seq));
    }
    const wnd = this.windowToAdvertise();
    const field = Math.min(0xffff, wnd >>> this.rcvWscale);
    this.rcvAdvRight = seqMax(this.rcvAdvRight, seqAdd(this.rcvNxt, field << this.rcvWscale));
    this.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    this.timers.delack = null;
    this.rcvBytesSinceAck = 0;
    this.counters.segmentsSent++;
    return {
      tcp: {
        srcPort: this.local.port,
        dstPort: this.remote.port,
        seq,
        ack: this.rcvNxt,
        flags,
        window: field,
        urgent,
        options,
        payload,
      },
      ecn: ipEcn,
    };
  }

  /** Timestamps (NOP NOP TS) and SACK blocks (NOP NOP SACK, RFC 2018 section 4). */
  private segmentOptions(now: number, withSack: boolean): TcpOption[] {
    const iv = this.rcvBuf.oooIntervals;
    if (!(withSack && this.sackOk && (iv.length > 0 || this.dsack !== null))) {
      // The common case: timestamps only (or nothing). Reuse the last list while TSval and TSecr
      // are unchanged, so a burst of segments does not allocate one list each.
      if (!this.tsOk) return NO_OPTIONS;
      const tsVal = this.tsNow(now);
      const c = this.tsOptionsCache;
      if (c !== null && c.tsVal === tsVal && c.tsEcr === this.tsRecent) return c.list;
      const list = Object.freeze([NOP, NOP, Object.freeze({ kind: 'timestamps', tsVal, tsEcr: this.tsRecent })]) as unknown as TcpOption[];
      this.tsOptionsCache = { tsVal, tsEcr: this.tsRecent, list };
      return list;
    }
    const o: TcpOption[] = [];
    if (this.tsOk) o.push(NOP, NOP, { kind: 'timestamps', tsVal: this.tsNow(now), tsEcr: this.tsRecent });
    const max = this.tsOk ? 3 : 4;
    const blocks: SackBlock[] = [];
    // RFC 2883 4: a D-SACK block goes first; then (RFC 2018 4) the block holding the most recent
    // segment, then the others from the lowest.
    const dup = this.dsack;
    if (dup !== null) blocks.push({ left: dup[0], right: dup[1] });
    const first = this.rcvBuf.lastOooFrom;
    for (const [a, b] of iv) {
      if (a === first) blocks.push({ left: seqAdd(this.rcvNxt, a), right: seqAdd(this.rcvNxt, b) });
    }
    for (const [a, b] of iv) {
      if (blocks.length >= max) break;
      if (a !== first) blocks.push({ left: seqAdd(this.rcvNxt, a), right: seqAdd(this.rcvNxt, b) });
    }
    o.push(NOP, NOP, { kind: 'sack', blocks });
    return o;
  }

  /** Largest payload of a data segment (effective send MSS minus the fixed option space). */
  private maxPayload(): number {
    let opt = this.tsOk ? 12 : 0;
    const blocks = this.sackOk ? this.rcvBuf.oooIntervals.length + (this.dsack !== null ? 1 : 0) : 0;
    if (blocks > 0) opt += 4 + 8 * Math.min(blocks, this.tsOk ? 3 : 4);
    return Math.max(1, this.sndMssBase - opt);
  }

  /** The receive window to advertise, with receiver SWS avoidance (RFC 9293 3.8.6.2.2). */
  private windowToAdvertise(): number {
    const maxWnd = 0xffff * 2 ** this.rcvWscale;
    const avail = Math.min(this.rcvBuf.free, maxWnd);
    const cur = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
    if (avail <= cur) return cur;
    const threshold = Math.min(this.cfg.recvBufferBytes >>> 1, this.rcvMssEst);
    return avail - cur >= threshold ? avail : cur;
  }

  private queueCtl(seq: number, ack: number, flags: number, withOptions = false): void {
    // Bounded: a peer that makes us answer faster than the driver polls (challenge ACKs, RSTs,
    // window updates) must not grow this queue; the excess is dropped and counted.
    if (this.ctlQueue.length >= CTL_QUEUE_MAX) {
      this.counters.controlSegmentsDropped++;
      return;
    }
    const options = withOptions ? this.segmentOptions(this.now, false) : NO_OPTIONS;
    if (flags & TcpFlag.ACK && withOptions) {
      this.lastAckSent = this.rcvNxt;
    }
    const window = flags & TcpFlag.RST ? 0 : Math.min(0xffff, this.windowToAdvertise() >>> this.rcvWscale);
    this.counters.segmentsSent++;
    this.ctlQueue.push({
      tcp: { srcPort: this.local.port, dstPort: this.remote.port, seq: seq >>> 0, ack: ack >>> 0, flags, window, urgent: 0, options, payload: EMPTY },
      ecn: 0,
    });
  }

  private updatePersist(now: number): void {
    const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const unsent = seqSub(dataEnd, this.sndNxt);
    if (unsent > 0 && this.sndNxt === this.sndUna && !this.probeNow) {
      if (this.timers.persist === null) {
        const base = Math.max(this.rto, this.cfg.minRtoMs);
        this.timers.persist = now + Math.min(this.cfg.maxRtoMs, base * 2 ** Math.min(this.persistBackoff, 16));
      }
    } else {
      this.timers.persist = null;
    }
  }

  // =====================================================================================
  // Helpers
  // =====================================================================================

  private negotiate(s: SynOptionSummary, now: number): void {
    const cfg = this.cfg;
    const peerMss = s.mss ?? (this.ipv6 ? 1220 : 536);
    // Hostile or broken values are bounded and counted, never obeyed (RFC 7323 2.3; MSS floor).
    if (peerMss < MIN_SND_MSS) this.counters.clampedSynOptions++;
    if (s.wscale !== null && s.wscale > MAX_WSCALE) this.counters.clampedSynOptions++;
    this.sndMssBase = Math.max(MIN_SND_MSS, Math.min(peerMss, cfg.mss));
    this.cc.setMss(this.sndMssBase);
    // Re-create the controller so the initial window follows the real MSS (RFC 6928).
    if (this.counters.bytesSent === 0) {
      this.cc = createCongestionController(cfg.congestionControl, { mss: this.sndMssBase, params: cfg.congestionParams });
    }
    // RFC 7323 2.2: scaling only when both sides sent the option.
    if (this.ourWscale !== null && s.wscale !== null) {
      this.sndWscale = Math.min(MAX_WSCALE, s.wscale);
      this.rcvWscale = this.ourWscale;
    } else {
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    this.sackOk = cfg.sack && s.sackPermitted;
    this.tsOk = cfg.timestamps && s.timestamps !== null;
    if (this.tsOk && s.timestamps) {
      this.tsRecent = s.timestamps.tsVal;
      this.tsRecentAge = now;
      this.haveTsRecent = true;
    }
    if (s.userTimeoutMs !== null) {
      this.peerUtoSeconds = Math.round(s.userTimeoutMs / 1000);
      // RFC 5482 3: U_LIMIT <= peer's value <= L_LIMIT bounds, only if the application allows it.
      if (cfg.acceptPeerUserTimeout && cfg.userTimeoutMs === null) {
        this.userTimeoutMs = Math.min(cfg.userTimeoutUpperMs, Math.max(cfg.userTimeoutLowerMs, s.userTimeoutMs));
      }
    }
  }

  private scaleWnd(field: number): number {
    return field * 2 ** this.sndWscale;
  }

  private tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  private isSynchronized(): boolean {
    switch (this.st) {
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        return false;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        return true;
      default:
        return assertNever(this.st);
    }
  }

  private enterTimeWait(now: number): void {
    this.setState('TIME-WAIT');
    this.timers.rtx = null;
    this.timers.persist = null;
    this.timers.tlp = null;
    this.timers.reorder = null;
    this.utoStart = null;
    this.timers.timeWait = now + this.cfg.timeWaitMs;
    this.rcvBuf.release(); // frees the storage if the application has read everything
  }

  private enterClosed(error: TcpError | null, why: string): void {
    if (this.st !== 'CLOSED') this.setState('CLOSED', why);
    for (const k of TIMER_NAMES) this.timers[k] = null;
    this.utoStart = null;
    this.synToSend = false;
    this.ackNow = false;
    this.rcvBuf.clearOoo();
    this.rcvBuf.release();
    if (!this.closedEmitted) {
      this.closedEmitted = true;
      this.pushEvent({ type: 'closed', error });
    }
  }

  private setState(s: TcpState, why?: string): void {
    const from = this.st;
    this.st = s;
    if (this.traceSink) this.trace('state', { from, to: s, why });
  }

  private pushEvent(e: TcpEvent): void {
    if (e.type === 'readable') {
      if (this.readableQueued) return;
      this.readableQueued = true;
    }
    if (e.type === 'writable') {
      if (this.writableQueued) return;
      this.writableQueued = true;
    }
    this.events.push(e);
  }

  private countOptions(opts: readonly TcpOption[]): void {
    for (const o of opts) {
      if (o.kind === 'unknown' || o.kind === 'experimental') this.unknownOptions[o.code] = (this.unknownOptions[o.code] ?? 0) + 1;
      else if (o.kind === 'fastOpen') this.unknownOptions[34] = (this.unknownOptions[34] ?? 0) + 1;
    }
  }

  private trace(event: string, extra: Record<string, unknown>): void {
    const sink = this.traceSink;
    if (!sink) return;
    sink({
      t: this.now,
      event,
      state: this.st,
      cwnd: this.cc.window,
      ssthresh: this.cc.ssthresh,
      srtt: this.srtt,
      inflight: this.pipe(),
      sndUna: this.sndUna,
      sndNxt: this.sndNxt,
      cc: this.cc.name,
      ...this.cc.traceState(),
      ...extra,
    });
  }

  // =====================================================================================
  // Introspection
  // =====================================================================================

  negotiated(): NegotiatedParams {
    return {
      mss: this.sndMssBase,
      sndWscale: this.sndWscale,
      rcvWscale: this.rcvWscale,
      sack: this.sackOk,
      timestamps: this.tsOk,
      ecn: this.ecnOk,
      userTimeout: this.userTimeoutMs,
      peerUserTimeoutSeconds: this.peerUtoSeconds,
    };
  }

  private ackSeqInfo(): AckSequenceInfo {
    this.seqInfo.sndUna = this.sndUna;
    this.seqInfo.sndNxt = this.sndNxt;
    return this.seqInfo;
  }

  stats(): TcpStats {
    const c = this.counters;
    return {
      state: this.st,
      srtt: this.srtt,
      rttvar: this.rttvar,
      rto: this.rto,
      minRtt: this.minRtt,
      cwnd: this.cc.window,
      ssthresh: this.cc.ssthresh,
      congestionControl: this.cc.name,
      bytesInFlight: this.pipe(),
      sndWnd: this.sndWnd,
      rcvWnd: Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt)),
      ...c,
      txLogEntries: this.txLog.length - this.txHead,
      unknownOptions: { ...this.unknownOptions },
      negotiated: this.negotiated(),
    };
  }

  synInfo(): { sent: SynRecord | null; received: SynRecord | null } {
    return { sent: this.synSent, received: this.synReceived };
  }
}

function segLength(t: TcpRepr): number {
  return t.payload.length + (t.flags & TcpFlag.SYN ? 1 : 0) + (t.flags & TcpFlag.FIN ? 1 : 0);
}

function findTimestamps(opts: readonly TcpOption[]): { tsVal: number; tsEcr: number } | null {
  for (const o of opts) if (o.kind === 'timestamps') return o;
  return null;
}

function synRecord(t: TcpRepr, ipEcn: number): SynRecord {
  return { flags: t.flags, seq: t.seq, window: t.window, options: t.options.map(ownOption), ecnFlags: t.flags & FLAG_ECE_CWR, ipEcn };
}

/**
 * An option whose byte fields (unknown/experimental data, a Fast Open cookie, EOL padding) are
 * copies: the parsed ones are views of the received packet, which a link may carve out of a large
 * receive slab, so a kept view could pin far more memory than the option's few bytes.
 */
function ownOption(o: TcpOption): TcpOption {
  let copy: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(o)) {
    if (v instanceof Uint8Array) {
      copy ??= { ...o };
      copy[k] = v.slice();
    }
  }
  return (copy ?? o) as TcpOption;
}

function clampInt(v: number, lo: number, hi: number): number {
  if (!Number.isFinite(v)) return lo;
  return Math.min(hi, Math.max(lo, Math.floor(v)));
}

export type { TcpErrorCode };
