/**
 * The researcher API over real networks (Node streams and events on top of TcplsEndpoint):
 *
 *   const s = await connect({ host: '10.0.0.2', port: 4443, insecure: true, tcpHost });   // our TCP
 *   const s = await connect({ host: '127.0.0.1', port: 4443, ca: pem, stack: 'kernel' }); // Linux TCP
 *   const d = s.openStream(); d.end('hello'); d.on('data', …);
 *   s.on('option-differences', (diffs) => …); s.stats();
 *
 *   createServer({ cert, key, tcpHost }, (s) => s.on('stream', (d) => d.pipe(d))).listen(4443);
 *
 * A session is a TcplsConnection (EventEmitter). Events: 'stream' (a TcplsDuplex the peer opened),
 * 'option-differences' (differences, connection), 'option-applied' / 'option-refused' (our requests),
 * 'option-request' (what the peer asked of our TCP and what we did), 'ping' (rtt), 'close' (error).
 * When the peer does not speak TCPLS the session runs as plain TLS 1.3: `mode === 'tls'` and
 * `plain()` gives a Duplex of the TLS application data.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { type CertificateVerifier, type CryptoProvider, chainVerifier, loadKeyPem, nodeCrypto, pemCertificates, systemTrustAnchors } from '@tcpls/tls';
import { Host, type HostConnection, type Listener, type PacketIo, type TcpConfig, systemClock } from '@tcpls/tcp';
import type { OptionDifference } from '../options-check.js';
import type { TcpSetting } from '../frames.js';
import type { ApplyPolicy, TcplsEvent, TcplsStream } from '../session.js';
import type { TcplsProfile } from '../profile.js';
import { type EndpointOptions, type EndpointStats, TcplsEndpoint } from './endpoint.js';
import { connectOverHost, listenOverHost } from './host.js';
import { endpointOverSocket } from './kernel.js';
import type { JsonTrace } from './trace.js';

const defaultRandom = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

type Pem = string | Uint8Array;
const pemText = (p: Pem): string => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'));

interface CommonOptions {
  /** 'user' (default when tcpHost or link is given): our TCP; 'kernel': Linux TCP via node:net. */
  stack?: 'user' | 'kernel';
  /** Our TCP Host to run on (any link: simulator, raw socket, pcap). */
  tcpHost?: Host;
  /** A link to build a Host on (with the system clock) when no tcpHost is given; needs localAddress. */
  link?: PacketIo;
  localAddress?: string;
  /** Per-connection TCP settings for our TCP. */
  tcp?: Partial<TcpConfig>;
  policy?: ApplyPolicy;
  profile?: TcplsProfile;
  trace?: JsonTrace;
  random?: (n: number) => Uint8Array;
  provider?: CryptoProvider;
  /** false: behave as a plain TLS 1.3 peer (fallback experiments). */
  tcpls?: boolean;
  /** Session tuning: per-stream receive window, ACK policy, send buffer (docs/wire-format.md §3.3, §3.11). */
  session?: EndpointOptions['session'];
}

export interface TcplsConnectOptions extends CommonOptions {
  host: string;
  port: number;
  servername?: string;
  /** Trust anchors (PEM); default: the system store. */
  ca?: Pem | Pem[];
  /** Accept any certificate (the CertificateVerify signature is still checked). */
  insecure?: boolean;
  localPort?: number;
}

export interface TcplsServerOptions extends CommonOptions {
  cert: Pem;
  key: Pem;
}

/** The Host to run on; `owned`: the driver built it from `link`, so the driver must close it. */
function hostFor(o: CommonOptions): { host: Host | null; owned: boolean } {
  if (o.stack === 'kernel') return { host: null, owned: false };
  if (o.tcpHost) return { host: o.tcpHost, owned: false };
  if (o.link) {
    if (!o.localAddress) throw new Error('a link needs localAddress');
    return { host: new Host({ io: o.link, clock: systemClock, addresses: [o.localAddress] }), owned: true };
  }
  if (o.stack === 'user') throw new Error("stack 'user' needs tcpHost or link");
  return { host: null, owned: false };
}

/**
 * Whether TCP is done with a connection, so closing its Host sends no RST: CLOSED, or TIME-WAIT
 * (our FIN was ACKed and the peer's FIN ACKed; ABORT there only deletes the TCB, RFC 9293 §3.10.4).
 * Closing earlier would abort a close_notify or FIN still in flight.
 */
