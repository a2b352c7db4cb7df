import { generateKeyPairSync, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyType, PrivateKey, PublicKey } from '../../src/crypto/provider.js';

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function loadVectors<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(__dirname, '../../../../test/vectors/tls-crypto', name), 'utf8')) as T;
}

/** A deterministic byte source from a seed (SHA-256 in counter mode): reproducible "randomness". */
export function seededRandom(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let pos = 0; pos < n; ) {
      const block = createHash('sha256').update(`${seed}/${counter++}`).digest();
      const take = Math.min(block.length, n - pos);
      out.set(block.subarray(0, take), pos);
      pos += take;
    }
    return out;
  };
}

/** Returns the given buffers in turn, then fails: for injecting RFC private keys. */
export function fixedRandom(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  return (n: number) => {
    const c = chunks.shift();
    if (!c || c.length !== n) throw new Error(`fixedRandom: unexpected request for ${n} bytes`);
    return c;
  };
}

export interface TestKeyPair {
  privateKey: PrivateKey;
  publicKey: PublicKey;
}

/** `kp` is a DER key pair (the `enc` options below); typed loosely because TypeScript picks the KeyObject overload for the spread options. */
function pair(type: KeyType, kp: { privateKey: unknown; publicKey: unknown }): TestKeyPair {
  return {
    privateKey: { type, pkcs8: new Uint8Array(kp.privateKey as Buffer) },
    publicKey: { type, spki: new Uint8Array(kp.publicKey as Buffer) },
  };
}

const enc = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;

let cached: Record<string, TestKeyPair> | null = null;
/** Test keys made by node's key generator (RSA 2048: cached once per test file). */
export function testKeys(): Record<'p256' | 'p384' | 'ed25519' | 'rsa' | 'rsaPss', TestKeyPair> {
  if (!cached) {
    cached = {
      p256: pair('ec-p256', generateKeyPairSync('ec', { namedCurve: 'prime256v1', ...enc })),
      p384: pair('ec-p384', generateKeyPairSync('ec', { namedCurve: 'secp384r1', ...enc })),
      ed25519: pair('ed25519', generateKeyPairSync('ed25519', enc)),
      rsa: pair('rsa', generateKeyPairSync('rsa', { modulusLength: 2048, ...enc })),
      rsaPss: pair('rsa', generateKeyPairSync('rsa-pss', { modulusLength: 2048, ...enc })),
    };
  }
  return cached as Record<'p256' | 'p384' | 'ed25519' | 'rsa' | 'rsaPss', TestKeyPair>;
}
