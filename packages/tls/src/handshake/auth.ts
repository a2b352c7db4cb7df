/**
 * CertificateVerify (RFC 8446 4.4.3) signing and checking, and signature scheme choice.
 */
import type { PrivateKey, PublicKey, SignatureScheme } from '../crypto/provider.js';
import { signatureSchemeInfo } from '../crypto/schemes.js';
import { TlsError } from '../errors.js';
import { SignatureSchemeIds, schemeById } from '../wire/constants.js';
import type { CertificateVerify } from '../wire/handshake.js';
import { SignatureVerified, certificateVerifyContent, type TlsConnection } from './connection.js';

/** Schemes a key can sign a CertificateVerify with (rsa_pkcs1 never: 4.2.3). */
export function schemeFitsKey(scheme: SignatureScheme, keyType: string): boolean {
  const info = signatureSchemeInfo[scheme];
  if (!info || info.algorithm.kind === 'rsa-pkcs1') return false;
  return info.keyType === keyType;
}

/** First scheme of the peer's list (its preference) that we support and our key can make. */
export function chooseScheme(key: PrivateKey, peerSchemes: readonly number[], ours: readonly SignatureScheme[]): SignatureScheme | null {
  for (const id of peerSchemes) {
    const s = schemeById(id);
    if (s && ours.includes(s) && schemeFitsKey(s, key.type)) {
      // rsa_pss_pss needs a PSS key; an rsaEncryption key uses rsae.
      if (s === 'rsa_pss_pss_sha256') continue;
      return s;
    }
  }
  return null;
}

export function signCertificateVerify(c: TlsConnection, key: PrivateKey, scheme: SignatureScheme, server: boolean): CertificateVerify {
  const content = certificateVerifyContent(server, c.transcript.hash());
  const signature = c.provider.sign(scheme, key, content, c.config.random);
  return { scheme: SignatureSchemeIds[scheme], signature };
}

/** Checks the peer's CertificateVerify; returns the proof the Finished state requires. */
export function verifyCertificateVerify(
  c: TlsConnection,
  key: PublicKey,
  cv: CertificateVerify,
  offered: readonly SignatureScheme[],
  fromServer: boolean,
): SignatureVerified {
  const scheme = schemeById(cv.scheme);
  // 4.4.3: the scheme must be one we offered in signature_algorithms.
  if (!scheme || !offered.includes(scheme)) throw new TlsError('illegal-parameter', `CertificateVerify with unoffered scheme 0x${cv.scheme.toString(16)}`);
  if (!schemeFitsKey(scheme, key.type)) throw new TlsError('illegal-parameter', `scheme ${scheme} does not fit a ${key.type} key`);
  const content = certificateVerifyContent(fromServer, c.transcript.hash());
  let ok = false;
  try {
    ok = c.provider.verify(scheme, key, content, cv.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new TlsError('decrypt-error', 'CertificateVerify signature does not verify');
  return SignatureVerified.create(scheme);
}
