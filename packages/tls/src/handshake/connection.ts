/**
 * The sans-IO TLS 1.3 connection core shared by client and server: records in and out, handshake
 * message assembly, alerts, application data, KeyUpdate, exporters and the hooks TCPLS uses.
 * Bytes and `now` go in (`receive`), bytes (`pollOutput`) and events (`pollEvent`) come out.
 * The handshake itself is a chain of state objects (client.ts, server.ts): each state's
 * `handle(message)` returns the next state; a message a state does not expect is unexpected_message.
 */
import type { CryptoProvider, NamedGroup, SignatureScheme } from '../crypto/provider.js';
import { AlertDescription, TlsError, alertFromName, alertName, tlsErrorToAlert } from '../errors.js';
import { MAX_CIPHERTEXT, MAX_PLAINTEXT, RecordProtection, RecordReader } from '../record/protection.js';
import { concatBytes, toHex } from '../wire/codec.js';
import { ContentType, HandshakeType, type CipherSuite } from '../wire/constants.js';
import { decodeHandshakeBody, encodeHandshake, type HandshakeMessage, type RawHandshake } from '../wire/handshake.js';
import type { CommonConfig, SessionTicket } from './config.js';
import { KeySchedule, Transcript } from './keyschedule.js';

/** What was negotiated, reported with the handshake-done event. */
export interface HandshakeInfo {
  version: 'TLSv1.3';
  suite: string;
  group: NamedGroup | null;
  /** The scheme the server (for a client) or client (for a server) signed with. */
  peerSignatureScheme: SignatureScheme | null;
  /** The scheme we signed with, if we did. */
  signatureScheme: SignatureScheme | null;
  alpn: string | null;
  serverName: string | null;
  /** Peer certificate chain, DER, leaf first (empty when none or resumed). */
  peerCertificates: Uint8Array[];
  /** True when the peer's chain was verified by the verifier; false when verification was off. */
  peerVerified: boolean;
  resumed: boolean;
  earlyDataAccepted: boolean;
  helloRetry: boolean;
  /** The peer's record_size_limit, if it sent one. */
  peerRecordSizeLimit: number | null;
}

export type TlsEvent =
  | { type: 'handshake-done'; info: HandshakeInfo }
  | { type: 'data'; data: Uint8Array }
  | { type: 'early-data'; data: Uint8Array }
  | { type: 'keylog'; line: string }
  | { type: 'session'; session: SessionTicket }
  | { type: 'key-update'; direction: 'read' | 'write' }
  | { type: 'close-notify' }
  | { type: 'error'; error: TlsError | Error; alertSent: number | null };

/** A handshake state: consumes one message, returns the next state. */
export interface HandshakeState {
  readonly name: string;
  handle(c: TlsConnection, m: RawHandshake): HandshakeState;
}

/** @internal a handshake message the current state does not expect: unexpected_message (RFC 8446 6.2). */
export function unexpectedMessage(state: string, m: RawHandshake): never {
  throw new TlsError('unexpected-message', `${state}: unexpected handshake message ${m.type}`);
}

/** The state once the connection failed or closed: everything is unexpected. */
export const closedState: HandshakeState = {
  name: 'Closed',
  handle(): HandshakeState {
    throw new TlsError('unexpected-message', 'connection is closed');
  },
};

/**
 * Proof values (rustls style): only the code that checked a signature or a Finished can make one,
 * and the states after those checks require them in their constructors.
 */
const proofBrand: unique symbol = Symbol('proof');
export class SignatureVerified {
  readonly [proofBrand] = true;
  /** 'psk': authenticated by the PSK binder; 'not-requested': a server that asked for no client certificate, or a client that sent none when that was allowed. */
  private constructor(readonly scheme: SignatureScheme | 'psk' | 'not-requested') {}
  /** @internal created only by verifyCertificateVerify, PSK acceptance, or an optional client auth left out. */
  static create(scheme: SignatureScheme | 'psk' | 'not-requested'): SignatureVerified {
    return new SignatureVerified(scheme);
  }
}
export class FinishedVerified {
  readonly [proofBrand] = true;
  private constructor() {}
  /** @internal created only by verifyFinished. */
  static create(): FinishedVerified {
    return new FinishedVerified();
  }
}

