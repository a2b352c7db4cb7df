import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, hasCommand, netnsUnavailableReason } from '../../../../test/support/env.js';
import { type NsPair, RUN_TS, createNsPair, jsonLines, waitForOutput } from '../support/netns.js';

const HOLD = join(__dirname, '../support/hold-probe.ts');
const OPEN_ERROR = join(__dirname, '../support/open-error-probe.ts');

function nsState(ns: NsPair): { tables: string; reserved: string } {
  return {
    tables: ns.exec(ns.client, 'nft', ['list', 'tables']),
    reserved: ns.exec(ns.client, 'cat', ['/proc/sys/net/ipv4/ip_local_reserved_ports']).trim(),
  };
}

describeIf(netnsUnavailableReason(), 'RawSocketLink clean-up and errors (namespaces)', () => {
  let ns: NsPair;
  beforeAll(() => {
    ns = createNsPair('hr');
  });
  afterAll(() => ns?.destroy());

  for (const [how, signal, mode, exitCode] of [
    ['SIGTERM', 'SIGTERM', 'wait', null],
    ['SIGINT', 'SIGINT', 'wait', null],
    ['process.exit()', null, 'exit', 0],
    ['crash (uncaught exception)', null, 'throw', 1],
  ] as const) {
    test(`${how}: the nft table and the reserved port are removed and the process still ends as it would have`, async () => {
      const port = 30000 + Math.floor(Math.random() * 10000);
      // A port reserved by someone else before us must survive our clean-up.
      ns.exec(ns.client, 'sh', ['-c', `echo 1234 > /proc/sys/net/ipv4/ip_local_reserved_ports`]);
      const child = ns.spawnIn(ns.client, process.execPath, [RUN_TS, HOLD, JSON.stringify({ address: ns.v4.client, port, mode })]);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, sig) => res({ code, signal: sig })));
      const out = await waitForOutput(child, /"event":"opened"/, 10000);
      const table = (jsonLines(out)[0].table as { name: string }).name;
      if (mode !== 'exit') {
        const during = nsState(ns);
        expect(during.tables).toContain(table);
        expect(during.reserved.split(',')).toEqual(expect.arrayContaining(['1234', String(port)]));
        if (signal !== null) process.kill(child.pid!, signal);
      }
      const end = await exited;
      if (signal !== null) expect(end.signal).toBe(signal);
      else expect(end.code).toBe(exitCode);
      const after = nsState(ns);
      expect(after.tables).not.toContain(table);
      expect(after.reserved).toBe('1234');
      ns.exec(ns.client, 'sh', ['-c', `echo > /proc/sys/net/ipv4/ip_local_reserved_ports`]);
    });
  }

  test('SIGKILL (no clean-up can run): the table stays, and the next link opened in the namespace deletes it', async () => {
    const port = 30000 + Math.floor(Math.random() * 10000);
    const start = (): { child: ReturnType<NsPair['spawnIn']>; exited: Promise<unknown> } => {
      const child = ns.spawnIn(ns.client, process.execPath, [RUN_TS, HOLD, JSON.stringify({ address: ns.v4.client, port, mode: 'wait' })]);
      return { child, exited: new Promise((res) => child.once('exit', res)) };
    };
    const first = start();
    const table = (jsonLines(await waitForOutput(first.child, /"event":"opened"/, 10000))[0].table as { name: string }).name;
    process.kill(first.child.pid!, 'SIGKILL');
    await first.exited;
    expect(nsState(ns).tables).toContain(table);
    const second = start();
    const table2 = (jsonLines(await waitForOutput(second.child, /"event":"opened"/, 10000))[0].table as { name: string }).name;
    const during = nsState(ns).tables;
    expect(during).not.toContain(`${table}\n`);
    expect(during).toContain(table2);
    process.kill(second.child.pid!, 'SIGTERM');
    await second.exited;
    expect(nsState(ns).tables).toBe('');
    // The dead process's reserved port cannot be told apart from one reserved by someone else, so
    // it stays reserved (harmless: the kernel only avoids it for ephemeral ports).
    ns.exec(ns.client, 'sh', ['-c', `echo > /proc/sys/net/ipv4/ip_local_reserved_ports`]);
  });

  test('address not configured in the namespace: a clear address-not-local error', async () => {
    const r = execFileSync('ip', ['netns', 'exec', ns.client, process.execPath, RUN_TS, OPEN_ERROR, JSON.stringify({ link: 'raw', address: ns.v4.server })], { encoding: 'utf8' });
    const e = jsonLines(r)[0];
    expect(e.code).toBe('address-not-local');
    expect(e.message).toContain(`${ns.v4.server} is not configured on any interface`);
  });

  test('nft missing: a clear nft-missing error, and nothing is left behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-path-'));
    try {
      // A PATH with `ip` and `sh` but no `nft`.
      for (const cmd of ['ip', 'sh']) symlinkSync(execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim(), join(dir, cmd));
      const r = execFileSync('ip', ['netns', 'exec', ns.client, 'env', `PATH=${dir}`, process.execPath, RUN_TS, OPEN_ERROR, JSON.stringify({ link: 'raw', address: ns.v4.client })], { encoding: 'utf8' });
      const e = jsonLines(r)[0];
      expect(e.code).toBe('nft-missing');
      expect(e.message).toMatch(/'nft' command/);
      expect(nsState(ns).tables).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];

/** Null when we can run the probe as user nobody: root, setpriv, and a checkout nobody can read. */
function unprivilegedUnavailable(): string | null {
  if (!(typeof process.getuid === 'function' && process.getuid() === 0) || !hasCommand('setpriv')) {
    return 'needs root and setpriv to drop to user nobody';
  }
  try {
    const check = `require(${JSON.stringify(require.resolve('@swc/core'))}); require('fs').accessSync(${JSON.stringify(OPEN_ERROR)})`;
    execFileSync('setpriv', [...NOBODY, process.execPath, '-e', check], { stdio: 'ignore' });
    return null;
  } catch {
    return 'user nobody cannot read this checkout (e.g. it lives under /root)';
  }
}

const unprivileged = unprivilegedUnavailable();

describeIf(unprivileged, 'real links without privileges', () => {
  function asNobody(args: Record<string, unknown>): Record<string, unknown> {
    const out = execFileSync('setpriv', [...NOBODY, process.execPath, RUN_TS, OPEN_ERROR, JSON.stringify(args)], { encoding: 'utf8' });
    return jsonLines(out)[0];
  }

  test('RawSocketLink as nobody: "RawSocketLink needs root or CAP_NET_RAW: ..." with code permission', () => {
    const e = asNobody({ link: 'raw', address: '127.0.0.1' });
    expect(e.code).toBe('permission');
    expect(e.message).toMatch(/^RawSocketLink needs root or CAP_NET_RAW: /);
  });

  test('PcapLink as nobody: "PcapLink needs root or CAP_NET_RAW: ..." with code permission', () => {
    const e = asNobody({ link: 'pcap', address: '127.0.0.99', device: 'lo' });
    expect(e.code).toBe('permission');
    expect(e.message).toMatch(/^PcapLink needs root or CAP_NET_RAW: /);
  });
});

