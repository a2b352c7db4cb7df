/** Runs the `tcpls` CLI in-process with stdout and stderr captured (for usage and error tests). */
import { main } from '../../packages/cli/src/main.js';

export async function runCli(args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    return { code: await main(args), err, out };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}
