/**
 * Node driver: runs the sans-IO engine over any Duplex (a node:net socket, or a socket of our own
 * TCP), with an API shaped like node:tls — `connect()` returns a Duplex TLSSocket that emits
 * 'secureConnect', `createServer()` accepts connections. Events: 'keylog' (a Buffer line in
 * SSLKEYLOGFILE format), 'session' (a SessionTicket to resume with), 'keyUpdate'.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { CryptoProvider, PrivateKey } from '../crypto/provider.js';
import { nodeCrypto } from '../crypto/node.js';
import { TlsError, alertName } from '../errors.js';
import { TlsClient } from '../handshake/client.js';
import type { CertificateVerifier, ClientConfig, CustomExtension, ServerConfig, SessionTicket } from '../handshake/config.js';
import type { HandshakeInfo, TlsConnection } from '../handshake/connection.js';
import { TlsServer } from '../handshake/server.js';
import { chainVerifier, loadKeyPem, pemCertificates, permissiveVerifier, systemTrustAnchors } from '../handshake/certs.js';
import type { CipherSuiteName } from '../wire/constants.js';
import type { NamedGroup } from '../crypto/provider.js';

/**
 * The drivers' randomness: node:crypto's CSPRNG, drawn 4 KiB at a time (one call costs ~1 µs
 * whatever its size, and a handshake asks for a few dozen bytes several times). Every byte is
 * handed out once and wiped from the pool as it is taken; large requests bypass the pool.
 */
const RANDOM_POOL_SIZE = 4096;
let randomPool = new Uint8Array(0);
let randomPoolOffset = 0;
export const defaultRandom = (n: number): Uint8Array => {
  if (!Number.isInteger(n) || n < 0 || n > 256) return new Uint8Array(randomBytes(n)); // randomBytes validates n
  if (randomPoolOffset + n > randomPool.length) {
    randomPool = new Uint8Array(randomBytes(RANDOM_POOL_SIZE));
    randomPoolOffset = 0;
  }
  const out = randomPool.slice(randomPoolOffset, randomPoolOffset + n);
  randomPool.fill(0, randomPoolOffset, randomPoolOffset + n);
  randomPoolOffset += n;
  return out;
};

type Pem = string | Buffer | Uint8Array;
const pemText = (p: Pem): string => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'));

/**
 * How much the transport may hold before a write waits for its 'drain'. A sealed 16 KB record is
 * 16406 bytes, just over node:net's 16 KiB highWaterMark, so honouring write()'s `false` would
 * stall every record for a drain round trip; up to 64 KiB queued is allowed instead (bounded).
 */
const TRANSPORT_BUFFER = 65536;

export class TLSSocket extends Duplex {
  /** The underlying transport. */
  readonly socket: Duplex;
  readonly engine: TlsConnection;
  authorized = false;
  authorizationError: Error | null = null;
  encrypted = true as const;
  private finishedReading = false;
  private waitingDrain: (() => void) | null = null;
  private keylogFile: string | null = null;
  private corked = false;

