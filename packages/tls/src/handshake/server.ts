/**
 * The TLS 1.3 server (RFC 8446 2, 4): one class per handshake state.
 *   ExpectClientHello → (HelloRetryRequest → ExpectClientHello) → [ExpectEndOfEarlyData] →
 *   [ExpectClientCertificate → ExpectClientCertificateVerify] → ExpectClientFinished → ServerTraffic
 */
import type { KeyShare, NamedGroup, PublicKey, SignatureScheme } from '../crypto/provider.js';
import { TlsError } from '../errors.js';
import { bytesEqual, Reader, Writer, utf8 } from '../wire/codec.js';
import {
  CipherSuites,
  ExtensionType,
  GroupIds,
  HandshakeType,
  HRR_RANDOM,
  SignatureSchemeIds,
  TLS13,
  type CipherSuite,
  type CipherSuiteName,
  PskKeyExchangeMode,
} from '../wire/constants.js';
import { ext, findExtension, type ClientHello, type TlsExtension, type RawHandshake } from '../wire/handshake.js';
import { chooseScheme, signCertificateVerify, verifyCertificateVerify } from './auth.js';
import { defaultLeafKey } from './certs.js';
import { DEFAULT_SIGNATURE_SCHEMES, type ServerConfig } from './config.js';
import { FinishedVerified, SignatureVerified, TlsConnection, unexpectedMessage, type HandshakeState } from './connection.js';
import { KeySchedule } from './keyschedule.js';

const PSK_DHE_KE = PskKeyExchangeMode.pskDheKe;

interface ServerHs {
  suites: CipherSuite[];
  groups: NamedGroup[];
  schemes: SignatureScheme[];
  helloRetried: boolean;
  cookie?: Uint8Array;
  hrrSuite?: CipherSuite;
  hrrGroup?: NamedGroup;
  clientHsSecret?: Uint8Array;
  pskAccepted: boolean;
  earlyData: boolean;
}

/** What a ticket carries (sealed under the server's ticket key). */
interface TicketState {
  psk: Uint8Array;
  suite: number;
  issuedAt: number;
  lifetime: number;
  ageAdd: number;
  maxEarlyData: number;
  alpn: string;
  serverName: string;
}

export class TlsServer extends TlsConnection {
  declare readonly config: ServerConfig;
  /** @internal */ hs: ServerHs;

  constructor(config: ServerConfig) {
    super('server', config);
    if (!config.certificateChain?.length || !config.privateKey) throw new TlsError('api-misuse', 'a server needs a certificate chain and a private key');
    const suites = (config.cipherSuites ?? (Object.keys(CipherSuites) as CipherSuiteName[])).map((n) => CipherSuites[n]);
    this.hs = {
      suites,
      groups: config.groups ?? ['x25519', 'secp256r1'],
      schemes: config.signatureSchemes ?? DEFAULT_SIGNATURE_SCHEMES,
      helloRetried: false,
      pskAccepted: false,
      earlyData: false,
    };
    this.state = new ExpectClientHello();
  }

  /** @internal seals a ticket (AES-GCM under the ticket key, random nonce). */
  sealTicket(t: TicketState): Uint8Array {
    const w = new Writer();
    w.vec(1, t.psk).u16(t.suite).u32(Math.floor(t.issuedAt / 1000)).u32(t.lifetime).u32(t.ageAdd).u32(t.maxEarlyData);
    w.vec(1, utf8.encode(t.alpn)).vec(2, utf8.encode(t.serverName));
    // issuedAt milliseconds part, so ticket age checks keep ms precision.
    w.u16(Math.floor(t.issuedAt % 1000));
    const nonce = this.config.random(12);
    const aead = this.provider.createAead('aes-256-gcm', this.config.ticketKey!);
    const ct = aead.seal(nonce, new Uint8Array(0), w.finish());
    const out = new Uint8Array(12 + ct.length);
    out.set(nonce);
    out.set(ct, 12);
    return out;
  }

