/**
 * Test doubles for driving Hosts by hand: a clock the test advances, and a link that queues what
 * the host sends until the test delivers it (optionally as receive bursts, like RawSocketLink).
 */
import type { Clock, PacketIo, TimerHandle } from '../../src/io.js';

export class ManualClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  setTimer(at: number, fn: () => void): TimerHandle {
    const e = { at, fn, live: true };
    this.timers.push(e);
    return { cancel: () => void (e.live = false) };
  }
  /** Fires every timer due at the current time (and those they arm for now). */
  fireDue(): void {
    for (;;) {
      const due = this.timers.filter((e) => e.live && e.at <= this.t);
      if (due.length === 0) return;
      this.timers = this.timers.filter((e) => !due.includes(e));
      for (const e of due) e.fn();
    }
  }
}

/** One end of a pipe: what the host sends is queued until the test delivers it. */
export class QueueIo implements PacketIo {
  readonly mtu = 1040; // MSS 1000 with IPv4
  readonly sent: Uint8Array[] = [];
  handler: (p: Uint8Array) => void = () => {};
  batchEnd: (() => void) | null = null;
  constructor(readonly name: string) {}
  send(packet: Uint8Array): boolean {
    this.sent.push(packet.slice());
    return true;
  }
  onPacket(h: (p: Uint8Array) => void): void {
    this.handler = h;
  }
  async close(): Promise<void> {}
}

/** A QueueIo that also signals the end of each receive burst (ReceiveBurstSource). */
export class BurstIo extends QueueIo {
  onReceiveBatchEnd(fn: () => void): void {
    this.batchEnd = fn;
  }
}
