// Runs a TypeScript entry file in a plain `node` process (e.g. under `ip netns exec`): .ts files are
// compiled on load with @swc/core, the way jest does, and @tcpls/* resolve to the packages' src.
// Usage: node run-ts.cjs <entry.ts> [args...]
'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..', '..', '..');
const resolve0 = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...more) {
  const pkg = /^@tcpls\/([a-z]+)(?:\/([a-z-]+))?$/.exec(request);
  if (pkg) request = path.join(root, 'packages', pkg[1], 'src', ...(pkg[2] ? [pkg[2]] : []), 'index.ts');
  else if (request.endsWith('.js') && /^\.\.?\//.test(request) && parent && parent.filename) {
    const ts = path.join(path.dirname(parent.filename), request.replace(/\.js$/, '.ts'));
    if (fs.existsSync(ts)) request = ts;
  }
  return resolve0.call(this, request, parent, ...more);
};
Module._extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const entry = path.resolve(process.argv[2]);
process.argv.splice(1, 2, entry);
require(entry);
