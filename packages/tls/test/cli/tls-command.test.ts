/**
 * `tcpls tls` (packages/cli/src/commands/tls.ts, owned with this package): the help names every
 * option, and bad arguments are usage errors (exit 2) reported before any connection is made.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../cli/src/args.js';
import { run } from '../../../cli/src/commands/tls.js';
import { identity } from '../support/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'tlshb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function helpText(): Promise<string> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    expect(await run(['connect', '--help'])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('tcpls tls', () => {
  test('--help explains every option of connect and serve', async () => {
    const help = await helpText();
    for (const opt of ['--servername', '--ca', '--insecure', '--cert', '--key', '--json', '--www', '--echo', '--host', '--alpn', '--keylog', '--provider', '--stack', '--link', '--local', '--help']) {
      // Each option starts a line of the option list (--key shares its line with --cert, --help with -h).
      expect(help).toMatch(new RegExp(`^\\s+(?:--cert F |-h, )?${opt}\\b.*\\S`, 'm'));
    }
  });

  const id = identity('ec');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello\n');
  test.each([
    [['connect'], /needs HOST PORT/],
    [['connect', '127.0.0.1', '99999'], /PORT must be 1\.\.65535/],
    [['connect', '127.0.0.1', '443', 'extra'], /extra 'extra'/],
    [['connect', '127.0.0.1', '443', '--bogus'], /unknown option --bogus/],
    [['connect', '127.0.0.1', '443', '--ca', '/nonexistent/ca.pem'], /cannot read --ca \/nonexistent\/ca\.pem: ENOENT/],
    [['connect', '127.0.0.1', '443', '--ca', id.certFile, '--insecure'], /exclude each other/],
    [['connect', '127.0.0.1', '443', '--cert', id.certFile], /--cert and --key go together/],
    [['connect', '127.0.0.1', '443', '--provider', 'openssl'], /--provider must be node or noble/],
    [['connect', '127.0.0.1', '443', '--stack', 'dpdk'], /--stack must be kernel or user/],
    [['connect', '127.0.0.1', '443', '--link', 'raw', '--stack', 'kernel'], /exclude each other/],
    [['connect', 'localhost', '443', '--stack', 'user'], /needs an IP address for HOST/],
    [['connect', '127.0.0.1', '443', '--keylog', '/nonexistent/dir/keys'], /cannot write --keylog/],
    [['connect', '127.0.0.1', '443', '--servername', '10.0.0.1'], /--servername must be a DNS name/],
    [['connect', '127.0.0.1', '443', '--alpn', 'h2,'], /--alpn protocol names must be 1\.\.255 bytes/],
    [['serve'], /needs PORT/],
    [['serve', '4433'], /needs --cert F --key F/],
    [['serve', '4433', '--cert', notPem, '--key', id.keyFile], /--cert .*no certificate/i],
    [['serve', '4433', '--cert', id.certFile, '--key', notPem], /--key /],
    [['serve', '4433', '--cert', id.certFile, '--key', id.keyFile, '--www', '--echo'], /exclude each other/],
    [['serve', '4433', '--cert', id.certFile, '--key', id.keyFile, '--host', 'example.com'], /--host must be an IP address/],
    [['frobnicate'], /unknown subcommand/],
  ] as [string[], RegExp][])('%j is a usage error', async (argv, message) => {
    await expect(run(argv)).rejects.toThrow(UsageError);
    await expect(run(argv)).rejects.toThrow(message);
  });
});
