/**
 * Entry point of the `tcpls` command. Each subcommand lives in commands/<name>.ts and exports
 * `summary` (one line for the help) and `run(argv)` returning the exit code.
 */
import { UsageError } from './args.js';

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Subcommands in help order; each module is loaded only when used (some pull in native addons). */
const COMMANDS = ['demo', 'serve', 'get', 'lab', 'tcp', 'tls', 'sim'] as const;

async function loadCommand(name: string): Promise<Command | null> {
  if (!(COMMANDS as readonly string[]).includes(name)) return null;
  try {
    return (await import(`./commands/${name}.js`)) as Command;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`commands/${name}.js`)) return null;
    throw e;
  }
}

async function usage(): Promise<string> {
  const lines = ['usage: tcpls <command> [options]   (tcpls <command> --help for more)', '', 'commands:'];
  for (const name of COMMANDS) {
    const cmd = await loadCommand(name);
    if (cmd) lines.push(`  ${name.padEnd(8)} ${cmd.summary}`);
  }
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await usage());
    return 0;
  }
  const cmd = name === undefined ? null : await loadCommand(name);
  if (!cmd) {
    const what = name === undefined ? 'missing command' : `unknown command '${name}'`;
    process.stderr.write(`tcpls: ${what}: one of ${COMMANDS.join(', ')} (see tcpls --help)\n`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tcpls ${name}: ${e.message} (see tcpls ${name} --help)\n`);
      return 2;
    }
    // links.ts is not imported here (it loads the native addons): its errors are known by name.
    if (e instanceof Error && e.name === 'LinkSetupError') {
      process.stderr.write(`tcpls ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
