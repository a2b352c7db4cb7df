/**
 * Hostile input: random bytes, and real packets with random damage, must only ever produce a
 * WireError (never a TypeError/RangeError, never a hang), and whatever parses must hold views
 * into the input rather than fresh allocations sized by attacker-controlled fields.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  WireError,
  parseIpPacket,
  parseTcp,
  parseTcpOptions,
  parseTcpPacket,
  type TcpOption,
} from '../../src/wire/index.js';
import { hexToBytes } from './helpers.js';

const vectorDir = join(__dirname, '../../../../test/vectors/wire');
const seeds = ['linux-tcp-ipv4.json', 'linux-tcp-ipv6.json'].flatMap((f) =>
  (JSON.parse(readFileSync(join(vectorDir, f), 'utf8')) as { packets: { hex: string }[] }).packets.map((p) => hexToBytes(p.hex)),
);

function onlyWireErrors(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return undefined;
  }
}

function inside(view: Uint8Array, input: Uint8Array): boolean {
  return view.buffer === input.buffer && view.byteOffset >= input.byteOffset && view.byteOffset + view.length <= input.byteOffset + input.length;
}

function optionBytes(o: TcpOption): Uint8Array | undefined {
  switch (o.kind) {
    case 'eol':
      return o.padding;
    case 'fastOpen':
      return o.cookie;
    case 'experimental':
    case 'unknown':
      return o.data;
    default:
      return undefined;
  }
}

function checkParses(input: Uint8Array): void {
  const ipPacket = onlyWireErrors(() => parseIpPacket(input)) as ReturnType<typeof parseIpPacket> | undefined;
  if (ipPacket) expect(inside(ipPacket.payload, input)).toBe(true);
  for (const verifyChecksum of [true, false]) {
    const r = onlyWireErrors(() => parseTcpPacket(input, { verifyChecksum })) as ReturnType<typeof parseTcpPacket> | undefined;
    if (r) {
      expect(inside(r.tcp.payload, input)).toBe(true);
      for (const o of r.tcp.options) {
        const b = optionBytes(o);
        if (b) expect(inside(b, input)).toBe(true);
      }
    }
  }
  onlyWireErrors(() => parseTcp(input));
  onlyWireErrors(() => parseTcpOptions(input.subarray(0, 40)));
}

describe('hostile input', () => {
  test('random bytes throw nothing but WireError', () => {
    // Random bytes with the first nibble biased to 4 and 6, so the IP parsers get past the version.
    const arbPacket = fc.tuple(fc.constantFrom(0x45, 0x46, 0x4f, 0x60, 0x61, 0x00), fc.uint8Array({ maxLength: 120 }))
      .map(([first, rest]) => Uint8Array.from([first, ...rest]));
    fc.assert(fc.property(arbPacket, (pkt) => checkParses(pkt)), { numRuns: 3000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (pkt) => checkParses(pkt)), { numRuns: 1000 });
  });

  test('real packets with random byte damage throw nothing but WireError', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (k, edits, cut) => {
          const pkt = Uint8Array.from(seeds[k]);
          for (const [pos, value] of edits) pkt[pos % pkt.length] = value;
          checkParses(pkt);
          checkParses(pkt.subarray(0, cut % (pkt.length + 1)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('a maximal option space of 40 NOPs and a 60-byte header parse in bounded time', () => {
    const seg = new Uint8Array(60);
    seg[12] = 0xf0;
    seg.fill(1, 20);
    expect(parseTcp(seg).options.length).toBe(40);
  });
});
