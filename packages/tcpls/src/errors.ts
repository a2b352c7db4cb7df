/**
 * Typed TCPLS errors and the one mapping from an error code to the TLS alert it sends
 * (docs/wire-format.md §4). An error with an alert is a session error: the session aborts with that
 * fatal alert on every connection. An error without one is local (API misuse) and is only thrown.
 */

/** TLS 1.3 alert descriptions we send (RFC 8446 §6). */
export const TlsAlert = {
  unexpected_message: 10,
  record_overflow: 22,
  illegal_parameter: 47,
  decode_error: 50,
  internal_error: 80,
} as const;
export type TlsAlertName = keyof typeof TlsAlert;

export const TcplsErrorCode = {
  frameEncoding: 'frame-encoding',
  tooManyFrames: 'too-many-frames',
  unknownFrame: 'unknown-frame',
  recordOverflow: 'record-overflow',
  frameNotAllowed: 'frame-not-allowed',
  streamId: 'stream-id',
  streamState: 'stream-state',
  flowControl: 'flow-control',
  streamLimit: 'stream-limit',
  badAck: 'bad-ack',
  badToken: 'bad-token',
  unknownConnection: 'unknown-connection',
  badExtension: 'bad-extension',
  apiMisuse: 'api-misuse',
  closed: 'closed',
} as const;
export type TcplsErrorCode = (typeof TcplsErrorCode)[keyof typeof TcplsErrorCode];

/** The alert each code sends; undefined for local errors (docs/wire-format.md §4). */
export const alertForCode: Readonly<Record<TcplsErrorCode, TlsAlertName | undefined>> = {
  'frame-encoding': 'decode_error',
  'too-many-frames': 'decode_error',
  'unknown-frame': 'unexpected_message',
  'record-overflow': 'record_overflow',
  'frame-not-allowed': 'unexpected_message',
  'stream-id': 'illegal_parameter',
  'stream-state': 'illegal_parameter',
  'flow-control': 'illegal_parameter',
  'stream-limit': 'illegal_parameter',
  'bad-ack': 'illegal_parameter',
  'bad-token': 'illegal_parameter',
  'unknown-connection': 'illegal_parameter',
  'bad-extension': 'decode_error',
  'api-misuse': undefined,
  closed: undefined,
};

export class TcplsError extends Error {
  /** The fatal TLS alert this error sends, or undefined for a local (thrown-only) error. */
  readonly alert: TlsAlertName | undefined;
  constructor(
    readonly code: TcplsErrorCode,
    message: string,
    alert?: TlsAlertName,
  ) {
    super(message);
    this.name = 'TcplsError';
    this.alert = alert ?? alertForCode[code];
  }
}
