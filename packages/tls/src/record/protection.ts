/**
 * Record protection for one direction (RFC 8446 5.2-5.3), usable standalone: give it an AEAD key
 * and IV (or a traffic secret) and it seals/opens TLSCiphertext records. The nonce is under the
 * caller's control, as TCPLS needs (draft-piraux-tcpls): `sequenceNumber` is settable and
 * `connectionId` (32 bits) is XORed into the top of the IV, so nonce = IV XOR (connId << 64 | seq).
 * With connectionId 0 this is exactly RFC 8446 5.3.
 */
import type { AeadCipher, CryptoProvider } from '../crypto/provider.js';
import { hkdfExpandLabel } from '../crypto/hkdf.js';
import { TlsError } from '../errors.js';
import type { CipherSuite } from '../wire/constants.js';
import { ContentType } from '../wire/constants.js';

/** RFC 8446 5.2: TLSCiphertext.length <= 2^14 + 256. */
export const MAX_CIPHERTEXT = 16384 + 256;
/** RFC 8446 5.1: TLSPlaintext.length (and TLSInnerPlaintext content) <= 2^14. */
export const MAX_PLAINTEXT = 16384;

export interface TrafficKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

/** RFC 8446 7.3: [sender]_write_key / _iv from a traffic secret. */
export function deriveTrafficKeys(provider: CryptoProvider, suite: CipherSuite, secret: Uint8Array): TrafficKeys {
  return {
    key: hkdfExpandLabel(provider, suite.hash, secret, 'key', new Uint8Array(0), suite.keyLength),
    iv: hkdfExpandLabel(provider, suite.hash, secret, 'iv', new Uint8Array(0), suite.ivLength),
  };
}

/** Padding policy: how many zero bytes to add after the content type (RFC 8446 5.4). */
export type PaddingPolicy = (contentType: number, length: number) => number;
export const noPadding: PaddingPolicy = () => 0;
/** Pads every record to a multiple of `block` bytes (content + type byte), capped by the limit. */
export function padToMultiple(block: number): PaddingPolicy {
  return (_t, len) => (block - ((len + 1) % block)) % block;
}

/** One-byte trailers (content type, no padding), one per type, reused: AEADs only read them. */
const trailers = new Map<number, Uint8Array>();
function typeTrailer(contentType: number): Uint8Array {
  let t = trailers.get(contentType);
  if (!t) {
    t = new Uint8Array([contentType]);
    trailers.set(contentType, t);
  }
  return t;
}

export class RecordProtection {
  private readonly aead: AeadCipher;
  private readonly iv: Uint8Array;
  /** 64-bit record sequence number (RFC 8446 5.3), next one to use. */
  sequenceNumber = 0n;
  /** TCPLS: a 32-bit value XORed into IV bytes 0..3 (draft-piraux-tcpls); 0 for plain TLS. */
  connectionId = 0;
  /** Plaintext limit for records we seal (RFC 8449 record_size_limit of the peer, minus 1). */
  maxPlaintext = MAX_PLAINTEXT;
  padding: PaddingPolicy = noPadding;

  constructor(provider: CryptoProvider, readonly suite: CipherSuite, keys: TrafficKeys) {
    if (keys.key.length !== suite.keyLength || keys.iv.length !== 12) throw new TlsError('api-misuse', 'bad key or IV length');
    this.aead = provider.createAead(suite.aead, keys.key);
    this.iv = keys.iv.slice();
  }

  static fromSecret(provider: CryptoProvider, suite: CipherSuite, secret: Uint8Array): RecordProtection {
    return new RecordProtection(provider, suite, deriveTrafficKeys(provider, suite, secret));
  }

  /** The per-record nonce: IV XOR (connectionId << 64 | seq), RFC 8446 5.3 + TCPLS. */
  nonce(seq: bigint = this.sequenceNumber): Uint8Array {
    const n = this.iv.slice();
    const c = this.connectionId >>> 0;
    n[0] ^= c >>> 24;
    n[1] ^= (c >>> 16) & 0xff;
    n[2] ^= (c >>> 8) & 0xff;
    n[3] ^= c & 0xff;
    // Two 32-bit halves: two BigInt operations per record instead of sixteen.
    const hi = Number((seq >> 32n) & 0xffffffffn);
    const lo = Number(seq & 0xffffffffn);
    n[4] ^= hi >>> 24;
    n[5] ^= (hi >>> 16) & 0xff;
    n[6] ^= (hi >>> 8) & 0xff;
    n[7] ^= hi & 0xff;
    n[8] ^= lo >>> 24;
    n[9] ^= (lo >>> 16) & 0xff;
    n[10] ^= (lo >>> 8) & 0xff;
    n[11] ^= lo & 0xff;
    return n;
  }

