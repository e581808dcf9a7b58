/**
 * Options of the `medid` commands: each command declares them once (`CommandSpec`, in
 * commands.ts); the same declaration drives `util.parseArgs` (strict: an unknown option is a
 * usage error naming it) and the `--help` text (options, defaults, environment, examples).
 */
import { parseArgs } from 'node:util';

/** A mistake in how a command was called: exit status 2, with a pointer to its --help. */
export class UsageError extends Error {
  /** The command it concerns ('import', 'client add'), for the pointer to its help. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in help, e.g. FILE, N, URL (string options). */
  value?: string;
  /** The default as help shows it; the command applies it. */
  default?: string;
  required?: boolean;
  description: string;
}

export interface CommandSpec {
  /** As typed after `medid`: 'import', 'client add', 'mpi reindex'. */
  name: string;
  /** One line, for `medid --help`. */
  summary: string;
  /** Positional arguments in the usage line, e.g. '<file>'; none when absent. */
  args?: string;
  /** How many positional arguments it takes at most (default: 1 when `args`, else 0). */
  maxArgs?: number;
  description?: string;
  options: Record<string, OptionSpec>;
  /** Environment variables the command reads. */
  env?: string[];
  examples: string[];
}

/** What a command was given, read by name (a name its spec lacks is a programming error). */
export interface ParsedArgs {
  string(name: string): string | undefined;
  flag(name: string): boolean;
  positionals: string[];
}

/** True when the arguments ask for help (`--help`/`-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

const PARSE_ERRORS: Record<string, (m: string) => string> = {
  ERR_PARSE_ARGS_UNKNOWN_OPTION: (m) => `unknown option ${/'([^']+)'/.exec(m)?.[1] ?? m}`,
  ERR_PARSE_ARGS_INVALID_OPTION_VALUE: (m) => m.replace(/^Option '([^']+)'/, 'option $1').replace(/\.$/, ''),
  ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: (m) => `unexpected argument "${/'([^']+)'/.exec(m)?.[1] ?? m}"`,
};

export function parseCommand(spec: CommandSpec, args: string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [name, { type: o.type }]),
  );
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: spec.args !== undefined, strict: true });
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    const explain = PARSE_ERRORS[code];
    if (explain) throw new UsageError(explain((e as Error).message), spec.name);
    throw e;
  }
  const max = spec.maxArgs ?? (spec.args === undefined ? 0 : 1);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max] ?? ''}"`, spec.name);
  const known = (name: string, type: OptionSpec['type']): void => {
    if (spec.options[name]?.type !== type) throw new Error(`medid ${spec.name}: no ${type} option --${name} in its spec`);
  };
  return {
    string(name) {
      known(name, 'string');
      return parsed.values[name] as string | undefined;
    },
    flag(name) {
      known(name, 'boolean');
      return parsed.values[name] === true;
    },
    positionals: parsed.positionals,
  };
}

const pad = (s: string, n: number): string => (s.length >= n ? `${s}  ` : s.padEnd(n));

/** The --help text of one command. */
export function helpOf(spec: CommandSpec): string {
  const opts = Object.entries(spec.options);
  const required = opts.filter(([, o]) => o.required).map(([n, o]) => `--${n}${o.value ? ` ${o.value}` : ''}`);
  const usage = ['medid', spec.name, ...required, spec.args ?? '', opts.some(([, o]) => !o.required) ? '[options]' : ''].filter(Boolean);
  const lines = [`medid ${spec.name}: ${spec.summary}`, '', `usage: ${usage.join(' ')}`];
  if (spec.description) lines.push('', spec.description.trim());
  lines.push('', 'options:');
  for (const [name, o] of opts) {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const notes = [o.required ? 'required' : '', o.default !== undefined ? `default: ${o.default}` : ''].filter(Boolean).join('; ');
    lines.push(`  ${pad(flag, 26)}${o.description}${notes ? ` (${notes})` : ''}`);
  }
  lines.push(`  ${pad('-h, --help', 26)}show this help`);
  if (spec.env?.length) lines.push('', `environment: ${spec.env.join(', ')}`);
  lines.push('', spec.examples.length > 1 ? 'examples:' : 'example:', ...spec.examples.map((x) => `  ${x}`), '');
  return lines.join('\n');
}
