/**
 * X.509 v3 certificate parsing (RFC 5280 4.1, 4.2). Parsing is separate from verification
 * (verify.ts): a certificate that parses may still be rejected there. All failures are
 * CertificateError: 'bad-encoding' for malformed DER, 'unsupported' for key types we cannot use.
 */
import { publicKeyFromSpki, Oid } from '../crypto/keys.js';
import { CryptoError, type CertSignatureAlgorithm, type PublicKey } from '../crypto/provider.js';
import { contextTag, decodeBitString, decodeBoolean, decodeInteger, DerError, DerReader, DerTag, type DerElement } from './der.js';
import { CertificateError } from './errors.js';

export interface NameAttribute {
  readonly oid: string;
  /** Short name (RFC 4514 3) or the dotted OID. */
  readonly name: string;
  readonly value: string;
}

export interface DistinguishedName {
  /** The DER encoding of the Name; chains are matched on these bytes. */
  readonly raw: Uint8Array;
  /** RFC 4514 string form: last RDN first, "CN=leaf,O=Example". */
  readonly text: string;
  /** The attributes in encoding order (RDNs flattened). */
  readonly attributes: readonly NameAttribute[];
}

export interface SubjectAltName {
  readonly dnsNames: readonly string[];
  /** iPAddress entries, 4 bytes (IPv4) or 16 bytes (IPv6), RFC 5280 4.2.1.6. */
  readonly ipAddresses: readonly Uint8Array[];
}

export interface BasicConstraints {
  readonly cA: boolean;
  /** pathLenConstraint, or null when absent (no limit). */
  readonly pathLen: number | null;
}

export const keyUsageBits = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof keyUsageBits)[number];

export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

export interface CertificateExtensions {
  readonly subjectAltName?: SubjectAltName;
  readonly basicConstraints?: BasicConstraints;
  readonly keyUsage?: readonly KeyUsage[];
  /** Purposes by name ('serverAuth', 'clientAuth', 'anyExtendedKeyUsage', ...) or dotted OID. */
  readonly extKeyUsage?: readonly string[];
  /** Every extension, recognised or not, in order. */
  readonly all: readonly CertificateExtension[];
}

export interface SignatureAlgorithm {
  readonly oid: string;
  readonly name: string;
  /** What a provider needs to verify it; null when we do not support it (e.g. SHA-1). */
  readonly algorithm: CertSignatureAlgorithm | null;
}

export interface Certificate {
  /** The whole certificate, DER. */
  readonly der: Uint8Array;
  /** The signed part (TBSCertificate), DER. */
  readonly tbsDer: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  readonly serial: bigint;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: PublicKey;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly extensions: CertificateExtensions;
}

export const ExtensionOid = {
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
} as const;

const attributeNames: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const extKeyUsageNames: Record<string, string> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

const hashOids: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  [Oid.sha256]: 'sha256',
  [Oid.sha384]: 'sha384',
  [Oid.sha512]: 'sha512',
};

/** Signature algorithm OIDs (RFC 4055 5, RFC 5758 3.2, RFC 8410 3). */
const signatureOids: Record<string, { name: string; algorithm: CertSignatureAlgorithm | null }> = {
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', algorithm: null },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', algorithm: { kind: 'rsa-pkcs1', hash: 'sha256' } },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', algorithm: { kind: 'rsa-pkcs1', hash: 'sha384' } },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', algorithm: { kind: 'rsa-pkcs1', hash: 'sha512' } },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', algorithm: null },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', algorithm: { kind: 'ecdsa', hash: 'sha256' } },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', algorithm: { kind: 'ecdsa', hash: 'sha384' } },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', algorithm: { kind: 'ecdsa', hash: 'sha512' } },
  [Oid.ed25519]: { name: 'Ed25519', algorithm: { kind: 'ed25519', hash: null } },
};

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Reads one AlgorithmIdentifier and returns its OID, parameters and whole encoding. */
function readAlgorithmIdentifier(r: DerReader): { oid: string; params: DerElement | null; bytes: Uint8Array } {
  const el = r.readExpected(DerTag.sequence, 'AlgorithmIdentifier');
  const a = r.enter(el);
  const oid = a.readOid('algorithm');
  const params = a.atEnd() ? null : a.read();
  a.end('AlgorithmIdentifier');
  return { oid, params, bytes: el.bytes };
}