  /**
   * `allowHalfOpen` false (the default, as node:net) answers the peer's close_notify with ours
   * and ends the transport; true keeps our sending side open (TLS 1.3 half-close, 6.1).
   */
  constructor(engine: TlsConnection, socket: Duplex, opts: { keylogFile?: string; allowHalfOpen?: boolean } = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false });
    this.engine = engine;
    this.socket = socket;
    this.keylogFile = opts.keylogFile ?? null;
    socket.on('data', (d: Buffer) => {
      this.engine.receive(new Uint8Array(d.buffer, d.byteOffset, d.length), Date.now());
      this.pump();
    });
    socket.on('end', () => {
      if (!this.finishedReading) {
        this.finishedReading = true;
        this.push(null);
      }
    });
    socket.on('error', (e) => this.destroy(e));
    // The transport is gone: end our readable side (keeping what is buffered for the reader);
    // the Duplex destroys itself once both sides are done.
    socket.on('close', () => {
      if (!this.finishedReading) {
        this.finishedReading = true;
        this.push(null);
      }
    });
    socket.on('drain', () => {
      const w = this.waitingDrain;
      this.waitingDrain = null;
      w?.();
    });
  }

  /** @internal starts a client handshake. */
  startClient(): void {
    (this.engine as TlsClient).start(Date.now());
    this.pump();
  }

  get handshakeInfo(): HandshakeInfo {
    return this.engine.handshakeInfo;
  }
  get alpnProtocol(): string | false {
    return this.engine.handshakeInfo.alpn ?? false;
  }
  getCipher(): { name: string; standardName: string; version: string } {
    const s = this.engine.handshakeInfo.suite;
    return { name: s, standardName: s, version: 'TLSv1.3' };
  }
  getProtocol(): string {
    return 'TLSv1.3';
  }
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    return Buffer.from(this.engine.exportKeyingMaterial(label, context ?? new Uint8Array(0), length));
  }
  /** Sends a KeyUpdate; `requestPeer` asks the peer to update its key too. */
  keyUpdate(requestPeer = false): void {
    this.engine.keyUpdate(requestPeer);
    this.pump();
  }

  /**
   * Moves engine output to the transport. The transport is corked until the end of the current
   * tick, so records produced by several writes in one tick leave in one writev() system call
   * instead of one write() each (a write() per 16 KB record was ~15 % of the bulk profile).
   */
  private flushOutput(): boolean {
    let ok = true;
    for (let out = this.engine.pollOutput(); out; out = this.engine.pollOutput()) {
      if (!this.socket.writable) continue;
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncorkTransport);
      }
      if (!this.socket.write(out) && this.socket.writableLength >= TRANSPORT_BUFFER) ok = false;
    }
    return ok;
  }

  private readonly uncorkTransport = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /** Moves engine output to the transport and engine events to stream events. */
  private pump(): boolean {
    const ok = this.flushOutput();
    for (let ev = this.engine.pollEvent(); ev; ev = this.engine.pollEvent()) {
      switch (ev.type) {
        case 'handshake-done':
          this.emit(this.engine.role === 'client' ? 'secureConnect' : 'secure', ev.info);
          break;
        case 'data':
        case 'early-data':
          if (!this.push(Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.length))) this.socket.pause?.();
          break;
        case 'keylog':
          if (this.keylogFile) appendFileSync(this.keylogFile, ev.line);
          this.emit('keylog', Buffer.from(ev.line));
          break;
        case 'session':
          this.emit('session', ev.session);
          break;
        case 'key-update':
          this.emit('keyUpdate', ev.direction);
          break;
        case 'close-notify':
          if (!this.finishedReading) {
            this.finishedReading = true;
            this.push(null);
          }
          break;
        case 'error': {
          const e = ev.error;
          const msg = e instanceof TlsError && e.code === 'alert-received' ? e.message : `${e.message}${ev.alertSent !== null ? ` (sent alert ${alertName(ev.alertSent)})` : ''}`;
          const err = Object.assign(new Error(msg), { code: (e as { code?: string }).code ?? 'tls-error', cause: e });
          this.destroy(err);
          return ok;
        }
      }
    }
    return ok;
  }

  override _read(): void {
    this.socket.resume?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      this.engine.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), Date.now());
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (this.pump()) cb();
    else this.waitingDrain = () => cb();
  }

  /**
   * Several chunks queued while the transport was busy: small ones are joined so they fill whole
   * records (RFC 8446 5.1 allows coalescing application data), chunks of a full record or more are
   * sealed straight from their buffers; all of it goes out in one corked batch.
   */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (e?: Error | null) => void): void {
    const now = Date.now();
    const full = this.engine.recordProtection.write?.maxPlaintext ?? 16384;
    let ok = true;
    try {
      let small: Buffer[] = [];
      let smallBytes = 0;
      const writeSmall = (): void => {
        if (smallBytes === 0) return;
        const b = small.length === 1 ? small[0] : Buffer.concat(small, smallBytes);
        small = [];
        smallBytes = 0;
        this.engine.write(new Uint8Array(b.buffer, b.byteOffset, b.length), now);
        ok = this.flushOutput() && ok;
      };
      for (const { chunk } of chunks) {
        if (chunk.length >= full) {
          writeSmall();
          this.engine.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), now);
          ok = this.flushOutput() && ok;
        } else {
          small.push(chunk);
          smallBytes += chunk.length;
        }
      }
      writeSmall();
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (this.pump() && ok) cb();
    else this.waitingDrain = () => cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.engine.close();
    this.pump();
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    // Let queued bytes (a fatal alert, close_notify) reach the wire before the transport closes.
    const t = this.socket as Duplex & { destroySoon?: () => void };
    if (t.destroyed) {
      // nothing to do
    } else if (typeof t.destroySoon === 'function') t.destroySoon();
    else t.end();
    cb(err);
  }
}

