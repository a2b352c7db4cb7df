/** fast-check generators for TCPLS frames (shared by the codec and session property tests). */
import fc from 'fast-check';
import type { Frame } from '../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => parseInt(b, 16));

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const optionBytes = fc.constantFrom(
  new Uint8Array(0),
  hex('020405b4'),
  hex('020405b4 0402 080a0000000100000000 01 030307'),
  hex('0101 fe06 f989 abcd 00'),
);
const segment = fc.record({
  flags: fc.integer({ min: 0, max: 255 }),
  seq: u32,
  window: fc.integer({ min: 0, max: 0xffff }),
  ipEcn: fc.integer({ min: 0, max: 3 }),
  options: optionBytes,
});
export const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.constant<Frame>({ type: 'ping' }),
  fc.record({ type: fc.constant('stream' as const), streamId: u32, offset: u64, data: bytes(1, 300), fin: fc.boolean() }),
  fc.record({ type: fc.constant('ack' as const), connectionId: u32, highestSeq: u64 }),
  fc.record({ type: fc.constant('new-token' as const), sequence: fc.integer({ min: 1, max: 255 }), token: bytes(32, 32) }),
  fc.record({ type: fc.constant('connection-reset' as const), connectionId: u32 }),
  fc.oneof(
    fc.record({ type: fc.constant('new-address' as const), addressId: fc.integer({ min: 0, max: 255 }), version: fc.constant(4 as const), address: bytes(4, 4), port: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ type: fc.constant('new-address' as const), addressId: fc.integer({ min: 0, max: 255 }), version: fc.constant(6 as const), address: bytes(16, 16), port: fc.integer({ min: 0, max: 0xffff }) }),
  ),
  fc.record({ type: fc.constant('remove-address' as const), addressId: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant('stream-change' as const), streamId: u32, offset: u64 }),
  fc.record({ type: fc.constant('tcp-options-report' as const), connectionId: u32, sent: fc.option(segment, { nil: null }), received: fc.option(segment, { nil: null }) }),
  fc.record({
    type: fc.constant('tcp-options-apply' as const),
    requestId: u32,
    connectionId: u32,
    setting: fc.oneof(
      fc.record({ kind: fc.constant('userTimeout' as const), granularity: fc.constantFrom('seconds' as const, 'minutes' as const), timeout: fc.integer({ min: 1, max: 0x7fff }) }),
      fc.record({
        kind: fc.constant('congestionControl' as const),
        name: fc.stringMatching(/^[a-z0-9_-]{1,32}$/),
        params: fc.dictionary(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,31}$/), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 16 }),
      }),
      fc.record({ kind: fc.constant('unknown' as const), code: fc.integer({ min: 3, max: 255 }), data: bytes(0, 20) }),
    ),
  }),
  fc.record({ type: fc.constant('apply-ack' as const), requestId: u32 }),
  fc.record({ type: fc.constant('apply-refuse' as const), requestId: u32, reason: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant('max-stream-data' as const), streamId: u32, maxOffset: u64 }),
);


/** Frames aimed at a session's interesting paths: few stream ids, offsets near the window. */
export const sessionFrameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.constant<Frame>({ type: 'ping' }),
  fc.record({
    type: fc.constant('stream' as const),
    streamId: fc.integer({ min: 0, max: 9 }),
    offset: fc.bigInt({ min: 0n, max: 70_000n }),
    data: bytes(0, 64),
    fin: fc.boolean(),
  }).map((f) => (f.data.length === 0 ? { ...f, fin: true } : f)),
  fc.record({ type: fc.constant('ack' as const), connectionId: fc.integer({ min: 0, max: 2 }), highestSeq: fc.bigInt({ min: 0n, max: 5n }) }),
  fc.record({ type: fc.constant('new-token' as const), sequence: fc.integer({ min: 1, max: 6 }), token: bytes(32, 32) }),
  fc.record({ type: fc.constant('connection-reset' as const), connectionId: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ type: fc.constant('max-stream-data' as const), streamId: fc.integer({ min: 0, max: 9 }), maxOffset: fc.bigInt({ min: 0n, max: 200_000n }) }),
  fc.record({ type: fc.constant('remove-address' as const), addressId: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant('tcp-options-report' as const), connectionId: fc.integer({ min: 0, max: 2 }), sent: fc.option(segment, { nil: null }), received: fc.option(segment, { nil: null }) }),
  fc.record({ type: fc.constant('apply-ack' as const), requestId: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant('apply-refuse' as const), requestId: fc.integer({ min: 0, max: 3 }), reason: fc.integer({ min: 0, max: 9 }) }),
  fc.record({
    type: fc.constant('tcp-options-apply' as const),
    requestId: fc.integer({ min: 0, max: 3 }),
    connectionId: fc.integer({ min: 0, max: 2 }),
    setting: fc.record({ kind: fc.constant('userTimeout' as const), granularity: fc.constantFrom('seconds' as const, 'minutes' as const), timeout: fc.integer({ min: 1, max: 0x7fff }) }),
  }),
);
