/**
 * Live check against the running kernel: two namespaces (prefix "hw"), a Linux TCP server and client
 * exchanging data over IPv4 and IPv6, captured with tcpdump. EVERY captured packet must parse with
 * its checksums verified and re-emit byte-identical through buildTcpPacket. Offloads are turned off
 * on both veth ends (ethtool), so the kernel writes full checksums and no GSO super-packets appear.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, hasCommand, netnsUnavailableReason, uniqueTag } from '../../../../test/support/env.js';
import { buildTcpPacket, parseTcpPacket, tcpFlagsToString } from '../../src/wire/index.js';
import { bytesToHex } from './helpers.js';

function liveReason(): string | null {
  const ns = netnsUnavailableReason();
  if (ns !== null) return ns;
  for (const c of ['tcpdump', 'python3', 'ethtool']) if (!hasCommand(c)) return `needs the '${c}' command (scripts/setup.sh installs it)`;
  return null;
}

/** IP packets from an Ethernet (link type 1) pcap file, Ethernet header removed. */
function readPcapIpPackets(file: Buffer): Uint8Array[] {
  const le = file.readUInt32LE(0) === 0xa1b2c3d4 || file.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`expected an Ethernet capture, link type ${u32(20)}`);
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= file.length; ) {
    const incl = u32(off + 8);
    out.push(new Uint8Array(file.subarray(off + 16 + 14, off + 16 + incl)));
    off += 16 + incl;
  }
  return out;
}

const SERVER = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', 8080)); s.listen(4)
print('ready', flush=True)
for _ in range(2):
    c, _a = s.accept()
    data = b''
    while not data.endswith(b'\\n'):
        chunk = c.recv(4096)
        if not chunk: break
        data += chunk
    c.sendall(b'x' * 3000 + data)
    c.close()
`;

const CLIENT = `
import socket, sys
for host in sys.argv[1:]:
    c = socket.create_connection((host, 8080), timeout=5)
    c.sendall(b'hello from hw live test\\n')
    got = b''
    while True:
        chunk = c.recv(65536)
        if not chunk: break
        got += chunk
    c.close()
    assert len(got) == 3024, len(got)
print('done', flush=True)
`;

describeIf(liveReason(), 'live Linux TCP segments re-emit byte-exact', () => {
  const tag = uniqueTag();
  const nsA = `hwA${tag}`;
  const nsB = `hwB${tag}`;
  const vethA = `hwa${tag}`;
  const vethB = `hwb${tag}`;
  const work = mkdtempSync(join(tmpdir(), 'hw-live-'));
  const children: ChildProcess[] = [];
  let packets: Uint8Array[] = [];

  const run = (...args: string[]) => execFileSync(args[0], args.slice(1), { stdio: 'pipe', timeout: 10000 });
  const waitFor = (child: ChildProcess, stream: 'stdout' | 'stderr', text: string) =>
    new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}": ${seen}`)), 8000);
      child[stream]!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes(text)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        if (!seen.includes(text)) {
          clearTimeout(timer);
          reject(new Error(`exited (${code}) before "${text}": ${seen}`));
        }
      });
    });

  beforeAll(async () => {
    run('ip', 'netns', 'add', nsA);
    run('ip', 'netns', 'add', nsB);
    run('ip', 'link', 'add', vethA, 'netns', nsA, 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB);
    run('ip', '-n', nsA, 'addr', 'add', '10.77.0.1/24', 'dev', vethA);
    run('ip', '-n', nsB, 'addr', 'add', '10.77.0.2/24', 'dev', vethB);
    run('ip', '-n', nsA, 'addr', 'add', 'fd77::1/64', 'dev', vethA, 'nodad');
    run('ip', '-n', nsB, 'addr', 'add', 'fd77::2/64', 'dev', vethB, 'nodad');
    for (const [ns, dev] of [[nsA, vethA], [nsB, vethB]]) {
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      run('ip', '-n', ns, 'link', 'set', dev, 'up');
      run('ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'tx', 'off');
    }
    const pcap = join(work, 'live.pcap');
    const dump = spawn('ip', ['netns', 'exec', nsB, 'tcpdump', '-i', vethB, '-U', '-s', '0', '--immediate-mode', '-w', pcap, 'tcp port 8080']);
    children.push(dump);
    await waitFor(dump, 'stderr', 'listening on');
    const server = spawn('ip', ['netns', 'exec', nsB, 'python3', '-c', SERVER]);
    children.push(server);
    await waitFor(server, 'stdout', 'ready');
    const client = spawn('ip', ['netns', 'exec', nsA, 'python3', '-c', CLIENT, '10.77.0.2', 'fd77::2']);
    children.push(client);
    await waitFor(client, 'stdout', 'done');
    // Let the last ACKs reach the capture, then stop tcpdump so the file is complete. Without
    // --immediate-mode libpcap hands packets over in blocks and loses the last block on SIGINT.
    await new Promise((r) => setTimeout(r, 300));
    await new Promise<void>((resolve) => {
      dump.on('exit', () => resolve());
      dump.kill('SIGINT');
    });
    packets = readPcapIpPackets(readFileSync(pcap));
  }, 30000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of [nsA, nsB]) {
      try {
        run('ip', 'netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('both connections were captured whole: handshakes, data both ways, FINs, over IPv4 and IPv6', () => {
    const seen = packets.map((p) => {
      const { ip, tcp } = parseTcpPacket(p);
      return `${ip.version}:${tcpFlagsToString(tcp.flags)}`;
    });
    for (const v of [4, 6]) {
      expect(seen).toContain(`${v}:S`);
      expect(seen).toContain(`${v}:SA`);
      expect(seen.some((s) => s.startsWith(`${v}:`) && s.includes('F'))).toBe(true);
      expect(seen.some((s) => s.startsWith(`${v}:`) && s.includes('P'))).toBe(true);
    }
  });

  test('every captured packet verifies and re-emits byte-identical', () => {
    expect(packets.length).toBeGreaterThan(12);
    for (const p of packets) {
      const { ip, tcp } = parseTcpPacket(p);
      const rebuilt =
        ip.version === 4
          ? buildTcpPacket({ src: ip.src, dst: ip.dst, ttl: ip.ttl, ident: ip.ident, dontFragment: ip.dontFragment, dscp: ip.dscp, ecn: ip.ecn, ipv4Options: ip.options }, tcp)
          : buildTcpPacket({ src: ip.src, dst: ip.dst, hopLimit: ip.hopLimit, flowLabel: ip.flowLabel, dscp: ip.dscp, ecn: ip.ecn }, tcp);
      expect(bytesToHex(rebuilt)).toBe(bytesToHex(p));
    }
  });
});
