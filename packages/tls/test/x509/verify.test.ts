import { nobleCrypto } from '../../src/crypto/noble.js';
import { nodeCrypto } from '../../src/crypto/node.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { parseCertificate, type Certificate } from '../../src/x509/certificate.js';
import { CertificateError, certificateErrorAlert, type CertificateErrorCode } from '../../src/x509/errors.js';
import { loadCertificateChainPem, loadPrivateKeyPem } from '../../src/x509/load.js';
import { matchesDnsName, parseIpAddress, verifyChain, type VerifyChainOptions } from '../../src/x509/verify.js';
import { describeIf, hasCommand } from '../../../../test/support/env.js';
import { makeFixture, opensslText, type Fixture } from './fixtures.js';

describeIf(hasCommand('openssl') ? null : 'needs the openssl CLI to make test certificates', 'certificates made with the openssl CLI', () => {
  let fx: Fixture;
  const certs: Record<string, Certificate> = {};
  const cert = (name: string): Certificate => (certs[name] ??= loadCertificateChainPem(fx.pem(name))[0]);
  const DAY = 86_400_000;
  let now: Date;

  beforeAll(() => {
    fx = makeFixture();
    now = new Date(Date.now() + 60_000); // just after issue: everything is valid
  });
  afterAll(() => fx?.cleanup());

  function expectCode(fn: () => unknown, code: CertificateErrorCode): void {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(CertificateError);
      expect({ code: (e as CertificateError).code, message: (e as Error).message }).toMatchObject({ code });
      return;
    }
    throw new Error(`expected CertificateError ${code}, nothing was thrown`);
  }

  describe('parseCertificate agrees with openssl', () => {
    test('EC leaf: serial, names, validity, key, signature algorithm and extensions', () => {
      const c = cert('leafEc');
      expect(c.version).toBe(3);
      expect(c.serial.toString(16).toUpperCase()).toBe(opensslText(fx.dir, 'leafEc', '-serial').replace('serial=', '').replace(/^0+/, ''));
      expect(c.subject.text).toBe('CN=leaf.example.com,O=Example');
      expect(c.issuer.text).toBe('CN=Test EC Intermediate,O=Test');
      const end = opensslText(fx.dir, 'leafEc', '-enddate').replace('notAfter=', '');
      expect(c.notAfter.getTime()).toBe(new Date(end).getTime());
      const start = opensslText(fx.dir, 'leafEc', '-startdate').replace('notBefore=', '');
      expect(c.notBefore.getTime()).toBe(new Date(start).getTime());
      expect(c.publicKey.type).toBe('ec-p256');
      expect(c.signatureAlgorithm.name).toBe('ecdsa-with-SHA384');
      expect(c.extensions.subjectAltName?.dnsNames).toEqual(['leaf.example.com', 'alt.example.com']);
      expect(c.extensions.subjectAltName?.ipAddresses.map((a) => a.length)).toEqual([4, 16]);
      expect(c.extensions.basicConstraints).toEqual({ cA: false, pathLen: null });
      expect(c.extensions.keyUsage).toEqual(['digitalSignature']);
      expect(c.extensions.extKeyUsage).toEqual(['serverAuth', 'clientAuth']);
      expect(parseCertificate(c.der).tbsDer).toEqual(c.tbsDer);
    });

    test('CA certificates: basicConstraints cA and pathLen, keyUsage keyCertSign', () => {
      expect(cert('intEc').extensions.basicConstraints).toEqual({ cA: true, pathLen: 0 });
      expect(cert('intEc').publicKey.type).toBe('ec-p384');
      expect(cert('rootEc').extensions.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
      expect(cert('rootRsa').publicKey.type).toBe('rsa');
      expect(cert('rootRsa').signatureAlgorithm.name).toBe('sha256WithRSAEncryption');
      expect(cert('leafEd').signatureAlgorithm.name).toBe('Ed25519');
    });

    test('RSA-PSS signature parameters are read (hash and salt length, RFC 4055 3.1)', () => {
      expect(cert('leafRsaPss').signatureAlgorithm.algorithm).toEqual({ kind: 'rsa-pss', hash: 'sha256', saltLength: 32 });
      const p384 = cert('leafRsaPss384').signatureAlgorithm.algorithm!;
      expect(p384.kind).toBe('rsa-pss');
      expect(p384.hash).toBe('sha384');
      expect(p384.saltLength).toBe(256 - 48 - 2); // "max" salt for a 2048-bit key
    });
  });

  describe('key loading', () => {
    test('PKCS#8, SEC1 and PKCS#1 private keys load and sign for their certificate key', () => {
      const cases = [
        ['leafEc.key', 'leafEc', 'ecdsa_secp256r1_sha256'],
        ['leafEc.sec1.key', 'leafEc', 'ecdsa_secp256r1_sha256'],
        ['leafRsa.key', 'leafRsa', 'rsa_pss_rsae_sha256'],
        ['leafRsa.pkcs1.key', 'leafRsa', 'rsa_pss_rsae_sha256'],
        ['leafEd.key', 'leafEd', 'ed25519'],
      ] as const;
      expect(fx.pem('leafEc.sec1.key')).toContain('BEGIN EC PRIVATE KEY');
      expect(fx.pem('leafRsa.pkcs1.key')).toContain('BEGIN RSA PRIVATE KEY');
      for (const [file, certName, scheme] of cases) {
        const key = loadPrivateKeyPem(fx.pem(file));
        const pub = cert(certName).publicKey;
        expect(key.type).toBe(pub.type);
        const data = new TextEncoder().encode(file);
        for (const signer of [nodeCrypto, nobleCrypto]) {
          const sig = signer.sign(scheme, key, data, (n) => new Uint8Array(n).fill(3));
          expect(nodeCrypto.verify(scheme, pub, data, sig)).toBe(true);
          expect(nobleCrypto.verify(scheme, pub, data, sig)).toBe(true);
        }
      }
    });

    test('garbage and encrypted keys give CertificateError', () => {
      expectCode(() => loadPrivateKeyPem('no pem here'), 'bad-encoding');
      expectCode(() => loadPrivateKeyPem('-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n'), 'bad-encoding');
      expectCode(() => loadPrivateKeyPem('-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n'), 'unsupported');
      expectCode(() => loadPrivateKeyPem('-----BEGIN PRIVATE KEY-----\nM$A=\n-----END PRIVATE KEY-----\n'), 'bad-encoding');
    });

    test('a chain file loads leaf first', () => {
      const chain = loadCertificateChainPem(fx.pem('leafEc') + fx.pem('intEc'));
      expect(chain.map((c) => c.subject.text)).toEqual(['CN=leaf.example.com,O=Example', 'CN=Test EC Intermediate,O=Test']);
    });
  });

  describe.each([nodeCrypto, nobleCrypto].map((p) => [p.name, p] as const))('verifyChain with %s', (_n, provider: CryptoProvider) => {
    const opts = (extra: Partial<VerifyChainOptions> = {}): VerifyChainOptions => ({
      trustAnchors: [cert('rootEc'), cert('rootRsa'), cert('rootEd')],
      now,
      provider,
      ...extra,
    });

    test('EC: P-256 root -> P-384 intermediate -> leaf verifies, by name and by IP', () => {
      const r = verifyChain([cert('leafEc'), cert('intEc')], opts({ hostname: 'leaf.example.com' }));
      expect(r.path.map((c) => c.subject.text)).toEqual(['CN=leaf.example.com,O=Example', 'CN=Test EC Intermediate,O=Test', 'CN=Test EC Root,O=Test']);
      expect(r.anchor).toBe(cert('rootEc'));
      verifyChain([cert('leafEc'), cert('intEc')], opts({ hostname: 'ALT.example.com.' }));
      verifyChain([cert('leafEc'), cert('intEc')], opts({ hostname: '127.0.0.1' }));
      verifyChain([cert('leafEc'), cert('intEc')], opts({ hostname: '::1' }));
    });

    test('presented certificates may come in any order and include the root', () => {
      verifyChain([cert('leafEc'), cert('rootEc'), cert('wildcard'), cert('intEc')], opts({ hostname: 'leaf.example.com' }));
    });

    test.each([
      ['leafRsa', 'rsa.example.com'],
      ['leafRsaPss', 'pss.example.com'],
      ['leafRsaPss384', 'pss384.example.com'],
      ['leafRsa512', 'rsa512.example.com'],
      ['leafEd', 'ed.example.com'],
    ])('%s (RSA PKCS#1 / RSA-PSS / Ed25519 signature) verifies for %s', (name, host) => {
      expect(verifyChain([cert(name)], opts({ hostname: host, purpose: 'serverAuth' })).path).toHaveLength(2);
    });

    test('a flipped bit in the signature is bad-signature', () => {
      for (const name of ['leafRsa', 'leafRsaPss', 'leafEd']) {
        const der = Uint8Array.from(cert(name).der);
        der[der.length - 5] ^= 0x01;
        expectCode(() => verifyChain([parseCertificate(der)], opts()), 'bad-signature');
      }
    });

    test('the intermediate missing from the chain is unknown-ca', () => {
      expectCode(() => verifyChain([cert('leafEc')], opts()), 'unknown-ca');
    });

    test('wrong CA: trusted anchors that did not issue the chain give unknown-ca', () => {
      expectCode(() => verifyChain([cert('leafEc'), cert('intEc')], opts({ trustAnchors: [cert('rootRsa')] })), 'unknown-ca');
    });

    test('an anchor with the issuer name but another key gives bad-signature', () => {
      expectCode(() => verifyChain([cert('leafEc'), cert('intEc')], opts({ trustAnchors: [cert('rootEcImpostor')] })), 'bad-signature');
    });

    test('expired and not-yet-valid leaves at the injected clock', () => {
      const chain = [cert('shortLived'), cert('intEc')];
      verifyChain(chain, opts({ hostname: 'short.example.com' }));
      expectCode(() => verifyChain(chain, opts({ now: new Date(now.getTime() + 2 * DAY) })), 'expired');
      expectCode(() => verifyChain(chain, opts({ now: new Date(now.getTime() - 2 * DAY) })), 'not-yet-valid');
      expect(certificateErrorAlert('expired')).toBe('certificate_expired');
    });

    test('an expired intermediate fails the chain', () => {
      expectCode(() => verifyChain([cert('leafEc'), cert('intEc')], opts({ now: new Date(now.getTime() + 4000 * DAY) })), 'expired');
    });

    test('wrong host is hostname-mismatch; the CN is never used', () => {
      expectCode(() => verifyChain([cert('leafEc'), cert('intEc')], opts({ hostname: 'other.example.com' })), 'hostname-mismatch');
      expectCode(() => verifyChain([cert('leafEc'), cert('intEc')], opts({ hostname: '127.0.0.2' })), 'hostname-mismatch');
      verifyChain([cert('cnOnly'), cert('intEc')], opts({ hostname: 'san.example.com' }));
      expectCode(() => verifyChain([cert('cnOnly'), cert('intEc')], opts({ hostname: 'cnonly.example.com' })), 'hostname-mismatch');
      // A reference name is never itself a pattern.
      expectCode(() => verifyChain([cert('wildcard'), cert('intEc')], opts({ hostname: '*.wild.example.com' })), 'hostname-mismatch');
    });

    test('wildcard matches exactly one left-most label', () => {
      const chain = [cert('wildcard'), cert('intEc')];
      verifyChain(chain, opts({ hostname: 'a.wild.example.com' }));
      verifyChain(chain, opts({ hostname: 'XYZ.Wild.Example.com' }));
      expectCode(() => verifyChain(chain, opts({ hostname: 'wild.example.com' })), 'hostname-mismatch');
      expectCode(() => verifyChain(chain, opts({ hostname: 'a.b.wild.example.com' })), 'hostname-mismatch');
    });

    test('a leaf used as an issuer is not-a-ca', () => {
      expectCode(() => verifyChain([cert('leafAsCa'), cert('leafEc'), cert('intEc')], opts()), 'not-a-ca');
    });

    test('pathLenConstraint 0 forbids a CA below the intermediate', () => {
      expectCode(() => verifyChain([cert('leafUnderSub'), cert('subInt'), cert('intEc')], opts()), 'not-a-ca');
    });

    test('a self-signed leaf is accepted only when it is itself a trust anchor', () => {
      expectCode(() => verifyChain([cert('selfSigned')], opts({ hostname: 'self.example.com' })), 'unknown-ca');
      const r = verifyChain([cert('selfSigned')], opts({ trustAnchors: [cert('selfSigned')], hostname: 'self.example.com' }));
      expect(r.path).toEqual([cert('selfSigned')]);
    });

    test('extKeyUsage without the requested purpose is unsupported', () => {
      verifyChain([cert('clientOnly'), cert('intEc')], opts({ purpose: 'clientAuth' }));
      verifyChain([cert('clientOnly'), cert('intEc')], opts());
      expectCode(() => verifyChain([cert('clientOnly'), cert('intEc')], opts({ purpose: 'serverAuth' })), 'unsupported');
    });

    test('keyUsage without digitalSignature cannot authenticate TLS (RFC 8446 4.4.2.2)', () => {
      const root = cert('rootEc'); // keyCertSign, cRLSign only
      expectCode(() => verifyChain([root], opts({ trustAnchors: [root] })), 'unsupported');
    });

    test('an unknown critical extension is unsupported (RFC 5280 4.2)', () => {
      expect(cert('critExt').extensions.all.some((e) => e.oid === '1.3.6.1.4.1.99999.1' && e.critical)).toBe(true);
      expectCode(() => verifyChain([cert('critExt'), cert('intEc')], opts()), 'unsupported');
    });
  });

  describe('providers without verifyCertificateSignature', () => {
    const plain: CryptoProvider = { ...nodeCrypto, name: 'plain', verifyCertificateSignature: undefined };

    test('certificate signatures that are TLS schemes verify through provider.verify', () => {
      const o = { trustAnchors: [cert('rootEc'), cert('rootRsa'), cert('rootEd')], now, provider: plain };
      verifyChain([cert('leafEc'), cert('intEc')], o); // P-384 key + SHA-384, P-256 key + SHA-256
      verifyChain([cert('leafRsa')], o);
      verifyChain([cert('leafRsaPss')], o);
      verifyChain([cert('leafEd')], o);
    });

    test('combinations no TLS scheme names are unsupported (RSA-PSS with a non-standard salt)', () => {
      expectCode(() => verifyChain([cert('leafRsaPss384')], { trustAnchors: [cert('rootRsa')], now, provider: plain }), 'unsupported');
    });
  });
});