/** The 64 spaces || context || 0 || hash that a CertificateVerify signs (RFC 8446 4.4.3). */
export function certificateVerifyContent(server: boolean, transcriptHash: Uint8Array): Uint8Array {
  const ctx = new TextEncoder().encode(server ? 'TLS 1.3, server CertificateVerify' : 'TLS 1.3, client CertificateVerify');
  const out = new Uint8Array(64 + ctx.length + 1 + transcriptHash.length);
  out.fill(0x20, 0, 64);
  out.set(ctx, 64);
  out.set(transcriptHash, 64 + ctx.length + 1);
  return out;
}

/**
 * Which end of the handshake. Named TlsRole (not Role) because @tcpls/tcpls exports its own `Role`;
 * nothing imported the old name, so it was renamed rather than kept as a clashing alias.
 */
export type TlsRole = 'client' | 'server';

export abstract class TlsConnection {
  readonly provider: CryptoProvider;
  readonly transcript: Transcript;
  /** @internal */ state: HandshakeState = closedState;
  /** @internal */ schedule: KeySchedule | null = null;
  /** @internal */ suite: CipherSuite | null = null;
  /** @internal */ readProtection: RecordProtection | null = null;
  /** @internal */ writeProtection: RecordProtection | null = null;
  /** @internal */ clientRandom: Uint8Array = new Uint8Array(32);
  /** @internal */ info: HandshakeInfo;
  /** @internal the peer's record_size_limit minus one (RFC 8449), applied to write keys. */
  peerMaxPlaintext = MAX_PLAINTEXT;
  /** @internal our record_size_limit minus one once negotiated (RFC 8449); larger records are record_overflow. */
  ownMaxPlaintext = MAX_PLAINTEXT;
  /** @internal legacy_record_version of plaintext records we write (5.1). */
  plaintextRecordVersion = 0x0303;
  /** @internal true while unprotected CCS records may still arrive (middlebox compat, D.4). */
  acceptCcs = true;
  /** @internal set when the read key changed while handling a message (5.1 boundary check). */
  readKeyChanged = false;
  /** @internal server: skip records that fail to decrypt (rejected 0-RTT), up to this many bytes. */
  skipUndecryptableBytes = 0;
  /** @internal server: early data being received (between accepting 0-RTT and EndOfEarlyData). */
  readingEarlyData = false;
  /** @internal server: early data bytes still allowed (max_early_data_size, RFC 8446 4.2.10). */
  earlyDataRemaining = 0;

  /** Application traffic secrets (current generation), for TCPLS and key logs. */
  clientApplicationTrafficSecret: Uint8Array | null = null;
  serverApplicationTrafficSecret: Uint8Array | null = null;
  /** @internal */ exporterMasterSecret: Uint8Array | null = null;
  /** @internal */ resumptionMasterSecret: Uint8Array | null = null;
  /** Transcript hash through the server Finished (for binding TCPLS joins), once known. */
  handshakeTranscriptHash: Uint8Array | null = null;
  /** Extension data the peer sent for registered custom extensions. */
  readonly peerCustomExtensions = new Map<number, Uint8Array>();

  private readonly records = new RecordReader();
  private readonly hsAssembly = new HandshakeAssembler();
  private receivedHandshakeMessages = 0;
  /** Set when the peer asked for a KeyUpdate; answered once per receive() call (RFC 8446 4.6.3). */
  private keyUpdateRequested = false;
  private pendingHandshake: Uint8Array[] = [];
  private readonly output: Uint8Array[] = [];
  private readonly events: TlsEvent[] = [];
  private pendingAppData: Uint8Array[] = [];
  private handshakeDone = false;
  private closed = false;
  private sentCloseNotify = false;
  private receivedCloseNotify = false;
  /** @internal */ now = 0;
  private readonly maxHandshake: number;
  private readonly keyUpdateAfter: number | undefined;

  constructor(
    readonly role: TlsRole,
    readonly config: CommonConfig,
  ) {
    this.provider = config.provider;
    this.transcript = new Transcript(config.provider);
    this.maxHandshake = config.maxHandshakeMessageSize ?? 65536;
    this.keyUpdateAfter = config.keyUpdateAfterRecords;
    this.info = {
      version: 'TLSv1.3',
      suite: '',
      group: null,
      peerSignatureScheme: null,
      signatureScheme: null,
      alpn: null,
      serverName: null,
      peerCertificates: [],
      peerVerified: false,
      resumed: false,
      earlyDataAccepted: false,
      helloRetry: false,
      peerRecordSizeLimit: null,
    };
  }

