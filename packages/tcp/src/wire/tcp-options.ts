/**
 * TCP options (RFC 9293 section 3.2 and the option RFCs): parse the option space of a TCP header
 * into a list that re-emits to exactly the same bytes, and emit such lists.
 *
 * The byte-exact rule: for every byte string b that parseTcpOptions accepts,
 * emitTcpOptions(parseTcpOptions(b)) writes b again, byte for byte: NOP runs stay NOP entries, EOL
 * keeps whatever follows it as `padding`, unknown kinds and odd lengths keep their bytes. A
 * middlebox that rewrites one option therefore changes only that option's bytes.
 *
 * Malformed options, and what the TCP engine gets (decided per case):
 * - REFUSED with WireError('bad-option') (the whole segment is refused, since the option list cannot
 *   be delimited past this point, so nothing after it can be trusted): a kind byte at the very end
 *   with no length byte; a length byte < 2 (a zero length would loop forever); a length that runs
 *   past the option space. RFC 9293 section 3.1 (MUST-7) requires surviving such options without
 *   crashing; the engine should drop the segment (a RST is also permitted; dropping is safer against
 *   spoofing).
 * - KEPT as { kind: 'unknown', code, data } (the segment is fine; the engine ignores the option,
 *   as Linux's tcp_parse_options skips options whose size it does not expect): a known kind with a
 *   wrong fixed length, i.e. MSS != 4, window scale != 3, SACK-permitted != 2, timestamps != 10,
 *   user timeout != 4; SACK whose length is not 2 + 8n with n >= 1; Fast Open whose cookie is not
 *   empty or 4..16 bytes (RFC 7413 section 4.1.1); an experimental option (253/254) shorter than 4
 *   bytes, i.e. without its ExID (RFC 6994).
 * - KEPT AS-IS: values the receiver must judge, e.g. a window-scale shift above 14 (RFC 7323
 *   section 2.3: the receiver clamps to 14 and may log; the engine does), MSS 0, an option on a
 *   segment where it does not belong (MSS on a non-SYN), repeated options.
 *
 * Emitting validates field ranges (WireError('bad-field')) and refuses lists whose bytes would not
 * parse back as the same list, such as a SACK with no block (WireError('bad-option')).
 */
import { TcpOptionKind, WireError, type SackBlock, type TcpOption } from './types.js';

/** Option kind numbers (IANA "TCP Option Kind Numbers"). */
const EOL = 0;
const NOP = 1;
const MSS = 2;
const WSCALE = 3;
const SACK_PERMITTED = 4;
const SACK = 5;
const TIMESTAMPS = 8;
const USER_TIMEOUT = 28;
const FAST_OPEN = 34;

/** The TCP header has at most 40 option bytes (data offset 15 * 4 - 20). */
export const MAX_TCP_OPTIONS_LENGTH = 40;

