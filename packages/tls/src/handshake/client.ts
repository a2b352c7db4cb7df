/**
 * The TLS 1.3 client (RFC 8446 2, 4): one class per handshake state.
 *   ExpectServerHello → ExpectEncryptedExtensions → ExpectCertificateOrRequest →
 *   ExpectCertificate → ExpectCertificateVerify → ExpectFinished → ClientTraffic
 * (with PSK: ExpectEncryptedExtensions → ExpectFinished).
 */
import type { KeyShare, NamedGroup, PublicKey, SignatureScheme } from '../crypto/provider.js';
import { TlsError } from '../errors.js';
import { bytesEqual, Writer } from '../wire/codec.js';
import {
  CipherSuites,
  ExtensionType,
  GroupIds,
  HandshakeType,
  HRR_RANDOM,
  SignatureSchemeIds,
  TLS13,
  groupById,
  suiteById,
  type CipherSuite,
  PskKeyExchangeMode,
} from '../wire/constants.js';
import { ext, findExtension, type ClientHello, type TlsExtension, type RawHandshake } from '../wire/handshake.js';
import { chooseScheme, signCertificateVerify, verifyCertificateVerify } from './auth.js';
import { DEFAULT_CERT_SIGNATURE_SCHEMES, DEFAULT_SIGNATURE_SCHEMES, type ClientConfig, type SessionTicket } from './config.js';
import { FinishedVerified, SignatureVerified, TlsConnection, unexpectedMessage, type HandshakeState } from './connection.js';
import { KeySchedule } from './keyschedule.js';
import { defaultLeafKey } from './certs.js';

const PSK_DHE_KE = PskKeyExchangeMode.pskDheKe;

/** Shared facts of one client handshake. */
interface ClientHs {
  suites: CipherSuite[];
  groups: NamedGroup[];
  schemes: SignatureScheme[];
  keyShares: KeyShare[];
  sessionId: Uint8Array;
  helloRetried: boolean;
  cookie?: Uint8Array;
  hrrSuite?: CipherSuite;
  session?: SessionTicket;
  earlyDataOffered: boolean;
  pskAccepted: boolean;
  certRequest?: { context: Uint8Array; schemes: number[] };
  serverHsSecret?: Uint8Array;
  clientHsSecret?: Uint8Array;
  sentCcs: boolean;
}

export class TlsClient extends TlsConnection {
  declare readonly config: ClientConfig;
  /** @internal */ hs: ClientHs;

  constructor(config: ClientConfig) {
    super('client', config);
    const suites = (config.cipherSuites ?? (Object.keys(CipherSuites) as (keyof typeof CipherSuites)[])).map((n) => CipherSuites[n]);
    if (suites.length === 0) throw new TlsError('api-misuse', 'no cipher suites');
    this.hs = {
      suites,
      groups: config.groups ?? ['x25519', 'secp256r1'],
      schemes: config.signatureSchemes ?? DEFAULT_SIGNATURE_SCHEMES,
      keyShares: [],
      sessionId: new Uint8Array(0),
      helloRetried: false,
      session: config.session,
      earlyDataOffered: false,
      pskAccepted: false,
      sentCcs: false,
    };
    this.info.serverName = config.serverName ?? null;
  }

  /** Sends the ClientHello. Call once, then poll output. */
  start(now: number): void {
    this.now = now;
    try {
      const hs = this.hs;
      this.clientRandom = this.config.random(32);
      if (this.config.middleboxCompat !== false) hs.sessionId = this.config.random(32);
      const shareGroups = this.config.keyShareGroups ?? [hs.groups[0]];
      hs.keyShares = shareGroups.map((g) => this.provider.generateKeyShare(g, this.config.random));
      // RFC 8446 5.1: the initial ClientHello's record may say 0x0301, for old middleboxes.
      this.plaintextRecordVersion = 0x0301;
      this.sendClientHello();
      this.flushHandshake();
      this.plaintextRecordVersion = 0x0303;
      this.state = new ExpectServerHello();
    } catch (e) {
      this.fail(e);
    }
  }

