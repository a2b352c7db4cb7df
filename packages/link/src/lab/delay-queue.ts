/**
 * The FIFO of one direction of the delay bridge: frames wait until `arrival + delay`. With one
 * constant delay a FIFO keeps arrival order, so the head is always the next frame due. Sans-IO: the
 * caller passes `now` (ms) and arms its own timer for `nextDue()`. Bounded in frames and bytes; what
 * does not fit is dropped and counted, as a full router queue would.
 */
export interface DelayQueueStats {
  enqueued: number;
  sent: number;
  dropped: number;
}

export class DelayQueue {
  readonly delayMs: number;
  readonly maxFrames: number;
  readonly maxBytes: number;
  private frames: Uint8Array[] = [];
  private due: number[] = [];
  private head = 0;
  private bytes = 0;
  readonly stats: DelayQueueStats = { enqueued: 0, sent: 0, dropped: 0 };

  constructor(delayMs: number, maxFrames = 100_000, maxBytes = 256 * 1024 * 1024) {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0, got ${delayMs}`);
    this.delayMs = delayMs;
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
  }

  get length(): number {
    return this.frames.length - this.head;
  }

  /** Queues a frame the caller no longer touches (copy buffers that native code reuses). */
  push(frame: Uint8Array, now: number): boolean {
    if (this.length >= this.maxFrames || this.bytes + frame.length > this.maxBytes) {
      this.stats.dropped++;
      return false;
    }
    this.frames.push(frame);
    this.due.push(now + this.delayMs);
    this.bytes += frame.length;
    this.stats.enqueued++;
    return true;
  }

  /** When the head frame is due, or null when empty. */
  nextDue(): number | null {
    return this.length > 0 ? this.due[this.head] : null;
  }

  /** Removes and returns every frame due at `now` (oldest first). */
  popDue(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.head < this.frames.length && this.due[this.head] <= now) {
      const f = this.frames[this.head];
      out.push(f);
      this.bytes -= f.length;
      this.head++;
    }
    this.stats.sent += out.length;
    // Compact now and then so the arrays do not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.due = this.due.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
