/**
 * Handshake messages (RFC 8446 4) and their extension bodies: pure decode/encode functions.
 * Every length-prefixed block is decoded exactly; extension lists reject duplicates (4.2).
 */
import { TlsError, decodeError } from '../errors.js';
import { Reader, Writer } from './codec.js';
import { ExtensionType, HandshakeType, TLS12 } from './constants.js';

export interface TlsExtension {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface ClientHello {
  random: Uint8Array;
  legacySessionId: Uint8Array;
  cipherSuites: number[];
  extensions: TlsExtension[];
}
export interface ServerHello {
  random: Uint8Array;
  legacySessionIdEcho: Uint8Array;
  cipherSuite: number;
  extensions: TlsExtension[];
}
export interface CertificateEntry {
  data: Uint8Array;
  extensions: TlsExtension[];
}
export interface CertificateMsg {
  context: Uint8Array;
  entries: CertificateEntry[];
}
export interface CertificateRequest {
  context: Uint8Array;
  extensions: TlsExtension[];
}
export interface CertificateVerify {
  scheme: number;
  signature: Uint8Array;
}
export interface NewSessionTicket {
  lifetime: number;
  ageAdd: number;
  nonce: Uint8Array;
  ticket: Uint8Array;
  extensions: TlsExtension[];
}

export type HandshakeMessage =
  | { type: typeof HandshakeType.clientHello; body: ClientHello }
  | { type: typeof HandshakeType.serverHello; body: ServerHello }
  | { type: typeof HandshakeType.encryptedExtensions; body: TlsExtension[] }
  | { type: typeof HandshakeType.certificate; body: CertificateMsg }
  | { type: typeof HandshakeType.certificateRequest; body: CertificateRequest }
  | { type: typeof HandshakeType.certificateVerify; body: CertificateVerify }
  | { type: typeof HandshakeType.finished; body: Uint8Array }
  | { type: typeof HandshakeType.newSessionTicket; body: NewSessionTicket }
  | { type: typeof HandshakeType.endOfEarlyData; body: null }
  | { type: typeof HandshakeType.keyUpdate; body: { requestUpdate: boolean } };

/** A decoded message plus its exact encoding (type || length || body) for the transcript. */
export type RawHandshake = HandshakeMessage & { raw: Uint8Array };

// ---- extensions -----------------------------------------------------------------------------

export function readExtensions(r: Reader): TlsExtension[] {
  const out: TlsExtension[] = [];
  const seen = new Set<number>();
  while (r.remaining > 0) {
    const type = r.u16();
    const data = r.vec(2);
    // RFC 8446 4.2: at most one extension of each type in a block.
    if (seen.has(type)) throw new TlsError('illegal-parameter', `duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

export function writeExtensions(w: Writer, exts: readonly TlsExtension[]): void {
  w.block(2, (b) => {
    for (const e of exts) b.u16(e.type).vec(2, e.data);
  });
}

export function findExtension(exts: readonly TlsExtension[], type: number): Uint8Array | undefined {
  return exts.find((e) => e.type === type)?.data;
}

// ---- messages -------------------------------------------------------------------------------

function decodeClientHello(r: Reader): ClientHello {
  const legacyVersion = r.u16();
  if (legacyVersion < 0x0301 || legacyVersion > 0x0303) throw new TlsError('protocol-version', `legacy_version ${legacyVersion.toString(16)}`);
  const random = r.bytes(32);
  const legacySessionId = r.vec(1, 0, 32);
  const cs = r.sub(2, 2, 0xfffe);
  const cipherSuites: number[] = [];
  if (cs.remaining % 2) throw decodeError('odd cipher_suites length');
  while (cs.remaining) cipherSuites.push(cs.u16());
  const comp = r.vec(1, 1);
  // RFC 8446 4.1.2: exactly one method, null, for TLS 1.3.
  if (comp.length !== 1 || comp[0] !== 0) throw new TlsError('illegal-parameter', 'legacy_compression_methods must be [0]');
  const exts = r.remaining ? readExtensions(r.sub(2)) : [];
  r.end();
  return { random, legacySessionId, cipherSuites, extensions: exts };
}

function encodeClientHello(w: Writer, m: ClientHello): void {
  w.u16(TLS12).bytes(m.random).vec(1, m.legacySessionId);
  w.block(2, (b) => m.cipherSuites.forEach((s) => b.u16(s)));
  w.u8(1).u8(0);
  writeExtensions(w, m.extensions);
}

function decodeServerHello(r: Reader): ServerHello {
  const legacyVersion = r.u16();
  if (legacyVersion !== TLS12) throw new TlsError('protocol-version', `ServerHello legacy_version ${legacyVersion.toString(16)}`);
  const random = r.bytes(32);
  const legacySessionIdEcho = r.vec(1, 0, 32);
  const cipherSuite = r.u16();
  if (r.u8() !== 0) throw new TlsError('illegal-parameter', 'legacy_compression_method must be 0');
  const extensions = readExtensions(r.sub(2));
  r.end();
  return { random, legacySessionIdEcho, cipherSuite, extensions };
}

function encodeServerHello(w: Writer, m: ServerHello): void {
  w.u16(TLS12).bytes(m.random).vec(1, m.legacySessionIdEcho).u16(m.cipherSuite).u8(0);
  writeExtensions(w, m.extensions);
}

function decodeCertificate(r: Reader): CertificateMsg {
  const context = r.vec(1);
  const list = r.sub(3);
  const entries: CertificateEntry[] = [];
  while (list.remaining) {
    const data = list.vec(3, 1);
    const extensions = readExtensions(list.sub(2));
    entries.push({ data, extensions });
  }
  r.end();
  return { context, entries };
}

function encodeCertificate(w: Writer, m: CertificateMsg): void {
  w.vec(1, m.context);
  w.block(3, (b) => {
    for (const e of m.entries) {
      b.vec(3, e.data);
      writeExtensions(b, e.extensions);
    }
  });
}

export function decodeHandshakeBody(type: number, body: Uint8Array): HandshakeMessage {
  const r = new Reader(body);
  switch (type) {
    case HandshakeType.clientHello:
      return { type, body: decodeClientHello(r) };
    case HandshakeType.serverHello:
      return { type, body: decodeServerHello(r) };
    case HandshakeType.encryptedExtensions: {
      const exts = readExtensions(r.sub(2));
      r.end();
      return { type, body: exts };
    }
    case HandshakeType.certificate:
      return { type, body: decodeCertificate(r) };
    case HandshakeType.certificateRequest: {
      const context = r.vec(1);
      const extensions = readExtensions(r.sub(2, 2));
      r.end();
      return { type, body: { context, extensions } };
    }
    case HandshakeType.certificateVerify: {
      const scheme = r.u16();
      const signature = r.vec(2);
      r.end();
      return { type, body: { scheme, signature } };
    }
    case HandshakeType.finished:
      return { type, body: r.rest() };
    case HandshakeType.newSessionTicket: {
      const lifetime = r.u32();
      const ageAdd = r.u32();
      const nonce = r.vec(1);
      const ticket = r.vec(2, 1);
      const extensions = readExtensions(r.sub(2));
      r.end();
      return { type, body: { lifetime, ageAdd, nonce, ticket, extensions } };
    }
    case HandshakeType.endOfEarlyData:
      r.end();
      return { type, body: null };
    case HandshakeType.keyUpdate: {
      const v = r.u8();
      r.end();
      // RFC 8446 4.6.3: other values are illegal_parameter.
      if (v > 1) throw new TlsError('illegal-parameter', `KeyUpdate request_update ${v}`);
      return { type, body: { requestUpdate: v === 1 } };
    }
    default:
      throw new TlsError('unexpected-message', `unknown handshake type ${type}`);
  }
}

export function encodeHandshake(m: HandshakeMessage): Uint8Array {
  const w = new Writer(512);
  w.u8(m.type);
  w.block(3, (b) => {
    switch (m.type) {
      case HandshakeType.clientHello:
        return encodeClientHello(b, m.body);
      case HandshakeType.serverHello:
        return encodeServerHello(b, m.body);
      case HandshakeType.encryptedExtensions:
        return writeExtensions(b, m.body);
      case HandshakeType.certificate:
        return encodeCertificate(b, m.body);
      case HandshakeType.certificateRequest:
        b.vec(1, m.body.context);
        return writeExtensions(b, m.body.extensions);
      case HandshakeType.certificateVerify:
        b.u16(m.body.scheme).vec(2, m.body.signature);
        return;
      case HandshakeType.finished:
        b.bytes(m.body);
        return;
      case HandshakeType.newSessionTicket:
        b.u32(m.body.lifetime).u32(m.body.ageAdd).vec(1, m.body.nonce).vec(2, m.body.ticket);
        return writeExtensions(b, m.body.extensions);
      case HandshakeType.endOfEarlyData:
        return;
      case HandshakeType.keyUpdate:
        b.u8(m.body.requestUpdate ? 1 : 0);
        return;
    }
  });
  return w.finish();
}

// ---- extension bodies -----------------------------------------------------------------------

function u16List(data: Uint8Array, lenBytes: 1 | 2, minLen: number): number[] {
  const r = new Reader(data);
  const l = r.sub(lenBytes, minLen);
  if (l.remaining % 2) throw decodeError('odd u16 list length');
  const out: number[] = [];
  while (l.remaining) out.push(l.u16());
  r.end();
  return out;
}
function encodeU16List(lenBytes: 1 | 2, v: readonly number[]): Uint8Array {
  return new Writer().block(lenBytes, (b) => v.forEach((x) => b.u16(x))).finish();
}

export const ext = {
  /** supported_groups / signature_algorithms: NamedGroup / SignatureScheme lists (4.2.7, 4.2.3). */
  decodeU16List: (d: Uint8Array) => u16List(d, 2, 2),
  encodeU16List: (v: readonly number[]) => encodeU16List(2, v),
  /** supported_versions in ClientHello (4.2.1). */
  decodeVersionsCH: (d: Uint8Array) => u16List(d, 1, 2),
  encodeVersionsCH: (v: readonly number[]) => encodeU16List(1, v),
  decodeVersionSH(d: Uint8Array): number {
    const r = new Reader(d);
    const v = r.u16();
    r.end();
    return v;
  },
  encodeVersionSH: (v: number) => new Writer(2).u16(v).finish(),
  /** key_share in ClientHello: client_shares list (4.2.8). */
  decodeKeyShareCH(d: Uint8Array): { group: number; keyExchange: Uint8Array }[] {
    const r = new Reader(d);
    const l = r.sub(2);
    const out: { group: number; keyExchange: Uint8Array }[] = [];
    const seen = new Set<number>();
    while (l.remaining) {
      const group = l.u16();
      const keyExchange = l.vec(2, 1);
      // 4.2.8: each group at most once.
      if (seen.has(group)) throw new TlsError('illegal-parameter', 'duplicate key_share group');
      seen.add(group);
      out.push({ group, keyExchange });
    }
    r.end();
    return out;
  },
  encodeKeyShareCH(shares: readonly { group: number; keyExchange: Uint8Array }[]): Uint8Array {
    return new Writer().block(2, (b) => shares.forEach((s) => b.u16(s.group).vec(2, s.keyExchange))).finish();
  },
  decodeKeyShareSH(d: Uint8Array): { group: number; keyExchange: Uint8Array } {
    const r = new Reader(d);
    const group = r.u16();
    const keyExchange = r.vec(2, 1);
    r.end();
    return { group, keyExchange };
  },
  encodeKeyShareSH: (s: { group: number; keyExchange: Uint8Array }) => new Writer().u16(s.group).vec(2, s.keyExchange).finish(),
  decodeKeyShareHRR(d: Uint8Array): number {
    const r = new Reader(d);
    const g = r.u16();
    r.end();
    return g;
  },
  encodeKeyShareHRR: (g: number) => new Writer(2).u16(g).finish(),
  /** server_name (RFC 6066 3): only host_name entries. */
  decodeServerName(d: Uint8Array): string | undefined {
    const r = new Reader(d);
    const l = r.sub(2, 1);
    let name: string | undefined;
    while (l.remaining) {
      const t = l.u8();
      const v = l.vec(2, 1);
      if (t === 0) {
        if (name !== undefined) throw new TlsError('illegal-parameter', 'two host_name entries');
        name = new TextDecoder().decode(v);
      }
    }
    r.end();
    return name;
  },
  encodeServerName(name: string): Uint8Array {
    return new Writer().block(2, (b) => b.u8(0).vec(2, new TextEncoder().encode(name))).finish();
  },
  /** ALPN protocol_name_list (RFC 7301 3.1). */
  decodeAlpn(d: Uint8Array): string[] {
    const r = new Reader(d);
    const l = r.sub(2, 2);
    const out: string[] = [];
    while (l.remaining) out.push(new TextDecoder().decode(l.vec(1, 1)));
    r.end();
    return out;
  },
  encodeAlpn(protos: readonly string[]): Uint8Array {
    return new Writer().block(2, (b) => protos.forEach((p) => b.vec(1, new TextEncoder().encode(p)))).finish();
  },
  /** record_size_limit (RFC 8449 4): uint16, at least 64. */
  decodeRecordSizeLimit(d: Uint8Array): number {
    const r = new Reader(d);
    const v = r.u16();
    r.end();
    if (v < 64) throw new TlsError('illegal-parameter', `record_size_limit ${v} < 64`);
    return v;
  },
  encodeRecordSizeLimit: (v: number) => new Writer(2).u16(v).finish(),
  /** cookie (4.2.2). */
  decodeCookie(d: Uint8Array): Uint8Array {
    const r = new Reader(d);
    const c = r.vec(2, 1);
    r.end();
    return c;
  },
  encodeCookie: (c: Uint8Array) => new Writer().vec(2, c).finish(),
  /** psk_key_exchange_modes (4.2.9). */
  decodePskModes(d: Uint8Array): number[] {
    const r = new Reader(d);
    const m = Array.from(r.vec(1, 1));
    r.end();
    return m;
  },
  encodePskModes: (m: readonly number[]) => new Writer().vec(1, Uint8Array.from(m)).finish(),
  /** pre_shared_key in ClientHello (4.2.11): identities and binders. */
  decodePskCH(d: Uint8Array): { identities: { identity: Uint8Array; obfuscatedTicketAge: number }[]; binders: Uint8Array[]; bindersLength: number } {
    const r = new Reader(d);
    const il = r.sub(2, 7);
    const identities: { identity: Uint8Array; obfuscatedTicketAge: number }[] = [];
    while (il.remaining) identities.push({ identity: il.vec(2, 1), obfuscatedTicketAge: il.u32() });
    const before = r.remaining;
    const bl = r.sub(2, 33);
    const binders: Uint8Array[] = [];
    while (bl.remaining) binders.push(bl.vec(1, 32));
    r.end();
    if (binders.length !== identities.length) throw new TlsError('illegal-parameter', 'binders and identities differ in number');
    return { identities, binders, bindersLength: before };
  },
  decodePskSH(d: Uint8Array): number {
    const r = new Reader(d);
    const v = r.u16();
    r.end();
    return v;
  },
  encodePskSH: (i: number) => new Writer(2).u16(i).finish(),
  /** early_data in NewSessionTicket: max_early_data_size (4.2.10). */
  decodeMaxEarlyData(d: Uint8Array): number {
    const r = new Reader(d);
    const v = r.u32();
    r.end();
    return v;
  },
  encodeMaxEarlyData: (n: number) => new Writer(4).u32(n).finish(),
  empty(d: Uint8Array): void {
    if (d.length) throw decodeError('extension must be empty');
  },
};

export { ExtensionType };