  /** @internal builds and sends a ClientHello (first, or second after HelloRetryRequest). */
  sendClientHello(): void {
    const hs = this.hs;
    const cfg = this.config;
    let exts: TlsExtension[] = [];
    if (cfg.serverName && !/^[\d.]+$/.test(cfg.serverName) && !cfg.serverName.includes(':')) {
      // RFC 6066 3: literal IP addresses are not sent as SNI.
      exts.push({ type: ExtensionType.serverName, data: ext.encodeServerName(cfg.serverName) });
    }
    exts.push({ type: ExtensionType.supportedVersions, data: ext.encodeVersionsCH([TLS13]) });
    exts.push({ type: ExtensionType.supportedGroups, data: ext.encodeU16List(hs.groups.map((g) => GroupIds[g])) });
    exts.push({ type: ExtensionType.signatureAlgorithms, data: ext.encodeU16List(hs.schemes.map((s) => SignatureSchemeIds[s])) });
    exts.push({ type: ExtensionType.signatureAlgorithmsCert, data: ext.encodeU16List(DEFAULT_CERT_SIGNATURE_SCHEMES.map((s) => SignatureSchemeIds[s])) });
    exts.push({ type: ExtensionType.keyShare, data: ext.encodeKeyShareCH(hs.keyShares.map((k) => ({ group: GroupIds[k.group], keyExchange: k.publicKey }))) });
    if (cfg.alpn?.length) exts.push({ type: ExtensionType.applicationLayerProtocolNegotiation, data: ext.encodeAlpn(cfg.alpn) });
    if (cfg.recordSizeLimit) exts.push({ type: ExtensionType.recordSizeLimit, data: ext.encodeRecordSizeLimit(cfg.recordSizeLimit) });
    if (hs.cookie) exts.push({ type: ExtensionType.cookie, data: ext.encodeCookie(hs.cookie) });
    for (const ce of cfg.customExtensions ?? []) {
      const d = ce.clientHello?.();
      if (d) exts.push({ type: ce.type, data: d });
    }
    // RFC 8446 4.6.1: resume only within the ticket lifetime, and only with the SNI the ticket was
    // obtained for (a ticket from another name is left out: full handshake).
    const sameName = (t: SessionTicket): boolean => t.serverName === undefined || t.serverName === cfg.serverName;
    const session = hs.session && suiteByNameOk(hs.session.suite) && this.now - hs.session.receivedAt < hs.session.lifetime * 1000 && sameName(hs.session) ? hs.session : undefined;
    if (!session) hs.session = undefined;
    if (session) {
      exts.push({ type: ExtensionType.pskKeyExchangeModes, data: ext.encodePskModes([PSK_DHE_KE]) });
      // 4.2.10: early data only in the first ClientHello.
      // Only when all of it fits max_early_data_size; otherwise it goes after the handshake.
      if (!hs.helloRetried && cfg.earlyData && cfg.earlyData.length > 0 && cfg.earlyData.length <= session.maxEarlyData) {
        exts.push({ type: ExtensionType.earlyData, data: new Uint8Array(0) });
        hs.earlyDataOffered = true;
      }
    }
    if (cfg.editClientHelloExtensions) exts = cfg.editClientHelloExtensions(exts);
    let cipherSuites = hs.suites.map((s) => s.id);
    if (hs.hrrSuite) cipherSuites = [hs.hrrSuite.id];
    const ch: ClientHello = { random: this.clientRandom, legacySessionId: hs.sessionId, cipherSuites, extensions: exts };
    if (!session) {
      this.sendHandshake({ type: HandshakeType.clientHello, body: ch });
      return;
    }
    // pre_shared_key goes last (4.2.11); binders are computed over the truncated ClientHello.
    const suite = CipherSuites[session.suite];
    const hashLen = this.provider.hashLength(suite.hash);
    const ageMs = Math.max(0, this.now - session.receivedAt);
    const obfuscatedAge = (Math.floor(ageMs) + session.ageAdd) >>> 0;
    const pskExt = new Writer()
      .block(2, (w) => w.vec(2, session.ticket).u32(obfuscatedAge))
      .block(2, (w) => w.vec(1, new Uint8Array(hashLen)))
      .finish();
    exts.push({ type: ExtensionType.preSharedKey, data: pskExt });
    const raw = encodeCh(ch);
    const bindersLen = 2 + 1 + hashLen;
    const truncated = raw.subarray(0, raw.length - bindersLen);
    const ks = new KeySchedule(this.provider, suite.hash, session.psk);
    const binder = ks.finishedVerifyData(ks.binderKey(true), this.transcript.hashWith(suite.hash, truncated));
    raw.set(binder, raw.length - hashLen);
    this.transcript.add(raw);
    this.sendHandshakeRaw(raw);
    if (hs.earlyDataOffered) {
      // 0-RTT: client_early_traffic_secret over ClientHello (7.1), data right after the ClientHello.
      this.suite = suite;
      const earlySecret = ks.clientEarlyTrafficSecret(this.transcript.hashWith(suite.hash, new Uint8Array(0)));
      this.keylog('CLIENT_EARLY_TRAFFIC_SECRET', earlySecret);
      if (cfg.middleboxCompat !== false) {
        this.sendChangeCipherSpec();
        hs.sentCcs = true;
      }
      this.setWriteSecret(earlySecret);
      this.writeEarlyData(cfg.earlyData!);
    }
  }
}

