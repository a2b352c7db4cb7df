/**
 * TcplsEndpoint: the synchronous driver core that runs one TCPLS session over the real TLS 1.3 engine
 * (packages/tls) and one TCP byte transport. It is not an engine (it touches a transport), but it owns
 * no timer and no clock of its own: time comes from the injected `now()`, and all work happens in
 * `pump()`, which the transport's events and the API calls trigger. The same code therefore runs
 * bit-for-bit on the simulator's virtual clock (HostConnection on a SimHost), over a raw-socket Host in
 * real time, and over a Linux TCP socket (node:net).
 *
 * Negotiation (draft-piraux-tcpls-04 §3): the client offers the `tcpls` extension; when the server
 * echoes it in EncryptedExtensions both sides attach the session to connection 0. Otherwise both
 * carry on as plain TLS 1.3 (`mode === 'tls'`): application data is then handed to `onPlainData`.
 */
import { TlsClient, TlsError, TlsServer, type CertificateVerifier, type CryptoProvider, type HandshakeInfo, type PrivateKey, nodeCrypto } from '@tcpls/tls';
import type { ChannelClose, RecordChannel, TcpControl } from '../interfaces.js';
import { type ApplyPolicy, type SessionStats, type TcplsEvent, type TcplsSessionOptions, type TcplsStream, TcplsSession } from '../session.js';
import type { OptionDifference } from '../options-check.js';
import type { TcpSetting } from '../frames.js';
import { type AlertErrorFactory, TlsRecordChannel, clientTcplsExtensions, serverTcplsExtensions } from '../tls-glue.js';
import type { TcplsProfile } from '../profile.js';
import { type JsonTrace, jsonSafe } from './trace.js';

/** The TLS engine's error for an alert name (for the tls-glue hooks). */
export const tlsAlertError: AlertErrorFactory = (alert, msg) =>
  new TlsError(alert.replace(/_/g, '-') as ConstructorParameters<typeof TlsError>[0], msg);

/** One TCP connection seen as a byte pipe. */
export interface ByteTransport {
  /** 'user': our TCP (a Host's connection); 'kernel': a Linux socket. */
  readonly kind: 'user' | 'kernel';
  /** Queues bytes; returns how many were accepted (the rest is retried on the next pump). */
  write(data: Uint8Array): number;
  /** Takes received bytes, or null when none are buffered. */
  read(): Uint8Array | null;
  /** Sends FIN after the queued data. */
  shutdown(): void;
  /** Resets the connection. */
  abort(): void;
}

export interface EndpointTlsOptions {
  provider?: CryptoProvider;
  /** Client: SNI and the name checked against the certificate. */
  serverName?: string;
  /** Client: certificate verifier; null accepts any chain (still checks CertificateVerify). */
  verifier?: CertificateVerifier | null;
  /** Server: chain (DER, leaf first) and key. */
  certificateChain?: Uint8Array[];
  privateKey?: PrivateKey;
  /** Offer / accept TCPLS (default true). false = a plain TLS 1.3 peer, for fallback tests. */
  tcpls?: boolean;
}

