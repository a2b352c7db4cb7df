/**
 * The simulator's event queue: a binary min-heap keyed by (time, seq). `seq` is a counter the
 * network assigns at insertion, so events due at the same instant run in the order they were
 * scheduled — the property that makes runs deterministic. Each event remembers its heap index, so a
 * cancelled timer leaves the heap at once (O(log n)) instead of lingering as garbage: a TCP host
 * re-arms its retransmission timer on nearly every ACK.
 */

export const SimEventKind = {
  TIMER: 0,
  ARRIVAL: 1,
  LOOPBACK: 2,
} as const;
export type SimEventKind = (typeof SimEventKind)[keyof typeof SimEventKind];

/** One scheduled event. One class with a fixed shape for all kinds keeps property access monomorphic. */
export class SimEvent {
  /** Position in the heap, or -1 when not queued. */
  heapIndex = -1;

  constructor(
    public time: number,
    public seq: number,
    public readonly kind: SimEventKind,
    /** TIMER: the callback. */
    public fn: (() => void) | null,
    /** ARRIVAL / LOOPBACK: the packet. */
    public packet: Uint8Array | null,
    /** ARRIVAL: the link direction (typed loosely here to keep the heap independent of the network). */
    public target: unknown,
    /** The heap that holds the event, so a timer handle can cancel itself. */
    private readonly heap: EventHeap,
  ) {}

  /** TimerHandle.cancel(): removes the event if it has not run yet; idempotent. */
  cancel(): void {
    if (this.heapIndex >= 0) this.heap.remove(this);
    this.fn = null;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export class EventHeap {
  private items: SimEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): SimEvent | undefined {
    return this.items[0];
  }

  /** Creates and inserts an event. */
  push(time: number, seq: number, kind: SimEventKind, fn: (() => void) | null, packet: Uint8Array | null, target: unknown): SimEvent {
    const ev = new SimEvent(time, seq, kind, fn, packet, target, this);
    const i = this.items.length;
    this.items.push(ev);
    ev.heapIndex = i;
    this.up(i);
    return ev;
  }

  pop(): SimEvent | undefined {
    const items = this.items;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (n > 1) {
      items[0] = last;
      last.heapIndex = 0;
      this.down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  remove(ev: SimEvent): void {
    const i = ev.heapIndex;
    const items = this.items;
    if (i < 0 || items[i] !== ev) return;
    const last = items.pop()!;
    ev.heapIndex = -1;
    if (i === items.length) return; // it was the last one
    items[i] = last;
    last.heapIndex = i;
    if (i > 0 && before(last, items[(i - 1) >> 1])) this.up(i);
    else this.down(i);
  }

  private up(i: number): void {
    const items = this.items;
    const ev = items[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p];
      if (!before(ev, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = ev;
    ev.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const ev = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(items[r], items[l]) ? r : l;
      const child = items[c];
      if (!before(child, ev)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = ev;
    ev.heapIndex = i;
  }
}
