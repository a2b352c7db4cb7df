/**
 * The wire profile: codepoints, limits and the frame codec, kept apart from the session logic so a
 * picotcpls-compatible profile can be added later (docs/wire-format.md). `draftProfile` follows
 * draft-piraux-tcpls-04 plus this project's frames (types after 0x09).
 *
 * Frames put their type byte LAST (draft -02 on): a record is parsed from its end backwards.
 */
import { TcplsError } from './errors.js';
import { Reader, Writer, isU16, isU32, isU64, isU8, viewOf } from './bytes.js';
import {
  type Frame,
  type FrameType,
  type ReportedSegment,
  type TcpSetting,
  SettingCode,
  STREAM_FRAME_OVERHEAD,
  TOKEN_LENGTH,
} from './frames.js';
import { MAX_TCP_OPTION_BYTES, parseTcpOptions } from './tcp-options.js';

export interface TcplsExtensionCodepoints {
  tcpls: number;
  tcplsJoin: number;
  tcplsToken: number;
}

export type FrameTypeCodepoints = {
  padding: number;
  ping: number;
  stream: number;
  streamFin: number;
  ack: number;
  newToken: number;
  connectionReset: number;
  newAddress: number;
  removeAddress: number;
  streamChange: number;
  tcpOptionsReport: number;
  tcpOptionsApply: number;
  applyAck: number;
  applyRefuse: number;
  maxStreamData: number;
};

export interface TcplsLimits {
  /** TLS 1.3 plaintext limit, RFC 8446 §5.1. */
  maxRecordPlaintext: number;
  /** Bound on non-Padding frames in one record (hostile input bound). */
  maxFramesPerRecord: number;
  /** Per-stream credit granted without a Max Stream Data frame (docs/wire-format.md §3.11). */
  initialStreamWindow: number;
  /** Streams the peer may have open at once. */
  maxPeerStreams: number;
}

export interface TcplsProfile {
  readonly name: string;
  readonly extensions: Readonly<TcplsExtensionCodepoints>;
  readonly frameTypes: Readonly<FrameTypeCodepoints>;
  readonly limits: Readonly<TcplsLimits>;
  /** Encoded size of one frame, in bytes. */
  frameSize(frame: Frame): number;
  /** Frames → one record's plaintext, in the given order. */
  encodeFrames(frames: readonly Frame[]): Uint8Array;
  /** One record's plaintext → frames in record order, parsed from the end. Throws TcplsError. */
  decodeFrames(plaintext: Uint8Array): Frame[];
}

export const defaultExtensionCodepoints: TcplsExtensionCodepoints = {
  tcpls: 0xff50,
  tcplsJoin: 0xff51,
  tcplsToken: 0xff52,
};

export const defaultFrameTypes: FrameTypeCodepoints = {
  padding: 0x00,
  ping: 0x01,
  stream: 0x02,
  streamFin: 0x03,
  ack: 0x04,
  newToken: 0x05,
  connectionReset: 0x06,
  newAddress: 0x07,
  removeAddress: 0x08,
  streamChange: 0x09,
  tcpOptionsReport: 0x0a,
  tcpOptionsApply: 0x0b,
  applyAck: 0x0c,
  applyRefuse: 0x0d,
  maxStreamData: 0x0e,
};

export const defaultLimits: TcplsLimits = {
  maxRecordPlaintext: 16384,
  maxFramesPerRecord: 1024,
  initialStreamWindow: 65536,
  maxPeerStreams: 128,
};

const CC_NAME = /^[a-z0-9_-]{1,32}$/;
const PARAM_KEY = /^[a-zA-Z][a-zA-Z0-9_-]{0,31}$/;
const MAX_PARAMS = 16;

function misuse(msg: string): never {
  throw new TcplsError('api-misuse', `cannot encode: ${msg}`);
}
function malformed(msg: string): never {
  throw new TcplsError('frame-encoding', msg);
}

