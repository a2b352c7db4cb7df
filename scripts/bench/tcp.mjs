#!/usr/bin/env node
// TCP benchmark (issue "userspace TCP", item 5): our userspace TCP against Linux TCP, in one run,
// on one veth pair between two network namespaces, at MTU 1500 and 9000:
//   - ours receiving: our client (Host + RawSocketLink) <- Linux sender (python, sendfile);
//   - ours sending:   Linux receiver (python) <- our listener (Host + RawSocketLink);
//   - Linux TCP:      Linux receiver <- Linux sender (the baseline of the same run);
//   - the raw-socket packet-rate ceiling of the same run: one RawSocketLink sends MTU-sized TCP
//     packets as fast as it can, the other counts what it receives; converted to goodput as
//     packets/s x (MTU - 52) bytes (IP + TCP + timestamps headers), i.e. what a TCP could move if
//     packet I/O were its only cost;
//   - CPU time per MB of our side (process.cpuUsage of the child that runs our stack);
//   - memory per idle connection (in-process, on the simulator: N established idle connections,
//     fresh and after 64 KiB each way);
//   - what bounds us: ACKs our receiver sent per data segment, our sender's median cwnd, bytes in
//     flight and srtt (sampled every 10 ms while it runs).
// Offloads (TSO/GSO/GRO/tx checksum) are off on both veths, so every packet is a real MTU packet.
//
//   node scripts/bench/tcp.mjs [--mb 200] [--json] [--quick] [--cpu-prof DIR]   (root; needs npx tsc -b, python3)
// --cpu-prof DIR: the children running our stack write V8 CPU profiles (.cpuprofile) into DIR.
// Prints a table with ratios to the Linux baseline and to the ceiling of the same run.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';

const SELF = fileURLToPath(import.meta.url);

let tcp, link;
try {
  tcp = await import('@tcpls/tcp');
  link = await import('@tcpls/link');
} catch (e) {
  process.stderr.write(`bench/tcp: cannot load @tcpls/tcp / @tcpls/link (${e.message}); run npx tsc -b first\n`);
  process.exit(1);
}

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

