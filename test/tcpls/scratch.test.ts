import { simSession } from './harness';
test('scratch', () => {
  const t = simSession();
  t.runUntil(() => t.client.mode === 'tcpls' && t.servers.length > 0 && t.servers[0].mode === 'tcpls');
  console.log(t.client.mode, t.servers[0]?.mode, t.sim.now);
  const s = t.client.openStream();
  s.write(new TextEncoder().encode('hello'));
  s.end();
  let got = '';
  t.servers[0].handlers.onSessionEvent = (ev) => { if (ev.type === 'stream-data') { const d = t.servers[0].stream(ev.streamId)!.read(); if (d) got += new TextDecoder().decode(d); } };
  t.runUntil(() => got.length >= 5);
  console.log(got, JSON.stringify(t.client.stats().optionDifferences), t.sim.now);
  console.log(t.clientTrace.lines());
});
