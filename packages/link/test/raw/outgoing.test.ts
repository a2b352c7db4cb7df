import { outgoingDropReason, refuseOutgoing } from '../../src/real/outgoing.js';
import { RealLinkCounters } from '../../src/real/stats.js';

describe('outgoing packet checks shared by RawSocketLink and PcapLink', () => {
  const v4 = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 0x45 : 0));
  const v6 = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 0x60 : 0));

  test('a whole header of the link family within the MTU may be sent', () => {
    expect(outgoingDropReason(v4(20), 4, 1500)).toBeNull();
    expect(outgoingDropReason(v6(1500), 6, 1500)).toBeNull();
  });

  test('the other IP version is wrongFamily, whatever its length', () => {
    expect(outgoingDropReason(v6(60), 4, 1500)).toBe('wrongFamily');
    expect(outgoingDropReason(v4(10), 6, 1500)).toBe('wrongFamily');
  });

  test('shorter than the fixed header (or empty) is malformed', () => {
    expect(outgoingDropReason(v4(19), 4, 1500)).toBe('malformed');
    expect(outgoingDropReason(v6(39), 6, 1500)).toBe('malformed');
    expect(outgoingDropReason(new Uint8Array(0), 4, 1500)).toBe('malformed');
  });

  test('larger than the MTU is tooBig', () => {
    expect(outgoingDropReason(v4(1501), 4, 1500)).toBe('tooBig');
  });

  test('refuseOutgoing counts the reason, and a closed link refuses even a good packet as closed', () => {
    const c = new RealLinkCounters();
    expect(refuseOutgoing(false, v4(40), 4, 1500, c)).toBe(false);
    expect(refuseOutgoing(true, v4(40), 4, 1500, c)).toBe(true);
    expect(refuseOutgoing(false, v4(1600), 4, 1500, c)).toBe(true);
    expect(refuseOutgoing(false, v6(60), 4, 1500, c)).toBe(true);
    expect(c.snapshot().drops).toEqual({ closed: 1, tooBig: 1, wrongFamily: 1 });
  });
});