/** The namespace's kernel TCP OutRsts counter: the RSTs it tried to send (the guard drops ours). */
function kernelOutRsts() {
  try {
    const lines = readFileSync('/proc/self/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf('OutRsts')]);
  } catch {
    return NaN;
  }
}

// =============================================================================================
// Children (run inside a namespace with ip netns exec): one JSON line on stdout each.
// =============================================================================================

async function childRecv(o) {
  const l = await link.RawSocketLink.open({ localAddress: o.local, ports: [o.lport], rcvBufBytes: 8 << 20, sndBufBytes: 8 << 20 });
  const host = new tcp.Host({ io: l, clock: tcp.systemClock, addresses: [o.local], resetScope: 'bound', tcp: { recvBufferBytes: 4 << 20, sendBufferBytes: 1 << 20 } });
  const c = host.connect({ remote: { address: o.host, port: o.port }, local: { port: o.lport } });
  let bytes = 0;
  let t0 = 0;
  let cpu0;
  const rst0 = kernelOutRsts();
  await new Promise((resolve, reject) => {
    c.onEvent = (ev) => {
      if (ev.type === 'connected') {
        t0 = performance.now();
        cpu0 = process.cpuUsage();
        c.write(new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
        c.shutdown();
      }
      if (ev.type === 'readable' || ev.type === 'peer-closed') for (let d = c.read(); d; d = c.read()) bytes += d.length;
      if (ev.type === 'peer-closed') resolve();
      if (ev.type === 'closed' && ev.error) reject(ev.error);
    };
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const st = c.conn.stats();
  host.close();
  await l.close();
  out({ bytes, ms, cpuMs: (cpu.user + cpu.system) / 1000, retransmits: st.retransmits, segmentsIn: st.segmentsReceived, segmentsOut: st.segmentsSent, kernelRsts: kernelOutRsts() - rst0 });
}

async function childSend(o) {
  const l = await link.RawSocketLink.open({ localAddress: o.local, ports: [o.port], rcvBufBytes: 8 << 20, sndBufBytes: 8 << 20 });
  const host = new tcp.Host({ io: l, clock: tcp.systemClock, addresses: [o.local], resetScope: 'bound', tcp: { recvBufferBytes: 1 << 20, sendBufferBytes: 4 << 20 } });
  const chunk = new Uint8Array(1 << 20).fill(0x61);
  let cpu0;
  const rst0 = kernelOutRsts();
  let sent = 0;
  const done = new Promise((resolve, reject) => {
    host.listen(o.port, {}, (c) => {
      cpu0 = process.cpuUsage();
      const pump = () => {
        while (sent < o.bytes) {
          const n = c.write(chunk.subarray(0, Math.min(chunk.length, o.bytes - sent)));
          if (n === 0) return;
          sent += n;
        }
        c.shutdown();
      };
      c.onEvent = (ev) => {
        if (ev.type === 'connected' || ev.type === 'writable') pump();
        if (ev.type === 'readable' || ev.type === 'peer-closed') while (c.read()) {}
        if (ev.type === 'closed') (ev.error ? reject(ev.error) : resolve(c));
      };
    });
  });
  out({ ready: true });
  // What bounds the sender while it runs (sampled; timers fire only when the loop is free).
  const samples = [];
  const sampler = setInterval(() => {
    for (const hc of host.allConnections()) {
      const t = hc.conn.stats();
      samples.push({ cwnd: t.cwnd, sndWnd: t.sndWnd, inFlight: t.bytesInFlight, srtt: t.srtt ?? 0, minRtt: t.minRtt ?? 0, ssthresh: t.ssthresh });
    }
  }, 10);
  const c = await done;
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  const st = c.conn.stats();
  host.close();
  await l.close();
  const med = (k) => (samples.length ? samples.map((x) => x[k]).sort((a, b) => a - b)[samples.length >> 1] : 0);
  out({ bytes: sent, cpuMs: (cpu.user + cpu.system) / 1000, retransmits: st.retransmits, segmentsIn: st.segmentsReceived, kernelRsts: kernelOutRsts() - rst0, median: { cwnd: med('cwnd'), sndWnd: med('sndWnd'), inFlight: med('inFlight'), srtt: med('srtt'), minRtt: med('minRtt'), ssthresh: med('ssthresh'), samples: samples.length } });
}

/** Sends MTU-sized TCP packets with a wrong checksum (the peer's kernel drops them silently). */
async function childBlast(o) {
  const l = await link.RawSocketLink.open({ localAddress: o.local, suppressRst: false, sndBufBytes: 8 << 20 });
  const payload = new Uint8Array(o.mtu - 40);
  const pkt = tcp.buildTcpPacket({ src: o.local, dst: o.dst }, { srcPort: 9, dstPort: 9, seq: 1, ack: 0, flags: tcp.TcpFlag.ACK, window: 0, urgent: 0, options: [], payload });
  pkt[pkt.length - 1] ^= 0xff; // payload byte changed after the checksum: invalid on purpose
  pkt[36] ^= 0xff; // and the checksum field itself
  const end = performance.now() + o.ms;
  let sent = 0;
  let failed = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) l.send(pkt) ? sent++ : failed++;
    await new Promise((r) => setImmediate(r));
  }
  await l.close();
  out({ sent, failed, pps: sent / (o.ms / 1000) });
}

async function childCount(o) {
  const l = await link.RawSocketLink.open({ localAddress: o.local, suppressRst: false, rcvBufBytes: 32 << 20 });
  let n = 0;
  let first = 0;
  let last = 0;
  l.onPacket(() => {
    const t = performance.now();
    if (n === 0) first = t;
    last = t;
    n++;
  });
  out({ ready: true });
  await new Promise((r) => setTimeout(r, o.ms));
  await l.close();
  out({ received: n, pps: n > 1 ? (n - 1) / ((last - first) / 1000) : 0 });
}

// =============================================================================================
// Main
// =============================================================================================

const PY = String.raw`
import socket, sys, time, json, os
if sys.argv[1] == 'serve':
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((sys.argv[2], int(sys.argv[3]))); srv.listen(4)
    print('ready', flush=True)
    while True:
        c, _ = srv.accept()
        c.recv(65536)
        with open(sys.argv[4], 'rb') as f:
            c.sendfile(f)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536): pass
        c.close()
else:
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    t0 = time.perf_counter(); n = 0
    s.sendall(b'GET / HTTP/1.0\r\n\r\n'); s.shutdown(socket.SHUT_WR)
    buf = bytearray(1 << 20)
    while True:
        k = s.recv_into(buf)
        if not k: break
        n += k
    print(json.dumps({'bytes': n, 'ms': (time.perf_counter() - t0) * 1000}))
`;

function sh(cmd, args, input) {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

function spawnIn(ns, cmd) {
  const p = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let err = '';
  let buf = '';
  const waiters = [];
  p.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) w();
    }
  });
  p.stderr.on('data', (d) => (err += d));
  const closed = new Promise((r) => p.on('close', (code) => r(code)));
  return {
    proc: p,
    /** Resolves with the next stdout line matching `re` (or rejects when the process ends first). */
    async line(re, timeoutMs = 120000) {
      const t0 = Date.now();
      for (;;) {
        const i = lines.findIndex((l) => re.test(l));
        if (i >= 0) return lines.splice(i, 1)[0];
        if (p.exitCode !== null) throw new Error(`${cmd.join(' ')} exited ${p.exitCode}: ${err}`);
        if (Date.now() - t0 > timeoutMs) throw new Error(`${cmd.join(' ')}: timeout; stderr: ${err}`);
        await Promise.race([new Promise((r) => waiters.push(r)), closed, new Promise((r) => setTimeout(r, 200))]);
      }
    },
    kill() {
      if (p.exitCode === null) p.kill('SIGTERM');
    },
    closed,
  };
}

