/**
 * The `extension_data` of the TCPLS TLS extensions (docs/wire-format.md §1). The TLS engine carries
 * the (codepoint, data) pairs; these functions produce and check the data.
 * Tokens are fixed 32-byte values without a length prefix (our reading of `opaque token<32>`).
 */
import { TcplsError } from './errors.js';
import { TOKEN_LENGTH } from './frames.js';

/** `tcpls` in ClientHello and EncryptedExtensions: always empty. */
export function encodeTcplsExtension(): Uint8Array {
  return new Uint8Array(0);
}

export function decodeTcplsExtension(data: Uint8Array): void {
  if (data.length !== 0) throw new TcplsError('bad-extension', `tcpls extension must be empty, has ${data.length} bytes`);
}

/** `tcpls_token` (EncryptedExtensions) and `tcpls_join` (ClientHello): exactly 32 bytes. */
export function encodeTokenExtension(token: Uint8Array): Uint8Array {
  if (token.length !== TOKEN_LENGTH) throw new TcplsError('api-misuse', `a token is ${TOKEN_LENGTH} bytes, not ${token.length}`);
  return token.slice();
}

export function decodeTokenExtension(data: Uint8Array): Uint8Array {
  if (data.length !== TOKEN_LENGTH) {
    throw new TcplsError('bad-extension', `token extension must be exactly ${TOKEN_LENGTH} bytes, has ${data.length}`);
  }
  return data.slice();
}

/** Sequence number (future connection id) of the token carried in `tcpls_token`. */
export const EXTENSION_TOKEN_SEQUENCE = 1;
