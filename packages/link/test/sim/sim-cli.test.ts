/**
 * `tcpls sim` (packages/cli/src/commands/sim.ts) on the simulator: what it measures matches what it
 * was told, within the tolerances stated in each test name, and one seed gives one pcap file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../cli/src/args.js';
import { run } from '../../../cli/src/commands/sim.js';

interface Report {
  forward: { sent: number; delivered: number; dropped: { loss: number; queue: number } };
  goodputBitPerSec: number;
  oneWayDelayMs: { min: number; avg: number; max: number } | null;
  synMssSeenByServer: number | null;
}

async function sim(args: string[]): Promise<Report> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    expect(await run([...args, '--json'])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(out) as Report;
}

describe('tcpls sim', () => {
  test('rate: back-to-back 1500-byte packets at 10 Mbit/s give a goodput of 10 Mbit/s x 1460/1500 (within 1 %)', async () => {
    const r = await sim(['--rate', '10mbit', '--delay', '5', '--packets', '2000', '--queue-packets', '5000']);
    const expected = 10e6 * (1460 / 1500);
    expect(Math.abs(r.goodputBitPerSec - expected) / expected).toBeLessThan(0.01);
  });

  test('delay: without queueing every one-way delay is delay + serialisation, exactly (1 ns)', async () => {
    // 1500 bytes at 10 Mbit/s = 1.2 ms on the wire, the 60-byte SYN 0.048 ms; one packet every
    // 2 ms never queues.
    const r = await sim(['--rate', '10mbit', '--delay', '20', '--interval', '2', '--packets', '500']);
    expect(r.oneWayDelayMs!.min).toBeCloseTo(20.048, 6);
    expect(r.oneWayDelayMs!.max).toBeCloseTo(21.2, 6);
    expect(r.oneWayDelayMs!.avg).toBeCloseTo((20.048 + 499 * 21.2) / 500, 6);
  });

  test('loss: --loss 2% drops 2 % of 20 000 packets (binomial, within 5 sd = 0.5 points)', async () => {
    const r = await sim(['--loss', '2%', '--packets', '20000', '--size', '100', '--interval', '0.01', '--seed', '11']);
    const sd = Math.sqrt(20000 * 0.02 * 0.98);
    expect(Math.abs(r.forward.dropped.loss - 400)).toBeLessThanOrEqual(5 * sd);
    expect(r.forward.delivered + r.forward.dropped.loss).toBe(20000);
    // The same setting written as a probability gives the same run.
    const same = await sim(['--loss', '0.02', '--packets', '20000', '--size', '100', '--interval', '0.01', '--seed', '11']);
    expect(same).toEqual(r);
  });

  test('one seed, two runs: byte-identical pcap files; another seed: a different file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ha-sim-'));
    try {
      const args = ['--rate', '20mbit', '--delay', '3', '--jitter', '2', '--loss', '0.05', '--reorder', '0.05', '--duplicate', '0.02', '--mss-clamp', '1200', '--packets', '300'];
      for (const [seed, f] of [['4', 'a'], ['4', 'b'], ['5', 'c']]) await sim([...args, '--seed', seed, '--pcap', join(dir, `${f}.pcap`)]);
      const [a, b, c] = ['a', 'b', 'c'].map((f) => readFileSync(join(dir, `${f}.pcap`)));
      expect(a.length).toBeGreaterThan(24 + 300 * 16);
      expect(b.equals(a)).toBe(true);
      expect(c.equals(a)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a run of 200 000 packets reports its delays (no per-packet list: no stack overflow)', async () => {
    const r = await sim(['--packets', '200000', '--size', '60', '--queue-packets', '300000', '--delay', '1']);
    expect(r.forward.delivered).toBe(200000);
    expect(r.oneWayDelayMs!.min).toBe(1);
  });

  test.each([
    [['--loss', '2'], /--loss must be a probability in \[0, 1\] or a percentage/],
    [['--rate', 'fast'], /--rate: cannot read 'fast'/],
    [['--strip-options', '300'], /option kinds 2..255/],
    [['--pcap', '/nonexistent-dir/x.pcap'], /--pcap: cannot write '\/nonexistent-dir\/x.pcap'/],
  ])('bad input %j is a usage error naming the option', async (args, re) => {
    await expect(run(args)).rejects.toThrow(UsageError);
    await expect(run(args)).rejects.toThrow(re);
  });
});