function tcpDone(hc: HostConnection): boolean {
  return hc.released || hc.state === 'TIME-WAIT';
}

/** A TCPLS stream as a Node Duplex (backpressure both ways through the session's credit). */
export class TcplsDuplex extends Duplex {
  private pendingWrite: { data: Uint8Array; cb: (e?: Error | null) => void } | null = null;
  private wantRead = false;
  private ended = false;
  private writing = false;
  private delivering = false;
  constructor(readonly stream: TcplsStream) {
    super({ allowHalfOpen: true });
  }
  get id(): number {
    return this.stream.id;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.pendingWrite = { data: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), cb };
    this.retry();
  }
  override _final(cb: (e?: Error | null) => void): void {
    try {
      this.stream.end();
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _read(): void {
    this.wantRead = true;
    this.deliver();
  }
  /** @internal: after every pump, more room or data may be there. */
  retry(): void {
    // stream.write pumps the endpoint, which calls retry() again: take the write first.
    const p = this.pendingWrite;
    if (p && !this.writing) {
      this.pendingWrite = null;
      this.writing = true;
      let n: number;
      try {
        n = this.stream.write(p.data);
      } catch (e) {
        this.writing = false;
        p.cb(e as Error);
        return;
      }
      this.writing = false;
      if (n === p.data.length) p.cb();
      else this.pendingWrite = { data: p.data.subarray(n), cb: p.cb };
    }
    this.deliver();
  }
  /** @internal */
  deliver(): void {
    // stream.read pumps the endpoint, which calls deliver() again: one delivery at a time.
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.wantRead && this.stream.readable > 0) {
        const d = this.stream.read(65536);
        if (!d) break;
        this.wantRead = this.push(Buffer.from(d.buffer, d.byteOffset, d.length));
      }
      if (!this.ended && this.stream.readableEnded) {
        this.ended = true;
        this.push(null);
      }
    } finally {
      this.delivering = false;
    }
  }
  /** @internal */
  fail(err: Error): void {
    if (this.pendingWrite) {
      const cb = this.pendingWrite.cb;
      this.pendingWrite = null;
      cb(err);
    }
    if (!this.destroyed) this.destroy(err);
  }
}

/** One TCPLS session (or plain TLS fallback) over one TCP connection. */
export class TcplsConnection extends EventEmitter {
  private readonly duplexes = new Map<number, TcplsDuplex>();
  private plainStream: Duplex | null = null;
  private plainPending: Buffer[] = [];
  private plainEnded = false;
  /** Resolves when TLS is done (TCPLS or plain) or rejects when it fails first. */
  readonly ready: Promise<this>;

  private unclaimed: TcplsDuplex[] = [];
  /** Events raised before the application had the session (same pump as the handshake's end). */
  private held: [string, unknown[]][] | null = [];

  constructor(readonly endpoint: TcplsEndpoint) {
    super();
    this.on('newListener', (ev: string | symbol) => {
      if (ev !== 'stream' || this.unclaimed.length === 0) return;
      process.nextTick(() => {
        const list = this.unclaimed;
        this.unclaimed = [];
        for (const d of list) this.emit('stream', d);
      });
    });
    this.ready = new Promise<this>((resolve, reject) => {
      endpoint.handlers = {
        onReady: () => resolve(this),
        onSessionEvent: (ev) => this.onSessionEvent(ev),
        onPlainData: (d) => {
          const b = Buffer.from(d);
          if (this.plainStream) this.plainStream.push(b);
          else this.plainPending.push(b);
        },
        onPlainEnd: () => {
          this.plainEnded = true;
          this.plainStream?.push(null);
        },
        onPumped: () => {
          for (const d of this.duplexes.values()) d.retry();
        },
        onClosed: (err) => {
          if (endpoint.mode === 'handshake' || !endpoint.handshakeInfo) reject(err ?? new Error('connection closed during the handshake'));
          for (const d of this.duplexes.values()) {
            if (err) d.fail(err);
            else d.deliver();
          }
          if (!this.plainEnded && this.plainStream) this.plainStream.push(null);
          this.raise('close', err);
        },
      };
    });
    this.ready.catch(() => undefined);
  }