function suiteByNameOk(name: string): boolean {
  return name in CipherSuites;
}

function encodeCh(ch: ClientHello): Uint8Array {
  // Same encoding as encodeHandshake, kept here to patch binders in place.
  const w = new Writer(512);
  w.u8(HandshakeType.clientHello);
  w.block(3, (b) => {
    b.u16(0x0303).bytes(ch.random).vec(1, ch.legacySessionId);
    b.block(2, (x) => ch.cipherSuites.forEach((s) => x.u16(s)));
    b.u8(1).u8(0);
    b.block(2, (x) => ch.extensions.forEach((e) => x.u16(e.type).vec(2, e.data)));
  });
  return w.finish();
}

class ExpectServerHello implements HandshakeState {
  readonly name = 'ExpectServerHello';
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    if (m.type !== HandshakeType.serverHello) unexpectedMessage(this.name, m);
    const hs = c.hs;
    const sh = m.body;
    const sv = findExtension(sh.extensions, ExtensionType.supportedVersions);
    // 4.1.3 / 4.2.1: a TLS 1.3 ServerHello carries supported_versions = 0x0304.
    if (!sv) throw new TlsError('protocol-version', 'server does not negotiate TLS 1.3');
    if (ext.decodeVersionSH(sv) !== TLS13) throw new TlsError('illegal-parameter', 'server selected a version we did not offer');
    if (!bytesEqual(sh.legacySessionIdEcho, hs.sessionId)) throw new TlsError('illegal-parameter', 'legacy_session_id_echo mismatch');
    const suite = suiteById(sh.cipherSuite);
    if (!suite || !hs.suites.includes(suite)) throw new TlsError('illegal-parameter', 'server selected an unoffered cipher suite');
    const isHrr = bytesEqual(sh.random, HRR_RANDOM);
    if (isHrr) return this.helloRetry(c, m, suite);
    if (hs.hrrSuite && hs.hrrSuite !== suite) throw new TlsError('illegal-parameter', 'ServerHello suite differs from HelloRetryRequest');
    for (const e of sh.extensions) {
      if (e.type !== ExtensionType.keyShare && e.type !== ExtensionType.supportedVersions && e.type !== ExtensionType.preSharedKey) {
        throw new TlsError('unsupported-extension', `ServerHello extension ${e.type}`);
      }
    }
    // PSK selection (4.2.11).
    const pskSel = findExtension(sh.extensions, ExtensionType.preSharedKey);
    let psk: Uint8Array | undefined;
    if (pskSel) {
      if (!hs.session) throw new TlsError('unsupported-extension', 'pre_shared_key without an offer');
      if (ext.decodePskSH(pskSel) !== 0) throw new TlsError('illegal-parameter', 'selected_identity out of range');
      if (CipherSuites[hs.session.suite].hash !== suite.hash) throw new TlsError('illegal-parameter', 'PSK hash differs from the suite');
      psk = hs.session.psk;
      hs.pskAccepted = true;
      c.info.resumed = true;
    }
    const ksData = findExtension(sh.extensions, ExtensionType.keyShare);
    // We only offer psk_dhe_ke, so a key share is always required.
    if (!ksData) throw new TlsError('missing-extension', 'ServerHello without key_share');
    const ks = ext.decodeKeyShareSH(ksData);
    const group = groupById(ks.group);
    const mine = hs.keyShares.find((k) => group !== undefined && k.group === group);
    if (!mine) throw new TlsError('illegal-parameter', 'server key share for a group we did not share');
    const dhe = mine.computeSecret(ks.keyExchange);
    c.suite = suite;
    c.info.suite = suite.name;
    c.info.group = mine.group;
    c.transcript.setHash(suite.hash);
    c.transcript.add(m.raw);
    const sched = new KeySchedule(c.provider, suite.hash, psk);
    c.schedule = sched;
    sched.inputDhe(dhe);
    const h = c.transcript.hash();
    hs.clientHsSecret = sched.clientHandshakeTrafficSecret(h);
    hs.serverHsSecret = sched.serverHandshakeTrafficSecret(h);
    c.keylog('CLIENT_HANDSHAKE_TRAFFIC_SECRET', hs.clientHsSecret);
    c.keylog('SERVER_HANDSHAKE_TRAFFIC_SECRET', hs.serverHsSecret);
    c.setReadSecret(hs.serverHsSecret);
    return new ExpectEncryptedExtensions();
  }

  private helloRetry(c: TlsClient, m: RawHandshake & { type: 2 }, suite: CipherSuite): HandshakeState {
    const hs = c.hs;
    // 4.1.4: at most one HelloRetryRequest.
    if (hs.helloRetried) throw new TlsError('unexpected-message', 'second HelloRetryRequest');
    let changed = false;
    let newGroup: NamedGroup | undefined;
    for (const e of m.body.extensions) {
      switch (e.type) {
        case ExtensionType.supportedVersions:
          break;
        case ExtensionType.keyShare: {
          const g = groupById(ext.decodeKeyShareHRR(e.data));
          // 4.2.8: the group must be one we support and not one we already sent a share for.
          if (!g || !hs.groups.includes(g) || hs.keyShares.some((k) => k.group === g)) throw new TlsError('illegal-parameter', 'HelloRetryRequest names a bad group');
          newGroup = g;
          changed = true;
          break;
        }
        case ExtensionType.cookie:
          hs.cookie = ext.decodeCookie(e.data).slice();
          changed = true;
          break;
        default:
          throw new TlsError('unsupported-extension', `HelloRetryRequest extension ${e.type}`);
      }
    }
    // 4.1.4: an HRR that would not change the ClientHello is illegal_parameter.
    if (!changed) throw new TlsError('illegal-parameter', 'HelloRetryRequest changes nothing');
    hs.helloRetried = true;
    hs.hrrSuite = suite;
    c.info.helloRetry = true;
    if (hs.session && CipherSuites[hs.session.suite].hash !== suite.hash) hs.session = undefined;
    hs.earlyDataOffered = false;
    c.transcript.replaceWithMessageHash(suite.hash);
    c.transcript.add(m.raw);
    if (newGroup) hs.keyShares = [c.provider.generateKeyShare(newGroup, c.config.random)];
    if (c.config.middleboxCompat !== false && !hs.sentCcs) {
      c.sendChangeCipherSpec();
      hs.sentCcs = true;
    }
    // If 0-RTT was being written, the second ClientHello goes in plaintext again.
    c.writeProtection = null;
    c.suite = null;
    c.sendClientHello();
    return new ExpectServerHello();
  }
}

