/** Test PKI: certificates made once per process with the openssl CLI (tmpdir), plus PEM helpers. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyFromPkcs8 } from '../../src/crypto/keys.js';
import type { PrivateKey } from '../../src/crypto/provider.js';

export function pemBlocks(pem: string, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  for (const m of pem.matchAll(re)) out.push(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
  return out;
}

export interface TestIdentity {
  name: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  chain: Uint8Array[];
  key: PrivateKey;
}

export type KeyKind = 'ec' | 'rsa' | 'ed25519';

const made = new Map<string, TestIdentity>();
let dir: string | null = null;

function workDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'tlshs-pki-'));
    const d = dir;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** A self-signed certificate for CN=localhost (SAN localhost, 127.0.0.1), made once per kind. */
export function identity(kind: KeyKind, cn = 'localhost'): TestIdentity {
  const id = `${kind}-${cn}`;
  const have = made.get(id);
  if (have) return have;
  const d = workDir();
  const certFile = join(d, `${id}.crt`);
  const keyFile = join(d, `${id}.key`);
  const newkey = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ed25519'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn},IP:127.0.0.1`], { stdio: 'ignore' });
  const certPem = readFileSync(certFile, 'utf8');
  const keyPem = readFileSync(keyFile, 'utf8');
  const ident: TestIdentity = { name: id, certPem, keyPem, certFile, keyFile, chain: pemBlocks(certPem, 'CERTIFICATE'), key: privateKeyFromPkcs8(pemBlocks(keyPem, 'PRIVATE KEY')[0]) };
  made.set(id, ident);
  return ident;
}
