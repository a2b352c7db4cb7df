/**
 * Recording any PacketIo (raw socket, pcap link, simulator) into a pcap file: a wrapper that writes
 * every packet sent and received, stamped by the given clock, and otherwise behaves like the link.
 */
import type { Clock, PacketIo } from '@tcpls/tcp';
import type { PacketSink } from '../sim/network.js';

export interface CaptureOptions {
  /** Record outgoing packets (default true). */
  sent?: boolean;
  /** Record incoming packets (default true). */
  received?: boolean;
}

/** Returns a PacketIo that forwards to `io` and records traffic into `sink` with `clock.now()` times. */
export function capturePacketIo(io: PacketIo, sink: PacketSink, clock: Clock, opts: CaptureOptions = {}): PacketIo {
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
