/**
 * chainVerifier's deliberate CN fallback (engine/certs.ts): the subject CN is matched only when the
 * leaf has no subjectAltName at all (certificates from `openssl req -x509 -subj /CN=host`), never
 * for IP literals, and never when a SAN is present. Plus the bounded 0-RTT anti-replay store.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../../src/crypto/node.js';
import { chainVerifier } from '../../src/handshake/certs.js';
import { MemoryAntiReplay } from '../../src/node/socket.js';
import { pemBlocks } from '../support/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'tlshb-cn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed P-256 certificate with the given subject and optional SAN. */
function cert(name: string, subj: string, san?: string): Uint8Array {
  const file = join(dir, `${name}.crt`);
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', file, '-days', '2', '-subj', subj];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  execFileSync('openssl', args, { stdio: 'ignore' });
  return pemBlocks(readFileSync(file, 'utf8'), 'CERTIFICATE')[0];
}

const now = Date.now() + 60_000;
function verify(der: Uint8Array, hostname: string): void {
  chainVerifier([der], nodeCrypto).verify([der], { hostname, now });
}

describe('CN fallback (deliberate, SAN-less leaves only)', () => {
  const cnOnly = cert('cn-only', '/CN=localhost');
  const cnIp = cert('cn-ip', '/CN=127.0.0.1');
  const withSan = cert('with-san', '/CN=localhost', 'DNS:other.example');

  test('a leaf without subjectAltName verifies by its CN', () => {
    expect(() => verify(cnOnly, 'localhost')).not.toThrow();
    expect(() => verify(cnOnly, 'LOCALHOST.')).not.toThrow(); // DNS names compare case-insensitively, trailing dot ignored
  });
  test('a leaf without subjectAltName and another name: hostname-mismatch', () => {
    expect(() => verify(cnOnly, 'example.com')).toThrow(expect.objectContaining({ code: 'hostname-mismatch' }));
  });
  test('an IP literal is never matched against a CN', () => {
    expect(() => verify(cnIp, '127.0.0.1')).toThrow(expect.objectContaining({ code: 'hostname-mismatch' }));
  });
  test('a leaf with a SAN is matched against the SAN only, the CN is ignored', () => {
    expect(() => verify(withSan, 'localhost')).toThrow(expect.objectContaining({ code: 'hostname-mismatch' }));
    expect(() => verify(withSan, 'other.example')).not.toThrow();
  });
});

describe('MemoryAntiReplay', () => {
  test('a binder is accepted once within the window, and again after the window', () => {
    const r = new MemoryAntiReplay(10_000, 10);
    const k = new Uint8Array([1, 2, 3]);
    expect(r.checkAndRemember(k, 1000)).toBe(true);
    expect(r.checkAndRemember(k, 5000)).toBe(false);
    expect(r.checkAndRemember(k, 11_001)).toBe(true);
  });
  test('when full it refuses 0-RTT instead of forgetting binders still inside the window', () => {
    const r = new MemoryAntiReplay(10_000, 3);
    for (let i = 0; i < 3; i++) expect(r.checkAndRemember(new Uint8Array([i]), 1000)).toBe(true);
    expect(r.checkAndRemember(new Uint8Array([9]), 1001)).toBe(false); // full
    expect(r.checkAndRemember(new Uint8Array([0]), 1002)).toBe(false); // still remembered: a replay
    // Once the old entries leave the window there is room again.
    expect(r.checkAndRemember(new Uint8Array([9]), 12_000)).toBe(true);
  });
});
