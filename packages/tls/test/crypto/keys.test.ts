import { generateKeyPairSync } from 'node:crypto';
import { parsePkcs8, parseSec1, parseSpki, pkcs1ToPkcs8, privateKeyFromPkcs8, publicKeyFromSpki, sec1ToPkcs8 } from '../../src/crypto/keys.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import { nodeCrypto } from '../../src/crypto/node.js';
import { CryptoError } from '../../src/crypto/provider.js';
import { parseRsaPrivateKey, parseRsaPublicKey } from '../../src/crypto/rsa.js';
import { seededRandom } from './helpers.js';

const der = { format: 'der' } as const;

function code(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof CryptoError) return e.code;
    throw e;
  }
}

describe('key encodings', () => {
  test('SPKI and PKCS#8 key types are detected from the algorithm OID and curve', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(parseSpki(new Uint8Array(ec.publicKey.export({ ...der, type: 'spki' }))).type).toBe('ec-p384');
    expect(parsePkcs8(new Uint8Array(ec.privateKey.export({ ...der, type: 'pkcs8' }))).type).toBe('ec-p384');
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 1024 });
    expect(parseSpki(new Uint8Array(pss.publicKey.export({ ...der, type: 'spki' }))).algorithmOid).toBe('1.2.840.113549.1.1.10');
  });

  test('unsupported curves (P-521) are CryptoError unsupported', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    expect(code(() => publicKeyFromSpki(new Uint8Array(k.publicKey.export({ ...der, type: 'spki' }))))).toBe('unsupported');
    expect(code(() => privateKeyFromPkcs8(new Uint8Array(k.privateKey.export({ ...der, type: 'pkcs8' }))))).toBe('unsupported');
  });

  test('malformed or trailing bytes are invalid-key', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pkcs8 = new Uint8Array(k.privateKey.export({ ...der, type: 'pkcs8' }));
    expect(code(() => parsePkcs8(Uint8Array.from([...pkcs8, 0])))).toBe('invalid-key');
    expect(code(() => parsePkcs8(pkcs8.subarray(0, 20)))).toBe('invalid-key');
    expect(code(() => parseSpki(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])))).toBe('invalid-key');
  });

  test('SEC1 and PKCS#1 keys converted to PKCS#8 sign like the originals', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sec1 = new Uint8Array(ec.privateKey.export({ ...der, type: 'sec1' }));
    expect(parseSec1(sec1).curveOid).toBe('1.2.840.10045.3.1.7');
    const ecKey = privateKeyFromPkcs8(sec1ToPkcs8(sec1));
    const ecPub = publicKeyFromSpki(new Uint8Array(ec.publicKey.export({ ...der, type: 'spki' })));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaKey = privateKeyFromPkcs8(pkcs1ToPkcs8(new Uint8Array(rsa.privateKey.export({ ...der, type: 'pkcs1' }))));
    const rsaPub = publicKeyFromSpki(new Uint8Array(rsa.publicKey.export({ ...der, type: 'spki' })));
    const data = new Uint8Array([1, 2, 3]);
    for (const p of [nodeCrypto, nobleCrypto]) {
      expect(nodeCrypto.verify('ecdsa_secp256r1_sha256', ecPub, data, p.sign('ecdsa_secp256r1_sha256', ecKey, data, seededRandom('e')))).toBe(true);
      expect(nodeCrypto.verify('rsa_pss_rsae_sha256', rsaPub, data, p.sign('rsa_pss_rsae_sha256', rsaKey, data, seededRandom('r')))).toBe(true);
    }
  });

  test('RSA keys: inconsistent private keys and tiny moduli are rejected', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pkcs1 = new Uint8Array(rsa.privateKey.export({ ...der, type: 'pkcs1' }));
    expect(parseRsaPrivateKey(pkcs1).modBits).toBe(1024);
    const small = generateKeyPairSync('rsa', { modulusLength: 512 });
    expect(code(() => parseRsaPublicKey(new Uint8Array(small.publicKey.export({ ...der, type: 'pkcs1' }))))).toBe('invalid-key');
    // Swap in the other key's modulus: p * q no longer equals n.
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const nA = parseRsaPrivateKey(pkcs1).n.toString(16);
    const nB = parseRsaPrivateKey(new Uint8Array(other.privateKey.export({ ...der, type: 'pkcs1' }))).n.toString(16);
    const mixed = Buffer.from(Buffer.from(pkcs1).toString('hex').replace(nA, nB), 'hex');
    expect(code(() => parseRsaPrivateKey(new Uint8Array(mixed)))).toBe('invalid-key');
  });
});
