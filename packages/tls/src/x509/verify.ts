/**
 * Certificate path validation for TLS (a subset of RFC 5280 6.1) and server identity checks
 * (RFC 6125 6.4, RFC 9525 6.3). Everything that varies is injected: the trust anchors, the wall
 * clock `now` and the crypto provider.
 *
 * Policy, in short:
 * - The path is built from the leaf through the other presented certificates (any order) to a
 *   trust anchor, matching issuer to subject by DER bytes and checking every signature.
 * - Every certificate except the anchor must be valid at `now`; anchors are trusted as name + key
 *   (their own dates, signatures and extensions other than CA constraints are not checked).
 * - Issuers must be CAs: basicConstraints cA (mandatory on intermediates; on an anchor only if the
 *   extension is present, for v1 roots), keyUsage keyCertSign when keyUsage is present, and
 *   pathLenConstraint.
 * - Unknown critical extensions are 'unsupported' (RFC 5280 4.2); nameConstraints and policies
 *   are not implemented, so a critical one is 'unsupported' too.
 * - The leaf's keyUsage, when present, must allow digitalSignature (RFC 8446 4.4.2.2); with
 *   `purpose`, its extKeyUsage (when present) must list it or anyExtendedKeyUsage.
 * - A self-signed leaf is accepted only if it is itself one of the trust anchors (same DER).
 * - Hostnames are matched against subjectAltName only: dNSName with a wildcard allowed only as the
 *   whole left-most label; IP literals against iPAddress. The subject CN is never used here (the
 *   TLS engine's chainVerifier, handshake/certs.ts, deliberately falls back to it for SAN-less leaves).
 */
import { parseSpki, Oid } from '../crypto/keys.js';
import type { CertSignatureAlgorithm, CryptoProvider, SignatureScheme } from '../crypto/provider.js';
import { ExtensionOid, isSelfIssued, type Certificate } from './certificate.js';
import { CertificateError } from './errors.js';

export interface VerifyChainOptions {
  readonly trustAnchors: readonly Certificate[];
  /** The name the peer must hold (DNS name or IP literal); omit to skip the identity check. */
  readonly hostname?: string;
  /** The wall clock, injected. */
  readonly now: Date;
  readonly provider: CryptoProvider;
  /** Required extended key usage of the leaf, checked when the leaf has the extension. */
  readonly purpose?: 'serverAuth' | 'clientAuth';
  /** Most intermediates allowed between leaf and anchor (default 8). */
  readonly maxIntermediates?: number;
}

export interface ChainResult {
  readonly leaf: Certificate;
  /** leaf, intermediates..., ending with the anchor (just [leaf] when the leaf is an anchor). */
  readonly path: readonly Certificate[];
  readonly anchor: Certificate;
}

/** Extensions this verifier processes; any other critical extension makes a certificate unusable. */
const understoodExtensions = new Set<string>([
  ExtensionOid.subjectAltName,
  ExtensionOid.basicConstraints,
  ExtensionOid.keyUsage,
  ExtensionOid.extKeyUsage,
  ExtensionOid.subjectKeyIdentifier,
  ExtensionOid.authorityKeyIdentifier,
]);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(cert: Certificate): string {
  return cert.subject.text || '(empty subject)';
}

function checkValidity(cert: Certificate, now: Date): void {
  // RFC 5280 4.1.2.5: valid from notBefore to notAfter, both inclusive.
  if (now.getTime() < cert.notBefore.getTime()) {
    throw new CertificateError('not-yet-valid', `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}`);
  }
  if (now.getTime() > cert.notAfter.getTime()) {
    throw new CertificateError('expired', `${describe(cert)} expired at ${cert.notAfter.toISOString()}`);
  }
}

function checkCriticalExtensions(cert: Certificate): void {
  for (const ext of cert.extensions.all) {
    if (ext.critical && !understoodExtensions.has(ext.oid)) {
      throw new CertificateError('unsupported', `${describe(cert)} has an unsupported critical extension ${ext.oid}`);
    }
  }
}