function readU32(b: Uint8Array, i: number): number {
  return b[i] * 0x1000000 + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/**
 * Parses a TCP option space (the header bytes after the fixed 20) into a byte-exact option list.
 * Returned byte fields are subarrays of `bytes`. See the module comment for what is refused.
 */
export function parseTcpOptions(bytes: Uint8Array): TcpOption[] {
  const options: TcpOption[] = [];
  const end = bytes.length;
  let i = 0;
  while (i < end) {
    const kind = bytes[i];
    if (kind === EOL) {
      // RFC 9293 section 3.2: EOL ends the list; what follows is header padding (zeros normally).
      options.push({ kind: 'eol', padding: bytes.subarray(i + 1, end) });
      break;
    }
    if (kind === NOP) {
      options.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end) {
      throw new WireError('bad-option', `TCP option kind ${kind} at offset ${i} has no length byte`);
    }
    const length = bytes[i + 1];
    if (length < 2) {
      throw new WireError('bad-option', `TCP option kind ${kind} at offset ${i} has length ${length} (< 2)`);
    }
    if (i + length > end) {
      throw new WireError('bad-option', `TCP option kind ${kind} at offset ${i} of length ${length} runs past the ${end}-byte option space`);
    }
    options.push(decodeOption(bytes, i, kind, length));
    i += length;
  }
  return options;
}

/** Decodes one length-delimited option; a known kind with an unexpected length stays 'unknown'. */
function decodeOption(b: Uint8Array, i: number, kind: number, length: number): TcpOption {
  switch (kind) {
    case MSS:
      if (length === 4) return { kind: 'mss', mss: (b[i + 2] << 8) | b[i + 3] };
      break;
    case WSCALE:
      if (length === 3) return { kind: 'wscale', shift: b[i + 2] };
      break;
    case SACK_PERMITTED:
      if (length === 2) return { kind: 'sackPermitted' };
      break;
    case SACK:
      if (length >= 10 && (length - 2) % 8 === 0) {
        const blocks: SackBlock[] = [];
        for (let p = i + 2; p < i + length; p += 8) blocks.push({ left: readU32(b, p), right: readU32(b, p + 4) });
        return { kind: 'sack', blocks };
      }
      break;
    case TIMESTAMPS:
      if (length === 10) return { kind: 'timestamps', tsVal: readU32(b, i + 2), tsEcr: readU32(b, i + 6) };
      break;
    case USER_TIMEOUT:
      if (length === 4) {
        // RFC 5482 section 2: G (granularity) bit, then a 15-bit timeout.
        return {
          kind: 'userTimeout',
          granularity: (b[i + 2] & 0x80) !== 0 ? 'minutes' : 'seconds',
          timeout: ((b[i + 2] & 0x7f) << 8) | b[i + 3],
        };
      }
      break;
    case FAST_OPEN:
      // RFC 7413 section 4.1.1: empty (cookie request) or a 4..16-byte cookie.
      if (length === 2 || (length >= 6 && length <= 18)) return { kind: 'fastOpen', cookie: b.subarray(i + 2, i + length) };
      break;
    case 253:
    case 254:
      // RFC 6994: a 16-bit ExID follows kind and length.
      if (length >= 4) {
        return { kind: 'experimental', code: kind, exid: (b[i + 2] << 8) | b[i + 3], data: b.subarray(i + 4, i + length) };
      }
      break;
    default:
      break;
  }
  return { kind: 'unknown', code: kind, data: b.subarray(i + 2, i + length) };
}

/** Wire length of one option in bytes. */
export function tcpOptionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
      return 1 + o.padding.length;
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamps':
      return 10;
    case 'userTimeout':
      return 4;
    case 'fastOpen':
      return 2 + o.cookie.length;
    case 'experimental':
      return 4 + o.data.length;
    case 'unknown':
      return 2 + o.data.length;
    default:
      return assertNeverOption(o);
  }
}

function assertNeverOption(o: never): never {
  throw new WireError('bad-option', `unknown TCP option repr ${JSON.stringify((o as { kind?: unknown }).kind)}`);
}

/** Unpadded byte length of an option list. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (let k = 0; k < options.length; k++) n += tcpOptionLength(options[k]);
  return n;
}

function field(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new WireError('bad-field', `TCP option ${name} must be an integer 0..${max}, got ${value}`);
  }
}

/**
 * Writes the options into out[off..] exactly as listed (no padding added) and returns the number of
 * bytes written. Pad with padTcpOptions first, or let emitTcp fill the rest of the header with zeros.
 */
