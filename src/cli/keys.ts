/**
 * `medid keys list | generate | import | activate | retire | rotate`: the key ceremony's commands
 * over the configured key store (core/keys: files, or a PKCS#11 HSM). Each change is written to
 * the keyring and its ceremony log (keyring.ts); nodes read the keyring when they start, so
 * every step that changes what nodes use is followed by a restart of every node.
 */
import crypto from 'node:crypto';
import { MAX_ACCESS_TOKEN_LIFETIME_S, ACCESS_TOKEN_SKEW_S } from '../auth/access-token.ts';
import { openKeyStore } from '../core/keys/key-config.ts';
import { activeKey, isKeyPurpose, KEY_PURPOSES, KeyStoreError } from '../core/keys/key-store.ts';
import type { KeyAlgorithm, KeyPurpose, KeyStore } from '../core/keys/key-store.ts';
import { loadConfig } from '../config.ts';
import { readSecretFile, SecretFileError } from '../core/secret-file.ts';
import { rotateMyNumberMacs, storedMacVersion } from '../privacy/my-number/rotation.ts';
import { pseudonymPrk } from '../pseudonym/prf-keys.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import type { CommandSpec } from './args.ts';
import { KEYS_ACTIVATE, KEYS_GENERATE, KEYS_IMPORT, KEYS_LIST, KEYS_RETIRE, KEYS_ROTATE } from './commands.ts';

type Verb = 'list' | 'generate' | 'import' | 'activate' | 'retire' | 'rotate';

const SPECS: Record<Verb, CommandSpec> = {
  list: KEYS_LIST,
  generate: KEYS_GENERATE,
  import: KEYS_IMPORT,
  activate: KEYS_ACTIVATE,
  retire: KEYS_RETIRE,
  rotate: KEYS_ROTATE,
};

/** How long a replaced token signing key stays published: the longest a token lives, and the skew. */
export const TOKEN_OVERLAP_S = MAX_ACCESS_TOKEN_LIFETIME_S + ACCESS_TOKEN_SKEW_S;

const SIGNING: readonly KeyPurpose[] = ['token-signing', 'log-signing'];

/** The HKDF infos the file back end derives each MAC key with (privacy/my-number/mac.ts). */
const IMPORT_INFO: Partial<Record<KeyPurpose, string>> = {
  'my-number-mac': 'medid/mn-mac',
  'certificate-mac': 'medid/jpki-cert-mac',
};

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

export function keysCommand(verb: Verb): (args: string[]) => Promise<number> {
  return async (args) => {
    const spec = SPECS[verb];
    const opts = parseCommand(spec, args);
    const usage = (m: string): UsageError => new UsageError(m, spec.name);
    const [p, v] = opts.positionals;
    let purpose: KeyPurpose | undefined;
    if (verb !== 'list') {
      if (p === undefined || !isKeyPurpose(p)) throw usage(`needs a purpose: ${KEY_PURPOSES.join(', ')}`);
      purpose = p;
    }
    let version: number | undefined;
    if (verb === 'activate' || verb === 'retire') {
      version = Number(v);
      if (!Number.isInteger(version) || version < 1) throw usage('needs a version (a positive integer)');
    }
    const config = loadConfig();
    let store: KeyStore | undefined;
    try {
      store = openKeyStore(config.keys, config.dataDir);
      switch (verb) {
        case 'list':
          for (const k of store.list())
            out(
              `${k.purpose}\tv${k.version}\t${k.alg}\t${k.status}${k.until ? ` until ${k.until}` : ''}${k.legacy ? '\t(legacy file)' : ''}`,
            );
          return 0;
        case 'generate': {
          const alg = opts.string('alg') as KeyAlgorithm | undefined;
          const k = store.generate(purpose as KeyPurpose, alg);
          out(`generated ${k.purpose} v${k.version} (${k.alg}, pending) in the ${store.backend} key store`);
          return 0;
        }
        case 'import': {
          const from = opts.string('from');
          if (!from) throw usage('needs --from FILE');
          if (store.backend === 'file')
            throw new KeyStoreError('the file back end reads its version 1 from the secret file itself: nothing to import');
          const secret = readSecretFile(from, '--from');
          const info = IMPORT_INFO[purpose as KeyPurpose];
          const key =
            purpose === 'pseudonym-master'
              ? pseudonymPrk(secret)
              : info
                ? Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), info, 32))
                : undefined;
          if (!key) throw usage('imports my-number-mac, certificate-mac or pseudonym-master');
          const k = store.importSecret(purpose as KeyPurpose, 1, key);
          key.fill(0);
          out(`imported ${k.purpose} v1 (pending): activate it with medid keys activate ${k.purpose} 1`);
          return 0;
        }
        case 'activate':
          activate(store, purpose as KeyPurpose, version as number);
          return 0;
        case 'retire': {
          const k = store.setStatus(purpose as KeyPurpose, version as number, 'retired');
          out(`${k.purpose} v${k.version} retired: nothing uses it once every node has restarted`);
          return 0;
        }
        case 'rotate':
          return await rotate(store, purpose as KeyPurpose, config);
      }
    } catch (e) {
      if (e instanceof KeyStoreError || e instanceof SecretFileError) {
        process.stderr.write(`medid ${spec.name}: ${e.message}\n`);
        return 2;
      }
      throw e;
    } finally {
      store?.close();
    }
  };
}

