// Runs a TypeScript file in a plain `node` child process (e.g. under `ip netns exec`), transforming
// .ts on the fly with @swc/core (as jest does) and resolving @tcpls/* to the packages' sources.
// Usage: node run-ts.cjs <file.ts> [args...]
'use strict';
const Module = require('node:module');
const path = require('node:path');
const fs = require('node:fs');
const swc = require('@swc/core');

const repoRoot = path.resolve(__dirname, '../../../..');
const origResolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  let m = /^@tcpls\/([a-z]+)$/.exec(request);
  if (m) request = path.join(repoRoot, 'packages', m[1], 'src', 'index.ts');
  m = /^@tcpls\/([a-z]+)\/([a-z-]+)$/.exec(request);
  if (m) request = path.join(repoRoot, 'packages', m[1], 'src', m[2], 'index.ts');
  const local = request.startsWith('./') || request.startsWith('../') || path.isAbsolute(request);
  if (local && request.endsWith('.js') && parent && parent.filename) {
    const ts = path.resolve(path.dirname(parent.filename), request.slice(0, -3) + '.ts');
    if (fs.existsSync(ts)) request = ts;
  }
  return origResolve.call(this, request, parent, ...rest);
};
Module._extensions['.ts'] = function (module, filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const out = swc.transformSync(src, {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(out.code, filename);
};
const file = path.resolve(process.argv[2]);
process.argv.splice(1, 2, file);
require(file);