// --cpu-prof DIR: the children that run our stack write V8 CPU profiles there (for finding hot spots).
let childNodeArgs = [];
const child = (ns, mode, o) => spawnIn(ns, [process.execPath, ...childNodeArgs, SELF, '--child', mode, JSON.stringify(o)]);

/** Memory per idle established connection (both endpoints counted), on the simulator. */
async function idleMemory(n, cfg, trafficBytes = 0) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const net = new link.SimNetwork({ seed: 1 });
  const a = net.addHost('a', { addresses: ['10.0.0.1'] });
  const b = net.addHost('b', { addresses: ['10.0.0.2'] });
  net.connect(a, b, { delay: 1 });
  const ha = new tcp.Host({ io: a, clock: net.clock, addresses: ['10.0.0.1'], tcp: cfg });
  const hb = new tcp.Host({ io: b, clock: net.clock, addresses: ['10.0.0.2'], tcp: cfg });
  // With trafficBytes, each connection first moves that much each way (read at once), then idles.
  const payload = new Uint8Array(trafficBytes).fill(0x5a);
  const echo = (c) => {
    let got = 0;
    c.onEvent = (ev) => {
      if (ev.type !== 'readable') return;
      for (let d = c.read(); d; d = c.read()) got += d.length;
      if (c.conn.local.port === 80 && got === trafficBytes) c.write(payload);
    };
  };
  hb.listen(80, { backlog: n + 1 }, echo);
  const measure = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = await measure();
  const conns = [];
  for (let i = 0; i < n; i++) {
    const c = ha.connect({ remote: { address: '10.0.0.2', port: 80 } });
    echo(c);
    if (trafficBytes > 0) c.write(payload);
    conns.push(c);
  }
  net.run(net.now + 1000);
  const established = conns.filter((c) => c.state === 'ESTABLISHED').length;
  const after = await measure();
  const per = (after - before) / (2 * n);
  ha.close();
  hb.close();
  return { connections: n, established, bytesPerEndpoint: Math.round(per) };
}

