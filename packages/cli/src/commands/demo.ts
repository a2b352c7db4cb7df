/**
 * `tcpls demo [--json] [--seed N] [--size BYTES] [--streams N]`: a TCPLS client and server on the
 * simulated network (no root, no real packets), across a middlebox that clamps the MSS to 1200 and
 * overwrites SACK-permitted, timestamps and experimental option 254 with NOPs (what nftables
 * `tcp option maxseg size set 1200` + `reset tcp option …` does). A file is fetched on several
 * streams; the output shows what TLS, TCP and TCPLS negotiated and every field the middlebox changed,
 * as both ends detected it through the TCP-options report carried inside TLS.
 */
import { createHash } from 'node:crypto';
import { SimNetwork, mssClamp, stripOptions } from '@tcpls/link';
import { Host, type TcpOption } from '@tcpls/tcp';
import { type OptionDifference, type TcplsEndpoint, connectOverHost, listenOverHost, memoryTrace, selfSignedCertificate } from '@tcpls/tcpls';
import { UsageError, intOption, parseArgs } from '../args.js';
import { type FetchResult, OrderedHasher, bufferSource, differenceLines, fetchFile, negotiatedSummary, serveFiles, textSummary } from '../tcpls-common.js';

export const summary = 'TCPLS client and server in the simulator across an option-rewriting middlebox (no root)';

const HELP = `usage: tcpls demo [--json] [--seed N] [--size BYTES] [--streams N] [--clean] [--trace FILE]
  Runs a TCPLS client (10.0.0.1) and server (10.0.0.2) over our TCP on the simulated network
  (100 Mbit/s, 10 ms RTT) across a middlebox that clamps the MSS to 1200 and strips SACK-permitted,
  timestamps and experimental option 254; fetches a random file of --size bytes (default 1 MiB) on
  --streams streams (default 4), and prints what the session negotiated and detected.
  --clean      no middlebox (the cross-check then finds no difference)
  --json       one JSON object: bytes, sha256, seconds (simulated), optionDifferences, streams, ...
  --trace F    write the JSON-lines event trace of both ends to F
`;

/** Experimental option 254 (RFC 6994) with a demo ExID, so the middlebox has an unknown option to strip. */
const EXPERIMENT: TcpOption = { kind: 'experimental', code: 254, exid: 0x7c15, data: new Uint8Array([0x01, 0x02]) };

function seeded(seed: number): (n: number) => Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1;
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

export interface DemoResult {
  seed: number;
  path: { rateMbitPerSec: number; rttMs: number; middlebox: string[] };
  bytes: number;
  sha256: string;
  intact: boolean;
  /** Simulated seconds from the first request to the last byte. */
  seconds: number;
  goodputMbitPerSec: number;
  wallSeconds: number;
  streams: { id: number; start: number; length: number; bytes: number }[];
  /** What the client detected (connection 0). */
  optionDifferences: OptionDifference[];
  /** What the server detected. */
  serverOptionDifferences: OptionDifference[];
  negotiated: { client: Record<string, unknown>; server: Record<string, unknown> };
  /** Settings the client asked the server's TCP to apply, and what the server did. */
  appliedOptions: { setting: unknown; applied: boolean; reason?: string }[];
}

