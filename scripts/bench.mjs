#!/usr/bin/env node
// `npm run bench`: runs every scripts/bench/*.mjs in name order, each in its own node process, and
// exits non-zero when one fails. Arguments after `--` go to every script (e.g. -- --quick).
//   npm run bench                 all benchmarks
//   npm run bench -- --quick      all, in their short form
//   node scripts/bench.mjs tcp    only scripts/bench/tcp.mjs (names without .mjs; several allowed)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'bench');
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
const pass = args.filter((a) => a.startsWith('-'));
const all = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
const chosen = names.length ? names.map((n) => `${n.replace(/\.mjs$/, '')}.mjs`) : all;
let failed = 0;
for (const f of chosen) {
  if (!all.includes(f)) {
    process.stderr.write(`bench: no scripts/bench/${f}\n`);
    failed++;
    continue;
  }
  process.stdout.write(`\n== ${f} ==\n`);
  const r = spawnSync(process.execPath, [join(dir, f), ...pass], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${f} exited ${r.status ?? r.signal}\n`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
