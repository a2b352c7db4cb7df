/**
 * TCPLS frame representations (docs/wire-format.md §3). These are plain validated values; the
 * profile's codec turns a list of them into a record's plaintext and back. u64 fields are bigint.
 */

/** One SYN or SYN-ACK as a TCP put it on (or took it off) the wire, as carried in a report. */
export interface ReportedSegment {
  /** The TCP flag byte (CWR..FIN), ECE/CWR included. */
  flags: number;
  /** The segment's sequence number: the ISN. */
  seq: number;
  /** The raw (unscaled) 16-bit window field. */
  window: number;
  /** The IP ECN codepoint of the packet (0..3). */
  ipEcn: number;
  /** The TCP option bytes exactly as on the wire (0..40 bytes). */
  options: Uint8Array;
}

/** RFC 5482 user timeout, as in the UTO option: G bit (minutes) + 15-bit value. */
export interface UserTimeoutSetting {
  kind: 'userTimeout';
  granularity: 'seconds' | 'minutes';
  /** 1..32767 */
  timeout: number;
}
export interface CongestionControlSetting {
  kind: 'congestionControl';
  /** 1..32 chars of [a-z0-9_-] */
  name: string;
  /** Up to 16 finite numbers; keys 1..32 chars, a letter then [a-zA-Z0-9_-]. */
  params: Record<string, number>;
}
/** A setting kind this implementation does not know, kept so it can be refused politely. */
export interface UnknownSetting {
  kind: 'unknown';
  code: number;
  data: Uint8Array;
}
export type TcpSetting = UserTimeoutSetting | CongestionControlSetting | UnknownSetting;

export const SettingCode = { userTimeout: 1, congestionControl: 2 } as const;

/** Apply Refuse reasons (docs/wire-format.md §3.10). */
export const ApplyRefuseReason = {
  notAllowed: 1,
  outOfRange: 2,
  unknownController: 3,
  unknownConnection: 4,
  unsupportedSetting: 5,
  failed: 6,
} as const;
export type ApplyRefuseReasonName = keyof typeof ApplyRefuseReason;

export function refuseReasonName(code: number): string {
  for (const [k, v] of Object.entries(ApplyRefuseReason)) if (v === code) return k;
  return `unknown(${code})`;
}

export type Frame =
  /** A run of `length` Padding bytes (decoded runs are merged into one frame). */
  | { type: 'padding'; length: number }
  | { type: 'ping' }
  | { type: 'stream'; streamId: number; offset: bigint; data: Uint8Array; fin: boolean }
  | { type: 'ack'; connectionId: number; highestSeq: bigint }
  | { type: 'new-token'; sequence: number; token: Uint8Array }
  | { type: 'connection-reset'; connectionId: number }
  | { type: 'new-address'; addressId: number; version: 4 | 6; address: Uint8Array; port: number }
  | { type: 'remove-address'; addressId: number }
  | { type: 'stream-change'; streamId: number; offset: bigint }
  | {
      type: 'tcp-options-report';
      connectionId: number;
      sent: ReportedSegment | null;
      received: ReportedSegment | null;
    }
  | { type: 'tcp-options-apply'; requestId: number; connectionId: number; setting: TcpSetting }
  | { type: 'apply-ack'; requestId: number }
  | { type: 'apply-refuse'; requestId: number; reason: number }
  | { type: 'max-stream-data'; streamId: number; maxOffset: bigint };

export type FrameType = Frame['type'];

/** Every frame but Padding and ACK elicits an ACK (docs/wire-format.md §3). */
export function isAckEliciting(f: Frame): boolean {
  return f.type !== 'padding' && f.type !== 'ack';
}

/** Bytes of a Stream frame besides its data: length u16 ‖ offset u64 ‖ stream id u32 ‖ type. */
export const STREAM_FRAME_OVERHEAD = 15;
export const TOKEN_LENGTH = 32;
