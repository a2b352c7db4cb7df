/**
 * Fallback to plain TLS 1.3 in both directions (draft-piraux-tcpls-04 §3), with the CLI's file
 * protocol: a TCPLS client against a server that does not echo `tcpls` fetches with HTTP/1.0 over
 * TLS; a plain TLS client against the TCPLS file server gets an HTTP/1.0 answer.
 */
import { createHash } from 'node:crypto';
import { bufferSource, fetchFile, serveFiles, type FetchResult } from '../../packages/cli/src/tcpls-common';
import { seeded, simSession } from './harness';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function fetchInSim(serverTcpls: boolean, clientTcpls: boolean, streams = 1) {
  const file = seeded(5)(200_000);
  const logs: string[] = [];
  const t = simSession({
    seed: 11,
    serverTcpls,
    clientTcpls,
    link: { rate: 50e6, delay: 2 },
    onServer: (ep) => serveFiles(ep, (p) => (p === '/f.bin' ? bufferSource(file) : 'not found'), (l) => logs.push(l)),
  });
  const got = new Uint8Array(file.length);
  let out: FetchResult | Error | null = null;
  fetchFile(t.client, '/f.bin', { write: (o, d) => got.set(d, o) }, { streams, onSettled: (r) => (out = r) }).catch(() => undefined);
  t.runUntil(() => out !== null, 60_000);
  return { t, file, got, out: out as FetchResult | Error | null, logs };
}

describe('fallback to plain TLS 1.3', () => {
  test('TCPLS client, plain TLS server: the client says so and fetches with HTTP/1.0 over TLS', () => {
    const r = fetchInSim(false, true);
    expect(r.t.client.mode === 'tls' || r.t.client.mode === 'closed').toBe(true);
    expect(r.t.client.stats().tcpls).toBe(false);
    expect(r.out).not.toBeInstanceOf(Error);
    const res = r.out as FetchResult;
    expect(res.mode).toBe('tls');
    expect(res.httpStatus).toBe('HTTP/1.0 200 OK');
    expect(res.bytes).toBe(r.file.length);
    expect(sha(r.got)).toBe(sha(r.file));
    expect(r.logs.join('\n')).toMatch(/plain TLS/);
  });

  test('plain TLS client, TCPLS server: the server answers HTTP/1.0 and logs the fallback', () => {
    const r = fetchInSim(true, false);
    expect(r.t.servers[0].stats().tcpls).toBe(false);
    const res = r.out as FetchResult;
    expect(res.mode).toBe('tls');
    expect(sha(r.got)).toBe(sha(r.file));
    expect(r.logs.some((l) => /did not offer TCPLS/.test(l))).toBe(true);
  });

  test('both TCPLS: the same fetch runs on TCPLS streams (3 in parallel)', () => {
    const r = fetchInSim(true, true, 3);
    const res = r.out as FetchResult;
    expect(res.mode).toBe('tcpls');
    expect(res.streams.map((s) => s.id)).toEqual([0, 2, 4]);
    expect(sha(r.got)).toBe(sha(r.file));
  });

  test('a request for a missing file is an error on its stream, not a hang', () => {
    const t = simSession({ seed: 12, onServer: (ep) => serveFiles(ep, () => 'not found', () => undefined) });
    let out: FetchResult | Error | null = null;
    fetchFile(t.client, '/nope', { write: () => undefined }, { onSettled: (r) => (out = r) }).catch(() => undefined);
    t.runUntil(() => out !== null, 10_000);
    expect(out).toBeInstanceOf(Error);
    expect(String(out)).toMatch(/not found/);
  });
});