function segmentSize(s: ReportedSegment | null): number {
  return s === null ? 0 : 9 + s.options.length;
}
function reportBodySize(f: Extract<Frame, { type: 'tcp-options-report' }>): number {
  return 5 + segmentSize(f.sent) + segmentSize(f.received);
}
function settingBodySize(s: TcpSetting): number {
  switch (s.kind) {
    case 'userTimeout':
      return 2;
    case 'congestionControl': {
      let n = 1 + s.name.length + 1;
      for (const k of Object.keys(s.params)) n += 1 + k.length + 8;
      return n;
    }
    case 'unknown':
      return s.data.length;
  }
}

/** Builds a draft-04 profile; codepoints and limits may be overridden. */
export function makeDraftProfile(
  overrides: {
    name?: string;
    extensions?: Partial<TcplsExtensionCodepoints>;
    frameTypes?: Partial<FrameTypeCodepoints>;
    limits?: Partial<TcplsLimits>;
  } = {},
): TcplsProfile {
  const extensions = { ...defaultExtensionCodepoints, ...overrides.extensions };
  const t: FrameTypeCodepoints = { ...defaultFrameTypes, ...overrides.frameTypes };
  const limits = { ...defaultLimits, ...overrides.limits };
  const byCode = new Map<number, keyof FrameTypeCodepoints>();
  for (const [k, v] of Object.entries(t) as [keyof FrameTypeCodepoints, number][]) {
    if (!isU8(v)) throw new TcplsError('api-misuse', `frame type ${k} = ${v} is not a byte`);
    if (byCode.has(v)) throw new TcplsError('api-misuse', `frame types ${byCode.get(v)} and ${k} share ${v}`);
    byCode.set(v, k);
  }

  function frameSize(f: Frame): number {
    switch (f.type) {
      case 'padding':
        return f.length;
      case 'ping':
        return 1;
      case 'stream':
        return STREAM_FRAME_OVERHEAD + f.data.length;
      case 'ack':
        return 13;
      case 'new-token':
        return TOKEN_LENGTH + 2;
      case 'connection-reset':
        return 5;
      case 'new-address':
        return 2 + f.address.length + 3;
      case 'remove-address':
        return 2;
      case 'stream-change':
        return 13;
      case 'tcp-options-report':
        return reportBodySize(f) + 3;
      case 'tcp-options-apply':
        return 9 + settingBodySize(f.setting) + 3;
      case 'apply-ack':
        return 5;
      case 'apply-refuse':
        return 6;
      case 'max-stream-data':
        return 13;
    }
  }

  function writeSegment(w: Writer, s: ReportedSegment): void {
    if (!isU8(s.flags) || !isU32(s.seq) || !isU16(s.window) || !(isU8(s.ipEcn) && s.ipEcn <= 3)) misuse('segment field out of range');
    if (s.options.length > MAX_TCP_OPTION_BYTES) misuse('more than 40 bytes of TCP options');
    w.u8(s.flags);
    w.u32(s.seq);
    w.u16(s.window);
    w.u8(s.ipEcn);
    w.u8(s.options.length);
    w.bytes(s.options);
  }

  function writeFrame(w: Writer, f: Frame): void {
    switch (f.type) {
      case 'padding':
        if (!Number.isInteger(f.length) || f.length < 1) misuse('padding length < 1');
        for (let i = 0; i < f.length; i++) w.u8(t.padding);
        return;
      case 'ping':
        w.u8(t.ping);
        return;
      case 'stream':
        if (!isU32(f.streamId) || !isU64(f.offset) || f.data.length > 0xffff) misuse('stream field out of range');
        if (f.data.length === 0 && !f.fin) misuse('empty stream frame without FIN');
        w.bytes(f.data);
        w.u16(f.data.length);
        w.u64(f.offset);
        w.u32(f.streamId);
        w.u8(f.fin ? t.streamFin : t.stream);
        return;
      case 'ack':
        if (!isU32(f.connectionId) || !isU64(f.highestSeq)) misuse('ack field out of range');
        w.u64(f.highestSeq);
        w.u32(f.connectionId);
        w.u8(t.ack);
        return;
      case 'new-token':
        if (f.token.length !== TOKEN_LENGTH || !isU8(f.sequence) || f.sequence === 0) misuse('token must be 32 bytes, sequence 1..255');
        w.bytes(f.token);
        w.u8(f.sequence);
        w.u8(t.newToken);
        return;
      case 'connection-reset':
        if (!isU32(f.connectionId)) misuse('connection id');
        w.u32(f.connectionId);
        w.u8(t.connectionReset);
        return;
      case 'new-address':
        if (f.address.length !== (f.version === 4 ? 4 : 16) || !isU16(f.port) || !isU8(f.addressId)) misuse('address');
        w.u16(f.port);
        w.bytes(f.address);
        w.u8(f.version);
        w.u8(f.addressId);
        w.u8(t.newAddress);
        return;
      case 'remove-address':
        if (!isU8(f.addressId)) misuse('address id');
        w.u8(f.addressId);
        w.u8(t.removeAddress);
        return;
      case 'stream-change':
        if (!isU32(f.streamId) || !isU64(f.offset)) misuse('stream change');
        w.u32(f.streamId);
        w.u64(f.offset);
        w.u8(t.streamChange);
        return;
      case 'tcp-options-report': {
        if (!isU32(f.connectionId)) misuse('connection id');
        const body = reportBodySize(f);
        w.u32(f.connectionId);
        w.u8((f.sent ? 1 : 0) | (f.received ? 2 : 0));
        if (f.sent) writeSegment(w, f.sent);
        if (f.received) writeSegment(w, f.received);
        w.u16(body);
        w.u8(t.tcpOptionsReport);
        return;
      }
      case 'tcp-options-apply': {
        if (!isU32(f.requestId) || !isU32(f.connectionId)) misuse('apply ids');
        const body = 9 + settingBodySize(f.setting);
        if (body > 0xffff) misuse('apply body too long');
        w.u32(f.requestId);
        w.u32(f.connectionId);
        const s = f.setting;
        switch (s.kind) {
          case 'userTimeout':
            if (!Number.isInteger(s.timeout) || s.timeout < 1 || s.timeout > 0x7fff) misuse('user timeout 1..32767');
            w.u8(SettingCode.userTimeout);
            w.u16((s.granularity === 'minutes' ? 0x8000 : 0) | s.timeout);
            break;
          case 'congestionControl': {
            if (!CC_NAME.test(s.name)) misuse(`controller name ${JSON.stringify(s.name)}`);
            const keys = Object.keys(s.params);
            if (keys.length > MAX_PARAMS) misuse('more than 16 parameters');
            w.u8(SettingCode.congestionControl);
            w.u8(s.name.length);
            w.bytes(new TextEncoder().encode(s.name));
            w.u8(keys.length);
            for (const k of keys) {
              const v = s.params[k];
              if (!PARAM_KEY.test(k) || !Number.isFinite(v)) misuse(`parameter ${k}`);
              w.u8(k.length);
              w.bytes(new TextEncoder().encode(k));
              w.f64(v);
            }
            break;
          }
          case 'unknown':
            if (!isU8(s.code) || s.code === SettingCode.userTimeout || s.code === SettingCode.congestionControl) misuse('unknown setting code');
            w.u8(s.code);
            w.bytes(s.data);
            break;
        }
        w.u16(body);
        w.u8(t.tcpOptionsApply);
        return;
      }
      case 'apply-ack':
        if (!isU32(f.requestId)) misuse('request id');
        w.u32(f.requestId);
        w.u8(t.applyAck);
        return;
      case 'apply-refuse':
        if (!isU32(f.requestId) || !isU8(f.reason)) misuse('refuse fields');
        w.u32(f.requestId);
        w.u8(f.reason);
        w.u8(t.applyRefuse);
        return;
      case 'max-stream-data':
        if (!isU32(f.streamId) || !isU64(f.maxOffset)) misuse('max stream data fields');
        w.u64(f.maxOffset);
        w.u32(f.streamId);
        w.u8(t.maxStreamData);
        return;
    }
  }

  function encodeFrames(frames: readonly Frame[]): Uint8Array {
    let n = 0;
    for (const f of frames) n += frameSize(f);
    if (n > limits.maxRecordPlaintext) misuse(`${n} bytes exceed the record limit ${limits.maxRecordPlaintext}`);
    const out = new Uint8Array(n);
    const w = new Writer(out);
    for (const f of frames) writeFrame(w, f);
    return out;
  }

  function readSegment(r: Reader): ReportedSegment {
    const flags = r.u8();
    const seq = r.u32();
    const window = r.u16();
    const ecn = r.u8();
    if (ecn > 3) malformed('report: ECN byte has reserved bits set');
    const optLen = r.u8();
    if (optLen > MAX_TCP_OPTION_BYTES) malformed('report: more than 40 bytes of TCP options');
    const options = r.bytes(optLen);
    parseTcpOptions(options); // validate now: a report with unparseable options is malformed
    return { flags, seq, window, ipEcn: ecn, options };
  }

  function readSetting(r: Reader): TcpSetting {
    const code = r.u8();
    if (code === SettingCode.userTimeout) {
      const v = r.u16();
      if ((v & 0x7fff) === 0) malformed('apply: user timeout 0');
      return { kind: 'userTimeout', granularity: v & 0x8000 ? 'minutes' : 'seconds', timeout: v & 0x7fff };
    }
    if (code === SettingCode.congestionControl) {
      const nameLen = r.u8();
      const name = new TextDecoder().decode(r.bytes(nameLen));
      if (!CC_NAME.test(name)) malformed('apply: bad controller name');
      const count = r.u8();
      if (count > MAX_PARAMS) malformed('apply: more than 16 parameters');
      const params: Record<string, number> = {};
      for (let i = 0; i < count; i++) {
        const kl = r.u8();
        const key = new TextDecoder().decode(r.bytes(kl));
        if (!PARAM_KEY.test(key) || Object.hasOwn(params, key)) malformed('apply: bad or duplicate parameter key');
        const v = r.f64();
        if (!Number.isFinite(v)) malformed('apply: parameter value not finite');
        params[key] = v;
      }
      return { kind: 'congestionControl', name, params };
    }
    return { kind: 'unknown', code, data: r.bytes(r.remaining) };
  }

  function decodeFrames(plaintext: Uint8Array): Frame[] {
    if (plaintext.length > limits.maxRecordPlaintext) {
      throw new TcplsError('record-overflow', `record plaintext of ${plaintext.length} bytes`);
    }
    const dv = viewOf(plaintext);
    const frames: Frame[] = [];
    let pos = plaintext.length;
    let counted = 0;
    const need = (n: number, what: string): void => {
      if (n > pos) malformed(`${what}: needs ${n} bytes before its type, record has ${pos}`);
    };
    while (pos > 0) {
      const code = plaintext[--pos];
      const kind = byCode.get(code);
      if (kind === undefined) throw new TcplsError('unknown-frame', `unknown frame type 0x${code.toString(16)}`);
      if (kind === 'padding') {
        let length = 1;
        while (pos > 0 && plaintext[pos - 1] === t.padding) {
          pos--;
          length++;
        }
        frames.push({ type: 'padding', length });
        continue;
      }
      if (++counted > limits.maxFramesPerRecord) {
        throw new TcplsError('too-many-frames', `more than ${limits.maxFramesPerRecord} frames in one record`);
      }
      switch (kind) {
        case 'ping':
          frames.push({ type: 'ping' });
          break;
        case 'stream':
        case 'streamFin': {
          need(14, 'stream');
          const streamId = dv.getUint32(pos - 4);
          const offset = dv.getBigUint64(pos - 12);
          const length = dv.getUint16(pos - 14);
          pos -= 14;
          need(length, 'stream data');
          const fin = kind === 'streamFin';
          if (length === 0 && !fin) malformed('stream: empty frame without FIN');
          frames.push({ type: 'stream', streamId, offset, data: plaintext.subarray(pos - length, pos), fin });
          pos -= length;
          break;
        }
        case 'ack':
          need(12, 'ack');
          frames.push({ type: 'ack', connectionId: dv.getUint32(pos - 4), highestSeq: dv.getBigUint64(pos - 12) });
          pos -= 12;
          break;
        case 'newToken': {
          need(TOKEN_LENGTH + 1, 'new token');
          const sequence = plaintext[pos - 1];
          pos -= 1;
          frames.push({ type: 'new-token', sequence, token: plaintext.subarray(pos - TOKEN_LENGTH, pos) });
          pos -= TOKEN_LENGTH;
          break;
        }
        case 'connectionReset':
          need(4, 'connection reset');
          frames.push({ type: 'connection-reset', connectionId: dv.getUint32(pos - 4) });
          pos -= 4;
          break;
        case 'newAddress': {
          need(2, 'new address');
          const addressId = plaintext[pos - 1];
          const version = plaintext[pos - 2];
          pos -= 2;
          if (version !== 4 && version !== 6) malformed(`new address: version ${version}`);
          const alen = version === 4 ? 4 : 16;
          need(alen + 2, 'new address');
          const address = plaintext.subarray(pos - alen, pos);
          pos -= alen;
          const port = dv.getUint16(pos - 2);
          pos -= 2;
          frames.push({ type: 'new-address', addressId, version, address, port });
          break;
        }
        case 'removeAddress':
          need(1, 'remove address');
          frames.push({ type: 'remove-address', addressId: plaintext[pos - 1] });
          pos -= 1;
          break;
        case 'streamChange':
          need(12, 'stream change');
          frames.push({ type: 'stream-change', offset: dv.getBigUint64(pos - 8), streamId: dv.getUint32(pos - 12) });
          pos -= 12;
          break;
        case 'tcpOptionsReport': {
          need(2, 'tcp options report');
          const bodyLen = dv.getUint16(pos - 2);
          pos -= 2;
          need(bodyLen, 'tcp options report body');
          const r = new Reader(plaintext.subarray(pos - bodyLen, pos), 'tcp options report');
          pos -= bodyLen;
          const connectionId = r.u32();
          const present = r.u8();
          if (present & ~3) malformed('report: reserved presence bits set');
          const sent = present & 1 ? readSegment(r) : null;
          const received = present & 2 ? readSegment(r) : null;
          r.end();
          frames.push({ type: 'tcp-options-report', connectionId, sent, received });
          break;
        }
        case 'tcpOptionsApply': {
          need(2, 'tcp options apply');
          const bodyLen = dv.getUint16(pos - 2);
          pos -= 2;
          need(bodyLen, 'tcp options apply body');
          const r = new Reader(plaintext.subarray(pos - bodyLen, pos), 'tcp options apply');
          pos -= bodyLen;
          const requestId = r.u32();
          const connectionId = r.u32();
          const setting = readSetting(r);
          r.end();
          frames.push({ type: 'tcp-options-apply', requestId, connectionId, setting });
          break;
        }
        case 'applyAck':
          need(4, 'apply ack');
          frames.push({ type: 'apply-ack', requestId: dv.getUint32(pos - 4) });
          pos -= 4;
          break;
        case 'applyRefuse':
          need(5, 'apply refuse');
          frames.push({ type: 'apply-refuse', reason: plaintext[pos - 1], requestId: dv.getUint32(pos - 5) });
          pos -= 5;
          break;
        case 'maxStreamData':
          need(12, 'max stream data');
          frames.push({ type: 'max-stream-data', streamId: dv.getUint32(pos - 4), maxOffset: dv.getBigUint64(pos - 12) });
          pos -= 12;
          break;
      }
    }
    frames.reverse();
    return frames;
  }

  return {
    name: overrides.name ?? 'draft-piraux-tcpls-04',
    extensions,
    frameTypes: t,
    limits,
    frameSize,
    encodeFrames,
    decodeFrames,
  };
}

/** The default profile: draft-piraux-tcpls-04 codepoints as documented in docs/wire-format.md. */
export const draftProfile: TcplsProfile = makeDraftProfile();

export type { FrameType };
