/**
 * A bounded DER reader (ITU-T X.690 8 and 10) and a tiny writer.
 *
 * Every parser here faces hostile input: the header is checked before the length is used, the
 * declared length is checked against the bytes that are left before anything is sliced, nesting is
 * bounded, and DER's rules are enforced (definite, minimal lengths; no high-tag-number form since
 * X.509 never needs it). Values are views into the input (no copies, so no attacker-sized
 * allocation).
 */

export type DerErrorCode =
  | 'truncated' // the header itself runs past the end
  | 'length-past-end' // the declared length is longer than what is left
  | 'bad-length' // indefinite or non-minimal length, or a length field over 4 bytes
  | 'bad-tag' // an unexpected tag, or the high-tag-number form
  | 'too-deep' // nesting deeper than the limit
  | 'trailing-data' // bytes left after an element that must be consumed whole
  | 'bad-value'; // an element whose contents break its type's rules

export class DerError extends Error {
  constructor(
    readonly code: DerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DerError';
  }
}

export const DerTag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tags: [n] primitive is 0x80|n, [n] constructed is 0xa0|n. */
export const contextTag = (n: number, constructed: boolean): number => (constructed ? 0xa0 : 0x80) | n;

/** X.509 certificates nest about 10 levels; 32 leaves room without allowing a stack attack. */
export const DER_MAX_DEPTH = 32;

export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  readonly constructed: boolean;
  /** The whole TLV. */
  readonly bytes: Uint8Array;
  /** The contents octets. */
  readonly value: Uint8Array;
  /** Nesting depth of the reader that produced it (0 at top level). */
  readonly depth: number;
}

export class DerReader {
  private offset = 0;

  constructor(
    private readonly buf: Uint8Array,
    readonly depth = 0,
    readonly maxDepth = DER_MAX_DEPTH,
  ) {
    if (depth > maxDepth) throw new DerError('too-deep', `DER nesting deeper than ${maxDepth}`);
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  atEnd(): boolean {
    return this.offset >= this.buf.length;
  }

  peekTag(): number | null {
    return this.atEnd() ? null : this.buf[this.offset];
  }

  /** Reads the next TLV (X.690 8.1.2-8.1.3, with DER's 10.1 minimal definite lengths). */
  read(): DerElement {
    const buf = this.buf;
    const start = this.offset;
    if (start + 2 > buf.length) throw new DerError('truncated', 'DER header truncated');
    const tag = buf[start];
    if ((tag & 0x1f) === 0x1f) throw new DerError('bad-tag', 'DER high-tag-number form is not supported');
    let pos = start + 1;
    const first = buf[pos++];
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const count = first & 0x7f;
      if (count === 0) throw new DerError('bad-length', 'DER forbids indefinite lengths');
      if (count > 4) throw new DerError('bad-length', 'DER length field longer than 4 bytes');
      if (pos + count > buf.length) throw new DerError('truncated', 'DER length field truncated');
      if (buf[pos] === 0) throw new DerError('bad-length', 'DER length with a leading zero byte');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + buf[pos++];
      if (length < 0x80) throw new DerError('bad-length', 'DER long-form length below 128');
    }
    if (length > buf.length - pos) {
      throw new DerError('length-past-end', `DER length ${length} past the end (${buf.length - pos} left)`);
    }
    this.offset = pos + length;
    return {
      tag,
      constructed: (tag & 0x20) !== 0,
      bytes: buf.subarray(start, pos + length),
      value: buf.subarray(pos, pos + length),
      depth: this.depth,
    };
  }

  readExpected(tag: number, what: string): DerElement {
    const next = this.peekTag();
    if (next === null) throw new DerError('truncated', `expected ${what}, found the end`);
    if (next !== tag) throw new DerError('bad-tag', `expected ${what} (tag 0x${tag.toString(16)}), found 0x${next.toString(16)}`);
    return this.read();
  }

  readOptional(tag: number): DerElement | null {
    return this.peekTag() === tag ? this.read() : null;
  }

  /** A reader over a constructed element's contents, one level deeper. */
  enter(el: DerElement): DerReader {
    if (!el.constructed) throw new DerError('bad-tag', 'expected a constructed element');
    return new DerReader(el.value, this.depth + 1, this.maxDepth);
  }

  sequence(what = 'SEQUENCE'): DerReader {
    return this.enter(this.readExpected(DerTag.sequence, what));
  }

  /** Decode exactly: leftover bytes are an error. */
  end(what = 'element'): void {
    if (!this.atEnd()) throw new DerError('trailing-data', `${this.remaining} trailing bytes after ${what}`);
  }

  readInteger(what = 'INTEGER'): bigint {
    return decodeInteger(this.readExpected(DerTag.integer, what).value);
  }

