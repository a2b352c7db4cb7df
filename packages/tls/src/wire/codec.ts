/**
 * Byte reader and writer for TLS presentation-language structures (RFC 8446 3). The reader checks
 * every length against what remains before slicing (hostile input never allocates past the
 * buffer) and length-prefixed blocks are decoded exactly: `sub()` returns a reader that must be
 * consumed whole (`end()`), leftover bytes are a decode_error.
 */
import { decodeError } from '../errors.js';

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    if (this.remaining < 1) throw decodeError('truncated (u8)');
    return this.buf[this.pos++];
  }
  u16(): number {
    if (this.remaining < 2) throw decodeError('truncated (u16)');
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u24(): number {
    if (this.remaining < 3) throw decodeError('truncated (u24)');
    const v = this.buf[this.pos] * 65536 + ((this.buf[this.pos + 1] << 8) | this.buf[this.pos + 2]);
    this.pos += 3;
    return v;
  }
  u32(): number {
    if (this.remaining < 4) throw decodeError('truncated (u32)');
    const v = this.buf[this.pos] * 2 ** 24 + this.buf[this.pos + 1] * 65536 + ((this.buf[this.pos + 2] << 8) | this.buf[this.pos + 3]);
    this.pos += 4;
    return v;
  }
  /** A view of the next n bytes (callers copy when they keep it beyond the input's lifetime). */
  bytes(n: number): Uint8Array {
    if (n < 0 || this.remaining < n) throw decodeError(`truncated (need ${n}, have ${this.remaining})`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** opaque<min..max> with a 1-, 2- or 3-byte length prefix. */
  vec(lenBytes: 1 | 2 | 3, min = 0, max = Infinity): Uint8Array {
    const n = lenBytes === 1 ? this.u8() : lenBytes === 2 ? this.u16() : this.u24();
    if (n < min || n > max) throw decodeError(`vector length ${n} outside ${min}..${max}`);
    return this.bytes(n);
  }
  /** A reader over a length-prefixed block; the caller must consume it whole and call end(). */
  sub(lenBytes: 1 | 2 | 3, min = 0, max = Infinity): Reader {
    return new Reader(this.vec(lenBytes, min, max));
  }
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
  /** Decode exactly: leftover bytes are a decode_error. */
  end(): void {
    if (this.remaining !== 0) throw decodeError(`${this.remaining} leftover bytes`);
  }
}

/** A growable writer; length prefixes are reserved and patched when the block closes. */
export class Writer {
  private buf: Uint8Array;
  private len = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  get length(): number {
    return this.len;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u24(v: number): this {
    this.ensure(3);
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  /** opaque<..> with an n-byte length prefix. */
  vec(lenBytes: 1 | 2 | 3, b: Uint8Array): this {
    return this.block(lenBytes, (w) => w.bytes(b));
  }
  /** Writes a length-prefixed block: reserves the prefix, runs fn, patches the length. */
  block(lenBytes: 1 | 2 | 3, fn: (w: Writer) => void): this {
    const max = lenBytes === 1 ? 0xff : lenBytes === 2 ? 0xffff : 0xffffff;
    this.ensure(lenBytes);
    const at = this.len;
    this.len += lenBytes;
    fn(this);
    const n = this.len - at - lenBytes;
    if (n > max) throw new RangeError(`block of ${n} bytes does not fit a ${lenBytes}-byte length`);
    for (let i = lenBytes - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) this.buf[at + i] = v & 0xff;
    return this;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder().decode(b),
};
