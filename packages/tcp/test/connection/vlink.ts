/**
 * A tiny in-test virtual link between two TcpConnections: a virtual clock, one-way delay, an
 * optional bottleneck rate with a tail-drop queue, and random loss from a seeded PRNG.
 * (The full simulator lives in packages/link; this is only enough to exercise the engine.)
 */
import { createHash } from 'node:crypto';
import { TcpConnection } from '../../src/connection/connection.js';
import { buildTcpPacket, parseTcpPacket } from '../../src/wire/packet.js';
import type { SegmentOut, TcpConfig, TraceRecord } from '../../src/connection/types.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LinkParams {
  delayMs: number;
  /** Bytes per millisecond (e.g. 1250 = 10 Mbit/s); Infinity for no bottleneck. */
  rate: number;
  /** Tail drop when the queue would hold more than this many ms of data. */
  queueMs: number;
  loss: number;
  seed: number;
  /** Extra random delay in [0, jitterMs) per packet: reorders packets. */
  jitterMs?: number;
  /** ECN-capable packets that find more than this many ms of queue are marked CE (a simple AQM). */
  ecnMarkMs?: number;
  /** Carry real IP packets: every segment is emitted and parsed by the wire codecs. */
  wire?: boolean;
}

interface InFlight {
  at: number;
  seg: SegmentOut;
  to: 'a' | 'b';
}

export interface TransferResult {
  ok: boolean;
  received: Uint8Array;
  a: TcpConnection;
  b: TcpConnection;
  traceA: TraceRecord[];
  now: number;
  steps: number;
  dropped: number;
}

/** Through the codecs: emit an IPv4 packet with checksums, parse it back (checksums verified). */
function viaWire(s: SegmentOut, src: string, dst: string): SegmentOut {
  const pkt = buildTcpPacket({ src, dst, ecn: s.ecn }, s.tcp);
  const { ip, tcp } = parseTcpPacket(pkt);
  return { tcp, ecn: ip.ecn };
}

function cloneSeg(s: SegmentOut): SegmentOut {
  // The engine's payload may be a view into its send ring: copy before holding it in the link.
  return { ecn: s.ecn, tcp: { ...s.tcp, options: s.tcp.options.slice(), payload: s.tcp.payload.slice() } };
}

export function sha256(u: Uint8Array): string {
  return createHash('sha256').update(u).digest('hex');
}

/** Sends `data` from a to b (a active opener, b passive) over the link; a closes after sending. */
export function transfer(data: Uint8Array, link: LinkParams, cfgA: Partial<TcpConfig>, cfgB: Partial<TcpConfig>, maxSteps = 2_000_000): TransferResult {
  const rnd = mulberry32(link.seed);
  const traceA: TraceRecord[] = [];
  let now = 0;
  const a = TcpConnection.connect({
    local: { address: '10.0.0.1', port: 40000 },
    remote: { address: '10.0.0.2', port: 443 },
    iss: 0xfffff000, // wraps the sequence space early in the transfer
    now,
    config: cfgA,
    tsOffset: 123456,
    trace: (r) => traceA.push(r),
  });
  let b: TcpConnection | null = null;
  const queue: InFlight[] = [];
  const busy = { a: 0, b: 0 };
  let dropped = 0;
  const chunks: Uint8Array[] = [];
  let receivedLen = 0;
  let written = 0;
  let shut = false;

  const sendOn = (to: 'a' | 'b', seg0: SegmentOut) => {
    const seg = link.wire ? (to === 'b' ? viaWire(seg0, '10.0.0.1', '10.0.0.2') : viaWire(seg0, '10.0.0.2', '10.0.0.1')) : seg0;
    if (rnd() < link.loss) {
      dropped++;
      return;
    }
    const size = seg.tcp.payload.length + 40;
    let depart = now;
    if (Number.isFinite(link.rate)) {
      const start = Math.max(now, busy[to]);
      if (start - now > link.queueMs) {
        dropped++;
        return;
      }
      depart = start + size / link.rate;
      busy[to] = depart;
      if (link.ecnMarkMs !== undefined && start - now > link.ecnMarkMs && (seg.ecn === 1 || seg.ecn === 2)) {
        const marked = cloneSeg(seg);
        marked.ecn = 3;
        queue.push({ at: depart + link.delayMs, seg: marked, to });
        return;
      }
    }
    queue.push({ at: depart + link.delayMs + (link.jitterMs ? rnd() * link.jitterMs : 0), seg: cloneSeg(seg), to });
  };

  let steps = 0;
  for (; steps < maxSteps; steps++) {
    // Application: a writes as much as it may, then shuts down.
    while (written < data.length && a.writableBytes > 0 && a.state !== 'CLOSED') {
      written += a.write(data.subarray(written, Math.min(data.length, written + 65536)));
    }
    if (written === data.length && !shut && a.state === 'ESTABLISHED') {
      a.shutdown();
      shut = true;
    }
    if (b) {
      for (let r = b.read(); r !== null; r = b.read()) {
        chunks.push(r);
        receivedLen += r.length;
      }
      if (b.state === 'CLOSE-WAIT') b.shutdown();
    }
    // Transmit.
    for (let s = a.pollTransmit(now); s !== null; s = a.pollTransmit(now)) sendOn('b', s);
    if (b) for (let s = b.pollTransmit(now); s !== null; s = b.pollTransmit(now)) sendOn('a', s);
    while (a.pollEvent() !== null);
    if (b) while (b.pollEvent() !== null);
    if (a.state === 'CLOSED' || (a.state === 'TIME-WAIT' && b !== null && b.state === 'CLOSED')) break;
    // Next event time.
    let next = Infinity;
    for (const q of queue) next = Math.min(next, q.at);
    const ta = a.pollTimeout();
    if (ta !== null) next = Math.min(next, ta);
    const tb = b?.pollTimeout() ?? null;
    if (tb !== null) next = Math.min(next, tb);
    if (!Number.isFinite(next)) break;
    now = Math.max(now, next);
    // Deliver due packets in order.
    queue.sort((x, y) => x.at - y.at);
    while (queue.length > 0 && queue[0].at <= now) {
      const p = queue.shift()!;
      if (p.to === 'b') {
        if (b === null) {
          b = TcpConnection.accept({
            local: { address: '10.0.0.2', port: 443 },
            remote: { address: '10.0.0.1', port: 40000 },
            iss: 0xffffff00, // the receive side wraps too
            now,
            config: cfgB,
            syn: { tcp: p.seg.tcp, ecn: p.seg.ecn },
            tsOffset: 999,
          });
        } else {
          b.handleSegment({ tcp: p.seg.tcp, ecn: p.seg.ecn }, now);
        }
      } else {
        a.handleSegment({ tcp: p.seg.tcp, ecn: p.seg.ecn }, now);
      }
    }
    if (ta !== null && ta <= now) a.handleTimeout(now);
    if (b && tb !== null && tb <= now) b.handleTimeout(now);
  }
  const received = new Uint8Array(receivedLen);
  let off = 0;
  for (const c of chunks) {
    received.set(c, off);
    off += c.length;
  }
  return { ok: receivedLen === data.length, received, a, b: b!, traceA, now, steps, dropped };
}