/** Runs the demo scenario; exported for the tests and the benchmark. */
export function runDemo(o: {
  seed: number;
  size: number;
  streams: number;
  clean?: boolean;
  trace?: (r: Record<string, unknown>) => void;
  /** Link rate in bit/s [100e6] (Infinity: no serialisation limit) and one-way delay [5 ms]. */
  rateBps?: number;
  delayMs?: number;
}): {
  result: DemoResult;
  client: TcplsEndpoint;
  server: TcplsEndpoint | null;
} {
  const wall0 = performance.now();
  const sim = new SimNetwork({ seed: o.seed });
  const ch = sim.addHost('client', { addresses: ['10.0.0.1'] });
  const sh = sim.addHost('server', { addresses: ['10.0.0.2'] });
  const middlebox = o.clean ? [] : [mssClamp(1200), stripOptions([4, 8, 254])];
  const rate = o.rateBps ?? 100e6;
  const delay = o.delayMs ?? 5;
  sim.connect(ch, sh, { name: 'path', rate, delay, queuePackets: 200, middleboxes: middlebox });
  const clientHost = new Host({ io: ch, clock: sim.clock, addresses: ['10.0.0.1'], random: seeded(o.seed * 4 + 1) });
  const serverHost = new Host({ io: sh, clock: sim.clock, addresses: ['10.0.0.2'], random: seeded(o.seed * 4 + 2) });
  const cert = selfSignedCertificate();
  const file = seeded(o.seed * 4 + 3)(o.size);
  let server: TcplsEndpoint | null = null;
  const requests: DemoResult['appliedOptions'] = [];
  listenOverHost(
    serverHost,
    443,
    {
      random: seeded(o.seed * 4 + 4),
      tls: { certificateChain: cert.chain, privateKey: cert.key },
      policy: { userTimeout: { minMs: 1000, maxMs: 600_000 }, congestionControllers: ['newreno', 'cubic'] },
      tcp: { extraSynOptions: [EXPERIMENT] },
      trace: o.trace,
    },
    (ep) => {
      server = ep;
      serveFiles(ep, (p) => (p === '/demo.bin' ? bufferSource(file) : 'not found'), () => undefined);
      const inner = ep.handlers.onSessionEvent;
      ep.handlers.onSessionEvent = (ev) => {
        if (ev.type === 'option-request') requests.push({ setting: ev.setting, applied: ev.applied, ...(ev.reasonName ? { reason: ev.reasonName } : {}) });
        inner?.(ev);
      };
    },
  );
  const { endpoint: client } = connectOverHost(
    clientHost,
    { address: '10.0.0.2', port: 443 },
    { random: seeded(o.seed * 4 + 5), tls: { serverName: 'localhost', verifier: null }, tcp: { extraSynOptions: [EXPERIMENT] }, trace: o.trace },
  );
  const hasher = new OrderedHasher();
  let outcome: FetchResult | Error | null = null;
  let t0 = 0;
  let t1 = 0;
  fetchFile(
    client,
    '/demo.bin',
    { write: (off, d) => hasher.add(off, d) },
    {
      streams: o.streams,
      size: o.size,
      onReady: () => {
        t0 = sim.now;
        // Ask the server's TCP for a 30 s user timeout and NewReno (its policy allows both).
        client.requestOption({ kind: 'userTimeout', granularity: 'seconds', timeout: 30 });
        client.requestOption({ kind: 'congestionControl', name: 'newreno', params: {} });
      },
      onSettled: (r) => {
        outcome = r;
        t1 = sim.now;
      },
    },
  ).catch(() => undefined);
  const deadline = 600_000;
  while (outcome === null && sim.now < deadline) {
    const next = sim.nextEventTime;
    if (next === null) break;
    sim.run(next, { maxEvents: 50_000_000 });
  }
  const oc = outcome as FetchResult | Error | null;
  if (oc === null) throw new Error(`demo: the transfer did not finish (simulated ${sim.now} ms)`);
  if (oc instanceof Error) throw oc;
  const result: FetchResult = oc;
  const negotiatedClient = negotiatedSummary(client);
  const srv = server as TcplsEndpoint | null;
  const negotiatedServer = srv ? negotiatedSummary(srv) : {};
  const serverDiffs = srv?.stats().optionDifferences ?? [];
  client.close();
  sim.run(sim.now + 1000, { maxEvents: 5_000_000 });
  const seconds = (t1 - t0) / 1000;
  const want = createHash('sha256').update(file).digest('hex');
  const sha256 = hasher.digest();
  const demo: DemoResult = {
    seed: o.seed,
    path: { rateMbitPerSec: rate / 1e6, rttMs: 2 * delay, middlebox: o.clean ? [] : ['clamp MSS to 1200 (SYN, SYN-ACK)', 'strip SACK-permitted (4)', 'strip timestamps (8)', 'strip experimental option 254'] },
    bytes: result.bytes,
    sha256,
    intact: sha256 === want && result.bytes === o.size,
    seconds,
    goodputMbitPerSec: seconds > 0 ? (result.bytes * 8) / seconds / 1e6 : 0,
    wallSeconds: (performance.now() - wall0) / 1000,
    streams: result.streams,
    optionDifferences: client.stats().optionDifferences ?? [],
    serverOptionDifferences: serverDiffs,
    negotiated: { client: negotiatedClient, server: negotiatedServer },
    appliedOptions: requests,
  };
  return { result: demo, client, server: srv };
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['seed', 'size', 'streams', 'trace'], flags: ['json', 'clean'] });
  if (a.flags.has('help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.positionals.length) throw new UsageError(`unexpected argument '${a.positionals[0]}'`);
  const seed = intOption(a, 'seed', 1, 0, 2 ** 31);
  const size = intOption(a, 'size', 1 << 20, 0, 1 << 30);
  const streams = intOption(a, 'streams', 4, 1, 64);
  const traceFile = a.values.get('trace');
  const mem = traceFile ? memoryTrace() : null;
  const { result: r, client, server } = runDemo({ seed, size, streams, clean: a.flags.has('clean'), trace: mem?.trace });
  if (traceFile && mem) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(traceFile, mem.lines());
  }
  if (a.flags.has('json')) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return r.intact ? 0 : 1;
  }
  const eps = { client, server };
  const out: string[] = [];
  out.push(`tcpls demo (seed ${seed}): client 10.0.0.1 ⇄ middlebox ⇄ server 10.0.0.2, simulated ${r.path.rateMbitPerSec} Mbit/s, ${r.path.rttMs} ms RTT`);
  out.push(`middlebox: ${r.path.middlebox.length ? r.path.middlebox.join(', ') : 'none (--clean)'}`);
  out.push('');
  out.push('negotiated (client view):');
  for (const l of textSummary(eps.client)) out.push(`  ${l}`);
  out.push('');
  out.push(
    `transfer: ${r.bytes} bytes on ${r.streams.length} streams in ${r.seconds.toFixed(3)} s simulated (${r.goodputMbitPerSec.toFixed(1)} Mbit/s), ` +
      `${r.wallSeconds.toFixed(2)} s real; sha256 ${r.sha256.slice(0, 16)}… ${r.intact ? 'intact' : 'CORRUPT'}`,
  );
  for (const s of r.streams) out.push(`  stream ${s.id}: bytes ${s.start}–${s.start + s.length} (${s.bytes} received)`);
  out.push('');
  out.push('detected by the client:');
  for (const l of differenceLines(eps.client)) out.push(`  ${l}`);
  out.push('detected by the server:');
  if (eps.server) for (const l of differenceLines(eps.server)) out.push(`  ${l}`);
  if (!a.flags.has('clean')) {
    out.push('  (the SYN-ACK has no SACK-permitted or timestamps to lose: the server only sends them when the SYN');
    out.push('   carried them, RFC 2018 §2 and RFC 7323 §3.2, and the SYN arrived without them)');
  }
  out.push('');
  out.push("TCP settings the client asked the server's TCP to apply (carried inside TLS):");
  for (const q of r.appliedOptions) out.push(`  ${JSON.stringify(q.setting)}: ${q.applied ? 'applied' : `refused (${q.reason})`}`);
  if (r.appliedOptions.length === 0) out.push('  (none answered)');
  process.stdout.write(out.join('\n') + '\n');
  return r.intact ? 0 : 1;
}
