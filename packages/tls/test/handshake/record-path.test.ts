/**
 * The fast record path: records sealed into caller buffers, batches of records in one output
 * chunk, records read as views of the input, partial records kept across reads, no aliasing of
 * buffers the caller reuses, and the certificate parse cache.
 */
import fc from 'fast-check';
import { nodeCrypto } from '../../src/crypto/node.js';
import { nobleCrypto } from '../../src/crypto/noble.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { chainVerifier } from '../../src/handshake/certs.js';
import { TlsClient } from '../../src/handshake/client.js';
import type { ClientConfig, ServerConfig } from '../../src/handshake/config.js';
import type { TlsEvent } from '../../src/handshake/connection.js';
import { TlsServer } from '../../src/handshake/server.js';
import { RecordProtection, RecordReader, padToMultiple } from '../../src/record/protection.js';
import { toHex } from '../../src/wire/codec.js';
import { CipherSuites, type CipherSuiteName } from '../../src/wire/constants.js';
import { identity } from '../support/pki.js';
import { drain, pump, rnd } from '../support/pair.js';

const NOW = Date.now() + 60_000;
const keys = (len: number) => ({ key: Uint8Array.from({ length: len }, (_, i) => i + 1), iv: Uint8Array.from({ length: 12 }, (_, i) => 200 - i) });
const PROVIDERS: [string, CryptoProvider][] = [
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
];

