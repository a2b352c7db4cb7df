/**
 * `tcpls lab` as users run it: the built CLI (packages/cli/bin/tcpls.js over dist/), with its exit
 * codes, messages, JSON and cleanup. Root and namespaces needed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeIf, hasCommand, netnsUnavailableReason, uniqueTag } from '../../../../test/support/env.js';
import { ensureBuilt, leftovers, pidAlive, probe, repoRoot, run, startServer, stopAllServers } from './support/helpers.js';

const bin = join(repoRoot, 'packages/cli/bin/tcpls.js');
const prefixes: string[] = [];
function newPrefix(): string {
  const p = `hl${uniqueTag()}`;
  prefixes.push(p);
  return p;
}

function tcpls(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [bin, 'lab', ...args], { env });
}

interface StateJson {
  topology: string;
  prefix: string;
  complete: boolean;
  endpoints: { client: { v4?: string; v6?: string }; server: { v4?: string; v6?: string } };
  namespaces: { name: string; role: string; interfaces: { name: string; mac: string; mtu: number; v4: string[]; v6: string[] }[] }[];
  paths: { id: number; rate: number | null; loss: number | null; delay: number | null; delayMode: string | null }[];
  middlebox: { rules: string; routers: string[] };
  bridges: { pid: number | null }[];
  pids: number[];
}

describeIf(netnsUnavailableReason(), 'tcpls lab (built CLI)', () => {
  jest.setTimeout(30_000);
  beforeAll(() => ensureBuilt());
  afterAll(async () => {
    await stopAllServers();
    for (const p of prefixes) await tcpls(['down', '--prefix', p]);
  });

  test.each([
    ['two-hosts', ['--rate', '100mbit', '--loss', '0.1'], 2],
    ['router', ['--middlebox', 'mss=1200,strip=sack-perm,strip=timestamp,strip=wscale,strip=254', '--mtu', '1400'], 3],
    ['multipath', ['--rate', '30mbit', '--rate2', '20mbit', '--delay2', '2', '--delay-mode', 'userspace'], 5],
  ])('up %s --json describes the lab, status sees it healthy, down leaves nothing', async (topology, extra, nsCount) => {
    const prefix = newPrefix();
    const up = await tcpls(['up', topology, '--prefix', prefix, '--json', ...extra]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const s = JSON.parse(up.stdout) as StateJson;
    expect(s.topology).toBe(topology);
    expect(s.prefix).toBe(prefix);
    expect(s.complete).toBe(true);
    expect(s.namespaces).toHaveLength(nsCount);
    for (const ns of s.namespaces) {
      expect(ns.name.startsWith(`${prefix}-`)).toBe(true);
      for (const i of ns.interfaces) {
        expect(i.name.length).toBeLessThanOrEqual(15);
        expect(i.mac).toMatch(/^[0-9a-f:]{17}$/);
      }
    }
    if (topology === 'router') {
      expect(s.middlebox.rules).toBe('mss=1200,strip=sack-perm,strip=timestamp,strip=wscale,strip=254');
      expect(s.namespaces.flatMap((n) => n.interfaces).every((i) => i.mtu === 1400)).toBe(true);
      const nft = await run('ip', ['netns', 'exec', `${prefix}-router`, 'nft', 'list', 'table', 'inet', `${prefix}_mbox`]);
      expect(nft.stdout).toMatch(/maxseg size set 1200/);
      expect(nft.stdout).toMatch(/reset tcp option 254/);
    }
    if (topology === 'multipath') {
      expect(s.paths.map((p) => [p.rate, p.delay, p.delayMode])).toEqual([[30e6, null, null], [20e6, 2, 'userspace']]);
      expect(s.pids).toHaveLength(1);
    }
    // Both families reach the server (multipath: v4 over path 1, v6 over path 2).
    const srv = await startServer(`${prefix}-server`, 'tcp-server', [7101]);
    for (const host of [s.endpoints.server.v4!, s.endpoints.server.v6!]) {
      const r = await probe<{ times: number[] }>(`${prefix}-client`, 'tcp-connect', [host, 7101, 1]);
      expect(r.times).toHaveLength(1);
    }
    await srv.stop();

    const st = await tcpls(['status', '--prefix', prefix, '--json']);
    expect(st.code).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ prefix, healthy: true, exists: true });
    const text = await tcpls(['status', '--prefix', prefix]);
    expect(text.stdout).toContain(`ip netns exec ${prefix}-client`);

    const down = await tcpls(['down', '--prefix', prefix]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`lab '${prefix}' removed`));
    expect(leftovers(prefix)).toEqual([]);
    for (const pid of s.pids) expect(pidAlive(pid)).toBe(false);
    const again = await tcpls(['down', '--prefix', prefix]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to remove');
  });

  test('up without --json prints a summary with the commands to enter the namespaces; the same up again is a no-op; a different up refuses; --force replaces', async () => {
    const prefix = newPrefix();
    const up = await tcpls(['up', 'two-hosts', '--prefix', prefix, '--rate', '50mbit']);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`ip netns exec ${prefix}-client`);
    expect(up.stdout).toContain(`tcpls lab down --prefix ${prefix}`);
    const first = JSON.parse((await tcpls(['status', '--prefix', prefix, '--json'])).stdout) as { state: StateJson & { createdAt: string } };
    // Idempotent: the same command again succeeds and leaves the lab exactly as it was.
    const same = await tcpls(['up', 'two-hosts', '--prefix', prefix, '--rate', '50mbit', '--json']);
    expect(same.code).toBe(0);
    const sameState = JSON.parse(same.stdout) as StateJson & { createdAt: string };
    expect(sameState.createdAt).toBe(first.state.createdAt);
    expect(sameState.namespaces).toEqual(first.state.namespaces);
    const other = await tcpls(['up', 'two-hosts', '--prefix', prefix, '--rate', '40mbit']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/already exists and it was built with other options.*--force/);
    const again = await tcpls(['up', 'router', '--prefix', prefix]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--force/);
    const forced = await tcpls(['up', 'router', '--prefix', prefix, '--force', '--json']);
    expect(forced.code).toBe(0);
    expect((JSON.parse(forced.stdout) as StateJson).topology).toBe('router');
    expect((await tcpls(['down', '--prefix', prefix])).code).toBe(0);
    expect(leftovers(prefix)).toEqual([]);
  });

  test('middlebox subcommand replaces and clears the rules of a running lab; two-hosts has no router', async () => {
    const prefix = newPrefix();
    expect((await tcpls(['up', 'router', '--prefix', prefix])).code).toBe(0);
    try {
      const set = await tcpls(['middlebox', '--prefix', prefix, 'mss=1000,strip=sack-perm']);
      expect(set.code).toBe(0);
      let nft = await run('ip', ['netns', 'exec', `${prefix}-router`, 'nft', 'list', 'ruleset']);
      expect(nft.stdout).toMatch(/maxseg size set 1000/);
      const bad = await tcpls(['middlebox', '--prefix', prefix, 'ttl=1']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/unknown middlebox rule 'ttl=1'.*valid rules/);
      const clear = await tcpls(['middlebox', '--prefix', prefix, '--clear']);
      expect(clear.code).toBe(0);
      nft = await run('ip', ['netns', 'exec', `${prefix}-router`, 'nft', 'list', 'ruleset']);
      expect(nft.stdout).not.toContain(`${prefix}_mbox`);
    } finally {
      await tcpls(['down', '--prefix', prefix]);
    }
    expect(leftovers(prefix)).toEqual([]);
  });

  test.each([
    [['up', 'star'], /unknown topology 'star'.*two-hosts, router, multipath/],
    [['up'], /missing topology/],
    [['up', 'router', '--rate', 'fast'], /--rate 'fast' is not a rate/],
    [['up', 'router', '--rate', '0mbit'], /out of range/],
    [['up', 'router', '--loss', '120'], /--loss '120' is not a percentage/],
    [['up', 'router', '--delay', 'soon'], /--delay 'soon' is not a delay/],
    [['up', 'router', '--mtu', '100'], /--mtu 100 is out of range/],
    [['up', 'router', '--middlebox', 'mss=1200,drop=syn'], /unknown middlebox rule 'drop=syn'; valid rules: mss=N.*strip=NAME/],
    [['up', 'router', '--middlebox', 'strip=nonsense'], /unknown option 'nonsense'/],
    [['up', 'two-hosts', '--middlebox', 'mss=1200'], /needs a router/],
    [['up', 'router', '--rate2', '1mbit'], /per-path option of the multipath topology/],
    [['up', 'router', '--subnet', '192.168.1.0'], /--subnet/],
    [['up', 'router', '--prefix', 'has-dash'], /bad prefix/],
    [['up', 'router', '--bogus'], /unknown option --bogus/],
    [['frobnicate'], /unknown subcommand 'frobnicate'/],
  ])('bad input %j: exit 2 with a clear message, nothing created', async (args, message) => {
    const prefix = newPrefix();
    const r = await tcpls([...args, ...(args[0] === 'up' && !args.includes('--prefix') ? ['--prefix', prefix] : [])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(leftovers(prefix)).toEqual([]);
  });

  test('Ctrl-C while up is building rolls back: exit 1, no namespace, process or state left', async () => {
    const prefix = newPrefix();
    const child = spawn(process.execPath, [bin, 'lab', 'up', 'router', '--prefix', prefix, '--delay', '5', '--delay-mode', 'userspace'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const code = await new Promise<number | null>((res) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        // The bridge takes about a second to settle: interrupt in the middle of it.
        if (d.includes('lab: delay bridge')) setTimeout(() => child.kill('SIGINT'), 200);
      });
      child.on('exit', (c) => res(c));
    });
    expect(err).toMatch(/interrupted.*rolled back/);
    expect(code).toBe(1);
    expect(leftovers(prefix)).toEqual([]);
  });

  test('up killed outright (SIGKILL, no chance to roll back): status reports it incomplete, up refuses it, down removes all of it', async () => {
    const prefix = newPrefix();
    const child = spawn(process.execPath, [bin, 'lab', 'up', 'router', '--prefix', prefix, '--delay', '5', '--delay-mode', 'userspace'], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((res) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('lab: delay bridge')) setTimeout(() => child.kill('SIGKILL'), 200);
      });
      child.on('exit', () => res());
    });
    const st = await tcpls(['status', '--prefix', prefix]);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/INCOMPLETE/);
    expect(st.stdout).toMatch(/PROBLEMS: up did not finish/);
    const again = await tcpls(['up', 'router', '--prefix', prefix, '--delay', '5', '--delay-mode', 'userspace']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/incomplete/);
    expect((await tcpls(['down', '--prefix', prefix])).code).toBe(0);
    expect(leftovers(prefix)).toEqual([]);
  });

  test('not root: "needs root: run with sudo", exit 1, nothing created', async () => {
    if (!hasCommand('setpriv')) {
      process.stderr.write('SKIPPED non-root check: needs setpriv (util-linux)\n');
      return;
    }
    const prefix = newPrefix();
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'lab', 'up', 'two-hosts', '--prefix', prefix]);
    expect(r.stderr).toContain('needs root: run with sudo');
    expect(r.code).toBe(1);
    expect(leftovers(prefix)).toEqual([]);
  });

  test('missing tools: a clear message naming the command and its package, nothing created', async () => {
    const prefix = newPrefix();
    const r = await tcpls(['up', 'router', '--prefix', prefix], { ...process.env, PATH: '/nonexistent' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs the 'ip' command.*iproute2/);
    expect(leftovers(prefix)).toEqual([]);
    expect(existsSync(`/run/tcpls-lab/${prefix}.json`)).toBe(false);
  });

  test('--help of each subcommand explains the options with examples', async () => {
    const up = await tcpls(['up', '--help']);
    expect(up.code).toBe(0);
    for (const s of ['--rate', '--loss', '--delay', '--middlebox', '--mtu', '--rate2', '--subnet', '--force', '--json', 'Examples']) expect(up.stdout).toContain(s);
    for (const sub of ['down', 'status', 'middlebox']) {
      const h = await tcpls([sub, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`usage: tcpls lab ${sub}`));
      expect(h.stdout).toMatch(/Example/);
    }
  });
});
