import fc from 'fast-check';
import { RING_MIN_BYTES, RecvRing, SendRing } from '../../src/connection/buffers.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from '../../src/connection/seq.js';
import { passiveOpen } from './harness.js';

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

describe('rings grow on demand (idle connections cost almost nothing)', () => {
  test('SendRing: no storage until written, grows by doubling within the capacity, released when drained', () => {
    const ring = new SendRing(256 * 1024);
    expect(ring.allocated).toBe(0);
    expect(ring.free).toBe(256 * 1024); // the bound is advertised from the start
    ring.append(new Uint8Array(100));
    expect(ring.allocated).toBe(RING_MIN_BYTES);
    ring.append(new Uint8Array(RING_MIN_BYTES)); // 4196 live bytes: one doubling
    expect(ring.allocated).toBe(2 * RING_MIN_BYTES);
    ring.append(new Uint8Array(300 * 1024)); // capped at the capacity, never beyond
    expect(ring.length).toBe(256 * 1024);
    expect(ring.allocated).toBe(256 * 1024);
    ring.consume(1000);
    expect(ring.allocated).toBe(256 * 1024);
    ring.consume(ring.length);
    expect(ring.allocated).toBe(0);
  });

  test('SendRing: a view taken before growth or release keeps its bytes', () => {
    const ring = new SendRing(64 * 1024);
    ring.append(Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff));
    const v = ring.view(10, 20);
    ring.append(new Uint8Array(10_000).fill(0xee)); // grows: the storage moves
    expect(Array.from(v)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 10) & 0xff));
    expect(Array.from(ring.view(10, 20))).toEqual(Array.from(v));
    ring.consume(ring.length); // released
    expect(Array.from(v)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 10) & 0xff));
  });

  test('SendRing: byte order survives growth across a wrapped ring (property, capacity above the minimum)', () => {
    fc.assert(
      fc.property(fc.integer({ min: RING_MIN_BYTES + 1, max: 6 * RING_MIN_BYTES }), fc.array(fc.tuple(fc.nat(9000), fc.nat(9000)), { maxLength: 30 }), (cap, ops) => {
        const ring = new SendRing(cap);
        let written = 0; // absolute index of the next byte appended
        let acked = 0; // absolute index of the oldest byte held
        for (const [w, c] of ops) {
          const data = Uint8Array.from({ length: w }, (_, i) => (written + i) * 13 & 0xff);
          written += ring.append(data);
          expect(ring.allocated).toBeLessThanOrEqual(cap);
          const all = ring.view(0, ring.length);
          for (let i = 0; i < all.length; i++) if (all[i] !== ((acked + i) * 13 & 0xff)) throw new Error(`byte ${acked + i} wrong`);
          const k = Math.min(c, ring.length);
          ring.consume(k);
          acked += k;
        }
      }),
    );
  });

  test('RecvRing: no storage until data arrives; in-order and out-of-order data grow it within the capacity', () => {
    const ring = new RecvRing(256 * 1024, 8);
    expect(ring.allocated).toBe(0);
    expect(ring.free).toBe(256 * 1024); // the window is the bound, not the allocation
    expect(ring.insert(100_000, new Uint8Array(1000).fill(2))).toBe(0); // far ahead: grows to cover it
    expect(ring.allocated).toBeGreaterThanOrEqual(101_000);
    expect(ring.allocated).toBeLessThanOrEqual(256 * 1024);
    expect(ring.insert(0, new Uint8Array(100_000).fill(1))).toBe(101_000);
    const out = ring.read(200_000);
    expect(out.length).toBe(101_000);
    expect(out[99_999]).toBe(1);
    expect(out[100_000]).toBe(2);
    expect(ring.insert(0, new Uint8Array(256 * 1024))).toBe(256 * 1024);
    expect(ring.allocated).toBe(256 * 1024);
  });

  test('RecvRing: release() frees the storage only when nothing is buffered', () => {
    const ring = new RecvRing(64 * 1024, 8);
    ring.insert(0, new Uint8Array(10_000));
    ring.insert(20_000, new Uint8Array(10)); // an out-of-order block
    expect(ring.release()).toBe(false);
    ring.read(10_000);
    expect(ring.release()).toBe(false); // the out-of-order block still lives in the storage
    ring.clearOoo();
    expect(ring.release()).toBe(true);
    expect(ring.allocated).toBe(0);
    expect(ring.insert(0, Uint8Array.of(7, 8))).toBe(2);
    expect(Array.from(ring.read(10))).toEqual([7, 8]);
  });

  test('RecvRing: reassembly survives growth across a wrapped ring (property, capacity above the minimum)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: RING_MIN_BYTES + 1, max: 6 * RING_MIN_BYTES }),
        fc.array(fc.tuple(fc.nat(30_000), fc.integer({ min: 1, max: 5000 }), fc.nat(6000)), { maxLength: 40 }),
        (cap, pieces) => {
          const ring = new RecvRing(cap, 16);
          const stream = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7 + 3) & 0xff);
          let rcvNxt = 0;
          let readTo = 0;
          for (const [start, len, rd] of pieces) {
            const from = Math.max(start, rcvNxt);
            const to = Math.min(start + len, rcvNxt + ring.free, stream.length);
            if (to > from) {
              const adv = ring.insert(from - rcvNxt, stream.subarray(from, to));
              if (adv > 0) rcvNxt += adv;
            }
            expect(ring.allocated).toBeLessThanOrEqual(cap);
            const got = ring.read(rd);
            for (let i = 0; i < got.length; i++) if (got[i] !== stream[readTo + i]) throw new Error(`byte ${readTo + i} wrong`);
            readTo += got.length;
          }
          expect(readTo + ring.readable).toBe(rcvNxt);
        },
      ),
    );
  });
});

