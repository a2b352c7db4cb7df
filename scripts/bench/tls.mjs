#!/usr/bin/env node
// TLS benchmark (issue 4): handshakes per second and bulk record throughput of our TLS 1.3 engine
// with both crypto providers (node:crypto, @noble), against node:tls as the baseline, in one run.
//
// Everything runs on loopback over kernel TCP (node:net), client and server in this one process:
// every figure therefore pays for both ends (client + server crypto on one core), for all three
// implementations alike, so the ratios compare like with like.
//
//   node scripts/bench/tls.mjs [--mb 100] [--noble-mb 8] [--seconds 2] [--json] [--quick]
//
// Handshakes: full 1-RTT (X25519, ECDSA P-256 certificate, AES-128-GCM) and PSK resumption
// (psk_dhe_ke, X25519) from a session ticket, 8 connections in flight, for --seconds each.
// Bulk: --mb MB (default 100) client -> server in 16 KB writes (16 KB records) with
// AES-128-GCM and with ChaCha20-Poly1305; the receiver's bytes are checked against the sender's
// sha256 (the run fails if any transfer is not intact). noble is ~40x slower, so its transfers use
// --noble-mb MB (default 8); the MB/s figure is a rate either way, and the table says the size.
// Needs the built packages (npx tsc -b) and the openssl command (for the test certificate).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as nodeTls from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    'noble-mb': { type: 'string', default: '8' },
    seconds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    // Each figure measured this many times, the implementations interleaved (A B C A B C ...),
    // and the median reported: a busy shared machine moves single figures by +-40 %.
    rounds: { type: 'string', default: '1' },
    // Another build of @tcpls/tls (path to its dist/index.js), e.g. an older commit, to compare
    // before/after in one run on the same machine: its figures appear as extra columns.
    compare: { type: 'string' },
    // Skip the noble provider (slow, and not what a before/after of the record layer is about).
    'no-noble': { type: 'boolean', default: false },
  },
  // scripts/bench.mjs passes the same flags to every benchmark: ignore the ones meant for others.
  strict: false,
});

let ours;
let other = null;
try {
  ours = await import('@tcpls/tls');
  if (opt.compare) other = await import(pathToFileURL(resolve(String(opt.compare))).href);
} catch (e) {
  process.stderr.write(`bench/tls: cannot load @tcpls/tls (${e.message}); run npx tsc -b first\n`);
  process.exit(1);
}
const MB = 1024 * 1024;
const bulkBytes = Math.round(Number(opt.quick ? 10 : opt.mb) * MB);
const rounds = Math.max(1, Math.floor(Number(opt.rounds) || 1));
const nobleBulkBytes = Math.round(Number(opt.quick ? 2 : opt['noble-mb']) * MB);
const seconds = Number(opt.quick ? 0.5 : opt.seconds);
const INFLIGHT = 8;
const RECORD = 16 * 1024;
const SUITES = {
  aes: { ours: 'TLS_AES_128_GCM_SHA256', node: 'TLS_AES_128_GCM_SHA256', label: 'AES-128-GCM' },
  chacha: { ours: 'TLS_CHACHA20_POLY1305_SHA256', node: 'TLS_CHACHA20_POLY1305_SHA256', label: 'ChaCha20-Poly1305' },
};

// ---- test certificate (ECDSA P-256) ----------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'tcpls-bench-tls-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
const cert = readFileSync(join(dir, 'cert.pem'));
const key = readFileSync(join(dir, 'key.pem'));

// ---- the three implementations behind one small interface -----------------------------------
/** impl.server(suite) -> {port, close()}; impl.connect(port, suite, session) -> Promise<{sock, session?, resumed}> */
function oursImpl(name, provider, mod = ours) {
  return {
    name,
    async server(suite) {
      const srv = mod.createServer({ cert, key, provider, cipherSuites: suite ? [suite] : undefined, groups: ['x25519'] });
      return listen(srv);
    },
    connect(port, suite, session) {
      return new Promise((resolve, reject) => {
        const sock = mod.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, provider, cipherSuites: suite ? [suite] : undefined, groups: ['x25519'], session });
        let tkt = null;
        sock.on('session', (s) => {
          tkt = s;
        });
        sock.once('error', reject);
        sock.once('secureConnect', () => resolve({ sock, resumed: sock.handshakeInfo.resumed, ticket: () => tkt, suite: sock.handshakeInfo.suite }));
      });
    },
  };
}

const nodeImpl = {
  name: 'node:tls',
  async server(suite) {
    const srv = nodeTls.createServer({ cert, key, minVersion: 'TLSv1.3', ecdhCurve: 'X25519', ciphers: suite });
    return listen(srv, 'secureConnection');
  },
  connect(port, suite, session) {
    return new Promise((resolve, reject) => {
      const sock = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, minVersion: 'TLSv1.3', ecdhCurve: 'X25519', ciphers: suite, session });
      let tkt = null;
      sock.on('session', (s) => {
        tkt = s;
      });
      sock.once('error', reject);
      sock.once('secureConnect', () => resolve({ sock, resumed: sock.isSessionReused(), ticket: () => tkt, suite: sock.getCipher().standardName }));
    });
  },
};

