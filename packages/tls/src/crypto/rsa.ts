/**
 * RSA with BigInt for the pure-JavaScript provider (noble has no RSA): RSASSA-PSS sign/verify
 * (RFC 8017 8.1, EMSA-PSS 9.1, MGF1 B.2.1) and RSASSA-PKCS1-v1_5 sign/verify (RFC 8017 8.2, 9.2).
 * Signing uses the CRT (RFC 8017 5.1.2 2.b) and checks its own result before releasing it, so a
 * computation fault cannot leak the factors.
 *
 * BigInt arithmetic is not constant time: fine for verification and tests, but signing with a
 * long-term RSA key in this provider leaks timing (documented in docs/packages/tls-crypto.md).
 */
import { DerError, DerReader } from '../x509/der.js';
import { bigIntToBytes, bytesToBigInt } from './keys.js';
import { CryptoError } from './provider.js';

export interface RsaPublicKey {
  readonly n: bigint;
  readonly e: bigint;
  /** Modulus length in bytes (k in RFC 8017). */
  readonly k: number;
  /** Modulus length in bits. */
  readonly modBits: number;
}

export interface RsaPrivateKey extends RsaPublicKey {
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qInv: bigint;
}

/** The hash a signature uses: a one-shot function and its output length. */
export interface RsaHash {
  readonly name: 'sha256' | 'sha384' | 'sha512';
  readonly length: number;
  digest(data: Uint8Array): Uint8Array;
}

/** Public moduli between 1024 and 16384 bits; larger ones are a denial-of-service lever. */
const MIN_MOD_BITS = 1024;
const MAX_MOD_BITS = 16384;

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

function checkModulus(n: bigint, e: bigint): { k: number; modBits: number } {
  const modBits = bitLength(n);
  if (n <= 0n || modBits < MIN_MOD_BITS || modBits > MAX_MOD_BITS) throw new CryptoError('invalid-key', `RSA modulus of ${modBits} bits`);
  if ((n & 1n) === 0n) throw new CryptoError('invalid-key', 'RSA modulus is even');
  if (e < 3n || (e & 1n) === 0n || bitLength(e) > 64) throw new CryptoError('invalid-key', 'bad RSA public exponent');
  return { k: Math.ceil(modBits / 8), modBits };
}

function derKey<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DerError) throw new CryptoError('invalid-key', `${what}: ${e.message}`);
    throw e;
  }
}

/** RFC 8017 A.1.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
export function parseRsaPublicKey(der: Uint8Array): RsaPublicKey {
  return derKey('RSAPublicKey', () => {
    const top = new DerReader(der);
    const r = top.sequence('RSAPublicKey');
    top.end('RSAPublicKey');
    const n = r.readInteger('modulus');
    const e = r.readInteger('publicExponent');
    r.end('RSAPublicKey');
    return { n, e, ...checkModulus(n, e) };
  });
}

/** RFC 8017 A.1.2: RSAPrivateKey (two-prime, version 0). */
export function parseRsaPrivateKey(der: Uint8Array): RsaPrivateKey {
  return derKey('RSAPrivateKey', () => {
    const top = new DerReader(der);
    const r = top.sequence('RSAPrivateKey');
    top.end('RSAPrivateKey');
    if (r.readSmallInteger('version') !== 0) throw new CryptoError('unsupported', 'multi-prime RSA keys are not supported');
    const n = r.readInteger('modulus');
    const e = r.readInteger('publicExponent');
    const d = r.readInteger('privateExponent');
    const p = r.readInteger('prime1');
    const q = r.readInteger('prime2');
    const dp = r.readInteger('exponent1');
    const dq = r.readInteger('exponent2');
    const qInv = r.readInteger('coefficient');
    r.end('RSAPrivateKey');
    const sizes = checkModulus(n, e);
    if (p * q !== n || d <= 0n || dp <= 0n || dq <= 0n || qInv <= 0n) throw new CryptoError('invalid-key', 'inconsistent RSA private key');
    return { n, e, d, p, q, dp, dq, qInv, ...sizes };
  });
}

/** Left-to-right square-and-multiply. */
export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  if (mod === 1n) return 0n;
  let result = 1n;
  base %= mod;
  if (base < 0n) base += mod;
  const bits = exp.toString(2);
  for (let i = 0; i < bits.length; i++) {
    result = (result * result) % mod;
    if (bits.charCodeAt(i) === 49) result = (result * base) % mod;
  }
  return result;
}

/** RSASP1 with the CRT (RFC 8017 5.2.1 2.b), checked with RSAVP1 before release. */
function rsasp1(key: RsaPrivateKey, m: bigint): bigint {
  if (m >= key.n) throw new CryptoError('invalid-key', 'message representative out of range');
  const m1 = modPow(m, key.dp, key.p);
  const m2 = modPow(m, key.dq, key.q);
  let h = ((m1 - m2) * key.qInv) % key.p;
  if (h < 0n) h += key.p;
  const s = m2 + h * key.q;
  if (modPow(s, key.e, key.n) !== m) throw new CryptoError('invalid-key', 'RSA signature self-check failed');
  return s;
}