class ExpectEncryptedExtensions implements HandshakeState {
  readonly name = 'ExpectEncryptedExtensions';
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    if (m.type !== HandshakeType.encryptedExtensions) unexpectedMessage(this.name, m);
    const hs = c.hs;
    const custom = new Map((c.config.customExtensions ?? []).map((e) => [e.type, e]));
    for (const e of m.body) {
      switch (e.type) {
        case ExtensionType.serverName:
          ext.empty(e.data);
          if (!c.config.serverName) throw new TlsError('unsupported-extension', 'server_name ack without SNI');
          break;
        case ExtensionType.supportedGroups:
          ext.decodeU16List(e.data); // 4.2.7: informational only
          break;
        case ExtensionType.applicationLayerProtocolNegotiation: {
          const p = ext.decodeAlpn(e.data);
          // RFC 7301 3.1: exactly one protocol, one we offered.
          if (p.length !== 1 || !c.config.alpn?.includes(p[0])) throw new TlsError('illegal-parameter', 'server chose an unoffered ALPN protocol');
          c.info.alpn = p[0];
          break;
        }
        case ExtensionType.recordSizeLimit: {
          const limit = ext.decodeRecordSizeLimit(e.data);
          c.info.peerRecordSizeLimit = limit;
          c.peerMaxPlaintext = Math.min(16384, limit - 1);
          // Protected records with the application keys are already under the limit; records we
          // still have to send with the handshake key are sized when that key is installed.
          if (c.config.recordSizeLimit) c.ownMaxPlaintext = Math.min(16385, c.config.recordSizeLimit) - 1;
          break;
        }
        case ExtensionType.earlyData:
          ext.empty(e.data);
          if (!hs.earlyDataOffered || !hs.pskAccepted) throw new TlsError('unsupported-extension', 'early_data accepted without an offer');
          c.info.earlyDataAccepted = true;
          break;
        default: {
          const ce = custom.get(e.type);
          // 4.2: a response to an extension we did not send is unsupported_extension.
          if (!ce) throw new TlsError('unsupported-extension', `EncryptedExtensions extension ${e.type}`);
          c.peerCustomExtensions.set(e.type, e.data.slice());
        }
      }
    }
    for (const ce of custom.values()) ce.onEncryptedExtensions?.(c.peerCustomExtensions.get(ce.type));
    c.transcript.add(m.raw);
    if (hs.pskAccepted) return new ExpectFinished(SignatureVerified.create('psk'));
    return new ExpectCertificateOrRequest();
  }
}

