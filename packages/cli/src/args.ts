/**
 * A small argument parser shared by the subcommands: `--flag`, `--key value`, `--key=value`,
 * repeated keys collected in order, positionals kept in order. Unknown flags are an error, so a typo
 * never silently changes behaviour.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Options that take a value. */
  values?: readonly string[];
  /** Options that are booleans. */
  flags?: readonly string[];
  /** Short aliases, e.g. { o: 'output' }. */
  aliases?: Readonly<Record<string, string>>;
}

export interface ParsedArgs {
  positionals: string[];
  /** Last value of each value option. */
  values: Map<string, string>;
  /** Every value of each value option, in order (for repeatable options). */
  all: Map<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const flags = new Set([...(spec.flags ?? []), 'help']);
  const out: ParsedArgs = { positionals: [], values: new Map(), all: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | null = null;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else if (a.length > 1 && a.startsWith('-') && !/^-\d/.test(a)) {
      const short = a.slice(1);
      name = spec.aliases?.[short] ?? (short === 'h' ? 'help' : null);
      if (name === null) throw new UsageError(`unknown option -${short}`);
    }
    if (name === null) {
      out.positionals.push(a);
      continue;
    }
    if (flags.has(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      out.flags.add(name);
    } else if (values.has(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out.values.set(name, v);
      out.all.set(name, [...(out.all.get(name) ?? []), v]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return out;
}

/** Parses an integer option within bounds, with a clear message. */
export function intOption(args: ParsedArgs, name: string, def: number, min: number, max: number): number {
  const v = args.values.get(name);
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}
