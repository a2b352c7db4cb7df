/**
 * The Node API (connect / createServer with Duplex streams and events) over our TCP: Hosts on the
 * simulator, the virtual clock advanced from the event loop, a middlebox clamping the MSS.
 */
import { SimNetwork, mssClamp } from '@tcpls/link';
import { Host } from '@tcpls/tcp';
import { type OptionDifference, type TcplsConnection, type TcplsDuplex, connect, createServer, selfSignedCertificate } from '@tcpls/tcpls';
import { collect, seeded } from './harness';

test('connect/createServer over our TCP on the simulator: streams, option-differences event, applied option', async () => {
  const sim = new SimNetwork({ seed: 4 });
  const ch = sim.addHost('c', { addresses: ['10.0.0.1'] });
  const sh = sim.addHost('s', { addresses: ['10.0.0.2'] });
  sim.connect(ch, sh, { delay: 1, middleboxes: [mssClamp(1000)] });
  const clientHost = new Host({ io: ch, clock: sim.clock, addresses: ['10.0.0.1'], random: seeded(1) });
  const serverHost = new Host({ io: sh, clock: sim.clock, addresses: ['10.0.0.2'], random: seeded(2) });
  // Advance virtual time from the event loop so Node streams and the simulator interleave.
  let running = true;
  const tick = (): void => {
    if (!running) return;
    const next = sim.nextEventTime;
    if (next !== null) sim.run(next);
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const cert = selfSignedCertificate();
    const serverDiffs: OptionDifference[][] = [];
    const server = createServer(
      { cert: cert.certPem, key: cert.keyPem, tcpHost: serverHost, random: seeded(3), policy: { userTimeout: { minMs: 1000, maxMs: 60_000 }, congestionControllers: [] } },
      (s: TcplsConnection) => {
        s.on('option-differences', (d: OptionDifference[]) => serverDiffs.push(d));
        s.on('stream', (d: TcplsDuplex) => void collect(d).then((b) => d.end(Buffer.concat([Buffer.from('echo:'), b]))));
      },
    );
    server.listen(443);
    const s = await connect({ host: '10.0.0.2', port: 443, tcpHost: clientHost, insecure: true, random: seeded(4) });
    expect(s.mode).toBe('tcpls');
    const diffs = new Promise<OptionDifference[]>((ok) => (s.optionDifferences ? ok(s.optionDifferences) : s.once('option-differences', ok)));
    const applied = new Promise((ok) => s.once('option-applied', ok));
    s.requestOption({ kind: 'userTimeout', granularity: 'seconds', timeout: 20 });
    const d = s.openStream();
    d.end(Buffer.alloc(100_000, 0x61));
    const back = await collect(d);
    expect(back.length).toBe(100_005);
    expect(back.subarray(0, 5).toString()).toBe('echo:');
    expect((await diffs).map((x) => `${x.direction} ${x.field} ${x.sent}→${x.seen}`).sort()).toEqual(['me-to-peer mss 1460→1000', 'peer-to-me mss 1460→1000']);
    await applied;
    expect(serverDiffs.flat().length).toBe(2);
    expect((s.stats().tcp as { negotiated: { mss: number } }).negotiated.mss).toBe(1000);
    s.close();
    server.close();
  } finally {
    running = false;
  }
});