class ExpectCertificateOrRequest implements HandshakeState {
  readonly name = 'ExpectCertificateOrCertificateRequest';
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    if (m.type === HandshakeType.certificateRequest) {
      // 4.3.2: the context is empty during the main handshake; signature_algorithms is required.
      if (m.body.context.length !== 0) throw new TlsError('illegal-parameter', 'CertificateRequest context must be empty');
      const sa = findExtension(m.body.extensions, ExtensionType.signatureAlgorithms);
      if (!sa) throw new TlsError('missing-extension', 'CertificateRequest without signature_algorithms');
      c.hs.certRequest = { context: m.body.context.slice(), schemes: ext.decodeU16List(sa) };
      c.transcript.add(m.raw);
      return new ExpectCertificate();
    }
    return new ExpectCertificate().handle(c, m);
  }
}

class ExpectCertificate implements HandshakeState {
  readonly name = 'ExpectCertificate';
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    if (m.type !== HandshakeType.certificate) unexpectedMessage(this.name, m);
    if (m.body.context.length !== 0) throw new TlsError('illegal-parameter', 'server Certificate context must be empty');
    // 4.4.2.4: a server must send a certificate.
    if (m.body.entries.length === 0) throw new TlsError('decode-error', 'server sent no certificate');
    const chain = m.body.entries.map((e) => e.data.slice());
    c.info.peerCertificates = chain;
    let key: PublicKey;
    const verifier = c.config.verifier;
    if (verifier) {
      key = verifier.verify(chain, { hostname: c.config.serverName, now: c.now });
      c.info.peerVerified = true;
    } else {
      key = defaultLeafKey(chain[0]);
    }
    c.transcript.add(m.raw);
    return new ExpectCertificateVerify(key);
  }
}

class ExpectCertificateVerify implements HandshakeState {
  readonly name = 'ExpectCertificateVerify';
  constructor(private readonly key: PublicKey) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    if (m.type !== HandshakeType.certificateVerify) unexpectedMessage(this.name, m);
    const proof = verifyCertificateVerify(c, this.key, m.body, c.hs.schemes, true);
    c.info.peerSignatureScheme = proof.scheme === 'psk' || proof.scheme === 'not-requested' ? null : proof.scheme;
    c.transcript.add(m.raw);
    return new ExpectFinished(proof);
  }
}