/** Puts `version` to use; the key it replaces stays published (signing) or chained (MAC) as verify-only. */
function activate(store: KeyStore, purpose: KeyPurpose, version: number): void {
  const k = store.list(purpose).find((x) => x.version === version);
  if (!k) throw new KeyStoreError(`${purpose} v${version} is not in the keyring`);
  if (k.status === 'retired') throw new KeyStoreError(`${purpose} v${version} is retired`);
  const before = store.list(purpose).filter((x) => x.status === 'active' && x.version !== version);
  if (purpose === 'my-number-mac' && before.length > 0)
    throw new KeyStoreError('the My Number MAC changes only by medid keys rotate my-number-mac, which rewrites the stored MACs');
  if (purpose === 'pseudonym-master' && before.length > 0)
    throw new KeyStoreError('a pseudonym master changes only by a planned migration (README, "Keys and the key ceremony")');
  if (purpose === 'certificate-mac' && before.length > 0)
    throw new KeyStoreError('the certificate MAC cannot change yet: the stored certificate MACs would name nobody');
  store.setStatus(purpose, version, 'active');
  const until = purpose === 'token-signing' ? new Date(Date.now() + TOKEN_OVERLAP_S * 1000) : undefined;
  for (const old of before) {
    if (SIGNING.includes(purpose)) store.setStatus(purpose, old.version, 'verify-only', until);
    else store.setStatus(purpose, old.version, 'retired');
  }
  out(
    `${purpose} v${version} active${before.length ? `; v${before.map((b) => b.version).join(', v')} verify-only${until ? ` until ${until.toISOString()}` : ''}` : ''}`,
  );
  out('restart every node to use it');
}

async function rotate(store: KeyStore, purpose: KeyPurpose, config: ReturnType<typeof loadConfig>): Promise<number> {
  if (purpose === 'pseudonym-master') {
    process.stderr.write(
      'medid keys rotate pseudonym-master: a new pseudonym master changes every pseudonym, so it is a planned migration, not a command: derive v2 (medid keys generate pseudonym-master), serve both during a window, give each database a one-time encrypted old→new map, then retire v1. README, "Keys and the key ceremony".\n',
    );
    return 2;
  }
  if (purpose === 'certificate-mac') {
    process.stderr.write('medid keys rotate certificate-mac: not yet supported (the same chaining as my-number-mac is the plan)\n');
    return 2;
  }
  if (SIGNING.includes(purpose)) {
    const pending = store.list(purpose).find((k) => k.status === 'pending');
    const k = pending ?? store.generate(purpose);
    out(`${purpose} v${k.version} pending: published by every node after its restart.`);
    out(
      purpose === 'token-signing'
        ? `Once every node has restarted, run medid keys activate token-signing ${k.version} (the old key stays published ${TOKEN_OVERLAP_S} s, then drops out).`
        : `Once every node has restarted, run medid keys activate log-signing ${k.version}.`,
    );
    return 0;
  }
  // The My Number MAC: chain a new key onto the stored MACs, in one transaction.
  const current = activeKey(store, 'my-number-mac');
  if (!current) throw new KeyStoreError('my-number-mac: no active key to rotate from');
  const next =
    store.list('my-number-mac').find((k) => k.version === current.version + 1 && k.status === 'pending') ?? store.generate('my-number-mac');
  const mac = store.mac('my-number-mac', next.version);
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    const stored = await storedMacVersion(db);
    if (stored > next.version)
      throw new KeyStoreError(`the database holds My Number MACs of v${stored}, newer than the keyring's v${next.version}`);
    if (stored < next.version) {
      const r = await rotateMyNumberMacs(db, { version: next.version, hmac: (d) => mac.hmac(d) }, (table, n) => {
        process.stderr.write(`\r${table}: ${n} rewritten`);
      });
      process.stderr.write('\n');
      out(
        `My Number MACs v${r.from} → v${r.to}: ${Object.entries(r.rewritten)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
      );
    } else {
      out(`the database is already at v${next.version} (an interrupted rotation): finishing it`);
    }
  } finally {
    await db.close();
  }
  store.setStatus('my-number-mac', current.version, 'verify-only');
  store.setStatus('my-number-mac', next.version, 'active');
  out(`my-number-mac v${next.version} active (v${current.version} stays in the chain): start the nodes again`);
  return 0;
}
