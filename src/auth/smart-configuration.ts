/**
 * SMART discovery (`[base]/.well-known/smart-configuration`, App Launch 2.2 §4.1) and the
 * CapabilityStatement's rest.security, both built from the same endpoint set so they agree.
 */
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import { ASSERTION_ALGS } from './client-assertion.ts';
import { EXTENSIONS, SYSTEMS } from '../core/systems.ts';

export interface AuthEndpoints {
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  jwksUri: string;
}

/** The OAuth endpoints beside a FHIR base: http://h/x/fhir → http://h/x/oauth/… */
export function authEndpoints(baseUrl: string): AuthEndpoints {
  const issuer = baseUrl.replace(/\/[^/]*$/, '') + '/oauth';
  return { issuer, tokenEndpoint: `${issuer}/token`, introspectionEndpoint: `${issuer}/introspect`, jwksUri: `${issuer}/jwks` };
}

export function smartConfiguration(e: AuthEndpoints, scopesSupported: readonly string[], personSignIn = false): Record<string, unknown> {
  const base = {
    issuer: e.issuer,
    jwks_uri: e.jwksUri,
    token_endpoint: e.tokenEndpoint,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    grant_types_supported: ['client_credentials'],
    scopes_supported: scopesSupported,
    response_types_supported: ['token'],
    capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
    introspection_endpoint: e.introspectionEndpoint,
    code_challenge_methods_supported: ['S256'],
  };
  if (!personSignIn) return base;
  // People sign in to public apps (the portal) with the standalone patient launch (issue 17 item 5).
  return {
    ...base,
    authorization_endpoint: `${e.issuer}/authorize`,
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'],
    grant_types_supported: ['client_credentials', 'authorization_code'],
    response_types_supported: ['token', 'code'],
    scopes_supported: [...scopesSupported, 'launch/patient', 'patient/*.rs', 'patient/Consent.cud'],
    capabilities: [...base.capabilities, 'launch-standalone', 'context-standalone-patient', 'client-public', 'permission-patient'],
    authorization_response_iss_parameter_supported: true,
  };
}

export function capabilitySecurity(e: AuthEndpoints, personSignIn = false): CapabilityStatementRestSecurity {
  const people = personSignIn
    ? ` People sign in to public apps (the portal, /portal/) with the SMART standalone patient launch and PKCE S256 at ${e.issuer}/authorize, authenticated by the person identity provider.`
    : '';
  return {
    cors: true,
    service: [{ coding: [{ system: SYSTEMS.restfulSecurityService, code: 'SMART-on-FHIR' }] }],
    description: `SMART Backend Services (client_credentials with private_key_jwt, RS384 or ES384). Discovery: .well-known/smart-configuration; token endpoint ${e.tokenEndpoint}.${people}`,
    extension: [
      {
        url: EXTENSIONS.smartOAuthUris,
        extension: [
          ...(personSignIn ? [{ url: 'authorize', valueUri: `${e.issuer}/authorize` }] : []),
          { url: 'token', valueUri: e.tokenEndpoint },
          { url: 'introspect', valueUri: e.introspectionEndpoint },
        ],
      },
    ],
  };
}
