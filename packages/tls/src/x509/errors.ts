/** Certificate errors, with codes the handshake engine maps to TLS alerts (RFC 8446 6.2). */

export type CertificateErrorCode =
  | 'expired'
  | 'not-yet-valid'
  | 'unknown-ca'
  | 'bad-signature'
  | 'hostname-mismatch'
  | 'bad-encoding'
  | 'unsupported'
  | 'not-a-ca';

export class CertificateError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CertificateError';
  }
}

export type CertificateAlert = 'bad_certificate' | 'unsupported_certificate' | 'certificate_expired' | 'unknown_ca' | 'certificate_unknown';

/**
 * The alert for each code (RFC 8446 6.2): expired and not-yet-valid are certificate_expired,
 * unknown-ca is unknown_ca, encoding and signature failures are bad_certificate, algorithms and
 * extensions we do not implement are unsupported_certificate, and the rest certificate_unknown.
 */
export function certificateErrorAlert(code: CertificateErrorCode): CertificateAlert {
  switch (code) {
    case 'expired':
    case 'not-yet-valid':
      return 'certificate_expired';
    case 'unknown-ca':
      return 'unknown_ca';
    case 'bad-signature':
    case 'bad-encoding':
      return 'bad_certificate';
    case 'unsupported':
      return 'unsupported_certificate';
    case 'hostname-mismatch':
    case 'not-a-ca':
      return 'certificate_unknown';
  }
}