/** RFC 5280 6.1.4 (k), (l), (n) for a certificate that issues another. */
function checkIssuer(cert: Certificate, intermediatesBelow: number, isAnchor: boolean): void {
  const bc = cert.extensions.basicConstraints;
  if (bc ? !bc.cA : !isAnchor) throw new CertificateError('not-a-ca', `${describe(cert)} is not a CA`);
  const ku = cert.extensions.keyUsage;
  if (ku && !ku.includes('keyCertSign')) throw new CertificateError('not-a-ca', `${describe(cert)} may not sign certificates`);
  if (bc && bc.pathLen !== null && intermediatesBelow > bc.pathLen) {
    throw new CertificateError('not-a-ca', `${describe(cert)} allows ${bc.pathLen} intermediates below it, the path has ${intermediatesBelow}`);
  }
}

/** The TLS scheme that expresses a certificate signature algorithm, for providers without verifyCertificateSignature. */
function schemeFor(alg: CertSignatureAlgorithm, issuer: Certificate): SignatureScheme | null {
  const key = issuer.publicKey;
  switch (alg.kind) {
    case 'ed25519':
      return key.type === 'ed25519' ? 'ed25519' : null;
    case 'ecdsa':
      if (key.type === 'ec-p256' && alg.hash === 'sha256') return 'ecdsa_secp256r1_sha256';
      if (key.type === 'ec-p384' && alg.hash === 'sha384') return 'ecdsa_secp384r1_sha384';
      return null;
    case 'rsa-pkcs1':
      return alg.hash === 'sha256' ? 'rsa_pkcs1_sha256' : alg.hash === 'sha384' ? 'rsa_pkcs1_sha384' : alg.hash === 'sha512' ? 'rsa_pkcs1_sha512' : null;
    case 'rsa-pss': {
      const pssKey = parseSpki(key.spki).algorithmOid === Oid.rsassaPss;
      if (alg.hash === 'sha256' && alg.saltLength === 32) return pssKey ? 'rsa_pss_pss_sha256' : 'rsa_pss_rsae_sha256';
      if (alg.hash === 'sha384' && alg.saltLength === 48 && !pssKey) return 'rsa_pss_rsae_sha384';
      return null;
    }
  }
}

function signatureValid(provider: CryptoProvider, issuer: Certificate, cert: Certificate): boolean {
  const alg = cert.signatureAlgorithm.algorithm;
  if (!alg) throw new CertificateError('unsupported', `${describe(cert)} is signed with unsupported ${cert.signatureAlgorithm.name}`);
  if (provider.verifyCertificateSignature) {
    return provider.verifyCertificateSignature(alg, issuer.publicKey, cert.tbsDer, cert.signature);
  }
  const scheme = schemeFor(alg, issuer);
  if (!scheme) throw new CertificateError('unsupported', `${cert.signatureAlgorithm.name} with a ${issuer.publicKey.type} key is not supported by ${provider.name}`);
  return provider.verify(scheme, issuer.publicKey, cert.tbsDer, cert.signature);
}

/** Most signature checks one verifyChain call may spend while searching for a path. */
const SIGNATURE_BUDGET = 32;

/**
 * Verifies `chain` (leaf first, then the other certificates the peer sent) against the trust
 * anchors. Returns the validated path, or throws CertificateError with the most relevant code.
 */
