#!/usr/bin/env node
// TCPLS benchmark (issue "TCPLS session", Done when: "session goodput over the simulator and over the
// lab against node:tls over Linux TCP in the same run"). One file fetched, sha256 checked each time:
//   - simulator: `tcpls demo`'s scenario (client and server in this process, our TCP + TLS + TCPLS),
//     clean path, (a) a 100 Mbit/s 10 ms-RTT link: simulated goodput vs the link rate, and (b) an
//     unlimited 2 ms-RTT link: wall-clock goodput, i.e. what the CPU allows for both ends together;
//   - lab (root): two network namespaces joined by one veth pair (MTU 1500, offloads off):
//       TCPLS over our TCP on RawSocketLink   `tcpls get --link raw`  from `tcpls serve --link raw`
//       TCPLS over Linux TCP                  `tcpls get --stack kernel` from `tcpls serve --stack kernel`
//       node:tls (OpenSSL) over Linux TCP     a node:tls server and client (TLS 1.3, AES-128-GCM)
//     each end in its own process, one after the other in the same run.
//
//   node scripts/bench/tcpls.mjs [--mb 32] [--quick] [--json]      (lab part needs root; npx tsc -b first)
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '../..');
const CLI = join(REPO, 'packages/cli/bin/tcpls.js');

// ---------------------------------------------------------------- node:tls children (lab baseline)
if (process.argv[2] === '--child') {
  const tls = await import('node:tls');
  const fs = await import('node:fs');
  const [, , , role, a, b, c] = process.argv;
  if (role === 'tls-server') {
    // a: port, b: file, c: cert dir
    const data = fs.readFileSync(b);
    const srv = tls.createServer({ cert: fs.readFileSync(join(c, 'c.pem')), key: fs.readFileSync(join(c, 'k.pem')), minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' }, (s) => {
      s.once('data', () => s.end(data));
      s.on('error', () => undefined);
    });
    srv.listen(Number(a), () => process.stderr.write('serving\n'));
    process.once('SIGTERM', () => process.exit(0));
  } else {
    // a: host, b: port
    const t0 = performance.now();
    const h = createHash('sha256');
    let bytes = 0;
    const s = tls.connect({ host: a, port: Number(b), rejectUnauthorized: false, minVersion: 'TLSv1.3' }, () => s.write('GET\n'));
    s.on('data', (d) => {
      bytes += d.length;
      h.update(d);
    });
    s.on('end', () => {
      process.stdout.write(JSON.stringify({ bytes, sha256: h.digest('hex'), seconds: (performance.now() - t0) / 1000 }) + '\n');
      process.exit(0);
    });
  }
} else {
  await main();
}

