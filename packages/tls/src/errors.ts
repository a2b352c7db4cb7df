/**
 * Typed TLS errors and the one mapping from an error to the alert that goes on the wire
 * (RFC 8446 6.2). Errors are layered like rustls: what we detected locally (decode, protocol,
 * incompatibility, certificate, crypto) is kept apart from what the peer told us (AlertReceived).
 */

/** AlertDescription codepoints, RFC 8446 6. */
export const AlertDescription = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateRevoked: 44,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  inappropriateFallback: 86,
  userCanceled: 90,
  missingExtension: 109,
  unsupportedExtension: 110,
  unrecognizedName: 112,
  badCertificateStatusResponse: 113,
  unknownPskIdentity: 115,
  certificateRequired: 116,
  noApplicationProtocol: 120,
} as const;
import { CertificateError, certificateErrorAlert } from './x509/errors.js';

export type AlertDescription = (typeof AlertDescription)[keyof typeof AlertDescription];

export function alertName(d: number): string {
  for (const [k, v] of Object.entries(AlertDescription)) if (v === d) return k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
  return `alert(${d})`;
}

/** The AlertDescription for an RFC name ('decode_error') or its camelCase key ('decodeError'); null if unknown. */
export function alertFromName(name: string): number | null {
  const key = name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return Object.prototype.hasOwnProperty.call(AlertDescription, key) ? AlertDescription[key as keyof typeof AlertDescription] : null;
}

/** Error codes; each names the condition, `tlsErrorToAlert` gives the alert. */
export type TlsErrorCode =
  | 'decode-error' // malformed message, leftover bytes (decode_error)
  | 'illegal-parameter' // well-formed but forbidden value (illegal_parameter)
  | 'unexpected-message' // message not allowed in this state (unexpected_message)
  | 'record-overflow' // record or handshake message larger than allowed (record_overflow)
  | 'bad-record-mac' // AEAD open failed (bad_record_mac)
  | 'handshake-failure' // no common parameters (handshake_failure)
  | 'protocol-version' // peer does not do TLS 1.3 (protocol_version)
  | 'missing-extension' // required extension absent (missing_extension)
  | 'unsupported-extension' // extension the peer did not offer (unsupported_extension)
  | 'decrypt-error' // Finished or signature wrong (decrypt_error)
  | 'bad-certificate'
  | 'unsupported-certificate'
  | 'certificate-expired'
  | 'certificate-unknown'
  | 'unknown-ca'
  | 'certificate-required'
  | 'no-application-protocol'
  | 'unrecognized-name'
  | 'insufficient-security'
  | 'internal-error'
  | 'alert-received' // the peer sent a fatal alert
  | 'aborted' // the application aborted with the alert in `alert` (TlsConnection.abort)
  | 'closed' // API misuse: write after close
  | 'api-misuse';

export class TlsError extends Error {
  constructor(
    readonly code: TlsErrorCode,
    message: string,
    /** For 'alert-received': the peer's AlertDescription; for 'aborted': the alert we send. */
    readonly alert?: number,
  ) {
    super(message);
    this.name = 'TlsError';
  }
}

export function decodeError(msg: string): TlsError {
  return new TlsError('decode-error', msg);
}

/**
 * The one mapping from any error to the alert we send (RFC 8446 6.2). Returns null when no alert
 * should be sent (the peer already closed with an alert, or the error is local API misuse).
 */
export function tlsErrorToAlert(e: unknown): AlertDescription | null {
  if (!(e instanceof TlsError)) {
    // A CertificateError from x509 (duck-typed to keep the layers apart).
    const code = (e as { code?: unknown } | null)?.code;
    if (e instanceof CertificateError) {
      // x509's own mapping (RFC 8446 6.2), so both layers agree.
      switch (certificateErrorAlert(e.code)) {
        case 'certificate_expired':
          return AlertDescription.certificateExpired;
        case 'unknown_ca':
          return AlertDescription.unknownCa;
        case 'bad_certificate':
          return AlertDescription.badCertificate;
        case 'unsupported_certificate':
          return AlertDescription.unsupportedCertificate;
        case 'certificate_unknown':
          return AlertDescription.certificateUnknown;
      }
    }
    void code;
    if ((e as Error | null)?.name === 'CryptoError') return code === 'invalid-point' ? AlertDescription.illegalParameter : AlertDescription.internalError;
    return AlertDescription.internalError;
  }
  switch (e.code) {
    case 'decode-error':
      return AlertDescription.decodeError;
    case 'illegal-parameter':
      return AlertDescription.illegalParameter;
    case 'unexpected-message':
      return AlertDescription.unexpectedMessage;
    case 'record-overflow':
      return AlertDescription.recordOverflow;
    case 'bad-record-mac':
      return AlertDescription.badRecordMac;
    case 'handshake-failure':
      return AlertDescription.handshakeFailure;
    case 'protocol-version':
      return AlertDescription.protocolVersion;
    case 'missing-extension':
      return AlertDescription.missingExtension;
    case 'unsupported-extension':
      return AlertDescription.unsupportedExtension;
    case 'decrypt-error':
      return AlertDescription.decryptError;
    case 'bad-certificate':
      return AlertDescription.badCertificate;
    case 'unsupported-certificate':
      return AlertDescription.unsupportedCertificate;
    case 'certificate-expired':
      return AlertDescription.certificateExpired;
    case 'certificate-unknown':
      return AlertDescription.certificateUnknown;
    case 'unknown-ca':
      return AlertDescription.unknownCa;
    case 'certificate-required':
      return AlertDescription.certificateRequired;
    case 'no-application-protocol':
      return AlertDescription.noApplicationProtocol;
    case 'unrecognized-name':
      return AlertDescription.unrecognizedName;
    case 'insufficient-security':
      return AlertDescription.insufficientSecurity;
    case 'internal-error':
      return AlertDescription.internalError;
    case 'aborted':
      // abort() admits only known AlertDescription values.
      return (e.alert as AlertDescription | undefined) ?? AlertDescription.internalError;
    case 'alert-received':
    case 'closed':
    case 'api-misuse':
      return null;
  }
}
