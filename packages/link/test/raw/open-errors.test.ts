/**
 * Bad options to the real links are refused with a typed RealLinkError before any socket, capture
 * or firewall rule exists, so these run without root (nothing here touches the network).
 */
import { PcapLink, RawSocketLink, RealLinkError } from '../../src/index.js';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RealLinkError);
    return `${(e as RealLinkError).code}: ${(e as Error).message}`;
  }
  throw new Error('expected the open to fail');
}

describe('RawSocketLink.open refuses bad options before opening anything', () => {
  test('text that is not an IP address is bad-option', async () => {
    expect(await code(RawSocketLink.open({ localAddress: '10.0.0.300' }))).toBe('bad-option: not an IP address: 10.0.0.300');
  });

  test('an address no interface of this namespace has is address-not-local (192.0.2.1 is TEST-NET-1, RFC 5737)', async () => {
    expect(await code(RawSocketLink.open({ localAddress: '192.0.2.1' }))).toMatch(/^address-not-local: RawSocketLink: 192\.0\.2\.1 is not configured/);
  });
});

describe('PcapLink.open refuses bad options before capturing', () => {
  test.each([
    [{ device: 'lo', address: 'fd00::zz' }, /^bad-option: not an IP address/],
    [{ device: 'lo', address: '192.0.2.7', gateway: 'fd00::1' }, /^bad-option: gateway fd00::1 is not an IPv4 address/],
    [{ device: 'lo', address: '192.0.2.7', prefixLength: 33 }, /^bad-option: prefixLength must be 0..32/],
    [{ device: 'lo', address: 'fd00::7', prefixLength: -1 }, /^bad-option: prefixLength must be 0..128/],
    [{ device: 'lo', address: '192.0.2.7', mac: '01:00:5e:00:00:01' }, /^bad-option: MAC .* is a group address/],
    [{ device: 'lo', address: '192.0.2.7', mac: 'not-a-mac' }, /^bad-option: /],
    [{ device: 'nosuchdev0', address: '192.0.2.7' }, /^device-not-found: PcapLink: no device 'nosuchdev0'/],
    [{ device: 'lo', address: '127.0.0.1' }, /^address-owned-by-kernel: PcapLink: 127\.0\.0\.1 is configured on lo/],
  ])('%j is refused: %s', async (opts, re) => {
    expect(await code(PcapLink.open(opts))).toMatch(re);
  });
});
