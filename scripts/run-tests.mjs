#!/usr/bin/env node
// Runs the whole test suite (jest) and prints one closing line "N passed, N failed, N skipped".
// Extra arguments go to jest (e.g. a path pattern).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = join(mkdtempSync(join(tmpdir(), 'tcpls-jest-')), 'results.json');
const r = spawnSync('npx', ['jest', '--json', `--outputFile=${out}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let summary = null;
try { summary = JSON.parse(readFileSync(out, 'utf8')); } catch { /* jest died before writing */ }
if (summary) {
  const skipped = summary.numPendingTests + summary.numTodoTests;
  console.log(`tests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
}
process.exit(r.status ?? 1);