  private nextSeq(): bigint {
    const s = this.sequenceNumber;
    // RFC 8446 5.3: the sequence number must not wrap.
    if (s >= 0xffffffffffffffffn) throw new TlsError('internal-error', 'record sequence number exhausted');
    this.sequenceNumber = s + 1n;
    return s;
  }

  /**
   * The padding `seal`/`sealInto` will use for a record of `contentLength` bytes: `padLen` or the
   * policy's choice, clamped so content + type + padding stays within the limit (RFC 8449 4:
   * maxPlaintext is the limit minus the type byte).
   */
  paddingFor(contentType: number, contentLength: number, padLen?: number): number {
    const pad = padLen ?? this.padding(contentType, contentLength);
    return Math.max(0, Math.min(pad, this.maxPlaintext - contentLength));
  }

  /** Bytes `sealInto` writes for this content length and padding (header + inner plaintext + tag). */
  static sealedLength(contentLength: number, padLen = 0): number {
    return 5 + contentLength + 1 + padLen + 16;
  }

  /** Seals one record: returns header || ciphertext (TLSCiphertext, 5.2). */
  seal(contentType: number, content: Uint8Array, padLen?: number): Uint8Array {
    if (content.length > this.maxPlaintext) throw new TlsError('api-misuse', `record content ${content.length} > ${this.maxPlaintext}`);
    const pad = this.paddingFor(contentType, content.length, padLen);
    const out = new Uint8Array(RecordProtection.sealedLength(content.length, pad));
    this.sealInto(contentType, content, out, 0, pad);
    return out;
  }

  /**
   * Seals one record into `out` at `offset` (header || ciphertext || tag) and returns its length,
   * RecordProtection.sealedLength(content.length, pad) with pad = paddingFor(...). Writing records
   * straight into the caller's buffer lets a batch of records share one allocation and go to the
   * transport without being concatenated again.
   */
  sealInto(contentType: number, content: Uint8Array, out: Uint8Array, offset: number, padLen?: number): number {
    if (content.length > this.maxPlaintext) throw new TlsError('api-misuse', `record content ${content.length} > ${this.maxPlaintext}`);
    const pad = this.paddingFor(contentType, content.length, padLen);
    const total = RecordProtection.sealedLength(content.length, pad);
    if (!Number.isInteger(offset) || offset < 0 || offset + total > out.length) throw new TlsError('api-misuse', 'sealInto: output buffer too small');
    const len = total - 5; // TLSCiphertext.length: inner plaintext + tag (5.2)
    out[offset] = ContentType.applicationData; // opaque_type (5.2)
    out[offset + 1] = 0x03; // legacy_record_version 0x0303
    out[offset + 2] = 0x03;
    out[offset + 3] = len >>> 8;
    out[offset + 4] = len & 0xff;
    // The additional data is the record header itself (5.2); it precedes the sealed range in `out`.
    const header = out.subarray(offset, offset + 5);
    const nonce = this.nonce(this.nextSeq());
    // TLSInnerPlaintext's tail: the real content type, then the zero padding (5.2, 5.4).
    let trailer = typeTrailer(contentType);
    if (pad > 0) {
      trailer = new Uint8Array(1 + pad);
      trailer[0] = contentType;
    }
    if (this.aead.sealInto) {
      const n = this.aead.sealInto(nonce, header, content, trailer, out, offset + 5);
      if (n !== len) throw new TlsError('internal-error', `AEAD wrote ${n} bytes, expected ${len}`);
    } else {
      const inner = new Uint8Array(content.length + trailer.length);
      inner.set(content);
      inner.set(trailer, content.length);
      const ct = this.aead.seal(nonce, header, inner);
      if (ct.length !== len) throw new TlsError('internal-error', `AEAD returned ${ct.length} bytes, expected ${len}`);
      out.set(ct, offset + 5);
    }
    return total;
  }

  /**
   * Opens a record given its 5-byte header and fragment. Returns the real content type and content
   * (padding removed). Throws bad_record_mac when authentication fails, and unexpected_message
   * when the inner plaintext is all zeros (5.4). The content never shares memory with `header` or
   * `fragment`, so it stays valid after the caller reuses its input buffer.
   */
  open(header: Uint8Array, fragment: Uint8Array): { type: number; content: Uint8Array } {
    if (fragment.length > MAX_CIPHERTEXT) throw new TlsError('record-overflow', `ciphertext ${fragment.length} > 2^14+256`);
    const seq = this.sequenceNumber;
    let pt = this.aead.open(this.nonce(seq), header, fragment);
    if (pt === null) throw new TlsError('bad-record-mac', 'record authentication failed');
    this.nextSeq();
    // Providers normally return fresh memory (node:crypto and noble do); one that decrypts in place
    // would hand back a view of the input, which the caller may reuse: copy only then.
    if (pt.buffer === fragment.buffer || pt.buffer === header.buffer) pt = new Uint8Array(pt); // a copy (Buffer's slice() would be a view)
    let i = pt.length - 1;
    while (i >= 0 && pt[i] === 0) i--;
    if (i < 0) throw new TlsError('unexpected-message', 'record with no non-zero content type');
    // 5.4: the content (before type and padding) at most 2^14 (or our advertised limit).
    if (i > MAX_PLAINTEXT) throw new TlsError('record-overflow', 'inner plaintext too long');
    return { type: pt[i], content: pt.subarray(0, i) };
  }

