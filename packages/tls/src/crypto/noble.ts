/**
 * The pure-JavaScript provider on @noble (ciphers, hashes, curves) plus our own BigInt RSA.
 * All randomness comes from the injected `random`: key shares, ECDSA hedging (RFC 6979 3.6 extra
 * entropy) and RSA-PSS salts, so its output is fully reproducible from a seed.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { drawP256Scalar, drawX25519Scalar, ecPrivateScalar, ed25519Seed, isAllZero, Oid, parsePkcs8, parseSpki } from './keys.js';
import {
  CryptoError,
  type AeadAlgorithm,
  type AeadCipher,
  type CertSignatureAlgorithm,
  type CryptoProvider,
  type HashAlgorithm,
  type HashContext,
  type KeyShare,
  type NamedGroup,
  type PrivateKey,
  type PublicKey,
  type SignatureScheme,
} from './provider.js';
import { parseRsaPrivateKey, parseRsaPublicKey, rsaPkcs1Sign, rsaPkcs1Verify, rsaPssSign, rsaPssVerify, type RsaHash, type RsaPrivateKey, type RsaPublicKey } from './rsa.js';
import { checkSchemeKey, hashLengthOf, signatureSchemeInfo } from './schemes.js';

type AnyHash = 'sha256' | 'sha384' | 'sha512';
const hashFns = { sha256, sha384, sha512 } as const;

function hashFn(alg: AnyHash): (typeof hashFns)[AnyHash] {
  const h = hashFns[alg];
  if (!h) throw new CryptoError('unsupported', `unsupported hash ${String(alg)}`);
  return h;
}

const rsaHashes: Record<AnyHash, RsaHash> = {
  sha256: { name: 'sha256', length: 32, digest: (d) => sha256(d) },
  sha384: { name: 'sha384', length: 48, digest: (d) => sha384(d) },
  sha512: { name: 'sha512', length: 64, digest: (d) => sha512(d) },
};

interface NobleHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
  clone(): NobleHash;
}

class NobleHashContext implements HashContext {
  constructor(private readonly h: NobleHash) {}
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Uint8Array {
    return this.h.clone().digest();
  }
  clone(): HashContext {
    return new NobleHashContext(this.h.clone());
  }
}

const aeadKeyLength: Record<AeadAlgorithm, number> = { 'aes-128-gcm': 16, 'aes-256-gcm': 32, 'chacha20-poly1305': 32 };

function createNobleAead(algorithm: AeadAlgorithm, key: Uint8Array): AeadCipher {
  if (!(algorithm in aeadKeyLength)) throw new CryptoError('unsupported', `unsupported AEAD ${String(algorithm)}`);
  if (key.length !== aeadKeyLength[algorithm]) throw new CryptoError('invalid-key', `${algorithm} key must be ${aeadKeyLength[algorithm]} bytes`);
  const keyCopy = Uint8Array.from(key);
  const make = algorithm === 'chacha20-poly1305' ? chacha20poly1305 : gcm;
  const checkNonce = (nonce: Uint8Array): void => {
    if (nonce.length !== 12) throw new CryptoError('unsupported', 'AEAD nonce must be 12 bytes');
  };
  return {
    algorithm,
    seal(nonce, aad, plaintext) {
      checkNonce(nonce);
      return make(keyCopy, nonce, aad).encrypt(plaintext);
    },
    open(nonce, aad, ciphertextAndTag) {
      checkNonce(nonce);
      if (ciphertextAndTag.length < 16) return null;
      try {
        return make(keyCopy, nonce, aad).decrypt(ciphertextAndTag);
      } catch {
        return null; // tag mismatch
      }
    },
  };
}

function generateNobleKeyShare(group: NamedGroup, random: (n: number) => Uint8Array): KeyShare {
  if (group === 'x25519') {
    const priv = drawX25519Scalar(random);
    return {
      group,
      publicKey: x25519.getPublicKey(priv),
      computeSecret(peer) {
        if (peer.length !== 32) throw new CryptoError('invalid-point', 'X25519 key_exchange must be 32 bytes');
        let secret: Uint8Array;
        try {
          secret = x25519.getSharedSecret(priv, peer);
        } catch (e) {
          throw new CryptoError('invalid-point', `X25519: ${(e as Error).message}`);
        }
        if (isAllZero(secret)) throw new CryptoError('invalid-point', 'X25519 shared secret is all zero'); // RFC 8446 7.4.2
        return secret;
      },
    };
  }
  if (group === 'secp256r1') {
    const priv = drawP256Scalar(random);
    return {
      group,
      publicKey: p256.getPublicKey(priv, false),
      computeSecret(peer) {
        if (peer.length !== 65 || peer[0] !== 4) throw new CryptoError('invalid-point', 'P-256 key_exchange must be an uncompressed point');
        try {
          // RFC 8446 7.4.2: the shared secret is the x-coordinate; noble validates the point.
          return p256.getSharedSecret(priv, peer, true).slice(1);
        } catch (e) {
          throw new CryptoError('invalid-point', `P-256: ${(e as Error).message}`);
        }
      },
    };
  }
  throw new CryptoError('unsupported', `unsupported group ${String(group)}`);
}

type ParsedPrivate =
  | { kind: 'ec'; curve: typeof p256; d: Uint8Array }
  | { kind: 'ed25519'; seed: Uint8Array }
  | { kind: 'rsa'; key: RsaPrivateKey; pss: boolean };
type ParsedPublic =
  | { kind: 'ec'; curve: typeof p256; point: Uint8Array }
  | { kind: 'ed25519'; point: Uint8Array }
  | { kind: 'rsa'; key: RsaPublicKey; pss: boolean };

const privateCache = new WeakMap<PrivateKey, ParsedPrivate>();
const publicCache = new WeakMap<PublicKey, ParsedPublic>();

function parsePrivate(key: PrivateKey): ParsedPrivate {
  let c = privateCache.get(key);
  if (c) return c;
  const info = parsePkcs8(key.pkcs8);
  if (info.type !== key.type) throw new CryptoError('invalid-key', `key says ${key.type} but PKCS#8 holds ${info.type}`);
  switch (info.type) {
    case 'ec-p256':
    case 'ec-p384':
      c = { kind: 'ec', curve: info.type === 'ec-p256' ? p256 : p384, d: ecPrivateScalar(info) };
      break;
    case 'ed25519':
      c = { kind: 'ed25519', seed: ed25519Seed(info) };
      break;
    case 'rsa':
      c = { kind: 'rsa', key: parseRsaPrivateKey(info.privateKey), pss: info.algorithmOid === Oid.rsassaPss };
      break;
  }
  privateCache.set(key, c);
  return c;
}

function parsePublic(key: PublicKey): ParsedPublic {
  let c = publicCache.get(key);
  if (c) return c;
  const info = parseSpki(key.spki);
  if (info.type !== key.type) throw new CryptoError('invalid-key', `key says ${key.type} but SPKI holds ${info.type}`);
  switch (info.type) {
    case 'ec-p256':
    case 'ec-p384':
      c = { kind: 'ec', curve: info.type === 'ec-p256' ? p256 : p384, point: info.key };
      break;
    case 'ed25519':
      c = { kind: 'ed25519', point: info.key };
      break;
    case 'rsa':
      c = { kind: 'rsa', key: parseRsaPublicKey(info.key), pss: info.algorithmOid === Oid.rsassaPss };
      break;
  }
  publicCache.set(key, c);
  return c;
}

function signWith(alg: CertSignatureAlgorithm, key: ParsedPrivate, data: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
  switch (alg.kind) {
    case 'ed25519':
      if (key.kind !== 'ed25519') break;
      return ed25519.sign(data, key.seed);
    case 'ecdsa':
      if (key.kind !== 'ec' || alg.hash === null) break;
      // We hash ourselves (prehash: false) so the scheme's hash is used whatever the curve's
      // default; 'der' is the encoding TLS uses (RFC 8446 4.2.3); the injected random hedges k.
      return key.curve.sign(hashFn(alg.hash)(data), key.d, { prehash: false, format: 'der', extraEntropy: random(32) });
    case 'rsa-pss': {
      if (key.kind !== 'rsa' || alg.hash === null) break;
      const salt = random(alg.saltLength ?? hashLengthOf(alg.hash));
      return rsaPssSign(key.key, rsaHashes[alg.hash], data, salt);
    }
    case 'rsa-pkcs1':
      if (key.kind !== 'rsa' || alg.hash === null) break;
      return rsaPkcs1Sign(key.key, rsaHashes[alg.hash], data);
  }
  throw new CryptoError('invalid-key', `key does not fit ${alg.kind}`);
}

function verifyWith(alg: CertSignatureAlgorithm, key: ParsedPublic, data: Uint8Array, signature: Uint8Array): boolean {
  switch (alg.kind) {
    case 'ed25519':
      // zip215: false gives RFC 8032 5.1.7's strict checks.
      return key.kind === 'ed25519' && signature.length === 64 && ed25519.verify(signature, data, key.point, { zip215: false });
    case 'ecdsa':
      if (key.kind !== 'ec' || alg.hash === null) return false;
      // lowS: false accepts the high-S signatures OpenSSL produces.
      return key.curve.verify(signature, hashFn(alg.hash)(data), key.point, { prehash: false, format: 'der', lowS: false });
    case 'rsa-pss':
      if (key.kind !== 'rsa' || alg.hash === null) return false;
      return rsaPssVerify(key.key, rsaHashes[alg.hash], data, signature, alg.saltLength ?? hashLengthOf(alg.hash));
    case 'rsa-pkcs1':
      if (key.kind !== 'rsa' || alg.hash === null || key.pss) return false;
      return rsaPkcs1Verify(key.key, rsaHashes[alg.hash], data, signature);
  }
}

export const nobleCrypto: CryptoProvider = {
  name: 'noble',
  hashLength: (alg: HashAlgorithm) => hashLengthOf(alg),
  createHash: (alg) => new NobleHashContext(hashFn(alg).create() as unknown as NobleHash),
  hash: (alg, data) => hashFn(alg)(data),
  hmac: (alg, key, data) => hmac(hashFn(alg), key, data),
  createAead: createNobleAead,
  generateKeyShare: generateNobleKeyShare,
  sign(scheme: SignatureScheme, key: PrivateKey, data: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
    const parsed = parsePrivate(key);
    checkSchemeKey(scheme, key.type, parsed.kind === 'rsa' && parsed.pss);
    return signWith(signatureSchemeInfo[scheme].algorithm, parsed, data, random);
  },
  verify(scheme, key, data, signature) {
    try {
      const parsed = parsePublic(key);
      checkSchemeKey(scheme, key.type, parsed.kind === 'rsa' && parsed.pss);
      return verifyWith(signatureSchemeInfo[scheme].algorithm, parsed, data, signature);
    } catch {
      return false;
    }
  },
  verifyCertificateSignature(alg, key, data, signature) {
    try {
      return verifyWith(alg, parsePublic(key), data, signature);
    } catch {
      return false;
    }
  },
};