/** RFC 4055 3.1 RSASSA-PSS-params; only MGF1 with the same hash and trailerField 1 are supported. */
function parsePssParams(params: DerElement | null, reader: DerReader): SignatureAlgorithm {
  const unsupported = (why: string): SignatureAlgorithm => ({ oid: Oid.rsassaPss, name: `RSASSA-PSS (${why})`, algorithm: null });
  if (!params || params.tag !== DerTag.sequence) return unsupported('missing parameters');
  const p = reader.enter(params);
  let hash: 'sha256' | 'sha384' | 'sha512' | undefined;
  let hashOid: string = Oid.sha1; // DEFAULT sha1
  let mgfHashOid: string = Oid.sha1;
  let saltLength = 20;
  const h = p.readOptional(contextTag(0, true));
  if (h) {
    const hr = p.enter(h);
    hashOid = readAlgorithmIdentifier(hr).oid;
    hr.end('hashAlgorithm');
  }
  const m = p.readOptional(contextTag(1, true));
  if (m) {
    const mr = p.enter(m);
    const mgf = readAlgorithmIdentifier(mr);
    mr.end('maskGenAlgorithm');
    if (mgf.oid !== Oid.mgf1 || !mgf.params) return unsupported('mask generation is not MGF1');
    const inner = new DerReader(mgf.params.bytes, params.depth + 3);
    mgfHashOid = readAlgorithmIdentifier(inner).oid;
    inner.end('MGF1 hash');
  }
  const s = p.readOptional(contextTag(2, true));
  if (s) {
    const sr = p.enter(s);
    saltLength = sr.readSmallInteger('saltLength');
    sr.end('saltLength');
  }
  const t = p.readOptional(contextTag(3, true));
  if (t) {
    const tr = p.enter(t);
    if (tr.readSmallInteger('trailerField') !== 1) return unsupported('trailerField is not 1');
    tr.end('trailerField');
  }
  p.end('RSASSA-PSS-params');
  hash = hashOids[hashOid];
  if (!hash) return unsupported('hash is not SHA-2');
  if (mgfHashOid !== hashOid) return unsupported('MGF1 hash differs from the message hash');
  if (saltLength > 1024) return unsupported('salt too long');
  return { oid: Oid.rsassaPss, name: `RSASSA-PSS-${hash}`, algorithm: { kind: 'rsa-pss', hash, saltLength } };
}

function parseSignatureAlgorithm(r: DerReader): { alg: SignatureAlgorithm; bytes: Uint8Array } {
  const { oid, params, bytes } = readAlgorithmIdentifier(r);
  if (oid === Oid.rsassaPss) return { alg: parsePssParams(params, r), bytes };
  const known = signatureOids[oid];
  if (!known) return { alg: { oid, name: oid, algorithm: null }, bytes };
  // RSA PKCS#1 parameters are NULL (or absent); ECDSA and Ed25519 have none (RFC 5758 3.2, RFC 8410 3).
  if (params && !(params.tag === DerTag.null && params.value.length === 0 && known.algorithm?.kind !== 'ecdsa' && known.algorithm?.kind !== 'ed25519')) {
    throw new DerError('bad-value', `${known.name} with unexpected parameters`);
  }
  return { alg: { oid, name: known.name, algorithm: known.algorithm }, bytes };
}

function decodeString(el: DerElement): string {
  const v = el.value;
  switch (el.tag) {
    case DerTag.utf8String:
      return new TextDecoder('utf-8').decode(v);
    case DerTag.printableString:
    case DerTag.ia5String:
    case DerTag.teletexString:
    case 0x12: // NumericString
    case 0x1a: // VisibleString
      return Buffer.from(v).toString('latin1');
    case DerTag.bmpString: {
      if (v.length % 2) throw new DerError('bad-value', 'odd-length BMPString');
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i] << 8) | v[i + 1]);
      return s;
    }
    case DerTag.universalString: {
      if (v.length % 4) throw new DerError('bad-value', 'bad UniversalString length');
      let s = '';
      for (let i = 0; i < v.length; i += 4) s += String.fromCodePoint(((v[i] << 24) | (v[i + 1] << 16) | (v[i + 2] << 8) | v[i + 3]) >>> 0 & 0x10ffff);
      return s;
    }
    default:
      return '#' + Buffer.from(el.bytes).toString('hex'); // RFC 4514 2.4: unknown types in hex
  }
}