export function emitTcpOptions(options: readonly TcpOption[], out: Uint8Array, off: number): number {
  const total = tcpOptionsLength(options);
  if (!Number.isInteger(off) || off < 0 || off + total > out.length) {
    throw new WireError('truncated', `output buffer of ${out.length} bytes has no room for ${total} option bytes at ${off}`);
  }
  let i = off;
  for (let k = 0; k < options.length; k++) {
    const o = options[k];
    switch (o.kind) {
      case 'eol':
        out[i++] = EOL;
        out.set(o.padding, i);
        i += o.padding.length;
        break;
      case 'nop':
        out[i++] = NOP;
        break;
      case 'mss':
        field('mss', o.mss, 0xffff);
        out[i] = MSS;
        out[i + 1] = 4;
        out[i + 2] = o.mss >>> 8;
        out[i + 3] = o.mss & 0xff;
        i += 4;
        break;
      case 'wscale':
        field('window scale shift', o.shift, 255);
        out[i] = WSCALE;
        out[i + 1] = 3;
        out[i + 2] = o.shift;
        i += 3;
        break;
      case 'sackPermitted':
        out[i] = SACK_PERMITTED;
        out[i + 1] = 2;
        i += 2;
        break;
      case 'sack': {
        const n = o.blocks.length;
        if (n < 1 || n > 4) throw new WireError('bad-option', `a SACK option carries 1..4 blocks, got ${n}`);
        out[i] = SACK;
        out[i + 1] = 2 + 8 * n;
        i += 2;
        for (let j = 0; j < n; j++) {
          const blk = o.blocks[j];
          field('SACK left edge', blk.left, 0xffffffff);
          field('SACK right edge', blk.right, 0xffffffff);
          writeU32(out, i, blk.left);
          writeU32(out, i + 4, blk.right);
          i += 8;
        }
        break;
      }
      case 'timestamps':
        field('TSval', o.tsVal, 0xffffffff);
        field('TSecr', o.tsEcr, 0xffffffff);
        out[i] = TIMESTAMPS;
        out[i + 1] = 10;
        writeU32(out, i + 2, o.tsVal);
        writeU32(out, i + 6, o.tsEcr);
        i += 10;
        break;
      case 'userTimeout':
        field('user timeout', o.timeout, 0x7fff);
        out[i] = USER_TIMEOUT;
        out[i + 1] = 4;
        out[i + 2] = (o.granularity === 'minutes' ? 0x80 : 0) | (o.timeout >>> 8);
        out[i + 3] = o.timeout & 0xff;
        i += 4;
        break;
      case 'fastOpen': {
        const n = o.cookie.length;
        if (n !== 0 && (n < 4 || n > 16)) throw new WireError('bad-option', `a Fast Open cookie is empty or 4..16 bytes, got ${n}`);
        out[i] = FAST_OPEN;
        out[i + 1] = 2 + n;
        out.set(o.cookie, i + 2);
        i += 2 + n;
        break;
      }
      case 'experimental': {
        if (o.code !== 253 && o.code !== 254) throw new WireError('bad-field', `experimental option kind must be 253 or 254, got ${o.code}`);
        field('ExID', o.exid, 0xffff);
        const len = 4 + o.data.length;
        if (len > 255) throw new WireError('too-large', `experimental option of ${len} bytes`);
        out[i] = o.code;
        out[i + 1] = len;
        out[i + 2] = o.exid >>> 8;
        out[i + 3] = o.exid & 0xff;
        out.set(o.data, i + 4);
        i += len;
        break;
      }
      case 'unknown': {
        field('kind', o.code, 255);
        // EOL and NOP have no length byte: as 'unknown' they would not parse back the same.
        if (o.code === EOL || o.code === NOP) throw new WireError('bad-option', `option kind ${o.code} cannot be an 'unknown' option`);
        const len = 2 + o.data.length;
        if (len > 255) throw new WireError('too-large', `option of ${len} bytes`);
        out[i] = o.code;
        out[i + 1] = len;
        out.set(o.data, i + 2);
        i += len;
        break;
      }
      default:
        assertNeverOption(o);
    }
  }
  return i - off;
}

/**
 * Returns a new list padded to a multiple of 4 bytes: an EOL with zero padding is appended (RFC 9293
 * section 3.2: the header is padded with zeros, and a zero is EOL), or, when the list already ends
 * with EOL, that EOL's padding is extended.
 */
export function padTcpOptions(options: readonly TcpOption[]): TcpOption[] {
  const length = tcpOptionsLength(options);
  const missing = (4 - (length & 3)) & 3;
  const result = options.slice();
  if (missing === 0) return result;
  const last = result[result.length - 1];
  if (last !== undefined && last.kind === 'eol') {
    const padding = new Uint8Array(last.padding.length + missing);
    padding.set(last.padding, 0);
    result[result.length - 1] = { kind: 'eol', padding };
  } else {
    result.push({ kind: 'eol', padding: new Uint8Array(missing - 1) });
  }
  return result;
}

/** The option kind number of a parsed option (EOL 0, NOP 1, MSS 2, ...; the code for others). */
export function tcpOptionKind(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
      return TcpOptionKind.EOL;
    case 'nop':
      return TcpOptionKind.NOP;
    case 'mss':
      return TcpOptionKind.MSS;
    case 'wscale':
      return TcpOptionKind.WSCALE;
    case 'sackPermitted':
      return TcpOptionKind.SACK_PERMITTED;
    case 'sack':
      return TcpOptionKind.SACK;
    case 'timestamps':
      return TcpOptionKind.TIMESTAMPS;
    case 'userTimeout':
      return TcpOptionKind.USER_TIMEOUT;
    case 'fastOpen':
      return TcpOptionKind.FAST_OPEN;
    case 'experimental':
    case 'unknown':
      return o.code;
  }
}
