/**
 * Bounded byte rings for the send and receive sides. The capacity (the socket buffer size) is a
 * bound, not an allocation: the storage starts empty and grows on demand, by doubling (amortised
 * O(1) per byte, no allocation per segment), up to the capacity, so a peer can never make us
 * allocate more than the configured buffers, and an idle connection costs almost nothing.
 * The send ring gives its storage back when it drains (every byte acknowledged, which is rare
 * during a bulk transfer); the receive ring keeps it until release() (the engine calls it when
 * the connection has received nothing for a while, see TcpConnection).
 */

/** Smallest storage a ring allocates: one or two segments; also the size a drained ring may keep. */
export const RING_MIN_BYTES = 4096;
const EMPTY_STORAGE = new Uint8Array(0);

/**
 * Storage without zero-filling where Node's Buffer is available (a large zeroed allocation per
 * bulk read was a tenth of the receive path's CPU at MTU 9000): the rings only ever expose bytes
 * they wrote (every view and read is bounded by the written range), like Node's own sockets,
 * whose chunks are slices of unzeroed pools. Elsewhere a plain zeroed Uint8Array.
 */
const allocStorage: (n: number) => Uint8Array =
  typeof Buffer === 'function' && typeof Buffer.allocUnsafeSlow === 'function'
    ? (n) => {
        const b = Buffer.allocUnsafeSlow(n);
        return new Uint8Array(b.buffer, b.byteOffset, b.length);
      }
    : (n) => new Uint8Array(n);

/** Next storage size for `need` bytes: at least double the current one, a power of two, <= cap. */
function grownSize(current: number, need: number, cap: number): number {
  let size = Math.max(RING_MIN_BYTES, current * 2);
  while (size < need) size *= 2;
  return Math.min(size, cap);
}

export class SendRing {
  private buf: Uint8Array = EMPTY_STORAGE;
  private start = 0;
  private len = 0;

  constructor(readonly capacity: number) {}
  /** Bytes of storage currently allocated (<= capacity). */
  get allocated(): number {
    return this.buf.length;
  }
  get length(): number {
    return this.len;
  }
  get free(): number {
    return this.capacity - this.len;
  }
  /** Copies as much of `data` as fits; returns the count. */
  append(data: Uint8Array): number {
    const n = Math.min(data.length, this.capacity - this.len);
    if (n === 0) return 0;
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    const cap = this.buf.length;
    const pos = (this.start + this.len) % cap;
    const first = Math.min(n, cap - pos);
    this.buf.set(data.subarray(0, first), pos);
    if (first < n) this.buf.set(data.subarray(first, n), 0);
    this.len += n;
    return n;
  }
  /** Bytes [offset, offset + n) counted from the oldest byte. */
  view(offset: number, n: number): Uint8Array {
    if (offset < 0 || n < 0 || offset + n > this.len) throw new RangeError('SendRing.view out of range');
    const cap = this.buf.length;
    if (n === 0) return this.buf.subarray(0, 0);
    const pos = (this.start + offset) % cap;
    if (pos + n <= cap) return this.buf.subarray(pos, pos + n);
    const out = new Uint8Array(n);
    const first = cap - pos;
    out.set(this.buf.subarray(pos, cap), 0);
    out.set(this.buf.subarray(0, n - first), first);
    return out;
  }
  /** Drops the `n` oldest bytes (acknowledged). */
  consume(n: number): void {
    const k = Math.min(n, this.len);
    if (k === 0) return;
    this.len -= k;
    if (this.len === 0) {
      // Drained: release the storage (views handed out keep the old bytes alive as long as needed).
      this.start = 0;
      if (this.buf.length > RING_MIN_BYTES) this.buf = EMPTY_STORAGE;
      return;
    }
    this.start = (this.start + k) % this.buf.length;
  }

  /** Re-allocates the storage for `need` bytes, unwrapping the live bytes to offset 0. */
  private grow(need: number): void {
    const next = allocStorage(grownSize(this.buf.length, need, this.capacity));
    const old = this.buf;
    if (this.len > 0) {
      const first = Math.min(this.len, old.length - this.start);
      next.set(old.subarray(this.start, this.start + first), 0);
      if (first < this.len) next.set(old.subarray(0, this.len - first), first);
    }
    this.buf = next;
    this.start = 0;
  }
}

/**
 * Receive buffer with in-place reassembly: in-order bytes not yet read by the application sit at
 * the front; out-of-order bytes are written directly at their place after them and tracked by a
 * bounded list of intervals (offsets relative to RCV.NXT). Capacity = readable + window, so the
 * advertised window never exceeds the free space.
 */
export class RecvRing {
  private buf: Uint8Array = EMPTY_STORAGE;
  /** Size of the storage last handed to the reader: the next storage starts at that size. */
  private sizeHint = 0;
  private start = 0;
  private readableLen = 0;
  /** Out-of-order intervals [from, to) as offsets from RCV.NXT, sorted, disjoint, non-adjacent. */
  private ooo: Array<[number, number]> = [];
  /** Offset of the most recently received out-of-order block (RFC 2018: report it first). */
  lastOooFrom = -1;

