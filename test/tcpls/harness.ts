/**
 * Simulator harness for the TCPLS driver tests: two TCP Hosts on a SimNetwork (client 10.0.0.1,
 * server 10.0.0.2), TCPLS endpoints over them (TcplsEndpoint via connectOverHost / listenOverHost),
 * seeded randomness everywhere, and a bounded run loop on the virtual clock.
 */
import { SimNetwork, type Middlebox, type LinkParams } from '@tcpls/link';
import { Host, type TcpConfig } from '@tcpls/tcp';
import { type ApplyPolicy, type TcplsEndpoint, connectOverHost, listenOverHost, memoryTrace, selfSignedCertificate } from '@tcpls/tcpls';

export const CLIENT = '10.0.0.1';
export const SERVER = '10.0.0.2';
export const PORT = 4443;

/** Deterministic bytes (xorshift32) from a seed. */
export function seeded(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

export interface SimSetup {
  seed?: number;
  link?: LinkParams;
  middleboxes?: Middlebox[];
  clientTcp?: Partial<TcpConfig>;
  serverTcp?: Partial<TcpConfig>;
  serverPolicy?: ApplyPolicy;
  clientPolicy?: ApplyPolicy;
  /** false: the server is a plain TLS 1.3 server (no tcpls extension). */
  serverTcpls?: boolean;
  clientTcpls?: boolean;
  /** Called synchronously when the server accepts, before any byte is processed (set handlers here). */
  onServer?: (ep: TcplsEndpoint) => void;
}

export function simSession(o: SimSetup = {}) {
  const seed = o.seed ?? 1;
  const sim = new SimNetwork({ seed });
  const ch = sim.addHost('client', { addresses: [CLIENT] });
  const sh = sim.addHost('server', { addresses: [SERVER] });
  const link = sim.connect(ch, sh, { name: 'link', ...o.link, middleboxes: o.middleboxes ?? [] });
  const clientTrace = memoryTrace();
  const serverTrace = memoryTrace();
  const clientTcpTrace = memoryTrace();
  const serverTcpTrace = memoryTrace();
  const clientHost = new Host({ io: ch, clock: sim.clock, addresses: [CLIENT], random: seeded(seed * 7 + 1), trace: clientTcpTrace.trace });
  const serverHost = new Host({ io: sh, clock: sim.clock, addresses: [SERVER], random: seeded(seed * 7 + 2), trace: serverTcpTrace.trace });
  const cert = selfSignedCertificate();
  const servers: TcplsEndpoint[] = [];
  listenOverHost(
    serverHost,
    PORT,
    {
      random: seeded(seed * 7 + 3),
      tls: { certificateChain: cert.chain, privateKey: cert.key, tcpls: o.serverTcpls },
      policy: o.serverPolicy,
      trace: serverTrace.trace,
      tcp: o.serverTcp,
    },
    (ep) => {
      servers.push(ep);
      o.onServer?.(ep);
    },
  );
  const { endpoint: client, connection } = connectOverHost(
    clientHost,
    { address: SERVER, port: PORT },
    { random: seeded(seed * 7 + 4), tls: { serverName: 'localhost', verifier: null, tcpls: o.clientTcpls }, policy: o.clientPolicy, trace: clientTrace.trace, tcp: o.clientTcp },
  );
  /** Runs the simulation until `done()` or `limitMs` of virtual time. */
  const runUntil = (done: () => boolean, limitMs = 60_000): void => {
    const end = sim.now + limitMs;
    while (!done() && sim.now < end) {
      const next = sim.nextEventTime;
      if (next === null) break;
      sim.run(Math.min(next, end), { maxEvents: 5_000_000 });
    }
  };
  return { sim, link, client, connection, servers, clientHost, serverHost, clientTrace, serverTrace, clientTcpTrace, serverTcpTrace, runUntil };
}

/** Per-endpoint application: collects what each stream received and sends queued data with backpressure. */
export class StreamApp {
  readonly received = new Map<number, Uint8Array[]>();
  readonly finished = new Set<number>();
  readonly opened: number[] = [];
  readonly events: import('@tcpls/tcpls').TcplsEvent[] = [];
  private readonly senders: { s: import('@tcpls/tcpls').TcplsStream; data: Uint8Array; off: number; ended: boolean }[] = [];
  closedWith: Error | null | undefined = undefined;
  closedAt: number | null = null;
  ready = false;
  constructor(
    readonly ep: TcplsEndpoint,
    now: () => number,
    onReady?: (app: StreamApp) => void,
  ) {
    ep.handlers = {
      onReady: () => {
        this.ready = true;
        onReady?.(this);
      },
      onSessionEvent: (ev) => {
        this.events.push(ev);
        if (ev.type === 'stream-opened') this.opened.push(ev.streamId);
        if (ev.type === 'stream-data' || ev.type === 'stream-finished') {
          const s = ep.stream(ev.streamId);
          const list = this.received.get(ev.streamId) ?? [];
          for (let d = s?.read(); d; d = s?.read()) list.push(d);
          this.received.set(ev.streamId, list);
          if (s?.readableEnded) this.finished.add(ev.streamId);
        }
      },
      onPumped: () => this.step(),
      onClosed: (err) => {
        this.closedWith = err;
        this.closedAt = now();
      },
    };
  }
  /** Sends `data` on a new stream (or an existing one) and ends it. */
  send(data: Uint8Array, stream = this.ep.openStream()): number {
    this.senders.push({ s: stream, data, off: 0, ended: false });
    this.step();
    return stream.id;
  }
  private step(): void {
    for (const x of this.senders) {
      while (x.off < x.data.length) {
        const n = x.s.write(x.data.subarray(x.off, Math.min(x.data.length, x.off + 16384)));
        x.off += n;
        if (n === 0) break;
      }
      if (x.off >= x.data.length && !x.ended) {
        x.ended = true;
        x.s.end();
      }
    }
  }
  bytesOf(id: number): Uint8Array {
    return Buffer.concat(this.received.get(id) ?? []);
  }
}