/** RFC 8017 B.2.1 MGF1. */
function mgf1(hash: RsaHash, seed: Uint8Array, maskLen: number): Uint8Array {
  const out = new Uint8Array(maskLen);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed, 0);
  for (let counter = 0, pos = 0; pos < maskLen; counter++) {
    input[seed.length] = (counter >>> 24) & 0xff;
    input[seed.length + 1] = (counter >>> 16) & 0xff;
    input[seed.length + 2] = (counter >>> 8) & 0xff;
    input[seed.length + 3] = counter & 0xff;
    const block = hash.digest(input);
    const take = Math.min(block.length, maskLen - pos);
    out.set(block.subarray(0, take), pos);
    pos += take;
  }
  return out;
}

function pssMPrime(hash: RsaHash, mHash: Uint8Array, salt: Uint8Array): Uint8Array {
  const mPrime = new Uint8Array(8 + mHash.length + salt.length);
  mPrime.set(mHash, 8);
  mPrime.set(salt, 8 + mHash.length);
  return hash.digest(mPrime);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** RFC 8017 8.1.1 RSASSA-PSS-SIGN with EMSA-PSS-ENCODE (9.1.1); `salt` from the injected random. */
export function rsaPssSign(key: RsaPrivateKey, hash: RsaHash, message: Uint8Array, salt: Uint8Array): Uint8Array {
  const emBits = key.modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = hash.length;
  const sLen = salt.length;
  if (emLen < hLen + sLen + 2) throw new CryptoError('invalid-key', 'RSA key too short for PSS with this hash');
  const mHash = hash.digest(message);
  const h = pssMPrime(hash, mHash, salt);
  const db = new Uint8Array(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  db.set(salt, emLen - sLen - hLen - 1);
  const dbMask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= dbMask[i];
  db[0] &= 0xff >>> (8 * emLen - emBits);
  const em = new Uint8Array(emLen);
  em.set(db, 0);
  em.set(h, db.length);
  em[emLen - 1] = 0xbc;
  return bigIntToBytes(rsasp1(key, bytesToBigInt(em)), key.k);
}

/** RSAVP1 with the length and range checks of RFC 8017 8.1.2 step 1-2; null when they fail. */
function rsavp1(key: RsaPublicKey, signature: Uint8Array, emLen: number): Uint8Array | null {
  if (signature.length !== key.k) return null;
  const s = bytesToBigInt(signature);
  if (s >= key.n) return null;
  const m = modPow(s, key.e, key.n);
  try {
    return bigIntToBytes(m, emLen);
  } catch {
    return null; // does not fit emLen: "inconsistent"
  }
}

/** RFC 8017 8.1.2 RSASSA-PSS-VERIFY with EMSA-PSS-VERIFY (9.1.2) and a fixed salt length. */
export function rsaPssVerify(key: RsaPublicKey, hash: RsaHash, message: Uint8Array, signature: Uint8Array, saltLength: number): boolean {
  const emBits = key.modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = hash.length;
  const sLen = saltLength;
  const em = rsavp1(key, signature, emLen);
  if (!em) return false;
  if (emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const maskedDb = em.subarray(0, dbLen);
  const h = em.subarray(dbLen, dbLen + hLen);
  const topMask = 0xff >>> (8 * emLen - emBits);
  if ((maskedDb[0] & ~topMask & 0xff) !== 0) return false;
  const db = mgf1(hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i] ^= maskedDb[i];
  db[0] &= topMask;
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(dbLen - sLen);
  return equalBytes(pssMPrime(hash, hash.digest(message), salt), h);
}

/** RFC 8017 9.2 note 1: DER DigestInfo prefixes for the hashes used here. */
const digestInfoPrefix: Record<RsaHash['name'], Uint8Array> = {
  sha256: Uint8Array.from([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]),
  sha384: Uint8Array.from([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]),
  sha512: Uint8Array.from([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]),
};

/** RFC 8017 9.2 EMSA-PKCS1-v1_5-ENCODE. */
function emsaPkcs1v15(hash: RsaHash, message: Uint8Array, emLen: number): Uint8Array {
  const prefix = digestInfoPrefix[hash.name];
  const tLen = prefix.length + hash.length;
  if (emLen < tLen + 11) throw new CryptoError('invalid-key', 'RSA key too short for this hash');
  const em = new Uint8Array(emLen);
  em[1] = 0x01;
  em.fill(0xff, 2, emLen - tLen - 1);
  em.set(prefix, emLen - tLen);
  em.set(hash.digest(message), emLen - hash.length);
  return em;
}

export function rsaPkcs1Sign(key: RsaPrivateKey, hash: RsaHash, message: Uint8Array): Uint8Array {
  const em = emsaPkcs1v15(hash, message, key.k);
  return bigIntToBytes(rsasp1(key, bytesToBigInt(em)), key.k);
}

/** RFC 8017 8.2.2: recompute the encoding and compare (no parsing of the DigestInfo). */
export function rsaPkcs1Verify(key: RsaPublicKey, hash: RsaHash, message: Uint8Array, signature: Uint8Array): boolean {
  const em = rsavp1(key, signature, key.k);
  if (!em) return false;
  let expected: Uint8Array;
  try {
    expected = emsaPkcs1v15(hash, message, key.k);
  } catch {
    return false;
  }
  return equalBytes(em, expected);
}
