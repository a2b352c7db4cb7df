/**
 * Node-style objects over a Host: `TcpSocket` (a Duplex shaped like net.Socket) and `TcpServer`
 * (shaped like net.Server). They are drivers for real links: they rely on Node's stream machinery
 * and on real timers for setTimeout. On the simulator, use HostConnection directly.
 *
 * Backpressure both ways: a write that does not fit the engine's send buffer keeps its callback
 * until the engine says 'writable'; data is pulled from the engine only while the stream's
 * reader wants more, and the engine's receive window closes when we stop reading.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { Host, HostConnection, Listener } from './host.js';
import type { Endpoint, TcpConfig, TcpEvent } from '../connection/types.js';

export interface TcpSocketConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  tcp?: Partial<TcpConfig>;
}

export class TcpSocket extends Duplex {
  private hc: HostConnection | null = null;
  private pending: { data: Uint8Array; cb: (err?: Error | null) => void } | null = null;
  private wantRead = false;
  private peerEnded = false;
  private readEnded = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  connecting = true;
  bytesRead = 0;
  bytesWritten = 0;

  constructor(hc?: HostConnection) {
    super({ allowHalfOpen: true });
    if (hc) this.attach(hc, true);
  }

  /** Opens a connection on `host`; 'connect' is emitted when it is established. */
  static connect(host: Host, opts: TcpSocketConnectOptions, onConnect?: () => void): TcpSocket {
    const s = new TcpSocket();
    if (onConnect) s.once('connect', onConnect);
    let hc: HostConnection;
    try {
      hc = host.connect({
        remote: { address: opts.host, port: opts.port },
        local: { address: opts.localAddress, port: opts.localPort },
        tcp: opts.tcp,
      });
    } catch (e) {
      process.nextTick(() => s.destroy(e as Error));
      return s;
    }
    s.attach(hc, false);
    return s;
  }

  private attach(hc: HostConnection, established: boolean): void {
    this.hc = hc;
    hc.onEvent = (ev) => this.onTcpEvent(ev);
    if (established) {
      this.connecting = false;
      process.nextTick(() => this.pull());
    }
  }

  get remoteAddress(): string | undefined {
    return this.hc?.remote.address;
  }
  get remotePort(): number | undefined {
    return this.hc?.remote.port;
  }
  get localAddress(): string | undefined {
    return this.hc?.local.address;
  }
  get localPort(): number | undefined {
    return this.hc?.local.port;
  }
  /** The engine's connection, for statistics and options (stats(), synInfo(), setCongestionControl()). */
  get connection(): HostConnection | null {
    return this.hc;
  }

  address(): { address: string; port: number; family: string } | Record<string, never> {
    if (!this.hc) return {};
    const l: Endpoint = this.hc.local;
    return { address: l.address, port: l.port, family: l.address.includes(':') ? 'IPv6' : 'IPv4' };
  }

  setNoDelay(noDelay = true): this {
    this.hc?.conn.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.hc?.conn.setKeepAlive(enable, initialDelay > 0 ? initialDelay : undefined);
    if (this.hc) this.hc.host.service(this.hc, true);
    return this;
  }

  /** Like net.Socket#setTimeout: emits 'timeout' after `ms` of inactivity (0 disables). */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb) {
      if (ms === 0) this.off('timeout', cb);
      else this.once('timeout', cb);
    }
    this.touch();
    return this;
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.idleTimer.unref?.();
    }
  }

  private onTcpEvent(ev: TcpEvent): void {
    this.handleTcpEvent(ev);
    // For drivers that watch the engine itself (e.g. wait for the FIN to be acknowledged).
    this.emit('tcpEvent', ev);
  }

  private handleTcpEvent(ev: TcpEvent): void {
    switch (ev.type) {
      case 'connected':
        if (this.connecting) {
          this.connecting = false;
          this.emit('connect');
          this.emit('ready');
        }
        this.flushPending();
        break;
      case 'readable':
        this.touch();
        this.pull();
        break;
      case 'writable':
        this.flushPending();
        break;
      case 'peer-closed':
        this.peerEnded = true;
        this.pull();
        break;
      case 'closed':
        if (ev.error) {
          this.failPending(ev.error);
          this.destroy(ev.error);
        } else {
          this.peerEnded = true;
          this.pull();
          this.failPending(new Error('connection closed before the data was sent'));
        }
        break;
    }
  }

  /** Moves data from the engine into the stream while the reader wants it. */
  private pull(): void {
    const hc = this.hc;
    if (!hc || this.readEnded) return;
    while (this.wantRead) {
      const d = hc.read();
      if (!d) break;
      this.bytesRead += d.length;
      this.wantRead = this.push(d);
    }
    if (this.peerEnded && hc.conn.readableBytes === 0 && !this.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
  }

  override _read(): void {
    this.wantRead = true;
    this.pull();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    this.pending = { data: chunk, cb };
    this.flushPending();
  }

  private flushPending(): void {
    const p = this.pending;
    const hc = this.hc;
    if (!p || !hc || this.connecting) return;
    const n = hc.write(p.data);
    this.bytesWritten += n;
    if (n >= p.data.length) {
      this.pending = null;
      p.cb();
    } else {
      p.data = p.data.subarray(n);
    }
  }

  private failPending(err: Error): void {
    const p = this.pending;
    if (p) {
      this.pending = null;
      p.cb(err);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.hc?.shutdown();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const hc = this.hc;
    // Like close(2) on a kernel socket: after our FIN was queued (end() called) and without an
    // error, the engine finishes on its own (retransmits what is unacknowledged, TIME-WAIT);
    // otherwise the connection is aborted with RST (RFC 9293 3.10.5).
    const graceful = err === null && this.writableFinished;
    if (hc && !hc.released && !graceful) hc.abort();
    cb(err);
  }
}

/** A net.Server-like listener on a Host: emits 'connection' with a TcpSocket, 'listening', 'close'. */
export class TcpServer extends EventEmitter {
  private listener: Listener | null = null;
  constructor(
    private readonly host: Host,
    private readonly opts: { backlog?: number; tcp?: Partial<TcpConfig> } = {},
  ) {
    super();
  }

  listen(port: number, address?: string, cb?: () => void): this {
    this.listener = this.host.listen(port, { address, backlog: this.opts.backlog, tcp: this.opts.tcp }, (hc) => {
      this.emit('connection', new TcpSocket(hc));
    });
    if (cb) this.once('listening', cb);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; port: number } | null {
    if (!this.listener) return null;
    return { address: this.listener.address ?? '*', port: this.listener.port };
  }

  close(cb?: () => void): this {
    if (this.listener) this.host.unlisten(this.listener);
    this.listener = null;
    process.nextTick(() => {
      this.emit('close');
      cb?.();
    });
    return this;
  }
}

export function createServer(host: Host, onConnection?: (s: TcpSocket) => void, opts?: { backlog?: number; tcp?: Partial<TcpConfig> }): TcpServer {
  const s = new TcpServer(host, opts);
  if (onConnection) s.on('connection', onConnection);
  return s;
}