export interface EndpointOptions {
  role: 'client' | 'server';
  transport: ByteTransport;
  /** Our TCP's control handle (synInfo, user timeout, congestion controller); absent for kernel TCP. */
  tcp?: TcpControl;
  /** Session clock (ms): the Host's clock (virtual on the simulator). */
  now: () => number;
  /** Wall clock for TLS (certificate validity) and the session [Date.now]; on a simulator, anchor it to the virtual clock. */
  wallNow?: () => number;
  random: (n: number) => Uint8Array;
  tls: EndpointTlsOptions;
  policy?: ApplyPolicy;
  profile?: TcplsProfile;
  tokensInAdvance?: number;
  /** JSON-lines trace sink. */
  trace?: JsonTrace;
  /** Connection id used in trace records. */
  label?: string;
  /** Statistics of the TCP connection under the session (our TCP's stats(), or what the kernel tells). */
  tcpStats?: () => unknown;
  /** Fields of the TCP-options cross-check this transport cannot see (kernel TCP). */
  unseenFields?: readonly string[];
  /**
   * Real-time links: how to defer a pump (e.g. queueMicrotask), so that a burst of packets drained
   * in one event-loop turn costs one pump instead of one per packet. Absent: pump at once (the
   * simulator, where everything must stay synchronous).
   */
  defer?: (fn: () => void) => void;
  /**
   * Arms a one-shot timer for the absolute time `atMs` on the `now()` clock (the Host's clock,
   * virtual on the simulator; setTimeout on Linux sockets). The session's delayed record ACKs (§3.3 of
   * docs/wire-format.md) go out when it fires. Absent: delayed ACKs wait for the next record or
   * for the ACK threshold.
   */
  timer?: (atMs: number, fn: () => void) => { cancel(): void };
  /** Session tuning: receive window per stream, ACK policy (see TcplsSessionOptions). */
  session?: Pick<TcplsSessionOptions, 'receiveWindow' | 'ackEveryRecords' | 'maxAckDelay' | 'sendBufferLimit'>;
}

export interface EndpointStats {
  mode: EndpointMode;
  tcpls: boolean;
  handshake: { suite: string; group: string | null; serverName: string | null; peerVerified: boolean } | null;
  session: SessionStats;
  /** Differences of connection 0 (null: no comparison was possible, e.g. kernel TCP). */
  optionDifferences: OptionDifference[] | null;
  /** Settings the peer made us apply. */
  applied: TcpSetting[];
  tcp: unknown;
  /** Cross-check fields this transport cannot see (kernel TCP); empty for our TCP. */
  unseenFields: readonly string[];
}

export type EndpointMode = 'handshake' | 'tcpls' | 'tls' | 'closed';

export interface EndpointHandlers {
  /** TLS finished; `mode` says whether TCPLS was negotiated. */
  onReady?(mode: 'tcpls' | 'tls', info: HandshakeInfo): void;
  onSessionEvent?(ev: TcplsEvent): void;
  /** Plain-TLS fallback: application data. */
  onPlainData?(data: Uint8Array): void;
  /** Plain-TLS fallback: the peer's close_notify. */
  onPlainEnd?(): void;
  /** After each pump (streams waiting for room retry here). */
  onPumped?(): void;
  /** Everything is over (TLS closed or failed, or the transport ended). */
  onClosed?(error: Error | null): void;
}

/** Bytes of TLS output we queue beyond what TCP accepted before stream data waits (backpressure). */
const OUT_QUEUE_LIMIT = 256 * 1024;
/** A full TLS record on the wire: 2^14 bytes of plaintext, content type, tag and header. */
const FULL_RECORD = 16384 + 22;

export class TcplsEndpoint {
  readonly role: 'client' | 'server';
  readonly session: TcplsSession;
  readonly tls: TlsClient | TlsServer;
  readonly transport: ByteTransport;
  readonly tcp: TcpControl | undefined;
  handlers: EndpointHandlers = {};
  mode: EndpointMode = 'handshake';
  handshakeInfo: HandshakeInfo | null = null;
  error: Error | null = null;

  private readonly channel: TlsRecordChannel;
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private readonly traceSink: JsonTrace | undefined;
  private readonly label: string;
  private readonly negotiated: () => boolean;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private pumping = false;
  private again = false;
  private started = false;
  private shutdownWanted = false;
  private shutdownDone = false;
  private transportEnded = false;
  private closedSignalled = false;
  private tlsClosed = false;
  private readonly tcpStatsFn: (() => unknown) | undefined;
  private readonly deferFn: ((fn: () => void) => void) | undefined;
  private pumpQueued = false;
  private readonly unseen: readonly string[];
  private readonly timerFn: EndpointOptions['timer'];
  private armed: { at: number; handle: { cancel(): void } } | null = null;