  /** @internal opens a ticket, or null when it is not ours or is damaged. */
  openTicket(ticket: Uint8Array): TicketState | null {
    if (!this.config.ticketKey || ticket.length < 12 + 16) return null;
    const aead = this.provider.createAead('aes-256-gcm', this.config.ticketKey);
    const pt = aead.open(ticket.subarray(0, 12), new Uint8Array(0), ticket.subarray(12));
    if (!pt) return null;
    try {
      const r = new Reader(pt);
      const psk = r.vec(1).slice();
      const suite = r.u16();
      const issuedS = r.u32();
      const lifetime = r.u32();
      const ageAdd = r.u32();
      const maxEarlyData = r.u32();
      const alpn = utf8.decode(r.vec(1));
      const serverName = utf8.decode(r.vec(2));
      const ms = r.u16();
      r.end();
      return { psk, suite, issuedAt: issuedS * 1000 + ms, lifetime, ageAdd, maxEarlyData, alpn, serverName };
    } catch {
      return null;
    }
  }
}

class ExpectClientHello implements HandshakeState {
  readonly name = 'ExpectClientHello';
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsServer;
    if (m.type !== HandshakeType.clientHello) unexpectedMessage(this.name, m);
    const hs = c.hs;
    const cfg = c.config;
    const ch = m.body;
    const get = (t: number) => findExtension(ch.extensions, t);
    const sv = get(ExtensionType.supportedVersions);
    // 4.2.1: without supported_versions containing 0x0304 this is not TLS 1.3.
    if (!sv || !ext.decodeVersionsCH(sv).includes(TLS13)) throw new TlsError('protocol-version', 'client does not offer TLS 1.3');
    if (!hs.helloRetried) c.clientRandom = ch.random.slice();
    // Suite: our preference among the client's (after HRR: the same one, 4.1.4).
    const suite = hs.hrrSuite ?? hs.suites.find((s) => ch.cipherSuites.includes(s.id));
    if (!suite) throw new TlsError('handshake-failure', 'no common cipher suite');
    if (hs.hrrSuite && !ch.cipherSuites.includes(hs.hrrSuite.id)) throw new TlsError('illegal-parameter', 'second ClientHello drops the suite');
    // 4.2.11: pre_shared_key must be the last extension.
    const pskIdx = ch.extensions.findIndex((e) => e.type === ExtensionType.preSharedKey);
    if (pskIdx >= 0 && pskIdx !== ch.extensions.length - 1) throw new TlsError('illegal-parameter', 'pre_shared_key is not last');
    if (hs.helloRetried) {
      const cookie = get(ExtensionType.cookie);
      if (!cookie || !bytesEqual(ext.decodeCookie(cookie), hs.cookie!)) throw new TlsError('illegal-parameter', 'second ClientHello without our cookie');
      if (get(ExtensionType.earlyData)) throw new TlsError('illegal-parameter', 'early_data after HelloRetryRequest');
    }
    // SNI (RFC 6066 3).
    const sni = get(ExtensionType.serverName);
    let serverName: string | undefined;
    if (sni) {
      serverName = ext.decodeServerName(sni);
      if (serverName !== undefined && cfg.acceptServerName && !cfg.acceptServerName(serverName)) throw new TlsError('unrecognized-name', `unknown server name ${serverName}`);
      c.info.serverName = serverName ?? null;
    }
    // Groups and key shares (4.2.7, 4.2.8).
    const sgData = get(ExtensionType.supportedGroups);
    const ksData = get(ExtensionType.keyShare);
    if (!sgData || !ksData) throw new TlsError('missing-extension', 'ClientHello without supported_groups/key_share');
    const clientGroups = ext.decodeU16List(sgData);
    const shares = ext.decodeKeyShareCH(ksData);
    for (const s of shares) if (!clientGroups.includes(s.group)) throw new TlsError('illegal-parameter', 'key share for a group not in supported_groups');
    let chosen: { group: NamedGroup; keyExchange: Uint8Array } | undefined;
    if (hs.helloRetried) {
      // 4.1.2: the second ClientHello carries exactly one share, for the group we asked.
      if (hs.hrrGroup) {
        if (shares.length !== 1 || shares[0].group !== GroupIds[hs.hrrGroup]) throw new TlsError('illegal-parameter', 'second ClientHello key share is not the requested group');
        chosen = { group: hs.hrrGroup, keyExchange: shares[0].keyExchange };
      } else {
        const s = hs.groups.map((g) => ({ g, s: shares.find((x) => x.group === GroupIds[g]) })).find((x) => x.s);
        if (s) chosen = { group: s.g, keyExchange: s.s!.keyExchange };
      }
    } else {
      for (const g of hs.groups) {
        const s = shares.find((x) => x.group === GroupIds[g]);
        if (s) {
          chosen = { group: g, keyExchange: s.keyExchange };
          break;
        }
      }
    }
    const mutual = hs.groups.filter((g) => clientGroups.includes(GroupIds[g]));
    if (!chosen && mutual.length === 0) throw new TlsError('handshake-failure', 'no common group');
    if (!hs.helloRetried && (!chosen || cfg.forceHelloRetry)) {
      const group = chosen && cfg.forceHelloRetry ? undefined : mutual[0];
      return this.helloRetry(c, m, suite, group);
    }
    if (!chosen) throw new TlsError('handshake-failure', 'no usable key share');
    // Signature scheme for our certificate (4.2.3).
    const saData = get(ExtensionType.signatureAlgorithms);
    if (!saData) throw new TlsError('missing-extension', 'ClientHello without signature_algorithms');
    const scheme = chooseScheme(cfg.privateKey, ext.decodeU16List(saData), hs.schemes);
    // ALPN (RFC 7301 3.2): our preference among the client's; no overlap is no_application_protocol.
    const alpnData = get(ExtensionType.applicationLayerProtocolNegotiation);
    let alpn: string | null = null;
    if (alpnData) {
      const offered = ext.decodeAlpn(alpnData);
      if (cfg.alpn?.length) {
        alpn = cfg.alpn.find((p) => offered.includes(p)) ?? null;
        if (alpn === null) throw new TlsError('no-application-protocol', 'no common ALPN protocol');
      }
    }
    c.info.alpn = alpn;
    // record_size_limit (RFC 8449).
    const rsl = get(ExtensionType.recordSizeLimit);
    if (rsl) {
      const limit = ext.decodeRecordSizeLimit(rsl);
      c.info.peerRecordSizeLimit = limit;
      c.peerMaxPlaintext = Math.min(16384, limit - 1);
    }
    // Custom extensions: the upper layer sees the client's data and answers in EncryptedExtensions.
    const eeExtra: TlsExtension[] = [];
    for (const ce of cfg.customExtensions ?? []) {
      const d = get(ce.type);
      if (d) c.peerCustomExtensions.set(ce.type, d.slice());
      const answer = ce.onClientHello?.(d ? d.slice() : undefined);
      if (answer) eeExtra.push({ type: ce.type, data: answer });
    }
    // PSK (4.2.11) with psk_dhe_ke only.
    let psk: Uint8Array | undefined;
    let ticket: TicketState | null = null;
    if (pskIdx >= 0) {
      const modes = get(ExtensionType.pskKeyExchangeModes);
      if (!modes) throw new TlsError('missing-extension', 'pre_shared_key without psk_key_exchange_modes');
      const offer = ext.decodePskCH(ch.extensions[pskIdx].data);
      if (ext.decodePskModes(modes).includes(PSK_DHE_KE)) {
        const t = c.openTicket(offer.identities[0].identity);
        // A ticket is used only for the server name it was issued under (RFC 8446 4.6.1, RFC 6066 3);
        // otherwise the PSK is ignored and the handshake is a full one.
        if (t && t.suite === suite.id && c.now < t.issuedAt + t.lifetime * 1000 && t.serverName === (serverName ?? '')) {
          // Binder over the ClientHello up to the binders list (4.2.11.2).
          const truncated = m.raw.subarray(0, m.raw.length - offer.bindersLength);
          const ks = new KeySchedule(c.provider, suite.hash, t.psk);
          const expected = ks.finishedVerifyData(ks.binderKey(true), c.transcript.hashWith(suite.hash, truncated));
          if (!bytesEqual(expected, offer.binders[0])) throw new TlsError('decrypt-error', 'PSK binder does not verify');
          psk = t.psk;
          ticket = t;
          hs.pskAccepted = true;
          c.info.resumed = true;
          // 0-RTT (4.2.10): same ALPN, allowed size, ticket age within a window, not replayed.
          if (get(ExtensionType.earlyData) && t.maxEarlyData > 0 && (cfg.maxEarlyData ?? 0) > 0 && t.alpn === (alpn ?? '')) {
            const clientAge = (offer.identities[0].obfuscatedTicketAge - t.ageAdd) >>> 0;
            const serverAge = c.now - t.issuedAt;
            const fresh = Math.abs(serverAge - clientAge) < 10000;
            if (fresh && (!cfg.antiReplay || cfg.antiReplay.checkAndRemember(offer.binders[0], c.now))) hs.earlyData = true;
          }
        }
      }
    }
    if (!scheme && !psk) throw new TlsError('handshake-failure', 'no common signature scheme');
    if (get(ExtensionType.earlyData) && !hs.earlyData) c.skipUndecryptableBytes = Math.max(cfg.maxEarlyData ?? 0, 16384 + 256) * 4;

