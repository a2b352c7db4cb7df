/** Pure parts of the lab: input validation, subnet choice, naming and placement, the delay FIFO. */
import fc from 'fast-check';
import { formatIpv6Address, parseIpv6Address } from '@tcpls/tcp/wire';
import { DelayQueue } from '../../src/lab/delay-queue.js';
import {
  LabError,
  PREFIX_MAX,
  describeMiddlebox,
  middleboxNftLines,
  parseDelay,
  parseLoss,
  parseMiddlebox,
  parseMtu,
  parsePrefix,
  parseRate,
  parseSubnet,
  parseTopology,
  subnetForPrefix,
} from '../../src/lab/options.js';
import { IFNAME_MAX, buildPlan, ownedNamespacePattern, tbfBurstBytes } from '../../src/lab/plan.js';

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).code).toBe('usage');
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('lab input validation', () => {
  test('topology: the three names are accepted, anything else names the valid ones', () => {
    expect(parseTopology('router')).toBe('router');
    expect(usageMessage(() => parseTopology('star'))).toMatch(/unknown topology 'star'.*two-hosts, router, multipath/);
    expect(usageMessage(() => parseTopology(undefined))).toMatch(/missing topology/);
  });

  test('rate: tc units are normalised to bit/s; junk, zero and absurd rates are refused', () => {
    expect(parseRate('30mbit')).toBe(30_000_000);
    expect(parseRate('1.5gbit')).toBe(1_500_000_000);
    expect(parseRate('500kbit')).toBe(500_000);
    expect(parseRate('20m')).toBe(20_000_000);
    for (const bad of ['fast', '30mbps', '-1mbit', '0mbit', '1bit', '100gbit', '']) {
      expect(usageMessage(() => parseRate(bad))).toMatch(/--rate/);
    }
  });

  test('loss: percent in 0..100 with an optional %, else refused', () => {
    expect(parseLoss('2')).toBe(2);
    expect(parseLoss('0.5%')).toBe(0.5);
    for (const bad of ['101', '-1', 'lots', '1e2']) expect(usageMessage(() => parseLoss(bad))).toMatch(/percentage/);
  });

  test('delay: ms or s suffix, bounded', () => {
    expect(parseDelay('20')).toBe(20);
    expect(parseDelay('1.5ms')).toBe(1.5);
    expect(parseDelay('0.2s')).toBe(200);
    for (const bad of ['-3', '20us', 'x', '11s']) expect(usageMessage(() => parseDelay(bad))).toMatch(/--delay/);
  });

  test('mtu: 1280..65535 (IPv6 minimum, RFC 8200 section 5)', () => {
    expect(parseMtu('9000')).toBe(9000);
    expect(usageMessage(() => parseMtu('1000'))).toMatch(/out of range/);
    expect(usageMessage(() => parseMtu('1500.5'))).toMatch(/integer/);
  });

  test('prefix: letters and digits, at most 10, so interface names fit 15 characters', () => {
    expect(parsePrefix(undefined)).toBe('tl');
    expect(parsePrefix('hl1a2b3c')).toBe('hl1a2b3c');
    for (const bad of ['a-b', '1ab', 'abcdefghijk', '', 'a b']) expect(usageMessage(() => parsePrefix(bad))).toMatch(/bad prefix/);
  });

  test('middlebox: mss and strip rules parse to nftables statements; unknown rules list the valid ones', () => {
    const rules = parseMiddlebox('mss=1200,strip=sack-perm,strip=timestamp,strip=wscale,strip=254');
    expect(middleboxNftLines(rules)).toEqual([
      'tcp flags syn tcp option maxseg size > 1200 tcp option maxseg size set 1200',
      'reset tcp option 4',
      'reset tcp option 8',
      'reset tcp option 3',
      'reset tcp option 254',
    ]);
    expect(describeMiddlebox(rules)).toBe('mss=1200,strip=sack-perm,strip=timestamp,strip=wscale,strip=254');
    expect(usageMessage(() => parseMiddlebox('ttl=3'))).toMatch(/unknown middlebox rule 'ttl=3'.*valid rules: mss=N.*strip=NAME/);
    expect(usageMessage(() => parseMiddlebox('strip=bogus'))).toMatch(/unknown option 'bogus'.*sack-perm/);
    expect(usageMessage(() => parseMiddlebox('strip=255'))).toMatch(/unknown option/);
    expect(usageMessage(() => parseMiddlebox('mss=12'))).toMatch(/mss needs an integer/);
    expect(parseMiddlebox('none')).toEqual([]);
  });
});

