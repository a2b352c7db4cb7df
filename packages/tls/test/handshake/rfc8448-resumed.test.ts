/**
 * RFC 8448 section 4 (Resumed 0-RTT Handshake), byte for byte, with both providers: PSK
 * resumption (psk_dhe_ke) of the section 3 session plus 0-RTT early data.
 *   - the key schedule: PSK, early secret, binder, early traffic, handshake, application and
 *     resumption secrets, and every key/IV;
 *   - the client engine, given the section 3 ticket and the trace's randomness: the exact
 *     ClientHello (binder included), the exact early-data record, then EndOfEarlyData and
 *     Finished exactly as recorded (checked by opening our records with the trace's keys);
 *   - the server engine, given the trace's ClientHello and early data (and the ticket's contents,
 *     since the trace server's ticket encryption key is not published): the exact ServerHello,
 *     the early data, and the trace's secrets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { SessionTicket } from '../../src/handshake/config.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { KeySchedule, Transcript } from '../../src/handshake/keyschedule.js';
import { TlsServer } from '../../src/handshake/server.js';
import { RecordProtection, deriveTrafficKeys } from '../../src/record/protection.js';
import { fromHex, toHex } from '../../src/wire/codec.js';
import { CipherSuites, ContentType, ExtensionType } from '../../src/wire/constants.js';
import { decodeHandshakeBody, ext, type ClientHello } from '../../src/wire/handshake.js';
import { identity } from '../support/pki.js';
import { BOTH_PROVIDERS, replayRandom, traceClientConfig } from '../support/kat.js';

const v = JSON.parse(readFileSync(join(__dirname, '../vectors/rfc8448-resumed-0rtt.json'), 'utf8')) as Record<string, string>;
const suite = CipherSuites.TLS_AES_128_GCM_SHA256;
/** When the section 3 client got its ticket; the trace's ticket age is 6 ms. */
const RECEIVED = Date.UTC(2024, 0, 1);
const NOW = RECEIVED + ((parseInt(v.obfuscatedTicketAge, 16) - parseInt(v.ticketAgeAdd, 16)) >>> 0);

const traceCh = decodeHandshakeBody(1, fromHex(v.clientHello).subarray(4)).body as ClientHello;
const pskOffer = ext.decodePskCH(traceCh.extensions[traceCh.extensions.length - 1].data);

function records(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; ) {
    const len = (bytes[o + 3] << 8) | bytes[o + 4];
    out.push(bytes.subarray(o, o + 5 + len));
    o += 5 + len;
  }
  return out;
}
function protection(provider: CryptoProvider, key: string, iv: string): RecordProtection {
  return new RecordProtection(provider, suite, { key: fromHex(key), iv: fromHex(iv) });
}
function open(p: RecordProtection, rec: Uint8Array): { type: number; content: string } {
  const r = p.open(rec.subarray(0, 5), rec.subarray(5));
  return { type: r.type, content: toHex(r.content) };
}
function drain(c: TlsClient | TlsServer): TlsEvent[] {
  const out: TlsEvent[] = [];
  for (let e = c.pollEvent(); e; e = c.pollEvent()) out.push(e);
  return out;
}
const keylog = (evs: TlsEvent[]) => evs.flatMap((e) => (e.type === 'keylog' ? [e.line] : []));
/** The SSLKEYLOGFILE lines of the trace's secrets, in the order they are derived. */
const TRACE_KEYLOG = (
  [
    ['CLIENT_EARLY_TRAFFIC_SECRET', v.clientEarlyTrafficSecret],
    ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', v.clientHandshakeTrafficSecret],
    ['SERVER_HANDSHAKE_TRAFFIC_SECRET', v.serverHandshakeTrafficSecret],
    ['CLIENT_TRAFFIC_SECRET_0', v.clientApplicationTrafficSecret],
    ['SERVER_TRAFFIC_SECRET_0', v.serverApplicationTrafficSecret],
    ['EXPORTER_SECRET', v.exporterMasterSecret],
  ] as const
).map(([label, secret]) => `${label} ${v.clientRandom} ${secret}\n`);