class ExpectFinished implements HandshakeState {
  readonly name = 'ExpectFinished';
  constructor(private readonly authenticated: SignatureVerified) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    if (m.type !== HandshakeType.finished) unexpectedMessage(this.name, m);
    void this.authenticated;
    const hs = c.hs;
    const sched = c.schedule!;
    const expected = sched.finishedVerifyData(hs.serverHsSecret!, c.transcript.hash());
    // 4.4.4: a wrong verify_data is decrypt_error.
    if (!bytesEqual(expected, m.body)) throw new TlsError('decrypt-error', 'server Finished does not verify');
    const finished = FinishedVerified.create();
    c.transcript.add(m.raw);
    const h = c.transcript.hash();
    c.handshakeTranscriptHash = h;
    sched.deriveMaster();
    c.clientApplicationTrafficSecret = sched.clientApplicationTrafficSecret0(h);
    c.serverApplicationTrafficSecret = sched.serverApplicationTrafficSecret0(h);
    c.exporterMasterSecret = sched.exporterMasterSecret(h);
    c.keylog('CLIENT_TRAFFIC_SECRET_0', c.clientApplicationTrafficSecret);
    c.keylog('SERVER_TRAFFIC_SECRET_0', c.serverApplicationTrafficSecret);
    c.keylog('EXPORTER_SECRET', c.exporterMasterSecret);
    c.setReadSecret(c.serverApplicationTrafficSecret);
    // 4.5: EndOfEarlyData under the early key when the server accepted 0-RTT.
    if (c.info.earlyDataAccepted) c.sendHandshake({ type: HandshakeType.endOfEarlyData, body: null });
    if (c.config.middleboxCompat !== false && !hs.sentCcs) {
      c.sendChangeCipherSpec();
      hs.sentCcs = true;
    }
    c.setWriteSecret(hs.clientHsSecret!);
    if (hs.certRequest) {
      const chain = c.config.certificateChain ?? [];
      const key = c.config.privateKey;
      const scheme = key && chain.length ? chooseScheme(key, hs.certRequest.schemes, hs.schemes) : null;
      const send = scheme ? chain : [];
      c.sendHandshake({ type: HandshakeType.certificate, body: { context: hs.certRequest.context, entries: send.map((d) => ({ data: d, extensions: [] })) } });
      if (scheme && key) {
        c.sendHandshake({ type: HandshakeType.certificateVerify, body: signCertificateVerify(c, key, scheme, false) });
        c.info.signatureScheme = scheme;
      }
    }
    const verifyData = sched.finishedVerifyData(hs.clientHsSecret!, c.transcript.hash());
    c.sendHandshake({ type: HandshakeType.finished, body: verifyData });
    c.resumptionMasterSecret = sched.resumptionMasterSecret(c.transcript.hash());
    c.setWriteSecret(c.clientApplicationTrafficSecret);
    c.completeHandshake();
    return new ClientTraffic(finished);
  }
}

class ClientTraffic implements HandshakeState {
  readonly name = 'ClientTraffic';
  constructor(private readonly finished: FinishedVerified) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsClient;
    void this.finished;
    switch (m.type) {
      case HandshakeType.newSessionTicket: {
        const t = m.body;
        let maxEarlyData = 0;
        for (const e of t.extensions) if (e.type === ExtensionType.earlyData) maxEarlyData = ext.decodeMaxEarlyData(e.data);
        // 4.6.1: lifetime at most 7 days.
        if (t.lifetime > 604800) throw new TlsError('illegal-parameter', 'ticket lifetime over 7 days');
        if (t.lifetime === 0) return this;
        const psk = c.schedule!.resumptionPsk(c.resumptionMasterSecret!, t.nonce);
        c.emit({
          type: 'session',
          session: {
            ticket: t.ticket.slice(),
            psk,
            suite: c.suite!.name as keyof typeof CipherSuites,
            serverName: c.config.serverName,
            alpn: c.info.alpn ?? undefined,
            receivedAt: c.now,
            lifetime: t.lifetime,
            ageAdd: t.ageAdd,
            maxEarlyData,
          },
        });
        return this;
      }
      case HandshakeType.keyUpdate:
        c.handleKeyUpdate(m.body.requestUpdate);
        return this;
      default:
        unexpectedMessage(this.name, m);
    }
  }
}

