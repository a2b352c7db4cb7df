/**
 * Configuration of the sans-IO engine. Randomness is injected (`random`); time comes in with every
 * call as `now`, milliseconds since the Unix epoch (a wall clock: certificate validity and ticket
 * ages are judged against it).
 */
import type { CryptoProvider, NamedGroup, PrivateKey, PublicKey, SignatureScheme } from '../crypto/provider.js';
import type { PaddingPolicy } from '../record/protection.js';
import type { CipherSuiteName } from '../wire/constants.js';
import type { TlsExtension } from '../wire/handshake.js';

/**
 * Checks a peer's certificate chain (DER, leaf first) and returns the leaf's public key.
 * Throws (CertificateError or TlsError) to reject; the error is mapped to its alert.
 * `hostname` is the server name the client asked for (undefined on the server side).
 */
export interface CertificateVerifier {
  verify(chain: readonly Uint8Array[], opts: { hostname?: string; now: number }): PublicKey;
}

/**
 * A TLS extension that an upper layer (TCPLS) adds to the handshake: the client puts it in its
 * ClientHello, the server sees it and may answer in EncryptedExtensions, the client sees the echo.
 */
export interface CustomExtension {
  /** The ExtensionType codepoint; must not be one the engine handles itself. */
  readonly type: number;
  /** Client: the extension_data for ClientHello, or null to leave it out. */
  clientHello?(): Uint8Array | null;
  /** Server: called with the client's data (undefined if absent); returns data for EncryptedExtensions or null. */
  onClientHello?(data: Uint8Array | undefined): Uint8Array | null;
  /** Client: called with the server's EncryptedExtensions data (undefined if the server did not echo it). */
  onEncryptedExtensions?(data: Uint8Array | undefined): void;
}

/** What a client keeps to resume (RFC 8446 4.6.1, 2.2). */
export interface SessionTicket {
  ticket: Uint8Array;
  psk: Uint8Array;
  suite: CipherSuiteName;
  serverName?: string;
  alpn?: string;
  /** Wall-clock ms when the ticket was received, and its lifetime in seconds. */
  receivedAt: number;
  lifetime: number;
  ageAdd: number;
  maxEarlyData: number;
}

export interface CommonConfig {
  provider: CryptoProvider;
  /** Injected randomness: n random bytes. */
  random: (n: number) => Uint8Array;
  /** Cipher suites in preference order (default: all three, AES-128-GCM first). */
  cipherSuites?: CipherSuiteName[];
  /** Groups in preference order (default x25519, secp256r1). */
  groups?: NamedGroup[];
  /** Signature schemes we accept / use (default: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, ed25519, and more). */
  signatureSchemes?: SignatureScheme[];
  /** ALPN protocols in preference order. */
  alpn?: string[];
  /** Our record_size_limit (RFC 8449), 64..16385; sent only when set. */
  recordSizeLimit?: number;
  /** Largest handshake message accepted (default 65536). */
  maxHandshakeMessageSize?: number;
  /** Record padding policy for protected records we send. */
  padding?: PaddingPolicy;
  /** Send records after which the sending key is updated automatically (default: the suite's AEAD limit). */
  keyUpdateAfterRecords?: number;
  /** Middlebox compatibility mode (RFC 8446 D.4): session id and CCS. Default true. */
  middleboxCompat?: boolean;
  customExtensions?: CustomExtension[];
  /** Peer certificate verification; null = accept any (still checks the CertificateVerify signature with the leaf key). */
  verifier?: CertificateVerifier | null;
  /** Our certificate chain (DER, leaf first) and key: required for servers, optional for clients (mTLS). */
  certificateChain?: Uint8Array[];
  privateKey?: PrivateKey;
}

export interface ClientConfig extends CommonConfig {
  /** SNI and the name checked against the certificate. */
  serverName?: string;
  /** Groups to send key shares for in the first ClientHello (default: the first group). */
  keyShareGroups?: NamedGroup[];
  /** A ticket to resume with (psk_dhe_ke). */
  session?: SessionTicket;
  /** 0-RTT data to send with the resumption ClientHello (needs a session allowing early data). */
  earlyData?: Uint8Array;
  /**
   * Advanced (tests, middlebox probes): rewrites the ClientHello extension list just before it is
   * encoded (pre_shared_key, when present, is appended after this and stays last).
   */
  editClientHelloExtensions?: (extensions: TlsExtension[]) => TlsExtension[];
}

/** Anti-replay for 0-RTT (RFC 8446 8): returns true the first time a ticket/binder is seen. */
export interface AntiReplay {
  checkAndRemember(key: Uint8Array, now: number): boolean;
}

export interface ServerConfig extends CommonConfig {
  certificateChain: Uint8Array[];
  privateKey: PrivateKey;
  /** Ask for a client certificate; 'require' aborts with certificate_required when none comes. */
  clientAuth?: 'none' | 'request' | 'require';
  /** Number of NewSessionTickets to send after the handshake (default 1; 0 disables resumption). */
  tickets?: number;
  /** Key that protects session tickets (32 bytes); without it no tickets are issued. */
  ticketKey?: Uint8Array;
  /** Ticket lifetime in seconds (default 7200). */
  ticketLifetime?: number;
  /** Accept this much 0-RTT data per ticket (0 = no early data). */
  maxEarlyData?: number;
  antiReplay?: AntiReplay;
  /** Always send a HelloRetryRequest first (tests, and to exercise the cookie path). */
  forceHelloRetry?: boolean;
  /** Server name check: return false to abort with unrecognized_name. */
  acceptServerName?: (name: string) => boolean;
}

export const DEFAULT_SIGNATURE_SCHEMES: SignatureScheme[] = [
  'ecdsa_secp256r1_sha256',
  'rsa_pss_rsae_sha256',
  'ed25519',
  'ecdsa_secp384r1_sha384',
  'rsa_pss_rsae_sha384',
  'rsa_pss_pss_sha256',
];
/** Schemes accepted in certificates (signature_algorithms_cert): also PKCS#1 v1.5. */
export const DEFAULT_CERT_SIGNATURE_SCHEMES: SignatureScheme[] = [
  ...DEFAULT_SIGNATURE_SCHEMES,
  'rsa_pkcs1_sha256',
  'rsa_pkcs1_sha384',
  'rsa_pkcs1_sha512',
];
