/**
 * Key encodings shared by both providers: SubjectPublicKeyInfo (RFC 5280 4.1.2.7), PKCS#8
 * PrivateKeyInfo (RFC 5208), SEC1 ECPrivateKey (RFC 5915), PKCS#1 RSA keys (RFC 8017 A.1), and the
 * Ed25519/X25519 forms of RFC 8410. Parsing errors become CryptoError('invalid-key').
 */
import { DerError, DerReader, DerTag, derEncode, derEncodeOid, derEncodeUnsigned } from '../x509/der.js';
import { CryptoError, type KeyType, type PrivateKey, type PublicKey } from './provider.js';

export const Oid = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  ed25519: '1.3.101.112',
  x25519: '1.3.101.110',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
} as const;

function wrapDer<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    if (e instanceof DerError) throw new CryptoError('invalid-key', `${what}: ${e.message}`);
    throw e;
  }
}

function keyTypeOf(algorithmOid: string, curveOid: string | undefined): KeyType {
  switch (algorithmOid) {
    case Oid.rsaEncryption:
    case Oid.rsassaPss:
      return 'rsa';
    case Oid.ed25519:
      return 'ed25519';
    case Oid.ecPublicKey:
      if (curveOid === Oid.prime256v1) return 'ec-p256';
      if (curveOid === Oid.secp384r1) return 'ec-p384';
      throw new CryptoError('unsupported', `unsupported EC curve ${curveOid ?? '(none)'}`);
    default:
      throw new CryptoError('unsupported', `unsupported key algorithm ${algorithmOid}`);
  }
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
function readAlgorithm(r: DerReader): { oid: string; curveOid?: string; params?: Uint8Array } {
  const alg = r.sequence('AlgorithmIdentifier');
  const oid = alg.readOid();
  let curveOid: string | undefined;
  let params: Uint8Array | undefined;
  if (!alg.atEnd()) {
    if (oid === Oid.ecPublicKey) curveOid = alg.readOid('namedCurve');
    else params = alg.read().bytes;
  }
  alg.end('AlgorithmIdentifier');
  return { oid, curveOid, params };
}

export interface SpkiInfo {
  readonly type: KeyType;
  readonly algorithmOid: string;
  /** subjectPublicKey contents: RSAPublicKey DER, EC point, or the 32-byte Ed25519 key. */
  readonly key: Uint8Array;
}

export function parseSpki(spki: Uint8Array): SpkiInfo {
  return wrapDer('SubjectPublicKeyInfo', () => {
    const top = new DerReader(spki);
    const r = top.sequence('SubjectPublicKeyInfo');
    top.end('SubjectPublicKeyInfo');
    const alg = readAlgorithm(r);
    const key = r.readBitStringBytes('subjectPublicKey');
    r.end('SubjectPublicKeyInfo');
    const type = keyTypeOf(alg.oid, alg.curveOid);
    if (type === 'ed25519' && key.length !== 32) throw new CryptoError('invalid-key', 'Ed25519 public key is not 32 bytes');
    if (type === 'ec-p256' && (key.length !== 65 || key[0] !== 4)) throw new CryptoError('invalid-key', 'P-256 key is not an uncompressed point');
    if (type === 'ec-p384' && (key.length !== 97 || key[0] !== 4)) throw new CryptoError('invalid-key', 'P-384 key is not an uncompressed point');
    return { type, algorithmOid: alg.oid, key };
  });
}

export interface Pkcs8Info {
  readonly type: KeyType;
  readonly algorithmOid: string;
  /** privateKey OCTET STRING contents: RSAPrivateKey, ECPrivateKey, or CurvePrivateKey. */
  readonly privateKey: Uint8Array;
}

export function parsePkcs8(pkcs8: Uint8Array): Pkcs8Info {
  return wrapDer('PrivateKeyInfo', () => {
    const top = new DerReader(pkcs8);
    const r = top.sequence('PrivateKeyInfo');
    top.end('PrivateKeyInfo');
    const version = r.readSmallInteger('version');
    if (version !== 0 && version !== 1) throw new CryptoError('invalid-key', `PKCS#8 version ${version}`);
    const alg = readAlgorithm(r);
    const privateKey = r.readOctetString('privateKey');
    // attributes [0] and (RFC 5958 v2) publicKey [1] are allowed and ignored; nothing else may follow.
    r.readOptional(0xa0);
    if (version === 1) r.readOptional(0x81);
    r.end('PrivateKeyInfo');
    let curveOid = alg.curveOid;
    if (alg.oid === Oid.ecPublicKey && curveOid === undefined) curveOid = parseSec1(privateKey).curveOid;
    return { type: keyTypeOf(alg.oid, curveOid), algorithmOid: alg.oid, privateKey };
  });
}

/** RFC 5915 3: ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] params, [1] publicKey } */
export function parseSec1(der: Uint8Array): { d: Uint8Array; curveOid?: string; publicKey?: Uint8Array } {
  return wrapDer('ECPrivateKey', () => {
    const top = new DerReader(der);
    const r = top.sequence('ECPrivateKey');
    top.end('ECPrivateKey');
    if (r.readSmallInteger('version') !== 1) throw new CryptoError('invalid-key', 'ECPrivateKey version is not 1');
    const d = r.readOctetString('privateKey');
    let curveOid: string | undefined;
    let publicKey: Uint8Array | undefined;
    const params = r.readOptional(0xa0);
    if (params) {
      const pr = r.enter(params);
      curveOid = pr.readOid('namedCurve');
      pr.end('ECParameters');
    }
    const pub = r.readOptional(0xa1);
    if (pub) {
      const pr = r.enter(pub);
      publicKey = pr.readBitStringBytes('publicKey');
      pr.end('publicKey');
    }
    r.end('ECPrivateKey');
    return { d, curveOid, publicKey };
  });
}

/** The raw EC scalar, left-padded to the curve's size. */
export function ecPrivateScalar(info: Pkcs8Info): Uint8Array {
  const size = info.type === 'ec-p256' ? 32 : 48;
  const { d } = parseSec1(info.privateKey);
  if (d.length > size) throw new CryptoError('invalid-key', 'EC private key too long');
  const out = new Uint8Array(size);
  out.set(d, size - d.length);
  return out;
}

/** RFC 8410 7: CurvePrivateKey ::= OCTET STRING (inside the PKCS#8 privateKey OCTET STRING). */
export function ed25519Seed(info: Pkcs8Info): Uint8Array {
  return wrapDer('CurvePrivateKey', () => {
    const r = new DerReader(info.privateKey);
    const seed = r.readOctetString('CurvePrivateKey');
    r.end('CurvePrivateKey');
    if (seed.length !== 32) throw new CryptoError('invalid-key', 'Ed25519 private key is not 32 bytes');
    return seed;
  });
}

export function publicKeyFromSpki(spki: Uint8Array): PublicKey {
  return { type: parseSpki(spki).type, spki };
}

export function privateKeyFromPkcs8(pkcs8: Uint8Array): PrivateKey {
  return { type: parsePkcs8(pkcs8).type, pkcs8 };
}

/** Wraps a SEC1 ECPrivateKey into PKCS#8 (RFC 5915 + RFC 5208); the curve must be named in it. */
export function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  const { curveOid } = parseSec1(sec1);
  if (curveOid === undefined) throw new CryptoError('invalid-key', 'EC PRIVATE KEY without a named curve');
  keyTypeOf(Oid.ecPublicKey, curveOid);
  return derEncode(
    DerTag.sequence,
    derEncodeUnsigned(0n),
    derEncode(DerTag.sequence, derEncodeOid(Oid.ecPublicKey), derEncodeOid(curveOid)),
    derEncode(DerTag.octetString, sec1),
  );
}

