/** fast-check generators of valid reprs, shared by the round-trip tests. */
import fc from 'fast-check';
import { padTcpOptions, tcpOptionsLength, type TcpOption, type TcpRepr } from '../../src/wire/index.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

/** One option in the form the parser produces (so parse(emit(o)) gives o back). */
export const arbOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map((mss): TcpOption => ({ kind: 'mss', mss })),
  fc.integer({ min: 0, max: 255 }).map((shift): TcpOption => ({ kind: 'wscale', shift })),
  fc.constant<TcpOption>({ kind: 'sackPermitted' }),
  fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 4 }).map((blocks): TcpOption => ({ kind: 'sack', blocks })),
  fc.record({ tsVal: u32, tsEcr: u32 }).map(({ tsVal, tsEcr }): TcpOption => ({ kind: 'timestamps', tsVal, tsEcr })),
  fc.record({ granularity: fc.constantFrom('seconds' as const, 'minutes' as const), timeout: fc.integer({ min: 0, max: 0x7fff }) })
    .map(({ granularity, timeout }): TcpOption => ({ kind: 'userTimeout', granularity, timeout })),
  fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 4, maxLength: 16 }))
    .map((cookie): TcpOption => ({ kind: 'fastOpen', cookie })),
  fc.record({ code: fc.constantFrom(253 as const, 254 as const), exid: u16, data: fc.uint8Array({ maxLength: 12 }) })
    .map(({ code, exid, data }): TcpOption => ({ kind: 'experimental', code, exid, data })),
  // Kinds with no decoder of their own (not 0-5, 8, 28, 34, 253, 254).
  fc.record({
    code: fc.integer({ min: 6, max: 252 }).filter((c) => c !== 8 && c !== 28 && c !== 34),
    data: fc.uint8Array({ maxLength: 10 }),
  }).map(({ code, data }): TcpOption => ({ kind: 'unknown', code, data })),
);

/** An option list of at most `max` bytes, optionally ending with EOL and padding. */
export function arbOptionList(max = 40): fc.Arbitrary<TcpOption[]> {
  return fc
    .tuple(fc.array(arbOption, { maxLength: 12 }), fc.option(fc.uint8Array({ maxLength: 6 }), { nil: undefined }))
    .map(([opts, eolPadding]) => {
      const list: TcpOption[] = [];
      for (const o of opts) {
        if (tcpOptionsLength([...list, o]) > max) break;
        list.push(o);
      }
      if (eolPadding !== undefined) {
        const room = max - tcpOptionsLength(list) - 1;
        if (room >= 0) list.push({ kind: 'eol', padding: eolPadding.subarray(0, room) });
      }
      return list;
    });
}

/** A valid TcpRepr whose options are padded to 4 (so parse gives the same list back). */
export const arbTcpRepr: fc.Arbitrary<TcpRepr> = fc
  .record({
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    flags: fc.integer({ min: 0, max: 255 }),
    window: u16,
    urgent: u16,
    options: arbOptionList(37).map((o) => padTcpOptions(o)),
    payload: fc.uint8Array({ maxLength: 300 }),
    reserved: fc.integer({ min: 0, max: 15 }),
  })
  .map((r) => {
    const { reserved, ...rest } = r;
    return reserved === 0 ? rest : { ...rest, reserved };
  });
