/**
 * Glue between the TCPLS session and a TLS 1.3 engine, written against small structural views so
 * this package does not depend on the TLS engine's internals (packages/tls's TlsClient/TlsServer
 * satisfy them):
 *  - the `tcpls` / `tcpls_token` extensions as custom-extension hooks (docs/wire-format.md §1);
 *  - `TlsRecordChannel`: a RecordChannel over one TLS connection. Incoming TCP bytes are split into
 *    TLS records and fed to the engine one record at a time, so the record sequence number of every
 *    application-data record is known exactly (it is what TCPLS ACK frames carry, draft §4.4).
 */
import type { TlsAlertName } from './errors.js';
import { TcplsError } from './errors.js';
import { type TcplsProfile, draftProfile } from './profile.js';
import { decodeTcplsExtension, decodeTokenExtension, encodeTcplsExtension, encodeTokenExtension } from './extensions.js';
import type { ChannelClose, RecordChannel } from './interfaces.js';
import type { TcplsSession } from './session.js';

/** Structural view of a TLS engine's custom extension hook (packages/tls `CustomExtension`). */
export interface CustomExtensionHook {
  readonly type: number;
  clientHello?(): Uint8Array | null;
  onClientHello?(data: Uint8Array | undefined): Uint8Array | null;
  onEncryptedExtensions?(data: Uint8Array | undefined): void;
}

/**
 * Makes the error the TLS engine turns into a given fatal alert (for packages/tls:
 * `(a) => new TlsError(a.replace(/_/g, '-'), msg)`), so a TCPLS error becomes the right alert.
 */
export type AlertErrorFactory = (alert: TlsAlertName, message: string) => Error;

/** Runs `f`; a TcplsError becomes the TLS engine's error for its alert (decode_error when it has none). */
function asTlsError(makeError: AlertErrorFactory, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e instanceof TcplsError) throw makeError(e.alert ?? 'decode_error', e.message);
    throw e;
  }
}

/** Client hooks: offer `tcpls`, learn whether the server echoed it and the token it gave. */
export function clientTcplsExtensions(
  makeError: AlertErrorFactory,
  profile: TcplsProfile = draftProfile,
): { extensions: CustomExtensionHook[]; result(): { negotiated: boolean; token: Uint8Array | null } } {
  let negotiated = false;
  let token: Uint8Array | null = null;
  return {
    extensions: [
      {
        type: profile.extensions.tcpls,
        clientHello: () => encodeTcplsExtension(),
        onEncryptedExtensions: (data) => {
          if (data === undefined) return; // no echo: plain TLS (draft §3)
          asTlsError(makeError, () => decodeTcplsExtension(data));
          negotiated = true;
        },
      },
      {
        type: profile.extensions.tcplsToken,
        clientHello: () => null,
        onEncryptedExtensions: (data) => {
          if (data === undefined) return;
          asTlsError(makeError, () => {
            token = decodeTokenExtension(data);
          });
        },
      },
    ],
    result: () => ({ negotiated, token }),
  };
}

/** Server hooks: echo `tcpls` when offered, and hand the first token in `tcpls_token`. */
export function serverTcplsExtensions(
  makeError: AlertErrorFactory,
  firstToken: () => Uint8Array,
  profile: TcplsProfile = draftProfile,
): { extensions: CustomExtensionHook[]; result(): { negotiated: boolean } } {
  let negotiated = false;
  return {
    extensions: [
      {
        type: profile.extensions.tcpls,
        onClientHello: (data) => {
          if (data === undefined) return null;
          asTlsError(makeError, () => decodeTcplsExtension(data));
          negotiated = true;
          return encodeTcplsExtension();
        },
      },
      {
        type: profile.extensions.tcplsToken,
        // Hooks run in order, so `negotiated` is already known when this one runs.
        onClientHello: (data) => {
          if (data !== undefined) throw makeError('illegal_parameter', 'tcpls_token in a ClientHello');
          return negotiated ? encodeTokenExtension(firstToken()) : null;
        },
      },
    ],
    result: () => ({ negotiated }),
  };
}

/** Structural view of a TLS connection engine (packages/tls `TlsConnection`). */
export interface TlsEngineLike {
  write(data: Uint8Array, now?: number): void;
  close(): void;
  receive(data: Uint8Array, now: number): void;
  pollEvent(): { type: string } | null;
  readonly recordProtection: {
    read: { sequenceNumber: bigint; connectionId: number } | null;
    write: { sequenceNumber: bigint; connectionId: number; maxPlaintext: number } | null;
  };
  /** Aborts with the alert that the error maps to. */
  fail(e: unknown): void;
}

export interface TlsRecordChannelOptions {
  tls: TlsEngineLike;
  makeError: AlertErrorFactory;
  /** Called for every TLS event except application data (handshake-done, keylog, …). */
  onTlsEvent?: (event: { type: string }) => void;
  /** Called when TCPLS closes this connection, after the TLS part (close the TCP connection here). */
  onClose?: (how: ChannelClose) => void;
  /**
   * The session's clock, when it is not the one given to `receiveBytes` (which TLS uses for
   * certificate validity, i.e. a wall clock): e.g. the simulator's virtual time.
   */
  sessionNow?: () => number;
}