async function main() {
  const { values: o } = parseArgs({ options: { mb: { type: 'string', default: '32' }, quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  const mb = o.quick ? 4 : Number(o.mb);
  const results = { date: new Date().toISOString(), mb, simulator: {}, lab: null };
  let demo;
  try {
    demo = await import(join(REPO, 'packages/cli/dist/commands/demo.js'));
  } catch (e) {
    process.stderr.write(`bench/tcpls: cannot load the CLI (${e.message}); run npx tsc -b first\n`);
    process.exit(1);
  }
  const size = mb * 1024 * 1024;
  for (const [name, rateBps, delayMs, streams] of [
    ['link100', 100e6, 5, 1],
    ['link100x4', 100e6, 5, 4],
    ['unlimited', Infinity, 1, 1],
    ['unlimitedx4', Infinity, 1, 4],
  ]) {
    const { result: r } = demo.runDemo({ seed: 1, size, streams, clean: true, rateBps, delayMs });
    if (!r.intact) throw new Error(`simulator ${name}: transfer not intact`);
    results.simulator[name] = {
      rateMbitPerSec: rateBps === Infinity ? null : rateBps / 1e6,
      simulatedGoodputMbitPerSec: +r.goodputMbitPerSec.toFixed(1),
      wallGoodputMbitPerSec: +((r.bytes * 8) / r.wallSeconds / 1e6).toFixed(1),
      wallSeconds: +r.wallSeconds.toFixed(3),
    };
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasTools = ['ip', 'ethtool', 'openssl', 'nft'].every((c) => {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (isRoot && hasTools) results.lab = await lab(size);
  else results.labSkipped = isRoot ? 'needs ip, ethtool, openssl, nft' : 'needs root (network namespaces)';

  if (o.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  const lines = [`TCPLS goodput, ${mb} MiB, sha256 checked (${results.date})`, ''];
  const s = results.simulator;
  lines.push(`simulator, 100 Mbit/s 10 ms RTT, 1 stream:   ${s.link100.simulatedGoodputMbitPerSec} Mbit/s simulated (wall ${s.link100.wallSeconds} s)`);
  lines.push(`simulator, 100 Mbit/s 10 ms RTT, 4 streams:  ${s.link100x4.simulatedGoodputMbitPerSec} Mbit/s simulated (wall ${s.link100x4.wallSeconds} s)`);
  lines.push(`simulator, unlimited 2 ms RTT, 1 stream:     ${s.unlimited.wallGoodputMbitPerSec} Mbit/s wall clock (${s.unlimited.simulatedGoodputMbitPerSec} simulated), both ends in one process`);
  lines.push(`simulator, unlimited 2 ms RTT, 4 streams:    ${s.unlimitedx4.wallGoodputMbitPerSec} Mbit/s wall clock (${s.unlimitedx4.simulatedGoodputMbitPerSec} simulated), both ends in one process`);
  if (results.lab) {
    const l = results.lab;
    const base = l.nodeTlsKernel.goodputMbitPerSec;
    const row = (label, v) => `${label.padEnd(36)}${String(v.goodputMbitPerSec).padStart(8)} Mbit/s  (${(v.goodputMbitPerSec / base).toFixed(2)}x node:tls)`;
    lines.push('', 'lab: veth pair between two namespaces, MTU 1500, offloads off');
    lines.push(row('TCPLS, our TCP on RawSocketLink', l.tcplsRaw));
    lines.push(row('TCPLS, our TCP, 4 streams', l.tcplsRaw4));
    lines.push(row('TCPLS, Linux TCP (--stack kernel)', l.tcplsKernel));
    lines.push(row('node:tls (OpenSSL), Linux TCP', l.nodeTlsKernel));
  } else lines.push('', `lab: skipped (${results.labSkipped})`);
  process.stdout.write(lines.join('\n') + '\n');
}

function sh(args) {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function start(ns, args) {
  return new Promise((ok, ko) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const t = setTimeout(() => ko(new Error(`not ready: ${args.join(' ')}: ${log}`)), 15000);
    const on = (d) => {
      log += d;
      if (/serving/.test(log)) {
        clearTimeout(t);
        ok(p);
      }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.on('exit', (c) => {
      clearTimeout(t);
      ko(new Error(`${args.join(' ')} exited ${c}: ${log}`));
    });
  });
}

function runJson(ns, args) {
  return new Promise((ok, ko) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 300000);
    p.on('close', (c) => {
      clearTimeout(t);
      if (c !== 0) return ko(new Error(`${args.join(' ')} exited ${c}: ${err}`));
      ok(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

async function stop(p) {
  if (!p || p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

async function lab(size) {
  const P = `hqb${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const A = `${P}-a`;
  const B = `${P}-b`;
  const dir = mkdtempSync(join(tmpdir(), 'tcpls-bench-'));
  const procs = [];
  try {
    const file = randomBytes(size);
    writeFileSync(join(dir, 'f.bin'), file);
    const want = createHash('sha256').update(file).digest('hex');
    sh(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost']);
    for (const n of [A, B]) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', 'link', 'add', `${P}a`, 'netns', A, 'type', 'veth', 'peer', 'name', `${P}b`, 'netns', B]);
    sh(['ip', '-n', A, 'addr', 'add', '10.78.0.1/24', 'dev', `${P}a`]);
    sh(['ip', '-n', B, 'addr', 'add', '10.78.0.2/24', 'dev', `${P}b`]);
    for (const [n, d] of [[A, `${P}a`], [B, `${P}b`]]) {
      sh(['ip', '-n', n, 'link', 'set', d, 'up']);
      sh(['ip', 'netns', 'exec', n, 'ethtool', '-K', d, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
    }
    const cert = ['--cert', join(dir, 'c.pem'), '--key', join(dir, 'k.pem'), '--dir', dir];
    procs.push(await start(B, ['node', CLI, 'serve', '--port', '4443', '--link', 'raw', ...cert]));
    procs.push(await start(B, ['node', CLI, 'serve', '--port', '4444', '--stack', 'kernel', ...cert]));
    procs.push(await start(B, ['node', SELF, '--child', 'tls-server', '4445', join(dir, 'f.bin'), dir]));
    const measure = (j) => {
      if (j.sha256 !== want) throw new Error('bench/tcpls: sha256 mismatch');
      return { seconds: +j.seconds.toFixed(3), goodputMbitPerSec: +((j.bytes * 8) / j.seconds / 1e6).toFixed(1) };
    };
    const tcplsRaw = measure(await runJson(A, ['node', CLI, 'get', 'tcpls://10.78.0.2:4443/f.bin', '--insecure', '--json', '--link', 'raw']));
    const tcplsRaw4 = measure(await runJson(A, ['node', CLI, 'get', 'tcpls://10.78.0.2:4443/f.bin', '--insecure', '--json', '--link', 'raw', '--streams', '4']));
    const tcplsKernel = measure(await runJson(A, ['node', CLI, 'get', 'tcpls://10.78.0.2:4444/f.bin', '--insecure', '--json', '--stack', 'kernel']));
    const nodeTlsKernel = measure(await runJson(A, ['node', SELF, '--child', 'tls-client', '10.78.0.2', '4445']));
    return { tcplsRaw, tcplsRaw4, tcplsKernel, nodeTlsKernel };
  } finally {
    for (const p of procs) await stop(p);
    for (const n of [A, B]) {
      try {
        sh(['ip', 'netns', 'del', n]);
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
