/**
 * `tcpls tcp` argument handling: bad input is refused with exit code 2 and a message naming the
 * problem, before any link is opened (so these run without root).
 */
import { runCli } from '../support/cli.js';

describe('tcpls tcp: usage errors', () => {
  test.each([
    [['tcp', 'connect', 'example.org', '80'], /HOST must be an IPv4 or IPv6 address/],
    [['tcp', 'connect', '10.0.0.1'], /needs PORT/],
    [['tcp', 'connect', '10.0.0.1', '0'], /bad port '0'/],
    [['tcp', 'connect', '10.0.0.1', '70000'], /bad port '70000'/],
    [['tcp', 'connect', '10.0.0.1', '80', '--link', 'tap'], /--link must be raw or pcap/],
    [['tcp', 'connect', '10.0.0.1', '80', '--cc', 'bbr'], /--cc must be newreno or cubic/],
    [['tcp', 'connect', '10.0.0.1', '80', '--local', 'me'], /--local must be an IPv4 or IPv6 address/],
    [['tcp', 'connect', '10.0.0.1', '80', '--file', 'x'], /--file, --echo and --once are for listen/],
    [['tcp', 'connect', '10.0.0.1', '80', 'extra'], /unexpected argument 'extra'/],
    [['tcp', 'connect', '10.0.0.1', '80', '--bogus'], /unknown option --bogus/],
    [['tcp', 'listen'], /listen needs PORT/],
    [['tcp', 'listen', '80', '--file', '/nonexistent/file'], /no such regular file/],
    [['tcp', 'listen', '80', '--file', '/etc/hostname', '--echo'], /exclude each other/],
    [['tcp', 'nothing'], /unknown subcommand 'nothing'/],
  ])('%j is refused with exit 2: %p', async (args, msg) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });

  test('--help describes both subcommands, the link choice and the root requirement', async () => {
    const r = await runCli(['tcp', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['tcpls tcp connect HOST PORT', 'tcpls tcp listen PORT', '--link pcap', 'does NOT own', 'need root']) expect(r.out).toContain(s);
  });

  test('--link pcap without --local is refused with a message saying why (exit 1)', async () => {
    const r = await runCli(['tcp', 'connect', '10.0.0.1', '80', '--link', 'pcap']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--link pcap needs --local ADDR: an unused address .* the kernel does not own/);
  });

  test('--local of the other family is refused (exit 1)', async () => {
    const r = await runCli(['tcp', 'connect', '10.0.0.1', '80', '--local', 'fd00::1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/different IP families/);
  });
});
