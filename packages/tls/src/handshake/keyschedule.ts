/**
 * The TLS 1.3 key schedule (RFC 8446 7.1) and transcript hash (4.4.1), over a CryptoProvider.
 * Secrets are named as in the RFC, in camelCase.
 */
import type { CryptoProvider, HashAlgorithm, HashContext } from '../crypto/provider.js';
import { deriveSecret, hkdfExpandLabel, hkdfExtract } from '../crypto/hkdf.js';
import { HandshakeType } from '../wire/constants.js';

const EMPTY = new Uint8Array(0);

/**
 * The running transcript. Before the hash algorithm is known (the client before ServerHello) the
 * messages are kept and hashed once `setHash` is called.
 */
export class Transcript {
  private ctx: HashContext | null = null;
  private pending: Uint8Array[] = [];
  private alg: HashAlgorithm | null = null;
  constructor(private readonly provider: CryptoProvider) {}

  get hashAlgorithm(): HashAlgorithm | null {
    return this.alg;
  }

  setHash(alg: HashAlgorithm): void {
    if (this.alg === alg) return;
    this.alg = alg;
    this.ctx = this.provider.createHash(alg);
    for (const m of this.pending) this.ctx.update(m);
  }

  add(raw: Uint8Array): void {
    this.pending.push(raw);
    this.ctx?.update(raw);
  }

  /** Transcript-Hash of everything so far. */
  hash(): Uint8Array {
    if (!this.ctx) throw new Error('transcript hash algorithm not set');
    return this.ctx.digest();
  }

  /** Hash of the messages so far plus `extra` (for PSK binders over a partial ClientHello). */
  hashWith(alg: HashAlgorithm, extra: Uint8Array): Uint8Array {
    const h = this.provider.createHash(alg);
    for (const m of this.pending) h.update(m);
    h.update(extra);
    return h.digest();
  }

  /**
   * RFC 8446 4.4.1: after a HelloRetryRequest, ClientHello1 is replaced by
   * message_hash(254) || 00 00 Hash.length || Hash(ClientHello1).
   */
  replaceWithMessageHash(alg: HashAlgorithm): void {
    this.setHash(alg);
    const h = this.ctx!.digest();
    const mh = new Uint8Array(4 + h.length);
    mh[0] = HandshakeType.messageHash;
    mh[3] = h.length;
    mh.set(h, 4);
    this.pending = [mh];
    this.ctx = this.provider.createHash(alg);
    this.ctx.update(mh);
  }

  /** Drops the kept messages once they are no longer needed (after the handshake). */
  compact(): void {
    this.pending = [];
  }
}

export class KeySchedule {
  readonly hashLength: number;
  earlySecret: Uint8Array;
  handshakeSecret: Uint8Array | null = null;
  masterSecret: Uint8Array | null = null;

  constructor(
    readonly provider: CryptoProvider,
    readonly hash: HashAlgorithm,
    psk?: Uint8Array,
  ) {
    this.hashLength = provider.hashLength(hash);
    this.earlySecret = hkdfExtract(provider, hash, new Uint8Array(this.hashLength), psk ?? new Uint8Array(this.hashLength));
  }

  deriveSecret(secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
    return deriveSecret(this.provider, this.hash, secret, label, transcriptHash);
  }
  expandLabel(secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
    return hkdfExpandLabel(this.provider, this.hash, secret, label, context, length);
  }
  private emptyHashValue: Uint8Array | null = null;
  /** Transcript-Hash("") (7.1 "derived" and exporters), computed once per schedule. */
  private emptyHash(): Uint8Array {
    this.emptyHashValue ??= this.provider.hash(this.hash, EMPTY);
    return this.emptyHashValue;
  }

  binderKey(resumption: boolean): Uint8Array {
    return this.deriveSecret(this.earlySecret, resumption ? 'res binder' : 'ext binder', this.emptyHash());
  }
  clientEarlyTrafficSecret(chHash: Uint8Array): Uint8Array {
    return this.deriveSecret(this.earlySecret, 'c e traffic', chHash);
  }

  /** RFC 8446 7.1: early_exporter_master_secret = Derive-Secret(Early, "e exp master", ClientHello). */
  earlyExporterMasterSecret(chHash: Uint8Array): Uint8Array {
    return this.deriveSecret(this.earlySecret, 'e exp master', chHash);
  }

  /** Handshake Secret = HKDF-Extract(Derive-Secret(Early, "derived", ""), (EC)DHE). */
  inputDhe(dhe: Uint8Array): void {
    const derived = this.deriveSecret(this.earlySecret, 'derived', this.emptyHash());
    this.handshakeSecret = hkdfExtract(this.provider, this.hash, derived, dhe);
  }
  clientHandshakeTrafficSecret(h: Uint8Array): Uint8Array {
    return this.deriveSecret(this.handshakeSecret!, 'c hs traffic', h);
  }
  serverHandshakeTrafficSecret(h: Uint8Array): Uint8Array {
    return this.deriveSecret(this.handshakeSecret!, 's hs traffic', h);
  }

  /** Master Secret = HKDF-Extract(Derive-Secret(Handshake, "derived", ""), 0). */
  deriveMaster(): void {
    const derived = this.deriveSecret(this.handshakeSecret!, 'derived', this.emptyHash());
    this.masterSecret = hkdfExtract(this.provider, this.hash, derived, new Uint8Array(this.hashLength));
  }
  clientApplicationTrafficSecret0(h: Uint8Array): Uint8Array {
    return this.deriveSecret(this.masterSecret!, 'c ap traffic', h);
  }
  serverApplicationTrafficSecret0(h: Uint8Array): Uint8Array {
    return this.deriveSecret(this.masterSecret!, 's ap traffic', h);
  }
  exporterMasterSecret(h: Uint8Array): Uint8Array {
    return this.deriveSecret(this.masterSecret!, 'exp master', h);
  }
  resumptionMasterSecret(h: Uint8Array): Uint8Array {
    return this.deriveSecret(this.masterSecret!, 'res master', h);
  }

  /** RFC 8446 4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length). */
  finishedVerifyData(baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
    const finishedKey = this.expandLabel(baseKey, 'finished', EMPTY, this.hashLength);
    return this.provider.hmac(this.hash, finishedKey, transcriptHash);
  }

  /** RFC 8446 7.2: application_traffic_secret_N+1. */
  nextTrafficSecret(secret: Uint8Array): Uint8Array {
    return this.expandLabel(secret, 'traffic upd', EMPTY, this.hashLength);
  }

  /** RFC 8446 4.6.1: PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length). */
  resumptionPsk(resumptionMaster: Uint8Array, nonce: Uint8Array): Uint8Array {
    return this.expandLabel(resumptionMaster, 'resumption', nonce, this.hashLength);
  }

  /** RFC 8446 7.5: TLS-Exporter(label, context_value, key_length). */
  exporter(exporterSecret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
    const s = this.deriveSecret(exporterSecret, label, this.emptyHash());
    return this.expandLabel(s, 'exporter', this.provider.hash(this.hash, context), length);
  }
}