/** Wraps a PKCS#1 RSAPrivateKey into PKCS#8 with rsaEncryption and NULL parameters (RFC 8017 A.1). */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  return derEncode(
    DerTag.sequence,
    derEncodeUnsigned(0n),
    derEncode(DerTag.sequence, derEncodeOid(Oid.rsaEncryption), derEncode(DerTag.null)),
    derEncode(DerTag.octetString, pkcs1),
  );
}

/** RFC 8410 wrappers for the raw X25519 keys used inside the node provider. */
const X25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const X25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
export const x25519Pkcs8 = (priv: Uint8Array): Uint8Array => concat(X25519_PKCS8_PREFIX, priv);
export const x25519Spki = (pub: Uint8Array): Uint8Array => concat(X25519_SPKI_PREFIX, pub);

/** P-256 group order n (SEC 2 2.4.2). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n) throw new RangeError('integer too large for its length');
  return out;
}

/**
 * The P-256 private scalar from injected randomness: draw 32 bytes until 0 < d < n (rejection
 * sampling, FIPS 186-5 A.2.2 style). Both providers use this, so one `random` gives one key.
 */
export function drawP256Scalar(random: (n: number) => Uint8Array): Uint8Array {
  for (let i = 0; i < 64; i++) {
    const d = random(32);
    if (d.length !== 32) throw new CryptoError('invalid-key', 'random(32) returned the wrong length');
    const v = bytesToBigInt(d);
    if (v > 0n && v < P256_N) return Uint8Array.from(d);
  }
  throw new CryptoError('invalid-key', 'random source keeps returning invalid P-256 scalars');
}

export function drawX25519Scalar(random: (n: number) => Uint8Array): Uint8Array {
  const d = random(32);
  if (d.length !== 32) throw new CryptoError('invalid-key', 'random(32) returned the wrong length');
  return Uint8Array.from(d);
}

/** RFC 8446 7.4.2: an all-zero X25519 output (a small-order peer point) must be rejected. */
export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}
