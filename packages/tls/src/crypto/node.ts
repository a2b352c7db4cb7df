/**
 * The node:crypto provider, the fast default.
 *
 * Randomness: key shares take their private bytes from the injected `random`, so handshakes are
 * reproducible. ECDSA and RSA-PSS signing use OpenSSL's own randomness inside node:crypto (node
 * offers no way to inject the nonce or salt); signatures from this provider are therefore not
 * reproducible, while every signature still verifies everywhere. Ed25519 and PKCS#1 v1.5 are
 * deterministic anyway.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  sign as nodeSign,
  verify as nodeVerify,
  type Hash,
  type KeyObject,
} from 'node:crypto';
import {
  drawP256Scalar,
  drawX25519Scalar,
  isAllZero,
  Oid,
  parsePkcs8,
  parseSpki,
  x25519Pkcs8,
  x25519Spki,
} from './keys.js';
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
import { checkSchemeKey, hashLengthOf, signatureSchemeInfo } from './schemes.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

class NodeHashContext implements HashContext {
  constructor(private readonly h: Hash) {}
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Uint8Array {
    // copy() so the running transcript hash can keep going (RFC 8446 4.4.1).
    return u8(this.h.copy().digest());
  }
  clone(): HashContext {
    return new NodeHashContext(this.h.copy());
  }
}

const aeadKeyLength: Record<AeadAlgorithm, number> = { 'aes-128-gcm': 16, 'aes-256-gcm': 32, 'chacha20-poly1305': 32 };
const TAG_LENGTH = 16;
/** Up to this many content bytes, sealInto joins content and trailer for a single update(). */
const SMALL_RECORD = 1024;

function createNodeAead(algorithm: AeadAlgorithm, key: Uint8Array): AeadCipher {
  if (!(algorithm in aeadKeyLength)) throw new CryptoError('unsupported', `unsupported AEAD ${String(algorithm)}`);
  if (key.length !== aeadKeyLength[algorithm]) throw new CryptoError('invalid-key', `${algorithm} key must be ${aeadKeyLength[algorithm]} bytes`);
  // A KeyObject imported once: node:crypto then skips copying and checking the raw key on every
  // record (each record needs its own cipher object, since node cannot re-key an AEAD with a new nonce).
  const keyObject = createSecretKey(Uint8Array.from(key));
  const alg = algorithm as 'aes-128-gcm';
  const options = { authTagLength: TAG_LENGTH };
  const checkNonce = (nonce: Uint8Array): void => {
    if (nonce.length !== 12) throw new CryptoError('unsupported', 'AEAD nonce must be 12 bytes');
  };
  return {
    algorithm,
    seal(nonce, aad, plaintext) {
      const out = new Uint8Array(plaintext.length + TAG_LENGTH);
      this.sealInto!(nonce, aad, plaintext, null, out, 0);
      return out;
    },
    sealInto(nonce, aad, plaintext, trailer, out, offset) {
      checkNonce(nonce);
      const total = plaintext.length + (trailer ? trailer.length : 0);
      if (offset < 0 || offset + total + TAG_LENGTH > out.length) throw new CryptoError('unsupported', 'sealInto: output too small');
      const c = createCipheriv(alg, keyObject, nonce, options);
      c.setAAD(aad);
      // node:crypto always returns new buffers, so the ciphertext is copied once into `out`; the
      // record trailer (content type and padding, RFC 8446 5.2) is a second small update rather
      // than a copy of the whole content into a temporary TLSInnerPlaintext.
      let o = offset;
      if (trailer && trailer.length > 0 && plaintext.length <= SMALL_RECORD) {
        // Small records: joining costs less than a second update() call (~1 µs each).
        const joined = new Uint8Array(plaintext.length + trailer.length);
        joined.set(plaintext);
        joined.set(trailer, plaintext.length);
        plaintext = joined;
        trailer = null;
      }
      const a = c.update(plaintext);
      out.set(a, o);
      o += a.length;
      if (trailer && trailer.length > 0) {
        const t = c.update(trailer);
        out.set(t, o);
        o += t.length;
      }
      const f = c.final(); // empty for GCM and ChaCha20-Poly1305 (stream modes)
      if (f.length > 0) {
        out.set(f, o);
        o += f.length;
      }
      out.set(c.getAuthTag(), o);
      return o + TAG_LENGTH - offset;
    },
    open(nonce, aad, ciphertextAndTag) {
      checkNonce(nonce);
      if (ciphertextAndTag.length < TAG_LENGTH) return null;
      const ctLen = ciphertextAndTag.length - TAG_LENGTH;
      const d = createDecipheriv(alg, keyObject, nonce, options);
      d.setAAD(aad);
      d.setAuthTag(ciphertextAndTag.subarray(ctLen));
      const a = d.update(ciphertextAndTag.subarray(0, ctLen));
      try {
        const b = d.final();
        if (b.length === 0) return u8(a);
        const out = new Uint8Array(a.length + b.length);
        out.set(a, 0);
        out.set(b, a.length);
        return out;
      } catch {
        return null; // authentication failed
      }
    },
  };
}