  /** A non-negative INTEGER that must fit a JS number safely. */
  readSmallInteger(what = 'INTEGER'): number {
    const v = this.readInteger(what);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DerError('bad-value', `${what} out of range`);
    return Number(v);
  }

  readOid(what = 'OBJECT IDENTIFIER'): string {
    return decodeOid(this.readExpected(DerTag.oid, what).value);
  }

  readOctetString(what = 'OCTET STRING'): Uint8Array {
    return this.readExpected(DerTag.octetString, what).value;
  }

  /** A BIT STRING whose bit length is a multiple of 8 (keys and signatures). */
  readBitStringBytes(what = 'BIT STRING'): Uint8Array {
    const bits = decodeBitString(this.readExpected(DerTag.bitString, what).value);
    if (bits.unusedBits !== 0) throw new DerError('bad-value', `${what} is not a whole number of bytes`);
    return bits.bytes;
  }

  readBoolean(what = 'BOOLEAN'): boolean {
    return decodeBoolean(this.readExpected(DerTag.boolean, what).value);
  }

  readNull(what = 'NULL'): void {
    if (this.readExpected(DerTag.null, what).value.length !== 0) throw new DerError('bad-value', 'NULL with contents');
  }
}

/** X.690 8.3: two's complement, minimal (10.x: no redundant leading 0x00/0xff). */
export function decodeInteger(v: Uint8Array): bigint {
  if (v.length === 0) throw new DerError('bad-value', 'empty INTEGER');
  if (v.length > 1 && ((v[0] === 0 && (v[1] & 0x80) === 0) || (v[0] === 0xff && (v[1] & 0x80) !== 0))) {
    throw new DerError('bad-value', 'non-minimal INTEGER');
  }
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if (v[0] & 0x80) n -= 1n << BigInt(v.length * 8);
  return n;
}

/** X.690 8.19: base-128 arcs; the first byte packs the first two arcs. */
export function decodeOid(v: Uint8Array): string {
  if (v.length === 0 || v.length > 128) throw new DerError('bad-value', 'OID length out of range');
  const arcs: string[] = [];
  let value = 0n;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i];
    if (!started && b === 0x80) throw new DerError('bad-value', 'non-minimal OID arc');
    started = true;
    value = (value << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 40n ? 0n : value < 80n ? 1n : 2n;
        arcs.push(first.toString(), (value - first * 40n).toString());
      } else {
        arcs.push(value.toString());
      }
      value = 0n;
      started = false;
    }
  }
  if (started) throw new DerError('bad-value', 'OID ends inside an arc');
  return arcs.join('.');
}

export function decodeBitString(v: Uint8Array): { unusedBits: number; bytes: Uint8Array } {
  if (v.length === 0) throw new DerError('bad-value', 'empty BIT STRING');
  const unusedBits = v[0];
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) throw new DerError('bad-value', 'bad BIT STRING padding');
  return { unusedBits, bytes: v.subarray(1) };
}

export function decodeBoolean(v: Uint8Array): boolean {
  // X.690 11.1: DER TRUE is 0xff.
  if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new DerError('bad-value', 'bad BOOLEAN');
  return v[0] === 0xff;
}

/**
 * Walks a whole DER tree (every constructed element, recursively) to check it is well formed,
 * with nesting bounded by `maxDepth`. Returns the number of elements.
 */
export function validateDerTree(bytes: Uint8Array, maxDepth = DER_MAX_DEPTH): number {
  let count = 0;
  const walk = (reader: DerReader): void => {
    while (!reader.atEnd()) {
      const el = reader.read();
      count++;
      if (el.constructed) walk(reader.enter(el));
    }
  };
  const top = new DerReader(bytes, 0, maxDepth);
  const el = top.read();
  top.end('top-level element');
  count++;
  if (el.constructed) walk(top.enter(el));
  return count;
}

/** Encodes one TLV (DER definite length). */
export function derEncode(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of contents) length += c.length;
  const header: number[] = [tag];
  if (length < 0x80) {
    header.push(length);
  } else {
    const lenBytes: number[] = [];
    for (let l = length; l > 0; l = Math.floor(l / 256)) lenBytes.unshift(l & 0xff);
    header.push(0x80 | lenBytes.length, ...lenBytes);
  }
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let pos = header.length;
  for (const c of contents) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** DER INTEGER for a non-negative bigint. */
export function derEncodeUnsigned(n: bigint): Uint8Array {
  if (n < 0n) throw new RangeError('negative');
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  if (bytes[0] & 0x80) {
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes, 1);
    bytes = padded;
  }
  return derEncode(DerTag.integer, bytes);
}

export function derEncodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => BigInt(a));
  const out: number[] = [];
  const pushArc = (v: bigint): void => {
    const groups: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  };
  pushArc(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) pushArc(a);
  return derEncode(DerTag.oid, Uint8Array.from(out));
}