async function main() {
  const { values: opt } = parseArgs({ options: { mb: { type: 'string', default: '200' }, json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, 'cpu-prof': { type: 'string' } } });
  if (opt['cpu-prof']) childNodeArgs = ['--cpu-prof', '--cpu-prof-dir', opt['cpu-prof']];
  const mb = opt.quick ? 30 : Number(opt.mb);
  const bytes = Math.round(mb * 1e6);
  const results = { date: new Date().toISOString(), mb, runs: [], memory: [] };

  // Memory first (no root needed). The engine's rings grow on demand up to these bounds.
  for (const [label, cfg, traffic] of [
    ['default buffers (256 KiB + 256 KiB)', {}, 0],
    ['64 KiB + 64 KiB buffers', { recvBufferBytes: 65536, sendBufferBytes: 65536 }, 0],
    ['default buffers, idle after 64 KiB each way', {}, 65536],
  ]) {
    results.memory.push({ label, ...(await idleMemory(opt.quick ? 200 : 1000, cfg, traffic)) });
  }

  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    process.stderr.write('bench/tcp: the goodput part needs root (namespaces, raw sockets); only memory was measured\n');
  } else {
    const tag = (process.pid % 10000).toString(36);
    const nsA = `hpbn${tag}a`;
    const nsB = `hpbn${tag}b`;
    const devA = `hpbn${tag}a0`;
    const devB = `hpbn${tag}b0`;
    const A = '10.89.0.1';
    const B = '10.89.0.2';
    const work = mkdtempSync(join(tmpdir(), 'tcpls-bench-tcp-'));
    const file = join(work, 'data.bin');
    const py = join(work, 'peer.py');
    writeFileSync(py, PY);
    writeFileSync(file, Buffer.alloc(bytes, 0x62));
    const cleanup = () => {
      for (const ns of [nsA, nsB]) {
        try {
          sh('ip', ['netns', 'del', ns]);
        } catch {
          // gone
        }
      }
      rmSync(work, { recursive: true, force: true });
    };
    process.on('exit', cleanup);
    const procs = [];
    try {
      sh('ip', ['netns', 'add', nsA]);
      sh('ip', ['netns', 'add', nsB]);
      sh('ip', ['link', 'add', devA, 'netns', nsA, 'type', 'veth', 'peer', 'name', devB, 'netns', nsB]);
      for (const [ns, dev, ad] of [
        [nsA, devA, A],
        [nsB, devB, B],
      ]) {
        sh('ip', ['-n', ns, 'addr', 'add', `${ad}/24`, 'dev', dev]);
        sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
        sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
      }
      const server = spawnIn(nsB, ['python3', py, 'serve', B, '8000', file]);
      procs.push(server);
      await server.line(/ready/);
      for (const mtu of [1500, 9000]) {
        for (const [ns, dev] of [
          [nsA, devA],
          [nsB, devB],
        ]) sh('ip', ['-n', ns, 'link', 'set', dev, 'mtu', String(mtu)]);
        await new Promise((r) => setTimeout(r, 300));
        const run = { mtu };
        // Linux -> Linux.
        const lin = spawnIn(nsA, ['python3', py, 'fetch', B, '8000']);
        const l = JSON.parse(await lin.line(/bytes/));
        run.linuxMbps = (l.bytes * 8) / (l.ms * 1000);
        // Linux sender -> our client.
        const rc = child(nsA, 'recv', { local: A, lport: 61000 + (mtu === 1500 ? 1 : 2), host: B, port: 8000 });
        const r = JSON.parse(await rc.line(/bytes/));
        if (r.bytes !== bytes) throw new Error(`our client received ${r.bytes} of ${bytes} bytes`);
        run.oursRecvMbps = (r.bytes * 8) / (r.ms * 1000);
        run.oursRecvCpuMsPerMB = r.cpuMs / mb;
        run.oursRecvRetransmits = r.retransmits;
        run.oursRecvAcksPerSegment = r.segmentsOut / Math.max(1, r.segmentsIn);
        run.oursRecvKernelRstsPerSegment = r.kernelRsts / Math.max(1, r.segmentsIn);
        // Our listener -> Linux receiver.
        const sport = 9000 + (mtu === 1500 ? 1 : 2);
        const sc = child(nsB, 'send', { local: B, port: sport, bytes });
        await sc.line(/ready/);
        const fetch = spawnIn(nsA, ['python3', py, 'fetch', B, String(sport)]);
        const f = JSON.parse(await fetch.line(/bytes/));
        const s = JSON.parse(await sc.line(/cpuMs/));
        if (f.bytes !== bytes) throw new Error(`the Linux client received ${f.bytes} of ${bytes} bytes from our listener`);
        run.oursSendMbps = (f.bytes * 8) / (f.ms * 1000);
        run.oursSendCpuMsPerMB = s.cpuMs / mb;
        run.oursSendRetransmits = s.retransmits;
        run.oursSendMedian = s.median;
        run.oursSendKernelRstsPerAck = s.kernelRsts / Math.max(1, s.segmentsIn);
        // Raw-socket packet-rate ceiling: B counts what A's RawSocketLink sends in 2 s.
        const counter = child(nsB, 'count', { local: B, ms: 3500 });
        await counter.line(/ready/);
        const blaster = child(nsA, 'blast', { local: A, dst: B, mtu, ms: 2000 });
        const bl = JSON.parse(await blaster.line(/pps/));
        const co = JSON.parse(await counter.line(/pps/));
        const perPacket = mtu - 52;
        run.rawSendPps = bl.pps;
        run.rawRecvPps = co.pps;
        run.ceilingMbps = (Math.min(bl.pps, co.pps) * perPacket * 8) / 1e6;
        results.runs.push(run);
      }
    } finally {
      for (const p of procs) p.kill();
      cleanup();
    }
  }

  if (opt.json) {
    out(results);
    return;
  }
  const f1 = (x) => (x === undefined ? '-' : x.toFixed(0));
  const ratio = (x, y) => (x && y ? ` (${(x / y).toFixed(2)}x)` : '');
  const lines = [`TCP benchmark, ${results.date}, ${mb} MB per transfer, one veth pair, offloads off`];
  for (const r of results.runs) {
    lines.push(``, `MTU ${r.mtu}                                  Mbit/s   (ratio to Linux TCP / to the raw ceiling)`);
    lines.push(`  Linux TCP -> Linux TCP                ${f1(r.linuxMbps).padStart(7)}`);
    lines.push(`  Linux TCP -> ours (our client)        ${f1(r.oursRecvMbps).padStart(7)}${ratio(r.oursRecvMbps, r.linuxMbps)}${ratio(r.oursRecvMbps, r.ceilingMbps)}`);
    lines.push(`  ours (our listener) -> Linux TCP      ${f1(r.oursSendMbps).padStart(7)}${ratio(r.oursSendMbps, r.linuxMbps)}${ratio(r.oursSendMbps, r.ceilingMbps)}`);
    lines.push(`  raw-socket ceiling as goodput         ${f1(r.ceilingMbps).padStart(7)}   (send ${f1(r.rawSendPps)} pkt/s, received ${f1(r.rawRecvPps)} pkt/s)`);
    lines.push(`  our CPU ms per MB: receiving ${r.oursRecvCpuMsPerMB.toFixed(2)}, sending ${r.oursSendCpuMsPerMB.toFixed(2)}; retransmissions ${r.oursRecvRetransmits} / ${r.oursSendRetransmits}`);
    const m = r.oursSendMedian;
    lines.push(`  RSTs our namespace's kernel tried to send (dropped by the guard): ${r.oursRecvKernelRstsPerSegment.toFixed(2)} per segment received, ${r.oursSendKernelRstsPerAck.toFixed(2)} per ACK received`);
    lines.push(`  our receiver sent ${r.oursRecvAcksPerSegment.toFixed(3)} ACKs per segment; our sender's median cwnd ${(m.cwnd / 1024).toFixed(0)} KiB, in flight ${(m.inFlight / 1024).toFixed(0)} KiB, srtt ${m.srtt.toFixed(1)} ms`);
  }
  lines.push('', 'Memory per idle established connection endpoint (simulator, heapUsed + arrayBuffers):');
  for (const m of results.memory) lines.push(`  ${m.label}: ${(m.bytesPerEndpoint / 1024).toFixed(1)} KiB (${m.established}/${m.connections} established)`);
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[2] === '--child') {
  const o = JSON.parse(process.argv[4]);
  const fn = { recv: childRecv, send: childSend, blast: childBlast, count: childCount }[process.argv[3]];
  fn(o).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench/tcp child ${process.argv[3]}: ${e.stack ?? e}\n`);
      process.exit(1);
    },
  );
} else {
  main().catch((e) => {
    process.stderr.write(`bench/tcp: ${e.stack ?? e}\n`);
    process.exitCode = 1;
  });
}
