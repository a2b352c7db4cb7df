#!/usr/bin/env node
// Measurement helper the lab tests run inside namespaces (`ip netns exec NS node netprobe.mjs ...`).
// Servers print "ready" on stdout when listening and run until killed (or until their job is done).
// Clients print one JSON line with their result.
//   tcp-server PORT                  accept on [::] (dual stack), count received bytes; each
//                                     connection's result is printed as JSON when it closes
//   tcp-connect HOST PORT N          N sequential connects; {"times":[ms...]} (connect latency)
//   tcp-blast HOST PORT SECONDS      send as fast as possible for SECONDS; {"sent":bytes}
//   udp-sink PORT                    count datagrams on [::]; prints {"received":n} on SIGTERM
//   udp-send HOST PORT COUNT         send COUNT 200-byte datagrams, paced; {"sent":COUNT}
import net from 'node:net';
import dgram from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

if (mode === 'tcp-server') {
  const srv = net.createServer((s) => {
    let bytes = 0;
    let first = 0;
    let last = 0;
    s.on('data', (d) => {
      const now = performance.now();
      if (bytes === 0) first = now;
      last = now;
      bytes += d.length;
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (bytes > 0) out({ bytes, seconds: (last - first) / 1000 });
    });
  });
  srv.listen({ port: Number(args[0]), host: '::', ipv6Only: false }, () => process.stdout.write('ready\n'));
} else if (mode === 'tcp-connect') {
  const [host, port, n] = [args[0], Number(args[1]), Number(args[2])];
  const times = [];
  const one = () =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const s = net.connect({ host, port }, () => {
        times.push(performance.now() - t0);
        s.destroy();
        resolve();
      });
      s.setTimeout(5000, () => { s.destroy(); reject(new Error('connect timeout')); });
      s.on('error', reject);
    });
  for (let i = 0; i < n; i++) await one();
  out({ times });
} else if (mode === 'tcp-blast') {
  const [host, port, seconds] = [args[0], Number(args[1]), Number(args[2])];
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const s = net.connect({ host, port }, () => {
    const end = performance.now() + seconds * 1000;
    const pump = () => {
      while (performance.now() < end) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end(() => out({ sent }));
    };
    pump();
  });
  s.on('error', (e) => { process.stderr.write(String(e) + '\n'); process.exit(1); });
} else if (mode === 'udp-sink') {
  const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  let received = 0;
  sock.on('message', () => { received++; });
  process.on('SIGTERM', () => { out({ received }); process.exit(0); });
  sock.bind(Number(args[0]), '::', () => process.stdout.write('ready\n'));
} else if (mode === 'udp-send') {
  const [host, port, count] = [args[0], Number(args[1]), Number(args[2])];
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const payload = Buffer.alloc(200, 0x62);
  let sent = 0;
  // 10 datagrams a millisecond at most: no socket buffer on the way overflows.
  const burst = () => {
    for (let i = 0; i < 10 && sent < count; i++, sent++) sock.send(payload, port, host);
    if (sent < count) setTimeout(burst, 1);
    else setTimeout(() => { out({ sent }); sock.close(); }, 50);
  };
  burst();
} else {
  process.stderr.write(`netprobe: unknown mode ${mode}\n`);
  process.exit(2);
}
