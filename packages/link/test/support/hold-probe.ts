/**
 * Child-process probe: opens a RawSocketLink and then either waits to be signalled ("wait") or
 * calls process.exit() without closing ("exit"), or crashes with an uncaught exception a second
 * later ("throw"), to check the clean-up that runs on the way out.
 */
import { RawSocketLink } from '../../src/index.js';

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { address: string; port: number; mode: 'wait' | 'exit' | 'throw' };
  const link = await RawSocketLink.open({ localAddress: a.address, ports: [a.port] });
  process.stdout.write(JSON.stringify({ event: 'opened', table: link.rstTable, reserved: link.reservedPorts }) + '\n');
  if (a.mode === 'exit') process.exit(0);
  // A crash: an exception nobody catches ends the process with code 1 (after the 'exit' event).
  if (a.mode === 'throw') setTimeout(() => { throw new Error('hold-probe: deliberate crash'); }, 1000);
  setInterval(() => {}, 1000); // keep running until signalled
}

void main();