  constructor(
    readonly capacity: number,
    readonly maxIntervals: number,
  ) {}
  /** Bytes of storage currently allocated (<= capacity). */
  get allocated(): number {
    return this.buf.length;
  }
  get readable(): number {
    return this.readableLen;
  }
  /** Free space after the readable bytes (the receive window before SWS rounding). */
  get free(): number {
    return this.capacity - this.readableLen;
  }
  get oooIntervals(): ReadonlyArray<readonly [number, number]> {
    return this.ooo;
  }
  get oooBytes(): number {
    let s = 0;
    for (const [a, b] of this.ooo) s += b - a;
    return s;
  }

  private writeAt(offset: number, data: Uint8Array): void {
    const end = this.readableLen + offset + data.length;
    if (end > this.buf.length) this.grow(end);
    const cap = this.buf.length;
    const pos = (this.start + this.readableLen + offset) % cap;
    const n = data.length;
    const first = Math.min(n, cap - pos);
    this.buf.set(first === n ? data : data.subarray(0, first), pos);
    if (first < n) this.buf.set(data.subarray(first), 0);
  }

  /**
   * Stores `data` whose first byte is `offset` bytes after RCV.NXT (offset >= 0; the caller has
   * trimmed to the window). Returns how many bytes became in order (RCV.NXT advance), or -1 if
   * the segment was dropped because the interval list is full.
   */
  insert(offset: number, data: Uint8Array): number {
    const n = data.length;
    if (n === 0) return 0;
    if (offset + n > this.free) throw new RangeError('RecvRing.insert beyond window');
    if (offset > 0) {
      // Merge [offset, offset+n) into the interval list.
      const from = offset;
      const to = offset + n;
      let i = 0;
      while (i < this.ooo.length && this.ooo[i][1] < from) i++;
      let j = i;
      while (j < this.ooo.length && this.ooo[j][0] <= to) j++;
      if (i === j && this.ooo.length >= this.maxIntervals) return -1;
      this.writeAt(offset, data);
      const nf = i < j ? Math.min(from, this.ooo[i][0]) : from;
      const nt = i < j ? Math.max(to, this.ooo[j - 1][1]) : to;
      this.ooo.splice(i, j - i, [nf, nt]);
      this.lastOooFrom = nf;
      return 0;
    }
    this.writeAt(0, data);
    let adv = n;
    // Absorb out-of-order intervals now reached.
    while (this.ooo.length > 0 && this.ooo[0][0] <= adv) {
      adv = Math.max(adv, this.ooo[0][1]);
      this.ooo.shift();
    }
    this.readableLen += adv;
    for (const iv of this.ooo) {
      iv[0] -= adv;
      iv[1] -= adv;
    }
    if (this.lastOooFrom >= 0) this.lastOooFrom = this.lastOooFrom >= adv ? this.lastOooFrom - adv : -1;
    return adv;
  }

  /**
   * Up to `max` in-order bytes, owned by the caller. When the read takes everything buffered, the
   * bytes are contiguous and fill at least half the storage (a bulk reader), the storage itself is
   * handed over as a view instead of being copied, and the ring allocates fresh storage of the
   * same size for the next data: one allocation per read either way, one copy less.
   */
  read(max: number): Uint8Array {
    const n = Math.min(max, this.readableLen);
    if (n === 0) return new Uint8Array(0);
    const cap = this.buf.length;
    if (n === this.readableLen && this.ooo.length === 0 && this.start + n <= cap && 2 * n >= cap) {
      const out = this.buf.subarray(this.start, this.start + n);
      this.sizeHint = cap;
      this.buf = EMPTY_STORAGE;
      this.start = 0;
      this.readableLen = 0;
      return out;
    }
    const out = new Uint8Array(n);
    const first = Math.min(n, cap - this.start);
    out.set(this.buf.subarray(this.start, this.start + first), 0);
    if (first < n) out.set(this.buf.subarray(0, n - first), first);
    this.readableLen -= n;
    if (this.readableLen === 0 && this.ooo.length === 0) {
      // Drained: later data lands at offset 0 (no wrap). The storage is kept: a reader that drains
      // after every batch would otherwise re-grow (and re-copy) it each time. release() frees it.
      this.start = 0;
    } else {
      this.start = (this.start + n) % cap;
    }
    return out;
  }

  /** Frees the storage when nothing is buffered (an idle connection); returns whether it did. */
  release(): boolean {
    if (this.readableLen !== 0 || this.ooo.length !== 0 || this.buf.length === 0) return false;
    this.buf = EMPTY_STORAGE;
    this.start = 0;
    this.sizeHint = 0;
    return true;
  }

  /** Re-allocates the storage to hold `need` bytes from the read position, unwrapping to offset 0. */
  private grow(need: number): void {
    const old = this.buf;
    const next = allocStorage(grownSize(old.length === 0 ? this.sizeHint >>> 1 : old.length, need, this.capacity));
    // Live bytes: the readable ones and everything up to the end of the last out-of-order interval.
    const live = this.readableLen + (this.ooo.length > 0 ? this.ooo[this.ooo.length - 1][1] : 0);
    if (live > 0) {
      const first = Math.min(live, old.length - this.start);
      next.set(old.subarray(this.start, this.start + first), 0);
      if (first < live) next.set(old.subarray(0, live - first), first);
    }
    this.buf = next;
    this.start = 0;
  }

  /** Forget out-of-order data (used when the connection closes). */
  clearOoo(): void {
    this.ooo = [];
    this.lastOooFrom = -1;
  }
}
