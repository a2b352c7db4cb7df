/**
 * Test certificates made with the openssl CLI in a temporary directory (nothing is committed).
 * Validity: CAs and leaves are issued from "now" (the real clock at generation time) for 3650
 * days, except `shortLived` (1 day); tests pass their own `now` to verifyChain.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Fixture {
  dir: string;
  /** PEM text of files by name (certificates "<name>.pem", keys "<name>.key"). */
  pem(name: string): string;
  cleanup(): void;
}

const REQ_CONFIG = '[req]\ndistinguished_name=dn\n[dn]\n';

type KeyAlg = 'p256' | 'p384' | 'rsa' | 'ed25519';

export function makeFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'tlscrypto-x509-'));
  try {
    generate(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    pem: (name) => readFileSync(join(dir, name.includes('.') ? name : `${name}.pem`), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function generate(dir: string): void {
  const run = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const genkey = (name: string, alg: KeyAlg): void => {
    const opts: Record<KeyAlg, string[]> = {
      p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
      rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
      ed25519: ['-algorithm', 'ED25519'],
    };
    run('genpkey', ...opts[alg], '-out', `${name}.key`);
  };
  let serial = 100;
  const root = (name: string, alg: KeyAlg, subj: string, ext = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign'): void => {
    genkey(name, alg);
    writeFileSync(join(dir, `${name}.cnf`), `${REQ_CONFIG}[v3]\n${ext}\nsubjectKeyIdentifier=hash\n`);
    run('req', '-x509', '-new', '-key', `${name}.key`, '-subj', subj, '-days', '3650', '-set_serial', String(serial++), '-config', `${name}.cnf`, '-extensions', 'v3', '-out', `${name}.pem`);
  };
  const issue = (name: string, alg: KeyAlg, subj: string, ca: string, ext: string, extra: string[] = [], days = '3650'): void => {
    genkey(name, alg);
    writeFileSync(join(dir, `${name}.ext`), `[v3]\n${ext}\n`);
    writeFileSync(join(dir, 'req.cnf'), REQ_CONFIG);
    run('req', '-new', '-key', `${name}.key`, '-subj', subj, '-config', 'req.cnf', '-out', `${name}.csr`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(serial++), '-days', days, '-extfile', `${name}.ext`, '-extensions', 'v3', ...extra, '-out', `${name}.pem`);
  };
  const leafExt = (san: string): string => `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}`;
  const caExt = (pathlen?: number): string => `basicConstraints=critical,CA:TRUE${pathlen === undefined ? '' : `,pathlen:${pathlen}`}\nkeyUsage=critical,keyCertSign,cRLSign`;

  // EC hierarchy: P-256 root -> P-384 intermediate (pathlen 0) -> P-256 leaf (signed with SHA-384).
  root('rootEc', 'p256', '/O=Test/CN=Test EC Root');
  issue('intEc', 'p384', '/O=Test/CN=Test EC Intermediate', 'rootEc', caExt(0), ['-sha256']);
  issue('leafEc', 'p256', '/O=Example/CN=leaf.example.com', 'intEc', leafExt('DNS:leaf.example.com,DNS:alt.example.com,IP:127.0.0.1,IP:::1'), ['-sha384']);
  issue('wildcard', 'p256', '/CN=*.wild.example.com', 'intEc', leafExt('DNS:*.wild.example.com'), ['-sha384']);
  issue('cnOnly', 'p256', '/CN=cnonly.example.com', 'intEc', leafExt('DNS:san.example.com'), ['-sha384']);
  issue('clientOnly', 'p256', '/CN=client', 'intEc', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:client.example.com', ['-sha384']);
  issue('critExt', 'p256', '/CN=crit.example.com', 'intEc', `${leafExt('DNS:crit.example.com')}\n1.3.6.1.4.1.99999.1=critical,ASN1:NULL`, ['-sha384']);
  issue('shortLived', 'p256', '/CN=short.example.com', 'intEc', leafExt('DNS:short.example.com'), ['-sha384'], '1');
  // Below a pathlen:0 intermediate another CA is not allowed.
  issue('subInt', 'p256', '/CN=Test Sub Intermediate', 'intEc', caExt(), ['-sha384']);
  issue('leafUnderSub', 'p256', '/CN=deep.example.com', 'subInt', leafExt('DNS:deep.example.com'));
  // A leaf used as an issuer.
  issue('leafAsCa', 'p256', '/CN=victim.example.com', 'leafEc', leafExt('DNS:victim.example.com'));

  // RSA hierarchy: RSA-2048 root; leaves signed with PKCS#1 v1.5 SHA-256 and with RSA-PSS.
  root('rootRsa', 'rsa', '/O=Test/CN=Test RSA Root');
  issue('leafRsa', 'rsa', '/CN=rsa.example.com', 'rootRsa', leafExt('DNS:rsa.example.com'), ['-sha256']);
  issue('leafRsaPss', 'p256', '/CN=pss.example.com', 'rootRsa', leafExt('DNS:pss.example.com'), ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest']);
  issue('leafRsaPss384', 'rsa', '/CN=pss384.example.com', 'rootRsa', leafExt('DNS:pss384.example.com'), ['-sha384', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:max']);
  issue('leafRsa512', 'p256', '/CN=rsa512.example.com', 'rootRsa', leafExt('DNS:rsa512.example.com'), ['-sha512']);
  // Ed25519: root and leaf.
  root('rootEd', 'ed25519', '/CN=Test Ed25519 Root');
  issue('leafEd', 'ed25519', '/CN=ed.example.com', 'rootEd', leafExt('DNS:ed.example.com'));
  // A root with the EC root's name but another key (a forged issuer).
  root('rootEcImpostor', 'p256', '/O=Test/CN=Test EC Root');
  // A self-signed server certificate.
  root('selfSigned', 'p256', '/CN=self.example.com', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:self.example.com');
  // Key formats: SEC1 "EC PRIVATE KEY" and PKCS#1 "RSA PRIVATE KEY".
  run('ec', '-in', 'leafEc.key', '-out', 'leafEc.sec1.key');
  run('rsa', '-in', 'leafRsa.key', '-traditional', '-out', 'leafRsa.pkcs1.key');
}

export function opensslText(dir: string, name: string, ...args: string[]): string {
  return execFileSync('openssl', ['x509', '-in', `${name}.pem`, '-noout', ...args], { cwd: dir }).toString().trim();
}