    // ServerHello.
    c.suite = suite;
    c.info.suite = suite.name;
    c.info.group = chosen.group;
    c.transcript.setHash(suite.hash);
    c.transcript.add(m.raw);
    const sched = new KeySchedule(c.provider, suite.hash, psk);
    c.schedule = sched;
    if (hs.earlyData) {
      const early = sched.clientEarlyTrafficSecret(c.transcript.hash());
      c.keylog('CLIENT_EARLY_TRAFFIC_SECRET', early);
      c.info.earlyDataAccepted = true;
      c.setReadSecret(early);
      c.readingEarlyData = true;
      c.earlyDataRemaining = ticket!.maxEarlyData;
      c.readKeyChanged = false;
    }
    const share: KeyShare = c.provider.generateKeyShare(chosen.group, cfg.random);
    const dhe = share.computeSecret(chosen.keyExchange);
    // Order as in RFC 8448's traces (key_share, supported_versions) so the KAT compares bytes.
    const shExts: TlsExtension[] = [
      { type: ExtensionType.keyShare, data: ext.encodeKeyShareSH({ group: GroupIds[chosen.group], keyExchange: share.publicKey }) },
      { type: ExtensionType.supportedVersions, data: ext.encodeVersionSH(TLS13) },
    ];
    // pre_shared_key first, as in RFC 8448 section 4 (any order is valid; this one lets the KAT compare bytes).
    if (psk) shExts.unshift({ type: ExtensionType.preSharedKey, data: ext.encodePskSH(0) });
    c.sendHandshake({ type: HandshakeType.serverHello, body: { random: cfg.random(32), legacySessionIdEcho: ch.legacySessionId.slice(), cipherSuite: suite.id, extensions: shExts } });
    sched.inputDhe(dhe);
    const h = c.transcript.hash();
    hs.clientHsSecret = sched.clientHandshakeTrafficSecret(h);
    const serverHs = sched.serverHandshakeTrafficSecret(h);
    c.keylog('CLIENT_HANDSHAKE_TRAFFIC_SECRET', hs.clientHsSecret);
    c.keylog('SERVER_HANDSHAKE_TRAFFIC_SECRET', serverHs);
    // D.4: a compatibility CCS right after ServerHello (or HRR) when the client sent a session id.
    if (ch.legacySessionId.length > 0 && !hs.helloRetried) c.sendChangeCipherSpec();
    c.setWriteSecret(serverHs);
    // EncryptedExtensions.
    const ee: TlsExtension[] = [];
    if (sni && serverName !== undefined && !psk) ee.push({ type: ExtensionType.serverName, data: new Uint8Array(0) });
    if (alpn) ee.push({ type: ExtensionType.applicationLayerProtocolNegotiation, data: ext.encodeAlpn([alpn]) });
    // RFC 8449 4: answer with our limit (2^14+1 = none) whenever the client sent one.
    if (rsl) {
      const own = Math.min(cfg.recordSizeLimit ?? 16385, 16385);
      ee.push({ type: ExtensionType.recordSizeLimit, data: ext.encodeRecordSizeLimit(own) });
      c.ownMaxPlaintext = own - 1;
    }
    if (hs.earlyData) ee.push({ type: ExtensionType.earlyData, data: new Uint8Array(0) });
    ee.push({ type: ExtensionType.supportedGroups, data: ext.encodeU16List(hs.groups.map((g) => GroupIds[g])) });
    ee.push(...eeExtra);
    c.sendHandshake({ type: HandshakeType.encryptedExtensions, body: ee });
    const clientAuth = !psk && (cfg.clientAuth ?? 'none') !== 'none';
    if (!psk) {
      if (clientAuth) {
        c.sendHandshake({
          type: HandshakeType.certificateRequest,
          body: { context: new Uint8Array(0), extensions: [{ type: ExtensionType.signatureAlgorithms, data: ext.encodeU16List(hs.schemes.map((s) => SignatureSchemeIds[s])) }] },
        });
      }
      c.sendHandshake({ type: HandshakeType.certificate, body: { context: new Uint8Array(0), entries: cfg.certificateChain.map((d) => ({ data: d, extensions: [] })) } });
      c.sendHandshake({ type: HandshakeType.certificateVerify, body: signCertificateVerify(c, cfg.privateKey, scheme!, true) });
      c.info.signatureScheme = scheme;
    }
    c.sendHandshake({ type: HandshakeType.finished, body: sched.finishedVerifyData(serverHs, c.transcript.hash()) });
    // Application secrets are known after the server Finished (7.1); 0.5-RTT sending is possible.
    const h2 = c.transcript.hash();
    c.handshakeTranscriptHash = h2;
    sched.deriveMaster();
    c.clientApplicationTrafficSecret = sched.clientApplicationTrafficSecret0(h2);
    c.serverApplicationTrafficSecret = sched.serverApplicationTrafficSecret0(h2);
    c.exporterMasterSecret = sched.exporterMasterSecret(h2);
    c.keylog('CLIENT_TRAFFIC_SECRET_0', c.clientApplicationTrafficSecret);
    c.keylog('SERVER_TRAFFIC_SECRET_0', c.serverApplicationTrafficSecret);
    c.keylog('EXPORTER_SECRET', c.exporterMasterSecret);
    c.setWriteSecret(c.serverApplicationTrafficSecret);
    void ticket;
    if (hs.earlyData) return new ExpectEndOfEarlyData(clientAuth);
    c.setReadSecret(hs.clientHsSecret);
    return clientAuth ? new ExpectClientCertificate() : new ExpectClientFinished(SignatureVerified.create(psk ? 'psk' : 'not-requested'), null);
  }

  private helloRetry(c: TlsServer, m: RawHandshake, suite: CipherSuite, group: NamedGroup | undefined): HandshakeState {
    const hs = c.hs;
    hs.helloRetried = true;
    hs.hrrSuite = suite;
    hs.hrrGroup = group;
    c.info.helloRetry = true;
    c.transcript.setHash(suite.hash);
    c.transcript.add(m.raw);
    c.transcript.replaceWithMessageHash(suite.hash);
    // 4.2.2: a cookie the client must echo; ours binds the first ClientHello's hash.
    hs.cookie = c.provider.hmac(suite.hash, c.config.random(32), c.transcript.hash());
    const exts: TlsExtension[] = [{ type: ExtensionType.supportedVersions, data: ext.encodeVersionSH(TLS13) }];
    if (group) exts.push({ type: ExtensionType.keyShare, data: ext.encodeKeyShareHRR(GroupIds[group]) });
    exts.push({ type: ExtensionType.cookie, data: ext.encodeCookie(hs.cookie) });
    const ch = (m as RawHandshake & { body: ClientHello }).body;
    c.sendHandshake({ type: HandshakeType.serverHello, body: { random: HRR_RANDOM, legacySessionIdEcho: ch.legacySessionId.slice(), cipherSuite: suite.id, extensions: exts } });
    if (ch.legacySessionId.length > 0) c.sendChangeCipherSpec();
    // A client that sent 0-RTT with the first ClientHello: skip what we cannot read (4.2.10).
    if (findExtension(ch.extensions, ExtensionType.earlyData)) c.skipUndecryptableBytes = 65536;
    return new ExpectClientHello();
  }
}

