/**
 * TLS 1.3 codepoints (RFC 8446 4, B.3) and the algorithm records (picotls style: a cipher suite is
 * {id, name, aead, hash, key and IV lengths}).
 */
import type { AeadAlgorithm, HashAlgorithm, NamedGroup, SignatureScheme } from '../crypto/provider.js';

export const ContentType = {
  invalid: 0,
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  endOfEarlyData: 5,
  encryptedExtensions: 8,
  certificate: 11,
  certificateRequest: 13,
  certificateVerify: 15,
  finished: 20,
  keyUpdate: 24,
  messageHash: 254,
} as const;
export type HandshakeType = (typeof HandshakeType)[keyof typeof HandshakeType];

export const ExtensionType = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  applicationLayerProtocolNegotiation: 16,
  recordSizeLimit: 28,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  pskKeyExchangeModes: 45,
  certificateAuthorities: 47,
  signatureAlgorithmsCert: 50,
  keyShare: 51,
} as const;

export const TLS13 = 0x0304;
export const TLS12 = 0x0303;

/** SHA-256("HelloRetryRequest"), the ServerHello.random that marks a HelloRetryRequest (4.1.3). */
export const HRR_RANDOM = new Uint8Array([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

export interface CipherSuite {
  readonly id: number;
  readonly name: string;
  readonly aead: AeadAlgorithm;
  readonly hash: HashAlgorithm;
  readonly keyLength: number;
  readonly ivLength: 12;
  /**
   * Records after which the sending key must be updated (RFC 8446 5.5, RFC 9147 4.5.3 figures for
   * AES-GCM 2^24.5 full records; ChaCha20-Poly1305 is effectively unlimited, we still cap it).
   */
  readonly recordLimit: number;
}

export const CipherSuites = {
  TLS_AES_128_GCM_SHA256: { id: 0x1301, name: 'TLS_AES_128_GCM_SHA256', aead: 'aes-128-gcm', hash: 'sha256', keyLength: 16, ivLength: 12, recordLimit: 2 ** 24 },
  TLS_AES_256_GCM_SHA384: { id: 0x1302, name: 'TLS_AES_256_GCM_SHA384', aead: 'aes-256-gcm', hash: 'sha384', keyLength: 32, ivLength: 12, recordLimit: 2 ** 24 },
  TLS_CHACHA20_POLY1305_SHA256: { id: 0x1303, name: 'TLS_CHACHA20_POLY1305_SHA256', aead: 'chacha20-poly1305', hash: 'sha256', keyLength: 32, ivLength: 12, recordLimit: 2 ** 40 },
} as const satisfies Record<string, CipherSuite>;
export type CipherSuiteName = keyof typeof CipherSuites;
export const ALL_SUITES: readonly CipherSuite[] = Object.values(CipherSuites);

export function suiteById(id: number): CipherSuite | undefined {
  return ALL_SUITES.find((s) => s.id === id);
}
export function suiteByName(name: string): CipherSuite | undefined {
  return ALL_SUITES.find((s) => s.name === name);
}

export const GroupIds: Record<NamedGroup, number> = { secp256r1: 0x0017, x25519: 0x001d };
export function groupById(id: number): NamedGroup | undefined {
  for (const [k, v] of Object.entries(GroupIds)) if (v === id) return k as NamedGroup;
  return undefined;
}

export const SignatureSchemeIds: Record<SignatureScheme, number> = {
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pkcs1_sha512: 0x0601,
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  ed25519: 0x0807,
  rsa_pss_pss_sha256: 0x0809,
};
export function schemeById(id: number): SignatureScheme | undefined {
  for (const [k, v] of Object.entries(SignatureSchemeIds)) if (v === id) return k as SignatureScheme;
  return undefined;
}

/** PskKeyExchangeMode (RFC 8446 4.2.9): only psk_dhe_ke is implemented (psk_ke is never chosen). */
export const PskKeyExchangeMode = { pskKe: 0, pskDheKe: 1 } as const;