  constructor(opts: EndpointOptions) {
    this.role = opts.role;
    this.transport = opts.transport;
    this.tcp = opts.tcp;
    this.now = opts.now;
    this.wallNow = opts.wallNow ?? Date.now;
    this.traceSink = opts.trace;
    this.label = opts.label ?? opts.role;
    this.tcpStatsFn = opts.tcpStats;
    this.deferFn = opts.defer;
    this.unseen = opts.unseenFields ?? [];
    this.timerFn = opts.timer;
    this.session = new TcplsSession({
      ...opts.session,
      role: opts.role,
      random: opts.random,
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
      ...(opts.tokensInAdvance !== undefined ? { tokensInAdvance: opts.tokensInAdvance } : {}),
    });
    const offer = opts.tls.tcpls !== false;
    const provider = opts.tls.provider ?? nodeCrypto;
    if (opts.role === 'client') {
      const cx = clientTcplsExtensions(tlsAlertError, opts.profile);
      this.negotiated = () => cx.result().negotiated;
      this.tls = new TlsClient({
        provider,
        random: opts.random,
        serverName: opts.tls.serverName,
        verifier: opts.tls.verifier ?? null,
        customExtensions: offer ? cx.extensions : [],
      });
    } else {
      if (!opts.tls.certificateChain || !opts.tls.privateKey) throw new Error('a TCPLS server needs a certificate chain and a private key');
      const sx = serverTcplsExtensions(tlsAlertError, () => this.session.serverExtensionToken(), opts.profile);
      this.negotiated = () => sx.result().negotiated;
      this.tls = new TlsServer({
        provider,
        random: opts.random,
        certificateChain: opts.tls.certificateChain,
        privateKey: opts.tls.privateKey,
        tickets: 0,
        customExtensions: offer ? sx.extensions : [],
      });
    }
    this.channel = new TlsRecordChannel({
      tls: this.tls,
      makeError: tlsAlertError,
      onTlsEvent: (e) => this.onTlsEvent(e as { type: string }),
      onClose: (how) => this.onChannelClose(how),
      sessionNow: this.now,
    });
  }

  /** Connection's transport is up: the client sends its ClientHello. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.trace('tcp-connected', {});
    if (this.role === 'client') (this.tls as TlsClient).start(this.wallNow());
    this.pump();
  }

  /** The transport will deliver no more bytes (peer FIN or connection closed). */
  transportClosed(error: Error | null): void {
    if (this.transportEnded) return;
    this.transportEnded = true;
    this.pump();
    if (this.mode === 'tcpls' && !this.session.closed) this.session.connectionClosed(0);
    if (error && !this.error) this.error = error;
    this.trace('tcp-closed', { error: error ? error.message : null });
    this.finish(error);
  }

  /** Plain-TLS fallback: sends application data. */
  writePlain(data: Uint8Array): void {
    if (this.mode !== 'tls') throw new Error('writePlain: the connection is not in plain TLS mode');
    for (let i = 0; i < data.length; i += 16384) this.tls.write(data.subarray(i, Math.min(data.length, i + 16384)), this.wallNow());
    this.pump();
  }

  /** Plain-TLS fallback: close_notify then FIN. */
  endPlain(): void {
    if (this.mode !== 'tls') return;
    this.tls.close();
    this.shutdownWanted = true;
    this.pump();
  }

  /** Graceful close: TCPLS close (streams' FINs, close_notify) or plain TLS close_notify. */
  close(): void {
    if (this.mode === 'closed') return;
    if (this.mode === 'tcpls') this.session.close();
    else if (this.mode === 'tls') this.endPlain();
    else {
      this.shutdownWanted = true;
      this.transport.abort();
    }
    this.pump();
  }

  /** Opens a stream (TCPLS mode); writes, ends and reads on the handle pump the endpoint. */
  openStream(): TcplsStream {
    return this.wrapStream(this.session.openStream());
  }

  /** The handle of an open stream (e.g. after a stream-opened event), pumping like openStream's. */
  stream(id: number): TcplsStream | undefined {
    const s = this.session.stream(id);
    return s ? this.wrapStream(s) : undefined;
  }

