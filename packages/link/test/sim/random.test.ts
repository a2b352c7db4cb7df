import fc from 'fast-check';
import { SimRandom, seedToU32 } from '@tcpls/link';
import { EventHeap, SimEventKind } from '../../src/sim/heap.js';

describe('SimRandom (xoshiro128** seeded by splitmix32)', () => {
  test('matches an independent implementation (vectors computed in Python from the published algorithms)', () => {
    const a = new SimRandom(0);
    expect([a.u32(), a.u32(), a.u32(), a.u32(), a.u32()]).toEqual([3809008728, 1133695204, 53579671, 2891528803, 139681546]);
    const b = new SimRandom(42);
    expect([b.u32(), b.u32(), b.u32(), b.u32(), b.u32()]).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180]);
  });

  test('string seeds fold with FNV-1a (known value for "abc")', () => {
    expect(seedToU32('abc')).toBe(0x1a47e90b);
    expect(seedToU32(7)).toBe(7);
    expect(seedToU32(2 ** 32 + 7)).not.toBe(7);
  });

  test('float() is in [0, 1) with mean 1/2 and int(n) covers [0, n) without bias (chi-square, 10 bins)', () => {
    const r = new SimRandom('dist');
    let sum = 0;
    const N = 100000;
    const bins = new Array(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < N; i++) {
      const f = r.float();
      if (!(f >= 0 && f < 1)) outOfRange++;
      sum += f;
      bins[r.int(10)]++;
    }
    expect(outOfRange).toBe(0);
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.005); // sd of the mean is 0.0009
    const chi = bins.reduce((acc, o) => acc + (o - N / 10) ** 2 / (N / 10), 0);
    expect(chi).toBeLessThan(27.9); // p = 0.001 for 9 degrees of freedom
    expect(() => r.int(0)).toThrow(RangeError);
  });

  test('fill() writes every byte, including a tail shorter than 4', () => {
    const out = new SimRandom(3).fill(new Uint8Array(7));
    const again = new SimRandom(3).fill(new Uint8Array(7));
    expect(Buffer.from(out).equals(Buffer.from(again))).toBe(true);
    expect(out.some((b) => b !== 0)).toBe(true);
  });
});

describe('EventHeap', () => {
  test('pops in (time, seq) order under random pushes and removals (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 200 }),
        (ops) => {
          const h = new EventHeap();
          const live: { time: number; seq: number }[] = [];
          const events = ops.map(([time, remove], seq) => {
            const ev = h.push(time, seq, SimEventKind.TIMER, null, null, null);
            return { ev, remove, time, seq };
          });
          for (const e of events) {
            if (e.remove) e.ev.cancel();
            else live.push({ time: e.time, seq: e.seq });
          }
          expect(h.size).toBe(live.length);
          live.sort((a, b) => a.time - b.time || a.seq - b.seq);
          const out: { time: number; seq: number }[] = [];
          for (let ev = h.pop(); ev; ev = h.pop()) out.push({ time: ev.time, seq: ev.seq });
          expect(out).toEqual(live);
        },
      ),
      { numRuns: 300 },
    );
  });
});