/** TLS record header: type, legacy_record_version, length (RFC 8446 §5.1). */
const RECORD_HEADER = 5;
/** RFC 8446 §5.2: TLSCiphertext.length ≤ 2^14 + 256. */
const MAX_CIPHERTEXT = 16384 + 256;

/**
 * A RecordChannel over one TLS connection. Feed it every TCP byte received (also during the
 * handshake); call `attach(session, connectionId)` once the handshake is done (from `onTlsEvent`
 * on 'handshake-done' is fine: records after it are fed one at a time).
 */
export class TlsRecordChannel implements RecordChannel {
  /**
   * Received bytes not yet handed to TLS, kept as the pieces TCP delivered: they are joined only
   * once a whole record is there, so many small reads cost linear, not quadratic, copying.
   */
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  /** Bytes needed before the pending pieces can hold a whole record (header, then header + body). */
  private need = RECORD_HEADER;
  private session: TcplsSession | undefined;
  private connectionId = 0;
  private dead = false;

  constructor(private readonly opts: TlsRecordChannelOptions) {}

  /** Binds the channel to a session connection and sets the per-connection nonce (draft §4.1). */
  attach(session: TcplsSession, connectionId: number): void {
    this.session = session;
    this.connectionId = connectionId;
    const p = this.opts.tls.recordProtection;
    if (p.read) p.read.connectionId = connectionId;
    if (p.write) p.write.connectionId = connectionId;
  }

  get maxPlaintext(): number {
    return this.opts.tls.recordProtection.write?.maxPlaintext ?? 16384;
  }

  sendRecord(plaintext: Uint8Array): bigint {
    if (plaintext.length > this.maxPlaintext) throw new TcplsError('api-misuse', 'record larger than the TLS limit');
    this.opts.tls.write(plaintext);
    // Read after writing: the engine may have rotated keys (KeyUpdate) just before sealing.
    const w = this.opts.tls.recordProtection.write;
    if (!w) throw new TcplsError('api-misuse', 'TLS has no application write key yet');
    return w.sequenceNumber - 1n;
  }

  close(how: ChannelClose): void {
    if (this.dead) return;
    this.dead = true;
    if (how.kind === 'close_notify') this.opts.tls.close();
    else if (how.kind === 'alert') this.opts.tls.fail(this.opts.makeError(how.alert, `TCPLS error, alert ${how.code}`));
    this.opts.onClose?.(how);
  }

  /** TCP bytes in. Whole records are handed to TLS one by one; a partial one waits. */
  receiveBytes(bytes: Uint8Array, now: number): void {
    if (bytes.length === 0) return;
    if (this.partBytes > 0) {
      // Copy: the caller may reuse its buffer, and we keep these bytes past this call.
      this.parts.push(bytes.slice());
      this.partBytes += bytes.length;
      if (this.partBytes < this.need) return;
      bytes = concatParts(this.parts, this.partBytes);
      this.parts = [];
      this.partBytes = 0;
    }
    let data = bytes;
    for (;;) {
      if (data.length < RECORD_HEADER) break;
      const len = (data[3] << 8) | data[4];
      if (len > MAX_CIPHERTEXT) {
        // Let TLS reject it (record_overflow) rather than buffer an attacker's length.
        this.opts.tls.receive(data, now);
        data = new Uint8Array(0);
        this.drain(now);
        break;
      }
      if (data.length < RECORD_HEADER + len) break;
      this.opts.tls.receive(data.subarray(0, RECORD_HEADER + len), now);
      data = data.subarray(RECORD_HEADER + len);
      this.drain(now);
    }
    if (data.length > 0) {
      this.parts = [data.slice()];
      this.partBytes = data.length;
      this.need = data.length < RECORD_HEADER ? RECORD_HEADER : RECORD_HEADER + ((data[3] << 8) | data[4]);
    } else this.need = RECORD_HEADER;
  }

  private drain(now: number): void {
    for (let e = this.opts.tls.pollEvent(); e; e = this.opts.tls.pollEvent()) {
      if (e.type === 'data' && this.session) {
        const r = this.opts.tls.recordProtection.read;
        const seq = r ? r.sequenceNumber - 1n : 0n;
        this.session.receiveRecord(this.connectionId, seq, (e as { type: 'data'; data: Uint8Array }).data, this.opts.sessionNow?.() ?? now);
        continue;
      }
      if ((e.type === 'close-notify' || e.type === 'error') && this.session) {
        this.dead = this.dead || e.type === 'error';
        this.session.connectionClosed(this.connectionId);
      }
      this.opts.onTlsEvent?.(e);
    }
  }
}

function concatParts(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let p = 0;
  for (const x of parts) {
    out.set(x, p);
    p += x.length;
  }
  return out;
}
