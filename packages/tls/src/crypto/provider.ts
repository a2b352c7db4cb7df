/**
 * The crypto provider interface: everything the TLS 1.3 engine needs from a cryptography library,
 * as constant records of data and functions (picotls style). Two providers implement it:
 * `nodeCrypto` (node:crypto, the fast default) and `nobleCrypto` (@noble, pure JavaScript).
 * Randomness is not part of a provider: the engine takes an injected `random(n)` so tests and the
 * simulator are reproducible.
 */

export type HashAlgorithm = 'sha256' | 'sha384';
export type AeadAlgorithm = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
export type NamedGroup = 'x25519' | 'secp256r1';
/** TLS 1.3 SignatureScheme names (RFC 8446 4.2.3); rsa_pkcs1_* only for certificate signatures. */
export type SignatureScheme =
  | 'ecdsa_secp256r1_sha256'
  | 'ecdsa_secp384r1_sha384'
  | 'rsa_pss_rsae_sha256'
  | 'rsa_pss_rsae_sha384'
  | 'rsa_pss_pss_sha256'
  | 'ed25519'
  | 'rsa_pkcs1_sha256'
  | 'rsa_pkcs1_sha384'
  | 'rsa_pkcs1_sha512';

/** An incremental hash whose state can be copied (for transcript hashes at several points). */
export interface HashContext {
  update(data: Uint8Array): void;
  /** The digest of everything so far; does not end the context. */
  digest(): Uint8Array;
  clone(): HashContext;
}

/** An AEAD bound to one key. Nonces are 12 bytes; tags 16. */
export interface AeadCipher {
  readonly algorithm: AeadAlgorithm;
  /** Returns ciphertext || tag. */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Returns the plaintext, or null when authentication fails. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array | null;
  /**
   * Optional fast path for the record layer: seals `plaintext || trailer` (trailer may be null)
   * and writes ciphertext || tag into `out` at `offset`, returning the bytes written
   * (plaintext + trailer + 16). `aad` must not overlap the written range. Saves the record layer
   * from building a TLSInnerPlaintext copy and from copying the result into the record.
   */
  sealInto?(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, trailer: Uint8Array | null, out: Uint8Array, offset: number): number;
}

/** One ephemeral (EC)DHE key pair. */
export interface KeyShare {
  readonly group: NamedGroup;
  /** The key_exchange bytes for the KeyShareEntry (32 bytes for x25519, 65 uncompressed for P-256). */
  readonly publicKey: Uint8Array;
  /** The shared secret with the peer's key_exchange bytes; throws CryptoError on an invalid point. */
  computeSecret(peerPublicKey: Uint8Array): Uint8Array;
}

/** Key material in standard DER encodings, so every provider can import it. */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa' | 'ed25519';
export interface PrivateKey {
  readonly type: KeyType;
  /** PKCS#8 PrivateKeyInfo, DER. */
  readonly pkcs8: Uint8Array;
}
export interface PublicKey {
  readonly type: KeyType;
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
}

export interface CryptoProvider {
  readonly name: string;
  hashLength(alg: HashAlgorithm): number;
  createHash(alg: HashAlgorithm): HashContext;
  hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array;
  hmac(alg: HashAlgorithm, key: Uint8Array, data: Uint8Array): Uint8Array;
  createAead(alg: AeadAlgorithm, key: Uint8Array): AeadCipher;
  /** A new ephemeral key pair; `random` supplies the private key's bytes (injected randomness). */
  generateKeyShare(group: NamedGroup, random: (n: number) => Uint8Array): KeyShare;
  /** Signs `data` (the provider hashes it as the scheme says). `random` for ECDSA/PSS salts. */
  sign(scheme: SignatureScheme, key: PrivateKey, data: Uint8Array, random: (n: number) => Uint8Array): Uint8Array;
  verify(scheme: SignatureScheme, key: PublicKey, data: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Verifies an X.509 signature (certificates are signed with combinations TLS 1.3 schemes do not
   * name, e.g. a P-384 CA key with SHA-256, or RSA-PSS with an explicit salt). Optional so other
   * providers stay valid; verifyChain falls back to `verify` with the matching scheme without it.
   */
  verifyCertificateSignature?(alg: CertSignatureAlgorithm, key: PublicKey, data: Uint8Array, signature: Uint8Array): boolean;
}

/** An X.509 signature algorithm (RFC 4055 3.1, RFC 5758 3.2, RFC 8410 6). */
export interface CertSignatureAlgorithm {
  readonly kind: 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'ed25519';
  /** null only for ed25519 (which hashes internally). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** RSA-PSS salt length in bytes (RFC 4055 3.1; MGF1 uses the same hash). */
  readonly saltLength?: number;
}

export class CryptoError extends Error {
  constructor(
    readonly code: 'invalid-key' | 'invalid-point' | 'unsupported' | 'bad-signature-encoding',
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}