describe('lab subnets', () => {
  test('the subnet is a deterministic function of the prefix, outside 10.231-10.240', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/), (p) => {
        const a = subnetForPrefix(p);
        expect(subnetForPrefix(p)).toEqual(a);
        expect(a.x).toBeGreaterThanOrEqual(160);
        expect(a.x).toBeLessThanOrEqual(223);
        expect(a.y % 4).toBe(0);
        expect(a.y).toBeLessThanOrEqual(252);
      }),
    );
    // Different prefixes usually land on different subnets (labs are isolated anyway).
    const seen = new Set(['hl1', 'hl2', 'hl3', 'hl4', 'hl5', 'hl6'].map((p) => JSON.stringify(subnetForPrefix(p))));
    expect(seen.size).toBeGreaterThan(3);
  });

  test('--subnet takes an aligned 10.X.Y.0/22 and nothing else', () => {
    expect(parseSubnet('10.77.8.0/22')).toEqual({ x: 77, y: 8 });
    expect(parseSubnet('10.77.8.0')).toEqual({ x: 77, y: 8 });
    for (const bad of ['10.77.9.0', '192.168.0.0', '10.300.0.0', '10.1.2.3']) expect(usageMessage(() => parseSubnet(bad))).toMatch(/--subnet/);
  });
});

describe('lab plans', () => {
  const longPrefix = 'a'.repeat(PREFIX_MAX);

  test('every name carries the prefix and interface names stay within 15 characters', () => {
    for (const topology of ['two-hosts', 'router', 'multipath'] as const) {
      const plan = buildPlan({ topology, prefix: longPrefix, path1: { delay: 5 }, path2: topology === 'multipath' ? { delay: 5 } : undefined });
      for (const ns of plan.namespaces) expect(ns.name).toMatch(ownedNamespacePattern(longPrefix));
      for (const l of plan.links) {
        for (const e of [l.a, l.b]) {
          expect(e.name.startsWith(`${longPrefix}-`)).toBe(true);
          expect(e.name.length).toBeLessThanOrEqual(IFNAME_MAX);
        }
      }
    }
  });

  test('IPv6 addresses are written canonically (RFC 5952), as ip and node print them back, also when a group is zero', () => {
    for (const subnet of [{ x: 160, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 4 }, { x: 170, y: 8 }]) {
      const plan = buildPlan({ topology: 'router', prefix: 'p', subnet });
      for (const l of plan.links) {
        for (const e of [l.a, l.b]) {
          if (!e.v6) continue;
          const [addr, len] = e.v6.split('/');
          expect(`${formatIpv6Address(parseIpv6Address(addr))}/${len}`).toBe(e.v6);
        }
      }
    }
    expect(buildPlan({ topology: 'two-hosts', prefix: 'p', subnet: { x: 160, y: 0 } }).endpoints.client.v6).toBe('fd00:a0::1');
  });

  test('two-hosts: one subnet for both hosts, v4 and v6; a delay inserts a bridge namespace', () => {
    const plain = buildPlan({ topology: 'two-hosts', prefix: 'p', subnet: { x: 170, y: 8 } });
    expect(plain.namespaces.map((n) => n.name)).toEqual(['p-client', 'p-server']);
    expect(plain.links).toHaveLength(1);
    expect(plain.endpoints).toEqual({ client: { v4: '10.170.8.1', v6: 'fd00:aa:8::1' }, server: { v4: '10.170.8.2', v6: 'fd00:aa:8::2' } });
    const delayed = buildPlan({ topology: 'two-hosts', prefix: 'p', path1: { delay: 10, rate: 1e6, loss: 1 } });
    expect(delayed.namespaces.map((n) => n.name)).toEqual(['p-client', 'p-server', 'p-bridge1']);
    expect(delayed.links).toHaveLength(2);
    expect(delayed.bridges).toEqual([{ ns: 'p-bridge1', a: 'p-b1a', b: 'p-b1b', delay: 10, path: 1 }]);
    // The hosts shape their own veths: tbf egress on both, loss on both ingresses.
    expect(delayed.tbf.map((t) => t.dev).sort()).toEqual(['p-c1', 'p-s1']);
    expect(delayed.loss.map((t) => t.dev).sort()).toEqual(['p-c1', 'p-s1']);
  });

  test('router: two subnets, default routes both ways via the router, shaping on the router', () => {
    const plan = buildPlan({ topology: 'router', prefix: 'p', subnet: { x: 170, y: 8 }, path1: { rate: 20e6 } });
    expect(plan.routes).toEqual(
      expect.arrayContaining([
        { ns: 'p-client', family: 4, via: '10.170.8.1', dev: 'p-c1' },
        { ns: 'p-client', family: 6, via: 'fd00:aa:8::1', dev: 'p-c1' },
        { ns: 'p-server', family: 4, via: '10.170.9.1', dev: 'p-s1' },
        { ns: 'p-server', family: 6, via: 'fd00:aa:9::1', dev: 'p-s1' },
      ]),
    );
    expect(plan.tbf.map((t) => `${t.ns}/${t.dev}`)).toEqual(['p-router/p-r1a', 'p-router/p-r1b']);
    expect(plan.routers).toEqual(['p-router']);
  });

  test('multipath: path 1 IPv4 only, path 2 IPv6 only, through separate routers, shaped separately', () => {
    const plan = buildPlan({ topology: 'multipath', prefix: 'p', subnet: { x: 170, y: 8 }, path1: { rate: 30e6 }, path2: { rate: 20e6, delay: 7 } });
    expect(plan.routers).toEqual(['p-router1', 'p-router2']);
    const c1 = plan.links.flatMap((l) => [l.a, l.b]).find((e) => e.name === 'p-c1')!;
    const c2 = plan.links.flatMap((l) => [l.a, l.b]).find((e) => e.name === 'p-c2')!;
    expect([c1.v4, c1.v6]).toEqual(['10.170.8.2/24', undefined]);
    expect([c2.v4, c2.v6]).toEqual([undefined, 'fd00:aa:a::2/64']);
    expect(plan.tbf.map((t) => `${t.dev}:${t.rate}`)).toEqual(['p-r1a:30000000', 'p-r1b:30000000', 'p-r2a:20000000', 'p-r2b:20000000']);
    expect(plan.bridges.map((b) => b.ns)).toEqual(['p-bridge2']);
  });

  test('options that do not fit the topology are usage errors', () => {
    expect(usageMessage(() => buildPlan({ topology: 'two-hosts', middlebox: parseMiddlebox('mss=1200') }))).toMatch(/needs a router/);
    expect(usageMessage(() => buildPlan({ topology: 'router', path2: { rate: 1e6 } }))).toMatch(/multipath/);
    expect(usageMessage(() => buildPlan({ topology: 'router', prefix: 'bad-prefix' }))).toMatch(/bad prefix/);
  });

  test('tbf burst holds at least two full frames and about 4 ms at the rate', () => {
    expect(tbfBurstBytes(30e6, 1500)).toBe(15000);
    expect(tbfBurstBytes(1e6, 9000)).toBe(2 * 9014);
  });
});

