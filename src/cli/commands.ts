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
    'metrics-file': {
      type: 'string',
      value: 'PATH',
      default: 'none',
      description: "progress as a Prometheus text file (node_exporter's textfile collector), rewritten every 5 s",
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

export const USAGE: CommandSpec = {
  name: 'usage',
  summary: "a month's usage per organization (R26), from the audit log",
  description:
    "Per organization: eligibility confirmations, $match calls, persons read (reads and searches), export records and\npseudonym conversions, billable and refused, counted from the month's audit events (a calendar month in Japan\nStandard Time). --verify also recounts them from the AuditEvents as the API renders them, on the same snapshot;\nexit status 1 when anything differs. With the embedded database, stop the server first.",
  options: {
    month: { type: 'string', value: 'YYYY-MM', default: 'last month (JST)', description: 'the month (Japan Standard Time)' },
    format: { type: 'string', value: 'csv|json', default: 'csv', description: 'output format' },
    verify: { type: 'boolean', default: 'off', description: 'recount from the AuditEvents and compare (exit 1 on a difference)' },
  },
  env: [...DB_ENV, 'MEDID_BASE_URL'],
  examples: ['npx medid usage --month 2026-11', 'npx medid usage --month 2026-11 --format json --verify'],
};

export const BACKUP: CommandSpec = {
  name: 'backup',
  summary: 'copy the embedded database and its keys into a new directory, with a SHA-256 manifest',
  args: '<dir>',
  description:
    "The embedded database (MEDID_DATA_DIR/pglite) as one consistent tarball, the key directory's files\n(MEDID_KEY_DIR, else MEDID_DATA_DIR/keys; unless --without-keys), and manifest.json: each file's SHA-256,\nevery key's fingerprint (also of keys named by MEDID_*_FILE, which are never copied), and the registry's\ncounts, uniqueness and access-log checks as they stood. The server must be stopped (one process at a time\nmay open the embedded database; the command says which holds it). With PostgreSQL, use a base backup and\nWAL archiving instead: README, \"Backup and restore\".",
  options: {
    'without-keys': {
      type: 'boolean',
      default: 'off: keys included',
      description: 'leave the key files out (only their fingerprints are kept): restore then needs them put back first',
    },
  },
  env: [
    ...DB_ENV,
    'MEDID_KEY_DIR',
    'MEDID_SIGNING_KEY_FILE',
    'MEDID_SECRET_FILE',
    'MEDID_PSEUDONYM_KEY_FILE',
    'MEDID_ENVELOPE_KEY_FILE',
    'MEDID_LOG_KEY_FILE',
  ],
  examples: ['npx medid backup /backups/medid-2026-12-01', 'npx medid backup /backups/medid-2026-12-01 --without-keys'],
};

export const RESTORE: CommandSpec = {
  name: 'restore',
  summary: 'restore a `medid backup` into MEDID_DATA_DIR, after checking it',
  args: '<dir>',
  description:
    "Checks every file against the manifest's SHA-256 and the keys against its fingerprints before touching\nanything; opens the copy apart, migrates it and checks it (registry uniqueness, the access log as `medid log\nverify`, the counts recorded at backup); only then puts it in place. Refuses a data directory that holds a\ndatabase unless --force (the old one is kept aside, as pglite.before-restore-<time>), and always one a running\nserver holds. Exit status 0 when restored, 1 when a check failed (nothing changed).",
  options: {
    force: { type: 'boolean', default: 'off', description: 'replace a database (and differing key files) already in MEDID_DATA_DIR' },
  },
  env: [
    ...DB_ENV,
    'MEDID_KEY_DIR',
    'MEDID_SIGNING_KEY_FILE',
    'MEDID_SECRET_FILE',
    'MEDID_PSEUDONYM_KEY_FILE',
    'MEDID_ENVELOPE_KEY_FILE',
    'MEDID_LOG_KEY_FILE',
  ],
  examples: ['MEDID_DATA_DIR=./data npx medid restore /backups/medid-2026-12-01'],
};

export const CHECK: CommandSpec = {
  name: 'check',
  summary: "after a restore: the registry's uniqueness (medical IDs, My Numbers, insured numbers) and the access log",
  description:
    'Reads the rows with index scans off, so each uniqueness rule is checked against the data rather than the index\nthat enforces it, then checks the whole access log as `medid log verify` does. For a PostgreSQL point-in-time\nrecovery (README, "Backup and restore"); `medid restore` runs the same checks itself. Exit status 0 when all\nholds, 1 when anything fails.',
  options: { format: { type: 'string', value: 'text|json', default: 'text', description: 'output format' } },
  env: DB_ENV,
  examples: ['DATABASE_URL=postgres://medid@db.example/medid npx medid check'],
};

/** Every command, in the order `medid --help` lists them. */
const KEY_ENV = [
  'MEDID_KEY_BACKEND',
  'MEDID_KEY_DIR',
  'MEDID_PKCS11_MODULE',
  'MEDID_PKCS11_TOKEN',
  'MEDID_PKCS11_PIN_FILE',
  'MEDID_DATA_DIR',
];
const PURPOSES = 'token-signing|log-signing|my-number-mac|certificate-mac|pseudonym-master';

export const KEYS_LIST: CommandSpec = {
  name: 'keys list',
  summary: 'every key in the keyring: purpose, version, algorithm, status',
  options: {},
  env: KEY_ENV,
  examples: ['npx medid keys list'],
};

export const KEYS_GENERATE: CommandSpec = {
  name: 'keys generate',
  summary: 'make the next version of a key inside the key back end (pending)',
  args: `<${PURPOSES}>`,
  description: "The key ceremony's first step for a new deployment or a new key; `medid keys activate` puts it to use.",
  options: { alg: { type: 'string', value: 'ALG', default: 'ES256 for tokens', description: 'token-signing only: ES256 or RS256' } },
  env: KEY_ENV,
  examples: ['npx medid keys generate token-signing', 'npx medid keys generate log-signing'],
};

export const KEYS_IMPORT: CommandSpec = {
  name: 'keys import',
  summary: "move a secret file's key into the key back end as version 1 (my-number-mac, certificate-mac, pseudonym-master)",
  args: '<my-number-mac|certificate-mac|pseudonym-master>',
  description:
    'Derives from the secret file exactly the key medid used with it (so stored MACs and pseudonyms stay valid) and\nstores it non-extractable; then `medid keys activate <purpose> 1`, and keep the file offline (Shamir shares).',
  options: {
    from: { type: 'string', value: 'FILE', required: true, description: 'MEDID_SECRET_FILE (the two MACs) or MEDID_PSEUDONYM_KEY_FILE' },
  },
  env: KEY_ENV,
  examples: ['npx medid keys import my-number-mac --from /secure/registry-secret'],
};

export const KEYS_ACTIVATE: CommandSpec = {
  name: 'keys activate',
  summary: 'make a key version the one in use; a signing key it replaces stays published, verify-only, for the overlap window',
  args: '<purpose> <version>',
  maxArgs: 2,
  options: {},
  env: KEY_ENV,
  examples: ['npx medid keys activate token-signing 2'],
};

export const KEYS_RETIRE: CommandSpec = {
  name: 'keys retire',
  summary: 'stop using and publishing a key version (then it may be destroyed)',
  args: '<purpose> <version>',
  maxArgs: 2,
  options: {},
  env: KEY_ENV,
  examples: ['npx medid keys retire token-signing 1'],
};

export const KEYS_ROTATE: CommandSpec = {
  name: 'keys rotate',
  summary: 'rotate a key: signing keys in two steps (pending, then activate), the My Number MAC by chaining',
  args: `<${PURPOSES}>`,
  description:
    'token-signing, log-signing: a new pending key, published at once; restart every node, then `medid keys activate`.\nmy-number-mac: a new key K, and every stored MAC h becomes HMAC(K, h) in one transaction (no My Number needed);\nstop the nodes first (the embedded database needs it anyway) and start them after. pseudonym-master: a planned\nmigration (README), refused here.',
  options: {},
  env: [...KEY_ENV, ...DB_ENV],
  examples: ['npx medid keys rotate token-signing', 'npx medid keys rotate my-number-mac'],
};

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
  USAGE,
  LOG_VERIFY,
  BACKUP,
  RESTORE,
  CHECK,
  KEYS_LIST,
  KEYS_GENERATE,
  KEYS_IMPORT,
  KEYS_ACTIVATE,
  KEYS_RETIRE,
  KEYS_ROTATE,
];

/** Commands with sub-commands: `medid client --help` lists theirs. */
export const GROUPS: Record<string, string> = {
  client: 'client registrations (SMART Backend Services)',
  domain: 'pseudonym domains (one per utilizing database)',
  mpi: 'the $match index and weights',
  log: 'the tamper-evident access log (issue 17)',
  keys: 'the keyring: token, log, MAC and pseudonym keys in files or a PKCS#11 HSM',
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
