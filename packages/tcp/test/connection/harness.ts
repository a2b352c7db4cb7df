/**
 * smoltcp-style scripting helpers: build a connection in a given state, feed it segments
 * (`recv`) and check what it sends (`send`, `noSend`).
 */
import { TcpFlag, type TcpOption, type TcpRepr } from '../../src/wire/types.js';
import { TcpConnection, type TcpConnectOptions } from '../../src/connection/connection.js';
import type { SegmentOut, TcpConfig, TcpError, TcpEvent, TcpState, TraceRecord } from '../../src/connection/types.js';

export const F = TcpFlag;
export const LOCAL = { address: '10.0.0.1', port: 49152 };
export const REMOTE = { address: '10.0.0.2', port: 80 };
export const LOCAL_ISS = 1000;
export const REMOTE_ISS = 5000;

/** Plain config: no options, no delayed ACK, no Nagle, so sequence rules are easy to script. */
export const PLAIN: Partial<TcpConfig> = {
  windowScale: false,
  sack: false,
  timestamps: false,
  delayedAckMs: false,
  nagle: false,
  mss: 536,
  recvBufferBytes: 64 * 1024,
  sendBufferBytes: 64 * 1024,
  congestionControl: 'newreno',
};

export interface SegSpec {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOption[];
  payload?: Uint8Array | string;
}

export function tcp(s: SegSpec, from = REMOTE, to = LOCAL): TcpRepr {
  const payload = typeof s.payload === 'string' ? new TextEncoder().encode(s.payload) : (s.payload ?? new Uint8Array(0));
  return {
    srcPort: from.port,
    dstPort: to.port,
    seq: s.seq >>> 0,
    ack: (s.ack ?? 0) >>> 0,
    flags: s.flags,
    window: s.window ?? 65535,
    urgent: 0,
    options: s.options ?? [],
    payload,
  };
}

export function text(u: Uint8Array): string {
  return new TextDecoder().decode(u);
}

export class Script {
  now = 0;
  constructor(
    public conn: TcpConnection,
    readonly traces: TraceRecord[] = [],
  ) {}

  recv(s: SegSpec, ecn = 0): void {
    this.conn.handleSegment({ tcp: tcp(s), ecn }, this.now);
  }
  /** Exactly one segment is pending; returns it after checking the given fields. */
  send(expect?: Partial<Omit<SegSpec, 'payload'>> & { payload?: string; len?: number }): SegmentOut {
    const out = this.conn.pollTransmit(this.now);
    if (out === null) throw new Error('expected a segment, got none');
    if (expect) {
      const t = out.tcp;
      const got: Record<string, unknown> = {};
      const want: Record<string, unknown> = {};
      if (expect.seq !== undefined) ((got.seq = t.seq), (want.seq = expect.seq >>> 0));
      if (expect.ack !== undefined) ((got.ack = t.ack), (want.ack = expect.ack >>> 0));
      if (expect.flags !== undefined) ((got.flags = flagNames(t.flags)), (want.flags = flagNames(expect.flags)));
      if (expect.window !== undefined) ((got.window = t.window), (want.window = expect.window));
      if (expect.payload !== undefined) ((got.payload = text(t.payload)), (want.payload = expect.payload));
      if (expect.len !== undefined) ((got.len = t.payload.length), (want.len = expect.len));
      expect_(got).toEqual(want);
    }
    return out;
  }
  noSend(): void {
    const out = this.conn.pollTransmit(this.now);
    if (out !== null) throw new Error(`expected no segment, got ${describe(out)}`);
  }
  /** Drains every pending segment. */
  drain(): SegmentOut[] {
    const r: SegmentOut[] = [];
    for (let i = 0; i < 10000; i++) {
      const o = this.conn.pollTransmit(this.now);
      if (o === null) return r;
      r.push(o);
    }
    throw new Error('pollTransmit livelock');
  }
  events(): TcpEvent[] {
    const r: TcpEvent[] = [];
    for (let e = this.conn.pollEvent(); e !== null; e = this.conn.pollEvent()) r.push(e);
    return r;
  }
  /** Advances the clock to the next deadline (or by `ms`) and runs the timers. */
  advance(ms?: number): void {
    if (ms === undefined) {
      const t = this.conn.pollTimeout();
      if (t === null) throw new Error('no timer armed');
      this.now = Math.max(this.now, t);
    } else {
      this.now += ms;
    }
    this.conn.handleTimeout(this.now);
  }
}

const expect_ = (v: unknown) => expect(v);

export function flagNames(f: number): string {
  const n: string[] = [];
  for (const [k, v] of Object.entries(TcpFlag)) if (f & v) n.push(k);
  return n.join('|');
}

export function describe(o: SegmentOut): string {
  const t = o.tcp;
  return `<seq=${t.seq}><ack=${t.ack}><ctl=${flagNames(t.flags)}><len=${t.payload.length}><wnd=${t.window}>`;
}