export function verifyChain(chain: readonly Certificate[], options: VerifyChainOptions): ChainResult {
  const { trustAnchors, now, provider } = options;
  const maxIntermediates = options.maxIntermediates ?? 8;
  if (chain.length === 0) throw new CertificateError('bad-encoding', 'empty certificate chain');
  const leaf = chain[0];
  const isAnchor = (c: Certificate): boolean => trustAnchors.some((a) => bytesEqual(a.der, c.der));

  checkValidity(leaf, now);
  checkCriticalExtensions(leaf);
  const ku = leaf.extensions.keyUsage;
  if (ku && !ku.includes('digitalSignature')) throw new CertificateError('unsupported', `${describe(leaf)}: keyUsage does not allow digitalSignature`);
  const eku = leaf.extensions.extKeyUsage;
  if (options.purpose && eku && !eku.includes(options.purpose) && !eku.includes('anyExtendedKeyUsage')) {
    throw new CertificateError('unsupported', `${describe(leaf)}: extKeyUsage does not allow ${options.purpose}`);
  }

  let budget = SIGNATURE_BUDGET;
  const checkSignature = (issuer: Certificate, cert: Certificate): boolean => {
    if (budget-- <= 0) throw new CertificateError('unknown-ca', 'gave up searching for a path (too many candidate issuers)');
    return signatureValid(provider, issuer, cert);
  };

  /** Extends `path` (ending in its current top) to an anchor, depth first. */
  const build = (path: Certificate[]): ChainResult => {
    const current = path[path.length - 1];
    if (isAnchor(current)) return { leaf, path, anchor: current };
    const intermediatesBelow = path.length - 1;
    let failure: CertificateError | null = null;
    const remember = (e: unknown): void => {
      if (!(e instanceof CertificateError)) throw e;
      // Keep the first specific failure; an unknown CA further up is the least informative.
      if (!failure || failure.code === 'unknown-ca') failure = e;
    };

    for (const anchor of trustAnchors) {
      if (!bytesEqual(anchor.subject.raw, current.issuer.raw)) continue;
      try {
        if (!checkSignature(anchor, current)) throw new CertificateError('bad-signature', `signature on ${describe(current)} does not verify with anchor ${describe(anchor)}`);
        checkIssuer(anchor, intermediatesBelow, true);
        return { leaf, path: [...path, anchor], anchor };
      } catch (e) {
        remember(e);
      }
    }

    if (intermediatesBelow < maxIntermediates) {
      for (const candidate of chain.slice(1)) {
        if (path.includes(candidate) || path.some((p) => bytesEqual(p.der, candidate.der))) continue;
        if (!bytesEqual(candidate.subject.raw, current.issuer.raw)) continue;
        try {
          if (!checkSignature(candidate, current)) throw new CertificateError('bad-signature', `signature on ${describe(current)} does not verify with ${describe(candidate)}`);
          if (isAnchor(candidate)) {
            checkIssuer(candidate, intermediatesBelow, true);
            return { leaf, path: [...path, candidate], anchor: candidate };
          }
          checkValidity(candidate, now);
          checkCriticalExtensions(candidate);
          // RFC 5280 4.2.1.9: self-issued intermediates do not count against pathLenConstraint.
          const below = path.slice(1).filter((p) => !isSelfIssued(p)).length;
          checkIssuer(candidate, below, false);
          return build([...path, candidate]);
        } catch (e) {
          remember(e);
        }
      }
    }
    if (failure) throw failure;
    if (isSelfIssued(current) && path.length === 1) {
      throw new CertificateError('unknown-ca', `self-signed ${describe(current)} is not a trust anchor`);
    }
    throw new CertificateError('unknown-ca', `no trusted issuer for ${describe(current)} (issuer ${current.issuer.text})`);
  };

  const result = build([leaf]);
  if (options.hostname !== undefined && !matchesHostname(leaf, options.hostname)) {
    throw new CertificateError('hostname-mismatch', `${describe(leaf)} is not valid for ${options.hostname}`);
  }
  return result;
}

/** Parses an IPv4 dotted quad or an IPv6 literal (optionally in brackets); null when not an IP. */
export function parseIpAddress(host: string): Uint8Array | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return null;
    return Uint8Array.from(parts);
  }
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (!h.includes(':') || !/^[0-9a-fA-F:.]+$/.test(h) || h.length > 45) return null;
  const halves = h.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const embedded = parseIpAddress(p);
        if (!embedded || embedded.length !== 4) return null;
        out.push((embedded[0] << 8) | embedded[1], (embedded[2] << 8) | embedded[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function normaliseDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * RFC 6125 6.4.3 / RFC 9525 6.3: a wildcard only as the complete left-most label, matching exactly
 * one label, and never directly under a top-level label ("*.com").
 */
export function matchesDnsName(pattern: string, hostname: string): boolean {
  const p = normaliseDnsName(pattern);
  const h = normaliseDnsName(hostname);
  if (p === '' || h === '' || h.includes('*')) return false; // a reference identity is never a pattern
  if (!p.includes('*')) return p === h;
  const pLabels = p.split('.');
  const hLabels = h.split('.');
  if (pLabels[0] !== '*' || pLabels.slice(1).some((l) => l.includes('*') || l === '')) return false;
  if (pLabels.length < 3 || pLabels.length !== hLabels.length) return false;
  if (hLabels[0] === '') return false;
  return pLabels.slice(1).join('.') === hLabels.slice(1).join('.');
}

/** Whether the leaf's subjectAltName covers `hostname` (DNS name or IP literal). CN is never used. */
export function matchesHostname(cert: Certificate, hostname: string): boolean {
  const san = cert.extensions.subjectAltName;
  if (!san) return false;
  const ip = parseIpAddress(hostname);
  if (ip) return san.ipAddresses.some((a) => bytesEqual(a, ip));
  return san.dnsNames.some((n) => matchesDnsName(n, hostname));
}
