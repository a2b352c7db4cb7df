/**
 * Loading certificates and keys from PEM text, and the system trust store.
 */
import { readFileSync, statSync } from 'node:fs';
import { pkcs1ToPkcs8, privateKeyFromPkcs8, sec1ToPkcs8 } from '../crypto/keys.js';
import { CryptoError, type PrivateKey } from '../crypto/provider.js';
import { parseCertificate, type Certificate } from './certificate.js';
import { CertificateError } from './errors.js';
import { decodePem, PemError, PEM_MAX_INPUT } from './pem.js';

function pemBlocks(pem: string): ReturnType<typeof decodePem> {
  try {
    return decodePem(pem);
  } catch (e) {
    if (e instanceof PemError) throw new CertificateError('bad-encoding', `PEM: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * The first private key in `pem`: "PRIVATE KEY" (PKCS#8, RFC 5208), "EC PRIVATE KEY" (SEC1,
 * RFC 5915) or "RSA PRIVATE KEY" (PKCS#1, RFC 8017 A.1.2); the latter two are converted to PKCS#8.
 * Encrypted keys are not supported.
 */
export function loadPrivateKeyPem(pem: string): PrivateKey {
  for (const block of pemBlocks(pem)) {
    try {
      switch (block.label) {
        case 'PRIVATE KEY':
          return privateKeyFromPkcs8(block.der);
        case 'EC PRIVATE KEY':
          return privateKeyFromPkcs8(sec1ToPkcs8(block.der));
        case 'RSA PRIVATE KEY':
          return privateKeyFromPkcs8(pkcs1ToPkcs8(block.der));
        case 'ENCRYPTED PRIVATE KEY':
          throw new CertificateError('unsupported', 'encrypted private keys are not supported');
      }
    } catch (e) {
      if (e instanceof CryptoError) {
        throw new CertificateError(e.code === 'unsupported' ? 'unsupported' : 'bad-encoding', `private key: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
  throw new CertificateError('bad-encoding', 'no private key in PEM input');
}

/** Every "CERTIFICATE" block in `pem`, in order (leaf first for a chain file). */
export function loadCertificateChainPem(pem: string): Certificate[] {
  const certs = pemBlocks(pem)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => parseCertificate(b.der));
  if (certs.length === 0) throw new CertificateError('bad-encoding', 'no certificate in PEM input');
  return certs;
}

export interface TrustStore {
  readonly certificates: Certificate[];
  /** Blocks that did not parse or use algorithms we do not support; they are skipped. */
  readonly skipped: number;
  readonly path: string;
}

export const SYSTEM_TRUST_STORE_PATH = '/etc/ssl/certs/ca-certificates.crt';

/**
 * Reads a PEM bundle of trust anchors (Debian's by default). The file is size-checked before it is
 * read; blocks that fail to parse are skipped and counted rather than failing the whole store.
 */
export function loadSystemTrustStore(path = SYSTEM_TRUST_STORE_PATH): TrustStore {
  const size = statSync(path).size;
  if (size > PEM_MAX_INPUT) throw new CertificateError('bad-encoding', `${path} is larger than ${PEM_MAX_INPUT} bytes`);
  const text = readFileSync(path, 'latin1');
  const certificates: Certificate[] = [];
  let skipped = 0;
  for (const block of pemBlocks(text)) {
    if (block.label !== 'CERTIFICATE' && block.label !== 'TRUSTED CERTIFICATE') continue;
    try {
      certificates.push(parseCertificate(block.der));
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      skipped++;
    }
  }
  return { certificates, skipped, path };
}