/** RFC 4514 2.4 escaping. */
function escapeDnValue(s: string): string {
  let out = s.replace(/[\\,+"<>;=]/g, (c) => '\\' + c);
  if (out.startsWith('#') || out.startsWith(' ')) out = '\\' + out;
  if (out.endsWith(' ') && out.length > 0) out = out.slice(0, -1) + '\\ ';
  return out;
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue), RFC 5280 4.1.2.4. */
function parseName(r: DerReader): DistinguishedName {
  const el = r.readExpected(DerTag.sequence, 'Name');
  const n = r.enter(el);
  const attributes: NameAttribute[] = [];
  const rdnTexts: string[] = [];
  while (!n.atEnd()) {
    const rdn = n.enter(n.readExpected(DerTag.set, 'RelativeDistinguishedName'));
    const parts: string[] = [];
    while (!rdn.atEnd()) {
      const atv = rdn.sequence('AttributeTypeAndValue');
      const oid = atv.readOid('type');
      const value = decodeString(atv.read());
      atv.end('AttributeTypeAndValue');
      const name = attributeNames[oid] ?? oid;
      attributes.push({ oid, name, value });
      parts.push(`${name}=${escapeDnValue(value)}`);
    }
    if (parts.length === 0) throw new DerError('bad-value', 'empty RelativeDistinguishedName');
    rdnTexts.push(parts.join('+'));
  }
  return { raw: el.bytes, text: rdnTexts.reverse().join(','), attributes };
}

/** RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ (YY >= 50 is 19YY) or GeneralizedTime YYYYMMDDHHMMSSZ. */
function parseTime(r: DerReader, what: string): Date {
  const el = r.read();
  const s = Buffer.from(el.value).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (el.tag === DerTag.utcTime) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
    if (!m) throw new DerError('bad-value', `${what}: bad UTCTime "${s}"`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (el.tag === DerTag.generalizedTime) {
    m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
    if (!m) throw new DerError('bad-value', `${what}: bad GeneralizedTime "${s}"`);
    year = Number(m[1]);
  } else {
    throw new DerError('bad-tag', `${what}: not a time`);
  }
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) throw new DerError('bad-value', `${what}: time out of range`);
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (date.getUTCDate() !== d) throw new DerError('bad-value', `${what}: no such day`);
  return date;
}

function parseSubjectAltName(value: Uint8Array, depth: number): SubjectAltName {
  const top = new DerReader(value, depth);
  const r = top.sequence('GeneralNames');
  top.end('subjectAltName');
  const dnsNames: string[] = [];
  const ipAddresses: Uint8Array[] = [];
  while (!r.atEnd()) {
    const gn = r.read();
    if (gn.tag === contextTag(2, false)) {
      const name = Buffer.from(gn.value).toString('latin1');
      if (!/^[\x20-\x7e]*$/.test(name)) throw new DerError('bad-value', 'dNSName is not IA5 printable');
      dnsNames.push(name);
    } else if (gn.tag === contextTag(7, false)) {
      if (gn.value.length !== 4 && gn.value.length !== 16) throw new DerError('bad-value', 'iPAddress is not 4 or 16 bytes');
      ipAddresses.push(gn.value);
    }
    // Other GeneralName forms (rfc822Name, URI, directoryName, ...) are not used for TLS hosts.
  }
  return { dnsNames, ipAddresses };
}

function parseBasicConstraints(value: Uint8Array, depth: number): BasicConstraints {
  const top = new DerReader(value, depth);
  const r = top.sequence('BasicConstraints');
  top.end('basicConstraints');
  const caEl = r.readOptional(DerTag.boolean);
  const cA = caEl ? decodeBoolean(caEl.value) : false;
  const pathEl = r.readOptional(DerTag.integer);
  let pathLen: number | null = null;
  if (pathEl) {
    const v = decodeInteger(pathEl.value);
    if (v < 0n || v > 1000n) throw new DerError('bad-value', 'pathLenConstraint out of range');
    pathLen = Number(v);
  }
  r.end('BasicConstraints');
  return { cA, pathLen };
}

function parseKeyUsage(value: Uint8Array, depth: number): KeyUsage[] {
  const r = new DerReader(value, depth);
  const { bytes } = decodeBitString(r.readExpected(DerTag.bitString, 'KeyUsage').value);
  r.end('keyUsage');
  const out: KeyUsage[] = [];
  keyUsageBits.forEach((name, bit) => {
    const byte = bytes[bit >> 3];
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) out.push(name);
  });
  return out;
}

function parseExtKeyUsage(value: Uint8Array, depth: number): string[] {
  const top = new DerReader(value, depth);
  const r = top.sequence('ExtKeyUsageSyntax');
  top.end('extKeyUsage');
  const out: string[] = [];
  while (!r.atEnd()) {
    const oid = r.readOid('KeyPurposeId');
    out.push(extKeyUsageNames[oid] ?? oid);
  }
  return out;
}

function parseExtensions(r: DerReader): CertificateExtensions {
  const all: CertificateExtension[] = [];
  const result: {
    subjectAltName?: SubjectAltName;
    basicConstraints?: BasicConstraints;
    keyUsage?: KeyUsage[];
    extKeyUsage?: string[];
  } = {};
  const seen = new Set<string>();
  while (!r.atEnd()) {
    const e = r.sequence('Extension');
    const oid = e.readOid('extnID');
    const critEl = e.readOptional(DerTag.boolean);
    const critical = critEl ? decodeBoolean(critEl.value) : false;
    const value = e.readOctetString('extnValue');
    e.end('Extension');
    // RFC 5280 4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(oid)) throw new DerError('bad-value', `duplicate extension ${oid}`);
    seen.add(oid);
    all.push({ oid, critical, value });
    const depth = e.depth + 1;
    switch (oid) {
      case ExtensionOid.subjectAltName:
        result.subjectAltName = parseSubjectAltName(value, depth);
        break;
      case ExtensionOid.basicConstraints:
        result.basicConstraints = parseBasicConstraints(value, depth);
        break;
      case ExtensionOid.keyUsage:
        result.keyUsage = parseKeyUsage(value, depth);
        break;
      case ExtensionOid.extKeyUsage:
        result.extKeyUsage = parseExtKeyUsage(value, depth);
        break;
    }
  }
  return { ...result, all };
}

/** Largest certificate we accept: TLS 1.3 carries each in a uint24 list, real ones are < 10 KB. */
export const CERTIFICATE_MAX_SIZE = 64 * 1024;

/**
 * Parses one DER certificate (RFC 5280 4.1), decoding exactly: trailing bytes anywhere are
 * 'bad-encoding'. The returned byte fields are views into `der`.
 */
export function parseCertificate(der: Uint8Array): Certificate {
  if (der.length > CERTIFICATE_MAX_SIZE) throw new CertificateError('bad-encoding', `certificate larger than ${CERTIFICATE_MAX_SIZE} bytes`);
  try {
    const top = new DerReader(der);
    const certEl = top.readExpected(DerTag.sequence, 'Certificate');
    top.end('Certificate');
    const cert = top.enter(certEl);
    const tbsEl = cert.readExpected(DerTag.sequence, 'TBSCertificate');
    const outerAlg = parseSignatureAlgorithm(cert);
    const signature = cert.readBitStringBytes('signatureValue');
    cert.end('Certificate');

    const tbs = cert.enter(tbsEl);
    let version = 1;
    const versionEl = tbs.readOptional(contextTag(0, true));
    if (versionEl) {
      const vr = tbs.enter(versionEl);
      version = vr.readSmallInteger('version') + 1;
      vr.end('version');
      if (version > 3) throw new DerError('bad-value', `certificate version ${version}`);
    }
    const serial = tbs.readInteger('serialNumber');
    const innerAlg = parseSignatureAlgorithm(tbs);
    // RFC 5280 4.1.1.2: signatureAlgorithm MUST equal tbsCertificate.signature.
    if (!bytesEqual(innerAlg.bytes, outerAlg.bytes)) throw new DerError('bad-value', 'signature algorithms in and outside TBSCertificate differ');
    const issuer = parseName(tbs);
    const validity = tbs.sequence('Validity');
    const notBefore = parseTime(validity, 'notBefore');
    const notAfter = parseTime(validity, 'notAfter');
    validity.end('Validity');
    const subject = parseName(tbs);
    const spkiEl = tbs.readExpected(DerTag.sequence, 'SubjectPublicKeyInfo');
    tbs.readOptional(contextTag(1, false)); // issuerUniqueID
    tbs.readOptional(contextTag(2, false)); // subjectUniqueID
    let extensions: CertificateExtensions = { all: [] };
    const extEl = tbs.readOptional(contextTag(3, true));
    if (extEl) {
      if (version !== 3) throw new DerError('bad-value', 'extensions in a certificate that is not v3');
      const er = tbs.enter(extEl);
      const list = er.sequence('Extensions');
      er.end('extensions');
      extensions = parseExtensions(list);
    }
    tbs.end('TBSCertificate');

    let publicKey: PublicKey;
    try {
      publicKey = publicKeyFromSpki(spkiEl.bytes);
    } catch (e) {
      if (e instanceof CryptoError) {
        throw new CertificateError(e.code === 'unsupported' ? 'unsupported' : 'bad-encoding', `subject public key: ${e.message}`, { cause: e });
      }
      throw e;
    }
    return {
      der: certEl.bytes,
      tbsDer: tbsEl.bytes,
      version,
      serial,
      issuer,
      subject,
      notBefore,
      notAfter,
      publicKey,
      signatureAlgorithm: outerAlg.alg,
      signature,
      extensions,
    };
  } catch (e) {
    if (e instanceof DerError) throw new CertificateError('bad-encoding', `certificate: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Whether issuer and subject are the same name (RFC 5280 6.1: "self-issued"). */
export function isSelfIssued(cert: Certificate): boolean {
  return bytesEqual(cert.issuer.raw, cert.subject.raw);
}
