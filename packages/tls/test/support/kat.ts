/** Shared pieces of the known-answer tests: both providers, and randomness replayed from a trace. */
import { nodeCrypto } from '../../src/crypto/node.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { ClientConfig } from '../../src/handshake/config.js';
import { fixedRandom } from '../crypto/helpers.js';

/** [name, provider] rows for describe.each: every KAT runs against both providers. */
export const BOTH_PROVIDERS: [string, CryptoProvider][] = [
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
];

/**
 * A random source that hands out the trace's values in order. `strict`: any other draw (wrong
 * size, or one too many) throws, so the test proves the engine draws exactly these; otherwise
 * later draws get filler bytes (for values the trace does not pin, like ticket nonces).
 */
export function replayRandom(values: Uint8Array[], strict: boolean): (n: number) => Uint8Array {
  if (strict) return fixedRandom(...values);
  const queue = values.slice();
  return (n) => {
    const r = queue.shift();
    return r && r.length === n ? r : new Uint8Array(n).fill(7);
  };
}

/** The RFC 8448 trace client's settings: SNI "server", suites in its order, no compat mode. */
export function traceClientConfig(provider: CryptoProvider, random: (n: number) => Uint8Array): ClientConfig {
  return {
    provider,
    random,
    serverName: 'server',
    verifier: null,
    middleboxCompat: false,
    cipherSuites: ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_256_GCM_SHA384'],
  };
}