function pair(c: Partial<ClientConfig> = {}, s: Partial<ServerConfig> = {}, provider: CryptoProvider = nodeCrypto) {
  const id = identity('ec');
  const client = new TlsClient({ provider, random: rnd, serverName: 'localhost', verifier: chainVerifier(id.chain, provider), ...c });
  const server = new TlsServer({ provider, random: rnd, certificateChain: id.chain, privateKey: id.key, tickets: 0, ...s });
  client.start(NOW);
  pump(client, server, NOW);
  expect(client.isHandshakeComplete && server.isHandshakeComplete).toBe(true);
  return { client, server };
}
const received = (evs: TlsEvent[]): Uint8Array => {
  const parts = evs.filter((e): e is { type: 'data'; data: Uint8Array } => e.type === 'data').map((e) => e.data);
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
};
/** Splits a byte stream into its records' [header, fragment] (5.1). */
function records(stream: Uint8Array): { header: Uint8Array; fragment: Uint8Array }[] {
  const out = [];
  for (let o = 0; o < stream.length; ) {
    const len = (stream[o + 3] << 8) | stream[o + 4];
    out.push({ header: stream.subarray(o, o + 5), fragment: stream.subarray(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return out;
}

describe('RecordProtection.sealInto', () => {
  for (const [pname, provider] of PROVIDERS) {
    test.each(Object.values(CipherSuites).map((s) => [s.name, s] as const))(`${pname}: %s: sealInto at an offset of a dirty buffer writes exactly the bytes seal() returns`, (_n, suite) => {
      const a = new RecordProtection(provider, suite, keys(suite.keyLength));
      const b = new RecordProtection(provider, suite, keys(suite.keyLength));
      for (const [len, pad] of [
        [0, 0],
        [1, 0],
        [300, 7],
        [16384, 0],
      ]) {
        const content = Uint8Array.from({ length: len }, (_, i) => (i * 31) & 0xff);
        const want = a.seal(23, content, pad);
        expect(want.length).toBe(RecordProtection.sealedLength(len, pad));
        const out = new Uint8Array(want.length + 20).fill(0xee);
        const n = b.sealInto(23, content, out, 9, pad);
        expect(n).toBe(want.length);
        expect(toHex(out.subarray(9, 9 + n))).toBe(toHex(want));
        // Bytes outside the record are untouched.
        expect(out.subarray(0, 9).every((x) => x === 0xee)).toBe(true);
        expect(out.subarray(9 + n).every((x) => x === 0xee)).toBe(true);
      }
      expect(b.sequenceNumber).toBe(4n);
    });
  }

  test('sealInto refuses a buffer too small for the record (api-misuse), before using a sequence number', () => {
    const p = new RecordProtection(nodeCrypto, CipherSuites.TLS_AES_128_GCM_SHA256, keys(16));
    expect(() => p.sealInto(23, new Uint8Array(10), new Uint8Array(5 + 10 + 1 + 15), 0)).toThrow(expect.objectContaining({ code: 'api-misuse' }));
    expect(() => p.sealInto(23, new Uint8Array(10), new Uint8Array(100), 80)).toThrow(expect.objectContaining({ code: 'api-misuse' }));
    expect(p.sequenceNumber).toBe(0n);
  });

  test('the padding policy is applied once per record and clamped to the limit (RFC 8449 4)', () => {
    const p = new RecordProtection(nodeCrypto, CipherSuites.TLS_AES_128_GCM_SHA256, keys(16));
    let calls = 0;
    p.padding = (t, len) => {
      calls++;
      return padToMultiple(64)(t, len);
    };
    p.maxPlaintext = 100;
    expect(p.paddingFor(23, 10)).toBe(53);
    expect(p.paddingFor(23, 95)).toBe(5); // would be 32, clamped to limit - content
    expect(p.seal(23, new Uint8Array(10)).length).toBe(5 + 64 + 16);
    expect(calls).toBe(3);
  });

  test('the nonce for sequence numbers above 2^32 uses both halves (RFC 8446 5.3)', () => {
    const p = new RecordProtection(nodeCrypto, CipherSuites.TLS_AES_128_GCM_SHA256, keys(16));
    const iv = keys(16).iv;
    const seq = 0x89abcdef01234567n;
    const want = iv.slice();
    for (let i = 0; i < 8; i++) want[4 + i] ^= Number((seq >> BigInt(8 * (7 - i))) & 0xffn);
    expect(toHex(p.nonce(seq))).toBe(toHex(want));
  });
});

describe('RecordReader: views, partial records across reads, reused input buffers', () => {
  const suite = CipherSuites.TLS_AES_128_GCM_SHA256;

  test('a record inside one pushed buffer is returned as a view (no copy)', () => {
    const a = new RecordProtection(nodeCrypto, suite, keys(16));
    const rec = a.seal(23, new Uint8Array(100).fill(9));
    const rr = new RecordReader();
    rr.push(rec);
    const r = rr.next()!;
    expect(r.fragment.buffer).toBe(rec.buffer);
    expect(r.fragment.length).toBe(rec.length - 5);
  });

  test('property: records split anywhere, input buffers overwritten after each read, decrypt intact', () => {
    const a = new RecordProtection(nodeCrypto, suite, keys(16));
    const sizes = [0, 1, 200, 16384, 5, 3000, 16384, 17];
    const contents = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i + k * 7) & 0xff));
    const stream = Uint8Array.from(contents.flatMap((c) => Array.from(a.seal(23, c))));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 40 }), (cuts) => {
        const b = new RecordProtection(nodeCrypto, suite, keys(16));
        const rr = new RecordReader();
        const got: string[] = [];
        const scratch = new Uint8Array(20000);
        let o = 0;
        let k = 0;
        while (o < stream.length) {
          const n = Math.min(cuts[k++ % cuts.length], stream.length - o);
          // The caller's one reusable read buffer, as a transport driver would have.
          scratch.set(stream.subarray(o, o + n));
          rr.push(scratch.subarray(0, n));
          for (let r = rr.next(); r; r = rr.next()) got.push(toHex(b.open(r.header, r.fragment).content));
          rr.detach();
          scratch.fill(0xa5);
          o += n;
        }
        expect(rr.bufferedBytes).toBe(0);
        expect(got).toEqual(contents.map(toHex));
      }),
      { numRuns: 60 },
    );
  });

  test('a partial record is held in one buffer no bigger than the record (bounded)', () => {
    const a = new RecordProtection(nodeCrypto, suite, keys(16));
    const rec = a.seal(23, new Uint8Array(16384));
    const rr = new RecordReader();
    rr.push(rec.subarray(0, 3));
    rr.detach();
    rr.push(rec.subarray(3, 1000));
    expect(rr.next()).toBeNull();
    rr.detach();
    for (let o = 1000; o < rec.length - 1; o += 4000) {
      rr.push(rec.subarray(o, Math.min(o + 4000, rec.length - 1)));
      expect(rr.next()).toBeNull();
      rr.detach();
      expect(rr.bufferedBytes).toBeLessThan(rec.length);
    }
    rr.push(rec.subarray(rec.length - 1));
    const r = rr.next()!;
    expect(r.fragment.length).toBe(rec.length - 5);
    expect(toHex(r.fragment)).toBe(toHex(rec.subarray(5)));
  });
});

