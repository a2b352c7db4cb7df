/**
 * `tcpls get --streams N` to stdout: fetchFile's in-order window bounds what an in-order consumer
 * (InOrder → stdout, the sha256) holds back, and the consumer's backpressure pauses the reading.
 * Simulator, 16 streams, a file 8× the window.
 */
import { createHash } from 'node:crypto';
import { type FetchResult, InOrder, bufferSource, fetchFile, serveFiles } from '../../packages/cli/src/tcpls-common';
import { seeded, simSession } from './harness';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const WINDOW = 256 * 1024;
const file = seeded(21)(8 * WINDOW + 12_345);

function fetch16(o: { window?: number; pauseEvery?: number }) {
  const t = simSession({ seed: 21, link: { rate: 100e6, delay: 2 }, onServer: (ep) => serveFiles(ep, (p) => (p === '/f.bin' ? bufferSource(file) : 'not found'), () => undefined) });
  const h = createHash('sha256');
  let written = 0;
  const order = new InOrder((d) => {
    h.update(d);
    written += d.length;
  });
  let sinceResume = 0;
  let resume: (() => void) | null = null;
  let pauses = 0;
  let out: FetchResult | Error | null = null;
  const pausing = o.pauseEvery !== undefined;
  fetchFile(
    t.client,
    '/f.bin',
    {
      write: (off, d) => {
        order.add(off, d);
        sinceResume += d.length;
      },
    },
    {
      streams: 16,
      window: o.window,
      blocked: pausing ? () => sinceResume >= o.pauseEvery! : undefined,
      waitUnblocked: pausing ? (r) => (resume = r) : undefined,
      onSettled: (r) => (out = r),
    },
  ).catch(() => undefined);
  let stalledOk = true;
  for (let i = 0; i < 1000 && out === null; i++) {
    t.runUntil(() => out !== null || resume !== null, 60_000);
    if (resume !== null) {
      // While paused, more simulated time must not push more bytes through.
      const before = written + order.pendingBytes;
      t.runUntil(() => false, 50);
      if (written + order.pendingBytes !== before) stalledOk = false;
      pauses++;
      const r: () => void = resume;
      resume = null;
      sinceResume = 0;
      r();
    }
  }
  return { out: out as FetchResult | Error | null, digest: h.digest('hex'), written, peak: order.peakPendingBytes, pending: order.pendingBytes, pauses, stalledOk };
}

describe('tcpls get: in-order window', () => {
  test('16 streams with the window: sha256 intact, never more than the window held back', () => {
    const r = fetch16({ window: WINDOW });
    expect(r.out).not.toBeInstanceOf(Error);
    expect((r.out as FetchResult).bytes).toBe(file.length);
    expect(r.written).toBe(file.length);
    expect(r.digest).toBe(sha(file));
    expect(r.pending).toBe(0);
    expect(r.peak).toBeGreaterThan(0); // the streams did run in parallel
    expect(r.peak).toBeLessThan(WINDOW);
    // More than 16 ranges: the file was fetched in window-sized chunks.
    expect((r.out as FetchResult).streams.length).toBeGreaterThan(16);
  });

  test('16 streams without a window (split once): the reordering buffer grows past that bound', () => {
    const r = fetch16({});
    expect(r.digest).toBe(sha(file));
    expect(r.peak).toBeGreaterThan(WINDOW);
  });

  test('consumer backpressure: while blocked nothing is read; resumed, the fetch completes intact', () => {
    const r = fetch16({ window: WINDOW, pauseEvery: 64 * 1024 });
    expect(r.out).not.toBeInstanceOf(Error);
    expect(r.digest).toBe(sha(file));
    expect(r.pauses).toBeGreaterThan(10);
    expect(r.stalledOk).toBe(true);
    expect(r.peak).toBeLessThan(WINDOW);
  });

  test('a server answering another range than asked is refused in windowed mode', () => {
    const t = simSession({ seed: 22, onServer: (ep) => serveFiles(ep, (p) => (p === '/f.bin' ? bufferSource(file) : 'not found'), () => undefined) });
    let out: FetchResult | Error | null = null;
    // Asking for a size that is wrong makes the client ask for ranges past the file's end: the server clips them.
    fetchFile(t.client, '/f.bin', { write: () => undefined }, { streams: 4, window: WINDOW, size: file.length + 4 * WINDOW, onSettled: (r) => (out = r) }).catch(() => undefined);
    t.runUntil(() => out !== null, 60_000);
    expect(out).toBeInstanceOf(Error);
    expect(String(out)).toMatch(/asked for/);
  });
});
