/**
 * Recording any PacketIo (raw socket, pcap link, simulator) into a pcap file: a wrapper that writes
 * every packet sent and received, stamped by the given clock, and otherwise behaves like the link.
 */
import type { Clock, PacketIo } from '@tcpls/tcp';
import type { PacketSink } from '../sim/network.js';
import { wallClockMs } from '../real/stats.js';

/**
 * Wall-clock time (ms since the Unix epoch), the default for captures of the real links, so that
 * a PcapWriter with its default epoch (0) writes true dates. Only `now` is ever used here.
 */
const wallClock: Clock = {
  now: wallClockMs,
  setTimer(at: number, fn: () => void) {
    const t = setTimeout(fn, Math.max(0, at - wallClockMs()));
    return { cancel: () => clearTimeout(t) };
  },
};

export interface CaptureOptions {
  /** Record outgoing packets (default true). */
  sent?: boolean;
  /** Record incoming packets (default true). */
  received?: boolean;
}

/**
 * Returns a PacketIo that forwards to `io` and records traffic into `sink` with `clock.now()` times.
 * One call for any link: `capturePacketIo(rawLink, PcapWriter.toFile('x.pcap'))` stamps packets
 * with the wall clock (the default); for a SimNetwork pass `sim.clock` so times are virtual.
 */
export function capturePacketIo(io: PacketIo, sink: PacketSink, clock: Clock = wallClock, opts: CaptureOptions = {}): PacketIo {
  const sent = opts.sent ?? true;
  const received = opts.received ?? true;
  return {
    get name() {
      return io.name;
    },
    get mtu() {
      return io.mtu;
    },
    send(packet: Uint8Array): boolean {
      // Recorded before sending: the caller may reuse its buffer once send() returns.
      if (sent) sink.writePacket(packet, clock.now(), { direction: 'out' });
      return io.send(packet);
    },
    onPacket(handler: (packet: Uint8Array) => void): void {
      io.onPacket(
        received
          ? (p) => {
              sink.writePacket(p, clock.now(), { direction: 'in' });
              handler(p);
            }
          : handler,
      );
    },
    close(): Promise<void> {
      return io.close();
    },
  };
}