export function connectScript(config: Partial<TcpConfig> = PLAIN, extra: Partial<TcpConnectOptions> = {}): Script {
  const traces: TraceRecord[] = [];
  const conn = TcpConnection.connect({
    local: LOCAL,
    remote: REMOTE,
    iss: LOCAL_ISS,
    now: 0,
    config,
    trace: (r) => traces.push(r),
    ...extra,
  });
  return new Script(conn, traces);
}

/** SYN-SENT with the SYN already sent. */
export function synSent(config: Partial<TcpConfig> = PLAIN): Script {
  const s = connectScript(config);
  const syn = s.send({ seq: LOCAL_ISS });
  expect(syn.tcp.flags & (F.SYN | F.ACK | F.RST | F.FIN)).toBe(F.SYN);
  return s;
}

/** ESTABLISHED (active open) with nothing in flight: local ISS+1, remote ISS+1. */
export function established(config: Partial<TcpConfig> = PLAIN, window = 65535, synAckOptions: TcpOption[] = []): Script {
  const s = synSent(config);
  s.recv({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: F.SYN | F.ACK, window, options: synAckOptions });
  s.send({ seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, flags: F.ACK });
  s.events();
  return s;
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Passive open: SYN-RECEIVED from a SYN with `synOptions`; the SYN-ACK is still pending. */
export function passiveOpen(synOptions: TcpOption[] = [], config: Partial<TcpConfig> = PLAIN, window = 65535): Script {
  const conn = TcpConnection.accept({
    local: LOCAL,
    remote: REMOTE,
    iss: LOCAL_ISS,
    now: 0,
    config,
    syn: { tcp: tcp({ seq: REMOTE_ISS, flags: F.SYN, window, options: synOptions }), ecn: 0 },
  });
  return new Script(conn);
}

/** SYN-RECEIVED after a passive open (a bare SYN with no options), the SYN-ACK already sent. */
export function acceptedScript(config: Partial<TcpConfig> = PLAIN): Script {
  const s = passiveOpen([], config);
  s.send({ seq: LOCAL_ISS, ack: REMOTE_ISS + 1, flags: F.SYN | F.ACK });
  return s;
}

/** A connection put in `state` (TIME-WAIT lasts 10 s), with SND.NXT and RCV.NXT in that state. */
export function inState(state: TcpState): { s: Script; sndNxt: number; rcvNxt: number } {
  const L = LOCAL_ISS + 1;
  const R = REMOTE_ISS + 1;
  switch (state) {
    case 'SYN-SENT':
      return { s: synSent(), sndNxt: L, rcvNxt: 0 };
    case 'SYN-RECEIVED':
      return { s: acceptedScript(), sndNxt: L, rcvNxt: R };
    case 'CLOSED': {
      const s = established();
      s.conn.abort();
      s.drain();
      s.events();
      return { s, sndNxt: L, rcvNxt: R };
    }
    default:
      break;
  }
  const s = established({ ...PLAIN, timeWaitMs: 10_000 });
  switch (state) {
    case 'ESTABLISHED':
      return { s, sndNxt: L, rcvNxt: R };
    case 'FIN-WAIT-1':
      s.conn.shutdown();
      s.send({ flags: F.ACK | F.FIN });
      return { s, sndNxt: L + 1, rcvNxt: R };
    case 'FIN-WAIT-2':
      s.conn.shutdown();
      s.send({ flags: F.ACK | F.FIN });
      s.recv({ seq: R, ack: L + 1, flags: F.ACK });
      return { s, sndNxt: L + 1, rcvNxt: R };
    case 'CLOSE-WAIT':
      s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN });
      s.send({ ack: R + 1 });
      return { s, sndNxt: L, rcvNxt: R + 1 };
    case 'CLOSING':
      s.conn.shutdown();
      s.send({ flags: F.ACK | F.FIN });
      s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN });
      s.send({ ack: R + 1 });
      return { s, sndNxt: L + 1, rcvNxt: R + 1 };
    case 'LAST-ACK':
      s.recv({ seq: R, ack: L, flags: F.ACK | F.FIN });
      s.send({ ack: R + 1 });
      s.conn.shutdown();
      s.send({ flags: F.ACK | F.FIN });
      return { s, sndNxt: L + 1, rcvNxt: R + 1 };
    case 'TIME-WAIT':
      s.conn.shutdown();
      s.send({ flags: F.ACK | F.FIN });
      s.recv({ seq: R, ack: L + 1, flags: F.ACK | F.FIN });
      s.send({ ack: R + 1 });
      return { s, sndNxt: L + 1, rcvNxt: R + 1 };
    case 'LISTEN':
      throw new Error('LISTEN lives in the Host, not in TcpConnection');
    default: {
      const never: never = state;
      throw new Error(`no builder for ${String(never)}`);
    }
  }
}

/** The error of the `closed` event among the pending events (undefined when there is none). */
export function closedWith(s: Script): TcpError | null | undefined {
  const e = s.events().find((x) => x.type === 'closed');
  return e && e.type === 'closed' ? e.error : undefined;
}
