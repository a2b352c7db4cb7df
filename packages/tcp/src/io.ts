/**
 * The two things a Host needs from its environment, defined here so that `tcp` never imports `link`:
 * links implement `PacketIo` structurally, and real or virtual clocks implement `Clock`.
 * Times are milliseconds (floating point allowed) on the clock's own time line.
 */

/** Carries whole IP packets (IPv4 or IPv6, no link-layer header) on and off some wire. */
export interface PacketIo {
  /** A short name for logs and traces, e.g. "raw:10.0.0.1" or "sim:client". */
  readonly name: string;
  /** Largest IP packet this link carries, in bytes (e.g. 1500). */
  readonly mtu: number;
  /**
   * Sends one IP packet. The link copies what it needs before returning, so the caller may reuse
   * the buffer. Returns false when the packet was dropped locally (queue full, link closed).
   */
  send(packet: Uint8Array): boolean;
  /**
   * Sets the receive handler. Each packet is a fresh buffer (or a view of one) that the handler
   * owns; links that receive into reused native buffers copy before calling.
   * Only one handler: setting another replaces it.
   */
  onPacket(handler: (packet: Uint8Array) => void): void;
  /** Stops receiving, releases sockets/rules/captures. Idempotent. */
  close(): Promise<void>;
}

export interface TimerHandle {
  cancel(): void;
}

/** Real (wall) or virtual (simulator) time. */
export interface Clock {
  /** Current time in milliseconds. */
  now(): number;
  /** Calls `fn` once when the clock reaches `at` (absolute ms). A time in the past fires soon. */
  setTimer(at: number, fn: () => void): TimerHandle;
}

/** The clock for real links: monotonic milliseconds from performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(at: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, at - performance.now()));
    return { cancel: () => clearTimeout(t) };
  },
};
