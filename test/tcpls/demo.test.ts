/** `tcpls demo`'s scenario (runDemo): what it reports is what its middlebox did, and a seed fixes the run. */
import { runDemo } from '../../packages/cli/src/commands/demo';

const fields = (d: { direction: string; field: string }[]) => d.map((x) => `${x.direction} ${x.field}`).sort();

describe('tcpls demo', () => {
  test('across the demo middlebox the client detects exactly MSS, SACK-permitted, timestamps, option 254 and NOP padding', () => {
    const { result: r } = runDemo({ seed: 1, size: 200_000, streams: 3 });
    expect(r.intact).toBe(true);
    expect(r.bytes).toBe(200_000);
    expect(r.streams.map((s) => s.id)).toEqual([0, 2, 4]);
    expect(fields(r.optionDifferences)).toEqual(
      ['me-to-peer mss', 'me-to-peer sackPermitted', 'me-to-peer timestamps', 'me-to-peer option:254', 'me-to-peer nop-padding', 'peer-to-me mss', 'peer-to-me option:254', 'peer-to-me nop-padding'].sort(),
    );
    expect(r.appliedOptions.map((a) => a.applied)).toEqual([true, true]);
  });

  test('--clean: no difference at all', () => {
    const { result: r } = runDemo({ seed: 2, size: 50_000, streams: 2, clean: true });
    expect(r.intact).toBe(true);
    expect(r.optionDifferences).toEqual([]);
    expect(r.serverOptionDifferences).toEqual([]);
  });

  test('the same seed gives the same run (simulated time, bytes, hash)', () => {
    const a = runDemo({ seed: 9, size: 100_000, streams: 2 }).result;
    const b = runDemo({ seed: 9, size: 100_000, streams: 2 }).result;
    expect([a.seconds, a.sha256, a.bytes]).toEqual([b.seconds, b.sha256, b.bytes]);
  });
});