  /** @internal: the application has the session now; replays what it could not have seen. */
  release(): void {
    const h = this.held;
    this.held = null;
    for (const [name, args] of h ?? []) this.emit(name, ...args);
  }

  private raise(name: string, ...args: unknown[]): void {
    if (this.held) this.held.push([name, args]);
    else this.emit(name, ...args);
  }

  /** 'tcpls', 'tls' (fallback), 'handshake' or 'closed'. */
  get mode(): string {
    return this.endpoint.mode;
  }

  openStream(): TcplsDuplex {
    const s = this.endpoint.openStream();
    const d = new TcplsDuplex(s);
    this.duplexes.set(s.id, d);
    d.once('close', () => this.duplexes.delete(s.id));
    return d;
  }

  /** Plain TLS fallback: the application data as a Duplex. */
  plain(): Duplex {
    if (this.endpoint.mode !== 'tls' && !this.plainStream) throw new Error('plain(): TCPLS was negotiated; use streams');
    if (this.plainStream) return this.plainStream;
    const ep = this.endpoint;
    this.plainStream = new Duplex({
      allowHalfOpen: true,
      read() {},
      write(chunk: Buffer, _e, cb) {
        try {
          ep.writePlain(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      final(cb) {
        ep.endPlain();
        cb();
      },
    });
    for (const b of this.plainPending) this.plainStream.push(b);
    this.plainPending = [];
    if (this.plainEnded) this.plainStream.push(null);
    return this.plainStream;
  }

  requestOption(setting: TcpSetting, connection = 0): number {
    return this.endpoint.requestOption(setting, connection);
  }

  stats(): EndpointStats {
    return this.endpoint.stats();
  }

  /** Differences found on connection 0 (null: not compared yet, or not possible). */
  get optionDifferences(): OptionDifference[] | null {
    return this.endpoint.stats().optionDifferences;
  }

  close(): void {
    this.endpoint.close();
  }

  private onSessionEvent(ev: TcplsEvent): void {
    switch (ev.type) {
      case 'stream-opened': {
        const h = this.endpoint.stream(ev.streamId);
        if (!h || this.duplexes.has(ev.streamId)) return;
        const d = new TcplsDuplex(h);
        this.duplexes.set(ev.streamId, d);
        d.once('close', () => this.duplexes.delete(ev.streamId));
        // A stream may open before the application had the session (same TCP read as the
        // handshake's end): keep it until someone listens.
        if (this.listenerCount('stream') === 0) this.unclaimed.push(d);
        else this.emit('stream', d);
        return;
      }
      case 'stream-data':
      case 'stream-finished':
        this.duplexes.get(ev.streamId)?.deliver();
        return;
      case 'option-differences':
        this.raise('option-differences', ev.differences, ev.connection);
        return;
      case 'option-applied':
      case 'option-refused':
      case 'option-request':
        this.raise(ev.type, ev);
        return;
      case 'ping-ack':
        this.raise('ping', ev.rtt, ev.connection);
        return;
      default:
        return;
    }
  }
}

function verifierFor(o: TcplsConnectOptions, provider: CryptoProvider): CertificateVerifier | null {
  if (o.insecure) return null;
  const anchors = o.ca === undefined ? systemTrustAnchors() : (Array.isArray(o.ca) ? o.ca : [o.ca]).flatMap((p) => pemCertificates(pemText(p)));
  return chainVerifier(anchors, provider);
}

/** Opens a TCPLS session (client). Resolves once TLS is done: `mode` says TCPLS or plain TLS. */
export async function connect(o: TcplsConnectOptions): Promise<TcplsConnection> {
  const provider = o.provider ?? nodeCrypto;
  const tls = {
    provider,
    serverName: o.servername ?? (net.isIP(o.host) ? undefined : o.host),
    verifier: verifierFor(o, provider),
    tcpls: o.tcpls,
  };
  const base = { role: 'client' as const, random: o.random ?? defaultRandom, tls, policy: o.policy, profile: o.profile, trace: o.trace, session: o.session };
  const { host, owned } = hostFor(o);
  if (host) {
    // A Host built from `link` serves this session only: close it (detaching from the link, no
    // timer left) once the session is over and TCP finished its close (close_notify, FIN).
    const afterTcpEvent = owned
      ? (_ev: unknown, hc: HostConnection) => {
          if (endpoint.mode === 'closed' && tcpDone(hc)) host.close();
        }
      : undefined;
    const { endpoint } = connectOverHost(host, { address: o.host, port: o.port }, { ...base, localAddress: o.localAddress, localPort: o.localPort, tcp: o.tcp, afterTcpEvent });
    return handOver(new TcplsConnection(endpoint));
  }
  const sock = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const ep = endpointOverSocket(sock, base);
  const c = new TcplsConnection(ep);
  ep.start();
  return handOver(c);
}

/** Resolves with the session; events held until then are replayed once the caller has it. */
async function handOver(c: TcplsConnection): Promise<TcplsConnection> {
  await c.ready;
  setImmediate(() => c.release());
  return c;
}

/** A TCPLS server over our TCP (a Host) or Linux TCP. */
export class TcplsServer extends EventEmitter {
  private listener: Listener | null = null;
  private kernel: net.Server | null = null;
  private readonly host: Host | null;
  /** The Host was built from `link`: close() releases it once every connection is over. */
  private readonly ownsHost: boolean;
  private closing = false;
  private readonly chain: Uint8Array[];
  private readonly key: ReturnType<typeof loadKeyPem>;
  readonly connections = new Set<TcplsConnection>();

  constructor(
    private readonly o: TcplsServerOptions,
    onSession?: (s: TcplsConnection) => void,
  ) {
    super();
    const h = hostFor(o);
    this.host = h.host;
    this.ownsHost = h.owned;
    this.chain = pemCertificates(pemText(o.cert));
    this.key = loadKeyPem(pemText(o.key));
    if (onSession) this.on('session', onSession);
  }

  private base() {
    return {
      role: 'server' as const,
      random: this.o.random ?? defaultRandom,
      tls: { provider: this.o.provider ?? nodeCrypto, certificateChain: this.chain, privateKey: this.key, tcpls: this.o.tcpls },
      policy: this.o.policy,
      profile: this.o.profile,
      session: this.o.session,
      trace: this.o.trace,
    };
  }

  private adopt(ep: TcplsEndpoint): TcplsConnection {
    const c = new TcplsConnection(ep);
    this.connections.add(c);
    c.once('close', () => this.connections.delete(c));
    c.ready.then(
      () => {
        this.emit('session', c);
        c.release();
      },
      (e: Error) => this.emit('sessionError', e, c),
    );
    return c;
  }

  listen(port: number, address?: string, cb?: () => void): this {
    if (this.host) {
      const afterTcpEvent = this.ownsHost ? () => this.releaseHost() : undefined;
      this.listener = listenOverHost(this.host, port, { ...this.base(), address, tcp: this.o.tcp, afterTcpEvent }, (ep: TcplsEndpoint, _hc: HostConnection) => {
        const c = this.adopt(ep);
        // A handshake the listener had accepted before close(): end it like the others.
        if (this.closing) c.close();
      });
      if (cb) process.nextTick(cb);
      return this;
    }
    this.kernel = net.createServer((sock) => {
      const ep = endpointOverSocket(sock, this.base());
      this.adopt(ep);
      ep.start();
    });
    this.kernel.on('error', (e) => this.emit('error', e));
    this.kernel.listen(port, address, cb);
    return this;
  }

  /** The bound port (kernel stack; our TCP listens exactly where asked). */
  address(): net.AddressInfo | null {
    const a = this.kernel?.address();
    return a && typeof a === 'object' ? a : null;
  }

  close(): void {
    if (this.listener && this.host) this.host.unlisten(this.listener);
    this.listener = null;
    this.kernel?.close();
    this.kernel = null;
    for (const c of this.connections) c.close();
    this.closing = true;
    this.releaseHost();
  }

  /** After close(): closes a Host built from `link` once all its TCP connections are done. */
  private releaseHost(): void {
    if (!this.closing || !this.ownsHost || !this.host) return;
    for (const c of this.connections) if (c.mode !== 'closed') return;
    for (const hc of this.host.allConnections()) if (!tcpDone(hc)) return;
    this.host.close();
  }
}

export function createServer(o: TcplsServerOptions, onSession?: (s: TcplsConnection) => void): TcplsServer {
  return new TcplsServer(o, onSession);
}