describe('engine record path', () => {
  const suites: CipherSuiteName[] = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'];
  for (const [pname, provider] of PROVIDERS)
    for (const suite of suites) {
      test(`${pname}: ${suite}: one large write leaves as one output chunk of full records that the peer reads intact`, () => {
        const { client, server } = pair({ cipherSuites: [suite] }, {}, provider);
        const data = rnd(5 * 16384 + 123);
        client.write(data, NOW);
        const out = client.pollOutput()!;
        expect(client.pollOutput()).toBeNull();
        const recs = records(out);
        expect(recs.map((r) => r.fragment.length)).toEqual([...Array(5).fill(16384 + 17), 123 + 17]);
        server.receive(out, NOW);
        expect(toHex(received(drain(server)))).toBe(toHex(data));
      });
    }

  test('the caller may reuse its buffer after write(): the peer gets what was written', () => {
    const { client, server } = pair();
    const buf = new Uint8Array(40000).fill(7);
    client.write(buf, NOW);
    buf.fill(8);
    client.write(buf.subarray(0, 10), NOW);
    server.receive(client.pollOutput()!, NOW);
    const got = received(drain(server));
    expect(got.length).toBe(40010);
    expect(got.subarray(0, 40000).every((x) => x === 7)).toBe(true);
    expect(got.subarray(40000).every((x) => x === 8)).toBe(true);
  });

  test('data events do not alias the receive() buffer, which the caller may reuse', () => {
    const { client, server } = pair();
    client.write(new Uint8Array(3000).fill(1), NOW);
    client.write(new Uint8Array(20).fill(2), NOW);
    const wire = client.pollOutput()!;
    server.receive(wire, NOW);
    wire.fill(0);
    const evs = drain(server).filter((e): e is { type: 'data'; data: Uint8Array } => e.type === 'data');
    expect(evs.map((e) => e.data.length)).toEqual([3000, 20]);
    expect(evs[0].data.every((x) => x === 1) && evs[1].data.every((x) => x === 2)).toBe(true);
    for (const e of evs) expect(e.data.buffer).not.toBe(wire.buffer);
  });

  test('Buffers work like Uint8Arrays: a Buffer written before the handshake, or fed in pieces and then reused, is copied (Buffer.slice() is a view)', () => {
    const id = identity('ec');
    const client = new TlsClient({ provider: nodeCrypto, random: rnd, serverName: 'localhost', verifier: chainVerifier(id.chain, nodeCrypto) });
    const server = new TlsServer({ provider: nodeCrypto, random: rnd, certificateChain: id.chain, privateKey: id.key, tickets: 0 });
    client.start(NOW);
    const early = Buffer.alloc(100, 0x41);
    client.write(early, NOW); // queued until the keys exist
    early.fill(0x42);
    const ev = pump(client, server, NOW);
    expect(Buffer.from(received(ev.b)).toString()).toBe('A'.repeat(100));
    client.write(new Uint8Array(50).fill(0x43), NOW);
    const wire = Buffer.from(client.pollOutput()!);
    // Every piece goes through one reused Buffer, 3 bytes at a time (header split too).
    const scratch = Buffer.alloc(3);
    for (let o = 0; o < wire.length; o += 3) {
      const n = wire.copy(scratch, 0, o, o + 3);
      server.receive(scratch.subarray(0, n), NOW);
      scratch.fill(0xff);
    }
    expect(Buffer.from(received(drain(server))).toString()).toBe('C'.repeat(50));
  });

  test('automatic KeyUpdate inside one large write (RFC 8446 5.5): records before it under the old key, after it under the new', () => {
    const { client, server } = pair({ keyUpdateAfterRecords: 3 });
    const data = rnd(10 * 16384);
    client.write(data, NOW);
    const ev = pump(client, server, NOW);
    expect(ev.b.filter((e) => e.type === 'error')).toEqual([]);
    expect(toHex(received(ev.b))).toBe(toHex(data));
    expect(ev.b.filter((e) => e.type === 'key-update').length).toBe(3);
    expect(client.recordProtection.write!.sequenceNumber).toBe(1n);
  });

  test('padding policy with a batch: every record padded, content intact', () => {
    const { client, server } = pair({ padding: padToMultiple(1000) });
    const data = rnd(40000);
    client.write(data, NOW);
    const out = client.pollOutput()!;
    for (const r of records(out)) expect((r.fragment.length - 16) % 1000 === 0 || r.fragment.length - 16 === 16385).toBe(true);
    server.receive(out, NOW);
    expect(toHex(received(drain(server)))).toBe(toHex(data));
  });
});

describe('chainVerifier certificate cache', () => {
  test('a certificate changed in place after a successful verification is verified again (cache keyed by content)', () => {
    const id = identity('ec');
    const anchor = id.chain[0].slice();
    const v = chainVerifier([anchor], nodeCrypto);
    const chain = [id.chain[0].slice()];
    expect(v.verify(chain, { hostname: 'localhost', now: NOW }).type).toBe('ec-p256');
    // Tamper with the last byte of the signature, in the same buffer.
    chain[0][chain[0].length - 1] ^= 1;
    expect(() => v.verify(chain, { hostname: 'localhost', now: NOW })).toThrow();
    // The anchor's buffer changed after it was parsed: the verifier keeps the anchor it parsed,
    // and the untampered certificate still verifies.
    anchor.fill(0);
    expect(v.verify([id.chain[0].slice()], { hostname: 'localhost', now: NOW }).type).toBe('ec-p256');
  });

  test('hostname and validity are checked on every call, not cached', () => {
    const id = identity('ec');
    const v = chainVerifier(id.chain, nodeCrypto);
    expect(() => v.verify(id.chain, { hostname: 'localhost', now: NOW })).not.toThrow();
    expect(() => v.verify(id.chain, { hostname: 'example.com', now: NOW })).toThrow(expect.objectContaining({ code: 'hostname-mismatch' }));
    expect(() => v.verify(id.chain, { hostname: 'localhost', now: NOW + 10 * 86400_000 })).toThrow(expect.objectContaining({ code: 'expired' }));
  });
});
