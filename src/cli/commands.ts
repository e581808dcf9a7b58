/**
 * Every `medid` command, its options (with defaults), environment and examples: the one
 * declaration `--help` prints and the parser enforces. Data only, so `medid --help` and
 * `medid <command> --help` answer without loading the server's code.
 */
import type { CommandSpec } from './args.ts';

const DB_ENV = ['DATABASE_URL', 'MEDID_DATA_DIR'];
const ORG_KINDS = 'medical-institution|insurer|database|regional-network|authority';

export const MIGRATE: CommandSpec = {
  name: 'migrate',
  summary: 'apply the database migrations (DATABASE_URL, or the embedded database)',
  description:
    'Runs the numbered migrations of src/store/migrations/ not yet applied, under an advisory lock (several nodes may\nrun it at once). The server does the same at start-up.',
  options: {},
  env: DB_ENV,
  examples: ['npx medid migrate', 'DATABASE_URL=postgres://user:pass@db.example:5432/medid npx medid migrate'],
};

export const CLIENT_ADD: CommandSpec = {
  name: 'client add',
  summary: 'register or update a client (SMART Backend Services)',
  description:
    'Upserts a client registration: its organization, the scopes it may be granted, its public keys (a JWKS URL or\nfile) and the purposes of use it may ask for. With the embedded database, stop the server first (or use\nMEDID_CLIENTS_FILE).',
  options: {
    id: { type: 'string', value: 'ID', required: true, description: 'client_id, the iss/sub of its assertions' },
    name: { type: 'string', value: 'NAME', required: true, description: 'human-readable name' },
    scope: { type: 'string', value: 'SCOPES', required: true, description: 'scopes it may be granted, e.g. "system/Patient.rs"' },
    'org-kind': { type: 'string', value: 'KIND', required: true, description: ORG_KINDS },
    'org-code': { type: 'string', value: 'CODE', required: true, description: '医療機関コード, 保険者番号, database or network code' },
    'jwks-uri': { type: 'string', value: 'URL', description: 'where its public keys are published (or --jwks-file)' },
    'jwks-file': {
      type: 'string',
      value: 'FILE',
      description: 'a JWKS file with its public keys (or --jwks-uri); a database adds its "use": "enc" key for $pseudonymize',
    },
    purposes: {
      type: 'string',
      value: 'P,P',
      default: "all of its kind's but BTG",
      description: 'purposes of use it may ask for, first = default',
    },
  },
  env: DB_ENV,
  examples: [
    'npx medid client add --id hospital-a-ehr --name "Hospital A EHR" --scope "system/Patient.rs" \\\n    --org-kind medical-institution --org-code 1312345678 --jwks-uri https://ehr.hospital-a.example/jwks.json',
  ],
};

export const DOMAIN_ADD: CommandSpec = {
  name: 'domain add',
  args: '<code> <name>',
  maxArgs: 2,
  summary: 'add a pseudonym domain (one per utilizing database), or rename one',
  description:
    'The closed list of pseudonym domains: each research database gets its own pseudonyms, under a key derived for\nits domain, and a database client must name its domain as its organization code. Codes: 2–64 of a-z 0-9 -,\nstarting with a letter. A domain is never removed: its pseudonyms would be given again to another. Also\nMEDID_DOMAINS_FILE (a JSON array of { "code", "name", "birthDate"? }, upserted at start-up).',
  options: {
    'birth-date': {
      type: 'string',
      value: 'PRECISION',
      default: 'year-month',
      description: 'how much of a birth date the database sees: year-month or year',
    },
  },
  env: DB_ENV,
  examples: ['npx medid domain add rare-disease-registry "難病データベース（研究班）"'],
};

export const DOMAIN_LIST: CommandSpec = {
  name: 'domain list',
  summary: 'list the pseudonym domains (code, name)',
  options: {},
  env: DB_ENV,
  examples: ['npx medid domain list'],
};

export const CLIENT_LIST: CommandSpec = {
  name: 'client list',
  summary: 'list registered clients (id, state, organization, name, scopes)',
  options: {},
  env: DB_ENV,
  examples: ['npx medid client list'],
};

export const CLIENT_DISABLE: CommandSpec = {
  name: 'client disable',
  summary: 'refuse a client new tokens (its existing ones stop within seconds)',
  args: '<client-id>',
  options: {},
  env: DB_ENV,
  examples: ['npx medid client disable hospital-a-ehr'],
};

