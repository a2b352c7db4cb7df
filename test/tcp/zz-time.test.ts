import { bulkTransfer, makePair, pseudoRandomBytes, sha256 } from './helpers';
test('t', () => {
  const data = pseudoRandomBytes(20_000_000, 3);
  for (const loss of [0, 0.01, 0.05, 0.1]) for (const cc of ['newreno', 'cubic'] as const) {
    const p = makePair({ seed: 'x', link: { rate: 100e6, delay: 10, loss, reorder: 0.01, duplicate: 0.01, queuePackets: 300 } });
    const t0 = Date.now();
    const r = bulkTransfer(p, data, { tcp: { congestionControl: cc, recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 } });
    const st = r.client.conn.stats();
    console.log(loss, cc, Date.now() - t0, 'ms', 'vt', p.net.now.toFixed(0), sha256(r.received) === sha256(data), st.retransmits, st.rtoCount, r.clientClosedError);
  }
}, 300000);