describe('RecvRing bulk reads', () => {
  test('a read that drains a mostly full storage hands it over: later data never touches the bytes read', () => {
    const ring = new RecvRing(64 * 1024, 8);
    ring.insert(0, new Uint8Array(3000).fill(1));
    const first = ring.read(10_000); // 3000 of 4096: handed over
    expect(ring.allocated).toBe(0);
    ring.insert(0, new Uint8Array(3000).fill(2)); // fresh storage of the same size
    expect(ring.allocated).toBe(RING_MIN_BYTES);
    expect(first.every((b) => b === 1)).toBe(true);
    const second = ring.read(10_000);
    expect(second.every((b) => b === 2)).toBe(true);
    expect(first.every((b) => b === 1)).toBe(true);
  });

  test('a small or partial read copies and keeps the storage', () => {
    const ring = new RecvRing(64 * 1024, 8);
    ring.insert(0, Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff)); // 1000 of 4096: copied
    const a = ring.read(2000);
    expect(ring.allocated).toBe(RING_MIN_BYTES);
    ring.insert(0, new Uint8Array(1000).fill(0xaa)); // reuses the storage from offset 0
    expect(Array.from(a)).toEqual(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    ring.insert(0, new Uint8Array(2500).fill(0xbb)); // in order after the 1000 bytes
    const part = ring.read(500); // not everything: a copy
    expect(part.every((b) => b === 0xaa)).toBe(true);
    expect(ring.readable).toBe(3000);
  });
});

describe('received SYN options are owned copies', () => {
  test('synInfo() keeps copies of option bytes, not views that would pin the received packet', () => {
    const packet = new Uint8Array(4096).fill(0x11); // stands for a large receive slab
    const data = packet.subarray(100, 104);
    const s = passiveOpen([{ kind: 'unknown', code: 99, data }, { kind: 'experimental', code: 254, exid: 0x1234, data: packet.subarray(200, 202) }, { kind: 'sackPermitted' }]);
    const rec = s.conn.synInfo().received!;
    const unknown = rec.options.find((o) => o.kind === 'unknown') as { data: Uint8Array };
    const exp = rec.options.find((o) => o.kind === 'experimental') as { data: Uint8Array; exid: number };
    expect(Array.from(unknown.data)).toEqual([0x11, 0x11, 0x11, 0x11]);
    expect(unknown.data.buffer).not.toBe(packet.buffer);
    expect(exp.data.buffer).not.toBe(packet.buffer);
    expect(exp.exid).toBe(0x1234);
    expect(rec.options.some((o) => o.kind === 'sackPermitted')).toBe(true);
  });
});
