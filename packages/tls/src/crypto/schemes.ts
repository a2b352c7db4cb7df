/**
 * What each TLS 1.3 SignatureScheme (RFC 8446 4.2.3) means: algorithm, hash, and the key it needs.
 * Shared by both providers and the handshake engine.
 */
import { CryptoError, type CertSignatureAlgorithm, type KeyType, type SignatureScheme } from './provider.js';

export interface SignatureSchemeInfo {
  readonly codepoint: number;
  readonly algorithm: CertSignatureAlgorithm;
  readonly keyType: KeyType;
  /** RSA keys: rsa_pss_pss_* need an id-RSASSA-PSS SPKI, the others rsaEncryption (RFC 8446 4.2.3). */
  readonly rsaKeyOid?: 'rsaEncryption' | 'rsassaPss';
}

export const signatureSchemeInfo: { readonly [S in SignatureScheme]: SignatureSchemeInfo } = {
  ecdsa_secp256r1_sha256: { codepoint: 0x0403, algorithm: { kind: 'ecdsa', hash: 'sha256' }, keyType: 'ec-p256' },
  ecdsa_secp384r1_sha384: { codepoint: 0x0503, algorithm: { kind: 'ecdsa', hash: 'sha384' }, keyType: 'ec-p384' },
  rsa_pss_rsae_sha256: { codepoint: 0x0804, algorithm: { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 }, keyType: 'rsa', rsaKeyOid: 'rsaEncryption' },
  rsa_pss_rsae_sha384: { codepoint: 0x0805, algorithm: { kind: 'rsa-pss', hash: 'sha384', saltLength: 48 }, keyType: 'rsa', rsaKeyOid: 'rsaEncryption' },
  rsa_pss_pss_sha256: { codepoint: 0x0809, algorithm: { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 }, keyType: 'rsa', rsaKeyOid: 'rsassaPss' },
  ed25519: { codepoint: 0x0807, algorithm: { kind: 'ed25519', hash: null }, keyType: 'ed25519' },
  rsa_pkcs1_sha256: { codepoint: 0x0401, algorithm: { kind: 'rsa-pkcs1', hash: 'sha256' }, keyType: 'rsa', rsaKeyOid: 'rsaEncryption' },
  rsa_pkcs1_sha384: { codepoint: 0x0501, algorithm: { kind: 'rsa-pkcs1', hash: 'sha384' }, keyType: 'rsa', rsaKeyOid: 'rsaEncryption' },
  rsa_pkcs1_sha512: { codepoint: 0x0601, algorithm: { kind: 'rsa-pkcs1', hash: 'sha512' }, keyType: 'rsa', rsaKeyOid: 'rsaEncryption' },
};

export const allSignatureSchemes = Object.keys(signatureSchemeInfo) as SignatureScheme[];

export function signatureSchemeFromCodepoint(codepoint: number): SignatureScheme | null {
  for (const s of allSignatureSchemes) if (signatureSchemeInfo[s].codepoint === codepoint) return s;
  return null;
}

/**
 * The schemes a key can produce in a TLS 1.3 CertificateVerify, best first. rsa_pkcs1_* are left
 * out: RFC 8446 4.2.3 allows them only in certificates. `rsaPssKey` marks an id-RSASSA-PSS key.
 */
export function signatureSchemesForKey(type: KeyType, rsaPssKey = false): SignatureScheme[] {
  switch (type) {
    case 'ec-p256':
      return ['ecdsa_secp256r1_sha256'];
    case 'ec-p384':
      return ['ecdsa_secp384r1_sha384'];
    case 'ed25519':
      return ['ed25519'];
    case 'rsa':
      return rsaPssKey ? ['rsa_pss_pss_sha256'] : ['rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384'];
  }
}

export function hashLengthOf(hash: 'sha256' | 'sha384' | 'sha512'): number {
  return hash === 'sha256' ? 32 : hash === 'sha384' ? 48 : 64;
}

/** Throws unless `keyType`/`algorithmOid` are what `scheme` requires. */
export function checkSchemeKey(scheme: SignatureScheme, keyType: KeyType, rsaKeyIsPss: boolean): void {
  const info = signatureSchemeInfo[scheme];
  if (!info) throw new CryptoError('unsupported', `unknown signature scheme ${String(scheme)}`);
  if (info.keyType !== keyType) throw new CryptoError('invalid-key', `${scheme} needs a ${info.keyType} key, got ${keyType}`);
  if (info.rsaKeyOid === 'rsassaPss' && !rsaKeyIsPss) throw new CryptoError('invalid-key', `${scheme} needs an RSASSA-PSS key`);
  if (info.rsaKeyOid === 'rsaEncryption' && rsaKeyIsPss) throw new CryptoError('invalid-key', `${scheme} needs an rsaEncryption key`);
}