  // ---- public API -----------------------------------------------------------------------------

  get isHandshakeComplete(): boolean {
    return this.handshakeDone;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get handshakeInfo(): HandshakeInfo {
    return this.info;
  }
  get stateName(): string {
    return this.state.name;
  }
  get cipherSuite(): CipherSuite | null {
    return this.suite;
  }

  /** Feeds bytes received from the transport. Errors become an alert and an 'error' event. */
  receive(data: Uint8Array, now: number): void {
    this.now = now;
    if (this.closed || this.receivedCloseNotify) return;
    try {
      this.records.push(data);
      for (;;) {
        if (this.closed) break;
        const rec = this.records.next();
        if (!rec) break;
        this.processRecord(rec.header, rec.type, rec.fragment);
      }
      this.records.detach();
      this.flushHandshake();
      this.answerKeyUpdate();
      this.flushAppData();
    } catch (e) {
      this.fail(e);
    }
  }

  /** The bytes to send now, concatenated, or null when there is nothing. */
  pollOutput(): Uint8Array | null {
    if (this.output.length === 0) return null;
    const out = this.output.length === 1 ? this.output[0] : concatBytes(...this.output);
    this.output.length = 0;
    return out;
  }

  pollEvent(): TlsEvent | null {
    return this.events.shift() ?? null;
  }

  /** Queues application data; sent once the handshake has installed the application keys. */
  write(data: Uint8Array, now?: number): void {
    if (now !== undefined) this.now = now;
    if (this.closed || this.sentCloseNotify) throw new TlsError('closed', 'write after close');
    if (data.length === 0) return;
    if (this.handshakeDone && !this.closed && this.pendingAppData.length === 0) {
      // Keys are installed: seal straight from the caller's buffer, which is read before write()
      // returns, so no copy is needed (one record per maxPlaintext bytes, as before).
      try {
        this.writeRecords(ContentType.applicationData, data);
      } catch (e) {
        this.fail(e);
      }
      return;
    }
    // A real copy even when the caller passes a Buffer (whose slice() is a view).
    this.pendingAppData.push(new Uint8Array(data));
    try {
      this.flushAppData();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Sends close_notify (RFC 8446 6.1); reading continues until the peer's close_notify. */
  close(): void {
    if (this.closed || this.sentCloseNotify) return;
    try {
      this.flushAppData();
    } catch {
      /* closing anyway */
    }
    this.sentCloseNotify = true;
    this.sendAlert(AlertDescription.closeNotify);
    if (this.receivedCloseNotify) this.closed = true;
  }

  /** Sends a KeyUpdate (RFC 8446 4.6.3) and rotates our sending key; `requestPeer` asks the peer to update too. */
  keyUpdate(requestPeer = false): void {
    if (!this.handshakeDone || this.closed) throw new TlsError('api-misuse', 'KeyUpdate before the handshake is complete or after close');
    this.flushAppData();
    this.sendKeyUpdate(requestPeer);
  }

  /**
   * Aborts the connection with a fatal alert of the caller's choice (RFC 8446 6.2), e.g. when an
   * upper layer (TCPLS) finds a protocol error inside application data. The alert goes out under
   * the current write key (pollOutput), the connection closes, and an 'error' event reports a
   * TlsError with code 'aborted' and `alert` set. `alert` is an AlertDescription number or its
   * RFC name ('decode_error'). close_notify is not an abort: use close(). Does nothing once closed.
   */
  abort(alert: number | string = AlertDescription.internalError, reason = 'aborted by the application'): void {
    const code = typeof alert === 'string' ? alertFromName(alert) : alert;
    if (code === null || code === AlertDescription.closeNotify || !Object.values(AlertDescription).includes(code as AlertDescription)) {
      throw new TlsError('api-misuse', `abort: not a fatal alert: ${String(alert)}`);
    }
    if (code === AlertDescription.userCanceled) throw new TlsError('api-misuse', 'abort: user_canceled is not fatal; use close()');
    this.fail(new TlsError('aborted', reason, code));
  }

  /** RFC 8446 7.5 exporter: TLS-Exporter(label, context_value, key_length). */
  exportKeyingMaterial(label: string, context: Uint8Array, length: number): Uint8Array {
    if (!this.exporterMasterSecret || !this.schedule) throw new TlsError('api-misuse', 'exporter before the handshake is complete');
    return this.schedule.exporter(this.exporterMasterSecret, label, context, length);
  }

  /** The current running transcript hash (e.g. for binding TCPLS joins). */
  currentTranscriptHash(): Uint8Array {
    return this.transcript.hash();
  }

  /**
   * Record protection for a standalone record stream (TCPLS): a new RecordProtection for the
   * current application traffic secret of `direction`, independent of this connection's own.
   */
  createRecordProtection(direction: 'client' | 'server'): RecordProtection {
    const secret = direction === 'client' ? this.clientApplicationTrafficSecret : this.serverApplicationTrafficSecret;
    if (!secret || !this.suite) throw new TlsError('api-misuse', 'no application traffic secret yet');
    return RecordProtection.fromSecret(this.provider, this.suite, secret);
  }

  /** The connection's own record protection objects (sequence numbers and connection id are settable). */
  get recordProtection(): { read: RecordProtection | null; write: RecordProtection | null } {
    return { read: this.readProtection, write: this.writeProtection };
  }

  // ---- internals used by the states -----------------------------------------------------------

  /** @internal */
  emit(ev: TlsEvent): void {
    this.events.push(ev);
  }

  /** @internal SSLKEYLOGFILE line: LABEL <client_random hex> <secret hex>. */
  keylog(label: string, secret: Uint8Array): void {
    this.emit({ type: 'keylog', line: `${label} ${toHex(this.clientRandom)} ${toHex(secret)}\n` });
  }

  /** @internal encodes, adds to the transcript and queues a handshake message. */
  sendHandshake(m: HandshakeMessage): Uint8Array {
    const raw = encodeHandshake(m);
    this.transcript.add(raw);
    this.pendingHandshake.push(raw);
    return raw;
  }

  /** @internal queues already-encoded handshake bytes (not added to the transcript). */
  sendHandshakeRaw(raw: Uint8Array): void {
    this.pendingHandshake.push(raw);
  }

  /** @internal writes the queued handshake messages as records under the current write key. */
  flushHandshake(): void {
    if (this.pendingHandshake.length === 0) return;
    const all = concatBytes(...this.pendingHandshake);
    this.pendingHandshake = [];
    this.writeRecords(ContentType.handshake, all);
  }

  /** @internal a plaintext change_cipher_spec record (middlebox compatibility, RFC 8446 D.4). */
  sendChangeCipherSpec(): void {
    this.flushHandshake();
    this.output.push(RecordProtection.plaintext(ContentType.changeCipherSpec, new Uint8Array([1])));
  }

  /**
   * @internal installs a new write key (flushing what the old key must carry first). The sequence
   * number restarts at 0 (RFC 8446 5.3); the TCPLS connection id is kept, because a KeyUpdate
   * changes the key, not the connection the records belong to.
   */
  setWriteSecret(secret: Uint8Array): void {
    this.flushHandshake();
    const p = RecordProtection.fromSecret(this.provider, this.suite!, secret);
    p.maxPlaintext = Math.min(MAX_PLAINTEXT, this.peerMaxPlaintext);
    if (this.config.padding) p.padding = this.config.padding;
    if (this.writeProtection) p.connectionId = this.writeProtection.connectionId;
    this.writeProtection = p;
  }

  /** @internal installs a new read key; handshake messages must not span it (RFC 8446 5.1). Keeps the connection id, like setWriteSecret. */
  setReadSecret(secret: Uint8Array): void {
    const p = RecordProtection.fromSecret(this.provider, this.suite!, secret);
    if (this.readProtection) p.connectionId = this.readProtection.connectionId;
    this.readProtection = p;
    this.readKeyChanged = true;
  }

  /** @internal called by the final states. */
  completeHandshake(): void {
    this.handshakeDone = true;
    this.acceptCcs = false;
    this.transcript.compact();
    this.emit({ type: 'handshake-done', info: this.info });
  }

  /** @internal */
  sendKeyUpdate(requestPeer: boolean): void {
    this.sendHandshakeNoTranscript({ type: HandshakeType.keyUpdate, body: { requestUpdate: requestPeer } });
    this.flushHandshake();
    const isClient = this.role === 'client';
    const cur = isClient ? this.clientApplicationTrafficSecret! : this.serverApplicationTrafficSecret!;
    const next = this.schedule!.nextTrafficSecret(cur);
    if (isClient) this.clientApplicationTrafficSecret = next;
    else this.serverApplicationTrafficSecret = next;
    this.setWriteSecret(next);
    this.emit({ type: 'key-update', direction: 'write' });
  }

  /** @internal the peer's KeyUpdate (RFC 8446 4.6.3): rotate the read key, answer when asked. */
  handleKeyUpdate(requestUpdate: boolean): void {
    const isClient = this.role === 'client';
    const cur = isClient ? this.serverApplicationTrafficSecret! : this.clientApplicationTrafficSecret!;
    const next = this.schedule!.nextTrafficSecret(cur);
    if (isClient) this.serverApplicationTrafficSecret = next;
    else this.clientApplicationTrafficSecret = next;
    this.setReadSecret(next);
    this.emit({ type: 'key-update', direction: 'read' });
    // 4.6.3: answer with one KeyUpdate of our own before our next application data; several
    // requests in one batch of input get one answer, so a flood of them cannot amplify output.
    if (requestUpdate) this.keyUpdateRequested = true;
  }

  private answerKeyUpdate(): void {
    if (!this.keyUpdateRequested || this.closed) return;
    this.keyUpdateRequested = false;
    if (!this.sentCloseNotify) this.sendKeyUpdate(false);
  }

  /** @internal post-handshake messages (KeyUpdate, NewSessionTicket) are not in the transcript. */
  sendHandshakeNoTranscript(m: HandshakeMessage): void {
    this.pendingHandshake.push(encodeHandshake(m));
  }

  /** @internal */
  fail(e: unknown): void {
    if (this.closed) return;
    const err = e instanceof Error ? e : new Error(String(e));
    let alert: number | null = tlsErrorToAlert(err);
    if (alert !== null) {
      try {
        this.pendingHandshake = [];
        this.sendAlert(alert);
      } catch {
        alert = null;
      }
    }
    this.closed = true;
    this.state = closedState;
    this.emit({ type: 'error', error: err, alertSent: alert });
  }

  private sendAlert(description: number): void {
    // Alerts are fatal except close_notify and user_canceled, which are sent at "warning" level
    // by convention (RFC 8446 6: the level is ignored in TLS 1.3).
    const level = description === AlertDescription.closeNotify || description === AlertDescription.userCanceled ? 1 : 2;
    this.writeRecords(ContentType.alert, new Uint8Array([level, description]));
  }

  /**
   * Splits `data` into records of at most maxPlaintext bytes (one empty record for empty data) and
   * queues them. Protected records are sealed into one buffer per batch, so a large write costs one
   * allocation and reaches the transport as one chunk (no concatenation in pollOutput).
   */
  private writeRecords(type: number, data: Uint8Array): void {
    if (!this.writeProtection) {
      const max = Math.min(MAX_PLAINTEXT, this.peerMaxPlaintext);
      let off = 0;
      do {
        const chunk = data.subarray(off, Math.min(data.length, off + max));
        this.output.push(RecordProtection.plaintext(type, chunk, this.plaintextRecordVersion));
        off += chunk.length;
      } while (off < data.length);
      return;
    }
    let off = 0;
    do {
      // May rotate the write key (RFC 8446 5.5); the KeyUpdate record is queued before the batch.
      this.maybeAutoKeyUpdate(type);
      const p = this.writeProtection;
      const max = p.maxPlaintext;
      const left = data.length - off;
      const count = Math.min(Math.max(1, Math.ceil(left / max)), this.recordsBeforeKeyUpdate(type));
      // The padding policy is asked once per record, before sealing, to size the batch buffer.
      const pads = new Array<number>(count);
      let total = 0;
      for (let i = 0, o = off; i < count; i++) {
        const n = Math.min(max, data.length - o);
        pads[i] = p.paddingFor(type, n);
        total += RecordProtection.sealedLength(n, pads[i]);
        o += n;
      }
      // Uninitialised memory is fine here: sealInto writes every byte of each record (it checks
      // the AEAD's output length), and the records exactly tile the buffer. allocUnsafeSlow, not
      // allocUnsafe: an ArrayBuffer of its own (offset 0), never a slice of Node's shared pool.
      const raw = Buffer.allocUnsafeSlow(total);
      const out = new Uint8Array(raw.buffer, raw.byteOffset, total);
      let w = 0;
      for (let i = 0; i < count; i++) {
        const n = Math.min(max, data.length - off);
        w += p.sealInto(type, data.subarray(off, off + n), out, w, pads[i]);
        off += n;
      }
      if (w !== total) throw new TlsError('internal-error', `sealed ${w} of ${total} bytes`);
      this.output.push(out);
    } while (off < data.length);
  }

  /** Records that may still be sealed before the automatic KeyUpdate (at least 1; Infinity when none applies). */
  private recordsBeforeKeyUpdate(type: number): number {
    if (!this.handshakeDone || type !== ContentType.applicationData || !this.suite) return Infinity;
    const limit = BigInt(this.keyUpdateAfter ?? this.suite.recordLimit);
    const left = limit - this.writeProtection!.sequenceNumber;
    return left <= 1n ? 1 : left > 1_000_000n ? Infinity : Number(left);
  }

  /** Updates the sending key before the AEAD usage limit is reached (RFC 8446 5.5). */
  private maybeAutoKeyUpdate(type: number): void {
    if (!this.handshakeDone || type !== ContentType.applicationData || !this.suite) return;
    const limit = this.keyUpdateAfter ?? this.suite.recordLimit;
    if (this.writeProtection!.sequenceNumber >= BigInt(limit)) this.sendKeyUpdate(false);
  }

  private flushAppData(): void {
    if (!this.handshakeDone || this.closed || this.pendingAppData.length === 0) return;
    const all = this.pendingAppData.length === 1 ? this.pendingAppData[0] : concatBytes(...this.pendingAppData);
    this.pendingAppData = [];
    this.writeRecords(ContentType.applicationData, all);
  }

  /** @internal early data (client 0-RTT) written under the current (early) write key. */
  writeEarlyData(data: Uint8Array): void {
    const max = this.writeProtection!.maxPlaintext;
    for (let off = 0; off < data.length; off += max) {
      this.output.push(this.writeProtection!.seal(ContentType.applicationData, data.subarray(off, off + max)));
    }
  }

  private processRecord(header: Uint8Array, type: number, fragment: Uint8Array): void {
    if (type === ContentType.changeCipherSpec) {
      // RFC 8446 5: an unprotected CCS with the single byte 0x01 is dropped during the handshake;
      // anything else is unexpected_message.
      if (!this.acceptCcs || fragment.length !== 1 || fragment[0] !== 1) throw new TlsError('unexpected-message', 'change_cipher_spec');
      // D.4 / 5: dropped only "after the first ClientHello has been sent or received".
      if (this.role === 'server' && this.receivedHandshakeMessages === 0) throw new TlsError('unexpected-message', 'change_cipher_spec before ClientHello');
      return;
    }
    let innerType = type;
    let content = fragment;
    if (this.readProtection) {
      if (type !== ContentType.applicationData) {
        // 5.2: after keys, every record is application_data on the outside. Plaintext alerts from
        // a peer that failed before reading our flight are still worth reporting.
        if (type === ContentType.alert && fragment.length === 2) {
          this.handleAlert(fragment);
          return;
        }
        throw new TlsError('unexpected-message', `unprotected record of type ${type} after keys`);
      }
      try {
        const r = this.readProtection.open(header, fragment);
        innerType = r.type;
        content = r.content;
      } catch (e) {
        // RFC 8446 4.2.10: a server that rejected 0-RTT skips records it cannot decrypt, up to max_early_data_size.
        if (this.skipUndecryptableBytes > 0 && e instanceof TlsError && e.code === 'bad-record-mac') {
          if (fragment.length > this.skipUndecryptableBytes) throw e;
          this.skipUndecryptableBytes -= fragment.length;
          return;
        }
        throw e;
      }
      this.skipUndecryptableBytes = 0;
      // RFC 8449 4: a protected record over our advertised limit is record_overflow.
      if (fragment.length - 16 > this.ownMaxPlaintext + 1) throw new TlsError('record-overflow', `record of ${fragment.length - 16} bytes over our record_size_limit`);
    } else {
      if (type === ContentType.applicationData && this.skipUndecryptableBytes >= fragment.length) {
        // Rejected 0-RTT arriving before we have any read key (after a HelloRetryRequest).
        this.skipUndecryptableBytes -= fragment.length;
        return;
      }
      if (fragment.length > MAX_PLAINTEXT) throw new TlsError('record-overflow', 'plaintext record > 2^14');
      if (type === ContentType.applicationData) throw new TlsError('unexpected-message', 'application data before keys');
    }
    // RFC 8446 5.1: a handshake message split over records must not be interleaved with other types.
    if (innerType !== ContentType.handshake && this.hsAssembly.length > 0) throw new TlsError('unexpected-message', 'record interleaved with a fragmented handshake message');
    switch (innerType) {
      case ContentType.handshake:
        if (content.length === 0) throw new TlsError('unexpected-message', 'empty handshake record');
        this.handleHandshakeBytes(content);
        return;
      case ContentType.alert:
        this.handleAlert(content);
        return;
      case ContentType.applicationData:
        if (this.readingEarlyData) {
          // 4.2.10: more than max_early_data_size is unexpected_message.
          this.earlyDataRemaining -= content.length;
          if (this.earlyDataRemaining < 0) throw new TlsError('unexpected-message', 'early data over max_early_data_size');
          // Decrypted content is fresh memory (RecordProtection.open), not the caller's buffer.
          this.emit({ type: 'early-data', data: content });
          return;
        }
        if (!this.handshakeDone) throw new TlsError('unexpected-message', 'application data before the handshake is complete');
        if (content.length) this.emit({ type: 'data', data: content });
        return;
      default:
        throw new TlsError('unexpected-message', `inner content type ${innerType}`);
    }
  }

  private handleAlert(content: Uint8Array): void {
    if (content.length !== 2) throw new TlsError('decode-error', 'alert record not 2 bytes');
    const description = content[1];
    if (description === AlertDescription.closeNotify) {
      this.receivedCloseNotify = true;
      this.emit({ type: 'close-notify' });
      if (this.sentCloseNotify) this.closed = true;
      return;
    }
    if (description === AlertDescription.userCanceled) return; // followed by close_notify (6.1)
    // RFC 8446 6.2: every other alert is fatal whatever its level.
    this.closed = true;
    this.state = closedState;
    this.emit({ type: 'error', error: new TlsError('alert-received', `peer sent alert ${alertName(description)}`, description), alertSent: null });
  }

  private handleHandshakeBytes(content: Uint8Array): void {
    // Appending into one growing buffer keeps reassembly linear: a 64 KB message sent in 1-byte
    // records costs 64 KB of copying, not 2 GB (as re-concatenating the whole prefix would).
    this.hsAssembly.append(content, this.maxHandshake);
    for (;;) {
      if (this.closed) return;
      const raw = this.hsAssembly.nextMessage(this.maxHandshake);
      if (!raw) break;
      const msg = decodeHandshakeBody(raw[0], raw.subarray(4)) as RawHandshake;
      msg.raw = raw;
      this.receivedHandshakeMessages++;
      this.readKeyChanged = false;
      this.state = this.state.handle(this, msg);
      // RFC 8446 5.1: handshake messages must not span a key change.
      if (this.readKeyChanged && this.hsAssembly.length > 0) throw new TlsError('unexpected-message', 'handshake data after a key change in the same record');
    }
  }
}

/**
 * Reassembles handshake messages from record payloads (RFC 8446 5.1). Holds at most one partial
 * message: the 4-byte header is checked against the bound before the body is buffered, so the
 * buffer never exceeds the bound plus one record.
 */
class HandshakeAssembler {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(data: Uint8Array, maxMessage: number): void {
    if (this.start === this.end) this.start = this.end = 0;
    const need = this.end - this.start + data.length;
    if (this.end + data.length > this.buf.length) {
      if (need > this.buf.length) {
        // Grow geometrically, but never past what one bounded message plus one record needs.
        const cap = Math.min(Math.max(need, this.buf.length * 2, 1024), maxMessage + 4 + MAX_CIPHERTEXT);
        const next = new Uint8Array(Math.max(cap, need));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      } else {
        this.buf.copyWithin(0, this.start, this.end);
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(data, this.end);
    this.end += data.length;
  }

  /** The next complete message (a copy, header included), or null; throws when one is over the bound. */
  nextMessage(maxMessage: number): Uint8Array | null {
    if (this.end - this.start < 4) return null;
    const b = this.buf;
    const o = this.start;
    const len = b[o + 1] * 65536 + b[o + 2] * 256 + b[o + 3];
    // Bounded handshake messages: refused from the header, before the body is buffered. The bound
    // is local policy (RFC 8446 sets none beyond 2^24-1); a peer exceeding it gets decode_error.
    if (len > maxMessage) throw new TlsError('decode-error', `handshake message of ${len} bytes > ${maxMessage}`);
    if (this.end - o < 4 + len) return null;
    this.start = o + 4 + len;
    return b.slice(o, o + 4 + len);
  }
}
