/**
 * What the TCPLS session needs from the layers under it, kept small so the session stays sans-IO
 * and testable with in-memory fakes. The coordinator adapts the real TLS engine (packages/tls) and
 * TCP connection (packages/tcp) to these.
 */
import type { TcpOption } from '@tcpls/tcp/wire';
import type { TlsAlertName } from './errors.js';

/** How a connection is ended (docs/wire-format.md §5). */
export type ChannelClose =
  /** TLS close_notify, then TCP FIN: the last connection of a session. */
  | { kind: 'close_notify' }
  /** TCP FIN without any TLS record: a connection abandoned by a Connection Reset frame. */
  | { kind: 'fin' }
  /** Fatal TLS alert, then close (RFC 8446 §6.2). */
  | { kind: 'alert'; alert: TlsAlertName; code: number };

/** One TCP connection's TLS record layer, after the handshake (application-data records). */
export interface RecordChannel {
  /** Largest record plaintext this channel takes; the profile's limit (16384) when absent. */
  readonly maxPlaintext?: number;
  /**
   * Protects and sends one application-data record (nonce = IV XOR (connection id ‖ sequence)).
   * Returns the record sequence number it used on this connection, so ACKs can be matched.
   */
  sendRecord(plaintext: Uint8Array): bigint;
  /** Bytes the channel will take now (room in the TCP send buffer); unlimited when absent. */
  sendCapacity?(): number;
  close(how: ChannelClose): void;
}

/** One SYN or SYN-ACK as our TCP sent or parsed it. */
export interface SynSegmentInfo {
  /** TCP flag byte (CWR..FIN). */
  flags: number;
  /** Sequence number (the ISN). */
  seq: number;
  /** Raw window field. */
  window: number;
  /** Options exactly as on the wire, in order (NOPs and EOL included). */
  options: readonly TcpOption[];
  /** ECE/CWR bits (0x40/0x80) when the TCP reports them apart from `flags`; OR-ed into flags. */
  ecnFlags?: number;
  /** IP ECN codepoint of the packet (0..3). */
  ipEcn: number;
}

/** Our SYN (client) or SYN-ACK (server), and the peer's SYN-ACK or SYN as our TCP parsed it. */
export interface TcpSynInfo {
  sent: SynSegmentInfo | null;
  received: SynSegmentInfo | null;
}

/** The handle on one TCP connection's engine that the TCP-options channel uses. */
export interface TcpControl {
  synInfo(): TcpSynInfo;
  /** RFC 5482 / RFC 9293 §3.8.3 user timeout, in milliseconds. */
  setUserTimeout(ms: number): void;
  /** Switches the congestion controller; throws (ideally with code 'unknown-controller') if it has none by that name. */
  setCongestionControl(name: string, params: Record<string, number>): void;
}
