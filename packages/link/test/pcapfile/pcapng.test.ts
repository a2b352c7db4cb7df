import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapError, PcapngWriter, SimNetwork, mssClamp } from '@tcpls/link';
import { TcpFlag, buildTcpPacket } from '@tcpls/tcp/wire';
import { hasCommand } from '../../../../test/support/env.js';

function syn(src = '10.0.0.1', dst = '10.0.0.2'): Uint8Array {
  return buildTcpPacket({ src, dst }, { srcPort: 1234, dstPort: 80, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 1000, urgent: 0, options: [{ kind: 'mss', mss: 1460 }], payload: new Uint8Array(0) });
}

interface Block {
  type: number;
  body: Buffer;
}

/** Walks the blocks of a little-endian pcapng buffer, checking both length fields of each block. */
function blocks(b: Buffer): Block[] {
  const out: Block[] = [];
  let o = 0;
  while (o < b.length) {
    const type = b.readUInt32LE(o);
    const len = b.readUInt32LE(o + 4);
    expect(len % 4).toBe(0);
    expect(b.readUInt32LE(o + len - 4)).toBe(len);
    out.push({ type, body: b.subarray(o + 8, o + len - 4) });
    o += len;
  }
  expect(o).toBe(b.length);
  return out;
}

describe('PcapngWriter', () => {
  test('section header, one interface block per capture point, enhanced packet blocks with 64-bit ns timestamps', () => {
    const w = PcapngWriter.inMemory({ resolution: 'nano', epochMs: 1_700_000_000_000 });
    const a = w.addInterface('link-ab');
    const b = w.addInterface('host-b');
    const p = syn();
    w.writePacket(p, 1.5, a);
    w.writePacket(p, 2, b, { direction: 'in', comment: 'hello' });
    const bl = blocks(w.toBuffer());
    expect(bl.map((x) => x.type)).toEqual([0x0a0d0d0a, 1, 1, 6, 6]);
    expect(bl[0].body.readUInt32LE(0)).toBe(0x1a2b3c4d);
    expect(bl[1].body.readUInt16LE(0)).toBe(101);
    const epb = bl[3].body;
    expect(epb.readUInt32LE(0)).toBe(0);
    const ts = (BigInt(epb.readUInt32LE(4)) << 32n) | BigInt(epb.readUInt32LE(8));
    expect(ts).toBe(1_700_000_000_001_500_000n);
    expect(epb.readUInt32LE(12)).toBe(p.length);
    expect(Buffer.from(epb.subarray(20, 20 + p.length)).equals(Buffer.from(p))).toBe(true);
    expect(bl[4].body.readUInt32LE(0)).toBe(1);
    expect(bl[4].body.includes(Buffer.from('hello'))).toBe(true);
    expect(() => w.writePacket(p, 0, 7)).toThrow(PcapError);
  });

  const tshark = hasCommand('tshark');
  (tshark ? test : test.skip)(`tshark reads interfaces, directions and rewritten TCP${tshark ? '' : ' [skipped: tshark not installed]'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpls-pcapng-'));
    try {
      const path = join(dir, 'sim.pcapng');
      const sim = new SimNetwork({ seed: 1 });
      const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
      const s = sim.addHost('s', { addresses: ['10.0.0.2'] });
      const link = sim.connect(c, s, { delay: 3, middleboxes: [mssClamp(1000)] });
      const w = PcapngWriter.toFile(path);
      sim.capture(c, w.sink(w.addInterface('client')));
      sim.capture(link, w.sink(w.addInterface('link')));
      c.send(syn());
      sim.runUntilIdle();
      w.close();
      const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.p2p_dir', '-e', 'frame.time_relative', '-e', 'tcp.options.mss_val'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 20000,
      });
      const lines = out.trim().split('\n').map((l) => l.split('\t'));
      // The client's capture shows what it sent (MSS 1460, outbound); the link's shows what arrived.
      expect(lines.map((l) => [l[0], l[3]])).toEqual([
        ['client', '1460'],
        ['link', '1000'],
      ]);
      expect(Number(lines[1][2])).toBeCloseTo(0.003, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
