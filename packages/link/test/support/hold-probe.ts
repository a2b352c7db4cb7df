/**
 * Child-process probe: opens a RawSocketLink and then either waits to be signalled ("wait") or
 * calls process.exit() without closing ("exit"), to check the clean-up that runs on the way out.
 */
import { RawSocketLink } from '../../src/index.js';

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { address: string; port: number; mode: 'wait' | 'exit' };
  const link = await RawSocketLink.open({ localAddress: a.address, ports: [a.port] });
  process.stdout.write(JSON.stringify({ event: 'opened', table: link.rstTable, reserved: link.reservedPorts }) + '\n');
  if (a.mode === 'exit') process.exit(0);
  setInterval(() => {}, 1000); // keep running until signalled
}

void main();
