/**
 * TCP option lists as the TCP Options Report frame carries them (docs/wire-format.md §3.8): the
 * option bytes exactly as they were on the wire. The codec is the TCP package's (byte-exact:
 * parse then emit gives back the same bytes); this module only adapts its errors and signature to
 * the TCPLS frame codec.
 */
import {
  MAX_TCP_OPTIONS_LENGTH,
  WireError,
  emitTcpOptions as emitWire,
  parseTcpOptions as parseWire,
  tcpOptionKind,
  tcpOptionsLength,
  type TcpOption,
} from '@tcpls/tcp/wire';
import { TcplsError } from './errors.js';

/** TCP's option space is at most 40 bytes (data offset 15 words minus the 20-byte header). */
export const MAX_TCP_OPTION_BYTES = MAX_TCP_OPTIONS_LENGTH;

/** Emits an option list to its wire bytes. Throws `api-misuse` for values that do not fit. */
export function emitTcpOptions(options: readonly TcpOption[]): Uint8Array {
  const n = tcpOptionsLength(options);
  if (n > MAX_TCP_OPTION_BYTES) throw new TcplsError('api-misuse', `TCP options take ${n} bytes, more than 40`);
  const out = new Uint8Array(n);
  try {
    emitWire(options, out, 0);
  } catch (e) {
    if (e instanceof WireError) throw new TcplsError('api-misuse', `TCP options: ${e.message}`);
    throw e;
  }
  return out;
}

/**
 * Parses option bytes into a list that re-emits to exactly the same bytes (known kinds with an
 * unexpected length are kept as 'unknown'). Throws `frame-encoding` on a length byte < 2 or an
 * option running past the end of the option space.
 */
export function parseTcpOptions(bytes: Uint8Array): TcpOption[] {
  if (bytes.length > MAX_TCP_OPTION_BYTES) throw new TcplsError('frame-encoding', 'TCP options longer than 40 bytes');
  try {
    return parseWire(bytes);
  } catch (e) {
    if (e instanceof WireError) throw new TcplsError('frame-encoding', `TCP options: ${e.message}`);
    throw e;
  }
}

/** The option kind number of a parsed option (NOP 1, EOL 0, …). */
export const optionKindNumber = tcpOptionKind;