export interface ConnectOptions {
  /** An already connected transport (node:net socket or our own TCP socket); else host/port is dialled. */
  socket?: Duplex;
  host?: string;
  port?: number;
  servername?: string;
  /** Trust anchors (PEM); default: the system trust store. */
  ca?: Pem | Pem[];
  /** Default true: abort on a certificate that does not verify. */
  rejectUnauthorized?: boolean;
  alpn?: string[];
  /** Client certificate chain and key (PEM) for mutual TLS. */
  cert?: Pem;
  key?: Pem;
  /** Append key log lines to this file (SSLKEYLOGFILE format); 'keylog' events are always emitted. */
  keylog?: string;
  provider?: CryptoProvider;
  session?: SessionTicket;
  earlyData?: Uint8Array;
  cipherSuites?: CipherSuiteName[];
  groups?: NamedGroup[];
  keyShareGroups?: NamedGroup[];
  customExtensions?: CustomExtension[];
  recordSizeLimit?: number;
  random?: (n: number) => Uint8Array;
}

function anchorsFrom(ca: Pem | Pem[] | undefined): Uint8Array[] {
  if (ca === undefined) return systemTrustAnchors();
  const list = Array.isArray(ca) ? ca : [ca];
  return list.flatMap((p) => pemCertificates(pemText(p)));
}

/** Opens a TLS 1.3 client connection, like node:tls connect(). */
export function connect(options: ConnectOptions, onSecureConnect?: () => void): TLSSocket {
  const provider = options.provider ?? nodeCrypto;
  const serverName = options.servername ?? (options.host && !net.isIP(options.host) ? options.host : undefined);
  const anchors = anchorsFrom(options.ca);
  const strict = options.rejectUnauthorized !== false;
  let authError: Error | null = null;
  const inner = chainVerifier(anchors, provider);
  const verifier: CertificateVerifier = strict
    ? inner
    : permissiveVerifier(inner, (e) => {
        authError = e;
      });
  const cfg: ClientConfig = {
    provider,
    random: options.random ?? defaultRandom,
    serverName: serverName ?? options.host,
    alpn: options.alpn,
    verifier,
    session: options.session,
    earlyData: options.earlyData,
    cipherSuites: options.cipherSuites,
    groups: options.groups,
    keyShareGroups: options.keyShareGroups,
    customExtensions: options.customExtensions,
    recordSizeLimit: options.recordSizeLimit,
  };
  if (options.cert && options.key) {
    cfg.certificateChain = pemCertificates(pemText(options.cert));
    cfg.privateKey = loadKeyPem(pemText(options.key));
  }
  const engine = new TlsClient(cfg);
  const transport = options.socket ?? net.connect({ host: options.host ?? 'localhost', port: options.port ?? 443 });
  const sock = new TLSSocket(engine, transport, { keylogFile: options.keylog });
  sock.once('secureConnect', () => {
    sock.authorized = strict || authError === null;
    sock.authorizationError = authError;
    // 0-RTT data the server did not take (or that was never offered) is sent as ordinary data.
    if (options.earlyData?.length && !engine.handshakeInfo.earlyDataAccepted) sock.write(Buffer.from(options.earlyData));
  });
  if (onSecureConnect) sock.once('secureConnect', onSecureConnect);
  const start = (): void => sock.startClient();
  if (options.socket || (transport as net.Socket).connecting === false) start();
  else transport.once('connect', start);
  return sock;
}

