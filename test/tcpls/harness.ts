/**
 * Simulator harness for the TCPLS driver tests: the CLI's `simPair` (two TCP Hosts on a SimNetwork,
 * client 10.0.0.1, server 10.0.0.2, TCPLS endpoints over them, seeded randomness everywhere, a
 * bounded run loop on the virtual clock; `tcpls demo` runs on the same set-up) plus in-memory
 * traces of both ends, and a small stream application.
 */
import { type TcplsEndpoint, memoryTrace, seededRandom } from '@tcpls/tcpls';
import { type SimPairOptions, SIM_CLIENT, SIM_PORT, SIM_SERVER, simPair } from '../../packages/cli/src/tcpls-common.js';

export const CLIENT = SIM_CLIENT;
export const SERVER = SIM_SERVER;
export const PORT = SIM_PORT;

/** Deterministic bytes (xorshift32) from a seed. */
export const seeded = seededRandom;

export type SimSetup = Omit<SimPairOptions, 'clientTrace' | 'serverTrace' | 'clientTcpTrace' | 'serverTcpTrace'>;

export function simSession(o: SimSetup = {}) {
  const clientTrace = memoryTrace();
  const serverTrace = memoryTrace();
  const clientTcpTrace = memoryTrace();
  const serverTcpTrace = memoryTrace();
  const p = simPair({ ...o, clientTrace: clientTrace.trace, serverTrace: serverTrace.trace, clientTcpTrace: clientTcpTrace.trace, serverTcpTrace: serverTcpTrace.trace });
  return { ...p, clientTrace, serverTrace, clientTcpTrace, serverTcpTrace };
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

/** Everything a readable stream (a TcplsDuplex) delivers until its end. */
export function collect(d: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((ok, ko) => {
    const parts: Buffer[] = [];
    d.on('data', (b: Buffer) => parts.push(b));
    d.on('end', () => ok(Buffer.concat(parts)));
    d.on('error', ko);
  });
}
