import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { parseCertificate } from '../../src/x509/certificate.js';
import {
  decodeOid,
  DerError,
  DerReader,
  derEncode,
  derEncodeOid,
  derEncodeUnsigned,
  DerTag,
  validateDerTree,
  type DerErrorCode,
} from '../../src/x509/der.js';
import { CertificateError } from '../../src/x509/errors.js';
import { loadCertificateChainPem, loadSystemTrustStore, SYSTEM_TRUST_STORE_PATH } from '../../src/x509/load.js';
import { decodePem, encodePem, PemError } from '../../src/x509/pem.js';
import { describeIf, hasCommand } from '../../../../test/support/env.js';
import { makeFixture, type Fixture } from './fixtures.js';

const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

function derCode(fn: () => unknown): DerErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof DerError) return e.code;
    throw e;
  }
}

/** parseCertificate must either succeed or throw CertificateError: never anything else. */
function parseOrCertificateError(der: Uint8Array): 'ok' | string {
  try {
    parseCertificate(der);
    return 'ok';
  } catch (e) {
    if (e instanceof CertificateError) return e.code;
    throw e;
  }
}

describe('DER reader', () => {
  test.each([
    ['empty input', '', 'truncated'],
    ['tag without length', '30', 'truncated'],
    ['length field cut short', '30 82 01', 'truncated'],
    ['length past the end', '30 05 01 02', 'length-past-end'],
    ['long-form length past the end', '04 82 ff ff 00', 'length-past-end'],
    ['indefinite length (BER only)', '30 80 00 00', 'bad-length'],
    ['non-minimal long form', '04 81 05 0102030405', 'bad-length'],
    ['leading zero in the length', '04 82 00 05 0102030405', 'bad-length'],
    ['length field over 4 bytes', '04 85 0000000001 00', 'bad-length'],
    ['high-tag-number form', '1f 81 00 00', 'bad-tag'],
  ] as const)('%s -> %s', (_name, hex, code) => {
    expect(derCode(() => new DerReader(h(hex)).read())).toBe(code);
  });

  test('lengths are checked before anything is sliced or allocated: a 4 GB claim is rejected at once', () => {
    expect(derCode(() => new DerReader(h('04 84 ffffffff 00')).read())).toBe('length-past-end');
  });

  test('decode exactly: trailing bytes after an element are an error', () => {
    const r = new DerReader(h('02 01 05 00'));
    expect(r.readInteger()).toBe(5n);
    expect(derCode(() => r.end())).toBe('trailing-data');
  });

  test('expected tag mismatch is bad-tag', () => {
    expect(derCode(() => new DerReader(h('02 01 05')).readOctetString())).toBe('bad-tag');
  });

  test('INTEGER: two\'s complement, minimal encoding only', () => {
    expect(new DerReader(h('02 02 00 80')).readInteger()).toBe(128n);
    expect(new DerReader(h('02 01 ff')).readInteger()).toBe(-1n);
    expect(new DerReader(h('02 02 ff 7f')).readInteger()).toBe(-129n);
    expect(derCode(() => new DerReader(h('02 02 00 01')).readInteger())).toBe('bad-value');
    expect(derCode(() => new DerReader(h('02 02 ff 80')).readInteger())).toBe('bad-value');
    expect(derCode(() => new DerReader(h('02 00')).readInteger())).toBe('bad-value');
  });

  test('OID: decoding, encoding round trip, and malformed arcs', () => {
    expect(decodeOid(h('2a 86 48 86 f7 0d 01 01 0b'))).toBe('1.2.840.113549.1.1.11');
    expect(decodeOid(h('55 1d 11'))).toBe('2.5.29.17');
    for (const oid of ['1.2.840.10045.4.3.2', '2.999.3', '1.3.101.112', '0.9.2342.19200300.100.1.25']) {
      expect(new DerReader(derEncodeOid(oid)).readOid()).toBe(oid);
    }
    expect(derCode(() => decodeOid(h('2a 86')))).toBe('bad-value');
    expect(derCode(() => decodeOid(h('2a 80 01')))).toBe('bad-value');
  });

  test('BOOLEAN must be 0x00 or 0xff (X.690 11.1)', () => {
    expect(new DerReader(h('01 01 ff')).readBoolean()).toBe(true);
    expect(derCode(() => new DerReader(h('01 01 01')).readBoolean())).toBe('bad-value');
  });

  test('nesting deeper than the limit is too-deep, without recursion trouble', () => {
    let nested = derEncode(DerTag.null);
    for (let i = 0; i < 2000; i++) nested = derEncode(DerTag.sequence, nested);
    expect(derCode(() => validateDerTree(nested))).toBe('too-deep');
    expect(derCode(() => validateDerTree(nested, 5000))).toBe('none');
    let shallow = derEncode(DerTag.null);
    for (let i = 0; i < 10; i++) shallow = derEncode(DerTag.sequence, shallow);
    expect(validateDerTree(shallow)).toBe(11);
  });

  test('property: writer output reads back (INTEGER and nested OCTET STRING)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 2100n) - 1n }), fc.uint8Array({ maxLength: 300 }), (n, bytes) => {
        const der = derEncode(DerTag.sequence, derEncodeUnsigned(n), derEncode(DerTag.octetString, bytes));
        const top = new DerReader(der);
        const r = top.sequence();
        top.end();
        expect(r.readInteger()).toBe(n);
        expect(r.readOctetString()).toEqual(bytes);
        r.end();
      }),
      { numRuns: 200 },
    );
  });
});

