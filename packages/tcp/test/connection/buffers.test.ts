import fc from 'fast-check';
import { RecvRing, SendRing } from '../../src/connection/buffers.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from '../../src/connection/seq.js';

describe('sequence arithmetic (RFC 9293 3.4, modulo 2^32)', () => {
  test('comparisons work across the wrap', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(5, -10)).toBe(0xfffffffb);
    expect(seqLt(0xfffffff0, 5)).toBe(true);
    expect(seqGt(5, 0xfffffff0)).toBe(true);
    expect(seqLe(7, 7) && seqGe(7, 7)).toBe(true);
    expect(seqSub(3, 0xfffffffe)).toBe(5);
  });
});

describe('SendRing', () => {
  test('append / view / consume keep byte order across wraps (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.tuple(fc.nat(40), fc.nat(40), fc.nat(40)), { maxLength: 40 }),
        (cap, ops) => {
          const ring = new SendRing(cap);
          const model: number[] = [];
          let counter = 0;
          for (const [w, c, v] of ops) {
            const data = Uint8Array.from({ length: w }, () => counter++ & 0xff);
            const n = ring.append(data);
            expect(n).toBe(Math.min(w, cap - model.length));
            model.push(...data.subarray(0, n));
            const off = Math.min(v, model.length);
            const len = Math.min(v, model.length - off);
            expect(Array.from(ring.view(off, len))).toEqual(model.slice(off, off + len));
            const k = Math.min(c, model.length);
            ring.consume(k);
            model.splice(0, k);
            expect(ring.length).toBe(model.length);
          }
        },
      ),
    );
  });

  test('a contiguous view is a subarray of the ring, not a copy', () => {
    const ring = new SendRing(16);
    ring.append(new Uint8Array([1, 2, 3, 4]));
    const v1 = ring.view(0, 4);
    const v2 = ring.view(1, 2);
    expect(v1.buffer).toBe(v2.buffer);
    expect(() => ring.view(2, 3)).toThrow(RangeError);
  });
});

describe('RecvRing', () => {
  test('out-of-order inserts reassemble to the original stream (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 64 }), fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 1, max: 20 })), { maxLength: 60 }), (cap, pieces) => {
        const ring = new RecvRing(cap, 8);
        const stream = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff);
        let rcvNxt = 0; // absolute offset of the next expected byte
        const out: number[] = [];
        for (const [start, len] of pieces) {
          // Trim like the connection does: nothing before RCV.NXT, nothing past the free space.
          const from = Math.max(start, rcvNxt);
          const to = Math.min(start + len, rcvNxt + ring.free, stream.length);
          if (to <= from) continue;
          const adv = ring.insert(from - rcvNxt, stream.subarray(from, to));
          if (adv > 0) rcvNxt += adv;
          expect(ring.oooIntervals.length).toBeLessThanOrEqual(8);
          if (out.length % 3 === 0) out.push(...ring.read(5));
        }
        out.push(...ring.read(cap));
        expect(out).toEqual(Array.from(stream.subarray(0, rcvNxt)));
      }),
    );
  });

  test('an interval list at its bound drops a new disjoint range but accepts an adjacent one', () => {
    const ring = new RecvRing(100, 2);
    expect(ring.insert(10, new Uint8Array(2))).toBe(0);
    expect(ring.insert(20, new Uint8Array(2))).toBe(0);
    expect(ring.insert(30, new Uint8Array(2))).toBe(-1);
    expect(ring.insert(12, new Uint8Array(2))).toBe(0);
    expect(ring.oooIntervals).toEqual([
      [10, 14],
      [20, 22],
    ]);
    expect(ring.insert(0, new Uint8Array(10))).toBe(14);
    expect(ring.readable).toBe(14);
  });
});
