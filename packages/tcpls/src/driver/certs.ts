/**
 * Certificates for the drivers and the CLI: PEM files, or a throw-away self-signed certificate
 * (ECDSA P-256, CN=localhost, SAN localhost / 127.0.0.1) made with the openssl command line in a
 * private temporary directory that is removed at once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PrivateKey, loadKeyPem, pemCertificates } from '@tcpls/tls';

export interface CertificateMaterial {
  certPem: string;
  keyPem: string;
  chain: Uint8Array[];
  key: PrivateKey;
  /** Where it came from, for the user ("files c.pem/k.pem", "self-signed (openssl)"). */
  origin: string;
}

export function loadCertificate(certFile: string, keyFile: string): CertificateMaterial {
  const certPem = readFileSync(certFile, 'utf8');
  const keyPem = readFileSync(keyFile, 'utf8');
  return { certPem, keyPem, chain: pemCertificates(certPem), key: loadKeyPem(keyPem), origin: `files ${certFile} / ${keyFile}` };
}

let cached: CertificateMaterial | null = null;

/** A self-signed certificate for CN=localhost, made once per process with `openssl req`. */
export function selfSignedCertificate(): CertificateMaterial {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'tcpls-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')],
      { stdio: 'ignore' },
    );
    const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    const keyPem = readFileSync(join(dir, 'k.pem'), 'utf8');
    cached = { certPem, keyPem, chain: pemCertificates(certPem), key: loadKeyPem(keyPem), origin: 'self-signed P-256 certificate for CN=localhost, made with openssl (not saved)' };
    return cached;
  } catch (e) {
    throw new Error(`could not make a self-signed certificate with openssl (${(e as Error).message}); pass --cert and --key`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
