/**
 * The OAuth 2.0 token endpoint for SMART Backend Services: `client_credentials` with
 * private_key_jwt. Answers in RFC 6749 error JSON. Every client-authentication failure gets
 * the same `invalid_client` answer (no hint which check failed); the precise step goes to the
 * log and is announced as a login attempt, as are successful logins (the audit log records
 * each as an AuditEvent, DCM 110114 User Authentication — subscribed in app.ts). The answer
 * leaves only after the announcement is handled.
 */
import { Topic } from '../core/events.ts';
import type { LoginAttempt } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { OrgKind } from '../core/principal.ts';
import type { AccessTokens } from './access-token.ts';
import type { Client } from './clients.ts';
import { authenticateClient, ClientAuthError } from './client-assertion.ts';
import type { AssertionDeps } from './client-assertion.ts';
import { formatScope, grantScopes, parseScopes } from './scopes.ts';

export interface OAuthResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface TokenEndpointDeps extends AssertionDeps {
  tokens: AccessTokens;
  logger: Logger;
  isResourceType: (t: string) => boolean;
  /** The purposes of use an organization kind may use, its default first (privacy/access-policy.ts). */
  kindPurposes: (kind: OrgKind) => readonly string[];
}

/**
 * The purposes a client may ask for: its registration's list, or its kind's (without BTG, which
 * a registration must name). The first is what a token request without `purpose_of_use` gets.
 */
export function purposesOf(client: Client, kindPurposes: (kind: OrgKind) => readonly string[]): readonly string[] {
  const kind = kindPurposes(client.org.kind);
  if (client.purposes.length > 0) return client.purposes.filter((x) => kind.includes(x));
  return kind.filter((x) => x !== 'BTG');
}

const oauthError = (status: number, error: string, description: string): OAuthResponse => ({
  status,
  body: { error, error_description: description },
});

export interface TokenRequestMeta {
  requestId: string;
  remoteAddress: string | undefined;
}

export class TokenEndpoint {
  private readonly d: TokenEndpointDeps;
  /** Every token request, granted or refused, once decided and before it is answered (app.ts: the audit log records each). */
  readonly logins = new Topic<LoginAttempt>();

  constructor(d: TokenEndpointDeps) {
    this.d = d;
  }

  handle(form: URLSearchParams, meta: TokenRequestMeta): Promise<OAuthResponse> {
    return handleTokenRequest(form, meta, this.d, this.logins);
  }
}

async function handleTokenRequest(
  form: URLSearchParams,
  meta: TokenRequestMeta,
  d: TokenEndpointDeps,
  logins: Topic<LoginAttempt>,
): Promise<OAuthResponse> {
  const grant = form.get('grant_type');
  if (!grant) return oauthError(400, 'invalid_request', 'grant_type is required');
  if (grant !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
  const audit = (outcome: 0 | 4, clientId: string | undefined, description: string): Promise<void> =>
    logins.emit({ outcome, clientId, description, requestId: meta.requestId, remoteAddress: meta.remoteAddress, at: new Date(d.now()) });
  let client;
  try {
    client = await authenticateClient(form, d);
  } catch (e) {
    if (!(e instanceof ClientAuthError)) throw e;
    d.logger.warn(
      { requestId: meta.requestId, step: e.step, reason: e.message, clientId: e.claimedClientId },
      'client authentication failed',
    );
    await audit(4, e.claimedClientId, `client authentication failed at step ${e.step}: ${e.message}`);
    return oauthError(401, 'invalid_client', 'client authentication failed');
  }
  const requested = parseScopes(form.get('scope') ?? '', d.isResourceType).filter((s) => s.context === 'system');
  const granted = grantScopes(requested, parseScopes(client.scope, d.isResourceType));
  if (granted.length === 0) {
    await audit(4, client.clientId, 'no requested scope is allowed for this client');
    return oauthError(400, 'invalid_scope', 'none of the requested scopes can be granted to this client');
  }
  // purpose_of_use: medid's extension parameter (a v3-ActReason code); the token carries it.
  const may = purposesOf(client, d.kindPurposes);
  const asked = form.get('purpose_of_use')?.trim().toUpperCase();
  const purpose = asked || may[0];
  if (purpose === undefined || !may.includes(purpose)) {
    await audit(4, client.clientId, 'the requested purpose of use is not registered for this client');
    return oauthError(400, 'invalid_request', `purpose_of_use must be one this client is registered for: ${may.join(', ') || 'none'}`);
  }
  const scope = granted.map((s) => (s.v1 ? s.text : formatScope(s))).join(' ');
  const t = await d.tokens.issue(client.clientId, client.name, client.org, scope, undefined, purpose);
  await audit(0, client.clientId, `access token issued (jti ${t.jti}, purpose ${purpose})`);
  return {
    status: 200,
    body: { access_token: t.accessToken, token_type: 'bearer', expires_in: t.expiresIn, scope: t.scope, purpose_of_use: purpose },
  };
}
