import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PcapError, PcapLinkType, PcapReader, PcapWriter, SimNetwork, mssClamp } from '@tcpls/link';
import { TcpFlag, buildTcpPacket, type TcpRepr } from '@tcpls/tcp/wire';
import { hasCommand } from '../../../../test/support/env.js';

function seg(seq: number, flags: number, payloadLen = 0, src = '10.0.0.1', dst = '10.0.0.2'): Uint8Array {
  const tcp: TcpRepr = {
    srcPort: 40000,
    dstPort: 80,
    seq,
    ack: flags & TcpFlag.ACK ? 1 : 0,
    flags,
    window: 65535,
    urgent: 0,
    options: flags & TcpFlag.SYN ? [{ kind: 'mss', mss: 1460 }] : [],
    payload: new Uint8Array(payloadLen).fill(0x61),
  };
  return buildTcpPacket({ src, dst }, tcp);
}

function errCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof PcapError) return e.code;
    throw e;
  }
  return undefined;
}

describe('PcapWriter / PcapReader', () => {
  test('file header: LINKTYPE_RAW, version 2.4, microsecond magic, little-endian', () => {
    const w = PcapWriter.inMemory({ snaplen: 2000 });
    const b = w.toBuffer();
    expect(b.length).toBe(24);
    expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(b.readUInt16LE(4)).toBe(2);
    expect(b.readUInt16LE(6)).toBe(4);
    expect(b.readUInt32LE(16)).toBe(2000);
    expect(b.readUInt32LE(20)).toBe(101);
  });

  test('round trip: bytes, timestamps (µs and ns) and orig_len past the snaplen', () => {
    for (const resolution of ['micro', 'nano'] as const) {
      const w = PcapWriter.inMemory({ resolution, snaplen: 100, epochMs: 1_700_000_000_000 });
      const a = seg(1, TcpFlag.SYN);
      const big = seg(2, TcpFlag.ACK, 400);
      w.writePacket(a, 0);
      w.writePacket(big, 1234.567891);
      const r = new PcapReader(w.toBuffer());
      expect(r.resolution).toBe(resolution);
      expect(r.linkType).toBe(PcapLinkType.RAW);
      const recs = r.readAll();
      expect(recs).toHaveLength(2);
      expect(Buffer.from(recs[0].data).equals(Buffer.from(a))).toBe(true);
      expect(recs[0].tsSec).toBe(1_700_000_000);
      expect(recs[0].tsFrac).toBe(0);
      expect(recs[1].data.length).toBe(100);
      expect(recs[1].origLen).toBe(big.length);
      expect(Buffer.from(recs[1].data).equals(Buffer.from(big.subarray(0, 100)))).toBe(true);
      expect(recs[1].tsSec).toBe(1_700_000_001);
      expect(recs[1].tsFrac).toBe(resolution === 'micro' ? 234567 : 234567891);
    }
  });

  test('reads big-endian files too', () => {
    const b = Buffer.alloc(24 + 16 + 4);
    b.writeUInt32BE(0xa1b2c3d4, 0);
    b.writeUInt16BE(2, 4);
    b.writeUInt16BE(4, 6);
    b.writeUInt32BE(65535, 16);
    b.writeUInt32BE(1, 20);
    b.writeUInt32BE(5, 24);
    b.writeUInt32BE(6, 28);
    b.writeUInt32BE(4, 32);
    b.writeUInt32BE(60, 36);
    b.write('abcd', 40);
    const r = new PcapReader(b);
    expect(r.littleEndian).toBe(false);
    expect(r.linkType).toBe(PcapLinkType.ETHERNET);
    const [rec] = r.readAll();
    expect(rec.timeMs).toBeCloseTo(5000.006, 6);
    expect(Buffer.from(rec.data).toString()).toBe('abcd');
    expect(rec.origLen).toBe(60);
  });

  test('hostile input gives typed errors: short header, bad magic, pcapng, huge and truncated records', () => {
    expect(errCode(() => new PcapReader(new Uint8Array(10)))).toBe('truncated');
    expect(errCode(() => new PcapReader(new Uint8Array(24)))).toBe('bad-magic');
    const ng = Buffer.alloc(24);
    ng.writeUInt32LE(0x0a0d0d0a, 0);
    expect(errCode(() => new PcapReader(ng))).toBe('bad-magic');
    const w = PcapWriter.inMemory();
    w.writePacket(seg(1, TcpFlag.SYN), 1);
    const good = w.toBuffer();
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xfffffff0, 24 + 8);
    expect(errCode(() => new PcapReader(huge).readAll())).toBe('too-large');
    expect(errCode(() => new PcapReader(good.subarray(0, good.length - 1)).readAll())).toBe('truncated');
    expect(errCode(() => new PcapReader(good.subarray(0, 30)).readAll())).toBe('truncated');
    const v3 = Buffer.from(good);
    v3.writeUInt16LE(3, 4);
    expect(errCode(() => new PcapReader(v3))).toBe('bad-version');
  });

  test('fuzz: arbitrary bytes after a valid header either parse or fail with PcapError', () => {
    const header = PcapWriter.inMemory().toBuffer();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const input = Buffer.concat([header, tail]);
        try {
          const recs = new PcapReader(input).readAll();
          let used = 24;
          for (const r of recs) used += 16 + r.data.length;
          expect(used).toBe(input.length);
        } catch (e) {
          expect(e).toBeInstanceOf(PcapError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('writing to a file gives the same bytes as in memory; writes after close are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpls-pcap-'));
    try {
      const path = join(dir, 'x.pcap');
      const f = PcapWriter.toFile(path, { resolution: 'nano' });
      const m = PcapWriter.inMemory({ resolution: 'nano' });
      for (let i = 0; i < 300; i++) {
        const p = seg(i * 1000, TcpFlag.ACK, 1000);
        f.writePacket(p, i * 0.25);
        m.writePacket(p, i * 0.25);
      }
      f.close();
      f.close();
      expect(readFileSync(path).equals(m.toBuffer())).toBe(true);
      expect(errCode(() => f.writePacket(seg(0, 0), 0))).toBe('closed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A small TCP-looking exchange across a lossy, jittery, clamped link, captured on the link. */
function capturedRun(seed: number): Buffer {
  const sim = new SimNetwork({ seed });
  const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
  const s = sim.addHost('s', { addresses: ['10.0.0.2'] });
  const link = sim.connect(c, s, { rate: 10e6, delay: 5, jitter: 3, loss: 0.1, reorder: 0.1, duplicate: 0.05, middleboxes: [mssClamp(1200)] });
  const w = PcapWriter.inMemory({ resolution: 'nano' });
  sim.capture(link, w);
  // The server answers every segment it receives with a pure ACK.
  s.onPacket(() => s.send(seg(9, TcpFlag.ACK, 0, '10.0.0.2', '10.0.0.1')));
  c.send(seg(0, TcpFlag.SYN));
  for (let i = 0; i < 200; i++) sim.clock.setTimer(i * 0.7, () => c.send(seg(1 + i * 500, TcpFlag.ACK, 500)));
  sim.runUntilIdle();
  return w.toBuffer();
}

describe('pcap capture of the simulator', () => {
  test('two runs with one seed write identical files; another seed writes a different one', () => {
    const a = capturedRun(5);
    expect(a.length).toBeGreaterThan(24 + 100 * 16);
    expect(capturedRun(5).equals(a)).toBe(true);
    expect(capturedRun(6).equals(a)).toBe(false);
  });

  const tshark = hasCommand('tshark');
  (tshark ? test : test.skip)(`tshark reads the capture and sees TCP${tshark ? '' : ' [skipped: tshark not installed]'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpls-pcap-'));
    try {
      const path = join(dir, 'sim.pcap');
      const sim = new SimNetwork({ seed: 1 });
      const c = sim.addHost('c', { addresses: ['10.0.0.1'] });
      const s = sim.addHost('s', { addresses: ['fd00::2', '10.0.0.2'] });
      sim.connect(c, s, { delay: 2, middleboxes: [mssClamp(1200)] });
      const w = PcapWriter.toFile(path);
      sim.capture(s, w);
      c.send(seg(100, TcpFlag.SYN));
      c.send(seg(101, TcpFlag.ACK | TcpFlag.PSH, 10));
      sim.runUntilIdle();
      w.close();
      const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_relative', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.options.mss_val', '-e', 'tcp.len', '-e', 'tcp.checksum.status', '-o', 'tcp.check_checksum:TRUE'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 20000,
      });
      const lines = out.trim().split('\n').map((l) => l.split('\t'));
      expect(lines).toHaveLength(2);
      expect(lines[0].slice(1, 6)).toEqual(['10.0.0.1', '40000', '80', '1', '1200']);
      expect(lines[1][6]).toBe('10');
      // 1 = "Good" in Wireshark's checksum status (0 bad, 1 good, 2 unverified).
      expect(lines.map((l) => l[7])).toEqual(['1', '1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
