#!/usr/bin/env node
// Runs the whole test suite (jest) and prints one closing line "N passed, N failed, N skipped".
// Extra arguments go to jest (e.g. a path pattern).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = join(mkdtempSync(join(tmpdir(), 'tcpls-jest-')), 'results.json');
// --forceExit: a native addon handle (a pcap capture) left open by a failing test must not keep
// CI waiting; the hard timeout below is a second guard so a hung run ends with a clear message.
const LIMIT_MS = 40 * 60 * 1000;
const r = spawnSync('npx', ['jest', '--forceExit', '--json', `--outputFile=${out}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  timeout: LIMIT_MS,
  killSignal: 'SIGKILL',
});
if (r.error && r.error.code === 'ETIMEDOUT') console.error(`the test run was stopped after ${LIMIT_MS / 60000} minutes`);
let summary = null;
try { summary = JSON.parse(readFileSync(out, 'utf8')); } catch { /* jest died before writing */ }
if (summary) {
  const skipped = summary.numPendingTests + summary.numTodoTests;
  console.log(`tests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
}
process.exit(r.status ?? 1);
