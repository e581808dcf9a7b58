/** `medid token --scope …`: an access token signed with the server's key, for trying the API. */
import { kindPurposes } from '../app.ts';
import { AccessTokens } from '../auth/access-token.ts';
import { loadServerKeys } from '../auth/keys.ts';
import { parseScopes } from '../auth/scopes.ts';
import { authEndpoints } from '../auth/smart-configuration.ts';
import { ORG_KINDS } from '../core/principal.ts';
import type { OrgKind } from '../core/principal.ts';
import { loadConfig } from '../config.ts';
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
  const { keys } = await loadServerKeys({ file: config.signingKeyFile, dataDir: config.dataDir });
  const tokens = new AccessTokens({
    keys,
    issuer: authEndpoints(config.baseUrl).issuer,
    audience: config.baseUrl,
    isResourceType: () => true,
  });
  const clientId = opts.string('client-id') ?? 'medid-operator';
  const t = await tokens.issue(
    clientId,
    'medid operator (CLI)',
    { kind, code: opts.string('org-code') ?? 'operator' },
    scope,
    ttl,
    purpose,
  );
  process.stdout.write(`${t.accessToken}\n`);
  return 0;
}