/** Starts a server; every accepted TLS socket goes to `server.onSocket` (set per measurement). */
async function listen(srv, event = 'secureConnection') {
  const h = { onSocket: (s) => s.on('data', () => {}).on('error', () => {}), port: 0, close: () => new Promise((r) => srv.close(() => r())) };
  srv.on(event, (s) => h.onSocket(s));
  srv.on('tlsClientError', () => {});
  srv.on('connection', (c) => c.on('error', () => {}));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  h.port = srv.address().port;
  return h;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- handshakes per second --------------------------------------------------------------------
async function handshakes(impl, resume) {
  const srv = await impl.server(SUITES.aes[impl === nodeImpl ? 'node' : 'ours']);
  srv.onSocket = (s) => {
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('end', () => s.end());
  };
  const suite = SUITES.aes[impl === nodeImpl ? 'node' : 'ours'];
  let session;
  if (resume) {
    // One full handshake to get a ticket; tickets arrive after the handshake, so read a little.
    const c = await impl.connect(srv.port, suite);
    for (let i = 0; i < 100 && !c.ticket(); i++) await sleep(5);
    session = c.ticket();
    c.sock.destroy();
    if (!session) {
      await srv.close();
      return { perSecond: null, note: 'no session ticket received' };
    }
  }
  let done = 0;
  let resumedCount = 0;
  let failed = null;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end && !failed) {
      try {
        const c = await impl.connect(srv.port, suite, session);
        done++;
        if (c.resumed) resumedCount++;
        c.sock.destroy();
      } catch (e) {
        failed = e;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await srv.close();
  if (failed) return { perSecond: null, note: `failed: ${failed.message}` };
  if (resume && resumedCount !== done) return { perSecond: done / elapsed, note: `only ${resumedCount}/${done} resumed` };
  return { perSecond: done / elapsed, count: done };
}

// ---- bulk throughput --------------------------------------------------------------------------
/** Sends `bytes` from client to server in 16 KB writes; returns MB/s and whether the sha256 matched. */
async function bulk(impl, suiteKey, bytes) {
  const suite = SUITES[suiteKey][impl === nodeImpl ? 'node' : 'ours'];
  const srv = await impl.server(suite);
  // A random source block reused round-robin: the data is not constant, and making it costs nothing
  // during the timed part. The sender's sha256 is computed before the clock starts.
  const block = randomBytes(4 * MB);
  const expected = createHash('sha256');
  for (let off = 0; off < bytes; off += RECORD) expected.update(block.subarray(off % block.length, (off % block.length) + Math.min(RECORD, bytes - off)));
  const want = expected.digest('hex');
  let t0 = 0;
  let cpu0 = null;
  const received = new Promise((resolve, reject) => {
    srv.onSocket = (s) => {
      const chunks = [];
      let n = 0;
      s.on('error', reject);
      s.on('data', (d) => {
        chunks.push(d);
        n += d.length;
        if (n >= bytes) {
          const t1 = performance.now();
          const cpu = process.cpuUsage(cpu0);
          // Hash after the clock stops: the figure is the TLS path, not sha256.
          const h = createHash('sha256');
          for (const c of chunks) h.update(c);
          resolve({ seconds: (t1 - t0) / 1000, cpuMs: (cpu.user + cpu.system) / 1000, n, sha: h.digest('hex') });
          s.end();
        }
      });
    };
  });
  const c = await impl.connect(srv.port, suite);
  if (c.suite !== suite) throw new Error(`${impl.name}: negotiated ${c.suite}, wanted ${suite}`);
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  for (let off = 0; off < bytes; off += RECORD) {
    const o = off % block.length;
    if (!c.sock.write(block.subarray(o, o + Math.min(RECORD, bytes - off)))) await new Promise((r) => c.sock.once('drain', r));
  }
  const r = await received;
  c.sock.destroy();
  await srv.close();
  // CPU time of this process (client + server, all threads) per MB: steadier than MB/s on a busy machine.
  return { mbPerSecond: r.n / MB / r.seconds, cpuMsPerMb: r.cpuMs / (r.n / MB), bytes, intact: r.n === bytes && r.sha === want, sha256: r.sha };
}

// ---- run ----------------------------------------------------------------------------------------
const impls = [oursImpl('ours+node:crypto', ours.nodeCrypto)];
if (other) impls.push(oursImpl('compare+node:crypto', other.nodeCrypto, other));
if (!opt['no-noble']) impls.push(oursImpl('ours+noble', ours.nobleCrypto));
impls.push(nodeImpl);
const log = (s) => process.stderr.write(s + '\n');
const median = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  return v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const measurements = [
  ['fullHandshake', 'full handshakes', (impl) => handshakes(impl, false)],
  ['resumedHandshake', 'resumed handshakes', (impl) => handshakes(impl, true)],
  ...Object.keys(SUITES).map((k) => [k, `${SUITES[k].label}`, (impl) => bulk(impl, k, impl.name === 'ours+noble' ? nobleBulkBytes : bulkBytes)]),
];
const samples = Object.fromEntries(impls.map((i) => [i.name, Object.fromEntries(measurements.map(([k]) => [k, []]))]));
// Rounds outermost and implementations innermost, so load changes hit every implementation alike.
for (const [k, label, run] of measurements) {
  for (let round = 0; round < rounds; round++) {
    for (const impl of impls) {
      log(`bench/tls: ${impl.name}: ${label}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}`);
      samples[impl.name][k].push(await run(impl));
    }
  }
}
const results = {};
for (const impl of impls) {
  const r = (results[impl.name] = {});
  const sm = samples[impl.name];
  for (const k of ['fullHandshake', 'resumedHandshake']) {
    const v = median(sm[k].map((x) => x.perSecond));
    const notes = sm[k].map((x) => x.note).filter(Boolean);
    r[k] = { perSecond: v, rounds: sm[k].map((x) => x.perSecond), ...(notes.length ? { note: notes.join(', ') } : {}) };
  }
  for (const k of Object.keys(SUITES)) {
    r[k] = {
      mbPerSecond: median(sm[k].map((x) => x.mbPerSecond)),
      cpuMsPerMb: median(sm[k].map((x) => x.cpuMsPerMb)),
      rounds: sm[k].map((x) => x.mbPerSecond),
      bytes: sm[k][0].bytes,
      intact: sm[k].every((x) => x.intact),
    };
  }
}

const names = impls.map((i) => i.name);
const base = results['node:tls'];
const fmt = (v, digits = 0) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
const ratio = (v, b) => (v == null || b == null ? '' : ` (${(v / b).toFixed(2)}x)`);
const rows = [
  ['full handshakes/s (X25519, ECDSA P-256)', (r) => r.fullHandshake.perSecond, (b) => b.fullHandshake.perSecond, 0],
  ['resumed handshakes/s (psk_dhe_ke)', (r) => r.resumedHandshake.perSecond, (b) => b.resumedHandshake.perSecond, 0],
  ['bulk AES-128-GCM MB/s', (r) => r.aes.mbPerSecond, (b) => b.aes.mbPerSecond, 1],
  ['bulk ChaCha20-Poly1305 MB/s', (r) => r.chacha.mbPerSecond, (b) => b.chacha.mbPerSecond, 1],
  // Inverted so that, as in the rows above, a ratio above 1 means "better than node:tls".
  ['bulk AES-128-GCM CPU ms/MB (both ends)', (r) => r.aes.cpuMsPerMb, (b) => b.aes.cpuMsPerMb, 2, true],
  ['bulk ChaCha20-Poly1305 CPU ms/MB', (r) => r.chacha.cpuMsPerMb, (b) => b.chacha.cpuMsPerMb, 2, true],
];
const table = [['', ...names]];
for (const [label, get, getBase, d, lowerIsBetter] of rows) {
  table.push([label, ...names.map((n) => fmt(get(results[n]), d) + (n === 'node:tls' ? '' : lowerIsBetter ? ratio(getBase(base), get(results[n])) : ratio(get(results[n]), getBase(base))))]);
}
table.push(['bulk transfer size (MB), sha256 intact', ...names.map((n) => `${results[n].aes.bytes / MB}, ${results[n].aes.intact && results[n].chacha.intact ? 'yes' : 'NO'}`)]);
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
const lines = table.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
const notes = names.flatMap((n) => ['fullHandshake', 'resumedHandshake'].filter((k) => results[n][k].note).map((k) => `${n} ${k}: ${results[n][k].note}`));

const allIntact = names.every((n) => results[n].aes.intact && results[n].chacha.intact);
if (opt.json) {
  process.stdout.write(JSON.stringify({ bench: 'tls', node: process.version, bulkBytes, nobleBulkBytes, seconds, inflight: INFLIGHT, rounds, compare: opt.compare ?? null, results, allIntact }, null, 2) + '\n');
} else {
  process.stdout.write(
    `TLS 1.3 on loopback, kernel TCP, client and server in one process (Node ${process.version}); ratios to node:tls in parentheses, above 1 = better than node:tls (CPU rows: node:tls ms / ours)` +
      (rounds > 1 ? `; median of ${rounds} interleaved rounds` : '') +
      (opt.compare ? `; compare = ${opt.compare}` : '') +
      '\n' +
      lines.join('\n') +
      '\n' +
      (notes.length ? `notes: ${notes.join('; ')}\n` : ''),
  );
}
if (!allIntact) {
  process.stderr.write('bench/tls: a bulk transfer was NOT intact (sha256 mismatch)\n');
  process.exitCode = 1;
}