/**
 * X25519 private key import. OpenSSL 3's DER (PKCS#8) decoder costs ~0.35 ms a key here, its JWK
 * path ~0.03 ms; JWK needs the public `x`, which OpenSSL recomputes from `d` anyway, so a
 * placeholder is given and the real public key is read back from the imported key. Falls back to
 * PKCS#8 if a Node version ever refuses the placeholder.
 */
const X25519_PLACEHOLDER_X = 'A'.repeat(43);
function x25519PrivateKey(scalar: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(scalar).toString('base64url'), x: X25519_PLACEHOLDER_X }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.from(x25519Pkcs8(scalar)), format: 'der', type: 'pkcs8' });
  }
}

/** The 32-byte X25519 public key (RFC 7748 6.1) of an imported private key. */
function x25519PublicBytes(privateKey: KeyObject): Uint8Array {
  const x = privateKey.export({ format: 'jwk' }).x;
  const b = typeof x === 'string' ? Buffer.from(x, 'base64url') : Buffer.alloc(0);
  if (b.length === 32) return u8(b);
  const spki = u8(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  return spki.slice(spki.length - 32);
}

/** A peer's X25519 public key from its 32 raw bytes (JWK import: ~10x cheaper than SPKI DER). */
function x25519PublicKey(raw: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    return createPublicKey({ key: Buffer.from(x25519Spki(raw)), format: 'der', type: 'spki' });
  }
}

function generateNodeKeyShare(group: NamedGroup, random: (n: number) => Uint8Array): KeyShare {
  if (group === 'x25519') {
    const privateKey = x25519PrivateKey(drawX25519Scalar(random));
    const publicKey = x25519PublicBytes(privateKey);
    return {
      group,
      publicKey,
      computeSecret(peer) {
        if (peer.length !== 32) throw new CryptoError('invalid-point', 'X25519 key_exchange must be 32 bytes');
        let secret: Uint8Array;
        try {
          const peerKey = x25519PublicKey(peer);
          secret = u8(diffieHellman({ privateKey, publicKey: peerKey }));
        } catch (e) {
          throw new CryptoError('invalid-point', `X25519: ${(e as Error).message}`);
        }
        // RFC 8446 7.4.2 / RFC 7748 6.1: reject the all-zero output of a small-order point.
        if (isAllZero(secret)) throw new CryptoError('invalid-point', 'X25519 shared secret is all zero');
        return secret;
      },
    };
  }
  if (group === 'secp256r1') {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(drawP256Scalar(random));
    const publicKey = u8(ecdh.getPublicKey(null, 'uncompressed'));
    return {
      group,
      publicKey,
      computeSecret(peer) {
        // RFC 8446 4.2.8.2: TLS 1.3 uses the uncompressed form only.
        if (peer.length !== 65 || peer[0] !== 4) throw new CryptoError('invalid-point', 'P-256 key_exchange must be an uncompressed point');
        try {
          return u8(ecdh.computeSecret(peer)); // the x-coordinate (RFC 8446 7.4.2); OpenSSL checks the point is on the curve
        } catch (e) {
          throw new CryptoError('invalid-point', `P-256: ${(e as Error).message}`);
        }
      },
    };
  }
  throw new CryptoError('unsupported', `unsupported group ${String(group)}`);
}

interface CachedKey {
  object: KeyObject;
  rsaPss: boolean;
}
const privateCache = new WeakMap<PrivateKey, CachedKey>();
const publicCache = new WeakMap<PublicKey, CachedKey>();

function privateKeyObject(key: PrivateKey): CachedKey {
  let c = privateCache.get(key);
  if (!c) {
    const info = parsePkcs8(key.pkcs8);
    if (info.type !== key.type) throw new CryptoError('invalid-key', `key says ${key.type} but PKCS#8 holds ${info.type}`);
    try {
      c = { object: createPrivateKey({ key: Buffer.from(key.pkcs8), format: 'der', type: 'pkcs8' }), rsaPss: info.algorithmOid === Oid.rsassaPss };
    } catch (e) {
      throw new CryptoError('invalid-key', `PKCS#8: ${(e as Error).message}`);
    }
    privateCache.set(key, c);
  }
  return c;
}