  /** Asks the peer to apply a TCP setting to its side of connection 0; returns the request id. */
  requestOption(setting: TcpSetting, connection = 0): number {
    const id = this.session.requestOption(connection, setting);
    this.trace('option-requested', { requestId: id, connection, setting });
    this.pump();
    return id;
  }

  stats(): EndpointStats {
    const session = this.session.stats();
    const c0 = session.connections.find((c) => c.id === 0);
    const info = this.handshakeInfo;
    return {
      mode: this.mode,
      tcpls: this.negotiated(),
      handshake: info ? { suite: info.suite, group: info.group, serverName: info.serverName, peerVerified: info.peerVerified } : null,
      session,
      optionDifferences: c0?.differences ?? null,
      applied: c0?.applied ?? [],
      tcp: this.tcpStatsFn?.() ?? null,
      unseenFields: this.unseen,
    };
  }

  private wrapStream(s: TcplsStream): TcplsStream {
    const ep = this;
    return {
      id: s.id,
      write(data) {
        const n = s.write(data);
        // Only a write that queued something has anything to flush (a 0-byte write pumping would
        // make writers that retry from onPumped spin).
        if (n > 0) ep.pump();
        return n;
      },
      end() {
        s.end();
        ep.pump();
      },
      read(max) {
        const d = s.read(max);
        if (d) ep.pump();
        return d;
      },
      get readable() {
        return s.readable;
      },
      get readableEnded() {
        return s.readableEnded;
      },
      get writableEnded() {
        return s.writableEnded;
      },
      get sendCredit() {
        return s.sendCredit;
      },
      get queued() {
        return s.queued;
      },
    };
  }

  /** Bytes queued for the transport that it has not taken yet. */
  get queuedOutput(): number {
    return this.outBytes;
  }

  /** Transport activity: pump now, or once per event-loop turn when a `defer` was given. */
  schedulePump(): void {
    if (!this.deferFn) {
      this.pump();
      return;
    }
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    this.deferFn(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Moves bytes and records until nothing moves. Re-entrant calls are folded into the running one. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      for (let round = 0; round < 10_000; round++) {
        this.again = false;
        let moved = false;
        // TLS judges certificate validity by the wall clock; the session (Ping RTTs, delayed-ACK
        // deadlines) runs on the driver's clock, virtual on the simulator, so a simulated run
        // never depends on Date.now() and replays exactly.
        const now = this.wallNow();
        for (let d = this.transport.read(); d; d = this.transport.read()) {
          moved = true;
          this.inbound(d, now);
        }
        if (this.mode === 'tcpls' && !this.session.closed) this.session.flush(this.now());
        for (let ev = this.session.pollEvent(); ev; ev = this.session.pollEvent()) {
          moved = true;
          this.traceSessionEvent(ev);
          this.handlers.onSessionEvent?.(ev);
        }
        if (this.collectTls()) moved = true;
        if (this.writeOut()) moved = true;
        if (this.shutdownWanted && !this.shutdownDone && this.outBytes === 0) {
          this.shutdownDone = true;
          this.transport.shutdown();
        }
        this.handlers.onPumped?.();
        if (!moved && !this.again) break;
      }
    } finally {
      this.pumping = false;
    }
    this.armTimer();
    if (this.tlsClosed) this.finish(this.error);
  }

  /** One timer for the session's next deadline (delayed ACKs); re-armed only when it moves. */
  private armTimer(): void {
    if (!this.timerFn) return;
    const at = this.mode === 'tcpls' && !this.session.closed ? this.session.nextTimeout() : null;
    if (this.armed && this.armed.at === at) return;
    this.armed?.handle.cancel();
    this.armed = null;
    if (at === null) return;
    const handle = this.timerFn(at, () => {
      this.armed = null;
      this.pump();
    });
    this.armed = { at, handle };
  }

  /** TCP bytes to the TLS channel, which hands TLS whole records (tls-glue.ts). */
  private inbound(d: Uint8Array, now: number): void {
    this.channel.receiveBytes(d, now);
  }

