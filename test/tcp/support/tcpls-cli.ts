/** The `tcpls` command from source (for child processes in namespace tests): run-ts.cjs tcpls-cli.ts ARGS. */
import { main } from '../../../packages/cli/src/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tcpls: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