describe.each(BOTH_PROVIDERS)('RFC 8448 resumed 0-RTT (%s provider)', (_name, provider) => {
  test('key schedule: PSK, binder, early, handshake, application and resumption secrets match the trace', () => {
    // The PSK comes from the section 3 resumption master secret and ticket nonce 0x0000.
    const s3 = new KeySchedule(provider, 'sha256');
    expect(toHex(s3.resumptionPsk(fromHex('7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c'), fromHex('0000')))).toBe(v.resumptionPsk);
    const ks = new KeySchedule(provider, 'sha256', fromHex(v.resumptionPsk));
    expect(toHex(ks.earlySecret)).toBe(v.earlySecret);
    expect(toHex(ks.binderKey(true))).toBe(v.binderKey);
    const t = new Transcript(provider);
    t.setHash('sha256');
    expect(toHex(t.hashWith('sha256', fromHex(v.clientHelloPrefix)))).toBe(v.binderHash);
    expect(toHex(ks.finishedVerifyData(ks.binderKey(true), fromHex(v.binderHash)))).toBe(v.binder);
    t.add(fromHex(v.clientHello));
    expect(toHex(ks.clientEarlyTrafficSecret(t.hash()))).toBe(v.clientEarlyTrafficSecret);
    expect(toHex(ks.earlyExporterMasterSecret(t.hash()))).toBe(v.earlyExporterMasterSecret);
    const early = deriveTrafficKeys(provider, suite, fromHex(v.clientEarlyTrafficSecret));
    expect([toHex(early.key), toHex(early.iv)]).toEqual([v.earlyKey, v.earlyIv]);
    expect(toHex(provider.generateKeyShare('x25519', () => fromHex(v.serverPrivate)).computeSecret(fromHex(v.clientPublic)))).toBe(v.ecdhe);
    ks.inputDhe(fromHex(v.ecdhe));
    expect(toHex(ks.handshakeSecret!)).toBe(v.handshakeSecret);
    t.add(fromHex(v.serverHello));
    expect(toHex(ks.clientHandshakeTrafficSecret(t.hash()))).toBe(v.clientHandshakeTrafficSecret);
    expect(toHex(ks.serverHandshakeTrafficSecret(t.hash()))).toBe(v.serverHandshakeTrafficSecret);
    ks.deriveMaster();
    expect(toHex(ks.masterSecret!)).toBe(v.masterSecret);
    t.add(fromHex(v.encryptedExtensions));
    expect('14000020' + toHex(ks.finishedVerifyData(fromHex(v.serverHandshakeTrafficSecret), t.hash()))).toBe(v.serverFinished);
    t.add(fromHex(v.serverFinished));
    expect(toHex(ks.clientApplicationTrafficSecret0(t.hash()))).toBe(v.clientApplicationTrafficSecret);
    expect(toHex(ks.serverApplicationTrafficSecret0(t.hash()))).toBe(v.serverApplicationTrafficSecret);
    expect(toHex(ks.exporterMasterSecret(t.hash()))).toBe(v.exporterMasterSecret);
    t.add(fromHex(v.endOfEarlyData));
    expect('14000020' + toHex(ks.finishedVerifyData(fromHex(v.clientHandshakeTrafficSecret), t.hash()))).toBe(v.clientFinished);
    t.add(fromHex(v.clientFinished));
    expect(toHex(ks.resumptionMasterSecret(t.hash()))).toBe(v.resumptionMasterSecret);
    for (const [secret, key, iv] of [
      [v.serverHandshakeTrafficSecret, v.serverHandshakeKey, v.serverHandshakeIv],
      [v.clientHandshakeTrafficSecret, v.clientHandshakeKey, v.clientHandshakeIv],
      [v.serverApplicationTrafficSecret, v.serverApplicationKey, v.serverApplicationIv],
      [v.clientApplicationTrafficSecret, v.clientApplicationKey, v.clientApplicationIv],
    ]) {
      const k = deriveTrafficKeys(provider, suite, fromHex(secret));
      expect([toHex(k.key), toHex(k.iv)]).toEqual([key, iv]);
    }
  });

  test('client engine: ClientHello with binder, early data, EndOfEarlyData and Finished byte for byte', () => {
    const random = replayRandom([fromHex(v.clientRandom), fromHex(v.clientPrivate)], true);
    const session: SessionTicket = {
      ticket: pskOffer.identities[0].identity.slice(),
      psk: fromHex(v.resumptionPsk),
      suite: 'TLS_AES_128_GCM_SHA256',
      serverName: 'server',
      receivedAt: RECEIVED,
      lifetime: parseInt(v.ticketLifetime, 16),
      ageAdd: parseInt(v.ticketAgeAdd, 16),
      maxEarlyData: parseInt(v.maxEarlyData, 16),
    };
    const client = new TlsClient({
      ...traceClientConfig(provider, random),
      session,
      earlyData: fromHex(v.earlyData),
      // The trace client's own extension list, verbatim; the engine appends pre_shared_key itself.
      editClientHelloExtensions: () => traceCh.extensions.filter((e) => e.type !== ExtensionType.preSharedKey),
    });
    client.start(NOW);
    const first = records(client.pollOutput()!);
    expect(toHex(first[0])).toBe('1603010200' + v.clientHello);
    expect(toHex(first[1])).toBe(v.earlyDataRecord);
    expect(first).toHaveLength(2);

    client.receive(fromHex('1603030060' + v.serverHello), NOW);
    const serverHs = protection(provider, v.serverHandshakeKey, v.serverHandshakeIv);
    client.receive(serverHs.seal(ContentType.handshake, fromHex(v.encryptedExtensions + v.serverFinished.slice(0))), NOW);
    const evs = drain(client);
    expect(evs.filter((e) => e.type === 'error')).toEqual([]);
    expect(client.isHandshakeComplete).toBe(true);
    expect(client.handshakeInfo).toMatchObject({ resumed: true, earlyDataAccepted: true });

    const second = records(client.pollOutput()!);
    expect(second).toHaveLength(2);
    const earlyKeys = protection(provider, v.earlyKey, v.earlyIv);
    earlyKeys.sequenceNumber = 1n; // the early data record was number 0
    expect(open(earlyKeys, second[0])).toEqual({ type: ContentType.handshake, content: v.endOfEarlyData });
    expect(open(protection(provider, v.clientHandshakeKey, v.clientHandshakeIv), second[1])).toEqual({ type: ContentType.handshake, content: v.clientFinished });
    expect(toHex(client.resumptionMasterSecret!)).toBe(v.resumptionMasterSecret);
    expect(keylog(evs)).toEqual(expect.arrayContaining(TRACE_KEYLOG));
  });

  test('server engine: trace ClientHello and early data in, exact ServerHello, early data and secrets out', () => {
    const random = replayRandom([fromHex(v.serverPrivate), fromHex(v.serverRandom)], false);
    const id = identity('rsa');
    const server = new TlsServer({
      provider,
      random,
      certificateChain: id.chain,
      privateKey: id.key,
      middleboxCompat: false,
      ticketKey: new Uint8Array(32),
      tickets: 0,
      maxEarlyData: parseInt(v.maxEarlyData, 16),
    });
    // The ticket's contents as the trace server sealed them (its ticket key is not published).
    const spy = jest.spyOn(server, 'openTicket').mockImplementation((ticket) => {
      expect(toHex(ticket)).toBe(toHex(pskOffer.identities[0].identity));
      return {
        psk: fromHex(v.resumptionPsk),
        suite: suite.id,
        issuedAt: RECEIVED,
        lifetime: parseInt(v.ticketLifetime, 16),
        ageAdd: parseInt(v.ticketAgeAdd, 16),
        maxEarlyData: parseInt(v.maxEarlyData, 16),
        alpn: '',
        serverName: 'server',
      };
    });
    server.receive(fromHex('1603010200' + v.clientHello + v.earlyDataRecord), NOW);
    expect(spy).toHaveBeenCalledTimes(1);
    const evs = drain(server);
    expect(evs.filter((e) => e.type === 'error')).toEqual([]);
    const out = records(server.pollOutput()!);
    expect(toHex(out[0])).toBe('1603030060' + v.serverHello);
    // Its flight decrypts with the trace's server handshake key and ends with a Finished.
    const flight = open(protection(provider, v.serverHandshakeKey, v.serverHandshakeIv), out[1]);
    expect(flight.type).toBe(ContentType.handshake);
    expect(flight.content).toContain('002a0000'); // early_data accepted in EncryptedExtensions
    expect(server.handshakeInfo).toMatchObject({ resumed: true, earlyDataAccepted: true });
    const early = evs.find((e) => e.type === 'early-data');
    expect(early && early.type === 'early-data' && toHex(early.data)).toBe(v.earlyData);
    // The server has derived the early and handshake secrets so far (the first three lines).
    expect(keylog(evs)).toEqual(expect.arrayContaining(TRACE_KEYLOG.slice(0, 3)));
    expect(server.stateName).toBe('ExpectEndOfEarlyData');
  });
});