class ExpectEndOfEarlyData implements HandshakeState {
  readonly name = 'ExpectEndOfEarlyData';
  constructor(private readonly clientAuth: boolean) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsServer;
    if (m.type !== HandshakeType.endOfEarlyData) unexpectedMessage(this.name, m);
    c.transcript.add(m.raw);
    c.readingEarlyData = false;
    c.setReadSecret(c.hs.clientHsSecret!);
    return this.clientAuth ? new ExpectClientCertificate() : new ExpectClientFinished(SignatureVerified.create(c.info.resumed ? 'psk' : 'not-requested'), null);
  }
}

class ExpectClientCertificate implements HandshakeState {
  readonly name = 'ExpectClientCertificate';
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsServer;
    if (m.type !== HandshakeType.certificate) unexpectedMessage(this.name, m);
    if (m.body.context.length !== 0) throw new TlsError('illegal-parameter', 'client Certificate context must echo the request (empty)');
    c.transcript.add(m.raw);
    if (m.body.entries.length === 0) {
      // 4.4.2.4: no certificate; abort only when one is required.
      if (c.config.clientAuth === 'require') throw new TlsError('certificate-required', 'client sent no certificate');
      return new ExpectClientFinished(SignatureVerified.create('not-requested'), null);
    }
    const chain = m.body.entries.map((e) => e.data.slice());
    c.info.peerCertificates = chain;
    let key: PublicKey;
    if (c.config.verifier) {
      key = c.config.verifier.verify(chain, { now: c.now });
      c.info.peerVerified = true;
    } else {
      key = defaultLeafKey(chain[0]);
    }
    return new ExpectClientCertificateVerify(key);
  }
}