describe('hostname helpers', () => {
  test.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.com', 'example.com', false],
    ['a*.example.com', 'ab.example.com', false],
    ['*.*.example.com', 'a.b.example.com', false],
    ['www.example.com', 'WWW.EXAMPLE.COM.', true],
    ['www.example.com', 'www.example.org', false],
    ['*.example.com', '*.example.com', false],
  ])('%s vs %s -> %s', (pattern, host, ok) => {
    expect(matchesDnsName(pattern, host)).toBe(ok);
  });

  test('IP literal parsing', () => {
    expect(parseIpAddress('192.0.2.1')).toEqual(Uint8Array.from([192, 0, 2, 1]));
    expect(parseIpAddress('256.0.0.1')).toBeNull();
    expect(parseIpAddress('::1')).toEqual(Uint8Array.from([...new Array(15).fill(0), 1]));
    expect(parseIpAddress('[2001:db8::1:0]')).toEqual(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]));
    expect(parseIpAddress('::ffff:192.0.2.1')!.subarray(10)).toEqual(Uint8Array.from([0xff, 0xff, 192, 0, 2, 1]));
    expect(parseIpAddress('1::2::3')).toBeNull();
    expect(parseIpAddress('example.com')).toBeNull();
    expect(parseIpAddress('1:2:3:4:5:6:7:8:9')).toBeNull();
  });
});
