/**
 * Child-process probe: tries to open a link with the options given and prints the error's name,
 * code and message (or "opened"). Used to check the errors seen without privileges.
 */
import { PcapLink, RawSocketLink } from '../../src/index.js';

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { link: 'raw' | 'pcap'; address: string; device?: string };
  try {
    const l = a.link === 'raw' ? await RawSocketLink.open({ localAddress: a.address }) : await PcapLink.open({ device: a.device!, address: a.address });
    await l.close();
    process.stdout.write(JSON.stringify({ event: 'opened' }) + '\n');
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stdout.write(JSON.stringify({ event: 'error', name: err.name, code: err.code, message: err.message }) + '\n');
  }
}

void main();