export const CLIENT_ENABLE: CommandSpec = {
  name: 'client enable',
  summary: 'let a disabled client obtain tokens again',
  args: '<client-id>',
  options: {},
  env: DB_ENV,
  examples: ['npx medid client enable hospital-a-ehr'],
};

export const TOKEN: CommandSpec = {
  name: 'token',
  summary: "print an access token signed with the server's key, for trying the API with curl",
  description: 'Reads the same environment as the server: give it the same values, or the server will not accept the token.',
  options: {
    scope: { type: 'string', value: 'SCOPES', required: true, description: 'SMART scopes, e.g. "system/*.rs"' },
    'client-id': { type: 'string', value: 'ID', default: 'medid-operator', description: 'the client the token is issued to' },
    ttl: { type: 'string', value: 'SECONDS', default: '300', description: 'lifetime, at most 3600' },
    'org-kind': { type: 'string', value: 'KIND', default: 'authority', description: `acting for: ${ORG_KINDS}` },
    'org-code': { type: 'string', value: 'CODE', default: 'operator', description: "the organization's code" },
    purpose: { type: 'string', value: 'P', default: "the kind's first purpose", description: 'purpose of use (TREAT, HPAYMT, BTG…)' },
  },
  env: ['PORT', 'MEDID_BASE_URL', 'MEDID_DATA_DIR', 'MEDID_SIGNING_KEY_FILE'],
  examples: [
    'TOKEN=$(npx medid token --scope "system/*.cruds")',
    'npx medid token --scope "system/Patient.rs" --org-kind medical-institution --org-code 1312345678 --purpose ETREAT',
  ],
};

export const IMPORT: CommandSpec = {
  name: 'import',
  summary: "register an insurer's file of persons (NDJSON or CSV)",
  args: '<file>',
  description:
    'Over the API of a running server (--server, --token), else straight into the database (the embedded one with\nthe server stopped). Bad records and held reviews go to <file>.errors.ndjson; re-running a file changes nothing.\nExit status 1 when a record failed.',
  options: {
    server: {
      type: 'string',
      value: 'URL',
      default: '$MEDID_SERVER, else the database',
      description: "a running server's FHIR base",
    },
    token: { type: 'string', value: 'TOKEN', default: '$MEDID_TOKEN', description: 'access token with system/Patient.cu (with --server)' },
    format: { type: 'string', value: 'csv|ndjson', default: "from the file's extension", description: 'the file format' },
    batch: { type: 'string', value: 'N', default: '500', description: 'records per $register batch, 1–1000' },
    concurrency: { type: 'string', value: 'N', default: '4', description: 'batches in flight, 1–64 (over HTTP or PostgreSQL)' },
    quiet: { type: 'boolean', default: 'off', description: 'no progress line' },
    progress: {
      type: 'string',
      value: 'SECONDS',
      default: '5 off a terminal',
      description: 'progress line interval (0: every batch)',
    },
  },
  env: [...DB_ENV, 'MEDID_SERVER', 'MEDID_TOKEN'],
  examples: [
    'npx medid import members-06138093.ndjson',
    'npx medid import members.csv --server http://localhost:8080/fhir --token "$TOKEN" --batch 1000',
  ],
};

export const EXPORT: CommandSpec = {
  name: 'export',
  summary: "an insurer's persons with their medical IDs, as NDJSON (audited per person)",
  options: {
    insurer: { type: 'string', value: 'N', required: true, description: '6- or 8-digit insurer or public payer number' },
    out: { type: 'string', value: 'FILE', default: 'stdout', description: 'where to write the NDJSON' },
    since: { type: 'string', value: 'DATE', default: 'everything', description: 'only persons changed since this date or instant' },
  },
  env: DB_ENV,
  examples: ['npx medid export --insurer 06138093 --out 06138093.ndjson --since 2026-04-01'],
};

export const MPI_REINDEX: CommandSpec = {
  name: 'mpi reindex',
  summary: 'rebuild the $match index of every Patient',
  options: { quiet: { type: 'boolean', default: 'off', description: 'no progress on stderr' } },
  env: DB_ENV,
  examples: ['npx medid mpi reindex'],
};

