/**
 * `medid <command>`: thin wrappers over the same services the server uses. Every command
 * answers `--help` (commands.ts declares its options once); a command's code is loaded only
 * when it runs, so help answers at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpOf, UsageError, wantsHelp } from './args.ts';
import { commandNamed, COMMANDS, GROUPS, groupHelp, mainHelp } from './commands.ts';

function version(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

type Run = (args: string[]) => Promise<number>;

/** Each command's code, loaded on use. */
const RUN: Record<string, () => Promise<Run>> = {
  migrate: async () => (await import('./migrate.ts')).migrateCommand,
  'client add': async () => (await import('./client.ts')).clientAddCommand,
  'client list': async () => (await import('./client.ts')).clientListCommand,
  'domain add': async () => (await import('./domain.ts')).domainAddCommand,
  'domain list': async () => (await import('./domain.ts')).domainListCommand,
  'client disable': async () => {
    const { clientSetActiveCommand } = await import('./client.ts');
    return (args) => clientSetActiveCommand(args, false);
  },
  'client enable': async () => {
    const { clientSetActiveCommand } = await import('./client.ts');
    return (args) => clientSetActiveCommand(args, true);
  },
  token: async () => (await import('./token.ts')).tokenCommand,
  import: async () => (await import('./import.ts')).importCommand,
  export: async () => (await import('./export.ts')).exportCommand,
  'mpi reindex': async () => (await import('./mpi.ts')).mpiReindexCommand,
  'mpi estimate': async () => (await import('./mpi.ts')).mpiEstimateCommand,
  'btg-report': async () => (await import('./btg-report.ts')).btgReportCommand,
  usage: async () => (await import('./usage.ts')).usageCommand,
  'log verify': async () => (await import('./log-verify.ts')).logVerifyCommand,
  backup: async () => (await import('./backup.ts')).backupCommand,
  restore: async () => (await import('./restore.ts')).restoreCommand,
  check: async () => (await import('./integrity.ts')).checkCommand,
  'keys list': async () => (await import('./keys.ts')).keysCommand('list'),
  'keys generate': async () => (await import('./keys.ts')).keysCommand('generate'),
  'keys import': async () => (await import('./keys.ts')).keysCommand('import'),
  'keys activate': async () => (await import('./keys.ts')).keysCommand('activate'),
  'keys retire': async () => (await import('./keys.ts')).keysCommand('retire'),
  'keys rotate': async () => (await import('./keys.ts')).keysCommand('rotate'),
};

async function main(argv: string[]): Promise<number> {
  const [first, second, ...more] = argv;
  if (first === undefined) {
    process.stderr.write(mainHelp(version()));
    return 2;
  }
  if (first === '--help' || first === '-h') {
    process.stdout.write(mainHelp(version()));
    return 0;
  }
  if (first === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    // `medid help`, `medid help import`, `medid help client add`
    const topic = [second, ...more].filter(Boolean).join(' ');
    const spec = commandNamed(topic);
    if (spec) process.stdout.write(helpOf(spec));
    else if (GROUPS[topic]) process.stdout.write(groupHelp(topic));
    else if (topic) throw new UsageError(`unknown command "${topic}"`);
    else process.stdout.write(mainHelp(version()));
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first}`);
  if (GROUPS[first]) {
    const spec = second === undefined || second.startsWith('-') ? undefined : commandNamed(`${first} ${second}`);
    if (!spec) {
      if (wantsHelp(argv.slice(1))) {
        process.stdout.write(groupHelp(first));
        return 0;
      }
      const subs = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.slice(first.length + 1));
      const what = second === undefined || second.startsWith('-') ? 'needs a command' : `has no command "${second}"`;
      throw new UsageError(`${what}: ${subs.join(', ')}`, first);
    }
    return runCommand(spec.name, more);
  }
  if (!commandNamed(first)) throw new UsageError(`unknown command "${first}"`);
  return runCommand(first, argv.slice(1));
}

async function runCommand(name: string, args: string[]): Promise<number> {
  const spec = commandNamed(name);
  const load = RUN[name];
  if (!spec || !load) throw new Error(`medid: command ${name} has no implementation`);
  if (wantsHelp(args)) {
    process.stdout.write(helpOf(spec));
    return 0;
  }
  return (await load())(args);
}

/** Errors the operator can act on: their message, no stack, exit status 2. */
async function isKnown(e: unknown): Promise<boolean> {
  if (!(e instanceof Error)) return false;
  const [{ ConfigError }, { RegistrationError }, { KeyError }, { DatabaseInUseError }, { DomainError }, { BackupError }] =
    await Promise.all([
      import('../config.ts'),
      import('../auth/clients.ts'),
      import('../auth/keys.ts'),
      import('../store/pglite.ts'),
      import('../pseudonym/domains.ts'),
      import('./backup-manifest.ts'),
    ]);
  return (
    e instanceof ConfigError ||
    e instanceof RegistrationError ||
    e instanceof KeyError ||
    e instanceof DatabaseInUseError ||
    e instanceof DomainError ||
    e instanceof BackupError
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (e: unknown) => {
    if (e instanceof UsageError) {
      const where = e.command ? `medid ${e.command}` : 'medid';
      process.stderr.write(`${where}: ${e.message}\nRun \`${where} --help\` for usage.\n`);
      process.exit(2);
    }
    const known = await isKnown(e);
    process.stderr.write(`medid: ${known ? '' : 'error: '}${(e as Error).message}\n`);
    process.exit(known ? 2 : 1);
  },
);
