/**
 * The engine's use of certificates: the leaf public key for CertificateVerify, and the default
 * verifier over x509's verifyChain (chain to a trust anchor, hostname, validity at `now`).
 */
import { publicKeyFromSpki } from '../crypto/keys.js';
import type { CryptoProvider, PrivateKey, PublicKey } from '../crypto/provider.js';
import { parseCertificate, type Certificate } from '../x509/certificate.js';
import { loadPrivateKeyPem, loadSystemTrustStore } from '../x509/load.js';
import { decodePem } from '../x509/pem.js';
import { CertificateError } from '../x509/errors.js';
import { matchesDnsName, parseIpAddress, verifyChain } from '../x509/verify.js';
import type { CertificateVerifier } from './config.js';
import { TlsError } from '../errors.js';
import { DerError, DerReader } from '../x509/der.js';

/**
 * The SubjectPublicKeyInfo of a certificate (RFC 5280 4.1): Certificate ::= SEQUENCE { tbs
 * SEQUENCE { [0] version OPTIONAL, serial, signature, issuer, validity, subject, spki, ... } ... }.
 * Used when verification is off: the CertificateVerify signature is still checked with this key.
 */
export function defaultLeafKey(der: Uint8Array): PublicKey {
  try {
    const cert = new DerReader(der).sequence('Certificate');
    const tbs = cert.sequence('TBSCertificate');
    tbs.readOptional(0xa0);
    for (let i = 0; i < 5; i++) tbs.read(); // serial, signature, issuer, validity, subject
    const spki = tbs.read();
    return publicKeyFromSpki(spki.bytes.slice());
  } catch (e) {
    if (e instanceof DerError) throw new TlsError('bad-certificate', `certificate: ${e.message}`);
    if ((e as Error).name === 'CryptoError') throw new TlsError('unsupported-certificate', (e as Error).message);
    throw e;
  }
}

/** DER certificates from PEM text (every CERTIFICATE block, in order). */
export function pemCertificates(pem: string): Uint8Array[] {
  const out = decodePem(pem)
    .filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE')
    .map((b) => b.der);
  if (out.length === 0) throw new TlsError('api-misuse', 'no certificate in PEM input');
  return out;
}

/** A private key from PEM (PKCS#8, SEC1 or PKCS#1). */
export function loadKeyPem(pem: string): PrivateKey {
  return loadPrivateKeyPem(pem);
}

let systemAnchors: Uint8Array[] | null = null;
let systemAnchorsParsed: Certificate[] | null = null;
/** The system trust store's certificates, DER (read once). */
export function systemTrustAnchors(): Uint8Array[] {
  if (!systemAnchors) {
    systemAnchorsParsed = loadSystemTrustStore().certificates;
    systemAnchors = systemAnchorsParsed.map((c) => c.der);
  }
  return systemAnchors;
}

/** Trust anchors parsed: the system store once, a short list through the certificate cache. */
function parseAnchors(anchors: readonly Uint8Array[]): Certificate[] {
  if (anchors === systemAnchors && systemAnchorsParsed) return systemAnchorsParsed;
  // A long list (a trust store of its own) would only churn the bounded cache.
  return anchors.length <= 16 ? anchors.map((a) => parseCertificateCached(a)) : anchors.map((a) => parseCertificate(a));
}

/**
 * Parsed certificates by DER content. A client meets the same server chain (and its own trust
 * anchors, parsed again by every verifier) on each handshake; parsing is a pure function of the
 * bytes, so the result is shared. The cache parses its own copy of the bytes (the parsed fields
 * are views of them), so a caller changing its buffer later cannot change a cached entry. Bounded:
 * at most CERT_CACHE_MAX entries, the oldest dropped first; errors are not cached.
 */
const CERT_CACHE_MAX = 128;
const certCache = new Map<string, Certificate>();

function parseCertificateCached(der: Uint8Array): Certificate {
  const key = Buffer.from(der.buffer, der.byteOffset, der.length).toString('latin1');
  let c = certCache.get(key);
  if (!c) {
    c = parseCertificate(der.slice());
    if (certCache.size >= CERT_CACHE_MAX) certCache.delete(certCache.keys().next().value as string);
    certCache.set(key, c);
  }
  return c;
}

/**
 * The default verifier: the chain must lead to one of `anchors` (DER), name `hostname` (when
 * given) and be valid at the connection's `now` (wall clock ms). Every check runs on every call;
 * only the parsing of certificates is cached (by content).
 */
export function chainVerifier(anchors: readonly Uint8Array[], provider: CryptoProvider): CertificateVerifier {
  let parsed: Certificate[] | null = null;
  return {
    verify(chain, opts) {
      parsed ??= parseAnchors(anchors);
      const certs = chain.map((d) => parseCertificateCached(d));
      const leaf = certs[0];
      // DELIBERATE CHOICE: the subject CN is matched when the leaf has no subjectAltName at all.
      // Certificates made with `openssl req -x509 -subj /CN=host` (OpenSSL 3.0 adds no SAN, and
      // the acceptance checks use such certificates) would otherwise never verify. RFC 6125 6.4.4
      // allows this fallback; RFC 9525 drops it, and browsers refuse it. Kept narrow: a leaf with
      // any SAN is matched against the SAN only (x509/verify.ts), and an IP literal is never
      // matched against a CN (only against an iPAddress SAN).
      const cnOnly = opts.hostname !== undefined && !leaf.extensions.subjectAltName;
      verifyChain(certs, { trustAnchors: parsed, hostname: cnOnly ? undefined : opts.hostname, now: new Date(opts.now), provider, purpose: opts.hostname !== undefined ? 'serverAuth' : 'clientAuth' });
      if (cnOnly) {
        const cns = leaf.subject.attributes.filter((a) => a.name === 'CN').map((a) => a.value);
        const isIp = parseIpAddress(opts.hostname!) !== null;
        if (isIp || !cns.some((cn) => matchesDnsName(cn, opts.hostname!))) throw new CertificateError('hostname-mismatch', `certificate (CN=${cns.join(',')}, no SAN) is not valid for ${opts.hostname}`);
      }
      return leaf.publicKey;
    },
  };
}

/** Wraps a verifier so a failure is reported to `onError` instead of aborting (rejectUnauthorized: false). */
export function permissiveVerifier(inner: CertificateVerifier, onError: (e: Error) => void): CertificateVerifier {
  return {
    verify(chain, opts) {
      try {
        return inner.verify(chain, opts);
      } catch (e) {
        onError(e as Error);
        return defaultLeafKey(chain[0]);
      }
    },
  };
}

/** Subject and issuer (RFC 4514 text) of a DER certificate, for display. */
export function certificateNames(der: Uint8Array): { subject: string; issuer: string } {
  const c = parseCertificate(der);
  return { subject: c.subject.text, issuer: c.issuer.text };
}
