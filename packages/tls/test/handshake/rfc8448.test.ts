/**
 * RFC 8448 section 3 (Simple 1-RTT Handshake), byte for byte, with both providers:
 * the key schedule and record protection against every recorded value, and the server engine fed
 * the trace's ClientHello with the trace's randomness injected, which must answer with the exact
 * ServerHello and derive the exact handshake traffic secrets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeySchedule, Transcript } from '../../src/handshake/keyschedule.js';
import { TlsServer } from '../../src/handshake/server.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { decodeHandshakeBody, type ClientHello } from '../../src/wire/handshake.js';
import { RecordProtection, deriveTrafficKeys } from '../../src/record/protection.js';
import { fromHex, toHex } from '../../src/wire/codec.js';
import { CipherSuites, ContentType } from '../../src/wire/constants.js';
import { identity } from '../support/pki.js';
import { BOTH_PROVIDERS, replayRandom, traceClientConfig } from '../support/kat.js';

const v = JSON.parse(readFileSync(join(__dirname, '../../../../test/vectors/tls/rfc8448-simple-1rtt.json'), 'utf8')) as Record<string, string>;
const suite = CipherSuites.TLS_AES_128_GCM_SHA256;

describe.each(BOTH_PROVIDERS)('RFC 8448 simple 1-RTT (%s provider)', (_name, provider) => {
  test('key schedule: every secret, key and IV matches the trace', () => {
    const ks = new KeySchedule(provider, 'sha256');
    expect(toHex(ks.earlySecret)).toBe(v.earlySecret);
    const client = provider.generateKeyShare('x25519', () => fromHex(v.clientPrivate));
    expect(toHex(client.computeSecret(fromHex(v.serverPublic)))).toBe(v.ecdhe);
    ks.inputDhe(fromHex(v.ecdhe));
    expect(toHex(ks.handshakeSecret!)).toBe(v.handshakeSecret);
    const t = new Transcript(provider);
    t.setHash('sha256');
    t.add(fromHex(v.clientHello));
    t.add(fromHex(v.serverHello));
    expect(toHex(t.hash())).toBe(v.transcriptHashChSh);
    const chs = ks.clientHandshakeTrafficSecret(t.hash());
    const shs = ks.serverHandshakeTrafficSecret(t.hash());
    expect(toHex(chs)).toBe(v.clientHandshakeTrafficSecret);
    expect(toHex(shs)).toBe(v.serverHandshakeTrafficSecret);
    const keys = deriveTrafficKeys(provider, suite, shs);
    expect(toHex(keys.key)).toBe(v.serverHandshakeKey);
    expect(toHex(keys.iv)).toBe(v.serverHandshakeIv);
    // Server Finished over CH..CertificateVerify: the flight minus its last Finished (36 bytes).
    const flight = fromHex(v.serverFlightPlaintext);
    t.add(flight.subarray(0, flight.length - 36));
    expect(toHex(ks.finishedVerifyData(shs, t.hash()))).toBe(v.serverFinishedVerifyData);
    t.add(flight.subarray(flight.length - 36));
    expect(toHex(t.hash())).toBe(v.transcriptHashThroughServerFinished);
    expect(toHex(ks.finishedVerifyData(chs, t.hash()))).toBe(v.clientFinishedVerifyData);
    ks.deriveMaster();
    expect(toHex(ks.masterSecret!)).toBe(v.masterSecret);
  });

  test('record protection: sealing the server flight gives the recorded record, opening gives it back', () => {
    const shs = fromHex(v.serverHandshakeTrafficSecret);
    const w = RecordProtection.fromSecret(provider, suite, shs);
    expect(toHex(w.seal(ContentType.handshake, fromHex(v.serverFlightPlaintext)))).toBe(v.serverFlightRecord);
    const r = RecordProtection.fromSecret(provider, suite, shs);
    const rec = fromHex(v.serverFlightRecord);
    const opened = r.open(rec.subarray(0, 5), rec.subarray(5));
    expect(opened.type).toBe(ContentType.handshake);
    expect(toHex(opened.content)).toBe(v.serverFlightPlaintext);
    expect(r.sequenceNumber).toBe(1n);
  });

  test('server engine: trace ClientHello in, exact ServerHello and handshake secrets out', () => {
    const id = identity('rsa');
    const random = replayRandom([fromHex(v.serverPrivate), fromHex(v.serverRandom)], false);
    const server = new TlsServer({ provider, random, certificateChain: id.chain, privateKey: id.key, middleboxCompat: false });
    const ch = fromHex(v.clientHello);
    const rec = new Uint8Array(5 + ch.length);
    rec.set([22, 3, 1, ch.length >> 8, ch.length & 0xff]);
    rec.set(ch, 5);
    server.receive(rec, Date.UTC(2024, 0, 1));
    const out = server.pollOutput()!;
    const sh = fromHex(v.serverHello);
    // First record: handshake, ServerHello exactly as recorded.
    expect(toHex(out.subarray(0, 5 + sh.length))).toBe('16030300' + (sh.length).toString(16).padStart(2, '0') + v.serverHello);
    const lines: string[] = [];
    for (let e = server.pollEvent(); e; e = server.pollEvent()) if (e.type === 'keylog') lines.push(e.line);
    const random32 = 'cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7';
    expect(lines).toContain(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${random32} ${v.clientHandshakeTrafficSecret}\n`);
    expect(lines).toContain(`SERVER_HANDSHAKE_TRAFFIC_SECRET ${random32} ${v.serverHandshakeTrafficSecret}\n`);
    expect(server.stateName).toBe('ExpectClientFinished');
  });

  test('client engine: the whole trace byte for byte (ClientHello, Finished, ticket, data, close_notify)', () => {
    const random = replayRandom([fromHex(v.clientRandom), fromHex(v.clientPrivate)], true);
    // The trace client sends extensions we do not (renegotiation_info, session_ticket, more
    // groups and schemes): the ClientHello hook puts the trace's list in, verbatim.
    const traceCh = decodeHandshakeBody(1, fromHex(v.clientHello).subarray(4)).body as ClientHello;
    const client = new TlsClient({
      ...traceClientConfig(provider, random),
      editClientHelloExtensions: () => traceCh.extensions,
    });
    const now = Date.UTC(2024, 0, 1);
    client.start(now);
    expect(toHex(client.pollOutput()!)).toBe(v.clientHelloRecord);
    client.receive(fromHex(v.serverHelloRecord), now);
    client.receive(fromHex(v.serverFlightRecord), now);
    const evs: TlsEvent[] = [];
    const drainAll = () => {
      for (let e = client.pollEvent(); e; e = client.pollEvent()) evs.push(e);
    };
    drainAll();
    expect(evs.filter((e) => e.type === 'error')).toEqual([]);
    expect(client.isHandshakeComplete).toBe(true);
    expect(client.handshakeInfo.peerSignatureScheme).toBe('rsa_pss_rsae_sha256');
    expect(toHex(client.pollOutput()!)).toBe(v.clientFinishedRecord);
    client.receive(fromHex(v.newSessionTicketRecord), now);
    drainAll();
    const session = evs.find((e) => e.type === 'session');
    expect(session && session.type === 'session' && toHex(session.session.psk)).toBe(v.resumptionPsk);
    expect(toHex(client.resumptionMasterSecret!)).toBe(v.resumptionMasterSecret);
    client.write(fromHex(v.applicationData));
    expect(toHex(client.pollOutput()!)).toBe(v.clientApplicationDataRecord);
    client.receive(fromHex(v.serverApplicationDataRecord), now);
    drainAll();
    const data = evs.find((e) => e.type === 'data');
    expect(data && data.type === 'data' && toHex(data.data)).toBe(v.applicationData);
    client.close();
    expect(toHex(client.pollOutput()!)).toBe(v.clientCloseNotifyRecord);
    client.receive(fromHex(v.serverCloseNotifyRecord), now);
    drainAll();
    expect(evs.some((e) => e.type === 'close-notify')).toBe(true);
    expect(client.isClosed).toBe(true);
  });
});
