import { deriveSecret, hkdfExpand, hkdfExpandLabel, hkdfExtract } from '../../src/crypto/hkdf.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import { nodeCrypto } from '../../src/crypto/node.js';
import { CryptoError, type AeadAlgorithm, type CryptoProvider, type SignatureScheme } from '../../src/crypto/provider.js';
import { allSignatureSchemes, signatureSchemeFromCodepoint, signatureSchemeInfo } from '../../src/crypto/schemes.js';
import { fixedRandom, hex, loadVectors, seededRandom, testKeys, toHex, type TestKeyPair } from './helpers.js';

const V = loadVectors('known-answers.json');
const providers: CryptoProvider[] = [nodeCrypto, nobleCrypto];
const ed25519Pkcs8 = (seed: Uint8Array) => Uint8Array.from([...hex('302e020100300506032b657004220420'), ...seed]);
const ed25519Spki = (pub: Uint8Array) => Uint8Array.from([...hex('302a300506032b6570032100'), ...pub]);
const text = (s: string) => new TextEncoder().encode(s);

describe.each(providers.map((p) => [p.name, p] as const))('%s provider: known answers', (_name, provider) => {
  test.each((V.hkdf as any[]).map((v: any, i: number) => [i + 1, v] as [number, any]))('RFC 5869 HKDF-SHA256 vector %i', (_i, v: any) => {
    const prk = hkdfExtract(provider, 'sha256', hex(v.salt), hex(v.ikm));
    expect(toHex(prk)).toBe(v.prk);
    expect(toHex(hkdfExpand(provider, 'sha256', prk, hex(v.info), v.length))).toBe(v.okm);
  });

  test('HKDF-Expand refuses more than 255 * HashLen bytes (RFC 5869 2.3)', () => {
    expect(() => hkdfExpand(provider, 'sha256', new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1)).toThrow(CryptoError);
    expect(hkdfExpand(provider, 'sha256', new Uint8Array(32), new Uint8Array(0), 255 * 32)).toHaveLength(255 * 32);
  });

  test('RFC 8448 simple 1-RTT: early secret, "derived", server handshake key and iv', () => {
    const r = V.rfc8448;
    const early = hkdfExtract(provider, 'sha256', new Uint8Array(0), new Uint8Array(32));
    expect(toHex(early)).toBe(r.earlySecret);
    expect(toHex(deriveSecret(provider, 'sha256', early, 'derived', provider.hash('sha256', new Uint8Array(0))))).toBe(r.derived);
    const shts = hex(r.serverHandshakeTrafficSecret);
    expect(toHex(hkdfExpandLabel(provider, 'sha256', shts, 'key', new Uint8Array(0), 16))).toBe(r.serverHandshakeKey);
    expect(toHex(hkdfExpandLabel(provider, 'sha256', shts, 'iv', new Uint8Array(0), 12))).toBe(r.serverHandshakeIv);
  });

  test.each((V.aead as any[]).map((v: any, i: number) => [`${v.alg} #${i}`, v] as [string, any]))('AEAD known answer %s: seal and open', (_n, v: any) => {
    const aead = provider.createAead(v.alg, hex(v.key));
    const sealed = aead.seal(hex(v.nonce), hex(v.aad), hex(v.plaintext));
    expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
    expect(toHex(aead.open(hex(v.nonce), hex(v.aad), sealed)!)).toBe(v.plaintext);
  });

  test.each(['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as AeadAlgorithm[])('%s: tampered tag, ciphertext or aad opens to null', (alg) => {
    const aead = provider.createAead(alg, new Uint8Array(alg === 'aes-128-gcm' ? 16 : 32).fill(7));
    const nonce = new Uint8Array(12).fill(1);
    const sealed = aead.seal(nonce, text('hdr'), text('hello world'));
    for (const i of [0, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[i] ^= 1;
      expect(aead.open(nonce, text('hdr'), bad)).toBeNull();
    }
    expect(aead.open(nonce, text('hdX'), sealed)).toBeNull();
    expect(aead.open(nonce, text('hdr'), sealed.subarray(0, 15))).toBeNull();
    expect(aead.open(nonce, text('hdr'), sealed)).toEqual(text('hello world'));
  });

  test('AEAD rejects a wrong key length with CryptoError', () => {
    expect(() => provider.createAead('aes-128-gcm', new Uint8Array(32))).toThrow(CryptoError);
    expect(() => provider.createAead('chacha20-poly1305', new Uint8Array(16))).toThrow(CryptoError);
  });

  test('hash contexts: digest() does not end the hash, clone() forks the state', () => {
    for (const alg of ['sha256', 'sha384'] as const) {
      const h = provider.createHash(alg);
      h.update(text('abc'));
      expect(h.digest()).toEqual(provider.hash(alg, text('abc')));
      const fork = h.clone();
      h.update(text('def'));
      fork.update(text('xyz'));
      expect(h.digest()).toEqual(provider.hash(alg, text('abcdef')));
      expect(fork.digest()).toEqual(provider.hash(alg, text('abcxyz')));
      expect(h.digest()).toHaveLength(provider.hashLength(alg));
    }
  });

  test('RFC 7748 6.1: X25519 key share from injected private key gives the RFC public key and shared secret', () => {
    const d = V.x25519.dh;
    const alice = provider.generateKeyShare('x25519', fixedRandom(hex(d.alicePrivate)));
    expect(toHex(alice.publicKey)).toBe(d.alicePublic);
    expect(toHex(alice.computeSecret(hex(d.bobPublic)))).toBe(d.shared);
    const s = V.x25519.scalarMult;
    expect(toHex(provider.generateKeyShare('x25519', fixedRandom(hex(s.scalar))).computeSecret(hex(s.u)))).toBe(s.output);
  });

  test('X25519: a small-order peer point (all-zero secret) is rejected (RFC 8446 7.4.2)', () => {
    const share = provider.generateKeyShare('x25519', seededRandom('x'));
    expect(() => share.computeSecret(new Uint8Array(32))).toThrow(CryptoError);
    expect(() => share.computeSecret(new Uint8Array(31))).toThrow(CryptoError);
  });

  test('P-256: off-curve, compressed and short peer keys throw invalid-point', () => {
    const share = provider.generateKeyShare('secp256r1', seededRandom('p'));
    expect(share.publicKey).toHaveLength(65);
    const offCurve = Uint8Array.from(share.publicKey);
    offCurve[64] ^= 1;
    for (const bad of [offCurve, share.publicKey.subarray(0, 33), new Uint8Array(65)]) {
      try {
        share.computeSecret(bad);
        throw new Error('accepted a bad point');
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoError);
        expect((e as CryptoError).code).toBe('invalid-point');
      }
    }
  });

  test.each((V.ed25519 as any[]).map((v: any, i: number) => [i + 1, v] as [number, any]))('RFC 8032 7.1 Ed25519 TEST %i: sign and verify', (_i, v: any) => {
    const priv = { type: 'ed25519' as const, pkcs8: ed25519Pkcs8(hex(v.secret)) };
    const pub = { type: 'ed25519' as const, spki: ed25519Spki(hex(v.public)) };
    expect(toHex(provider.sign('ed25519', priv, hex(v.message), seededRandom('unused')))).toBe(v.signature);
    expect(provider.verify('ed25519', pub, hex(v.message), hex(v.signature))).toBe(true);
    const bad = hex(v.signature);
    bad[10] ^= 0x40;
    expect(provider.verify('ed25519', pub, hex(v.message), bad)).toBe(false);
  });

  test('sign with a key of the wrong type throws; verify with it is false', () => {
    const k = testKeys();
    expect(() => provider.sign('ecdsa_secp256r1_sha256', k.rsa.privateKey, text('m'), seededRandom('r'))).toThrow(CryptoError);
    expect(() => provider.sign('ecdsa_secp256r1_sha256', k.p384.privateKey, text('m'), seededRandom('r'))).toThrow(CryptoError);
    expect(() => provider.sign('rsa_pss_pss_sha256', k.rsa.privateKey, text('m'), seededRandom('r'))).toThrow(CryptoError);
    expect(() => provider.sign('rsa_pss_rsae_sha256', k.rsaPss.privateKey, text('m'), seededRandom('r'))).toThrow(CryptoError);
    const sig = provider.sign('ecdsa_secp256r1_sha256', k.p256.privateKey, text('m'), seededRandom('r'));
    expect(provider.verify('ecdsa_secp384r1_sha384', k.p256.publicKey, text('m'), sig)).toBe(false);
    expect(provider.verify('ecdsa_secp256r1_sha256', { type: 'ec-p256', spki: new Uint8Array([0x30, 0x00]) }, text('m'), sig)).toBe(false);
  });
});