  private collectTls(): boolean {
    let moved = false;
    for (let o = this.tls.pollOutput(); o; o = this.tls.pollOutput()) {
      moved = true;
      this.out.push(o);
      this.outBytes += o.length;
    }
    return moved;
  }

  private writeOut(): boolean {
    let moved = false;
    while (this.out.length > 0 && !this.shutdownDone) {
      const head = this.out[0];
      const n = this.transport.write(head);
      if (n > 0) moved = true;
      this.outBytes -= n;
      if (n === head.length) this.out.shift();
      else {
        this.out[0] = head.subarray(n);
        break;
      }
    }
    return moved;
  }

  private onTlsEvent(e: { type: string }): void {
    switch (e.type) {
      case 'handshake-done': {
        const info = (e as { type: 'handshake-done'; info: HandshakeInfo }).info;
        this.handshakeInfo = info;
        const tcpls = this.negotiated();
        this.mode = tcpls ? 'tcpls' : 'tls';
        this.trace('tls-handshake-done', { suite: info.suite, group: info.group, tcpls, serverName: info.serverName });
        if (tcpls) {
          this.channel.attach(this.session, 0);
          this.session.addConnection(0, this.sessionChannel(), this.tcp);
        }
        this.handlers.onReady?.(this.mode, info);
        return;
      }
      case 'data':
        this.handlers.onPlainData?.((e as { type: 'data'; data: Uint8Array }).data);
        return;
      case 'close-notify':
        this.trace('tls-close-notify', {});
        if (this.mode === 'tls') {
          this.handlers.onPlainEnd?.();
          this.tls.close();
          this.shutdownWanted = true;
        }
        this.tlsClosed = true;
        return;
      case 'error': {
        const err = (e as { type: 'error'; error: Error }).error;
        this.trace('tls-error', { error: err.message });
        if (!this.error) this.error = err;
        this.shutdownWanted = true;
        this.tlsClosed = true;
        return;
      }
      default:
        return;
    }
  }

  /** The session's view of connection 0: the TLS channel plus room in our output queue. */
  private sessionChannel(): RecordChannel {
    const ch = this.channel;
    return {
      get maxPlaintext() {
        return ch.maxPlaintext;
      },
      sendRecord: (p) => {
        const seq = ch.sendRecord(p);
        this.collectTls();
        return seq;
      },
      // While bytes are still queued (so room will come back when TCP takes them), report no room
      // rather than a sliver: a record costs one AEAD call whatever its size, so stream data goes
      // in full 16 KiB records instead of filling the last few hundred bytes of the queue.
      sendCapacity: () => {
        const room = OUT_QUEUE_LIMIT - this.outBytes;
        return this.outBytes > 0 && room < FULL_RECORD ? 0 : Math.max(0, room);
      },
      close: (how) => ch.close(how),
    };
  }

  private onChannelClose(how: ChannelClose): void {
    this.trace('connection-close', { how: how.kind, ...(how.kind === 'alert' ? { alert: how.alert } : {}) });
    if (how.kind === 'alert' && !this.error) this.error = this.session.closeError ?? new Error(`TCPLS alert ${how.alert}`);
    this.shutdownWanted = true;
    this.tlsClosed = true;
  }

  private finish(error: Error | null): void {
    if (this.closedSignalled) return;
    if (!this.transportEnded && !(this.tlsClosed && this.shutdownDone)) return;
    this.closedSignalled = true;
    this.mode = 'closed';
    // A delayed-ACK timer armed by the last pump has nothing left to do.
    this.armed?.handle.cancel();
    this.armed = null;
    this.handlers.onClosed?.(error ?? this.error);
  }

  private traceSessionEvent(ev: TcplsEvent): void {
    if (ev.type === 'stream-data') return; // too chatty for the trace
    this.trace(`session-${ev.type}`, { ...ev, type: undefined });
  }

  /** Writes one trace record. */
  trace(event: string, data: Record<string, unknown>): void {
    if (!this.traceSink) return;
    this.traceSink(jsonSafe({ t: this.now(), conn: this.label, role: this.role, event, ...data }) as Record<string, unknown>);
  }
}