class ExpectClientCertificateVerify implements HandshakeState {
  readonly name = 'ExpectClientCertificateVerify';
  constructor(private readonly key: PublicKey) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsServer;
    if (m.type !== HandshakeType.certificateVerify) unexpectedMessage(this.name, m);
    const proof = verifyCertificateVerify(c, this.key, m.body, c.hs.schemes, false);
    c.info.peerSignatureScheme = proof.scheme === 'psk' || proof.scheme === 'not-requested' ? null : proof.scheme;
    c.transcript.add(m.raw);
    return new ExpectClientFinished(proof, this.key);
  }
}

class ExpectClientFinished implements HandshakeState {
  readonly name = 'ExpectClientFinished';
  constructor(
    private readonly authenticated: SignatureVerified,
    private readonly clientKey: PublicKey | null,
  ) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    const c = cc as TlsServer;
    if (m.type !== HandshakeType.finished) unexpectedMessage(this.name, m);
    void this.authenticated;
    void this.clientKey;
    const sched = c.schedule!;
    const expected = sched.finishedVerifyData(c.hs.clientHsSecret!, c.transcript.hash());
    if (!bytesEqual(expected, m.body)) throw new TlsError('decrypt-error', 'client Finished does not verify');
    const finished = FinishedVerified.create();
    c.transcript.add(m.raw);
    c.resumptionMasterSecret = sched.resumptionMasterSecret(c.transcript.hash());
    c.setReadSecret(c.clientApplicationTrafficSecret!);
    c.completeHandshake();
    // NewSessionTicket(s) (4.6.1): stateless tickets sealed under the ticket key.
    const n = c.config.ticketKey ? (c.config.tickets ?? 1) : 0;
    for (let i = 0; i < n; i++) {
      const nonce = new Uint8Array([i]);
      const ageAdd = new Reader(c.config.random(4)).u32();
      const lifetime = c.config.ticketLifetime ?? 7200;
      const maxEarlyData = c.config.maxEarlyData ?? 0;
      const ticket = c.sealTicket({
        psk: sched.resumptionPsk(c.resumptionMasterSecret, nonce),
        suite: c.suite!.id,
        issuedAt: c.now,
        lifetime,
        ageAdd,
        maxEarlyData,
        alpn: c.info.alpn ?? '',
        serverName: c.info.serverName ?? '',
      });
      const exts: TlsExtension[] = maxEarlyData > 0 ? [{ type: ExtensionType.earlyData, data: ext.encodeMaxEarlyData(maxEarlyData) }] : [];
      c.sendHandshakeNoTranscript({ type: HandshakeType.newSessionTicket, body: { lifetime, ageAdd, nonce, ticket, extensions: exts } });
    }
    return new ServerTraffic(finished);
  }
}

class ServerTraffic implements HandshakeState {
  readonly name = 'ServerTraffic';
  constructor(private readonly finished: FinishedVerified) {}
  handle(cc: TlsConnection, m: RawHandshake): HandshakeState {
    void this.finished;
    if (m.type === HandshakeType.keyUpdate) {
      cc.handleKeyUpdate(m.body.requestUpdate);
      return this;
    }
    unexpectedMessage(this.name, m);
  }
}

