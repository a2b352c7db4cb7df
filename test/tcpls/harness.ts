/**
 * Simulator harness for the TCPLS driver tests: two TCP Hosts on a SimNetwork (client 10.0.0.1,
 * server 10.0.0.2), TCPLS endpoints over them (TcplsEndpoint via connectOverHost / listenOverHost),
 * seeded randomness everywhere, and a bounded run loop on the virtual clock.
 */
import { SimNetwork, type Middlebox, type LinkParams } from '@tcpls/link';
import { Host, type TcpConfig } from '@tcpls/tcp';
import { type ApplyPolicy, type TcplsEndpoint, connectOverHost, listenOverHost, memoryTrace, selfSignedCertificate } from '@tcpls/tcpls';

export const CLIENT = '10.0.0.1';
export const SERVER = '10.0.0.2';
export const PORT = 4443;

/** Deterministic bytes (xorshift32) from a seed. */
export function seeded(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

export interface SimSetup {
  seed?: number;
  link?: LinkParams;
  middleboxes?: Middlebox[];
  clientTcp?: Partial<TcpConfig>;
  serverTcp?: Partial<TcpConfig>;
  serverPolicy?: ApplyPolicy;
  clientPolicy?: ApplyPolicy;
  /** false: the server is a plain TLS 1.3 server (no tcpls extension). */
  serverTcpls?: boolean;
  clientTcpls?: boolean;
}

export function simSession(o: SimSetup = {}) {
  const seed = o.seed ?? 1;
  const sim = new SimNetwork({ seed });
  const ch = sim.addHost('client', { addresses: [CLIENT] });
  const sh = sim.addHost('server', { addresses: [SERVER] });
  const link = sim.connect(ch, sh, { name: 'link', ...o.link, middleboxes: o.middleboxes ?? [] });
  const clientTrace = memoryTrace();
  const serverTrace = memoryTrace();
  const clientTcpTrace = memoryTrace();
  const serverTcpTrace = memoryTrace();
  const clientHost = new Host({ io: ch, clock: sim.clock, addresses: [CLIENT], random: seeded(seed * 7 + 1), trace: clientTcpTrace.trace });
  const serverHost = new Host({ io: sh, clock: sim.clock, addresses: [SERVER], random: seeded(seed * 7 + 2), trace: serverTcpTrace.trace });
  const cert = selfSignedCertificate();
  const servers: TcplsEndpoint[] = [];
  listenOverHost(
    serverHost,
    PORT,
    {
      random: seeded(seed * 7 + 3),
      tls: { certificateChain: cert.chain, privateKey: cert.key, tcpls: o.serverTcpls },
      policy: o.serverPolicy,
      trace: serverTrace.trace,
      tcp: o.serverTcp,
    },
    (ep) => servers.push(ep),
  );
  const { endpoint: client, connection } = connectOverHost(
    clientHost,
    { address: SERVER, port: PORT },
    { random: seeded(seed * 7 + 4), tls: { serverName: 'localhost', verifier: null, tcpls: o.clientTcpls }, policy: o.clientPolicy, trace: clientTrace.trace, tcp: o.clientTcp },
  );
  /** Runs the simulation until `done()` or `limitMs` of virtual time. */
  const runUntil = (done: () => boolean, limitMs = 60_000): void => {
    const end = sim.now + limitMs;
    while (!done() && sim.now < end) {
      const next = sim.nextEventTime;
      if (next === null) break;
      sim.run(Math.min(next, end), { maxEvents: 5_000_000 });
    }
  };
  return { sim, link, client, connection, servers, clientHost, serverHost, clientTrace, serverTrace, clientTcpTrace, serverTcpTrace, runUntil };
}
