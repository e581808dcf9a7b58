/** `medid token --scope …`: an access token signed with the server's key, for trying the API. */
import { kindPurposes } from '../app.ts';
import { AccessTokens } from '../auth/access-token.ts';
import { loadServerKeys, serverKeysFromStore } from '../auth/keys.ts';
import { openKeyStore } from '../core/keys/key-config.ts';
import type { KeyStore } from '../core/keys/key-store.ts';
import { parseScopes } from '../auth/scopes.ts';
import { authEndpoints } from '../auth/smart-configuration.ts';
import { ORG_KINDS } from '../core/principal.ts';
import type { OrgKind } from '../core/principal.ts';
import { loadConfig } from '../config.ts';
import type { Config } from '../config.ts';
import { parseCommand, UsageError } from './args.ts';
import { TOKEN } from './commands.ts';

export async function tokenCommand(args: string[]): Promise<number> {
  const opts = parseCommand(TOKEN, args);
  const usage = (m: string): UsageError => new UsageError(m, TOKEN.name);
  const scope = opts.string('scope') ?? '';
  if (parseScopes(scope).length === 0) throw usage('needs --scope with at least one SMART scope, e.g. --scope "system/*.rs"');
  const ttl = Number(opts.string('ttl') ?? 300);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600) throw usage('--ttl must be 1–3600 seconds');
  // Acting as another organization (--org-kind/--org-code) is for trying the API as a hospital
  // or insurer would; whoever runs this holds the server's signing key anyway.
  const kind = (opts.string('org-kind') ?? 'authority') as OrgKind;
  if (!ORG_KINDS.includes(kind)) throw usage(`--org-kind must be one of ${ORG_KINDS.join(', ')}`);
  const purpose = opts.string('purpose')?.toUpperCase() ?? kindPurposes(kind)[0];
  if (purpose === undefined || !kindPurposes(kind).includes(purpose))
    throw usage(`--purpose must be one of ${kindPurposes(kind).join(', ')} for ${kind}`);
  const config = loadConfig();
  // The keyring's active token key (core/keys: a file, or the HSM), as the server signs with.
  const store = openKeyStore(config.keys, config.dataDir);
  try {
    return await issueWith(
      store,
      config,
      opts.string('client-id') ?? 'medid-operator',
      kind,
      opts.string('org-code') ?? 'operator',
      scope,
      ttl,
      purpose,
    );
  } finally {
    // After signing: an HSM key signs through the open session.
    store.close();
  }
}

async function issueWith(
  store: KeyStore,
  config: Config,
  clientId: string,
  kind: OrgKind,
  code: string,
  scope: string,
  ttl: number,
  purpose: string,
): Promise<number> {
  const keys = await serverKeysFromStore(
    store,
    async () => (await loadServerKeys({ file: config.signingKeyFile, dataDir: config.dataDir })).keys,
  );
  const tokens = new AccessTokens({
    keys,
    issuer: authEndpoints(config.baseUrl).issuer,
    audience: config.baseUrl,
    isResourceType: () => true,
  });
  const t = await tokens.issue(clientId, 'medid operator (CLI)', { kind, code }, scope, ttl, purpose);
  process.stdout.write(`${t.accessToken}\n`);
  return 0;
}