describe('delay bridge FIFO', () => {
  test('frames leave in arrival order exactly `delay` after they arrived', () => {
    const q = new DelayQueue(20);
    q.push(Uint8Array.of(1), 100);
    q.push(Uint8Array.of(2), 105);
    expect(q.nextDue()).toBe(120);
    expect(q.popDue(119.9)).toEqual([]);
    expect(q.popDue(120).map((f) => f[0])).toEqual([1]);
    expect(q.nextDue()).toBe(125);
    expect(q.popDue(200).map((f) => f[0])).toEqual([2]);
    expect(q.nextDue()).toBeNull();
    expect(q.stats).toEqual({ enqueued: 2, sent: 2, dropped: 0 });
  });

  test('a full queue drops and counts instead of growing', () => {
    const q = new DelayQueue(10, 3, 1000);
    for (let i = 0; i < 5; i++) q.push(new Uint8Array(10), 0);
    expect(q.length).toBe(3);
    expect(q.stats.dropped).toBe(2);
    const big = new DelayQueue(10, 100, 25);
    expect(big.push(new Uint8Array(20), 0)).toBe(true);
    expect(big.push(new Uint8Array(20), 0)).toBe(false);
  });

  test('property: any arrival sequence comes out complete, in order, never early', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 300 }), fc.nat(30), (gaps, delay) => {
        const q = new DelayQueue(delay);
        let t = 0;
        const arrivals: number[] = [];
        const out: number[] = [];
        gaps.forEach((g, i) => {
          t += g;
          arrivals.push(t);
          q.push(Uint8Array.of(i & 0xff, i >> 8), t);
          for (const f of q.popDue(t)) {
            const idx = f[0] | (f[1] << 8);
            expect(arrivals[idx] + delay).toBeLessThanOrEqual(t);
            out.push(idx);
          }
        });
        for (const f of q.popDue(t + delay)) out.push(f[0] | (f[1] << 8));
        expect(out).toEqual(gaps.map((_, i) => i));
      }),
    );
  });
});
