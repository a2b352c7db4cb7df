/**
 * `tcpls` without a command, with an unknown one, or a command without its subcommand: one line on
 * stderr naming what is missing and where help is, nothing on stdout, exit 2 (a usage error).
 */
import { runCli } from '../support/cli.js';

describe('tcpls: missing or unknown (sub)commands are one-line usage errors', () => {
  test.each([
    [[], /^tcpls: missing command: one of demo, serve, get, lab, tcp, tls, sim \(see tcpls --help\)\n$/],
    [['frobnicate'], /^tcpls: unknown command 'frobnicate': one of demo, .* \(see tcpls --help\)\n$/],
    [['tcp'], /^tcpls tcp: missing subcommand: connect or listen \(see tcpls tcp --help\)\n$/],
    [['tls'], /^tcpls tls: missing subcommand: connect or serve \(see tcpls tls --help\)\n$/],
    [['lab'], /^tcpls lab: missing subcommand: up, down, status or middlebox \(see tcpls lab --help\)\n$/],
    [['get'], /^tcpls get: needs exactly one tcpls:\/\/HOST:PORT\/PATH \(see tcpls get --help\)\n$/],
  ] as [string[], RegExp][])('%j → exit 2 and %p', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });

  test('help, --help and -h list every command on stdout with exit 0', async () => {
    for (const h of ['help', '--help', '-h']) {
      const r = await runCli([h]);
      expect(r.code).toBe(0);
      for (const c of ['demo', 'serve', 'get', 'lab', 'tcp', 'tls', 'sim']) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    }
  });
});

describe('tcpls get -o FILE: nothing half-written', () => {
  const { mkdtempSync, existsSync, writeFileSync, readFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');

  test('a download that fails (connection refused) creates no file and leaves an existing one untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpls-get-'));
    try {
      const fresh = join(dir, 'fresh.bin');
      const r1 = await runCli(['get', 'tcpls://127.0.0.1:1/x', '-o', fresh, '--insecure', '--timeout', '5']);
      expect(r1.code).toBe(1);
      expect(r1.err).toMatch(/cannot connect/);
      expect(existsSync(fresh)).toBe(false);
      expect(existsSync(`${fresh}.part`)).toBe(false);
      const old = join(dir, 'old.bin');
      writeFileSync(old, 'previous contents');
      const r2 = await runCli(['get', 'tcpls://127.0.0.1:1/x', '-o', old, '--insecure', '--timeout', '5']);
      expect(r2.code).toBe(1);
      expect(readFileSync(old, 'utf8')).toBe('previous contents');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
