/** Counters and the capture tap shared by the real links. */

/** Direction of a packet as the link saw it: 'in' from the wire, 'out' to the wire. */
export type RealTapDirection = 'in' | 'out';

/**
 * Optional observer of every IP packet the link delivers or sends (for pcap-file writers).
 * `timeMs` is wall-clock milliseconds since the Unix epoch (fractional), as pcap files want.
 * The packet is only valid during the call: copy it to keep it.
 */
export type RealLinkTap = (direction: RealTapDirection, packet: Uint8Array, timeMs: number) => void;

export interface RealLinkStats {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Packets seen but not meant for this link (other addresses): not errors, just not ours. */
  filtered: number;
  /** Dropped packets by reason (e.g. "tooBig", "malformed", "unresolved", "queueFull"). */
  drops: Record<string, number>;
}

/** Mutable counters behind `stats()`; `snapshot()` returns a copy the caller may keep. */
export class RealLinkCounters {
  packetsIn = 0;
  bytesIn = 0;
  packetsOut = 0;
  bytesOut = 0;
  filtered = 0;
  private readonly dropsByReason = new Map<string, number>();

  drop(reason: string, n = 1): void {
    this.dropsByReason.set(reason, (this.dropsByReason.get(reason) ?? 0) + n);
  }

  dropped(reason: string): number {
    return this.dropsByReason.get(reason) ?? 0;
  }

  snapshot(): RealLinkStats {
    return {
      packetsIn: this.packetsIn,
      bytesIn: this.bytesIn,
      packetsOut: this.packetsOut,
      bytesOut: this.bytesOut,
      filtered: this.filtered,
      drops: Object.fromEntries(this.dropsByReason),
    };
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, for tap timestamps. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