const schemeKeys = (scheme: SignatureScheme): TestKeyPair => {
  const k = testKeys();
  switch (signatureSchemeInfo[scheme].keyType) {
    case 'ec-p256':
      return k.p256;
    case 'ec-p384':
      return k.p384;
    case 'ed25519':
      return k.ed25519;
    case 'rsa':
      return signatureSchemeInfo[scheme].rsaKeyOid === 'rsassaPss' ? k.rsaPss : k.rsa;
  }
};

describe('cross-provider', () => {
  const pairs = [
    [nodeCrypto, nobleCrypto],
    [nobleCrypto, nodeCrypto],
  ] as const;

  test.each(
    allSignatureSchemes.flatMap((s) => pairs.map(([a, b]) => [s, a.name, b.name, a, b] as const)),
  )('%s: signed by %s verifies with %s; altered data does not', (scheme, _a, _b, signer, verifier) => {
    const keys = schemeKeys(scheme);
    const data = text(`TLS 1.3, server CertificateVerify for ${scheme}`);
    const sig = signer.sign(scheme, keys.privateKey, data, seededRandom(scheme));
    expect(verifier.verify(scheme, keys.publicKey, data, sig)).toBe(true);
    expect(signer.verify(scheme, keys.publicKey, data, sig)).toBe(true);
    const altered = Uint8Array.from(data);
    altered[0] ^= 1;
    expect(verifier.verify(scheme, keys.publicKey, altered, sig)).toBe(false);
    const badSig = Uint8Array.from(sig);
    badSig[badSig.length - 1] ^= 1;
    expect(verifier.verify(scheme, keys.publicKey, data, badSig)).toBe(false);
  });

  test.each(['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as AeadAlgorithm[])('%s: sealed by one provider opens with the other', (alg) => {
    const rnd = seededRandom(alg);
    for (const size of [0, 1, 15, 16, 17, 1000]) {
      const key = rnd(alg === 'aes-128-gcm' ? 16 : 32);
      const nonce = rnd(12);
      const aad = rnd(5);
      const pt = rnd(size);
      for (const [a, b] of pairs) {
        const sealed = a.createAead(alg, key).seal(nonce, aad, pt);
        expect(sealed).toHaveLength(size + 16);
        expect(b.createAead(alg, key).open(nonce, aad, sealed)).toEqual(pt);
        sealed[sealed.length - 1] ^= 0x80;
        expect(b.createAead(alg, key).open(nonce, aad, sealed)).toBeNull();
      }
    }
  });

  test.each(['x25519', 'secp256r1'] as const)('%s: the same random gives the same public key and shared secret in both', (group) => {
    const a1 = nodeCrypto.generateKeyShare(group, seededRandom(`${group}-a`));
    const a2 = nobleCrypto.generateKeyShare(group, seededRandom(`${group}-a`));
    expect(toHex(a1.publicKey)).toBe(toHex(a2.publicKey));
    const b1 = nodeCrypto.generateKeyShare(group, seededRandom(`${group}-b`));
    const b2 = nobleCrypto.generateKeyShare(group, seededRandom(`${group}-b`));
    const s = toHex(a1.computeSecret(b2.publicKey));
    expect(s).toHaveLength(64);
    expect(toHex(a2.computeSecret(b1.publicKey))).toBe(s);
    expect(toHex(b1.computeSecret(a1.publicKey))).toBe(s);
    expect(toHex(b2.computeSecret(a2.publicKey))).toBe(s);
  });

  test('P-256: a random draw at or above the group order is redrawn, identically in both providers', () => {
    const big = new Uint8Array(32).fill(0xff);
    const good = seededRandom('after-redraw')(32);
    const n1 = nodeCrypto.generateKeyShare('secp256r1', fixedRandom(big, good));
    const n2 = nobleCrypto.generateKeyShare('secp256r1', fixedRandom(Uint8Array.from(big), Uint8Array.from(good)));
    expect(n1.publicKey).toEqual(n2.publicKey);
  });

  test('noble signatures are reproducible from the injected random (ECDSA hedging, PSS salt)', () => {
    const k = testKeys();
    for (const scheme of ['ecdsa_secp256r1_sha256', 'rsa_pss_rsae_sha256'] as const) {
      const keys = scheme === 'rsa_pss_rsae_sha256' ? k.rsa : k.p256;
      const s1 = nobleCrypto.sign(scheme, keys.privateKey, text('x'), seededRandom('same'));
      const s2 = nobleCrypto.sign(scheme, keys.privateKey, text('x'), seededRandom('same'));
      const s3 = nobleCrypto.sign(scheme, keys.privateKey, text('x'), seededRandom('other'));
      expect(toHex(s1)).toBe(toHex(s2));
      expect(toHex(s1)).not.toBe(toHex(s3));
    }
  });

  test('certificate signatures outside TLS 1.3 schemes: P-384 key with SHA-256, RSA PKCS#1 SHA-512, PSS salt 20', () => {
    const k = testKeys();
    const { sign, constants } = require('node:crypto') as typeof import('node:crypto');
    const data = text('tbsCertificate');
    const p384Sig = sign('sha256', data, { key: Buffer.from(k.p384.privateKey.pkcs8), format: 'der', type: 'pkcs8' });
    const pssSig = sign('sha256', data, {
      key: Buffer.from(k.rsa.privateKey.pkcs8),
      format: 'der',
      type: 'pkcs8',
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 20,
    });
    for (const p of providers) {
      expect(p.verifyCertificateSignature!({ kind: 'ecdsa', hash: 'sha256' }, k.p384.publicKey, data, p384Sig)).toBe(true);
      expect(p.verifyCertificateSignature!({ kind: 'ecdsa', hash: 'sha384' }, k.p384.publicKey, data, p384Sig)).toBe(false);
      expect(p.verifyCertificateSignature!({ kind: 'rsa-pss', hash: 'sha256', saltLength: 20 }, k.rsa.publicKey, data, pssSig)).toBe(true);
      expect(p.verifyCertificateSignature!({ kind: 'rsa-pss', hash: 'sha256', saltLength: 32 }, k.rsa.publicKey, data, pssSig)).toBe(false);
      const s512 = nodeCrypto.sign('rsa_pkcs1_sha512', k.rsa.privateKey, data, seededRandom('r'));
      expect(p.verifyCertificateSignature!({ kind: 'rsa-pkcs1', hash: 'sha512' }, k.rsa.publicKey, data, s512)).toBe(true);
      expect(p.verifyCertificateSignature!({ kind: 'rsa-pkcs1', hash: 'sha256' }, k.rsa.publicKey, data, s512)).toBe(false);
    }
  });

  test('RSA PKCS#1 v1.5 is deterministic: both providers produce the same bytes (RFC 8017 8.2.1)', () => {
    const k = testKeys();
    const data = text('certificate body');
    for (const scheme of ['rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512'] as const) {
      expect(toHex(nobleCrypto.sign(scheme, k.rsa.privateKey, data, seededRandom('a')))).toBe(toHex(nodeCrypto.sign(scheme, k.rsa.privateKey, data, seededRandom('b'))));
    }
  });

  test('RSA verify rejects signatures of the wrong length or not below the modulus', () => {
    const k = testKeys();
    const data = text('m');
    const sig = nodeCrypto.sign('rsa_pss_rsae_sha256', k.rsa.privateKey, data, seededRandom('r'));
    for (const p of providers) {
      expect(p.verify('rsa_pss_rsae_sha256', k.rsa.publicKey, data, sig.subarray(1))).toBe(false);
      expect(p.verify('rsa_pss_rsae_sha256', k.rsa.publicKey, data, Uint8Array.from([0, ...sig]))).toBe(false);
      expect(p.verify('rsa_pss_rsae_sha256', k.rsa.publicKey, data, new Uint8Array(sig.length).fill(0xff))).toBe(false);
      expect(p.verify('rsa_pss_rsae_sha256', k.rsa.publicKey, data, new Uint8Array(0))).toBe(false);
    }
  });

  test('scheme codepoints round-trip (RFC 8446 4.2.3)', () => {
    expect(signatureSchemeFromCodepoint(0x0804)).toBe('rsa_pss_rsae_sha256');
    expect(signatureSchemeFromCodepoint(0x0807)).toBe('ed25519');
    expect(signatureSchemeFromCodepoint(0x0201)).toBeNull();
    for (const s of allSignatureSchemes) expect(signatureSchemeFromCodepoint(signatureSchemeInfo[s].codepoint)).toBe(s);
  });
});