/**
 * Public keys by content too: a server's leaf key arrives as new bytes on every handshake, and
 * importing SPKI DER through OpenSSL 3's decoders costs ~0.1 ms. The import is a pure function of
 * the bytes, so a bounded cache keyed by them is safe; the oldest entry goes first when full.
 */
const PUBLIC_BY_CONTENT_MAX = 256;
const publicByContent = new Map<string, CachedKey>();

function publicKeyObject(key: PublicKey): CachedKey {
  let c = publicCache.get(key);
  if (!c) {
    const id = `${key.type}:${Buffer.from(key.spki.buffer, key.spki.byteOffset, key.spki.length).toString('base64')}`;
    c = publicByContent.get(id);
    if (!c) {
      const info = parseSpki(key.spki);
      if (info.type !== key.type) throw new CryptoError('invalid-key', `key says ${key.type} but SPKI holds ${info.type}`);
      try {
        c = { object: createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' }), rsaPss: info.algorithmOid === Oid.rsassaPss };
      } catch (e) {
        throw new CryptoError('invalid-key', `SPKI: ${(e as Error).message}`);
      }
      if (publicByContent.size >= PUBLIC_BY_CONTENT_MAX) publicByContent.delete(publicByContent.keys().next().value as string);
      publicByContent.set(id, c);
    }
    publicCache.set(key, c);
  }
  return c;
}

/** The options node's sign/verify need for one algorithm. */
function signOptions(alg: CertSignatureAlgorithm, object: KeyObject): { hash: string | null; options: Parameters<typeof nodeSign>[2] } {
  switch (alg.kind) {
    case 'ed25519':
      return { hash: null, options: object };
    case 'ecdsa':
      // TLS and X.509 carry ECDSA signatures DER-encoded (RFC 8446 4.2.3, RFC 5758 3.2).
      return { hash: alg.hash, options: { key: object, dsaEncoding: 'der' } };
    case 'rsa-pkcs1':
      return { hash: alg.hash, options: { key: object, padding: constants.RSA_PKCS1_PADDING } };
    case 'rsa-pss':
      return {
        hash: alg.hash,
        options: { key: object, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength ?? hashLengthOf(alg.hash ?? 'sha256') },
      };
  }
}

function certAlgorithmMatchesKey(alg: CertSignatureAlgorithm, type: PublicKey['type']): boolean {
  switch (alg.kind) {
    case 'ed25519':
      return type === 'ed25519' && alg.hash === null;
    case 'ecdsa':
      return (type === 'ec-p256' || type === 'ec-p384') && alg.hash !== null;
    case 'rsa-pkcs1':
    case 'rsa-pss':
      return type === 'rsa' && alg.hash !== null;
  }
}

export const nodeCrypto: CryptoProvider = {
  name: 'node:crypto',
  hashLength: (alg: HashAlgorithm) => hashLengthOf(alg),
  createHash: (alg) => new NodeHashContext(createHash(alg)),
  hash: (alg, data) => u8(createHash(alg).update(data).digest()),
  hmac: (alg, key, data) => u8(createHmac(alg, key).update(data).digest()),
  createAead: createNodeAead,
  generateKeyShare: generateNodeKeyShare,
  sign(scheme: SignatureScheme, key: PrivateKey, data: Uint8Array): Uint8Array {
    const c = privateKeyObject(key);
    checkSchemeKey(scheme, key.type, c.rsaPss);
    const { hash, options } = signOptions(signatureSchemeInfo[scheme].algorithm, c.object);
    return u8(nodeSign(hash, data, options));
  },
  verify(scheme, key, data, signature) {
    try {
      const c = publicKeyObject(key);
      checkSchemeKey(scheme, key.type, c.rsaPss);
      const { hash, options } = signOptions(signatureSchemeInfo[scheme].algorithm, c.object);
      return nodeVerify(hash, data, options as never, signature);
    } catch {
      return false; // wrong key for the scheme, malformed key or signature: not a valid signature
    }
  },
  verifyCertificateSignature(alg, key, data, signature) {
    try {
      if (!certAlgorithmMatchesKey(alg, key.type)) return false;
      const c = publicKeyObject(key);
      if (c.rsaPss && alg.kind !== 'rsa-pss') return false; // RFC 4055 1.2: a PSS key signs only PSS
      const { hash, options } = signOptions(alg, c.object);
      return nodeVerify(hash, data, options as never, signature);
    } catch {
      return false;
    }
  },
};
