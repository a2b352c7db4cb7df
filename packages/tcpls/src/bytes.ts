/**
 * Small bounds-checked big-endian readers and a writer over Uint8Array views. DataViews are always
 * built with the view's byteOffset (a view may start anywhere inside a larger buffer).
 */
import { TcplsError } from './errors.js';

export function viewOf(u8: Uint8Array): DataView {
  return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Forward reader that throws `frame-encoding` when a field runs past the end. */
export class Reader {
  private readonly dv: DataView;
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.dv = viewOf(buf);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  need(n: number): void {
    if (n > this.remaining) {
      throw new TcplsError('frame-encoding', `${this.what}: needs ${n} more bytes, has ${this.remaining}`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Decode exactly: leftover bytes are an error (style.md rule 4). */
  end(): void {
    if (this.remaining !== 0) throw new TcplsError('frame-encoding', `${this.what}: ${this.remaining} trailing bytes`);
  }
}

/** Writer into a buffer of known size (sizes are computed first, then fields written). */
export class Writer {
  private readonly dv: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array) {
    this.dv = viewOf(buf);
  }
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.dv.setUint16(this.pos, v);
    this.pos += 2;
  }
  u32(v: number): void {
    this.dv.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }
  u64(v: bigint): void {
    this.dv.setBigUint64(this.pos, v);
    this.pos += 8;
  }
  f64(v: number): void {
    this.dv.setFloat64(this.pos, v);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

export function isU8(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xff;
}
export function isU16(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff;
}
export function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}
export function isU64(v: bigint): boolean {
  return v >= 0n && v <= 0xffffffffffffffffn;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
