/**
 * A byte-exact codec for TCP option lists (RFC 9293 §3.1 option format), used by the TCP Options
 * Report frame (docs/wire-format.md §3.8). The TCP package has its own codec; this one lives here
 * so that the report format does not depend on the TCP engine's internals, and it only has to
 * satisfy one property: parse(emit(list)) re-emits the same bytes.
 */
import type { TcpOption } from '@tcpls/tcp/wire';
import { TcplsError } from './errors.js';
import { viewOf } from './bytes.js';

/** TCP's option space is at most 40 bytes (data offset 15 words minus the 20-byte header). */
export const MAX_TCP_OPTION_BYTES = 40;

function optionLength(o: TcpOption): number {
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
  }
}

/** Emits an option list to its wire bytes. Throws `api-misuse` for values that do not fit. */
export function emitTcpOptions(options: readonly TcpOption[]): Uint8Array {
  let n = 0;
  for (const o of options) n += optionLength(o);
  if (n > MAX_TCP_OPTION_BYTES) throw new TcplsError('api-misuse', `TCP options take ${n} bytes, more than 40`);
  const out = new Uint8Array(n);
  const dv = viewOf(out);
  let p = 0;
  for (const o of options) {
    const len = optionLength(o);
    switch (o.kind) {
      case 'eol':
        out[p] = 0;
        out.set(o.padding, p + 1);
        break;
      case 'nop':
        out[p] = 1;
        break;
      case 'mss':
        out[p] = 2;
        out[p + 1] = 4;
        dv.setUint16(p + 2, o.mss);
        break;
      case 'wscale':
        out[p] = 3;
        out[p + 1] = 3;
        out[p + 2] = o.shift;
        break;
      case 'sackPermitted':
        out[p] = 4;
        out[p + 1] = 2;
        break;
      case 'sack':
        out[p] = 5;
        out[p + 1] = len;
        o.blocks.forEach((b, i) => {
          dv.setUint32(p + 2 + 8 * i, b.left >>> 0);
          dv.setUint32(p + 6 + 8 * i, b.right >>> 0);
        });
        break;
      case 'timestamps':
        out[p] = 8;
        out[p + 1] = 10;
        dv.setUint32(p + 2, o.tsVal >>> 0);
        dv.setUint32(p + 6, o.tsEcr >>> 0);
        break;
      case 'userTimeout':
        // RFC 5482 §2: G bit (minutes) on top of a 15-bit timeout.
        out[p] = 28;
        out[p + 1] = 4;
        dv.setUint16(p + 2, ((o.granularity === 'minutes' ? 0x8000 : 0) | (o.timeout & 0x7fff)) >>> 0);
        break;
      case 'fastOpen':
        out[p] = 34;
        out[p + 1] = len;
        out.set(o.cookie, p + 2);
        break;
      case 'experimental':
        out[p] = o.code;
        out[p + 1] = len;
        dv.setUint16(p + 2, o.exid);
        out.set(o.data, p + 4);
        break;
      case 'unknown':
        out[p] = o.code;
        out[p + 1] = len;
        out.set(o.data, p + 2);
        break;
    }
    p += len;
  }
  return out;
}

/**
 * Parses option bytes into a list that re-emits to exactly the same bytes. Known kinds with a
 * length other than their fixed one are kept as 'unknown' (byte-exact). Throws `frame-encoding`
 * on a length byte < 2 or past the end of the option space.
 */
export function parseTcpOptions(bytes: Uint8Array): TcpOption[] {
  if (bytes.length > MAX_TCP_OPTION_BYTES) throw new TcplsError('frame-encoding', 'TCP options longer than 40 bytes');
  const dv = viewOf(bytes);
  const out: TcpOption[] = [];
  let p = 0;
  while (p < bytes.length) {
    const kind = bytes[p];
    if (kind === 0) {
      out.push({ kind: 'eol', padding: bytes.slice(p + 1) });
      break;
    }
    if (kind === 1) {
      out.push({ kind: 'nop' });
      p += 1;
      continue;
    }
    if (p + 1 >= bytes.length) throw new TcplsError('frame-encoding', `TCP option ${kind}: no length byte`);
    const len = bytes[p + 1];
    if (len < 2 || p + len > bytes.length) throw new TcplsError('frame-encoding', `TCP option ${kind}: bad length ${len}`);
    const body = bytes.slice(p + 2, p + len);
    if (kind === 2 && len === 4) out.push({ kind: 'mss', mss: dv.getUint16(p + 2) });
    else if (kind === 3 && len === 3) out.push({ kind: 'wscale', shift: bytes[p + 2] });
    else if (kind === 4 && len === 2) out.push({ kind: 'sackPermitted' });
    else if (kind === 5 && (len - 2) % 8 === 0 && len > 2) {
      const blocks = [];
      for (let i = p + 2; i < p + len; i += 8) blocks.push({ left: dv.getUint32(i), right: dv.getUint32(i + 4) });
      out.push({ kind: 'sack', blocks });
    } else if (kind === 8 && len === 10) out.push({ kind: 'timestamps', tsVal: dv.getUint32(p + 2), tsEcr: dv.getUint32(p + 6) });
    else if (kind === 28 && len === 4) {
      const v = dv.getUint16(p + 2);
      out.push({ kind: 'userTimeout', granularity: v & 0x8000 ? 'minutes' : 'seconds', timeout: v & 0x7fff });
    } else if (kind === 34) out.push({ kind: 'fastOpen', cookie: body });
    else if ((kind === 253 || kind === 254) && len >= 4) {
      out.push({ kind: 'experimental', code: kind, exid: dv.getUint16(p + 2), data: bytes.slice(p + 4, p + len) });
    } else out.push({ kind: 'unknown', code: kind, data: body });
    p += len;
  }
  return out;
}

/** The option kind number of a parsed option (NOP 1, EOL 0, …). */
export function optionKindNumber(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
      return 0;
    case 'nop':
      return 1;
    case 'mss':
      return 2;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 4;
    case 'sack':
      return 5;
    case 'timestamps':
      return 8;
    case 'userTimeout':
      return 28;
    case 'fastOpen':
      return 34;
    case 'experimental':
    case 'unknown':
      return o.code;
  }
}