export interface ServerOptions {
  cert: Pem;
  key: Pem;
  alpn?: string[];
  /** Ask for client certificates, verified against `ca`. */
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ca?: Pem | Pem[];
  keylog?: string;
  provider?: CryptoProvider;
  cipherSuites?: CipherSuiteName[];
  groups?: NamedGroup[];
  /** Session tickets: a 32-byte key (random by default); tickets: 0 disables. */
  ticketKey?: Uint8Array;
  tickets?: number;
  maxEarlyData?: number;
  customExtensions?: CustomExtension[];
  recordSizeLimit?: number;
  random?: (n: number) => Uint8Array;
}

export class Server extends net.Server {
  readonly tlsOptions: ServerOptions;
  private readonly chain: Uint8Array[];
  private readonly privateKey: PrivateKey;
  private readonly ticketKey: Uint8Array;
  private readonly replay = new MemoryAntiReplay();

  constructor(options: ServerOptions, onSecureConnection?: (s: TLSSocket) => void) {
    super((raw) => this.accept(raw));
    this.tlsOptions = options;
    this.chain = pemCertificates(pemText(options.cert));
    this.privateKey = loadKeyPem(pemText(options.key));
    this.ticketKey = options.ticketKey ?? defaultRandom(32);
    if (onSecureConnection) this.on('secureConnection', onSecureConnection);
  }

  /** Runs TLS over an accepted transport (also usable with our own TCP's sockets). */
  accept(raw: Duplex): TLSSocket {
    const o = this.tlsOptions;
    const provider = o.provider ?? nodeCrypto;
    const cfg: ServerConfig = {
      provider,
      random: o.random ?? defaultRandom,
      certificateChain: this.chain,
      privateKey: this.privateKey,
      alpn: o.alpn,
      cipherSuites: o.cipherSuites,
      groups: o.groups,
      clientAuth: o.requestCert ? (o.rejectUnauthorized === false ? 'request' : 'require') : 'none',
      verifier: o.requestCert ? chainVerifier(anchorsFrom(o.ca), provider) : null,
      ticketKey: o.tickets === 0 ? undefined : this.ticketKey,
      tickets: o.tickets,
      maxEarlyData: o.maxEarlyData,
      antiReplay: this.replay,
      customExtensions: o.customExtensions,
      recordSizeLimit: o.recordSizeLimit,
    };
    const sock = new TLSSocket(new TlsServer(cfg), raw, { keylogFile: o.keylog });
    sock.on('keylog', (line) => this.emit('keylog', line, sock));
    sock.once('secure', () => {
      sock.authorized = true;
      this.emit('secureConnection', sock);
    });
    sock.on('error', (e) => this.emit('tlsClientError', e, sock));
    return sock;
  }
}

/** Creates a TLS 1.3 server, like node:tls createServer(). */
export function createServer(options: ServerOptions, onSecureConnection?: (s: TLSSocket) => void): Server {
  return new Server(options, onSecureConnection);
}

/**
 * Single-use anti-replay for 0-RTT (RFC 8446 8.1): remembers binders for a bounded window; a binder
 * seen twice is refused. Bounded: at most `max` entries, oldest dropped first.
 */
export class MemoryAntiReplay {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly windowMs = 10_000,
    private readonly max = 100_000,
  ) {}
  checkAndRemember(key: Uint8Array, now: number): boolean {
    // Entries are in insertion (time) order: drop the ones that left the window.
    for (const [k, t] of this.seen) {
      if (now - t <= this.windowMs) break;
      this.seen.delete(k);
    }
    const id = Buffer.from(key).toString('base64');
    if (this.seen.has(id)) return false;
    // Full: refuse 0-RTT rather than forget a binder still inside the window (which would let a
    // replay through); the handshake then goes on in 1-RTT (RFC 8446 8).
    if (this.seen.size >= this.max) return false;
    this.seen.set(id, now);
    return true;
  }
}