export const MPI_ESTIMATE: CommandSpec = {
  name: 'mpi estimate',
  summary: 're-estimate the $match weights from the registry (servers pick them up within a minute)',
  options: { sample: { type: 'string', value: 'N', default: '20000', description: 'pairs sampled of each kind, ≥ 100' } },
  env: DB_ENV,
  examples: ['npx medid mpi estimate --sample 50000'],
};

export const BTG_REPORT: CommandSpec = {
  name: 'btg-report',
  summary: "the day's break-the-glass grants, for the authority's daily review",
  options: {
    date: { type: 'string', value: 'YYYY-MM-DD', default: 'today (JST)', description: 'the day (Japan Standard Time)' },
    format: { type: 'string', value: 'tsv|json', default: 'tsv', description: 'output format' },
  },
  env: DB_ENV,
  examples: ['npx medid btg-report --date 2026-04-10 --format json'],
};

export const LOG_VERIFY: CommandSpec = {
  name: 'log verify',
  summary: "check the whole access log from the database: leaves, tree, heads, events, persons' chains",
  description:
    "Trusts nothing medid computed: recomputes every leaf hash from its entry and the tree from the leaves, checks\nevery stored subtree and head, rebuilds every entry from its audit event (a rewritten or deleted event is named\nby its id), finds events with no leaf, and checks each person's chain (no gap in seq, each prev the leaf hash\nbefore it). Exit status 0 when all holds, 1 when anything fails. Reads one snapshot; with the embedded\ndatabase, stop the server first.",
  options: {
    key: {
      type: 'string',
      value: 'KEY|FILE',
      default: 'signatures not checked',
      description: "the log's public key: a verifier key (name+id+key), or a file with one, GET /_log/key's answer, a PEM or a JWK",
    },
    checkpoint: { type: 'string', value: 'FILE', description: "a checkpoint kept outside (a witness's): the log must extend it" },
    persons: {
      type: 'boolean',
      default: 'off',
      description: "also check each entry's person against its event's Patient id (needs the pseudonym key)",
    },
    format: { type: 'string', value: 'text|json', default: 'text', description: 'output format' },
  },
  env: [...DB_ENV, 'MEDID_PSEUDONYM_KEY_FILE'],
  examples: [
    'npx medid log verify',
    'curl -s https://medid.example/fhir/_log/key > log-key.json && npx medid log verify --key log-key.json --format json',
  ],
};

/** Every command, in the order `medid --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  MIGRATE,
  CLIENT_ADD,
  CLIENT_LIST,
  DOMAIN_ADD,
  DOMAIN_LIST,
  CLIENT_DISABLE,
  CLIENT_ENABLE,
  TOKEN,
  IMPORT,
  EXPORT,
  MPI_REINDEX,
  MPI_ESTIMATE,
  BTG_REPORT,
  LOG_VERIFY,
];

/** Commands with sub-commands: `medid client --help` lists theirs. */
export const GROUPS: Record<string, string> = {
  client: 'client registrations (SMART Backend Services)',
  domain: 'pseudonym domains (one per utilizing database)',
  mpi: 'the $match index and weights',
  log: 'the tamper-evident access log (issue 17)',
};

export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function list(specs: readonly CommandSpec[]): string {
  const names = specs.map((c) => `${c.name}${c.args ? ` ${c.args}` : ''}`);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return specs.map((c, i) => `  ${(names[i] ?? '').padEnd(width)}${c.summary}`).join('\n');
}

/** `medid --help`. */
export function mainHelp(version: string): string {
  return `medid ${version}: the command line of the medical-ID authority's FHIR server

usage: medid <command> [options]

commands:
${list(COMMANDS)}

Run \`medid <command> --help\` for a command's options, defaults and an example.
Commands read the server's environment (DATABASE_URL, MEDID_DATA_DIR, …; see README.md).
The embedded database can be opened by one process at a time: stop the server before
commands that open it, or use DATABASE_URL.
`;
}

/** `medid client --help`, `medid mpi --help`. */
export function groupHelp(group: string): string {
  const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `medid ${group}: ${GROUPS[group] ?? ''}

usage: medid ${group} <command> [options]

commands:
${list(subs)}

Run \`medid ${group} <command> --help\` for its options.
`;
}