describe('PEM', () => {
  test('round trip, several blocks, text around them ignored', () => {
    const a = Uint8Array.from([1, 2, 3]);
    const b = new Uint8Array(100).fill(7);
    const blocks = decodePem(`junk\n${encodePem('CERTIFICATE', a)}middle\n${encodePem('PRIVATE KEY', b)}trailer`);
    expect(blocks.map((x) => x.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY']);
    expect(blocks[0].der).toEqual(a);
    expect(blocks[1].der).toEqual(b);
  });

  test.each([
    ['missing END', '-----BEGIN CERTIFICATE-----\nAAAA\n', 'bad-boundary'],
    ['mismatched END label', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n', 'bad-boundary'],
    ['bad base64 character', '-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n', 'bad-base64'],
    ['base64 not a multiple of 4', '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n', 'bad-base64'],
    ['headers (legacy encrypted PEM)', '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n', 'bad-base64'],
  ])('%s -> PemError %s', (_n, text, code) => {
    try {
      decodePem(text);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(PemError);
      expect((e as PemError).code).toBe(code);
    }
  });
});

describeIf(hasCommand('openssl') ? null : 'needs the openssl CLI to make test certificates', 'malformed certificates never crash the parser', () => {
  let fx: Fixture;
  let der: Uint8Array;
  let rsaDer: Uint8Array;
  beforeAll(() => {
    fx = makeFixture();
    der = loadCertificateChainPem(fx.pem('leafEc'))[0].der;
    rsaDer = loadCertificateChainPem(fx.pem('leafRsa'))[0].der;
  });
  afterAll(() => fx?.cleanup());

  test('truncated at every length of a real certificate: bad-encoding', () => {
    for (const cert of [der, rsaDer]) {
      for (let len = 0; len < cert.length; len++) expect(parseOrCertificateError(cert.subarray(0, len))).toBe('bad-encoding');
      expect(parseOrCertificateError(cert)).toBe('ok');
    }
  });

  test('one trailing byte after a real certificate: bad-encoding (decode exactly)', () => {
    expect(parseOrCertificateError(Uint8Array.from([...der, 0]))).toBe('bad-encoding');
  });

  test('outer length pointing past the end: bad-encoding caused by length-past-end', () => {
    const bad = Uint8Array.from(der);
    expect(bad[1]).toBe(0x82); // a certificate is 256..65535 bytes
    bad[3] += 1;
    try {
      parseCertificate(bad);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(CertificateError);
      expect(((e as CertificateError).cause as DerError).code).toBe('length-past-end');
    }
  });

  test('every inner length byte increased: CertificateError or a still-valid parse, never a crash', () => {
    // Walk all TLV headers and bump each length's last byte.
    const offsets: number[] = [];
    const walk = (start: number, end: number, depth: number): void => {
      let pos = start;
      while (pos < end && depth < 20) {
        const tag = der[pos];
        const first = der[pos + 1];
        const lenBytes = first < 0x80 ? 0 : first & 0x7f;
        let len = first < 0x80 ? first : 0;
        for (let i = 0; i < lenBytes; i++) len = len * 256 + der[pos + 2 + i];
        offsets.push(pos + 1 + lenBytes);
        const body = pos + 2 + lenBytes;
        if (tag & 0x20) walk(body, body + len, depth + 1);
        pos = body + len;
      }
    };
    walk(0, der.length, 0);
    expect(offsets.length).toBeGreaterThan(40);
    for (const off of offsets) {
      for (const delta of [1, 0x40, 0x7f]) {
        const bad = Uint8Array.from(der);
        bad[off] = (bad[off] + delta) & 0xff;
        expect(parseOrCertificateError(bad)).not.toBe('ok');
      }
    }
  });

  test('property: random byte changes give a parse or a CertificateError, never another exception', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const bad = Uint8Array.from(der);
        for (const [i, v] of edits) bad[i % bad.length] = v;
        parseOrCertificateError(bad);
      }),
      { numRuns: 500 },
    );
  });

  test('a trust-store bundle with unparsable blocks loads the rest and counts the skipped ones', () => {
    const { writeFileSync } = require('node:fs') as typeof import('node:fs');
    const { join } = require('node:path') as typeof import('node:path');
    const path = join(fx.dir, 'bundle.crt');
    const broken = encodePem('CERTIFICATE', der.subarray(0, der.length - 10));
    writeFileSync(path, fx.pem('rootEc') + broken + fx.pem('rootRsa') + encodePem('CERTIFICATE', Uint8Array.from([0x30, 0x00])));
    const store = loadSystemTrustStore(path);
    expect(store.certificates.map((c) => c.subject.text)).toEqual(['CN=Test EC Root,O=Test', 'CN=Test RSA Root,O=Test']);
    expect(store.skipped).toBe(2);
  });

  test('random bytes and deep nesting: CertificateError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => expect(parseOrCertificateError(bytes)).not.toBe('ok')), { numRuns: 300 });
    let nested = derEncode(DerTag.null);
    for (let i = 0; i < 500; i++) nested = derEncode(DerTag.sequence, nested);
    expect(parseOrCertificateError(nested)).toBe('bad-encoding');
  });
});

const storeReason = existsSync(SYSTEM_TRUST_STORE_PATH) ? null : `${SYSTEM_TRUST_STORE_PATH} not present (Debian's ca-certificates package)`;
(storeReason ? describe.skip : describe)(`system trust store${storeReason ? ` [skipped: ${storeReason}]` : ''}`, () => {
  test('loads the Debian bundle, counting what it skips', () => {
    const store = loadSystemTrustStore();
    expect(store.certificates.length).toBeGreaterThan(50);
    expect(store.skipped).toBeLessThan(store.certificates.length / 4);
    for (const c of store.certificates) expect(c.der.length).toBeGreaterThan(100);
    expect(store.certificates.every((c) => c.subject.text.length > 0)).toBe(true);
  });
});