  /** Sealing a plaintext record without protection (before keys exist): header || content. */
  static plaintext(contentType: number, content: Uint8Array, legacyVersion = 0x0303): Uint8Array {
    const out = new Uint8Array(5 + content.length);
    out[0] = contentType;
    out[1] = legacyVersion >>> 8;
    out[2] = legacyVersion & 0xff;
    out[3] = content.length >>> 8;
    out[4] = content.length & 0xff;
    out.set(content, 5);
    return out;
  }
}

/**
 * Splits a byte stream into records (5.1). The buffer is bounded: a header announcing more than
 * 2^14+256 bytes is a record_overflow before anything is buffered.
 */
export class RecordReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /**
   * A partial record kept by detach(), in a buffer of the whole record's size (its header is
   * known): later bytes are appended into it, so a record split across transport reads is copied
   * once, not once when detached and again when joined. While set, it is chunks[0] (a prefix view).
   */
  private assembly: Uint8Array | null = null;
  private assemblyFill = 0;

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.assembly && this.chunks.length === 1) {
      const take = Math.min(data.length, this.assembly.length - this.assemblyFill);
      this.assembly.set(data.subarray(0, take), this.assemblyFill);
      this.assemblyFill += take;
      this.chunks[0] = this.assembly.subarray(0, this.assemblyFill);
      this.buffered += take;
      if (take === data.length) return;
      data = data.subarray(take);
    }
    this.chunks.push(data);
    this.buffered += data.length;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      const take = Math.min(c.length, n - o);
      out.set(c.subarray(0, take), o);
      o += take;
      if (o === n) break;
    }
    return out;
  }

  private consume(n: number): void {
    // Records are consumed whole, and the assembly holds exactly one: consuming always frees it.
    this.assembly = null;
    this.assemblyFill = 0;
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0];
      if (c.length <= n) {
        n -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  /**
   * Copies what is still buffered (at most one partial record, < 5 + 2^14 + 256 bytes) out of the
   * caller's buffers, which `push` holds by reference: drivers may reuse them once `receive` returns.
   */
  detach(): void {
    if (this.chunks.length === 0) return;
    if (this.assembly) return; // everything buffered is already in our own buffer (push appended it)
    if (this.buffered >= 5) {
      const h = this.peek(5);
      const total = 5 + ((h[3] << 8) | h[4]);
      // A partial record with a plausible header: keep it in a buffer sized for the whole record.
      if (total <= 5 + MAX_CIPHERTEXT && this.buffered < total) {
        const a = new Uint8Array(total);
        let o = 0;
        for (const c of this.chunks) {
          a.set(c, o);
          o += c.length;
        }
        this.assembly = a;
        this.assemblyFill = o;
        this.chunks = [a.subarray(0, o)];
        return;
      }
    }
    // new Uint8Array(x) copies even when the caller pushed a Buffer (whose slice() is a view).
    const all = this.chunks.length === 1 ? new Uint8Array(this.chunks[0]) : this.peek(this.buffered);
    this.chunks = [all];
  }

  /**
   * The next whole record, or null if more bytes are needed. A record that lies inside one pushed
   * buffer is returned as views of it (no copy): they are valid until that buffer is reused, i.e.
   * for the duration of the caller's `receive`. A record spanning buffers is copied once.
   */
  next(): { header: Uint8Array; type: number; fragment: Uint8Array } | null {
    if (this.buffered < 5) return null;
    const first = this.chunks[0];
    const header = first.length >= 5 ? first.subarray(0, 5) : this.peek(5);
    const type = header[0];
    if (type !== ContentType.applicationData && type !== ContentType.handshake && type !== ContentType.alert && type !== ContentType.changeCipherSpec) {
      throw new TlsError('unexpected-message', `unknown record content type ${type}`);
    }
    // 5.1: legacy_record_version is ignored except that it must look like TLS (0x03xx).
    if (header[1] !== 0x03) throw new TlsError('decode-error', 'record version not 3.x');
    const len = (header[3] << 8) | header[4];
    if (len > MAX_CIPHERTEXT) throw new TlsError('record-overflow', `record length ${len} > 2^14+256`);
    if (this.buffered < 5 + len) return null;
    const all = first.length >= 5 + len ? first.subarray(0, 5 + len) : this.peek(5 + len);
    this.consume(5 + len);
    return { header: all.subarray(0, 5), type, fragment: all.subarray(5) };
  }
}
